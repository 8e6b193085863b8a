"""Rule transport_truth: the transport metrics of a simulated electrode's true phases (same box, same functions)."""

import numba
import pandas as pd

from batteryct import io, runlog
from batteryct.contacts import particle_instances
from batteryct.electrode import value_metrics
from batteryct.fov import box_roi
from batteryct.validation import truth_labels

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
numba.set_num_threads(sm.threads)
scan = sm.params.scan
with runlog.scan_context(scan["sample"], scan["scan"], log):
    phase, attrs = io.read_volume(sm.input.truth, "phase")
    voxel_size_um = io.voxel_size_um(attrs)
    labels = truth_labels(phase[box_roi(phase.shape, sm.params.roi_radius_fraction)])
    settings = dict(sm.params.transport)
    del settings["kinds"]
    instances = particle_instances(labels, voxel_size_um, particle_min_radius_um=settings.pop("particle_min_radius_um"))
    row, _, _ = value_metrics(labels, voxel_size_um, instances=instances, logger=log, **settings)
    row = {"sample": scan["sample"], "scan": scan["scan"], "box_shape": str(labels.shape), **row}
    io.write_table(sm.output.row, pd.DataFrame([row]))
    log.info(f"transport metrics of the truth phases: {runlog.summary(row)}")
