# Scores simulated scans against the virtual scanner's ground truth.


ruleorder: validate_mosaic > validate_scan


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


rule transport_truth:
    input:
        truth="results/simulated/{sample}/{scan}/truth.h5",
        kernels=ancient("results/kernels/transport.json"),
    output:
        row="results/validation/{sample}/{scan}_transport_truth.parquet",
    log:
        "results/logs/transport_truth/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/transport_truth/{sample}/{scan}.tsv"
    conda:
        "../../envs/segment.yaml"
    envmodules:
        *env_modules("segment"),
    threads: stage_threads()
    resources:
        mem_mb=stage_mem_mb("transport_truth"),
        runtime=stage_runtime("transport_truth"),
    params:
        scan=scan_params,
        transport=transport_params(*UNCERTAINTY_KEYS),
        roi_radius_fraction=config["metrics"]["roi_radius_fraction"],
        code=script_code("transport_truth"),
    script:
        "../scripts/transport_truth.py"


rule transport_validation:
    input:
        transport="results/tables/transport.parquet",
        truth=expand(
            "results/validation/{key[0]}/{key[1]}_transport_truth.parquet",
            key=simulated_transport_scan_keys(),
        ),
    output:
        table="results/tables/transport_validation.parquet",
    log:
        "results/logs/transport_validation.log",
    benchmark:
        "results/benchmarks/transport_validation.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        code=script_code("transport_validation"),
    script:
        "../scripts/transport_validation.py"
