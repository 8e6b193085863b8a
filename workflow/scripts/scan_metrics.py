"""Rule scan_metrics: labels → one-row parquet table of phase and surface metrics."""

import pandas as pd

from batteryct import io, label_codes, metrics, runlog, segment

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
scan = sm.params.scan
p = dict(sm.params.metrics)
with runlog.scan_context(scan["sample"], scan["scan"], log, job=sm):
    labels, seg_attrs = io.read_volume(sm.input.labels, "labels")
    if warning := label_codes.single_phase_warning(labels):
        log.warning(f"sample {scan['sample']!r}, scan {scan['scan']!r}: {warning}")
    vol_attrs = io.read_volume(sm.input.volume, "volume")[1] if sm.input.volume else {}
    # Reconstructed scans: the cylinder inside the field of view; imported labels: the box.
    roi = None if seg_attrs.get("roi") == "box" else segment.fov_cylinder_mask(labels.shape, p["roi_radius_fraction"])
    voxel_size_um = io.voxel_size_um(seg_attrs)
    row = metrics.scan_metrics(labels, voxel_size_um, roi=roi, smooth_sigma_voxels=p["surface_smooth_sigma_voxels"])
    nan = float("nan")
    row = {
        "sample": scan["sample"],
        "scan": scan["scan"],
        "kind": scan["kind"],
        "source": "labels" if scan["labels"] else "projections",
        **io.voxel_size_columns(voxel_size_um),
        **row,
        "center_px": float(vol_attrs.get("center_px", nan)),
        "center_px_vo": float(vol_attrs.get("center_vo_px", nan)),
        "center_px_phase_correlation": float(vol_attrs.get("center_phase_correlation_px", nan)),
        "center_warning": str(vol_attrs.get("center_warning", "")),
        "center_estimates_disagree": bool(vol_attrs.get("center_estimates_disagree", False)),
    }
    io.write_table(sm.output.table, pd.DataFrame([row]))
    log.info(f"metrics of the analysis cylinder: {runlog.summary(row)}")
