"""Tomographic reconstruction: normalisation, artefact removal, centre finding and FBP.

Conventions of :mod:`batteryct`: projections ``(n_projections, n_rows, n_columns)``,
volumes ``(z, y, x)`` with one slice per detector row, angles in radians, and the
parallel-beam geometry ``u = x cos(theta) + y sin(theta) + center_px`` (``(x, y)``
in-slice voxel-centre coordinates in pixels from the grid centre ``(n - 1) / 2``, ``x``
along the last axis; ``u`` the detector column, pixel centres at integers).
:func:`reconstruct` runs the whole chain.
"""

from .center import (
    CenterEstimate,
    find_center,
    find_center_phase_correlation,
    find_center_phase_correlation_pair,
    find_center_vo,
)
from .chain import clip_warning, reconstruct
from .fbp import FILTER_NAMES, angular_weights_rad, fbp, ramp_filter_response
from .normalize import flat_dark_normalize, remove_zingers
from .rings import remove_rings_profile, remove_rings_sorting

__all__ = [
    "CenterEstimate",
    "FILTER_NAMES",
    "angular_weights_rad",
    "fbp",
    "find_center",
    "find_center_phase_correlation",
    "find_center_phase_correlation_pair",
    "find_center_vo",
    "flat_dark_normalize",
    "ramp_filter_response",
    "clip_warning",
    "reconstruct",
    "remove_rings_profile",
    "remove_rings_sorting",
    "remove_zingers",
]
