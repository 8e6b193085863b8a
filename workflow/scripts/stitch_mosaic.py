"""Rule stitch_mosaic: tiles → stitched overview, PNG, tile positions and 2D particles."""

import numpy as np
import pandas as pd

from batteryct import __version__, io, mosaic, runlog
from batteryct.provenance import params_hash

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
p = dict(sm.params.stitch)
sample = sm.params.sample["sample"]
with runlog.scan_context(sample, "mosaic", log, job=sm):
    if not sm.input.mosaic:
        raise io.InputDataError(f"{sm.params.sample['mosaic']}: mosaic file does not exist")
    data = io.read_mosaic(sm.input.mosaic)
    res = mosaic.stitch(
        data.tiles,
        data.stage_position_um,
        data.pixel_size_um,
        data.n_rows,
        data.n_cols,
        search_px=p["search_px"],
        min_ncc=p["min_ncc"],
        max_residual_px=p["max_residual_px"],
        grid=data.grid,
    )
    image = res.mosaic
    det = mosaic.detect_particles(
        image,
        data.pixel_size_um,
        threshold=p["detect_threshold"],
        edge_k_sigma=p["edge_k_sigma"],
        seed_k_sigma=p["seed_k_sigma"],
        min_diameter_um=p["min_diameter_um"],
    )
    particles = det.particles
    io.write_volume(
        sm.output.mosaic,
        {"mosaic": image},
        {
            "pixel_size_um": data.pixel_size_um,
            "origin_px": np.asarray(res.origin_px, float),
            "n_rows": data.n_rows,
            "n_cols": data.n_cols,
            "rms_residual_px": res.rms_residual_px,
            "software_version": __version__,
            "params_hash": params_hash(p),
            "sample": sample,
        },
    )
    io.write_png(sm.output.overview, mosaic.to_uint8(image))
    io.write_table(sm.output.tiles, res.positions.assign(sample=sample))
    io.write_table(sm.output.particles, particles.assign(sample=sample))
    d = particles["diameter_um"].to_numpy()
    summary = {
        "sample": sample,
        "n_tiles": len(data.tiles),
        "pixel_size_um": data.pixel_size_um,
        "n_pairs_used": res.n_pairs_used,
        "n_pairs": res.n_pairs,
        "rms_residual_px": res.rms_residual_px,
        "mosaic_area_um2": float(np.count_nonzero(np.isfinite(image))) * data.pixel_size_um**2,
        "n_particles_2d": len(particles),
        "projected_diameter_median_um": float(np.median(d)) if d.size else float("nan"),
        "projected_diameter_mean_um": float(np.mean(d)) if d.size else float("nan"),
    }
    io.write_table(sm.output.summary, pd.DataFrame([summary]))
    log.info(
        f"stitched: {summary}; detection: I0 {det.i0}, noise sigma {det.noise_sigma}, otsu {det.otsu}, "
        f"threshold {det.threshold}, removed {det.n_removed_border} at the border and {det.n_removed_small} small"
    )
