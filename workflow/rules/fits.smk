# Solid-diffusion fits (issue 10): virtual cycler, GITT, Arrhenius, impedance, risk, and the
# validation of every fit of the demo against its truth.


rule simulate_electrochem:
    input:
        particles=truth_particles_input,
    output:
        record="results/simulated/{sample}/electrochem/{measurement}.csv",
        truth="results/simulated/{sample}/electrochem/{measurement}_truth.json",
    log:
        "results/logs/simulate_electrochem/{sample}/{measurement}.log",
    benchmark:
        "results/benchmarks/simulate_electrochem/{sample}/{measurement}.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=electrochem_simulation_spec,
        cell=cell_row,
        code=script_code("simulate_electrochem"),
    script:
        "../scripts/simulate_electrochem.py"


rule gitt_fit:
    input:
        record=electrochem_input,
        particles=ct_particles_input,
    output:
        pulses="results/fits/gitt/{sample}/{measurement}_pulses.parquet",
        summary="results/fits/gitt/{sample}/{measurement}.parquet",
        ocv="results/fits/gitt/{sample}/{measurement}_ocv.parquet",
        trace="results/fits/gitt/{sample}/{measurement}_trace.parquet",
    log:
        "results/logs/gitt_fit/{sample}/{measurement}.log",
    benchmark:
        "results/benchmarks/gitt_fit/{sample}/{measurement}.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        measurement=electrochem_row,
        cell=cell_row,
        fit=config["fits"]["gitt"],
        code=script_code("gitt_fit"),
    script:
        "../scripts/gitt_fit.py"


rule eis_fit:
    input:
        record=electrochem_input,
        particles="results/tables/particles.parquet",
        diffusivity=lambda wc: ("results/fits/diffusivity.parquet" if electrochem_keys("gitt") else []),
    output:
        drt="results/fits/eis/{sample}/{measurement}_drt.parquet",
        spectrum="results/fits/eis/{sample}/{measurement}_spectrum.parquet",
        summary="results/fits/eis/{sample}/{measurement}.parquet",
    log:
        "results/logs/eis_fit/{sample}/{measurement}.log",
    benchmark:
        "results/benchmarks/eis_fit/{sample}/{measurement}.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        measurement=electrochem_row,
        fit=config["fits"]["eis"],
        code=script_code("eis_fit"),
    script:
        "../scripts/eis_fit.py"


rule fit_table:
    input:
        tables=lambda wc: {
            "gitt_pulses": gitt_fit_tables("_pulses"),
            "diffusivity": gitt_fit_tables(""),
            "drt": eis_fit_tables("_drt"),
            "eis_psd": eis_fit_tables(""),
        }[wc.table],
    output:
        table="results/fits/{table}.parquet",
    log:
        "results/logs/fit_table/{table}.log",
    benchmark:
        "results/benchmarks/fit_table/{table}.tsv"
    wildcard_constraints:
        table="gitt_pulses|diffusivity|drt|eis_psd",
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        code=script_code("concat_tables"),
    script:
        "../scripts/concat_tables.py"


rule arrhenius:
    input:
        diffusivity="results/fits/diffusivity.parquet",
    output:
        table="results/fits/arrhenius.parquet",
    log:
        "results/logs/arrhenius.log",
    benchmark:
        "results/benchmarks/arrhenius.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        samples=arrhenius_samples(),
        reference_temperature_K=config["fits"]["arrhenius"]["reference_temperature_K"],
        code=script_code("arrhenius"),
    script:
        "../scripts/arrhenius.py"


rule particle_risk:
    input:
        particles="results/tables/particles.parquet",
        diffusivity="results/fits/diffusivity.parquet",
        ocv=gitt_fit_tables("_ocv"),
    output:
        table="results/fits/risk.parquet",
    log:
        "results/logs/particle_risk.log",
    benchmark:
        "results/benchmarks/particle_risk.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cells=gitt_sample_cells(),
        risk=config["fits"]["risk"],
        n_size_classes=config["fits"]["gitt"]["n_size_classes"],
        exchange_current_density_A_m2=config["fits"]["gitt"]["exchange_current_density_A_m2"],
        reference_temperature_K=config["fits"]["arrhenius"]["reference_temperature_K"],
        code=script_code("particle_risk"),
    script:
        "../scripts/particle_risk.py"


rule fits_validation:
    input:
        unpack(fits_validation_inputs),
    output:
        table="results/tables/fits_validation.parquet",
    log:
        "results/logs/fits_validation.log",
    benchmark:
        "results/benchmarks/fits_validation.tsv"
    conda:
        "../../envs/metrics.yaml"
    envmodules:
        *env_modules("metrics"),
    params:
        calendering_models=[
            "compaction_exponential",
            "heckel",
            "kawakita",
            "nip_relaxation",
            "springback_gibson_ashby",
            "conductivity_power_law_measured",
        ],
        code=script_code("fits_validation"),
    script:
        "../scripts/fits_validation.py"
