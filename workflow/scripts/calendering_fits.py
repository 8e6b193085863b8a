"""Rule calendering_fits: every calendering law of the sheet (and the CT metrics), series by series."""

import pandas as pd

from batteryct import io, runlog
from batteryct.calendering import CalenderingFits, fit_calendering_series
from batteryct.sheets import load_sheet, schema_path

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
sheet = load_sheet(sm.input.sheet, schema_path("calendering"), ("sample",)).reset_index(drop=True)
ct = pd.read_parquet(sm.input.ct) if sm.input.get("ct") else None
if ct is not None:
    unknown = sorted(set(sheet["sample"]) - set(ct["sample"]))
    log.info(f"CT metrics for {sorted(set(sheet['sample']) & set(ct['sample']))}; sheet samples without: {unknown}")
modulus = sm.params.contact_modulus_GPa
options = dict(
    contact_modulus_Pa=None if modulus is None else float(modulus) * 1e9,
    thickness_error_um=float(sm.params.thickness_error_um),
    mass_loading_error_mg_cm2=float(sm.params.mass_loading_error_mg_cm2),
    geometry=sm.params.geometry,
)
# One call per series, without the columns that series leaves empty: the library reads a
# composition column that exists but is empty in a series as missing, so a sheet mixing a
# pycnometer series with a composition series fails in one call.
parts = [
    fit_calendering_series(
        rows.dropna(axis=1, how="all"),
        ct,
        sheet_name=f"{sm.input.sheet} (series {name}, rows counted within it)",
        **options,
    )
    for name, rows in sheet.groupby("series", sort=False)
]
samples = pd.concat([f.samples for f in parts], ignore_index=True)
for name in sorted({c for f in parts for c, t in f.samples.dtypes.items() if pd.api.types.is_bool_dtype(t)}):
    samples[name] = samples[name].astype("boolean").fillna(False).astype(bool)  # False where CT is missing
fits = CalenderingFits(
    parameters=pd.concat([f.parameters for f in parts], ignore_index=True),
    samples=samples,
    selected_law={k: v for f in parts for k, v in f.selected_law.items()},
    notes=tuple(dict.fromkeys(n for f in parts for n in f.notes)),
)
io.write_table(sm.output.parameters, fits.parameters)
io.write_table(sm.output.samples, fits.samples)
for series, law in fits.selected_law.items():
    log.info(f"series {series}: compaction law selected by AICc: {law}")
for note in fits.notes:
    log.info(f"note: {note}")
for row in fits.parameters.itertuples():
    log.info(
        f"{row.series} {row.model} {row.parameter} = {row.value:.5g} [{row.ci_low:.5g}, {row.ci_high:.5g}] "
        f"{row.unit} (n={row.n}) {row.flags}"
    )
