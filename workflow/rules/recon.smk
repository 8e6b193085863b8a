# Flat/dark normalisation, zinger and ring removal, centre finding, filtered back-projection.


rule reconstruct:
    input:
        projections=projections_input,
    output:
        volume="results/volumes/{sample}/{scan}.h5",
    log:
        "results/logs/reconstruct/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/reconstruct/{sample}/{scan}.tsv"
    conda:
        "../../envs/recon.yaml"
    envmodules:
        *env_modules("recon"),
    threads: stage_threads()
    resources:
        mem_mb=stage_mem_mb("reconstruct"),
        runtime=stage_runtime("reconstruct"),
    params:
        scan=scan_params,
        raw=config["raw_data"],
        recon=config["reconstruct"],
        code=script_code("reconstruct"),
    script:
        "../scripts/reconstruct.py"


ruleorder: import_volume > reconstruct


rule import_volume:
    input:
        volume=volume_file_input,
    output:
        volume="results/volumes/{sample}/{scan}.h5",
    log:
        "results/logs/import_volume/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/import_volume/{sample}/{scan}.tsv"
    conda:
        "../../envs/recon.yaml"
    envmodules:
        *env_modules("recon"),
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        scan=scan_params,
        code=script_code("import_volume"),
    script:
        "../scripts/import_volume.py"
