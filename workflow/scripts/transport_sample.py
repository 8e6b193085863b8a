"""Rule transport_sample: every transport metric on one label volume drawn from the posteriors."""

import numba
import pandas as pd

from batteryct import io, runlog
from batteryct.electrode import read_contact_partition, read_transport_box, sample_metrics

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
numba.set_num_threads(sm.threads)
scan = sm.params.scan
with runlog.scan_context(scan["sample"], scan["scan"], log):
    labels, posteriors, class_codes, voxel_size_um = read_transport_box(sm.input.labels, sm.params.roi_radius_fraction)
    if posteriors is None:
        raise io.InputDataError(f"{sm.input.labels}: no posteriors stored, cannot draw uncertainty samples")
    _, grown = read_contact_partition(sm.input.contacts, labels.shape)
    row = sample_metrics(
        labels, posteriors, class_codes, sm.params.index, voxel_size_um, dict(sm.params.transport), grown, logger=log
    )
    io.write_table(sm.output.row, pd.DataFrame([{"sample_index": sm.params.index, **row}]))
