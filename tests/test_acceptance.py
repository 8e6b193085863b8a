"""Tests of batteryct.acceptance against hand-computed values and a diffusion solver."""

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import special
from scipy.linalg import solve_banded

from batteryct.acceptance import (
    AcceptanceCriteria,
    acceptance_table,
    bruggeman_conductivity_S_m,
    diffusion_time_s,
    galvanostatic_utilisation,
    kozeny_carman_permeability_um2,
    reachable_fractions,
    specific_surface_area_m2_g,
)
from batteryct.psd import psd_table
from conftest import ROOT

#: the workflow's acceptance section (the criteria's values live only in config/config.yaml)
CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["acceptance"]
PSD_CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["psd"]


def criteria(**overrides):
    """The workflow's acceptance criteria with some keys replaced."""
    return AcceptanceCriteria.from_mapping({**CONFIG, **overrides})


def test_specific_surface_area_units():
    # 6 / (rho d32): 4.75 g/cm^3, 10 um -> SI: 6 / (4750 kg/m^3 * 1e-5 m) = 126.3 m^2/kg
    assert specific_surface_area_m2_g(10.0, 4.75) == pytest.approx(0.12631578947, rel=1e-10)
    si_m2_per_kg = 6.0 / (4750.0 * 10e-6)
    assert specific_surface_area_m2_g(10.0, 4.75) == pytest.approx(si_m2_per_kg / 1000.0)


def test_kozeny_carman_hand_value():
    # eps = 0.3, d32 = 10 um: 0.027 * 100 / (180 * 0.49) = 2.7 / 88.2
    assert kozeny_carman_permeability_um2(10.0, 0.3) == pytest.approx(0.030612244898, rel=1e-10)
    # eps = 0.4, d32 = 8 um: 0.064 * 64 / (180 * 0.36) = 4.096 / 64.8
    assert kozeny_carman_permeability_um2(8.0, 0.4) == pytest.approx(0.063209876543, rel=1e-10)
    with pytest.raises(ValueError):
        kozeny_carman_permeability_um2(8.0, 1.0)


def test_bruggeman_hand_value():
    assert bruggeman_conductivity_S_m(1.0, 0.3, 1.5) == pytest.approx(0.164316767252, rel=1e-10)
    assert bruggeman_conductivity_S_m(1.2, 0.25, 2.0) == pytest.approx(0.075, rel=1e-12)


def test_diffusion_time_hand_value():
    # d = 10 um -> R = 5e-4 cm; (5e-4)^2 / 1e-10 = 2500 s
    assert diffusion_time_s(10.0, 1e-10) == pytest.approx(2500.0, rel=1e-12)


def _fv_utilisation(tau_over_t, n=200, nt=4000):
    """Finite-volume (implicit Euler) sphere at constant surface flux, until saturation."""
    beta = tau_over_t / 3.0
    edges = np.linspace(0.0, 1.0, n + 1)
    vol = (edges[1:] ** 3 - edges[:-1] ** 3) / 3.0
    dr = edges[1]
    g = edges[1:-1] ** 2 / dr
    dt = 1.0 / (3.0 * beta) / nt
    ab = np.zeros((3, n))
    ab[1] = vol / dt
    ab[1, :-1] += g
    ab[1, 1:] += g
    ab[0, 1:] = -g
    ab[2, :-1] = -g
    x = np.zeros(n)
    for _ in range(nt):
        rhs = vol / dt * x
        rhs[-1] += beta  # surface area 1 (r = 1) x dimensionless flux beta
        xn = solve_banded((1, 1), ab, rhs)
        s0, s1 = x[-1] + beta * dr / 2, xn[-1] + beta * dr / 2
        if s1 >= 1.0:
            m0, m1 = 3 * np.sum(vol * x), 3 * np.sum(vol * xn)
            return m0 + (1.0 - s0) / (s1 - s0) * (m1 - m0)
        x = xn
    return 3 * np.sum(vol * x)


@pytest.mark.parametrize("ratio", [0.3, 1.0, 3.0, 10.0, 30.0])
def test_galvanostatic_sphere_against_finite_volumes(ratio):
    assert galvanostatic_utilisation(ratio) == pytest.approx(_fv_utilisation(ratio), abs=2e-4)


def test_galvanostatic_limits():
    assert galvanostatic_utilisation(0.0) == 1.0
    assert galvanostatic_utilisation(0.01) == pytest.approx(1 - 0.01 / 15, abs=1e-9)
    assert galvanostatic_utilisation(1e6) == pytest.approx(9 * np.pi / 4 / 1e6, rel=1e-3)


def test_reachable_fraction_tau_closed_form_and_monte_carlo():
    d50_v, sigma = 11.0, 0.35
    r = reachable_fractions(d50_v, sigma, 1e-10, 1.0)
    assert r["discharge_time_s"] == 3600.0
    assert r["d_crit_um"] == pytest.approx(12.0)  # 2 sqrt(1e-10 * 3600) cm = 12 um
    assert r["reachable_fraction_tau"] == pytest.approx(special.ndtr(np.log(12 / 11) / sigma))
    # Monte Carlo over a number-weighted sample whose volume median is d50_v
    rng = np.random.default_rng(4)
    d = np.exp(np.log(d50_v) - 3 * sigma**2 + sigma * rng.standard_normal(400_000))
    v = d**3
    assert r["reachable_fraction_tau"] == pytest.approx(v[d < 12.0].sum() / v.sum(), abs=0.01)
    u = galvanostatic_utilisation(diffusion_time_s(d, 1e-10) / 3600.0)
    assert r["reachable_fraction_galvanostatic"] == pytest.approx(np.sum(u * v) / v.sum(), abs=0.01)
    assert r["reachable_fraction_tau"] < r["reachable_fraction_galvanostatic"] < 1.0


def _psd_row(sample, d10, d50, d90, d32=None, di=1.0, n=500):
    sigma = np.log(d90 / d10) / 2.5631031310892007
    return {
        "sample": sample,
        "n_particles": n,
        "d10_volume_um": d10,
        "d50_volume_um": d50,
        "d90_volume_um": d90,
        "span_volume": (d90 - d10) / d50,
        "d32_um": d50 * np.exp(-(sigma**2) / 2) if d32 is None else d32,
        "dispersion_index": di,
        "lognormal_ok": True,
        "ks_pvalue": 0.5,
        "d32_percentile_rel_error": 0.0,
        "warning": "",
    }


def test_failing_and_passing_batches():
    psd = pd.DataFrame(
        [
            _psd_row("good", 7.5, 10.0, 14.0, di=1.1),
            _psd_row("bad", 6.0, 12.3, 24.0, di=2.6),
        ]
    )
    samples = pd.DataFrame({"sample": ["good", "bad"], "density_g_cm3": [4.75, 4.75]})
    cfg = {
        "d50_um": [5.0, 11.0],
        "span_volume_max": 1.2,
        "dispersion_index_max": 2.0,
        "reachable_fraction_min": 0.90,
        "ssa_m2_g": [0.10, 1.0],
    }
    out = acceptance_table(psd, samples, criteria(**cfg)).set_index("sample")

    good = out.loc["good"]
    assert bool(good["accepted"]) and good["reasons"] == "all criteria met"
    sigma = np.log(14.0 / 7.5) / 2.5631031310892007
    d32 = 10.0 * np.exp(-(sigma**2) / 2)
    assert good["d32_percentile_um"] == pytest.approx(d32)
    assert good["ssa_m2_g"] == pytest.approx(6 / (4.75 * d32))
    assert good["permeability_um2"] == pytest.approx(0.3**3 * d32**2 / (180 * 0.7**2))
    assert good["permeability_m2"] == pytest.approx(good["permeability_um2"] * 1e-12)
    assert good["kappa_eff_S_m"] == pytest.approx(0.3**1.5)
    assert good["tau_D_d50_s"] == pytest.approx(2500.0)

    bad = out.loc["bad"]
    assert not bool(bad["accepted"])
    reasons = bad["reasons"].split("; ")
    assert "d50 12.3 µm above the 11.0 µm limit" in reasons
    assert "volume span 1.46 above the 1.20 limit" in reasons
    assert "dispersion index 2.60 above the 2.00 limit" in reasons
    # volume-weighted lognormal d50 12.3 um, sigma 0.541: galvanostatic fraction 0.885
    assert "reachable capacity fraction 0.89 at 1C (galvanostatic model) below the 0.90 limit" in reasons
    assert len(reasons) == 4
    assert not any(r.startswith("SSA") for r in reasons)  # SSA 0.12 m2/g is in range
    assert bad["reachable_fraction"] == bad["reachable_fraction_galvanostatic"]
    tau = acceptance_table(psd, samples, criteria(**cfg, reachable_model="tau")).set_index("sample")
    assert tau.loc["bad", "reachable_fraction"] == tau.loc["bad", "reachable_fraction_tau"]


def test_missing_density():
    psd = pd.DataFrame([_psd_row("A", 7.5, 10.0, 14.0), _psd_row("B", 7.5, 10.0, 14.0), _psd_row("C", 7.5, 10.0, 14.0)])
    samples = pd.DataFrame({"sample": ["A", "B"], "density_g_cm3": [np.nan, 4.75]})
    out = acceptance_table(psd, samples, criteria()).set_index("sample")
    assert not bool(out.loc["A", "accepted"])
    assert out.loc["A", "reasons"] == "density_g_cm3 missing in samples.tsv"
    assert np.isnan(out.loc["A", "ssa_m2_g"])
    assert bool(out.loc["B", "accepted"])
    assert not bool(out.loc["C", "accepted"])
    assert out.loc["C", "reasons"].startswith("density_g_cm3 missing in samples.tsv")
    # no density column at all
    out2 = acceptance_table(psd, pd.DataFrame({"sample": ["A", "B", "C"]}), criteria())
    assert out2["reasons"].str.startswith("density_g_cm3 missing in samples.tsv").all()
    # SSA not thresholded: density is not needed, only noted
    out3 = acceptance_table(psd, samples, criteria(ssa_m2_g=None)).set_index("sample")
    assert bool(out3.loc["A", "accepted"]) and "density_g_cm3 missing" in out3.loc["A", "notes"]


def test_end_to_end_from_particles():
    rng = np.random.default_rng(11)
    good = np.exp(np.log(8.0) + 0.3 * rng.standard_normal(2000))
    few = good[:10]
    parts = pd.DataFrame(
        {
            "sample": ["P1"] * good.size + ["P2"] * few.size,
            "equivalent_diameter_um": np.r_[good, few],
            "volume_um3": np.pi / 6 * np.r_[good, few] ** 3,
            "touches_border": False,
        }
    )
    table = psd_table(parts, **PSD_CONFIG, n_ks_mc=200)
    samples = pd.DataFrame({"sample": ["P1", "P2"], "density_g_cm3": [4.78, 4.78]})
    out = acceptance_table(table, samples, criteria()).set_index("sample")
    assert bool(out.loc["P1", "accepted"]), out.loc["P1", "reasons"]
    assert not bool(out.loc["P2", "accepted"])
    assert out.loc["P2", "reasons"].startswith("no size statistics (only 10 particles")
    with pytest.raises(KeyError, match="d50_max_um"):
        acceptance_table(table, samples, criteria(d50_max_um=3.0))
    assert (
        {f.name for f in fields(AcceptanceCriteria)}
        == set(CONFIG)
        >= {
            "d50_um",
            "span_volume_max",
            "ssa_m2_g",
            "reachable_fraction_min",
            "dispersion_index_max",
        }
    )
