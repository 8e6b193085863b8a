"""Rule scan_preview: middle slice of the volume beside its labels, as PNG."""

from batteryct import io, report, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
with runlog.scan_context(sm.wildcards.sample, sm.wildcards.scan, log, job=sm):
    labels, _ = io.read_volume(sm.input.labels, "labels")
    volume = io.read_volume(sm.input.volume, "volume")[0] if sm.input.volume else None
    io.write_png(sm.output.png, report.slice_preview(volume, labels))
    log.info(f"preview of {sm.input.labels}")
