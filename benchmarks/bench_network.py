"""Benchmark: pore-network extraction, ours (skeleton) vs PoreSpy's snow2 (watershed).

Usage
-----
    python benchmarks/bench_network.py                  # synthetic 256^3, porosity ~0.4
    python benchmarks/bench_network.py --n 128          # smaller synthetic volume
    python benchmarks/bench_network.py --nrel PATH.tif  # labelled TIFF, label 0 = pore
    options: --porespy-python PY  --skip-snow2  --skip-fv  --threads 1  --json OUT.json

PoreSpy is a reference only (never imported by the library). PoreSpy 3.2.0 pins
``edt<3.1`` while batteryct pins ``edt==3.1.2``; so that installing it does not
downgrade the project's edt, run it from a virtual environment layered on the system
site-packages and point ``--porespy-python`` at it::

    python -m venv --system-site-packages /tmp/psenv
    /tmp/psenv/bin/pip install porespy==3.2.0 edt==3.0.0

Every extraction runs in its own subprocess (``--worker``), so that its peak memory is
the ``ru_maxrss`` of that process (the whole process: Python, numpy, numba or
PoreSpy/OpenPNM, the volume, the extraction). Times are wall-clock (and CPU) seconds of
the extraction call only, after imports and loading; ours is preceded by a warm-up on a
48^3 volume that loads or compiles the numba kernels (reported separately).

Workers
-------
* ``ours``: :func:`batteryct.network.extract_network` (voxel size 1, defaults), then
  :func:`batteryct.network.network_effective_diffusivity` along axis 0 (timed apart).
* ``snow2``: ``porespy.networks.snow2(mask, voxel_size=1)`` with its defaults
  (``boundary_width=3``, ``accuracy="standard"``, ``sigma=0.4``, ``r_max=4``). No
  diffusivity is computed on it: that depends on the OpenPNM geometry models one picks
  (OpenPNM's default ``spheres_and_cylinders`` collection, which recomputes the
  diameters, gave 23 % of the exact value on a straight channel; fed with snow2's
  inscribed diameters it refuses throats wider than their pores), so no fair single
  figure exists.
* ``fv``: :func:`batteryct.transport.tortuosity` along axis 0 (the voxel reference).

Size distributions compare like with like: PoreSpy's ``pore.inscribed_diameter`` and
``throat.inscribed_diameter`` are twice the distance-transform value (voxel centre to
nearest solid voxel centre), while our ``pore_radius_um`` / ``min_radius_um`` subtract
half a voxel (interface half a voxel out, see batteryct.network); the tables therefore
list ours both as stored and "+ h/2" (directly comparable with PoreSpy's). Boundary
pores (PoreSpy's padded ``pore.boundary``, our ``kind == "boundary"``) are excluded from
the distributions and counted separately; throats touching them too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from batteryct.generators import overlapping_spheres

ROOT = Path(__file__).resolve().parents[1]


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def _quartiles(x) -> list:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return [float("nan")] * 3
    return [float(v) for v in np.percentile(x, [25, 50, 75])]


def load_volume(path: str) -> np.ndarray:
    if path.endswith(".npy"):
        return np.load(path)
    import tifffile

    return np.ascontiguousarray(tifffile.imread(path) == 0)  # label 0 = pore


# --------------------------------------------------------------------------------------
# Workers
# --------------------------------------------------------------------------------------
def worker_ours(volume: str, threads: int) -> dict:
    from batteryct import network

    mask = load_volume(volume)
    t0 = time.perf_counter()
    network.extract_network(overlapping_spheres(48, 0.4, 6.0, 1), 1.0, threads=threads)
    warm = time.perf_counter() - t0
    rss_before = _maxrss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    nodes, throats = network.extract_network(mask, 1.0, threads=threads)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = _maxrss_mb()
    t0 = time.perf_counter()
    res = network.network_effective_diffusivity(nodes, throats, 0)
    t_solve = time.perf_counter() - t0
    bnd = (nodes["kind"] == "boundary").to_numpy()
    inner_t = ~(bnd[throats["node_a"].to_numpy()] | bnd[throats["node_b"].to_numpy()])
    sk = (throats["kind"] == "skeleton").to_numpy()
    r_node = nodes.loc[~bnd, "pore_radius_um"].to_numpy()
    r_sk = throats.loc[inner_t & sk, "min_radius_um"].to_numpy()
    r_all = throats.loc[inner_t, "min_radius_um"].to_numpy()
    return {
        "solver": "ours",
        "shape": list(mask.shape),
        "porosity": float(mask.mean()),
        "warmup_s": warm,
        "time_s": wall,
        "cpu_s": cpu,
        "maxrss_mb": rss,
        "maxrss_before_mb": rss_before,
        "n_pores": int(len(nodes)),
        "n_pores_boundary": int(bnd.sum()),
        "n_pores_internal": int((~bnd).sum()),
        "n_throats": int(len(throats)),
        "n_throats_contact": int((~sk).sum()),
        "n_throats_internal": int(inner_t.sum()),
        "kinds": nodes["kind"].value_counts().to_dict(),
        "coordination_internal_mean": float(nodes.loc[~bnd, "coordination_number"].mean()),
        "pore_radius_q": _quartiles(r_node),
        "pore_radius_plus_half_q": _quartiles(r_node + 0.5),
        "throat_radius_skeleton_q": _quartiles(r_sk),
        "throat_radius_skeleton_plus_half_q": _quartiles(r_sk + 0.5),
        "throat_radius_all_plus_half_q": _quartiles(r_all + 0.5),
        "deff_over_dbulk": res["deff_over_dbulk"],
        "deff_ptp": network.network_effective_diffusivity(nodes, throats, 0, conductance="pore_throat_pore")[
            "deff_over_dbulk"
        ],
        "solve_s": t_solve,
        "face_anchors_unconnected": nodes.attrs["n_face_anchors_unconnected"],
    }


def worker_snow2(volume: str, threads: int) -> dict:
    import logging

    import porespy as ps

    logging.disable(logging.WARNING)
    mask = load_volume(volume)
    rss_before = _maxrss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    snow = ps.networks.snow2(mask, voxel_size=1)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = _maxrss_mb()
    net = snow.network
    bnd = np.asarray(net["pore.boundary"], bool)
    conns = np.asarray(net["throat.conns"])
    inner_t = ~(bnd[conns[:, 0]] | bnd[conns[:, 1]])
    coord = np.bincount(conns.ravel(), minlength=bnd.size)
    out = {
        "solver": "snow2",
        "porespy": ps.__version__,
        "shape": list(mask.shape),
        "porosity": float(mask.mean()),
        "time_s": wall,
        "cpu_s": cpu,
        "maxrss_mb": rss,
        "maxrss_before_mb": rss_before,
        "n_pores": int(bnd.size),
        "n_pores_boundary": int(bnd.sum()),
        "n_pores_internal": int((~bnd).sum()),
        "n_throats": int(conns.shape[0]),
        "n_throats_internal": int(inner_t.sum()),
        "coordination_internal_mean": float(coord[~bnd].mean()),
        "pore_radius_q": _quartiles(0.5 * np.asarray(net["pore.inscribed_diameter"])[~bnd]),
        "pore_equivalent_radius_q": _quartiles(0.5 * np.asarray(net["pore.equivalent_diameter"])[~bnd]),
        "throat_radius_q": _quartiles(0.5 * np.asarray(net["throat.inscribed_diameter"])[inner_t]),
    }
    return out


def worker_fv(volume: str, threads: int) -> dict:
    from batteryct import transport

    mask = load_volume(volume)
    t0 = time.perf_counter()
    r = transport.tortuosity(mask, 0, 1.0)
    return {
        "solver": "fv",
        "time_s": time.perf_counter() - t0,
        "maxrss_mb": _maxrss_mb(),
        "deff_over_dbulk": r["deff_over_dbulk"],
        "tortuosity_factor": r["tortuosity_factor"],
        "porosity": r["porosity"],
    }


WORKERS = {"ours": worker_ours, "snow2": worker_snow2, "fv": worker_fv}


def run_worker(python: str, name: str, volume: str, threads: int, timeout: float) -> dict:
    env = dict(
        os.environ,
        NUMBA_NUM_THREADS=str(threads),
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        OPENBLAS_NUM_THREADS=str(threads),
    )
    cmd = [python, str(Path(__file__).resolve()), "--worker", name, "--volume", volume, "--threads", str(threads)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"solver": name, "error": f"timeout after {timeout:.0f} s"}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"solver": name, "error": (p.stderr or p.stdout)[-2000:]}
    return json.loads(lines[-1])


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------
def _fmt_q(q) -> str:
    return "{:.2f} / {:.2f} / {:.2f}".format(*q)


def report(label: str, res: dict) -> None:
    ours, snow, fv = res.get("ours", {}), res.get("snow2", {}), res.get("fv", {})
    print(
        f"\n=== {label}: shape {ours.get('shape') or snow.get('shape')}, "
        f"porosity {ours.get('porosity', snow.get('porosity', float('nan'))):.4f} ==="
    )
    for r in (ours, snow, fv):
        if "error" in r:
            print(f"{r['solver']}: ERROR {r['error']}")
    if "time_s" in ours:
        print(
            f"ours : {ours['time_s']:7.2f} s wall ({ours['cpu_s']:.2f} s CPU; warm-up "
            f"{ours['warmup_s']:.2f} s), peak RSS {ours['maxrss_mb']:.0f} MB (after loading "
            f"{ours['maxrss_before_mb']:.0f} MB)"
        )
    if "time_s" in snow:
        print(
            f"snow2: {snow['time_s']:7.2f} s wall ({snow['cpu_s']:.2f} s CPU), peak RSS "
            f"{snow['maxrss_mb']:.0f} MB (after loading {snow['maxrss_before_mb']:.0f} MB); "
            f"PoreSpy {snow.get('porespy')}"
        )
    if "time_s" in ours and "time_s" in snow:
        print(
            f"time ratio snow2 / ours: {snow['time_s'] / ours['time_s']:.2f}; "
            f"peak RSS ratio: {snow['maxrss_mb'] / ours['maxrss_mb']:.2f}"
        )
    if "n_pores" in ours:
        print(
            f"ours : pores {ours['n_pores']} ({ours['n_pores_internal']} internal + "
            f"{ours['n_pores_boundary']} boundary; kinds {ours['kinds']}), throats "
            f"{ours['n_throats']} ({ours['n_throats_contact']} contact; "
            f"{ours['n_throats_internal']} between internal pores), mean coordination of "
            f"internal pores {ours['coordination_internal_mean']:.2f}"
        )
    if "n_pores" in snow:
        print(
            f"snow2: pores {snow['n_pores']} ({snow['n_pores_internal']} internal + "
            f"{snow['n_pores_boundary']} boundary), throats {snow['n_throats']} "
            f"({snow['n_throats_internal']} between internal pores), mean coordination of "
            f"internal pores {snow['coordination_internal_mean']:.2f}"
        )
    print("size distributions, internal pores / throats, quartiles 25 / 50 / 75 % (voxels):")
    if "pore_radius_q" in ours:
        print(f"  ours  pore radius (r = d - h/2)          {_fmt_q(ours['pore_radius_q'])}")
        print(f"  ours  pore radius + h/2 (= d)            {_fmt_q(ours['pore_radius_plus_half_q'])}")
    if "pore_radius_q" in snow:
        print(f"  snow2 pore inscribed radius (d)          {_fmt_q(snow['pore_radius_q'])}")
        print(f"  snow2 pore equivalent radius (volume)    {_fmt_q(snow['pore_equivalent_radius_q'])}")
    if "throat_radius_skeleton_q" in ours:
        print(f"  ours  throat min radius, skeleton        {_fmt_q(ours['throat_radius_skeleton_q'])}")
        print(f"  ours  ... + h/2 (= d), skeleton          {_fmt_q(ours['throat_radius_skeleton_plus_half_q'])}")
        print(f"  ours  ... + h/2, all (incl. contacts)    {_fmt_q(ours['throat_radius_all_plus_half_q'])}")
    if "throat_radius_q" in snow:
        print(f"  snow2 throat inscribed radius (d)        {_fmt_q(snow['throat_radius_q'])}")
    print("D_eff / D_bulk along axis 0:")
    if "deff_over_dbulk" in fv:
        print(
            f"  voxel FV (transport.tortuosity)          {fv['deff_over_dbulk']:.4f} "
            f"(tau {fv['tortuosity_factor']:.3f}; {fv['time_s']:.1f} s)"
        )
    for name, r, extra in (("ours, integrated", ours, "deff_over_dbulk"), ("ours, pore_throat_pore", ours, "deff_ptp")):
        if extra in r:
            ratio = f"  ratio to FV {r[extra] / fv['deff_over_dbulk']:.3f}" if "deff_over_dbulk" in fv else ""
            print(f"  {name:40s} {r[extra]:.4f}{ratio}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=256, help="synthetic volume edge (voxels)")
    ap.add_argument("--porosity", type=float, default=0.4)
    ap.add_argument("--radius", type=float, default=8.0, help="sphere radius (voxels)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--nrel", metavar="PATH", help="labelled TIFF (label 0 = pore)")
    ap.add_argument("--porespy-python", default=sys.executable, help="interpreter with porespy (see the module notes)")
    ap.add_argument("--skip-snow2", action="store_true")
    ap.add_argument("--skip-fv", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=1800.0, help="per worker, s")
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--volume", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args.volume, args.threads)))
        return
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.nrel:
            mask = load_volume(args.nrel)
            label = f"NREL {Path(args.nrel).name}"
        else:
            mask = overlapping_spheres(args.n, args.porosity, args.radius, args.seed)
            label = f"overlapping spheres n={args.n} radius={args.radius} seed={args.seed}"
        volume = os.path.join(tmp, "volume.npy")
        np.save(volume, mask)
        del mask
        jobs = [("ours", sys.executable)]
        if not args.skip_snow2:
            jobs.append(("snow2", args.porespy_python))
        if not args.skip_fv:
            jobs.append(("fv", sys.executable))
        for name, py in jobs:
            results[name] = run_worker(py, name, volume, args.threads, args.timeout)
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)")
    report(label, results)
    if args.json:
        Path(args.json).write_text(json.dumps({"label": label, **results}, indent=1))


if __name__ == "__main__":
    main()
