"""Counts to line integrals: flat/dark normalisation with a guarded ``-log``, zinger removal."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def flat_dark_normalize(
    projections: np.ndarray,
    flats: np.ndarray,
    darks: np.ndarray,
    min_transmission: float = 1e-3,
) -> tuple[np.ndarray, int]:
    """Convert counts to line integrals: flat/dark correction and a guarded ``-log``.

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
        ``-log(min_transmission)``). Pixels where ``f - d <= 0`` (dead pixels) get
        ``min_transmission`` too.

    Returns
    -------
    line_integrals : ndarray, float32, (n_projections, n_rows, n_columns)
        ``-log(T)``, dimensionless.
    n_clipped : int
        Number of projection values set to ``min_transmission``, i.e. clipped
        transmissions plus (dead pixels x n_projections).

    Raises
    ------
    ValueError
        If ``min_transmission`` is not positive, the projections are not 3-D or the
        reference frames do not match them.
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
    (Poisson std 1 %) is never touched at a threshold of 0.3; at very low counts
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

    Raises
    ------
    ValueError
        If ``threshold`` is negative, ``size`` below 3 or the projections not 3-D.
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
