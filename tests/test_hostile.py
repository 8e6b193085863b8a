"""Hostile input and faults, end to end: a corpus of bad rows beside good scans, typos caught
before any job, and a killed driver and job recovered as the README says.

One campaign run holds every bad scan next to the good ones (shared by the corpus cases);
sheet and config mistakes are dry runs that must fail before any job; the kill test runs
the small good campaign three times (clean, a job killed, the driver killed).
"""

import copy
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from batteryct import io, runlog, simulate
from conftest import ROOT

pytestmark = pytest.mark.workflow

CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
CONFIG.update({"samples": "samples.tsv", "scans": "scans.tsv", "electrochem": None, "cells": None, "calendering": None})
SPEC = {
    "n_voxels": 24,
    "voxel_size_um": 0.512,
    "oversample": 1,
    "n_angles": 31,
    "angle_range_deg": [-90.0, 90.0],
    "center_offset_px": 0.3,
    "flat_counts": 20000,
    "dark_counts": 100,
    "n_bad_columns": 0,
    "zinger_fraction": 0.0,
    "attenuation_per_um": {"active": 0.047, "binder": 0.0094, "support": 0.004},
}
POWDER = {"n_particles": 6, "median_diameter_um": 4.0, "diameter_range_um": [3.0, 6.0]}
CONFIG["simulate"] = {
    "defaults": SPEC,
    "scans": {"P1/a": {"phantom": "powder", "seed": 1, "phantom_params": POWDER}},
    "mosaics": None,
    "electrochem": None,
    "calendering": None,
}
CONFIG["transport"].update({"random_walk_walkers": 200, "random_walk_steps": 2000, "uncertainty_samples": 0})
SAMPLES = "sample\tkind\tmaterial\tdensity_g_cm3\nP1\tpowder\tNMC622\t4.75\nR1\telectrode\tNMC\t4.7\n"
GOOD = [("P1", "a", "results/simulated/P1/a/projections.h5", "", "", "")]
LONG_ID = hashlib.sha256(b"batteryct").hexdigest()  # 64 characters, the longest id allowed
LABELS = [("R1", LONG_ID, "", "labels.h5::/good", "0:pore,1:active,2:binder", "0.5")]


def labels_volume():
    """A small two-phase electrode: pores between overlapping spheres, binder at their contacts."""
    z, y, x = np.mgrid[:20, :24, :24]
    volume = np.zeros((20, 24, 24), np.uint8)
    for cz, cy, cx in ((6, 6, 6), (6, 17, 17), (14, 6, 17), (14, 17, 6), (10, 12, 12)):
        volume[(z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2 < 30] = 1
    volume[(volume == 0) & (np.abs(y - 12) < 2) & (np.abs(x - 12) < 2)] = 2
    return volume


def sheet(rows) -> str:
    head = "sample\tscan\tprojections\tlabels\tphase_map\tpixel_size_um"
    return "\n".join([head, *("\t".join(r) for r in rows)]) + "\n"


def write_campaign(workdir: Path, rows, config=CONFIG, samples=SAMPLES):
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "samples.tsv").write_text(samples)
    (workdir / "scans.tsv").write_text(sheet(rows))
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    with h5py.File(workdir / "labels.h5", "a") as f:
        if "good" not in f:
            f.create_dataset("good", data=labels_volume())
            f.create_dataset("zeros", data=np.zeros((20, 24, 24), np.uint8))


def command(workdir: Path, *args):
    return [
        sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(workdir / "config.yaml"), "--cores", "2", *args,
    ]  # fmt: skip


ENV = {**os.environ, "PYTHONHASHSEED": "0"}


def snakemake(workdir: Path, *args, check=True):
    proc = subprocess.run(command(workdir, *args), capture_output=True, text=True, env=ENV)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def digests(workdir: Path) -> dict:
    out = {}
    for path in sorted((workdir / "results").rglob("*")):
        rel = path.relative_to(workdir).as_posix()
        if path.is_file() and not rel.startswith(("results/logs", "results/benchmarks")):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def leftovers(workdir: Path) -> list[str]:
    return sorted(p.relative_to(workdir).as_posix() for p in (workdir / "results").rglob("*.tmp"))


# ---- the bad-input corpus: each case a scan row next to the good ones -----------------


def tiny_scan():
    return simulate.simulate_scan({**SPEC, "phantom": "powder", "seed": 7, "phantom_params": POWDER})


def make_corpus(workdir: Path) -> dict:
    """Write the bad inputs; return scan -> (row, rule whose log names the problem, words)."""
    workdir.mkdir(parents=True, exist_ok=True)
    sim = tiny_scan()
    good = (sim.projections, sim.flats, sim.darks, sim.theta_deg, sim.pixel_size_um)
    cases = {}

    def add(scan, projections, rule, words, sample="P1", pixel=""):
        cases[scan] = ((sample, scan, projections, "", "", pixel), rule, words)

    io.write_dataexchange(workdir / "radians.h5", *good[:3], np.deg2rad(sim.theta_deg), good[4])
    add("radians", "radians.h5", "reconstruct", "angles look like radians")
    with h5py.File(workdir / "huge.h5", "w") as f:  # declares 2.3 TiB, stores nothing
        f.create_dataset("exchange/data", shape=(100000, 2048, 2048), dtype=np.uint16, chunks=(1, 256, 256))
        f.create_dataset("exchange/data_white", data=sim.flats[:, :1, :1])
        f.create_dataset("exchange/data_dark", data=sim.darks[:, :1, :1])
        f.create_dataset("exchange/theta", data=np.linspace(0, 180, 100000))
    add("huge", "huge.h5", "reconstruct", "(100000, 2048, 2048) needs at least")
    full = (workdir / "radians.h5").read_bytes()
    (workdir / "truncated.h5").write_bytes(full[: len(full) // 3])
    add("truncated", "truncated.h5", "reconstruct", "truncated.h5")
    io.write_tiff_stack(workdir / "badtiff", *good)
    (workdir / "badtiff" / "proj_0003.tif").write_bytes(b"II*\x00" + os.urandom(64))
    add("badtiff", "badtiff", "reconstruct", "badtiff/proj_0003.tif: not a readable TIFF")
    io.write_tiff_stack(workdir / "badpixel", *good)
    (workdir / "badpixel" / "pixel_size_um.txt").write_text("0.5 um\n")
    add("badpixel", "badpixel", "reconstruct", "badpixel/pixel_size_um.txt: the pixel size (um) must be one number")
    dark_heavy = sim.projections.copy()
    dark_heavy[:, :, :6] = 50  # a quarter of the detector below the dark counts
    io.write_dataexchange(workdir / "clipped.h5", dark_heavy, *good[1:])
    add("clipped", "clipped.h5", "reconstruct", "% of the normalised projection values")
    add("nobody", "radians.h5", "reconstruct", "names sample 'Nobody'", sample="Nobody")
    cases["zeros"] = (
        ("R1", "zeros", "", "labels.h5::/zeros", "0:pore,1:active,2:binder", "0.5"),
        "scan_metrics",
        "one phase only",
    )
    return cases


FAILING = {"radians", "huge", "truncated", "badtiff", "badpixel", "nobody"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("corpus")
    cases = make_corpus(workdir)
    write_campaign(workdir, GOOD + LABELS + [row for row, _, _ in cases.values()])
    t0 = time.perf_counter()
    proc = snakemake(workdir, "--keep-going", check=False)
    return workdir, cases, proc, time.perf_counter() - t0


def test_each_bad_scan_is_named_and_the_campaign_tables_are_made(corpus):
    workdir, cases, proc, _ = corpus
    # every other target is built, then the campaign's last job fails on the failed scans
    assert proc.returncode != 0, proc.stderr[-6000:]
    status_log = (workdir / "results/logs/campaign_status.log").read_text()
    assert f"{len(FAILING)} scan(s) failed" in status_log and "P1/radians (rule reconstruct)" in status_log
    assert not (workdir / "results/campaign_status.txt").exists()
    assert "Error in rule campaign_status" in proc.stderr and proc.stderr.count("Error in rule") == 1
    for scan, ((sample, *_), rule, words) in cases.items():
        log = (workdir / f"results/logs/{rule}/{sample}/{scan}.log").read_text()
        assert words in log, (scan, log)
        assert f"scan {scan!r}" in log or scan == "clipped", (scan, log)
    failures = pd.read_parquet(workdir / "results/tables/failures.parquet")
    assert set(failures["scan"]) >= FAILING
    radians = failures.set_index("scan").loc["radians"]
    assert radians["failed_rule"] == "reconstruct" and "angles look like radians" in radians["error"]
    # the campaign tables and the report hold every scan that finished, and only those
    metrics = pd.read_parquet(workdir / "results/tables/scan_metrics.parquet")
    finished = set(metrics["scan"])
    assert {"a", LONG_ID, "zeros"} <= finished and not finished & FAILING
    assert finished | set(failures["scan"]) == {row[1] for row in GOOD + LABELS} | set(cases)
    transport = pd.read_parquet(workdir / "results/tables/transport.parquet")
    assert LONG_ID in set(transport["scan"])
    assert pd.read_parquet(workdir / "results/tables/psd.parquet")["sample"].tolist() == ["P1", "R1"]
    html = (workdir / "results/report.html").read_text()
    assert "failures" in html and "angles look like radians" in html


def test_bad_scans_leave_records_not_partial_results(corpus):
    workdir, _, _, _ = corpus
    assert leftovers(workdir) == []
    for scan in FAILING:
        sample = "Nobody" if scan == "nobody" else "P1"
        for path in (f"results/volumes/{sample}/{scan}.h5", f"results/metrics/{sample}/{scan}.parquet"):
            record = runlog.read_failure(workdir / path)
            assert record is not None and record["scan"] == scan and record["rule"] == "reconstruct", path
    # a failure record is never read as a result: the readers say what it is
    with pytest.raises(io.InputDataError):
        io.read_volume(workdir / "results/volumes/P1/radians.h5")


def test_good_scans_are_unchanged_by_the_bad_ones(corpus, clean):
    workdir, *_ = corpus
    here, ref = digests(workdir), digests(clean)
    stages = ("volumes", "segmentations", "metrics", "particles", "transport", "network", "validation", "previews")
    per_scan = [p for p in ref if p.split("/")[1] in stages and ("/P1/a" in p or LONG_ID in p)]
    assert len(per_scan) > 8
    assert all(here[p] == ref[p] for p in per_scan)


def test_fixing_a_bad_row_reruns_only_that_scan_and_the_tables(corpus):
    workdir, *_ = corpus
    (workdir / "samples.tsv").write_text(SAMPLES + "Nobody\tpowder\tNMC\t4.7\n")
    (workdir / "radians.h5").unlink()
    io.write_dataexchange(workdir / "radians.h5", *[np.asarray(a) for a in tiny_arrays()])
    dry = snakemake(workdir, "-n").stdout
    planned = []  # (rule, wildcards) of each planned job
    for block in dry.split("rule ")[1:]:
        rule = block.split(":")[0].strip()
        wildcards = next((ln.split("wildcards:")[1].strip() for ln in block.splitlines() if "wildcards:" in ln), "")
        planned.append((rule, wildcards))
    # every per-scan computation is of the two fixed scans; the rest are campaign aggregates
    # and the figures drawn from them
    per_scan = {(r, w) for r, w in planned if "scan=" in w and not r.endswith("_figures")}
    assert {w.split("scan=")[1].split(",")[0] for _, w in per_scan} == {"radians", "nobody"}, planned
    rules = {r for r, _ in planned}
    assert {"reconstruct", "scan_metrics", "scan_metrics_table", "failures", "campaign_report"} <= rules
    assert "simulate_scan" not in rules and "import_labels" not in rules


def tiny_arrays():
    sim = tiny_scan()
    return sim.projections, sim.flats, sim.darks, sim.theta_deg, sim.pixel_size_um


# ---- mistakes in the sheets or the config: refused before any job ---------------------


def _mutations():
    def config_with(edit):
        c = copy.deepcopy(CONFIG)
        edit(c)
        return c

    rows = GOOD + LABELS
    yield (
        "column typo",
        {"scans": sheet(rows).replace("pixel_size_um", "pixel_size_mu")},
        "did you mean 'pixel_size_um'?",
    )
    yield (
        "top-level key",
        {"config": config_with(lambda c: c.update(reconstrcut=c["reconstruct"]))},
        ("'reconstrcut': unknown key (did you mean 'reconstruct'?)"),
    )
    yield (
        "nested key",
        {"config": config_with(lambda c: c["simulate"]["defaults"].update(n_voxel=3))},
        ("'simulate.defaults.n_voxel': unknown key (did you mean 'n_voxels'?)"),
    )
    yield (
        "acceptance type",
        {"config": config_with(lambda c: c["acceptance"].update(d50_um="abc"))},
        ("'acceptance.d50_um': 'abc' is not of type"),
    )
    yield (
        "phantom key",
        {"config": config_with(lambda c: c["simulate"]["scans"]["P1/a"]["phantom_params"].update(n_particle=4))},
        "phantom_params.n_particle': unknown key (did you mean 'n_particles'?)",
    )
    yield (
        "n_voxels",
        {"config": config_with(lambda c: c["simulate"]["defaults"].update(n_voxels=100000))},
        ("100000 is greater than the maximum of 4096"),
    )
    yield "long id", {"scans": sheet(rows + [("P1", "x" * 300, "p.h5", "", "", "")])}, "has 300 characters"
    yield (
        "nan pixel",
        {"scans": sheet(rows + [("P1", "b", "p.h5", "", "", "nan")])},
        ("row 3, column 'pixel_size_um': 'nan' is not a finite number"),
    )
    yield (
        "tiny pixel",
        {"scans": sheet(rows + [("P1", "b", "p.h5", "", "", "1e-30")])},
        ("row 3, column 'pixel_size_um': 1e-30 is less than the minimum"),
    )
    yield "empty sheet", {"samples": ""}, "samples.tsv: sheet is empty"
    yield "comments only", {"samples": "# nothing yet\n\n"}, "samples.tsv: sheet is empty"


MUTATIONS = list(_mutations())


@pytest.mark.parametrize("name,change,message", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_mistakes_are_refused_before_any_job(tmp_path, name, change, message):
    write_campaign(tmp_path, GOOD + LABELS, config=change.get("config", CONFIG), samples=change.get("samples", SAMPLES))
    if "scans" in change:
        (tmp_path / "scans.tsv").write_text(change["scans"])
    proc = snakemake(tmp_path, "-n", check=False)
    assert proc.returncode != 0
    assert message in proc.stderr + proc.stdout, (proc.stderr + proc.stdout)[-3000:]
    assert not (tmp_path / "results").exists()


# ---- faults: a job and the driver killed with SIGKILL, then the README's recovery ------


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("clean")
    write_campaign(workdir, GOOD + LABELS)
    snakemake(workdir)
    return workdir


def _wait_for(predicate, proc, timeout=240):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def _job_pids(workdir: Path, script: str) -> list[int]:
    """Running jobs of ``script`` in ``workdir`` (each runs as ``python .snakemake/scripts/tmp*.{script}.py``)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if f".{script}.py" in cmd and ".snakemake/scripts" in cmd and int(d.name) != os.getpid():
                try:
                    if Path(os.readlink(d / "cwd")) == workdir:
                        pids.append(int(d.name))
                except OSError:
                    pass
    return pids


def test_killed_job_and_killed_driver_recover_byte_identical(tmp_path, clean):
    workdir = tmp_path / "killed"
    write_campaign(workdir, GOOD + LABELS)
    # 1. one job killed mid-run: the run goes on without it, the rerun makes it
    driver = subprocess.Popen(
        command(workdir, "--keep-going"), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert _wait_for(lambda: _job_pids(workdir, "segment"), driver), driver.stderr.read().decode()[-3000:]
    for pid in _job_pids(workdir, "segment"):
        os.kill(pid, signal.SIGKILL)
    driver.wait(timeout=600)
    assert driver.returncode != 0
    assert not (workdir / "results/segmentations/P1/a.h5").exists()
    # 2. the driver killed while jobs run: its jobs go on as orphans, the folder stays locked
    driver = subprocess.Popen(command(workdir), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _wait_for(lambda: _job_pids(workdir, "segment"), driver)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    time.sleep(1.0)
    refused = snakemake(workdir, check=False)  # what a user meets first
    said = refused.stdout + refused.stderr
    assert refused.returncode != 0 and ("LockException" in said or "IncompleteFilesException" in said)
    # 3. the README's recovery: --unlock, then the same command with --rerun-incomplete
    snakemake(workdir, "--unlock")
    snakemake(workdir, "--rerun-incomplete")
    deadline = time.time() + 120
    while _job_pids(workdir, "segment") and time.time() < deadline:  # orphans of the killed driver
        time.sleep(0.5)
    snakemake(workdir)  # a no-op unless an orphan replaced a file after the rerun
    assert leftovers(workdir) == []
    here, ref = digests(workdir), digests(clean)
    assert here.keys() == ref.keys() and len(ref) > 20
    lost = sum(os.path.getsize(clean / p) for p in ref if here[p] != ref[p])
    assert lost == 0
