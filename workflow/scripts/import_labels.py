"""Rule import_labels: an existing segmentation + phase map → batteryct labels (HDF5)."""

from batteryct import __version__, io, phases, runlog
from batteryct.provenance import params_hash

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
scan = sm.params.scan
with runlog.scan_context(scan["sample"], scan["scan"], log, job=sm):
    if scan["problem"]:
        raise runlog.ScanError(scan["problem"])
    raw = io.read_labels(scan["labels"])
    phase_map = phases.parse_phase_map(scan["phase_map"])
    labels = phases.import_labels(raw, phase_map)
    attrs = {
        "voxel_size_um": scan["pixel_size_um"],  # float, or [dz, dy, dx] for non-cubic voxels
        "label_codes": "0 open pore, 1 solid (active), 2 internal closed void, 3 carbon-binder",
        "source_labels": scan["labels"],
        "phase_map": scan["phase_map"],
        "roi": "box",
        "software_version": __version__,
        "params_hash": params_hash({"phase_map": scan["phase_map"], "pixel_size_um": scan["pixel_size_um"]}),
        "sample": scan["sample"],
        "scan": scan["scan"],
    }
    io.write_volume(sm.output.labels, {"labels": labels}, attrs)
    codes = ", ".join(f"{code} = {phase}" for code, phase in phase_map.items())
    log.info(f"imported {'×'.join(map(str, raw.shape))} labels from {scan['labels']}; codes {codes}")
