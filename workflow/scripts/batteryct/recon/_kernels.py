"""Numba kernels of the filtered back-projection (:func:`batteryct.recon.fbp`).

Only ``@njit`` functions and the fixed-point constants they use. The back-projector's
output does not depend on the number of threads (byte for byte).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import threaded_kernel

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


@threaded_kernel(fastmath=False)
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


@threaded_kernel(fastmath=False)
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


@threaded_kernel(fastmath=False)
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
