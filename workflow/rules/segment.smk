# Denoising, thresholding, clean-up and labelling of solid, open pores and internal voids.


rule segment:
    input:
        volume="results/volumes/{sample}/{scan}.h5",
    output:
        labels="results/segmentations/{sample}/{scan}.h5",
    log:
        "results/logs/segment/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/segment/{sample}/{scan}.tsv"
    conda:
        "../../envs/segment.yaml"
    envmodules:
        *env_modules("segment"),
    threads: stage_threads()
    resources:
        mem_mb=stage_mem_mb("segment"),
        runtime=stage_runtime("segment"),
    params:
        scan=scan_params,
        segment=config["segment"],
        code=script_code("segment"),
    script:
        "../scripts/segment.py"


ruleorder: import_labels > segment


rule import_labels:
    input:
        labels=labels_input,
    output:
        labels="results/segmentations/{sample}/{scan}.h5",
    log:
        "results/logs/import_labels/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/import_labels/{sample}/{scan}.tsv"
    conda:
        "../../envs/segment.yaml"
    envmodules:
        *env_modules("segment"),
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        scan=scan_params,
        code=script_code("import_labels"),
    script:
        "../scripts/import_labels.py"
