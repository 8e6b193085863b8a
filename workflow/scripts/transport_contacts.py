"""Rule transport_contacts: the active particle partition of the hard labels (contact resistance)."""

from batteryct import runlog
from batteryct.electrode import (
    check_has_pores,
    expand_instances,
    particle_instances,
    read_transport_box,
    write_contact_partition,
)

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
scan = sm.params.scan
with runlog.scan_context(scan["sample"], scan["scan"], log):
    labels, _, _, voxel_size_um = read_transport_box(sm.input.labels, sm.params.roi_radius_fraction, posteriors=False)
    check_has_pores(labels)  # fail at the scan's first transport job
    instances = particle_instances(labels, voxel_size_um, dict(sm.params.transport))
    grown = None if instances is None else expand_instances(instances)
    write_contact_partition(sm.output.contacts, instances, grown)
    log.info("no contact resistance" if instances is None else f"{int(instances.max())} particles")
