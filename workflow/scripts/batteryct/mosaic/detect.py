"""Particle detection on a stitched overview, and its 8-bit rendering."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage as ndi
from skimage.filters import apply_hysteresis_threshold, threshold_otsu
from skimage.morphology import h_maxima
from skimage.segmentation import watershed

__all__ = ["ParticleDetection", "background_level", "detect_particles", "to_uint8"]


def background_level(mosaic: np.ndarray, n_iter: int = 5) -> tuple[float, float]:
    """Estimate the open-beam level and its noise from the bright (background) pixels of a mosaic.

    Parameters
    ----------
    mosaic : numpy.ndarray
        Intensities; non-finite pixels are ignored.
    n_iter : int, optional
        Refinement iterations.

    Returns
    -------
    i0 : float
        Open-beam level, in the units of ``mosaic``.
    sigma : float
        Its noise (standard deviation), in the units of ``mosaic``.

    Notes
    -----
    Starts from the median of the pixels above the Otsu threshold; then repeatedly takes
    the noise ``sigma`` from the upper half (``median(x - I0 | x > I0) / 0.6745``: only
    particles darken, so the upper half is pure background) and ``I0`` as the median of
    the pixels above ``I0 - 3 sigma``.
    """
    v = np.asarray(mosaic, dtype=np.float64)
    v = v[np.isfinite(v)]
    i0 = float(np.median(v[v > threshold_otsu(v)]))
    sigma = float("nan")
    for _ in range(n_iter):
        up = v[v > i0] - i0
        sigma = float(np.median(up) / 0.6745) if up.size else 0.0
        i0 = float(np.median(v[v > i0 - 3.0 * sigma]))
    return i0, sigma


@dataclass(frozen=True)
class ParticleDetection:
    """Result of :func:`detect_particles`.

    Attributes
    ----------
    particles : pandas.DataFrame
        One row per particle: ``label, y_px, x_px`` (centroid, mosaic array indices),
        ``area_px``, ``diameter_um`` (projected-area equivalent ``2 sqrt(A / pi)``, µm).
    labels : numpy.ndarray of int32
        Label image (0 background; removed particles are 0).
    i0 : float
        Open-beam level of :func:`background_level`, in the units of the mosaic.
    noise_sigma : float
        Background noise of the attenuation ``-log(mosaic / I0)``.
    otsu : float
        Otsu threshold of the attenuation (reported whatever the method).
    threshold : float
        Attenuation level of the particle outlines.
    n_removed_border, n_removed_small : int
        Particles removed as cut by the mosaic border, and as too small.
    """

    particles: pd.DataFrame
    labels: np.ndarray
    i0: float
    noise_sigma: float
    otsu: float
    threshold: float
    n_removed_border: int
    n_removed_small: int


def detect_particles(
    mosaic: np.ndarray,
    pixel_size_um: float,
    *,
    threshold: str | float,
    edge_k_sigma: float,
    seed_k_sigma: float,
    min_diameter_um: float,
    smooth_px: float = 0.0,
    h_px: float = 1.0,
) -> ParticleDetection:
    """Detect particles in a stitched overview by thresholding and a distance-transform watershed.

    Parameters
    ----------
    mosaic : numpy.ndarray, 2-D
        Stitched intensities (NaN where no data).
    pixel_size_um : float
        Pixel size at the sample, µm.
    threshold : {"noise", "otsu"} or float
        Thresholding method, or an attenuation level.
    edge_k_sigma, seed_k_sigma : float
        Hysteresis levels in units of the background noise (``"noise"`` only).
    min_diameter_um : float
        Particles of a smaller area-equivalent diameter are removed, µm.
    smooth_px : float, optional
        Gaussian sigma applied to the attenuation before thresholding, px (0: none;
        smoothing widens the discs at a noise-level threshold).
    h_px : float, optional
        Depth of the distance-transform maxima used as markers, px.

    Returns
    -------
    ParticleDetection
        The particle table, the label image and the levels used.

    Raises
    ------
    ValueError
        If ``threshold`` is neither a method nor a number.

    Notes
    -----
    1. ``att = -log(mosaic / I0)`` with ``I0`` from :func:`background_level`; pixels
       without data (NaN) are outside; optional Gaussian smoothing (``smooth_px``);
    2. threshold, by ``threshold``:

       * ``"noise"``: hysteresis on the background noise ``sigma`` of ``att`` (from its
         negative values, i.e. background only): outlines at ``edge_k_sigma * sigma``,
         and a region is kept when it reaches ``seed_k_sigma * sigma`` somewhere;
       * ``"otsu"``: ``att >`` Otsu threshold of ``att``;
       * a number: ``att >`` that value.

       Why not Otsu by default: a sphere's projected chord falls to zero at its rim, so
       any level well above the noise shrinks every disc, and Otsu's level (between air
       and the mean particle) can lie above the whole profile of the thinnest particles
       (5 µm of NMC: peak ``mu * d`` = 0.235), which undercounts them and shrinks the
       diameters;
    3. watershed of the negated Euclidean distance transform from its h-maxima
       (``h_px``) splits touching particles;
    4. particles touching a pixel without data or the array edge (cut by the mosaic
       border) and those smaller than ``min_diameter_um`` (area-equivalent) are removed.
    """
    m = np.asarray(mosaic, dtype=np.float64)
    valid = np.isfinite(m)
    i0, _ = background_level(m)
    att = np.where(valid, -np.log(np.clip(np.where(valid, m, i0) / i0, 1e-6, None)), 0.0)
    if smooth_px > 0:
        att = ndi.gaussian_filter(att, smooth_px)
    vals = att[valid]
    neg = -vals[vals < 0]
    sigma = float(np.median(neg) / 0.6745) if neg.size else 0.0
    otsu = float(threshold_otsu(vals))
    if isinstance(threshold, str) and threshold == "noise":
        level = edge_k_sigma * sigma
        binary = apply_hysteresis_threshold(att, level, max(seed_k_sigma * sigma, level))
    elif isinstance(threshold, str) and threshold == "otsu":
        level = otsu
        binary = att > level
    elif isinstance(threshold, (int, float)) and not isinstance(threshold, bool):
        level = float(threshold)
        binary = att > level
    else:
        raise ValueError(f"threshold must be 'noise', 'otsu' or a number, got {threshold!r}")
    binary &= valid
    dist = ndi.distance_transform_edt(binary)
    markers, _ = ndi.label(h_maxima(dist, h_px) & binary)
    labels = watershed(-dist, markers, mask=binary).astype(np.int32)
    # cut by the border: touching the array edge or a pixel without data
    outside = ~valid
    outside[0, :] = outside[-1, :] = outside[:, 0] = outside[:, -1] = True
    near = ndi.binary_dilation(outside, structure=np.ones((3, 3), bool))
    cut = np.unique(labels[near])
    cut = cut[cut > 0]
    n_lab = int(labels.max())
    idx = np.arange(1, n_lab + 1)
    area = np.bincount(labels.ravel(), minlength=n_lab + 1)[1:]
    min_area = math.pi / 4.0 * (min_diameter_um / pixel_size_um) ** 2
    small = idx[(area < min_area) & ~np.isin(idx, cut)]
    drop = np.zeros(n_lab + 1, bool)
    drop[cut] = True
    drop[small] = True
    keep_ids = idx[~drop[1:]]
    remap = np.zeros(n_lab + 1, np.int32)
    remap[keep_ids] = np.arange(1, keep_ids.size + 1, dtype=np.int32)
    labels = remap[labels]
    n = keep_ids.size
    new_idx = np.arange(1, n + 1)
    yy, xx = np.indices(labels.shape)
    area = np.bincount(labels.ravel(), minlength=n + 1)[1:].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        cy = np.bincount(labels.ravel(), yy.ravel(), minlength=n + 1)[1:] / area
        cx = np.bincount(labels.ravel(), xx.ravel(), minlength=n + 1)[1:] / area
    table = pd.DataFrame(
        {
            "label": new_idx.astype(np.int32),
            "y_px": cy,
            "x_px": cx,
            "area_px": area.astype(np.int64),
            "diameter_um": 2.0 * np.sqrt(area / math.pi) * pixel_size_um,
        }
    )
    return ParticleDetection(
        particles=table,
        labels=labels,
        i0=i0,
        noise_sigma=sigma,
        otsu=otsu,
        threshold=float(level),
        n_removed_border=int(cut.size),
        n_removed_small=int(small.size),
    )


def to_uint8(mosaic: np.ndarray, low_percentile: float = 0.5, high_percentile: float = 99.5) -> np.ndarray:
    """Scale a mosaic linearly to 8 bits between two percentiles of its finite pixels.

    Parameters
    ----------
    mosaic : numpy.ndarray
        Intensities (NaN where no data).
    low_percentile, high_percentile : float, optional
        Percentiles (0-100) mapped to 0 and 255.

    Returns
    -------
    numpy.ndarray of uint8
        Same shape; pixels without data are 0. Write it with :func:`batteryct.io.write_png`.
    """
    m = np.asarray(mosaic, dtype=np.float64)
    valid = np.isfinite(m)
    if not valid.any():
        return np.zeros(m.shape, np.uint8)
    lo, hi = np.percentile(m[valid], [low_percentile, high_percentile])
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    out = np.clip(np.rint((np.where(valid, m, lo) - lo) * scale), 0, 255).astype(np.uint8)
    out[~valid] = 0
    return out
