"""Global tile positions and gains of a mosaic from the pairwise registrations."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "PositionSolution",
    "normalise_gains",
    "overlap_mean_ratio",
    "solve_positions",
]


class PositionSolution(NamedTuple):
    """Result of :func:`solve_positions`.

    Attributes
    ----------
    positions_px : numpy.ndarray of float64, shape (n_tiles, 2)
        Tile positions (y, x), px.
    used : numpy.ndarray of bool, shape (n_pairs,)
        Pairs kept in the final solve.
    residual_px : numpy.ndarray of float64, shape (n_pairs,)
        Euclidean residual ``|p_b - p_a - d_ab|`` of every pair (kept or not), px.
    """

    positions_px: np.ndarray
    used: np.ndarray
    residual_px: np.ndarray


def _connected_to(anchor: int, n_tiles: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return a mask of the tiles linked to ``anchor`` through the pairs ``(a, b)``."""
    g = coo_matrix((np.ones(len(a)), (a, b)), shape=(n_tiles, n_tiles))
    _, lab = connected_components(g, directed=False)
    return lab == lab[anchor]


def _lsq_positions(a, b, d, w, n_tiles, anchor, anchor_position, prior_px, prior_w, prior_mask):
    """Solve the weighted least squares for the positions (anchor eliminated, prior rows for ``prior_mask``)."""
    free = np.array([k for k in range(n_tiles) if k != anchor], dtype=int)
    col = np.full(n_tiles, -1)
    col[free] = np.arange(free.size)
    m = len(a)
    with_prior = free[prior_mask[free]] if prior_px is not None else np.zeros(0, int)
    A = np.zeros((m + with_prior.size, free.size))
    rhs = np.zeros((m + with_prior.size, 2))
    sw = np.sqrt(w)
    for i in range(m):
        rhs[i] = d[i]
        if a[i] == anchor:
            rhs[i] += anchor_position
        else:
            A[i, col[a[i]]] -= 1.0
        if b[i] == anchor:
            rhs[i] -= anchor_position
        else:
            A[i, col[b[i]]] += 1.0
    A[:m] *= sw[:, None]
    rhs[:m] *= sw[:, None]
    if with_prior.size:
        A[m + np.arange(with_prior.size), col[with_prior]] = math.sqrt(prior_w)
        rhs[m:] = math.sqrt(prior_w) * prior_px[with_prior]
    sol, *_ = np.linalg.lstsq(A, rhs, rcond=None)
    pos = np.empty((n_tiles, 2))
    pos[anchor] = anchor_position
    pos[free] = sol
    return pos


def solve_positions(
    pairs: pd.DataFrame,
    n_tiles: int,
    *,
    min_ncc: float,
    max_residual_px: float,
    anchor: int = 0,
    anchor_position_px=(0.0, 0.0),
    prior_px: np.ndarray | None = None,
    prior_sigma_px: float | None = None,
) -> PositionSolution:
    """Solve for the global tile positions from pairwise offsets by weighted least squares.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Columns ``a, b`` (tile indices), ``dy_px, dx_px`` (offset ``p_b - p_a``, px),
        ``ncc``; optional ``usable`` (bool).
    n_tiles : int
        Number of tiles.
    min_ncc : float
        Pairs correlating less are not used.
    max_residual_px : float
        Pairs whose residual exceeds this (px) are dropped one by one, worst first.
    anchor : int, optional
        Tile kept at ``anchor_position_px``.
    anchor_position_px : array_like, shape (2,), optional
        Position (y, x) of the anchor, px.
    prior_px : numpy.ndarray, shape (n_tiles, 2), optional
        Prior (stage) positions, px, for the tiles linked to the anchor by no kept pair.
    prior_sigma_px : float, optional
        Standard deviation of the prior, px; required with ``prior_px``.

    Returns
    -------
    PositionSolution
        Positions, the pairs kept and every pair's residual.

    Raises
    ------
    ValueError
        When some tile is connected to the anchor by no usable pair and there is no prior,
        or ``prior_px`` is given without ``prior_sigma_px``.

    Notes
    -----
    Solves ``p_b - p_a = d_ab`` for all pairs (weight = NCC) with ``p[anchor]`` fixed.
    Pairs with ``ncc < min_ncc`` (or ``usable == False`` when that column exists) are not
    used; then, while the largest residual exceeds ``max_residual_px``, that pair is
    dropped (if its tiles stay determined) and the system solved again. The tiles linked to
    the anchor through kept pairs are placed by the pairs alone (a prior on them would bias
    the soft, low-frequency modes of the mosaic). With ``prior_px``, tiles *not* linked to
    the anchor are tied to their prior positions with weight ``1 / prior_sigma_px^2``
    (pair weights are ~1): such a group keeps its internal layout from its pairs and its
    place from the stage.
    """
    if prior_px is not None and prior_sigma_px is None:
        raise ValueError("prior_px needs prior_sigma_px")
    a = pairs["a"].to_numpy(int)
    b = pairs["b"].to_numpy(int)
    d = pairs[["dy_px", "dx_px"]].to_numpy(np.float64)
    ncc = pairs["ncc"].to_numpy(np.float64)
    used = np.isfinite(ncc) & (ncc >= min_ncc) & np.all(np.isfinite(d), axis=1)
    if "usable" in pairs:
        used &= pairs["usable"].to_numpy(bool)
    anchor_position = np.asarray(anchor_position_px, dtype=np.float64)
    prior = None if prior_px is None else np.asarray(prior_px, dtype=np.float64)
    prior_w = 0.0 if prior is None else 1.0 / prior_sigma_px**2

    def determined(mask):
        return prior is not None or bool(_connected_to(anchor, n_tiles, a[mask], b[mask]).all())

    if not determined(used):
        raise ValueError(
            f"tiles {np.flatnonzero(~_connected_to(anchor, n_tiles, a[used], b[used])).tolist()} "
            f"are linked to the anchor tile {anchor} by no usable pair"
        )
    while True:
        linked = _connected_to(anchor, n_tiles, a[used], b[used])
        pos = _lsq_positions(
            a[used],
            b[used],
            d[used],
            np.clip(ncc[used], 1e-3, None),
            n_tiles,
            anchor,
            anchor_position,
            prior,
            prior_w,
            ~linked,
        )
        resid = np.linalg.norm(pos[b] - pos[a] - d, axis=1)
        cand = np.where(used, resid, -np.inf)
        worst = int(np.argmax(cand))
        if not used.any() or cand[worst] <= max_residual_px:
            break
        trial = used.copy()
        trial[worst] = False
        if not determined(trial):
            break
        used = trial
    return PositionSolution(pos, used, resid)


def overlap_mean_ratio(a: np.ndarray, b: np.ndarray, offset_px: np.ndarray, margin_px: int = 2) -> float:
    """Compute ``mean(b) / mean(a)`` over their overlap, ``b`` resampled (bilinear) onto ``a``'s pixels.

    Parameters
    ----------
    a, b : numpy.ndarray, 2-D
        The two tiles.
    offset_px : array_like, shape (2,)
        ``position[b] - position[a]``, px.
    margin_px : int, optional
        Pixels within this distance of an edge of either tile are left out.

    Returns
    -------
    float
        The ratio; NaN when the overlap is empty.
    """
    d = np.asarray(offset_px, dtype=np.float64)
    hb, wb = b.shape
    ha, wa = a.shape
    y0 = max(int(math.ceil(d[0] + margin_px)), margin_px)
    y1 = min(int(math.floor(d[0] + hb - 1 - margin_px)), ha - 1 - margin_px)
    x0 = max(int(math.ceil(d[1] + margin_px)), margin_px)
    x1 = min(int(math.floor(d[1] + wb - 1 - margin_px)), wa - 1 - margin_px)
    if y1 < y0 or x1 < x0:
        return float("nan")
    ii, jj = np.mgrid[y0 : y1 + 1, x0 : x1 + 1].astype(np.float64)
    bs = ndi.map_coordinates(np.asarray(b, np.float64), [ii - d[0], jj - d[1]], order=1, mode="nearest")
    return float(bs.mean() / np.asarray(a[y0 : y1 + 1, x0 : x1 + 1], np.float64).mean())


def normalise_gains(tiles: np.ndarray, positions_px: np.ndarray, pairs: pd.DataFrame, anchor: int = 0) -> np.ndarray:
    """Estimate per-tile gains relative to the anchor from the overlap intensities.

    Parameters
    ----------
    tiles : numpy.ndarray, shape (n, h, w)
        The tiles.
    positions_px : numpy.ndarray, shape (n, 2)
        Solved tile positions (y, x), px.
    pairs : pandas.DataFrame
        Columns ``a, b``; only rows with ``used`` True when that column exists.
    anchor : int, optional
        Tile of gain 1.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        Gain of each tile (divide a tile by it to bring it to the anchor's scale).

    Notes
    -----
    For every pair ``log g_b - log g_a = log(mean_b / mean_a)`` over the overlap at the
    solved positions (:func:`overlap_mean_ratio`); solved by least squares with
    ``g[anchor] = 1``. Tiles linked to the anchor by no pair keep gain 1.
    """
    n = tiles.shape[0]
    sel = pairs[pairs["used"]] if "used" in pairs else pairs
    a = sel["a"].to_numpy(int)
    b = sel["b"].to_numpy(int)
    pos = np.asarray(positions_px, dtype=np.float64)
    logr = np.array(
        [
            math.log(r) if (r := overlap_mean_ratio(tiles[i], tiles[j], pos[j] - pos[i])) > 0 else np.nan
            for i, j in zip(a, b)
        ]
    )
    ok = np.isfinite(logr)
    a, b, logr = a[ok], b[ok], logr[ok]
    linked = _connected_to(anchor, n, a, b) if len(a) else np.arange(n) == anchor
    free = np.flatnonzero(linked & (np.arange(n) != anchor))
    col = np.full(n, -1)
    col[free] = np.arange(free.size)
    keep = linked[a] & linked[b]
    A = np.zeros((int(keep.sum()), free.size))
    for r, (i, j) in enumerate(zip(a[keep], b[keep])):
        if col[j] >= 0:
            A[r, col[j]] += 1.0
        if col[i] >= 0:
            A[r, col[i]] -= 1.0
    logg = np.zeros(n)
    if free.size:
        logg[free] = np.linalg.lstsq(A, logr[keep], rcond=None)[0]
    return np.exp(logg)
