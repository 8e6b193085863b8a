"""Rule export_tiff: a volume or labels HDF5 → ImageJ TIFF stack with the voxel size in µm."""

from batteryct import io, runlog
from batteryct.io import exports

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
scan = sm.params.scan
with runlog.scan_context(scan["sample"], scan["scan"], log, job=sm):
    array, attrs = io.read_volume(sm.input.h5, sm.params.dataset)
    voxel_size_um = io.voxel_size_um(attrs)
    exports.write_imagej_tiff(sm.output.tiff, array, voxel_size_um)
    log.info(
        f"{sm.params.dataset} {array.shape[0]}×{array.shape[1]}×{array.shape[2]} voxels of "
        f"{voxel_size_um} µm written to {sm.output.tiff}"
    )
