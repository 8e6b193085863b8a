"""Benchmark of mosaic stitching: wall time of ``stitch`` for a 5 x 8 mosaic and its accuracy.

Usage::

    python benchmarks/bench_mosaic.py                 # seed 0, best of 7 after a warm-up
    python benchmarks/bench_mosaic.py --seeds 0-9     # accuracy over several simulated mosaics

For each seed: the virtual mosaic of :func:`batteryct.mosaic.simulate_mosaic` with the
workflow's settings (``simulate.mosaic_defaults`` of ``config/config.yaml``: 40 tiles of
128 x 128 px), the wall time of :func:`batteryct.mosaic.stitch` (best of
``--repeat`` runs after one warm-up run; timed only for the first seed), the tile position
errors against the ground truth (relative to the anchor tile 0), the gain errors, and the
particle count and median projected-area diameter of
:func:`batteryct.mosaic.detect_particles` against the particles wholly inside the mosaic
(stitching and detection settings from the ``stitch`` section of the config).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import yaml

from batteryct import mosaic as M

CONFIG = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "config.yaml").read_text())
SIM = CONFIG["simulate"]["mosaic_defaults"]
_S = CONFIG["stitch"]
STITCH = dict(search_px=_S["search_px"], min_ncc=_S["min_ncc"], max_residual_px=_S["max_residual_px"])
DETECT = dict(
    threshold=_S["detect_threshold"],
    edge_k_sigma=_S["edge_k_sigma"],
    seed_k_sigma=_S["seed_k_sigma"],
    min_diameter_um=_S["min_diameter_um"],
)


def parse_seeds(text: str) -> list[int]:
    """``"3"`` -> [3]; ``"0-4"`` -> [0, 1, 2, 3, 4]; ``"1,5"`` -> [1, 5]."""
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out.extend(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    return out


def evaluate(sim: M.SimulatedMosaic, res: M.StitchResult) -> dict:
    """Errors of a stitched mosaic against the simulator's truth (anchor = tile 0)."""
    table = res.positions
    p = table[["y_px", "x_px"]].to_numpy()
    t = sim.true_position_px
    err = np.linalg.norm((p - p[0]) - (t - t[0]), axis=1)
    gain = table["gain"].to_numpy()
    gain_err = np.abs(gain / gain[0] / (sim.true_gain / sim.true_gain[0]) - 1.0)
    inside = M.particles_inside(sim.particles, t, sim.tiles.shape[1:], sim.pixel_size_um)
    truth = sim.particles[inside]
    det = M.detect_particles(res.mosaic, sim.pixel_size_um, **DETECT).particles
    return {
        "pos_mean_px": float(err.mean()),
        "pos_max_px": float(err.max()),
        "gain_max_rel": float(gain_err.max()),
        "n_truth": int(len(truth)),
        "n_detected": int(len(det)),
        "count_rel": len(det) / len(truth) - 1.0,
        "median_d_truth_um": float(truth["diameter_um"].median()),
        "median_d_det_um": float(det["diameter_um"].median()),
        "median_d_rel": float(det["diameter_um"].median() / truth["diameter_um"].median() - 1.0),
        "pairs_used": f"{res.n_pairs_used}/{res.n_pairs}",
        "rms_residual_px": res.rms_residual_px,
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0", help="seed, range a-b or list a,b (default 0)")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs after the warm-up (default 7)")
    args = ap.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    rows = []
    for i, seed in enumerate(seeds):
        sim = M.simulate_mosaic(seed=seed, **SIM)
        call = (sim.tiles, sim.stage_position_um, sim.pixel_size_um, sim.n_rows, sim.n_cols)
        res = M.stitch(*call, **STITCH)  # warm-up (imports, caches)
        if i == 0:
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                M.stitch(*call, **STITCH)
                times.append(time.perf_counter() - t0)
            n, h, w = sim.tiles.shape
            print(
                f"stitch of {n} tiles of {h}x{w} px -> mosaic {res.mosaic.shape[0]}x{res.mosaic.shape[1]} px: "
                f"best {min(times):.3f} s, median {np.median(times):.3f} s over {len(times)} runs "
                f"(target <= 1 s)"
            )
        r = evaluate(sim, res)
        rows.append(r)
        print(
            f"seed {seed}: position error mean {r['pos_mean_px']:.3f} px, max {r['pos_max_px']:.3f} px "
            f"(rel. to tile 0); gain error max {100 * r['gain_max_rel']:.2f} %; pairs used {r['pairs_used']}, "
            f"rms residual {r['rms_residual_px']:.3f} px; particles {r['n_detected']} detected / "
            f"{r['n_truth']} true ({100 * r['count_rel']:+.1f} %), median diameter "
            f"{r['median_d_det_um']:.2f} / {r['median_d_truth_um']:.2f} um ({100 * r['median_d_rel']:+.1f} %)"
        )
    if len(rows) > 1:

        def worst(key):
            return max(abs(r[key]) for r in rows)

        print(
            f"worst over {len(rows)} seeds: position mean {worst('pos_mean_px'):.3f} px, max "
            f"{worst('pos_max_px'):.3f} px; gain {100 * worst('gain_max_rel'):.2f} %; count "
            f"{100 * worst('count_rel'):.1f} %; median diameter {100 * worst('median_d_rel'):.1f} %"
        )


if __name__ == "__main__":
    main()
