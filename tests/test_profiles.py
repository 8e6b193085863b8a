"""The execution profiles, in dry runs: the resources each rule resolves to under each.

Snakemake loads ``profiles/default/`` by itself as the workflow profile and applies it over
``--profile``, replacing whole keys; the local profile is therefore ``profiles/local`` and a
cluster run sees only the cluster profile. The heavy rules size themselves from the scan
(``batteryct.resources``): a labels file whose header declares 512^3 voxels gets the
model's request, the tiny scans the floor.
"""

import math
import re
import subprocess
import sys

import h5py
import pytest
from test_workflow import GOOD_SCANS, LABEL_SCAN, write_campaign

from conftest import ROOT

pytestmark = pytest.mark.workflow
BIG = ("R1", "big", "big.h5::/labels", "0:pore,1:active,2:binder", 0.4)


def dry_run_jobs(workdir, *args) -> dict:
    """(rule, wildcards) -> {resource: value} from a dry run's job list (threads are checked on Slurm)."""
    cmd = [sys.executable, "-m", "snakemake", "-n", "--snakefile", str(ROOT / "Snakefile")]
    cmd += ["--directory", str(workdir), "--configfile", str(workdir / "config.yaml"), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
    assert proc.returncode == 0, proc.stderr[-4000:]
    jobs = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:\n)", proc.stdout + proc.stderr):
        m = re.match(r"(?:local)?rule (\w+):\n", block)
        if not m:
            continue
        wc = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        res = re.search(r"^\s+resources: (.*)$", block, re.M)
        entry = {}
        for item in res.group(1).split(", ") if res else []:
            key, _, value = item.partition("=")
            entry[key] = int(value) if value.isdigit() else value
        jobs[(m.group(1), wc.group(1) if wc else "")] = entry
    return jobs


@pytest.fixture(scope="module")
def campaign_dir(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("profiles")
    write_campaign(workdir, GOOD_SCANS, label_scans=(LABEL_SCAN, BIG))
    with h5py.File(workdir / "big.h5", "w") as f:  # declared, never written: a few kB on disk
        f.create_dataset("labels", shape=(512, 512, 512), dtype="u1", chunks=(64, 64, 64))
    return workdir


# The model of batteryct.resources by hand: ceil(1.5 * (base_mb + B/voxel * n / 2^20)) MB and
# ceil(2 * (base_s + s/Mvoxel * n / 1e6) / 60) min, floors 1000 MB and 5 min.
N_BIG = 512**3
EXPECTED_BIG = {
    "transport_contacts": (1.5 * (320 + 40 * N_BIG / 2**20), 2 * (8 + 3.0 * N_BIG / 1e6) / 60),
    "transport_value": (1.5 * (360 + 85 * N_BIG / 2**20), 2 * (17 + 19.0 * N_BIG / 1e6) / 60),
}


@pytest.mark.parametrize("profile", ["local", "slurm"])
def test_resources_each_rule_resolves_to(campaign_dir, profile):
    jobs = dry_run_jobs(campaign_dir, "--profile", str(ROOT / "profiles" / profile))
    big = "sample=R1, scan=big"
    for rule, (mem, minutes) in EXPECTED_BIG.items():
        job = jobs[(rule, big)]
        assert (job["mem_mb"], job["runtime"]) == (math.ceil(mem), math.ceil(minutes)), (rule, job)
    assert (jobs[("transport_value", big)]["mem_mb"], jobs[("transport_value", big)]["runtime"]) == (16860, 86)
    # tiny scans: the floors; the virtual 40^3 scans from the config's n_voxels
    for rule in ("simulate_scan", "reconstruct", "segment"):
        job = jobs[(rule, "sample=P1, scan=a")]
        assert (job["mem_mb"], job["runtime"]) == (1000, 5), (rule, job)
    # a rule with fixed resources keeps them under both profiles
    assert jobs[("import_labels", big)]["mem_mb"] == 4000
    # rules without resources of their own get the profile's defaults; the cluster profile's
    # survive (no profiles/default loaded over them) and name no partition
    preview = jobs[("scan_preview", "sample=P1, scan=a")]
    assert "slurm_partition" not in preview
    if profile == "slurm":
        assert (preview["mem_mb"], preview["runtime"]) == (2000, 30)
    else:
        assert "mem_mb" not in preview  # locally, only the rules' own resources


def test_set_resources_raises_one_rule(campaign_dir):
    jobs = dry_run_jobs(
        campaign_dir, "--profile", str(ROOT / "profiles" / "slurm"), "--set-resources", "transport_value:mem_mb=64000"
    )
    assert jobs[("transport_value", "sample=R1, scan=big")]["mem_mb"] == 64000
    assert jobs[("transport_contacts", "sample=R1, scan=big")]["mem_mb"] == math.ceil(
        EXPECTED_BIG["transport_contacts"][0]
    )


def test_no_default_profile_is_auto_loaded():
    assert not (ROOT / "profiles" / "default").exists()
    assert (ROOT / "profiles" / "local" / "config.yaml").is_file()
