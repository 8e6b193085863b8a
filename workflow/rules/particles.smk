# Powder QA: particle instances, per-particle morphology, voids, PSD, stereology, acceptance.


rule particles:
    input:
        labels="results/segmentations/{sample}/{scan}.h5",
    output:
        instances="results/particles/{sample}/{scan}_instances.h5",
        particles="results/particles/{sample}/{scan}_particles.parquet",
        voids="results/particles/{sample}/{scan}_voids.parquet",
        sections="results/particles/{sample}/{scan}_sections.parquet",
    log:
        "results/logs/particles/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/particles/{sample}/{scan}.tsv"
    conda:
        "../../envs/segment.yaml"
    envmodules:
        *env_modules("segment"),
    threads: stage_threads()
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        scan=scan_params,
        particles=config["particles"],
        code=script_code("particles"),
    script:
        "../scripts/particles.py"


rule particle_tables:
    input:
        particles=expand("results/particles/{key[0]}/{key[1]}_particles.parquet", key=particle_scan_keys()),
        voids=expand("results/particles/{key[0]}/{key[1]}_voids.parquet", key=particle_scan_keys()),
        sections=expand("results/particles/{key[0]}/{key[1]}_sections.parquet", key=particle_scan_keys()),
    output:
        particles="results/tables/particles.parquet",
        voids="results/tables/voids.parquet",
        summary="results/tables/powder_summary.parquet",
        psd="results/tables/psd.parquet",
    log:
        "results/logs/particle_tables.log",
    benchmark:
        "results/benchmarks/particle_tables.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        particles=config["particles"],
        psd=config["psd"],
        code=script_code("particle_tables"),
    script:
        "../scripts/particle_tables.py"


rule acceptance:
    input:
        psd="results/tables/psd.parquet",
    output:
        table="results/tables/acceptance.parquet",
    log:
        "results/logs/acceptance.log",
    benchmark:
        "results/benchmarks/acceptance.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        samples=sample_properties,
        # batch acceptance is defined for powder batches (electrodes have a PSD row too)
        kinds=["powder"],
        acceptance=config["acceptance"],
        code=script_code("acceptance"),
    script:
        "../scripts/acceptance.py"


rule validate_particles:
    input:
        truth="results/simulated/{sample}/{scan}/particles.parquet",
        particles="results/particles/{sample}/{scan}_particles.parquet",
        voids="results/particles/{sample}/{scan}_voids.parquet",
    output:
        table="results/validation/particles/{sample}/{scan}.parquet",
    log:
        "results/logs/validate_particles/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/validate_particles/{sample}/{scan}.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        code=script_code("validate_particles"),
    script:
        "../scripts/validate_particles.py"


rule particle_validation_table:
    input:
        tables=expand("results/validation/particles/{key[0]}/{key[1]}.parquet", key=simulated_particle_scan_keys()),
    output:
        table="results/tables/particle_validation.parquet",
    log:
        "results/logs/particle_validation_table.log",
    benchmark:
        "results/benchmarks/particle_validation_table.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        code=script_code("concat_tables"),
    script:
        "../scripts/concat_tables.py"
