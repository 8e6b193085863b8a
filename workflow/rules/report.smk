# Previews and the campaign's HTML report.


rule scan_preview:
    input:
        volume=volume_input,
        labels="results/segmentations/{sample}/{scan}.h5",
    output:
        png="results/previews/{sample}/{scan}.png",
    log:
        "results/logs/scan_preview/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/scan_preview/{sample}/{scan}.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        code=script_code("scan_preview"),
    script:
        "../scripts/scan_preview.py"


rule failures:
    input:
        outputs=failure_inputs(),
    output:
        table="results/tables/failures.parquet",
    log:
        "results/logs/failures.log",
    benchmark:
        "results/benchmarks/failures.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        code=script_code("failures"),
    script:
        "../scripts/failures.py"


rule campaign_report:
    input:
        tables=report_tables(),
        previews=expand("results/previews/{key[0]}/{key[1]}.png", key=scan_keys()),
        mosaics=expand("results/mosaics/{sample}.png", sample=mosaic_samples()),
    output:
        report(
            "results/report.html",
            caption="../report/campaign.rst",
            category="Campaign",
        ),
    log:
        "results/logs/campaign_report.log",
    benchmark:
        "results/benchmarks/campaign_report.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        code=script_code("campaign_report"),
    script:
        "../scripts/campaign_report.py"


rule data_dictionary:
    input:
        tables=dictionary_tables(),
    output:
        table="results/tables/data_dictionary.parquet",
        html=report(
            "results/data_dictionary.html",
            caption="../report/data_dictionary.rst",
            category="Data dictionary",
        ),
    log:
        "results/logs/data_dictionary.log",
    benchmark:
        "results/benchmarks/data_dictionary.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        code=script_code("data_dictionary"),
    script:
        "../scripts/data_dictionary.py"


# The campaign's last job: it waits for every other target, then fails (so snakemake exits
# non-zero) when any scan's jobs wrote failure records instead of results. The failed
# scans' records let the tables and the report build from the others (batteryct.runlog);
# this gate keeps a partial campaign from passing for a complete one.
rule campaign_status:
    input:
        failures="results/tables/failures.parquet",
        # a function: all_targets() needs figure_targets(), defined in figures.smk (later)
        targets=lambda wildcards: [t for t in all_targets() if t != "results/tables/failures.parquet"],
    output:
        status="results/campaign_status.txt",
    log:
        "results/logs/campaign_status.log",
    benchmark:
        "results/benchmarks/campaign_status.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        code=script_code("campaign_status"),
    script:
        "../scripts/campaign_status.py"
