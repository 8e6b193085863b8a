# Electrode transport: tortuosity (finite volumes, random walk), conductivity, pore network.


rule transport:
    input:
        labels="results/segmentations/{sample}/{scan}.h5",
    output:
        row="results/transport/{sample}/{scan}.parquet",
        nodes="results/network/{sample}/{scan}_nodes.parquet",
        throats="results/network/{sample}/{scan}_throats.parquet",
        openpnm="results/network/{sample}/{scan}_openpnm.npz",
    params:
        scan=scan_params,
        transport=config["transport"],
        roi_radius_fraction=config["metrics"]["roi_radius_fraction"],
        code=code_hash("electrode", "transport", "random_walk", "network", "particles", "metrics", "segment",
                       "io", "runlog"),
    log:
        "results/logs/transport/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/transport/{sample}/{scan}.tsv"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=60,
    conda:
        "../../envs/segment.yaml"
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
    params:
        code=code_hash("io", "runlog"),
    log:
        "results/logs/transport_tables.log",
    benchmark:
        "results/benchmarks/transport_tables.tsv"
    conda:
        "../../envs/metrics.yaml"
    script:
        "../scripts/transport_tables.py"
