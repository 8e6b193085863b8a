"""Rule transport_value: hard labels → tortuosity, conductivity, interfaces, pore network."""

from functools import partial

import numba
import pandas as pd

from batteryct import io, network, runlog
from batteryct.electrode import value_metrics
from batteryct.fov import box_roi

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
numba.set_num_threads(sm.threads)
scan = sm.params.scan
with runlog.scan_context(scan["sample"], scan["scan"], log, job=sm):
    box = io.read_transport_box(
        sm.input.labels, partial(box_roi, radius_fraction=sm.params.roi_radius_fraction), posteriors=False
    )
    labels, voxel_size_um = box.labels, box.voxel_size_um
    partition = io.read_contact_partition(sm.input.contacts, labels.shape)
    settings = dict(sm.params.transport)
    del settings["kinds"]  # which sample kinds get transport metrics: the workflow's choice
    del settings["particle_min_radius_um"]  # the partition is made by transport_contacts
    row, nodes, throats = value_metrics(labels, voxel_size_um, instances=partition.instances, logger=log, **settings)
    row = {
        "sample": scan["sample"],
        "scan": scan["scan"],
        **io.voxel_size_columns(voxel_size_um),
        "box_shape": str(labels.shape),
        **row,
    }
    io.write_table(sm.output.row, pd.DataFrame([row]))
    io.write_table(sm.output.nodes, nodes.assign(sample=scan["sample"], scan=scan["scan"]))
    io.write_table(sm.output.throats, throats.assign(sample=scan["sample"], scan=scan["scan"]))
    io.write_npz(sm.output.openpnm, network.to_openpnm_dict(nodes, throats))
    log.info(f"transport metrics of the segmentation ({len(nodes)} pores): {runlog.summary(row)}")
