"""Rule select_rois: stitched mosaic + 2D particles → proposed tomography fields (parquet) and an overview with them."""

import numpy as np
import pandas as pd

from batteryct import io, mosaic, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
p = dict(sm.params.rois)
sample = sm.params.sample
with runlog.scan_context(sample, "mosaic", log):
    image, attrs = io.read_volume(sm.input.mosaic, "mosaic")
    particles = pd.read_parquet(sm.input.particles)
    pixel = float(attrs["pixel_size_um"])
    try:
        fields = mosaic.propose_fields(
            particles,
            np.isfinite(image),
            pixel,
            np.asarray(attrs["origin_px"], float),
            field_of_view_um=p["field_of_view_um"],
            n_fields=p["n_fields"],
            criterion=p["criterion"],
            step_fraction=p["step_fraction"],
        )
    except ValueError as exc:  # a field larger than the mosaic: a proposal of none, not a failed run
        log.warning(f"sample {sample!r}: {exc}; no field proposed (rois.field_of_view_um)")
        fields = pd.DataFrame(columns=mosaic.rois.FIELD_COLUMNS)
    if len(fields) < p["n_fields"]:
        log.warning(f"sample {sample!r}: only {len(fields)} of {p['n_fields']} fields fit without overlap")
    io.write_table(sm.output.rois, fields.assign(sample=sample))
    overview = mosaic.draw_fields(mosaic.to_uint8(image), fields, p["field_of_view_um"] / pixel)
    io.write_png(sm.output.overview, overview)
    log.info(f"proposed {len(fields)} fields ({p['criterion']}): {fields.to_dict('records')}")
