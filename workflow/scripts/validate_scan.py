"""Rule validate_scan: score a simulated scan's volume and labels against ground truth."""

import pandas as pd

from batteryct import io, runlog, validation

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
scan = sm.params.scan
with runlog.scan_context(scan["sample"], scan["scan"], log, job=sm):
    mu_truth, truth_attrs = io.read_volume(sm.input.truth, "mu_per_um")
    phase_truth, _ = io.read_volume(sm.input.truth, "phase")
    volume, vol_attrs = io.read_volume(sm.input.volume, "volume")
    labels, _ = io.read_volume(sm.input.labels, "labels")
    row = validation.score_scan(
        volume,
        labels,
        mu_truth,
        phase_truth,
        center_px=float(vol_attrs["center_px"]),
        center_truth_px=float(truth_attrs["center_px"]),
        roi_radius_fraction=sm.params.metrics["roi_radius_fraction"],
    )
    row = {"sample": scan["sample"], "scan": scan["scan"], "kind": scan["kind"], **row}
    io.write_table(sm.output.table, pd.DataFrame([row]))
    log.info(f"against the virtual scanner's truth: {runlog.summary(row)}")
