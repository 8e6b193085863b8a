"""Rule arrhenius: E_a and D at the reference temperature per sample with GITT at >= 3 temperatures."""

import pandas as pd

from batteryct import gitt, io, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
diffusivity = pd.read_parquet(sm.input.diffusivity)
rows = []
for sample in sm.params.samples:
    d = diffusivity[diffusivity["sample"] == sample]
    f = gitt.arrhenius_fit(
        d["temperature_K"].to_numpy(),
        d["D_fit_m2_s"].to_numpy(),
        d["D_fit_ci_low_m2_s"].to_numpy(),
        d["D_fit_ci_high_m2_s"].to_numpy(),
        reference_temperature_K=sm.params.reference_temperature_K,
    )
    rows.append(
        {
            "sample": sample,
            "n_temperatures": len(d),
            "temperature_min_K": float(d["temperature_K"].min()),
            "temperature_max_K": float(d["temperature_K"].max()),
            "activation_energy_kJ_mol": f.activation_energy_kJ_mol,
            "activation_energy_ci_low_kJ_mol": f.activation_energy_low_kJ_mol,
            "activation_energy_ci_high_kJ_mol": f.activation_energy_high_kJ_mol,
            "reference_temperature_K": f.reference_temperature_K,
            "D_ref_m2_s": f.diffusivity_ref_m2_s,
            "D_ref_ci_low_m2_s": f.diffusivity_ref_low_m2_s,
            "D_ref_ci_high_m2_s": f.diffusivity_ref_high_m2_s,
            "chi2": f.chi2,
            "dof": f.dof,
            "interval_scale": f.scale,
            "flags": "scatter_exceeds_intervals" if f.scatter_exceeds_intervals else "",
        }
    )
    log.info(
        f"{sample}: E_a {f.activation_energy_kJ_mol:.2f} [{f.activation_energy_low_kJ_mol:.2f}, "
        f"{f.activation_energy_high_kJ_mol:.2f}] kJ/mol, "
        f"D({f.reference_temperature_K} K) {f.diffusivity_ref_m2_s:.4g} m2/s"
    )
io.write_table(sm.output.table, pd.DataFrame(rows, columns=None if rows else ["sample"]))
