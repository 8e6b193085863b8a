"""Tomographic reconstruction: normalisation, artefact removal, centre finding and FBP.

Everything here follows the conventions of :mod:`batteryct` (see ``__init__``):
projections ``(n_projections, n_rows, n_columns)``, volumes ``(z, y, x)`` with one
slice per detector row, angles in radians, and the parallel-beam geometry

    u = x * cos(theta) + y * sin(theta) + center_px

where ``(x, y)`` are in-slice voxel-centre coordinates in pixels measured from the grid
centre ``(n - 1) / 2`` (``x`` along the last axis, ``y`` along the middle axis) and
``u`` is the detector column (pixel centres at integers).

Pipeline (:func:`reconstruct`)
------------------------------
1. :func:`remove_zingers` on the raw projection counts (optional);
2. :func:`flat_dark_normalize`: median flat / dark, ``-log`` with a guarded minimum
   transmission;
3. :func:`remove_rings_sorting`: Vo's sorting-based stripe removal (optional);
4. :func:`find_center`: Vo's Fourier double-wedge method (chosen) cross-checked by
   phase correlation of opposite projections;
5. :func:`fbp`: filtered back-projection with a numba back-projector whose output is
   independent of the number of threads (byte for byte).

References
----------
* A. C. Kak, M. Slaney, *Principles of Computerized Tomographic Imaging*, IEEE Press
  1988, ch. 3, eqs. (61)-(63) (discrete ramp filter).
* N. T. Vo, M. Drakopoulos, R. C. Atwood, C. Reinhard, "Reliable method for
  calculating the center of rotation in parallel-beam tomography", Opt. Express 22,
  19078 (2014).
* N. T. Vo, R. C. Atwood, M. Drakopoulos, "Superior techniques for eliminating ring
  artifacts in X-ray micro-tomography", Opt. Express 26, 28396 (2018).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.fft
from numba import njit, prange
from scipy import ndimage as ndi

__all__ = [
    "FILTER_NAMES",
    "angular_weights_rad",
    "fbp",
    "find_center",
    "find_center_phase_correlation",
    "find_center_phase_correlation_pair",
    "find_center_vo",
    "flat_dark_normalize",
    "ramp_filter_response",
    "reconstruct",
    "remove_rings_sorting",
    "remove_zingers",
]

FILTER_NAMES = ("ramp", "shepp-logan", "hann")

# Fixed-point format of the detector coordinate inside the back-projector: ``u`` is
# carried as an int64 holding ``u * 2**32``; the integer part indexes the detector and
# the low 32 bits are the interpolation fraction. Stepping along x adds the rounded
# ``cos(theta) * 2**32`` (error < 2**-33 px per pixel), so the inner loop has no
# float -> int conversion; the arithmetic is the same on every thread.
_FRAC_BITS = 32
_FRAC_SCALE = float(2**_FRAC_BITS)
_FRAC_MASK = (1 << _FRAC_BITS) - 1
# Guard columns on each side of the filtered sinogram (edge values) so that rounding
# at the rim of the reconstructable disk can never index outside the detector.
_GUARD = 2
# Largest filtered-sinogram table kept in memory at once (bytes); fbp works in chunks
# of slices below this size.
_CHUNK_BYTES = 256 * 2**20


# ----------------------------------------------------------------------------------
# Normalisation and artefact removal
# ----------------------------------------------------------------------------------


def flat_dark_normalize(
    projections: np.ndarray,
    flats: np.ndarray,
    darks: np.ndarray,
    min_transmission: float = 1e-3,
) -> tuple[np.ndarray, int]:
    """Flat/dark correction and guarded ``-log``: counts to line integrals.

    ``T = (p - d) / (f - d)`` with ``f`` and ``d`` the pixel-wise *medians* of the
    flats and darks (a median makes zingers in the references harmless), then
    ``-log(T)``.

    Parameters
    ----------
    projections : ndarray, (n_projections, n_rows, n_columns)
        Raw projection counts.
    flats, darks : ndarray, (n_flats, n_rows, n_columns), (n_darks, n_rows, n_columns)
        Open-beam and dark reference counts.
    min_transmission : float, optional
        Smallest transmission kept (dimensionless, > 0). Transmissions below it, non-
        positive or not finite are set to it (the line integral is then
        ``-log(min_transmission)``, 6.9 for the default 1e-3). Pixels where
        ``f - d <= 0`` (dead pixels) get ``min_transmission`` too.

    Returns
    -------
    line_integrals : ndarray, float32, (n_projections, n_rows, n_columns)
        ``-log(T)``, dimensionless.
    n_clipped : int
        Number of projection values set to ``min_transmission``, i.e. clipped
        transmissions plus (dead pixels x n_projections).
    """
    if not (min_transmission > 0):
        raise ValueError(f"min_transmission must be > 0, got {min_transmission}")
    projections = np.asarray(projections)
    if projections.ndim != 3:
        raise ValueError(f"projections must be 3-D, got shape {projections.shape}")
    flat = np.median(np.asarray(flats, dtype=np.float32), axis=0)
    dark = np.median(np.asarray(darks, dtype=np.float32), axis=0)
    if flat.shape != projections.shape[1:] or dark.shape != projections.shape[1:]:
        raise ValueError(
            f"flats {flat.shape} / darks {dark.shape} do not match projection frames {projections.shape[1:]}"
        )
    denom = flat - dark
    dead = ~(denom > 0)
    inv_denom = np.where(dead, np.float32(0), np.float32(1) / np.where(dead, 1, denom)).astype(np.float32)
    t_min = np.float32(min_transmission)
    out = np.empty(projections.shape, dtype=np.float32)
    n_clipped = 0
    for i in range(projections.shape[0]):  # frame by frame: bounded temporary memory
        t = (projections[i].astype(np.float32) - dark) * inv_denom
        low = ~(t >= t_min)  # also catches NaN
        low |= dead
        n_clipped += int(np.count_nonzero(low))
        t[low] = t_min
        np.log(t, out=out[i])
        np.negative(out[i], out=out[i])
    return out, n_clipped


def remove_zingers(projections: np.ndarray, threshold: float = 0.3, size: int = 3) -> tuple[np.ndarray, int]:
    """Replace zingers (isolated bright outliers) by the local median.

    Each frame is median filtered with a ``size x size`` window; a pixel with
    ``value > median * (1 + threshold)`` is replaced by the median. Works on counts
    (raw or dark-subtracted), not on line integrals. A clean projection at ~1e4 counts
    (Poisson std 1 %) is never touched at the default threshold; at very low counts
    (< ~100, where the Poisson noise approaches ``threshold``) noise peaks are
    replaced too, which is harmless (they are replaced by the local median).

    Parameters
    ----------
    projections : ndarray, (n_projections, n_rows, n_columns)
        Counts.
    threshold : float, optional
        Relative excess over the local median that marks a zinger (0.3 = 30 %).
    size : int, optional
        Median window width in pixels (odd, >= 3).

    Returns
    -------
    cleaned : ndarray, float32, same shape
        Copy with zingers replaced.
    n_replaced : int
        Number of replaced pixels.
    """
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    if size < 3:
        raise ValueError(f"size must be >= 3, got {size}")
    projections = np.asarray(projections)
    if projections.ndim != 3:
        raise ValueError(f"projections must be 3-D, got shape {projections.shape}")
    cleaned = np.array(projections, dtype=np.float32, copy=True)
    factor = np.float32(1.0 + threshold)
    n_replaced = 0
    for i in range(cleaned.shape[0]):
        frame = cleaned[i]
        med = ndi.median_filter(frame, size=size, mode="reflect")
        bad = frame > med * factor
        n_replaced += int(np.count_nonzero(bad))
        frame[bad] = med[bad]
    return cleaned, n_replaced


def remove_rings_sorting(line_integrals: np.ndarray, size: int = 21) -> np.ndarray:
    """Vo's sorting-based stripe (ring) removal on all sinograms at once.

    For each sinogram (``n_projections x n_columns``, one per detector row) every
    detector column is sorted along the angle axis; in the sorted domain a stripe is a
    column offset from its neighbours and a median filter of width ``size`` across
    columns removes it; values are then put back in their original angular order
    (Vo, Atwood, Drakopoulos 2018, algorithm 3; algotom ``remove_stripe_based_sorting``
    with ``dim=1``, which this reproduces up to the order of tied values). All rows of
    a block of detector rows are processed by single numpy/scipy calls.

    The method assumes that neighbouring detector columns see statistically similar
    values over the scan, i.e. that the sample's features are large compared with the
    window and the detector is much wider than it; where that fails the median alters
    real data. Measured on the analytic 6-ellipse phantom of the tests (128-px
    detector, 141 angles, no noise), the reconstruction NRMSE goes from 1.34 % without
    the filter to 1.46 / 1.82 / 3.02 / 4.94 % with ``size`` = 3 / 5 / 11 / 21; on the
    same phantom scaled to a 512-px detector (301 angles, 1e4-count Poisson noise)
    ``size=11`` changes the NRMSE by +2.4 % (relative) and removes 0.1 stripes 9.6- to
    22-fold. Use a window small compared with the detector width and the features.

    Parameters
    ----------
    line_integrals : ndarray, (n_projections, n_rows, n_columns)
        Line integrals (dimensionless).
    size : int, optional
        Median window across detector columns, in pixels. 0 or 1 returns a copy.

    Returns
    -------
    ndarray, float32, same shape
        Stripe-corrected line integrals.
    """
    data = np.asarray(line_integrals, dtype=np.float32)
    if data.ndim != 3:
        raise ValueError(f"line_integrals must be 3-D, got shape {data.shape}")
    if size <= 1:
        return data.copy()
    out = np.empty_like(data)
    n_proj, n_rows, n_cols = data.shape
    rows_per_block = max(1, min(n_rows, _CHUNK_BYTES // (16 * n_proj * n_cols)))
    for r0 in range(0, n_rows, rows_per_block):
        block = data[:, r0 : r0 + rows_per_block]
        order = np.argsort(block, axis=0, kind="stable")
        sorted_vals = np.take_along_axis(block, order, axis=0)
        sorted_vals = ndi.median_filter(sorted_vals, size=(1, 1, int(size)), mode="reflect")
        restored = np.empty_like(block)
        np.put_along_axis(restored, order, sorted_vals, axis=0)
        out[:, r0 : r0 + rows_per_block] = restored
    return out


def remove_rings_profile(
    line_integrals: np.ndarray, size: int = 5, snr: float = 3.0, trim_fraction: float = 0.1
) -> tuple[np.ndarray, int]:
    """Remove full stripes (rings) found in the angle-averaged sinogram; the default.

    A detector pixel whose gain drifted after the flats adds the same offset to its
    line integral at every angle. For each detector row the values of every column are
    sorted along the angle axis and the middle ``1 - trim_fraction`` averaged (sorting
    rejects zingers and partial outliers, as in Vo et al. 2018); that profile is the
    projection of the rotationally averaged sample, smooth across columns, so a median
    across ``size`` columns predicts it. Columns deviating from it by more than ``snr``
    robust standard deviations (MAD of the row's deviations) are stripes, and only those
    get the deviation subtracted (Rivers 1998; Vo et al. 2018, algorithm 5 on
    log data). Unlike :func:`remove_rings_sorting`, untouched columns stay exact.

    Measured on the demo powder and calendered electrode (128-px detector, 141 angles,
    four planted gain offsets of 0.04-0.07): 95 % of the defect pixels found; the ring
    RMS against the defect-free reconstruction went from 0.00093 to 0.00056 /um on the
    powder (0.00092 → 0.00085 on the electrode) and the NRMSE improved slightly, while
    Vo's sorting filter with a window of 5 raised the NRMSE (0.055 → 0.060).

    Returns
    -------
    corrected : ndarray, float32
    n_corrected : int
        Number of (row, column) detector pixels corrected.
    """
    data = np.asarray(line_integrals, dtype=np.float32)
    if data.ndim != 3:
        raise ValueError(f"line_integrals must be 3-D, got shape {data.shape}")
    n = data.shape[0]
    drop = int(0.5 * trim_fraction * n)
    profile = np.sort(data, axis=0)[drop : n - drop].mean(axis=0, dtype=np.float64)
    deviation = profile - ndi.median_filter(profile, size=(1, int(size)), mode="nearest")
    centred = deviation - np.median(deviation, axis=1, keepdims=True)
    sigma = 1.4826 * np.median(np.abs(centred), axis=1, keepdims=True)
    stripes = np.abs(centred) > snr * np.maximum(sigma, 1e-9)
    out = data - (deviation * stripes).astype(np.float32)[None]
    return out, int(np.count_nonzero(stripes))


# ----------------------------------------------------------------------------------
# Centre of rotation
# ----------------------------------------------------------------------------------


def _sinogram_180(sinogram2d: np.ndarray, theta_rad: np.ndarray) -> np.ndarray:
    """Rows of a sinogram covering [theta0, theta0 + pi), sorted by angle.

    Accepts a span of 180 deg (+ one step, e.g. -90..+90 inclusive: the last row,
    equal to the first one mirrored, is dropped) or more (only the first 180 deg are
    kept). Raises ``ValueError`` when less than 180 deg - 1.5 steps is covered.
    """
    theta = np.asarray(theta_rad, dtype=np.float64)
    order = np.argsort(theta, kind="stable")
    theta = theta[order]
    sino = np.asarray(sinogram2d, dtype=np.float32)[order]
    if theta.size < 8:
        raise ValueError(f"need at least 8 angles, got {theta.size}")
    step = float(np.median(np.diff(theta)))
    if not step > 0:
        raise ValueError("angles must not all be equal")
    span = theta[-1] - theta[0]
    if span < math.pi - 1.5 * step:
        raise ValueError(f"Vo's method needs a 180 deg sinogram; angles span only {math.degrees(span):.2f} deg")
    keep = theta < theta[0] + math.pi - 0.5 * step
    return sino[keep]


def _double_wedge_mask(height: int, width: int, radius_px: float, hor_drop: int | None = None) -> np.ndarray:
    """Binary mask selecting the Fourier region *outside* the double wedge (Vo 2014, eq. 3).

    Same construction as algotom ``make_inverse_double_wedge_mask`` (``ver_drop = 1``).
    """
    du = 1.0 / width
    dv = (height - 1.0) / (height * 2.0 * np.pi)
    ndrop = min(20, int(0.05 * height)) if hor_drop is None else int(np.clip(hor_drop, 1, height // 3))
    ycenter = int(np.ceil((height - 1) / 2.0))
    xcenter = int(np.ceil((width - 1) / 2.0))
    mask = np.zeros((height, width), dtype=np.float32)
    for i in range(height):
        num = int(np.ceil(((i - ycenter) * dv / radius_px) / du))
        p1, p2 = np.clip(np.sort((-num + xcenter, num + xcenter)), 0, width - 1)
        mask[i, p1 : p2 + 1] = 1.0
    mask[ycenter - ndrop : ycenter + ndrop + 1, :] = 0.0
    mask[:, xcenter - 1 : xcenter + 2] = 0.0
    return mask


def _vo_metric(
    center_px: float, sino: np.ndarray, sino_flip: np.ndarray, sino_comp: np.ndarray, weight: np.ndarray
) -> float:
    """Weighted Fourier magnitude outside the double wedge of the 360 deg sinogram
    built from ``sino`` and its mirror shifted for a trial centre.
    """
    ncol = sino.shape[1]
    shift_col = 2.0 * (center_px - (ncol - 1.0) / 2.0)
    if shift_col == math.floor(shift_col):
        s = int(shift_col)
        shifted = np.roll(sino_flip, s, axis=1)
        if s >= 0:
            shifted[:, :s] = sino_comp[:, :s]
        else:
            shifted[:, s:] = sino_comp[:, s:]
    else:
        shifted = ndi.shift(sino_flip, (0, shift_col), order=3, prefilter=True)
        if shift_col >= 0:
            s = int(math.ceil(shift_col))
            shifted[:, :s] = sino_comp[:, :s]
        else:
            s = int(math.floor(shift_col))
            shifted[:, s:] = sino_comp[:, s:]
    mat = np.vstack((sino, shifted))
    return float(np.mean(np.abs(np.fft.fftshift(scipy.fft.fft2(mat))) * weight))


def _angular_smoothing_weights(height: int, sigma_rows: float) -> np.ndarray:
    """Transfer function (fftshifted, column vector) of a Gaussian of ``sigma_rows``
    along the angle axis of a periodic 360 deg sinogram of ``height`` rows.
    """
    freq = np.fft.fftshift(np.fft.fftfreq(height))  # cycles / row
    return np.exp(-2.0 * (np.pi * sigma_rows * freq) ** 2)[:, None].astype(np.float32)


def find_center_vo(
    sinogram2d: np.ndarray,
    theta_rad: np.ndarray,
    search_radius_px: float | None = None,
    fine_radius_px: float = 1.0,
    fine_step_px: float = 0.05,
    ratio: float = 0.5,
) -> float:
    """Centre of rotation from one sinogram by Vo's Fourier double-wedge method.

    The 180 deg sinogram and its left-right mirror, shifted for a trial centre, are
    stacked into a 360 deg sinogram; at the true centre its 2-D Fourier transform has
    (almost) no energy outside a double wedge (Vo et al. 2014; algotom
    ``find_center_vo``). A coarse search over integer centres is followed by a fine
    search with ``fine_step_px`` steps (cubic-spline shifts) and a parabola through the
    three best fine points. As in algotom the sinogram is denoised by a Gaussian of
    sigma (3, 1) px (coarse) and (2, 2) px (fine) along (angle, column), but the
    angular part is applied as a weight in the Fourier domain, i.e. *periodically* on
    the 360 deg sinogram: smoothing the 180 deg sinogram along the angle with
    reflecting ends (algotom) biases the centre by ~0.13 px with 140 angles over
    180 deg (measured on an analytic phantom). The fine step is 0.05 px (algotom
    0.25 px).

    Parameters
    ----------
    sinogram2d : ndarray, (n_projections, n_columns)
        Line integrals of one detector row.
    theta_rad : ndarray, (n_projections,)
        Angles in radians; must span 180 deg (a 180 deg + one step span such as
        -90..+90 deg inclusive, or more, is handled; angles are assumed about evenly
        spaced).
    search_radius_px : float, optional
        Coarse search over ``n_columns / 2 +- search_radius_px``; default
        ``max(8, n_columns / 8)``.
    fine_radius_px : float, optional
        Half-width of the fine search around the coarse minimum, in pixels.
    fine_step_px : float, optional
        Step of the fine search, in pixels.
    ratio : float, optional
        Expected object width as a fraction of the detector width (sets the wedge).

    Returns
    -------
    float
        ``center_px``, detector column of the rotation axis (pixel centres at integers).
    """
    sino = _sinogram_180(sinogram2d, theta_rad)
    nrow, ncol = sino.shape
    if search_radius_px is None:
        search_radius_px = max(8.0, ncol / 8.0)
    mask = _double_wedge_mask(2 * nrow, ncol, 0.5 * ratio * ncol)

    # Coarse search: integer centres.
    coarse = ndi.gaussian_filter1d(sino, 1.0, axis=1, mode="reflect")
    weight = mask * _angular_smoothing_weights(2 * nrow, 3.0)
    c_flip, c_comp = np.fliplr(coarse), np.flipud(coarse)
    start = int(np.clip(math.floor(ncol / 2 - search_radius_px), 1, ncol - 2))
    stop = int(np.clip(math.ceil(ncol / 2 + search_radius_px), 1, ncol - 2))
    cands = np.arange(start, stop + 1, dtype=np.float64)
    metric = np.array([_vo_metric(c, coarse, c_flip, c_comp, weight) for c in cands])
    i_min = int(np.argmin(metric))
    if i_min in (0, cands.size - 1):
        warnings.warn(
            f"find_center_vo: minimum at the edge of the search range [{start}, {stop}] px; widen search_radius_px",
            stacklevel=2,
        )
    c0 = cands[i_min]

    # Fine search: sub-pixel centres, then a parabola through the best three.
    fine = ndi.gaussian_filter1d(sino, 2.0, axis=1, mode="reflect")
    weight = mask * _angular_smoothing_weights(2 * nrow, 2.0)
    f_flip, f_comp = np.fliplr(fine), np.flipud(fine)
    n_half = int(round(fine_radius_px / fine_step_px))
    cands = np.clip(c0 + fine_step_px * np.arange(-n_half, n_half + 1), 0.0, ncol - 1.0)
    metric = np.array([_vo_metric(c, fine, f_flip, f_comp, weight) for c in cands])
    i_min = int(np.argmin(metric))
    best = float(cands[i_min])
    if 0 < i_min < cands.size - 1:
        m0, m1, m2 = metric[i_min - 1 : i_min + 2]
        curv = m0 - 2.0 * m1 + m2
        if curv > 0:
            best += fine_step_px * 0.5 * (m0 - m2) / curv
    return best


def find_center_phase_correlation(
    proj_a: np.ndarray,
    proj_b: np.ndarray,
    upsample_factor: int = 200,
    normalization: str | None = None,
) -> float:
    """Centre of rotation from two opposite projections (theta and theta + 180 deg).

    In this geometry ``p(theta + pi, u) = p(theta, 2 * center_px - u)``: the projection
    at theta + 180 deg, flipped left-right, is the projection at theta shifted by
    ``n_columns - 1 - 2 * center_px`` columns. That shift is measured to
    1 / ``upsample_factor`` px by the upsampled-DFT correlation of
    :func:`skimage.registration.phase_cross_correlation`.

    By default the cross-power spectrum is *not* whitened (``normalization=None``):
    with the whitening of classical phase correlation ("phase") the noise of the
    high frequencies dominates on noisy line integrals (measured on the analytic
    test phantom at 1e4 counts: centre errors of several px with "phase" on 2-D
    projections, < 0.02 px without).

    Parameters
    ----------
    proj_a, proj_b : ndarray, (n_rows, n_columns) or (n_columns,)
        Line integrals at theta and at theta + 180 deg (``proj_b`` *not* flipped).
    upsample_factor : int, optional
        The shift (twice the centre offset) is found to 1 / upsample_factor px.
    normalization : {None, "phase"}, optional
        Passed to ``phase_cross_correlation``.

    Returns
    -------
    float
        ``center_px``.
    """
    from skimage.registration import phase_cross_correlation

    a = np.atleast_2d(np.asarray(proj_a, dtype=np.float64))
    b = np.atleast_2d(np.asarray(proj_b, dtype=np.float64))
    if a.shape != b.shape:
        raise ValueError(f"projections have different shapes {a.shape} and {b.shape}")
    b_flip = b[:, ::-1]
    # Remove the mean so that the DC term does not dominate the correlation.
    a = a - a.mean()
    b_flip = b_flip - b_flip.mean()
    if a.shape[0] == 1:
        shift, _, _ = phase_cross_correlation(
            a[0], b_flip[0], upsample_factor=upsample_factor, normalization=normalization
        )
        shift_col = float(shift[0])
    else:
        shift, _, _ = phase_cross_correlation(a, b_flip, upsample_factor=upsample_factor, normalization=normalization)
        shift_col = float(shift[1])
    # b_flip(j) = p(theta, 2c - (N - 1) + j); b_flip shifted by shift_col (what
    # phase_cross_correlation returns) equals a(j) = p(theta, j), hence
    # 2c - (N - 1) - shift_col = 0.
    return 0.5 * (a.shape[1] - 1 + shift_col)


def _opposite_pair(theta_rad: np.ndarray) -> tuple[int, int, float]:
    """Indices ``(i, j)`` of the two angles closest to 180 deg apart, and the error (rad)."""
    theta = np.asarray(theta_rad, dtype=np.float64)
    diff = np.abs(np.abs(theta[None, :] - theta[:, None]) - math.pi)
    k = int(np.argmin(diff))
    i, j = divmod(k, theta.size)
    if theta[i] > theta[j]:
        i, j = j, i
    return i, j, float(diff.flat[k])


def find_center_phase_correlation_pair(
    line_integrals: np.ndarray, theta_rad: np.ndarray, rows: np.ndarray | None = None
) -> tuple[float, tuple[int, int], float]:
    """Pick the two projections closest to 180 deg apart and phase-correlate them.

    Parameters
    ----------
    line_integrals : ndarray, (n_projections, n_rows, n_columns)
    theta_rad : ndarray, (n_projections,)
    rows : array of int, optional
        Detector rows used (all by default).

    Returns
    -------
    center_px : float
        NaN when no pair is within half an angular step of 180 deg.
    pair : (int, int)
        Indices of the projections used.
    pair_error_deg : float
        Deviation of the pair from exactly 180 deg, in degrees.
    """
    theta = np.asarray(theta_rad, dtype=np.float64)
    i, j, err = _opposite_pair(theta)
    step = float(np.median(np.diff(np.sort(theta)))) if theta.size > 1 else math.inf
    if err > 0.5 * step:
        return math.nan, (i, j), math.degrees(err)
    sel = slice(None) if rows is None else np.asarray(rows)
    center = find_center_phase_correlation(line_integrals[i][sel], line_integrals[j][sel])
    return center, (i, j), math.degrees(err)


def _default_center_rows(n_rows: int, n_use: int = 5) -> np.ndarray:
    """``n_use`` rows evenly spread between 20 % and 80 % of the detector height."""
    if n_rows <= n_use:
        return np.arange(n_rows)
    return np.unique(np.round(np.linspace(0.2, 0.8, n_use) * (n_rows - 1)).astype(int))


def find_center(
    line_integrals: np.ndarray,
    theta_rad: np.ndarray,
    rows: np.ndarray | None = None,
    tolerance_px: float = 0.5,
) -> dict:
    """Centre of rotation by two independent methods, with a consistency check.

    The **chosen** value is the median over ``rows`` of Vo's estimates
    (:func:`find_center_vo`): it uses every angle of the scan, is insensitive to
    the absence of an exact 180 deg pair or to drift between the first and last
    projection, and the median is robust to a row without structure. The phase
    correlation of the two opposite projections (all detector rows) is an independent
    check; when the two differ by more than ``tolerance_px`` the ``warning`` says so.

    Parameters
    ----------
    line_integrals : ndarray, (n_projections, n_rows, n_columns)
    theta_rad : ndarray, (n_projections,)
        Must span 180 deg (see :func:`find_center_vo`).
    rows : array of int, optional
        Detector rows for Vo's method; default 5 rows between 20 % and 80 % of the
        height.
    tolerance_px : float, optional
        Largest accepted difference between the two estimates, in pixels.

    Returns
    -------
    dict
        ``center_px`` (chosen, float), ``method`` ("vo"), ``center_vo_px`` (median),
        ``center_vo_rows_px`` (list, one per row), ``rows`` (list),
        ``center_phase_correlation_px`` (NaN if no opposite pair),
        ``phase_correlation_pair`` (indices), ``difference_px``
        (phase correlation - Vo) and ``warning`` (empty string when they agree).
    """
    data = np.asarray(line_integrals)
    if data.ndim != 3:
        raise ValueError(f"line_integrals must be 3-D, got shape {data.shape}")
    rows = _default_center_rows(data.shape[1]) if rows is None else np.atleast_1d(np.asarray(rows, dtype=int))
    vo_rows = [find_center_vo(data[:, r, :], theta_rad) for r in rows]
    center_vo = float(np.median(vo_rows))
    center_pc, pair, pair_err_deg = find_center_phase_correlation_pair(data, theta_rad)
    diff = center_pc - center_vo
    warning = ""
    if not math.isfinite(center_pc):
        warning = (
            f"no projection pair 180 deg apart (closest pair off by {pair_err_deg:.3f} deg): "
            "phase-correlation check not possible"
        )
    elif abs(diff) > tolerance_px:
        warning = (
            f"centre estimates disagree: Vo {center_vo:.2f} px, phase correlation "
            f"{center_pc:.2f} px (difference {diff:+.2f} px > {tolerance_px} px); check the "
            "reconstruction or give center_px"
        )
    return {
        "center_px": center_vo,
        "method": "vo",
        "center_vo_px": center_vo,
        "center_vo_rows_px": [float(v) for v in vo_rows],
        "rows": [int(r) for r in rows],
        "center_phase_correlation_px": float(center_pc),
        "phase_correlation_pair": (int(pair[0]), int(pair[1])),
        "difference_px": float(diff),
        "warning": warning,
    }


# ----------------------------------------------------------------------------------
# Filtered back-projection
# ----------------------------------------------------------------------------------


def angular_weights_rad(theta_rad: np.ndarray) -> np.ndarray:
    """Quadrature weight of each projection angle for the back-projection, in radians.

    Angles are taken modulo pi (a projection at theta + pi is the mirror of the one at
    theta) and each gets half the distance to its two neighbours on that pi-periodic
    circle. The weights sum to pi. For ``n`` equally spaced angles over [0, pi) every
    weight is ``pi / n``; for a 180 deg + one step span (e.g. -90..+90 deg inclusive)
    the two end angles, which see the same lines, get half a step each; a 360 deg scan
    averages its two half-scans.

    Parameters
    ----------
    theta_rad : ndarray, (n_projections,)

    Returns
    -------
    ndarray, float64, (n_projections,)
    """
    theta = np.asarray(theta_rad, dtype=np.float64)
    n = theta.size
    if n == 0:
        raise ValueError("no angles")
    if n == 1:
        return np.array([math.pi])
    folded = np.mod(theta, math.pi)
    order = np.argsort(folded, kind="stable")
    f = folded[order]
    gaps = np.empty(n)
    gaps[:-1] = np.diff(f)
    gaps[-1] = f[0] + math.pi - f[-1]
    w_sorted = 0.5 * (gaps + np.roll(gaps, 1))
    positive = gaps[gaps > 1e-12]
    if positive.size and gaps.max() > 5.0 * np.median(positive):
        warnings.warn(
            f"angles leave a gap of {math.degrees(gaps.max()):.2f} deg in the 180 deg range "
            "(limited-angle data): the reconstruction will have artefacts",
            stacklevel=2,
        )
    w = np.empty(n)
    w[order] = w_sorted
    return w


def _padded_length(n_columns: int) -> int:
    """FFT length: 2 x the next power of two >= n_columns (>= 64)."""
    return max(64, 2 * (1 << max(0, int(n_columns - 1).bit_length())))


def ramp_filter_response(n_padded: int, filter_name: str = "ramp") -> np.ndarray:
    """Real frequency response (``rfft`` layout) of the discrete ramp filter.

    The spatial-domain ramp of Kak & Slaney (eq. 61): ``h[0] = 1/4``,
    ``h[k] = -1 / (pi k)**2`` for odd ``k``, 0 for even ``k`` (sample spacing 1 px),
    transformed with the FFT. Unlike a sampled ``|f|`` it has the correct small
    non-zero DC value, so no DC offset / cupping. Optional apodisation:
    ``shepp-logan`` multiplies by ``sinc(f)``, ``hann`` by ``(1 + cos(2 pi f)) / 2``
    (``f`` in cycles/px, zero at Nyquist).

    Parameters
    ----------
    n_padded : int
        FFT length (even).
    filter_name : {"ramp", "shepp-logan", "hann"}

    Returns
    -------
    ndarray, float64, (n_padded // 2 + 1,)
        Response per pixel: filtered = irfft(rfft(p) * response).
    """
    if filter_name not in FILTER_NAMES:
        raise ValueError(f"filter_name must be one of {FILTER_NAMES}, got {filter_name!r}")
    k = np.arange(n_padded)
    k = np.minimum(k, n_padded - k)  # circular distance
    h = np.zeros(n_padded)
    h[0] = 0.25
    odd = k % 2 == 1
    h[odd] = -1.0 / (np.pi * k[odd]) ** 2
    response = np.fft.rfft(h).real
    freq = np.fft.rfftfreq(n_padded)  # cycles / px, 0 .. 0.5
    if filter_name == "shepp-logan":
        response *= np.sinc(freq)
    elif filter_name == "hann":
        response *= 0.5 * (1.0 + np.cos(2.0 * np.pi * freq))
    return response


@njit(parallel=True, cache=True, fastmath=False)
def _fill_padded(line_integrals, z0, z1, pad_left, edge, buf):  # pragma: no cover - numba
    """buf[z, a, :] = row z0 + z of projection a, padded (zeros or edge values)."""
    na, _, ncol = line_integrals.shape
    nz = z1 - z0
    n_pad = buf.shape[2]
    for task in prange(nz * na):
        z = task // na
        a = task - z * na
        src = line_integrals[a, z0 + z]
        dst = buf[z, a]
        left = src[0] if edge else np.float32(0.0)
        right = src[ncol - 1] if edge else np.float32(0.0)
        for k in range(pad_left):
            dst[k] = left
        for k in range(ncol):
            dst[pad_left + k] = src[k]
        for k in range(pad_left + ncol, n_pad):
            dst[k] = right


@njit(parallel=True, cache=True, fastmath=False)
def _make_table(filtered, pad_left, ncol, weights, table):  # pragma: no cover - numba
    """Interpolation table of the weighted filtered sinograms.

    ``table[z, a, j] = (v[j], (v[j + 1] - v[j]) / 2**32)`` for ``j`` over the detector
    plus ``_GUARD`` edge-valued guard columns on each side, ``v = weight_a * filtered``.
    """
    nz, na, _ = filtered.shape
    n_ext = table.shape[2]
    inv_scale = np.float32(1.0 / _FRAC_SCALE)
    for task in prange(nz * na):
        z = task // na
        a = task - z * na
        src = filtered[z, a, pad_left : pad_left + ncol]
        dst = table[z, a]
        w = np.float32(weights[a])
        first = w * src[0]
        last = w * src[ncol - 1]
        for j in range(_GUARD):
            dst[j, 0] = first
            dst[j, 1] = 0.0
        v0 = first
        for k in range(ncol - 1):
            v1 = w * src[k + 1]
            dst[_GUARD + k, 0] = v0
            dst[_GUARD + k, 1] = (v1 - v0) * inv_scale
            v0 = v1
        for j in range(_GUARD + ncol - 1, n_ext):
            dst[j, 0] = last
            dst[j, 1] = 0.0


@njit(parallel=True, cache=True, fastmath=False)
def _backproject(table, cos_t, sin_t, u_offset, n_grid, radius_px, out, z_out0):  # pragma: no cover - numba
    """Pixel-driven back-projection with linear interpolation on the detector.

    Parallel over (slice, image-row) pairs. Each output pixel is the float32 sum over
    the angles in index order, computed by one thread only, so the result does not
    depend on the number of threads. The detector coordinate of pixel ``k`` of a row
    is carried in fixed point (int64, 32 fractional bits) and advanced by the exact
    same integer increment for every pixel, which needs no float->int conversion in
    the inner loop. Pixels outside the disk of radius ``radius_px`` are left untouched
    (zero).
    """
    nz, na, _, _ = table.shape
    half = 0.5 * (n_grid - 1)
    for task in prange(nz * n_grid):
        z = task // n_grid
        iy = task - z * n_grid
        y = iy - half
        if abs(y) > radius_px:
            continue
        h = math.sqrt(radius_px * radius_px - y * y)
        x_lo = max(0, int(math.ceil(half - h)))
        x_hi = min(n_grid - 1, int(math.floor(half + h)))
        nx = x_hi - x_lo + 1
        if nx <= 0:
            continue
        acc = np.zeros(nx, np.float32)
        x0 = x_lo - half
        for a in range(na):
            c = cos_t[a]
            step = np.int64(round(c * _FRAC_SCALE))
            u = np.int64(round((x0 * c + y * sin_t[a] + u_offset) * _FRAC_SCALE))
            row = table[z, a]
            for k in range(nx):
                i = np.uint64(u >> _FRAC_BITS)
                f = np.float32(u & _FRAC_MASK)
                acc[k] += row[i, 0] + f * row[i, 1]
                u += step
        dst = out[z_out0 + z, iy]
        for k in range(nx):
            dst[x_lo + k] = acc[k]


def _pad_mode(pad: bool | str) -> str:
    if pad is True or pad == "zero":
        return "zero"
    if pad == "edge":
        return "edge"
    if pad is False or pad == "none":
        return "none"
    raise ValueError(f"pad must be True/'zero', 'edge' or False/'none', got {pad!r}")


def fbp(
    line_integrals: np.ndarray,
    theta_rad: np.ndarray,
    center_px: float,
    filter_name: str = "ramp",
    pad: bool | str = True,
    pixel_size_um: float = 1.0,
    n_grid: int | None = None,
) -> np.ndarray:
    """Filtered back-projection (parallel beam), one slice per detector row.

    Parameters
    ----------
    line_integrals : ndarray, (n_projections, n_rows, n_columns)
        ``-log`` of the transmission (dimensionless).
    theta_rad : ndarray, (n_projections,)
        Projection angles in radians, any order; must cover 180 deg (weights from
        :func:`angular_weights_rad`: ``pi / n`` each for ``n`` uniform angles over
        180 deg, actual neighbour spacing otherwise).
    center_px : float
        Detector column of the rotation axis (sub-pixel; applied in the geometry of
        the back-projector, never by shifting the data).
    filter_name : {"ramp", "shepp-logan", "hann"}
        Kak & Slaney discrete ramp, optionally apodised (:func:`ramp_filter_response`).
    pad : {True, "zero", "edge", False}
        Padding of each detector row to ``2 x next_pow2(n_columns)`` before filtering.
        ``True``/"zero": zero padding (exact linear convolution; right when the
        sample is inside the field of view). "edge": the first/last value of each row
        is repeated, which limits the bright rim of *truncated* projections (sample
        wider than the detector) at the price of a uniform offset (measured on a disk
        twice the detector width: worst radial-mean error 1.06e-2 -> 4.4e-3 1/px for
        mu = 0.01 1/px). ``False``: no padding (circular convolution, wrap-around).
    pixel_size_um : float
        Pixel size in micrometres; the result is divided by it.
    n_grid : int, optional
        Reconstruction grid is ``n_grid x n_grid`` (default ``n_columns``), centred on
        the rotation axis position ``(n_grid - 1) / 2``.

    Returns
    -------
    ndarray, float32, (n_rows, n_grid, n_grid)
        Linear attenuation coefficient in 1/um. Voxels outside the reconstructable
        disk (radius ``min(center_px, n_columns - 1 - center_px)`` px around the grid
        centre: seen at every angle) are 0.

    Notes
    -----
    The back-projector runs in numba with ``numba.get_num_threads()`` threads; the
    output is byte-identical for any thread count. The FFT filtering uses one thread
    (pocketfft) for the same reason.
    """
    data = np.asarray(line_integrals)
    if data.ndim != 3:
        raise ValueError(f"line_integrals must be 3-D (n_projections, n_rows, n_columns), got {data.shape}")
    if data.dtype != np.float32:
        data = data.astype(np.float32)
    theta = np.asarray(theta_rad, dtype=np.float64).ravel()
    n_proj, n_rows, n_cols = data.shape
    if theta.size != n_proj:
        raise ValueError(f"{theta.size} angles for {n_proj} projections")
    if not np.all(np.isfinite(theta)):
        raise ValueError("angles contain NaN or infinity")
    center_px = float(center_px)
    if not (0.0 <= center_px <= n_cols - 1):
        raise ValueError(f"center_px {center_px} outside the detector [0, {n_cols - 1}]")
    if not (pixel_size_um > 0):
        raise ValueError(f"pixel_size_um must be > 0, got {pixel_size_um}")
    n_grid = n_cols if n_grid is None else int(n_grid)
    if n_grid < 1:
        raise ValueError(f"n_grid must be >= 1, got {n_grid}")
    mode = _pad_mode(pad)
    data = np.ascontiguousarray(data)

    n_fft = n_cols if mode == "none" else _padded_length(n_cols)
    pad_left = (n_fft - n_cols) // 2
    response = ramp_filter_response(n_fft, filter_name).astype(np.float32)
    weights = angular_weights_rad(theta) / float(pixel_size_um)
    cos_t = np.cos(theta)
    sin_t = np.sin(theta)
    radius_px = min(center_px, n_cols - 1.0 - center_px, 0.5 * n_grid)
    u_offset = center_px + _GUARD

    out = np.zeros((n_rows, n_grid, n_grid), dtype=np.float32)
    n_ext = n_cols + 2 * _GUARD
    per_slice = n_proj * max(n_fft, 2 * n_ext) * 4
    chunk = max(1, min(n_rows, _CHUNK_BYTES // per_slice))
    for z0 in range(0, n_rows, chunk):
        z1 = min(n_rows, z0 + chunk)
        buf = np.empty((z1 - z0, n_proj, n_fft), dtype=np.float32)
        _fill_padded(data, z0, z1, pad_left, mode == "edge", buf)
        spec = scipy.fft.rfft(buf, axis=-1, workers=1)
        spec *= response
        filtered = scipy.fft.irfft(spec, n=n_fft, axis=-1, workers=1)
        del spec, buf
        table = np.empty((z1 - z0, n_proj, n_ext, 2), dtype=np.float32)
        _make_table(filtered, pad_left, n_cols, weights, table)
        del filtered
        _backproject(table, cos_t, sin_t, u_offset, n_grid, radius_px, out, z0)
    return out


# ----------------------------------------------------------------------------------
# Whole chain
# ----------------------------------------------------------------------------------


def reconstruct(
    projection_set,
    *,
    zinger_threshold: float | None = 0.3,
    ring_filter_size: int = 0,
    ring_method: str = "profile",
    center_px: float | None = None,
    filter_name: str = "ramp",
    pad: bool | str = True,
    min_transmission: float = 1e-3,
    center_tolerance_px: float = 0.5,
) -> tuple[np.ndarray, dict]:
    """Raw projections to a volume of linear attenuation coefficients.

    Steps: zinger removal on the raw projection counts (skipped when
    ``zinger_threshold`` is None or 0; raw rather than dark-subtracted counts because
    the dark offset keeps the relative test stable in dim regions; references are
    protected by their median anyway), flat/dark normalisation with guarded ``-log``,
    ring removal by ``ring_method`` (skipped when ``ring_filter_size`` is 0), centre
    finding (always run, for the report; used when ``center_px`` is None), FBP.

    Parameters
    ----------
    projection_set : batteryct.io.ProjectionSet
        Raw data; ``pixel_size_um`` must be set.
    zinger_threshold : float or None
        See :func:`remove_zingers`.
    ring_method : {"profile", "sorting"}
        :func:`remove_rings_profile` (default) or :func:`remove_rings_sorting`.
    ring_filter_size : int
        Median window across detector columns of the ring filter in pixels, 0 = off (default:
        the filter alters real structure on narrow detectors, see its notes; switch
        it on when rings are visible).
    center_px : float or None
        Rotation axis column; None = automatic (:func:`find_center`, Vo).
    filter_name, pad
        See :func:`fbp`.
    min_transmission : float
        See :func:`flat_dark_normalize`.
    center_tolerance_px : float
        Largest accepted difference between the two centre estimates
        (:func:`find_center`); beyond it ``info["center_warning"]`` is set.

    Returns
    -------
    volume : ndarray, float32, (n_rows, n_columns, n_columns)
        Attenuation in 1/um.
    info : dict
        ``center_px`` (used), ``center_source`` ("auto" or "given"),
        ``center_vo_px``, ``center_phase_correlation_px``, ``center_difference_px``,
        ``center_warning``, ``n_clipped``, ``n_zingers``, ``pixel_size_um``,
        ``filter_name``, ``pad``, ``ring_filter_size``, ``ring_method``,
        ``n_ring_pixels_corrected`` (profile method only).
    """
    ps = projection_set
    if ps.pixel_size_um is None:
        raise ValueError(f"{ps.source}: pixel size unknown; give pixel_size_um")
    projections = ps.projections
    n_zingers = 0
    if zinger_threshold:
        projections, n_zingers = remove_zingers(projections, threshold=zinger_threshold)
    line_integrals, n_clipped = flat_dark_normalize(projections, ps.flats, ps.darks, min_transmission)
    del projections
    n_ring_pixels = 0
    if ring_filter_size and ring_filter_size > 1:
        if ring_method == "profile":
            line_integrals, n_ring_pixels = remove_rings_profile(line_integrals, size=int(ring_filter_size))
        elif ring_method == "sorting":
            line_integrals = remove_rings_sorting(line_integrals, size=int(ring_filter_size))
        else:
            raise ValueError(f"ring_method must be 'profile' or 'sorting', got {ring_method!r}")
    centre = find_center(line_integrals, ps.theta_rad, tolerance_px=center_tolerance_px)
    if center_px is None:
        used, source = centre["center_px"], "auto"
    else:
        used, source = float(center_px), "given"
    volume = fbp(
        line_integrals,
        ps.theta_rad,
        used,
        filter_name=filter_name,
        pad=pad,
        pixel_size_um=float(ps.pixel_size_um),
    )
    info = {
        "center_px": float(used),
        "center_source": source,
        "center_vo_px": centre["center_vo_px"],
        "center_vo_rows_px": centre["center_vo_rows_px"],
        "center_phase_correlation_px": centre["center_phase_correlation_px"],
        "center_difference_px": centre["difference_px"],
        "center_warning": centre["warning"],
        "n_clipped": int(n_clipped),
        "n_zingers": int(n_zingers),
        "pixel_size_um": float(ps.pixel_size_um),
        "filter_name": filter_name,
        "pad": _pad_mode(pad),
        "ring_filter_size": int(ring_filter_size or 0),
        "ring_method": ring_method,
        "n_ring_pixels_corrected": int(n_ring_pixels),
    }
    return volume, info
