"""Mosaic figure: the stitched overview with the tile grid, detected particles and a scale bar."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.collections import PatchCollection
from matplotlib.patches import Circle, Rectangle

from batteryct.figures._base import add_scale_bar, new_figure


def mosaic_overview(
    image: np.ndarray,
    pixel_size_um: float,
    tiles: pd.DataFrame,
    tile_shape: tuple,
    particles: pd.DataFrame,
    *,
    title: str = "",
):
    """Return the stitched mosaic with the solved tile outlines and the detected particles.

    Parameters
    ----------
    image : ndarray of float, (ny, nx)
        Stitched mosaic (NaN outside the tiles).
    pixel_size_um : float
        Pixel size in µm.
    tiles : pandas.DataFrame
        Solved tile positions ``y_px``, ``x_px`` (top-left corner in mosaic pixels).
    tile_shape : (int, int)
        Tile height and width in pixels.
    particles : pandas.DataFrame
        Detected particles ``y_um``, ``x_um``, ``diameter_um`` (projected-area diameter).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> img = np.ones((40, 60)); t = pd.DataFrame({"y_px": [0, 0], "x_px": [0, 30]})
    >>> p = pd.DataFrame({"y_um": [5.0], "x_um": [5.0], "diameter_um": [4.0]})
    >>> len(mosaic_overview(img, 0.5, t, (40, 30), p).axes)
    1
    """
    ny, nx = image.shape
    fig = new_figure(8.0, 8.0 * ny / max(nx, 1) + 0.6)
    ax = fig.subplots()
    finite = image[np.isfinite(image)]
    lo, hi = np.percentile(finite, (0.5, 99.5)) if finite.size else (0, 1)
    ax.imshow(np.where(np.isfinite(image), image, np.nan), cmap="gray", vmin=lo, vmax=hi, interpolation="antialiased")
    th, tw = tile_shape
    ax.add_collection(
        PatchCollection(
            [Rectangle((x - 0.5, y - 0.5), tw, th) for y, x in zip(tiles["y_px"], tiles["x_px"])],
            facecolor="none",
            edgecolor="yellow",
            linewidths=0.6,
            linestyle="--",
        )
    )
    circles = [
        Circle((x / pixel_size_um, y / pixel_size_um), d / 2 / pixel_size_um)
        for y, x, d in zip(particles["y_um"], particles["x_um"], particles["diameter_um"])
    ]
    ax.add_collection(PatchCollection(circles, facecolor="none", edgecolor="C3", linewidths=0.5))
    add_scale_bar(ax, pixel_size_um, nx, colour="white")
    ax.set_xlabel("x (px)")
    ax.set_ylabel("y (px)")
    ax.set_title(
        f"{title}: {len(tiles)} tiles (yellow), {len(particles)} particles detected (red: projected-area circles)"
    )
    return fig
