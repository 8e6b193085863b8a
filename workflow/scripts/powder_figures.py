"""Rule powder_figures: gallery, size distributions, azimuthal radii, shape and stereology of one powder scan."""

import numpy as np
import pandas as pd

from batteryct import io, runlog
from batteryct.figures import powder
from batteryct.io.figures import write_figure

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
sample, scan = sm.wildcards.sample, sm.wildcards.scan
name = f"{sample} / {scan}"
with runlog.scan_context(sample, scan, log, job=sm):
    particles = pd.read_parquet(sm.input.particles)
    voids = pd.read_parquet(sm.input.voids)
    sections = pd.read_parquet(sm.input.sections)
    psd_table = pd.read_parquet(sm.input.psd)
    psd = psd_table[psd_table["sample"] == sample].iloc[0].to_dict() if (psd_table["sample"] == sample).any() else {}
    instances, attrs = io.read_volume(sm.input.instances, "instances")
    labels, _ = io.read_volume(sm.input.labels, "labels")
    voxel = io.voxel_size_um(attrs)
    voxel = float(voxel if np.isscalar(voxel) else voxel[-1])
    write_figure(sm.output.gallery, powder.particle_gallery(instances, labels, particles, voxel, title=name))
    inner = particles[~particles["touches_border"].astype(bool)]
    d = inner["equivalent_diameter_um"].to_numpy(float)
    write_figure(sm.output.psd, powder.size_distributions(d, psd, title=name))
    write_figure(sm.output.radii, powder.azimuth_radii(particles, title=name))
    write_figure(sm.output.shape, powder.shape_scatter(particles, voids, title=name))
    write_figure(
        sm.output.stereology,
        powder.stereology(sections["section_diameter_um"].to_numpy(float), d, psd, title=name),
    )
    n_above = int((voids["sphericity"] > 1).sum()) if len(voids) else 0
    log.info(
        f"{name}: figures of {len(particles)} particles ({len(inner)} inside the field of view), "
        f"{len(voids)} internal voids and {len(sections)} sections"
    )
    if n_above:
        log.warning(
            f"{name}: {n_above} of {len(voids)} internal voids have a sphericity above 1 (surface area too small)"
        )
