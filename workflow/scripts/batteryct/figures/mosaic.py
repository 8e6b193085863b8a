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
    origin_px,
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
        Solved tile positions ``y_px``, ``x_px`` (top-left corners, in the pixels of the
        mosaic's first tile frame); the tile size is the mosaic extent minus the position span.
    origin_px : (float, float)
        Position of the mosaic's pixel (0, 0) in that frame.
    particles : pandas.DataFrame
        Detected particles ``y_px``, ``x_px`` (mosaic pixels) and ``diameter_um``
        (projected-area diameter).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> img = np.ones((40, 60)); t = pd.DataFrame({"y_px": [0, 0], "x_px": [0, 30]})
    >>> p = pd.DataFrame({"y_px": [5.0], "x_px": [5.0], "diameter_um": [4.0]})
    >>> len(mosaic_overview(img, 0.5, t, (0, 0), p).axes)
    1
    """
    ny, nx = image.shape
    fig = new_figure(8.0, 8.0 * ny / max(nx, 1) + 0.6)
    ax = fig.subplots()
    finite = image[np.isfinite(image)]
    lo, hi = np.percentile(finite, (0.5, 99.5)) if finite.size else (0, 1)
    ax.imshow(np.where(np.isfinite(image), image, np.nan), cmap="gray", vmin=lo, vmax=hi, interpolation="antialiased")
    ty = tiles["y_px"].to_numpy(float) - float(origin_px[0])
    tx = tiles["x_px"].to_numpy(float) - float(origin_px[1])
    th = ny - (ty.max() - ty.min())
    tw = nx - (tx.max() - tx.min())
    ax.add_collection(
        PatchCollection(
            [Rectangle((x - 0.5, y - 0.5), tw, th) for y, x in zip(ty, tx)],
            facecolor="none",
            edgecolor="yellow",
            linewidths=0.6,
            linestyle="--",
        )
    )
    circles = [
        Circle((x, y), d / 2 / pixel_size_um)
        for y, x, d in zip(particles["y_px"], particles["x_px"], particles["diameter_um"])
    ]
    ax.add_collection(PatchCollection(circles, facecolor="none", edgecolor="C3", linewidths=0.5))
    add_scale_bar(ax, pixel_size_um, nx, colour="black")  # radiographs are bright where empty
    ax.set_xlabel("x (px)")
    ax.set_ylabel("y (px)")
    ax.set_title(
        f"{title}: {len(tiles)} tiles (yellow), {len(particles)} particles detected (red: projected-area circles)"
    )
    return fig
