import numpy as np
import pytest
import yaml
from scipy import ndimage

from batteryct import simulate
from conftest import ROOT


def sphere_volume(n, center, radius, mu):
    z, y, x = np.ogrid[:n, :n, :n]
    inside = (z - center[0]) ** 2 + (y - center[1]) ** 2 + (x - center[2]) ** 2 <= radius**2
    return np.where(inside, mu, 0).astype(np.float32), inside


def test_projector_conserves_mass_and_follows_the_geometry():
    n, mu, a_um = 64, 0.05, 0.25
    c = (n - 1) / 2
    vol, inside = sphere_volume(n, (c, c + 7.0, c - 11.0), 6.0, mu)
    theta = np.deg2rad(np.linspace(-90, 90, 37))
    center_fine = c + 0.37
    p = simulate.project(vol, theta, center_px=center_fine, oversample=1, fine_voxel_um=a_um)
    # Every voxel's mass lands on the detector: sum(p) * pixel = mu * volume.
    mass = p.sum(axis=(1, 2)) * a_um * a_um  # detector pixel width × row height
    np.testing.assert_allclose(mass, float(np.float32(mu)) * inside.sum() * a_um**3, rtol=1e-9)
    # The projected centroid follows u = x cos(theta) + y sin(theta) + center (stated convention).
    u = np.arange(n)
    centroid = (p.sum(axis=1) * u).sum(axis=1) / p.sum(axis=(1, 2))
    expected = -11.0 * np.cos(theta) + 7.0 * np.sin(theta) + center_fine
    np.testing.assert_allclose(centroid, expected, atol=1e-6)
    # The central chord of a sphere is 2 R mu (to voxelisation accuracy).
    k = int(round(expected[18]))
    assert p[18, int(c), k] == pytest.approx(2 * 6.0 * a_um * mu, rel=0.08)


@pytest.mark.parametrize("porosity,strain", [(0.45, 0.0), (0.30, 0.3)])
def test_electrode_phantom_reaches_its_porosity(porosity, strain):
    ph = simulate.electrode_phantom(
        seed=5, n_voxels=48, porosity=porosity, binder_fraction=0.1, calendering_strain=strain, median_diameter_um=6.0
    )
    n = ph.phase.shape[0]
    c = (n - 1) / 2
    yy, xx = np.ogrid[:n, :n]
    pillar = ph.phase[:, (yy - c) ** 2 + (xx - c) ** 2 <= (0.9 * c) ** 2]
    fractions = np.bincount(pillar.ravel(), minlength=5) / pillar.size
    assert fractions[simulate.AIR] == pytest.approx(porosity, abs=0.01)
    assert fractions[simulate.BINDER] == pytest.approx(0.10, abs=0.002)


def test_powder_phantom_voids_and_determinism():
    kw = dict(
        seed=3,
        n_voxels=64,
        n_particles=40,
        median_diameter_um=6.0,
        diameter_range_um=(4.0, 10.0),
        void_particle_fraction=0.5,
    )
    a = simulate.powder_phantom(**kw)
    b = simulate.powder_phantom(**kw)
    np.testing.assert_array_equal(a.phase, b.phase)
    t = a.particles
    assert len(t) >= 20
    assert 0.25 <= t["has_void"].mean() <= 0.75
    with_void = t[t["has_void"]]
    ratio = with_void["void_volume_um3"] / (with_void["volume_um3"] + with_void["void_volume_um3"])
    assert 0.02 < ratio.median() < 0.06
    # Voids are closed: no void voxel touches air.
    void = a.phase == simulate.VOID
    assert not np.any(ndimage.binary_dilation(void) & (a.phase == simulate.AIR))


def test_simulate_scan_is_deterministic_and_consistent():
    defaults = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["simulate"]["defaults"]
    spec = dict(
        defaults,
        phantom="powder",
        seed=9,
        n_voxels=32,
        n_angles=31,
        center_offset_px=0.3,
        phantom_params=dict(n_particles=10, median_diameter_um=5.0, diameter_range_um=(4.0, 8.0)),
    )
    a = simulate.simulate_scan(spec)
    b = simulate.simulate_scan(spec)
    np.testing.assert_array_equal(a.projections, b.projections)
    assert a.projections.shape == (31, 32, 32) and a.projections.dtype == np.uint16
    assert a.mu_truth_per_um.shape == (32, 32, 32)
    assert a.center_px == pytest.approx(15.8)
    assert a.theta_deg[0] == -90 and a.theta_deg[-1] == 90
