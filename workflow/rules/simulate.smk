# Virtual scanner: raw projections + ground truth for the scans listed in config.simulate.


rule simulate_scan:
    output:
        projections="results/simulated/{sample}/{scan}/projections.h5",
        truth="results/simulated/{sample}/{scan}/truth.h5",
        particles="results/simulated/{sample}/{scan}/particles.parquet",
    log:
        "results/logs/simulate_scan/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/simulate_scan/{sample}/{scan}.tsv"
    conda:
        "../../envs/simulate.yaml"
    envmodules:
        *env_modules("simulate"),
    threads: stage_threads()
    resources:
        mem_mb=stage_mem_mb("simulate_scan"),
        runtime=stage_runtime("simulate_scan"),
    params:
        spec=simulation_spec,
        code=script_code("simulate_scan"),
    script:
        "../scripts/simulate_scan.py"


rule simulated_tiff_stack:
    input:
        "results/simulated/{sample}/{scan}/projections.h5",
    output:
        directory("results/simulated/{sample}/{scan}/tiff"),
    log:
        "results/logs/simulated_tiff_stack/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/simulated_tiff_stack/{sample}/{scan}.tsv"
    conda:
        "../../envs/simulate.yaml"
    envmodules:
        *env_modules("simulate"),
    params:
        code=script_code("simulated_tiff_stack"),
    script:
        "../scripts/simulated_tiff_stack.py"
