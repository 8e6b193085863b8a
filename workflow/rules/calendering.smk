# Calendering (issue 11): the virtual calender's sheet, the CT metrics of the scanned
# electrodes per sample, and the fitted process and structure-property laws per series.


rule simulate_calendering:
    output:
        sheet="results/simulated/calendering.tsv",
        truth="results/simulated/calendering_truth.parquet",
        exact="results/simulated/calendering_exact.parquet",
    log:
        "results/logs/simulate_calendering.log",
    benchmark:
        "results/benchmarks/simulate_calendering.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        series=config.get("simulate", {}).get("calendering") or {},
        code=script_code("simulate_calendering"),
    script:
        "../scripts/simulate_calendering.py"


rule calendering_ct:
    input:
        transport="results/tables/transport.parquet",
        psd="results/tables/psd.parquet",
        contacts=lambda wc: [f"results/transport_samples/{s}/{c}/contacts.h5" for s, c in transport_scan_keys()],
    output:
        table="results/fits/calendering_ct.parquet",
    log:
        "results/logs/calendering_ct.log",
    benchmark:
        "results/benchmarks/calendering_ct.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        # (sample, scan) of each contacts file, in the same order (the scans sheet's)
        scans=lambda wc: [[s, c] for s, c in transport_scan_keys()],
        code=script_code("calendering_ct"),
    script:
        "../scripts/calendering_ct.py"


rule calendering_fits:
    input:
        sheet=lambda wc: config["calendering"],
        # the CT metrics, when the campaign has transport scans
        ct=lambda wc: "results/fits/calendering_ct.parquet" if transport_scan_keys() else [],
    output:
        parameters="results/fits/calendering.parquet",
        samples="results/fits/calendering_samples.parquet",
    log:
        "results/logs/calendering_fits.log",
    benchmark:
        "results/benchmarks/calendering_fits.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        contact_modulus_GPa=config["fits"]["calendering"]["contact_modulus_GPa"],
        thickness_error_um=config["fits"]["calendering"]["thickness_error_um"],
        mass_loading_error_mg_cm2=config["fits"]["calendering"]["mass_loading_error_mg_cm2"],
        geometry=config["fits"]["calendering"]["geometry"],
        code=script_code("calendering_fits"),
    script:
        "../scripts/calendering_fits.py"
