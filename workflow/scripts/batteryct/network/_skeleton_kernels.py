"""Numba kernels of :func:`batteryct.network.skeletonize_pores`: thinning, cavity threads, face peaks."""

from __future__ import annotations

import numpy as np
from numba import njit


# --------------------------------------------------------------------------------------
# A 3 x 3 x 3 neighbourhood is a 27-bit mask, bit (dz + 1) * 9 + (dy + 1) * 3 + (dx + 1),
# centre bit 13. Connected components inside it are grown by bit-shift dilations.
def _cube_masks():
    def mask(cond):
        v = 0
        for dz in range(3):
            for dy in range(3):
                for dx in range(3):
                    if cond(dz - 1, dy - 1, dx - 1):
                        v |= 1 << (dz * 9 + dy * 3 + dx)
        return v

    return (
        mask(lambda z, y, x: x == -1),
        mask(lambda z, y, x: x == 1),
        mask(lambda z, y, x: y == -1),
        mask(lambda z, y, x: y == 1),
        mask(lambda z, y, x: z == -1),
        mask(lambda z, y, x: z == 1),
        mask(lambda z, y, x: abs(z) + abs(y) + abs(x) in (1, 2)),
        mask(lambda z, y, x: abs(z) + abs(y) + abs(x) == 1),
    )


_XL, _XH, _YL, _YH, _ZL, _ZH, _N18, _F6 = _cube_masks()
_FULL = (1 << 27) - 1


@njit(cache=True)
def _dil26(m):  # pragma: no cover - numba
    m = m | ((m & (_FULL ^ _XH)) << 1) | ((m & (_FULL ^ _XL)) >> 1)
    m = m | ((m & (_FULL ^ _YH)) << 3) | ((m & (_FULL ^ _YL)) >> 3)
    return m | ((m & (_FULL ^ _ZH)) << 9) | ((m & (_FULL ^ _ZL)) >> 9)


@njit(cache=True)
def _dil6(m):  # pragma: no cover - numba
    return (
        m
        | ((m & (_FULL ^ _XH)) << 1)
        | ((m & (_FULL ^ _XL)) >> 1)
        | ((m & (_FULL ^ _YH)) << 3)
        | ((m & (_FULL ^ _YL)) >> 3)
        | ((m & (_FULL ^ _ZH)) << 9)
        | ((m & (_FULL ^ _ZL)) >> 9)
    )


@njit(cache=True)
def _simple(fg):  # pragma: no cover - numba
    """Whether the centre of a neighbourhood ``fg`` (centre bit clear) is a simple point.

    Simple for (26, 6) topology (Bertrand & Malandain 1994): the foreground neighbours
    form exactly one 26-component, and the background voxels of the 18-neighbourhood
    that are 6-connected (inside it) to a face neighbour form exactly one 6-component.
    """
    if fg == 0:
        return False
    comp = fg & (-fg)
    while True:
        nxt = _dil26(comp) & fg
        if nxt == comp:
            break
        comp = nxt
    if comp != fg:
        return False
    bg = (_FULL ^ fg) & _N18
    seeds = bg & _F6
    if seeds == 0:
        return False
    comp = seeds & (-seeds)
    while True:
        nxt = _dil6(comp) & bg
        if nxt == comp:
            break
        comp = nxt
    return (seeds & ~comp) == 0


@njit(cache=True)
def _n_neighbours(fg):  # pragma: no cover - numba
    """Return the number of set bits, saturated at 3."""
    if fg == 0:
        return 0
    x = fg & (fg - 1)
    if x == 0:
        return 1
    if (x & (x - 1)) == 0:
        return 2
    return 3


@njit(cache=True)
def _neighbourhood(img, v, offs27):  # pragma: no cover - numba
    fg = np.int64(0)
    for k in range(27):
        if k != 13 and img[v + offs27[k]] != 0:
            fg |= np.int64(1) << k
    return fg


@njit(cache=True)
def _thin_kernel(img, active, bucket, offs27, dir_offs, last_bucket):  # pragma: no cover
    """Distance-gated directional thinning of a flat, 1-padded uint8 image (in place).

    Round ``k`` sweeps the six border directions in turn. A sweep collects the border
    voxels (background neighbour in its direction) of distance bucket <= ``k`` that are
    simple points with at least three 26-neighbours, then re-checks them and deletes
    them one by one. ``active`` lists the foreground voxels sorted by bucket (raster
    order within a bucket), so a sweep only visits the prefix the gate admits. Stops
    after the first round past the last bucket that deletes nothing; then removes the
    corners of voxel triangles (two neighbours, adjacent to each other: simple), with
    candidates taken before any of them is deleted (no cascade). Returns the rounds.
    """
    cand = np.empty(active.size, np.int64)
    n_act = active.size
    rnd = 0
    while True:
        rnd += 1
        changed = False
        for d in range(6):
            doff = dir_offs[d]
            nc = 0
            for ia in range(n_act):
                if bucket[ia] > rnd:
                    break
                v = active[ia]
                if img[v] == 0 or img[v + doff] != 0:
                    continue
                fg = _neighbourhood(img, v, offs27)
                if _n_neighbours(fg) >= 3 and _simple(fg):
                    cand[nc] = v
                    nc += 1
            for ic in range(nc):
                v = cand[ic]
                fg = _neighbourhood(img, v, offs27)
                if _n_neighbours(fg) >= 3 and _simple(fg):
                    img[v] = 0
                    changed = True
        if not changed and rnd >= last_bucket:
            break
        if changed:
            m = 0
            for ia in range(n_act):
                if img[active[ia]] != 0:
                    active[m] = active[ia]
                    bucket[m] = bucket[ia]
                    m += 1
            n_act = m
    nc = 0
    for ia in range(n_act):
        v = active[ia]
        if img[v] == 0:
            continue
        fg = _neighbourhood(img, v, offs27)
        if _n_neighbours(fg) == 2 and _simple(fg):
            cand[nc] = v
            nc += 1
    for ic in range(nc):
        v = cand[ic]
        fg = _neighbourhood(img, v, offs27)
        if _n_neighbours(fg) == 2 and _simple(fg):
            img[v] = 0
    return rnd


@njit(cache=True)
def _thread_kernel(img, labels, floating, offs6, pred, queue):  # pragma: no cover - numba
    """Cut a 6-connected thread of pore voxels from every floating solid to the outside solid.

    The thread voxels are set to 0 in ``img``.

    ``img``: flat 1-padded uint8, 1 pore, 0 solid (the padding counts as outside);
    ``labels``: flat padded solid labels (0 for pore and padding); ``floating[l]`` for
    every label; ``pred`` (filled with -1) and ``queue``: work arrays of ``img.size``.
    Breadth-first search through the pore from all outside solid (ties:
    raster order); each floating component is joined, at its first voxel reached, along
    the search tree back to the outside. Returns the number of thread voxels.
    """
    n = img.size
    head = 0
    tail = 0
    for v in range(n):
        if img[v] == 0 and not floating[labels[v]]:
            pred[v] = v
            queue[tail] = v
            tail += 1
    joined = np.zeros(floating.size, np.uint8)
    n_thread = 0
    while head < tail:
        v = queue[head]
        head += 1
        for k in range(6):
            u = v + offs6[k]
            if u < 0 or u >= n or pred[u] != -1:
                continue
            if img[u] == 1:
                pred[u] = v
                queue[tail] = u
                tail += 1
            elif floating[labels[u]] and joined[labels[u]] == 0 and img[v] == 1:
                joined[labels[u]] = 1
                w = v
                while img[w] == 1:  # back along the tree to the outside solid
                    img[w] = 0
                    n_thread += 1
                    w = pred[w]
    return n_thread


@njit(cache=True)
def _suppress(order, lab, d, shape2, h2):  # pragma: no cover - numba
    """Select peaks greedily: keep a peak unless a kept one of its patch covers it.

    ``order``: flat in-plane indices by decreasing distance; a peak is dropped when it
    lies inside the inscribed disc of an accepted peak of the same patch.
    """
    ny, nx = shape2[0], shape2[1]
    blocked = np.zeros(ny * nx, np.uint8)
    out = np.empty(order.size, np.int64)
    n_out = 0
    for k in range(order.size):
        f = order[k]
        if blocked[f] != 0:
            continue
        out[n_out] = f
        n_out += 1
        y0 = f // nx
        x0 = f % nx
        rad = d[f]
        ry = int(rad / h2[0]) + 1
        rx = int(rad / h2[1]) + 1
        for y in range(max(0, y0 - ry), min(ny, y0 + ry + 1)):
            for x in range(max(0, x0 - rx), min(nx, x0 + rx + 1)):
                g = y * nx + x
                if lab[g] == lab[f] and ((y - y0) * h2[0]) ** 2 + ((x - x0) * h2[1]) ** 2 < rad * rad:
                    blocked[g] = 1
    return out[:n_out]
