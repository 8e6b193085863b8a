import numpy as np

from batteryct import recon, simulate


def planted_stripes():
    ph = simulate.electrode_phantom(
        seed=4, n_voxels=48, oversample=1, median_diameter_um=6.0, diameter_range_um=(4.0, 9.0)
    )
    mu = simulate.attenuation_volume(ph.phase)
    theta = np.deg2rad(np.linspace(-90, 90, 121))
    clean = simulate.project(mu, theta, center_px=23.8, oversample=1, fine_voxel_um=0.512).astype(np.float32)
    columns, offsets = np.array([9, 20, 31]), np.array([0.05, -0.04, 0.06], np.float32)
    striped = clean.copy()
    striped[:, :, columns] += offsets
    return theta, clean, striped, columns, offsets


def test_profile_ring_filter_recovers_planted_offsets_and_removes_rings():
    theta, clean, striped, columns, offsets = planted_stripes()
    fixed, n_corrected = recon.remove_rings_profile(striped, size=5)
    # Measured: in 69 % of (row, defect column) pairs less than half the offset remains;
    # the rest are rows where the structure of a 48-pixel detector hides the stripe.
    residual = (fixed - clean)[:, :, columns].mean(axis=0)  # (rows, 3)
    assert np.mean(np.abs(residual) < 0.5 * np.abs(offsets)) >= 0.6
    ref = recon.fbp(clean, theta, 23.8)
    ring_before = np.sqrt(np.mean((recon.fbp(striped, theta, 23.8) - ref) ** 2))
    ring_after = np.sqrt(np.mean((recon.fbp(fixed, theta, 23.8) - ref) ** 2))
    assert ring_after < ring_before / 1.4  # measured 0.00115 -> 0.00071 /um
    assert n_corrected >= 3 * clean.shape[1] * 0.6


def test_profile_ring_filter_leaves_clean_data_nearly_alone():
    theta, clean, _, _, _ = planted_stripes()
    fixed, _ = recon.remove_rings_profile(clean, size=5)
    ref = recon.fbp(clean, theta, 23.8)
    change = np.sqrt(np.mean((recon.fbp(fixed, theta, 23.8) - ref) ** 2))
    assert change < 0.05 * np.sqrt(np.mean(ref**2))  # measured 2.7 %
