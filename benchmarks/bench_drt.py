"""Benchmark: DRT of a 60-frequency spectrum (with the GCV search), KK test and diffusion-time fit.

Usage
-----
    python benchmarks/bench_drt.py               # 30 repeats per case
    python benchmarks/bench_drt.py --repeats 10 --json OUT.json
    python benchmarks/bench_drt.py --coverage 200   # also the coverage study of the lognormal fit

Cases (wall-clock and CPU time of the call only, after one warm-up call; median and max
printed; on a shared machine the CPU time is the steadier figure):

* ``drt_gcv``: :func:`batteryct.impedance.fit_drt` of ``R_s + ZARC + RC`` with 0.5 % noise,
  60 frequencies from 100 kHz to 10 mHz, default grid (10 points per decade, 9 decades),
  lambda chosen by GCV over 25 values. Target: median <= 50 ms.
* ``drt_fixed``: the same with a given lambda (one NNLS).
* ``drt_diffusion``: the virtual-cell spectrum below with a series capacitance.
* ``kk``: :func:`batteryct.impedance.kramers_kronig_test` of the virtual-cell spectrum
  (capacitance term, ``M`` scanned up to 60, threshold 2.5 % = 5 x the noise).
* ``diffusion_fit``: :func:`batteryct.impedance.fit_diffusion_time_distribution` of a virtual
  cell (2000-particle lognormal PSD, 0.5 % noise, 60 frequencies from 10 kHz to 0.1 mHz),
  also printing its d50 against the truth.
* ``lognormal_fit``: :func:`batteryct.impedance.fit_lognormal_size_distribution` of the same
  spectrum.

``--coverage N``: N noisy repeats (0.5 % noise, 60 frequencies, seeds 0..N-1) of a
volume-weighted lognormal PSD (d50 = 12 um, sigma = 0.35, 201 classes) fitted by
:func:`~batteryct.impedance.fit_lognormal_size_distribution`: rms error of d50, coverage of
the 95 % intervals of d10/d50/d90 and sigma, median d50 interval width, fraction flagged;
then the flag rate and d50 error on two bimodal blends.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from batteryct import impedance as im


def _time(fn, repeats):
    fn()  # warm-up
    ts, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        ts.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return np.array(ts), np.array(cpu), out


def _classes(d50_um, sigma, fraction=1.0):
    x = np.linspace(-5.0, 5.0, 201)
    w = np.exp(-0.5 * x**2)
    return 0.5e-6 * d50_um * np.exp(sigma * x), fraction * w / w.sum()


def _coverage(n: int) -> dict:
    f = np.logspace(4, -4, 60)
    kw = dict(diffusivity_m2_s=1e-13, charge_transfer_alpha=0.85, noise_rel=0.005)
    d50, sigma = 12.0, 0.35
    r, w = _classes(d50, sigma)
    zq = np.array([-1.2815515655446004, 0.0, 1.2815515655446004])
    truth = d50 * np.exp(zq * sigma)
    err, cover, width, flagged = [], [], [], 0
    t0 = time.perf_counter()
    for seed in range(n):
        sim = im.simulate_eis_spectrum(f, radius_m=r, volume_fraction=w, seed=seed, **kw)
        res = im.fit_lognormal_size_distribution(*im.spectrum_from_table(sim.spectrum), diffusivity_m2_s=1e-13)
        ints = [res.d10_interval_um, res.d50_interval_um, res.d90_interval_um, res.sigma_ln_d_interval]
        err.append(res.d50_um / d50 - 1)
        cover.append([lo < t < hi for (lo, hi), t in zip(ints, [*truth, sigma])])
        width.append((ints[1][1] - ints[1][0]) / d50)
        flagged += not res.adequate
    err, cover = np.array(err), np.array(cover).mean(axis=0)
    out = {
        "repeats": n,
        "d50_rms_error": float(np.sqrt(np.mean(err**2))),
        "d50_max_abs_error": float(np.max(np.abs(err))),
        "coverage_d10_d50_d90_sigma": cover.tolist(),
        "median_d50_width_rel": float(np.median(width)),
        "flagged_fraction": flagged / n,
        "seconds_per_fit": (time.perf_counter() - t0) / n,
    }
    print(
        f"coverage ({n} repeats): d50 rms error {out['d50_rms_error']:.4f} (max {out['d50_max_abs_error']:.4f}), "
        f"coverage d10/d50/d90/sigma {np.round(cover, 3).tolist()}, "
        f"median d50 width {out['median_d50_width_rel']:.4f}, "
        f"flagged {out['flagged_fraction']:.3f}, {out['seconds_per_fit']:.3f} s/fit"
    )
    blends = {"4+12 um 20:80": ([4.0, 12.0], [0.2, 0.8]), "5+15 um 50:50": ([5.0, 15.0], [0.5, 0.5])}
    for name, (ds, fr) in blends.items():
        parts = [_classes(d, 0.2, q) for d, q in zip(ds, fr)]
        rb, wb = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        errs, flags = [], 0
        m = max(1, n // 4)
        for seed in range(m):
            sim = im.simulate_eis_spectrum(f, radius_m=rb, volume_fraction=wb, seed=seed, **kw)
            res = im.fit_lognormal_size_distribution(*im.spectrum_from_table(sim.spectrum), diffusivity_m2_s=1e-13)
            errs.append(res.d50_um / sim.d50_um - 1)
            flags += not res.adequate
        out[name] = {"flagged_fraction": flags / m, "d50_mean_error": float(np.mean(errs))}
        print(
            f"bimodal {name} (sigma 0.2 each, {m} repeats): flagged {flags / m:.2f}, "
            f"mean d50 error {np.mean(errs):+.3f}"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--json", default=None)
    ap.add_argument("--coverage", type=int, default=0, help="repeats of the lognormal-fit coverage study")
    args = ap.parse_args()
    rng = np.random.default_rng(0)

    f = np.logspace(5, -2, 60)
    z = (
        2.0
        + im.zarc_impedance(f, resistance_ohm=10.0, tau_s=1e-4, alpha=0.85)
        + im.rc_impedance(f, resistance_ohm=20.0, tau_s=0.1)
    )
    z = z + 0.005 * np.abs(z) * (rng.standard_normal(60) + 1j * rng.standard_normal(60))

    d_um = np.exp(rng.normal(np.log(8.0), 0.35, 2000))
    fc = np.logspace(4, -4, 60)
    sim = im.simulate_eis_spectrum(
        fc, radius_m=0.5e-6 * d_um, volume_fraction=d_um**3, diffusivity_m2_s=1e-13, noise_rel=0.005, seed=1
    )
    fr, zc = im.spectrum_from_table(sim.spectrum)

    cases = {
        "drt_gcv": (lambda: im.fit_drt(f, z), args.repeats),
        "drt_fixed": (lambda: im.fit_drt(f, z, regularization=1e-4), args.repeats),
        "drt_diffusion": (lambda: im.fit_drt(fr, zc, series_capacitance=True), args.repeats),
        "kk": (lambda: im.kramers_kronig_test(fr, zc, capacitance=True, threshold=0.025), args.repeats),
        "diffusion_fit": (
            lambda: im.fit_diffusion_time_distribution(fr, zc, diffusivity_m2_s=1e-13),
            max(3, args.repeats // 6),
        ),
        "lognormal_fit": (
            lambda: im.fit_lognormal_size_distribution(fr, zc, diffusivity_m2_s=1e-13),
            max(3, args.repeats // 3),
        ),
    }
    report = {}
    for name, (fn, n) in cases.items():
        ts, cpu, out = _time(fn, n)
        report[name] = {
            "median_ms": 1e3 * float(np.median(ts)),
            "max_ms": 1e3 * float(ts.max()),
            "median_cpu_ms": 1e3 * float(np.median(cpu)),
            "repeats": n,
        }
        extra = ""
        if name == "drt_gcv":
            extra = f"lambda {out.regularization:.1e}, {out.tau_s.size} tau points, target <= 50 ms"
        if name == "kk":
            extra = f"M = {out.n_elements}, max residual {out.max_residual:.4f}, valid {out.valid}"
        if name == "diffusion_fit":
            extra = f"d50 {out.d50_um:.2f} um vs truth {sim.d50_um:.2f} um ({out.d50_um / sim.d50_um - 1:+.1%})"
            report[name]["d50_rel_error"] = out.d50_um / sim.d50_um - 1
        if name == "lognormal_fit":
            lo, hi = out.d50_interval_um
            wv = d_um**3
            gm = float(np.exp(np.sum(wv * np.log(d_um)) / wv.sum()))
            extra = (
                f"d50 {out.d50_um:.2f} [{lo:.2f}, {hi:.2f}] um vs sample d50 {sim.d50_um:.2f} um and "
                f"volume-weighted geometric mean {gm:.2f} um, sigma {out.sigma_ln_d:.3f}, "
                f"chi2 ratio {out.chi2_ratio:.2f}, adequate {out.adequate}"
            )
            report[name]["d50_rel_error"] = out.d50_um / sim.d50_um - 1
        r = report[name]
        print(
            f"{name:14s} median {r['median_ms']:7.1f} ms (cpu {r['median_cpu_ms']:7.1f} ms)"
            f"  max {r['max_ms']:7.1f} ms  {extra}"
        )
    if args.coverage:
        report["coverage"] = _coverage(args.coverage)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
