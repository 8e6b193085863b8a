# Radiograph mosaics of powder samples: stitching, overview, 2D particle count.


rule simulate_mosaic:
    output:
        mosaic="results/simulated/{sample}/mosaic.h5",
    log:
        "results/logs/simulate_mosaic/{sample}.log",
    benchmark:
        "results/benchmarks/simulate_mosaic/{sample}.tsv"
    conda:
        "../../envs/simulate.yaml"
    envmodules:
        *env_modules("simulate"),
    params:
        spec=mosaic_simulation_spec,
        code=script_code("simulate_mosaic"),
    script:
        "../scripts/simulate_mosaic.py"


rule simulated_mosaic_tiffs:
    input:
        "results/simulated/{sample}/mosaic.h5",
    output:
        directory("results/simulated/{sample}/mosaic_tiff"),
    log:
        "results/logs/simulated_mosaic_tiffs/{sample}.log",
    benchmark:
        "results/benchmarks/simulated_mosaic_tiffs/{sample}.tsv"
    conda:
        "../../envs/simulate.yaml"
    envmodules:
        *env_modules("simulate"),
    params:
        code=script_code("simulated_mosaic_tiffs"),
    script:
        "../scripts/simulated_mosaic_tiffs.py"


rule stitch_mosaic:
    input:
        mosaic=mosaic_input,
    output:
        mosaic="results/mosaics/{sample}.h5",
        overview="results/mosaics/{sample}.png",
        tiles="results/mosaics/{sample}_tiles.parquet",
        particles="results/mosaics/{sample}_particles.parquet",
        summary="results/mosaics/{sample}_summary.parquet",
    log:
        "results/logs/stitch_mosaic/{sample}.log",
    benchmark:
        "results/benchmarks/stitch_mosaic/{sample}.tsv"
    conda:
        "../../envs/segment.yaml"
    envmodules:
        *env_modules("segment"),
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        sample=mosaic_params,
        stitch=config["stitch"],
        code=script_code("stitch_mosaic"),
    script:
        "../scripts/stitch_mosaic.py"


rule validate_mosaic:
    input:
        truth="results/simulated/{sample}/mosaic.h5",
        tiles="results/mosaics/{sample}_tiles.parquet",
        particles="results/mosaics/{sample}_particles.parquet",
    output:
        table="results/validation/mosaics/{sample}.parquet",
    log:
        "results/logs/validate_mosaic/{sample}.log",
    benchmark:
        "results/benchmarks/validate_mosaic/{sample}.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        code=script_code("validate_mosaic"),
    script:
        "../scripts/validate_mosaic.py"


rule mosaic_table:
    input:
        tables=expand("results/mosaics/{sample}_summary.parquet", sample=mosaic_samples()),
    output:
        table="results/tables/mosaics.parquet",
    log:
        "results/logs/mosaic_table.log",
    benchmark:
        "results/benchmarks/mosaic_table.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        code=script_code("concat_tables"),
    script:
        "../scripts/concat_tables.py"


rule mosaic_validation_table:
    input:
        tables=expand("results/validation/mosaics/{sample}.parquet", sample=simulated_mosaic_samples()),
    output:
        table="results/tables/mosaic_validation.parquet",
    log:
        "results/logs/mosaic_validation_table.log",
    benchmark:
        "results/benchmarks/mosaic_validation_table.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        code=script_code("concat_tables"),
    script:
        "../scripts/concat_tables.py"


# {sample}_rois.png also matches stitch_mosaic's {sample}.png
ruleorder: select_rois > stitch_mosaic


rule select_rois:
    input:
        mosaic="results/mosaics/{sample}.h5",
        particles="results/mosaics/{sample}_particles.parquet",
    output:
        rois="results/mosaics/{sample}_rois.parquet",
        overview="results/mosaics/{sample}_rois.png",
    log:
        "results/logs/select_rois/{sample}.log",
    benchmark:
        "results/benchmarks/select_rois/{sample}.tsv"
    conda:
        "../../envs/segment.yaml"
    envmodules:
        *env_modules("segment"),
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        sample=lambda wildcards: wildcards.sample,
        rois=config["rois"],
        code=script_code("select_rois"),
    script:
        "../scripts/select_rois.py"
