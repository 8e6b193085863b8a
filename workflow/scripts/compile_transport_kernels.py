"""Rule compile_transport_kernels: compile the transport jobs' numba kernels once (batteryct.warmup)."""

import json
import time

from batteryct import io, runlog
from batteryct.warmup import compile_transport_kernels

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
settings = dict(sm.params.transport)
for key in ("kinds", "particle_min_radius_um"):  # the workflow's choices, not the metrics' keywords
    del settings[key]
t0 = time.perf_counter()
check = compile_transport_kernels(
    settings,
    roi_radius_fraction=sm.params.roi_radius_fraction,
    particle_min_radius_um=sm.params.particle_min_radius_um,
)
log.info(f"transport kernels compiled or loaded from numba's cache in {runlog.number(time.perf_counter() - t0, 3)} s")
log.info(f"synthetic electrode: {runlog.summary(check)}")
# no timings in the output: it stays byte-identical from run to run
with io.atomic_path(sm.output.stamp) as tmp:
    tmp.write_text(json.dumps(check, sort_keys=True) + "\n")
