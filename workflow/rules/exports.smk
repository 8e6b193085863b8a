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


rule export_tiff:
    input:
        h5=export_tiff_input,
    output:
        tiff="results/exports/tiff/{sample}/{scan}_{what}.tif",
    log:
        "results/logs/export_tiff/{sample}/{scan}_{what}.log",
    benchmark:
        "results/benchmarks/export_tiff/{sample}/{scan}_{what}.tsv"
    wildcard_constraints:
        what="volume|labels",
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        scan=scan_params,
        dataset=lambda wc: wc.what,
        code=script_code("export_tiff"),
    script:
        "../scripts/export_tiff.py"
