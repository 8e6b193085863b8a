"""Rule simulate_mosaic: virtual 5×8 radiograph mosaic of a powder monolayer (with truth)."""

from batteryct import io, mosaic, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
spec = dict(sm.params.spec)  # keys are simulate_mosaic's keywords (simulate.mosaic_defaults + the sample's entry)
with runlog.scan_context(sm.wildcards.sample, "mosaic", log, job=sm):
    sim = mosaic.simulate_mosaic(**spec)
    io.write_mosaic_h5(
        sm.output.mosaic,
        sim.tiles,
        sim.stage_position_um,
        sim.pixel_size_um,
        sim.n_rows,
        sim.n_cols,
        grid=sim.grid,
        truth=sim.truth(),
    )
    log.info(f"simulated {len(sim.tiles)} tiles, {len(sim.particles)} particles")
