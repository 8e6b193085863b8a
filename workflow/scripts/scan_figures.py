"""Rule scan_figures: orthogonal slices, histogram, centre check and sinograms of one scan."""

import json

import numpy as np

from batteryct import fov, io, recon, runlog
from batteryct.figures import scan as figs
from batteryct.io.figures import write_figure

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
s = sm.params.scan
p = sm.params.recon
name = f"{s['sample']} / {s['scan']}"
with runlog.scan_context(s["sample"], s["scan"], log, job=sm):
    labels, seg = io.read_volume(sm.input.labels, "labels")
    voxel = io.voxel_size_um(seg)
    voxel = float(voxel if np.isscalar(voxel) else voxel[-1])
    volume, vol = io.read_volume(sm.input.volume, "volume") if sm.input.get("volume") else (None, {})
    imported = seg.get("roi") == "box"
    box = None if imported else fov.box_roi(labels.shape, sm.params.roi_radius_fraction)
    radius = None if imported else sm.params.roi_radius_fraction * (min(labels.shape[1:]) - 1) / 2
    write_figure(
        sm.output.slices,
        figs.orthogonal_slices(volume, labels, voxel, transport_box=box, metrics_radius_px=radius, title=name),
    )
    log.info(f"slices of {name}: {labels.shape} voxels of {voxel:.4g} µm")
    if sm.output.get("histogram"):
        inside = fov.fov_cylinder_mask(labels.shape, float(seg.get("fov_radius_fraction", 0.97)))
        counts = json.loads(seg.get("label_counts", "{}"))
        total = sum(counts.values()) or 1
        if "gmm" in seg:  # electrodes: three classes with their own widths
            gmm = json.loads(seg["gmm"])
            code = {"pore": "0", "binder": "3", "active": "1"}
            classes = [
                (c, m, sd, counts.get(code[c], 0) / total)
                for c, m, sd in zip(gmm["classes"], gmm["means"], gmm["stds"])
            ]
            thresholds = list(json.loads(seg["thresholds"]))
        else:  # powders: pore and solid levels with the noise sigma
            means = json.loads(seg.get("class_means", "{}"))
            sigma = float(seg.get("sigma", "nan"))
            pore_weight = (counts.get("0", 0) + counts.get("2", 0)) / total
            classes = [
                ("pore", means.get("0", np.nan), sigma, pore_weight),
                ("solid", means.get("1", np.nan), sigma, 1 - pore_weight),
            ]
            thresholds = [float(seg["threshold"])] if "threshold" in seg else []
        write_figure(
            sm.output.histogram, figs.grey_histogram(volume[inside], classes=classes, thresholds=thresholds, title=name)
        )
        levels = ", ".join(f"{t:.4g}" for t in thresholds)
        log.info(f"histogram of {int(inside.sum())} voxels in the FOV, thresholds {levels} 1/µm")
    if sm.output.get("center"):
        data = io.read_projections(
            s["projections"], pixel_size_um=s["pixel_size_um"], dark_counts=sm.params.dark_counts
        )
        row = data.projections.shape[1] // 2
        rows = slice(max(row - 2, 0), row + 3)  # the ring filter sees a few rows, as in the job
        proj = data.projections[:, rows]
        if p["zinger_threshold"]:
            proj, _ = recon.remove_zingers(proj, threshold=p["zinger_threshold"])
        li, _ = recon.flat_dark_normalize(proj, data.flats[:, rows], data.darks[:, rows], p["min_transmission"])
        after = li
        if p["ring_filter_size"] and p["ring_filter_size"] > 1:
            if p["ring_method"] == "profile":
                after, _ = recon.remove_rings_profile(li, size=int(p["ring_filter_size"]))
            else:
                after = recon.remove_rings_sorting(li, size=int(p["ring_filter_size"]))
        k = row - rows.start
        pair = (0, int(np.argmin(np.abs(data.theta_rad - data.theta_rad[0] - np.pi))))  # 0° and ~180°
        fig = figs.center_check(
            after[:, k],
            data.theta_rad,
            center_used_px=float(vol["center_px"]),
            center_vo_px=float(vol["center_vo_px"]),
            center_phase_correlation_px=float(vol["center_phase_correlation_px"]),
            tolerance_px=float(p["center_tolerance_px"]),
            pair=pair,
            title=name,
        )
        write_figure(sm.output.center, fig)
        write_figure(
            sm.output.sinogram, figs.sinogram_rings(li[:, k], after[:, k], data.theta_rad, title=f"{name}, row {row}")
        )
        log.info(
            f"centre check: Vo {float(vol['center_vo_px']):.4g} px, phase correlation "
            f"{float(vol['center_phase_correlation_px']):.4g} px, pair {pair} of {data.theta_rad.size} projections"
        )
