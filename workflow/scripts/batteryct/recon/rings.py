"""Ring (stripe) removal on line integrals.

References
----------
* N. T. Vo, R. C. Atwood, M. Drakopoulos, "Superior techniques for eliminating ring
  artifacts in X-ray micro-tomography", Opt. Express 26, 28396 (2018).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .fbp import _CHUNK_BYTES


def remove_rings_sorting(line_integrals: np.ndarray, size: int = 21) -> np.ndarray:
    """Remove stripes (rings) by Vo's sorting-based filter, on all sinograms at once.

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
    real data (the reconstruction error grows with ``size`` on a narrow detector). Use a
    window small compared with the detector width and the features.

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

    Raises
    ------
    ValueError
        If the line integrals are not 3-D.
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
    """Remove full stripes (rings) found in the angle-averaged sinogram.

    A detector pixel whose gain drifted after the flats adds the same offset to its
    line integral at every angle. For each detector row the values of every column are
    sorted along the angle axis and the middle ``1 - trim_fraction`` averaged (sorting
    rejects zingers and partial outliers, as in Vo et al. 2018); that profile is the
    projection of the rotationally averaged sample, smooth across columns, so a median
    across ``size`` columns predicts it. Columns deviating from it by more than ``snr``
    robust standard deviations (MAD of the row's deviations) are stripes, and only those
    get the deviation subtracted (Rivers 1998; Vo et al. 2018, algorithm 5 on
    log data). Unlike :func:`remove_rings_sorting`, untouched columns stay exact.

    Parameters
    ----------
    line_integrals : ndarray, (n_projections, n_rows, n_columns)
        Line integrals (dimensionless).
    size : int, optional
        Median window across detector columns that predicts the profile, in pixels.
    snr : float, optional
        Deviation, in robust standard deviations, beyond which a column is a stripe.
    trim_fraction : float, optional
        Fraction of the sorted values per column left out of the mean (half at each end).

    Returns
    -------
    corrected : ndarray, float32, same shape
        Stripe-corrected line integrals.
    n_corrected : int
        Number of (row, column) detector pixels corrected.

    Raises
    ------
    ValueError
        If the line integrals are not 3-D.
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
