# Electrode transport: tortuosity (finite volumes, random walk), conductivity, pore network,
# and their 95 % intervals from posterior label samples, transport.uncertainty_samples_per_job
# samples per job.

UNCERTAINTY_KEYS = (
    "uncertainty_samples",
    "uncertainty_samples_per_job",
    "uncertainty_correlation_voxels",
    "uncertainty_global_weight",
    "uncertainty_rtol",
)


# One job compiles the numba kernels the transport jobs share (batteryct.warmup), so that
# jobs starting together on a cold cache do not each spend a minute compiling them. The
# others take its stamp as ancient(): it orders them after it but never reruns them.
rule compile_transport_kernels:
    output:
        stamp="results/kernels/transport.json",
    log:
        "results/logs/compile_transport_kernels.log",
    benchmark:
        "results/benchmarks/compile_transport_kernels.tsv"
    conda:
        "../../envs/segment.yaml"
    envmodules:
        *env_modules("segment"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=15,
    params:
        transport=transport_params("uncertainty_samples", "uncertainty_samples_per_job"),
        roi_radius_fraction=config["metrics"]["roi_radius_fraction"],
        particle_min_radius_um=config["transport"]["particle_min_radius_um"],
        code=script_code("compile_transport_kernels"),
    script:
        "../scripts/compile_transport_kernels.py"


rule transport_contacts:
    input:
        labels="results/segmentations/{sample}/{scan}.h5",
    output:
        contacts="results/transport_samples/{sample}/{scan}/contacts.h5",
    log:
        "results/logs/transport_contacts/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/transport_contacts/{sample}/{scan}.tsv"
    conda:
        "../../envs/segment.yaml"
    envmodules:
        *env_modules("segment"),
    threads: 1
    resources:
        mem_mb=stage_mem_mb("transport_contacts"),
        runtime=stage_runtime("transport_contacts"),
    params:
        scan=scan_params,
        particle_min_radius_um=config["transport"]["particle_min_radius_um"],
        roi_radius_fraction=config["metrics"]["roi_radius_fraction"],
        code=script_code("transport_contacts"),
    script:
        "../scripts/transport_contacts.py"


rule transport_value:
    input:
        labels="results/segmentations/{sample}/{scan}.h5",
        contacts="results/transport_samples/{sample}/{scan}/contacts.h5",
        kernels=ancient("results/kernels/transport.json"),
    output:
        row="results/transport_samples/{sample}/{scan}/value.parquet",
        nodes="results/network/{sample}/{scan}_nodes.parquet",
        throats="results/network/{sample}/{scan}_throats.parquet",
        openpnm="results/network/{sample}/{scan}_openpnm.npz",
    log:
        "results/logs/transport_value/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/transport_value/{sample}/{scan}.tsv"
    conda:
        "../../envs/segment.yaml"
    envmodules:
        *env_modules("segment"),
    threads: stage_threads()
    resources:
        mem_mb=stage_mem_mb("transport_value"),
        runtime=stage_runtime("transport_value"),
    params:
        scan=scan_params,
        transport=transport_params(*UNCERTAINTY_KEYS),
        roi_radius_fraction=config["metrics"]["roi_radius_fraction"],
        code=script_code("transport_value"),
    script:
        "../scripts/transport_value.py"


rule transport_sample:
    input:
        labels="results/segmentations/{sample}/{scan}.h5",
        contacts="results/transport_samples/{sample}/{scan}/contacts.h5",
        kernels=ancient("results/kernels/transport.json"),
    output:
        rows="results/transport_samples/{sample}/{scan}/samples_{first}-{last}.parquet",
    log:
        "results/logs/transport_sample/{sample}/{scan}_{first}-{last}.log",
    benchmark:
        "results/benchmarks/transport_sample/{sample}/{scan}_{first}-{last}.tsv"
    wildcard_constraints:
        first=r"\d{3}",
        last=r"\d{3}",
    conda:
        "../../envs/segment.yaml"
    envmodules:
        *env_modules("segment"),
    threads: 1
    resources:
        mem_mb=stage_mem_mb("transport_sample"),
        runtime=lambda wildcards, attempt: job_model.runtime_min(
            "transport_sample",
            scan_voxels(wildcards.sample, wildcards.scan),
            attempt,
            n_items=int(wildcards.last) - int(wildcards.first) + 1,
        ),
    params:
        scan=scan_params,
        indices=lambda wildcards: list(range(int(wildcards.first), int(wildcards.last) + 1)),
        transport=transport_params("uncertainty_samples", "uncertainty_samples_per_job"),
        roi_radius_fraction=config["metrics"]["roi_radius_fraction"],
        code=script_code("transport_sample"),
    script:
        "../scripts/transport_sample.py"


rule transport:
    input:
        value="results/transport_samples/{sample}/{scan}/value.parquet",
        samples=transport_sample_inputs,
    output:
        row="results/transport/{sample}/{scan}.parquet",
    log:
        "results/logs/transport/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/transport/{sample}/{scan}.tsv"
    conda:
        "../../envs/segment.yaml"
    envmodules:
        *env_modules("segment"),
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        scan=scan_params,
        code=script_code("transport"),
    script:
        "../scripts/transport.py"


rule transport_tables:
    input:
        rows=expand("results/transport/{key[0]}/{key[1]}.parquet", key=transport_scan_keys()),
        nodes=expand("results/network/{key[0]}/{key[1]}_nodes.parquet", key=transport_scan_keys()),
        throats=expand("results/network/{key[0]}/{key[1]}_throats.parquet", key=transport_scan_keys()),
    output:
        transport="results/tables/transport.parquet",
        nodes="results/tables/network_nodes.parquet",
        throats="results/tables/network_throats.parquet",
    log:
        "results/logs/transport_tables.log",
    benchmark:
        "results/benchmarks/transport_tables.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        code=script_code("transport_tables"),
    script:
        "../scripts/transport_tables.py"
