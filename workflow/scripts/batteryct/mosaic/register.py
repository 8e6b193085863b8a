"""Pairwise registration of overlapping mosaic tiles: NCC search and Lucas–Kanade refinement."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from batteryct._checks import check_int

__all__ = [
    "PairRegistration",
    "find_neighbours",
    "ncc_surface",
    "refine_offset_lk",
    "register_all",
    "register_pair",
]


class PairRegistration(NamedTuple):
    """Result of :func:`register_pair`.

    Attributes
    ----------
    offset_px : numpy.ndarray of float64, shape (2,)
        ``position[b] - position[a]`` (y, x), px, sub-pixel.
    ncc : float
        Normalised cross-correlation of the overlap at the integer peak, in [-1, 1].
    at_search_edge : bool
        The integer peak lies on the border of the search window (the true offset may
        be outside it).
    overlap_px : int
        Number of overlapping pixels at the integer peak.
    """

    offset_px: np.ndarray
    ncc: float
    at_search_edge: bool
    overlap_px: int


def _overlap_1d(d: np.ndarray, n_a: int, n_b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the overlap ranges along one axis for integer offsets ``d`` (``b[i] ~ a[i + d]``).

    Returns ``(a_lo, a_hi, b_lo, b_hi)``, half-open, clipped to be non-negative length.
    """
    a_lo = np.maximum(0, d)
    a_hi = np.minimum(n_a, n_b + d)
    a_hi = np.maximum(a_hi, a_lo)
    return a_lo, a_hi, a_lo - d, a_hi - d


def _box_sums(integral: np.ndarray, y0, y1, x0, x1) -> np.ndarray:
    """Sum over boxes ``[y0, y1) x [x0, x1)`` from a zero-padded integral image."""
    return integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]


def _integral(img: np.ndarray) -> np.ndarray:
    """Return the zero-padded integral image (cumulative sums along both axes)."""
    out = np.zeros((img.shape[0] + 1, img.shape[1] + 1))
    np.cumsum(np.cumsum(img, axis=0), axis=1, out=out[1:, 1:])
    return out


def ncc_surface(
    a: np.ndarray, b: np.ndarray, dy: np.ndarray, dx: np.ndarray, min_overlap_px: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Compute the NCC of the overlap of ``a`` and ``b`` for every integer offset in ``dy x dx``.

    Parameters
    ----------
    a, b : numpy.ndarray, 2-D
        The two tiles.
    dy, dx : numpy.ndarray of int, 1-D, increasing
        Candidate offsets (``b[i, j] ~ a[i + dy, j + dx]``), px.
    min_overlap_px : int, optional
        Offsets with fewer overlapping pixels get -inf.

    Returns
    -------
    ncc : numpy.ndarray of float64, shape (len(dy), len(dx))
        Normalised cross-correlation in [-1, 1] (-inf where not computed).
    n_overlap : numpy.ndarray of int, shape (len(dy), len(dx))
        Overlapping pixels of each offset.

    Notes
    -----
    For each offset the NCC is computed over that offset's own overlap (means and norms
    of the overlap only). The cross terms come from one zero-padded FFT correlation of the
    parts of ``a`` and ``b`` that any offset of the window can overlap; the sums and sums
    of squares from integral images.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    (ha, wa), (hb, wb) = a.shape, b.shape
    # crop to what any offset of the window can overlap
    ay0, ay1 = max(0, int(dy[0])), min(ha, hb + int(dy[-1]))
    ax0, ax1 = max(0, int(dx[0])), min(wa, wb + int(dx[-1]))
    by0, by1 = max(0, -int(dy[-1])), min(hb, ha - int(dy[0]))
    bx0, bx1 = max(0, -int(dx[-1])), min(wb, wa - int(dx[0]))
    if ay1 <= ay0 or ax1 <= ax0 or by1 <= by0 or bx1 <= bx0:
        shape = (len(dy), len(dx))
        return np.full(shape, -np.inf), np.zeros(shape, int)
    ac = a[ay0:ay1, ax0:ax1]
    bc = b[by0:by1, bx0:bx1]
    ac = ac - ac.mean()
    bc = bc - bc.mean()
    # offsets in cropped coordinates
    ey = np.asarray(dy) + by0 - ay0
    ex = np.asarray(dx) + bx0 - ax0
    (hac, wac), (hbc, wbc) = ac.shape, bc.shape
    fy, fx = hac + hbc, wac + wbc
    corr = np.fft.irfft2(np.fft.rfft2(ac, (fy, fx)) * np.conj(np.fft.rfft2(bc, (fy, fx))), (fy, fx))
    sab = corr[np.mod(ey, fy)[:, None], np.mod(ex, fx)[None, :]]
    ay_lo, ay_hi, by_lo, by_hi = _overlap_1d(ey, hac, hbc)
    ax_lo, ax_hi, bx_lo, bx_hi = _overlap_1d(ex, wac, wbc)
    Y = (slice(None), None)
    X = (None, slice(None))
    ia, ia2 = _integral(ac), _integral(ac * ac)
    ib, ib2 = _integral(bc), _integral(bc * bc)
    sa = _box_sums(ia, ay_lo[Y], ay_hi[Y], ax_lo[X], ax_hi[X])
    sa2 = _box_sums(ia2, ay_lo[Y], ay_hi[Y], ax_lo[X], ax_hi[X])
    sb = _box_sums(ib, by_lo[Y], by_hi[Y], bx_lo[X], bx_hi[X])
    sb2 = _box_sums(ib2, by_lo[Y], by_hi[Y], bx_lo[X], bx_hi[X])
    n = (ay_hi - ay_lo)[Y] * (ax_hi - ax_lo)[X]
    with np.errstate(invalid="ignore", divide="ignore"):
        nn = np.maximum(n, 1)
        cov = sab - sa * sb / nn
        var = (sa2 - sa * sa / nn) * (sb2 - sb * sb / nn)
        ncc = np.where((n >= min_overlap_px) & (var > 0), cov / np.sqrt(np.maximum(var, 1e-300)), -np.inf)
    return ncc, n


def _parabolic_peak(surface: np.ndarray, iy: int, ix: int) -> tuple[float, float]:
    """Return the sub-pixel offset (in [-0.5, 0.5] per axis) of a peak from 3-point parabolas."""
    out = []
    for axis, i, n in ((0, iy, surface.shape[0]), (1, ix, surface.shape[1])):
        if 0 < i < n - 1:
            if axis == 0:
                m0, m1, m2 = surface[i - 1, ix], surface[i, ix], surface[i + 1, ix]
            else:
                m0, m1, m2 = surface[iy, i - 1], surface[iy, i], surface[iy, i + 1]
            curv = m0 - 2.0 * m1 + m2
            out.append(float(np.clip(0.5 * (m0 - m2) / curv, -0.5, 0.5)) if np.isfinite(curv) and curv < 0 else 0.0)
        else:
            out.append(0.0)
    return out[0], out[1]


def refine_offset_lk(
    a: np.ndarray,
    b: np.ndarray,
    offset_px,
    smooth_px: float = 0.7,
    margin_px: int = 1,
    max_step_px: float = 0.75,
    n_iter: int = 10,
    tol_px: float = 1e-3,
) -> np.ndarray:
    """Refine an offset to sub-pixel accuracy by Gauss-Newton (inverse-compositional Lucas-Kanade).

    Parameters
    ----------
    a, b : numpy.ndarray, 2-D
        The two tiles.
    offset_px : array_like, shape (2,)
        Starting offset ``position[b] - position[a]``, px (within ~0.5 px of the answer).
    smooth_px : float, optional
        Gaussian sigma applied to both tiles, px (0: none).
    margin_px : int, optional
        Pixels left out at the edges of each tile.
    max_step_px : float, optional
        The refined offset must stay within this distance (per axis) of the start, px,
        else the start is returned.
    n_iter : int, optional
        Largest number of Gauss-Newton iterations.
    tol_px : float, optional
        Stop when the update is smaller than this, px.

    Returns
    -------
    numpy.ndarray of float64, shape (2,)
        The refined offset, px.

    Notes
    -----
    Minimises ``sum (a_s[i, j] - alpha * b_s(i - d_y, j - d_x) - beta)^2`` over the pixels
    of ``a`` whose image in ``b`` stays ``margin_px`` inside ``b`` (and that are
    ``margin_px`` inside ``a``), where ``a_s, b_s`` are the tiles smoothed by a Gaussian of
    ``smooth_px``, ``b_s`` is interpolated by cubic splines, and the Jacobian is the
    Gaussian-derivative gradient of ``a`` (fixed, so one interpolation per iteration).
    ``alpha, beta`` absorb gain and offset differences.

    The light smoothing matters: without it, interpolating the noise of ``b`` makes the
    residual depend on the fractional shift and biases the estimate, and the per-pair bias
    adds up along rows of tiles.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d0 = np.asarray(offset_px, dtype=np.float64)
    (ha, wa), (hb, wb) = a.shape, b.shape
    lo_y = max(int(math.ceil(d0[0] + margin_px + max_step_px)), margin_px)
    hi_y = min(int(math.floor(d0[0] + hb - 1 - margin_px - max_step_px)), ha - 1 - margin_px)
    lo_x = max(int(math.ceil(d0[1] + margin_px + max_step_px)), margin_px)
    hi_x = min(int(math.floor(d0[1] + wb - 1 - margin_px - max_step_px)), wa - 1 - margin_px)
    if hi_y - lo_y < 3 or hi_x - lo_x < 3:
        return d0.copy()
    # Work on crops: the box in a, the part of b it can map to, each padded by the
    # Gaussian's support (truncate=4) so that filtering the crop equals filtering the tile.
    pad = int(math.ceil(4.0 * smooth_px)) + 1
    ay0, ay1 = max(lo_y - pad, 0), min(hi_y + 1 + pad, ha)
    ax0, ax1 = max(lo_x - pad, 0), min(hi_x + 1 + pad, wa)
    by0 = max(int(math.floor(lo_y - d0[0] - max_step_px)) - pad - 2, 0)
    by1 = min(int(math.ceil(hi_y - d0[0] + max_step_px)) + pad + 3, hb)
    bx0 = max(int(math.floor(lo_x - d0[1] - max_step_px)) - pad - 2, 0)
    bx1 = min(int(math.ceil(hi_x - d0[1] + max_step_px)) + pad + 3, wb)
    ac, bc = a[ay0:ay1, ax0:ax1], b[by0:by1, bx0:bx1]
    box = (slice(lo_y - ay0, hi_y + 1 - ay0), slice(lo_x - ax0, hi_x + 1 - ax0))
    if smooth_px > 0:
        a_s = ndi.gaussian_filter(ac, smooth_px, mode="nearest")
        b_s = ndi.gaussian_filter(bc, smooth_px, mode="nearest")
        gy = ndi.gaussian_filter(ac, smooth_px, order=(1, 0), mode="nearest")[box].ravel()
        gx = ndi.gaussian_filter(ac, smooth_px, order=(0, 1), mode="nearest")[box].ravel()
    else:
        a_s, b_s = ac, bc
        gy, gx = (g[box].ravel() for g in np.gradient(ac))
    coeff = ndi.spline_filter(b_s, order=3, mode="mirror")
    ii, jj = np.mgrid[lo_y : hi_y + 1, lo_x : hi_x + 1].astype(np.float64)
    ii -= by0
    jj -= bx0
    av = a_s[box].ravel()
    ones = np.ones_like(av)
    d = d0.copy()
    for _ in range(n_iter):
        bv = ndi.map_coordinates(coeff, [ii - d[0], jj - d[1]], order=3, mode="mirror", prefilter=False).ravel()
        (alpha, beta), *_ = np.linalg.lstsq(np.stack([bv, ones], axis=1), av, rcond=None)
        r = av - alpha * bv - beta
        # d/dd of alpha * b(x - d) = -alpha * grad b(x - d), which is -grad a(x) at the solution
        step, *_ = np.linalg.lstsq(np.stack([-gy, -gx, bv, ones], axis=1), r, rcond=None)
        d += step[:2]
        if np.max(np.abs(d - d0)) > max_step_px:
            return d0.copy()
        if np.max(np.abs(step[:2])) < tol_px:
            break
    return d


def register_pair(
    a: np.ndarray,
    b: np.ndarray,
    nominal_offset_px,
    search_px: int,
    min_overlap_px: int | None = None,
    refine: str = "lk",
) -> PairRegistration:
    """Measure the offset of tile ``b`` relative to tile ``a`` from their overlap.

    Parameters
    ----------
    a, b : numpy.ndarray, 2-D
        The two tiles (any intensity scale; the NCC and the refinement are gain-invariant).
    nominal_offset_px : array_like, shape (2,)
        Expected ``position[b] - position[a]`` (y, x) from the stage, px.
    search_px : int
        Half-width of the integer search window, px.
    min_overlap_px : int, optional
        Smallest overlap (pixels) for an offset to be considered; default a quarter of the
        nominal overlap, at least 64.
    refine : {"lk", "parabolic"}, optional
        Sub-pixel method.

    Returns
    -------
    PairRegistration
        Offset, NCC, search-edge flag and overlap size at the peak.

    Raises
    ------
    ValueError
        If ``refine`` is not one of the methods.

    Notes
    -----
    1. NCC of the overlap (:func:`ncc_surface`) for every integer offset within
       ``+-search_px`` (per axis) of the rounded nominal offset (the stage repeatability);
    2. parabolic sub-pixel peak of the NCC surface;
    3. ``refine="lk"``: Gauss-Newton refinement on the overlap (:func:`refine_offset_lk`);
       ``"parabolic"``: stop after step 2.
    """
    if refine not in ("lk", "parabolic"):
        raise ValueError(f"refine must be 'lk' or 'parabolic', got {refine!r}")
    nominal = np.asarray(nominal_offset_px, dtype=np.float64)
    c = np.rint(nominal).astype(int)
    s = check_int(search_px, "search_px", 0)
    dy = np.arange(c[0] - s, c[0] + s + 1)
    dx = np.arange(c[1] - s, c[1] + s + 1)
    if min_overlap_px is None:
        oy = max(0.0, min(a.shape[0], b.shape[0] + nominal[0]) - max(0.0, nominal[0]))
        ox = max(0.0, min(a.shape[1], b.shape[1] + nominal[1]) - max(0.0, nominal[1]))
        min_overlap_px = max(64, int(0.25 * oy * ox))
    ncc, n = ncc_surface(a, b, dy, dx, min_overlap_px)
    if not np.any(np.isfinite(ncc)):
        return PairRegistration(nominal.copy(), float("-inf"), False, 0)
    iy, ix = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
    at_edge = bool(iy in (0, len(dy) - 1) or ix in (0, len(dx) - 1))
    fy, fx = _parabolic_peak(ncc, iy, ix)
    offset = np.array([dy[iy] + fy, dx[ix] + fx])
    if refine == "lk":
        offset = refine_offset_lk(a, b, offset)
    return PairRegistration(offset, float(ncc[iy, ix]), at_edge, int(n[iy, ix]))


def find_neighbours(
    nominal_px: np.ndarray, tile_shape: tuple[int, int], min_overlap_fraction: float = 0.05
) -> np.ndarray:
    """Find the tile pairs whose nominal footprints overlap by at least a fraction of a tile.

    Parameters
    ----------
    nominal_px : numpy.ndarray, shape (n, 2)
        Nominal positions (y, x), px.
    tile_shape : tuple of 2 ints
        Tile shape (rows, columns).
    min_overlap_fraction : float, optional
        Smallest overlap area as a fraction of the tile area. With 10 % overlap of the
        sides, the default keeps edge neighbours (10 %) and drops diagonal ones (1 %).

    Returns
    -------
    numpy.ndarray of int, shape (m, 2)
        Pairs ``(a, b)`` with ``a < b``.
    """
    p = np.asarray(nominal_px, dtype=np.float64)
    h, w = tile_shape
    d = np.abs(p[None, :, :] - p[:, None, :])
    area = np.clip(h - d[..., 0], 0, None) * np.clip(w - d[..., 1], 0, None)
    a, b = np.nonzero(np.triu(area >= min_overlap_fraction * h * w, k=1))
    return np.stack([a, b], axis=1)


def register_all(
    tiles: np.ndarray,
    nominal_px: np.ndarray,
    search_px: int,
    min_overlap_fraction: float = 0.05,
    refine: str = "lk",
) -> pd.DataFrame:
    """Register every overlapping pair of tiles (:func:`find_neighbours`, :func:`register_pair`).

    Parameters
    ----------
    tiles : numpy.ndarray, shape (n, h, w)
        The tiles.
    nominal_px : numpy.ndarray, shape (n, 2)
        Nominal (stage) positions (y, x), px.
    search_px : int
        Half-width of the integer search window, px.
    min_overlap_fraction : float, optional
        Pairs overlapping less (fraction of a tile's area) are not registered.
    refine : {"lk", "parabolic"}, optional
        Sub-pixel method of :func:`register_pair`.

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``a, b, nominal_dy_px, nominal_dx_px, dy_px, dx_px`` (px),
        ``ncc``, ``overlap_px``, ``usable``.

    Notes
    -----
    A pair whose peak is on the edge of the search window is searched again with twice
    the window; if still on the edge it is marked ``usable = False``.
    """
    nb = find_neighbours(nominal_px, tiles.shape[1:], min_overlap_fraction)
    rows = []
    for a, b in nb:
        nom = nominal_px[b] - nominal_px[a]
        reg = register_pair(tiles[a], tiles[b], nom, search_px, refine=refine)
        if reg.at_search_edge:
            reg = register_pair(tiles[a], tiles[b], nom, 2 * search_px, refine=refine)
        rows.append(
            (
                int(a),
                int(b),
                nom[0],
                nom[1],
                reg.offset_px[0],
                reg.offset_px[1],
                reg.ncc,
                reg.overlap_px,
                not reg.at_search_edge,
            )
        )
    return pd.DataFrame(
        rows, columns=["a", "b", "nominal_dy_px", "nominal_dx_px", "dy_px", "dx_px", "ncc", "overlap_px", "usable"]
    )
