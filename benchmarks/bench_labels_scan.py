"""One 256^3 labels scan through the workflow on 2 cores: wall time, job CPU time, thread invariance.

The NREL electrode (resources/nrel_nmc_1_cal, 251 x 301 x 301 at 0.4 um) cropped to
256 x 256 x 256 (z mirrored by 5 slices) is the only scan of a campaign with the demo's
config (no virtual scanner, no fits). The campaign's electrode targets (scan metrics and
transport tables) are made twice in fresh directories with ``--cores 2``: with the rules'
own thread counts (batteryct.resources.threads) and with ``--set-threads`` giving every
threaded rule 2. Printed: wall time of each run, the sum of the jobs' CPU and wall time
(their ``benchmark:`` files) per rule, and whether the two runs' tables are byte-identical.
Target (issue 14): <= 120 s wall.

    python benchmarks/bench_labels_scan.py [--keep DIR]
"""

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
from batteryct import io  # noqa: E402

TARGETS = ["results/tables/scan_metrics.parquet", "results/tables/transport.parquet"]
THREADED = ["transport_value", "transport_contacts", "segment", "particles", "reconstruct"]


def write_campaign(workdir: Path) -> None:
    labels = io.read_labels(ROOT / "resources/nrel_nmc_1_cal/nmc-1-cal_generatedCBD_bridge.tif")
    labels = np.concatenate([labels, labels[-5:][::-1]])[:256, :256, :256]
    with h5py.File(workdir / "labels.h5", "w") as f:
        f.create_dataset("labels", data=np.ascontiguousarray(labels), chunks=(32, 64, 64))
    (workdir / "samples.tsv").write_text("sample\tkind\tmaterial\tdensity_g_cm3\nNREL256\telectrode\tNMC\t4.7\n")
    (workdir / "scans.tsv").write_text(
        "sample\tscan\tprojections\tlabels\tphase_map\tpixel_size_um\n"
        "NREL256\tcal\t\tlabels.h5\t0:pore,1:active,2:binder\t0.4\n"
    )
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["simulate"] = {"defaults": config["simulate"]["defaults"], "scans": {}}
    config.update({"samples": "samples.tsv", "scans": "scans.tsv", "electrochem": None, "cells": None})
    config.update({"calendering": None})
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))


def run(workdir: Path, *args) -> float:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir)]
    # the targets before the options: --set-threads takes every word up to the next option
    cmd += ["--configfile", str(workdir / "config.yaml"), "--cores", "2", *TARGETS, *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"snakemake failed:\n{proc.stderr[-4000:]}")
    return seconds


def job_times(workdir: Path) -> pd.DataFrame:
    rows = []
    for path in sorted((workdir / "results/benchmarks").rglob("*.tsv")):
        t = pd.read_csv(path, sep="\t")
        rule = path.relative_to(workdir / "results/benchmarks").parts[0].removesuffix(".tsv")
        rows.append({"rule": rule, "wall_s": t["s"].iloc[0], "cpu_s": t["cpu_time"].iloc[0]})
    return pd.DataFrame(rows).groupby("rule").sum().sort_values("wall_s", ascending=False)


def digests(workdir: Path) -> dict:
    return {t: hashlib.sha256((workdir / t).read_bytes()).hexdigest() for t in TARGETS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="run in this folder (kept) instead of a temporary one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        runs = {}
        two = ["--set-threads", *(f"{r}=2" for r in THREADED)]
        for name, extra in (("rules' threads", []), ("2 threads each", two)):
            workdir = base / name.replace(" ", "_").replace("'", "")
            workdir.mkdir(parents=True, exist_ok=True)
            write_campaign(workdir)
            seconds = run(workdir, *extra)
            runs[name] = (seconds, job_times(workdir), digests(workdir))
    for name, (seconds, times, _) in runs.items():
        print(f"\n{name}: {seconds:.0f} s wall on 2 cores (target <= 120 s); jobs' CPU {times['cpu_s'].sum():.0f} s")
        print(times.round(1).to_string())
    same = len({tuple(d.values()) for _, _, d in runs.values()}) == 1
    print(f"\ntables byte-identical across the thread counts: {same}")


if __name__ == "__main__":
    main()
