"""Cold numba compilation of the transport stage: serial kernels (one thread) against parallel.

Each run is a fresh Python process with an empty numba cache (``NUMBA_CACHE_DIR`` in a
temporary directory) that runs :func:`batteryct.warmup.compile_transport_kernels`, the
calls of the rule ``compile_transport_kernels``, once with ``numba.set_num_threads(1)``
(the serial compilations of :mod:`batteryct._jit`, which the demo's one-thread jobs use)
and once with 2 threads (the parallel ones). Printed: wall and CPU time of each process,
their ratio, and whether both give the same check values. A second run of each on the
warm cache gives the cost of loading the kernels.

    python benchmarks/bench_kernel_compile.py [--repeats 2]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time, resource
t0 = time.perf_counter()
import numba, yaml
numba.set_num_threads(int(sys.argv[1]))
from batteryct import warmup
config = yaml.safe_load(open(sys.argv[2]))
settings = {k: v for k, v in config["transport"].items()
            if k not in ("kinds", "particle_min_radius_um", "uncertainty_samples", "uncertainty_samples_per_job")}
check = warmup.compile_transport_kernels(
    settings, roi_radius_fraction=config["metrics"]["roi_radius_fraction"],
    particle_min_radius_um=config["transport"]["particle_min_radius_um"])
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall_s": time.perf_counter() - t0, "cpu_s": usage.ru_utime + usage.ru_stime, "check": check}))
"""


def run(threads: int, cache_dir: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=str(ROOT / "workflow" / "scripts"))
    cmd = [sys.executable, "-c", CHILD, str(threads), str(ROOT / "config" / "config.yaml")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="cold runs per thread count (the best is kept)")
    args = parser.parse_args()
    best = {}
    for _ in range(args.repeats):
        for threads in (1, 2):
            with tempfile.TemporaryDirectory() as cache:
                t0 = time.perf_counter()
                cold = run(threads, cache)
                warm = run(threads, cache)
                print(
                    f"threads {threads}: cold {cold['wall_s']:.1f} s wall, {cold['cpu_s']:.1f} CPU-s; "
                    f"warm {warm['wall_s']:.1f} s wall ({time.perf_counter() - t0:.0f} s in all)",
                    flush=True,
                )
                if threads not in best or cold["cpu_s"] < best[threads][0]["cpu_s"]:
                    best[threads] = (cold, warm)
    (s_cold, s_warm), (p_cold, p_warm) = best[1], best[2]
    print(f"cold compile, serial / parallel: {s_cold['cpu_s'] / p_cold['cpu_s']:.2f} (CPU time)")
    print(f"warm start, serial / parallel: {s_warm['wall_s'] / p_warm['wall_s']:.2f} (wall time)")
    print(f"same check values: {s_cold['check'] == p_cold['check']}  ({json.dumps(s_cold['check'])})")


if __name__ == "__main__":
    main()
