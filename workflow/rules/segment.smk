# Denoising, thresholding, clean-up and labelling of solid, open pores and internal voids.


rule segment:
    input:
        volume="results/volumes/{sample}/{scan}.h5",
    output:
        labels="results/segmentations/{sample}/{scan}.h5",
    params:
        scan=scan_params,
        segment=config["segment"],
        code=code_hash("segment", "io", "provenance", "runlog"),
    log:
        "results/logs/segment/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/segment/{sample}/{scan}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../../envs/segment.yaml"
    script:
        "../scripts/segment.py"


ruleorder: import_labels > segment


rule import_labels:
    input:
        labels=labels_input,
    output:
        labels="results/segmentations/{sample}/{scan}.h5",
    params:
        scan=scan_params,
        code=code_hash("phases", "segment", "io", "provenance", "runlog"),
    log:
        "results/logs/import_labels/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/import_labels/{sample}/{scan}.tsv"
    resources:
        mem_mb=4000,
        runtime=10,
    conda:
        "../../envs/segment.yaml"
    script:
        "../scripts/import_labels.py"
