"""Rule simulate_calendering: the virtual calender's sheet (all series), its laws' truth and exact values.

The virtual CT metrics of :func:`batteryct.calendering.simulate_calendering_series` are not
used: the CT metrics of the fits come from the pipeline's scans (rule calendering_ct), so
the truth of the laws fitted to them (Bruggeman, coordination, d32, CT conductivity) is not
the calender's and is left out of the truth table.
"""

import pandas as pd

from batteryct import io, runlog
from batteryct.calendering import simulate_calendering_series

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
# models fitted to the CT metrics: their truth is the virtual calender's CT, which is not used
CT_MODELS = {"bruggeman", "coordination_arzt", "sauter_d32_pressure", "conductivity_power_law_ct"}

if not sm.params.series:
    raise ValueError("simulate_calendering: the config has no simulate.calendering series")
sheets, truths, exacts = [], [], []
for name, spec in sm.params.series.items():
    spec = dict(spec or {})
    renames = {f"{name}-{key}": new for key, new in (spec.pop("samples", None) or {}).items()}
    v = simulate_calendering_series(series=name, **spec)
    unknown = sorted(set(renames) - set(v.sheet["sample"]))
    if unknown:
        raise ValueError(
            f"simulate.calendering[{name!r}].samples: {[k.removeprefix(name + '-') for k in unknown]} are not "
            f"among the generated samples {[s.removeprefix(name + '-') for s in v.sheet['sample']]}"
        )
    sheet = v.sheet.assign(sample=v.sheet["sample"].replace(renames))
    exact = v.exact.assign(sample=v.exact["sample"].replace(renames))
    exact.insert(1, "series", name)
    truth = v.truth[~v.truth["model"].isin(CT_MODELS)]
    truth.insert(0, "series", name)
    sheets.append(sheet)
    exacts.append(exact)
    truths.append(truth)
    law = truth["model"].iloc[0]
    log.info(
        f"series {name}: {len(sheet)} samples, law {law}"
        + "".join(f"; {old.removeprefix(name + '-')} -> {new}" for old, new in renames.items())
    )

sheet = pd.concat(sheets, ignore_index=True)
dup = sheet["sample"][sheet["sample"].duplicated()].unique().tolist()
if dup:
    raise ValueError(f"simulate_calendering: sample ids {dup} occur more than once across the series")
sheet = sheet[["sample", *[c for c in sheet.columns if c != "sample"]]]
with io.atomic_path(sm.output.sheet) as tmp:
    sheet.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
io.write_table(sm.output.truth, pd.concat(truths, ignore_index=True))
io.write_table(sm.output.exact, pd.concat(exacts, ignore_index=True))
log.info(f"{len(sheet)} samples in {len(sheets)} series -> {sm.output.sheet}")
