"""Rule scan_metrics: labels → one-row parquet table of phase and surface metrics."""

import pandas as pd

from batteryct import io, metrics, runlog, segment

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
scan = sm.params.scan
p = dict(sm.params.metrics)
with runlog.scan_context(scan["sample"], scan["scan"], log):
    labels, seg_attrs = io.read_volume(sm.input.labels, "labels")
    _, vol_attrs = io.read_volume(sm.input.volume, "volume")
    roi = segment.fov_cylinder_mask(labels.shape, p["roi_radius_fraction"])
    row = metrics.scan_metrics(labels, vol_attrs["voxel_size_um"], roi=roi,
                               smooth_sigma_voxels=p["surface_smooth_sigma_voxels"])
    row = {
        "sample": scan["sample"],
        "scan": scan["scan"],
        "kind": scan["kind"],
        "voxel_size_um": float(vol_attrs["voxel_size_um"]),
        **row,
        "center_px": float(vol_attrs["center_px"]),
        "center_px_vo": float(vol_attrs.get("center_vo_px", float("nan"))),
        "center_px_phase_correlation": float(vol_attrs.get("center_phase_correlation_px", float("nan"))),
        "center_warning": str(vol_attrs.get("center_warning", "")),
    }
    io.write_table(sm.output.table, pd.DataFrame([row]))
    log.info(f"metrics: {row}")
