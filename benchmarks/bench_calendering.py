"""Benchmark: every calendering fit of a series (batteryct.calendering), and its accuracy.

Usage
-----
    python benchmarks/bench_calendering.py                  # timings (budget: 2 s per series)
    python benchmarks/bench_calendering.py --repeats 9
    python benchmarks/bench_calendering.py --accuracy       # + fitted vs truth, coverage, AICc picks

Timings are wall-clock seconds of :func:`batteryct.calendering.fit_calendering_series` on a
series from the virtual calender (sheet + CT metrics), median of the repeats, with numba and
BLAS held to one thread; the first call of the numba nip kernel (compiled, or loaded from its
cache) and the first series fit are reported apart (a cold compile: run with
``NUMBA_CACHE_DIR`` set to an empty directory). Series timed:

* ``6 loads x 1 speed``: a 6-point series (every compaction law ranked by AICc, springback,
  Bruggeman, coordination, d32, conductivities; the nip relaxation is skipped: one speed);
* ``3 loads x 2 speeds``: a 6-point series with the joint nip-relaxation fit (the laws on the
  3 samples at the slowest speed are skipped: too few points);
* ``default``: :func:`~batteryct.calendering.simulate_calendering_series` with its defaults
  (6 loads x 2 speeds, 12 samples, every fit).

``--accuracy`` repeats the known-answer checks of ``tests/test_calendering.py`` with the same
seeds and prints the figures the tests only threshold: each parameter's coverage of its 95 %
interval over 100 virtual series, and the fraction of series in which AICc picks the
generating law (the test's 10-load design, and the 6-load default design).
"""

from __future__ import annotations

import argparse
import os
import time

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

BUDGET_S = 2.0
_RHO = 1.0 / (0.96 / 4.75 + 0.02 / 1.78 + 0.02 / 1.90)  # the virtual calender's default composition


def _time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), float(min(times)), out


def bench_series_fits(repeats: int = 5) -> dict:
    """Time all fits of 6-point series and of the default virtual series."""
    from batteryct.calendering import fit_calendering_series, nip_exit_porosity, simulate_calendering_series

    t0 = time.perf_counter()
    nip_exit_porosity(
        porosity_initial=[0.45],
        peak_pressure_MPa=[50.0],
        dwell_time_s=[0.01],
        relaxation_time_s=0.01,
        equilibrium_porosity=lambda p: 0.3 + 0.0 * p,
    )
    kernel = time.perf_counter() - t0
    designs = {
        "6 loads x 1 speed": dict(n_levels=6, line_speeds_m_min=(1.0,)),
        "3 loads x 2 speeds": dict(n_levels=3),
        "default": {},
    }
    first = None
    out = {}
    for name, design in designs.items():
        v = simulate_calendering_series(seed=0, **design)
        if first is None:
            t0 = time.perf_counter()
            fit_calendering_series(v.sheet, v.ct, thickness_error_um=0.2)
            first = time.perf_counter() - t0
        med, low, fits = _time(lambda v=v: fit_calendering_series(v.sheet, v.ct, thickness_error_um=0.2), repeats)
        p = fits.parameters
        n_fit = p.loc[~p["flags"].str.startswith("skipped"), "model"].nunique()
        n_skip = p.loc[p["flags"].str.startswith("skipped"), "model"].nunique()
        verdict = "ok" if med <= BUDGET_S else "OVER BUDGET"
        print(
            f"all fits, {name} ({len(v.sheet)} samples): median {med:.3f} s over {repeats} (min {low:.3f}); "
            f"{n_fit} laws fitted, {n_skip} skipped; budget {BUDGET_S:g} s: {verdict}"
        )
        out[name] = med
    print(f"nip kernel, first call (numba compile, or load from its cache): {kernel:.3f} s")
    print(f"all fits, first call after that: {first:.3f} s")
    out["kernel_first_call_s"], out["first_call_s"] = kernel, first
    return out


def bench_single_fits(repeats: int = 5) -> dict:
    """Time the individual fits of the default series (sheet and CT inputs as the series fit uses them)."""
    from batteryct import calendering as cal

    v = cal.simulate_calendering_series(seed=0)
    sh, ct, ex = v.sheet, v.ct, v.exact
    slow = (sh["line_speed_m_min"] == 1.0).to_numpy()
    eps = cal.porosity_from_loading(sh["mass_loading_mg_cm2"], sh["thickness_gap_um"], _RHO)
    eps0 = cal.porosity_from_loading(sh["mass_loading_mg_cm2"], sh["thickness_coated_um"], _RHO)
    p = sh["pressure_MPa"].to_numpy()
    tp = ct[["tortuosity_factor_y", "tortuosity_factor_x"]].to_numpy()
    calls = {
        "compare_compaction_laws (6)": lambda: cal.compare_compaction_laws(
            eps[slow], porosity_coated=eps0[slow], pressure_MPa=p[slow]
        ),
        "fit_nip_relaxation (12)": lambda: cal.fit_nip_relaxation(
            eps,
            porosity_coated=float(np.median(eps0)),
            peak_pressure_MPa=p,
            half_width_m=ex["half_width_m"],
            line_speed_m_s=sh["line_speed_m_min"] / 60.0,
        ),
        "fit_springback (12)": lambda: cal.fit_springback(
            p, eps, cal.springback_strain(sh["thickness_um"], sh["thickness_gap_um"])
        ),
        "fit_bruggeman (12, MC ratio)": lambda: cal.fit_bruggeman(ct["porosity"], ct["tortuosity_factor_z"], tp),
        "fit_conductivity_pressure (12)": lambda: cal.fit_conductivity_pressure(p, sh["conductivity_S_m"]),
    }
    out = {}
    for name, fn in calls.items():
        fn()
        med, low, _ = _time(fn, repeats)
        print(f"  {name}: median {1e3 * med:.1f} ms (min {1e3 * low:.1f})")
        out[name] = med
    return out


def _covered(rows, truth):
    true = dict(zip(zip(truth["model"], truth["parameter"]), truth["value"]))
    keys = list(zip(rows["model"], rows["parameter"]))
    return {k: bool(lo <= true[k] <= hi) for k, lo, hi in zip(keys, rows["ci_low"], rows["ci_high"]) if k in true}


def accuracy_fitted_vs_truth(seed: int = 0) -> None:
    """Print every fitted parameter of the default series next to the virtual calender's truth."""
    from batteryct.calendering import fit_calendering_series, simulate_calendering_series

    v = simulate_calendering_series(seed=seed)
    f = fit_calendering_series(v.sheet, v.ct, thickness_error_um=0.2, nip_law="compaction_exponential")
    m = f.parameters.merge(v.truth, on=["model", "parameter"], suffixes=("", "_true"))
    print(f"fitted vs truth, default virtual series, seed {seed} (nip_law=compaction_exponential):")
    for r in m.itertuples():
        inside = "in" if r.ci_low <= r.value_true <= r.ci_high else "OUT"
        print(
            f"  {r.model:32s} {r.parameter:26s} {r.value:11.5g} [{r.ci_low:10.5g}, {r.ci_high:10.5g}] "
            f"truth {r.value_true:9.5g} {r.unit:7s} {inside}"
        )
    print(f"  AICc selected (6 slowest samples): {f.selected_law['virtual']}")


def accuracy_coverage(n_repeats: int = 100) -> dict:
    """Coverage of every 95 % interval over ``n_repeats`` virtual series (the test's design)."""
    from batteryct import calendering as cal

    hits = {}
    fits = {"compaction_exponential": cal.fit_exponential_law, "heckel": cal.fit_heckel}
    for law in cal.LAWS:
        for seed in range(n_repeats):
            v = cal.simulate_calendering_series(seed=seed, law=law, relaxation_time_s=0.0, line_speeds_m_min=(1.0,))
            sh = v.sheet
            m, hg = sh["mass_loading_mg_cm2"], sh["thickness_gap_um"]
            eps = cal.porosity_from_loading(m, hg, _RHO)
            se = cal.porosity_stderr(eps, m, hg, mass_loading_error_mg_cm2=0.05, thickness_error_um=0.2)
            p = sh["pressure_MPa"].to_numpy()
            if law == "kawakita":
                eps0 = np.median(cal.porosity_from_loading(m, sh["thickness_coated_um"], _RHO))
                rows = cal.fit_kawakita(eps, porosity_coated=eps0, pressure_MPa=p, porosity_stderr=se)
                lin = cal.fit_kawakita_linear(1 - hg / sh["thickness_coated_um"], pressure_MPa=p)
                rows = pd.concat([rows, lin.assign(model="kawakita", parameter="linear_" + lin["parameter"])])
                truth = v.truth[v.truth["model"] == "kawakita"]
                truth = pd.concat([truth, truth.assign(parameter="linear_" + truth["parameter"])])
            else:
                rows, truth = fits[law](eps, pressure_MPa=p, porosity_stderr=se), v.truth
            for key, hit in _covered(rows, truth).items():
                hits.setdefault(key, []).append(hit)
    laws = [*cal.LAWS, "kawakita_linear"]
    for seed in range(n_repeats):
        v = cal.simulate_calendering_series(seed=seed)
        f = cal.fit_calendering_series(v.sheet, v.ct, thickness_error_um=0.2, nip_law="compaction_exponential")
        rows = f.parameters[~f.parameters["model"].isin(laws)]
        for key, hit in _covered(rows, v.truth).items():
            hits.setdefault(key, []).append(hit)
    cov = {key: float(np.mean(h)) for key, h in hits.items()}
    print(f"coverage of the 95 % intervals, {n_repeats} virtual series per parameter:")
    for (model, parameter), c in cov.items():
        print(f"  {model:32s} {parameter:28s} {c:.2f}" + ("" if c >= 0.9 else "  < 0.90"))
    print(f"  minimum {min(cov.values()):.2f} over {len(cov)} parameters")
    return cov


def accuracy_aic(n_repeats: int = 30) -> dict:
    """Fraction of series in which AICc picks the generating law (10-load and 6-load designs)."""
    from batteryct import calendering as cal

    designs = {
        "10 loads, low noise (test design)": (
            dict(n_levels=10, thickness_error_um=0.1, mass_loading_error_mg_cm2=0.02),
            100,
        ),
        "6 loads, default noise": (dict(n_levels=6, thickness_error_um=0.2, mass_loading_error_mg_cm2=0.05), 100),
    }
    out = {}
    for name, (design, seed0) in designs.items():
        for law, extra in (
            ("compaction_exponential", {}),
            ("kawakita", {}),
            ("heckel", {"porosity_final": 0.15}),
        ):
            picks = []
            for seed in range(n_repeats):
                v = cal.simulate_calendering_series(
                    seed=seed0 + seed, law=law, line_speeds_m_min=(1.0,), relaxation_time_s=0.0, **design, **extra
                )
                sh = v.sheet
                m, hg = sh["mass_loading_mg_cm2"], sh["thickness_gap_um"]
                eps = cal.porosity_from_loading(m, hg, _RHO)
                se = cal.porosity_stderr(
                    eps,
                    m,
                    hg,
                    mass_loading_error_mg_cm2=design["mass_loading_error_mg_cm2"],
                    thickness_error_um=design["thickness_error_um"],
                )
                eps0 = cal.porosity_from_loading(m, sh["thickness_coated_um"], _RHO)
                _, best = cal.compare_compaction_laws(
                    eps, porosity_coated=eps0, pressure_MPa=sh["pressure_MPa"], porosity_stderr=se
                )
                picks.append(best)
            counts = pd.Series(picks).value_counts().to_dict()
            out[name, law] = counts.get(law, 0) / n_repeats
            print(f"  AICc, {name}, generated by {law}: picks {counts} -> {out[name, law]:.2f} right")
    return out


def main(argv=None) -> None:
    """Run the timings (and with ``--accuracy`` the accuracy figures)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--accuracy", action="store_true", help="also print fitted vs truth, coverage and AICc picks")
    a = p.parse_args(argv)
    bench_series_fits(a.repeats)
    bench_single_fits(a.repeats)
    if a.accuracy:
        accuracy_fitted_vs_truth()
        accuracy_coverage()
        print("AICc picks of the generating law (30 series each, one line speed, tau = 0):")
        accuracy_aic()


if __name__ == "__main__":
    main()
