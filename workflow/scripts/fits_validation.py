"""Rule fits_validation: every fitted parameter of the demo against the virtual cycler's and calender's truth."""

import json
from pathlib import Path

import pandas as pd

from batteryct import io, runlog
from batteryct.electrochem import score_against_truth

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
rows = []
truths = [json.loads(Path(f).read_text()) for f in sm.input.truth]
inputs = {k: pd.read_parquet(v) for k, v in sm.input.items() if k in ("diffusivity", "arrhenius", "eis_psd")}
by_key = {name: t.set_index(["sample", "measurement"]) for name, t in inputs.items() if name != "arrhenius" and len(t)}
# (parameter, unit, truth of a truth record, table column of the value, interval columns or None)
GITT = [
    ("D_fit_m2_s", "m2/s", lambda t: t["diffusivity_m2_s"], "D_fit_m2_s", ("D_fit_ci_low_m2_s", "D_fit_ci_high_m2_s")),
    ("D_fit_with_size_ci_m2_s", "m2/s", lambda t: t["diffusivity_m2_s"], "D_fit_m2_s",
     ("D_fit_with_size_ci_low_m2_s", "D_fit_with_size_ci_high_m2_s")),
    ("diffusion_rate_1_s", "1/s", lambda t: t["diffusivity_m2_s"] / (1e-6 * t["sauter_radius_um"]) ** 2,
     "diffusion_rate_1_s", ("diffusion_rate_ci_low_1_s", "diffusion_rate_ci_high_1_s")),
    ("sauter_radius_um", "um", lambda t: t["sauter_radius_um"], "sauter_radius_um", None),
    ("D_wh_m2_s", "m2/s", lambda t: t["diffusivity_m2_s"], "D_wh_m2_s", None),
    ("D_wh_sphere_m2_s", "m2/s", lambda t: t["diffusivity_m2_s"], "D_wh_sphere_m2_s", None),
]  # fmt: skip
EIS = [
    ("lognormal_d50_um", "um", lambda t: t["d50_volume_um"], "lognormal_d50_um",
     ("lognormal_d50_ci_low_um", "lognormal_d50_ci_high_um")),
    *[(f"distribution_{q}_um", "um", lambda t, q=q: t[f"{q}_volume_um"], f"distribution_{q}_um", None)
      for q in ("d10", "d50", "d90")],
]  # fmt: skip
ARRHENIUS = [
    ("activation_energy_kJ_mol", "kJ/mol", lambda t: t["activation_energy_kJ_mol"], "activation_energy_kJ_mol",
     ("activation_energy_ci_low_kJ_mol", "activation_energy_ci_high_kJ_mol")),
    ("D_ref_m2_s", "m2/s", lambda t: t["diffusivity_ref_m2_s"], "D_ref_m2_s",
     ("D_ref_ci_low_m2_s", "D_ref_ci_high_m2_s")),
]  # fmt: skip


def score(stage, subject, specs, truth, row):
    for parameter, unit, true_value, column, interval in specs:
        lo, hi = (row[interval[0]], row[interval[1]]) if interval else (None, None)
        rows.append(
            score_against_truth(
                stage=stage,
                subject=subject,
                parameter=parameter,
                unit=unit,
                truth=true_value(truth),
                value=row[column],
                ci_low=lo,
                ci_high=hi,
            )  # fmt: skip
        )


for t in truths:
    key, subject = (t["sample"], t["measurement"]), f"{t['sample']}/{t['measurement']}"
    table, specs = {"gitt": ("diffusivity", GITT), "eis": ("eis_psd", EIS)}[t["technique"]]
    if table in by_key and key in by_key[table].index:
        score(t["technique"], subject, specs, t, by_key[table].loc[key])
if "arrhenius" in inputs:
    for _, r in inputs["arrhenius"].iterrows():
        t = next(t for t in truths if t["sample"] == r["sample"] and t["technique"] == "gitt")
        score("arrhenius", r["sample"], ARRHENIUS, t, r)
if sm.input.get("calendering_truth"):
    truth = pd.read_parquet(sm.input.calendering_truth)
    # the CT-side laws of the virtual calender describe its own virtual CT metrics, which the
    # workflow does not use (its CT metrics are measured on the scans): only sheet-side laws
    truth = truth[truth["model"].isin(sm.params.calendering_models)]
    fits = pd.read_parquet(sm.input.calendering)
    joined = fits.merge(truth, on=["series", "model", "parameter"], suffixes=("", "_truth"))
    for _, r in joined.iterrows():
        rows.append(
            score_against_truth(
                stage=f"calendering:{r['model']}",
                subject=r["series"],
                parameter=r["parameter"],
                unit=r["unit"],
                truth=r["value_truth"],
                value=r["value"],
                ci_low=r["ci_low"],
                ci_high=r["ci_high"],
            )  # fmt: skip
        )
table = pd.DataFrame(rows)
io.write_table(sm.output.table, table)
if len(table):
    scored = table.dropna(subset=["inside_ci"])
    log.info(f"{len(table)} rows; truth inside the 95 % interval for {int(scored['inside_ci'].sum())} of {len(scored)}")
