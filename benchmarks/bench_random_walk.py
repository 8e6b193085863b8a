"""Random-walk kernel: walkers advanced in groups of 4 against one walker at a time.

The one-walker kernel below is the previous version of ``batteryct.random_walk._kernels._walk``
(kept here as the reference); both run :func:`batteryct.random_walk.random_walk_tortuosity`
on the same pore space, one numba thread, the demo's 4000 walkers x 100000 steps.
Pore space: the NREL electrode's pores (resources/nrel_nmc_1_cal) cropped to 128 x 80 x 80.
Printed: the best walk time of each of ``--repeats`` alternating runs, their ratio, and
whether the tortuosity factors are identical (they must be: each walker's path does not
depend on the grouping).

    python benchmarks/bench_random_walk.py [--repeats 5]
"""

import argparse
import sys
from pathlib import Path

import numba
import numpy as np
from numba import njit, prange

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
from batteryct import io  # noqa: E402
from batteryct.random_walk import walk  # noqa: E402
from batteryct.random_walk._kernels import _GAMMA, _LOW32, _U11, _U32, _WALKER_KEY, _mix  # noqa: E402


@njit(parallel=True, cache=True)
def _walk_one_at_a_time(
    padded, seed, chunk_lo, chunk_hi, n_steps, sample_steps, n_lags, axis_thr, periodic, out
):  # pragma: no cover - numba
    """Advance every walker through all its steps; per-chunk int64 sums of dx_i dx_j.

    padded : uint8 (nz + 2, ny + 2, nx + 2), 1 on the start set (walkers never leave
        it), 0 elsewhere inside, 2 on the one-voxel frame (a box face is crossed).
    seed : uint64, already mixed.
    chunk_lo, chunk_hi : int64 walker index ranges of the work items.
    sample_steps : int64 (n_samples + 1,), 0 then increasing step counts, equally spaced.
    n_lags : time-averaged moments are accumulated for lags 1..n_lags (in samples).
    axis_thr : int64 (2,), cumulative axis probabilities scaled to 2^31.
    out : int64 (n_chunks, n_lags, 6), zeroed: per lag, the sum over walkers and over
        all sample origins of the products of the displacement components.

    Branch-free inner step (the direction is random, so branches on it would be
    mispredicted half of the time): axis ``a`` and sign ``s`` from one 32-bit draw, the
    move is applied as ``open * m`` with ``open`` read from the flat padded mask; the
    frame value 2 is the only (rare, well predicted) branch.
    """
    pz, py, px = padded.shape
    nz, ny, nx = pz - 2, py - 2, px - 2
    flat_pad = padded.reshape(-1)
    n_total = nz * ny * nx
    n_samples = sample_steps.shape[0] - 1
    t0 = axis_thr[0]
    t1 = axis_thr[1]
    for c in prange(chunk_lo.shape[0]):
        size = np.empty(3, np.int64)
        size[0] = nz
        size[1] = ny
        size[2] = nx
        stride = np.empty(3, np.int64)
        stride[0] = py * px
        stride[1] = px
        stride[2] = 1
        sstr = np.empty(3, np.int64)  # stride x current orientation (mirror flips it)
        disp = np.empty(3, np.int64)
        samp = np.zeros((n_samples + 1, 3), np.int64)
        for w in range(chunk_lo[c], chunk_hi[c]):
            state = _mix(seed ^ (np.uint64(w) * _WALKER_KEY))
            # start voxel: uniform on the start set, by rejection
            while True:
                state += _GAMMA
                r = _mix(state)
                f = np.int64((r >> _U11) % np.uint64(n_total))
                flat = ((f // (ny * nx) + 1) * py + (f // nx) % ny + 1) * px + f % nx + 1
                if flat_pad[flat] == 1:
                    break
            for a in range(3):
                sstr[a] = stride[a]
                disp[a] = 0
            k = 1
            nxt = sample_steps[1]
            r = np.uint64(0)
            for step in range(n_steps):
                if (step & 1) == 0:
                    state += _GAMMA
                    r = _mix(state)
                    u = np.int64(r >> _U32)
                else:
                    u = np.int64(r & _LOW32)
                s = 1 - 2 * (u & 1)
                v = u >> 1
                a = np.int64(v >= t0) + np.int64(v >= t1)
                m = s * sstr[a]
                val = np.int64(flat_pad[flat + m])
                if val == 2:
                    if periodic:
                        nb = flat + m - m * size[a]  # periodic: sstr[a] = stride[a]
                        op = np.int64(flat_pad[nb])
                        flat += op * (nb - flat)
                        disp[a] += op * s
                    else:
                        # the mirror image of the same voxel: always open
                        sstr[a] = -sstr[a]
                        disp[a] += s
                else:
                    flat += val * m
                    disp[a] += val * s
                if step + 1 == nxt:
                    samp[k, 0] = disp[0]
                    samp[k, 1] = disp[1]
                    samp[k, 2] = disp[2]
                    k += 1
                    if k <= n_samples:
                        nxt = sample_steps[k]
            # time-averaged second moments over all origins, exact in int64
            for lag in range(1, n_lags + 1):
                s0 = np.int64(0)
                s1 = np.int64(0)
                s2 = np.int64(0)
                s3 = np.int64(0)
                s4 = np.int64(0)
                s5 = np.int64(0)
                for i in range(n_samples + 1 - lag):
                    ez = samp[i + lag, 0] - samp[i, 0]
                    ey = samp[i + lag, 1] - samp[i, 1]
                    ex = samp[i + lag, 2] - samp[i, 2]
                    s0 += ez * ez
                    s1 += ey * ey
                    s2 += ex * ex
                    s3 += ez * ey
                    s4 += ez * ex
                    s5 += ey * ex
                out[c, lag - 1, 0] += s0
                out[c, lag - 1, 1] += s1
                out[c, lag - 1, 2] += s2
                out[c, lag - 1, 3] += s3
                out[c, lag - 1, 4] += s4
                out[c, lag - 1, 5] += s5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    numba.set_num_threads(1)
    labels = io.read_labels(ROOT / "resources/nrel_nmc_1_cal/nmc-1-cal_generatedCBD_bridge.tif")
    pores = np.ascontiguousarray(labels[:128, :80, :80] == 0)
    kernels = {"grouped": walk._walk, "one at a time": _walk_one_at_a_time}
    best, tau = {}, {}
    for repeat in range(args.repeats + 1):  # the first round compiles
        for name, kernel in kernels.items():
            walk._walk = kernel
            result = walk.random_walk_tortuosity(pores, 0.4, n_walkers=4000, n_steps=100000, seed=7)
            if repeat:
                best[name] = min(best.get(name, np.inf), result["time_s"]["walk"])
            tau[name] = result["tortuosity_factor"]
    walk._walk = kernels["grouped"]
    print(f"pore space {pores.shape}, porosity {pores.mean():.3f}, 4000 walkers x 100000 steps, 1 thread")
    for name, seconds in best.items():
        print(f"{name:>14}: {seconds:.2f} s (best of {args.repeats})")
    print(f"grouped / one at a time: {best['grouped'] / best['one at a time']:.2f}")
    print(f"identical tortuosity factors: {np.array_equal(tau['grouped'], tau['one at a time'])} {tau['grouped']}")


if __name__ == "__main__":
    main()
