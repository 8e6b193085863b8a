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


def _face_pairs():
    """(lower, upper) slices of the face-neighbour voxel pairs along each axis."""
    for axis in range(3):
        lower = [slice(None)] * 3
        upper = [slice(None)] * 3
        lower[axis], upper[axis] = slice(None, -1), slice(1, None)
        yield tuple(lower), tuple(upper)


def _neighbour_pairs():
    """(voxel, neighbour) slice pairs of the 6 face directions."""
    for lower, upper in _face_pairs():
        yield lower, upper
        yield upper, lower


def _persistent(logit, solid, weight, fixed_pore, max_rounds=8):
    """Voxels whose class is their argmax in every minimiser of the Potts energy.

    Flipping voxel ``v`` away from its argmax costs ``|logit_v|`` and saves at most
    ``weight`` per neighbour that could disagree: with ``k`` neighbours of which ``a`` are
    known to hold ``v``'s argmax class in every minimiser, ``|logit_v| > weight (k - 2a)``
    proves that ``v`` does too (otherwise flipping it would lower the energy). Starting
    from ``a = 0`` (``|logit| > 6 weight``), rounds add the voxels the last round proved,
    until a round adds fewer than 1 % of the undecided voxels or ``max_rounds``.
    """
    magnitude = np.abs(logit)
    fixed = magnitude > np.float32(6.0 * weight)
    if fixed_pore is not None:
        fixed |= fixed_pore
    n_neighbours = np.zeros(logit.shape, np.int8)
    for here, _ in _neighbour_pairs():
        n_neighbours[here] += 1
    for _ in range(max_rounds):
        agree = np.zeros(logit.shape, np.int8)
        for here, there in _neighbour_pairs():
            agree[here] += fixed[there] & (solid[there] == solid[here])
        bound = (n_neighbours - 2 * agree).astype(np.float32)
        bound *= np.float32(weight)
        proved = ~fixed & (magnitude > bound)
        n_proved = int(np.count_nonzero(proved))
        n_open = int(fixed.size - np.count_nonzero(fixed))
        fixed |= proved
        if n_proved < 0.01 * n_open:
            break
    return fixed


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
    Voxels whose class is the same in every minimiser are found first
    (:func:`_persistent`), so only the other voxels enter the graph, with the boundary cost
    towards their fixed neighbours added to their own costs: the result is the exact
    minimum at a fraction of the full grid's memory and time (the graph costs ~60 bytes per
    voxel and ~64 per face in it). Ties (equal energies) are broken by the cut
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
    # log-odds of solid, in place in one float32 buffer: adding a constant to both costs of
    # a voxel does not change the minimiser, so the costs are (max(-l, 0), max(l, 0))
    logit = np.clip(p, np.float32(EPS), np.float32(1.0 - EPS))
    np.subtract(np.log(logit), np.log1p(-logit), out=logit)
    solid = logit > 0
    if fixed_pore is not None:
        solid &= ~fixed_pore
    if weight == 0.0:
        return solid
    free = ~_persistent(logit, solid, float(weight), fixed_pore)
    n_free = int(np.count_nonzero(free))
    if n_free == 0:
        return solid
    index_dtype = np.int32 if n_free < 2**31 else np.int64
    ids = np.full(p.shape, -1, dtype=index_dtype)
    ids[free] = np.arange(n_free, dtype=index_dtype)
    free_logit = logit[free].astype(np.float64)
    del logit
    u_solid = np.maximum(-free_logit, 0.0)
    u_pore = np.maximum(free_logit, 0.0)
    del free_logit
    edges_i, edges_j = [], []
    for lower, upper in _face_pairs():
        both = free[lower] & free[upper]
        edges_i.append(ids[lower][both])
        edges_j.append(ids[upper][both])
        del both
    # a free voxel beside a fixed one pays the weight for disagreeing with it
    for here, there in _neighbour_pairs():
        one = free[here] & ~free[there]
        id_here = ids[here][one]
        there_solid = solid[there][one]
        u_pore += weight * np.bincount(id_here[there_solid], minlength=n_free)
        u_solid += weight * np.bincount(id_here[~there_solid], minlength=n_free)
        del one, id_here, there_solid
    del ids
    i = np.concatenate(edges_i)
    j = np.concatenate(edges_j)
    del edges_i, edges_j
    graph = maxflow.Graph[float](n_free, i.size)
    nodes = graph.add_nodes(n_free)
    w = np.full(i.size, float(weight))
    graph.add_edges(nodes[i], nodes[j], w, w)
    del i, j, w
    # a node on the sink side (solid) cuts its source edge: the source capacity is its solid cost
    graph.add_grid_tedges(nodes, u_solid, u_pore)
    del u_solid, u_pore
    graph.maxflow()
    solid[free] = graph.get_grid_segments(nodes)
    return solid
