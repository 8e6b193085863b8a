"""Rule simulated_mosaic_tiffs: re-save a mosaic HDF5 as tile TIFFs + positions.csv."""

import shutil
from pathlib import Path

from batteryct import io, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
data = io.read_mosaic(sm.input[0])
out = Path(sm.output[0])
tmp = out.with_name(out.name + ".tmp")
shutil.rmtree(tmp, ignore_errors=True)
io.write_mosaic_tiffs(
    tmp, data.tiles, data.stage_position_um, data.pixel_size_um, data.n_rows, data.n_cols, grid=data.grid
)
tmp.rename(out)
log.info(f"wrote {len(data.tiles)} tiles to {out}")
