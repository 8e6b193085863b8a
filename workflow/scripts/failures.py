"""Rule failures: the campaign's failed scans (and mosaics), one row each, from their failure records."""

import pandas as pd

from batteryct import io, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
COLUMNS = ["sample", "scan", "failed_rule", "error", "log"]
rows = {}
for path in sm.input.outputs:
    record = runlog.read_failure(path)
    if record is not None:
        key = (record.get("sample", ""), record.get("scan", ""), record.get("rule", ""))
        rows.setdefault(
            key, {**dict(zip(COLUMNS[:3], key)), "error": record.get("error", ""), "log": record.get("log", "")}
        )
table = pd.DataFrame([rows[k] for k in sorted(rows)], columns=COLUMNS)
io.write_table(sm.output.table, table)
for row in table.itertuples():
    log.warning(f"failed: sample {row.sample!r}, scan {row.scan!r} in rule {row.failed_rule}: {row.error}")
log.info(f"{len(table)} failed scans among {len(sm.input.outputs)} per-scan outputs")
