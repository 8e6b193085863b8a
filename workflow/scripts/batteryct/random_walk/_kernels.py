"""Numba kernels of the random walk: the SplitMix64 mixer and the walk itself, with their constants."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_WALKER_KEY = np.uint64(0xD1B54A32D192ED03)
_U30 = np.uint64(30)
_U27 = np.uint64(27)
_U31 = np.uint64(31)
_U32 = np.uint64(32)
_U11 = np.uint64(11)
_LOW32 = np.uint64(0xFFFFFFFF)


@njit(cache=True, inline="always")
def _mix(z):  # pragma: no cover - numba
    z = (z ^ (z >> _U30)) * _M1
    z = (z ^ (z >> _U27)) * _M2
    return z ^ (z >> _U31)


#: Walkers advanced together, step by step: their moves are independent, so the CPU
#: overlaps one walker's memory read with the next one's (benchmarks/bench_random_walk.py
#: against one walker at a time); each walker's path and the integer sums do not depend
#: on the grouping.
_GROUP = 4


# Parallel compilation only: compiled serially it ran about 4 % slower on one thread.
@njit(parallel=True, cache=True)
def _walk(
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

    Walkers go in groups of ``_GROUP`` with a fixed trip count (the compiler unrolls it);
    a chunk's last group is filled with walkers past the chunk's end, whose moments are
    not summed. Branch-free inner step (the direction is random, so branches on it would
    be mispredicted half of the time): axis ``a`` and sign ``s`` from one 32-bit draw,
    the move is applied as ``open * m`` with ``open`` read from the flat padded mask; the
    frame value 2 is the only (rare, well predicted) branch.
    """
    pz, py, px = padded.shape
    nz, ny, nx = pz - 2, py - 2, px - 2
    flat_pad = padded.reshape(-1)
    n_total = nz * ny * nx
    n_samples = sample_steps.shape[0] - 1
    t0 = axis_thr[0]
    t1 = axis_thr[1]
    G = _GROUP
    for c in prange(chunk_lo.shape[0]):
        size = np.empty(3, np.int64)
        size[0] = nz
        size[1] = ny
        size[2] = nx
        stride = np.empty(3, np.int64)
        stride[0] = py * px
        stride[1] = px
        stride[2] = 1
        sstr = np.empty((G, 3), np.int64)  # stride x current orientation (mirror flips it)
        disp = np.empty((G, 3), np.int64)
        flat = np.empty(G, np.int64)
        state = np.empty(G, np.uint64)
        draw = np.zeros(G, np.uint64)
        samp = np.zeros((G, n_samples + 1, 3), np.int64)
        for w0 in range(chunk_lo[c], chunk_hi[c], G):
            n_real = min(G, chunk_hi[c] - w0)
            for j in range(G):
                st = _mix(seed ^ (np.uint64(w0 + j) * _WALKER_KEY))
                # start voxel: uniform on the start set, by rejection
                while True:
                    st += _GAMMA
                    r = _mix(st)
                    f = np.int64((r >> _U11) % np.uint64(n_total))
                    fl = ((f // (ny * nx) + 1) * py + (f // nx) % ny + 1) * px + f % nx + 1
                    if flat_pad[fl] == 1:
                        break
                state[j] = st
                flat[j] = fl
                draw[j] = 0
                for a in range(3):
                    sstr[j, a] = stride[a]
                    disp[j, a] = 0
            k = 1
            nxt = sample_steps[1]
            for step in range(n_steps):
                even = (step & 1) == 0
                for j in range(G):
                    if even:
                        state[j] += _GAMMA
                        draw[j] = _mix(state[j])
                        u = np.int64(draw[j] >> _U32)
                    else:
                        u = np.int64(draw[j] & _LOW32)
                    s = 1 - 2 * (u & 1)
                    v = u >> 1
                    a = np.int64(v >= t0) + np.int64(v >= t1)
                    m = s * sstr[j, a]
                    fl = flat[j]
                    val = np.int64(flat_pad[fl + m])
                    if val == 2:
                        if periodic:
                            nb = fl + m - m * size[a]  # periodic: sstr[a] = stride[a]
                            op = np.int64(flat_pad[nb])
                            flat[j] = fl + op * (nb - fl)
                            disp[j, a] += op * s
                        else:
                            # the mirror image of the same voxel: always open
                            sstr[j, a] = -sstr[j, a]
                            disp[j, a] += s
                    else:
                        flat[j] = fl + val * m
                        disp[j, a] += val * s
                if step + 1 == nxt:
                    for j in range(G):
                        samp[j, k, 0] = disp[j, 0]
                        samp[j, k, 1] = disp[j, 1]
                        samp[j, k, 2] = disp[j, 2]
                    k += 1
                    if k <= n_samples:
                        nxt = sample_steps[k]
            # time-averaged second moments over all origins, exact in int64
            for j in range(n_real):
                for lag in range(1, n_lags + 1):
                    s0 = np.int64(0)
                    s1 = np.int64(0)
                    s2 = np.int64(0)
                    s3 = np.int64(0)
                    s4 = np.int64(0)
                    s5 = np.int64(0)
                    for i in range(n_samples + 1 - lag):
                        ez = samp[j, i + lag, 0] - samp[j, i, 0]
                        ey = samp[j, i + lag, 1] - samp[j, i, 1]
                        ex = samp[j, i + lag, 2] - samp[j, i, 2]
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
