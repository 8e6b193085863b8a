"""Feathered blending of registered tiles, and the stitching pipeline that drives it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from batteryct._checks import check_int
from batteryct.io import grid_indices
from batteryct.mosaic.register import register_all
from batteryct.mosaic.solve import normalise_gains, solve_positions

__all__ = ["StitchResult", "blend", "feather_weights", "stitch"]


def feather_weights(n: int, frac: float) -> np.ndarray:
    """Return the linear feather weights of ``n + 1`` samples at tile coordinates ``k - frac``.

    Parameters
    ----------
    n : int
        Tile side, px.
    frac : float
        Fractional part of the tile position, px.

    Returns
    -------
    numpy.ndarray of float64, shape (n + 1,)
        ``w(u) = max(0, min(u + 0.5, n - 0.5 - u))``: zero outside the pixel footprint
        ``[-0.5, n - 0.5]`` and rising linearly from each edge.
    """
    u = np.arange(n + 1) - frac
    return np.clip(np.minimum(u + 0.5, n - 0.5 - u), 0.0, None)


def blend(
    tiles: np.ndarray, positions_px: np.ndarray, gains: np.ndarray | None = None, order: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Blend tiles at sub-pixel positions into one mosaic with linear (feathered) weights.

    Parameters
    ----------
    tiles : numpy.ndarray, shape (n, h, w)
        The tiles.
    positions_px : numpy.ndarray, shape (n, 2)
        Tile positions (y, x), px.
    gains : numpy.ndarray, shape (n,), optional
        Each tile is divided by its gain (default 1).
    order : int, optional
        Spline order of the sub-pixel shift (1 bilinear, 3 cubic).

    Returns
    -------
    mosaic : numpy.ndarray of float32, shape (H, W)
        Blended intensities; NaN where no tile covers a pixel.
    origin_px : numpy.ndarray of int64, shape (2,)
        Coordinate (y, x) of mosaic pixel ``[0, 0]`` in the frame of ``positions_px``, px.

    Notes
    -----
    Each tile (divided by its gain) is resampled onto the integer mosaic grid by
    ``scipy.ndimage.shift`` (spline of ``order``, edge values beyond the tile) and added
    with weight ``w_y(u) * w_x(v)`` (:func:`feather_weights`), so that in an overlap the
    contribution of each tile falls linearly to zero at its edge.
    """
    tiles = np.asarray(tiles)
    n, h, w = tiles.shape
    pos = np.asarray(positions_px, dtype=np.float64)
    gains = np.ones(n) if gains is None else np.asarray(gains, dtype=np.float64)
    base = np.floor(pos).astype(np.int64)
    frac = pos - base
    origin = base.min(axis=0)
    offs = base - origin
    shape = (int(offs[:, 0].max()) + h + 1, int(offs[:, 1].max()) + w + 1)
    num = np.zeros(shape)
    den = np.zeros(shape)
    for k in range(n):
        tp = np.pad(np.asarray(tiles[k], dtype=np.float64) / gains[k], 1, mode="edge")
        shifted = ndi.shift(tp, frac[k], order=order, mode="nearest")[1:, 1:]  # sample k' at tile coord k' - f
        wgt = feather_weights(h, frac[k, 0])[:, None] * feather_weights(w, frac[k, 1])[None, :]
        y0, x0 = offs[k]
        num[y0 : y0 + h + 1, x0 : x0 + w + 1] += wgt * shifted
        den[y0 : y0 + h + 1, x0 : x0 + w + 1] += wgt
    with np.errstate(invalid="ignore", divide="ignore"):
        mosaic = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan).astype(np.float32)
    return mosaic, origin


@dataclass(frozen=True)
class StitchResult:
    """Result of :func:`stitch`.

    Attributes
    ----------
    mosaic : numpy.ndarray of float32, shape (H, W)
        Gain-normalised intensities on the anchor's scale (counts); NaN where no tile.
    positions : pandas.DataFrame
        One row per tile: ``tile, row, col, y_px, x_px`` (stitched position, stage frame,
        px), ``stage_y_px, stage_x_px``, ``y_um, x_um`` (stitched, µm), ``gain``.
    origin_px : numpy.ndarray of int64, shape (2,)
        (y, x) of mosaic pixel ``[0, 0]`` in the stage frame, px.
    pairs : pandas.DataFrame
        The registrations of :func:`~batteryct.mosaic.register_all` plus ``used`` and
        ``residual_px`` of the global solve.
    n_pairs, n_pairs_used : int
        Pairs registered, and kept in the global solve.
    rms_residual_px : float
        Root-mean-square residual of the kept pairs, px (NaN when none is kept).
    pixel_size_um : float
        Pixel size at the sample, µm.
    """

    mosaic: np.ndarray
    positions: pd.DataFrame
    origin_px: np.ndarray
    pairs: pd.DataFrame
    n_pairs: int
    n_pairs_used: int
    rms_residual_px: float
    pixel_size_um: float


def stitch(
    tiles: np.ndarray,
    stage_positions_um: np.ndarray,
    pixel_size_um: float,
    n_rows: int,
    n_cols: int,
    *,
    search_px: int,
    min_ncc: float,
    max_residual_px: float,
    anchor: int = 0,
    refine: str = "lk",
    grid: np.ndarray | None = None,
) -> StitchResult:
    """Stitch a mosaic of radiographs into one overview.

    Parameters
    ----------
    tiles : numpy.ndarray, shape (n, h, w)
        Raw counts.
    stage_positions_um : numpy.ndarray, shape (n, 2)
        Stage positions (y, x) of the tiles' top-left pixel centres, µm.
    pixel_size_um : float
        Pixel size at the sample, µm.
    n_rows, n_cols : int
        Grid shape (``n == n_rows * n_cols``).
    search_px : int
        Half-width of the registration search around the stage offsets, px (the stage
        repeatability; relative errors of neighbours must be inside it).
    min_ncc : float
        Pairs correlating less are not used (:func:`~batteryct.mosaic.solve_positions`).
    max_residual_px : float
        Pairs disagreeing more with the global solution are dropped, px.
    anchor : int, optional
        Tile kept at its stage position.
    refine : {"lk", "parabolic"}, optional
        Sub-pixel method of :func:`~batteryct.mosaic.register_pair`.
    grid : numpy.ndarray, shape (n, 2), optional
        (row, col) of each tile for the output table; row-major when omitted.

    Returns
    -------
    StitchResult
        The mosaic, the tile positions and gains, and the pair registrations.

    Raises
    ------
    ValueError
        If the tiles and positions do not match, the grid does not hold the tiles, or the
        anchor is not a tile.

    Notes
    -----
    Coordinates: a tile is an array ``(rows, columns)``; its pixel ``(i, j)`` has its
    centre at mosaic coordinate ``position + (i, j)``, where the tile *position* ``(y, x)``
    is the coordinate of the centre of its top-left pixel (``y`` down the rows, ``x``
    along the columns). Stage positions are in µm; stitched positions are in px in the
    stage frame (``stage_position_um / pixel_size_um``), the anchor kept at its stage
    position. A pairwise offset ``d = position[b] - position[a]`` means ``b[i, j]``
    images the same point as ``a[i + d_y, j + d_x]``. Neighbours are found from the stage
    positions, not from the tile numbering.

    Pipeline:

    1. :func:`~batteryct.mosaic.find_neighbours`: pairs of tiles whose nominal footprints
       overlap by at least 5 % of a tile;
    2. :func:`~batteryct.mosaic.register_pair`: normalised cross-correlation of the
       overlap for every integer offset within ``+-search_px`` of the nominal one,
       parabolic sub-pixel peak, then a Gauss-Newton (Lucas-Kanade) refinement with a
       linear intensity model; a pair whose NCC peak is on the edge of the window is
       searched again with twice the window;
    3. :func:`~batteryct.mosaic.solve_positions`: weighted least squares for all
       positions, anchor fixed; drops pairs with a low NCC or a large residual; tiles left
       without a usable pair stay at their stage positions;
    4. :func:`~batteryct.mosaic.normalise_gains`: per-tile gain from the overlap mean
       ratios (least squares in log gain, anchor gain 1);
    5. :func:`blend`: tiles divided by their gain, shifted by cubic-spline interpolation
       to their sub-pixel positions and blended with linear (feathered) weights.

    Examples
    --------
    >>> import numpy as np
    >>> from batteryct import mosaic
    >>> sim = mosaic.simulate_mosaic(
    ...     seed=0, n_rows=2, n_cols=2, tile_px=64, pixel_size_um=0.512, overlap_fraction=0.2,
    ...     stage_error_px=1.0, gain_drift=0.05, flat_counts=3000, particles_per_tile=8,
    ... )
    >>> res = mosaic.stitch(
    ...     sim.tiles, sim.stage_position_um, sim.pixel_size_um, sim.n_rows, sim.n_cols,
    ...     search_px=4, min_ncc=0.3, max_residual_px=1.0,
    ... )
    >>> res.n_pairs, res.n_pairs_used
    (4, 4)
    >>> p, t = res.positions[["y_px", "x_px"]].to_numpy(), sim.true_position_px
    >>> bool(np.abs((p - p[0]) - (t - t[0])).max() < 0.3)
    True
    """
    tiles = np.asarray(tiles)
    stage = np.asarray(stage_positions_um, dtype=np.float64)
    if tiles.ndim != 3 or stage.shape != (tiles.shape[0], 2):
        raise ValueError(f"tiles {tiles.shape} and stage positions {stage.shape} do not match (n, h, w) / (n, 2)")
    if tiles.shape[0] != check_int(n_rows, "n_rows", 1) * check_int(n_cols, "n_cols", 1):
        raise ValueError(f"{tiles.shape[0]} tiles for a {n_rows} x {n_cols} grid")
    if check_int(anchor, "anchor", 0) >= tiles.shape[0]:
        raise ValueError(f"anchor tile {anchor} out of range for {tiles.shape[0]} tiles")
    nominal_px = stage / float(pixel_size_um)
    pairs = register_all(tiles, nominal_px, search_px, refine=refine)
    sol = solve_positions(
        pairs,
        tiles.shape[0],
        anchor=anchor,
        anchor_position_px=nominal_px[anchor],
        prior_px=nominal_px,
        prior_sigma_px=float(search_px),
        min_ncc=min_ncc,
        max_residual_px=max_residual_px,
    )
    pairs["used"] = sol.used
    pairs["residual_px"] = sol.residual_px
    gains = normalise_gains(tiles, sol.positions_px, pairs, anchor=anchor)
    mosaic, origin = blend(tiles, sol.positions_px, gains)
    grid = grid_indices(n_rows, n_cols) if grid is None else np.asarray(grid)
    pos = sol.positions_px
    table = pd.DataFrame(
        {
            "tile": np.arange(tiles.shape[0]),
            "row": grid[:, 0],
            "col": grid[:, 1],
            "y_px": pos[:, 0],
            "x_px": pos[:, 1],
            "stage_y_px": nominal_px[:, 0],
            "stage_x_px": nominal_px[:, 1],
            "y_um": pos[:, 0] * pixel_size_um,
            "x_um": pos[:, 1] * pixel_size_um,
            "gain": gains,
        }
    )
    used = sol.used
    return StitchResult(
        mosaic=mosaic,
        positions=table,
        origin_px=origin,
        pairs=pairs,
        n_pairs=int(len(pairs)),
        n_pairs_used=int(used.sum()),
        rms_residual_px=float(np.sqrt(np.mean(sol.residual_px[used] ** 2))) if used.any() else float("nan"),
        pixel_size_um=float(pixel_size_um),
    )
