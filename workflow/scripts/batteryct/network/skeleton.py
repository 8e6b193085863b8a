"""Curve skeleton of the pore space: distance-gated thinning and face connections."""

from __future__ import annotations

import cc3d
import edt
import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree

from .. import _checks
from ._constants import _GATE_STEP, _N_LINE_CANDIDATES, _RADIUS_OFFSET
from ._skeleton_kernels import _suppress, _thin_kernel, _thread_kernel

__all__ = ["skeletonize_pores"]


def _thin(mask: np.ndarray, gate_dist: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Thin a boolean volume (outside the array = background) to its curve skeleton.

    A topology-preserving thinning must keep a closed surface around every cavity
    (solid component enclosed by pore: a particle that touches no face and no other
    solid). Each such floating component is therefore joined to the outside solid by a
    one-voxel 6-connected thread of pore voxels treated as solid during the thinning
    only (the shortest such path found by a breadth-first search through the pore):
    the cavity opens, the thread removes a line of voxels that does not disconnect
    the pore, and the skeleton stays a set of curves with the components and tunnels of
    the pore space.
    """
    img = np.pad(mask.astype(np.uint8), 1)
    solid, n_solid = cc3d.connected_components(~mask, connectivity=6, return_N=True)
    if n_solid:
        touching = np.zeros(n_solid + 1, bool)
        for axis in range(3):
            for index in (0, mask.shape[axis] - 1):
                touching[np.take(solid, index, axis=axis)] = True
        floating = ~touching
        floating[0] = False
        if floating.any():
            sp_ = img.shape
            offs6 = np.array([sp_[1] * sp_[2], -sp_[1] * sp_[2], sp_[2], -sp_[2], 1, -1], np.int64)
            lab_p = np.pad(solid.astype(np.int32), 1).reshape(-1)
            itype = np.int32 if img.size < 2**31 else np.int64
            pred = np.full(img.size, -1, itype)
            queue = np.empty(img.size, itype)
            _thread_kernel(img.reshape(-1), lab_p, floating, offs6, pred, queue)
            del lab_p, pred, queue
    del solid
    mask = img[1:-1, 1:-1, 1:-1] != 0
    shp = img.shape
    offs27 = np.array(
        [(dz * shp[1] + dy) * shp[2] + dx for dz in (-1, 0, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)], np.int64
    )
    dirs = ((1, -1), (2, +1), (0, +1), (1, +1), (2, -1), (0, -1))  # (axis, side)
    strides = (shp[1] * shp[2], shp[2], 1)
    dir_offs = np.array([s * strides[a] for a, s in dirs], np.int64)
    flat = img.reshape(-1)
    active = np.flatnonzero(flat).astype(np.int64)
    step = float(_GATE_STEP * np.min(h))
    inner = np.flatnonzero(mask.reshape(-1))
    bucket = np.ceil(np.asarray(gate_dist, np.float32).reshape(-1)[inner] / step)
    del inner
    bucket = np.maximum(bucket, 1).astype(np.int32)  # active and inner: same raster order
    order = np.argsort(bucket, kind="stable")
    active, bucket = active[order], bucket[order]
    del order
    _thin_kernel(flat, active, bucket, offs27, dir_offs, int(bucket[-1]) if bucket.size else 0)
    del active, bucket
    return img[1:-1, 1:-1, 1:-1].astype(bool)


def _line_voxels(p0, p1):
    """Voxels of the 26-connected digital segment from index ``p0`` to ``p1``."""
    p0 = np.asarray(p0, np.int64)
    p1 = np.asarray(p1, np.int64)
    n = int(np.max(np.abs(p1 - p0)))
    if n == 0:
        return p0[None, :]
    t = np.arange(n + 1) / n
    return np.rint(p0[None, :] + t[:, None] * (p1 - p0)[None, :]).astype(np.int64)


def _face_anchors(plane, dplane, h2):
    """Find the openings of one face plane (anchors for the face connections).

    Local maxima of the distance, greedily thinned so that no anchor lies within the
    inscribed disc of a larger one of the same patch.

    ``h2`` are the two in-plane voxel sizes. Returns flat in-plane indices.
    """
    lab = cc3d.connected_components(plane, connectivity=8).reshape(-1).astype(np.int64)
    peak = (dplane >= ndi.maximum_filter(dplane, size=3, mode="nearest")) & plane
    idx = np.flatnonzero(peak.reshape(-1))
    if idx.size == 0:
        return idx
    d = np.ascontiguousarray(dplane.reshape(-1), dtype=np.float64)
    idx = idx[np.lexsort((idx, -d[idx]))]
    return _suppress(idx.astype(np.int64), lab, d, np.array(plane.shape, np.int64), np.asarray(h2, np.float64))


def _nearest_on_plateau(anchors, mask, dist, tree, h):
    """Move each anchor to the point of its distance plateau nearest to the skeleton.

    Candidates: the anchor and its in-plane neighbours of equal distance value (an
    opening of even width has a plateau of two or four equal maxima; this keeps the
    joining line straight).
    """
    shape = np.array(mask.shape)
    best = anchors.copy()
    best_d, _ = tree.query(anchors * h[None, :], k=1)
    d0 = dist[anchors[:, 0], anchors[:, 1], anchors[:, 2]]
    on_face = (anchors == 0) | (anchors == shape - 1)
    for dz in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                off = np.array([dz, dy, dx])
                if not off.any():
                    continue
                q = anchors + off
                ok = np.all((q >= 0) & (q < shape), axis=1)
                ok &= ~np.any(on_face & (off != 0)[None, :], axis=1)  # stay in the face
                qc = np.where(ok[:, None], q, 0)
                ok &= mask[qc[:, 0], qc[:, 1], qc[:, 2]]
                ok &= dist[qc[:, 0], qc[:, 1], qc[:, 2]] == d0
                if not ok.any():
                    continue
                dq, _ = tree.query(qc[ok] * h[None, :], k=1)
                idx = np.flatnonzero(ok)
                better = dq < best_d[idx] - 1e-9
                best[idx[better]] = q[idx[better]]
                best_d[idx[better]] = dq[better]
    return best


def _connect_faces(mask, skel, dist, h):
    """Join the openings of every face to the skeleton (:func:`skeletonize_pores`, Notes, step 3).

    ``skel`` is modified in place. Returns the anchors (n, 3; voxel indices) that lie on
    the skeleton afterwards and the number of anchors left unconnected.
    """
    shape = mask.shape
    hmin = float(np.min(h))
    anchors = []
    for axis in range(3):
        h2 = [h[d] for d in range(3) if d != axis]
        for index in (0, shape[axis] - 1):
            plane = np.take(mask, index, axis=axis)
            if not plane.any():
                continue
            flat = _face_anchors(plane, np.take(dist, index, axis=axis), h2)
            if flat.size:
                ij = list(np.unravel_index(flat, plane.shape))
                ij.insert(axis, np.full(flat.size, index))
                anchors.append(np.stack(ij, axis=1).astype(np.int64))
    if not anchors:
        return np.zeros((0, 3), np.int64), 0
    anchors = np.concatenate(anchors)
    svox = np.argwhere(skel)
    if svox.size == 0:
        return np.zeros((0, 3), np.int64), len(anchors)
    srad = dist[svox[:, 0], svox[:, 1], svox[:, 2]].astype(np.float64) - _RADIUS_OFFSET * hmin
    tree = cKDTree(svox * h[None, :])
    anchors = _nearest_on_plateau(anchors, mask, dist, tree, h)
    k = min(_N_LINE_CANDIDATES, len(svox))
    dd, cand = tree.query(anchors * h[None, :], k=k)
    dd = np.asarray(dd).reshape(len(anchors), k)
    cand = np.asarray(cand).reshape(len(anchors), k)
    linked = []
    unconnected = 0
    for a, drow, row in zip(anchors, dd, cand):
        if drow[0] == 0.0:  # already on the skeleton
            linked.append(a)
            continue
        # prefer the skeleton voxel whose inscribed ball comes closest to the anchor
        for j in row[np.lexsort((drow, drow - srad[row]))]:
            line = _line_voxels(a, svox[j])
            if mask[line[:, 0], line[:, 1], line[:, 2]].all():
                skel[line[:, 0], line[:, 1], line[:, 2]] = True
                linked.append(a)
                break
        else:
            unconnected += 1
    return (np.array(linked, np.int64).reshape(-1, 3), unconnected)


def _skeleton(mask, h, connect_faces, threads):
    aniso = tuple(float(x) for x in h)
    none = np.zeros((0, 3), np.int64)
    if not mask.any():
        return np.zeros(mask.shape, bool), np.zeros(mask.shape, np.float32), none, 0
    dist_wall = edt.edt(mask, anisotropy=aniso, black_border=True, parallel=int(threads))
    skel = _thin(mask, dist_wall, h)
    del dist_wall
    dist = edt.edt(mask, anisotropy=aniso, black_border=False, parallel=int(threads))
    dist = np.ascontiguousarray(dist, dtype=np.float32)
    if not np.isfinite(dist).all():  # no solid voxel at all
        dist[~np.isfinite(dist)] = np.float32(np.max(np.array(mask.shape) * h))
    anchors, unconnected = _connect_faces(mask, skel, dist, h) if connect_faces else (none, 0)
    return skel, dist, anchors, unconnected


def skeletonize_pores(
    pore_mask, voxel_size_um=1.0, *, connect_faces: bool = True, threads: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Compute the curve skeleton (medial axis) of the pore space and its distance map.

    Parameters
    ----------
    pore_mask : ndarray of bool, (z, y, x)
        True in the pore phase (an integer array is read as ``pore_mask != 0``).
    voxel_size_um : float or (3,) sequence of float
        Voxel size ``(h_z, h_y, h_x)`` in um (a scalar for cubic voxels).
    connect_faces : bool, optional
        Join every pore opening of the six faces to the skeleton by a straight digital
        line (Notes, step 3), so that curves end on the faces. With False the skeleton
        ends about one pore radius short of the faces.
    threads : int, optional
        Threads of the distance transforms.

    Returns
    -------
    skeleton : ndarray of bool, (z, y, x)
        26-connected, one-voxel-thin curve skeleton with the components and tunnels of
        the pore space, centred on the ridge of the anisotropic distance map.
    distance_um : ndarray of float32, (z, y, x)
        Anisotropic Euclidean distance (um) from each pore voxel centre to the nearest
        solid voxel centre, the outside of the box counted as pore (0 in the solid).
        :func:`extract_network` uses ``r = distance_um - min(voxel_size_um) / 2``.

    Raises
    ------
    ValueError
        If ``pore_mask`` is not a non-empty 3-D array or ``voxel_size_um`` is not positive.
    TypeError
        If ``pore_mask`` is neither boolean nor integer.

    See Also
    --------
    extract_network : the pore network built on this skeleton.

    Notes
    -----
    1. **Distance maps.** Two anisotropic Euclidean distance transforms of the pore mask
       (``edt`` with ``anisotropy = (h_z, h_y, h_x)``; um from each pore voxel centre to
       the nearest solid voxel centre): ``distance_um`` with the outside of the box
       counted as pore (the structure continues beyond the faces; used for every
       radius), and one with the outside counted as solid (used only to order the
       thinning).
    2. **Thinning.** Curve skeleton by directional sequential thinning (the six-sweep
       scheme of Lee, Kashyap & Chu 1994) with an exact (26, 6) simple-point test
       (Bertrand & Malandain 1994) and curve ends kept, so the skeleton keeps the
       components and tunnels of the pore space (the Euler number differs only by the
       cavities opened below). Two changes to Lee's rules: (a) a distance gate: round
       ``k`` may only delete voxels whose (walls) distance is <= ``k h_min / 2``, so the
       thinning front follows the distance map and the curve lies on its ridge (centred
       in physical space, non-cubic voxels included); (b) the sweeps only delete simple
       points with at least three 26-neighbours (Lee's rule, any simple non-end point,
       eats a two-voxel-wide strip rung by rung from its end in the sequential re-check;
       that is how ``skimage.morphology.skeletonize`` (0.26, Lee) erases whole rods of
       even width, scikit-image issue #3757: a 2 x 2 x L or 4 x 4 x L rod gives an empty
       skeleton, which is why it is not used here); corners of voxel triangles are
       removed at the end. A solid particle touching neither a face nor other solid is a
       cavity of the pore space, around which a topology-preserving thinning must keep a
       closed surface; each such particle is joined to the outside solid by a one-voxel
       thread of pore voxels treated as solid during the thinning only (shortest path,
       breadth-first), which opens the cavity without creating a tunnel.
    3. **Faces** (``connect_faces``). The thinning sees the faces as walls, so skeleton
       ends stop about one pore radius short of them. In every face plane the openings
       are found as local maxima of ``distance_um`` within each pore patch (8-connected
       region of pore voxels of the plane), thinned greedily (by decreasing distance, a
       maximum inside the inscribed disc of an accepted one of the same patch is
       dropped). A digital straight line (26-connected) joins each anchor to a skeleton
       voxel: among its 32 nearest skeleton voxels, by increasing ``distance - radius``
       (the one whose inscribed ball comes closest, so a main pore curve wins over a thin
       wall-hugging one), the first whose line runs in the pore only. Anchors whose 32
       lines all cross solid stay unconnected (``n_face_anchors_unconnected`` in the
       attributes of :func:`extract_network`'s tables).

    Anisotropy: both distance maps (hence the order of the thinning, so the curve is
    centred in physical space) and the face connections use the physical voxel size. The
    simple-point test and the sweep directions are purely topological, on the voxel
    grid, so for very elongated voxels (ratio > 2 or so) a digital curve follows the grid
    coarsely along the fine axes; resample first if that matters.

    Examples
    --------
    A straight 3 x 3 channel along z: the skeleton is its centre line.

    >>> import numpy as np
    >>> pore = np.zeros((12, 9, 9), bool)
    >>> pore[:, 3:6, 3:6] = True
    >>> skeleton, distance_um = skeletonize_pores(pore, 0.5)
    >>> np.argwhere(skeleton)[:, 1:].tolist() == [[4, 4]] * 12
    True
    >>> float(distance_um[6, 4, 4])  # two voxels of 0.5 um to the nearest solid voxel centre
    1.0
    """
    mask = _checks.as_mask_3d(pore_mask, "pore_mask")
    h = _checks.voxel_size_um(voxel_size_um)
    skel, dist, _, _ = _skeleton(mask, h, connect_faces, threads)
    return skel, dist
