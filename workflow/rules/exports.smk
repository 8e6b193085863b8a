# Exports users open in their tools (config exports): tables as CSV, volumes and labels
# as ImageJ TIFF stacks with the voxel size in µm. Targets: export_targets() in common.smk.


# One job for all tables: a CSV is a few ms to write, a job's start-up seconds.
rule export_csv:
    input:
        tables=csv_export_tables(),
    output:
        csv=[csv_export_path(t) for t in csv_export_tables()],
    log:
        "results/logs/export_csv.log",
    benchmark:
        "results/benchmarks/export_csv.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=script_code("export_csv"),
    script:
        "../scripts/export_csv.py"


# One job per scan for both stacks: writing one takes a fraction of a job's start-up.
rule export_tiff:
    input:
        volume=export_volume_input,
        labels="results/segmentations/{sample}/{scan}.h5",
    output:
        volume="results/exports/tiff/{sample}/{scan}_volume.tif",
        labels="results/exports/tiff/{sample}/{scan}_labels.tif",
    log:
        "results/logs/export_tiff/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/export_tiff/{sample}/{scan}.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        scan=scan_params,
        code=script_code("export_tiff"),
    script:
        "../scripts/export_tiff.py"


# Scans imported as labels have no volume: their labels stack alone.
rule export_labels_tiff:
    input:
        labels="results/segmentations/{sample}/{scan}.h5",
    output:
        labels="results/exports/tiff/{sample}/{scan}_labels.tif",
    log:
        "results/logs/export_tiff/{sample}/{scan}_labels.log",
    benchmark:
        "results/benchmarks/export_tiff/{sample}/{scan}_labels.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        scan=scan_params,
        code=script_code("export_tiff"),
    script:
        "../scripts/export_tiff.py"


ruleorder: export_tiff > export_labels_tiff
