# Flat/dark normalisation, zinger and ring removal, centre finding, filtered back-projection.


rule reconstruct:
    input:
        projections=projections_input,
    output:
        volume="results/volumes/{sample}/{scan}.h5",
    params:
        scan=scan_params,
        recon=config["reconstruct"],
        code=code_hash("recon", "io", "provenance", "runlog"),
    log:
        "results/logs/reconstruct/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/reconstruct/{sample}/{scan}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        "../../envs/recon.yaml"
    script:
        "../scripts/reconstruct.py"
