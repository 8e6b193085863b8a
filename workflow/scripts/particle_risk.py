"""Rule particle_risk: fracture, thermal, plating and packing indices over each sample's CT sizes."""

import numpy as np
import pandas as pd

from batteryct import diffusion, electrochem, gitt, io, risk, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
p = sm.params.risk
particles = pd.read_parquet(sm.input.particles)
diffusivity = pd.read_parquet(sm.input.diffusivity)
ocv_tables = pd.concat([pd.read_parquet(f) for f in sm.input.ocv], ignore_index=True)
rows = []
for sample, cell_row in sm.params.cells.items():
    cell = electrochem.CellGeometry.from_row(cell_row)
    hit = electrochem.nearest_temperature_diffusivity(diffusivity, sample, sm.params.reference_temperature_K)
    if hit is None:
        log.warning(f"sample {sample}: no GITT fit, no risk row")
        continue
    d_m2_s, _, measurement = hit
    sizes = electrochem.particle_sizes(particles, sample, cell, n_classes=sm.params.n_size_classes)
    d_um = sizes.diameters_um if sizes.diameters_um.size else 2e6 * sizes.radius_m
    weib = risk.weibull_fracture_risk(
        d_um,
        stress_Pa=p["particle_stress_MPa"] * 1e6,
        strength_ref_Pa=p["weibull_strength_ref_MPa"] * 1e6,
        diameter_ref_um=p["weibull_diameter_ref_um"],
        weibull_modulus=p["weibull_modulus"],
    )
    therm = risk.thermal_risk(
        d_um, thermal_diffusivity_m2_s=p["thermal_diffusivity_m2_s"], heat_generation_time_s=p["heat_generation_time_s"]
    )
    # plating: the ensemble model at the C-rate, with the OCV fitted to that GITT record
    o = ocv_tables[(ocv_tables["sample"] == sample) & (ocv_tables["measurement"] == measurement)]
    ocv = gitt.RelaxedOcv(o["stoichiometry"].to_numpy(), o["voltage_V"].to_numpy())
    capacity_C = diffusion.FARADAY_C_MOL * cell.max_concentration_mol_m3 * cell.active_volume_m3
    current_A = p["plating_c_rate"] * capacity_C / 3600.0
    t = np.linspace(0.0, p["plating_duration_s"], 121)
    ens = diffusion.simulate_ensemble(
        sizes.radius_m,
        sizes.volume_fraction,
        t,
        np.where(t > 0, current_A, 0.0),
        diffusivity_m2_s=d_m2_s,
        ocv_V=ocv,
        exchange_current_density_A_m2=sm.params.exchange_current_density_A_m2,
        temperature_K=sm.params.reference_temperature_K,
        active_volume_m3=cell.active_volume_m3,
        max_concentration_mol_m3=cell.max_concentration_mol_m3,
        initial_stoichiometry=cell.initial_stoichiometry,
    )
    plat = risk.plating_risk(
        np.abs(ens.overpotential_V), ens.surface_area_m2, threshold_V=p["plating_threshold_V"], time_s=t
    )
    # packing: the sample's coarse and fine halves (split at the volume median) as a binary blend
    d50 = electrochem.ct_volume_quantiles_um(d_um)[1]
    coarse, fine = d_um[d_um >= d50], d_um[d_um < d50]
    ratio = float(np.median(fine) / np.median(coarse)) if fine.size and coarse.size else np.nan
    pack = risk.yu_standish_binary_packing(
        size_ratio=min(ratio, 1.0) if np.isfinite(ratio) else 1.0,
        phi_coarse=p["packing_phi"],
        phi_fine=p["packing_phi"],
    )
    rows.append(
        {
            "sample": sample,
            "radius_source": sizes.source,
            "diffusivity_m2_s": d_m2_s,
            "diffusivity_measurement": measurement,
            "weibull_fracture_probability_number": weib.number_weighted,
            "weibull_fracture_probability_volume": weib.volume_weighted,
            "thermal_critical_diameter_um": therm.critical_diameter_um,
            "thermal_volume_fraction_above_1": therm.volume_fraction_above_1,
            "thermal_number_fraction_above_1": therm.number_fraction_above_1,
            "plating_c_rate": p["plating_c_rate"],
            "plating_current_A": current_A,
            "plating_area_fraction_final": plat.area_fraction,
            "plating_peak_area_fraction": plat.peak_area_fraction,
            "packing_size_ratio_fine_coarse": ratio,
            "packing_phi_max_yu_standish": pack.phi_max,
            "packing_optimal_coarse_fraction": pack.optimal_coarse_fraction,
            "packing_bimodal_applicable": bool(np.isfinite(ratio) and ratio <= p["packing_size_ratio_max"]),
        }
    )
    log.info(f"{sample}: {runlog.summary(rows[-1])}")
io.write_table(sm.output.table, pd.DataFrame(rows))
