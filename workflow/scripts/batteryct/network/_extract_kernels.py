"""Numba kernels of :func:`batteryct.network.extract_network`.

Voronoi partition of the pore space, branch tracing, splitting of oversized node
clusters and node cells along the skeleton.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _partition_kernel(order, sid, scoord, shape, h, owner):  # pragma: no cover - numba
    """Assign pore voxels to skeleton voxels: a Voronoi partition through the pore.

    Pore voxels (flat indices in ``order``, by increasing distance to the skeleton) go
    to the nearest skeleton voxel among those owning one of their 26-neighbours.
    """
    nz, ny, nx = shape[0], shape[1], shape[2]
    pending = np.empty(order.size, np.int64)
    n_pend = 0
    for i in range(order.size):
        v = order[i]
        if sid[v] >= 0:
            owner[v] = sid[v]
            continue
        pending[n_pend] = v
        n_pend += 1
    n_left = n_pend
    while n_left > 0:
        progress = 0
        m = 0
        for i in range(n_left):
            v = pending[i]
            z = v // (ny * nx)
            y = (v // nx) % ny
            x = v % nx
            best = -1
            bestd = 1e300
            for dz in range(-1, 2):
                zz = z + dz
                if zz < 0 or zz >= nz:
                    continue
                for dy in range(-1, 2):
                    yy = y + dy
                    if yy < 0 or yy >= ny:
                        continue
                    for dx in range(-1, 2):
                        xx = x + dx
                        if xx < 0 or xx >= nx:
                            continue
                        o = owner[(zz * ny + yy) * nx + xx]
                        if o < 0:
                            continue
                        d2 = (
                            ((z - scoord[o, 0]) * h[0]) ** 2
                            + ((y - scoord[o, 1]) * h[1]) ** 2
                            + ((x - scoord[o, 2]) * h[2]) ** 2
                        )
                        if d2 < bestd:
                            bestd = d2
                            best = o
            if best >= 0:
                owner[v] = best
                progress += 1
            else:
                pending[m] = v
                m += 1
        n_left = m
        if progress == 0:
            break
    return n_left


@njit(cache=True)
def _part_integrals(s, r, a, k, s0, s1):  # pragma: no cover - numba
    """Over [s0, s1] of piecewise-linear samples: int ds / A (frustum) and int r ds."""
    res = 0.0
    rint = 0.0
    if s1 <= s0:
        return 0.0, 0.0
    for i in range(k - 1):
        lo_s = s[i]
        hi_s = s[i + 1]
        if hi_s <= s0 or lo_s >= s1 or hi_s <= lo_s:
            continue
        lo = max(lo_s, s0)
        hi = min(hi_s, s1)
        f_lo = (lo - lo_s) / (hi_s - lo_s)
        f_hi = (hi - lo_s) / (hi_s - lo_s)
        # sqrt(A) varies linearly (frustum): interpolate sqrt(A) and r.
        qa = math.sqrt(a[i])
        qb = math.sqrt(a[i + 1])
        q_lo = qa + (qb - qa) * f_lo
        q_hi = qa + (qb - qa) * f_hi
        res += (hi - lo) / (q_lo * q_hi)
        r_lo = r[i] + (r[i + 1] - r[i]) * f_lo
        r_hi = r[i] + (r[i + 1] - r[i]) * f_hi
        rint += 0.5 * (r_lo + r_hi) * (hi - lo)
    return res, rint


@njit(cache=True)
def _trace(
    sid, node_of, rad, vol, node_vox, offs, steps, node_pos, node_r, a_body, shape_p, h, n_nodes, window
):  # pragma: no cover - numba
    """Trace every branch chain between node voxels (flat indices in a 1-padded grid).

    ``sid`` maps padded voxels to skeleton indices (-1 elsewhere); ``node_of``, ``rad``
    and ``vol`` are per skeleton index. Returns (n throats, node pairs, properties (see
    ``_P_*``), volume of dropped self-loops per node).
    """
    ny = shape_p[1]
    nx = shape_p[2]
    n_skel = rad.size
    visited = np.zeros(n_skel, np.uint8)
    max_t = 13 * node_vox.size + 1
    pairs = np.empty((max_t, 2), np.int64)
    props = np.empty((max_t, 14), np.float64)
    node_extra = np.zeros(n_nodes + 1)
    sbuf = np.empty(n_skel + 4)
    rbuf = np.empty(n_skel + 4)
    vbuf = np.empty(n_skel + 4)
    abuf = np.empty(n_skel + 4)
    nt = 0
    for iv in range(node_vox.size):
        v = node_vox[iv]
        la = node_of[sid[v]]
        vz = v // (ny * nx)
        vy = (v // nx) % ny
        vx = v % nx
        d0 = math.sqrt(
            ((vz - 0.5) * h[0] - node_pos[la, 0]) ** 2
            + ((vy - 0.5) * h[1] - node_pos[la, 1]) ** 2
            + ((vx - 0.5) * h[2] - node_pos[la, 2]) ** 2
        )
        for o in range(26):
            nb = v + offs[o]
            snb = sid[nb]
            if snb < 0 or node_of[snb] != 0 or visited[snb] != 0:
                continue
            # samples: 0 node centre, 1 attach voxel, 2.. branch voxels, then attach b, centre b
            sbuf[0] = 0.0
            rbuf[0] = node_r[la]
            vbuf[0] = 0.0
            sbuf[1] = d0
            rbuf[1] = rad[sid[v]]
            vbuf[1] = 0.0
            s = d0 + steps[o]
            sbuf[2] = s
            rbuf[2] = rad[snb]
            vbuf[2] = vol[snb]
            k = 3
            visited[snb] = 1
            prev = v
            cur = nb
            ok = False
            lb = 0
            nvox = 1
            vol_path = vol[snb]
            while True:
                nxt = -1
                step = 0.0
                for o2 in range(26):
                    c = cur + offs[o2]
                    if sid[c] >= 0 and c != prev:
                        nxt = c
                        step = steps[o2]
                        break
                if nxt < 0:
                    break
                s += step
                snx = sid[nxt]
                if node_of[snx] != 0:
                    lb = node_of[snx]
                    sbuf[k] = s
                    rbuf[k] = rad[snx]
                    vbuf[k] = 0.0
                    k += 1
                    wz = nxt // (ny * nx)
                    wy = (nxt // nx) % ny
                    wx = nxt % nx
                    s += math.sqrt(
                        ((wz - 0.5) * h[0] - node_pos[lb, 0]) ** 2
                        + ((wy - 0.5) * h[1] - node_pos[lb, 1]) ** 2
                        + ((wx - 0.5) * h[2] - node_pos[lb, 2]) ** 2
                    )
                    sbuf[k] = s
                    rbuf[k] = node_r[lb]
                    vbuf[k] = 0.0
                    k += 1
                    ok = True
                    break
                if visited[snx] != 0:
                    break
                visited[snx] = 1
                nvox += 1
                vol_path += vol[snx]
                sbuf[k] = s
                rbuf[k] = rad[snx]
                vbuf[k] = vol[snx]
                k += 1
                prev = cur
                cur = nxt
            if not ok:
                continue
            if lb == la:
                node_extra[la] += vol_path
                continue
            # Cross-sections of the branch samples 2 .. k-3: V / ds, smoothed over three.
            nb0 = 2
            nb1 = k - 3
            for j in range(nb0, nb1 + 1):
                jl = max(j - window, nb0)
                jh = min(j + window, nb1)
                vs = 0.0
                dss = 0.0
                for q in range(jl, jh + 1):
                    vs += vbuf[q]
                    dss += 0.5 * (sbuf[q + 1] - sbuf[q - 1])
                a_in = math.pi * rbuf[j] * rbuf[j]  # the inscribed disc is a lower bound
                abuf[j] = max(vs / dss, a_in) if dss > 0 else a_in
            length = s
            ra = node_r[la]
            rb = node_r[lb]
            if ra + rb <= length:
                ca = ra
                cb = length - rb
            else:
                ca = length * ra / (ra + rb)
                cb = ca
            # Inside a node's inscribed ball the section is at least that of the first
            # branch sample outside it (the Voronoi partition splits a pore body between
            # its branches, which would make the body look narrower than its throats).
            ja = nb1
            for j in range(nb0, nb1 + 1):
                if sbuf[j] >= ca:
                    ja = j
                    break
            jb = nb0
            for j in range(nb1, nb0 - 1, -1):
                if sbuf[j] <= cb:
                    jb = j
                    break
            clamp_a = abuf[ja]
            clamp_b = abuf[jb]
            vol_a = 0.0
            vol_b = 0.0
            for j in range(nb0, nb1 + 1):
                if sbuf[j] < ca:
                    vol_a += vbuf[j]
                    f = min(rbuf[j] / ra, 1.0) if ra > 0 else 0.0
                    abuf[j] = max(abuf[j], clamp_a, a_body[la] * f * f)
                if sbuf[j] > cb:
                    vol_b += vbuf[j]
                    f = min(rbuf[j] / rb, 1.0) if rb > 0 else 0.0
                    abuf[j] = max(abuf[j], clamp_b, a_body[lb] * f * f)
            amin = abuf[nb0]
            for j in range(nb0, nb1 + 1):
                if abuf[j] < amin:
                    amin = abuf[j]
            a_a = max(math.pi * ra * ra, abuf[nb0], a_body[la])
            a_b = max(math.pi * rb * rb, abuf[nb1], a_body[lb])
            abuf[0] = a_a
            abuf[1] = a_a
            abuf[k - 2] = a_b
            abuf[k - 1] = a_b
            rmin = rbuf[0]
            for i in range(k):
                if rbuf[i] < rmin:
                    rmin = rbuf[i]
            res_a, int_a = _part_integrals(sbuf, rbuf, abuf, k, 0.0, ca)
            res_t, int_t = _part_integrals(sbuf, rbuf, abuf, k, ca, cb)
            res_b, int_b = _part_integrals(sbuf, rbuf, abuf, k, cb, length)
            pairs[nt, 0] = la
            pairs[nt, 1] = lb
            props[nt, 0] = length
            props[nt, 1] = rmin
            props[nt, 2] = int_a + int_t + int_b
            props[nt, 3] = ca
            props[nt, 4] = cb - ca
            props[nt, 5] = length - cb
            props[nt, 6] = res_a
            props[nt, 7] = res_t
            props[nt, 8] = res_b
            props[nt, 9] = nvox
            props[nt, 10] = vol_path
            props[nt, 11] = amin
            props[nt, 12] = vol_a
            props[nt, 13] = vol_b
            nt += 1
    return nt, pairs, props, node_extra


@njit(cache=True)
def _split_oversized_nodes(node_of, node_idx, sz, sy, sx, rad, grid, h, n_nodes, slack):  # pragma: no cover - numba
    """Split node clusters that do not fit in their own inscribed ball.

    See :func:`batteryct.network.extract_network`, Notes, step 4: a cluster any voxel of
    which lies farther than ``R + slack`` from its largest-radius voxel (``R`` that
    radius) is covered greedily by balls, largest radius first, each sub-node being the
    cluster voxels reached (26-connected, inside the cluster) within ``r_seed + slack``
    of its seed. ``grid`` holds the skeleton index
    of every node voxel (-1 elsewhere). Returns (node_of, n_nodes, n_split_clusters);
    ids stay consecutive.
    """
    n_c = n_nodes + 1
    best = np.full(n_c, -1, np.int64)
    big_r = np.full(n_c, -np.inf)
    for s in node_idx:
        c = node_of[s]
        if rad[s] > big_r[c]:
            big_r[c] = rad[s]
            best[c] = s
    oversized = np.zeros(n_c, np.bool_)
    for s in node_idx:
        c = node_of[s]
        b = best[c]
        d2 = ((sz[s] - sz[b]) * h[0]) ** 2 + ((sy[s] - sy[b]) * h[1]) ** 2 + ((sx[s] - sx[b]) * h[2]) ** 2
        if d2 > (max(big_r[c], 0.0) + slack) ** 2:
            oversized[c] = True
    n_split = int(oversized.sum())
    if n_split == 0:
        return node_of, n_nodes, 0
    cand = np.array([s for s in node_idx if oversized[node_of[s]]], np.int64)
    order = cand[np.argsort(-rad[cand], kind="mergesort")]
    cluster = node_of.copy()
    assigned = np.zeros(node_of.size, np.bool_)
    queue = np.empty(cand.size, np.int64)
    # the oversized clusters' ids are freed and every sub-node gets a new one; then all
    # ids are made consecutive again
    next_id = n_nodes + 1
    nz, ny, nx = grid.shape
    for s in order:
        if assigned[s]:
            continue
        c = cluster[s]
        rho2 = (max(rad[s], 0.0) + slack) ** 2
        assigned[s] = True
        node_of[s] = next_id
        head = 0
        tail = 1
        queue[0] = s
        while head < tail:
            u = queue[head]
            head += 1
            for dz in range(-1, 2):
                z = sz[u] + dz
                if z < 0 or z >= nz:
                    continue
                for dy in range(-1, 2):
                    y = sy[u] + dy
                    if y < 0 or y >= ny:
                        continue
                    for dx in range(-1, 2):
                        x = sx[u] + dx
                        if x < 0 or x >= nx:
                            continue
                        v = grid[z, y, x]
                        if v < 0 or assigned[v] or cluster[v] != c:
                            continue
                        d2 = (
                            ((sz[v] - sz[s]) * h[0]) ** 2
                            + ((sy[v] - sy[s]) * h[1]) ** 2
                            + ((sx[v] - sx[s]) * h[2]) ** 2
                        )
                        if d2 <= rho2:
                            assigned[v] = True
                            node_of[v] = next_id
                            queue[tail] = v
                            tail += 1
        next_id += 1
    used = np.zeros(next_id, np.bool_)
    for s in node_idx:
        used[node_of[s]] = True
    new = np.zeros(next_id, np.int64)
    k = 0
    for i in range(1, next_id):
        if used[i]:
            k += 1
            new[i] = k
    for s in node_idx:
        node_of[s] = new[node_of[s]]
    return node_of, k, n_split


@njit(cache=True)
def _skeleton_cells(sid, seeds, seed_cell, offs, n_skel):  # pragma: no cover - numba
    """Assign every skeleton voxel to the nearest seed, in steps along the skeleton.

    Breadth-first; ``seeds`` are flat padded indices, processed in order.
    """
    cell = np.full(n_skel, -1, np.int64)
    queue = np.empty(n_skel, np.int64)
    head = 0
    tail = 0
    for i in range(seeds.size):
        v = seeds[i]
        s = sid[v]
        if cell[s] < 0:
            cell[s] = seed_cell[i]
            queue[tail] = v
            tail += 1
    while head < tail:
        v = queue[head]
        head += 1
        c = cell[sid[v]]
        for o in range(26):
            u = v + offs[o]
            su = sid[u]
            if su >= 0 and cell[su] < 0:
                cell[su] = c
                queue[tail] = u
                tail += 1
    return cell
