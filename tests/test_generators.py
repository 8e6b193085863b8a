import numpy as np
import pytest

from batteryct.generators import overlapping_spheres, straight_channels, thresholded_noise


@pytest.mark.parametrize("porosity", [0.3, 0.5])
def test_overlapping_spheres_porosity_is_the_boolean_model_value(porosity):
    # exp(-lambda V): the realised porosity of a 96³ cube with radius-5 spheres scatters by
    # about 0.005 around the expected value (about 3500 spheres)
    m = overlapping_spheres(96, porosity, 5.0, seed=1)
    assert m.dtype == bool and m.shape == (96, 96, 96) and m.flags.c_contiguous
    assert m.mean() == pytest.approx(porosity, abs=0.015)
    assert np.array_equal(m, overlapping_spheres(96, porosity, 5.0, seed=1))


def test_overlapping_spheres_rejects_bad_parameters():
    with pytest.raises(ValueError, match="porosity"):
        overlapping_spheres(10, 1.2)
    with pytest.raises(ValueError, match="radius"):
        overlapping_spheres(10, 0.4, 0.0)


def test_thresholded_noise_and_channels():
    m = thresholded_noise((30, 31, 32), 0.4, 1.5, seed=2)
    assert m.shape == (30, 31, 32) and m.mean() == pytest.approx(0.4, abs=1e-4)
    c = straight_channels((10, 12, 14), 1, 0.3, seed=0)
    assert c.shape == (10, 12, 14) and np.all(c == c[:, :1, :])  # constant along axis 1
    assert 0.15 < c.mean() < 0.45
