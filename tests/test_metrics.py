"""Tests of batteryct.metrics against analytic surface areas and known fractions."""

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import measure

from batteryct.metrics import (
    active_band,
    dice,
    interface_area_um2,
    kappa_field,
    phase_fractions,
    scan_metrics,
    specific_surface_area_per_um,
    surface_area_um2,
)
from batteryct.segment import fov_cylinder_mask

VOXEL = 0.512


def digital_ball(shape, centre_um, radius_um, spacing=(1.0, 1.0, 1.0)):
    """Voxels whose centre lies within ``radius_um`` of ``centre_um``."""
    z, y, x = [np.arange(n) * s for n, s in zip(shape, spacing)]
    return (
        (z[:, None, None] - centre_um[0]) ** 2
        + (y[None, :, None] - centre_um[1]) ** 2
        + (x[None, None, :] - centre_um[2]) ** 2
    ) <= radius_um**2


@pytest.mark.parametrize("radius", [5, 10, 20])
def test_digital_sphere_area_within_3_percent(radius):
    rng = np.random.default_rng(radius)
    n = 2 * radius + 9
    errors = []
    for trial in range(3):
        offset = rng.uniform(-0.5, 0.5, 3) if trial else np.zeros(3)
        c = ((n - 1) / 2 + offset) * VOXEL
        m = digital_ball((n, n, n), c, radius * VOXEL, (VOXEL,) * 3)
        area = surface_area_um2(m, VOXEL)
        errors.append(area / (4 * np.pi * (radius * VOXEL) ** 2) - 1)
    plain = surface_area_um2(m, VOXEL, smooth_sigma_voxels=0) / (4 * np.pi * (radius * VOXEL) ** 2) - 1
    print(f"\nR={radius}: relative errors {np.round(errors, 4).tolist()}; plain marching cubes {plain:+.4f}")
    assert max(abs(e) for e in errors) < 0.03
    assert plain > 0.05  # the staircase error the smoothing removes


def test_cube_area():
    for side, tol in ((40, 0.03), (20, 0.05)):
        m = np.zeros((side + 10,) * 3, bool)
        m[5 : 5 + side, 5 : 5 + side, 5 : 5 + side] = True
        err = surface_area_um2(m, 1.0) / (6 * side**2) - 1
        print(f"\ncube {side}: relative error {err:+.4f}")
        assert -tol < err < 0.005  # rounded edges and corners can only lose area
    # a 1-voxel-thin sheet does not vanish (topology clamp)
    sheet = np.zeros((20, 30, 30), bool)
    sheet[10, 5:25, 5:25] = True
    a = surface_area_um2(sheet, 1.0)
    assert 0.8 * 800 < a < 1.35 * 880


def test_empty_and_border_touching_masks():
    assert surface_area_um2(np.zeros((8, 9, 10), bool), VOXEL) == 0.0
    assert interface_area_um2(np.zeros((8, 9, 10), bool), VOXEL) == 0.0
    assert specific_surface_area_per_um(np.ones((8, 9, 10), bool), VOXEL) == 0.0
    # sphere R = 10 with centre 5.5 voxels from the z = -0.5 face: cap + cut disc
    R, d = 10.0, 5.5
    m = digital_ball((30, 30, 30), (5.0, 15.2, 14.9), R)
    expect = 2 * np.pi * R * (R + d) + np.pi * (R**2 - d**2)
    area = surface_area_um2(m, 1.0)
    print(f"\nsphere cut by the array border: {area:.1f} vs {expect:.1f}")
    assert abs(area / expect - 1) < 0.02
    # as an interface the cut disc does not count
    assert abs(interface_area_um2(m, 1.0) / (2 * np.pi * R * (R + d)) - 1) < 0.02


def test_anisotropic_voxels():
    R = 5.0  # um
    for spacing in ((1.0, 0.5, 0.5), (0.5, 0.5, 1.0), (0.8, 0.6, 0.5)):
        shape = tuple(int(2 * R / s + 8) for s in spacing)
        c = [(n - 1) * s / 2 + 0.13 for n, s in zip(shape, spacing)]
        m = digital_ball(shape, c, R, spacing)
        err = surface_area_um2(m, spacing) / (4 * np.pi * R**2) - 1
        print(f"\nanisotropic {spacing}: relative error {err:+.4f}")
        assert abs(err) < 0.03
    with pytest.raises(ValueError):
        surface_area_um2(m, (1.0, 0.5))
    with pytest.raises(ValueError):
        surface_area_um2(m, -1.0)


def test_blocks_do_not_change_the_area():
    rng = np.random.default_rng(7)
    m = np.zeros((50, 40, 40), bool)
    for _ in range(12):
        c = rng.uniform(0, 40, 3) * [1.25, 1, 1]
        m |= digital_ball(m.shape, c, rng.uniform(3, 9))
    whole = surface_area_um2(m, VOXEL, block_size=None)
    chunked = surface_area_um2(m, VOXEL, block_size=9)
    assert abs(chunked - whole) < 1e-6 * whole
    roi = fov_cylinder_mask(m.shape, 0.9)
    a = specific_surface_area_per_um(m, VOXEL, roi, block_size=None)
    b = specific_surface_area_per_um(m, VOXEL, roi, block_size=16)
    assert abs(a - b) < 1e-6 * a


def _cosine_field(shape, scale, seed, n_modes=30):
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n_modes, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    k = d * rng.uniform(2 * np.pi / 24, 2 * np.pi / 10, (n_modes, 1))
    phase = rng.uniform(0, 2 * np.pi, n_modes)
    axes = [np.arange(int(s * scale)) / scale for s in shape]
    g = np.zeros([a.size for a in axes], np.float32)
    for i in range(n_modes):
        g += np.cos(
            (k[i, 0] * axes[0] + phase[i])[:, None, None]
            + (k[i, 1] * axes[1])[None, :, None]
            + (k[i, 2] * axes[2])[None, None, :]
        ).astype(np.float32)
    return g


def test_porous_structure_against_oversampled_reference():
    """Bicontinuous random structure (features 5-12 voxels): the voxelised interface area
    in a ROI box vs marching cubes on the analytic field sampled 3x finer."""
    shape = (48, 48, 48)
    level = 1.0  # solid fraction ~0.4
    m = _cosine_field(shape, 1, 0) > level
    fine = _cosine_field(shape, 3, 0)
    v, f, _, _ = measure.marching_cubes(fine, level, spacing=(1 / 3,) * 3)
    tri = v[f]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    cen = tri.mean(axis=1)
    lo, hi = 8, 40
    inbox = np.all((cen >= lo - 0.5) & (cen < hi - 0.5), axis=1)
    ref = area[inbox].sum()
    roi = np.zeros(shape, bool)
    roi[lo:hi, lo:hi, lo:hi] = True
    got = interface_area_um2(m, 1.0, roi, outside_roi="use")
    got_ext = interface_area_um2(m, 1.0, roi)
    plain = interface_area_um2(m, 1.0, roi, smooth_sigma_voxels=0, outside_roi="use")
    print(
        f"\nporous: solid {m.mean():.3f}; area {got:.1f} (extend {got_ext:.1f}, plain MC {plain:.1f}) "
        f"vs reference {ref:.1f}: {got / ref - 1:+.4f} / {got_ext / ref - 1:+.4f} / {plain / ref - 1:+.4f}"
    )
    assert abs(got / ref - 1) < 0.02
    assert abs(got_ext / ref - 1) < 0.03


def test_ssa_roi_cutting_a_slab_ignores_cut_faces():
    n = 64
    m = np.zeros((n, n, n), bool)
    m[:40] = True  # solid below z = 39.5: one interface plane
    roi = np.zeros_like(m)
    roi[20:60, 10:50, 5:60] = True  # cuts the solid at z = 20, y = 10/50, x = 5/60
    vox_vol = VOXEL**3
    expect_area = 40 * 55 * VOXEL**2
    for mode in ("extend", "use"):
        ssa = specific_surface_area_per_um(m, VOXEL, roi, outside_roi=mode)
        assert abs(ssa / (expect_area / (roi.sum() * vox_vol)) - 1) < 1e-3, mode
    # the naive measure (closed surface of the solid inside the ROI) counts the cut faces
    naive = surface_area_um2(m & roi, VOXEL)
    assert naive > 2.5 * expect_area
    # whole array: the array faces are cut faces too
    assert abs(specific_surface_area_per_um(m, 1.0) - 1.0 / n) < 1e-6


def test_ssa_sphere_cut_by_roi_half_space_and_fov():
    n = 64
    R = 15.0
    c = (31.3, 30.8, 32.1)
    s = digital_ball((n, n, n), c, R)
    roi = np.zeros_like(s)
    roi[:32] = True  # boundary at z = 31.5
    cap = 2 * np.pi * R * (R + 31.5 - c[0])
    for mode in ("extend", "use"):
        err = interface_area_um2(s, 1.0, roi, outside_roi=mode) / cap - 1
        assert abs(err) < 0.02, (mode, err)
    # a particle cut by the FOV cylinder: outside the FOV the labels are 0 by construction
    fov = fov_cylinder_mask((n, n, n))
    s2 = digital_ball((n, n, n), (32.0, 31.5, 5.0), R)
    ref = interface_area_um2(s2, 1.0, fov, outside_roi="use")  # uncut particle, in-FOV part
    cut = s2 & fov
    ext = interface_area_um2(cut, 1.0, fov)
    use = interface_area_um2(cut, 1.0, fov, outside_roi="use")
    print(f"\nFOV-cut particle: extend {ext:.1f}, use {use:.1f}, reference {ref:.1f}")
    assert abs(ext / ref - 1) < 0.03
    assert use > 1.1 * ref  # meshing the cut data as is counts (part of) the cut face


def test_phase_fractions_and_scan_metrics():
    labels = np.zeros((10, 10, 10), np.uint8)
    labels[:4] = 1  # 400 active
    labels[4:6] = 3  # 200 binder
    labels[6, :5] = 2  # 50 internal void
    f = phase_fractions(labels)
    assert f == pytest.approx(
        {
            "solid_fraction": 0.6,
            "active_fraction": 0.4,
            "binder_fraction": 0.2,
            "porosity": 0.4,
            "internal_void_fraction": 0.05,
        }
    )
    roi = np.zeros_like(labels, bool)
    roi[2:8] = True  # 200 active, 200 binder, 50 void, 150 open pore
    f = phase_fractions(labels, roi)
    assert f["solid_fraction"] == pytest.approx(400 / 600)
    assert f["porosity"] == pytest.approx(200 / 600)
    assert f["internal_void_fraction"] == pytest.approx(50 / 600)
    assert sum(f[k] for k in ("active_fraction", "binder_fraction", "porosity")) == pytest.approx(1.0)

    # scan metrics on a layered electrode: interface = plane z = 5.5 (solid = 1 and 3)
    lab = np.zeros((40, 40, 40), np.uint8)
    lab[:4] = 1
    lab[4:6] = 3
    out = scan_metrics(lab, VOXEL, smooth_sigma_voxels=0.8)
    assert set(out) == {
        "solid_fraction",
        "porosity",
        "internal_void_fraction",
        "active_fraction",
        "binder_fraction",
        "specific_surface_area_per_um",
        "n_voxels_roi",
    }
    assert out["n_voxels_roi"] == 40**3
    assert out["solid_fraction"] == pytest.approx(6 / 40)
    assert out["specific_surface_area_per_um"] == pytest.approx(1 / (40 * VOXEL), rel=1e-3)
    roi = np.zeros(lab.shape, bool)
    roi[2:20] = True
    out = scan_metrics(lab, VOXEL, roi, smooth_sigma_voxels=0.8)
    assert out["n_voxels_roi"] == 18 * 40 * 40
    assert out["specific_surface_area_per_um"] == pytest.approx(1 / (18 * VOXEL), rel=1e-3)
    with pytest.raises(ValueError):
        phase_fractions(labels, np.zeros_like(labels, bool))


def test_dice():
    a = np.zeros((4, 4, 4), bool)
    b = np.zeros_like(a)
    assert dice(a, b) == 1.0
    a[0] = True  # 16
    b[0, :2] = True  # 8, all in a
    assert dice(a, b) == pytest.approx(2 * 8 / 24)
    assert dice(a, a) == 1.0
    assert dice(a, ~a) == 0.0
    with pytest.raises(ValueError):
        dice(a, a[:2])


def test_banded_curvature_kernel_equals_numpy_gradients():
    """metrics.kappa_field (numba, band only) against -div(grad f / |grad f|) by np.gradient."""
    rng = np.random.default_rng(0)
    mask = ndi.gaussian_filter(rng.standard_normal((30, 28, 26)), 2.0) > 0
    f = ndi.gaussian_filter(mask.astype(np.float32), 0.8, mode="nearest")
    sp = np.array([0.5, 0.4, 0.3])
    g = np.gradient(f, *sp)
    mag = np.sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]) + np.float32(1e-12)
    reference = -sum(np.gradient(g[ax] / mag, sp[ax], axis=ax) for ax in range(3))
    band = np.empty(mask.shape, bool)
    active_band(mask, band)
    assert 0.1 < band.mean() < 0.9
    kappa = np.zeros(f.shape, np.float32)
    kappa_field(f, sp, band, np.empty((3, *f.shape), np.float32), kappa)
    np.testing.assert_allclose(kappa[band], reference[band], rtol=1e-5, atol=1e-5 * np.abs(reference).max())
    assert np.all(kappa[~band] == 0)
    # the band holds every cube with corners on both sides and nothing else
    mixed = np.zeros(mask.shape, bool)
    cubes = sum(
        mask[dz : dz + 29, dy : dy + 27, dx : dx + 25].astype(int) for dz in (0, 1) for dy in (0, 1) for dx in (0, 1)
    )
    for dz in (0, 1):
        for dy in (0, 1):
            for dx in (0, 1):
                mixed[dz : dz + 29, dy : dy + 27, dx : dx + 25] |= (cubes > 0) & (cubes < 8)
    assert np.array_equal(band, mixed)
