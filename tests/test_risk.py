"""Risk indices over a PSD against closed forms, exact discrete sums and Monte Carlo."""

import numpy as np
import pytest

from batteryct import risk
from batteryct.psd import weighted_quantiles

# ----------------------------------------------------------------------------- lognormal


def test_lognormal_hatch_choate_against_monte_carlo():
    mu, sigma = np.log(10.0), 0.4
    d = np.exp(np.random.default_rng(0).normal(mu, sigma, 2_000_000))
    d32 = np.sum(d**3) / np.sum(d**2)
    assert risk.lognormal_sauter_diameter(mu, sigma) == pytest.approx(np.exp(mu + 2.5 * sigma**2), rel=1e-12)
    assert d32 == pytest.approx(risk.lognormal_sauter_diameter(mu, sigma), rel=0.005)
    assert np.sum(d**4) / np.sum(d**3) == pytest.approx(risk.lognormal_moment_diameter(mu, sigma, 4, 3), rel=0.005)
    assert np.mean(d) == pytest.approx(risk.lognormal_moment_diameter(mu, sigma, 1, 0), rel=0.002)
    assert np.mean(d**2) == pytest.approx(risk.lognormal_moment(mu, sigma, 2), rel=0.005)
    # volume-weighted median exp(mu + 3 sigma^2), surface-weighted exp(mu + 2 sigma^2)
    assert weighted_quantiles(d, d**3, 0.5) == pytest.approx(risk.lognormal_weighted_median(mu, sigma, 3), rel=0.005)
    assert weighted_quantiles(d, d**2, 0.5) == pytest.approx(risk.lognormal_weighted_median(mu, sigma, 2), rel=0.005)
    with pytest.raises(ValueError, match="p and q must differ"):
        risk.lognormal_moment_diameter(mu, sigma, 3, 3)


# ----------------------------------------------------------------------------- Weibull


def test_weibull_strength_ratio_for_doubling_diameter():
    s = risk.weibull_strength_scale_Pa([5.0, 10.0], strength_ref_Pa=200e6, diameter_ref_um=5.0, weibull_modulus=5)
    assert s[0] == pytest.approx(200e6)
    assert s[1] / s[0] == pytest.approx(2 ** (-3 / 5), rel=1e-12)
    assert round(s[1] / s[0], 3) == 0.660


def test_weibull_fracture_probability_and_psd_expectations():
    kw = dict(strength_ref_Pa=100e6, diameter_ref_um=10.0, weibull_modulus=8)
    # at the scale strength of its own size a particle fails with probability 1 - 1/e
    p = risk.weibull_fracture_probability([10.0], stress_Pa=100e6, **kw)
    assert p[0] == pytest.approx(1 - np.exp(-1))
    # volume size effect: P_f = 1 - exp(-(d / d_ref)^3 (sigma / sigma_ref)^m)
    d = np.array([5.0, 10.0, 20.0])
    n = np.array([100, 20, 1])
    r = risk.weibull_fracture_risk(d, stress_Pa=60e6, count=n, **kw)
    expected = 1 - np.exp(-((d / 10.0) ** 3) * 0.6**8)
    np.testing.assert_allclose(r.probability, expected, rtol=1e-12)
    assert r.number_weighted == pytest.approx(np.sum(n * expected) / np.sum(n), rel=1e-12)
    assert r.volume_weighted == pytest.approx(np.sum(n * d**3 * expected) / np.sum(n * d**3), rel=1e-12)
    assert r.volume_weighted > r.number_weighted  # the coarse tail dominates by volume
    # a size-dependent stress broadcasts per particle
    r2 = risk.weibull_fracture_risk(d, stress_Pa=[60e6, 60e6, 0.0], count=n, **kw)
    assert r2.probability[2] == 0.0
    with pytest.raises(ValueError, match="count must have the shape"):
        risk.weibull_fracture_risk(d, stress_Pa=1.0, count=[1, 2], **kw)


# ----------------------------------------------------------------------------- heat


def test_thermal_index_and_exact_volume_fraction_above_one():
    alpha, t_gen = 1e-6, (1.25e-6) ** 2 / 1e-6  # critical diameter 2 sqrt(alpha t_gen) = 2.5 um
    d = np.array([1.0, 2.0, 3.0, 4.0])
    n = np.array([10, 5, 2, 1])
    r = risk.thermal_risk(d, thermal_diffusivity_m2_s=alpha, heat_generation_time_s=t_gen, count=n)
    np.testing.assert_allclose(r.index, (0.5e-6 * d) ** 2 / alpha / t_gen)
    np.testing.assert_allclose(r.index, (d / 2.5) ** 2)
    assert np.all(np.diff(r.index) > 0)  # monotone in d
    assert r.critical_diameter_um == pytest.approx(2.5)
    # volume above 1: d = 3 and 4 um -> (2*27 + 1*64) / (10*1 + 5*8 + 2*27 + 1*64) = 118 / 168
    assert r.volume_fraction_above_1 == pytest.approx(118 / 168, rel=1e-12)
    assert r.number_fraction_above_1 == pytest.approx(3 / 18, rel=1e-12)
    t = risk.heat_generation_time_s(
        volumetric_heat_W_m3=2e7, density_kg_m3=4700.0, specific_heat_J_kg_K=700.0, temperature_rise_K=20.0
    )
    assert t == pytest.approx(4700 * 700 * 20 / 2e7)


# ----------------------------------------------------------------------------- plating


def test_plating_surface_fraction():
    time_s = np.array([0.0, 10.0, 20.0, 30.0])
    # three size classes; overpotential magnitude grows with time, fastest for the small ones
    eta = np.array([[0.00, 0.00, 0.00], [0.06, 0.02, 0.01], [0.12, 0.06, 0.02], [0.08, 0.04, 0.03]])
    area = np.array([6.0, 3.0, 1.0])
    r = risk.plating_risk(eta, area, threshold_V=0.05, time_s=time_s)
    assert r.at_risk.tolist() == [True, True, False]
    assert r.area_fraction == pytest.approx(0.9)
    np.testing.assert_allclose(r.area_fraction_vs_time, [0.0, 0.6, 0.9, 0.6])
    assert r.peak_area_fraction == pytest.approx(0.9)
    np.testing.assert_array_equal(r.first_crossing_time_s[:2], [10.0, 20.0])
    assert np.isnan(r.first_crossing_time_s[2])
    # plating potential convention: at risk below 0 V vs Li/Li+
    phi = 0.05 - eta
    b = risk.plating_risk(phi, area, threshold_V=0.0, side="below")
    assert b.at_risk.tolist() == [True, True, False]
    np.testing.assert_allclose(b.area_fraction_vs_time, [0.0, 0.6, 0.9, 0.6])
    with pytest.raises(ValueError, match="surface_area_m2 must have n_sizes = 3"):
        risk.plating_risk(eta, area[:2], threshold_V=0.05)
    with pytest.raises(ValueError, match="side"):
        risk.plating_risk(eta, area, threshold_V=0.05, side="over")


# ----------------------------------------------------------------------------- packing


def test_furnas_binary_limit():
    p = risk.furnas_binary_packing(phi_coarse=0.64, phi_fine=0.64)
    assert p.phi_max == pytest.approx(0.8704, abs=1e-12)
    assert p.optimal_coarse_fraction == pytest.approx(1.5625 / 2.125, abs=1e-12)  # 0.735
    assert round(p.optimal_coarse_fraction, 3) == 0.735
    assert np.max(p.packing_fraction) <= p.phi_max + 1e-12
    assert p.packing_fraction[0] == pytest.approx(0.64) and p.packing_fraction[-1] == pytest.approx(0.64)
    # the curve peaks at the branch intersection
    q = risk.furnas_binary_packing(phi_coarse=0.64, phi_fine=0.64, coarse_fraction=[p.optimal_coarse_fraction])
    assert q.packing_fraction[0] == pytest.approx(0.8704)
    # unequal classes: phi_max = phi_c + (1 - phi_c) phi_f
    u = risk.furnas_binary_packing(phi_coarse=0.6, phi_fine=0.5)
    assert u.phi_max == pytest.approx(0.8)
    assert u.optimal_coarse_fraction == pytest.approx(2.0 / (1 / 0.6 + 2.0 - 1.0))


def test_yu_standish_finite_size_ratio():
    lim = risk.yu_standish_binary_packing(size_ratio=1e-9, phi_coarse=0.64, phi_fine=0.64)
    fur = risk.furnas_binary_packing(phi_coarse=0.64, phi_fine=0.64)
    assert lim.phi_max == pytest.approx(0.8704, abs=1e-6)
    assert lim.optimal_coarse_fraction == pytest.approx(0.7353, abs=2e-4)
    np.testing.assert_allclose(lim.packing_fraction, fur.packing_fraction, atol=1e-8)
    ratios = [0.05, 0.1, 0.2, 0.4, 0.6, 0.74]
    phis = [risk.yu_standish_binary_packing(size_ratio=r, phi_coarse=0.64, phi_fine=0.64).phi_max for r in ratios]
    assert np.all(np.diff(phis) < 0) and phis[-1] > 0.64  # the gain shrinks with the size ratio
    # the closed-form binary maximum of the model, phi + phi (1 - phi)(1 - 2.35 r + 1.35 r^2)
    assert phis[2] == pytest.approx(0.64 + 0.64 * 0.36 * (1 - 2.35 * 0.2 + 1.35 * 0.04), abs=1e-4)
    flat = risk.yu_standish_binary_packing(size_ratio=0.9, phi_coarse=0.64, phi_fine=0.64)
    assert flat.phi_max == pytest.approx(0.64) and np.isnan(flat.optimal_coarse_fraction)
    assert risk.yu_standish_binary_packing(size_ratio=5.0, phi_coarse=0.64, phi_fine=0.64).phi_max == pytest.approx(
        risk.yu_standish_binary_packing(size_ratio=0.2, phi_coarse=0.64, phi_fine=0.64).phi_max
    )
    with pytest.raises(ValueError, match="phi_coarse"):
        risk.yu_standish_binary_packing(size_ratio=0.2, phi_coarse=1.2, phi_fine=0.64)
