"""Rule transport_sample: every transport metric on label volumes drawn from the posteriors, one row per sample."""

from functools import partial

import numba
import pandas as pd

from batteryct import io, runlog
from batteryct.electrode import sample_metrics
from batteryct.fov import box_roi

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
numba.set_num_threads(sm.threads)
scan = sm.params.scan
with runlog.scan_context(scan["sample"], scan["scan"], log, job=sm):
    box = io.read_transport_box(sm.input.labels, partial(box_roi, radius_fraction=sm.params.roi_radius_fraction))
    if box.posteriors is None:
        raise io.InputDataError(f"{sm.input.labels}: no posteriors stored, cannot draw uncertainty samples")
    partition = io.read_contact_partition(sm.input.contacts, box.labels.shape)
    settings = dict(sm.params.transport)
    del settings["kinds"]  # which sample kinds get transport metrics: the workflow's choice
    del settings["particle_min_radius_um"]  # the partition is made by transport_contacts
    rows = []
    for index in sm.params.indices:
        row = sample_metrics(
            box.labels,
            box.posteriors,
            box.class_codes,
            index,
            box.voxel_size_um,
            grown_instances=partition.grown_instances,
            logger=log,
            **settings,
        )
        rows.append({"sample_index": index, **row})
    io.write_table(sm.output.rows, pd.DataFrame(rows))
