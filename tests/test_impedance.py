"""Impedance elements, Kramers-Kronig test, DRT and diffusion-time distribution against known answers."""

import numpy as np
import pandas as pd
import pytest
from scipy import special

from batteryct import impedance as im
from batteryct.psd import weighted_quantiles

ALPHA1 = 4.493409457909064  # first positive root of tan(a) = a


# ----------------------------------------------------------------------------- elements


def test_roots_of_tan_a_equals_a():
    a = im.spherical_diffusion_roots(200)
    assert a[0] == pytest.approx(ALPHA1, rel=1e-14)
    assert a[0] ** 2 == pytest.approx(20.19073, rel=1e-6)
    np.testing.assert_allclose(np.tan(a), a, rtol=1e-10)
    n = np.arange(1, 201)
    assert np.all((a > n * np.pi) & (a < (n + 0.5) * np.pi))
    # Rayleigh sum: sum 1 / alpha_n**2 = 1/10; tail beyond n = 200 with alpha_n ~ (n + 1/2) pi:
    # sum_(n > 200) 1 / ((n + 1/2) pi)**2 = trigamma(201.5) / pi**2
    tail = special.polygamma(1, 201.5) / np.pi**2
    assert np.sum(1.0 / a**2) + tail == pytest.approx(0.1, abs=1e-8)


def test_partial_fractions_equal_closed_form():
    f = np.logspace(-5, 5, 61)
    kw = dict(diffusion_resistance_ohm=2.5, tau_D_s=37.0)
    closed = im.spherical_diffusion_impedance(f, **kw)
    series = im.spherical_diffusion_impedance_series(f, **kw)
    assert np.max(np.abs(series - closed) / np.abs(closed)) < 1e-10
    # without the closed-form tail the truncation error is ~ 2 R_D / (pi^2 N) at low frequency
    n = 500
    raw = im.spherical_diffusion_impedance_series(f, n_terms=n, tail=False, **kw)
    err_low = abs(raw[0] - closed[0])
    assert 0.8 * 2 * 2.5 / (np.pi**2 * n) < err_low < 1.2 * 2 * 2.5 / (np.pi**2 * n)


def test_low_frequency_limit():
    rd, tau = 3.0, 50.0
    for wt in (1e-4, 1e-3, 1e-1):
        f = wt / (2 * np.pi * tau)
        z = im.spherical_diffusion_impedance([f], diffusion_resistance_ohm=rd, tau_D_s=tau)[0]
        limit = 3 * rd / (1j * wt) + rd / 5
        # next term of the expansion: -R_D (j omega tau) / 175
        assert abs(z - limit) == pytest.approx(rd * wt / 175, rel=0.02)
    z = im.spherical_diffusion_impedance([1e-12], diffusion_resistance_ohm=rd, tau_D_s=tau)[0]
    assert z.real == pytest.approx(rd / 5, rel=1e-12)


def test_high_frequency_warburg_limit():
    # |s| >> 1: tanh(s) -> 1, Z -> R_D / (s - 1)
    rd, tau = 1.0, 10.0
    f = np.array([1e4, 1e6])
    z = im.spherical_diffusion_impedance(f, diffusion_resistance_ohm=rd, tau_D_s=tau)
    s = np.sqrt(2j * np.pi * f * tau)
    np.testing.assert_allclose(z, rd / (s - 1), rtol=1e-12)


def test_closed_form_is_continuous_across_the_series_switch():
    tau = 1.0
    wt = np.array([0.999e-2, 1.001e-2])
    z = im.spherical_diffusion_impedance(wt / (2 * np.pi * tau), diffusion_resistance_ohm=1.0, tau_D_s=tau)
    ref = im.spherical_diffusion_impedance_series(wt / (2 * np.pi * tau), diffusion_resistance_ohm=1.0, tau_D_s=tau)
    np.testing.assert_allclose(z, ref, rtol=1e-12)


def test_rc_and_zarc():
    f = np.array([1 / (2 * np.pi)])
    assert im.rc_impedance(f, resistance_ohm=2.0, tau_s=1.0)[0] == pytest.approx(1 - 1j)
    # ZARC at its apex: R / (1 + j**alpha)
    z = im.zarc_impedance(f, resistance_ohm=1.0, tau_s=1.0, alpha=0.5)[0]
    assert z == pytest.approx(1 / (1 + np.exp(1j * np.pi / 4)))
    np.testing.assert_allclose(
        im.zarc_impedance(np.logspace(-2, 2, 5), resistance_ohm=3.0, tau_s=0.1, alpha=1.0),
        im.rc_impedance(np.logspace(-2, 2, 5), resistance_ohm=3.0, tau_s=0.1),
    )
    with pytest.raises(ValueError, match="alpha"):
        im.zarc_impedance(f, resistance_ohm=1.0, tau_s=1.0, alpha=1.5)
    with pytest.raises(ValueError, match="frequency_Hz"):
        im.rc_impedance([-1.0], resistance_ohm=1.0, tau_s=1.0)


def test_particle_parameters_and_ensemble_admittances_add():
    r = np.array([2e-6, 6e-6])
    p = im.particle_diffusion_parameters(r, diffusivity_m2_s=1e-14, dU_dc_V_m3_mol=2e-5)
    np.testing.assert_allclose(p["tau_D_s"], r**2 / 1e-14)
    np.testing.assert_allclose(p["diffusion_resistance_ohm"], p["tau_D_s"] / (3 * p["capacitance_F"]), rtol=1e-12)
    assert p["diffusion_resistance_ohm"][0] == pytest.approx(2e-5 / (4 * np.pi * 96485.33212 * 1e-14 * 2e-6))
    # capacitance proportional to volume: ratio 27 for a radius ratio 3
    assert p["capacitance_F"][1] / p["capacitance_F"][0] == pytest.approx(27.0)
    f = np.logspace(-4, 2, 30)
    cap = p["capacitance_F"]
    z_ens = im.ensemble_diffusion_impedance(f, tau_D_s=p["tau_D_s"], volume_fraction=cap, capacitance_F=cap.sum())
    y = sum(
        1 / im.spherical_diffusion_impedance(f, diffusion_resistance_ohm=rd, tau_D_s=t)
        for rd, t in zip(p["diffusion_resistance_ohm"], p["tau_D_s"])
    )
    np.testing.assert_allclose(z_ens, 1 / y, rtol=1e-12)
    # low-frequency limit of the ensemble: 1 / (j omega C_total) (omega tau_max = 2e-6 here)
    f_low = 1e-10
    z_low = im.ensemble_diffusion_impedance([f_low], tau_D_s=p["tau_D_s"], volume_fraction=cap, capacitance_F=cap.sum())
    assert z_low[0].imag == pytest.approx(-1 / (2 * np.pi * f_low * cap.sum()), rel=1e-9)


def test_spectrum_table_round_trip_and_errors():
    t = pd.DataFrame({"frequency_Hz": [1.0, 10.0], "z_real_ohm": [2.0, 1.0], "z_imag_ohm": [-1.0, -0.5]})
    f, z = im.spectrum_from_table(t)
    np.testing.assert_array_equal(f, [1.0, 10.0])
    np.testing.assert_array_equal(z, [2 - 1j, 1 - 0.5j])
    with pytest.raises(ValueError, match="cell7.csv: missing column 'z_imag_ohm'"):
        im.spectrum_from_table(t.drop(columns="z_imag_ohm"), source="cell7.csv")
    bad = t.assign(frequency_Hz=[0.0, 1.0])
    with pytest.raises(ValueError, match="column 'frequency_Hz' must be positive"):
        im.spectrum_from_table(bad)
    with pytest.raises(ValueError, match="column 'z_real_ohm' is not numeric"):
        im.spectrum_from_table(t.assign(z_real_ohm=["a", "b"]))


# ----------------------------------------------------------------------------- virtual EIS


def test_simulated_spectrum_is_the_model_plus_seeded_noise():
    f = np.logspace(3, -3, 25)
    kw = dict(radius_m=[2e-6, 5e-6], volume_fraction=[1.0, 3.0], diffusivity_m2_s=1e-14, capacitance_F=5.0)
    sim = im.simulate_eis_spectrum(f, **kw, series_resistance_ohm=1.5, charge_transfer_resistance_ohm=3.0)
    expected = (
        1.5
        + im.zarc_impedance(f, resistance_ohm=3.0, tau_s=1e-3, alpha=0.9)
        + im.ensemble_diffusion_impedance(f, tau_D_s=sim.tau_D_s, volume_fraction=[0.25, 0.75], capacitance_F=5.0)
    )
    np.testing.assert_allclose(sim.z_true_ohm, expected, rtol=1e-13)
    np.testing.assert_allclose(sim.spectrum["z_real_ohm"] + 1j * sim.spectrum["z_imag_ohm"], expected, rtol=1e-13)
    assert np.all(sim.spectrum["z_imag_ohm"] < 0)  # capacitive, stored as measured
    np.testing.assert_allclose(sim.tau_D_s, [400.0, 2500.0])
    np.testing.assert_allclose(sim.diffusion_resistance_ohm, sim.tau_D_s / (3 * 5.0 * np.array([0.25, 0.75])))
    a = im.simulate_eis_spectrum(f, **kw, noise_rel=0.01, seed=3)
    b = im.simulate_eis_spectrum(f, **kw, noise_rel=0.01, seed=3)
    pd.testing.assert_frame_equal(a.spectrum, b.spectrum)
    z_noisy = a.spectrum["z_real_ohm"].to_numpy() + 1j * a.spectrum["z_imag_ohm"].to_numpy()
    rel = (z_noisy - a.z_true_ohm) / np.abs(a.z_true_ohm)
    assert 0.006 < np.std(rel.real) < 0.015 and 0.006 < np.std(rel.imag) < 0.015  # noise_rel = 0.01
    # drift: R_s grows linearly with the elapsed time; the last frequency carries all of it
    d = im.simulate_eis_spectrum(
        f, **kw, series_resistance_ohm=1.5, charge_transfer_resistance_ohm=3.0, series_resistance_drift_ohm=0.7
    )
    dz = d.z_true_ohm - sim.z_true_ohm
    assert dz[-1] == pytest.approx(0.7) and np.all(dz.imag == 0) and np.all(np.diff(dz.real) > 0)


# ----------------------------------------------------------------------------- Kramers-Kronig


def _rc_zarc(f):
    return (
        10
        + im.zarc_impedance(f, resistance_ohm=50, tau_s=1e-3, alpha=0.8)
        + im.rc_impedance(f, resistance_ohm=30, tau_s=1.0)
    )


def test_kk_passes_valid_spectra():
    f = np.logspace(5, -2, 60)
    z = _rc_zarc(f)
    exact = im.kramers_kronig_test(f, z)
    assert exact.valid and exact.max_residual < 1e-3
    rng = np.random.default_rng(0)
    noisy = z + 0.002 * np.abs(z) * (rng.standard_normal(60) + 1j * rng.standard_normal(60))
    res = im.kramers_kronig_test(f, noisy)
    assert res.valid and res.mu_reached and res.mu < 0.85
    assert 0.002 < res.max_residual < 0.008  # residuals at the noise level (0.2 % of |Z|)
    assert res.series_resistance_ohm == pytest.approx(10.0, rel=0.02)


def test_kk_flags_a_drifting_resistance():
    f = np.logspace(5, -2, 60)
    z = _rc_zarc(f)
    rng = np.random.default_rng(0)
    noisy = z + 0.002 * np.abs(z) * (rng.standard_normal(60) + 1j * rng.standard_normal(60))
    t_elapsed = np.cumsum(2 / f)  # two periods per frequency, high to low
    drifted = noisy + 5.0 * t_elapsed / t_elapsed[-1]  # R_s grows by 5 ohm during the sweep
    res = im.kramers_kronig_test(f, drifted)
    assert not res.valid and res.max_residual > 0.02
    assert im.kramers_kronig_test(f, noisy).max_residual < res.max_residual / 3


def test_kk_with_capacitive_diffusion_tail():
    f = np.logspace(4, -4, 60)
    rng = np.random.default_rng(1)
    d_um = np.exp(rng.normal(np.log(8.0), 0.35, 500))
    sim = im.simulate_eis_spectrum(
        f, radius_m=d_um * 0.5e-6, volume_fraction=d_um**3, diffusivity_m2_s=1e-13, noise_rel=0.002, seed=0
    )
    fr, z = im.spectrum_from_table(sim.spectrum)
    res = im.kramers_kronig_test(fr, z, capacitance=True)
    assert res.valid and res.max_residual < 0.008
    assert 1 / res.inverse_capacitance_per_F == pytest.approx(10.0, rel=0.02)
    assert not im.kramers_kronig_test(fr, z).valid  # RC elements alone cannot follow the tail


# ----------------------------------------------------------------------------- DRT


def test_drt_of_an_rc_ladder_gives_its_lines():
    f = np.logspace(-2, 5, 60)
    taus, rs = [1e-4, 1e-2, 1.0], [10.0, 20.0, 5.0]
    z = 3.0 + sum(im.rc_impedance(f, resistance_ohm=r, tau_s=t) for r, t in zip(rs, taus))
    res = im.fit_drt(f, z, regularization=1e-6)  # lambda = 1e-6 (dimensionless, see fit_drt)
    np.testing.assert_allclose(res.peak_tau_s, taus, rtol=0.01)
    np.testing.assert_allclose(res.peak_weight_ohm, rs, rtol=0.002)
    assert res.series_resistance_ohm == pytest.approx(3.0, rel=0.002)
    assert np.sum(res.gamma_ohm) == pytest.approx(35.0, rel=0.002)
    # GCV on the same data with 0.5 % noise: lines within 10 %, weights within 3 %
    rng = np.random.default_rng(4)
    zn = z + 0.005 * np.abs(z) * (rng.standard_normal(60) + 1j * rng.standard_normal(60))
    g = im.fit_drt(f, zn)
    assert g.regularization in g.lambda_grid and g.gcv.shape == g.lambda_grid.shape
    assert np.argmin(g.gcv) == list(g.lambda_grid).index(g.regularization)
    big = g.peak_weight_ohm > 1.0
    np.testing.assert_allclose(g.peak_tau_s[big], taus, rtol=0.10)
    np.testing.assert_allclose(g.peak_weight_ohm[big], rs, rtol=0.03)


def test_drt_of_spherical_diffusion_gives_lines_at_tau_over_alpha_squared():
    tau_d, rd = 100.0, 1.0
    f = np.logspace(-4, 2, 60)
    z = im.spherical_diffusion_impedance(f, diffusion_resistance_ohm=rd, tau_D_s=tau_d)
    res = im.fit_drt(f, z, series_capacitance=True, points_per_decade=20)  # GCV picks lambda ~ 5e-7
    assert res.regularization < 1e-5
    a2 = im.spherical_diffusion_roots(2) ** 2
    first = np.argmax(res.peak_weight_ohm)
    assert res.peak_tau_s[first] == pytest.approx(tau_d / a2[0], rel=0.01)  # tau_D / 20.19
    assert res.peak_weight_ohm[first] / (rd / 5) == pytest.approx(0.4953, rel=0.015)  # 2 / 20.19 of R_D / 5
    assert res.peak_tau_s[first - 1] == pytest.approx(tau_d / a2[1], rel=0.05)  # tau_D / 59.68
    assert res.capacitance_F == pytest.approx(tau_d / (3 * rd), rel=1e-4)  # 3 R_D / (j omega tau_D)
    assert res.series_resistance_ohm < 0.01 * rd
    # coarser grid at the same lambda: same lines within the grid error
    coarse = im.fit_drt(f, z, series_capacitance=True, points_per_decade=10, regularization=res.regularization)
    assert coarse.peak_tau_s[np.argmax(coarse.peak_weight_ohm)] == pytest.approx(tau_d / a2[0], rel=0.02)


def test_drt_argument_checks():
    f = np.logspace(0, 3, 10)
    z = im.rc_impedance(f, resistance_ohm=1.0, tau_s=0.01)
    with pytest.raises(ValueError, match="weighting"):
        im.fit_drt(f, z, weighting="proportional")
    with pytest.raises(ValueError, match="z_ohm must have the shape"):
        im.fit_drt(f, z[:-1])
    with pytest.raises(ValueError, match="tau_s must be strictly increasing"):
        im.fit_drt(f, z, tau_s=[1.0, 0.1])


# ----------------------------------------------------------------------------- diffusion times -> sizes


def _lognormal_cell(noise, seed):
    rng = np.random.default_rng(1)
    d_um = np.exp(rng.normal(np.log(8.0), 0.35, 2000))  # number-weighted lognormal, median 8 um
    f = np.logspace(4, -4, 60)
    sim = im.simulate_eis_spectrum(
        f,
        radius_m=d_um * 0.5e-6,
        volume_fraction=d_um**3,
        diffusivity_m2_s=1e-13,
        capacitance_F=10.0,
        series_resistance_ohm=1.0,
        charge_transfer_resistance_ohm=2.0,
        charge_transfer_tau_s=1e-3,
        charge_transfer_alpha=0.85,
        noise_rel=noise,
        seed=seed,
    )
    return d_um, sim


@pytest.mark.parametrize("seed", [100, 101])
def test_lognormal_psd_recovered_from_its_impedance(seed):
    d_um, sim = _lognormal_cell(0.005, seed)
    truth = weighted_quantiles(d_um, d_um**3, [0.1, 0.5, 0.9])
    np.testing.assert_allclose([sim.d10_um, sim.d50_um, sim.d90_um], truth)
    f, z = im.spectrum_from_table(sim.spectrum)
    res = im.fit_diffusion_time_distribution(f, z, diffusivity_m2_s=1e-13)
    assert res.d50_um == pytest.approx(sim.d50_um, rel=0.10)
    assert res.d10_um == pytest.approx(sim.d10_um, rel=0.15)
    assert res.d90_um == pytest.approx(sim.d90_um, rel=0.15)
    assert res.tau_D50_s == pytest.approx((0.5e-6 * res.d50_um) ** 2 / 1e-13, rel=1e-9)
    assert res.capacitance_F == pytest.approx(10.0, rel=0.02)
    assert res.series_resistance_ohm == pytest.approx(1.0, rel=0.02)
    assert res.charge_transfer_resistance_ohm == pytest.approx(2.0, rel=0.02)
    assert res.charge_transfer_alpha == pytest.approx(0.85, abs=0.02)
    assert np.sum(res.volume_fraction) == pytest.approx(1.0)
    assert np.sqrt(np.mean(res.residual_real**2 + res.residual_imag**2) / 2) < 0.006  # noise 0.5 %


def test_single_particle_size_and_fixed_front_end():
    f = np.logspace(-4, 4, 60)
    sim = im.simulate_eis_spectrum(f, radius_m=[5e-6], volume_fraction=[1.0], diffusivity_m2_s=1e-13)
    fr, z = im.spectrum_from_table(sim.spectrum)
    res = im.fit_diffusion_time_distribution(
        fr,
        z,
        diffusivity_m2_s=1e-13,
        series_resistance_ohm=1.0,
        charge_transfer_resistance_ohm=2.0,
        charge_transfer_tau_s=1e-3,
        charge_transfer_alpha=0.9,
    )
    assert res.fitted_parameters == ()
    assert res.d50_um == pytest.approx(10.0, rel=0.01)
    assert res.tau_D50_s == pytest.approx(250.0, rel=0.02)
    assert res.capacitance_F == pytest.approx(10.0, rel=1e-3)


def test_bootstrap_interval_and_diffusivity_interval():
    _, sim = _lognormal_cell(0.005, 102)
    f, z = im.spectrum_from_table(sim.spectrum)
    kw = dict(diffusivity_m2_s=1e-13, n_bootstrap=4, seed=5)
    a = im.fit_diffusion_time_distribution(f, z, **kw)
    b = im.fit_diffusion_time_distribution(f, z, diffusivity_interval_m2_s=(0.8e-13, 1.25e-13), **kw)
    lo, hi = a.d50_interval_um
    assert a.n_bootstrap == 4 and lo < hi and lo < a.d50_um * 1.05 and hi > a.d50_um * 0.95
    # d scales as sqrt(D): the same bootstrap widened by the diffusivity interval
    assert b.d50_interval_um[0] == pytest.approx(lo * np.sqrt(0.8), rel=1e-9)
    assert b.d50_interval_um[1] == pytest.approx(hi * np.sqrt(1.25), rel=1e-9)
    assert np.isnan(im.fit_diffusion_time_distribution(f, z, diffusivity_m2_s=1e-13).d50_interval_um[0])


def test_diffusion_size_quantiles():
    tau = np.logspace(0, 4, 41)
    w = np.zeros(41)
    w[20] = 1.0  # all volume at tau = 100 s: its grid cell spans 10**(+-0.05)
    d = im.diffusion_size_quantiles(tau, w, diffusivity_m2_s=1e-12, quantiles=[0.0, 0.5, 1.0])
    np.testing.assert_allclose(d, 2e6 * np.sqrt(1e-12 * 100.0 * 10.0 ** np.array([-0.05, 0.0, 0.05])))
    with pytest.raises(ValueError, match="diffusivity_m2_s"):
        im.diffusion_size_quantiles(tau, w, diffusivity_m2_s=0.0)


def test_warm_started_nnls_matches_scipy():
    from scipy import optimize

    rng = np.random.default_rng(7)
    for k in range(60):
        m, n = int(rng.integers(10, 80)), int(rng.integers(3, 50))
        a = rng.standard_normal((m, n)) * rng.uniform(0.05, 3.0, n)
        b = rng.standard_normal(m)
        lam = 10 ** rng.uniform(-4, 1)
        g, h = a.T @ a + lam * np.eye(n), a.T @ b
        x0 = None if k % 2 else np.abs(rng.standard_normal(n)) * (rng.random(n) < 0.5)
        x = im._nnls_gram(g, h, x0)
        ref, _ = optimize.nnls(np.vstack([a, np.sqrt(lam) * np.eye(n)]), np.concatenate([b, np.zeros(n)]))
        np.testing.assert_allclose(x, ref, atol=1e-8 * max(1.0, np.abs(ref).max()))
        grad = g @ x - h  # KKT: zero on the support, non-negative off it
        assert np.all(x >= 0) and np.all(np.abs(grad[x > 0]) < 1e-8) and np.all(grad[x == 0] > -1e-8)


# ----------------------------------------------------------------------------- parametric (lognormal) sizes


def _lognormal_classes(d50_um, sigma, n=201):
    """Volume-weighted lognormal discretised into classes (+-5 sigma): exact d50 and sigma of ln d."""
    x = np.linspace(-5.0, 5.0, n)
    return 0.5e-6 * d50_um * np.exp(sigma * x), np.exp(-0.5 * x**2)


def _bimodal_classes(d_um, fractions, sigma):
    parts = [_lognormal_classes(d, sigma) for d in d_um]
    r = np.concatenate([p[0] for p in parts])
    w = np.concatenate([p[1] / p[1].sum() * q for p, q in zip(parts, fractions)])
    return r, w


_EIS_F = np.logspace(4, -4, 60)
_EIS_KW = dict(diffusivity_m2_s=1e-13, charge_transfer_alpha=0.85)


@pytest.mark.parametrize("sigma", [0.1, 0.8])
def test_lognormal_fit_recovers_exact_parameters_without_noise(sigma):
    r, w = _lognormal_classes(12.0, sigma)
    sim = im.simulate_eis_spectrum(_EIS_F, radius_m=r, volume_fraction=w, **_EIS_KW)
    f, z = im.spectrum_from_table(sim.spectrum)
    res = im.fit_lognormal_size_distribution(f, z, diffusivity_m2_s=1e-13)
    assert res.d50_um == pytest.approx(12.0, rel=1e-5)
    assert res.sigma_ln_d == pytest.approx(sigma, rel=1e-4)
    q = np.array([-1.2815515655446004, 1.2815515655446004])
    np.testing.assert_allclose([res.d10_um, res.d90_um], 12.0 * np.exp(q * sigma), rtol=1e-4)
    assert res.tau_D50_s == pytest.approx((6e-6) ** 2 / 1e-13, rel=1e-5)
    assert res.number_median_um == pytest.approx(12.0 * np.exp(-3 * sigma**2), rel=1e-4)  # Hatch-Choate
    assert res.capacitance_F == pytest.approx(10.0, rel=1e-5)
    assert res.series_resistance_ohm == pytest.approx(1.0, rel=1e-5)
    assert res.charge_transfer_resistance_ohm == pytest.approx(2.0, rel=1e-5)
    assert res.charge_transfer_tau_s == pytest.approx(1e-3, rel=1e-4)
    assert res.charge_transfer_alpha == pytest.approx(0.85, rel=1e-5)
    assert np.max(np.abs(res.residual_real)) < 1e-6 and np.max(np.abs(res.residual_imag)) < 1e-6
    names = (
        "series_resistance_ohm",
        "charge_transfer_resistance_ohm",
        "charge_transfer_tau_s",
        "charge_transfer_alpha",
    )
    assert res.parameter_names == (*names, "capacitance_F", "tau_D50_s", "sigma_ln_d") and res.at_bound == ()
    assert res.covariance.shape == (7, 7)


def test_lognormal_fit_interval_covers_the_true_d50():
    # 50 noisy repeats (0.5 % of |Z|) of a volume-weighted lognormal PSD, d50 = 12 um, sigma = 0.35
    d50, sigma = 12.0, 0.35
    r, w = _lognormal_classes(d50, sigma)
    truth = d50 * np.exp(np.array([-1.2815515655446004, 0.0, 1.2815515655446004]) * sigma)
    err, cover, width, flagged = [], [], [], 0
    for seed in range(50):
        sim = im.simulate_eis_spectrum(_EIS_F, radius_m=r, volume_fraction=w, noise_rel=0.005, seed=seed, **_EIS_KW)
        assert sim.d50_um == pytest.approx(d50, rel=1e-6)
        f, z = im.spectrum_from_table(sim.spectrum)
        res = im.fit_lognormal_size_distribution(f, z, diffusivity_m2_s=1e-13)
        ints = [res.d10_interval_um, res.d50_interval_um, res.d90_interval_um]
        err.append(res.d50_um / d50 - 1)
        cover.append([lo < t < hi for (lo, hi), t in zip(ints, truth)])
        width.append((ints[1][1] - ints[1][0]) / d50)
        flagged += not res.adequate
    err, cover = np.array(err), np.array(cover)
    print(
        f"d50 rms error {np.sqrt(np.mean(err**2)):.4f}, coverage d10/d50/d90 {cover.mean(axis=0)}, "
        f"median width {np.median(width):.4f}, flagged {flagged}"
    )
    assert np.max(np.abs(err)) < 0.03
    assert np.all(cover.mean(axis=0) >= 0.90)  # nominal 95 %
    assert 0.005 < np.median(width) < 0.05
    assert flagged <= 2  # significance 0.01


def test_lognormal_fit_of_a_sampled_psd_and_the_nonparametric_start():
    # a 2000-particle number-weighted lognormal sample: the fit tracks the sample's volume-weighted
    # geometric mean and sd of ln d (what a lognormal fit of the CT PSD gives)
    d_um, sim = _lognormal_cell(0.005, 100)
    wv = d_um**3
    mean_ln = np.sum(wv * np.log(d_um)) / wv.sum()
    sd_ln = np.sqrt(np.sum(wv * (np.log(d_um) - mean_ln) ** 2) / wv.sum())
    f, z = im.spectrum_from_table(sim.spectrum)
    res = im.fit_lognormal_size_distribution(f, z, diffusivity_m2_s=1e-13)
    assert res.adequate
    assert res.d50_um == pytest.approx(np.exp(mean_ln), rel=0.01)
    assert res.d50_interval_um[0] < np.exp(mean_ln) < res.d50_interval_um[1]
    assert res.d50_um == pytest.approx(sim.d50_um, rel=0.03)  # the sample's quantile
    assert res.sigma_ln_d == pytest.approx(sd_ln, abs=0.02)
    assert res.number_median_um == pytest.approx(np.median(d_um), rel=0.03)
    # started from the non-parametric fit: the same optimum
    npf = im.fit_diffusion_time_distribution(f, z, diffusivity_m2_s=1e-13)
    again = im.fit_lognormal_size_distribution(f, z, diffusivity_m2_s=1e-13, initial=npf)
    assert again.d50_um == pytest.approx(res.d50_um, rel=1e-5)
    assert again.sigma_ln_d == pytest.approx(res.sigma_ln_d, rel=1e-4)


def test_lognormal_fit_diffusivity_interval_maps_through_sqrt():
    r, w = _lognormal_classes(12.0, 0.35)
    d_int = (0.8e-13, 1.25e-13)
    exact = im.simulate_eis_spectrum(_EIS_F, radius_m=r, volume_fraction=w, **_EIS_KW)
    f, z = im.spectrum_from_table(exact.spectrum)
    res = im.fit_lognormal_size_distribution(f, z, diffusivity_m2_s=1e-13, diffusivity_interval_m2_s=d_int)
    # no noise: the spectrum adds nothing, d ~ sqrt(D) maps the D interval onto every quantile
    for d, (lo, hi) in zip(
        [res.d10_um, res.d50_um, res.d90_um], [res.d10_interval_um, res.d50_interval_um, res.d90_interval_um]
    ):
        assert lo == pytest.approx(d * np.sqrt(0.8), rel=1e-6) and hi == pytest.approx(d * np.sqrt(1.25), rel=1e-6)
    assert res.diffusivity_interval_m2_s == d_int
    # with noise: half-widths of ln d add in quadrature; tau_D50 does not depend on D
    noisy = im.simulate_eis_spectrum(_EIS_F, radius_m=r, volume_fraction=w, noise_rel=0.005, seed=3, **_EIS_KW)
    f, z = im.spectrum_from_table(noisy.spectrum)
    a = im.fit_lognormal_size_distribution(f, z, diffusivity_m2_s=1e-13)
    b = im.fit_lognormal_size_distribution(f, z, diffusivity_m2_s=1e-13, diffusivity_interval_m2_s=d_int)
    h_spec = np.log(a.d50_interval_um[1] / a.d50_um)
    assert np.log(b.d50_interval_um[1] / b.d50_um) == pytest.approx(np.hypot(h_spec, 0.5 * np.log(1.25)), rel=1e-6)
    assert np.log(b.d50_um / b.d50_interval_um[0]) == pytest.approx(np.hypot(h_spec, 0.5 * np.log(1.25)), rel=1e-6)
    assert a.tau_D50_interval_s == pytest.approx(b.tau_D50_interval_s, rel=1e-12)
    # without D only the diffusion time and sigma
    c = im.fit_lognormal_size_distribution(f, z)
    assert np.isnan(c.d50_um) and c.tau_D50_s == pytest.approx(a.tau_D50_s, rel=1e-9)
    assert c.tau_D50_interval_s[0] < (6e-6) ** 2 / 1e-13 < c.tau_D50_interval_s[1]
    with pytest.raises(ValueError, match="diffusivity_interval_m2_s"):
        im.fit_lognormal_size_distribution(f, z, diffusivity_m2_s=2e-13, diffusivity_interval_m2_s=d_int)
    with pytest.raises(TypeError, match="initial"):
        im.fit_lognormal_size_distribution(f, z, initial=a)


def test_lognormal_fit_flags_a_bimodal_psd():
    # 20 % (by volume) of 4 um fines in 12 um particles (sigma 0.2 each): the best lognormal
    # misses d50 by ~10 %, and the chi-square test against the KK-compliant fit flags it
    r, w = _bimodal_classes([4.0, 12.0], [0.2, 0.8], 0.2)
    for seed in (0, 1, 2):
        sim = im.simulate_eis_spectrum(_EIS_F, radius_m=r, volume_fraction=w, noise_rel=0.005, seed=seed, **_EIS_KW)
        f, z = im.spectrum_from_table(sim.spectrum)
        res = im.fit_lognormal_size_distribution(f, z, diffusivity_m2_s=1e-13)
        assert res.d50_um / sim.d50_um - 1 < -0.05
        assert not res.adequate and res.chi2_ratio > 1.5 and res.chi2_p_value < 0.01
        known = im.fit_lognormal_size_distribution(f, z, diffusivity_m2_s=1e-13, noise_rel=0.005)
        assert not known.adequate and known.reference_chi2_reduced == pytest.approx(0.005**2)
    # the same noise on the lognormal PSD passes both tests
    r, w = _lognormal_classes(12.0, 0.35)
    sim = im.simulate_eis_spectrum(_EIS_F, radius_m=r, volume_fraction=w, noise_rel=0.005, seed=0, **_EIS_KW)
    f, z = im.spectrum_from_table(sim.spectrum)
    assert im.fit_lognormal_size_distribution(f, z, diffusivity_m2_s=1e-13).adequate
    assert im.fit_lognormal_size_distribution(f, z, diffusivity_m2_s=1e-13, noise_rel=0.005).adequate
