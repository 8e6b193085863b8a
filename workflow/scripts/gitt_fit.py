"""Rule gitt_fit: pulse analysis, Weppner-Huggins, sphere-corrected and full fit of one GITT record."""

import pandas as pd

from batteryct import electrochem, gitt, io, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
row = sm.params.measurement
where = f"sample {row['sample']}, measurement {row['measurement']}, file {row['path']}"
if not sm.input.get("record"):
    raise io.InputDataError(f"{where}: file not found")
cell = electrochem.CellGeometry.from_row(sm.params.cell)
if cell.initial_stoichiometry != cell.initial_stoichiometry:
    raise ValueError(f"{where}: the cells sheet has no initial_stoichiometry for {row['sample']}")
p = sm.params.fit
sizes = electrochem.particle_sizes(
    pd.read_parquet(sm.input.particles) if sm.input.get("particles") else pd.DataFrame(),
    row["sample"],
    cell,
    n_classes=p["n_size_classes"],
)
log.info(f"{where}: {sizes.radius_m.size} size classes from {sizes.source} ({sizes.n_particles} particles)")
record = io.read_gitt_csv(row["path"])
try:
    fit = gitt.fit_gitt(
        record["time_s"].to_numpy(),
        record["current_A"].to_numpy(),
        record["voltage_V"].to_numpy(),
        radius_m=sizes.radius_m,
        volume_fraction=sizes.volume_fraction,
        exchange_current_density_A_m2=p["exchange_current_density_A_m2"],
        temperature_K=row["temperature_K"],
        active_volume_m3=cell.active_volume_m3,
        max_concentration_mol_m3=cell.max_concentration_mol_m3,
        initial_stoichiometry=cell.initial_stoichiometry,
        per_pulse=p["per_pulse"],
        split=p["split"],
        skip_after_switch_s=p["skip_after_switch_s"],
        n_bootstrap=p["n_bootstrap"],
        seed=p["seed"],
    )
except ValueError as err:
    raise ValueError(f"{where}: {err}") from err
kw = dict(sample=row["sample"], measurement=row["measurement"], temperature_K=row["temperature_K"])
pulses = electrochem.gitt_pulse_rows(fit, **kw)
summary = electrochem.gitt_summary_row(fit, sizes=sizes, **kw)
log.info(
    f"D_fit {summary['D_fit_m2_s']:.4g} [{summary['D_fit_ci_low_m2_s']:.4g}, {summary['D_fit_ci_high_m2_s']:.4g}] "
    f"m2/s (with the CT size error [{summary['D_fit_with_size_ci_low_m2_s']:.4g}, "
    f"{summary['D_fit_with_size_ci_high_m2_s']:.4g}]), D_WH {summary['D_wh_m2_s']:.4g}, "
    f"D_WH,sphere {summary['D_wh_sphere_m2_s']:.4g}, rmse {summary['rmse_mV']:.3f} mV, "
    f"bootstrap/Jacobian width {summary['interval_ratio_bootstrap_to_jacobian']:.2f}, flags {summary['flags'] or '-'}"
)
io.write_table(sm.output.pulses, pulses)
io.write_table(sm.output.summary, pd.DataFrame([summary]))
ocv = pd.DataFrame({"stoichiometry": fit.ocv_stoichiometry, "voltage_V": fit.ocv_voltage_V})
io.write_table(sm.output.ocv, ocv.assign(sample=row["sample"], measurement=row["measurement"]))
# the record at the fit's time nodes with the model, for the report's figure
t_nodes = record["time_s"].to_numpy()[fit.node_index]
trace = pd.DataFrame(
    {
        "time_s": t_nodes,
        "voltage_V": fit.measured_voltage_V,
        "model_voltage_V": fit.model_voltage_V,
        "fitted": fit.fitted,
    }
)
io.write_table(sm.output.trace, trace.assign(sample=row["sample"], measurement=row["measurement"]))
