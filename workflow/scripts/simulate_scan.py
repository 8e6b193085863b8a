"""Rule simulate_scan: virtual scanner → DataExchange projections + ground truth."""

import numba

from batteryct import __version__, io, memory, runlog, simulate
from batteryct.provenance import params_hash

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
numba.set_num_threads(sm.threads)
spec = dict(sm.params.spec)
with runlog.scan_context(sm.wildcards.sample, sm.wildcards.scan, log, job=sm):
    grid = (int(spec["n_voxels"]) * int(spec["oversample"]),) * 3
    memory.check_fits(
        memory.simulate_scan_bytes(spec["n_voxels"], spec["oversample"], spec["n_angles"]),
        sm.resources.get("mem_mb"),
        "virtual scanner: phantom grid",
        grid,
    )
    sim = simulate.simulate_scan(spec)
    io.write_dataexchange(
        sm.output.projections, sim.projections, sim.flats, sim.darks, sim.theta_deg, sim.pixel_size_um
    )
    io.write_volume(
        sm.output.truth,
        {"mu_per_um": sim.mu_truth_per_um, "phase": sim.phase_truth},
        {
            "voxel_size_um": sim.pixel_size_um,
            "center_px": sim.center_px,
            "phantom": spec["phantom"],
            "bad_columns": sim.info["bad_columns"],
            "n_zingers": sim.info["n_zingers"],
            "phase_codes": "0 air/open pore, 1 active, 2 internal void, 3 binder, 4 support",
            "software_version": __version__,
            "params_hash": params_hash(spec),
        },
    )
    io.write_table(sm.output.particles, sim.particles)
    log.info(f"simulated the {spec['phantom']} phantom: {runlog.summary(sim.info)}")
