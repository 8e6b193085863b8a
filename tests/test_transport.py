"""Tortuosity / effective conductivity (batteryct.transport) against known answers."""

import math

import cc3d
import numba
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy import ndimage as ndi

from batteryct import transport
from batteryct.generators import straight_channels as channels
from batteryct.generators import thresholded_noise as random_pores
from batteryct.transport import _multigrid


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------
def fv_reference(k, axis, h=(1.0, 1.0, 1.0)):
    """Independent finite-volume assembly + direct sparse solve (scipy spsolve).

    Same discretisation as documented in batteryct.transport: harmonic face
    conductances x area / length, Dirichlet faces at half a voxel, only the cluster
    connected to both faces. Returns (deff, flux_in, flux_out, potential).
    """
    k = np.asarray(k, np.float64)
    lab = cc3d.connected_components(k > 0, connectivity=6)
    ids = np.intersect1d(np.unique(np.take(lab, 0, axis)), np.unique(np.take(lab, -1, axis)))
    ids = ids[ids > 0]
    perc = np.isin(lab, ids)
    n = int(perc.sum())
    idx = np.full(k.shape, -1)
    idx[perc] = np.arange(n)
    geo = [h[1] * h[2] / h[0], h[0] * h[2] / h[1], h[0] * h[1] / h[2]]
    rows, cols, vals = [], [], []
    diag = np.zeros(n)
    for d in range(3):
        sa = [slice(None)] * 3
        sb = [slice(None)] * 3
        sa[d] = slice(None, -1)
        sb[d] = slice(1, None)
        ia, ib = idx[tuple(sa)], idx[tuple(sb)]
        ka, kb = k[tuple(sa)], k[tuple(sb)]
        m = (ia >= 0) & (ib >= 0)
        g = 2 * ka[m] * kb[m] / (ka[m] + kb[m]) * geo[d]
        rows += [ia[m], ib[m]]
        cols += [ib[m], ia[m]]
        vals += [-g, -g]
        np.add.at(diag, ia[m], g)
        np.add.at(diag, ib[m], g)
    b = np.zeros(n)
    i0, k0 = np.take(idx, 0, axis), np.take(k, 0, axis)
    i1, k1 = np.take(idx, -1, axis), np.take(k, -1, axis)
    m0, m1 = i0 >= 0, i1 >= 0
    g_in, g_out = 2 * k0[m0] * geo[axis], 2 * k1[m1] * geo[axis]
    np.add.at(diag, i0[m0], g_in)
    np.add.at(diag, i1[m1], g_out)
    b[i0[m0]] += g_in
    a = sp.csc_matrix(
        (np.concatenate(vals + [diag]), (np.concatenate(rows + [np.arange(n)]), np.concatenate(cols + [np.arange(n)]))),
        shape=(n, n),
    )
    x = spla.spsolve(a, b)
    j_in = float(np.sum(g_in * (1 - x[i0[m0]])))
    j_out = float(np.sum(g_out * x[i1[m1]]))
    length = k.shape[axis] * h[axis]
    area = np.prod([k.shape[d] * h[d] for d in range(3) if d != axis])
    pot = np.zeros(k.shape)
    pot[perc] = x
    return 0.5 * (j_in + j_out) * length / area, j_in, j_out, pot


# --------------------------------------------------------------------------------------
# Analytic cases
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("voxel", [1.0, (2.0, 1.0, 1.0), (0.5, 1.5, 3.0)])
def test_straight_channels_have_tortuosity_one(axis, voxel):
    mask = channels((20, 18, 22), axis, 0.35, seed=axis)
    eps = mask.mean()
    assert 0.2 < eps < 0.5
    r = transport.tortuosity(mask, axis=axis, voxel_size_um=voxel, rtol=1e-10)
    assert r["percolating"] and r["converged"]
    assert r["porosity"] == pytest.approx(eps, rel=1e-15)
    assert r["deff_over_dbulk"] == pytest.approx(eps, rel=1e-9)
    assert r["tortuosity_factor"] == pytest.approx(1.0, rel=1e-9)
    # Flux in physical units: J = D_bulk * eps * A / L (A, L in um), D_bulk = 1.
    h = np.broadcast_to(np.asarray(voxel, float), (3,))
    lengths = np.array(mask.shape) * h
    area = np.prod(np.delete(lengths, axis))
    assert r["flux_in"] == pytest.approx(eps * area / lengths[axis], rel=1e-9)
    assert r["flux_out"] == pytest.approx(r["flux_in"], rel=1e-9)


@pytest.mark.parametrize("axis,voxel", [(0, 1.0), (0, (2.0, 1.0, 1.0)), (2, (2.0, 1.0, 1.0)), (1, (0.7, 1.3, 0.4))])
def test_layers_in_series_give_the_harmonic_mean(axis, voxel):
    # Layers normal to the transport axis: thickness (voxels) and conductivity.
    thick = [3, 5, 2, 7, 4]
    cond = [1.0, 10.0, 1.0, 10.0, 2.5]
    prof = np.repeat(cond, thick)
    shape = [9, 10, 11]
    shape[axis] = prof.size
    bshape = [1, 1, 1]
    bshape[axis] = prof.size
    k = np.broadcast_to(prof.reshape(bshape), shape).copy()
    r = transport.effective_conductivity(k, axis=axis, voxel_size_um=voxel, rtol=1e-12)
    expected = sum(thick) / sum(t / c for t, c in zip(thick, cond))
    assert r.converged and r.percolating
    assert r.deff == pytest.approx(expected, rel=1e-6)
    assert r.flux_imbalance < 1e-6


@pytest.mark.parametrize("axis,voxel", [(0, 1.0), (0, (2.0, 1.0, 1.0)), (1, (1.0, 0.5, 2.0))])
def test_layers_in_parallel_give_the_arithmetic_mean(axis, voxel):
    # Slabs parallel to the axis, stacked along another axis ("across").
    across = (axis + 1) % 3
    thick = [2, 4, 3, 6]
    cond = [1.0, 10.0, 3.0, 0.5]
    prof = np.repeat(cond, thick)
    shape = [12, 12, 12]
    shape[across] = prof.size
    bshape = [1, 1, 1]
    bshape[across] = prof.size
    k = np.broadcast_to(prof.reshape(bshape), shape).copy()
    r = transport.effective_conductivity(k, axis=axis, voxel_size_um=voxel, rtol=1e-12, reference_conductivity=10.0)
    expected = sum(t * c for t, c in zip(thick, cond)) / sum(thick)
    assert r.deff == pytest.approx(expected, rel=1e-6)
    assert r.deff_relative == pytest.approx(expected / 10.0, rel=1e-6)


def test_face_multiplier_acts_as_series_resistance_on_interior_faces():
    # Columns of n cells (k = 1, unit voxels); every interior face scaled by m:
    # resistance per column = (n - 1) / m + 2 * 1/2  ->  k_eff = n / ((n - 1) / m + 1).
    n, m = 16, 0.25
    k = np.ones((n, 5, 6))
    mult = (np.full((n - 1, 5, 6), m), None, None)
    r = transport.effective_conductivity(k, axis=0, rtol=1e-12, face_multiplier=mult)
    assert r.deff == pytest.approx(n / ((n - 1) / m + 1), rel=1e-9)
    with pytest.raises(ValueError):
        transport.effective_conductivity(k, face_multiplier=(np.zeros((n - 1, 5, 6)), None, None))


# --------------------------------------------------------------------------------------
# Connectivity: blocked directions, dead ends, isolated pores
# --------------------------------------------------------------------------------------
def test_blocked_direction_gives_infinite_tortuosity():
    mask = random_pores((24, 20, 20), 0.45, 1.5, seed=3)
    mask[11] = False  # a solid wall normal to z
    r = transport.tortuosity(mask, axis=0)
    assert r["percolating"] is False
    assert r["tortuosity_factor"] == math.inf
    assert r["tortuosity_factor_percolating"] == math.inf
    assert r["deff_over_dbulk"] == 0.0
    assert r["percolating_fraction"] == 0.0
    assert r["converged"] is True and r["iterations"] == 0
    # Everything that remains is dead-end (touches one face) or isolated (neither).
    assert r["dead_end_fraction"] + r["isolated_fraction"] == pytest.approx(r["porosity"])
    assert r["dead_end_fraction"] > 0
    res = transport.effective_conductivity(mask, axis=0)
    assert res.deff == 0.0 and res.percolating is False
    # The wall is parallel to y: that direction still conducts.
    r1 = transport.tortuosity(mask, axis=1)
    assert r1["percolating"] and math.isfinite(r1["tortuosity_factor"])
    assert r1["tortuosity_factor"] > 1.0


def test_isolated_and_dead_end_pores_are_excluded_and_reported():
    shape = (20, 16, 16)
    mask = np.zeros(shape, bool)
    mask[:, 2, 2] = mask[:, 8, 9] = mask[:, 13, 4] = True  # 3 through channels: 60 voxels
    mask[5:8, 12:14, 12:14] = True  # isolated cavity: 12 voxels
    mask[14, 4, 12] = True  # isolated single voxel
    mask[0:6, 5, 14] = True  # dead end touching the inlet: 6 voxels
    mask[17:20, 15, 15] = True  # dead end touching the outlet: 3 voxels
    n = mask.size
    conn = transport.pore_connectivity(mask, axis=0)
    assert conn["percolating_fraction"] == 60 / n
    assert conn["isolated_fraction"] == 13 / n
    assert conn["dead_end_fraction"] == 9 / n
    assert conn["n_percolating"] == 3 and conn["n_isolated"] == 2 and conn["n_dead_end"] == 2
    assert conn["percolating_fraction_of_phase"] == pytest.approx(60 / 82)
    assert conn["percolating_mask"].sum() == 60
    r = transport.tortuosity(mask, axis=0, rtol=1e-10)
    assert r["porosity"] == 82 / n
    # Only the channels carry flux: D_eff / D_bulk = 60 / n.
    assert r["deff_over_dbulk"] == pytest.approx(60 / n, rel=1e-9)
    assert r["tortuosity_factor"] == pytest.approx(82 / 60, rel=1e-9)
    assert r["tortuosity_factor_percolating"] == pytest.approx(1.0, rel=1e-9)
    assert r["isolated_fraction"] == 13 / n and r["dead_end_fraction"] == 9 / n


# --------------------------------------------------------------------------------------
# Against a direct sparse solve of the same finite-volume system
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("voxel", [(1.0, 1.0, 1.0), (2.0, 1.0, 0.5)])
@pytest.mark.parametrize("axis", [0, 2])
def test_random_porous_structure_matches_spsolve(axis, voxel):
    mask = random_pores((32, 32, 32), 0.4, 1.5, seed=11)
    r = transport.tortuosity(mask, axis=axis, voxel_size_um=voxel, rtol=1e-10, return_potential=True)
    deff, j_in, j_out, pot = fv_reference(mask, axis, voxel)
    assert r["converged"] and r["n_levels"] >= 3  # the multigrid path, not the direct one
    assert r["deff_over_dbulk"] == pytest.approx(deff, rel=1e-6)
    assert r["flux_in"] == pytest.approx(j_in, rel=1e-6)
    assert r["flux_out"] == pytest.approx(j_out, rel=1e-6)
    assert np.abs(r["potential"] - pot).max() < 1e-6
    assert r["tortuosity_factor"] == pytest.approx(mask.mean() / deff, rel=1e-6)
    assert r["tortuosity_factor"] > 1.2


def test_two_phase_conductivity_matches_spsolve():
    g = ndi.gaussian_filter(np.random.default_rng(4).standard_normal((32, 30, 34)), 1.5)
    active = g > np.quantile(g, 0.5)
    binder = (g > np.quantile(g, 0.38)) & ~active
    k = np.where(active, 1.0, np.where(binder, 10.0, 0.0))
    for voxel in [(1.0, 1.0, 1.0), (2.0, 1.0, 1.0)]:
        r = transport.effective_conductivity(k, axis=0, voxel_size_um=voxel, rtol=1e-10)
        deff = fv_reference(k, 0, voxel)[0]
        assert r.converged
        assert r.deff == pytest.approx(deff, rel=1e-6)


# --------------------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------------------
@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
def test_identical_results_for_one_and_two_threads(monkeypatch):
    # Every level runs multi-threaded (the small-level single-thread shortcut is off).
    monkeypatch.setattr(_multigrid, "_PARALLEL_MIN_CELLS", 0)
    mask = random_pores((40, 37, 45), 0.4, 1.5, seed=21)
    k = np.where(mask, 1.0, 0.0)
    k[::3] *= 10.0  # two conductivities
    before = numba.get_num_threads()
    out = {}
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            out[threads] = transport.effective_conductivity(k, axis=1, rtol=1e-8, return_potential=True)
            assert numba.get_num_threads() == threads  # restored after the solve
    finally:
        numba.set_num_threads(before)
    a, b = out[1], out[2]
    assert a.iterations == b.iterations > 3
    assert a.deff == b.deff and a.flux_in == b.flux_in and a.residual == b.residual
    assert np.array_equal(a.potential, b.potential)


# --------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------
def test_bad_inputs_are_rejected():
    m = np.ones((4, 4, 4), bool)
    with pytest.raises(ValueError):
        transport.tortuosity(m, axis=3)
    with pytest.raises(ValueError):
        transport.tortuosity(m[0], axis=0)
    with pytest.raises(ValueError):
        transport.tortuosity(m, voxel_size_um=(1.0, 0.0, 1.0))
    with pytest.raises(ValueError):
        transport.effective_conductivity(-np.ones((4, 4, 4)))
    with pytest.raises(ValueError):
        transport.effective_conductivity(np.full((4, 4, 4), np.nan))
    # A single-cell-thick sample along the axis is still well posed: k_eff = k.
    r = transport.effective_conductivity(np.full((1, 3, 3), 2.0), axis=0, rtol=1e-12)
    assert r.deff == pytest.approx(2.0, rel=1e-12)
