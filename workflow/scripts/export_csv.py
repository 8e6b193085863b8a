"""Rule export_csv: each campaign parquet table → the same table as CSV (Excel, Origin)."""

import pandas as pd

from batteryct import runlog
from batteryct.io import exports

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
for k, (parquet, csv) in enumerate(zip(sm.input.tables, sm.output.csv, strict=True), start=1):
    table = pd.read_parquet(parquet)
    exports.write_csv(csv, table)
    log.info(f"{k}/{len(sm.output.csv)}: {parquet}: {len(table)} rows and {table.shape[1]} columns written to {csv}")
