"""Rules export_tiff and export_labels_tiff: volume and labels HDF5 → ImageJ TIFF stacks with the voxel size in µm."""

from batteryct import io, runlog
from batteryct.io import exports

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
scan = sm.params.scan
with runlog.scan_context(scan["sample"], scan["scan"], log, job=sm):
    for dataset in ("volume", "labels"):
        if dataset not in sm.output.keys():
            continue  # export_labels_tiff: a scan imported as labels has no volume
        array, attrs = io.read_volume(sm.input[dataset], dataset)
        voxel_size_um = io.voxel_size_um(attrs)
        exports.write_imagej_tiff(sm.output[dataset], array, voxel_size_um)
        log.info(
            f"{dataset} {array.shape[0]}×{array.shape[1]}×{array.shape[2]} voxels of "
            f"{voxel_size_um} µm written to {sm.output[dataset]}"
        )
