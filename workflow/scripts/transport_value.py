"""Rule transport_value: hard labels → tortuosity, conductivity, interfaces, pore network."""

import numba
import pandas as pd

from batteryct import io, network, runlog
from batteryct.electrode import read_contact_partition, read_transport_box, value_metrics

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
numba.set_num_threads(sm.threads)
scan = sm.params.scan
with runlog.scan_context(scan["sample"], scan["scan"], log):
    labels, _, _, voxel_size_um = read_transport_box(sm.input.labels, sm.params.roi_radius_fraction, posteriors=False)
    instances, _ = read_contact_partition(sm.input.contacts, labels.shape)
    row, nodes, throats = value_metrics(labels, voxel_size_um, dict(sm.params.transport), instances, logger=log)
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
    network.write_openpnm(sm.output.openpnm, nodes, throats)
    log.info(f"transport value: {row}")
