"""Tests of batteryct.psd against analytic lognormal (Hatch-Choate) answers."""

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import special

from batteryct.psd import (
    Z90_SPAN,
    _lilliefors_null,
    dispersion_index,
    lilliefors_pvalue,
    lognormal_fit,
    percentile_lognormal,
    psd_summary,
    psd_table,
    weighted_quantiles,
)
from conftest import ROOT

#: the workflow's psd section (psd_table's values live only in config/config.yaml)
PSD = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["psd"]
MU = np.log(8.0)
SIGMA = 0.35


@pytest.fixture(scope="module")
def lognormal_sample():
    rng = np.random.default_rng(20240611)
    return np.exp(MU + SIGMA * rng.standard_normal(5000))


def test_weighted_quantiles_hazen_and_weights():
    d = np.array([1.0, 2.0, 3.0, 4.0])
    # equal weights: Hazen positions 0.125, 0.375, 0.625, 0.875
    assert weighted_quantiles(d, None, 0.5) == pytest.approx(2.5)
    assert weighted_quantiles(d, np.ones(4), 0.375) == pytest.approx(2.0)
    assert weighted_quantiles(d, None, [0.0, 1.0]) == pytest.approx([1.0, 4.0])  # clamped
    # weights 1:3 on two diameters: mid-points at 0.125 and 0.625
    assert weighted_quantiles([1.0, 2.0], [1.0, 3.0], 0.625) == pytest.approx(2.0)
    assert weighted_quantiles([1.0, 2.0], [1.0, 3.0], 0.375) == pytest.approx(1.5)
    with pytest.raises(ValueError):
        weighted_quantiles(d, -np.ones(4), 0.5)


def test_lognormal_fit_recovers_parameters_inside_ci(lognormal_sample):
    fit = lognormal_fit(lognormal_sample)
    assert fit["lognormal_mu_ci_low"] < MU < fit["lognormal_mu_ci_high"]
    assert fit["lognormal_sigma_ci_low"] < SIGMA < fit["lognormal_sigma_ci_high"]
    assert fit["lognormal_median_ci_low_um"] < 8.0 < fit["lognormal_median_ci_high_um"]
    # the 95 % interval of sigma for n = 5000 is about +/- 2 %
    width = fit["lognormal_sigma_ci_high"] / fit["lognormal_sigma_ci_low"] - 1
    assert 0.03 < width < 0.05
    assert fit["ks_pvalue"] > 0.05


def test_summary_matches_hatch_choate(lognormal_sample):
    s = psd_summary(lognormal_sample)
    assert s["n_particles"] == 5000
    assert s["d50_number_um"] == pytest.approx(np.exp(MU), rel=0.03)
    assert s["d50_volume_um"] == pytest.approx(np.exp(MU + 3 * SIGMA**2), rel=0.03)
    assert s["d32_um"] == pytest.approx(np.exp(MU + 2.5 * SIGMA**2), rel=0.03)
    z = special.ndtri(0.9)
    span = 2 * np.sinh(z * SIGMA)  # (e^{z s} - e^{-z s}) / 1, same for both weightings
    assert s["span_number"] == pytest.approx(span, rel=0.05)
    assert s["span_volume"] == pytest.approx(span, rel=0.10)


def test_percentile_route_analytic():
    z = special.ndtri([0.1, 0.5, 0.9])
    d10, d50, d90 = np.exp(MU + 3 * SIGMA**2 + z * SIGMA)  # exact volume percentiles
    r = percentile_lognormal(d10, d50, d90)
    assert Z90_SPAN == pytest.approx(2.563, abs=5e-4)
    assert r["percentile_sigma"] == pytest.approx(SIGMA, rel=1e-12)
    assert r["d32_percentile_um"] == pytest.approx(np.exp(MU + 2.5 * SIGMA**2), rel=1e-12)
    assert r["percentile_median_number_um"] == pytest.approx(np.exp(MU), rel=1e-12)
    # the seed's constant 2.563 instead of 2 z_0.9 changes sigma by only 1e-4 (relative)
    assert np.log(d90 / d10) / 2.563 == pytest.approx(SIGMA, rel=2e-4)
    # the formula needs the volume-weighted d50: with the number d50 it is 26 % off
    d50_number = np.exp(MU)
    wrong = d50_number * np.exp(-0.5 * SIGMA**2)
    assert wrong / np.exp(MU + 2.5 * SIGMA**2) < 0.8


def test_percentile_route_on_sample(lognormal_sample):
    row = psd_table(_table(lognormal_sample), **PSD).iloc[0]
    assert row["d32_percentile_um"] == pytest.approx(np.exp(MU + 2.5 * SIGMA**2), rel=0.03)
    assert abs(row["d32_percentile_rel_error"]) < 0.03
    assert bool(row["lognormal_ok"]) and not bool(row["ks_reject"])
    assert row["warning"] == ""


def test_bimodal_flagged_not_lognormal():
    rng = np.random.default_rng(7)
    d = np.r_[
        np.exp(np.log(5.0) + 0.2 * rng.standard_normal(2500)), np.exp(np.log(15.0) + 0.2 * rng.standard_normal(2500))
    ]
    row = psd_table(_table(d), **PSD).iloc[0]
    assert bool(row["ks_reject"])
    assert not bool(row["lognormal_ok"])
    assert row["ks_pvalue"] < 0.01


def test_d32_tolerance_flags_route_disagreement():
    rng = np.random.default_rng(8)
    d = np.r_[
        np.exp(np.log(5.0) + 0.2 * rng.standard_normal(2500)), np.exp(np.log(15.0) + 0.2 * rng.standard_normal(2500))
    ]
    row = psd_table(_table(d), **{**PSD, "d32_rel_tol": 0.01}).iloc[0]
    assert abs(row["d32_percentile_rel_error"]) > 0.01
    assert not bool(row["d32_route_ok"])


def test_monodisperse_span_zero():
    s = psd_summary(np.full(200, 7.5))
    for k in (
        "d10_number_um",
        "d50_number_um",
        "d90_number_um",
        "d10_volume_um",
        "d50_volume_um",
        "d90_volume_um",
        "d32_um",
    ):
        assert s[k] == pytest.approx(7.5)
    assert s["span_number"] == 0.0 and s["span_volume"] == 0.0
    fit = lognormal_fit(np.full(200, 7.5))
    assert fit["lognormal_sigma"] == 0.0 and fit["lognormal_median_um"] == pytest.approx(7.5)
    di = dispersion_index(np.full(200, 7.5))
    assert di["dispersion_index"] == 0.0


def test_dispersion_index_grows_with_agglomerates(lognormal_sample):
    base = lognormal_sample[:3000]
    values, vfrac, spans = [], [], []
    for k in (0, 5, 15, 40, 100):
        d = np.r_[base, np.full(k, 4.0 * np.exp(MU + 3 * SIGMA**2))]  # 4 x volume median
        r = dispersion_index(d)
        values.append(r["dispersion_index"])
        vfrac.append(r["agglomerate_volume_fraction"])
        spans.append(r["span_number_primary"])
    assert np.all(np.diff(values) > 0)
    assert np.all(np.diff(vfrac) > 0)
    # number-weighted polydispersity of the primaries is robust to the agglomerates
    assert max(spans) - min(spans) < 0.05
    # 100 agglomerates are 3 % by number but dominate the penalty by volume
    assert vfrac[-1] > 0.5
    # polydispersity by number: a wider primary population has a higher index
    rng = np.random.default_rng(3)
    narrow = dispersion_index(np.exp(MU + 0.15 * rng.standard_normal(3000)))["dispersion_index"]
    wide = dispersion_index(np.exp(MU + 0.45 * rng.standard_normal(3000)))["dispersion_index"]
    assert narrow < wide


def test_lilliefors_null_matches_stephens():
    # Stephens (1974) 5 % critical value of the KS statistic, normal with estimated mean/sd
    n = 1000
    crit = 0.895 / (np.sqrt(n) - 0.01 + 0.85 / np.sqrt(n))
    null = _lilliefors_null(n, 2000, 0)
    assert np.quantile(null, 0.95) == pytest.approx(crit, rel=0.03)
    assert lilliefors_pvalue(crit, n, 2000, 0) == pytest.approx(0.05, abs=0.015)


def _table(d, sample="S1", border=None):
    return pd.DataFrame(
        {
            "sample": sample,
            "equivalent_diameter_um": d,
            "volume_um3": np.pi / 6 * np.asarray(d) ** 3,
            "touches_border": False if border is None else border,
        }
    )


def test_psd_table_border_and_minimum():
    rng = np.random.default_rng(1)
    d = np.exp(MU + SIGMA * rng.standard_normal(300))
    border = np.zeros(300, bool)
    border[:40] = True
    d_bad = d.copy()
    d_bad[40] = np.nan
    big = _table(d_bad, "A", border)
    small = _table(d[:20], "B")
    out = psd_table(pd.concat([big, small]), **{**PSD, "min_particles": 50}, n_ks_mc=200)
    a = out.set_index("sample").loc["A"]
    assert a["n_particles"] == 259 and a["n_border_excluded"] == 40 and a["n_invalid_dropped"] == 1
    ref = psd_summary(d[41:])
    assert a["d32_um"] == pytest.approx(ref["d32_um"])
    b = out.set_index("sample").loc["B"]
    assert b["n_particles"] == 20 and np.isnan(b["d50_volume_um"]) and "minimum 50" in b["warning"]
    assert not bool(b["lognormal_ok"])
    with pytest.raises(KeyError):
        psd_table(pd.DataFrame({"sample": ["x"], "equivalent_diameter_um": [1.0]}), **PSD)


def test_ks_pvalue_at_its_monte_carlo_floor_is_flagged(lognormal_sample):
    """Two well-separated modes give the smallest p-value 99 replicates can: 1/100."""
    rng = np.random.default_rng(5)
    bimodal = np.concatenate([rng.lognormal(np.log(3.0), 0.05, 300), rng.lognormal(np.log(12.0), 0.05, 300)])
    row = psd_table(_table(bimodal), **PSD, n_ks_mc=99).iloc[0]
    assert row["ks_pvalue"] == pytest.approx(0.01) and row["ks_pvalue_at_floor"]
    row = psd_table(_table(lognormal_sample), **PSD, n_ks_mc=99).iloc[0]
    assert row["ks_pvalue"] > 0.01 and not row["ks_pvalue_at_floor"]
