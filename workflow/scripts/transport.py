"""Rule transport: labels → tortuosity, conductivity, interfaces, pore network, uncertainty."""

import numba
import numpy as np
import pandas as pd

from batteryct import io, runlog
from batteryct.electrode import box_roi, transport_metrics

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
numba.set_num_threads(sm.threads)
scan = sm.params.scan
p = dict(sm.params.transport)
with runlog.scan_context(scan["sample"], scan["scan"], log):
    labels, attrs = io.read_volume(sm.input.labels, "labels")
    posteriors = None
    if attrs.get("roi") != "box":
        box = box_roi(labels.shape, sm.params.roi_radius_fraction)
        labels = labels[box]
        try:
            posteriors = io.read_volume(sm.input.labels, "posteriors")[0][(slice(None),) + box]
        except io.InputDataError:
            log.info("no posteriors stored: no uncertainty intervals")
    voxel_size_um = io.voxel_size_um(attrs)
    row, nodes, throats = transport_metrics(labels, voxel_size_um, p, posteriors=posteriors,
                                            class_codes=attrs.get("posterior_class_codes"), logger=log)
    row = {"sample": scan["sample"], "scan": scan["scan"], **io.voxel_size_columns(voxel_size_um),
           "box_shape": str(labels.shape), **row}
    io.write_table(sm.output.row, pd.DataFrame([row]))
    io.write_table(sm.output.nodes, nodes.assign(sample=scan["sample"], scan=scan["scan"]))
    io.write_table(sm.output.throats, throats.assign(sample=scan["sample"], scan=scan["scan"]))
    from batteryct import network

    network.write_openpnm(sm.output.openpnm, nodes, throats)
    log.info(f"transport: { {k: v for k, v in row.items() if not isinstance(v, np.ndarray)} }")
