"""Rule simulate_electrochem: a virtual-cycler GITT record or EIS spectrum and its truth."""

import json

import numpy as np
import pandas as pd

from batteryct import cycler, electrochem, gitt, impedance, io, psd, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
spec = sm.params.spec
cell = electrochem.CellGeometry.from_row(sm.params.cell)
truth_particles = pd.read_parquet(sm.input.particles)
# the particles inside the scanned volume (those cut by its faces are only partly there)
inside = truth_particles[~truth_particles["touches_border"].astype(bool)]
diameters = inside["equivalent_diameter_um"].to_numpy(float)
if np.isfinite(cell.radius_m):  # the cells sheet's one size, as the fit will use it
    diameters = np.array([2e6 * cell.radius_m])
    radius_m, volume_fraction = np.array([cell.radius_m]), np.array([1.0])
else:
    radius_m, volume_fraction = psd.volume_size_classes(diameters, int(spec["n_size_classes"]))
temperature_K = float(spec["temperature_K"])
d_T = float(
    gitt.arrhenius(
        spec["diffusivity_ref_m2_s"], spec["activation_energy_kJ_mol"], temperature_K, spec["reference_temperature_K"]
    )
)
# one seed per measurement, reproducible from the config seed and the temperature
seed = int(spec["seed"]) * 1000 + int(round(temperature_K)) + (500 if spec["technique"] == "eis" else 0)
d10, d50, d90 = electrochem.ct_volume_quantiles_um(diameters)
truth = {
    "sample": sm.wildcards.sample,
    "measurement": sm.wildcards.measurement,
    "technique": spec["technique"],
    "temperature_K": temperature_K,
    "diffusivity_m2_s": d_T,
    "diffusivity_ref_m2_s": float(spec["diffusivity_ref_m2_s"]),
    "activation_energy_kJ_mol": float(spec["activation_energy_kJ_mol"]),
    "reference_temperature_K": float(spec["reference_temperature_K"]),
    "d10_volume_um": d10,
    "d50_volume_um": d50,
    "d90_volume_um": d90,
    "n_particles": int(diameters.size),
    "seed": seed,
}
if spec["technique"] == "gitt":
    record, t = cycler.virtual_gitt(
        radius_m=radius_m,
        volume_fraction=volume_fraction,
        diffusivity_ref_m2_s=spec["diffusivity_ref_m2_s"],
        activation_energy_kJ_mol=spec["activation_energy_kJ_mol"],
        temperature_K=temperature_K,
        reference_temperature_K=spec["reference_temperature_K"],
        max_concentration_mol_m3=cell.max_concentration_mol_m3,
        active_volume_m3=cell.active_volume_m3,
        initial_stoichiometry=cell.initial_stoichiometry,
        exchange_current_density_A_m2=spec["exchange_current_density_A_m2"],
        n_pulses=int(spec["n_pulses"]),
        pulse_s=spec["pulse_s"],
        rest_s=spec["rest_s"],
        current_A=spec["current_A"],
        voltage_noise_V=spec["voltage_noise_V"],
        seed=seed,
    )
    truth.update(
        series_resistance_ohm=t.series_resistance_ohm,
        rc_resistance_ohm=t.rc_resistance_ohm,
        sauter_radius_um=1e6 * t.sauter_radius_m,
    )
    table = record[["time_s", "current_A", "voltage_V"]]
    log.info(f"GITT {len(table)} samples, {spec['n_pulses']} pulses, D(T) = {d_T:.4g} m2/s at {temperature_K} K")
else:
    frequency_Hz = np.logspace(4.0, -4.0, 65)
    sim = impedance.simulate_eis_spectrum(
        frequency_Hz,
        radius_m=radius_m,
        volume_fraction=volume_fraction,
        diffusivity_m2_s=d_T,
        capacitance_F=spec["eis_capacitance_F"],
        noise_rel=spec["eis_noise_rel"],
        seed=seed,
    )
    table = sim.spectrum
    # the classes the spectrum was made from (quantiles of the class diameters)
    truth.update(series_resistance_ohm=sim.series_resistance_ohm, d10_volume_um=sim.d10_um, d50_volume_um=sim.d50_um)
    truth.update(d90_volume_um=sim.d90_um)
    log.info(f"EIS {len(table)} frequencies, D(T) = {d_T:.4g} m2/s, true d50 (volume) {d50:.3f} um")
with io.atomic_path(sm.output.record) as tmp:
    table.to_csv(tmp, index=False, float_format="%.10g")
io.atomic_write_bytes(sm.output.truth, (json.dumps(truth, indent=1, sort_keys=True) + "\n").encode())
