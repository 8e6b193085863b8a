"""Tests of batteryct.segment against synthetic volumes with known ground truth."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from batteryct.metrics import dice
from batteryct.segment import (
    clean_binary,
    denoise,
    estimate_noise_sigma,
    fov_cylinder_mask,
    label_pore_space,
    segment_volume,
)

MU_ACTIVE = 0.5  # 1/um
# keywords the workflow sets from its config (here the values these tests were written with)
SEG = dict(denoise_method="nlm", denoise_strength=0.6, min_solid_voxels=32, min_pore_voxels=16, seed=0)


# ----------------------------------------------------------------------------------
# synthetic data
# ----------------------------------------------------------------------------------
def _place_spheres(n, rmin, rmax, count, rng, gap, margin=-4.0, max_tries=20000):
    cs, rs = [], []
    for _ in range(max_tries):
        if len(cs) >= count:
            break
        r = rng.uniform(rmin, rmax)
        c = rng.uniform(r + margin, n - 1 - r - margin, 3)
        if all(np.linalg.norm(c - c2) > r + r2 + gap for c2, r2 in zip(cs, rs)):
            cs.append(c)
            rs.append(r)
    return np.array(cs), np.array(rs)


def _ball_into(arr, c, r, value):
    lo = np.maximum(np.floor(c - r).astype(int), 0)
    hi = np.minimum(np.ceil(c + r).astype(int) + 1, arr.shape)
    if np.any(hi <= lo):
        return
    z, y, x = np.ogrid[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    m = (z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2 <= r * r
    arr[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]][m] = value


def make_powder(n=112, seed=0, snr=9.0, blur=0.8):
    """Non-overlapping spheres (R 8-20 voxels) in air; up to 8 hold a void of R 3-5."""
    rng = np.random.default_rng(seed)
    cs, rs = _place_spheres(n, 8, 20, 40, rng, gap=2.0)
    truth = np.zeros((n, n, n), np.uint8)
    for c, r in zip(cs, rs):
        _ball_into(truth, c, r, 1)
    n_void = 0
    for c, r in zip(cs, rs):
        if r < 10 or n_void >= 8:
            continue
        rv = rng.uniform(3, 5)
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        cv = c + d * rng.uniform(0, r - rv - 3)
        if np.any(cv - rv < 2) or np.any(cv + rv > n - 3):
            continue
        _ball_into(truth, cv, rv, 2)
        n_void += 1
    vol = ndi.gaussian_filter((truth == 1).astype(np.float32) * MU_ACTIVE, blur)
    vol += rng.normal(0, MU_ACTIVE / snr, vol.shape).astype(np.float32)
    return vol.astype(np.float32), truth, n_void


def make_electrode(n=96, seed=0, snr=10.0, blur=0.8, binder_rel=0.2, binder_frac_of_pore=0.35):
    """Active spheres (R 6-14), binder blobs (20 % of active attenuation) in the pores."""
    rng = np.random.default_rng(seed)
    cs, rs = _place_spheres(n, 6, 14, 200, rng, gap=1.0)
    truth = np.zeros((n, n, n), np.uint8)
    for c, r in zip(cs, rs):
        _ball_into(truth, c, r, 1)
    field = ndi.gaussian_filter(rng.normal(size=truth.shape).astype(np.float32), 2.5)
    pore = truth == 0
    truth[pore & (field > np.quantile(field[pore], 1 - binder_frac_of_pore))] = 3
    vol = np.where(truth == 1, MU_ACTIVE, np.where(truth == 3, binder_rel * MU_ACTIVE, 0.0)).astype(np.float32)
    vol = ndi.gaussian_filter(vol, blur)
    vol += rng.normal(0, MU_ACTIVE / snr, vol.shape).astype(np.float32)
    return vol.astype(np.float32), truth


@pytest.fixture(scope="module")
def powder():
    vol, truth, n_void = make_powder()
    res = segment_volume(vol, **SEG, fov_radius_fraction=None)
    labels, info = res.labels, res.info
    return vol, truth, n_void, labels, info


@pytest.fixture(scope="module")
def electrode():
    vol, truth = make_electrode()
    res = segment_volume(vol, n_solid_phases=2, **SEG, fov_radius_fraction=None)
    labels, info = res.labels, res.info
    return vol, truth, labels, info


# ----------------------------------------------------------------------------------
# ROI
# ----------------------------------------------------------------------------------
def test_fov_cylinder_mask():
    m = fov_cylinder_mask((4, 21, 21))
    assert m.shape == (4, 21, 21) and m.dtype == bool
    assert np.array_equal(m[0], m[3])
    assert m[0, 10, 10] and m[0, 10, 0] and m[0, 0, 10] and m[0, 20, 10]  # radius 10 reaches the edge centres
    assert not m[0, 0, 0] and not m[0, 20, 20]
    assert abs(m[0].sum() - np.pi * 10**2) / (np.pi * 10**2) < 0.03
    half = fov_cylinder_mask((2, 21, 21), 0.5)
    assert half[0, 10, 15] and not half[0, 10, 16]
    # even size: centre between voxels, symmetric
    e = fov_cylinder_mask((1, 20, 30))[0]
    assert np.array_equal(e, e[::-1]) and np.array_equal(e, e[:, ::-1])
    # radius (20-1)/2 = 9.5 about (9.5, 14.5); row y=10 is 0.5 off-axis: |x-14.5| <= 9.487
    assert e[10, 0:15].sum() == 9 and not e[10, 5] and e[10, 6]


# ----------------------------------------------------------------------------------
# pore-space labelling and cleaning (exact small cases)
# ----------------------------------------------------------------------------------
def _block_with_cavity(n=20):
    solid = np.zeros((n, n, n), bool)
    solid[4:16, 4:16, 4:16] = True
    solid[8:12, 8:12, 8:12] = False  # closed cavity, 64 voxels
    return solid


def test_internal_void_and_open_pores():
    solid = _block_with_cavity()
    lab = label_pore_space(solid)
    assert lab.dtype == np.uint8
    assert np.all(lab[8:12, 8:12, 8:12] == 2)
    assert np.count_nonzero(lab == 2) == 64
    assert np.all(lab[~solid & (lab != 2)] == 0)
    assert np.all(lab[solid] == 1)


def test_void_touching_volume_face_is_open():
    solid = np.ones((12, 12, 12), bool)
    solid[0:3, 5:7, 5:7] = False  # pit open to the z=0 face
    solid[5:8, 5:8, 9:12] = False  # pit open to the x=11 face
    solid[4:6, 1:3, 1:3] = False  # truly closed
    lab = label_pore_space(solid)
    assert np.all(lab[0:3, 5:7, 5:7] == 0)
    assert np.all(lab[5:8, 5:8, 9:12] == 0)
    assert np.all(lab[4:6, 1:3, 1:3] == 2)


def test_void_touching_outside_mask_is_open():
    solid = np.ones((10, 20, 20), bool)
    solid[3:6, 8:12, 6:9] = False  # cavity away from the faces
    outside = np.zeros_like(solid)
    outside[2:7, 7:13, 8:10] = True  # e.g. outside the FOV; overlaps the cavity at x = 8
    solid[outside] = False
    assert np.all(label_pore_space(solid)[3:6, 8:12, 6:9] == 2)
    lab = label_pore_space(solid, outside_mask=outside)
    assert np.all(lab[3:6, 8:12, 6:9] == 0)
    assert np.all(lab[outside] == 0)


def test_dual_connectivity_diagonal_contact_is_closed():
    """A cavity touching the open pore space only through an edge is closed under
    6-connected pores; through a shared face it is open."""
    solid = np.ones((12, 12, 12), bool)
    solid[:, :, 0:2] = False  # open slab of pore at the x = 0 face
    solid[5:7, 4:6, 3:5] = False  # cavity; x = 3 is one voxel from the slab (x <= 1)
    lab = label_pore_space(solid)
    assert np.all(lab[5:7, 4:6, 3:5] == 2)
    # edge contact: pore voxel at (z=4, y=4, x=2) touches the slab through its face at x=1
    # (so it is open) and touches the cavity voxel (5, 4, 3)? -- only through an edge
    solid_edge = solid.copy()
    solid_edge[4, 4, 2] = False  # neighbours: (4,4,1) open slab [face]; (5,4,3) cavity [edge]
    lab_e = label_pore_space(solid_edge)
    assert lab_e[4, 4, 2] == 0
    assert np.all(lab_e[5:7, 4:6, 3:5] == 2), "edge contact must not open the cavity"
    solid_face = solid.copy()
    solid_face[5, 4, 2] = False  # shares a face with the slab (5,4,1) and the cavity (5,4,3)
    lab_f = label_pore_space(solid_face)
    assert np.all(lab_f[5:7, 4:6, 3:5] == 0)
    # corner contact, too
    solid_corner = solid.copy()
    solid_corner[4, 3, 2] = False  # corner-neighbour of (5, 4, 3)
    assert np.all(label_pore_space(solid_corner)[5:7, 4:6, 3:5] == 2)


def test_clean_binary_sizes_and_connectivity():
    n = 40
    solid = np.zeros((n, n, n), bool)
    solid[5:35, 5:35, 5:35] = True
    z, y, x = np.ogrid[:n, :n, :n]
    void = (z - 20) ** 2 + (y - 20) ** 2 + (x - 20) ** 2 <= 3.0**2  # 123-voxel real void
    solid[void] = False
    solid[10:12, 10:12, 10:12] = False  # 8-voxel closed noise pore -> filled
    solid[5:7, 10:12, 30:32] = False  # 8-voxel pit open at the block's top surface (z = 5)
    solid[0:2, 0:2, 0:2] = True  # 8-voxel speck -> removed
    solid[35, 35, 35] = True  # diagonal (corner) neighbour of the block: 26-connected, kept
    solid[2, 20, 20] = True  # isolated single voxel -> removed
    out = clean_binary(solid, min_solid_voxels=27, min_pore_voxels=16)
    assert not out[0:2, 0:2, 0:2].any()
    assert not out[2, 20, 20]
    assert out[35, 35, 35], "solid is 26-connected: a corner-attached voxel belongs to the block"
    assert out[10:12, 10:12, 10:12].all()
    assert not out[void].any(), "a 123-voxel internal void must not be filled"
    assert not out[5:7, 10:12, 30:32].any(), "open pits are never filled"
    # a small pit open to the volume face is never filled
    s2 = np.ones((10, 10, 10), bool)
    s2[0, 4:6, 4:6] = False
    assert not clean_binary(s2, 27, 16)[0, 4:6, 4:6].any()
    # ... nor one open to the outside mask
    s3 = np.ones((10, 10, 10), bool)
    s3[4:6, 4:6, 4:6] = False
    om = np.zeros_like(s3)
    om[5, 5, 5] = True
    assert not clean_binary(s3, 27, 16, outside_mask=om)[4:6, 4:6, 4:6].any()
    assert clean_binary(s3, 27, 16)[4:6, 4:6, 4:6].all()


# ----------------------------------------------------------------------------------
# denoising
# ----------------------------------------------------------------------------------
def test_denoise_blocks_equal_whole_volume_and_reduce_noise():
    rng = np.random.default_rng(1)
    vol = np.zeros((40, 48, 48), np.float32)
    vol[:, :, 24:] = 1.0
    vol += rng.normal(0, 0.1, vol.shape).astype(np.float32)
    sigma = estimate_noise_sigma(vol)
    assert abs(sigma - 0.1) < 0.01
    whole = denoise(vol, "nlm", sigma=sigma, block_size=None)
    blocks = denoise(vol, "nlm", sigma=sigma, block_size=16)
    assert whole.dtype == np.float32
    np.testing.assert_allclose(blocks, whole, rtol=0, atol=1e-6)  # float rounding of the integral images only
    assert whole[:, :, 2:20].std() < 0.35 * vol[:, :, 2:20].std()
    # the step stays sharp: the 0.5 crossing stays between x = 23 and 24
    prof = whole[:, 10:38, :].mean(axis=(0, 1))
    assert prof[22] < 0.3 and prof[25] > 0.7
    tv = denoise(vol, "tv", sigma=sigma)
    assert tv[:, :, 2:20].std() < 0.5 * vol[:, :, 2:20].std()
    assert np.array_equal(denoise(vol, "none"), vol)
    with pytest.raises(ValueError):
        denoise(vol, "median")


def test_noise_sigma_ignores_zeros_outside_fov():
    rng = np.random.default_rng(2)
    vol = rng.normal(0.3, 0.05, (16, 64, 64)).astype(np.float32)
    fov = fov_cylinder_mask(vol.shape)
    vol[~fov] = 0.0
    assert abs(estimate_noise_sigma(vol, fov) - 0.05) < 0.005


# ----------------------------------------------------------------------------------
# whole pipeline, known answers
# ----------------------------------------------------------------------------------
def test_powder_segmentation_accuracy(powder):
    vol, truth, n_void, labels, info = powder
    assert n_void >= 6
    d = dice(labels == 1, truth == 1)
    por_true = np.mean(truth != 1)
    por = np.mean((labels == 0) | (labels == 2))
    recall = np.count_nonzero((labels == 2) & (truth == 2)) / np.count_nonzero(truth == 2)
    precision = np.count_nonzero((labels == 2) & (truth == 2)) / max(np.count_nonzero(labels == 2), 1)
    print(
        f"\npowder: dice {d:.4f} porosity {por:.4f} (truth {por_true:.4f}) void recall {recall:.3f} "
        f"precision {precision:.3f} threshold {info['threshold']:.4f} sigma {info['sigma']:.4f} "
        f"timings {info['timings_s']}"
    )
    assert d >= 0.97
    assert abs(por - por_true) <= 0.01
    assert recall >= 0.8
    assert precision >= 0.95
    assert set(np.unique(labels)) <= {0, 1, 2}
    assert abs(info["threshold"] - MU_ACTIVE / 2) < 0.05 * MU_ACTIVE


def test_powder_inside_fov_cylinder():
    vol, truth, _ = make_powder(n=96, seed=4)
    fov = fov_cylinder_mask(vol.shape)
    vol = np.where(fov, vol, 0).astype(np.float32)  # reconstructions are 0 outside the FOV
    labels = segment_volume(vol, **SEG, fov_radius_fraction=1.0).labels
    assert np.all(labels[~fov] == 0)
    d = dice((labels == 1) & fov, (truth == 1) & fov)
    print(f"\npowder in FOV: dice {d:.4f}")
    assert d >= 0.97
    # a void cut open by the FOV boundary is connected to the outside
    t_lab = label_pore_space((truth == 1) & fov, outside_mask=~fov)
    assert np.count_nonzero((labels == 2) & (t_lab == 0)) <= 5


def test_electrode_three_phases(electrode):
    vol, truth, labels, info = electrode
    d_act = dice(labels == 1, truth == 1)
    d_bind = dice(labels == 3, truth == 3)
    d_pore = dice(np.isin(labels, (0, 2)), np.isin(truth, (0, 2)))
    f = np.bincount(labels.ravel(), minlength=4) / labels.size
    ft = np.bincount(truth.ravel(), minlength=4) / truth.size
    print(
        f"\nelectrode: dice active {d_act:.4f} binder {d_bind:.4f} pore {d_pore:.4f}; "
        f"fractions pore {f[0] + f[2]:.4f}/{ft[0] + ft[2]:.4f} binder {f[3]:.4f}/{ft[3]:.4f} "
        f"active {f[1]:.4f}/{ft[1]:.4f}; gmm means {np.round(info['gmm']['means'], 4).tolist()} "
        f"thresholds {np.round(info['thresholds'], 4).tolist()} pv {info['n_partial_volume_reassigned']} "
        f"timings {info['timings_s']}"
    )
    assert d_act >= 0.97
    assert d_bind >= 0.80
    assert d_pore >= 0.90
    assert abs((f[0] + f[2]) - (ft[0] + ft[2])) <= 0.03
    assert abs(f[3] - ft[3]) <= 0.03
    assert abs(f[1] - ft[1]) <= 0.02
    m = info["gmm"]["means"]
    assert m[0] < m[1] < m[2]
    assert abs(m[0]) < 0.03 and abs(m[2] - MU_ACTIVE) < 0.03 and 0.05 < m[1] < 0.15
    assert info["thresholds"][0] < info["thresholds"][1]


def test_electrode_without_partial_volume_fix_has_binder_shells(electrode):
    vol, truth, labels, info = electrode
    lab_raw = segment_volume(
        vol, n_solid_phases=2, **SEG, fov_radius_fraction=None, partial_volume_correction=False
    ).labels
    assert dice(lab_raw == 3, truth == 3) < dice(labels == 3, truth == 3) - 0.03


def test_segmentation_is_deterministic(electrode):
    vol, truth, labels, info = electrode
    res = segment_volume(vol, n_solid_phases=2, **SEG, fov_radius_fraction=None)
    labels2, info2 = res.labels, res.info
    assert labels2.dtype == np.uint8
    assert np.array_equal(labels, labels2)
    assert info["thresholds"] == info2["thresholds"]
    assert info["gmm"] == info2["gmm"]


def test_returned_denoised_volume_is_the_one_classified(electrode):
    vol, truth, labels, info = electrode
    res = segment_volume(
        vol, n_solid_phases=2, **SEG, fov_radius_fraction=None, return_posteriors=True, return_denoised=True
    )
    assert np.array_equal(res.labels, labels)  # asking for it changes nothing
    assert res.denoised.shape == vol.shape and res.denoised.dtype == np.float32
    # the stored posteriors are the model's on exactly this volume
    again = res.model.posteriors(res.denoised, systematic=True).astype(np.float16)
    assert np.array_equal(again, res.posteriors)
    # it is denoised: less noise than the input in the solid's interior, away from blurred edges
    inside = ndi.binary_erosion(truth == 1, iterations=2)
    assert res.denoised[inside].std() < 0.6 * vol[inside].std()
    assert segment_volume(vol, n_solid_phases=2, **SEG, fov_radius_fraction=None).denoised is None
    with pytest.raises(ValueError, match="n_solid_phases=2"):
        segment_volume(vol, **SEG, fov_radius_fraction=None, return_denoised=True)


def test_segment_volume_rejects_bad_input():
    with pytest.raises(ValueError):
        segment_volume(np.zeros((4, 4), np.float32), **SEG, fov_radius_fraction=1.0)
    with pytest.raises(ValueError):
        segment_volume(np.zeros((4, 4, 4), np.float32), n_solid_phases=3, **SEG, fov_radius_fraction=1.0)
    bad = np.zeros((4, 4, 4), np.float32)
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError):
        segment_volume(bad, **SEG, fov_radius_fraction=1.0)
    good = np.zeros((4, 4, 4), np.float32)
    with pytest.raises(ValueError, match="deblur_max_iterations"):
        segment_volume(good, n_solid_phases=2, **SEG, fov_radius_fraction=1.0, deblur=True, deblur_max_iterations=0)
    with pytest.raises(ValueError, match="deblur_regularization"):
        segment_volume(good, n_solid_phases=2, **SEG, fov_radius_fraction=1.0, deblur=True, deblur_regularization=0.0)


def test_deblur_leaves_sharp_scans_and_sharpens_blurred_ones():
    # sharp (blur 0.5 voxel, edge deficit below the reference): the labels are unchanged
    vol, truth = make_electrode(blur=0.5)
    plain = segment_volume(vol, n_solid_phases=2, **SEG, fov_radius_fraction=None)
    sharp = segment_volume(vol, n_solid_phases=2, **SEG, fov_radius_fraction=None, deblur=True)
    assert sharp.info["deblur_sigma_voxels"] == 0.0
    assert np.array_equal(plain.labels, sharp.labels)
    # blurred beyond the spill anchors (1.1 voxels): binder Dice 0.74 -> 0.81, active 0.962 -> 0.976
    vol, truth = make_electrode(blur=1.1)
    plain = segment_volume(vol, n_solid_phases=2, **SEG, fov_radius_fraction=None)
    deblurred = segment_volume(vol, n_solid_phases=2, **SEG, fov_radius_fraction=None, deblur=True)
    assert 0.8 < deblurred.info["deblur_sigma_voxels"] < 1.3
    assert deblurred.info["gmm"]["edge_deficit"] < plain.info["gmm"]["edge_deficit"] - 0.05
    assert dice(deblurred.labels == 3, truth == 3) > dice(plain.labels == 3, truth == 3) + 0.04
    assert dice(deblurred.labels == 1, truth == 1) > dice(plain.labels == 1, truth == 1) + 0.01


def _face_groups(active, candidates):
    """Candidate voxels whose active face neighbours lie only along z, and only in-plane."""
    along_z = np.roll(active, 1, 0) | np.roll(active, -1, 0)
    in_plane = np.roll(active, 1, 1) | np.roll(active, -1, 1) | np.roll(active, 1, 2) | np.roll(active, -1, 2)
    return candidates & along_z & ~in_plane, candidates & in_plane & ~along_z


def test_anisotropic_spill_reads_the_in_plane_blur_off_the_scan():
    # isotropic blur: a ratio near 1 and the labels hardly move
    vol, truth = make_electrode(blur=0.8)
    iso = segment_volume(vol, n_solid_phases=2, **SEG, fov_radius_fraction=None, anisotropic_spill=True)
    assert 0.9 < iso.info["gmm"]["spill_anisotropy"] < 1.2
    # in-plane blur 1.0 voxel, axial 0.4 (a reconstruction blurs in-plane more): ratio 2.04
    vol, truth = make_electrode(blur=(0.4, 1.0, 1.0))
    plain = segment_volume(vol, n_solid_phases=2, **SEG, fov_radius_fraction=None)
    aniso = segment_volume(vol, n_solid_phases=2, **SEG, fov_radius_fraction=None, anisotropic_spill=True)
    assert plain.info["gmm"]["spill_anisotropy"] == 1.0
    assert 1.7 < aniso.info["gmm"]["spill_anisotropy"] < 2.4
    z_only, plane_only = _face_groups(truth == 1, truth == 0)

    def read_pore(res, where):
        return float(np.isin(res.labels[where], (0, 2)).mean())

    # truth pore beside in-plane faces read pore: 0.634 -> 0.699; beside z faces 0.952 -> 0.923
    assert read_pore(aniso, plane_only) > read_pore(plain, plane_only) + 0.04
    assert read_pore(aniso, z_only) < read_pore(plain, z_only) - 0.01
    # pore Dice 0.9167 -> 0.9189, binder 0.833 -> 0.837
    pore_dice = [dice(np.isin(r.labels, (0, 2)), truth == 0) for r in (plain, aniso)]
    binder_dice = [dice(r.labels == 3, truth == 3) for r in (plain, aniso)]
    assert pore_dice[1] > pore_dice[0] + 0.001
    assert binder_dice[1] > binder_dice[0] + 0.002
