"""Rule transport_contacts: the active particle partition of the hard labels (contact resistance)."""

from functools import partial

from batteryct import io, runlog
from batteryct.contacts import expand_instances, particle_instances
from batteryct.fov import box_roi
from batteryct.label_codes import check_has_pores

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
scan = sm.params.scan
with runlog.scan_context(scan["sample"], scan["scan"], log):
    box = io.read_transport_box(
        sm.input.labels, partial(box_roi, radius_fraction=sm.params.roi_radius_fraction), posteriors=False
    )
    check_has_pores(box.labels)  # fail at the scan's first transport job
    t = sm.params.transport
    instances = particle_instances(
        box.labels,
        box.voxel_size_um,
        contact_resistance_ohm_m2=t["contact_resistance_ohm_m2"],
        particle_min_radius_um=t["particle_min_radius_um"],
    )
    grown = None if instances is None else expand_instances(instances)
    io.write_contact_partition(sm.output.contacts, instances, grown)
    log.info("no contact resistance" if instances is None else f"{int(instances.max())} particles")
