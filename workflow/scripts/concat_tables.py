"""Rules *_table: concatenate per-scan parquet tables into one campaign table."""

import pandas as pd

from batteryct import io, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
tables = [pd.read_parquet(p) for p in runlog.finished(sm.input.tables)]  # failed scans: failures.parquet
table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
io.write_table(sm.output.table, table)
log.info(f"{len(table)} rows from {len(tables)} tables → {sm.output.table}")
