"""Rule calendering_ct: the CT metrics of the calendering fits, one row per sample.

Porosity, tortuosity factors and through-plane conductivity (with their 95 % intervals)
come from the transport table, ``sauter_d32_um`` from the PSD table (``d32_um``), the
coordination number from the active particle partition of the scan (mean over the
particles that do not touch the box, with a t interval of that mean). A sample with
several transport scans is represented by its first one in the scans sheet.
"""

import ast
import math

import numpy as np
import pandas as pd
from scipy import stats

from batteryct import io, runlog
from batteryct.calendering import coordination_number

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
TRANSPORT = ["porosity", "tortuosity_factor_z", "tortuosity_factor_y", "tortuosity_factor_x", "conductivity_z_S_m"]

transport = pd.read_parquet(sm.input.transport).set_index(["sample", "scan"])
psd = pd.read_parquet(sm.input.psd).set_index("sample")
keys = [tuple(k) for k in sm.params.scans]
if len(keys) != len(sm.input.contacts):
    raise ValueError(f"calendering_ct: {len(keys)} scans but {len(sm.input.contacts)} contacts files")
first = {}
for key, path in zip(keys, sm.input.contacts):
    if key[0] in first:
        log.info(f"{key[0]}: several transport scans, using the first in the scans sheet ({first[key[0]][0][1]})")
        continue
    first[key[0]] = (key, path)


def interval(mean, values):
    """95 % t interval of the mean of ``values``."""
    n = values.size
    if n < 2:
        return math.nan, math.nan
    half = float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return mean - half, mean + half


rows = []
for sample, ((_, scan), path) in first.items():
    if (sample, scan) not in transport.index:
        raise ValueError(f"{sample}/{scan}: no row in {sm.input.transport}")
    t = transport.loc[(sample, scan)]
    row = {"sample": sample, "scan": scan}
    for name in TRANSPORT:
        row[name] = float(t[name])
        for end in ("ci_low", "ci_high"):
            row[f"{name}_{end}"] = float(t[f"{name}_{end}"]) if f"{name}_{end}" in t.index else math.nan
    row["sauter_d32_um"] = float(psd.loc[sample, "d32_um"]) if sample in psd.index else math.nan
    if not math.isfinite(row["sauter_d32_um"]):
        log.warning(f"{sample}: no d32 in {sm.input.psd}")
    voxel = tuple(float(t[f"voxel_size_{a}_um"]) for a in "zyx")
    part = io.read_contact_partition(path, ast.literal_eval(str(t["box_shape"])))
    z = z_lo = z_hi = z_all = math.nan
    n_particles = n_interior = 0
    if part.instances is None:
        log.warning(f"{sample}/{scan}: no active phase, no coordination number")
    else:
        r = coordination_number(part.instances, voxel)
        z, z_all, n_particles, n_interior = r.mean_interior, r.mean_all, r.n_particles, r.n_interior
        z_lo, z_hi = interval(z, r.coordination[~r.touches_boundary].astype(float))
    row.update(
        coordination_number=z,
        coordination_number_ci_low=z_lo,
        coordination_number_ci_high=z_hi,
        coordination_number_all=z_all,
        n_particles=int(n_particles),
        n_interior_particles=int(n_interior),
    )
    rows.append(row)
    log.info(
        f"{sample}/{scan}: porosity {row['porosity']:.4g}, tau_z {row['tortuosity_factor_z']:.4g}, "
        f"d32 {row['sauter_d32_um']:.4g} um, coordination {z:.4g} [{z_lo:.4g}, {z_hi:.4g}] "
        f"({n_interior} of {n_particles} particles interior)"
    )

columns = ["sample", "scan"]
columns += [f"{n}{s}" for n in TRANSPORT for s in ("", "_ci_low", "_ci_high")]
columns += ["sauter_d32_um", "coordination_number", "coordination_number_ci_low", "coordination_number_ci_high"]
columns += ["coordination_number_all", "n_particles", "n_interior_particles"]
table = pd.DataFrame(rows, columns=columns)
table[columns[2:-2]] = table[columns[2:-2]].astype(np.float64)
io.write_table(sm.output.table, table)
