"""Rule mosaic_figure: the stitched overview with tile grid, detected particles and scale bar."""

import pandas as pd

from batteryct import io, runlog
from batteryct.figures import mosaic
from batteryct.io.figures import write_figure

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
sample = sm.wildcards.sample
with runlog.scan_context(sample, "mosaic", log, job=sm):
    image, attrs = io.read_volume(sm.input.mosaic, "mosaic")
    tiles = pd.read_parquet(sm.input.tiles)
    particles = pd.read_parquet(sm.input.particles)
    pixel = float(attrs["pixel_size_um"])
    fig = mosaic.mosaic_overview(image, pixel, tiles, attrs.get("origin_px", (0.0, 0.0)), particles, title=sample)
    write_figure(sm.output.overview, fig)
    log.info(f"mosaic {sample}: {image.shape} px of {pixel:.4g} µm, {len(tiles)} tiles, {len(particles)} particles")
