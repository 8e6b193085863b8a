"""Rule particle_tables: campaign particle/void tables, powder summary (Table 1) and PSD."""

import numpy as np
import pandas as pd

from batteryct import io, particles, psd, runlog, stereology

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
p = dict(sm.params.particles)
q = dict(sm.params.psd)


def concat(paths):
    frames = [pd.read_parquet(x) for x in runlog.finished(paths)]  # failed scans: failures.parquet
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


table = concat(sm.input.particles)
voids = concat(sm.input.voids)
sections = concat(sm.input.sections)
samples = (
    sorted(set(pd.concat([pd.read_parquet(x)[["sample"]] for x in runlog.finished(sm.input.sections)])["sample"]))
    if runlog.finished(sm.input.sections)
    else []
)
summaries = []
for sample in samples:
    ps = table[table["sample"] == sample] if len(table) else table
    vs = voids[voids["sample"] == sample] if len(voids) else voids
    summaries.append(particles.powder_summary(ps, vs, sample, reference_range_miles=p["reference_range_miles"]))
summary = pd.concat(summaries, ignore_index=True) if summaries else pd.DataFrame()

psd_rows = psd.psd_table(table, **q) if len(table) else pd.DataFrame({"sample": samples})
# Stereology: unfold 2D section circles (Schwartz-Saltykov) and compare with the 3D PSD.
extra = []
for sample in psd_rows["sample"]:
    d2 = sections.loc[sections["sample"] == sample, "section_diameter_um"].to_numpy() if len(sections) else np.array([])
    in3d = table[(table["sample"] == sample) & ~table["touches_border"]] if len(table) else table
    mean3d = float(in3d["equivalent_diameter_um"].mean()) if len(in3d) else float("nan")
    if d2.size >= 10:
        edges, values = stereology.schwartz_saltykov(d2, p["stereology_bins"], float(d2.max()) * 1.0001)
        mean2d = stereology.saltykov_mean_diameter_um(edges, values)
    else:
        mean2d = float("nan")
    extra.append(
        {
            "stereology_n_sections": int(d2.size),
            "stereology_mean_diameter_um": mean2d,
            "mean_diameter_3d_um": mean3d,
            "stereology_relative_error": mean2d / mean3d - 1.0,
        }
    )
psd_rows = pd.concat([psd_rows.reset_index(drop=True), pd.DataFrame(extra)], axis=1)

io.write_table(sm.output.particles, table)
io.write_table(sm.output.voids, voids)
io.write_table(sm.output.summary, summary)
io.write_table(sm.output.psd, psd_rows)
log.info(f"{len(table)} particles, {len(voids)} voids, {len(samples)} samples")
