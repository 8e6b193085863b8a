"""Pore network (nodes, throats) of the pore space by skeletonisation."""

from __future__ import annotations

import cc3d
import numpy as np
from scipy import ndimage as ndi

from .. import _checks
from ._cells import _add_contacts, _add_face_contacts, _node_cells, _offsets, _skeleton_volumes
from ._constants import (
    _AREA_WINDOW,
    _BOUNDARY,
    _END,
    _ISOLATED,
    _JUNCTION,
    _N_PROPS,
    _NODE_SLACK_VOXELS,
    _RADIUS_OFFSET,
)
from ._extract_kernels import _split_oversized_nodes, _trace
from ._graph import _Graph, _tables
from .skeleton import _skeleton

__all__ = ["extract_network"]


def _scatter(shape, z, y, x, values):
    out = np.zeros(shape, bool)
    out[z[values], y[values], x[values]] = True
    return out


def extract_network(
    pore_mask,
    voxel_size_um=1.0,
    *,
    spur_factor: float = 1.0,
    merge_factor: float = 1.0,
    dissolve_degree2: bool = True,
    connect_faces: bool = True,
    contact_throats: bool = True,
    threads: int = 1,
):
    """Extract the pore network (nodes and throats) of the pore space by skeletonisation.

    Parameters
    ----------
    pore_mask : ndarray of bool, (z, y, x)
        True in the pore phase (an integer array is read as ``pore_mask != 0``).
    voxel_size_um : float or (3,) sequence of float
        Voxel size ``(h_z, h_y, h_x)`` in um (a scalar for cubic voxels).
    spur_factor : float, optional
        Spur pruning: a dead end hanging on a node of coordination >= 3 is removed when
        its throat is shorter than ``spur_factor`` x that node's pore radius. 0 disables.
    merge_factor : float, optional
        Junction merging: two non-boundary nodes are merged when the throat between them
        is shorter than ``merge_factor * max(R_a, R_b)``. 0 disables.
    dissolve_degree2 : bool, optional
        Join the two throats of non-boundary nodes of coordination 2 (Notes, step 9).
    connect_faces : bool, optional
        See :func:`skeletonize_pores`; with False there are no boundary nodes.
    contact_throats : bool, optional
        Add a throat between every two node cells that touch without a skeleton branch
        between them (Notes, step 10). False gives the pure skeleton graph.
    threads : int, optional
        Threads of the distance transforms.

    Returns
    -------
    nodes : pandas.DataFrame
        One row per node: ``node_id`` (0..N-1), ``z_um``, ``y_um``, ``x_um`` (position,
        um), ``pore_radius_um`` (maximum inscribed radius over the node's voxels, um),
        ``kind`` (from the skeleton: ``"junction"`` >= 2 skeleton throats, ``"end"``
        dead end of the skeleton, ``"boundary"`` opening of the pore space in a face,
        ``"isolated"`` no skeleton throat), ``coordination_number`` (all throats),
        ``skeleton_coordination`` (skeleton throats only), ``on_inlet_z``,
        ``on_outlet_z``, ``on_inlet_y``, ``on_outlet_y``, ``on_inlet_x``,
        ``on_outlet_x`` (a voxel of the node lies in the first / last plane of that
        axis), ``volume_um3`` (pore volume of the node's cell, um^3; the cells partition
        the pore space; 0 for the boundary nodes added for cells touching a face),
        ``n_voxels`` (skeleton voxels of the node). ``nodes.attrs``
        holds ``shape``, ``voxel_size_um``, ``box_um`` (box lengths, um), ``porosity``,
        ``n_face_anchors_unconnected``, ``n_voxels_unassigned`` (pore voxels reached
        by no Voronoi assignment) and ``n_node_clusters_split`` (Notes, step 4).
    throats : pandas.DataFrame
        One row per throat: ``throat_id``, ``node_a`` < ``node_b`` (node ids), ``kind``
        (``"skeleton"`` or ``"contact"``), ``length_um`` (path length between the node
        centres, um: along the skeleton, or via the interface centroid for contacts),
        ``min_radius_um`` (smallest pore radius along the path; contacts: largest
        inscribed radius on the interface; um), ``mean_radius_um`` (length-weighted mean
        radius along the path, um), ``min_area_um2`` (smallest cross-section along the
        branch voxels; contacts: interface area; um^2), ``conduit_length_a_um``,
        ``conduit_length_throat_um``, ``conduit_length_b_um`` (the path split into the
        part in the inscribed ball of ``node_a``, the throat proper and the part in the
        ball of ``node_b``; they add up to ``length_um``), ``resistance_a_per_um``,
        ``resistance_throat_per_um``, ``resistance_b_per_um`` (``int ds / A`` over the
        three parts, 1/um: diffusive resistance times ``D_bulk``), ``volume_um3`` (pore
        volume owned by the branch voxels, um^3; part of the two node cells, not extra),
        ``n_voxels`` (branch voxels).

    Raises
    ------
    ValueError
        If ``pore_mask`` is not a non-empty 3-D array, ``voxel_size_um`` is not
        positive, or ``spur_factor`` or ``merge_factor`` is negative.
    TypeError
        If ``pore_mask`` is neither boolean nor integer.

    See Also
    --------
    skeletonize_pores : the skeleton (steps 1-3 of the Notes) on its own.
    network_effective_diffusivity : diffusion on the network.

    Notes
    -----
    Steps 1-3 (distance maps, thinning, face connections) are those of
    :func:`skeletonize_pores`.

    4. **Nodes.** Skeleton voxels are classified by their number of 26-neighbours in the
       skeleton: 0 isolated point, 1 end, 2 branch (curve), >= 3 junction; face anchors
       are node voxels too. All non-branch voxels that touch each other
       (26-connectivity, ``cc3d``) form one node, unless the cluster does not fit in its
       own inscribed ball (a voxel farther than ``R + 2`` voxels from its largest-radius
       voxel, ``R`` that radius): in a spongy pore space (noisy segmentations,
       thresholded noise) junction voxels touch over tens of micrometres, and one node
       there would short-circuit the network (a grossly overestimated ``D_eff``). Such a
       cluster is covered greedily by balls, largest radius first (each sub-node: the
       cluster voxels reached within ``r_seed + 2`` voxels of its seed); the sub-nodes'
       cells touch and are joined by contact throats (step 10);
       ``nodes.attrs["n_node_clusters_split"]`` counts them. A node made of a single end
       voxel or anchor in a face plane is a *boundary* node (an opening of the pore space
       in the face); its position is snapped onto the face. Any other node sits at the
       centroid of its voxels.
    5. **Throats.** Every chain of branch voxels between two node voxels is traced once
       (numba kernel, linear in the number of skeleton voxels, no recursion). A throat's
       path runs from the centre of node ``a`` through its attachment voxel, the chain
       and the attachment voxel of node ``b`` to the centre of ``b``; steps are physical
       (``sqrt((dz h_z)^2 + (dy h_y)^2 + (dx h_x)^2)``). Chains that return to the node
       they left (self-loops) are dropped; closed loops without any node (ring-shaped
       isolated pores) too.
    6. **Radii.** The pore radius at a skeleton voxel is ``r = d - h_min / 2`` with ``d``
       the distance value: the pore/solid interface lies half a voxel before the centre
       of the nearest solid voxel (a one-voxel-wide channel has ``r = h / 2``).
       ``pore_radius_um`` of a node is the largest ``r`` over its voxels (maximum
       inscribed radius), ``min_radius_um`` of a throat the smallest ``r`` along its path
       (the constriction), ``mean_radius_um`` the length-weighted mean along the path.
    7. **Cross-sections.** Every pore voxel is assigned to the nearest skeleton voxel
       (Euclidean, but propagated through the pore only, in order of increasing distance
       to the skeleton, so walls are respected): a Voronoi partition of the pore space
       along the skeleton. A branch voxel owning a volume ``V`` over a path step ``ds``
       (half its two steps) stands for a cross-section ``A = V / ds`` (exact for
       prismatic channels of any section shape), averaged over three consecutive branch
       voxels (ratio of sums) and never below the inscribed disc ``pi r^2``. A Voronoi
       partition splits a pore body between the branches leaving it, which makes the
       body look narrower than it is. Inside the inscribed ball of a node (radius ``R``)
       the section is therefore raised to at least (a) the section where the path leaves
       the ball and (b) the mean section of the body ``V_body / (2 R)`` scaled by
       ``(r(s) / R)^2`` (the body narrows like the inscribed radius towards a window);
       ``V_body`` is the volume owned by the node's voxels and by the branch voxels
       inside its ball (a first tracing pass). Node samples use
       ``max(pi R^2, V_body / (2 R), A`` of the adjacent branch voxel).
    8. **Conduits.** Each path is split into the part inside the inscribed ball of node
       ``a`` (path coordinate ``s < R_a``), the part inside the ball of ``b``
       (``s > L - R_b``) and the throat proper in between (if the balls overlap the path
       is split in proportion ``R_a : R_b``). For every part the length and the
       diffusive resistance per unit diffusivity ``int ds / A(s)`` (1/um; ``sqrt(A)``
       linear between samples as in a conical frustum: ``ds / sqrt(A_1 A_2)``) are
       stored.
    9. **Cleaning** (repeated until nothing changes; boundary nodes are never removed or
       moved):

       * *spur pruning*: an end node (dead end, not on a face) hanging on a node of
         coordination >= 3 is removed with its throat if the throat is shorter than
         ``spur_factor`` times the pore radius of that node (the spur lies inside the
         inscribed ball of the junction: a surface bump, not a pore);
       * *junction merging*: two non-boundary nodes joined by a throat shorter than
         ``merge_factor * max(R_a, R_b)`` (the centre of one lies in the inscribed ball
         of the other) become one node, at the position and with the radius of the
         larger; the throats of the removed node are re-attached, their length and
         pore-part resistance extended by the straight segment between the two centres
         (a cylinder of the kept node's radius);
       * *degree-2 dissolution*: a non-boundary node with exactly two throats to two
         different nodes is a point on a curve, not a junction: its two throats are
         joined (lengths and resistances add; pore parts of the outer nodes kept, the
         rest becomes throat part).
    10. **Node cells and contact throats** (``contact_throats``). Every skeleton voxel
        goes to the nearest surviving node along the skeleton (breadth-first from the
        node voxels, so a throat is cut at its middle) and every pore voxel to the cell
        of its Voronoi owner: the node cells partition the pore space (``volume_um3`` of
        a node is its cell volume). A curve skeleton is a thin retract of the pore
        space: in wide, highly connected pore space (electrodes at porosity 0.3-0.5)
        neighbouring cells touch across broad faces that no skeleton branch crosses, a
        large part of the voxel solution's flux between cells crosses such faces, and
        the pure skeleton graph underestimates ``D_eff`` strongly. Every pair of
        touching cells without a throat therefore gets a *contact* throat: interface of
        area ``A_ij`` (voxel faces between the cells) and vector area ``S`` (face
        normals times areas, oriented ``i -> j``), path from node ``i`` through the
        area-weighted interface centroid ``c`` to node ``j``; resistance
        ``1 / T_i + 1 / T_j`` with the two-point half-transmissibilities
        ``T = (S . d) / |d|^2`` (``d = c - x_i``, ``x_j - c``; at least
        ``0.01 A_ij / |d|``), ``min_radius_um`` the largest inscribed radius on the
        interface. Likewise every cell that touches a face but has no node on it gets a
        boundary node at the centroid of its face area (same construction, normal of the
        face), so that the Dirichlet faces act on the whole pore area of the faces, as in
        the voxel solution. Skeleton throats keep their path integral.

    Anisotropy: every length, radius, the Voronoi assignment, the sections, interface
    areas and the pruning/merging rules (physical lengths against physical radii) use the
    physical voxel size; the 26-neighbour classification of skeleton voxels is on the
    voxel grid (see :func:`skeletonize_pores`).

    Examples
    --------
    A straight 3 x 3 channel along z: two boundary nodes joined by one throat as long as
    the box, and the network diffusivity of the channel, its porosity.

    >>> import numpy as np
    >>> pore = np.zeros((12, 9, 9), bool)
    >>> pore[:, 3:6, 3:6] = True
    >>> nodes, throats = extract_network(pore, 1.0)
    >>> nodes["kind"].tolist(), nodes["z_um"].tolist()
    (['boundary', 'boundary'], [0.0, 12.0])
    >>> throats[["node_a", "node_b", "length_um"]].values.tolist()
    [[0.0, 1.0, 12.0]]
    >>> from batteryct.network import network_effective_diffusivity
    >>> result = network_effective_diffusivity(nodes, throats, axis=0)
    >>> bool(np.isclose(result["deff_over_dbulk"], pore.mean()))
    True
    """
    mask = _checks.as_mask_3d(pore_mask, "pore_mask")
    h = _checks.voxel_size_um(voxel_size_um)
    if spur_factor < 0 or merge_factor < 0:
        raise ValueError("spur_factor and merge_factor must be >= 0")
    shape = mask.shape
    skel, dist, anchors, unconnected = _skeleton(mask, h, connect_faces, threads)
    hmin = float(h.min())
    vol_s, n_unassigned, owner = _skeleton_volumes(mask, skel, h, threads)

    # Skeleton voxels (raster order = skeleton index), neighbour counts, node clusters.
    sz, sy, sx = np.nonzero(skel)
    n_skel = sz.size
    count = (
        ndi.convolve(skel.view(np.uint8), np.ones((3, 3, 3), np.uint8), mode="constant", cval=0)[sz, sy, sx].astype(
            np.int64
        )
        - 1
    )
    rad_s = dist[sz, sy, sx].astype(np.float64) - _RADIUS_OFFSET * hmin
    is_node = count != 2
    is_anchor = np.zeros(n_skel, bool)
    if anchors.size:  # face anchors are nodes even where a curve runs along the face
        a_flat = np.ravel_multi_index(tuple(anchors.T), shape)
        s_flat = np.ravel_multi_index((sz, sy, sx), shape)
        is_anchor = np.isin(s_flat, a_flat)
        is_node |= is_anchor
    lab = cc3d.connected_components(skel & _scatter(shape, sz, sy, sx, is_node), connectivity=26, out_dtype=np.uint32)
    node_of = lab[sz, sy, sx].astype(np.int64)
    n_nodes = int(node_of.max()) if n_skel else 0
    del lab
    n_split = 0
    if n_nodes:
        node_idx = np.flatnonzero(is_node)
        grid = np.full(shape, -1, np.int64 if n_skel >= 2**31 else np.int32)
        grid[sz[is_node], sy[is_node], sx[is_node]] = node_idx
        node_of, n_nodes, n_split = _split_oversized_nodes(
            node_of, node_idx, sz, sy, sx, rad_s, grid, h, n_nodes, _NODE_SLACK_VOXELS * hmin
        )
        del grid
    nl = node_of[is_node]
    nv = np.bincount(nl, minlength=n_nodes + 1)
    pos = np.zeros((n_nodes + 1, 3))
    for d, idx in enumerate((sz, sy, sx)):
        pos[:, d] = np.bincount(nl, weights=(idx[is_node] + 0.5) * h[d], minlength=n_nodes + 1)
    pos[1:] /= np.maximum(nv[1:, None], 1)
    node_r = np.zeros(n_nodes + 1)
    np.maximum.at(node_r, nl, rad_s[is_node])
    node_vol = np.bincount(nl, weights=vol_s[is_node], minlength=n_nodes + 1).astype(np.float64)
    faces = np.zeros((n_nodes + 1, 6), bool)
    for d, idx in enumerate((sz, sy, sx)):
        np.logical_or.at(faces[:, 2 * d], nl, idx[is_node] == 0)
        np.logical_or.at(faces[:, 2 * d + 1], nl, idx[is_node] == shape[d] - 1)
    cmax = np.zeros(n_nodes + 1, np.int64)
    np.maximum.at(cmax, nl, count[is_node])
    anchor_node = np.zeros(n_nodes + 1, bool)
    anchor_node[nl[is_anchor[is_node]]] = True
    kind = np.full(n_nodes + 1, _JUNCTION, np.int8)
    single = nv == 1
    kind[single & (cmax == 0)] = _ISOLATED
    kind[single & (cmax == 1)] = _END
    bnd = single & faces.any(axis=1) & ((cmax == 1) | anchor_node)
    kind[bnd] = _BOUNDARY
    for d in range(3):  # boundary nodes sit on the face they touch
        pos[faces[:, 2 * d] & bnd, d] = 0.0
        pos[faces[:, 2 * d + 1] & bnd, d] = shape[d] * h[d]

    # Trace branches on a 1-padded grid of skeleton indices.
    shape_p = tuple(n + 2 for n in shape)
    sid = np.full(shape_p, -1, np.int32)
    sid[sz + 1, sy + 1, sx + 1] = np.arange(n_skel, dtype=np.int32)
    sid = sid.reshape(-1)
    flat_p = ((sz + 1) * shape_p[1] + (sy + 1)) * shape_p[2] + (sx + 1)
    node_vox = flat_p[is_node].astype(np.int64)
    offs, steps = _offsets(shape_p, h)
    # Two passes: the first measures every pore body (volume owned by the node's voxels
    # and by the branch voxels inside its inscribed ball), the second uses its mean
    # section as a floor inside the ball (docstring Notes, step 7).
    a_body = np.zeros(n_nodes + 1)
    for _ in range(2):
        nt, pairs, props, node_extra = _trace(
            sid,
            node_of,
            rad_s,
            vol_s,
            node_vox,
            offs,
            steps,
            pos,
            node_r,
            a_body,
            np.array(shape_p, np.int64),
            h,
            n_nodes,
            int(_AREA_WINDOW),
        )
        body = node_vol + node_extra
        np.add.at(body, pairs[:nt, 0], props[:nt, 12])
        np.add.at(body, pairs[:nt, 1], props[:nt, 13])
        a_body = np.divide(body, 2.0 * node_r, out=np.zeros_like(body), where=node_r > 0)
    pairs = pairs[:nt]
    props = np.concatenate([props[:nt, : _N_PROPS - 1], np.zeros((nt, 1))], axis=1)
    node_vol += node_extra

    # Cleaning (node index 0 is the unused background label).
    g = _Graph(pos, node_r, kind, faces, nv.astype(np.int64), node_vol, pairs, props)
    g.alive[0] = False
    for _ in range(100):
        changed = False
        if spur_factor > 0:
            changed |= g.prune_spurs(spur_factor)
        if merge_factor > 0:
            changed |= g.merge_junctions(merge_factor)
        if dissolve_degree2:
            changed |= g.dissolve_degree2()
        if not changed:
            break

    cell = _node_cells(g, mask, owner, sid, node_of, flat_p, h, n_skel, shape_p)
    del sid, owner
    cell_vol = np.bincount(cell[cell >= 0], minlength=len(g.r)) * float(np.prod(h))
    g.volume[:] = cell_vol
    if contact_throats:
        _add_contacts(g, cell, h, dist)
        if connect_faces:
            _add_face_contacts(g, cell, h, dist)
    del cell
    nodes, throats = _tables(g)
    box = tuple(float(n * hh) for n, hh in zip(shape, h))
    nodes.attrs.update(
        shape=tuple(int(n) for n in shape),
        voxel_size_um=tuple(map(float, h)),
        box_um=box,
        porosity=float(mask.mean()),
        n_face_anchors_unconnected=int(unconnected),
        n_voxels_unassigned=int(n_unassigned),
        n_node_clusters_split=int(n_split),
    )
    throats.attrs.update(nodes.attrs)
    return nodes, throats
