"""Electrode microstructure metrics: interfaces, contacts, conductivity, Bruggeman, uncertainty.

Label codes are those of :mod:`batteryct.segment`: 0 open pore, 1 active, 2 internal
closed void (pore), 3 carbon-binder. Transport axis 0 (z) is through-plane, 1 and 2 (y, x)
are in-plane.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, special

from . import metrics, transport
from .segment import LABEL_BINDER, LABEL_INTERNAL_VOID, LABEL_OPEN_PORE, LABEL_SOLID

AXES = ("z", "y", "x")


def phase_masks(labels: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean masks of the three phases (internal voids count as pore)."""
    return {
        "pore": (labels == LABEL_OPEN_PORE) | (labels == LABEL_INTERNAL_VOID),
        "active": labels == LABEL_SOLID,
        "binder": labels == LABEL_BINDER,
    }


def interface_areas_um2(labels: np.ndarray, voxel_size_um, smooth_sigma_voxels: float = 0.8) -> dict:
    """Interface area of each phase pair (µm²).

    With three space-filling phases, each phase's surface is the sum of its two
    interfaces, ``A_i = A_ij + A_ik``, so ``A_ij = (A_i + A_j - A_k) / 2``. Phase surfaces are
    the corrected marching-cubes areas of :func:`batteryct.metrics.surface_area_um2`
    (smoothing + curvature correction; within 3 % of 4πR² on digital spheres). The
    volume faces are not counted: masks are meshed as if continued outside (edge padding).
    """
    masks = phase_masks(labels)
    area = {}
    for name, mask in masks.items():
        if not mask.any() or mask.all():
            area[name] = 0.0
            continue
        roi = np.ones(mask.shape, bool)
        area[name] = metrics.interface_area_um2(mask, voxel_size_um, roi=roi, smooth_sigma_voxels=smooth_sigma_voxels)
    pair = lambda i, j, k: max(0.0, 0.5 * (area[i] + area[j] - area[k]))  # noqa: E731
    return {
        "pore_active_area_um2": pair("pore", "active", "binder"),
        "pore_binder_area_um2": pair("pore", "binder", "active"),
        "active_binder_area_um2": pair("active", "binder", "pore"),
    }


def contact_mechanics(active_binder_area_um2: float, adhesion_energy_J_m2: float, shear_strength_Pa: float) -> dict:
    """Adhesion energy ``G_c · A`` (J) and maximum shear force ``T_max · A`` (N) of the
    active–binder contact."""
    area_m2 = active_binder_area_um2 * 1e-12
    return {"adhesion_energy_J": adhesion_energy_J_m2 * area_m2, "max_shear_force_N": shear_strength_Pa * area_m2}


def contact_face_multipliers(instances: np.ndarray, active: np.ndarray, voxel_size_um,
                             conductivity_S_m: float, contact_resistance_ohm_m2: float):
    """Per-face conductance factors for contact resistance between active particles.

    A face between two active voxels of *different* particles carries, in series with its
    bulk conductance ``σ A / h``, an area-specific contact resistance ``R_c`` (Ω·m²):
    ``g' = 1 / (1/g + R_c / A)``, i.e. a factor ``1 / (1 + σ R_c / h)`` (h in m).
    """
    h_um = np.broadcast_to(np.asarray(voxel_size_um, dtype=float), (3,))
    out = []
    for axis in range(3):
        a = [slice(None)] * 3
        b = [slice(None)] * 3
        a[axis] = slice(None, -1)
        b[axis] = slice(1, None)
        ia, ib = instances[tuple(a)], instances[tuple(b)]
        contact = active[tuple(a)] & active[tuple(b)] & (ia != ib) & (ia > 0) & (ib > 0)
        factor = 1.0 / (1.0 + conductivity_S_m * contact_resistance_ohm_m2 / (h_um[axis] * 1e-6))
        m = np.ones(contact.shape, np.float32)
        m[contact] = factor
        out.append(m)
    return tuple(out)


def electronic_conductivity(labels: np.ndarray, voxel_size_um, axis: int, active_conductivity_S_m: float,
                            binder_conductivity_S_m: float, contact_resistance_ohm_m2: float = 0.0,
                            instances: np.ndarray | None = None, rtol: float = 1e-6) -> dict:
    """Effective electronic conductivity (S/m) of the solid network along ``axis``.

    Active material and carbon-binder conduct with their own conductivities; pores do not.
    With ``instances`` (active particle ids, e.g. from
    :func:`batteryct.particles.split_particles`) and ``contact_resistance_ohm_m2 > 0``,
    faces between different particles carry the contact resistance
    (:func:`contact_face_multipliers`).
    """
    masks = phase_masks(labels)
    field = np.zeros(labels.shape, np.float32)
    field[masks["active"]] = active_conductivity_S_m
    field[masks["binder"]] = binder_conductivity_S_m
    multiplier = None
    if instances is not None and contact_resistance_ohm_m2 > 0:
        multiplier = contact_face_multipliers(instances, masks["active"], voxel_size_um, active_conductivity_S_m,
                                              contact_resistance_ohm_m2)
    result = transport.effective_conductivity(field, axis=axis, voxel_size_um=voxel_size_um, rtol=rtol,
                                              face_multiplier=multiplier)
    return {"conductivity_S_m": float(result.deff), "percolating": bool(result.percolating)}


def bruggeman_exponent(tortuosity_factor: float, porosity: float) -> float:
    """α in ``τ = ε^(−α)``: ``α = −ln τ / ln ε``; NaN where undefined (τ infinite, ε 0 or 1)."""
    if not np.isfinite(tortuosity_factor) or tortuosity_factor <= 0 or not 0 < porosity < 1:
        return float("nan")
    return float(-np.log(tortuosity_factor) / np.log(porosity))


def sample_labels(posteriors: np.ndarray, class_codes, n_samples: int, seed: int,
                  correlation_voxels: float = 1.5) -> list[np.ndarray]:
    """Label volumes drawn from per-voxel class probabilities, spatially coherent.

    Each sample draws a Gaussian random field smoothed over ``correlation_voxels``,
    maps it to a uniform variable ``u`` (probability integral transform) and gives each
    voxel the class whose cumulative posterior first exceeds ``u``. Every voxel's
    marginal class probability is its posterior, as with independent draws, but
    neighbouring voxels move together, so a sample is a plausible segmentation rather
    than salt-and-pepper noise that would change topology and surface area.
    Deterministic for a given ``seed``.
    """
    post = np.asarray(posteriors, dtype=np.float32)
    cumulative = np.cumsum(post, axis=0)
    cumulative /= np.maximum(cumulative[-1:], 1e-12)
    codes = np.asarray(class_codes, dtype=np.uint8)
    out = []
    for i in range(n_samples):
        rng = np.random.default_rng([seed, i])
        field = ndimage.gaussian_filter(rng.standard_normal(post.shape[1:]).astype(np.float32), correlation_voxels)
        field /= max(float(field.std()), 1e-12)
        u = 0.5 * (1.0 + special.erf(field / np.sqrt(2.0)))
        index = np.minimum((cumulative < u[None]).sum(axis=0), len(codes) - 1)
        out.append(codes[index])
    return out


def interval(values, level: float = 0.95) -> tuple[float, float]:
    """Central ``level`` interval of sampled values (NaN-aware; inf kept)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(v, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)
