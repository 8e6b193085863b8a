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
for t in truths:
    key, subject = (t["sample"], t["measurement"]), f"{t['sample']}/{t['measurement']}"
    if t["technique"] == "gitt" and "diffusivity" in by_key and key in by_key["diffusivity"].index:
        r = by_key["diffusivity"].loc[key]
        rows.append(
            score_against_truth(
                stage="gitt",
                subject=subject,
                parameter="D_fit_m2_s",
                unit="m2/s",
                truth=t["diffusivity_m2_s"],
                value=r["D_fit_m2_s"],
                ci_low=r["D_fit_ci_low_m2_s"],
                ci_high=r["D_fit_ci_high_m2_s"],
            )  # fmt: skip
        )
        rows.append(
            score_against_truth(
                stage="gitt",
                subject=subject,
                parameter="D_fit_with_size_ci_m2_s",
                unit="m2/s",
                truth=t["diffusivity_m2_s"],
                value=r["D_fit_m2_s"],
                ci_low=r["D_fit_with_size_ci_low_m2_s"],
                ci_high=r["D_fit_with_size_ci_high_m2_s"],
            )  # fmt: skip
        )
        rows.append(
            score_against_truth(
                stage="gitt",
                subject=subject,
                parameter="diffusion_rate_1_s",
                unit="1/s",
                truth=t["diffusivity_m2_s"] / (1e-6 * t["sauter_radius_um"]) ** 2,
                value=r["diffusion_rate_1_s"],
                ci_low=r["diffusion_rate_ci_low_1_s"],
                ci_high=r["diffusion_rate_ci_high_1_s"],
            )  # fmt: skip
        )
        rows.append(
            score_against_truth(
                stage="gitt",
                subject=subject,
                parameter="sauter_radius_um",
                unit="um",
                truth=t["sauter_radius_um"],
                value=r["sauter_radius_um"],
            )  # fmt: skip
        )
        for name in ("D_wh_m2_s", "D_wh_sphere_m2_s"):
            rows.append(
                score_against_truth(
                    stage="gitt",
                    subject=subject,
                    parameter=name,
                    unit="m2/s",
                    truth=t["diffusivity_m2_s"],
                    value=r[name],
                )  # fmt: skip
            )
    if t["technique"] == "eis" and "eis_psd" in by_key and key in by_key["eis_psd"].index:
        r = by_key["eis_psd"].loc[key]
        rows.append(
            score_against_truth(
                stage="eis",
                subject=subject,
                parameter="lognormal_d50_um",
                unit="um",
                truth=t["d50_volume_um"],
                value=r["lognormal_d50_um"],
                ci_low=r["lognormal_d50_ci_low_um"],
                ci_high=r["lognormal_d50_ci_high_um"],
            )  # fmt: skip
        )
        for q in ("d10", "d50", "d90"):
            rows.append(
                score_against_truth(
                    stage="eis",
                    subject=subject,
                    parameter=f"distribution_{q}_um",
                    unit="um",
                    truth=t[f"{q}_volume_um"],
                    value=r[f"distribution_{q}_um"],
                )  # fmt: skip
            )
if "arrhenius" in inputs:
    for _, r in inputs["arrhenius"].iterrows():
        t = next(t for t in truths if t["sample"] == r["sample"] and t["technique"] == "gitt")
        rows.append(
            score_against_truth(
                stage="arrhenius",
                subject=r["sample"],
                parameter="activation_energy_kJ_mol",
                unit="kJ/mol",
                truth=t["activation_energy_kJ_mol"],
                value=r["activation_energy_kJ_mol"],
                ci_low=r["activation_energy_ci_low_kJ_mol"],
                ci_high=r["activation_energy_ci_high_kJ_mol"],
            )  # fmt: skip
        )
        rows.append(
            score_against_truth(
                stage="arrhenius",
                subject=r["sample"],
                parameter="D_ref_m2_s",
                unit="m2/s",
                truth=t["diffusivity_ref_m2_s"],
                value=r["D_ref_m2_s"],
                ci_low=r["D_ref_ci_low_m2_s"],
                ci_high=r["D_ref_ci_high_m2_s"],
            )  # fmt: skip
        )
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
