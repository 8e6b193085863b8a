"""Synthetic pore structures with known statistics, for tests and benchmarks."""

from __future__ import annotations

import edt
import numpy as np
from scipy import ndimage as ndi

from . import _checks


def overlapping_spheres(n: int, porosity: float = 0.4, radius_voxels: float = 8.0, seed: int = 0) -> np.ndarray:
    """Return the pore space of a Boolean model: solid = union of random spheres.

    Sphere centres are Poisson points in the cube of side ``n`` padded by the radius on
    every side (no edge depletion); their intensity ``lambda`` is chosen so that the
    expected porosity ``exp(-lambda V_sphere)`` equals ``porosity``.

    Parameters
    ----------
    n : int
        Side of the cube (voxels).
    porosity : float, optional
        Expected pore fraction, in (0, 1).
    radius_voxels : float, optional
        Sphere radius (voxels).
    seed : int, optional
        Seed of the point process.

    Returns
    -------
    bool ndarray (n, n, n), C-contiguous
        True in the pore space.

    Raises
    ------
    ValueError
        If ``porosity`` is not inside (0, 1) or the radius is not positive.

    Examples
    --------
    >>> pores = overlapping_spheres(20, porosity=0.5, radius_voxels=3.0, seed=1)
    >>> pores.shape, pores.dtype.name
    ((20, 20, 20), 'bool')
    """
    if not 0.0 < porosity < 1.0:
        raise ValueError(f"porosity must be in (0, 1), got {porosity}")
    if radius_voxels <= 0:
        raise ValueError(f"radius_voxels must be > 0, got {radius_voxels}")
    pad = int(np.ceil(radius_voxels))
    m = n + 2 * pad
    rng = np.random.default_rng(seed)
    count = rng.poisson(-np.log(porosity) * m**3 / (4.0 / 3.0 * np.pi * radius_voxels**3))
    centres = rng.integers(0, m, size=(count, 3))
    not_centre = np.ones((m, m, m), bool)
    not_centre[centres[:, 0], centres[:, 1], centres[:, 2]] = False
    dist = edt.edt(not_centre, parallel=1)
    return np.ascontiguousarray(dist[pad : pad + n, pad : pad + n, pad : pad + n] > radius_voxels)


def thresholded_noise(shape, porosity: float, sigma_voxels: float, seed: int = 0) -> np.ndarray:
    """Return the pore space of thresholded smoothed Gaussian noise.

    A connected random porous structure with pore fraction ``porosity`` (exact up to
    ties) and feature size set by ``sigma_voxels``.

    Parameters
    ----------
    shape : tuple of int
        Shape of the volume.
    porosity : float
        Pore fraction, in (0, 1).
    sigma_voxels : float
        Standard deviation of the Gaussian smoothing, voxels.
    seed : int, optional
        Seed of the noise.

    Returns
    -------
    ndarray of bool
        True in the pore space.

    Raises
    ------
    ValueError
        If ``porosity`` is not inside (0, 1).
    """
    if not 0.0 < porosity < 1.0:
        raise ValueError(f"porosity must be in (0, 1), got {porosity}")
    g = ndi.gaussian_filter(np.random.default_rng(seed).standard_normal(shape), sigma_voxels)
    return g > np.quantile(g, 1.0 - porosity)


def straight_channels(shape, axis: int, fraction: float, seed: int = 0) -> np.ndarray:
    """Return straight pore channels along ``axis``.

    A random 2-D pattern (each pixel pore with probability ``fraction``) extruded along
    the axis.

    Parameters
    ----------
    shape : tuple of int
        Shape of the volume.
    axis : int
        Direction of the channels.
    fraction : float
        Pore probability of each pixel of the pattern.
    seed : int, optional
        Seed of the pattern.

    Returns
    -------
    ndarray of bool
        True in the pore space (C-contiguous copy).

    Raises
    ------
    TypeError, ValueError
        If ``axis`` is not an axis of ``shape``.
    """
    axis = _checks.check_axis(axis, len(shape))
    rng = np.random.default_rng(seed)
    other = [n for d, n in enumerate(shape) if d != axis]
    pattern = rng.random(other) < fraction
    return np.broadcast_to(np.expand_dims(pattern, axis), shape).copy()
