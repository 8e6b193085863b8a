"""Mosaic stitching against the virtual mosaic's ground truth.

Tolerances are set from measurements (``python benchmarks/bench_mosaic.py --seeds 0-11``,
12 simulated mosaics with the default parameters): position error mean <= 0.062 px and
max <= 0.107 px, gain error <= 0.40 %, particle count within 0.6 %, median diameter
within 0.3 %. The asserted bounds are about twice those, and the position bounds are
also checked against the requirement (0.3 px mean, 0.5 px worst).
"""

import hashlib

import numpy as np
import pandas as pd
import pytest
import tifffile
from PIL import Image

from batteryct import io
from batteryct import mosaic as M

SEED = 0
# The scenario of these tests: the workflow's virtual mosaic and stitching settings
# (config/config.yaml: simulate.mosaic_defaults and stitch).
SIM = dict(
    n_rows=5,
    n_cols=8,
    tile_px=128,
    pixel_size_um=0.512,
    overlap_fraction=0.10,
    stage_error_px=2.0,
    gain_drift=0.05,
    flat_counts=3000.0,
    particles_per_tile=30.0,
)
STITCH = dict(search_px=6, min_ncc=0.3, max_residual_px=1.0)
DETECT = dict(threshold="noise", edge_k_sigma=3.0, seed_k_sigma=6.0, min_diameter_um=2.5)


@pytest.fixture(scope="module")
def sim():
    return M.simulate_mosaic(seed=SEED, **SIM)


@pytest.fixture(scope="module")
def stitched(sim):
    return M.stitch(sim.tiles, sim.stage_position_um, sim.pixel_size_um, sim.n_rows, sim.n_cols, **STITCH)


def relative_errors(table, sim):
    p = table[["y_px", "x_px"]].to_numpy()
    t = sim.true_position_px
    return np.linalg.norm((p - p[0]) - (t - t[0]), axis=1)


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


# --------------------------------------------------------------------------------------
# Simulator
# --------------------------------------------------------------------------------------
def test_simulator_follows_its_specification(sim):
    n = sim.n_rows * sim.n_cols
    assert sim.tiles.shape == (n, 128, 128) and sim.tiles.dtype == np.uint16
    assert sim.stage_position_um.shape == (n, 2)
    # nominal grid: step 115.2 px = 58.98 um, row-major
    step_um = 128 * 0.9 * 0.512
    np.testing.assert_allclose(sim.stage_position_um[1], [0.0, step_um])
    np.testing.assert_allclose(sim.stage_position_um[sim.n_cols], [step_um, 0.0])
    err = sim.true_position_px - sim.stage_position_um / sim.pixel_size_um
    assert np.abs(err).max() <= 4.0 + 1e-12
    assert 1.2 < np.sqrt(np.mean(err**2)) < 2.5  # ~2 px rms per axis, clipped at 2 sd
    assert np.all(np.abs(sim.true_gain - 1.0) <= 0.05 + 1e-12) and np.ptp(sim.true_gain) > 0.02
    d = sim.particles["diameter_um"]
    assert d.min() >= 5.0 and d.max() <= 30.0 and 9.0 < d.median() < 11.5
    # projected discs do not overlap
    xy = sim.particles[["y_um", "x_um"]].to_numpy()
    dist = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    np.fill_diagonal(dist, np.inf)
    assert np.all(dist >= (d.to_numpy()[:, None] + d.to_numpy()[None]) / 2 - 1e-9)


def test_simulator_renders_the_analytic_transmission(sim):
    """At the centre of a large particle the counts are flat * gain * exp(-mu d)."""
    big = sim.particles.sort_values("diameter_um", ascending=False)
    t = sim.true_position_px
    checked = 0
    for _, p in big.iterrows():
        rel = np.array([p.y_px, p.x_px]) - t
        k = np.flatnonzero(np.all((rel > 20) & (rel < 107), axis=1))
        if not k.size:
            continue
        k = int(k[0])
        i, j = np.rint(rel[k]).astype(int)
        # mean over the 3x3 pixels around the centre; the chord there is within 0.2 % of d
        expected = 3000.0 * sim.true_gain[k] * np.exp(-0.047 * p.diameter_um)
        got = sim.tiles[k, i - 1 : i + 2, j - 1 : j + 2].mean()
        assert got == pytest.approx(expected, rel=0.04)  # Poisson: 9 px of ~700 counts: ~1.3 %
        checked += 1
        if checked == 5:
            break
    assert checked == 5
    # background (no particle within a tile) is flat * gain
    k = 17
    assert np.percentile(sim.tiles[k], 95) == pytest.approx(3000 * sim.true_gain[k], rel=0.06)


def test_simulator_is_reproducible():
    a = M.simulate_mosaic(seed=3, **{**SIM, "n_rows": 2, "n_cols": 2})
    b = M.simulate_mosaic(seed=3, **{**SIM, "n_rows": 2, "n_cols": 2})
    np.testing.assert_array_equal(a.tiles, b.tiles)
    np.testing.assert_array_equal(a.true_position_px, b.true_position_px)
    pd.testing.assert_frame_equal(a.particles, b.particles)


# --------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------
def test_ncc_surface_matches_brute_force():
    rng = np.random.default_rng(0)
    a = rng.random((20, 24))
    b = rng.random((18, 22))
    for dy, dx in ((np.arange(2, 9), np.arange(10, 16)), (np.arange(-4, 3), np.arange(-15, -9))):
        ncc, n = M.ncc_surface(a, b, dy, dx, min_overlap_px=1)
        for iy, oy in enumerate(dy):
            for ix, ox in enumerate(dx):
                # b[i, j] ~ a[i + oy, j + ox]
                ya, xa = max(0, oy), max(0, ox)
                ye, xe = min(a.shape[0], b.shape[0] + oy), min(a.shape[1], b.shape[1] + ox)
                aa = a[ya:ye, xa:xe]
                bb = b[ya - oy : ye - oy, xa - ox : xe - ox]
                assert n[iy, ix] == aa.size
                assert ncc[iy, ix] == pytest.approx(np.corrcoef(aa.ravel(), bb.ravel())[0, 1], abs=1e-10)


def test_register_pair_recovers_a_known_offset(sim):
    t = sim.true_position_px
    nominal = (sim.stage_position_um[1] - sim.stage_position_um[0]) / sim.pixel_size_um
    reg = M.register_pair(sim.tiles[0], sim.tiles[1], nominal, search_px=6)
    np.testing.assert_allclose(reg.offset_px, t[1] - t[0], atol=0.1)
    assert reg.ncc > 0.9 and not reg.at_search_edge
    coarse = M.register_pair(sim.tiles[0], sim.tiles[1], nominal, search_px=6, refine="parabolic")
    np.testing.assert_allclose(coarse.offset_px, t[1] - t[0], atol=0.5)


def test_solve_positions_drops_an_outlier():
    truth = np.array([[0.0, 0.0], [0.3, 100.2], [99.7, -0.4], [100.1, 99.9]])
    pairs = [(0, 1), (0, 2), (1, 3), (2, 3), (0, 3)]
    rows = [(a, b, *(truth[b] - truth[a]), 0.95) for a, b in pairs]
    rows[4] = (0, 3, *(truth[3] - truth[0] + [5.0, -3.0]), 0.9)  # a wrong match
    df = pd.DataFrame(rows, columns=["a", "b", "dy_px", "dx_px", "ncc"])
    sol = M.solve_positions(df, 4, anchor=0, anchor_position_px=truth[0], min_ncc=0.3, max_residual_px=1.0)
    np.testing.assert_allclose(sol.positions_px, truth, atol=1e-9)
    assert sol.used.tolist() == [True, True, True, True, False]
    with pytest.raises(ValueError, match="no usable pair"):
        M.solve_positions(df.assign(ncc=[0.95, 0.1, 0.95, 0.1, 0.1]), 4, min_ncc=0.3, max_residual_px=1.0)


# --------------------------------------------------------------------------------------
# Stitching against the truth
# --------------------------------------------------------------------------------------
def test_stitched_positions_match_the_truth(stitched, sim):
    table = stitched.positions
    err = relative_errors(table, sim)
    # requirement: 0.3 px mean, 0.5 px worst; measured (12 seeds) <= 0.062 / 0.107 px
    assert err.mean() < 0.3 and err.max() < 0.5
    assert err.mean() < 0.12 and err.max() < 0.2
    assert stitched.n_pairs == 4 * 8 + 5 * 7 and stitched.n_pairs_used == stitched.n_pairs
    assert stitched.rms_residual_px < 0.05
    # anchor stays at its stage position; table columns in um follow the pixel size
    np.testing.assert_allclose(table.loc[0, ["y_px", "x_px"]].to_numpy(float), [0.0, 0.0])
    np.testing.assert_allclose(table["x_um"], table["x_px"] * sim.pixel_size_um)
    assert table[["row", "col"]].to_numpy().tolist() == M.grid_indices(5, 8).tolist()


def test_gains_are_recovered(stitched, sim):
    table = stitched.positions
    g = table["gain"].to_numpy()
    rel = g / g[0] / (sim.true_gain / sim.true_gain[0]) - 1.0
    assert np.abs(rel).max() < 0.008  # measured <= 0.40 % over 12 seeds; drift itself is +-5 %


def test_mosaic_is_seamless_and_on_the_anchor_scale(stitched, sim):
    mosaic, table = stitched.mosaic, stitched.positions
    valid = np.isfinite(mosaic)
    assert mosaic.dtype == np.float32 and valid.mean() > 0.98
    i0, sigma = M.background_level(mosaic)
    # the background of the anchor tile (counts = 3000 * gain[0])
    assert i0 == pytest.approx(3000 * sim.true_gain[0], rel=0.005)
    # the mosaic pixel at a particle-free spot of tile 5 equals its gain-corrected counts
    k = 5
    y0, x0 = np.floor(table.loc[k, ["y_px", "x_px"]].to_numpy(float)).astype(int) - stitched.origin_px
    assert np.nanmedian(mosaic[y0 + 40 : y0 + 90, x0 + 40 : x0 + 90]) == pytest.approx(
        np.median(sim.tiles[k, 40:90, 40:90] / table.loc[k, "gain"]), rel=0.01
    )


def test_particle_count_and_size_match_the_truth(stitched, sim):
    table = stitched.positions
    inside = M.particles_inside(sim.particles, sim.true_position_px, (128, 128), sim.pixel_size_um)
    truth = sim.particles[inside]
    found = M.detect_particles(stitched.mosaic, sim.pixel_size_um, **DETECT)
    det, labels = found.particles, found.labels
    assert len(truth) > 600
    # measured over 12 seeds: count within 0.6 %, median diameter within 0.3 %
    assert len(det) == pytest.approx(len(truth), rel=0.02)
    assert det["diameter_um"].median() == pytest.approx(truth["diameter_um"].median(), rel=0.01)
    assert labels.max() == len(det) and found.n_removed_border > 20
    # every detection sits on a true particle (array index = truth px - anchor truth + anchor stitched - origin)
    shift = table.loc[0, ["y_px", "x_px"]].to_numpy(float) - sim.true_position_px[0] - stitched.origin_px
    centres = sim.particles[["y_px", "x_px"]].to_numpy() + shift
    r_px = sim.particles["diameter_um"].to_numpy() / 2 / sim.pixel_size_um
    dist = np.linalg.norm(det[["y_px", "x_px"]].to_numpy()[:, None] - centres[None], axis=2)
    nearest = dist.argmin(axis=1)
    assert np.mean(dist[np.arange(len(det)), nearest] < 0.5 * r_px[nearest]) > 0.99


def test_plain_otsu_threshold_loses_thin_particles(stitched, sim):
    """Why the default threshold is noise-based (see detect_particles)."""
    inside = M.particles_inside(sim.particles, sim.true_position_px, (128, 128), sim.pixel_size_um)
    truth = sim.particles[inside]
    found = M.detect_particles(stitched.mosaic, sim.pixel_size_um, **{**DETECT, "threshold": "otsu"})
    det = found.particles
    assert found.threshold == found.otsu > 0.2
    assert len(det) < 0.97 * len(truth)
    assert det["diameter_um"].median() < 0.9 * truth["diameter_um"].median()


def test_a_blank_tile_falls_back_to_its_stage_position(sim):
    tiles = sim.tiles.copy()
    k = 13
    tiles[k] = np.random.default_rng(0).poisson(3000, tiles[k].shape)
    res = M.stitch(tiles, sim.stage_position_um, sim.pixel_size_um, 5, 8, **STITCH)
    table, pairs = res.positions, res.pairs
    touching = (pairs["a"] == k) | (pairs["b"] == k)
    assert not pairs.loc[touching, "used"].any() and pairs.loc[~touching, "used"].all()
    np.testing.assert_allclose(
        table.loc[k, ["y_px", "x_px"]].to_numpy(float), sim.stage_position_um[k] / sim.pixel_size_um, atol=1e-6
    )
    err = relative_errors(table, sim)
    assert np.delete(err, k).max() < 0.2


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------
def test_hdf5_and_tiff_forms_give_the_same_stitched_result(tmp_path, sim, stitched):
    io.write_mosaic_h5(tmp_path / "m.h5", sim.tiles, sim.stage_position_um, sim.pixel_size_um, 5, 8, truth=sim.truth())
    io.write_mosaic_tiffs(tmp_path / "tiffs", sim.tiles, sim.stage_position_um, sim.pixel_size_um, 5, 8)
    results = []
    for path in (tmp_path / "m.h5", tmp_path / "tiffs"):
        data = io.read_mosaic(path)
        np.testing.assert_array_equal(data.tiles, sim.tiles)
        np.testing.assert_array_equal(data.stage_position_um, sim.stage_position_um)
        assert (data.pixel_size_um, data.n_rows, data.n_cols) == (sim.pixel_size_um, 5, 8)
        results.append(
            M.stitch(
                data.tiles,
                data.stage_position_um,
                data.pixel_size_um,
                data.n_rows,
                data.n_cols,
                grid=data.grid,
                **STITCH,
            )
        )
    for res in results:
        np.testing.assert_array_equal(res.mosaic, stitched.mosaic)
        pd.testing.assert_frame_equal(res.positions, stitched.positions)
        np.testing.assert_array_equal(res.origin_px, stitched.origin_px)
    truth = io.read_mosaic_truth(tmp_path / "m.h5")
    np.testing.assert_array_equal(truth["position_px"], sim.true_position_px)
    np.testing.assert_array_equal(truth["particles"]["diameter_um"], sim.particles["diameter_um"])
    assert truth["params"]["seed"] == SEED


def test_outputs_are_deterministic(tmp_path, sim, stitched):
    for name in ("a", "b"):
        io.write_mosaic_h5(
            tmp_path / f"{name}.h5", sim.tiles, sim.stage_position_um, sim.pixel_size_um, 5, 8, truth=sim.truth()
        )
        io.write_png(tmp_path / f"{name}.png", M.to_uint8(stitched.mosaic))
    assert sha(tmp_path / "a.h5") == sha(tmp_path / "b.h5")
    assert sha(tmp_path / "a.png") == sha(tmp_path / "b.png")
    again = M.stitch(sim.tiles, sim.stage_position_um, sim.pixel_size_um, 5, 8, **STITCH)
    np.testing.assert_array_equal(again.mosaic, stitched.mosaic)
    pd.testing.assert_frame_equal(again.positions, stitched.positions)
    img = np.asarray(Image.open(tmp_path / "a.png"))
    assert img.dtype == np.uint8 and img.shape == stitched.mosaic.shape
    assert np.all(img[~np.isfinite(stitched.mosaic)] == 0) and img.max() == 255


def small_mosaic(n_rows=2, n_cols=3, shape=(8, 10)):
    rng = np.random.default_rng(1)
    tiles = rng.integers(100, 4000, (n_rows * n_cols, *shape)).astype(np.uint16)
    pos = M.nominal_positions_um(n_rows, n_cols, shape[0], 0.5, 0.1)
    return tiles, pos


def test_tiff_reader_reports_bad_inputs(tmp_path):
    tiles, pos = small_mosaic()
    folder = tmp_path / "t"

    def fresh():
        io.write_mosaic_tiffs(folder, tiles, pos, 0.5, 2, 3)

    fresh()
    assert io.read_mosaic(folder).tiles.shape == (6, 8, 10)

    (folder / "tile_004.tif").unlink()
    with pytest.raises(ValueError, match=r"tile_004\.tif: tile 4 listed in positions.csv is missing"):
        io.read_mosaic(folder)

    fresh()
    tifffile.imwrite(folder / "tile_002.tif", tiles[2][:, :9])
    with pytest.raises(ValueError, match=r"tile_002\.tif: .*tiles of different shapes"):
        io.read_mosaic(folder)

    fresh()
    lines = (folder / "positions.csv").read_text().splitlines()
    (folder / "positions.csv").write_text("\n".join(lines[:-1]) + "\n")  # drop tile 5's position
    with pytest.raises(ValueError, match=r"positions\.csv: 5 positions for 6 tile files"):
        io.read_mosaic(folder)

    fresh()
    lines = (folder / "positions.csv").read_text().splitlines()
    lines[3] = "2,0,2,nan,1.0"
    (folder / "positions.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(io.InputDataError, match=r"positions\.csv: non-finite position .* tile\(s\) \[2\]"):
        io.read_mosaic(folder)


def test_hdf5_reader_reports_bad_inputs(tmp_path):
    tiles, pos = small_mosaic()
    p = tmp_path / "m.h5"
    io.write_mosaic_h5(p, tiles[:5], pos[:5], 0.5, 2, 3, grid=io.grid_indices(2, 3)[:5])
    with pytest.raises(ValueError, match=r"m\.h5: 5 tiles for a 2 x 3 grid: missing tile"):
        io.read_mosaic(p)

    io.write_mosaic_h5(p, tiles, pos[:5], 0.5, 2, 3)
    with pytest.raises(ValueError, match=r"m\.h5: 5 stage positions for 6 tiles"):
        io.read_mosaic(p)

    bad = pos.copy()
    bad[3, 1] = np.inf
    io.write_mosaic_h5(p, tiles, bad, 0.5, 2, 3)
    with pytest.raises(ValueError, match=r"m\.h5: non-finite stage positions .* tiles \[3\]"):
        io.read_mosaic(p)

    with pytest.raises(ValueError, match=r"nothing\.h5: mosaic file does not exist"):
        io.read_mosaic(tmp_path / "nothing.h5")
