# Report figures (matplotlib, Agg, byte-reproducible): one job per scan, per mosaic and per
# stage aggregate, each writing all its figures; every figure is registered for
# `snakemake --report` with a category per stage, the sample as subcategory and a caption.


include: "figures_common.smk"


rule scan_figures:
    input:
        volume="results/volumes/{sample}/{scan}.h5",
        labels="results/segmentations/{sample}/{scan}.h5",
        projections=projections_input,
    output:
        slices=figure(
            f"{FIG}/{{sample}}/{{scan}}/slices.png",
            "scan_slices",
            "Segmentation",
            "{sample}",
            scan="{scan}",
            figure="slices",
        ),
        histogram=figure(
            f"{FIG}/{{sample}}/{{scan}}/histogram.png",
            "scan_histogram",
            "Segmentation",
            "{sample}",
            scan="{scan}",
            figure="histogram",
        ),
        center=figure(
            f"{FIG}/{{sample}}/{{scan}}/center.png",
            "scan_center",
            "Reconstruction",
            "{sample}",
            scan="{scan}",
            figure="centre",
        ),
        sinogram=figure(
            f"{FIG}/{{sample}}/{{scan}}/sinogram.png",
            "scan_sinogram",
            "Reconstruction",
            "{sample}",
            scan="{scan}",
            figure="sinogram",
        ),
    log:
        "results/logs/scan_figures/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/scan_figures/{sample}/{scan}.tsv"
    conda:
        "../../envs/report.yaml"
    envmodules:
        *env_modules("report"),
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        scan=scan_params,
        recon=config["reconstruct"],
        dark_counts=config["raw_data"]["dark_counts"],
        roi_radius_fraction=config["metrics"]["roi_radius_fraction"],
        code=script_code("scan_figures"),
    script:
        "../scripts/scan_figures.py"


rule segmentation_figures:
    input:
        unpack(segmentation_figure_input),
    output:
        slices=figure(
            f"{FIG}/{{sample}}/{{scan}}/overlay.png",
            "scan_slices",
            "Segmentation",
            "{sample}",
            scan="{scan}",
            figure="slices",
        ),
    log:
        "results/logs/segmentation_figures/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/segmentation_figures/{sample}/{scan}.tsv"
    conda:
        "../../envs/report.yaml"
    envmodules:
        *env_modules("report"),
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        scan=scan_params,
        recon=config["reconstruct"],
        dark_counts=config["raw_data"]["dark_counts"],
        roi_radius_fraction=config["metrics"]["roi_radius_fraction"],
        code=script_code("scan_figures"),
    script:
        "../scripts/scan_figures.py"


rule mosaic_figure:
    input:
        mosaic="results/mosaics/{sample}.h5",
        tiles="results/mosaics/{sample}_tiles.parquet",
        particles="results/mosaics/{sample}_particles.parquet",
    output:
        overview=figure(f"{FIG}/{{sample}}/mosaic.png", "mosaic", "Mosaics", "{sample}", figure="mosaic"),
    log:
        "results/logs/mosaic_figure/{sample}.log",
    benchmark:
        "results/benchmarks/mosaic_figure/{sample}.tsv"
    conda:
        "../../envs/report.yaml"
    envmodules:
        *env_modules("report"),
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=script_code("mosaic_figure"),
    script:
        "../scripts/mosaic_figure.py"


rule powder_figures:
    input:
        instances="results/particles/{sample}/{scan}_instances.h5",
        labels="results/segmentations/{sample}/{scan}.h5",
        particles="results/particles/{sample}/{scan}_particles.parquet",
        voids="results/particles/{sample}/{scan}_voids.parquet",
        sections="results/particles/{sample}/{scan}_sections.parquet",
        psd="results/tables/psd.parquet",
    output:
        gallery=figure(
            f"{FIG}/{{sample}}/{{scan}}/gallery.png",
            "powder_gallery",
            "Powders",
            "{sample}",
            scan="{scan}",
            figure="gallery",
        ),
        psd=figure(
            f"{FIG}/{{sample}}/{{scan}}/psd.png",
            "powder_psd",
            "Powders",
            "{sample}",
            scan="{scan}",
            figure="size distribution",
        ),
        radii=figure(
            f"{FIG}/{{sample}}/{{scan}}/radii.png",
            "powder_radii",
            "Powders",
            "{sample}",
            scan="{scan}",
            figure="radii",
        ),
        shape=figure(
            f"{FIG}/{{sample}}/{{scan}}/shape.png",
            "powder_shape",
            "Powders",
            "{sample}",
            scan="{scan}",
            figure="shape",
        ),
        stereology=figure(
            f"{FIG}/{{sample}}/{{scan}}/stereology.png",
            "powder_stereology",
            "Powders",
            "{sample}",
            scan="{scan}",
            figure="stereology",
        ),
    log:
        "results/logs/powder_figures/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/powder_figures/{sample}/{scan}.tsv"
    conda:
        "../../envs/report.yaml"
    envmodules:
        *env_modules("report"),
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=script_code("powder_figures"),
    script:
        "../scripts/powder_figures.py"


rule electrode_figures:
    input:
        labels="results/segmentations/{sample}/{scan}.h5",
        nodes="results/network/{sample}/{scan}_nodes.parquet",
        throats="results/network/{sample}/{scan}_throats.parquet",
    output:
        concentration=figure(
            f"{FIG}/{{sample}}/{{scan}}/concentration.png",
            "electrode_concentration",
            "Electrodes",
            "{sample}",
            scan="{scan}",
            figure="concentration field",
        ),
        network=figure(
            f"{FIG}/{{sample}}/{{scan}}/network.png",
            "electrode_network",
            "Electrodes",
            "{sample}",
            scan="{scan}",
            figure="pore network",
        ),
    log:
        "results/logs/electrode_figures/{sample}/{scan}.log",
    benchmark:
        "results/benchmarks/electrode_figures/{sample}/{scan}.tsv"
    conda:
        "../../envs/report.yaml"
    envmodules:
        *env_modules("report"),
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        scan=scan_params,
        roi_radius_fraction=config["metrics"]["roi_radius_fraction"],
        rtol=config["transport"]["rtol"],
        max_box_voxels=48,
        code=script_code("electrode_figures"),
    script:
        "../scripts/electrode_figures.py"


rule powder_campaign_figures:
    input:
        unpack(campaign_figure_inputs("powders")),
    output:
        campaign_report_outputs("powders"),
    log:
        "results/logs/campaign_figures/powders.log",
    benchmark:
        "results/benchmarks/campaign_figures/powders.tsv"
    conda:
        "../../envs/report.yaml"
    envmodules:
        *env_modules("report"),
    params:
        stage="powders",
        names=campaign_figure_outputs("powders"),
        acceptance=config["acceptance"],
        code=script_code("campaign_figures"),
    script:
        "../scripts/campaign_figures.py"


rule electrode_campaign_figures:
    input:
        unpack(campaign_figure_inputs("electrodes")),
    output:
        campaign_report_outputs("electrodes"),
    log:
        "results/logs/campaign_figures/electrodes.log",
    benchmark:
        "results/benchmarks/campaign_figures/electrodes.tsv"
    conda:
        "../../envs/report.yaml"
    envmodules:
        *env_modules("report"),
    params:
        stage="electrodes",
        names=campaign_figure_outputs("electrodes"),
        code=script_code("campaign_figures"),
    script:
        "../scripts/campaign_figures.py"


rule validation_figures:
    input:
        unpack(campaign_figure_inputs("validation")),
    output:
        campaign_report_outputs("validation"),
    log:
        "results/logs/campaign_figures/validation.log",
    benchmark:
        "results/benchmarks/campaign_figures/validation.tsv"
    conda:
        "../../envs/report.yaml"
    envmodules:
        *env_modules("report"),
    params:
        stage="validation",
        names=campaign_figure_outputs("validation"),
        code=script_code("campaign_figures"),
    script:
        "../scripts/campaign_figures.py"


rule fits_figures:
    input:
        unpack(campaign_figure_inputs("fits")),
    output:
        campaign_report_outputs("fits"),
    log:
        "results/logs/campaign_figures/fits.log",
    benchmark:
        "results/benchmarks/campaign_figures/fits.tsv"
    conda:
        "../../envs/report.yaml"
    envmodules:
        *env_modules("report"),
    params:
        stage="fits",
        names=campaign_figure_outputs("fits"),
        gitt=[f"{s}_{m}" for s, m in electrochem_keys("gitt")],
        eis=[f"{s}_{m}" for s, m in electrochem_keys("eis")],
        code=script_code("campaign_figures"),
    script:
        "../scripts/campaign_figures.py"


onsuccess:
    print(
        "batteryct: tables in results/tables/ and results/fits/, figures in results/figures/, logs in results/logs/; "
        "build the report with: snakemake --report results/report.zip"
    )
