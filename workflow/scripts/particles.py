"""Rule particles: labels → particle instances, particle and void tables, 2D sections."""

import numba
import pandas as pd

from batteryct import io, particles, runlog, segment, stereology

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
numba.set_num_threads(sm.threads)
scan = sm.params.scan
p = dict(sm.params.particles)
with runlog.scan_context(scan["sample"], scan["scan"], log, job=sm):
    labels, attrs = io.read_volume(sm.input.labels, "labels")
    voxel_size_um = io.voxel_size_um(attrs)
    roi = None if attrs.get("roi") == "box" else segment.fov_cylinder_mask(labels.shape, p["roi_radius_fraction"])
    instances = particles.split_particles(
        labels,
        voxel_size_um,
        min_radius_um=p["min_radius_um"],
        h_fraction=p["h_fraction"],
        min_volume_um3=p["min_volume_um3"],
    )
    table = particles.particle_table(
        instances,
        labels,
        voxel_size_um,
        scan["sample"],
        scan["scan"],
        roi=roi,
        smooth_sigma_voxels=p["surface_smooth_sigma_voxels"],
    )
    voids = particles.void_table(instances, labels, voxel_size_um, scan["sample"], scan["scan"])
    if table.empty:
        log.warning("no particles found: empty particle table")
    # Sections as a 2D instrument sees them: the binary solid of single slices.
    solid = (labels == segment.LABEL_SOLID) | (labels == segment.LABEL_INTERNAL_VOID)
    d2 = stereology.volume_section_diameters(solid, voxel_size_um, axis=0, step=p["stereology_slice_step"])
    sections = pd.DataFrame({"sample": scan["sample"], "scan": scan["scan"], "section_diameter_um": d2})
    io.write_volume(
        sm.output.instances,
        {"instances": instances},
        {"voxel_size_um": voxel_size_um, "sample": scan["sample"], "scan": scan["scan"]},
    )
    io.write_table(sm.output.particles, table)
    io.write_table(sm.output.voids, voids)
    io.write_table(sm.output.sections, sections)
    log.info(
        f"{len(table)} particles ({int(table['touches_border'].sum()) if len(table) else 0} at the border), "
        f"{len(voids)} voids, {len(sections)} sections"
    )
