"""Scale of the electrode stages: segmentation + all transport metrics + network on N³.

Simulates an electrode with the virtual scanner (oversample 1 to keep set-up short),
reconstructs it (not timed), then times segmentation (with posteriors) and
:func:`batteryct.electrode.transport_metrics` (finite-volume τ and conductivity on three
axes, random walk, interfaces, network) and prints the peak RSS of the process.

    python benchmarks/bench_electrode.py --n 256 [--uncertainty 0] [--workers 1] [--cache DIR] [--potts-weight W]

``--uncertainty N --workers W`` runs as the workflow does with ``--cores W``: the particle
partition (``transport_contacts``), then the value (``transport_value``) and the N
``transport_sample`` jobs, one thread each, W at a time in W worker processes; the time is
the wall time of the whole schedule and the peak RSS the largest of the main process and
of any worker.

With ``--cache DIR`` the reconstruction is saved there (``electrode_<n>.npy``) and reused
by the next run, which then starts from it, so the peak RSS printed is that of the
measured stages (plus the loaded volume), not of the simulation. The peak memory of
the 512³ case is measured that way: one run to fill the cache, a second one measured.
The peak of the segmentation and that of the transport stage (labels and posteriors of
the box only, as in the workflow's jobs) are printed apart; the process peak is the larger.
"""

import argparse
import resource
import time

import numba
import numpy as np
import yaml

from batteryct import contacts, electrode, fov, io, recon, segment, simulate

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--uncertainty", type=int, default=0, help="posterior samples (config default 8)")
    ap.add_argument(
        "--potts-weight",
        type=float,
        default=None,
        help="segmentation's Potts prior (default: config segment.potts_weight)",
    )
    ap.add_argument("--cache", default=None, help="folder for the reconstructed volume")
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="with --uncertainty: samples in this many processes (as snakemake --cores)",
    )
    args = ap.parse_args()
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    spec = {
        **cfg["simulate"]["defaults"],
        **cfg["simulate"]["scans"]["NMC811_E2/s01"],
        "n_voxels": args.n,
        "oversample": 1,
        "n_angles": max(141, int(1.1 * args.n)),
    }
    t = time.perf_counter()
    cached = None if args.cache is None else __import__("pathlib").Path(args.cache) / f"electrode_{args.n}.npy"
    if cached is not None and cached.exists():
        volume = np.load(cached)
        print(f"set-up: reconstruction {volume.shape} loaded from {cached}")
    else:
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
        del sim, ps
        print(f"set-up (simulate + reconstruct {args.n}³): {time.perf_counter() - t:.1f} s")
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            np.save(cached, volume)
            print(f"saved to {cached}; run again to measure from it")
            return
    t0 = time.perf_counter()
    res = segment.segment_volume(
        volume,
        n_solid_phases=2,
        return_posteriors=True,
        fov_radius_fraction=cfg["segment"]["fov_radius_fraction"],
        denoise_method="nlm",
        denoise_strength=0.6,
        min_solid_voxels=32,
        min_pore_voxels=16,
        seed=0,
        potts_weight=cfg["segment"]["potts_weight"] if args.potts_weight is None else args.potts_weight,
    )
    labels, post = res.labels, res.posteriors
    t1 = time.perf_counter()
    seg_peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    # as in the workflow, the transport jobs hold the box of labels and posteriors only
    box = fov.box_roi(labels.shape, cfg["metrics"]["roi_radius_fraction"])
    del volume
    labels = np.ascontiguousarray(labels[box])
    post = np.ascontiguousarray(post[(slice(None),) + box])
    box = (slice(None),) * 3
    hwm_reset = _reset_peak_rss()
    # transport_metrics' keywords: the rest choose the sample kinds and the jobs' layout
    p = {k: v for k, v in cfg["transport"].items() if k not in ("kinds", "uncertainty_samples_per_job")}
    p["uncertainty_samples"] = args.uncertainty
    voxel = float(spec["voxel_size_um"])
    if args.workers <= 1:
        row, nodes, throats = electrode.transport_metrics(
            labels[box], voxel, posteriors=post[(slice(None),) + box], class_codes=segment.CLASS_LABELS, **p
        )
    else:
        row = run_as_jobs(labels[box], post[(slice(None),) + box], voxel, p, args.workers)
    t2 = time.perf_counter()
    # the reset also lowers ru_maxrss (Linux), hence the max with the segmentation's peak
    peak_gb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        seg_peak_gb,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6,
    )
    transport_peak = f"; transport stage alone {_peak_rss_gb():.2f} GB" if hwm_reset else ""
    print(
        f"segmentation: {t1 - t0:.1f} s; transport metrics + network on box {labels[box].shape}: {t2 - t1:.1f} s; "
        f"total {t2 - t0:.1f} s; peak RSS of the process {peak_gb:.2f} GB "
        f"(after segmentation {seg_peak_gb:.2f} GB{transport_peak}); "
        f"numba threads {numba.get_num_threads()}"
    )
    print({k: round(v, 4) for k, v in row.items() if k.startswith(("porosity", "tortuosity_factor_", "network_t"))})


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux: clear_refs 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_gb() -> float:
    """VmHWM of this process (GB): the peak since the last reset."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1e6
    return float("nan")


_JOB = {}


def _init_worker(labels, post, voxel, p, instances, grown):
    numba.set_num_threads(1)  # transport_value and transport_sample: threads 1
    _JOB.update(labels=labels, post=post, voxel=voxel, p=p, instances=instances, grown=grown)


def _job(index):
    """index -1: the value job; i >= 0: sample job i. Returns (index, row, seconds)."""
    j = _JOB
    t = time.perf_counter()
    # the keywords of the value and sample jobs (as the workflow's scripts pass them)
    settings = {k: v for k, v in j["p"].items() if k not in ("particle_min_radius_um", "uncertainty_samples")}
    if index < 0:
        value = {k: v for k, v in settings.items() if not k.startswith("uncertainty_")}
        row = electrode.value_metrics(j["labels"], j["voxel"], instances=j["instances"], **value)[0]
    else:
        row = electrode.sample_metrics(
            j["labels"], j["post"], segment.CLASS_LABELS, index, j["voxel"], grown_instances=j["grown"], **settings
        )
    return index, row, time.perf_counter() - t


def run_as_jobs(labels, post, voxel, p, workers):
    """The workflow's transport jobs of one scan on ``workers`` cores."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    t = time.perf_counter()
    instances = contacts.particle_instances(
        labels,
        voxel,
        particle_min_radius_um=p["particle_min_radius_um"],
    )
    grown = None if instances is None else contacts.expand_instances(instances)
    print(f"  contacts job: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    n = int(p["uncertainty_samples"])
    with ProcessPoolExecutor(
        workers, mp.get_context("spawn"), _init_worker, (labels, post, voxel, p, instances, grown)
    ) as pool:
        done = list(pool.map(_job, range(-1, n)))
    print(
        f"  value + {n} sample jobs on {workers} processes: {time.perf_counter() - t:.1f} s "
        f"(per job {', '.join(f'{s:.1f}' for _, _, s in done)} s; the first of each worker includes its start-up)"
    )
    rows = {i: r for i, r, _ in done}
    return electrode.with_intervals(rows[-1], [rows[i] for i in range(n)])


if __name__ == "__main__":
    main()
