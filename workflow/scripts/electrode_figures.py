"""Rule electrode_figures: concentration field of a τ solve and the pore network of one electrode scan."""

from functools import partial

import numpy as np
import pandas as pd

from batteryct import io, label_codes, runlog, transport
from batteryct.figures import electrode
from batteryct.fov import box_roi
from batteryct.io.figures import write_figure

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
sample, scan = sm.wildcards.sample, sm.wildcards.scan
name = f"{sample} / {scan}"
with runlog.scan_context(sample, scan, log, job=sm):
    box = io.read_transport_box(
        sm.input.labels, partial(box_roi, radius_fraction=sm.params.roi_radius_fraction), posteriors=False
    )
    labels = box.labels
    # The field is not stored by the transport jobs: solve again on a centred sub-box of at
    # most max_box_voxels across (all z), which takes a fraction of a second.
    n = int(sm.params.max_box_voxels)
    ny, nx = labels.shape[1:]
    y0, x0 = max((ny - n) // 2, 0), max((nx - n) // 2, 0)
    sub = labels[:, y0 : y0 + n, x0 : x0 + n]
    pore = label_codes.phase_masks(sub)["pore"]
    voxel = box.voxel_size_um
    result = transport.tortuosity(pore, axis=0, voxel_size_um=voxel, rtol=sm.params.rtol, return_potential=True)
    field = result["potential"]
    k = sub.shape[1] // 2
    plane = field[:, k, :] if field is not None else np.zeros(sub[:, k, :].shape)
    h = float(voxel if np.isscalar(voxel) else voxel[-1])
    title = f"{name}: sub-box {sub.shape} voxels, plane y = {k}"
    write_figure(
        sm.output.concentration,
        electrode.concentration_slice(plane, pore[:, k, :], h, tau=result["tortuosity_factor"], title=title),
    )
    log.info(
        f"{name}: τ_z of the {sub.shape} sub-box {result['tortuosity_factor']:.4g} "
        f"({result['iterations']} iterations, residual {result['residual']:.2g})"
    )
    nodes = pd.read_parquet(sm.input.nodes)
    throats = pd.read_parquet(sm.input.throats)
    write_figure(sm.output.network, electrode.pore_network(nodes, throats, title=name))
    log.info(f"{name}: network of {len(nodes)} pores and {len(throats)} throats")
