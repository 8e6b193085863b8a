"""batteryct init on a folder of Zeiss files written by the test, then the campaign run by Snakemake."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from zeiss_files import write_zeiss

from batteryct import init, io, mosaic, simulate
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
    # a 2 x 2 radiograph mosaic, one image per tile, stage positions of the tile centres
    mos = mosaic.simulate_mosaic(
        seed=5, n_rows=2, n_cols=2, tile_px=64, pixel_size_um=0.512, overlap_fraction=0.2,
        stage_error_px=1.0, gain_drift=0.02, flat_counts=3000, particles_per_tile=8,
    )  # fmt: skip
    centre = mos.stage_position_um + (64 - 1) / 2 * 0.512
    xyz = np.stack([centre[:, 1], centre[:, 0], np.zeros(len(centre))], axis=1)
    write_zeiss(folder / "overview_mosaic.xrm", mos.tiles, pixel_size_um=0.512, positions_um=xyz, mosaic=(2, 2))
    return sim


def test_init_writes_the_campaign(tmp_path, capsys):
    folder = tmp_path / "raw"
    zeiss_folder(folder)
    assert init.main(["init", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "NMC 622 powder (scan 1).txrm: Zeiss .txrm, projections of sample NMC_622_powder_scan_1" in out
    assert "skipped overview.xrm" in out and "kind (powder or electrode) and material" in out
    assert "overview_mosaic.xrm: Zeiss .xrm mosaic, mosaic of sample overview_mosaic" in out
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
    config["rois"]["field_of_view_um"] = 20.0  # the 2 x 2 mosaic is about 59 um wide
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
    # the Zeiss mosaic: stitched, particles detected, tomography fields proposed
    tiles = pd.read_parquet(folder / "results" / "mosaics" / "overview_mosaic_tiles.parquet")
    assert len(tiles) == 4
    rois = pd.read_parquet(folder / "results" / "mosaics" / "overview_mosaic_rois.parquet")
    assert len(rois) >= 1 and (rois["n_particles"] >= 1).all()
