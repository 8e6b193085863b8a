"""Rule acceptance: PSD table + sample densities → accept/reject per batch, with reasons."""

import pandas as pd

from batteryct import acceptance, io, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
samples = pd.DataFrame.from_records(sm.params.samples)
# Batch acceptance is for powders (the kinds analysed particle by particle); the PSD table
# also holds electrodes.
powders = set(samples.loc[samples["kind"].isin(sm.params.kinds), "sample"])
psd_rows = pd.read_parquet(sm.input.psd)
psd_rows = psd_rows[psd_rows["sample"].isin(powders)].reset_index(drop=True)
criteria = acceptance.AcceptanceCriteria.from_mapping(sm.params.acceptance)
table = acceptance.acceptance_table(psd_rows, samples, criteria)
io.write_table(sm.output.table, table)
for row in table.itertuples():
    log.info(f"{row.sample}: {'ACCEPTED' if row.accepted else 'REJECTED'} - {row.reasons}")
