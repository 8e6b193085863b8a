"""Tests of batteryct.segment.deblur: the blur read off the active edges, and its removal."""

import numpy as np
import pytest
from scipy import ndimage as ndi
from scipy.special import ndtr

from batteryct.segment import (
    REFERENCE_EDGE_DEFICIT,
    active_edge_deficit,
    deblur_gaussian,
    edge_blur_sigma_voxels,
    excess_blur_sigma_voxels,
)


def test_edge_blur_sigma_inverts_the_planar_step_model():
    for sigma in (0.3, 0.6, 1.2):
        deficit = 1.0 - ndtr(0.5 / sigma)
        assert edge_blur_sigma_voxels(deficit) == pytest.approx(sigma, rel=1e-9)
    assert np.isnan(edge_blur_sigma_voxels(0.0)) and np.isnan(edge_blur_sigma_voxels(0.6))


def test_excess_blur_adds_in_quadrature_to_the_reference():
    s_ref = edge_blur_sigma_voxels(REFERENCE_EDGE_DEFICIT)
    deficit = 1.0 - ndtr(0.5 / np.hypot(s_ref, 0.7))
    assert excess_blur_sigma_voxels(deficit) == pytest.approx(0.7, rel=1e-9)
    assert excess_blur_sigma_voxels(REFERENCE_EDGE_DEFICIT) == 0.0
    assert excess_blur_sigma_voxels(0.05) == 0.0
    assert excess_blur_sigma_voxels(float("nan")) == 0.0


def test_deblur_restores_a_blurred_smooth_field():
    rng = np.random.default_rng(0)
    field = ndi.gaussian_filter(rng.normal(size=(48, 48, 48)).astype(np.float32), 2.0, mode="wrap")
    blurred = ndi.gaussian_filter(field, 1.0, mode="wrap")
    restored = deblur_gaussian(blurred, 1.0, regularization=1e-2)
    core = (slice(8, -8),) * 3  # away from the reflected padding
    err_blurred = np.sqrt(np.mean((blurred - field)[core] ** 2))
    err_restored = np.sqrt(np.mean((restored - field)[core] ** 2))
    assert err_restored < 0.1 * err_blurred  # 0.05 on this field
    assert np.array_equal(deblur_gaussian(blurred, 0.0), blurred)
    with pytest.raises(ValueError, match="regularization"):
        deblur_gaussian(blurred, 1.0, regularization=0.0)


def test_deblur_sharpens_a_blurred_sphere_towards_the_reference():
    # a sphere of radius 12 voxels blurred beyond the reference; the planar-step map reads
    # its curved, voxelised edge as less blurred than it is (0.65 for 0.8 voxels), so one
    # deblurring by the estimated excess leaves a residual; re-measuring it and removing the
    # total (as segment_volume does) brings the edges back to the reference sharpness
    z, y, x = np.ogrid[:48, :48, :48]
    solid = ((z - 23.7) ** 2 + (y - 24.2) ** 2 + (x - 23.9) ** 2 <= 12.0**2).astype(np.float32)

    def deficit(v):
        return active_edge_deficit(v, v > 0.5, None, 0.0, 1.0)

    assert edge_blur_sigma_voxels(deficit(ndi.gaussian_filter(solid, 0.8))) == pytest.approx(0.65, abs=0.02)
    blurred = ndi.gaussian_filter(solid, 1.0)
    d0 = deficit(blurred)
    sigma = excess_blur_sigma_voxels(d0)
    assert 0.4 < sigma < 1.0
    d1 = deficit(deblur_gaussian(blurred, sigma, 0.01))
    assert REFERENCE_EDGE_DEFICIT + 0.03 < d1 < d0 - 0.03
    for _ in range(3):
        sigma = np.hypot(sigma, excess_blur_sigma_voxels(d1))
        d1 = deficit(deblur_gaussian(blurred, sigma, 0.01))
    assert abs(d1 - REFERENCE_EDGE_DEFICIT) < 0.02
