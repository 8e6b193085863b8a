"""Grey levels of the phases.

Deterministic voxel subsamples, the Otsu threshold of powders, the pore and active peaks
and binder plateau level of electrodes, and ring-artifact offsets.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import threshold_multiotsu, threshold_otsu

__all__ = [
    "MIN_PEAK_SEPARATION",
    "sample_voxels",
    "threshold_otsu_roi",
    "estimate_phase_levels",
    "estimate_binder_level",
    "estimate_ring_profile",
]

#: Smallest separation of the pore and active peaks, Ashman's D = sqrt(2) |m1 - m2| /
#: sqrt(s1^2 + s2^2) (D > 2 is the usual criterion for a clean two-peak mixture; the
#: multi-Otsu split of a featureless volume finds two "peaks" just above it).
MIN_PEAK_SEPARATION = 4.0


def _sample_coords(
    shape: tuple[int, ...], roi: np.ndarray | None, max_samples: int, seed: int
) -> tuple[np.ndarray, ...] | None:
    """Coordinates of a deterministic random subsample of ROI voxels (None = all ROI voxels)."""
    n_total = int(np.prod(shape))
    if roi is not None and roi.shape != tuple(shape):
        raise ValueError(f"roi shape {roi.shape} differs from volume shape {tuple(shape)}")
    n_roi = n_total if roi is None else int(np.count_nonzero(roi))
    if n_roi == 0:
        raise ValueError("the ROI is empty")
    if n_roi <= max_samples:
        return None
    rng = np.random.default_rng(seed)
    # draw uniformly over the whole grid (no index list of the ROI is built, which
    # would cost 8 bytes per ROI voxel), keep the draws inside the ROI
    draw = int(min(n_total, np.ceil(max_samples * n_total / n_roi * 1.2) + 100))
    idx = np.sort(rng.choice(n_total, size=draw, replace=False))
    coords = np.unravel_index(idx, shape)
    if roi is not None:
        keep = roi[coords]
        coords = tuple(c[keep] for c in coords)
    n = coords[0].size
    if n > max_samples:
        keep = np.sort(np.random.default_rng(seed + 1).choice(n, size=max_samples, replace=False))
        coords = tuple(c[keep] for c in coords)
    return coords


def sample_voxels(
    volume: np.ndarray, roi: np.ndarray | None = None, max_samples: int = 200_000, seed: int = 0
) -> np.ndarray:
    """Return a deterministic random subsample of the voxel values inside ``roi``.

    All ROI voxels (in C order) when there are at most ``max_samples`` of them;
    otherwise a uniform random draw without replacement with ``numpy.random.default_rng(seed)``
    (indices sorted), which does not alias with periodic structures as strides would.

    Parameters
    ----------
    volume : numpy.ndarray
        Volume ``(z, y, x)`` (any unit).
    roi : numpy.ndarray of bool, optional
        Region of interest of the same shape; None: the whole volume.
    max_samples : int, optional
        Largest number of values returned.
    seed : int, optional
        Seed of the draw.

    Returns
    -------
    numpy.ndarray of float64
        1-D array of voxel values, in the unit of ``volume``.

    Raises
    ------
    ValueError
        If ``roi`` has another shape than ``volume`` or is empty.
    """
    coords = _sample_coords(volume.shape, roi, max_samples, seed)
    if coords is None:
        vals = volume.reshape(-1) if roi is None else volume[roi]
    else:
        vals = volume[coords]
    return np.asarray(vals, dtype=np.float64)


def threshold_otsu_roi(
    volume: np.ndarray, roi: np.ndarray | None = None, *, max_samples: int = 2_000_000, seed: int = 0, nbins: int = 1024
) -> float:
    """Compute the Otsu threshold of the voxel values inside ``roi`` (deterministic subsample).

    Parameters
    ----------
    volume : numpy.ndarray
        Volume ``(z, y, x)``, e.g. denoised attenuation in 1/µm.
    roi : numpy.ndarray of bool, optional
        Region of interest; None: the whole volume.
    max_samples, seed : int, optional
        Subsample of :func:`sample_voxels`.
    nbins : int, optional
        Histogram bins of :func:`skimage.filters.threshold_otsu`.

    Returns
    -------
    float
        Threshold, in the unit of ``volume``.
    """
    vals = sample_voxels(volume, roi, max_samples=max_samples, seed=seed)
    return float(threshold_otsu(vals, nbins=nbins))


def _histogram_peak(vals: np.ndarray, side: str, nbins: int = 256, smooth_bins: float = 2.0) -> tuple[float, float]:
    """Mode of ``vals`` (smoothed histogram) and its half-width measured on the outer side only.

    ``side="low"``: width from the values below the mode (a pore peak, whose upper side is
    contaminated by binder and partial-volume voxels); ``"high"``: from the values above it.
    The width is the RMS distance of those values from the mode (a half-normal estimate).
    """
    lo, hi = np.quantile(vals, [0.001, 0.999])
    if not hi > lo:
        return float(np.median(vals)), 0.0
    h, e = np.histogram(vals, bins=nbins, range=(lo, hi))
    h = ndi.gaussian_filter1d(h.astype(np.float64), smooth_bins, mode="constant")
    i = int(np.argmax(h))
    mode = 0.5 * (e[i] + e[i + 1])
    tail = vals[vals < mode] if side == "low" else vals[vals > mode]
    step = float(e[1] - e[0])
    width = float(np.sqrt(np.mean((tail - mode) ** 2))) if tail.size >= 10 else step
    return float(mode), max(width, step)


def estimate_phase_levels(
    volume: np.ndarray, roi: np.ndarray | None = None, *, max_samples: int = 200_000, seed: int = 0
) -> tuple[float, float, float, float, np.ndarray]:
    """Estimate the pore and active grey levels of an electrode volume and the widths of their peaks.

    Parameters
    ----------
    volume : numpy.ndarray
        Denoised volume ``(z, y, x)``, attenuation in 1/µm.
    roi : numpy.ndarray of bool, optional
        Region of interest; None: the whole volume.
    max_samples, seed : int, optional
        Subsample of :func:`sample_voxels`.

    Returns
    -------
    pore_level, pore_width, active_level, active_width : float
        Peak positions and outer half-widths, in the unit of ``volume``.
    multiotsu_thresholds : numpy.ndarray of float64
        The two multi-Otsu thresholds, same unit.

    Raises
    ------
    ValueError
        If the sampled values are all equal, the split leaves (almost) no pore or active
        voxels, or the two peaks are closer than :data:`MIN_PEAK_SEPARATION`.

    Notes
    -----
    A 3-class multi-Otsu split of a deterministic subsample of ROI voxels
    (:func:`sample_voxels`) separates a low, a middle and a high class; the pore level is
    the histogram mode of the low class and the active level the mode of the high class.
    Widths are measured on the outer side of each peak only (:func:`_histogram_peak`),
    so partial-volume and binder voxels between the peaks do not widen them.

    A Gaussian mixture is *not* used for these levels: in the electrodes the binder has
    no peak of its own (it is thin and partial-volumed with active), and a 3-class mixture
    fitted to all voxels models every partial-volume voxel as one broad middle class, or
    merges pore and binder. The peaks themselves are robust in both.
    """
    vals = sample_voxels(volume, roi, max_samples=max_samples, seed=seed)
    if not vals.size or not np.ptp(vals) > 0:
        raise ValueError("all sampled voxel values are equal; nothing to classify")
    t = threshold_multiotsu(vals, classes=3, nbins=256)
    low, high = vals[vals < t[0]], vals[vals > t[1]]
    if low.size < 10 or high.size < 10:
        raise ValueError("the multi-Otsu split left (almost) no pore or active voxels")
    mp, sp = _histogram_peak(low, "low")
    ma, sa = _histogram_peak(high, "high")
    separation = np.sqrt(2.0) * (ma - mp) / np.sqrt(sp * sp + sa * sa)
    if not separation >= MIN_PEAK_SEPARATION:
        raise ValueError(
            f"cannot separate the phases: the pore ({mp:.4g} ± {sp:.2g}) and active ({ma:.4g} ± {sa:.2g}) "
            f"grey levels are not distinct peaks (separation D = {separation:.2f} < {MIN_PEAK_SEPARATION}); "
            "a single-phase or featureless volume? Check the scan, or import an existing segmentation as 'labels'"
        )
    return mp, sp, ma, sa, np.asarray(t, dtype=np.float64)


def estimate_binder_level(
    volume: np.ndarray,
    roi: np.ndarray | None,
    pore_level: float,
    pore_width: float,
    active_level: float,
    active_width: float,
    *,
    k_values: tuple[float, ...] = (4.0, 3.0, 2.0),
    min_voxels: int = 30,
) -> tuple[float, float, int, float] | None:
    """Estimate the grey level of the binder from "plateau" voxels.

    A plateau voxel is one whose whole 3x3x3 neighbourhood lies strictly between the pore
    peak and the active peak (minimum above ``pore_level + k * pore_width``, maximum below
    ``active_level - k * active_width``): it is neither pore, active nor an edge between
    them, so it belongs to a third phase. Their median estimates the binder level although
    the binder has no histogram peak (it lies slightly above the true binder attenuation:
    partial volume with nearby active). ``k`` is relaxed along ``k_values`` until at least
    ``min_voxels`` plateau voxels are found.

    Parameters
    ----------
    volume : numpy.ndarray
        Denoised volume ``(z, y, x)``, attenuation in 1/µm.
    roi : numpy.ndarray of bool or None
        Region of interest; None: the whole volume.
    pore_level, pore_width, active_level, active_width : float
        Peaks of :func:`estimate_phase_levels`, in the unit of ``volume``.
    k_values : tuple of float, optional
        Criteria tried in turn, in peak widths.
    min_voxels : int, optional
        Plateau voxels needed.

    Returns
    -------
    tuple of (float, float, int, float) or None
        ``(level, width, n_voxels, k)``: median and 1.4826 * MAD of the plateau voxels (unit
        of ``volume``), their count and the criterion used; None if there are too few.
    """
    vol = np.asarray(volume, dtype=np.float32)
    mn = ndi.minimum_filter(vol, size=3, mode="nearest")
    mx = ndi.maximum_filter(vol, size=3, mode="nearest")
    for k in k_values:
        lo = pore_level + k * pore_width
        hi = active_level - k * active_width
        if not hi > lo:
            continue
        m = (mn > lo) & (mx < hi)
        if roi is not None:
            m &= roi
        n = int(np.count_nonzero(m))
        if n >= min_voxels:
            v = vol[m].astype(np.float64)
            med = float(np.median(v))
            return med, float(1.4826 * np.median(np.abs(v - med))), n, float(k)
    return None


def estimate_ring_profile(
    volume: np.ndarray, mask: np.ndarray, *, bin_px: float = 0.5, min_count: int = 50
) -> np.ndarray:
    """Estimate the ring-artifact offset image: per-radius median of ``volume`` over ``mask`` voxels.

    Rings (miscalibrated detector columns, ring filter off) are offsets constant along z
    on circles about the rotation axis, which is the grid centre ``((ny-1)/2, (nx-1)/2)``
    in this package. Pass as ``mask`` voxels that should all be pore (e.g. far from any
    solid); the offset of a radial bin of width ``bin_px`` is the median of its voxels
    minus the median of all ``mask`` voxels (0 for bins with fewer than ``min_count``
    voxels), so only radial variations are removed and the pore level is unchanged.
    Subtracting the returned image from every slice removes the rings from all phases
    (the offset is additive in attenuation).

    Parameters
    ----------
    volume : numpy.ndarray
        Volume ``(z, y, x)``, attenuation in 1/µm.
    mask : numpy.ndarray of bool
        Voxels that should all be pore, same shape.
    bin_px : float, optional
        Width of the radial bins, in voxels.
    min_count : int, optional
        Fewest voxels for a bin to get an offset.

    Returns
    -------
    numpy.ndarray of float32
        Offset image ``(ny, nx)``, in the unit of ``volume``.
    """
    nz, ny, nx = volume.shape
    yy, xx = np.mgrid[:ny, :nx]
    r = np.sqrt((yy - (ny - 1) / 2.0) ** 2 + (xx - (nx - 1) / 2.0) ** 2)
    b = np.floor(r / bin_px).astype(np.int64)
    nb = int(b.max()) + 1
    bins = np.broadcast_to(b, volume.shape)[mask]
    vals = np.asarray(volume, dtype=np.float32)[mask]
    order = np.argsort(bins, kind="stable")
    bins, vals = bins[order], vals[order]
    starts = np.searchsorted(bins, np.arange(nb), side="left")
    ends = np.searchsorted(bins, np.arange(nb), side="right")
    prof = np.zeros(nb, np.float32)
    if vals.size == 0:
        return prof[b]
    level = np.float32(np.median(vals))
    for i in range(nb):
        if ends[i] - starts[i] >= min_count:
            prof[i] = np.median(vals[starts[i] : ends[i]]) - level
    return prof[b]
