"""Virtual radiograph mosaic of a particle monolayer on tape, with its ground truth."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from batteryct._checks import check_int
from batteryct.io import grid_indices

__all__ = [
    "SimulatedMosaic",
    "lognormal_diameters_um",
    "nominal_positions_um",
    "particles_inside",
    "place_discs",
    "render_tile_transmission",
    "simulate_mosaic",
    "smooth_gain_drift",
    "truncated_lognormal_moments",
]


@dataclass
class SimulatedMosaic:
    """A simulated radiograph mosaic with its ground truth.

    Simulator frame: coordinates in px (``* pixel_size_um`` for µm) whose origin is the
    *nominal* position of tile 0 (its top-left pixel centre).

    Attributes
    ----------
    tiles : numpy.ndarray of uint16, shape (n_tiles, tile_px, tile_px)
        Raw counts (dark-subtracted), tiles in row-major grid order.
    stage_position_um : numpy.ndarray of float64, shape (n_tiles, 2)
        Nominal stage positions (y, x) of the top-left pixel centres, µm.
    true_position_px : numpy.ndarray of float64, shape (n_tiles, 2)
        Positions (y, x) at which the tiles were really rendered, px, sub-pixel.
    true_gain : numpy.ndarray of float64, shape (n_tiles,)
        Per-tile gain (source / detector drift) multiplying ``flat_counts``.
    particles : pandas.DataFrame
        One row per sphere: ``y_um, x_um`` (centre, simulator frame), ``diameter_um``,
        ``y_px, x_px`` (the centre in px).
    pixel_size_um : float
        Pixel size at the sample, µm.
    n_rows, n_cols : int
        Grid shape.
    grid : numpy.ndarray of int32, shape (n_tiles, 2)
        (row, col) of each tile.
    params : dict
        The arguments of :func:`simulate_mosaic`.
    """

    tiles: np.ndarray
    stage_position_um: np.ndarray
    true_position_px: np.ndarray
    true_gain: np.ndarray
    particles: pd.DataFrame
    pixel_size_um: float
    n_rows: int
    n_cols: int
    grid: np.ndarray
    params: dict = field(default_factory=dict)

    def truth(self) -> dict:
        """Return the ground truth in the form :func:`batteryct.io.write_mosaic_h5` stores.

        Returns
        -------
        dict
            ``position_px`` (true tile positions, px), ``gain`` (true gains),
            ``particles`` (``y_um, x_um, diameter_um``, µm) and ``params``.
        """
        return {
            "position_px": self.true_position_px,
            "gain": self.true_gain,
            "particles": self.particles[["y_um", "x_um", "diameter_um"]],
            "params": self.params,
        }


def nominal_positions_um(
    n_rows: int, n_cols: int, tile_px: int, pixel_size_um: float, overlap_fraction: float
) -> np.ndarray:
    """Return the stage positions (y, x) of a row-major grid of tiles with the given overlap.

    Parameters
    ----------
    n_rows, n_cols : int
        Grid shape.
    tile_px : int
        Tile side, px.
    pixel_size_um : float
        Pixel size at the sample, µm.
    overlap_fraction : float
        Overlap of neighbours as a fraction of the tile side.

    Returns
    -------
    numpy.ndarray of float64, shape (n_rows * n_cols, 2)
        Positions in µm; tile 0 at (0, 0), the step between neighbours
        ``tile_px * (1 - overlap_fraction) * pixel_size_um``.
    """
    step_um = tile_px * (1.0 - overlap_fraction) * pixel_size_um
    return grid_indices(n_rows, n_cols).astype(np.float64) * step_um


def truncated_lognormal_moments(
    median_um: float, sigma_ln: float, d_min_um: float, d_max_um: float, n: int = 20001
) -> tuple[float, float]:
    """Return the mean and mean square of a lognormal diameter truncated to ``[d_min, d_max]``.

    Parameters
    ----------
    median_um : float
        Median of the untruncated lognormal, µm.
    sigma_ln : float
        Standard deviation of ``log(d)``.
    d_min_um, d_max_um : float
        Truncation range, µm.
    n : int, optional
        Points of the trapezoidal quadrature.

    Returns
    -------
    mean_um : float
        Mean diameter, µm.
    mean_square_um2 : float
        Mean squared diameter, µm².
    """
    d = np.linspace(d_min_um, d_max_um, n)
    pdf = np.exp(-(np.log(d / median_um) ** 2) / (2.0 * sigma_ln**2)) / d
    pdf /= np.trapezoid(pdf, d)
    return float(np.trapezoid(pdf * d, d)), float(np.trapezoid(pdf * d * d, d))


def lognormal_diameters_um(
    rng: np.random.Generator, n: int, median_um: float, sigma_ln: float, d_min_um: float, d_max_um: float
) -> np.ndarray:
    """Draw diameters from a lognormal truncated to ``[d_min_um, d_max_um]`` (by rejection).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the draws.
    n : int
        Number of diameters.
    median_um : float
        Median of the untruncated lognormal, µm.
    sigma_ln : float
        Standard deviation of ``log(d)``.
    d_min_um, d_max_um : float
        Truncation range, µm.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        Diameters, µm.
    """
    out = np.empty(0)
    while out.size < n:
        d = median_um * np.exp(sigma_ln * rng.standard_normal(2 * n + 16))
        out = np.concatenate([out, d[(d >= d_min_um) & (d <= d_max_um)]])
    return out[:n]


def place_discs(
    rng: np.random.Generator,
    diameters_um: np.ndarray,
    extent_um: tuple[float, float, float, float],
    min_gap_um: float = 0.0,
    batch: int = 64,
    n_batches: int = 20,
) -> np.ndarray:
    """Place non-overlapping discs by random sequential addition, largest first.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the candidate centres.
    diameters_um : numpy.ndarray, shape (n,)
        Disc diameters, µm.
    extent_um : tuple of 4 floats
        Rectangle ``(y0, y1, x0, x1)`` (µm) in which the centres are drawn uniformly.
    min_gap_um : float, optional
        Smallest edge-to-edge distance between two discs, µm (0: they may touch).
    batch, n_batches : int, optional
        Candidate centres drawn at once, and how many batches before a disc is given up.

    Returns
    -------
    numpy.ndarray of float64, shape (m, 3)
        ``(y_um, x_um, diameter_um)`` of the ``m <= n`` discs placed.
    """
    y0, y1, x0, x1 = extent_um
    order = np.argsort(-np.asarray(diameters_um), kind="stable")
    placed = np.empty((len(order), 3))
    k = 0
    for d in np.asarray(diameters_um)[order]:
        r = 0.5 * d
        for _ in range(n_batches):
            cy = rng.uniform(y0, y1, batch)
            cx = rng.uniform(x0, x1, batch)
            if k:
                dist2 = (cy[:, None] - placed[None, :k, 0]) ** 2 + (cx[:, None] - placed[None, :k, 1]) ** 2
                ok = np.all(dist2 >= (r + 0.5 * placed[None, :k, 2] + min_gap_um) ** 2, axis=1)
            else:
                ok = np.ones(batch, bool)
            if ok.any():
                j = int(np.argmax(ok))
                placed[k] = (cy[j], cx[j], d)
                k += 1
                break
    return placed[:k]


def smooth_gain_drift(rng: np.random.Generator, n_tiles: int, gain_drift: float) -> np.ndarray:
    """Draw per-tile gains ``1 + gain_drift * s(t)`` smooth in acquisition time, ``|s| <= 1``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the frequency and phase.
    n_tiles : int
        Number of tiles (acquired in tile order).
    gain_drift : float
        Largest relative gain deviation from 1.

    Returns
    -------
    numpy.ndarray of float64, shape (n_tiles,)
        Gains.

    Notes
    -----
    ``s(t) = 0.6 sin(2 pi (f t + phi)) + 0.4 (2 t - 1)`` with ``t = k / (n_tiles - 1)``,
    a random frequency ``f`` in [0.5, 1.5] cycles per mosaic and a random phase ``phi``.
    """
    t = np.arange(n_tiles) / max(n_tiles - 1, 1)
    f = rng.uniform(0.5, 1.5)
    phi = rng.uniform(0.0, 1.0)
    s = 0.6 * np.sin(2.0 * np.pi * (f * t + phi)) + 0.4 * (2.0 * t - 1.0)
    return 1.0 + gain_drift * s


def render_tile_transmission(
    position_px: np.ndarray,
    shape: tuple[int, int],
    discs_px: np.ndarray,
    mu_per_um: float,
    pixel_size_um: float,
    supersample: int = 4,
) -> np.ndarray:
    """Render the transmission of a tile over a monolayer of spheres, averaged over sub-pixels.

    Parameters
    ----------
    position_px : array_like, shape (2,)
        Tile position (y, x) in px (top-left pixel centre), sub-pixel.
    shape : tuple of 2 ints
        Tile shape (rows, columns).
    discs_px : numpy.ndarray, shape (m, 3)
        Spheres ``(y_px, x_px, diameter_px)`` in the same frame.
    mu_per_um : float
        Linear attenuation coefficient, 1/µm.
    pixel_size_um : float
        Pixel size at the sample, µm.
    supersample : int, optional
        Sub-pixels per pixel side.

    Returns
    -------
    numpy.ndarray of float64, shape (rows, columns)
        Transmission in (0, 1].

    Notes
    -----
    Each detector pixel is split into ``supersample x supersample`` sub-pixels; at each
    sub-pixel centre the line integral ``sum mu * 2 sqrt(r^2 - rho^2)`` of the spheres is
    evaluated analytically (``rho`` distance to the sphere's axis along the beam), and the
    pixel value is the mean of ``exp(-line integral)`` over its sub-pixels.
    """
    h, w = shape
    s = supersample
    sub = (np.arange(s) + 0.5) / s - 0.5
    ys = (np.arange(h)[:, None] + sub[None, :]).ravel()  # tile px coordinate of sub-rows
    xs = (np.arange(w)[:, None] + sub[None, :]).ravel()
    line = np.zeros((h * s, w * s))
    py, px = float(position_px[0]), float(position_px[1])
    for cy, cx, d in discs_px:
        r = 0.5 * d
        # sub-pixel index range that can be inside the disc
        i0 = max(int(math.floor((cy - r - py + 0.5) * s)), 0)
        i1 = min(int(math.ceil((cy + r - py + 0.5) * s)) + 1, h * s)
        j0 = max(int(math.floor((cx - r - px + 0.5) * s)), 0)
        j1 = min(int(math.ceil((cx + r - px + 0.5) * s)) + 1, w * s)
        if i0 >= i1 or j0 >= j1:
            continue
        dy2 = (ys[i0:i1] + py - cy)[:, None] ** 2
        dx2 = (xs[j0:j1] + px - cx)[None, :] ** 2
        chord2 = r * r - dy2 - dx2
        np.maximum(chord2, 0.0, out=chord2)
        line[i0:i1, j0:j1] += (2.0 * mu_per_um * pixel_size_um) * np.sqrt(chord2)
    return np.exp(-line).reshape(h, s, w, s).mean(axis=(1, 3))


def simulate_mosaic(
    *,
    seed: int,
    n_rows: int,
    n_cols: int,
    tile_px: int,
    pixel_size_um: float,
    overlap_fraction: float,
    stage_error_px: float,
    gain_drift: float,
    flat_counts: float,
    particles_per_tile: float,
    median_diameter_um: float = 10.0,
    sigma_ln: float = 0.35,
    mu_per_um: float = 0.047,
    d_min_um: float = 5.0,
    d_max_um: float = 30.0,
    supersample: int = 4,
) -> SimulatedMosaic:
    """Simulate a mosaic of 0° radiographs of a particle monolayer on tape.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``; everything is reproducible from it.
    n_rows, n_cols : int
        Grid shape; tiles are in row-major order.
    tile_px : int
        Tile side, px.
    pixel_size_um : float
        Pixel size at the sample, µm.
    overlap_fraction : float
        Nominal overlap of neighbours as a fraction of the tile side.
    stage_error_px : float
        Standard deviation (px, per axis) of the stage positioning error.
    gain_drift : float
        Largest relative gain deviation from 1.
    flat_counts : float
        Open-beam counts per pixel at gain 1.
    particles_per_tile : float
        Mean number of particles seen (whole or in part) by one tile.
    median_diameter_um, sigma_ln, d_min_um, d_max_um : float, optional
        Diameter distribution: lognormal median (µm), log-sd, truncation range (µm).
    mu_per_um : float, optional
        Attenuation coefficient of the particles, 1/µm.
    supersample : int, optional
        Sub-pixels per pixel side.

    Returns
    -------
    SimulatedMosaic
        Tiles, stage positions and the ground truth.

    Notes
    -----
    Spheres (lognormal diameters truncated to ``[d_min_um, d_max_um]``) lie in one layer
    on the tape, their projected discs not overlapping (they may touch), placed by random
    sequential addition, largest first (:func:`place_discs`), over the whole mosaic plus a
    margin of ``d_max_um / 2 + (2 stage_error_px + 1)`` px; a disc that finds no room
    after 20 x 64 random tries is left out. The number density is chosen so that on
    average ``particles_per_tile`` particles are *seen* by a tile (whole or in part):
    ``density = particles_per_tile / E[(L + d)^2]`` with ``L`` the tile side in µm.
    (Counting only centres inside a tile, 30 particles of median 10 µm per 65.5 µm tile
    would need a higher area coverage than random packing of non-overlapping discs
    reaches.)

    Each tile is rendered directly at its true position: ``nominal + error``, the error
    per axis normal with sd ``stage_error_px`` clipped to ``+-2 stage_error_px`` (rms
    0.96 ``stage_error_px``). Pixel values are the mean transmission over
    ``supersample^2`` sub-pixels (:func:`render_tile_transmission`) times
    ``flat_counts * gain`` (gain smooth in acquisition order, :func:`smooth_gain_drift`),
    with Poisson noise; no dark current, no flat-field shading, no blur beyond the pixel
    footprint.
    """
    check_int(n_rows, "n_rows", 1)
    check_int(n_cols, "n_cols", 1)
    check_int(tile_px, "tile_px", 1)
    check_int(supersample, "supersample", 1)
    params = dict(
        seed=seed,
        n_rows=n_rows,
        n_cols=n_cols,
        tile_px=tile_px,
        pixel_size_um=pixel_size_um,
        overlap_fraction=overlap_fraction,
        stage_error_px=stage_error_px,
        gain_drift=gain_drift,
        flat_counts=flat_counts,
        particles_per_tile=particles_per_tile,
        median_diameter_um=median_diameter_um,
        sigma_ln=sigma_ln,
        mu_per_um=mu_per_um,
        d_min_um=d_min_um,
        d_max_um=d_max_um,
        supersample=supersample,
    )
    rng = np.random.default_rng(seed)
    n_tiles = n_rows * n_cols
    stage_um = nominal_positions_um(n_rows, n_cols, tile_px, pixel_size_um, overlap_fraction)
    nominal_px = stage_um / pixel_size_um
    cap = 2.0 * stage_error_px
    error_px = np.clip(stage_error_px * rng.standard_normal((n_tiles, 2)), -cap, cap)
    true_px = nominal_px + error_px
    gains = smooth_gain_drift(rng, n_tiles, gain_drift)

    tile_um = tile_px * pixel_size_um
    mean_d, mean_d2 = truncated_lognormal_moments(median_diameter_um, sigma_ln, d_min_um, d_max_um)
    density = particles_per_tile / (tile_um**2 + 2.0 * tile_um * mean_d + mean_d2)  # 1/um^2
    margin_um = 0.5 * d_max_um + (cap + 1.0) * pixel_size_um
    y0, x0 = -0.5 * pixel_size_um - margin_um, -0.5 * pixel_size_um - margin_um
    y1 = (nominal_px[:, 0].max() + tile_px - 0.5) * pixel_size_um + margin_um
    x1 = (nominal_px[:, 1].max() + tile_px - 0.5) * pixel_size_um + margin_um
    n_particles = int(round(density * (y1 - y0) * (x1 - x0)))
    diam = lognormal_diameters_um(rng, n_particles, median_diameter_um, sigma_ln, d_min_um, d_max_um)
    discs_um = place_discs(rng, diam, (y0, y1, x0, x1))
    discs_px = discs_um / pixel_size_um

    tiles = np.empty((n_tiles, tile_px, tile_px), np.uint16)
    for k in range(n_tiles):
        p = true_px[k]
        cy, cx, r = discs_px[:, 0], discs_px[:, 1], 0.5 * discs_px[:, 2]
        near = (cy + r > p[0] - 1) & (cy - r < p[0] + tile_px) & (cx + r > p[1] - 1) & (cx - r < p[1] + tile_px)
        trans = render_tile_transmission(p, (tile_px, tile_px), discs_px[near], mu_per_um, pixel_size_um, supersample)
        counts = rng.poisson(flat_counts * gains[k] * trans)
        tiles[k] = np.minimum(counts, np.iinfo(np.uint16).max).astype(np.uint16)

    particles = pd.DataFrame(
        {
            "y_um": discs_um[:, 0],
            "x_um": discs_um[:, 1],
            "diameter_um": discs_um[:, 2],
            "y_px": discs_px[:, 0],
            "x_px": discs_px[:, 1],
        }
    )
    return SimulatedMosaic(
        tiles=tiles,
        stage_position_um=stage_um,
        true_position_px=true_px,
        true_gain=gains,
        particles=particles,
        pixel_size_um=float(pixel_size_um),
        n_rows=n_rows,
        n_cols=n_cols,
        grid=grid_indices(n_rows, n_cols),
        params=params,
    )


def particles_inside(
    particles: pd.DataFrame,
    positions_px: np.ndarray,
    tile_shape: tuple[int, int],
    pixel_size_um: float,
    n_perimeter: int = 64,
) -> np.ndarray:
    """Return a mask of the particles whose projected disc lies wholly inside the mosaic footprint.

    Parameters
    ----------
    particles : pandas.DataFrame
        Columns ``y_um, x_um`` (centre) and ``diameter_um``, µm.
    positions_px : numpy.ndarray, shape (n_tiles, 2)
        Tile positions in the particles' frame, px.
    tile_shape : tuple of 2 ints
        Tile shape (rows, columns).
    pixel_size_um : float
        Pixel size at the sample, µm.
    n_perimeter : int, optional
        Points tested on each disc's rim.

    Returns
    -------
    numpy.ndarray of bool, shape (n_particles,)
        True for the particles wholly inside.

    Notes
    -----
    The footprint is the union of the tile pixel footprints
    ``[position - 0.5, position + shape - 0.5]``; a disc is inside when ``n_perimeter``
    points of its rim are all in the union (tiles overlap, so the union has no holes).
    """
    cy = particles["y_um"].to_numpy() / pixel_size_um
    cx = particles["x_um"].to_numpy() / pixel_size_um
    r = 0.5 * particles["diameter_um"].to_numpy() / pixel_size_um
    ang = 2.0 * np.pi * np.arange(n_perimeter) / n_perimeter
    py = cy[:, None] + r[:, None] * np.sin(ang)[None, :]
    px = cx[:, None] + r[:, None] * np.cos(ang)[None, :]
    covered = np.zeros(py.shape, bool)
    h, w = tile_shape
    for ty, tx in np.asarray(positions_px):
        covered |= (py >= ty - 0.5) & (py <= ty + h - 0.5) & (px >= tx - 0.5) & (px <= tx + w - 0.5)
    return covered.all(axis=1)
