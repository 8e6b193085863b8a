"""Rule validate_particles: particle statistics of a simulated powder against its truth."""

import pandas as pd

from batteryct import io, runlog, validation

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
sample, scan = sm.wildcards.sample, sm.wildcards.scan
with runlog.scan_context(sample, scan, log, job=sm):
    row = validation.score_particles(
        pd.read_parquet(sm.input.particles), pd.read_parquet(sm.input.voids), pd.read_parquet(sm.input.truth)
    )
    io.write_table(sm.output.table, pd.DataFrame([{"sample": sample, "scan": scan, **row}]))
    log.info(f"particles against the virtual scanner's truth: {runlog.summary(row)}")
