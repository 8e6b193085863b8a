import numpy as np
import pytest

from batteryct import electrode
from batteryct.segment import LABEL_BINDER, LABEL_OPEN_PORE, LABEL_SOLID


def slabs(n=32):
    labels = np.zeros((n, n, n), np.uint8)
    labels[:, :, 10:20] = LABEL_SOLID
    labels[:, :, 20:] = LABEL_BINDER
    return labels


def test_interface_areas_of_plane_slabs():
    n, h = 32, 0.5
    areas = electrode.interface_areas_um2(slabs(n), h)
    plane = (n * h) ** 2
    assert areas["pore_active_area_um2"] == pytest.approx(plane, rel=0.01)
    assert areas["active_binder_area_um2"] == pytest.approx(plane, rel=0.01)
    assert areas["pore_binder_area_um2"] == pytest.approx(0.0, abs=0.01 * plane)


def test_contact_mechanics_units():
    out = electrode.contact_mechanics(1e6, adhesion_energy_J_m2=2.0, shear_strength_Pa=1e6)  # 1 mm² of contact
    assert out["adhesion_energy_J"] == pytest.approx(2e-6)
    assert out["max_shear_force_N"] == pytest.approx(1.0)


def test_contact_resistance_adds_in_series():
    n, h_um, sigma, r_c = 20, 0.5, 2.0, 1e-6
    labels = np.full((n, 6, 6), LABEL_SOLID, np.uint8)
    instances = np.ones(labels.shape, np.int32)
    instances[n // 2:] = 2  # two particles touching across one z face
    free = electrode.electronic_conductivity(labels, h_um, 0, sigma, 10.0)
    with_contact = electrode.electronic_conductivity(labels, h_um, 0, sigma, 10.0, r_c, instances)
    length_m = n * h_um * 1e-6
    assert free["conductivity_S_m"] == pytest.approx(sigma, rel=1e-5)
    # Finite volumes: resistance per area n h / σ + R_c.
    assert with_contact["conductivity_S_m"] == pytest.approx(length_m / (length_m / sigma + r_c), rel=1e-5)


def test_binder_and_active_in_series_and_no_path():
    labels = np.full((20, 4, 4), LABEL_SOLID, np.uint8)
    labels[10:] = LABEL_BINDER
    got = electrode.electronic_conductivity(labels, 1.0, 0, 1.0, 10.0)["conductivity_S_m"]
    assert got == pytest.approx(1.0 / (0.5 / 1.0 + 0.5 / 10.0), rel=1e-5)
    labels[5] = LABEL_OPEN_PORE
    blocked = electrode.electronic_conductivity(labels, 1.0, 0, 1.0, 10.0)
    assert blocked["conductivity_S_m"] == 0.0 and not blocked["percolating"]


def test_bruggeman_exponent():
    assert electrode.bruggeman_exponent(0.4 ** -1.5, 0.4) == pytest.approx(1.5)
    assert np.isnan(electrode.bruggeman_exponent(np.inf, 0.4))


def test_sampled_labels_follow_the_posteriors_and_are_coherent():
    shape = (40, 40, 40)
    post = np.empty((3, *shape), np.float16)
    post[0], post[1], post[2] = 0.2, 0.3, 0.5
    codes = [LABEL_OPEN_PORE, LABEL_BINDER, LABEL_SOLID]
    samples = electrode.sample_labels(post, codes, n_samples=4, seed=7)
    again = electrode.sample_labels(post, codes, n_samples=4, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(samples, again))
    fractions = np.mean([[np.mean(s == c) for c in codes] for s in samples], axis=0)
    np.testing.assert_allclose(fractions, [0.2, 0.3, 0.5], atol=0.03)
    # Neighbours agree far more often than independent draws would (0.2²+0.3²+0.5² = 0.38).
    agree = np.mean(samples[0][:, :, 1:] == samples[0][:, :, :-1])
    assert agree > 0.6
    # A certain voxel is always its class.
    post[:, 0, 0, 0] = (0, 0, 1)
    assert all(s[0, 0, 0] == LABEL_SOLID for s in electrode.sample_labels(post, codes, 3, 1))
