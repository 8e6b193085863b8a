"""Rule data_dictionary: unit and description of every column of every campaign table."""

from pathlib import Path

import pandas as pd

from batteryct import io, report, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
frames = [io.read_column_dictionary(p).assign(table=Path(p).stem) for p in sm.input.tables]
dictionary = pd.concat(frames, ignore_index=True)[["table", "column", "unit", "description"]]
io.write_table(sm.output.table, dictionary)
io.atomic_write_bytes(sm.output.html, report.render_dictionary_html(dictionary).encode("utf-8"))
missing = dictionary[dictionary["description"] == ""]
for row in missing.itertuples():
    log.warning(f"{row.table}: column {row.column} has no description in batteryct.columns")
log.info(f"data dictionary of {len(frames)} tables, {len(dictionary)} columns, {len(missing)} without description")
