"""Rule transport_validation: each virtual electrode's transport metrics against those of its truth."""

import pandas as pd

from batteryct import io, runlog
from batteryct.validation import transport_validation_rows

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
measured = pd.read_parquet(sm.input.transport).set_index(["sample", "scan"])
rows = []
for path in sm.input.truth:
    truth = pd.read_parquet(path).iloc[0].to_dict()
    key = (truth["sample"], truth["scan"])
    if key not in measured.index:
        log.warning(f"{key[0]}/{key[1]}: no measured transport row")
        continue
    for r in transport_validation_rows(measured.loc[key].to_dict(), truth):
        rows.append({"sample": key[0], "scan": key[1], **r})
table = pd.DataFrame(rows)
io.write_table(sm.output.table, table)
with_ci = table.dropna(subset=["truth_in_interval"]) if len(table) else table
log.info(
    f"{len(table)} (scan, metric) rows; truth inside the 95 % interval for "
    f"{int(with_ci['truth_in_interval'].sum()) if len(with_ci) else 0} of {len(with_ci)}"
)
