"""Centre of rotation: Vo's Fourier double-wedge method and phase correlation of opposite projections.

References
----------
* N. T. Vo, M. Drakopoulos, R. C. Atwood, C. Reinhard, "Reliable method for
  calculating the center of rotation in parallel-beam tomography", Opt. Express 22,
  19078 (2014).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy import ndimage as ndi
from skimage.registration import phase_cross_correlation


@dataclass(frozen=True)
class CenterEstimate:
    """Centre of rotation found by :func:`find_center`; positions are detector columns in pixels.

    Attributes
    ----------
    center_px : float
        The chosen centre (Vo's median).
    method : str
        ``"vo"``.
    center_vo_px : float
        Median of Vo's estimates over the rows.
    center_vo_rows_px : list of float
        Vo's estimate of each row.
    rows : list of int
        The detector rows used.
    center_phase_correlation_px : float
        Phase correlation of the opposite projections; NaN if there is no opposite pair.
    phase_correlation_pair : (int, int)
        Indices of those projections.
    difference_px : float
        Phase correlation minus Vo.
    warning : str
        Empty when the two estimates agree within the tolerance.
    """

    center_px: float
    method: str
    center_vo_px: float
    center_vo_rows_px: list
    rows: list
    center_phase_correlation_px: float
    phase_correlation_pair: tuple
    difference_px: float
    warning: str


def _sinogram_180(sinogram2d: np.ndarray, theta_rad: np.ndarray) -> np.ndarray:
    """Return the rows of a sinogram covering [theta0, theta0 + pi), sorted by angle.

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
    """Return the binary mask of the Fourier region *outside* the double wedge (Vo 2014, eq. 3).

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
    """Return the weighted Fourier magnitude outside the double wedge for a trial centre.

    The 360 deg sinogram is built from ``sino`` and its mirror shifted for the trial centre.
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
    """Return the transfer function of a Gaussian of ``sigma_rows`` along the angle axis.

    Fftshifted, as a column vector, for a periodic 360 deg sinogram of ``height`` rows.
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
    """Find the centre of rotation from one sinogram by Vo's Fourier double-wedge method.

    The 180 deg sinogram and its left-right mirror, shifted for a trial centre, are
    stacked into a 360 deg sinogram; at the true centre its 2-D Fourier transform has
    (almost) no energy outside a double wedge (Vo et al. 2014; algotom
    ``find_center_vo``). A coarse search over integer centres is followed by a fine
    search with ``fine_step_px`` steps (cubic-spline shifts) and a parabola through the
    three best fine points. As in algotom the sinogram is denoised by a Gaussian of
    sigma (3, 1) px (coarse) and (2, 2) px (fine) along (angle, column), but the
    angular part is applied as a weight in the Fourier domain, i.e. *periodically* on
    the 360 deg sinogram: smoothing the 180 deg sinogram along the angle with
    reflecting ends (algotom) biases the centre. The fine step is 0.05 px by default
    (algotom 0.25 px).

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
    """Find the centre of rotation from two opposite projections (theta and theta + 180 deg).

    In this geometry ``p(theta + pi, u) = p(theta, 2 * center_px - u)``: the projection
    at theta + 180 deg, flipped left-right, is the projection at theta shifted by
    ``n_columns - 1 - 2 * center_px`` columns. That shift is measured to
    1 / ``upsample_factor`` px by the upsampled-DFT correlation of
    :func:`skimage.registration.phase_cross_correlation`.

    By default the cross-power spectrum is *not* whitened (``normalization=None``):
    with the whitening of classical phase correlation ("phase") the noise of the
    high frequencies dominates on noisy line integrals.

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
    """Return the indices ``(i, j)`` of the two angles closest to 180 deg apart, and the error (rad)."""
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
        Line integrals (dimensionless).
    theta_rad : ndarray, (n_projections,)
        Angles in radians.
    rows : array of int, optional
        Detector rows used (all by default).

    Returns
    -------
    center_px : float
        Detector column of the rotation axis; NaN when no pair is within half an
        angular step of 180 deg.
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
    """Return ``n_use`` rows evenly spread between 20 % and 80 % of the detector height."""
    if n_rows <= n_use:
        return np.arange(n_rows)
    return np.unique(np.round(np.linspace(0.2, 0.8, n_use) * (n_rows - 1)).astype(int))


def find_center(
    line_integrals: np.ndarray,
    theta_rad: np.ndarray,
    rows: np.ndarray | None = None,
    tolerance_px: float = 0.5,
) -> dict:
    """Find the centre of rotation by two independent methods, with a consistency check.

    The **chosen** value is the median over ``rows`` of Vo's estimates
    (:func:`find_center_vo`): it uses every angle of the scan, is insensitive to
    the absence of an exact 180 deg pair or to drift between the first and last
    projection, and the median is robust to a row without structure. The phase
    correlation of the two opposite projections (all detector rows) is an independent
    check; when the two differ by more than ``tolerance_px`` the ``warning`` says so.

    Parameters
    ----------
    line_integrals : ndarray, (n_projections, n_rows, n_columns)
        Line integrals (dimensionless).
    theta_rad : ndarray, (n_projections,)
        Angles in radians; must span 180 deg (see :func:`find_center_vo`).
    rows : array of int, optional
        Detector rows for Vo's method; default 5 rows between 20 % and 80 % of the
        height.
    tolerance_px : float, optional
        Largest accepted difference between the two estimates, in pixels.

    Returns
    -------
    CenterEstimate
        The chosen centre, both estimates and the warning.

    Raises
    ------
    ValueError
        If the line integrals are not 3-D, or as :func:`find_center_vo`.
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
    return CenterEstimate(
        center_px=center_vo,
        method="vo",
        center_vo_px=center_vo,
        center_vo_rows_px=[float(v) for v in vo_rows],
        rows=[int(r) for r in rows],
        center_phase_correlation_px=float(center_pc),
        phase_correlation_pair=(int(pair[0]), int(pair[1])),
        difference_px=float(diff),
        warning=warning,
    )
