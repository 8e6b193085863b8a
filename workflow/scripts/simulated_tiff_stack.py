"""Rule simulated_tiff_stack: re-save a DataExchange scan as a TIFF folder."""

from pathlib import Path

from batteryct import io, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
data = io.read_dataexchange(sm.input[0])
out = Path(sm.output[0])
io.write_tiff_stack(  # atomic: the folder appears whole or not at all
    out,
    data.projections.astype("uint16"),
    data.flats.astype("uint16"),
    data.darks.astype("uint16"),
    data.theta_rad * 180.0 / 3.141592653589793,
    data.pixel_size_um,
)
log.info(f"wrote {len(data.theta_rad)} projections to {out}")
