"""Tests of batteryct.recon against analytic answers.

The phantom is a set of ellipses with closed-form line integrals
(``2 mu a b / a(alpha)^2 * sqrt(a(alpha)^2 - s^2)``), projected in the library geometry
``u = x cos(theta) + y sin(theta) + center_px`` with a sub-pixel off-centre axis and
averaged over each detector pixel (4 sub-samples). The truth image is the phantom
area-averaged over each voxel (4 x 4 sub-samples). Figures of merit:

* NRMSE = RMSE / (max - min of the truth),
* relative L2 = ||rec - truth|| / ||truth||,
* gain = least-squares slope of rec against truth (fit with intercept),

over the field-of-view disk (radius ``min(center, n - 1 - center) - 2`` px) and over
its "interior" (voxels whose 3 x 3 neighbourhood has a single truth value, i.e.
away from the ellipse edges, where a band-limited reconstruction cannot match a step).
Run ``pytest tests/test_recon.py -s`` to see the measured values.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy import ndimage as ndi

from batteryct import recon
from batteryct.io import ProjectionSet

N = 128
OFFSET_PX = 3.37
CENTER = (N - 1) / 2 + OFFSET_PX
THETA = np.deg2rad(np.linspace(-90.0, 90.0, 141))  # the scanner's 180 deg + 1 step

# (x0, y0, a, b, phi_rad, mu_per_px); positions in px from the grid centre.
ELLIPSES = [
    (0.0, 0.0, 52.0, 46.0, 0.0, 0.010),
    (-18.0, -10.0, 16.0, 9.0, 0.5, 0.020),
    (20.0, 14.0, 11.0, 11.0, 0.0, 0.030),
    (8.0, -25.0, 6.0, 14.0, -0.3, -0.006),
    (-15.0, 25.0, 5.0, 5.0, 0.0, 0.025),
    (22.0, -8.0, 3.0, 3.0, 0.0, 0.040),
]


# ----------------------------------------------------------------------------------
# Analytic phantom
# ----------------------------------------------------------------------------------


def analytic_sinogram(theta, n_cols, center, ellipses=ELLIPSES, sub=4):
    """Line integrals (n_angles, n_cols), averaged over ``sub`` points per detector pixel."""
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    t = (np.arange(n_cols)[None, :, None] + offs[None, None, :]) - center
    th = np.asarray(theta, dtype=np.float64)[:, None, None]
    p = np.zeros((th.shape[0], n_cols, sub))
    for x0, y0, a, b, phi, mu in ellipses:
        s = t - (x0 * np.cos(th) + y0 * np.sin(th))
        al = th - phi
        a2 = (a * np.cos(al)) ** 2 + (b * np.sin(al)) ** 2
        p += np.where(s * s < a2, 2.0 * mu * a * b / a2 * np.sqrt(np.clip(a2 - s * s, 0.0, None)), 0.0)
    return p.mean(axis=-1)


def analytic_image(n, ellipses=ELLIPSES, sub=4):
    """Phantom (y, x) area-averaged over each voxel with sub x sub samples."""
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    c = np.arange(n) - (n - 1) / 2
    x = c[None, :, None, None] + offs[None, None, None, :]
    y = c[:, None, None, None] + offs[None, None, :, None]
    img = np.zeros((n, n, sub, sub))
    for x0, y0, a, b, phi, mu in ellipses:
        xr = (x - x0) * np.cos(phi) + (y - y0) * np.sin(phi)
        yr = -(x - x0) * np.sin(phi) + (y - y0) * np.cos(phi)
        img += np.where((xr / a) ** 2 + (yr / b) ** 2 < 1.0, mu, 0.0)
    return img.mean(axis=(-1, -2))


def scaled(ellipses, factor):
    return [(x * factor, y * factor, a * factor, b * factor, p, mu / factor) for x, y, a, b, p, mu in ellipses]


def fov_masks(n, center, truth):
    yy, xx = np.mgrid[:n, :n] - (n - 1) / 2
    radius = min(center, n - 1 - center)
    fov = xx**2 + yy**2 <= (radius - 2.0) ** 2
    flat = (ndi.maximum_filter(truth, 3) - ndi.minimum_filter(truth, 3)) < 1e-12
    return fov, fov & flat


def figures(rec, truth, mask):
    d = rec[mask] - truth[mask]
    a = np.vstack([truth[mask], np.ones(mask.sum())]).T
    gain = float(np.linalg.lstsq(a, rec[mask], rcond=None)[0][0])
    return {
        "nrmse": float(np.sqrt(np.mean(d**2)) / (truth.max() - truth.min())),
        "rel_l2": float(np.linalg.norm(d) / np.linalg.norm(truth[mask])),
        "gain": gain,
    }


def poisson_line_integrals(clean, counts, rng):
    return (-np.log(np.maximum(rng.poisson(counts * np.exp(-clean)), 1) / counts)).astype(np.float32)


@pytest.fixture(scope="module")
def phantom128():
    sino = analytic_sinogram(THETA, N, CENTER)
    stack = np.repeat(sino[:, None, :], 2, axis=1).astype(np.float32)  # 2 identical rows
    truth = analytic_image(N)
    fov, interior = fov_masks(N, CENTER, truth)
    return {"sino": stack, "truth": truth, "fov": fov, "interior": interior}


# ----------------------------------------------------------------------------------
# FBP
# ----------------------------------------------------------------------------------


def test_fbp_reproduces_phantom(phantom128):
    rec = recon.fbp(phantom128["sino"], THETA, CENTER)
    assert rec.dtype == np.float32 and rec.shape == (2, N, N)
    assert np.array_equal(rec[0], rec[1])
    truth = phantom128["truth"]
    on_fov = figures(rec[0], truth, phantom128["fov"])
    inner = figures(rec[0], truth, phantom128["interior"])
    print(f"\nFBP ramp, centre {CENTER:.2f} px: FOV {on_fov}; interior {inner}")
    assert on_fov["nrmse"] < 0.02
    assert abs(on_fov["gain"] - 1) < 0.02
    assert inner["nrmse"] < 0.01
    assert abs(inner["gain"] - 1) < 0.02
    assert inner["rel_l2"] < 0.03
    # Region means away from edges are right to 1 % of the largest attenuation.
    for value in np.unique(np.round(truth[phantom128["interior"]], 6)):
        sel = phantom128["interior"] & (np.abs(truth - value) < 1e-9)
        if sel.sum() >= 20:
            assert abs(rec[0][sel].mean() - value) < 0.01 * 0.04
    # Outside the reconstructable disk: zeros.
    yy, xx = np.mgrid[:N, :N] - (N - 1) / 2
    outside = xx**2 + yy**2 > min(CENTER, N - 1 - CENTER) ** 2 + 1e-9
    assert np.all(rec[:, outside] == 0)


def test_fbp_units_follow_pixel_size(phantom128):
    rec_px = recon.fbp(phantom128["sino"][:, :1], THETA, CENTER)
    rec_um = recon.fbp(phantom128["sino"][:, :1], THETA, CENTER, pixel_size_um=0.5)
    np.testing.assert_array_equal(rec_um, 2.0 * rec_px)  # 1/um = (1/px) / (um/px), exact


@pytest.mark.parametrize("filter_name, max_nrmse", [("shepp-logan", 0.02), ("hann", 0.03)])
def test_fbp_apodised_filters_keep_the_gain(phantom128, filter_name, max_nrmse):
    rec = recon.fbp(phantom128["sino"][:, :1], THETA, CENTER, filter_name=filter_name)[0]
    on_fov = figures(rec, phantom128["truth"], phantom128["fov"])
    inner = figures(rec, phantom128["truth"], phantom128["interior"])
    print(f"\nFBP {filter_name}: FOV {on_fov}; interior {inner}")
    assert on_fov["nrmse"] < max_nrmse
    assert abs(inner["gain"] - 1) < 0.02


def test_fbp_padding_modes(phantom128):
    sino = phantom128["sino"][:, :1]
    edge = recon.fbp(sino, THETA, CENTER, pad="edge")[0]
    assert figures(edge, phantom128["truth"], phantom128["fov"])["nrmse"] < 0.02
    none = recon.fbp(sino, THETA, CENTER, pad=False)[0]
    assert np.all(np.isfinite(none))
    with pytest.raises(ValueError):
        recon.fbp(sino, THETA, CENTER, pad="mirror")


def test_edge_padding_limits_truncation_rim():
    """A disk twice as wide as the detector: zero padding gives a bright rim."""
    ell = [(0.0, 0.0, 90.0, 90.0, 0.0, 0.01), (10.0, -5.0, 8.0, 8.0, 0.0, 0.03)]
    sino = analytic_sinogram(THETA, N, CENTER, ellipses=ell)[:, None, :].astype(np.float32)
    truth = analytic_image(N, ellipses=ell)
    yy, xx = np.mgrid[:N, :N] - (N - 1) / 2
    rad = np.hypot(xx, yy)
    radius = min(CENTER, N - 1 - CENTER)

    def worst_radial_error(rec):
        return max(abs((rec - truth)[(rad >= r) & (rad < r + 5)].mean()) for r in range(0, int(radius) - 4, 5))

    zero = worst_radial_error(recon.fbp(sino, THETA, CENTER, pad=True)[0])
    edge = worst_radial_error(recon.fbp(sino, THETA, CENTER, pad="edge")[0])
    print(f"\ntruncated disk, worst radial-mean error (1/px): zero pad {zero:.2e}, edge pad {edge:.2e}")
    assert edge < 0.6 * zero


def test_fbp_geometry_convention():
    """A small disk at (x, y) = (+20, -10) px lands at column c + 20, row c - 10."""
    ell = [(20.0, -10.0, 2.5, 2.5, 0.0, 0.05)]
    sino = analytic_sinogram(THETA, 96, 47.5 - 2.2, ellipses=ell)[:, None, :].astype(np.float32)
    rec = recon.fbp(sino, THETA, 47.5 - 2.2)[0]
    w = np.clip(rec, 0, None)
    w[w < 0.5 * w.max()] = 0
    cy, cx = ndi.center_of_mass(w)
    assert abs(cx - (47.5 + 20)) < 0.05 and abs(cy - (47.5 - 10)) < 0.05


def test_fbp_custom_grid_is_a_centred_crop(phantom128):
    sino = phantom128["sino"][:, :1]
    full = recon.fbp(sino, THETA, CENTER)[0]
    small = recon.fbp(sino, THETA, CENTER, n_grid=96)[0]
    inside = small != 0
    np.testing.assert_allclose(small[inside], full[16:112, 16:112][inside], atol=1e-7)


def test_fbp_subpixel_centre_is_applied(phantom128):
    """The exact sub-pixel centre beats the neighbouring integers."""
    sino = phantom128["sino"][:, :1]
    err = {
        c: figures(recon.fbp(sino, THETA, c)[0], phantom128["truth"], phantom128["fov"])["nrmse"]
        for c in (math.floor(CENTER), CENTER, math.ceil(CENTER))
    }
    print(f"\nNRMSE by centre: {err}")
    assert err[CENTER] < min(err[math.floor(CENTER)], err[math.ceil(CENTER)])
    assert err[math.floor(CENTER)] > 1.5 * err[CENTER]  # 0.37 px off already hurts


def test_fbp_output_independent_of_thread_count():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has a single thread here")
    rng = np.random.default_rng(7)
    data = rng.random((141, 6, 128), dtype=np.float32)
    single = rng.random((60, 1, 96), dtype=np.float32)
    before = numba.get_num_threads()
    try:
        outs = []
        for n_threads in (1, 2):
            numba.set_num_threads(n_threads)
            outs.append(
                (
                    recon.fbp(data, THETA, CENTER).tobytes(),
                    recon.fbp(single, np.linspace(0, np.pi, 60, endpoint=False), 50.3).tobytes(),
                )
            )
    finally:
        numba.set_num_threads(before)
    assert outs[0] == outs[1]


def test_angular_weights():
    uniform = np.linspace(0, np.pi, 90, endpoint=False)
    np.testing.assert_allclose(recon.angular_weights_rad(uniform), np.pi / 90, rtol=1e-12)
    w = recon.angular_weights_rad(THETA)  # -90..+90 inclusive
    step = np.pi / 140
    np.testing.assert_allclose(w[1:-1], step, rtol=1e-9)
    np.testing.assert_allclose(w[[0, -1]], step / 2, rtol=1e-9)
    full = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    np.testing.assert_allclose(recon.angular_weights_rad(full).sum(), np.pi, rtol=1e-12)
    irregular = np.linspace(0, np.pi, 50, endpoint=False) + np.random.default_rng(1).uniform(0, 0.02, 50)
    w = recon.angular_weights_rad(irregular)
    np.testing.assert_allclose(w.sum(), np.pi, rtol=1e-12)
    np.testing.assert_allclose(w[1:-1], 0.5 * (irregular[2:] - irregular[:-2]), rtol=1e-12)
    with pytest.warns(UserWarning, match="gap"):
        recon.angular_weights_rad(np.deg2rad(np.linspace(0, 120, 60)))


def test_ramp_filter_response():
    h = recon.ramp_filter_response(256)
    # Kak & Slaney: |f| away from DC, small positive DC (no DC offset of a sampled |f|).
    assert 0 < h[0] < 1.0 / 256
    np.testing.assert_allclose(h[64], 0.25, atol=1e-3)
    np.testing.assert_allclose(h[-1], 0.5, atol=1e-3)
    np.testing.assert_allclose(recon.ramp_filter_response(256, "shepp-logan")[-1], 0.5 * 2 / np.pi, atol=2e-3)
    assert abs(recon.ramp_filter_response(256, "hann")[-1]) < 1e-12
    with pytest.raises(ValueError):
        recon.ramp_filter_response(256, "cosine")


# ----------------------------------------------------------------------------------
# Centre of rotation
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("offset_px", [OFFSET_PX, -2.81])
def test_centre_finders_on_noisy_data(offset_px):
    center = (N - 1) / 2 + offset_px
    clean = analytic_sinogram(THETA, N, center)
    rng = np.random.default_rng(11)
    noisy = poisson_line_integrals(np.repeat(clean[:, None, :], 5, axis=1), 1e4, rng)
    vo_one = recon.find_center_vo(noisy[:, 0], THETA)
    pc, pair, _ = recon.find_center_phase_correlation_pair(noisy, THETA)
    res = recon.find_center(noisy, THETA)
    print(
        f"\ncentre truth {center:.3f}: Vo one row {vo_one - center:+.3f}, Vo rows "
        f"{np.round(np.array(res.center_vo_rows_px) - center, 3)}, chosen {res.center_px - center:+.3f}, "
        f"phase corr {pc - center:+.3f} px"
    )
    assert pair == (0, 140)
    assert abs(vo_one - center) < 0.15
    assert abs(pc - center) < 0.15
    assert abs(res.center_px - center) < 0.15
    assert res.method == "vo" and res.center_px == res.center_vo_px
    assert res.warning == ""
    assert abs(res.difference_px) < 0.3


@pytest.mark.parametrize(
    "theta",
    [
        np.deg2rad(np.linspace(0, 180, 181)),
        np.linspace(0, np.pi, 180, endpoint=False),
        np.deg2rad(np.linspace(30, 210, 121)),
    ],
    ids=["0-180-inclusive", "0-180-exclusive", "30-210"],
)
def test_vo_handles_any_180_degree_span(theta):
    sino = analytic_sinogram(theta, N, CENTER)
    assert abs(recon.find_center_vo(sino, theta) - CENTER) < 0.05


def test_vo_refuses_short_span():
    theta = np.deg2rad(np.linspace(0, 120, 100))
    with pytest.raises(ValueError, match="180"):
        recon.find_center_vo(analytic_sinogram(theta, 64, 32.0), theta)


def test_centre_phase_correlation_exact_on_clean_pair():
    for center in (CENTER, 60.1, 70.45):
        sino = analytic_sinogram(THETA[[0, -1]], N, center)
        assert abs(recon.find_center_phase_correlation(sino[0], sino[1]) - center) < 0.03


def test_centre_warning_when_methods_disagree():
    """A sample that moved 2 px before the last projection fools only the pair method."""
    clean = analytic_sinogram(THETA, N, CENTER)
    data = np.repeat(clean[:, None, :], 3, axis=1).astype(np.float32)
    data[-1] = np.repeat(analytic_sinogram(THETA[-1:], N, CENTER + 2.0), 3, axis=0)
    res = recon.find_center(data, THETA, tolerance_px=0.5)
    assert abs(res.center_px - CENTER) < 0.15
    assert abs(res.difference_px) > 0.5
    assert "disagree" in res.warning


# ----------------------------------------------------------------------------------
# Normalisation, zingers, rings
# ----------------------------------------------------------------------------------


def test_flat_dark_normalize_exact_and_guarded():
    rng = np.random.default_rng(2)
    shape = (5, 4, 6)
    dark = np.full(shape[1:], 100.0)
    flat = rng.uniform(3000, 5000, shape[1:])
    t = rng.uniform(0.05, 1.0, shape)
    proj = (dark + t * (flat - dark)).astype(np.float32)
    flats = np.stack([flat, flat, flat]).astype(np.float32)
    flats[1, 2, 3] += 60000.0  # zinger in one flat: the median ignores it
    darks = np.stack([dark, dark + 1, dark - 1]).astype(np.float32)
    li, n_clipped = recon.flat_dark_normalize(proj, flats, darks)
    assert li.dtype == np.float32 and n_clipped == 0
    np.testing.assert_allclose(li, -np.log(t), atol=2e-5)

    proj[0, 0, 0] = 50.0  # below the dark: negative transmission
    proj[1, 1, 1] = dark[1, 1] + 1e-4 * (flat[1, 1] - dark[1, 1])  # T = 1e-4 < 1e-3
    flats[:, 3, 5] = darks[:, 3, 5]  # dead pixel: f - d = 0 in every projection
    li, n_clipped = recon.flat_dark_normalize(proj, flats, darks, min_transmission=1e-3)
    assert n_clipped == 2 + shape[0]
    assert li[0, 0, 0] == li[1, 1, 1] == np.float32(-np.log(np.float32(1e-3)))
    assert np.all(li[:, 3, 5] == li[0, 0, 0])
    assert np.all(np.isfinite(li))


def test_remove_zingers_leaves_clean_noisy_projections_alone():
    rng = np.random.default_rng(3)
    clean = analytic_sinogram(THETA[::7], N, CENTER)  # 21 angles, structured projections
    expected = 1e4 * np.exp(-np.repeat(clean[:, None, :], 32, axis=1))
    counts = rng.poisson(expected).astype(np.float32)
    cleaned, n = recon.remove_zingers(counts)
    assert n == 0
    np.testing.assert_array_equal(cleaned, counts)

    zingers = counts.copy()
    idx = rng.choice(counts.size, size=25, replace=False)
    zingers.ravel()[idx] += rng.uniform(5e3, 3e4, 25)
    cleaned, n = recon.remove_zingers(zingers)
    assert n == 25
    changed = np.flatnonzero(cleaned.ravel() != zingers.ravel())
    np.testing.assert_array_equal(np.sort(changed), np.sort(idx))
    # Replaced by the local median: close to the noise-free count (Poisson noise 1-3 %).
    rel = np.abs(cleaned.ravel()[idx] / expected.ravel()[idx] - 1)
    print(
        f"\nzingers: 25 planted, {n} replaced, median |replacement / noise-free - 1| = {np.median(rel):.3f}, "
        f"max {rel.max():.3f}"
    )
    assert rel.max() < 0.06


def test_ring_removal_matches_algotom_per_sinogram():
    algotom_removal = pytest.importorskip("algotom.prep.removal")
    rng = np.random.default_rng(5)
    clean = np.repeat(analytic_sinogram(THETA, N, CENTER)[:, None, :], 3, axis=1)
    data = (clean + rng.normal(0, 0.01, clean.shape)).astype(np.float32)  # no ties
    ours = recon.remove_rings_sorting(data, size=21)
    assert ours.dtype == np.float32 and ours.shape == data.shape
    np.testing.assert_array_equal(recon.remove_rings_sorting(data[:, 1:2], size=21), ours[:, 1:2])
    for row in range(3):
        ref = algotom_removal.remove_stripe_based_sorting(data[:, row, :], size=21)
        np.testing.assert_allclose(ours[:, row, :], ref, atol=1e-6)


def test_ring_removal_reduces_planted_stripes():
    """Stripes in a 512-px, 301-angle noisy scan; window 11 px (see remove_rings_sorting
    notes: the window must be small compared with the detector and the features)."""
    n, factor = 512, 4
    theta = np.deg2rad(np.linspace(-90, 90, 301))
    center = (n - 1) / 2 + OFFSET_PX
    ell = scaled(ELLIPSES, factor)
    rng = np.random.default_rng(4)
    data = poisson_line_integrals(analytic_sinogram(theta, n, center, ellipses=ell)[:, None, :], 1e4, rng)
    truth = analytic_image(n, ellipses=ell, sub=2)
    fov, _ = fov_masks(n, center, truth)
    columns = (420, 307, 204, 100)
    striped = data.copy()
    striped[:, :, list(columns)] += 0.1

    reference = recon.fbp(data, theta, center)[0]
    with_rings = recon.fbp(striped, theta, center)[0]
    corrected = recon.fbp(recon.remove_rings_sorting(striped, size=11), theta, center)[0]

    yy, xx = np.mgrid[:n, :n] - (n - 1) / 2
    rad = np.hypot(xx, yy)
    bins = np.arange(0.0, min(center, n - 1 - center), 0.5)
    idx = np.digitize(rad.ravel(), bins)

    def ring_amplitude(rec, column):
        diff = (rec - reference).ravel()
        prof = np.bincount(idx, diff, minlength=bins.size + 1) / np.maximum(
            np.bincount(idx, minlength=bins.size + 1), 1
        )
        near = np.abs(bins - abs(column - center)) <= 1.5
        return np.abs(prof[1:][near]).max()

    ratios = [ring_amplitude(with_rings, c) / ring_amplitude(corrected, c) for c in columns]
    nrmse_ref = figures(reference, truth, fov)["nrmse"]
    nrmse_corr = figures(corrected, truth, fov)["nrmse"]
    print(f"\nring amplitude reduction per stripe {np.round(ratios, 1)}; NRMSE {nrmse_ref:.4f} -> {nrmse_corr:.4f}")
    assert min(ratios) >= 5.0
    assert nrmse_corr <= 1.03 * nrmse_ref


# ----------------------------------------------------------------------------------
# Whole chain
# ----------------------------------------------------------------------------------


def _scan(n=64, rows=4, offset=1.37, flat_counts=5000.0, dark_counts=100.0, seed=8):
    rng = np.random.default_rng(seed)
    center = (n - 1) / 2 + offset
    ell = scaled(ELLIPSES, 0.5)
    li = np.repeat(analytic_sinogram(THETA, n, center, ellipses=ell)[:, None, :], rows, axis=1)
    proj = rng.poisson(flat_counts * np.exp(-li)) + rng.poisson(dark_counts, li.shape)
    flats = rng.poisson(flat_counts, (5, rows, n)) + rng.poisson(dark_counts, (5, rows, n))
    darks = rng.poisson(dark_counts, (5, rows, n))
    proj = proj.astype(np.float32)
    zinger_idx = rng.choice(proj.size, size=10, replace=False)
    proj.ravel()[zinger_idx] += 2.0 * flat_counts
    ps = ProjectionSet(
        proj, flats.astype(np.float32), darks.astype(np.float32), THETA.copy(), pixel_size_um=0.5, source="analytic"
    )
    return ps, center, analytic_image(n, ellipses=ell)


#: reconstruct() settings of this test (reconstruct has no defaults: the workflow passes config/config.yaml's)
SETTINGS = dict(
    zinger_threshold=0.3,
    ring_filter_size=0,
    ring_method="profile",
    center_px=None,
    filter_name="ramp",
    pad=True,
    min_transmission=1e-3,
    center_tolerance_px=0.5,
)


def test_reconstruct_chain():
    ps, center, truth_px = _scan()
    volume, info = recon.reconstruct(ps, **SETTINGS)
    print(f"\nreconstruct: {info}")
    assert volume.shape == (4, 64, 64) and volume.dtype == np.float32
    assert abs(info["center_px"] - center) < 0.15 and info["center_source"] == "auto"
    assert abs(info["center_phase_correlation_px"] - center) < 0.15
    assert info["center_warning"] == ""
    assert info["n_zingers"] >= 10 and info["n_clipped"] == 0
    truth_um = truth_px / 0.5  # 1/um
    _, interior = fov_masks(64, center, truth_um)
    gain = figures(volume.mean(axis=0), truth_um, interior)["gain"]
    assert abs(gain - 1) < 0.03

    given, info2 = recon.reconstruct(ps, **{**SETTINGS, "center_px": center, "ring_filter_size": 5})
    assert info2["center_source"] == "given" and info2["center_px"] == center
    assert given.shape == volume.shape


def test_reconstruct_needs_pixel_size():
    ps, _, _ = _scan(n=32, rows=1)
    ps.pixel_size_um = None
    with pytest.raises(ValueError, match="pixel size"):
        recon.reconstruct(ps, **SETTINGS)


def test_reconstruct_flags_disagreeing_centres_and_logs_its_steps(caplog):
    """The chain records the disagreement as a flag and logs each step and the slices as k/N."""
    import logging

    clean = analytic_sinogram(THETA, N, CENTER)
    lines = np.repeat(clean[:, None, :], 4, axis=1)
    lines[-1] = np.repeat(analytic_sinogram(THETA[-1:], N, CENTER + 2.0), 4, axis=0)
    flats = np.full((1, 4, N), 1000.0)
    counts = (flats[0] * np.exp(-lines)).astype(np.float32)
    data = ProjectionSet(
        projections=counts, flats=flats, darks=np.zeros_like(flats), theta_rad=THETA, pixel_size_um=0.5, source="x"
    )
    settings = {**SETTINGS, "zinger_threshold": None, "min_transmission": 1e-4}  # tolerance 0.5 px
    logger = logging.getLogger("batteryct.test_recon")
    with caplog.at_level(logging.INFO, logger="batteryct.test_recon"):
        _, info = recon.reconstruct(data, **settings, logger=logger)
    assert info["center_estimates_disagree"] is True
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(" (")[0].split(",")[0] for m in messages if m.startswith("reconstruction")] == [
        f"reconstruction: {k}/5 steps" for k in range(1, 6)
    ]
    assert any(m.startswith("back-projection: 4/4 slices") and m.endswith("s elapsed") for m in messages)
    _, info = recon.reconstruct(data, **{**settings, "center_tolerance_px": 5.0})
    assert info["center_estimates_disagree"] is False
