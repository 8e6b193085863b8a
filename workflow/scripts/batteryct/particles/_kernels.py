"""Numba kernels of :mod:`batteryct.particles`.

Bucket-queue watershed, peak search, per-instance counts, trilinear sampling, per-slot
triangle areas and ray-exit radii.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..metrics import triangle_area_centroid


@njit(cache=True)
def _bucket_flood(dist, filled, out, q_scale, top, dz, dy, dx, qdtype_probe):
    """Marker-controlled flooding of ``-dist`` inside ``filled``, in place on ``out``.

    ``out``: int32 markers (> 0) and 0 elsewhere; on return every voxel of ``filled``
    reachable from a marker holds that marker's label. The flood level of a voxel is
    ``top - rint(dist * q_scale)`` (0 floods first). A voxel takes the label of the
    neighbour that reaches it first (non-compact watershed, as skimage's). One bucket per
    level, each a FIFO segment of a single queue sized by the level histogram (every
    voxel is queued once). When the flood enters a level, the voxels pending in it are
    ordered by z slice (stable counting sort: ties broken by position rather than age,
    memory access stays local); voxels reaching that level later are appended FIFO.
    Returns the number of ``filled`` voxels left unlabelled.
    """
    nz, ny, nx = out.shape
    D = dist.ravel()
    M = filled.ravel()
    Out = out.ravel()
    n = Out.size
    n_levels = top + 1
    cnt = np.zeros(n_levels + 1, np.int64)
    for i in range(n):
        if M[i]:
            lv = top - np.int64(np.rint(D[i] * q_scale))
            cnt[lv + 1] += 1
        else:
            Out[i] = -1
    for lv in range(n_levels):
        cnt[lv + 1] += cnt[lv]
    rd = cnt[:-1].copy()
    wr = cnt[:-1].copy()
    q = np.empty(cnt[n_levels], qdtype_probe.dtype)
    for i in range(n):
        if Out[i] > 0:
            lv = top - np.int64(np.rint(D[i] * q_scale))
            q[wr[lv]] = i
            wr[lv] += 1
    nyx = ny * nx
    nk = dz.size
    cur = 0
    sorted_upto = -1
    seg = 0
    for lv in range(n_levels):
        seg = max(seg, cnt[lv + 1] - cnt[lv])
    tmp = np.empty(seg, q.dtype)
    zc = np.empty(nz + 1, np.int64)
    while True:
        while cur < n_levels and rd[cur] == wr[cur]:
            cur += 1
        if cur >= n_levels:
            break
        if cur > sorted_upto:
            # order the waiting voxels by z slice (stable counting sort)
            a0 = rd[cur]
            a1 = wr[cur]
            if a1 - a0 > 1:
                zc[:] = 0
                for t in range(a0, a1):
                    zc[q[t] // nyx + 1] += 1
                for zz in range(nz):
                    zc[zz + 1] += zc[zz]
                for t in range(a0, a1):
                    zz = q[t] // nyx
                    tmp[zc[zz]] = q[t]
                    zc[zz] += 1
                q[a0:a1] = tmp[: a1 - a0]
            sorted_upto = cur
        i = np.int64(q[rd[cur]])
        rd[cur] += 1
        lab = Out[i]
        z = i // nyx
        r = i - z * nyx
        y = r // nx
        x = r - y * nx
        for k in range(nk):
            zz = z + dz[k]
            yy = y + dy[k]
            xx = x + dx[k]
            if zz < 0 or zz >= nz or yy < 0 or yy >= ny or xx < 0 or xx >= nx:
                continue
            j = (zz * ny + yy) * nx + xx
            if Out[j] == 0:
                Out[j] = lab
                lv = top - np.int64(np.rint(D[j] * q_scale))
                q[wr[lv]] = j
                wr[lv] += 1
                if lv < cur:
                    cur = lv
    left = 0
    for i in range(n):
        if Out[i] < 0:
            Out[i] = 0
        elif Out[i] == 0:
            left += 1
    return left


@njit(cache=True)
def _peak_voxels(dist, maxf, filled, thr):
    """Flat indices (raster order) of voxels where ``dist == maxf``, ``dist >= thr``."""
    D = dist.ravel()
    F = maxf.ravel()
    M = filled.ravel()
    n = 0
    for i in range(D.size):
        if M[i] and D[i] >= thr and D[i] == F[i]:
            n += 1
    out = np.empty(n, np.int64)
    k = 0
    for i in range(D.size):
        if M[i] and D[i] >= thr and D[i] == F[i]:
            out[k] = i
            k += 1
    return out


@njit(cache=True)
def _count_labels(lab, n):
    """``np.bincount(lab.ravel(), minlength=n + 1)`` without the int64 copy."""
    L = lab.ravel()
    out = np.zeros(n + 1, np.int64)
    for i in range(L.size):
        out[L[i]] += 1
    return out


@njit(cache=True)
def _count_phases(inst, lab, n, is_solid, void_label):
    """Per instance id: all voxels, solid voxels (``is_solid[label]``), void voxels."""
    Inst = inst.ravel()
    L = lab.ravel()
    env = np.zeros(n + 1, np.int64)
    sol = np.zeros(n + 1, np.int64)
    voi = np.zeros(n + 1, np.int64)
    for i in range(Inst.size):
        k = Inst[i]
        if k > 0:
            env[k] += 1
            v = L[i]
            if is_solid[v]:
                sol[k] += 1
            elif v == void_label:
                voi[k] += 1
    return env, sol, voi


@njit(cache=True)
def _trilinear_nearest(a, z, y, x):
    """``map_coordinates(a, [[z], [y], [x]], order=1, mode="nearest")`` for one point."""
    nz, ny, nx = a.shape
    z = min(max(z, 0.0), nz - 1.0)
    y = min(max(y, 0.0), ny - 1.0)
    x = min(max(x, 0.0), nx - 1.0)
    z0 = min(int(z), nz - 2) if nz > 1 else 0
    y0 = min(int(y), ny - 2) if ny > 1 else 0
    x0 = min(int(x), nx - 2) if nx > 1 else 0
    wz = z - z0
    wy = y - y0
    wx = x - x0
    acc = 0.0
    for cz in range(2):
        a1 = wz if cz else 1.0 - wz
        if a1 == 0.0:
            continue
        for cy in range(2):
            b1 = wy if cy else 1.0 - wy
            if b1 == 0.0:
                continue
            for cx in range(2):
                c1 = wx if cx else 1.0 - wx
                if c1 == 0.0:
                    continue
                acc += a1 * b1 * c1 * a[z0 + cz, y0 + cy, x0 + cx]
    return acc


@njit(cache=True)
def _face_areas(verts, faces, sp, slot, sigma_um, kmax, n_slots, kappa):
    """Sum the triangle areas (um^2) per slot, with the curvature correction, and the mesh's own area and volume.

    Each area is multiplied by ``1 + sigma^2 kappa^2 / 2`` (``kappa`` trilinear at the triangle centroid as
    ``map_coordinates(order=1, mode="nearest")``, clipped to ``+-kmax``; no correction if
    ``sigma_um`` is 0), the correction of :func:`batteryct.metrics.surface_area_um2`. A
    triangle belongs to the slot ``slot[y, x]`` of the voxel nearest its centroid (none
    if -1).

    Returns ``(area, mesh_area, mesh_volume)`` per slot: the corrected area, the plain
    area of the mesh (um^2) and the volume the mesh encloses (um^3, divergence theorem:
    sum of the signed tetrahedra ``v0 . (v1 x v2) / 6``; the absolute value, as the
    orientation of the triangles is skimage's). Each slot's mesh is closed (the crops are
    separated by zero margins), so the two mesh figures obey the isoperimetric inequality.
    """
    ny = slot.shape[0]
    nx = slot.shape[1]
    out = np.zeros(n_slots)
    mesh_area = np.zeros(n_slots)
    vol6 = np.zeros(n_slots)
    correct = sigma_um > 0.0
    for t in range(faces.shape[0]):
        area, pz, py, px = triangle_area_centroid(verts, faces, t, sp)
        vy = min(max(int(np.floor(py + 0.5)), 0), ny - 1)
        vx = min(max(int(np.floor(px + 0.5)), 0), nx - 1)
        o = slot[vy, vx]
        if o < 0:
            continue
        i0, i1, i2 = faces[t, 0], faces[t, 1], faces[t, 2]
        a0, a1, a2 = verts[i0, 0], verts[i0, 1], verts[i0, 2]
        b0, b1, b2 = verts[i1, 0], verts[i1, 1], verts[i1, 2]
        c0, c1, c2 = verts[i2, 0], verts[i2, 1], verts[i2, 2]
        vol6[o] += a0 * (b1 * c2 - b2 * c1) - a1 * (b0 * c2 - b2 * c0) + a2 * (b0 * c1 - b1 * c0)
        mesh_area[o] += area
        if correct:
            k = _trilinear_nearest(kappa, pz, py, px)
            k = min(max(k, -kmax), kmax)
            area *= 1.0 + 0.5 * sigma_um * sigma_um * k * k
        out[o] += area
    return out, mesh_area, np.abs(vol6) / 6.0


@njit(cache=True)
def _trilinear0(f, z, y, x):
    """Interpolate ``f`` trilinearly at (z, y, x) index units, 0 outside the array.

    Inside, :func:`_trilinear_nearest`'s clamping changes nothing.
    """
    nz, ny, nx = f.shape
    if z < 0.0 or y < 0.0 or x < 0.0 or z > nz - 1.0 or y > ny - 1.0 or x > nx - 1.0:
        return 0.0
    return _trilinear_nearest(f, z, y, x)


@njit(cache=True)
def _ray_radii(f, starts, dirs, ds_um, n_steps, lo, hi):
    """Measure the exit distance of rays from the 0.5 level of ``f``.

    Distance (um) from ``starts[o]`` (index units) along each direction ``dirs[r]``
    (index units per um) to the first point where ``f`` drops below 0.5 after being
    >= 0.5 (linear between samples ``ds_um`` apart); NaN if none within ``n_steps[o]``
    samples. Samples outside the box ``lo[o]..hi[o]`` (index units) read 0, so a ray
    only sees its own crop.
    """
    m = starts.shape[0]
    nr = dirs.shape[0]
    out = np.full((m, nr), np.nan)
    for o in range(m):
        for r in range(nr):
            prev = -1.0
            for s in range(n_steps[o] + 1):
                t = s * ds_um
                z = starts[o, 0] + t * dirs[r, 0]
                y = starts[o, 1] + t * dirs[r, 1]
                x = starts[o, 2] + t * dirs[r, 2]
                if z < lo[o, 0] or z > hi[o, 0] or y < lo[o, 1] or y > hi[o, 1] or x < lo[o, 2] or x > hi[o, 2]:
                    v = 0.0
                else:
                    v = _trilinear0(f, z, y, x)
                if s > 0 and prev >= 0.5 and v < 0.5:
                    out[o, r] = t - ds_um + (prev - 0.5) / (prev - v) * ds_um
                    break
                prev = v
    return out
