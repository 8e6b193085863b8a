"""Accuracy of the electrode stage against the virtual scanner's truth: bias and interval coverage.

Virtual electrodes the segmentation was not tuned on (seeds that are not the demo's),
porosity 0.30-0.45, calendered and not, three binder morphologies (bridge binder in the
necks, thin necks that blur into the active phase, a patchy surface film), particle
shapes with a random aspect spread, a detector blur on some, and two noise levels.
Each is simulated, reconstructed and segmented as the workflow does; the metrics of the
hard labels, their 95 % intervals from posterior samples
(:func:`batteryct.electrode.sample_label_volume` with the workflow's settings unless
``--global-weight`` / ``--correlation-voxels`` override them; the intervals of
:func:`batteryct.electrode.with_intervals`) and the same metrics on the truth phases (the
same library functions) are compared in the transport box.

    python benchmarks/bench_electrode_accuracy.py [--n 128] [--samples 8] [--cache DIR] [--cases a,b]
        [--spill-anchors 0:0,0.14:0.01,0.28:0.02] [--potts-weight 0.6] [--seed-offset 100] [--oracle]
        [--global-weight 0.2] [--correlation-voxels 8] [--out rows.parquet]

Prints one row per (scan, metric) with ``--detail``, and the summary per metric: median
signed error (relative for τ, D_eff, surface areas and the network figures; absolute for
fractions and exponents), median absolute error, coverage of the 95 % intervals and median
half-width / median absolute error (1.96 / 0.674 = 2.9 for unbiased Gaussian errors and
calibrated intervals); then the targets of issue 12, pooled over every metric scored.
``--cache DIR`` keeps the reconstructions (``<case>.npz``) so a second run measures the
segmentation and metrics only.
``--oracle`` adds, per scan, the Dice of binder and the porosity of the best rule on the
class model's two features (the classified value and its count of active neighbours)
learnt from that scan's truth: an upper bound for any such rule.
``--spill-anchors`` replaces the ``(edge deficit, spill coefficient)`` anchors of
:func:`batteryct.segment.spill_coefficient` (a sensitivity study of the active-spill term).
"""

from __future__ import annotations

import argparse
import inspect
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from batteryct import electrode, fov, io, recon, segment, simulate
from batteryct.label_codes import phase_masks

ROOT = Path(__file__).resolve().parents[1]
AXES = ("z", "y", "x")

# name: (seed, porosity, calendering strain, binder morphology, binder smoothing (voxels),
#        aspect sigma, blur sigma (px))
ELECTRODES = {
    "p45_bridge": (201, 0.45, 0.00, "bridge", 1.5, 0.00, 0.0),
    "p42_neck": (202, 0.42, 0.05, "bridge", 0.6, 0.15, 0.0),
    "p39_film": (203, 0.39, 0.10, "film", 1.5, 0.10, 0.6),
    "p36_neck_blur": (204, 0.36, 0.20, "bridge", 0.6, 0.00, 0.8),
    "p33_bridge": (205, 0.33, 0.25, "bridge", 1.0, 0.20, 0.0),
    "p30_film": (206, 0.30, 0.30, "film", 1.5, 0.00, 0.5),
}
NOISE = {"hi": 10000, "lo": 3000}  # open-beam counts per pixel

RELATIVE = (
    "tortuosity",
    "deff",
    "specific_surface",
    "pore_active_area",
    "pore_binder_area",
    "active_binder_area",
    "network",
)


def cases(seed_offset=0):
    """The 12 benchmark scans; with ``seed_offset`` the same designs on other phantoms (a tuning set)."""
    out = {}
    for name, (seed, por, strain, morph, smooth, aspect, blur) in ELECTRODES.items():
        for noise, counts in NOISE.items():
            suffix = f"_s{seed + seed_offset}" if seed_offset else ""
            out[f"{name}_{noise}{suffix}"] = {
                "seed": seed + seed_offset,
                "flat_counts": counts,
                "blur_sigma_px": blur,
                "phantom_params": {
                    "porosity": por,
                    "binder_fraction": 0.10,
                    "calendering_strain": strain,
                    "binder_morphology": morph,
                    "binder_smoothing_voxels": smooth,
                    "aspect_sigma": aspect,
                },
            }
    return out


def segment_options(p, args):
    """The config's optional electrode keys of ``segment_volume``, with the command line's overrides."""
    options = {k: p[k] for k in segment.CONFIG_OPTIONS if k in p}  # as the workflow passes them
    overrides = {
        "potts_weight": args.potts_weight,
        "deblur": None if args.deblur is None else args.deblur == "on",
        "spill_sd_fraction": args.spill_sd_fraction,
        "deblur_max_iterations": args.deblur_iterations,
        "anisotropic_spill": None if args.anisotropic_spill is None else args.anisotropic_spill == "on",
    }
    options.update({k: v for k, v in overrides.items() if v is not None})
    return options


def simulate_and_reconstruct(spec, cfg):
    sim = simulate.simulate_scan(spec)
    ps = io.ProjectionSet(
        sim.projections.astype(np.float32),
        sim.flats.astype(np.float32),
        sim.darks.astype(np.float32),
        np.deg2rad(sim.theta_deg),
        sim.pixel_size_um,
        "bench",
    )
    volume, _ = recon.reconstruct(ps, **cfg["reconstruct"])
    return volume.astype(np.float32), sim.phase_truth


#: The metrics the benchmark scores (a subset of what the transport stage reports).
SCORED = (
    "porosity",
    "active_fraction",
    "binder_fraction",
    "specific_surface_area_per_um",
    "pore_active_area_per_um",
    "pore_binder_area_per_um",
    "active_binder_area_per_um",
    *(f"{k}_{a}" for k in ("tortuosity_factor", "deff_over_dbulk") for a in AXES),
    "network_n_pores",
    "network_n_throats",
    "network_tortuosity_factor_z",
    "bruggeman_exponent_through_plane",
    "bruggeman_exponent_in_plane",
)


def lean_metrics(labels, voxel_um, transport_cfg, rtol):
    """The transport stage's own metrics (:func:`batteryct.electrode.value_metrics`) of one label volume.

    The random walk and the conductivity are off: they are not scored, and they take most of
    the time.
    """
    # the transport settings value_metrics takes, as the workflow's rule passes them
    keys = [k for k in inspect.signature(electrode.value_metrics).parameters if k in transport_cfg and k != "rtol"]
    row, _, _ = electrode.value_metrics(
        labels,
        voxel_um,
        instances=None,
        rtol=rtol,
        random_walk=False,
        conductivity=False,
        **{k: transport_cfg[k] for k in keys},
    )
    return {k: row[k] for k in SCORED}


def dice(a, b):
    s = a.sum() + b.sum()
    return float(2 * np.logical_and(a, b).sum() / s) if s else float("nan")


def oracle_classes(value, n_active, truth_class, n_bins=200):
    """The best rule on (value, active-neighbour count), learnt from the scan's own truth.

    Each voxel gets the truth class most frequent among the voxels of its bin (``n_bins``
    value bins between -0.3 and 1.3 of the pore-active contrast, one per active-neighbour
    count): the Bayes classifier on the two features the class model uses, fitted on the
    very voxels it is scored on. No rule on these features does better on this scan, so its
    Dice is an upper bound for :class:`batteryct.segment.PhaseModel` (the Potts prior and
    the clean-up use more context).
    """
    bins = np.clip(((value + 0.3) / 1.6 * n_bins).astype(np.int64), 0, n_bins - 1)
    key = np.round(n_active).astype(np.int64) * n_bins + bins
    counts = np.zeros((int(key.max()) + 1, 3), np.int64)
    np.add.at(counts, (key, truth_class), 1)
    return np.argmax(counts, axis=1)[key]


def run_case(name, spec, cfg, args):
    cache = None if args.cache is None else Path(args.cache) / f"{name}_{args.n}.npz"
    if cache is not None and cache.exists():
        d = np.load(cache)
        volume, truth = d["volume"], d["truth"]
    else:
        volume, truth = simulate_and_reconstruct(spec, cfg)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, volume=volume, truth=truth)
    voxel = float(spec["voxel_size_um"])
    p = cfg["segment"]
    t = time.perf_counter()
    res = segment.segment_volume(
        volume,
        n_solid_phases=2,
        return_posteriors=True,
        denoise_method=p["denoise_method"],
        denoise_strength=p["denoise_strength"],
        min_solid_voxels=int(round(p["min_solid_volume_um3"] / voxel**3)),
        min_pore_voxels=int(round(p["min_pore_volume_um3"] / voxel**3)),
        fov_radius_fraction=p["fov_radius_fraction"],
        seed=p["seed"],
        spill_anchors=args.spill_anchors,
        return_denoised=args.oracle,
        **segment_options(p, args),
    )
    t_seg = time.perf_counter() - t
    box = fov.box_roi(volume.shape, cfg["metrics"]["roi_radius_fraction"])
    labels = np.ascontiguousarray(res.labels[box])
    post = np.ascontiguousarray(res.posteriors[(slice(None),) + box])
    truth = np.ascontiguousarray(truth[box])
    tr = cfg["transport"]
    value = lean_metrics(labels, voxel, tr, tr["rtol"])
    true = lean_metrics(truth, voxel, tr, tr["rtol"])
    samples = [
        lean_metrics(
            electrode.sample_label_volume(
                post,
                segment.CLASS_LABELS,
                i,
                tr["seed"],
                correlation_voxels=tr["uncertainty_correlation_voxels"]
                if args.correlation_voxels is None
                else args.correlation_voxels,
                global_weight=tr["uncertainty_global_weight"] if args.global_weight is None else args.global_weight,
            ),
            voxel,
            tr,
            tr["uncertainty_rtol"],
        )
        for i in range(args.samples)
    ]
    mt, ml = phase_masks(truth), phase_masks(labels)
    rows = []
    ci = electrode.with_intervals(value, samples) if samples else {}  # as the workflow reports them
    for key, v in value.items():
        lo, hi = ci.get(f"{key}_ci_low", np.nan), ci.get(f"{key}_ci_high", np.nan)
        rows.append(
            {
                "scan": name,
                "metric": key,
                "truth": true[key],
                "measured": v,
                "ci_low": lo,
                "ci_high": hi,
                "samples": [s[key] for s in samples],
            }
        )
    for phase in ("pore", "binder", "active"):
        rows.append({"scan": name, "metric": f"dice_{phase}", "truth": 1.0, "measured": dice(mt[phase], ml[phase])})
    if args.oracle:
        m = res.model
        contrast_units = (res.denoised[box] - m.pore_level) / m.contrast
        truth_class = np.select([mt["binder"], mt["active"]], [1, 2], 0)  # PHASE_CLASSES order
        best = oracle_classes(
            contrast_units.ravel(), m.active_neighbours(res.denoised)[box].ravel(), truth_class.ravel()
        )
        oracle_dice = dice(best == 1, truth_class.ravel() == 1)
        rows.append({"scan": name, "metric": "oracle_dice_binder", "truth": 1.0, "measured": oracle_dice})
        rows.append(
            {
                "scan": name,
                "metric": "oracle_porosity",
                "truth": true["porosity"],
                "measured": float(np.mean(best == 0)),
            }
        )
    print(
        f"{name}: segmentation {t_seg:.1f} s; porosity {true['porosity']:.4f} -> {value['porosity']:.4f}, "
        f"tau_z {true['tortuosity_factor_z']:.3f} -> {value['tortuosity_factor_z']:.3f}, "
        f"binder {true['binder_fraction']:.4f} -> {value['binder_fraction']:.4f}, "
        f"Dice binder {dice(mt['binder'], ml['binder']):.3f}"
        + (f" (best rule on the class model's features: {oracle_dice:.3f})" if args.oracle else ""),
        flush=True,
    )
    return rows


def parse_anchors(text):
    """``"0:0,0.14:0.01"`` -> ``((0.0, 0.0), (0.14, 0.01))``."""
    pairs = tuple(tuple(float(v) for v in item.split(":")) for item in text.split(","))
    if not pairs or any(len(p) != 2 for p in pairs) or list(pairs) != sorted(pairs):
        raise argparse.ArgumentTypeError(f"expected increasing deficit:coefficient pairs, got {text!r}")
    return pairs


def summarise(df):
    df = df.copy()
    rel = df["metric"].str.startswith(RELATIVE)
    scale = np.where(rel, df["truth"].abs(), 1.0)
    df["error"] = (df["measured"] - df["truth"]) / scale
    df["inside"] = (df["ci_low"] <= df["truth"]) & (df["truth"] <= df["ci_high"])
    df["width"] = (df["ci_high"] - df["ci_low"]) / scale
    out = []
    for metric, g in df.groupby("metric", sort=False):
        has_ci = g["ci_low"].notna().any()
        med_abs = float(g["error"].abs().median())
        out.append(
            {
                "metric": metric,
                "error": "relative" if g["metric"].iloc[0].startswith(RELATIVE) else "absolute",
                "median_error": float(g["error"].median()),
                "max_abs_error": float(g["error"].abs().max()),
                "median_abs_error": med_abs,
                "coverage": float(g["inside"].mean()) if has_ci else np.nan,
                "half_width_over_abs_error": float(0.5 * g["width"].median() / med_abs)
                if has_ci and med_abs > 0
                else np.nan,
            }
        )
    return df, pd.DataFrame(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--samples", type=int, default=8, help="posterior samples per scan (workflow default 8)")
    ap.add_argument("--cache", default=None, help="folder for the reconstructions")
    ap.add_argument("--cases", default=None, help="comma-separated case names (default: all 12)")
    ap.add_argument("--detail", action="store_true", help="print every (scan, metric) row")
    ap.add_argument(
        "--out", default=None, help="write the per-(scan, metric) rows, with the metric of each sample, to this parquet"
    )
    ap.add_argument(
        "--spill-anchors",
        default=None,
        type=parse_anchors,
        help="deficit:coefficient pairs, comma-separated (default: batteryct.segment.SPILL_ANCHORS)",
    )
    ap.add_argument(
        "--potts-weight",
        type=float,
        default=None,
        help="Potts prior weight of the segmentation, nats per face (default: config segment.potts_weight)",
    )
    ap.add_argument(
        "--deblur",
        choices=("on", "off"),
        default=None,
        help="remove the scan's excess blur before the class model (default: config segment.deblur)",
    )
    ap.add_argument(
        "--spill-sd-fraction",
        type=float,
        default=None,
        help="uncertainty of the spill term as a fraction of it (default: config segment.spill_sd_fraction)",
    )
    ap.add_argument(
        "--anisotropic-spill",
        choices=("on", "off"),
        default=None,
        help="weight the active neighbours by direction (default: config segment.anisotropic_spill)",
    )
    ap.add_argument(
        "--deblur-iterations",
        type=int,
        default=None,
        help="iterations of the blur estimate (default: batteryct.segment.DEBLUR_MAX_ITERATIONS)",
    )
    ap.add_argument(
        "--global-weight",
        type=float,
        default=None,
        help="share of the sampling variance common to all voxels (config: transport.uncertainty_global_weight)",
    )
    ap.add_argument(
        "--correlation-voxels",
        type=float,
        default=None,
        help="Gaussian sigma (voxels) of its local part (default: config transport.uncertainty_correlation_voxels)",
    )
    ap.add_argument(
        "--oracle",
        action="store_true",
        help="also score the best rule on (value, active neighbours) learnt from each scan's truth (an upper bound)",
    )
    ap.add_argument(
        "--seed-offset",
        type=int,
        default=0,
        help="add this to every phantom seed: the same designs on other phantoms, for tuning (names get _s<seed>)",
    )
    args = ap.parse_args()
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    all_cases = cases(args.seed_offset)
    names = list(all_cases) if args.cases is None else args.cases.split(",")
    rows = []
    for name in names:
        spec = {**cfg["simulate"]["defaults"], "phantom": "electrode", "n_voxels": args.n, **all_cases[name]}
        rows += run_case(name, spec, cfg, args)
    df, summary = summarise(pd.DataFrame(rows))
    pd.set_option("display.width", 200)
    if args.detail:
        print(df.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(summary.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if args.out:
        df["samples"] = [v if isinstance(v, list) else [] for v in df["samples"]]
        df.to_parquet(args.out)
    ci = df[df["ci_low"].notna()]
    tau = df["metric"].str.startswith("tortuosity_factor")
    print(
        "targets: |tau err| <= 3 %: "
        f"{(df[tau]['error'].abs() <= 0.03).mean():.0%} of (scan, axis); "
        f"|porosity err| <= 0.005: {(df[df.metric == 'porosity']['error'].abs() <= 0.005).mean():.0%}; "
        f"|SSA err| <= 3 %: {(df[df.metric == 'specific_surface_area_per_um']['error'].abs() <= 0.03).mean():.0%}; "
        f"Dice binder >= 0.90: {(df[df.metric == 'dice_binder']['measured'] >= 0.90).mean():.0%}; "
        f"coverage {ci['inside'].mean():.0%} of {len(ci)} (metric, scan) pairs; "
        f"median half-width / median |error| {0.5 * ci['width'].median() / ci['error'].abs().median():.2f} "
        "(2.9 for calibrated Gaussian 95 % intervals)"
    )


if __name__ == "__main__":
    main()
