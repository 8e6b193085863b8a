# Scores simulated scans against the virtual scanner's ground truth.


rule validate_scan:
    input:
        truth="results/simulated/{sample}/{scan}/truth.h5",
        volume="results/volumes/{sample}/{scan}.h5",
        labels="results/segmentations/{sample}/{scan}.h5",
    output:
        table="results/validation/{sample}/{scan}.parquet",
    log:
        "results/logs/validate_scan/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/validate_scan/{sample}/{scan}.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        scan=scan_params,
        metrics=config["metrics"],
        code=script_code("validate_scan"),
    script:
        "../scripts/validate_scan.py"


rule validation_table:
    input:
        tables=expand("results/validation/{key[0]}/{key[1]}.parquet", key=simulated_scan_keys()),
    output:
        table="results/tables/validation.parquet",
    log:
        "results/logs/validation_table.log",
    benchmark:
        "results/benchmarks/validation_table.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        code=script_code("concat_tables"),
    script:
        "../scripts/concat_tables.py"
