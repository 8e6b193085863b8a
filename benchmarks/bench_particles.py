"""Benchmark: the per-particle stage of batteryct.particles, and PoreSpy's route beside it.

Usage
-----
    python benchmarks/bench_particles.py                       # (a) demo scan + (b) NREL
    python benchmarks/bench_particles.py --skip-nrel           # (a) only
    python benchmarks/bench_particles.py --porespy-python /tmp/psvenv/bin/python
    options: --nrel PATH  --voxel-um 0.4  --threads 1  --skip-porespy  --json OUT.json

(a) Demo scan: truth labels of the virtual scanner's ``NMC622_powder/s01`` (128^3, 100
    settled particles, 55 % with a void; the labels are generated exactly as
    :func:`batteryct.simulate.simulate_scan` makes ``phase_truth``, without projecting).
    Timed: :func:`split_particles` + :func:`particle_table` (with radii) +
    :func:`void_table` + :func:`powder_summary`. Target <= 2 s.
(b) The NREL calendered NMC electrode ``nmc-1-cal_generatedCBD_bridge.tif`` (uint8,
    251 x 301 x 301; label 1 = NMC active material is solid, every other label is pore).
    Timed: the whole particle stage: split, border flags, per-particle table with the 24
    radii. Target <= 10 s and <= 2 GB peak memory.
    PoreSpy's route beside it: ``porespy.filters.snow_partitioning`` (defaults r_max=4,
    sigma=0.4) of the same solid, the same border rule (ids on the six faces), then a loop
    over the regions (``scipy.ndimage.find_objects``) running
    ``skimage.measure.marching_cubes`` + ``mesh_surface_area`` on each region's crop
    (plain marching cubes: no smoothing, no curvature correction; no radii).

Each measurement runs in its own subprocess (``--worker``), so that its peak memory is the
``ru_maxrss`` of that process (Python, numpy, numba, the volume and everything the stage
allocates). Times are wall-clock and CPU seconds of the timed calls only, after imports,
loading and a warm-up run of the same stage on a 48^3 crop (numba kernels loaded from the
cache or compiled; reported separately). PoreSpy is optional: it is not a dependency of
batteryct and is run with ``--porespy-python`` (e.g. a virtualenv with porespy installed;
default: this interpreter); if it cannot be imported the comparison is skipped.

The machine may be shared: CPU seconds are reported next to wall seconds; a wall time much
above the CPU time means the process waited for a core.
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

ROOT = Path(__file__).resolve().parents[1]

NREL_DEFAULT = ROOT.parent / "shared" / "data" / "nrel_nmc_1_cal" / "nmc-1-cal_generatedCBD_bridge.tif"
if not NREL_DEFAULT.exists():
    NREL_DEFAULT = Path("/work/shared/data/nrel_nmc_1_cal/nmc-1-cal_generatedCBD_bridge.tif")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


class _Clock:
    def __init__(self):
        self.w = time.perf_counter()
        self.c = time.process_time()

    def lap(self):
        w, c = time.perf_counter(), time.process_time()
        out = (w - self.w, c - self.c)
        self.w, self.c = w, c
        return out


# --------------------------------------------------------------------------------------
# Workers
# --------------------------------------------------------------------------------------
def demo_labels() -> tuple[np.ndarray, float, object]:
    import yaml

    from batteryct import simulate

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    spec = {**cfg["simulate"]["defaults"], **cfg["simulate"]["scans"]["NMC622_powder/s01"]}
    os_ = int(spec["oversample"])
    ph = simulate.powder_phantom(
        int(spec["seed"]), int(spec["n_voxels"]), float(spec["voxel_size_um"]), os_, **spec["phantom_params"]
    )
    return simulate.coarse_phase(ph.phase, os_), float(spec["voxel_size_um"]), ph.particles


def nrel_solid(path: str) -> np.ndarray:
    import tifffile

    a = tifffile.imread(path)
    return (a == 1).astype(np.uint8)


def worker_ours(args) -> dict:
    from batteryct import particles

    clk = _Clock()
    if args.case == "demo":
        labels, voxel, truth = demo_labels()
    else:
        labels, voxel, truth = nrel_solid(args.nrel), float(args.voxel_um), None
    t_load = clk.lap()
    warm = (
        np.ascontiguousarray(labels[:48, :48, :48])
        if args.case == "nrel"
        else np.ascontiguousarray(labels[10:58, 30:78, 30:78])
    )
    wi = particles.split_particles(warm, voxel, n_threads=args.threads)
    particles.particle_table(wi, warm, voxel)
    particles.void_table(wi, warm, voxel)
    t_warm = clk.lap()
    inst = particles.split_particles(labels, voxel, n_threads=args.threads)
    t_split = clk.lap()
    table = particles.particle_table(inst, labels, voxel, args.case, "bench")
    t_table = clk.lap()
    out = {
        "route": "batteryct.particles",
        "case": args.case,
        "shape": list(labels.shape),
        "voxel_um": voxel,
        "load_s": t_load[0],
        "warmup_s": t_warm[0],
        "split_wall_s": t_split[0],
        "split_cpu_s": t_split[1],
        "table_wall_s": t_table[0],
        "table_cpu_s": t_table[1],
    }
    total_w, total_c = t_split[0] + t_table[0], t_split[1] + t_table[1]
    if args.case == "demo":
        voids = particles.void_table(inst, labels, voxel, args.case, "bench")
        summary = particles.powder_summary(table, voids, args.case, reference_range_miles=300.0)
        t_v = clk.lap()
        out.update(voids_summary_wall_s=t_v[0], voids_summary_cpu_s=t_v[1])
        total_w += t_v[0]
        total_c += t_v[1]
        s = summary.iloc[0]
        tin = truth[~truth.touches_border]
        env = tin.volume_um3 + tin.void_volume_um3
        out.update(
            n_voids=int(len(voids)),
            void_particle_frequency_per_100=float(s.void_particle_frequency_per_100),
            truth_void_particle_frequency_per_100=float(100 * tin.has_void.mean()),
            dead_volume_percent_net=float(s.dead_volume_percent_net),
            truth_dead_volume_percent_net=float(100 * tin.void_volume_um3.sum() / env.sum()),
            d50_volume_weighted_um=float(s.d50_volume_weighted_um),
            truth_d50_volume_weighted_um=float(
                particles.volume_weighted_percentile(tin.equivalent_diameter_um, env, 50)
            ),
            truth_n_particles_not_border=int(len(tin)),
        )
    out.update(
        total_wall_s=total_w,
        total_cpu_s=total_c,
        n_particles=int(len(table)),
        n_not_border=int((~table.touches_border).sum()),
        n_nan_radii=int(table.filter(like="radius_").isna().sum().sum()),
        n_not_border_ge_1um3=int((~table.touches_border & (table.envelope_volume_um3 >= 1.0)).sum()),
        n_nan_radii_ge_1um3=int(table.loc[table.envelope_volume_um3 >= 1.0].filter(like="radius_").isna().sum().sum()),
        median_equivalent_diameter_um=float(table.loc[~table.touches_border, "equivalent_diameter_um"].median()),
        median_sphericity=float(table.loc[~table.touches_border, "sphericity"].median()),
        peak_rss_mb=_peak_rss_mb(),
    )
    if args.save_instances:
        np.save(args.save_instances, inst)
    return out


def worker_porespy(args) -> dict:
    import porespy as ps
    from scipy import ndimage as ndi
    from skimage.measure import marching_cubes, mesh_surface_area

    clk = _Clock()
    solid = nrel_solid(args.nrel).astype(bool)
    voxel = float(args.voxel_um)
    t_load = clk.lap()
    warm = np.ascontiguousarray(solid[:48, :48, :48])
    ps.filters.snow_partitioning(im=warm)
    t_warm = clk.lap()
    snow = ps.filters.snow_partitioning(im=solid)
    regions = snow.regions.astype(np.int32)
    t_snow = clk.lap()
    n = int(regions.max())
    border = np.zeros(n + 1, bool)
    for face in (regions[0], regions[-1], regions[:, 0], regions[:, -1], regions[:, :, 0], regions[:, :, -1]):
        border[np.unique(face)] = True
    border[0] = False
    objs = ndi.find_objects(regions)
    rows = []
    for i, sl in enumerate(objs):
        if sl is None:
            continue
        lab = i + 1
        sl_p = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in sl)
        m = regions[sl_p] == lab
        m = np.pad(m, 1)
        v = float(np.count_nonzero(m)) * voxel**3
        verts, faces, _, _ = marching_cubes(m.astype(np.float32), 0.5, spacing=(voxel,) * 3)
        a = float(mesh_surface_area(verts, faces))
        rows.append((lab, v, a, bool(border[lab])))
    t_table = clk.lap()
    rows = np.array(rows, dtype=float).reshape(-1, 4)
    keep = rows[:, 3] == 0
    d = (6 * rows[keep, 1] / np.pi) ** (1 / 3)
    sph = np.pi ** (1 / 3) * (6 * rows[keep, 1]) ** (2 / 3) / rows[keep, 2]
    if args.save_instances:
        np.save(args.save_instances, regions)
    return {
        "route": f"porespy {ps.__version__} snow_partitioning + skimage marching cubes loop",
        "case": "nrel",
        "load_s": t_load[0],
        "warmup_s": t_warm[0],
        "split_wall_s": t_snow[0],
        "split_cpu_s": t_snow[1],
        "table_wall_s": t_table[0],
        "table_cpu_s": t_table[1],
        "total_wall_s": t_snow[0] + t_table[0],
        "total_cpu_s": t_snow[1] + t_table[1],
        "n_particles": int(len(rows)),
        "n_not_border": int(keep.sum()),
        "n_not_border_ge_1um3": int((keep & (rows[:, 1] >= 1.0)).sum()),
        "median_equivalent_diameter_um": float(np.median(d)) if d.size else float("nan"),
        "median_sphericity": float(np.median(sph)) if sph.size else float("nan"),
        "peak_rss_mb": _peak_rss_mb(),
    }


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------
def run_worker(python: str, route: str, case: str, args, save: str | None = None) -> dict | None:
    cmd = [
        python,
        str(Path(__file__).resolve()),
        "--worker",
        route,
        "--case",
        case,
        "--nrel",
        str(args.nrel),
        "--voxel-um",
        str(args.voxel_um),
        "--threads",
        str(args.threads),
    ]
    if save:
        cmd += ["--save-instances", save]
    env = dict(os.environ)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        print(f"[{route}/{case}] failed (exit {r.returncode}):\n{r.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def match_counts(ours_path: str, ref_path: str) -> dict:
    """One-to-one matches between two instance maps: pairs that each hold > 50 % of the
    other's voxels (so at most one partner each)."""
    a = np.load(ours_path).ravel()
    b = np.load(ref_path).ravel()
    sel = (a > 0) & (b > 0)
    key = a[sel].astype(np.int64) * (int(b.max()) + 1) + b[sel]
    uk, cnt = np.unique(key, return_counts=True)
    ia, ib = np.divmod(uk, int(b.max()) + 1)
    na = np.bincount(a)
    nb = np.bincount(b)
    good = (cnt > 0.5 * na[ia]) & (cnt > 0.5 * nb[ib])
    return {
        "n_one_to_one": int(good.sum()),
        "n_ours": int(a.max()),
        "n_ref": int(b.max()),
        "solid_voxels_compared": int(sel.sum()),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--worker", choices=["ours", "porespy"])
    p.add_argument("--case", choices=["demo", "nrel"], default="nrel")
    p.add_argument("--nrel", default=str(NREL_DEFAULT))
    p.add_argument("--voxel-um", type=float, default=0.4)
    p.add_argument("--threads", type=int, default=1, help="threads of the distance transform (ours)")
    p.add_argument("--porespy-python", default=sys.executable)
    p.add_argument("--skip-porespy", action="store_true")
    p.add_argument("--skip-nrel", action="store_true")
    p.add_argument("--save-instances")
    p.add_argument("--json")
    args = p.parse_args(argv)

    if args.worker:
        res = worker_ours(args) if args.worker == "ours" else worker_porespy(args)
        print(json.dumps(res))
        return 0

    results = {}
    print("(a) demo scan NMC622_powder/s01, truth labels 128^3")
    r = run_worker(sys.executable, "ours", "demo", args)
    results["demo"] = r
    if r:
        print(
            f"    split {r['split_wall_s']:.2f} s (cpu {r['split_cpu_s']:.2f}), table {r['table_wall_s']:.2f} s "
            f"(cpu {r['table_cpu_s']:.2f}), voids+summary {r['voids_summary_wall_s']:.2f} s -> total "
            f"{r['total_wall_s']:.2f} s wall, {r['total_cpu_s']:.2f} s cpu (target <= 2 s); warm-up "
            f"{r['warmup_s']:.2f} s; peak RSS {r['peak_rss_mb']:.0f} MB"
        )
        print(
            f"    particles {r['n_particles']} (not touching the border {r['n_not_border']}; truth "
            f"{r['truth_n_particles_not_border']}), voids {r['n_voids']}, void particles "
            f"{r['void_particle_frequency_per_100']:.1f}/100 (truth {r['truth_void_particle_frequency_per_100']:.1f}),"
            f" net dead volume {r['dead_volume_percent_net']:.2f} % (truth {r['truth_dead_volume_percent_net']:.2f}"
            f" %), d50 {r['d50_volume_weighted_um']:.2f} um (truth {r['truth_d50_volume_weighted_um']:.2f})"
        )
    if not args.skip_nrel:
        if not Path(args.nrel).exists():
            print(f"(b) NREL volume not found: {args.nrel}")
        else:
            print(f"(b) NREL electrode {Path(args.nrel).name}, voxel {args.voxel_um} um, solid = label 1")
            with tempfile.TemporaryDirectory() as tmp:
                ours_npy, ref_npy = os.path.join(tmp, "ours.npy"), os.path.join(tmp, "ref.npy")
                r = run_worker(sys.executable, "ours", "nrel", args, save=ours_npy)
                results["nrel_ours"] = r
                if r:
                    print(
                        f"    ours:    split {r['split_wall_s']:.2f} s (cpu {r['split_cpu_s']:.2f}) + table "
                        f"{r['table_wall_s']:.2f} s (cpu {r['table_cpu_s']:.2f}) = {r['total_wall_s']:.2f} s wall, "
                        f"{r['total_cpu_s']:.2f} s cpu (target <= 10 s); warm-up {r['warmup_s']:.2f} s; "
                        f"peak RSS {r['peak_rss_mb']:.0f} MB (target <= 2048)"
                    )
                    print(
                        f"             particles {r['n_particles']}, not touching the border {r['n_not_border']} "
                        f"({r['n_not_border_ge_1um3']} of >= 1 um^3), median d_eq "
                        f"{r['median_equivalent_diameter_um']:.2f} um, median sphericity {r['median_sphericity']:.3f}, "
                        f"NaN radii {r['n_nan_radii']} ({r['n_nan_radii_ge_1um3']} in particles >= 1 um^3)"
                    )
                if not args.skip_porespy:
                    q = run_worker(args.porespy_python, "porespy", "nrel", args, save=ref_npy)
                    results["nrel_porespy"] = q
                    if q:
                        print(
                            f"    porespy: snow {q['split_wall_s']:.2f} s (cpu {q['split_cpu_s']:.2f}) + MC loop "
                            f"{q['table_wall_s']:.2f} s (cpu {q['table_cpu_s']:.2f}) = {q['total_wall_s']:.2f} s "
                            f"wall, {q['total_cpu_s']:.2f} s cpu; peak RSS {q['peak_rss_mb']:.0f} MB"
                        )
                        print(
                            f"             particles {q['n_particles']}, not touching the border "
                            f"{q['n_not_border']} ({q['n_not_border_ge_1um3']} of >= 1 um^3), median d_eq "
                            f"{q['median_equivalent_diameter_um']:.2f} um, "
                            f"median sphericity {q['median_sphericity']:.3f} (plain marching cubes)"
                        )
                        if r:
                            print(
                                f"    ratio porespy / ours: wall {q['total_wall_s'] / r['total_wall_s']:.1f}x, "
                                f"cpu {q['total_cpu_s'] / r['total_cpu_s']:.1f}x"
                            )
                            m = match_counts(ours_npy, ref_npy)
                            results["nrel_match"] = m
                            print(
                                f"    one-to-one matched particles (each holds > 50 % of the other): "
                                f"{m['n_one_to_one']} of ours {m['n_ours']} / porespy {m['n_ref']}"
                            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
