"""Rule transport: the scan's transport row, with 95 % intervals from its posterior samples."""

import pandas as pd

from batteryct import io, runlog
from batteryct.electrode import with_intervals

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
scan = sm.params.scan
with runlog.scan_context(scan["sample"], scan["scan"], log, job=sm):
    row = pd.read_parquet(sm.input.value).iloc[0].to_dict()
    ids = {
        k: row.pop(k)
        for k in ("sample", "scan", "box_shape") + tuple(k for k in list(row) if k.startswith("voxel_size"))
    }
    if sm.input.samples:
        table = pd.concat([pd.read_parquet(p) for p in sm.input.samples], ignore_index=True)
        samples = table.sort_values("sample_index").drop(columns="sample_index").to_dict("records")
        row = with_intervals(row, samples)
        log.info(f"{len(samples)} uncertainty samples")
    else:
        log.info("no posteriors (imported labels) or uncertainty_samples = 0: no intervals")
    io.write_table(sm.output.row, pd.DataFrame([{**ids, **row}]))
