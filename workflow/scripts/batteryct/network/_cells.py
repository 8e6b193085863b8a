"""Voronoi partition of the pore space along the skeleton, node cells and contact throats."""

from __future__ import annotations

import math

import edt
import numpy as np

from ._constants import (
    _BOUNDARY,
    _N_PROPS,
    _P_AMIN,
    _P_CONTACT,
    _P_LA,
    _P_LB,
    _P_LEN,
    _P_RA,
    _P_RB,
    _P_RINT,
    _P_RMIN,
    _RADIUS_OFFSET,
)
from ._extract_kernels import _partition_kernel, _skeleton_cells


def _offsets(shape_p, h):
    offs, steps = [], []
    for dz in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if dz == dy == dx == 0:
                    continue
                offs.append((dz * shape_p[1] + dy) * shape_p[2] + dx)
                steps.append(math.sqrt((dz * h[0]) ** 2 + (dy * h[1]) ** 2 + (dx * h[2]) ** 2))
    return np.array(offs, np.int64), np.array(steps, np.float64)


def _skeleton_volumes(mask, skel, h, threads):
    """Partition the pore space among the skeleton voxels (Voronoi, through the pore).

    Returns the pore volume (um^3) owned by each skeleton voxel (raster order of
    ``skel``), the number of pore voxels left unassigned and the owner (skeleton index,
    -1 for none) of every voxel (flat, int32).
    """
    flat_skel = np.flatnonzero(skel.reshape(-1))
    vol = np.zeros(flat_skel.size)
    if flat_skel.size == 0:
        return vol, 0, np.full(mask.size, -1, np.int32)
    dskel = edt.edt(~skel, anisotropy=tuple(float(x) for x in h), black_border=False, parallel=int(threads))
    pore = np.flatnonzero(mask.reshape(-1))
    order = pore[np.argsort(dskel.reshape(-1)[pore], kind="stable")]
    del dskel, pore
    sid = np.full(mask.size, -1, np.int32)
    sid[flat_skel] = np.arange(flat_skel.size, dtype=np.int32)
    scoord = np.argwhere(skel).astype(np.int64)
    owner = np.full(mask.size, -1, np.int32)
    left = _partition_kernel(order, sid, scoord, np.array(mask.shape, np.int64), h, owner)
    del order, sid
    o = owner[owner >= 0]
    vol = np.bincount(o, minlength=flat_skel.size).astype(np.float64) * float(np.prod(h))
    return vol, int(left), owner


def _node_cells(g, mask, owner, sid, node_of, flat_p, h, n_skel, shape_p):
    """Return the cell (alive node label, -1 for none) of every voxel (``extract_network`` Notes, step 10)."""
    final = g.final_node()
    is_seed = node_of > 0
    seed_cell = final[node_of[is_seed]]
    ok = seed_cell >= 0
    seeds = flat_p[is_seed][ok]
    offs, _ = _offsets(shape_p, h)
    cell_s = _skeleton_cells(sid, seeds.astype(np.int64), seed_cell[ok].astype(np.int64), offs, n_skel).astype(np.int32)
    if n_skel == 0:
        return np.full(mask.shape, -1, np.int32)
    cell = cell_s[np.maximum(owner, 0)]
    cell[owner < 0] = -1
    return cell.reshape(mask.shape)


def _add_contacts(g, cell, h, dist):
    """Add contact throats between node cells that touch without a throat (``extract_network`` Notes, step 10)."""
    hmin = float(h.min())
    lo_all, hi_all, area_all, cz, cy, cx, w_all, sv = [], [], [], [], [], [], [], []
    for ax in range(3):
        sa = [slice(None)] * 3
        sb = [slice(None)] * 3
        sa[ax] = slice(None, -1)
        sb[ax] = slice(1, None)
        ca, cb = cell[tuple(sa)], cell[tuple(sb)]
        hit = (ca >= 0) & (cb >= 0) & (ca != cb)
        if not hit.any():
            continue
        zi, yi, xi = np.nonzero(hit)
        i, j = ca[hit], cb[hit]
        lo_all.append(np.minimum(i, j))
        hi_all.append(np.maximum(i, j))
        af = float(np.prod([h[d] for d in range(3) if d != ax]))
        area_all.append(np.full(i.size, af))
        vec = np.zeros((i.size, 3))  # face normal times area, oriented from lo to hi
        vec[:, ax] = np.where(i < j, af, -af)
        sv.append(vec)
        centre = [(zi + 0.5) * h[0], (yi + 0.5) * h[1], (xi + 0.5) * h[2]]
        centre[ax] = centre[ax] + 0.5 * h[ax]
        cz.append(centre[0])
        cy.append(centre[1])
        cx.append(centre[2])
        w_all.append(np.minimum(dist[tuple(sa)][hit], dist[tuple(sb)][hit]).astype(np.float64))
    if not lo_all:
        return
    # int64: the cells are int32 and lo * n overflows int32 beyond ~46k nodes (a 512^3 electrode)
    lo = np.concatenate(lo_all).astype(np.int64)
    hi = np.concatenate(hi_all).astype(np.int64)
    area = np.concatenate(area_all)
    n = len(g.r)
    key = lo * n + hi
    uniq, inv = np.unique(key, return_inverse=True)
    a_sum = np.bincount(inv, weights=area)
    cen = np.stack([np.bincount(inv, weights=np.concatenate(c) * area) / a_sum for c in (cz, cy, cx)], axis=1)
    wmax = np.zeros(uniq.size)
    np.maximum.at(wmax, inv, np.concatenate(w_all))
    svec = np.concatenate(sv)
    s_sum = np.stack([np.bincount(inv, weights=svec[:, d]) for d in range(3)], axis=1)
    existing = set()
    for t in range(len(g.a)):
        if g.t_alive[t]:
            existing.add((min(g.a[t], g.b[t]), max(g.a[t], g.b[t])))
    ia = (uniq // n).astype(np.int64)
    ib = (uniq % n).astype(np.int64)
    da = cen - g.pos[ia]
    db = g.pos[ib] - cen
    la = np.sqrt(np.sum(da**2, axis=1))
    lb = np.sqrt(np.sum(db**2, axis=1))
    # Half-transmissibilities of a two-point flux approximation with the vector area
    # ``S`` of the interface: T = (S . d) / |d|^2 (<= |S| / |d|; an interface oblique to
    # the line between the nodes conducts less). Floor: 1 % of the area.
    ta = np.maximum(np.sum(s_sum * da, axis=1), 0.01 * a_sum * la) / np.maximum(la, 1e-12) ** 2
    tb = np.maximum(np.sum(s_sum * db, axis=1), 0.01 * a_sum * lb) / np.maximum(lb, 1e-12) ** 2
    r_w = np.maximum(wmax - _RADIUS_OFFSET * hmin, 0.0)
    props = np.zeros((uniq.size, _N_PROPS))
    props[:, _P_LEN] = la + lb
    props[:, _P_RMIN] = r_w
    props[:, _P_RINT] = r_w * (la + lb)
    props[:, _P_LA] = la
    props[:, _P_LB] = lb
    # a contact of zero area (a node sitting on it) conducts nothing: infinite resistance
    props[:, _P_RA] = np.divide(1.0, ta, out=np.full_like(ta, np.inf), where=ta > 0)
    props[:, _P_RB] = np.divide(1.0, tb, out=np.full_like(tb, np.inf), where=tb > 0)
    props[:, _P_AMIN] = a_sum
    props[:, _P_CONTACT] = 1.0
    for k in range(uniq.size):
        a, b = int(ia[k]), int(ib[k])
        if (a, b) not in existing:
            g.add_throat(a, b, props[k].tolist())


def _add_face_contacts(g, cell, h, dist):
    """Add boundary nodes for node cells that touch a face without a node on it (step 10)."""
    hmin = float(h.min())
    shape = cell.shape
    new = []
    for ax in range(3):
        other = [d for d in range(3) if d != ax]
        af = float(h[other[0]] * h[other[1]])
        for side, index in ((0, 0), (1, shape[ax] - 1)):
            plane = np.take(cell, index, axis=ax)
            dplane = np.take(dist, index, axis=ax)
            ok = plane >= 0
            if not ok.any():
                continue
            ij = np.nonzero(ok)
            c = plane[ok].astype(np.int64)
            n = len(g.r)
            n_face = np.bincount(c, minlength=n)
            area = n_face * af
            # centroid of the cell's face voxels (um); dividing these sums by the area
            # instead was wrong by 1/af for voxels other than 1 um
            cu = np.bincount(c, weights=(ij[0] + 0.5) * h[other[0]], minlength=n)
            cv = np.bincount(c, weights=(ij[1] + 0.5) * h[other[1]], minlength=n)
            wmax = np.zeros(n)
            np.maximum.at(wmax, c, dplane[ok].astype(np.float64))
            face_col = 2 * ax + side
            for i in np.flatnonzero(area > 0):
                if not g.alive[i] or g.faces[i, face_col]:
                    continue  # already a Dirichlet node on this face
                centre = np.zeros(3)
                centre[ax] = 0.0 if side == 0 else shape[ax] * h[ax]
                centre[other[0]] = cu[i] / n_face[i]
                centre[other[1]] = cv[i] / n_face[i]
                new.append((int(i), centre, float(area[i]), float(wmax[i]), face_col, ax))
    for i, centre, area, w, face_col, ax in new:
        faces = np.zeros(6, bool)
        faces[face_col] = True
        r_w = max(w - _RADIUS_OFFSET * hmin, 0.0)
        b = g.add_node(centre, r_w, _BOUNDARY, faces)
        d = centre - g.pos[i]
        length = float(np.sqrt(np.sum(d**2)))
        normal_dist = max(abs(float(d[ax])), 0.5 * h[ax])
        # two-point flux approximation with the vector area A n: T = A (n . d) / |d|^2
        t = area * normal_dist / max(length, normal_dist) ** 2
        p = [0.0] * _N_PROPS
        p[_P_LEN] = length
        p[_P_RMIN] = r_w
        p[_P_RINT] = r_w * length
        p[_P_LA] = length
        p[_P_RA] = 1.0 / t
        p[_P_AMIN] = area
        p[_P_CONTACT] = 1.0
        g.add_throat(i, b, p)
