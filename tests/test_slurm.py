"""The tiny campaign through a real Slurm (``.ci/slurm.sh start``), as the README tells a site.

``snakemake --profile profiles/slurm`` plus the no-accounting options (no slurmdbd here:
``--slurm-status-command squeue``), the transport posterior samples as one job array, one
rule sent to another partition and one given more memory with ``--set-resources``. Two scans
go wrong on purpose: P1/missing has no projections file (the workflow records the failure
in its outputs, batteryct.runlog, and the job ends normally), and the NREL crop's
import_labels job is given 50 MB, which Slurm's memory enforcement (OverMemoryKill in
.ci/slurm.sh) kills: that job ends FAILED, the electrode's jobs complete, snakemake exits
non-zero. Asserted besides: every job went through ``sbatch`` with a Slurm job id; the
``sbatch`` calls carry the partition, ``--mem``, ``-t`` and ``--cpus-per-task`` the rule
asked for; ``SLURM_JOB_ID`` is in the rule logs; the outputs are byte-identical to a local
run of the same campaign.
"""

import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from test_workflow import LABEL_SCAN, TINY, result_digests, write_campaign

from batteryct import resources
from conftest import ROOT

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

# An electrode from the virtual scanner (through its TIFF-folder copy), the NREL crop as
# labels, and a scan whose projections file does not exist.
SCANS = [("E1", "a", "results/simulated/E1/a/tiff"), ("P1", "missing", "bad/missing.h5")]
CONFIG = {**TINY, "electrochem": None, "cells": None, "calendering": None}
CONFIG["simulate"] = {**TINY["simulate"], "scans": {"E1/a": TINY["simulate"]["scans"]["E1/a"]}}
CONFIG["simulate"].pop("electrochem", None)
CONFIG["simulate"].pop("calendering", None)
TARGETS = ["results/tables/transport.parquet", "results/tables/scan_metrics.parquet"]
SLURM_OPTIONS = [
    "--profile",
    str(ROOT / "profiles" / "slurm"),
    # no-accounting cluster (no slurmdbd): poll with squeue; MinJobAge=300 in slurm.conf
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "5",
    "--slurm-array-jobs",
    "transport_sample",
    "--set-resources",
    "transport_contacts:slurm_partition=batch",
    "transport_value:mem_mb=3000",
    "import_labels:mem_mb=50",
    "--set-threads",
    "transport_value=2",  # small scans get one thread (batteryct.resources.threads): ask for two
    "--retries",
    "0",  # the bad scan fails once, not three times (the profile's retries are for OOM)
    "--verbose",
]


def slurm_unavailable() -> str | None:
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed (pip install -e '.[test]')"
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return "no Slurm commands (sinfo, sbatch): .ci/run installs and starts Slurm with CI=true as root"
    try:
        proc = subprocess.run(["sinfo", "-h", "-o", "%P %T"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "sinfo timed out: slurmctld is not answering"
    if proc.returncode != 0:
        return f"Slurm is not running (sinfo: {proc.stderr.strip()[:200]}); start it with .ci/slurm.sh start"
    states = dict(line.split()[:2] for line in proc.stdout.splitlines() if line.strip())
    if not {"debug*", "batch"} <= set(states) or "idle" not in states.values():
        return f"this is not .ci/slurm.sh's cluster (partitions debug* and batch, an idle node): {states}"
    return None


REASON = slurm_unavailable()
if REASON:
    pytestmark.append(pytest.mark.skip(reason=REASON))


def run(workdir, *args):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir)]
    cmd += ["--configfile", str(workdir / "config.yaml"), "--keep-going", *args, *TARGETS]
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, cwd=workdir, env={**os.environ, "PYTHONHASHSEED": "0"}, timeout=1500
    )
    return proc, time.perf_counter() - t0


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    local_dir, slurm_dir = tmp_path_factory.mktemp("local"), tmp_path_factory.mktemp("slurm")
    for d in (local_dir, slurm_dir):
        write_campaign(d, SCANS, config=CONFIG, label_scans=(LABEL_SCAN,))
    local, local_s = run(local_dir, "--cores", "2")
    slurm, slurm_s = run(slurm_dir, *SLURM_OPTIONS)
    text = slurm.stdout + slurm.stderr
    (slurm_dir / "snakemake.log").write_text(text)
    return {
        "local": (local_dir, local),
        "slurm": (slurm_dir, slurm),
        "text": text,
        "slurm_s": slurm_s,
        "local_s": local_s,
    }


def submissions(text):
    """Slurm job id -> {"rule", "call"} from the plugin's log (plain jobs and arrays)."""
    jobs = {}
    calls = re.findall(r"^sbatch call: (sbatch .*)$", text, re.M)
    for call in calls:
        rule = re.search(r"--comment rule_(\w+?)(?:_wildcards_\S*)?\s", call)
        jobs.setdefault(("call", rule.group(1)), []).append(call)
    for m in re.finditer(r"has been submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/rule_(\w+)/", text):
        jobs[m.group(1)] = m.group(2)
    for m in re.finditer(r"Submitted array job with Snakemake IDs ([\d,]+) and SLURM job ID (\d+)", text):
        for i in range(1, len(m.group(1).split(",")) + 1):
            jobs[f"{m.group(2)}_{i}"] = "transport_sample"
    return jobs


def job_states(ids):
    out = subprocess.run(
        ["squeue", "-h", "--states=all", "-o", "%i %T", "-j", ",".join(sorted({i.split("_")[0] for i in ids}))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split() for line in out.splitlines())


def test_every_job_was_submitted_and_the_starved_one_failed(runs, capsys):
    workdir, proc = runs["slurm"]
    text = runs["text"]
    assert proc.returncode != 0, text[-3000:]
    jobs = {k: v for k, v in submissions(text).items() if isinstance(k, str)}
    states = job_states(jobs)
    with capsys.disabled():  # into CI's log, for the closing note
        print(
            f"\n{len(jobs)} Slurm jobs in {runs['slurm_s']:.0f} s (local run {runs['local_s']:.0f} s): "
            f"{sorted(jobs.values())}"
        )
    state = {i: states.get(i, states.get(i.split("_")[0])) for i in jobs}  # array tasks are <id>_<task>
    failed = {i: jobs[i] for i in jobs if state[i] != "COMPLETED"}
    assert failed and set(failed.values()) == {"import_labels"}, (failed, states)
    assert {state[i] for i in failed} <= {"FAILED", "OUT_OF_MEMORY", "CANCELLED"}
    assert "StepId" in "".join(
        p.read_text() for p in (workdir / ".snakemake/slurm_logs/rule_import_labels").rglob("*.log")
    )
    # the electrode went through every stage on Slurm, its posterior samples as one array
    done = sorted(v for i, v in jobs.items() if i not in failed)
    for rule in ("simulate_scan", "simulated_tiff_stack", "reconstruct", "segment", "transport_contacts"):
        assert rule in done, done
    batches = resources.sample_batches(
        TINY["transport"]["uncertainty_samples"], TINY["transport"]["uncertainty_samples_per_job"]
    )
    assert len(batches) >= 2 and done.count("transport_sample") == len(batches)
    assert re.search(r"Submitted array job with Snakemake IDs \d+(?:,\d+)+ and SLURM job ID \d+", text)
    # the planned jobs, less the target rule, are exactly the submitted ones
    planned = re.findall(r"^(?:local)?rule (\w+):$", text, re.M)
    assert len(set(jobs)) == len([r for r in planned if r != "all"]), (len(jobs), planned)


def test_sbatch_calls_carry_what_the_rules_asked_for(runs):
    text = runs["text"]
    calls = {}
    for call in re.findall(r"^(?:sbatch call|Submitting array job with sbatch call): (sbatch .*)$", text, re.M):
        rule = re.search(r"--comment '?rule_(\w+?)(?:_wildcards_[^' ]*)?'?\s", call).group(1)
        calls.setdefault(rule, []).append(call)

    def arg(call, flag):
        m = re.search(rf"(?:^|\s){re.escape(flag)}[ =]'?([^\s']+)", call)
        return m.group(1) if m else None

    e1 = int(CONFIG["simulate"]["defaults"]["n_voxels"]) ** 3
    for rule, call in ((r, c) for r, cs in calls.items() for c in cs):
        partition = "batch" if rule == "transport_contacts" else "debug"
        assert arg(call, "-p") == partition, call
        assert arg(call, "--mem") and arg(call, "-t") and arg(call, "--cpus-per-task"), call
    expect = {
        "reconstruct": (resources.mem_mb("reconstruct", e1), resources.runtime_min("reconstruct", e1), 1),
        "segment": (resources.mem_mb("segment", e1), resources.runtime_min("segment", e1), 1),
        # --set-resources and --set-threads
        "transport_value": (3000, resources.runtime_min("transport_value", e1), 2),
        "transport_sample": (
            resources.mem_mb("transport_sample", e1),
            resources.runtime_min("transport_sample", e1),
            1,
        ),
        "import_labels": (50, 10, 1),
        "transport": (1000, 10, 1),  # fixed in the rule
    }
    for rule, (mem, minutes, cpus) in expect.items():
        assert calls.get(rule), (rule, sorted(calls))
        for call in calls[rule]:
            if "P1_missing" in call:
                continue  # no file to size it: the model's default voxel count (256^3)
            got = [int(arg(call, "--mem")), int(arg(call, "-t")), int(arg(call, "--cpus-per-task"))]
            if rule == "transport_sample":  # the plugin adds the array's payload to --mem: a few MB
                assert 1 <= got[0] - mem <= 8, call
                got[0] = mem
            assert tuple(got) == (mem, minutes, cpus), (rule, call)
    assert (1000, 5) == (expect["reconstruct"][0], expect["reconstruct"][1])  # 40^3: the model's floors
    assert resources.threads(e1) == 1


def test_rule_logs_name_their_slurm_job(runs):
    workdir, _ = runs["slurm"]
    jobs = {k: v for k, v in submissions(runs["text"]).items() if isinstance(k, str)}
    ids = {i.split("_")[0] for i in jobs}
    # every log but that of the job Slurm killed before it could write one
    logs = sorted(p for p in (workdir / "results/logs").rglob("*.log") if p.parent.name != "R1")
    assert len(logs) >= 10
    for log in logs:
        # an array task has a job id of its own and the array's id (the one submitted)
        m = re.search(r"SLURM_JOB_ID=(\d+)(?: \(array (\d+)_\d+\))?", log.read_text())
        assert m and (m.group(2) or m.group(1)) in ids, log


def test_outputs_are_byte_identical_to_the_local_run(runs):
    local_dir, local = runs["local"]
    slurm_dir, _ = runs["slurm"]
    assert local.returncode == 0, local.stderr[-3000:]
    here, there = result_digests(local_dir), result_digests(slurm_dir)
    assert set(there) <= set(here)
    for key in ("results/volumes/E1/a.h5", "results/segmentations/E1/a.h5", "results/transport/E1/a.parquet"):
        assert key in there
    assert {k: here[k] for k in there} == there
    assert not any("/R1/" in k for k in there)  # the starved scan left nothing behind
    # the scan without projections: a failure record naming it, under Slurm as locally
    record = (slurm_dir / "results/volumes/P1/missing.h5").read_bytes()
    assert b"does not exist" in record and record == (local_dir / "results/volumes/P1/missing.h5").read_bytes()
    assert json.loads(record.split(b"\n", 1)[1])["rule"] == "reconstruct"
    assert math.isfinite(runs["slurm_s"])
