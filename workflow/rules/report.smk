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
