"""Scale of a campaign: DAG build and no-op decision of a generated 50-scan campaign.

A campaign of sheets only: 25 powder and 25 electrode samples, one virtual-scanner scan
each (the demo's phantoms with new seeds), the demo config without mosaics and model fits.
Times (wall, this machine) of

1. ``snakemake -n``: parse, validate the sheets, build the DAG of every job; also with
   ``--quiet``, which leaves out printing each of the jobs (what a real run's planning costs);
2. ``snakemake -n`` after every output was stood in by an empty file and ``snakemake
   --touch`` marked them up to date: deciding that there is nothing to do (the no-op
   rerun, with the default rerun triggers: mtime, params, code, input, software-env).

Both include Python and Snakemake start-up. Targets: <= 5 s each.

    python benchmarks/bench_campaign_scale.py [--scans 50]
"""

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def write_campaign(workdir: Path, n_scans: int) -> None:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    demo = config["simulate"]["scans"]
    powder, electrode = demo["NMC622_powder/s01"], demo["NMC811_E1/s01"]
    samples = ["sample\tkind\tmaterial\tdensity_g_cm3"]
    scans = ["sample\tscan\tprojections\tlabels\tphase_map\tpixel_size_um"]
    config["simulate"] = {"defaults": config["simulate"]["defaults"], "scans": {}}
    for i in range(n_scans):
        kind = "powder" if i % 2 == 0 else "electrode"
        sample = f"{kind[0].upper()}{i:03d}"
        samples.append(f"{sample}\t{kind}\tNMC811\t4.78")
        scans.append(f"{sample}\ts01\tresults/simulated/{sample}/s01/projections.h5\t\t\t")
        config["simulate"]["scans"][f"{sample}/s01"] = {**(powder if kind == "powder" else electrode), "seed": 1000 + i}
    config.update({"samples": "samples.tsv", "scans": "scans.tsv", "electrochem": None, "cells": None})
    config.update({"calendering": None})
    (workdir / "samples.tsv").write_text("\n".join(samples) + "\n")
    (workdir / "scans.tsv").write_text("\n".join(scans) + "\n")
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))


def snakemake(workdir: Path, *args) -> tuple[float, str]:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir)]
    cmd += ["--configfile", str(workdir / "config.yaml"), "--cores", "2", *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout + proc.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        write_campaign(workdir, args.scans)
        snakemake(workdir, "-n", "--quiet")  # warm the file cache and Python's bytecode
        dag_quiet_s, _ = snakemake(workdir, "-n", "--quiet")
        dag_s, out = snakemake(workdir, "-n")
        total = re.search(r"^total\s+(\d+)", out, re.M)
        n_jobs = int(total.group(1)) if total else -1
        # stand-in outputs (empty files), then --touch records them as made by this workflow
        for line in re.findall(r"^\s+output: (.*)$", out, re.M):
            for path in line.split(", "):
                (workdir / path).parent.mkdir(parents=True, exist_ok=True)
                (workdir / path).touch()
        snakemake(workdir, "--touch", "--quiet")
        noop_s, out = snakemake(workdir, "-n")
        nothing = "Nothing to be done" in out
    print(f"campaign of {args.scans} scans: {n_jobs} jobs")
    print(f"DAG build (snakemake -n):            {dag_s:5.2f} s  (target <= 5 s)")
    print(f"DAG build without the job listing (-n --quiet): {dag_quiet_s:5.2f} s")
    print(f"no-op rerun decision (after --touch): {noop_s:5.2f} s  (target <= 5 s; nothing to do: {nothing})")


if __name__ == "__main__":
    main()
