"""Scoring reconstructions and segmentations against the virtual scanner's ground truth.

Definitions (all inside a cylinder about the rotation axis):

* ``recon_nrmse``: RMSE / (max − min of the truth) inside the field of view
  (radius ``(n − 1) / 2 − 1`` voxels); ``recon_relative_l2``: ‖rec − truth‖ / ‖truth‖.
* ``recon_gain``: mean reconstructed value over active-material voxels at least two voxels
  from any other phase, divided by the true attenuation there (a regression slope would
  be biased low by edge blur, so interiors are used).
* ``dice_solid``: Dice of solid (active + binder) against the truth's majority phase.
* ``porosity_error``: measured − true porosity inside the metrics ROI; the support film
  counts as pore/background, like air.
* ``void_recall``: fraction of true internal-void voxels labelled internal void.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage

from .simulate import ACTIVE, BINDER, VOID


def cylinder(shape, radius_px):
    n_y, n_x = shape[-2:]
    yy, xx = np.ogrid[:n_y, :n_x]
    disk = (yy - (n_y - 1) / 2) ** 2 + (xx - (n_x - 1) / 2) ** 2 <= radius_px**2
    return np.broadcast_to(disk, shape)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient of two boolean arrays (1.0 when both are empty)."""
    total = int(np.count_nonzero(a)) + int(np.count_nonzero(b))
    return 1.0 if total == 0 else 2.0 * np.count_nonzero(a & b) / total


def score_recon(volume, mu_truth, phase_truth):
    n = min(volume.shape[1:])
    fov = cylinder(volume.shape, (n - 1) / 2 - 1)
    rec, tru = volume[fov].astype(np.float64), mu_truth[fov].astype(np.float64)
    interior = ndimage.binary_erosion(phase_truth == ACTIVE, iterations=2) & fov
    mu_active = float(np.median(mu_truth[interior])) if interior.any() else float("nan")
    return {
        "recon_nrmse": float(np.sqrt(np.mean((rec - tru) ** 2)) / (tru.max() - tru.min())),
        "recon_relative_l2": float(np.linalg.norm(rec - tru) / np.linalg.norm(tru)),
        "recon_gain": float(np.mean(volume[interior]) / mu_active) if interior.any() else float("nan"),
        "recon_noise_std_per_um": float(np.std(volume[interior])) if interior.any() else float("nan"),
    }


def score_segmentation(labels, phase_truth, roi):
    solid = np.isin(labels, (ACTIVE, BINDER)) & roi
    solid_truth = np.isin(phase_truth, (ACTIVE, BINDER)) & roi
    n_roi = int(np.count_nonzero(roi))
    void_truth = (phase_truth == VOID) & roi
    void = (labels == VOID) & roi
    porosity = 1.0 - np.count_nonzero(solid) / n_roi
    porosity_truth = 1.0 - np.count_nonzero(solid_truth) / n_roi
    out = {
        "dice_solid": dice(solid, solid_truth),
        "porosity": porosity,
        "porosity_truth": porosity_truth,
        "porosity_error": porosity - porosity_truth,
        "internal_void_voxels_truth": int(np.count_nonzero(void_truth)),
        "void_recall": float(np.count_nonzero(void & void_truth) / np.count_nonzero(void_truth))
        if void_truth.any()
        else float("nan"),
        "void_precision": float(np.count_nonzero(void & void_truth) / np.count_nonzero(void))
        if void.any()
        else float("nan"),
    }
    if np.any(phase_truth == BINDER):
        out["dice_active"] = dice((labels == ACTIVE) & roi, (phase_truth == ACTIVE) & roi)
        out["dice_binder"] = dice((labels == BINDER) & roi, (phase_truth == BINDER) & roi)
    return out


def score_scan(volume, labels, mu_truth, phase_truth, center_px, center_truth_px, roi_radius_fraction):
    """All scores of one scan as a flat dict (see the module docstring)."""
    n = min(volume.shape[1:])
    roi = cylinder(volume.shape, roi_radius_fraction * (n - 1) / 2)
    return {
        **score_recon(volume, mu_truth, phase_truth),
        "center_px": center_px,
        "center_truth_px": center_truth_px,
        "center_error_px": center_px - center_truth_px,
        **score_segmentation(labels, phase_truth, roi),
    }


def score_mosaic(positions: pd.DataFrame, detected: pd.DataFrame, truth: dict, tile_shape, pixel_size_um):
    """Stitched tile positions, gains and 2D particle detection against a simulated mosaic.

    Positions are compared relative to tile 0 (the anchor), since the stitched frame and
    the simulator's frame differ by tile 0's stage error. Particles are counted among
    those whose disc lies wholly inside the mosaic (:func:`batteryct.mosaic.particles_inside`).
    """
    from .mosaic import particles_inside

    p = positions[["y_px", "x_px"]].to_numpy()
    t = np.asarray(truth["position_px"])
    err = np.linalg.norm((p - p[0]) - (t - t[0]), axis=1)
    gain = positions["gain"].to_numpy()
    true_gain = np.asarray(truth["gain"])
    gain_err = np.abs(gain / gain[0] / (true_gain / true_gain[0]) - 1.0)
    inside = particles_inside(truth["particles"], t, tile_shape, pixel_size_um)
    truth_particles = truth["particles"][inside]
    n_truth, n_det = len(truth_particles), len(detected)
    return {
        "position_error_mean_px": float(err.mean()),
        "position_error_max_px": float(err.max()),
        "gain_error_max": float(gain_err.max()),
        "n_particles_truth": int(n_truth),
        "n_particles_detected": int(n_det),
        "count_error": n_det / n_truth - 1.0 if n_truth else float("nan"),
        "median_diameter_truth_um": float(truth_particles["diameter_um"].median()) if n_truth else float("nan"),
        "median_diameter_detected_um": float(detected["diameter_um"].median()) if n_det else float("nan"),
    }


def score_particles(particles: pd.DataFrame, voids: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Non-border particle statistics against the virtual scanner's particle list.

    Compared: count of particles not touching the border, volume-weighted d50 and Sauter
    d32 of equivalent diameters, frequency of void-containing particles (per 100) and net
    dead volume (%), all over non-border particles.
    """
    from .psd import psd_summary

    inner = particles[~particles["touches_border"]] if len(particles) else particles
    inner_truth = truth[~truth["touches_border"]]
    out = {"n_particles": int(len(inner)), "n_particles_truth": int(len(inner_truth))}
    out["count_error"] = out["n_particles"] / out["n_particles_truth"] - 1.0 if len(inner_truth) else float("nan")
    for name, table in (("", inner), ("_truth", inner_truth)):
        s = psd_summary(table["equivalent_diameter_um"].to_numpy()) if len(table) else {}
        out[f"d50_volume_um{name}"] = s.get("d50_volume_um", float("nan"))
        out[f"d32_um{name}"] = s.get("d32_um", float("nan"))
    out["void_particles_per_100"] = (
        100.0 * float((inner["n_internal_voids"] > 0).mean()) if len(inner) else float("nan")
    )
    out["void_particles_per_100_truth"] = 100.0 * float(inner_truth["has_void"].mean())
    envelope = inner["envelope_volume_um3"].sum() if len(inner) else float("nan")
    out["dead_volume_percent"] = (
        100.0 * inner["internal_void_volume_um3"].sum() / envelope if len(inner) else float("nan")
    )
    out["dead_volume_percent_truth"] = (
        100.0
        * inner_truth["void_volume_um3"].sum()
        / (inner_truth["volume_um3"] + inner_truth["void_volume_um3"]).sum()
    )
    return out
