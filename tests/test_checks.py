"""The one place for argument checks: each mistake fails the same way everywhere."""

import numpy as np
import pytest

from batteryct import _checks


def test_voxel_size_number_or_triple():
    np.testing.assert_array_equal(_checks.voxel_size_um(0.5), [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(_checks.voxel_size_um((0.8, 0.4, 0.4)), [0.8, 0.4, 0.4])
    assert _checks.voxel_size_um([1, 2, 3]).dtype == np.float64
    for bad in (0.0, -1.0, np.nan, np.inf, (1.0, 0.0, 1.0), (1.0, 2.0), "abc", None):
        with pytest.raises(ValueError, match="voxel_size_um"):
            _checks.voxel_size_um(bad)


def test_masks_bool_or_int_only():
    m = _checks.as_mask_3d(np.array([[[0, 2]]], np.uint8))
    assert m.dtype == np.bool_ and m.tolist() == [[[False, True]]] and m.flags.c_contiguous
    with pytest.raises(TypeError, match="pore_mask must be boolean, got float64"):
        _checks.as_mask_3d(np.zeros((2, 2, 2)), "pore_mask")
    with pytest.raises(ValueError, match="3-D"):
        _checks.as_mask_3d(np.zeros((2, 2), bool))
    with pytest.raises(ValueError, match="empty"):
        _checks.as_mask_3d(np.zeros((0, 2, 2), bool))


def test_volumes():
    v = _checks.as_volume_3d(np.ones((2, 2, 2)), dtype=np.float32)
    assert v.dtype == np.float32
    bad = np.ones((2, 2, 2))
    bad[0, 0, 0] = np.nan
    assert _checks.as_volume_3d(bad) is not None  # NaN allowed unless asked
    with pytest.raises(ValueError, match="volume contains NaN or infinite values"):
        _checks.as_volume_3d(bad, finite=True)


def test_axis_and_int():
    assert _checks.check_axis(-1) == 2 and _checks.check_axis(np.int64(1)) == 1
    with pytest.raises(TypeError):
        _checks.check_axis(True)
    with pytest.raises(TypeError):
        _checks.check_axis(1.0)
    with pytest.raises(ValueError, match="out of range"):
        _checks.check_axis(3)
    assert _checks.check_int(np.int32(4), "n", 1) == 4
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        _checks.check_int(0, "n", 1)
    with pytest.raises(TypeError):
        _checks.check_int(2.0, "n", 1)


def test_positive_scalar_and_fraction():
    assert _checks.positive_scalar(np.float32(2.5), "d_m") == 2.5
    assert _checks.positive_scalar(0, "r_ohm", allow_zero=True) == 0.0
    assert _checks.positive_scalar(np.inf, "i0", allow_inf=True) == np.inf
    with pytest.raises(ValueError, match=r"d_m must be > 0, got 0"):
        _checks.positive_scalar(0, "d_m")
    with pytest.raises(ValueError, match="d_m must be finite"):
        _checks.positive_scalar(np.nan, "d_m")
    with pytest.raises(ValueError, match="d_m must be finite"):
        _checks.positive_scalar(np.inf, "d_m")
    with pytest.raises(ValueError, match="r_ohm must be >= 0, got -1"):
        _checks.positive_scalar(-1, "r_ohm", allow_zero=True)
    with pytest.raises(TypeError, match="d_m must be a number"):
        _checks.positive_scalar("x", "d_m")
    with pytest.raises(TypeError):
        _checks.positive_scalar(True, "d_m")
    assert _checks.fraction(0.25, "x0") == 0.25
    for bad in (-0.1, 1.5, np.nan):
        with pytest.raises(ValueError, match="x0 must be in"):
            _checks.fraction(bad, "x0")


def test_arrays():
    np.testing.assert_array_equal(_checks.positive_array([1, 2], "radius_m"), [1.0, 2.0])
    with pytest.raises(ValueError, match="radius_m must be > 0, got -2.0"):
        _checks.positive_array([1, -2], "radius_m")
    with pytest.raises(ValueError, match="radius_m contains NaN"):
        _checks.positive_array([1, np.nan], "radius_m")
    with pytest.raises(ValueError, match="must be 1-D"):
        _checks.finite_array([[1.0]], "a", ndim=1)
    with pytest.raises(ValueError, match="at least 1 values"):
        _checks.finite_array([], "a")
    assert _checks.increasing_array([0, 1, 3], "time_s").dtype == np.float64
    with pytest.raises(ValueError, match=r"time_s must be strictly increasing: time_s\[2\] = 1.0 after 1.0"):
        _checks.increasing_array([0, 1, 1], "time_s")
    assert _checks.increasing_array([0, 1, 1], "x", strict=False).size == 3
    with pytest.raises(ValueError, match="at least 2"):
        _checks.increasing_array([0.0], "time_s")
