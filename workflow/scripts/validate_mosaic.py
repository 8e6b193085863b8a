"""Rule validate_mosaic: stitched positions and 2D particles against the simulated truth."""

import pandas as pd

from batteryct import io, runlog, validation

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
sample = sm.wildcards.sample
with runlog.scan_context(sample, "mosaic", log, job=sm):
    truth = io.read_mosaic_truth(sm.input.truth)
    data = io.read_mosaic(sm.input.truth)
    row = validation.score_mosaic(
        pd.read_parquet(sm.input.tiles),
        pd.read_parquet(sm.input.particles),
        truth,
        data.tiles.shape[1:],
        data.pixel_size_um,
    )
    io.write_table(sm.output.table, pd.DataFrame([{"sample": sample, **row}]))
    log.info(f"mosaic against the virtual scanner's truth: {runlog.summary(row)}")
