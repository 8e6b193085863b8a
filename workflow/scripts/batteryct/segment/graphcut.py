"""Potts prior on the pore|solid decision: the exact minimum of a 6-neighbour energy by graph cut.

Per-voxel posteriors decide each voxel alone, so noise and blur leave a ragged pore|solid
boundary: single pore voxels inside thin binder necks, solid specks in pores, a surface
rougher than the material's (surface area high, necks cut, tortuosity high). A Potts
prior adds a cost for every pair of face neighbours with different classes; the labels
that minimise posterior cost plus boundary cost are found exactly by one minimum cut
(Boykov-Kolmogorov, PyMaxflow).
"""

from __future__ import annotations

import numpy as np

from .._checks import as_volume_3d

# Default cost of one pore|solid face (nats), chosen on a tuning set of virtual electrodes
# disjoint from the accuracy benchmark's (benchmarks/README.md, "Potts prior").
POTTS_WEIGHT = 0.6
# Probabilities are clipped to [EPS, 1 - EPS]: a voxel's cost stays finite (<= 13.8 nats).
EPS = 1e-6


def potts_solid_mask(
    p_solid: np.ndarray,
    weight: float,
    *,
    fixed_pore: np.ndarray | None = None,
) -> np.ndarray:
    """Solid mask of minimum posterior cost plus Potts boundary cost (exact, by graph cut).

    Minimises ``sum_v -log P_v(x_v) + weight * n_boundary(x)`` over binary labelings
    ``x`` (solid / pore), where ``n_boundary`` counts the 6-neighbour voxel pairs with
    different labels.

    Parameters
    ----------
    p_solid : ndarray of float, (z, y, x)
        Probability that each voxel is solid (binder or active), in [0, 1].
    weight : float
        Cost of one pore|solid face, in nats (the unit of ``-log P``); 0 gives the
        posterior argmax (``p_solid > 0.5``).
    fixed_pore : ndarray of bool, (z, y, x), optional
        Voxels that are pore whatever their posterior (outside the field of view).

    Returns
    -------
    ndarray of bool, (z, y, x)
        The solid voxels.

    Raises
    ------
    ValueError
        If ``weight`` is negative or not finite, or the shapes differ.

    Notes
    -----
    A voxel whose cost difference between the classes exceeds ``6 * weight`` takes its
    argmax class in every minimiser (flipping it alone would lower the energy whatever its
    neighbours), so only the other voxels enter the graph, with the boundary cost towards
    their fixed neighbours added to their own costs: the result is the exact minimum at a
    fraction of the full grid's memory. Ties (equal energies) are broken by the cut
    algorithm, deterministically for the same input.

    Examples
    --------
    A solid cube whose posterior is 0.6 everywhere inside, with one voxel at 0.4 in the
    middle: the argmax leaves a hole, the prior fills it.

    >>> p = np.full((9, 9, 9), 0.05, dtype=np.float32)
    >>> p[2:7, 2:7, 2:7] = 0.6
    >>> p[4, 4, 4] = 0.4
    >>> bool((p > 0.5)[4, 4, 4]), bool(potts_solid_mask(p, 0.3)[4, 4, 4])
    (False, True)
    >>> int(potts_solid_mask(p, 0.3).sum())
    125
    """
    import maxflow  # here: only the segment rule needs it

    p = as_volume_3d(p_solid, "p_solid", dtype=np.float32, finite=True)
    if not (np.isfinite(weight) and weight >= 0.0):
        raise ValueError(f"weight must be finite and >= 0, got {weight}")
    if fixed_pore is not None and np.shape(fixed_pore) != p.shape:
        raise ValueError(f"fixed_pore has shape {np.shape(fixed_pore)}, p_solid {p.shape}")
    p = np.clip(p, np.float32(EPS), np.float32(1.0 - EPS))
    cost_solid = -np.log(p)
    cost_pore = -np.log1p(-p)
    solid = cost_solid < cost_pore
    free = np.abs(cost_pore - cost_solid) <= np.float32(6.0 * weight)
    if fixed_pore is not None:
        solid &= ~fixed_pore
        free &= ~fixed_pore
    n_free = int(np.count_nonzero(free))
    if weight == 0.0 or n_free == 0:
        return solid
    ids = np.full(p.shape, -1, dtype=np.int64)
    ids[free] = np.arange(n_free)
    u_solid = cost_solid[free].astype(np.float64)
    u_pore = cost_pore[free].astype(np.float64)
    edges_i, edges_j = [], []
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(None, -1), slice(1, None)
        lo, hi = tuple(lo), tuple(hi)
        f_lo, f_hi = free[lo], free[hi]
        both = f_lo & f_hi
        edges_i.append(ids[lo][both])
        edges_j.append(ids[hi][both])
        # a free voxel beside a fixed one pays the weight for disagreeing with it
        for f_a, f_b, side_a, side_b in ((f_lo, f_hi, lo, hi), (f_hi, f_lo, hi, lo)):
            one = f_a & ~f_b
            id_a = ids[side_a][one]
            b_solid = solid[side_b][one]
            u_pore += weight * np.bincount(id_a[b_solid], minlength=n_free)
            u_solid += weight * np.bincount(id_a[~b_solid], minlength=n_free)
    i = np.concatenate(edges_i)
    j = np.concatenate(edges_j)
    graph = maxflow.Graph[float](n_free, i.size)
    nodes = graph.add_nodes(n_free)
    w = np.full(i.size, float(weight))
    graph.add_edges(nodes[i], nodes[j], w, w)
    # a node on the sink side (solid) cuts its source edge: the source capacity is its solid cost
    graph.add_grid_tedges(nodes, u_solid, u_pore)
    graph.maxflow()
    solid[free] = graph.get_grid_segments(nodes)
    return solid
