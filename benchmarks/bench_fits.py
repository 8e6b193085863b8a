"""Benchmark: the GITT full fit of batteryct (the DRT and EIS fits are timed by bench_drt.py).

Usage
-----
    python benchmarks/bench_fits.py                 # all benchmarks
    python benchmarks/bench_fits.py --repeats 7

Each benchmark is a function ``bench_<name>(repeats) -> dict`` printing its figures; ``main()``
runs them all. Times are wall-clock seconds of the fit call only (record simulated, numba
kernels compiled or loaded from cache before timing; that first call is reported apart), median
of the repeats, with numba and BLAS held to one thread.
"""

from __future__ import annotations

import argparse
import os
import time

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402


def bench_gitt_fit(repeats: int = 5) -> dict:
    """Full GITT fit of a 10-pulse record on a 20-size ensemble (virtual cycler, forward model)."""
    from batteryct import cycler, gitt

    rec, truth = cycler.virtual_gitt(extra_overpotentials=False, seed=0)  # 10 pulses, 20 sizes
    kw = dict(
        radius_m=truth.radius_m,
        volume_fraction=truth.volume_fraction,
        temperature_K=truth.temperature_K,
        exchange_current_density_A_m2=truth.exchange_current_density_A_m2,
        active_volume_m3=truth.active_volume_m3,
        initial_stoichiometry=truth.initial_stoichiometry,
        max_concentration_mol_m3=truth.max_concentration_mol_m3,
    )
    args = (rec.time_s.to_numpy(), rec.current_A.to_numpy(), rec.voltage_V.to_numpy())
    t0 = time.perf_counter()
    gitt.fit_gitt(*args, **kw)
    first = time.perf_counter() - t0
    out = {"first_call_s": first}
    for name, opt in (("fit_ocv", {}), ("fixed_ocv", {"fit_ocv": False}), ("per_pulse", {"per_pulse": True})):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fit = gitt.fit_gitt(*args, **kw, **opt)
            times.append(time.perf_counter() - t0)
        d = np.atleast_1d(fit.diffusivity_m2_s) / truth.diffusivity_m2_s
        out[name] = float(np.median(times))
        print(
            f"gitt fit ({name}): median {np.median(times):.3f} s over {repeats} "
            f"(min {min(times):.3f}), {fit.n_points} points, {fit.n_parameters} parameters, "
            f"D/D_true {d.min():.4f}..{d.max():.4f}"
        )
    print(f"gitt fit: first call (numba compile or cache load) {first:.2f} s")
    try:
        import pybamm  # noqa: F401
    except ImportError:
        print("pybamm not importable: SPM forward solve of the same protocol skipped")
    else:  # pragma: no cover - pybamm is not installed in the project environment
        out["pybamm_spm_s"] = _pybamm_spm(rec)
    return out


def _pybamm_spm(rec) -> float:
    """PyBaMM's SPM (default Chen2020 parameters) on the record's current, timed."""
    import pybamm

    model = pybamm.lithium_ion.SPM()
    params = pybamm.ParameterValues("Chen2020")
    t = rec.time_s.to_numpy()
    current = pybamm.Interpolant(t, rec.current_A.to_numpy(), pybamm.t)
    params["Current function [A]"] = current
    sim = pybamm.Simulation(model, parameter_values=params)
    t0 = time.perf_counter()
    sim.solve(t_eval=t)
    el = time.perf_counter() - t0
    print(f"pybamm SPM forward solve: {el:.3f} s")
    return el


BENCHMARKS = [bench_gitt_fit]


def main(argv=None) -> None:
    """Run every benchmark."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args(argv)
    for bench in BENCHMARKS:
        bench(a.repeats)


if __name__ == "__main__":
    main()
