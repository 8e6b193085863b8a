import numpy as np
import pytest

from batteryct import contacts, electrode, fov, io
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
    instances[n // 2 :] = 2  # two particles touching across one z face
    free = electrode.electronic_conductivity(
        labels, h_um, 0, active_conductivity_S_m=sigma, binder_conductivity_S_m=10.0
    )
    with_contact = electrode.electronic_conductivity(
        labels,
        h_um,
        0,
        active_conductivity_S_m=sigma,
        binder_conductivity_S_m=10.0,
        contact_resistance_ohm_m2=r_c,
        instances=instances,
    )
    length_m = n * h_um * 1e-6
    assert free["conductivity_S_m"] == pytest.approx(sigma, rel=1e-5)
    # Finite volumes: resistance per area n h / σ + R_c.
    assert with_contact["conductivity_S_m"] == pytest.approx(length_m / (length_m / sigma + r_c), rel=1e-5)


def test_binder_and_active_in_series_and_no_path():
    labels = np.full((20, 4, 4), LABEL_SOLID, np.uint8)
    labels[10:] = LABEL_BINDER
    got = electrode.electronic_conductivity(labels, 1.0, 0, active_conductivity_S_m=1.0, binder_conductivity_S_m=10.0)[
        "conductivity_S_m"
    ]
    assert got == pytest.approx(1.0 / (0.5 / 1.0 + 0.5 / 10.0), rel=1e-5)
    labels[5] = LABEL_OPEN_PORE
    blocked = electrode.electronic_conductivity(
        labels, 1.0, 0, active_conductivity_S_m=1.0, binder_conductivity_S_m=10.0
    )
    assert blocked["conductivity_S_m"] == 0.0 and not blocked["percolating"]


def test_bruggeman_exponent():
    assert electrode.bruggeman_exponent(0.4**-1.5, 0.4) == pytest.approx(1.5)
    assert np.isnan(electrode.bruggeman_exponent(np.inf, 0.4))


@pytest.mark.parametrize("global_weight", [0.0, 0.8, 1.0])
def test_sampled_labels_have_the_posteriors_as_marginals(global_weight):
    shape = (6, 6, 6)
    post = np.empty((3, *shape), np.float16)
    post[0], post[1], post[2] = 0.2, 0.3, 0.5
    codes = [LABEL_OPEN_PORE, LABEL_BINDER, LABEL_SOLID]
    n = 400
    samples = electrode.sample_labels(
        post, codes, n_samples=n, seed=7, correlation_voxels=2.0, global_weight=global_weight
    )
    again = electrode.sample_labels(
        post, codes, n_samples=3, seed=7, correlation_voxels=2.0, global_weight=global_weight
    )
    assert all(np.array_equal(a, b) for a, b in zip(samples, again))
    # sample i depends on (seed, i) only, so samples can be separate jobs
    again2 = electrode.sample_label_volume(post, codes, 2, 7, correlation_voxels=2.0, global_weight=global_weight)
    assert np.array_equal(again2, samples[2])
    per_sample = np.array([[np.mean(s == c) for c in codes] for s in samples])
    # mean over samples -> posterior; the standard error is largest (sqrt(p(1-p)/n) <= 0.025)
    # when all voxels of a sample share one class (global_weight = 1)
    np.testing.assert_allclose(per_sample.mean(axis=0), [0.2, 0.3, 0.5], atol=4 * 0.025)
    if global_weight == 1.0:  # one uniform variable per sample: every voxel takes the same class
        assert np.all(np.isin(per_sample, (0.0, 1.0)))
    # a certain voxel is always its class
    post[:, 0, 0, 0] = (0, 0, 1)
    assert all(
        s[0, 0, 0] == LABEL_SOLID
        for s in electrode.sample_labels(post, codes, 5, 1, correlation_voxels=2.0, global_weight=global_weight)
    )


def test_sampled_labels_are_coherent():
    shape = (40, 40, 40)
    post = np.empty((3, *shape), np.float16)
    post[0], post[1], post[2] = 0.2, 0.3, 0.5
    codes = [LABEL_OPEN_PORE, LABEL_BINDER, LABEL_SOLID]
    s = electrode.sample_labels(post, codes, n_samples=1, seed=3, correlation_voxels=2.0, global_weight=0.0)[0]
    # neighbours agree far more often than independent draws would (0.2²+0.3²+0.5² = 0.38)
    assert np.mean(s[:, :, 1:] == s[:, :, :-1]) > 0.6
    with pytest.raises(ValueError, match="global_weight"):
        electrode.sample_labels(post, codes, 1, 0, correlation_voxels=2.0, global_weight=1.5)


def test_sampled_boundaries_scatter_about_the_hard_boundary():
    # a pore|active boundary across x: P(active) = Phi((x - 20.3) / 2)
    from scipy.special import ndtr

    x = np.arange(48, dtype=np.float32)
    p_act = np.broadcast_to(ndtr((x - 20.3) / 2.0), (4, 4, 48))
    post = np.stack([1 - p_act, np.zeros_like(p_act), p_act]).astype(np.float32)
    codes = [LABEL_OPEN_PORE, LABEL_BINDER, LABEL_SOLID]
    hard_fraction = np.mean(np.argmax(post, axis=0) == 2)  # boundary at x = 20.3 -> 27 of 48 columns
    samples = electrode.sample_labels(post, codes, 200, 0, correlation_voxels=2.0, global_weight=0.8)
    fractions = [np.mean(s == LABEL_SOLID) for s in samples]
    assert hard_fraction == pytest.approx(27 / 48)
    assert np.mean(fractions) == pytest.approx(hard_fraction, abs=0.01)
    # the boundary moves by about +/-2 sigma = +/-4 columns
    assert 2.5 / 48 < np.quantile(fractions, 0.975) - hard_fraction < 6 / 48


def test_with_intervals_covers_every_metric_and_checks_the_samples():
    row = {"porosity": 0.40, "tortuosity_factor_z": 2.0, "bruggeman_exponent_in_plane": -0.1}
    samples = [
        {"porosity": 0.39, "tortuosity_factor_z": 2.1, "bruggeman_exponent_in_plane": -0.2},
        {"porosity": 0.41, "tortuosity_factor_z": np.inf, "bruggeman_exponent_in_plane": 0.0},
    ]
    out = electrode.with_intervals(row, samples)
    assert out["uncertainty_samples"] == 2
    assert out["tortuosity_factor_z_ci_low"] == 2.0 and np.isinf(out["tortuosity_factor_z_ci_high"])
    lo, hi = electrode.interval([0.39, 0.41], 0.40)
    assert (out["porosity_ci_low"], out["porosity_ci_high"]) == (max(lo, 0.0), min(hi, 1.0))
    assert out["bruggeman_exponent_in_plane_ci_low"] < -0.1  # not clipped at 0
    with pytest.raises(ValueError, match="sample 1 lacks"):
        electrode.with_intervals(row, [samples[0], {"porosity": 0.4}])


def test_interval_from_samples():
    from scipy import stats

    lo, hi = electrode.interval([1.0, 2.0, 3.0, 4.0, 5.0], 3.0)
    half = stats.t.ppf(0.975, 4) * np.std([1, 2, 3, 4, 5], ddof=1) * np.sqrt(1.2)
    assert (lo, hi) == pytest.approx((3.0 - half, 3.0 + half))
    assert half == pytest.approx(4.808, abs=1e-3)
    # a sample that does not percolate: the range, infinity included
    assert electrode.interval([2.0, np.inf, 2.5], 2.2) == (2.0, np.inf)
    assert electrode.interval([np.nan, 1.0, 2.0], np.nan) == (1.0, 2.0)
    assert np.isnan(electrode.interval([np.nan], np.nan)[0])


def test_interval_reaches_the_sample_mean_for_surface_metrics():
    from scipy import stats

    samples = [0.33, 0.35, 0.34, 0.34]
    half = stats.t.ppf(0.975, 3) * np.std(samples, ddof=1) * np.sqrt(1.25)
    lo, hi = electrode.interval(samples, 0.30, reach_sample_mean=True)
    assert (lo, hi) == pytest.approx((0.30 - half, 0.34 + half))
    assert electrode.interval([0.34], 0.30, reach_sample_mean=True) == (0.30, 0.34)
    assert electrode.interval([0.34], 0.30) == (0.30, 0.30)
    # a value above the samples: stretched downwards
    assert electrode.interval(samples, 0.40, reach_sample_mean=True) == pytest.approx((0.34 - half, 0.40 + half))
    row = {"porosity": 0.30, "specific_surface_area_per_um": 0.30, "pore_binder_area_um2": 0.30}
    out = electrode.with_intervals(row, [{k: v for k in row} for v in samples])
    assert (out["porosity_ci_low"], out["porosity_ci_high"]) == pytest.approx((0.30 - half, 0.30 + half))
    for key in ("specific_surface_area_per_um", "pore_binder_area_um2"):
        assert (out[f"{key}_ci_low"], out[f"{key}_ci_high"]) == pytest.approx((0.30 - half, 0.34 + half))


def test_contact_partition_file_round_trip(tmp_path):
    instances = np.zeros((4, 5, 6), np.int32)
    instances[1:3, 1:4, 1:4] = 1
    instances[1:3, 1:4, 4:6] = 2
    grown = contacts.expand_instances(instances, 1)
    io.write_contact_partition(tmp_path / "c.h5", instances, grown)
    part = io.read_contact_partition(tmp_path / "c.h5", (4, 5, 6))
    a, b = part.instances, part.grown_instances
    assert np.array_equal(a, instances) and np.array_equal(b, grown) and b[0, 2, 2] == 1
    with pytest.raises(io.InputDataError, match="labels box is"):
        io.read_contact_partition(tmp_path / "c.h5", (4, 5, 7))
    io.write_contact_partition(tmp_path / "none.h5", None, None)
    none = io.read_contact_partition(tmp_path / "none.h5", (4, 5, 6))
    assert (none.instances, none.grown_instances) == (None, None)


def test_transport_box_is_cropped_unless_the_labels_are_a_box(tmp_path):
    labels = np.arange(4 * 10 * 12, dtype=np.uint8).reshape(4, 10, 12) % 4
    post = np.random.default_rng(0).random((3, 4, 10, 12)).astype(np.float16)
    codes = np.array([LABEL_OPEN_PORE, LABEL_BINDER, LABEL_SOLID], np.uint8)
    attrs = {"voxel_size_um": 0.5, "posterior_class_codes": codes}
    io.write_volume(tmp_path / "seg.h5", {"labels": labels, "posteriors": post}, attrs)
    crop = lambda shape: fov.box_roi(shape, 0.85)  # noqa: E731
    box = fov.box_roi(labels.shape, 0.85)
    got = io.read_transport_box(tmp_path / "seg.h5", crop)
    assert np.array_equal(got.labels, labels[box]) and got.labels.shape == (4, 4, 4)
    assert np.array_equal(got.posteriors, post[(slice(None),) + box]) and got.posteriors.dtype == np.float16
    assert np.array_equal(got.class_codes, codes) and got.voxel_size_um == 0.5
    assert io.read_transport_box(tmp_path / "seg.h5", crop, posteriors=False).posteriors is None
    # imported labels (roi = "box") are used whole and have no posteriors
    io.write_volume(tmp_path / "imported.h5", {"labels": labels}, {"voxel_size_um": (1.0, 0.5, 0.5), "roi": "box"})
    whole = io.read_transport_box(tmp_path / "imported.h5", crop)
    assert np.array_equal(whole.labels, labels) and whole.posteriors is None and whole.class_codes is None
    assert whole.voxel_size_um == (1.0, 0.5, 0.5)


def test_with_intervals_puts_each_interval_after_its_value_and_counts_get_whole_bounds():
    row = {"porosity": 0.40, "network_n_pores": 1426, "tortuosity_factor_z": 2.0}
    samples = [
        {"porosity": 0.39 + 0.002 * i, "network_n_pores": 1300 + 17 * i, "tortuosity_factor_z": 2.0} for i in range(8)
    ]
    out = electrode.with_intervals(row, samples)
    assert list(out)[:6] == [
        "porosity",
        "porosity_ci_low",
        "porosity_ci_high",
        "network_n_pores",
        "network_n_pores_ci_low",
        "network_n_pores_ci_high",
    ]
    lo, hi = electrode.interval([s["network_n_pores"] for s in samples], 1426)
    assert lo % 1 and hi % 1  # the raw bounds are not whole here
    assert (out["network_n_pores_ci_low"], out["network_n_pores_ci_high"]) == (np.floor(lo), np.ceil(hi))
    assert out["network_n_pores"] == 1426 and out["porosity_ci_low"] % 1 != 0
