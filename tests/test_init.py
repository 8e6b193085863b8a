"""batteryct init on a folder of Zeiss files written by the test, then the campaign run by Snakemake."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from zeiss_files import write_zeiss

from batteryct import init, io, simulate
from conftest import ROOT

SPEC = {
    "phantom": "powder",
    "seed": 7,
    "n_voxels": 32,
    "voxel_size_um": 0.512,
    "oversample": 1,
    "n_angles": 41,
    "angle_range_deg": [-90.0, 90.0],
    "center_offset_px": 0.3,
    "flat_counts": 20000,
    "dark_counts": 100,
    "n_bad_columns": 0,
    "zinger_fraction": 0.0,
    "attenuation_per_um": {"active": 0.047, "binder": 0.0094, "support": 0.004},
    "phantom_params": {"n_particles": 6, "median_diameter_um": 4.0, "diameter_range_um": [3.0, 6.0]},
}


def zeiss_folder(folder):
    """A .txrm tomography, a .txm reconstruction and a single .xrm radiograph."""
    sim = simulate.simulate_scan(SPEC)
    folder.mkdir()
    reference = np.round(sim.flats.mean(axis=0)).astype(np.uint16)
    write_zeiss(
        folder / "NMC 622 powder (scan 1).txrm", sim.projections, angles_deg=sim.theta_deg,
        pixel_size_um=sim.pixel_size_um, reference=reference, exposure_s=1.0, reference_exposure_s=1.0,
    )  # fmt: skip
    grey = np.round(sim.mu_truth_per_um / sim.mu_truth_per_um.max() * 60000).astype(np.uint16)
    write_zeiss(folder / "electrode-recon.txm", grey, pixel_size_um=0.512)
    write_zeiss(folder / "overview.xrm", sim.projections[:1], pixel_size_um=0.512)
    return sim


def test_init_writes_the_campaign(tmp_path, capsys):
    folder = tmp_path / "raw"
    zeiss_folder(folder)
    assert init.main(["init", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "NMC 622 powder (scan 1).txrm: Zeiss .txrm, projections of sample NMC_622_powder_scan_1" in out
    assert "skipped overview.xrm" in out and "kind (powder or electrode) and material" in out
    scans = pd.read_csv(folder / "scans.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert scans.to_dict("records") == [
        {"sample": "NMC_622_powder_scan_1", "scan": "s01", "projections": "NMC 622 powder (scan 1).txrm",
         "volume": "", "pixel_size_um": "0.512"},
        {"sample": "electrode-recon", "scan": "s01", "projections": "", "volume": "electrode-recon.txm",
         "pixel_size_um": "0.512"},
    ]  # fmt: skip
    config = yaml.safe_load((folder / "campaign.yaml").read_text())
    assert "simulate" not in config and "electrochem" not in config
    assert config["samples"] == "samples.tsv" and config["raw_data"] == {"dark_counts": 0.0}
    assert init.main(["init", str(folder)]) == 1  # does not overwrite without --force


@pytest.mark.workflow
def test_zeiss_folder_from_init_to_a_finished_run(tmp_path):
    folder = tmp_path / "raw"
    sim = zeiss_folder(folder)
    subprocess.run([sys.executable, "-m", "batteryct.init", "init", str(folder)], check=True, capture_output=True)
    config = yaml.safe_load((folder / "campaign.yaml").read_text())
    config["raw_data"]["dark_counts"] = 100.0  # the user fills in the detector's dark level
    config["psd"]["min_particles"] = 3
    (folder / "campaign.yaml").write_text(yaml.safe_dump(config))
    # the demo config is also loaded when snakemake runs in the repository: copy it beside the
    # campaign so its virtual scans and model-fit sheets would be inherited if not dropped
    (folder / "config").mkdir()
    (folder / "config" / "config.yaml").write_text((ROOT / "config" / "config.yaml").read_text())
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(folder)]
    cmd += ["--configfile", str(folder / "campaign.yaml"), "--cores", "2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert "the demo's 'simulate' section is not used" in proc.stderr
    assert not (folder / "results" / "simulated").exists()
    assert (folder / "results" / "report.html").is_file()
    metrics = pd.read_parquet(folder / "results" / "tables" / "scan_metrics.parquet")
    assert sorted(metrics["sample"]) == ["NMC_622_powder_scan_1", "electrode-recon"]
    volume, attrs = io.read_volume(folder / "results" / "volumes" / "NMC_622_powder_scan_1" / "s01.h5")
    assert attrs["voxel_size_um"] == pytest.approx(0.512, rel=1e-6)
    assert np.corrcoef(volume.ravel(), sim.mu_truth_per_um.ravel())[0, 1] > 0.8
    log = (folder / "results" / "logs" / "reconstruct" / "NMC_622_powder_scan_1" / "s01.log").read_text()
    assert "constant dark level of 100 counts" in log
    imported, _ = io.read_volume(folder / "results" / "volumes" / "electrode-recon" / "s01.h5")
    assert imported.shape == (32, 32, 32)
