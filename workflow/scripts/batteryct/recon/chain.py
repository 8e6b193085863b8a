"""The whole reconstruction chain: raw projections to a volume of attenuation coefficients."""

from __future__ import annotations

import numpy as np

from .. import runlog
from .center import find_center
from .fbp import _pad_mode, fbp
from .normalize import flat_dark_normalize, remove_zingers
from .rings import remove_rings_profile, remove_rings_sorting


def reconstruct(
    projection_set,
    *,
    zinger_threshold: float | None,
    ring_filter_size: int,
    ring_method: str,
    center_px: float | None,
    filter_name: str,
    pad: bool | str,
    min_transmission: float,
    center_tolerance_px: float,
    logger=None,
) -> tuple[np.ndarray, dict]:
    """Reconstruct raw projections into a volume of linear attenuation coefficients.

    Parameters
    ----------
    projection_set : batteryct.io.ProjectionSet
        Raw data; ``pixel_size_um`` must be set.
    zinger_threshold : float or None
        Relative excess over the local median that marks a zinger
        (:func:`remove_zingers`); None or 0 skips zinger removal.
    ring_filter_size : int
        Median window across detector columns of the ring filter, in pixels; 0 (or 1)
        skips ring removal (the filter alters real structure on narrow detectors, see
        its notes; switch it on when rings are visible).
    ring_method : {"profile", "sorting"}
        :func:`remove_rings_profile` or :func:`remove_rings_sorting`.
    center_px : float or None
        Rotation axis column in pixels; None = automatic (:func:`find_center`, Vo).
    filter_name : {"ramp", "shepp-logan", "hann"}
        See :func:`fbp`.
    pad : {True, "zero", "edge", False}
        See :func:`fbp`.
    min_transmission : float
        Smallest transmission kept (dimensionless), see :func:`flat_dark_normalize`.
    center_tolerance_px : float
        Largest accepted difference between the two centre estimates, in pixels
        (:func:`find_center`); beyond it ``info["center_warning"]`` is set.

    logger : logging.Logger, optional
        Each step is logged with the elapsed time, the back-projection as ``k/N`` slices.

    Returns
    -------
    volume : ndarray, float32, (n_rows, n_columns, n_columns)
        Attenuation in 1/um.
    info : dict
        The provenance record written with the volume: ``center_px`` (used, px),
        ``center_source`` ("auto" or "given"), ``center_vo_px``,
        ``center_vo_rows_px``, ``center_phase_correlation_px``, ``center_difference_px``,
        ``center_warning``, ``center_estimates_disagree`` (the two estimates differ by more
        than ``center_tolerance_px``; False when there is no opposite pair), ``n_clipped``,
        ``n_zingers``, ``pixel_size_um``, ``filter_name``, ``pad``, ``ring_filter_size``, ``ring_method``,
        ``n_ring_pixels_corrected`` (profile method only).

    Raises
    ------
    ValueError
        If the pixel size is unknown or ``ring_method`` is not one of the choices, or as
        the steps.

    Notes
    -----
    Steps:

    1. :func:`remove_zingers` on the raw projection counts (raw rather than
       dark-subtracted counts because the dark offset keeps the relative test stable in
       dim regions; references are protected by their median anyway);
    2. :func:`flat_dark_normalize`: median flat / dark, ``-log`` with a guarded minimum
       transmission;
    3. ring removal by ``ring_method``;
    4. :func:`find_center`: Vo's Fourier double-wedge method cross-checked by phase
       correlation of opposite projections (always run, for the report; used when
       ``center_px`` is None);
    5. :func:`fbp`: filtered back-projection with a numba back-projector whose output is
       independent of the number of threads (byte for byte).
    """
    ps = projection_set
    if ps.pixel_size_um is None:
        raise ValueError(f"{ps.source}: pixel size unknown; give pixel_size_um")
    step = runlog.Progress(logger, "reconstruction", "steps", every_fraction=0) if logger else None
    projections = ps.projections
    n_zingers = 0
    if zinger_threshold:
        projections, n_zingers = remove_zingers(projections, threshold=zinger_threshold)
    if step:
        step(1, 5, f"{n_zingers} zinger pixels replaced")
    line_integrals, n_clipped = flat_dark_normalize(projections, ps.flats, ps.darks, min_transmission)
    del projections
    if step:
        step(2, 5, f"flat/dark normalised, {n_clipped} pixels below the minimum transmission")
    n_ring_pixels = 0
    if ring_filter_size and ring_filter_size > 1:
        if ring_method == "profile":
            line_integrals, n_ring_pixels = remove_rings_profile(line_integrals, size=int(ring_filter_size))
        elif ring_method == "sorting":
            line_integrals = remove_rings_sorting(line_integrals, size=int(ring_filter_size))
        else:
            raise ValueError(f"ring_method must be 'profile' or 'sorting', got {ring_method!r}")
    if step:
        rings = f"ring filter {ring_method} of {int(ring_filter_size)} px" if ring_filter_size else "no ring filter"
        step(3, 5, rings)
    centre = find_center(line_integrals, ps.theta_rad, tolerance_px=center_tolerance_px)
    if center_px is None:
        used, source = centre.center_px, "auto"
    else:
        used, source = float(center_px), "given"
    if step:
        step(
            4,
            5,
            f"centre {runlog.number(used)} px ({source}; Vo {runlog.number(centre.center_vo_px)} px, "
            f"phase correlation {runlog.number(centre.center_phase_correlation_px)} px)",
        )
    volume = fbp(
        line_integrals,
        ps.theta_rad,
        used,
        filter_name=filter_name,
        pad=pad,
        pixel_size_um=float(ps.pixel_size_um),
        progress=runlog.Progress(logger, "back-projection", "slices") if logger else None,
    )
    if step:
        step(5, 5, f"filtered back-projection ({filter_name}) of {volume.shape[0]} slices")
    info = {
        "center_px": float(used),
        "center_source": source,
        "center_vo_px": centre.center_vo_px,
        "center_vo_rows_px": centre.center_vo_rows_px,
        "center_phase_correlation_px": centre.center_phase_correlation_px,
        "center_difference_px": centre.difference_px,
        "center_warning": centre.warning,
        "center_estimates_disagree": bool(abs(centre.difference_px) > center_tolerance_px),
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


# Above this share of clipped values the volume is biased: say so, not only in an INFO line.
CLIP_WARN_FRACTION = 0.01


def clip_warning(n_clipped: int, n_values: int, min_transmission: float) -> str:
    """Return a warning when many normalised values were clipped, else ``""``.

    Parameters
    ----------
    n_clipped, n_values : int
        Clipped and all projection values (after flat/dark normalisation).
    min_transmission : float
        The floor they were clipped to.

    Returns
    -------
    str
        The message with the fraction and the likely causes, or ``""`` below
        :data:`CLIP_WARN_FRACTION`.

    Examples
    --------
    >>> clip_warning(125, 1000, 0.001)[:60]
    '12.5 % of the normalised projection values (125 of 1000) wer'
    >>> clip_warning(1, 1000, 0.001)
    ''
    """
    fraction = n_clipped / max(n_values, 1)
    if fraction <= CLIP_WARN_FRACTION:
        return ""
    return (
        f"{100 * fraction:.3g} % of the normalised projection values ({n_clipped} of {n_values}) were at or below "
        f"transmission {min_transmission:g} (counts at or below the dark: negative after dark subtraction) and "
        "were clipped: check the darks, the flats and saturation; attenuation there is underestimated"
    )
