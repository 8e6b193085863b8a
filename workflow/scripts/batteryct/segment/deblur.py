"""Blur of an electrode scan from its active edges, and its regularised removal."""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft
from scipy.special import ndtri

from .phase_model import SPILL_ANCHORS

__all__ = [
    "REFERENCE_EDGE_DEFICIT",
    "DEBLUR_REGULARIZATION",
    "edge_blur_sigma_voxels",
    "excess_blur_sigma_voxels",
    "deblur_gaussian",
]

#: edge deficit (:func:`~batteryct.segment.active_edge_deficit`) of the scans the class
#: model's spill anchors were set on: the first anchor of ``SPILL_ANCHORS`` (0.14)
REFERENCE_EDGE_DEFICIT = float(SPILL_ANCHORS[0][0])

#: Wiener regularisation of :func:`deblur_gaussian` (the gain is bounded by about 1 / (2 sqrt of it))
DEBLUR_REGULARIZATION = 0.05


def edge_blur_sigma_voxels(edge_deficit: float) -> float:
    """Return the Gaussian blur sigma (voxels) of a step edge with this edge deficit.

    The outer active layer of a step blurred by a Gaussian of sigma ``s`` lies, in the
    median, half a voxel inside the half-contrast surface, where the blurred step reads
    ``Phi(0.5 / s)`` of the contrast: ``deficit = 1 - Phi(0.5 / s)``.

    Parameters
    ----------
    edge_deficit : float
        Of :func:`~batteryct.segment.active_edge_deficit`, in (0, 0.5) (dimensionless).

    Returns
    -------
    float
        Blur sigma in voxels; NaN outside (0, 0.5).

    Examples
    --------
    >>> round(edge_blur_sigma_voxels(0.14), 3)
    0.463
    """
    d = float(edge_deficit)
    if not 0.0 < d < 0.5:
        return float("nan")
    return float(0.5 / ndtri(1.0 - d))


def excess_blur_sigma_voxels(edge_deficit: float, reference_deficit: float = REFERENCE_EDGE_DEFICIT) -> float:
    """Return the Gaussian sigma (voxels) that blurs a reference-sharp scan into this one.

    ``sqrt(s^2 - s_ref^2)`` with the sigmas of :func:`edge_blur_sigma_voxels`; 0 for a scan
    as sharp as the reference or sharper, or with an unknown deficit.

    Parameters
    ----------
    edge_deficit, reference_deficit : float
        Edge deficits of the scan and of the reference (dimensionless).

    Returns
    -------
    float
        Excess blur sigma in voxels (>= 0).

    Examples
    --------
    >>> excess_blur_sigma_voxels(0.12)
    0.0
    >>> round(excess_blur_sigma_voxels(0.25), 3)
    0.579
    """
    s = edge_blur_sigma_voxels(edge_deficit)
    s_ref = edge_blur_sigma_voxels(reference_deficit)
    if not np.isfinite(s) or s <= s_ref:
        return 0.0
    return float(np.sqrt(s * s - s_ref * s_ref))


def deblur_gaussian(
    volume: np.ndarray, sigma_voxels: float, regularization: float = DEBLUR_REGULARIZATION
) -> np.ndarray:
    """Remove an isotropic Gaussian blur by a Tikhonov-regularised (Wiener) inverse filter.

    Transfer function ``H(f) = exp(-2 pi^2 sigma^2 |f|^2)``; the filter is
    ``H / (H^2 + regularization * (1 - H^2))``: exact inversion at low frequencies, a gain
    bounded by about ``1 / (2 sqrt(regularization))`` where the blur has removed the signal.

    Parameters
    ----------
    volume : numpy.ndarray
        Volume ``(z, y, x)`` (any unit).
    sigma_voxels : float
        Blur sigma in voxels (0: the volume is returned as float32).
    regularization : float, optional
        Noise-to-signal power ratio of the Wiener filter (dimensionless, > 0).

    Returns
    -------
    numpy.ndarray of float32
        The deblurred volume (edges padded by reflection, so no wrap-around).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> rng = np.random.default_rng(0)
    >>> field = ndi.gaussian_filter(rng.normal(size=(32, 32, 32)), 2.0).astype(np.float32)
    >>> blurred = ndi.gaussian_filter(field, 1.0)
    >>> core = (slice(6, -6),) * 3
    >>> err_before = np.abs(blurred - field)[core].mean()
    >>> err_after = np.abs(deblur_gaussian(blurred, 1.0, 0.01) - field)[core].mean()
    >>> bool(err_after < err_before / 10)
    True
    """
    vol = np.asarray(volume, dtype=np.float32)
    if sigma_voxels <= 0:
        return vol.copy()
    if regularization <= 0:
        raise ValueError(f"regularization must be > 0, got {regularization}")
    pad = int(np.ceil(4 * sigma_voxels)) + 1
    padded = np.pad(vol, pad, mode="reflect")
    spec = sfft.rfftn(padded, workers=1)
    f2 = np.zeros(spec.shape, np.float32)
    for axis, n in enumerate(padded.shape):
        f = sfft.rfftfreq(n) if axis == padded.ndim - 1 else sfft.fftfreq(n)
        shape = [1] * padded.ndim
        shape[axis] = f.size
        f2 = f2 + (f.astype(np.float32) ** 2).reshape(shape)
    h = np.exp(np.float32(-2.0 * np.pi**2 * sigma_voxels**2) * f2)
    h2 = h * h
    spec *= h / (h2 + np.float32(regularization) * (1.0 - h2))
    out = sfft.irfftn(spec, s=padded.shape, workers=1)
    core = tuple(slice(pad, pad + n) for n in vol.shape)
    return np.ascontiguousarray(out[core], dtype=np.float32)
