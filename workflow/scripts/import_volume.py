"""Rule import_volume: an existing reconstruction (Zeiss .txm or HDF5 dataset) → batteryct volume (HDF5)."""

from batteryct import __version__, io, runlog
from batteryct.provenance import params_hash

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
scan = sm.params.scan
with runlog.scan_context(scan["sample"], scan["scan"], log):
    if scan["problem"]:
        raise runlog.ScanError(scan["problem"])
    volume, file_voxel_um, notes = io.read_reconstruction(scan["volume"])
    for note in notes:
        log.info(f"{scan['volume']}: {note}")
    voxel = scan["pixel_size_um"] if scan["pixel_size_um"] is not None else file_voxel_um
    if voxel is None:
        raise io.InputDataError(f"{scan['volume']}: no voxel size in the file; give pixel_size_um in the scans sheet")
    if isinstance(voxel, list):
        raise io.InputDataError(f"{scan['volume']}: a reconstruction has cubic voxels; give one pixel_size_um")
    attrs = {
        "voxel_size_um": float(voxel),
        "source_volume": scan["volume"],
        "units": "as stored (not calibrated attenuation)",
        "software_version": __version__,
        "params_hash": params_hash({"volume": scan["volume"], "pixel_size_um": float(voxel)}),
        "sample": scan["sample"],
        "scan": scan["scan"],
    }
    io.write_volume(sm.output.volume, {"volume": volume}, attrs)
    log.info(f"imported volume {volume.shape} from {scan['volume']}, voxel {voxel} um")
