# Per-scan metrics and the campaign table.


rule scan_metrics:
    input:
        volume=volume_input,
        labels="results/segmentations/{sample}/{scan}.h5",
    output:
        table="results/metrics/{sample}/{scan}.parquet",
    log:
        "results/logs/scan_metrics/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/scan_metrics/{sample}/{scan}.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        scan=scan_params,
        metrics=config["metrics"],
        code=script_code("scan_metrics"),
    script:
        "../scripts/scan_metrics.py"


rule scan_metrics_table:
    input:
        tables=expand("results/metrics/{key[0]}/{key[1]}.parquet", key=scan_keys()),
    output:
        table="results/tables/scan_metrics.parquet",
    log:
        "results/logs/scan_metrics_table.log",
    benchmark:
        "results/benchmarks/scan_metrics_table.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        code=script_code("concat_tables"),
    script:
        "../scripts/concat_tables.py"
