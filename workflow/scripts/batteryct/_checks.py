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


def positive_scalar(value, name: str, *, allow_zero: bool = False, allow_inf: bool = False) -> float:
    """``value`` as a positive (or non-negative) float.

    Parameters
    ----------
    value : float
        The number.
    name : str
        Argument name used in error messages.
    allow_zero : bool, optional
        Accept 0.
    allow_inf : bool, optional
        Accept ``+inf``.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``value`` is not a real number (booleans are refused).
    ValueError
        If ``value`` is NaN, infinite (unless allowed), negative, or zero (unless allowed).
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if np.isnan(v) or (np.isinf(v) and not (allow_inf and v > 0)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return v


def finite_array(value, name: str, *, ndim: int | None = None, min_size: int = 1) -> np.ndarray:
    """``value`` as a float64 array of finite numbers.

    Parameters
    ----------
    value : array_like
        The numbers.
    name : str
        Argument name used in error messages.
    ndim : int, optional
        Required number of dimensions (scalars are not promoted).
    min_size : int, optional
        Required minimum number of elements.

    Returns
    -------
    numpy.ndarray
        float64 (a view where no conversion was needed).

    Raises
    ------
    ValueError
        If the values are not numbers, not finite, of the wrong dimension, or too few.
    """
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, got {value!r}") from None
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if a.size < min_size:
        raise ValueError(f"{name} must have at least {min_size} values, got {a.size}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def positive_array(value, name: str, *, ndim: int | None = None, allow_zero: bool = False) -> np.ndarray:
    """``value`` as a float64 array of finite positive (or non-negative) numbers.

    Raises
    ------
    ValueError
        As :func:`finite_array`, or if a value is negative, or zero unless ``allow_zero``.
    """
    a = finite_array(value, name, ndim=ndim)
    bad = a < 0 if allow_zero else a <= 0
    if np.any(bad):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {float(a[bad].ravel()[0])!r}")
    return a


def fraction(value, name: str) -> float:
    """``value`` as a float in ``[0, 1]``.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If ``value`` is NaN or outside ``[0, 1]``.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return v


def increasing_array(value, name: str, *, strict: bool = True, min_size: int = 2) -> np.ndarray:
    """``value`` as a 1-D float64 array of finite, increasing numbers.

    Parameters
    ----------
    value : array_like
        The numbers (e.g. times).
    name : str
        Argument name used in error messages.
    strict : bool, optional
        Require strictly increasing values (else non-decreasing).
    min_size : int, optional
        Required minimum number of elements.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        If the values are not finite, not 1-D, too few, or not increasing (the message gives
        the first offending index).
    """
    a = finite_array(value, name, ndim=1, min_size=min_size)
    d = np.diff(a)
    bad = np.flatnonzero(d <= 0 if strict else d < 0)
    if bad.size:
        i = int(bad[0])
        word = "strictly increasing" if strict else "non-decreasing"
        raise ValueError(f"{name} must be {word}: {name}[{i + 1}] = {float(a[i + 1])!r} after {float(a[i])!r}")
    return a
