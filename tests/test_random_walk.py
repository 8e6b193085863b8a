"""Random-walk tortuosity tensor (batteryct.random_walk) against known answers and FV."""

import numba
import numpy as np
import pytest
from scipy import ndimage as ndi

from batteryct import random_walk as rw
from batteryct import transport
from batteryct.generators import straight_channels as channels
from batteryct.generators import thresholded_noise as random_pores


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------
def fv_tau(mask, voxel=1.0):
    return np.array([transport.tortuosity(mask, axis=a, voxel_size_um=voxel)["tortuosity_factor"] for a in range(3)])


# --------------------------------------------------------------------------------------
# Analytic cases
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("voxel", [1.0, (0.5, 1.0, 2.0)])
def test_free_space_gives_the_identity(voxel):
    r = rw.random_walk_tortuosity(np.ones((20, 18, 22), bool), voxel, n_walkers=4000, n_steps=8000, seed=1)
    assert r["porosity"] == 1.0 and r["walker_fraction"] == 1.0
    assert r["n_spanning"] == 1 and r["spanning_axes"].all()
    se = r["tau_se"]
    assert np.all(se > 0) and np.all(se < 0.03)
    assert np.all(np.abs(r["tau"] - 1.0) < 4 * se)
    np.testing.assert_array_equal(r["tortuosity_factor"], r["tau"])
    d, dse = r["diffusivity_ratio"], r["diffusivity_ratio_se"]
    off = ~np.eye(3, dtype=bool)
    assert np.all(np.abs(d[off]) < 4 * dse[off])
    np.testing.assert_allclose(r["tau_tensor"], np.eye(3), atol=0.08)
    assert np.all(np.abs(r["diffusivity_drift"]) < 0.1)
    # free diffusion: <dx^2> = 2 D_free t exactly in expectation, at every lag
    msd = np.diagonal(r["msd_um2"], axis1=1, axis2=2)
    np.testing.assert_allclose(msd / (2 * r["lag_dfree_t_um2"][:, None]), 1.0, atol=0.06)


@pytest.mark.parametrize("axis,voxel", [(0, 1.0), (2, (0.5, 1.0, 2.0))])
def test_straight_channels(axis, voxel):
    mask = channels((24, 20, 22), axis, 0.35, seed=axis)
    r = rw.random_walk_tortuosity(mask, voxel, n_walkers=4000, n_steps=8000, seed=2)
    # every channel spans its axis, none crosses the others (2-D pattern far below 0.59)
    expected_axes = np.zeros(3, bool)
    expected_axes[axis] = True
    np.testing.assert_array_equal(r["spanning_axes"], expected_axes)
    assert r["walker_fraction_of_pore"] == 1.0
    # along the channels: free diffusion, tau = 1 (the FV tortuosity factor is exactly 1)
    assert abs(r["tau"][axis] - 1.0) < max(4 * r["tau_se"][axis], 0.02)
    fv = transport.tortuosity(mask, axis=axis, voxel_size_um=voxel, rtol=1e-10)
    assert fv["tortuosity_factor"] == pytest.approx(1.0, rel=1e-9)
    assert r["tortuosity_factor"][axis] == pytest.approx(fv["tortuosity_factor"], abs=0.05)
    # across: the MSD saturates at the channel width, D ~ 0, tau huge or inf
    for d in {0, 1, 2} - {axis}:
        assert r["tau_lower"][d] > 1000.0
        assert r["tau"][d] > 1000.0
        assert transport.tortuosity(mask, axis=d)["tortuosity_factor"] == np.inf


def test_uniform_voxel_scaling_changes_nothing():
    mask = random_pores((24, 24, 24), 0.5, 1.5, seed=4)
    a = rw.random_walk_tortuosity(mask, 1.0, n_walkers=1000, n_steps=2000, seed=3)
    b = rw.random_walk_tortuosity(mask, 3.0, n_walkers=1000, n_steps=2000, seed=3)
    np.testing.assert_allclose(b["tau"], a["tau"], rtol=1e-12)
    np.testing.assert_allclose(b["msd_um2"], 9.0 * a["msd_um2"], rtol=1e-12)
    np.testing.assert_allclose(b["lag_dfree_t_um2"], 9.0 * a["lag_dfree_t_um2"], rtol=1e-12)


# --------------------------------------------------------------------------------------
# Against the finite-volume tortuosity factor
# --------------------------------------------------------------------------------------
def test_isotropic_structure_matches_finite_volume():
    mask = random_pores((64, 64, 64), 0.5, 2.0, seed=1)
    fv = [transport.tortuosity(mask, axis=a) for a in range(3)]
    tf_fv = np.array([f["tortuosity_factor"] for f in fv])
    r = rw.random_walk_tortuosity(mask, n_walkers=8000, n_steps=32000, seed=0)
    tf, se = r["tortuosity_factor"], r["tortuosity_factor_se"]
    print("FV", tf_fv, "RW", tf, "+-", se, "rel", tf / tf_fv - 1)
    assert np.all(se / tf < 0.02)
    # the target: within 5 % per axis (measured: within 0.5 %)
    np.testing.assert_allclose(tf, tf_fv, rtol=0.05)
    assert np.all(np.abs(tf - tf_fv) < 4 * se)
    # same porosity bookkeeping: one spanning cluster = FV's percolating cluster
    assert r["walker_fraction"] == pytest.approx(fv[0]["percolating_fraction"], rel=1e-12)
    tfp_fv = np.array([f["tortuosity_factor_percolating"] for f in fv])
    np.testing.assert_allclose(r["tau"], tfp_fv, rtol=0.05)
    # isotropic, and no long-time off-diagonal terms (mirror continuation)
    assert np.ptp(r["tau"]) / r["tau"].mean() < 0.06
    d, dse = r["diffusivity_ratio"], r["diffusivity_ratio_se"]
    off = ~np.eye(3, dtype=bool)
    assert np.all(np.abs(d[off]) < 4 * dse[off] + 1e-3)
    np.testing.assert_allclose(np.diag(r["tau_tensor"]), r["tau"], rtol=0.02)


def test_stretched_structure_anisotropy_and_resampling():
    """The same random field stretched 2x along x: as voxels of (1, 1, 2) um, or resampled.

    Both must show the anisotropy (tau_x clearly below tau_z, tau_y), match their own FV
    tortuosity factor, and agree with each other up to statistics plus the discretisation
    difference that the FV solution shows between the two grids.
    """
    coarse = random_pores((40, 40, 24), 0.5, 2.0, seed=2)
    fine = np.repeat(coarse, 2, axis=2)
    kw = dict(n_walkers=8000, n_steps=32000, seed=5)
    rc = rw.random_walk_tortuosity(coarse, (1.0, 1.0, 2.0), **kw)
    rf = rw.random_walk_tortuosity(fine, 1.0, **kw)
    fvc = fv_tau(coarse, (1.0, 1.0, 2.0))
    fvf = fv_tau(fine)
    print("coarse RW", rc["tortuosity_factor"], "+-", rc["tortuosity_factor_se"], "FV", fvc)
    print("fine   RW", rf["tortuosity_factor"], "+-", rf["tortuosity_factor_se"], "FV", fvf)
    for r, fv in ((rc, fvc), (rf, fvf)):
        t = r["tortuosity_factor"]
        assert t[2] < 0.75 * min(t[0], t[1])
        np.testing.assert_allclose(t, fv, rtol=0.05)
    diff = np.abs(rc["tortuosity_factor"] - rf["tortuosity_factor"])
    se = np.hypot(rc["tortuosity_factor_se"], rf["tortuosity_factor_se"])
    assert np.all(diff < 4 * se + np.abs(fvc - fvf))
    np.testing.assert_allclose(rc["tortuosity_factor"], rf["tortuosity_factor"], rtol=0.06)


def test_porosity_bookkeeping_with_isolated_pores():
    """tau * eps / eps_W is the TauFactor factor whatever the start set.

    Walkers in finite clusters add nothing at long times, so starting everywhere
    ("all") gives the FV tortuosity factor directly, and starting in the spanning
    cluster gives tortuosity_factor_percolating as ``tau``.
    """
    mask = random_pores((40, 40, 40), 0.45, 2.0, seed=3)
    # add isolated single-voxel pores (8 % of the pore volume) inside the solid
    core = ndi.binary_erosion(~mask, border_value=1)
    z, y, x = np.indices(mask.shape)
    cand = np.flatnonzero(core & ((z + y + x) % 2 == 0))  # never face neighbours
    pick = np.random.default_rng(0).choice(cand, size=int(0.08 * mask.sum()), replace=False)
    mask.flat[pick] = True
    fv = [transport.tortuosity(mask, axis=a) for a in range(3)]
    perc = fv[0]["percolating_fraction_of_pore"]
    assert 0.9 < perc < 0.95
    kw = dict(n_walkers=6000, n_steps=32000, seed=6)
    span = rw.random_walk_tortuosity(mask, **kw)
    allp = rw.random_walk_tortuosity(mask, start_in="all", **kw)
    assert span["walker_fraction_of_pore"] == pytest.approx(perc, rel=1e-12)
    assert allp["walker_fraction_of_pore"] == 1.0
    np.testing.assert_allclose(span["tortuosity_factor"], span["tau"] / perc, rtol=1e-12)
    np.testing.assert_allclose(allp["tortuosity_factor"], allp["tau"], rtol=1e-12)
    tf_fv = np.array([f["tortuosity_factor"] for f in fv])
    tfp_fv = np.array([f["tortuosity_factor_percolating"] for f in fv])
    print("FV", tf_fv, "span", span["tortuosity_factor"], "all", allp["tortuosity_factor"])
    np.testing.assert_allclose(span["tau"], tfp_fv, rtol=0.05)
    np.testing.assert_allclose(span["tortuosity_factor"], tf_fv, rtol=0.05)
    np.testing.assert_allclose(allp["tortuosity_factor"], tf_fv, rtol=0.05)


# --------------------------------------------------------------------------------------
# Periodic continuation: the full tensor
# --------------------------------------------------------------------------------------
def test_periodic_tilted_slabs_give_off_diagonal_terms():
    """Pore slabs (x + z) mod 8 in {0..3}, periodic in a 16 x 12 x 16 box.

    Exact lattice answer: y moves always succeed (D_yy = 1); x / z moves (2/3 of the
    steps) succeed with probability 3/4 (c = x + z is uniform on {0..3}, blocked half
    the time at c = 0 and c = 3) and change u = x - z by +-1 without correlation, so
    D_uu = (2/3)(3/4) / (2 dt) = 3/2 with dt = 1/6, and x + z stays bounded:
    D_xx = D_zz = -D_xz = D_uu / 4 = 3/8.
    """
    z, y, x = np.meshgrid(np.arange(16), np.arange(12), np.arange(16), indexing="ij")
    mask = (x + z) % 8 < 4
    r = rw.random_walk_tortuosity(mask, boundary="periodic", n_walkers=4000, n_steps=16000, seed=8)
    assert r["n_spanning"] == 2 and r["walker_fraction"] == pytest.approx(0.5)
    d, dse = r["diffusivity_ratio"], r["diffusivity_ratio_se"]
    print("D/D_free", d, "+-", dse)
    expect = np.array([[0.375, 0.0, -0.375], [0.0, 1.0, 0.0], [-0.375, 0.0, 0.375]])
    assert np.all(np.abs(d - expect) < 4 * dse + 1e-3)
    assert np.all(dse < 0.03)
    assert np.all(np.isinf(r["tau_tensor"]))  # D is singular along (1, 0, 1)
    # mirror continuation of the same box: the slabs become finite in x and z and the
    # off-diagonal term vanishes by symmetry
    m = rw.random_walk_tortuosity(mask, n_walkers=2000, n_steps=16000, seed=8)
    np.testing.assert_array_equal(m["spanning_axes"], [False, True, False])
    dm, dmse = m["diffusivity_ratio"], m["diffusivity_ratio_se"]
    assert abs(dm[0, 2]) < 4 * dmse[0, 2] + 1e-3
    assert dm[0, 0] < 0.05 and dm[2, 2] < 0.05
    assert abs(dm[1, 1] - 1.0) < 4 * dmse[1, 1]


def test_walker_start_set_winding_and_faces():
    mask = np.zeros((10, 12, 14), bool)
    mask[2, 3, :] = True  # full line along x: spans x (mirror), winds (periodic)
    mask[6, 2:9, 2:10] = True  # plate not touching any face
    mask[6, 2:9, 5] = False
    mask[8, 1:4, 1:4] = True  # small block
    mask[8, 2, 2] = False  # ... a closed ring: no winding
    mask[:, 10, 3] = True  # full line along z
    mask[0:5, 8, 13] = True  # touches z = 0 and x = nx - 1 only
    m = rw.walker_start_set(mask, "mirror", "spanning")
    assert m["n_spanning"] == 2
    np.testing.assert_array_equal(m["spanning_axes"], [True, False, True])
    expect = np.zeros_like(mask)
    expect[2, 3, :] = True
    expect[:, 10, 3] = True
    np.testing.assert_array_equal(m["mask"], expect)
    assert m["spanning_fraction"] == pytest.approx(expect.mean())
    p = rw.walker_start_set(mask, "periodic", "spanning")
    np.testing.assert_array_equal(p["mask"], expect)
    # a periodic loop through the faces that closes without winding is finite
    loop = np.zeros((8, 8, 8), bool)
    loop[0, 0, :2] = True
    loop[0, 0, 6:] = True  # joins x = 0 across the periodic face only
    loop[0, 1, 7] = loop[0, 1, 0] = True
    assert rw.walker_start_set(loop, "periodic", "spanning")["n_spanning"] == 0
    assert rw.walker_start_set(loop, "periodic", "all")["n_clusters"] == 1
    largest = rw.walker_start_set(mask, "mirror", "largest")["mask"]
    assert largest.sum() == 14 and largest[2, 3, :].all()
    assert rw.walker_start_set(mask, "mirror", "all")["mask"].sum() == mask.sum()


def test_no_spanning_cluster_gives_infinite_tortuosity():
    mask = np.zeros((12, 12, 12), bool)
    mask[3:8, 3:8, 3:8] = True
    r = rw.random_walk_tortuosity(mask, n_walkers=100, n_steps=200)
    assert r["walker_fraction"] == 0.0 and r["n_spanning"] == 0
    assert np.all(np.isinf(r["tau"])) and np.all(np.isinf(r["tortuosity_factor"]))
    assert np.all(np.isinf(r["tau_tensor"]))


# --------------------------------------------------------------------------------------
# Determinism and arguments
# --------------------------------------------------------------------------------------
def test_identical_results_for_one_and_two_threads():
    mask = random_pores((32, 32, 32), 0.5, 2.0, seed=9)
    before = numba.get_num_threads()
    out = []
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            out.append(rw.random_walk_tortuosity(mask, (1.0, 0.8, 1.3), n_walkers=1500, n_steps=3000, seed=11))
    finally:
        numba.set_num_threads(before)
    a, b = out
    np.testing.assert_array_equal(a["msd_batches_um2"], b["msd_batches_um2"])
    np.testing.assert_array_equal(a["tau"], b["tau"])
    np.testing.assert_array_equal(a["tau_se"], b["tau_se"])
    c = rw.random_walk_tortuosity(mask, (1.0, 0.8, 1.3), n_walkers=1500, n_steps=3000, seed=12)
    assert not np.array_equal(c["msd_um2"], a["msd_um2"])


def test_bad_inputs_are_rejected():
    m = np.ones((4, 4, 4), bool)
    with pytest.raises(ValueError):
        rw.random_walk_tortuosity(np.ones((4, 4), bool))
    with pytest.raises(TypeError):
        rw.random_walk_tortuosity(m.astype(float))
    with pytest.raises(ValueError):
        rw.random_walk_tortuosity(m, voxel_size_um=(1.0, -1.0, 1.0))
    with pytest.raises(ValueError):
        rw.random_walk_tortuosity(m, n_walkers=10, n_batches=16)
    with pytest.raises(ValueError):
        rw.random_walk_tortuosity(m, seed=-1)
    with pytest.raises(ValueError):
        rw.random_walk_tortuosity(m, boundary="reflect")
    with pytest.raises(ValueError):
        rw.random_walk_tortuosity(m, start_in="biggest")
    with pytest.raises(ValueError):
        rw.random_walk_tortuosity(m, fit_start=1.0)
    with pytest.raises(ValueError):
        rw.random_walk_tortuosity(m, max_lag=0.0)
    with pytest.raises(TypeError):
        rw.random_walk_tortuosity(m, n_steps=1000.0)
