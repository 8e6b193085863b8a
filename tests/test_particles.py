"""Tests of batteryct.particles: splitting, per-particle morphology, voids, Table 1 summary.

Analytic objects (digital spheres, a rough star-shaped particle with known radius
function, touching spheres, a sphere with a void) and the virtual scanner's NMC622 demo
powder (truth labels, no projection) give exact references.
"""

import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from batteryct import metrics, particles, simulate
from batteryct.particles.measure import _directions
from batteryct.segment import fov_cylinder_mask

ROOT = Path(__file__).resolve().parents[1]
VOXEL = 0.512
RADIUS_COLS = [f"radius_{p}_{a:03d}_um" for p in particles.PLANES for a in particles.AZIMUTHS_DEG]


def ball(shape, centre, radius):
    """Digital ball: voxels whose centre lies within ``radius`` (voxels) of ``centre``."""
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    return (z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2 <= radius * radius


def table_of(labels, voxel=VOXEL, **kw):
    inst = particles.split_particles(labels, voxel, **kw)
    return inst, particles.particle_table(inst, labels, voxel, "s", "a")


# --------------------------------------------------------------------------------------
# Single objects
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("radius", [5, 10, 20])
def test_digital_sphere_area_sphericity_radii(radius):
    rng = np.random.default_rng(100 + radius)
    n = 2 * radius + 12
    for _ in range(2):
        centre = (n - 1) / 2 + rng.uniform(-0.5, 0.5, 3)
        m = ball((n, n, n), centre, radius)
        inst, t = table_of(m.astype(np.uint8))
        assert inst.max() == 1 and len(t) == 1
        row = t.iloc[0]
        r_um = radius * VOXEL
        assert abs(row.surface_area_um2 / (4 * np.pi * r_um**2) - 1) < 0.03
        assert row.sphericity >= 0.95
        assert row.volume_um3 == row.envelope_volume_um3 == np.count_nonzero(m) * VOXEL**3
        np.testing.assert_allclose(
            row[["centroid_z_um", "centroid_y_um", "centroid_x_um"]].to_numpy(float), centre * VOXEL, atol=0.06 * VOXEL
        )
        radii = row[RADIUS_COLS].to_numpy(float) / VOXEL
        assert np.all(np.abs(radii - radius) <= 0.5), radii - radius
        for p in particles.PLANES:
            assert row[f"roughness_proxy_{p}_um"] < VOXEL
            assert abs(row[f"mean_radius_{p}_um"] / VOXEL - radius) < 0.25
        assert not row.touches_border
        assert row.n_internal_voids == 0 and row.dead_volume_fraction == 0


def test_batched_areas_equal_metrics_surface_area():
    """The packed computation is metrics.surface_area_um2 on each particle's own mask."""
    n = 48
    lab = np.zeros((n, n, n), np.uint8)
    lab[ball(lab.shape, (20.3, 21.0, 16.6), 9)] = 1
    lab[ball(lab.shape, (24.0, 22.5, 33.2), 7.5)] = 1  # touches the first one
    lab[ball(lab.shape, (40.0, 40.0, 40.0), 5)] = 1
    lab[ball(lab.shape, (21.0, 20.0, 15.0), 2.5)] = 2  # void in the first one
    inst = particles.split_particles(lab, VOXEL)
    assert inst.max() == 3
    t = particles.particle_table(inst, lab, VOXEL)
    t_loop = particles.particle_table(inst, lab, VOXEL, area_method="loop")
    for pid, a in zip(t.particle_id, t.surface_area_um2):
        ref = metrics.surface_area_um2(inst == pid, VOXEL)
        assert abs(a / ref - 1) < 1e-6
    np.testing.assert_allclose(t.surface_area_um2, t_loop.surface_area_um2, rtol=1e-6)
    v = particles.void_table(inst, lab, VOXEL)
    assert abs(v.surface_area_um2[0] / metrics.surface_area_um2(lab == 2, VOXEL) - 1) < 1e-6


def _rough(rng, n, centre, radius, roughness):
    bumps = simulate._random_unit_vectors(rng, 40)
    amps = roughness * rng.uniform(-1.0, 1.0, 40)
    z, y, x = np.ogrid[:n, :n, :n]
    m = simulate._rough_particle_mask(z - centre[0], y - centre[1], x - centre[2], radius, bumps, amps, 25.0)
    return m, bumps, amps


def test_rough_particle_lower_sphericity_larger_roughness_and_true_radii():
    rng = np.random.default_rng(7)
    n, radius = 40, 12
    centre = (n - 1) / 2 + rng.uniform(-0.5, 0.5, 3)
    rough, bumps, amps = _rough(rng, n, centre, radius, 0.15)
    _, tr = table_of(rough.astype(np.uint8))
    _, ts = table_of(ball((n, n, n), centre, radius).astype(np.uint8))
    assert len(tr) == 1
    assert tr.sphericity[0] < ts.sphericity[0] - 0.02
    # averaged over the three planes (8 azimuths in one plane may miss the bumps)
    for key, factor in (("roughness_proxy", 2.0), ("local_roughness", 1.5)):
        cols = [f"{key}_{p}_um" for p in particles.PLANES]
        print(key, "rough", tr[cols].to_numpy().round(3), "sphere", ts[cols].to_numpy().round(3))
        assert tr[cols].to_numpy().mean() > factor * ts[cols].to_numpy().mean()
    # radii against the analytic boundary of the star-shaped particle, from our centroid
    c = tr[["centroid_z_um", "centroid_y_um", "centroid_x_um"]].to_numpy(float)[0] / VOXEL
    dirs = _directions().reshape(24, 3)
    t = np.arange(0, 2.5 * radius, 0.002)
    p = c + t[None, :, None] * dirs[:, None, :] - centre
    inside = simulate._rough_particle_mask(p[..., 0], p[..., 1], p[..., 2], radius, bumps, amps, 25.0)
    true = t[np.argmax(inside[:, :-1] & ~inside[:, 1:], axis=1)]
    err = tr[RADIUS_COLS].to_numpy(float)[0] / VOXEL - true
    assert np.abs(err).max() <= 0.5
    assert np.abs(err).mean() <= 0.2
    true_proxy = np.ptp(true.reshape(3, 8), axis=1)
    meas_proxy = tr[[f"roughness_proxy_{p}_um" for p in particles.PLANES]].to_numpy(float)[0] / VOXEL
    rt = true.reshape(3, 8)
    true_local = np.abs(rt - np.roll(rt, -1, axis=1)).mean(axis=1)
    meas_local = tr[[f"local_roughness_{p}_um" for p in particles.PLANES]].to_numpy(float)[0] / VOXEL
    print("radius error (voxels): max", np.abs(err).max().round(3), "mean abs", np.abs(err).mean().round(3))
    print("proxy true", true_proxy.round(3), "measured", meas_proxy.round(3))
    print("local true", true_local.round(3), "measured", meas_local.round(3))
    assert np.all(np.abs(meas_proxy - true_proxy) <= 0.5)
    assert np.all(np.abs(meas_local - true_local) <= 0.25)


@pytest.mark.parametrize("r1, r2", [(10, 10), (11, 7)])
def test_two_touching_spheres_split(r1, r2):
    n = 2 * (r1 + r2) + 12
    c1 = np.array([n / 2 + 0.3, n / 2 - 0.2, 6 + r1 + 0.4])
    c2 = c1 + np.array([0.0, 0.0, r1 + r2 - 1.0])  # 1 voxel of overlap: a neck
    m1, m2 = ball((n, n, n), c1, r1), ball((n, n, n), c2, r2)
    lab = (m1 | m2).astype(np.uint8)
    inst, t = table_of(lab)
    assert inst.max() == 2
    # which instance is which: the one holding c1
    id1 = inst[tuple(np.round(c1).astype(int))]
    id2 = inst[tuple(np.round(c2).astype(int))]
    assert {id1, id2} == {1, 2}
    vol = dict(zip(t.particle_id, t.volume_um3 / VOXEL**3))
    assert abs(vol[id1] / np.count_nonzero(m1) - 1) < 0.05
    assert abs(vol[id2] / np.count_nonzero(m2) - 1) < 0.05
    # own surfaces include the contact face: close to full spheres
    area = dict(zip(t.particle_id, t.surface_area_um2 / VOXEL**2))
    assert abs(area[id1] / (4 * np.pi * r1**2) - 1) < 0.05
    assert abs(area[id2] / (4 * np.pi * r2**2) - 1) < 0.05


def test_h_maxima_keeps_one_rough_or_elongated_particle_whole():
    n = 48
    # a prolate spheroid, semi-axes 18 x 9 x 9: its distance map has a ridge, not two peaks
    z, y, x = np.ogrid[:n, :n, :n]
    c = (n - 1) / 2 + 0.2
    m = ((z - c) / 9.0) ** 2 + ((y - c) / 9.0) ** 2 + ((x - c) / 18.0) ** 2 <= 1.0
    inst, _ = table_of(m.astype(np.uint8))
    assert inst.max() == 1
    rough, _, _ = _rough(np.random.default_rng(3), n, np.full(3, c), 14, 0.15)
    inst, _ = table_of(rough.astype(np.uint8))
    assert inst.max() == 1


def test_sphere_with_internal_void():
    n, R, r = 40, 12, 4.5
    centre = np.array([19.6, 19.8, 20.3])
    cv = centre + np.array([3.0, -2.0, 1.0])
    solid = ball((n, n, n), centre, R)
    void = ball((n, n, n), cv, r)
    lab = np.where(solid, np.uint8(1), np.uint8(0))
    lab[void] = 2
    inst, t = table_of(lab)
    assert inst.max() == 1 and np.all(inst[void] == 1)
    row = t.iloc[0]
    assert row.n_internal_voids == 1
    exact = (r / R) ** 3  # analytic dead-volume fraction
    assert abs(row.dead_volume_fraction / exact - 1) < 0.10
    assert row.internal_void_volume_um3 == np.count_nonzero(void) * VOXEL**3
    assert row.volume_um3 == np.count_nonzero(solid & ~void) * VOXEL**3
    # the void does not change the outer surface
    _, t_full = table_of(solid.astype(np.uint8))
    assert abs(row.surface_area_um2 / t_full.surface_area_um2[0] - 1) < 1e-9
    v = particles.void_table(inst, lab, VOXEL, "s", "a")
    assert len(v) == 1 and v.host_particle_id[0] == 1
    assert abs(v.volume_um3[0] / (4 / 3 * np.pi * (r * VOXEL) ** 3) - 1) < 0.05
    assert abs(v.surface_area_um2[0] / (4 * np.pi * (r * VOXEL) ** 2) - 1) < 0.05
    assert v.sphericity[0] > 0.9


def test_void_between_two_particles_goes_whole_to_one_host():
    n = 50
    c1 = np.array([25.0, 25.0, 14.0])
    c2 = np.array([25.0, 25.0, 33.0])
    lab = (ball((n, n, n), c1, 10) | ball((n, n, n), c2, 10)).astype(np.uint8)
    void = ball((n, n, n), (25.0, 25.0, 21.0), 3)  # mostly inside particle 1
    lab[void] = 2
    inst = particles.split_particles(lab, VOXEL)
    assert inst.max() == 2
    assert len(np.unique(inst[void])) == 1
    assert inst[void][0] == inst[25, 25, 14]


def test_border_flags_faces_and_roi():
    n = 64
    lab = np.zeros((n, n, n), np.uint8)
    lab[ball(lab.shape, (32, 32, 32), 6)] = 1  # centre
    lab[ball(lab.shape, (32, 2, 32), 6)] = 1  # cut by the y = 0 face
    lab[ball(lab.shape, (32, 32, 56), 6)] = 1  # inside the volume, crosses the FOV circle
    roi = fov_cylinder_mask(lab.shape, 0.95)
    inst = particles.split_particles(lab, VOXEL)
    assert inst.max() == 3
    t = particles.particle_table(inst, lab * roi, VOXEL, roi=roi)
    flag = dict(zip(t.particle_id, t.touches_border))
    assert not flag[inst[32, 32, 32]]
    assert flag[inst[32, 2, 32]]
    assert flag[inst[32, 32, 56]]
    t0 = particles.particle_table(inst, lab, VOXEL)  # no ROI: only the face
    assert t0.touches_border.sum() == 1


def test_empty_volume():
    lab = np.zeros((20, 21, 22), np.uint8)
    inst = particles.split_particles(lab, VOXEL)
    assert inst.dtype == np.int32 and inst.max() == 0
    t = particles.particle_table(inst, lab, VOXEL, "s", "a")
    v = particles.void_table(inst, lab, VOXEL, "s", "a")
    assert len(t) == 0 and list(t.columns) == particles.PARTICLE_COLUMNS
    assert len(v) == 0 and list(v.columns) == particles.VOID_COLUMNS
    with pytest.warns(RuntimeWarning, match="no particle"):
        s = particles.powder_summary(t, v, "s", reference_range_miles=300.0)
    assert len(s) == 1 and s.n_particles[0] == 0 and s.n_border_particles[0] == 0
    assert np.isnan(s.mean_particle_volume_um3[0]) and np.isnan(s.dead_volume_percent_net[0])


def test_all_solid_volume_is_one_particle():
    # no background: the distance transform is infinite everywhere (was an OverflowError)
    lab = np.ones((12, 13, 14), np.uint8)
    inst = particles.split_particles(lab, VOXEL)
    assert inst.dtype == np.int32 and np.all(inst == 1)


def test_summary_arithmetic():
    import pandas as pd

    p = pd.DataFrame(
        {
            "particle_id": [1, 2, 3, 4],
            "touches_border": [False, False, False, True],
            "volume_um3": [96.0, 100.0, 190.0, 50.0],
            "envelope_volume_um3": [100.0, 100.0, 200.0, 50.0],
            "surface_area_um2": [100.0, 110.0, 170.0, 60.0],
            "sphericity": [0.9, 0.8, 0.95, 0.5],
            "sa_to_v_per_um": [1.0, 1.1, 0.85, 1.2],
            "equivalent_diameter_um": [5.76, 5.76, 7.26, 4.57],
            "n_internal_voids": [1, 0, 2, 3],
            "internal_void_volume_um3": [4.0, 0.0, 10.0, 5.0],
            "dead_volume_fraction": [0.04, 0.0, 0.05, 0.1],
            **{
                f"{k}_{pl}_um": [1.0, 1.0, 1.0, 1.0]
                for k in ("mean_radius", "roughness_proxy", "local_roughness")
                for pl in particles.PLANES
            },
        }
    )
    v = pd.DataFrame(
        {
            "void_id": [1, 2, 3, 4],
            "host_particle_id": [1, 3, 3, 4],
            "volume_um3": [4.0, 6.0, 4.0, 5.0],
            "surface_area_um2": [12.0, 16.0, 12.0, 15.0],
            "sphericity": [0.8, 0.7, 0.6, 0.1],
            "sa_to_v_per_um": [3.0, 2.7, 3.0, 3.0],
            "equivalent_diameter_um": [1.97, 2.25, 1.97, 2.12],
        }
    )
    s = particles.powder_summary(p, v, "x", reference_range_miles=300.0).iloc[0]
    assert s.n_particles == 3 and s.n_border_particles == 1 and s.n_voids == 3 and s.n_void_particles == 2
    assert s.void_particle_frequency_per_100 == pytest.approx(200 / 3)
    assert s.dead_volume_percent_net == pytest.approx(100 * 14 / 400)
    assert s.dead_volume_percent_void_particles == pytest.approx(4.5)
    assert s.range_impact_miles == pytest.approx(300 * 14 / 400)
    assert s.mean_void_volume_um3 == pytest.approx(14 / 3)
    assert s.mean_particle_volume_um3 == pytest.approx(386 / 3)
    # volume-weighted d50: weights 100, 100, 200 -> cumulative midpoints .125 .375 .75
    assert s.d50_volume_weighted_um == pytest.approx(5.76 + (7.26 - 5.76) * (0.5 - 0.375) / (0.75 - 0.375))


# --------------------------------------------------------------------------------------
# The NMC622 demo powder (truth labels of the virtual scanner)
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nmc622_truth():
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    spec = {**cfg["simulate"]["defaults"], **cfg["simulate"]["scans"]["NMC622_powder/s01"]}
    os_ = int(spec["oversample"])
    # exactly what simulate_scan does for phase_truth and the particle table, no projection
    ph = simulate.powder_phantom(
        int(spec["seed"]), int(spec["n_voxels"]), float(spec["voxel_size_um"]), os_, **spec["phantom_params"]
    )
    labels = simulate.coarse_phase(ph.phase, os_)
    voxel = float(spec["voxel_size_um"])
    inst = particles.split_particles(labels, voxel)
    t = particles.particle_table(inst, labels, voxel, "NMC622_powder", "s01")
    v = particles.void_table(inst, labels, voxel, "NMC622_powder", "s01")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = particles.powder_summary(t, v, "NMC622_powder", reference_range_miles=300.0)
    return labels, voxel, inst, t, v, s.iloc[0], ph.particles


def test_nmc622_counts_voids_dead_volume_d50(nmc622_truth):
    labels, voxel, inst, t, v, s, truth = nmc622_truth
    # The truth table's touches_border is computed on the fine grid; the coarse truth can
    # differ only for particles within a fine voxel of a face (none here: all 100 settled
    # particles lie inside the volume on both grids).
    tin = truth[~truth.touches_border]
    assert len(tin) == 100
    assert abs(s.n_particles - len(tin)) <= 0.03 * len(tin)
    assert s.n_border_particles == truth.touches_border.sum()
    freq_truth = 100 * tin.has_void.mean()
    assert abs(s.void_particle_frequency_per_100 - freq_truth) <= 5
    env_truth = tin.volume_um3 + tin.void_volume_um3
    net_truth = 100 * tin.void_volume_um3.sum() / env_truth.sum()
    assert abs(s.dead_volume_percent_net - net_truth) <= 1
    per_truth = 100 * (tin.void_volume_um3 / env_truth)[tin.has_void].mean()
    assert abs(s.dead_volume_percent_void_particles - per_truth) <= 1
    d50_truth = particles.volume_weighted_percentile(tin.equivalent_diameter_um, env_truth, 50)
    assert abs(s.d50_volume_weighted_um / d50_truth - 1) <= 0.03
    assert s.range_impact_miles == pytest.approx(s.dead_volume_percent_net / 100 * 300)
    # every void has a host; no particle is NaN; the table is one row per instance
    assert len(t) == inst.max() and (v.host_particle_id > 0).all()
    assert t[RADIUS_COLS].notna().all().all()
    assert np.isfinite(t.surface_area_um2).all() and (t.sphericity > 0.8).all()


def test_nmc622_one_to_one_with_truth_particles(nmc622_truth):
    """Every truth particle is matched by exactly one instance holding most of it."""
    labels, voxel, inst, t, v, s, truth = nmc622_truth
    # truth particle centres (fine-grid coordinates) -> coarse voxel indices
    fine = voxel / 2
    idx = np.rint((truth[["z_um", "y_um", "x_um"]].to_numpy() / fine - 0.5) / 2).astype(int)
    hit = inst[tuple(idx.T)]
    assert (hit > 0).all()
    assert len(np.unique(hit)) == len(truth)


def test_bucket_watershed_matches_skimage(nmc622_truth):
    labels, voxel, inst, *_ = nmc622_truth
    ref = particles.split_particles(labels, voxel, method="skimage")
    assert ref.max() == inst.max()
    solid = labels > 0
    assert (ref == inst)[solid].mean() > 0.995
    assert np.array_equal(particles.split_particles(labels, voxel), inst)  # deterministic
