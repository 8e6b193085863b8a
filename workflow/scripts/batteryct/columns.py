"""The data dictionary: a unit and a one-sentence description for every table column.

:func:`describe` looks a column name up: first the exact names of :data:`EXACT`, then the
families of :data:`PATTERNS` (per-axis, per-plane, percentiles, the ``_ci_low`` /
``_ci_high`` interval bounds and the ``_truth`` values); the unit comes from the entry or,
where the entry leaves it out, from the name's unit suffix (:data:`UNIT_SUFFIXES`). Unit
``"1"`` is dimensionless, ``""`` an identifier, flag or text. :func:`batteryct.io.write_table`
stores both in the parquet schema (field metadata ``unit`` and ``description``).
"""

from __future__ import annotations

import re

# Longest first: the first suffix the name ends with gives its unit.
UNIT_SUFFIXES = (
    ("_kJ_mol", "kJ/mol"),
    ("_g_cm3", "g/cm³"),
    ("_mol_m3", "mol/m³"),
    ("_cm2_s", "cm²/s"),
    ("_m2_s", "m²/s"),
    ("_m2_g", "m²/g"),
    ("_per_um", "1/µm"),
    ("_per_100", "per 100 particles"),
    ("_percent", "%"),
    ("_miles", "mi"),
    ("_ohm", "Ω"),
    ("_MPa", "MPa"),
    ("_S_m", "S/m"),
    ("_1_s", "1/s"),
    ("_um3", "µm³"),
    ("_um2", "µm²"),
    ("_Hz", "Hz"),
    ("_um", "µm"),
    ("_m2", "m²"),
    ("_mV", "mV"),
    ("_px", "px"),
    ("_K", "K"),
    ("_V", "V"),
    ("_J", "J"),
    ("_N", "N"),
    ("_A", "A"),
    ("_s", "s"),
    ("_m", "m"),
)

POSTERIOR = (
    "the same metric on label volumes drawn from the segmentation posteriors "
    "(transport.uncertainty_samples), value ± t s √(1 + 1/n) (batteryct.electrode.interval); "
    "for pore|solid surface areas stretched to the samples' mean as well"
)
FIT_CI = "95 % interval of the fit (Jacobian covariance, t quantile; profile likelihood when the Jacobian is poor)"
AXIS = {"x": "x (in plane)", "y": "y (in plane)", "z": "z (through plane)"}
_ID = ""  # identifiers, flags and text
_DL = "1"  # dimensionless

# name -> description, or (unit, description) where the suffix does not give the unit.
EXACT: dict[str, str | tuple[str, str]] = {
    # identifiers
    "sample": (_ID, "Sample name from the samples sheet."),
    "scan": (_ID, "Scan name from the scans sheet."),
    "kind": (_ID, "Kind of the row: sample kind (powder, electrode) or network element kind."),
    "source": (_ID, "What the scan entered the workflow as: projections, volume or labels."),
    "measurement": (_ID, "Electrochemical measurement name from the electrochem sheet."),
    "series": (_ID, "Calendering series name."),
    "model": (_ID, "Name of the fitted model."),
    "parameter": (_ID, "Name of the fitted parameter."),
    "unit": (_ID, "Unit of the row's value and interval (fits), or of the column (data dictionary)."),
    "table": (_ID, "Campaign table (parquet file name without .parquet)."),
    "column": (_ID, "Column name in the table."),
    "description": (_ID, "One-sentence description of the column (batteryct.columns)."),
    "metric": (_ID, "Name of the compared metric (a column of transport.parquet)."),
    "stage": (_ID, "Workflow stage the fitted parameter belongs to."),
    "subject": (_ID, "Sample, measurement or series the parameter was fitted to."),
    "particle_id": (_ID, "Particle label in the scan's instance segmentation."),
    "void_id": (_ID, "Internal-void label in the scan."),
    "host_particle_id": (_ID, "Particle that encloses the void."),
    "node_id": (_ID, "Pore (network node) index."),
    "throat_id": (_ID, "Throat (network edge) index."),
    "node_a": (_ID, "Pore at one end of the throat."),
    "node_b": (_ID, "Pore at the other end of the throat."),
    "pulse": (_ID, "GITT pulse index, from 0."),
    "flags": (_ID, "Semicolon-separated warnings of the fit or pulse (empty when none)."),
    "notes": (_ID, "Notes on how the acceptance values were obtained."),
    "reasons": (_ID, "Why the batch was rejected (empty when accepted)."),
    "warning": (_ID, "Warning about the size distribution (empty when none)."),
    "center_warning": (_ID, "Warning when the two centre-of-rotation estimates disagree."),
    "error": (_ID, "First lines of the failed job's error, or the measured minus true value."),
    "error_kind": (_ID, "How the error is expressed: absolute or relative."),
    "failed_rule": (_ID, "Rule that failed first for this scan or mosaic."),
    "log": (_ID, "Log file of the failed job."),
    "box_shape": (_ID, "Shape (z, y, x) in voxels of the transport analysis box."),
    "d32_source": (_ID, "Where the d32 used for acceptance came from (CT or the samples sheet)."),
    "radius_source": (_ID, "Where the particle radius came from (CT PSD or the cells sheet)."),
    "diffusivity_source": (_ID, "Where the diffusivity used to turn τ into sizes came from."),
    "diffusivity_measurement": (_ID, "GITT measurement whose diffusivity was used."),
    "reachable_model": (_ID, "Model used for the reachable capacity fraction."),
    "kinematics_flag": (_ID, "Warning of the calendering kinematics check (empty when none)."),
    # booleans
    "accepted": (_ID, "True when the batch passes every acceptance limit."),
    "touches_border": (_ID, "True when the particle touches the volume border (excluded from statistics)."),
    "is_peak": (_ID, "True at a local maximum of the distribution of relaxation times."),
    "kk_valid": (_ID, "True when the Kramers–Kronig residuals are within tolerance."),
    "lognormal_ok": (_ID, "True when the KS test does not reject the lognormal fit."),
    "lognormal_adequate": (_ID, "True when the lognormal describes the DRT-derived sizes."),
    "ks_reject": (_ID, "True when the KS test rejects the lognormal at 5 %."),
    "ks_pvalue_at_floor": (
        _ID,
        "True when the KS p-value is the Monte-Carlo floor 1/(replicates + 1): the true p-value may be far lower.",
    ),
    "center_estimates_disagree": (
        _ID,
        "True when the Vo and phase-correlation centres differ by more than the tolerance (check the reconstruction).",
    ),
    "d32_route_ok": (_ID, "True when the percentile-route d32 agrees with the direct one."),
    "consistent": (_ID, "True when sheet and CT porosity agree within their intervals."),
    "inside_ct_interval": (_ID, "True when the sheet porosity lies in the CT porosity's interval."),
    "inside_ci": (_ID, "True when the truth lies in the fitted 95 % interval."),
    "truth_in_interval": (_ID, "True when the truth lies in the measured 95 % interval."),
    "fitted": (_ID, "True at the time nodes the fit used."),
    "packing_bimodal_applicable": (_ID, "True when the Yu–Standish binary packing model applies."),
    # counts
    "n": (_DL, "Number of data points of the fit."),
    "dof": (_DL, "Degrees of freedom of the fit."),
    "n_particles": (_DL, "Number of particles (interior ones for statistics)."),
    "n_interior_particles": (_DL, "Number of particles not touching the box border."),
    "n_internal_voids": (_DL, "Number of internal closed voids in the particle."),
    "n_voids": (_DL, "Number of internal closed voids."),
    "n_void_particles": (_DL, "Number of particles holding at least one internal void."),
    "n_border_particles": (_DL, "Number of particles touching the volume border."),
    "n_border_excluded": (_DL, "Number of border particles excluded from the distribution."),
    "n_invalid_dropped": (_DL, "Number of particles dropped for invalid sizes."),
    "n_voxels": (_DL, "Number of voxels of the pore or throat."),
    "n_voxels_roi": (_DL, "Number of voxels of the metrics region (the cylinder inside the field of view)."),
    "n_tiles": (_DL, "Number of radiograph tiles in the mosaic."),
    "n_pairs": (_DL, "Number of overlapping tile pairs."),
    "n_pairs_used": (_DL, "Number of tile pairs whose registration was used."),
    "n_particles_2d": (_DL, "Number of particles detected in the mosaic."),
    "n_particles_detected": (_DL, "Number of particles detected in the simulated mosaic."),
    "n_frequencies": (_DL, "Number of frequencies of the impedance spectrum."),
    "n_pulses": (_DL, "Number of GITT pulses."),
    "n_points": (_DL, "Number of voltage points the full fit used."),
    "n_size_classes": (_DL, "Number of particle-size classes of the ensemble fit."),
    "n_temperatures": (_DL, "Number of temperatures of the Arrhenius fit."),
    "ct_n_particles": (_DL, "Number of CT particles of the compared size distribution."),
    "drt_n_peaks": (_DL, "Number of peaks of the distribution of relaxation times."),
    "network_n_pores": (_DL, "Number of pores of the extracted pore network."),
    "network_n_throats": (_DL, "Number of throats of the extracted pore network."),
    "stereology_n_sections": (_DL, "Number of 2D particle sections used by the stereology."),
    "uncertainty_samples": (_DL, "Number of posterior label samples behind the *_ci_low/_ci_high intervals."),
    "internal_void_voxels_truth": (_DL, "Number of true internal-void voxels of the simulated scan."),
    "coordination_number": (_DL, "Mean number of neighbours (touching particles or pores) of an interior element."),
    "coordination_number_all": (_DL, "Mean number of touching neighbours of all particles, border ones included."),
    "coordination_number_ci_low": (_DL, "Lower bound of the 95 % t interval of the mean interior coordination."),
    "coordination_number_ci_high": (_DL, "Upper bound of the 95 % t interval of the mean interior coordination."),
    "skeleton_coordination": (_DL, "Number of skeleton branches meeting at the pore."),
    # scan metrics and validation
    "voxel_size_um": "Voxel edge length (isotropic scans; the z edge otherwise).",
    "solid_fraction": (_DL, "Volume fraction of solid (active + void + binder) in the metrics cylinder."),
    "porosity": (_DL, "Open-pore volume fraction of the table's analysis region (metrics cylinder or transport box)."),
    "active_fraction": (_DL, "Active-material volume fraction of the analysis region."),
    "binder_fraction": (_DL, "Carbon-binder volume fraction of the analysis region."),
    "internal_void_fraction": (_DL, "Internal closed-void volume fraction of the metrics cylinder."),
    "specific_surface_area_per_um": "Pore-solid surface area (marching cubes) per volume of the analysis region.",
    "center_px": "Centre of rotation used for reconstruction, in detector pixels.",
    "center_px_vo": ("px", "Centre of rotation by Vo's sinogram method."),
    "center_px_phase_correlation": ("px", "Centre of rotation by phase correlation of the 0°/180° pair."),
    "center_truth_px": "True centre of rotation of the simulated scan.",
    "center_error_px": "Found minus true centre of rotation.",
    "recon_nrmse": (_DL, "RMS error of the reconstruction against the true attenuation, over its range."),
    "recon_relative_l2": (_DL, "Relative L2 error of the reconstruction against the true attenuation."),
    "recon_gain": (_DL, "Least-squares gain of the reconstruction against the true attenuation."),
    "recon_noise_std_per_um": "Standard deviation of the reconstruction noise in a flat region.",
    "porosity_error": (_DL, "Measured minus true porosity."),
    "void_recall": (_DL, "Fraction of true internal-void voxels labelled void."),
    "void_precision": (_DL, "Fraction of void-labelled voxels that are true voids."),
    "count_error": (_DL, "Detected minus true particle count."),
    "gain_error_max": (_DL, "Largest error of the solved tile gains."),
    "position_error_max_px": "Largest error of the solved tile positions.",
    "position_error_mean_px": "Mean error of the solved tile positions.",
    "rms_residual_px": "RMS residual of the tile-position solve.",
    "mosaic_area_um2": "Area of the stitched mosaic.",
    "pixel_size_um": "Pixel size of the mosaic.",
    "median_diameter_detected_um": "Median projected-area diameter of the detected particles.",
    "median_diameter_truth_um": "Median true diameter of the simulated mosaic's particles.",
    "projected_diameter_mean_um": "Mean projected-area diameter of the 2D particles.",
    "projected_diameter_median_um": "Median projected-area diameter of the 2D particles.",
    # particles and voids
    "volume_um3": "Volume of the particle, void, pore or throat.",
    "envelope_volume_um3": "Particle volume with its internal voids filled.",
    "internal_void_volume_um3": "Total volume of the particle's internal voids.",
    "surface_area_um2": "Surface area (marching cubes, voxel-corrected).",
    "sa_to_v_per_um": "Surface area over volume.",
    "equivalent_diameter_um": "Diameter of the sphere of the same volume.",
    "sphericity": (_DL, "π^(1/3) (6V)^(2/3) / A: 1 for a sphere, less otherwise."),
    "dead_volume_fraction": (_DL, "Internal-void volume over envelope volume of the particle."),
    # powder summary (Heenan et al. 2020, Table 1)
    "dead_volume_percent_net": ("%", "Internal-void volume over envelope volume of all particles."),
    "dead_volume_percent_void_particles": (
        "%",
        "Internal-void volume over envelope volume of the void-holding particles.",
    ),
    "dead_volume_percent": "Internal-void volume over envelope volume of all particles.",
    "void_particle_frequency_per_100": "Void-holding particles per 100 particles.",
    "void_particles_per_100": "Void-holding particles per 100 particles.",
    "range_impact_miles": "Drivable range lost to the dead volume, for the reference range.",
    "reference_range_miles": "Reference drivable range of the range-impact estimate.",
    "mean_radius_um": "Mean radius (particle azimuth radii, or throat along its length).",
    "mean_local_roughness_um": "Mean local roughness of the particles.",
    "mean_roughness_proxy_um": "Mean roughness proxy of the particles.",
    # size distributions
    "d32_um": "Sauter mean diameter Σd³/Σd² of the equivalent diameters.",
    "d43_um": "De Brouckere mean diameter Σd⁴/Σd³.",
    "d32_measured_um": "Sauter mean diameter measured by CT.",
    "d32_used_um": "Sauter mean diameter used for the acceptance values.",
    "d32_percentile_um": "Sauter diameter from the lognormal percentile route.",
    "d32_percentile_rel_error": (_DL, "Relative difference of the percentile-route d32 to the direct one."),
    "mean_number_um": "Number-weighted mean equivalent diameter.",
    "mean_diameter_3d_um": "Mean 3D equivalent diameter compared with the stereology.",
    "span_number": (_DL, "(d90 - d10) / d50 of the number-weighted distribution."),
    "span_number_primary": (_DL, "Number-weighted span of the primary (non-agglomerate) particles."),
    "span_volume": (_DL, "(d90 - d10) / d50 of the volume-weighted distribution."),
    "dispersion_index": (_DL, "Variance over squared mean of the diameters."),
    "total_volume_um3": "Total volume of the interior particles.",
    "agglomerate_threshold_um": "Diameter above which a particle counts as an agglomerate.",
    "agglomerate_number_fraction": (_DL, "Number fraction of agglomerates."),
    "agglomerate_volume_fraction": (_DL, "Volume fraction of agglomerates."),
    "lognormal_mu": (_DL, "ML mean of ln(d / 1 µm) of the lognormal fit."),
    "lognormal_sigma": (_DL, "ML standard deviation of ln d of the lognormal fit."),
    "lognormal_median_um": "Median exp(μ) of the lognormal fit.",
    "lognormal_mu_ci_low": (_DL, "Lower bound of the 95 % t interval of μ."),
    "lognormal_mu_ci_high": (_DL, "Upper bound of the 95 % t interval of μ."),
    "lognormal_median_ci_low_um": "Lower bound of the 95 % interval of the median, exp of μ's t interval.",
    "lognormal_median_ci_high_um": "Upper bound of the 95 % interval of the median, exp of μ's t interval.",
    "lognormal_sigma_ci_low": (_DL, "Lower bound of the 95 % chi-square interval of σ."),
    "lognormal_sigma_ci_high": (_DL, "Upper bound of the 95 % chi-square interval of σ."),
    "ks_statistic": (_DL, "Kolmogorov–Smirnov statistic of the lognormal fit."),
    "ks_pvalue": (_DL, "Monte-Carlo p-value of the KS test with fitted parameters."),
    "percentile_median_number_um": "Number median from the percentile route.",
    "percentile_sigma": (_DL, "Lognormal σ from the percentile route."),
    "stereology_mean_diameter_um": "Mean 3D diameter unfolded from 2D sections (Schwartz–Saltykov).",
    "stereology_relative_error": (_DL, "Relative difference of the stereology mean to the 3D mean."),
    # acceptance
    "ssa_m2_g": "Specific surface area per mass, from the CT surface and the density.",
    "density_g_cm3": "Solid density from the samples sheet.",
    "electrode_porosity": (_DL, "Electrode porosity assumed for the permeability and conductivity."),
    "kozeny_carman_constant": (_DL, "Kozeny–Carman constant of the permeability estimate."),
    "permeability_m2": "Kozeny–Carman permeability.",
    "permeability_um2": "Kozeny–Carman permeability.",
    "kappa_porosity_exponent": (
        _DL,
        "Bruggeman exponent α of the electrolyte conductivity κ = κ₀ ε^α (config acceptance.bruggeman_alpha).",
    ),
    "kappa0_S_m": "Bulk electrolyte conductivity κ₀.",
    "kappa_eff_S_m": "Effective electrolyte conductivity κ₀ ε^α.",
    "macmullin_number": (_DL, "MacMullin number κ₀ / κ_eff."),
    "D_s_cm2_s": "Solid-state diffusivity assumed for the diffusion times.",
    "c_rate": (_DL, "C-rate of the reachable-capacity estimate (1/h, 1 = one-hour discharge)."),
    "discharge_time_s": "Discharge time at the C-rate.",
    "d_crit_um": "Largest diameter fully reachable in the discharge time.",
    "reachable_fraction": (_DL, "Volume fraction of active material reachable in the discharge time."),
    "reachable_fraction_tau": (_DL, "Reachable fraction by the diffusion-time criterion."),
    "reachable_fraction_galvanostatic": (_DL, "Reachable fraction by the galvanostatic sphere model."),
    # transport
    "adhesion_energy_J": "Adhesion energy of the active-binder contact area.",
    "max_shear_force_N": "Shear force the active-binder contact area holds.",
    "network_deff_over_dbulk_z": (_DL, "D_eff / D_bulk along z of the pore network."),
    "network_tortuosity_factor_z": (_DL, "Tortuosity factor ε D_bulk / D_eff along z of the pore network."),
    "network_to_voxel_deff_ratio_z": (_DL, "Pore-network over finite-volume D_eff along z."),
    "bruggeman_exponent_through_plane": (_DL, "α of τ = ε^-α fitted to the through-plane (z) τ."),
    "bruggeman_exponent_in_plane": (_DL, "α of τ = ε^-α fitted to the in-plane (x, y) τ."),
    # pore network
    "pore_radius_um": "Radius of the largest sphere inscribed in the pore.",
    "length_um": "Centre-to-centre length of the throat.",
    "min_radius_um": "Smallest inscribed radius along the throat.",
    "min_area_um2": "Smallest cross-section area along the throat.",
    "conduit_length_a_um": "Conduit length inside pore a.",
    "conduit_length_b_um": "Conduit length inside pore b.",
    "conduit_length_throat_um": "Conduit length of the throat itself.",
    "resistance_a_per_um": "Diffusive resistance of the conduit in pore a (per unit D_bulk).",
    "resistance_b_per_um": "Diffusive resistance of the conduit in pore b (per unit D_bulk).",
    "resistance_throat_per_um": "Diffusive resistance of the throat conduit (per unit D_bulk).",
    # validation tables
    "value": (_ID, "Fitted value (unit in the unit column)."),
    "stderr": (_ID, "Standard error of the fitted value (unit in the unit column)."),
    "ci_low": (_ID, "Lower bound of the 95 % interval (unit column): fit covariance or posterior samples."),
    "ci_high": (_ID, "Upper bound of the 95 % interval (unit column): fit covariance or posterior samples."),
    "truth": (_ID, "True value of the virtual scanner, cycler or calender (same unit as the value)."),
    "measured": (_ID, "Measured value (unit of the metric)."),
    "relative_error": (_DL, "(value - truth) / truth."),
    "rmse": (_ID, "RMS residual of the fit, in the unit of the fitted data."),
    "aic": (_DL, "Small-sample corrected Akaike information criterion (AICc)."),
    # GITT
    "stoichiometry": (_DL, "Lithium stoichiometry x at the pulse (or OCV point)."),
    "tau_s": "Pulse duration (GITT) or relaxation time (DRT).",
    "dEs_V": "Steady-state voltage change of the pulse.",
    "dEt_V": "Transient voltage change during the pulse, IR step removed.",
    "ir_step_V": "Ohmic voltage step at the start of the pulse.",
    "dimensionless_time": (_DL, "D τ / R²: above ~0.1 Weppner–Huggins is invalid."),
    "D_wh_m2_s": "Diffusivity by Weppner–Huggins with R = 3V/S from the CT d32.",
    "D_wh_sphere_m2_s": "Weppner–Huggins diffusivity with the sphere correction.",
    "D_fit_m2_s": "Diffusivity of the full fit of the record by the particle-size ensemble.",
    "D_fit_ci_low_m2_s": "Lower bound of the full fit's 95 % interval (voltage noise, Jacobian covariance).",
    "D_fit_ci_high_m2_s": "Upper bound of the full fit's 95 % interval (voltage noise, Jacobian covariance).",
    "D_fit_bootstrap_ci_low_m2_s": "Lower bound of the residual-bootstrap 95 % interval of the full fit's D.",
    "D_fit_bootstrap_ci_high_m2_s": "Upper bound of the residual-bootstrap 95 % interval of the full fit's D.",
    "interval_ratio_bootstrap_to_jacobian": (_DL, "Width of the bootstrap interval over the Jacobian one."),
    "D_fit_with_size_ci_low_m2_s": "Lower bound of the fit's interval with the CT Sauter radius sampling error.",
    "D_fit_with_size_ci_high_m2_s": "Upper bound of the fit's interval with the CT Sauter radius sampling error.",
    "diffusion_rate_1_s": "D / R₃₂², what the record fixes whatever the sizes.",
    "diffusion_rate_ci_low_1_s": "Lower bound of D / R₃₂² from the fit's interval.",
    "diffusion_rate_ci_high_1_s": "Upper bound of D / R₃₂² from the fit's interval.",
    "series_resistance_ohm": "Series resistance of the full fit.",
    "series_resistance_ci_low_ohm": "Lower bound of the fit's 95 % interval of the series resistance.",
    "series_resistance_ci_high_ohm": "Upper bound of the fit's 95 % interval of the series resistance.",
    "sauter_radius_um": "Sauter radius R₃₂ the fit used.",
    "sauter_d32_um": "Sauter mean diameter of the sample's CT particles.",
    "rmse_mV": "RMS voltage residual of the full fit.",
    "temperature_K": "Temperature of the measurement.",
    "time_s": "Time since the start of the record.",
    "voltage_V": "Cell voltage.",
    "model_voltage_V": "Voltage of the fitted model.",
    # Arrhenius
    "activation_energy_kJ_mol": "Activation energy E_a of D(T) = D_ref exp(-E_a/R (1/T - 1/T_ref)).",
    "activation_energy_ci_low_kJ_mol": "Lower bound of the fit's 95 % interval of E_a (weighted least squares, t).",
    "activation_energy_ci_high_kJ_mol": "Upper bound of the fit's 95 % interval of E_a (weighted least squares, t).",
    "D_ref_m2_s": "Diffusivity at the reference temperature.",
    "D_ref_ci_low_m2_s": "Lower bound of the fit's 95 % interval of D_ref.",
    "D_ref_ci_high_m2_s": "Upper bound of the fit's 95 % interval of D_ref.",
    "reference_temperature_K": "Reference temperature of the Arrhenius fit.",
    "temperature_min_K": "Lowest temperature of the fit.",
    "temperature_max_K": "Highest temperature of the fit.",
    "chi2": (_DL, "χ² of the weighted Arrhenius fit."),
    "interval_scale": (_DL, "Factor applied to the intervals when χ² exceeds its dof."),
    # impedance
    "frequency_Hz": "Frequency of the impedance point.",
    "gamma_ohm": "DRT γ(ln τ): resistance per unit ln τ.",
    "density_ohm": "DRT density on the τ grid.",
    "drt_lambda": (_DL, "Tikhonov regularisation λ of the DRT, chosen by GCV."),
    "kk_max_residual": (_DL, "Largest Kramers–Kronig residual relative to |Z|."),
    "diffusivity_m2_s": "Solid-state diffusivity used (from GITT or the config).",
    "lognormal_tau_D50_s": "Median diffusion time of the lognormal fit.",
    "lognormal_sigma_ln_d": (_DL, "σ of ln d of the lognormal size fit."),
    "lognormal_sigma_ln_d_ci_low": (_DL, "Lower bound of the fit's 95 % interval of σ."),
    "lognormal_sigma_ln_d_ci_high": (_DL, "Upper bound of the fit's 95 % interval of σ."),
    "lognormal_d50_ci_low_um": "Lower bound of the fit's 95 % interval of the lognormal d50.",
    "lognormal_d50_ci_high_um": "Upper bound of the fit's 95 % interval of the lognormal d50.",
    "d50_eis_over_ct": (_DL, "Impedance-derived over CT volume-weighted d50."),
    # risk
    "weibull_fracture_probability_number": (_DL, "Number-weighted Weibull fracture probability over the CT PSD."),
    "weibull_fracture_probability_volume": (_DL, "Volume-weighted Weibull fracture probability over the CT PSD."),
    "thermal_critical_diameter_um": "Diameter at which the thermal index reaches 1.",
    "thermal_number_fraction_above_1": (_DL, "Number fraction of particles with thermal index above 1."),
    "thermal_volume_fraction_above_1": (_DL, "Volume fraction of particles with thermal index above 1."),
    "plating_c_rate": (_DL, "C-rate of the plating-risk estimate."),
    "plating_current_A": "Cell current of the plating-risk estimate.",
    "plating_area_fraction_final": (_DL, "Surface fraction of the ensemble at plating risk at the end."),
    "plating_peak_area_fraction": (_DL, "Largest surface fraction at plating risk during the discharge."),
    "packing_phi_max_yu_standish": (_DL, "Yu–Standish maximum packing fraction of the coarse/fine halves."),
    "packing_optimal_coarse_fraction": (_DL, "Coarse fraction giving the densest binary packing."),
    "packing_size_ratio_fine_coarse": (_DL, "Fine over coarse characteristic diameter."),
    # calendering
    "peak_pressure_MPa": "Peak line pressure of the calender pass.",
    "dwell_time_s": "Dwell time in the nip.",
    "half_width_m": "Half-width of the Hertz nip contact.",
    "true_strain": (_DL, "True (log) thickness strain of the pass."),
    "springback": (_DL, "Relative thickness recovery after the nip."),
    "compressibility": (_DL, "Relative porosity loss per unit log pressure."),
    "solid_density_g_cm3": "Solid density of the coating.",
    "porosity_coated": (_DL, "Porosity of the coating before calendering."),
    "porosity_kinematic": (_DL, "Porosity from the thickness kinematics."),
    "porosity_stderr": (_DL, "Standard error of the sheet porosity (densities and loading)."),
    "porosity_ct": (_DL, "CT porosity of the sample's transport box."),
    "porosity_gap": (_DL, "Sheet minus CT porosity."),
    "difference": (_DL, "Sheet minus CT porosity when the series has CT, else measured minus kinematic porosity."),
    "difference_stderr": (
        _DL,
        "Standard error of the measured minus kinematic porosity (densities, loading, thickness).",
    ),
    "difference_ci_low": (_DL, "Lower bound of the normal 95 % interval of the difference (both errors)."),
    "difference_ci_high": (_DL, "Upper bound of the normal 95 % interval of the difference (both errors)."),
    "z": (_DL, "z-score of the measured minus kinematic porosity (its difference over difference_stderr)."),
}

# (regex, unit, description; {0}, {1}, ... are the groups); unit None: from the suffix,
# an int: that of the column named by that group
_PLANE = "(xy|xz|yz)"
_AX = "([xyz])"
PATTERNS: tuple[tuple[str, str | int | None, str], ...] = (
    (r"(.+)_truth", None, "True {0} of the simulated scan (virtual scanner)."),
    (r"(.+)_ci_low", None, "Lower bound of the 95 % interval of {0}: " + POSTERIOR + "."),
    (r"(.+)_ci_high", None, "Upper bound of the 95 % interval of {0}: " + POSTERIOR + "."),
    (rf"radius_{_PLANE}_(\d\d\d)_um", None, "Radius of the particle's {0} section through its centroid at {1}°."),
    (rf"mean_radius_{_PLANE}_um", None, "Mean of the particle's 8 azimuth radii in {0}."),
    (rf"local_roughness_{_PLANE}_um", None, "RMS deviation of the {0} radii from their neighbours' mean."),
    (rf"roughness_proxy_{_PLANE}_um", None, "Standard deviation of the particle's 8 radii in {0}."),
    (rf"centroid_{_AX}_um", None, "Centroid {0} coordinate."),
    (rf"{_AX}_um", None, "Pore centre {0} coordinate."),
    (rf"voxel_size_{_AX}_um", None, "Voxel edge length along {0}."),
    (rf"on_(inlet|outlet)_{_AX}", _ID, "True when the pore touches the {0} face of axis {1}."),
    (
        rf"tortuosity_factor_{_AX}",
        _DL,
        "Tortuosity factor ε D_bulk / D_eff along {0} (finite volumes; ∞ when the pores do not percolate).",
    ),
    (rf"random_walk_tortuosity_factor_{_AX}", _DL, "Tortuosity factor along {0} from random walks in the pores."),
    (rf"deff_over_dbulk_{_AX}", _DL, "D_eff / D_bulk of the pore phase along {0} (finite volumes)."),
    (
        rf"percolating_fraction_{_AX}",
        _DL,
        "Volume of the pores connected to both faces along {0}, of the transport box volume (not of the pores).",
    ),
    (
        rf"isolated_pore_fraction_{_AX}",
        _DL,
        "Volume of the pores touching neither face along {0}, as a fraction of the transport box.",
    ),
    (
        rf"dead_end_pore_fraction_{_AX}",
        _DL,
        "Volume of the pores touching one face along {0} only, as a fraction of the transport box.",
    ),
    (rf"conductivity_{_AX}_S_m", None, "Electronic conductivity of the solid along {0}, with contact resistance."),
    (r"(pore_active|pore_binder|active_binder)_area_um2", None, "Area of the {0} interface in the transport box."),
    (
        r"(pore_active|pore_binder|active_binder)_area_per_um",
        None,
        "Area of the {0} interface per transport-box volume.",
    ),
    (r"dice_(solid|active|binder)", _DL, "Dice coefficient of the {0} phase against the truth."),
    (r"d(10|50|90)_(number|volume)_um", None, "d{0} of the {1}-weighted equivalent diameters."),
    (r"d(10|50|90)_volume_weighted_um", None, "Volume-weighted d{0} of the equivalent diameters."),
    (r"ct_d(10|50|90)_volume_um", None, "CT volume-weighted d{0} of the sample."),
    (r"tau_D(10|50|90)_s", None, "Diffusion-time {0} % quantile of the DRT."),
    (r"tau_D_d(10|50|90)_s", None, "Diffusion time R²/D of a particle of the volume-weighted d{0}."),
    (r"distribution_d(10|50|90)_um", None, "Diameter {0} % quantile of the DRT-derived size distribution."),
    (r"lognormal_d(10|50|90)_um", None, "d{0} of the lognormal fit of the DRT-derived sizes."),
    (r"mean_(particle|void)_(.+)", 1, "Mean `{1}` of the interior {0}s."),
    (r"z_(real|imag)_ohm", None, "Measured impedance, {0} part."),
    (r"(drt|kk)_z_(real|imag)_ohm", None, "Impedance of the {0} model fit, {1} part."),
    (r"(drt|kk)_residual_(real|imag)", _DL, "Residual of the {0} model fit, {1} part, relative to |Z|."),
)
_COMPILED = tuple((re.compile(p), u, d) for p, u, d in PATTERNS)


def unit_from_suffix(name: str) -> str:
    """Return the unit a column name's suffix gives (``""`` when it gives none).

    Examples
    --------
    >>> unit_from_suffix("conductivity_z_S_m"), unit_from_suffix("D_fit_ci_low_m2_s")
    ('S/m', 'm²/s')
    >>> unit_from_suffix("sample")
    ''
    """
    for suffix, unit in UNIT_SUFFIXES:
        if name.endswith(suffix):
            return unit
    return ""


def _unit(name: str, unit: str | None) -> str:
    return unit_from_suffix(name) if unit is None else unit


def describe(name: str) -> tuple[str, str]:
    """Return the unit and description of a table column.

    Parameters
    ----------
    name : str
        The column name.

    Returns
    -------
    (str, str)
        Unit (``"1"`` dimensionless, ``""`` identifier or text) and a one-sentence
        description; ``("", "")`` for a name the dictionary does not know (the unit from
        its suffix, if any).

    Examples
    --------
    >>> describe("tortuosity_factor_z")[0]
    '1'
    >>> describe("porosity_ci_low")[0], describe("centroid_x_um")[0]
    ('1', 'µm')
    >>> describe("no_such_column_um")
    ('µm', '')
    """
    if name in EXACT:
        entry = EXACT[name]
        unit, text = (None, entry) if isinstance(entry, str) else entry
        return _unit(name, unit), text
    for pattern, unit, text in _COMPILED:
        m = pattern.fullmatch(name)
        if not m:
            continue
        groups = m.groups()
        if name.endswith(("_ci_low", "_ci_high", "_truth")):
            # an interval bound or a truth has its base column's unit
            base = groups[0]
            base_unit, base_text = describe(base)
            if not base_text:
                continue
            return base_unit, text.format(f"`{base}`")
        if isinstance(unit, int):
            unit = describe(groups[unit])[0]
        return _unit(name, unit), text.format(*(AXIS.get(g, g) for g in groups))
    return unit_from_suffix(name), ""


def dictionary(names) -> list[tuple[str, str, str]]:
    """Return ``(column, unit, description)`` for each name, in order.

    Examples
    --------
    >>> dictionary(["sample"])
    [('sample', '', 'Sample name from the samples sheet.')]
    """
    return [(n, *describe(n)) for n in names]
