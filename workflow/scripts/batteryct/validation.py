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

from .metrics import dice
from .mosaic import particles_inside
from .psd import psd_summary
from .simulate import ACTIVE, BINDER, SUPPORT, VOID

__all__ = [
    "cylinder",
    "dice",
    "score_recon",
    "score_segmentation",
    "score_scan",
    "score_mosaic",
    "score_particles",
    "truth_labels",
    "transport_validation_rows",
]

#: transport metrics compared against the truth, with the kind of error reported
#: (relative for quantities that scale, absolute for fractions and exponents)
TRANSPORT_VALIDATION_METRICS = {
    "porosity": "absolute",
    "active_fraction": "absolute",
    "binder_fraction": "absolute",
    "specific_surface_area_per_um": "relative",
    "pore_active_area_per_um": "relative",
    "pore_binder_area_per_um": "relative",
    "active_binder_area_per_um": "relative",
    **{f"tortuosity_factor_{a}": "relative" for a in "zyx"},
    **{f"deff_over_dbulk_{a}": "relative" for a in "zyx"},
    **{f"random_walk_tortuosity_factor_{a}": "relative" for a in "zyx"},
    **{f"conductivity_{a}_S_m": "relative" for a in "zyx"},
    "bruggeman_exponent_through_plane": "absolute",
    "bruggeman_exponent_in_plane": "absolute",
    "network_n_pores": "relative",
    "network_n_throats": "relative",
    "network_tortuosity_factor_z": "relative",
}


def cylinder(shape, radius_px):
    """Return a cylinder about the rotation axis (the z axis through the grid centre).

    Parameters
    ----------
    shape : tuple of int
        ``(z, y, x)`` shape of the volume.
    radius_px : float
        Radius in voxels, about ``((n_y - 1) / 2, (n_x - 1) / 2)``.

    Returns
    -------
    ndarray of bool
        A read-only broadcast view of one disk over all slices.
    """
    n_y, n_x = shape[-2:]
    yy, xx = np.ogrid[:n_y, :n_x]
    disk = (yy - (n_y - 1) / 2) ** 2 + (xx - (n_x - 1) / 2) ** 2 <= radius_px**2
    return np.broadcast_to(disk, shape)


def score_recon(volume, mu_truth, phase_truth):
    """Score a reconstruction against the true attenuation (module docstring).

    Parameters
    ----------
    volume : ndarray, (z, y, x)
        Reconstructed attenuation, 1/um.
    mu_truth : ndarray, (z, y, x)
        True attenuation on the same grid, 1/um.
    phase_truth : ndarray, uint8, (z, y, x)
        True phase codes (:mod:`batteryct.simulate`).

    Returns
    -------
    dict
        A table row: ``recon_nrmse``, ``recon_relative_l2`` (dimensionless),
        ``recon_gain`` (dimensionless) and ``recon_noise_std_per_um`` (1/um; NaN without
        active interior).
    """
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
    """Score a segmentation against the true phases inside ``roi`` (module docstring).

    Parameters
    ----------
    labels : ndarray of int, (z, y, x)
        Labels (:mod:`batteryct.segment` codes).
    phase_truth : ndarray, uint8, (z, y, x)
        True phase codes.
    roi : ndarray of bool, (z, y, x)
        Region scored.

    Returns
    -------
    dict
        A table row: ``dice_solid``, ``porosity``, ``porosity_truth``,
        ``porosity_error``, ``internal_void_voxels_truth``, ``void_recall``,
        ``void_precision`` (NaN when undefined) and, when the truth has binder,
        ``dice_active`` and ``dice_binder``.
    """
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
    """Score one simulated scan: reconstruction, centre and segmentation.

    Parameters
    ----------
    volume : ndarray, (z, y, x)
        Reconstructed attenuation, 1/um.
    labels : ndarray of int, (z, y, x)
        Segmentation of ``volume``.
    mu_truth, phase_truth : ndarray, (z, y, x)
        Ground truth of the virtual scanner.
    center_px, center_truth_px : float
        Rotation axis used and true, detector columns in pixels.
    roi_radius_fraction : float
        The segmentation is scored inside a cylinder of this fraction of the field-of-view
        radius.

    Returns
    -------
    dict
        A table row: the keys of :func:`score_recon` and :func:`score_segmentation`, plus
        ``center_px``, ``center_truth_px`` and ``center_error_px``.
    """
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
    """Score stitched tile positions, gains and 2D particle detection against a simulated mosaic.

    Positions are compared relative to tile 0 (the anchor), since the stitched frame and
    the simulator's frame differ by tile 0's stage error. Particles are counted among
    those whose disc lies wholly inside the mosaic (:func:`batteryct.mosaic.particles_inside`).

    Parameters
    ----------
    positions : DataFrame
        Stitched ``y_px``, ``x_px`` and ``gain`` per tile.
    detected : DataFrame
        Detected particles with ``diameter_um``.
    truth : dict
        The simulator's ``position_px``, ``gain`` and ``particles`` (DataFrame with
        ``diameter_um``).
    tile_shape : tuple of int
        ``(rows, columns)`` of a tile, pixels.
    pixel_size_um : float
        Pixel size, um.

    Returns
    -------
    dict
        A table row: ``position_error_mean_px``, ``position_error_max_px``,
        ``gain_error_max``, ``n_particles_truth``, ``n_particles_detected``,
        ``count_error``, ``median_diameter_truth_um``, ``median_diameter_detected_um``.
    """
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
    """Score non-border particle statistics against the virtual scanner's particle list.

    Compared: count of particles not touching the border, volume-weighted d50 and Sauter
    d32 of equivalent diameters (um), frequency of void-containing particles (per 100) and
    net dead volume (%), all over non-border particles.

    Parameters
    ----------
    particles : DataFrame
        Measured particles (:mod:`batteryct.particles`).
    voids : DataFrame
        Measured internal voids (not used by the scores).
    truth : DataFrame
        The virtual scanner's particle table (:func:`batteryct.simulate.simulate_scan`).

    Returns
    -------
    dict
        A table row of each statistic and its ``*_truth`` counterpart, plus
        ``count_error``.
    """
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


def truth_labels(phase_truth: np.ndarray) -> np.ndarray:
    """Map the virtual scanner's phase codes to label codes (the support film counts as pore).

    Parameters
    ----------
    phase_truth : ndarray of uint8, (z, y, x)
        True phases (:mod:`batteryct.simulate` codes).

    Returns
    -------
    ndarray of uint8
        Labels of :mod:`batteryct.label_codes` (0 pore, 1 active, 2 internal void, 3 binder).

    Examples
    --------
    >>> truth_labels(np.array([0, 1, 2, 3, 4], np.uint8)).tolist()
    [0, 1, 2, 3, 0]
    """
    labels = np.asarray(phase_truth, dtype=np.uint8).copy()
    labels[labels == SUPPORT] = 0
    return labels


def transport_validation_rows(measured: dict, truth: dict, metrics: dict | None = None) -> list[dict]:
    """Compare one scan's transport metrics (with intervals) to the same metrics of its truth.

    Parameters
    ----------
    measured : dict
        A row of ``transport.parquet``: metric values and, where computed,
        ``<metric>_ci_low`` / ``<metric>_ci_high``.
    truth : dict
        The same metrics computed by the same functions on the true phases.
    metrics : dict, optional
        Metric -> ``"relative"`` or ``"absolute"``; default
        :data:`TRANSPORT_VALIDATION_METRICS`. Metrics missing from either row are skipped.

    Returns
    -------
    list of dict
        One row per metric: ``metric``, ``measured``, ``ci_low``, ``ci_high`` (NaN without an
        interval), ``truth``, ``error`` (measured − truth), ``relative_error``
        (error / |truth|, NaN for a zero truth), ``error_kind`` and ``truth_in_interval``
        (None without an interval).

    Examples
    --------
    >>> rows = transport_validation_rows(
    ...     {"porosity": 0.41, "porosity_ci_low": 0.40, "porosity_ci_high": 0.42}, {"porosity": 0.405})
    >>> rows[0]["metric"], round(rows[0]["error"], 6), rows[0]["truth_in_interval"]
    ('porosity', 0.005, True)
    """
    metrics = TRANSPORT_VALIDATION_METRICS if metrics is None else metrics
    out = []
    for metric, kind in metrics.items():
        if metric not in measured or metric not in truth:
            continue
        value, true = float(measured[metric]), float(truth[metric])
        lo = float(measured.get(f"{metric}_ci_low", np.nan))
        hi = float(measured.get(f"{metric}_ci_high", np.nan))
        has_ci = bool(np.isfinite(lo) or np.isfinite(hi)) and not (np.isnan(lo) or np.isnan(hi))
        error = value - true if np.isfinite(value) and np.isfinite(true) else float("nan")
        out.append(
            {
                "metric": metric,
                "measured": value,
                "ci_low": lo,
                "ci_high": hi,
                "truth": true,
                "error": error,
                "relative_error": error / abs(true) if np.isfinite(true) and true != 0 else float("nan"),
                "error_kind": kind,
                "truth_in_interval": bool(lo <= true <= hi) if has_ci else None,
            }
        )
    return out
