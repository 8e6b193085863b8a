"""Rule eis_fit: Kramers-Kronig check, DRT, diffusion-time and size distribution of one spectrum."""

import math

import numpy as np
import pandas as pd

from batteryct import electrochem, impedance, io, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
row = sm.params.measurement
where = f"sample {row['sample']}, measurement {row['measurement']}, file {row['path']}"
if not sm.input.get("record"):
    raise io.InputDataError(f"{where}: file not found")
p = sm.params.fit
f_Hz, z = impedance.spectrum_from_table(io.read_eis_csv(row["path"]), source=row["path"])
kk = impedance.kramers_kronig_test(f_Hz, z, capacitance=True, threshold=p["kk_threshold"])
log.info(f"{where}: Kramers-Kronig M = {kk.n_elements}, max residual {kk.max_residual:.4f}, valid {kk.valid}")
drt = impedance.fit_drt(f_Hz, z, series_capacitance=True)
log.info(f"DRT lambda {drt.regularization:.3g} (GCV), {drt.peak_tau_s.size} peaks")

# D for the sizes: the same sample's GITT fit at the nearest temperature, or the config
d_source, d, d_ci = "none", None, None
if p["diffusivity_source"] == "gitt" and sm.input.get("diffusivity"):
    hit = electrochem.nearest_temperature_diffusivity(
        pd.read_parquet(sm.input.diffusivity), row["sample"], row["temperature_K"]
    )
    if hit is not None:
        d, d_ci, meas = hit
        d_source = f"gitt:{meas}"
if d is None and p["diffusivity_m2_s"] is not None:
    d, d_ci, d_source = float(p["diffusivity_m2_s"]), None, "config"
if d is None:
    log.warning(f"{where}: no diffusivity (no GITT fit of the sample, fits.eis.diffusivity_m2_s empty): times only")
dist = impedance.fit_diffusion_time_distribution(f_Hz, z, diffusivity_m2_s=d, diffusivity_interval_m2_s=d_ci)
logn = impedance.fit_lognormal_size_distribution(f_Hz, z, diffusivity_m2_s=d, diffusivity_interval_m2_s=d_ci)

ct = {"ct_d10_volume_um": math.nan, "ct_d50_volume_um": math.nan, "ct_d90_volume_um": math.nan, "ct_n_particles": 0}
particles = pd.read_parquet(sm.input.particles)
mine = particles[(particles["sample"] == row["sample"]) & ~particles["touches_border"].astype(bool)]
if len(mine):
    mine = mine[mine["scan"] == mine["scan"].iloc[0]]
    q = electrochem.ct_volume_quantiles_um(mine["equivalent_diameter_um"].to_numpy(float))
    ct = dict(zip(("ct_d10_volume_um", "ct_d50_volume_um", "ct_d90_volume_um"), q), ct_n_particles=len(mine))
summary = {
    "sample": row["sample"],
    "measurement": row["measurement"],
    "temperature_K": float(row["temperature_K"]),
    "n_frequencies": int(f_Hz.size),
    "kk_valid": bool(kk.valid),
    "kk_max_residual": float(kk.max_residual),
    "drt_lambda": float(drt.regularization),
    "drt_n_peaks": int(drt.peak_tau_s.size),
    "diffusivity_m2_s": math.nan if d is None else d,
    "diffusivity_source": d_source,
    "tau_D10_s": dist.tau_D10_s,
    "tau_D50_s": dist.tau_D50_s,
    "tau_D90_s": dist.tau_D90_s,
    "distribution_d10_um": dist.d10_um,
    "distribution_d50_um": dist.d50_um,
    "distribution_d90_um": dist.d90_um,
    "lognormal_tau_D50_s": logn.tau_D50_s,
    "lognormal_d10_um": logn.d10_um,
    "lognormal_d50_um": logn.d50_um,
    "lognormal_d50_ci_low_um": logn.d50_interval_um[0],
    "lognormal_d50_ci_high_um": logn.d50_interval_um[1],
    "lognormal_d90_um": logn.d90_um,
    "lognormal_sigma_ln_d": logn.sigma_ln_d,
    "lognormal_sigma_ln_d_ci_low": logn.sigma_ln_d_interval[0],
    "lognormal_sigma_ln_d_ci_high": logn.sigma_ln_d_interval[1],
    "lognormal_adequate": bool(logn.adequate),
    **ct,
    "d50_eis_over_ct": logn.d50_um / ct["ct_d50_volume_um"] if ct["ct_n_particles"] else math.nan,
}
log.info(
    f"D {summary['diffusivity_m2_s']:.4g} m2/s ({d_source}); d50 EIS {logn.d50_um:.3f} "
    f"[{logn.d50_interval_um[0]:.3f}, {logn.d50_interval_um[1]:.3f}] um vs CT {ct['ct_d50_volume_um']:.3f} um"
)
drt_rows = pd.DataFrame(
    {
        "sample": row["sample"],
        "measurement": row["measurement"],
        "tau_s": drt.tau_s,
        "gamma_ohm": drt.gamma_ohm,
        "density_ohm": drt.density_ohm,
        "is_peak": np.isin(drt.tau_s, drt.peak_tau_s),
    }
)
io.write_table(sm.output.drt, drt_rows)
# the spectrum with both fits and their residuals, for the report's figure
spectrum = pd.DataFrame(
    {
        "frequency_Hz": f_Hz,
        "z_real_ohm": z.real,
        "z_imag_ohm": z.imag,
        "drt_z_real_ohm": drt.z_fit_ohm.real,
        "drt_z_imag_ohm": drt.z_fit_ohm.imag,
        "drt_residual_real": drt.residual_real,
        "drt_residual_imag": drt.residual_imag,
        "kk_z_real_ohm": kk.z_fit_ohm.real,
        "kk_z_imag_ohm": kk.z_fit_ohm.imag,
        "kk_residual_real": kk.residual_real,
        "kk_residual_imag": kk.residual_imag,
    }
)
io.write_table(sm.output.spectrum, spectrum.assign(sample=row["sample"], measurement=row["measurement"]))
io.write_table(sm.output.summary, pd.DataFrame([summary]))
