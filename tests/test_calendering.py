"""Calendering fits (batteryct.calendering) against known answers and the virtual calender."""

import math

import numpy as np
import pandas as pd
import pytest

from batteryct import generators, transport
from batteryct.calendering import (
    DRUCKER_PRAGER_CAP_REASON,
    FIT_COLUMNS,
    PARAMETER_COLUMNS,
    check_kinematics,
    compare_compaction_laws,
    compare_porosity,
    compressibility_exponential,
    compressibility_heckel,
    compressibility_kawakita,
    coordination_number,
    fit_bruggeman,
    fit_calendering_series,
    fit_conductivity_pressure,
    fit_exponential_law,
    fit_heckel,
    fit_kawakita,
    fit_kawakita_linear,
    fit_nip_relaxation,
    fit_springback,
    half_width_from_pressure,
    hertz_line_contact,
    kinematic_porosity,
    nip_exit_porosity,
    nip_pressure_profile,
    porosity_exponential,
    porosity_from_loading,
    porosity_heckel,
    porosity_kawakita,
    porosity_stderr,
    relax_porosity,
    simulate_calendering_series,
    solid_density_rule_of_mixtures,
)


def _value(rows, parameter, model=None):
    sel = rows[rows["parameter"] == parameter]
    if model is not None:
        sel = sel[sel["model"] == model]
    return float(sel["value"].iloc[0])


# ----------------------------------------------------------------------------- porosity
def test_kinematics_known_answer():
    # eps0 = 0.45 and h / h0 = 0.7: eps = 1 - 0.55 / 0.7 = 0.2142857
    assert float(kinematic_porosity(0.45, 100.0, 70.0)) == pytest.approx(1 - 0.55 / 0.7, abs=1e-15)
    assert round(float(kinematic_porosity(0.45, 100.0, 70.0)), 4) == 0.2143


def test_porosity_units_and_rule_of_mixtures():
    # 20 mg/cm2 = 0.2 kg/m2; 4 g/cm3 * 80 um = 0.32 kg/m2 of solid at zero porosity
    assert float(porosity_from_loading(20.0, 80.0, 4.0)) == pytest.approx(0.375, abs=1e-15)
    rho = solid_density_rule_of_mixtures([0.96, 0.02, 0.02], [4.75, 1.78, 1.90])
    assert float(rho) == pytest.approx(1.0 / (0.96 / 4.75 + 0.02 / 1.78 + 0.02 / 1.90), rel=1e-14)
    with pytest.raises(ValueError, match="mass_fractions must sum to 1"):
        solid_density_rule_of_mixtures([0.9, 0.02, 0.02], [4.75, 1.78, 1.90])
    with pytest.raises(ValueError, match="thickness_um must be > 0"):
        porosity_from_loading(20.0, 0.0, 4.0)
    # propagated error: (1 - eps) sqrt((s_m/m)^2 + (s_h/h)^2)
    se = porosity_stderr(0.375, 20.0, 80.0, mass_loading_error_mg_cm2=0.2, thickness_error_um=0.8)
    assert float(se) == pytest.approx(0.625 * math.sqrt(2) * 0.01, rel=1e-12)


def test_compare_porosity_table():
    t = compare_porosity(
        [0.30, 0.30, 0.30], [0.002] * 3, [0.301, 0.33, np.nan], [0.29, 0.32, np.nan], [0.312, 0.34, np.nan]
    )
    assert t["inside_ct_interval"].tolist() == [True, False, False]
    assert t["consistent"].tolist() == [True, False, False]
    assert t["difference"].iloc[1] == pytest.approx(-0.03)


def test_kinematics_flags_spreading_and_not_consistent_samples():
    v = simulate_calendering_series(seed=4, spread=[0, 0, 0, 0, 0, 0, 0, 0, 0, 0.03, 0, 0])
    sh = v.sheet
    rho = float(v.truth.query("parameter == 'solid_density'")["value"].iloc[0])
    t = check_kinematics(
        mass_loading_mg_cm2=sh["mass_loading_mg_cm2"],
        thickness_coated_um=sh["thickness_coated_um"],
        thickness_um=sh["thickness_um"],
        solid_density_g_cm3=rho,
        mass_loading_error_mg_cm2=0.05,
        thickness_error_um=0.2,
    )
    assert t["kinematics_flag"].iloc[9] == "spread_or_mass_loss"
    assert (t["kinematics_flag"].drop(index=9) == "ok").all()
    # a 3 % lateral spread lowers the mass per area by 3 %: difference ~ (1 - eps0) h0 / h * 0.03 / 1.03
    assert t["difference"].iloc[9] == pytest.approx(
        0.55 * float(sh["thickness_coated_um"].iloc[9] / sh["thickness_um"].iloc[9]) * 0.03 / 1.03, rel=0.15
    )


# ----------------------------------------------------------------------------- compaction
def test_compressibilities_against_the_laws():
    p = np.linspace(5.0, 150.0, 30)
    dp = 1e-4
    # Heckel implies K = K_H eps
    eps = porosity_heckel(p, heckel_K=0.004, heckel_A=0.8)
    numeric = -(
        porosity_heckel(p + dp, heckel_K=0.004, heckel_A=0.8) - porosity_heckel(p - dp, heckel_K=0.004, heckel_A=0.8)
    ) / (2 * dp)
    np.testing.assert_allclose(compressibility_heckel(eps, heckel_K=0.004), 0.004 * eps, rtol=1e-15)
    np.testing.assert_allclose(numeric, 0.004 * eps, rtol=1e-7)
    eps = porosity_exponential(p, porosity_initial=0.45, porosity_min=0.28, gamma_c=40.0)
    kw = dict(porosity_initial=0.45, porosity_min=0.28, gamma_c=40.0)
    numeric = -(porosity_exponential(p + dp, **kw) - porosity_exponential(p - dp, **kw)) / (2 * dp)
    np.testing.assert_allclose(compressibility_exponential(eps, porosity_min=0.28, gamma_c=40.0), numeric, rtol=1e-6)
    kw = dict(kawakita_a=0.25, kawakita_b=0.05, porosity_coated=0.45)
    eps = porosity_kawakita(p, **kw)
    numeric = -(porosity_kawakita(p + dp, **kw) - porosity_kawakita(p - dp, **kw)) / (2 * dp)
    np.testing.assert_allclose(compressibility_kawakita(eps, **kw), numeric, rtol=1e-6)


def test_kawakita_linearisation_exact_and_nonlinear_recovery():
    p = np.array([10.0, 25.0, 45.0, 70.0, 100.0, 140.0])
    a, b = 0.25, 0.05
    c = a * b * p / (1 + b * p)
    lin = fit_kawakita_linear(c, pressure_MPa=p)
    assert _value(lin, "kawakita_a") == pytest.approx(a, rel=1e-12)
    assert _value(lin, "kawakita_b") == pytest.approx(b, rel=1e-12)
    eps = porosity_kawakita(p, kawakita_a=a, kawakita_b=b, porosity_coated=0.45)
    rows = fit_kawakita(eps, porosity_coated=0.45, pressure_MPa=p)
    assert _value(rows, "kawakita_a") == pytest.approx(a, rel=1e-8)
    assert _value(rows, "kawakita_b") == pytest.approx(b, rel=1e-8)
    assert list(rows.columns) == list(FIT_COLUMNS)


def test_exponential_and_heckel_recovery_noise_free():
    q = np.array([50.0, 150.0, 300.0, 500.0, 800.0, 1200.0])
    eps = porosity_exponential(q, porosity_initial=0.45, porosity_min=0.28, gamma_c=400.0)
    rows = fit_exponential_law(eps, line_load_N_mm=q)
    assert [_value(rows, k) for k in ("porosity_initial", "porosity_min", "gamma_c")] == pytest.approx(
        [0.45, 0.28, 400.0], rel=1e-7
    )
    assert rows["unit"].tolist() == ["1", "1", "N/mm"]
    eps = porosity_heckel(q / 10, heckel_K=0.004, heckel_A=0.8)
    rows = fit_heckel(eps, pressure_MPa=q / 10)
    assert [_value(rows, "heckel_K"), _value(rows, "heckel_A")] == pytest.approx([0.004, 0.8], rel=1e-9)


def test_too_few_points_are_skipped_with_a_reason():
    p = np.array([20.0, 60.0, 120.0])
    eps = porosity_exponential(p, porosity_initial=0.45, porosity_min=0.28, gamma_c=40.0)
    rows = fit_exponential_law(eps, pressure_MPa=p)  # 3 parameters, 3 points
    assert rows["value"].isna().all()
    assert rows["flags"].iloc[0] == "skipped: 3 parameters need more than 3 points for an interval, the series has 3"
    rows = fit_heckel(eps[:2], pressure_MPa=p[:2])
    assert rows["value"].isna().all() and rows["flags"].str.startswith("skipped").all()
    rows, best = compare_compaction_laws(eps, porosity_coated=0.45, pressure_MPa=p)
    assert best is None  # AICc needs n > k + 2 for every law here
    rows = fit_bruggeman([0.4], [1.6])
    assert math.isnan(rows["value"].iloc[0]) and "skipped" in rows["flags"].iloc[0]


# ----------------------------------------------------------------------------- nip
def test_hertz_line_contact_known_answer():
    c = hertz_line_contact(1000.0 * 1e3, roll_radius_m=0.2, contact_modulus_Pa=10e9, line_speed_m_s=1.0)
    # b = sqrt(4 q R / (pi E*)) = 5.046 mm; width 2b = 10.09 mm; p_max = 2q / (pi b) = 126.2 MPa
    assert 2 * float(c.half_width_m) == pytest.approx(10.1e-3, abs=0.01e-3)
    assert float(c.peak_pressure_Pa) == pytest.approx(126.2e6, abs=0.1e6)
    assert float(c.dwell_time_s) == pytest.approx(10.1e-3, abs=0.01e-3)
    assert float(c.mean_pressure_Pa) == pytest.approx(math.pi / 4 * float(c.peak_pressure_Pa), rel=1e-14)
    two = hertz_line_contact(1e6, roll_radius_m=0.2, contact_modulus_Pa=10e9, line_speed_m_s=1.0, geometry="two_rolls")
    assert float(two.half_width_m) == pytest.approx(float(c.half_width_m) / math.sqrt(2), rel=1e-14)
    b = half_width_from_pressure(c.peak_pressure_Pa, roll_radius_m=0.2, contact_modulus_Pa=10e9)
    assert float(b) == pytest.approx(float(c.half_width_m), rel=1e-14)
    # the profile integrates to the line load: pi b p_max / 2 = q
    t = np.linspace(0, float(c.dwell_time_s), 200001)
    force = (
        np.trapezoid(
            nip_pressure_profile(t, peak_pressure=float(c.peak_pressure_Pa), dwell_time_s=float(c.dwell_time_s)), t
        )
        * 1.0
    )
    assert force == pytest.approx(1e6, rel=1e-5)
    with pytest.raises(ValueError, match="geometry"):
        hertz_line_contact(1e6, roll_radius_m=0.2, contact_modulus_Pa=1e10, line_speed_m_s=1.0, geometry="three")


def test_relaxation_matches_exponential_solution_and_solve_ivp():
    t = np.linspace(0.0, 0.2, 41)
    exact = 0.3 + 0.15 * np.exp(-t / 0.04)
    eq = lambda p: porosity_exponential(p, porosity_initial=0.45, porosity_min=0.25, gamma_c=50.0)  # noqa: E731
    p_const = 50.0 * math.log(0.2 / 0.05)  # eps_eq = 0.25 + 0.2 * 0.25 = 0.30
    for method, tol in (("exponential", 1e-14), ("solve_ivp", 1e-8)):
        eps = relax_porosity(
            t,
            np.full(t.size, p_const),
            porosity_initial=0.45,
            relaxation_time_s=0.04,
            equilibrium_porosity=eq,
            method=method,
        )
        np.testing.assert_allclose(eps, exact, atol=tol)
    # through a semi-elliptic nip: the vectorised integrator against solve_ivp on the same profile
    td, pmax, tau = 0.05, 120.0, 0.02
    fine = np.linspace(0.0, td, 4001)
    ref = relax_porosity(
        fine,
        nip_pressure_profile(fine, peak_pressure=pmax, dwell_time_s=td),
        porosity_initial=0.45,
        relaxation_time_s=tau,
        equilibrium_porosity=eq,
        method="solve_ivp",
    )
    out = nip_exit_porosity(
        porosity_initial=[0.45],
        peak_pressure_MPa=[pmax],
        dwell_time_s=[td],
        relaxation_time_s=tau,
        equilibrium_porosity=eq,
    )
    assert float(out[0]) == pytest.approx(ref[-1], abs=2e-5)
    # the literal (reversible) ODE relaxes back towards eps_eq(0) = eps0 at the exit
    rev = relax_porosity(
        fine,
        nip_pressure_profile(fine, peak_pressure=pmax, dwell_time_s=td),
        porosity_initial=0.45,
        relaxation_time_s=tau,
        equilibrium_porosity=eq,
        irreversible=False,
    )
    assert rev[-1] > ref[-1] + 0.005 and rev[-1] > rev.min() + 0.005 and np.all(np.diff(ref) <= 1e-12)


def test_nip_relaxation_recovers_truth_noise_free_and_needs_two_speeds():
    v = simulate_calendering_series(seed=1, thickness_error_um=1e-9, mass_loading_error_mg_cm2=1e-9)
    e = v.exact
    kw = dict(
        porosity_coated=0.45,
        peak_pressure_MPa=e["peak_pressure_MPa"],
        half_width_m=e["half_width_m"],
        line_speed_m_s=v.sheet["line_speed_m_min"] / 60,
    )
    rows = fit_nip_relaxation(e["porosity_gap"], **kw)
    assert [
        _value(rows, k) for k in ("porosity_initial", "porosity_min", "gamma_c", "relaxation_time")
    ] == pytest.approx([0.45, 0.28, 40.0, 0.02], rel=2e-4)
    one = v.sheet["line_speed_m_min"] == 1.0
    rows = fit_nip_relaxation(
        e["porosity_gap"][one], **{k: np.asarray(val)[one] if np.ndim(val) else val for k, val in kw.items()}
    )
    assert rows["value"].isna().all() and "varies the line speed" in rows["flags"].iloc[0]


def test_springback_noise_free():
    p = np.array([20.0, 40.0, 60.0, 80.0, 100.0])
    ec = np.array([0.42, 0.38, 0.35, 0.32, 0.30])
    sb = p * 1e-3 / (5.0 * (1 - ec) ** 2.0)
    rows = fit_springback(p, ec, sb)
    assert [_value(rows, "solid_modulus"), _value(rows, "gibson_ashby_n")] == pytest.approx([5.0, 2.0], rel=1e-8)


# ----------------------------------------------------------------------------- structure
def test_conductivity_one_third_exact():
    p = np.array([10.0, 30.0, 60.0, 100.0, 150.0])
    rows = fit_conductivity_pressure(p, 3.0 * p ** (1 / 3))
    assert _value(rows, "m") == pytest.approx(1 / 3, rel=1e-12)
    assert _value(rows, "G0") == pytest.approx(3.0, rel=1e-12)
    assert rows["flags"].iloc[1].endswith("hertz_1/3_inside_ci")
    noisy = 3.0 * p**0.6 * np.exp(0.01 * np.array([1, -1, 0.5, -0.5, 0]))
    assert fit_conductivity_pressure(p, noisy)["flags"].iloc[1].endswith("hertz_1/3_outside_ci")


def _cubes(positions, size=2, shape=(8, 8, 8)):
    v = np.zeros(shape, np.int32)
    for i, (z, y, x) in enumerate(positions, start=1):
        v[z : z + size, y : y + size, x : x + size] = i
    return v


def test_coordination_known_answers():
    chain = _cubes([(2, 2, 1), (2, 2, 3), (2, 2, 5)])  # three 2^3 cubes face to face, inside the box
    r = coordination_number(chain, voxel_size_um=0.5)
    assert (
        r.coordination.tolist() == [1, 2, 1]
        and r.mean_interior == pytest.approx(4 / 3)
        and r.mean_all == pytest.approx(4 / 3)
    )
    assert r.n_contacts == 2 and r.pairs.tolist() == [[1, 2], [2, 3]]
    np.testing.assert_allclose(r.contact_area_um2, [4 * 0.25, 4 * 0.25])  # 2 x 2 faces of 0.5 um voxels
    block = _cubes([(z, y, x) for z in (2, 4) for y in (2, 4) for x in (2, 4)])  # 2 x 2 x 2 arrangement
    r = coordination_number(block)
    assert r.coordination.tolist() == [3] * 8 and r.mean_interior == 3.0 and r.n_contacts == 12
    # particles on the box faces are left out of mean_interior (their neighbours may be outside)
    edge = _cubes([(2, 2, 0), (2, 2, 2), (2, 2, 4)], shape=(6, 6, 8))
    r = coordination_number(edge)
    assert r.touches_boundary.tolist() == [True, False, False]
    assert r.mean_all == pytest.approx(4 / 3) and r.mean_interior == pytest.approx(1.5)
    with pytest.raises(TypeError, match="integer"):
        coordination_number(chain.astype(float))


def test_bruggeman_on_overlapping_spheres():
    """The project's own tau on its Boolean model of spheres: alpha in [0.5, 1.0].

    Bruggeman's 0.5 is the differential effective-medium value for spheres dispersed in the
    conducting phase (a packing whose grains do not merge); the pore space of *overlapping*
    spheres has necks where grains merge, which only lengthen and pinch the paths, so alpha
    >= 0.5 (the rigorous Hashin-Shtrikman bound gives only alpha >= 0.3 at eps = 0.45).
    At eps >= 0.35 the pore space is far from its percolation threshold (eps_c ~ 0.03) and
    alpha stays near the Archie range of consolidated grains (m = 1 + alpha ~ 1.5-2): <= 1.0.
    """
    eps, taus = [], []
    for i, target in enumerate((0.35, 0.45, 0.55)):
        pore = generators.overlapping_spheres(80, target, 6.0, seed=10 + i)
        eps.append(pore.mean())
        taus.append([transport.tortuosity(pore, axis=a)["tortuosity_factor"] for a in range(3)])
    taus = np.array(taus)
    rows = fit_bruggeman(eps, taus[:, 0], taus[:, 1:])
    for name in ("alpha_z", "alpha_xy"):
        assert 0.5 <= _value(rows, name) <= 1.0
    ratio = rows[rows["parameter"] == "alpha_ratio_z_xy"].iloc[0]
    assert ratio["ci_low"] < 1.0 < ratio["ci_high"]  # isotropic structure
    # spheres squashed to half their height along z (every second slice): oblate grains
    eps, taus = [], []
    for i, target in enumerate((0.35, 0.45, 0.55)):
        pore = np.ascontiguousarray(generators.overlapping_spheres(96, target, 8.0, seed=20 + i)[::2])
        eps.append(pore.mean())
        taus.append([transport.tortuosity(pore, axis=a)["tortuosity_factor"] for a in range(3)])
    taus = np.array(taus)
    rows = fit_bruggeman(eps, taus[:, 0], taus[:, 1:])
    assert _value(rows, "alpha_z") > _value(rows, "alpha_xy")
    ratio = rows[rows["parameter"] == "alpha_ratio_z_xy"].iloc[0]
    assert ratio["ci_low"] > 1.2 and "z more tortuous" in ratio["flags"]


def test_bruggeman_exact_with_intervals():
    eps = np.array([0.30, 0.34, 0.38, 0.42, 0.45])
    rows = fit_bruggeman(
        eps,
        eps**-0.9,
        np.column_stack([eps**-0.5, eps**-0.5]),
        porosity_ci_low=eps - 0.01,
        porosity_ci_high=eps + 0.01,
        tortuosity_z_ci_low=0.95 * eps**-0.9,
        tortuosity_z_ci_high=1.05 * eps**-0.9,
    )
    assert [_value(rows, "alpha_z"), _value(rows, "alpha_xy"), _value(rows, "alpha_ratio_z_xy")] == pytest.approx(
        [0.9, 0.5, 1.8], rel=1e-12
    )
    assert rows["flags"].iloc[0].startswith("ci=weighted_t")


# ----------------------------------------------------------------------------- virtual calender
def _covered(rows, truth):
    true = dict(zip(zip(truth["model"], truth["parameter"]), truth["value"]))
    keys = list(zip(rows["model"], rows["parameter"]))
    return {k: bool(lo <= true[k] <= hi) for k, lo, hi in zip(keys, rows["ci_low"], rows["ci_high"]) if k in true}


def test_coverage_on_virtual_series():
    """Every 95 % interval holds the truth in >= 90 % of 100 virtual series per law."""
    hits = {}
    fits = {"compaction_exponential": fit_exponential_law, "heckel": fit_heckel}
    for law in ("compaction_exponential", "heckel", "kawakita"):
        for seed in range(100):
            v = simulate_calendering_series(seed=seed, law=law, relaxation_time_s=0.0, line_speeds_m_min=(1.0,))
            sh = v.sheet
            rho = solid_density_rule_of_mixtures([0.96, 0.02, 0.02], [4.75, 1.78, 1.90])
            eps = porosity_from_loading(sh["mass_loading_mg_cm2"], sh["thickness_gap_um"], rho)
            se = porosity_stderr(
                eps,
                sh["mass_loading_mg_cm2"],
                sh["thickness_gap_um"],
                mass_loading_error_mg_cm2=0.05,
                thickness_error_um=0.2,
            )
            p = sh["pressure_MPa"].to_numpy()
            if law == "kawakita":
                eps0 = np.median(porosity_from_loading(sh["mass_loading_mg_cm2"], sh["thickness_coated_um"], rho))
                rows = fit_kawakita(eps, porosity_coated=eps0, pressure_MPa=p, porosity_stderr=se)
                lin = fit_kawakita_linear(1 - sh["thickness_gap_um"] / sh["thickness_coated_um"], pressure_MPa=p)
                rows = pd.concat([rows, lin.assign(model="kawakita", parameter="linear_" + lin["parameter"])])
                truth = v.truth[v.truth["model"] == "kawakita"]
                truth = pd.concat([truth, truth.assign(parameter="linear_" + truth["parameter"])])
            else:
                rows, truth = fits[law](eps, pressure_MPa=p, porosity_stderr=se), v.truth
            for key, hit in _covered(rows, truth).items():
                hits.setdefault(key, []).append(hit)
    for seed in range(100):
        v = simulate_calendering_series(seed=seed)
        f = fit_calendering_series(v.sheet, v.ct, thickness_error_um=0.2, nip_law="compaction_exponential")
        rows = f.parameters[
            ~f.parameters["model"].isin(["compaction_exponential", "heckel", "kawakita", "kawakita_linear"])
        ]
        for key, hit in _covered(rows, v.truth).items():
            hits.setdefault(key, []).append(hit)
    coverage = {key: np.mean(h) for key, h in hits.items()}
    assert all(len(h) == 100 for h in hits.values()) and len(coverage) == 26
    low = {key: c for key, c in coverage.items() if c < 0.90}
    assert not low, low


def test_aic_selects_the_generating_law():
    """Ten loads, low noise; Heckel over 0.45 -> 0.15, where it parts from Kawakita."""
    design = dict(
        n_levels=10,
        line_speeds_m_min=(1.0,),
        thickness_error_um=0.1,
        mass_loading_error_mg_cm2=0.02,
        relaxation_time_s=0.0,
    )
    fractions = {}
    for law, extra in (("compaction_exponential", {}), ("kawakita", {}), ("heckel", {"porosity_final": 0.15})):
        picks = []
        for seed in range(30):
            v = simulate_calendering_series(seed=100 + seed, law=law, **design, **extra)
            sh = v.sheet
            rho = float(v.truth.query("parameter == 'solid_density'")["value"].iloc[0])
            eps = porosity_from_loading(sh["mass_loading_mg_cm2"], sh["thickness_gap_um"], rho)
            se = porosity_stderr(
                eps,
                sh["mass_loading_mg_cm2"],
                sh["thickness_gap_um"],
                mass_loading_error_mg_cm2=0.02,
                thickness_error_um=0.1,
            )
            eps0 = porosity_from_loading(sh["mass_loading_mg_cm2"], sh["thickness_coated_um"], rho)
            _, best = compare_compaction_laws(
                eps, porosity_coated=eps0, pressure_MPa=sh["pressure_MPa"], porosity_stderr=se
            )
            picks.append(best == law)
        fractions[law] = np.mean(picks)
    assert fractions["compaction_exponential"] >= 0.8 and fractions["kawakita"] >= 0.8 and fractions["heckel"] > 0.5, (
        fractions
    )


def test_series_fits_and_sheet_errors():
    v = simulate_calendering_series(seed=7)
    f = fit_calendering_series(v.sheet, v.ct, thickness_error_um=0.2)
    assert list(f.parameters.columns) == list(PARAMETER_COLUMNS)
    assert f.selected_law["virtual"] in ("compaction_exponential", "heckel", "kawakita")
    assert "slowest line speed only (6 of 12)" in f.parameters.loc[f.parameters["model"] == "heckel", "flags"].iloc[0]
    np.testing.assert_allclose(f.samples["porosity_gap"], v.exact["porosity_gap"], atol=0.012)
    np.testing.assert_allclose(f.samples["dwell_time_s"], v.exact["dwell_time_s"], rtol=1e-9)
    assert (f.samples["kinematics_flag"] == "ok").all()
    assert f.notes[0] == DRUCKER_PRAGER_CAP_REASON and "lateral" in DRUCKER_PRAGER_CAP_REASON
    # a sheet with a line load only and no contact modulus: laws in N/mm, nip and springback skipped
    sheet = v.sheet.drop(columns=["pressure_MPa", "thickness_gap_um"])
    f = fit_calendering_series(sheet)
    assert f.parameters.loc[f.parameters["model"] == "compaction_exponential", "unit"].tolist() == ["1", "1", "N/mm"]
    skipped = f.parameters[f.parameters["flags"].str.startswith("skipped")]["model"].unique().tolist()
    assert skipped == ["springback_gibson_ashby", "nip_relaxation"]
    bad = v.sheet.copy()
    bad.loc[2, "thickness_um"] = -1.0
    with pytest.raises(ValueError, match=r"calendering.tsv, row 3, column 'thickness_um': must be > 0"):
        fit_calendering_series(bad)
    with pytest.raises(ValueError, match=r"column 'mass_loading_mg_cm2' is missing"):
        fit_calendering_series(v.sheet.drop(columns=["mass_loading_mg_cm2"]))
    # two series in one sheet: fitted apart; an error names the row of the whole sheet
    two = pd.concat([v.sheet, simulate_calendering_series(seed=8, series="B").sheet], ignore_index=True)
    f = fit_calendering_series(two, thickness_error_um=0.2)
    assert list(f.selected_law) == ["virtual", "B"] and f.parameters["series"].unique().tolist() == ["virtual", "B"]
    two["line_speed_m_min"] = two["line_speed_m_min"].astype(object)
    two.loc[14, "line_speed_m_min"] = "fast"  # as a TSV read with a typo
    with pytest.raises(ValueError, match=r"row 15, column 'line_speed_m_min': not a number \('fast'\)"):
        fit_calendering_series(two)


def test_series_sheet_only_partial_ct_and_line_load_with_modulus():
    v = simulate_calendering_series(seed=5)
    truth = v.truth.set_index(["model", "parameter"])["value"]
    # the sheet alone (no CT): every sheet fit, no CT fit, intervals around the truth
    f = fit_calendering_series(v.sheet, thickness_error_um=0.2)
    models = set(f.parameters["model"])
    assert {"nip_relaxation", "springback_gibson_ashby", "conductivity_power_law_measured"} <= models
    assert not models & {"bruggeman", "coordination_arzt", "sauter_d32_pressure", "conductivity_power_law_ct"}
    assert not f.parameters["flags"].str.startswith("skipped").any()
    for model, parameter in (("nip_relaxation", "relaxation_time"), ("conductivity_power_law_measured", "m")):
        row = f.parameters[(f.parameters["model"] == model) & (f.parameters["parameter"] == parameter)].iloc[0]
        assert row["ci_low"] < truth[model, parameter] < row["ci_high"]
    assert "porosity_ct" not in f.samples.columns
    # CT on 3 of the 12 samples only, d32 under the psd table's name: fits on those 3, NaN elsewhere
    ct = v.ct.iloc[[0, 5, 11]].rename(columns={"sauter_d32_um": "d32_um"})
    f = fit_calendering_series(v.sheet, ct, thickness_error_um=0.2)
    ct_rows = f.parameters[f.parameters["model"].isin(["bruggeman", "sauter_d32_pressure"])]
    assert (ct_rows["n"] == 3).all() and ct_rows["value"].notna().all()
    assert f.samples["porosity_ct"].notna().sum() == 3
    assert not f.samples["inside_ct_interval"].iloc[[1, 2, 3]].any()
    with pytest.raises(ValueError, match="sample 'virtual-L0-v0' has more than one row"):
        fit_calendering_series(v.sheet, pd.concat([v.ct, v.ct.iloc[[0]]]))
    # line load only, with E*: the Hertz peak pressure and dwell of the virtual calender come back
    f = fit_calendering_series(v.sheet.drop(columns=["pressure_MPa"]), contact_modulus_Pa=10e9)
    np.testing.assert_allclose(f.samples["peak_pressure_MPa"], v.exact["peak_pressure_MPa"], rtol=1e-12)
    np.testing.assert_allclose(f.samples["dwell_time_s"], v.exact["dwell_time_s"], rtol=1e-12)
    # pycnometer density instead of the composition: the same porosities
    p = simulate_calendering_series(seed=5, pycnometer=True)
    assert "mass_fraction_active" not in p.sheet.columns
    g = fit_calendering_series(p.sheet, thickness_error_um=0.2)
    np.testing.assert_allclose(g.samples["porosity"], f.samples["porosity"], rtol=1e-13)


def test_quasi_static_series_flags_the_relaxation_time():
    # tau = 0: every sample is at equilibrium in the nip; the fit bounds tau from above only
    v = simulate_calendering_series(seed=0, relaxation_time_s=0.0)
    f = fit_calendering_series(v.sheet, v.ct, thickness_error_um=0.2)
    tau = f.parameters[f.parameters["parameter"] == "relaxation_time"].iloc[0]
    assert tau["ci_high"] < v.exact["dwell_time_s"].min() and tau["flags"].endswith("quasi_static")
    v = simulate_calendering_series(seed=0)  # tau = 0.02 s, resolved by the two line speeds
    f = fit_calendering_series(v.sheet, v.ct, thickness_error_um=0.2)
    tau = f.parameters[f.parameters["parameter"] == "relaxation_time"].iloc[0]
    assert tau["ci_low"] < 0.02 < tau["ci_high"] and "quasi_static" not in tau["flags"]
