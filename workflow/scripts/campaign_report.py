"""Rule campaign_report: all campaign tables and images in one HTML file."""

from pathlib import Path

import pandas as pd

from batteryct import io, report, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
tables = {Path(p).stem.replace("_", " "): pd.read_parquet(p) for p in sm.input.tables}
# header tooltips: the unit and description each table stores (batteryct.columns)
dictionaries = {Path(p).stem.replace("_", " "): io.read_column_dictionary(p) for p in sm.input.tables}
checks = report.suspicious_values(tables)
for check in checks.itertuples():
    where = f"sample {check.sample!r}" + (f", scan {check.scan!r}" if check.scan else "")
    log.warning(f"{check.table}, {where}: {check.column} = {check.value}: {check.check}")
images = {f"{Path(p).parent.name} / {Path(p).stem}": Path(p) for p in runlog.finished(sm.input.previews)}
images.update({f"mosaic {Path(p).stem}": Path(p) for p in runlog.finished(sm.input.mosaics)})
n_checks = f"{len(checks)} value{'s' if len(checks) != 1 else ''} to check"
notes = f"{n_checks} before trusting them (first table)." if len(checks) else "No suspicious values."
tables = {"values to check": checks, **tables}
page = report.render_html("batteryct campaign report", tables, images, notes=notes, dictionaries=dictionaries)
io.atomic_write_bytes(sm.output[0], page.encode("utf-8"))
log.info(f"report with {len(tables)} tables, {len(images)} images and {n_checks}")
