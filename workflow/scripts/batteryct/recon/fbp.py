"""Filtered back-projection (parallel beam) with a deterministic numba back-projector.

References
----------
* A. C. Kak, M. Slaney, *Principles of Computerized Tomographic Imaging*, IEEE Press
  1988, ch. 3, eqs. (61)-(63) (discrete ramp filter).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.fft

from ._kernels import _GUARD, _backproject, _fill_padded, _make_table

FILTER_NAMES = ("ramp", "shepp-logan", "hann")

# Largest filtered-sinogram table kept in memory at once (bytes); fbp works in chunks
# of slices below this size (and the sorting ring filter in blocks of rows).
_CHUNK_BYTES = 256 * 2**20


def angular_weights_rad(theta_rad: np.ndarray) -> np.ndarray:
    """Return the quadrature weight of each projection angle for the back-projection, in radians.

    Angles are taken modulo pi (a projection at theta + pi is the mirror of the one at
    theta) and each gets half the distance to its two neighbours on that pi-periodic
    circle. The weights sum to pi. For ``n`` equally spaced angles over [0, pi) every
    weight is ``pi / n``; for a 180 deg + one step span (e.g. -90..+90 deg inclusive)
    the two end angles, which see the same lines, get half a step each; a 360 deg scan
    averages its two half-scans.

    Parameters
    ----------
    theta_rad : ndarray, (n_projections,)
        Projection angles in radians, any order.

    Returns
    -------
    ndarray, float64, (n_projections,)
        Weights in radians, summing to pi.

    Raises
    ------
    ValueError
        If there are no angles.
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
    """Return the FFT length: 2 x the next power of two >= n_columns (>= 64)."""
    return max(64, 2 * (1 << max(0, int(n_columns - 1).bit_length())))


def ramp_filter_response(n_padded: int, filter_name: str = "ramp") -> np.ndarray:
    """Return the real frequency response (``rfft`` layout) of the discrete ramp filter.

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
    filter_name : {"ramp", "shepp-logan", "hann"}, optional
        Apodisation.

    Returns
    -------
    ndarray, float64, (n_padded // 2 + 1,)
        Response per pixel: filtered = irfft(rfft(p) * response).

    Raises
    ------
    ValueError
        If ``filter_name`` is unknown.
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


def _pad_mode(pad: bool | str) -> str:
    """Return the padding mode ("zero", "edge" or "none") of a ``pad`` argument."""
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
    progress=None,
) -> np.ndarray:
    """Reconstruct by filtered back-projection (parallel beam), one slice per detector row.

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
    filter_name : {"ramp", "shepp-logan", "hann"}, optional
        Kak & Slaney discrete ramp, optionally apodised (:func:`ramp_filter_response`).
    pad : {True, "zero", "edge", False}, optional
        Padding of each detector row to ``2 x next_pow2(n_columns)`` before filtering.
        ``True``/"zero": zero padding (exact linear convolution; right when the
        sample is inside the field of view). "edge": the first/last value of each row
        is repeated, which limits the bright rim of *truncated* projections (sample
        wider than the detector) at the price of a uniform offset. ``False``: no padding
        (circular convolution, wrap-around).
    pixel_size_um : float, optional
        Pixel size in micrometres; the result is divided by it.
    n_grid : int, optional
        Reconstruction grid is ``n_grid x n_grid`` (default ``n_columns``), centred on
        the rotation axis position ``(n_grid - 1) / 2``.
    progress : callable, optional
        Called as ``progress(rows_done, n_rows)`` after each chunk of slices (e.g. a
        :class:`batteryct.runlog.Progress`).

    Returns
    -------
    ndarray, float32, (n_rows, n_grid, n_grid)
        Linear attenuation coefficient in 1/um. Voxels outside the reconstructable
        disk (radius ``min(center_px, n_columns - 1 - center_px)`` px around the grid
        centre: seen at every angle) are 0.

    Raises
    ------
    ValueError
        If the shapes, angles, centre, pixel size, grid, filter or padding are unusable.

    Notes
    -----
    The back-projector runs in numba with ``numba.get_num_threads()`` threads; the
    output is byte-identical for any thread count. The FFT filtering uses one thread
    (pocketfft) for the same reason.

    Examples
    --------
    A disk of radius 10 px and attenuation 0.01 /px, seen by 90 projections:

    >>> import numpy as np
    >>> theta = np.linspace(0.0, np.pi, 90, endpoint=False)
    >>> u = np.arange(32) - 15.5
    >>> row = 2 * 0.01 * np.sqrt(np.clip(10.0**2 - u**2, 0.0, None))
    >>> line_integrals = np.broadcast_to(row, (90, 1, 32)).astype(np.float32)
    >>> volume = fbp(line_integrals, theta, center_px=15.5)
    >>> volume.shape, f"{volume[0, 14:18, 14:18].mean():.3f}"
    ((1, 32, 32), '0.010')
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
        if progress is not None:
            progress(z1, n_rows)
    return out
