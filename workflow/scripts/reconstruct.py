"""Rule reconstruct: projections → float32 attenuation volume (1/um) in HDF5."""

import numba

from batteryct import __version__, io, memory, recon, runlog
from batteryct.provenance import params_hash

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
numba.set_num_threads(sm.threads)
scan = sm.params.scan
p = dict(sm.params.recon)  # every keyword of recon.reconstruct, from config/config.yaml
with runlog.scan_context(scan["sample"], scan["scan"], log, job=sm):
    if scan["problem"]:
        raise runlog.ScanError(scan["problem"])
    # fail fast, before allocating, when the declared data cannot fit in the job's memory
    if shape := io.declared_projection_shape(scan["projections"]):
        memory.check_fits(
            memory.reconstruct_bytes(*shape),
            sm.resources.get("mem_mb"),
            f"{scan['projections']}: reconstruction",
            shape[:3],
        )
    data = io.read_projections(
        scan["projections"], pixel_size_um=scan["pixel_size_um"], dark_counts=sm.params.raw["dark_counts"]
    )
    n_proj, n_rows, n_cols = data.projections.shape
    log.info(
        f"read {n_proj} projections of {n_rows}×{n_cols} pixels from {data.source}, "
        f"pixel {runlog.number(data.pixel_size_um)} µm"
    )
    for note in data.notes:
        log.info(f"{data.source}: {note}")
    volume, info = recon.reconstruct(data, **p, logger=log)
    if info.get("center_warning"):
        log.warning(info["center_warning"])
    if warning := recon.clip_warning(info["n_clipped"], data.projections.size, p["min_transmission"]):
        log.warning(f"sample {scan['sample']!r}, scan {scan['scan']!r}: {warning}")
    attrs = {k: v for k, v in info.items() if isinstance(v, (int, float, str, bool))}
    attrs.update(
        voxel_size_um=float(data.pixel_size_um),
        filter_name=p["filter_name"],
        software_version=__version__,
        params_hash=params_hash({**p, "pixel_size_um": data.pixel_size_um}),
        sample=scan["sample"],
        scan=scan["scan"],
        units="1/um",
    )
    io.write_volume(sm.output.volume, {"volume": volume}, attrs)
    nz, ny, nx = volume.shape
    log.info(
        f"reconstructed {nz}×{ny}×{nx} voxels of {runlog.number(data.pixel_size_um)} µm with the {p['filter_name']} "
        f"filter about centre {runlog.number(info['center_px'])} px ({info['center_source']}); attenuation "
        f"{runlog.number(float(volume.min()))} to {runlog.number(float(volume.max()))} 1/µm"
    )
