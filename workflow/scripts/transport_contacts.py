"""Rule transport_contacts: the active particle partition of the hard labels (contacts, electrode PSD)."""

from functools import partial

from batteryct import io, runlog
from batteryct.contacts import expand_instances, particle_instances
from batteryct.fov import box_roi
from batteryct.label_codes import check_has_pores

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
scan = sm.params.scan
with runlog.scan_context(scan["sample"], scan["scan"], log, job=sm):
    box = io.read_transport_box(
        sm.input.labels, partial(box_roi, radius_fraction=sm.params.roi_radius_fraction), posteriors=False
    )
    check_has_pores(box.labels)  # fail at the scan's first transport job
    instances = particle_instances(
        box.labels, box.voxel_size_um, particle_min_radius_um=sm.params.particle_min_radius_um
    )
    grown = None if instances is None else expand_instances(instances)
    io.write_contact_partition(sm.output.contacts, instances, grown)
    log.info("no active phase: no particles" if instances is None else f"{int(instances.max())} active particles")
