"""Rule transport_tables: campaign transport table and network node/throat tables."""

import pandas as pd

from batteryct import io, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
for key in ("transport", "nodes", "throats"):
    paths = sm.input.rows if key == "transport" else sm.input[key]
    frames = [f for f in (pd.read_parquet(p) for p in runlog.finished(paths)) if len(f)]  # failed: failures.parquet
    io.write_table(sm.output[key], pd.concat(frames, ignore_index=True) if frames else pd.DataFrame())
log.info(f"{len(sm.input.rows)} scans")
