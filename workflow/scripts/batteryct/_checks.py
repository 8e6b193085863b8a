"""Argument checks shared by the whole library: one behaviour and one message per mistake.

Every public function that takes a volume, a mask, a voxel size or an axis checks it here,
so that the same wrong argument fails the same way everywhere (as scikit-image's
``skimage._shared.utils`` does for its modules).
"""

from __future__ import annotations

import numpy as np


def voxel_size_um(value, name: str = "voxel_size_um") -> np.ndarray:
    """Voxel size as a float64 ``(dz, dy, dx)`` array in µm.

    Parameters
    ----------
    value : float or sequence of 3 floats
        One edge length for cubic voxels, or the ``(z, y, x)`` edge lengths, in µm.
    name : str, optional
        Argument name used in error messages.

    Returns
    -------
    numpy.ndarray
        Shape ``(3,)``, float64, every entry finite and positive.

    Raises
    ------
    ValueError
        If ``value`` is neither a number nor a triple, or an entry is not finite and positive.
    """
    try:
        h = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a (z, y, x) triple, got {value!r}") from None
    if h.size == 1:
        h = np.repeat(h, 3)
    if h.size != 3:
        raise ValueError(f"{name} must be a number or a (z, y, x) triple, got {value!r}")
    if not np.all(np.isfinite(h)) or np.any(h <= 0):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return h


def as_volume_3d(array, name: str = "volume", *, dtype=None, finite: bool = False) -> np.ndarray:
    """``array`` as a non-empty 3-D ``(z, y, x)`` array.

    Parameters
    ----------
    array : array_like
        The volume.
    name : str, optional
        Argument name used in error messages.
    dtype : numpy.dtype, optional
        Convert to this dtype (no copy when it already has it).
    finite : bool, optional
        Also require every value to be finite.

    Returns
    -------
    numpy.ndarray
        The array (a view where no conversion was needed).

    Raises
    ------
    ValueError
        If the array is not 3-D, is empty, or (with ``finite``) holds NaN or infinity.
    """
    a = np.asarray(array) if dtype is None else np.asarray(array, dtype=dtype)
    if a.ndim != 3:
        raise ValueError(f"{name} must be a 3-D (z, y, x) array, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    if finite and a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def as_mask_3d(mask, name: str = "mask") -> np.ndarray:
    """``mask`` as a C-contiguous boolean 3-D ``(z, y, x)`` array.

    Parameters
    ----------
    mask : array_like of bool or int
        Integer arrays are read as ``mask != 0``.
    name : str, optional
        Argument name used in error messages.

    Returns
    -------
    numpy.ndarray of bool
        C-contiguous.

    Raises
    ------
    ValueError
        If the mask is not 3-D or is empty.
    TypeError
        If the dtype is neither boolean nor integer (a float mask is ambiguous).
    """
    m = as_volume_3d(mask, name)
    if m.dtype != np.bool_:
        if m.dtype.kind not in "biu":
            raise TypeError(f"{name} must be boolean, got {m.dtype}")
        m = m != 0
    return np.ascontiguousarray(m)


def check_axis(axis, ndim: int = 3) -> int:
    """``axis`` as a non-negative int below ``ndim`` (negative axes count from the end).

    Raises
    ------
    TypeError
        If ``axis`` is not an integer (booleans are refused).
    ValueError
        If ``axis`` is out of range.
    """
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    if not -ndim <= int(axis) < ndim:
        raise ValueError(f"axis {axis} out of range for a {ndim}-D volume")
    return int(axis) % ndim


def check_int(value, name: str, minimum: int) -> int:
    """``value`` as an int of at least ``minimum``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (booleans are refused).
    ValueError
        If ``value < minimum``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if int(value) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)
