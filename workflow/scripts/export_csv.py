"""Rule export_csv: a parquet table → the same table as CSV (Excel, Origin)."""

import pandas as pd

from batteryct import runlog
from batteryct.io import exports

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
table = pd.read_parquet(sm.input.table)
exports.write_csv(sm.output.csv, table)
log.info(f"{sm.input.table}: {len(table)} rows, {table.shape[1]} columns written to {sm.output.csv}")
