"""Argument checks shared by the volume modules (one message for one mistake)."""

from __future__ import annotations

import numpy as np


def as_mask_3d(mask, name: str = "pore_mask") -> np.ndarray:
    """``mask`` as a C-contiguous boolean (z, y, x) array; integer arrays are read as
    ``!= 0``. Raises ValueError for a wrong shape or an empty array and TypeError for a
    non-integer, non-boolean dtype, naming ``name``."""
    m = np.asarray(mask)
    if m.ndim != 3:
        raise ValueError(f"{name} must be a 3-D (z, y, x) array, got shape {m.shape}")
    if m.size == 0:
        raise ValueError(f"{name} is empty")
    if m.dtype != np.bool_:
        if m.dtype.kind not in "biu":
            raise TypeError(f"{name} must be boolean, got {m.dtype}")
        m = m != 0
    return np.ascontiguousarray(m)
