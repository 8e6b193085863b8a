"""Electrode microstructure metrics: interfaces, contacts, conductivity, Bruggeman, uncertainty.

Label codes are those of :mod:`batteryct.label_codes`: 0 open pore, 1 active, 2 internal
closed void (pore), 3 carbon-binder. Transport axis 0 (z) is through-plane, 1 and 2 (y, x)
are in-plane. :func:`value_metrics` gives every metric of the hard labels,
:func:`sample_metrics` those of one posterior sample, :func:`with_intervals` the intervals;
:func:`transport_metrics` runs all of it in one process.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, special

from . import _checks, metrics, network, random_walk, runlog, transport
from .contacts import expand_instances, particle_instances
from .label_codes import LABEL_SOLID, check_has_pores, phase_masks

AXES = ("z", "y", "x")

#: Pore|solid surface metrics. The hard labels (Potts prior, clean-up) read the smoothest
#: boundary the posteriors allow, the posterior samples (drawn without that prior) a rougher
#: one; the scan does not resolve roughness at the voxel scale, so these intervals span both.
SURFACE_METRIC_PREFIXES = ("specific_surface_area", "pore_active_area", "pore_binder_area")


def interface_areas_um2(labels: np.ndarray, voxel_size_um, smooth_sigma_voxels: float = 0.8) -> dict:
    """Compute the interface area of each phase pair.

    Parameters
    ----------
    labels : ndarray of int, (z, y, x)
        Label volume.
    voxel_size_um : float or (3,) sequence
        Voxel size in µm.
    smooth_sigma_voxels : float
        Smoothing of the phase masks before meshing (voxels).

    Returns
    -------
    dict
        ``pore_active_area_um2``, ``pore_binder_area_um2``, ``active_binder_area_um2``
        (µm², each >= 0).

    Notes
    -----
    With three space-filling phases, each phase's surface is the sum of its two
    interfaces, ``A_i = A_ij + A_ik``, so ``A_ij = (A_i + A_j - A_k) / 2``. Phase surfaces
    are the corrected marching-cubes areas of :func:`batteryct.metrics.interface_area_um2`
    (smoothing + curvature correction). The volume faces are not counted: masks are
    meshed as if continued outside (edge padding).
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


def contact_mechanics(active_binder_area_um2: float, *, adhesion_energy_J_m2: float, shear_strength_Pa: float) -> dict:
    """Compute the adhesion energy and the maximum shear force of the active–binder contact.

    Parameters
    ----------
    active_binder_area_um2 : float
        Active–binder interface area (µm²).
    adhesion_energy_J_m2 : float
        Critical energy release rate ``G_c`` of the interface (J/m²).
    shear_strength_Pa : float
        Interfacial shear strength ``T_max`` (Pa).

    Returns
    -------
    dict
        ``adhesion_energy_J`` = ``G_c · A`` (J), ``max_shear_force_N`` = ``T_max · A`` (N).
    """
    area_m2 = active_binder_area_um2 * 1e-12
    return {"adhesion_energy_J": adhesion_energy_J_m2 * area_m2, "max_shear_force_N": shear_strength_Pa * area_m2}


def contact_face_multipliers(
    instances: np.ndarray,
    active: np.ndarray,
    voxel_size_um,
    *,
    conductivity_S_m: float,
    contact_resistance_ohm_m2: float,
):
    """Compute per-face conductance factors for the contact resistance between active particles.

    Parameters
    ----------
    instances : ndarray of int, (z, y, x)
        Active particle ids (0 = none).
    active : ndarray of bool, (z, y, x)
        Active phase.
    voxel_size_um : float or (3,) sequence
        Voxel size in µm.
    conductivity_S_m : float
        Bulk conductivity ``σ`` of the active phase (S/m).
    contact_resistance_ohm_m2 : float
        Area-specific contact resistance ``R_c`` (Ω·m²).

    Returns
    -------
    tuple of 3 ndarray of float32
        ``(m_z, m_y, m_x)`` for the interior faces, shapes ``(nz - 1, ny, nx)``,
        ``(nz, ny - 1, nx)``, ``(nz, ny, nx - 1)`` (dimensionless; 1 off the contacts), as
        ``face_multiplier`` of :func:`batteryct.transport.effective_conductivity`.

    Notes
    -----
    A face between two active voxels of *different* particles carries, in series with its
    bulk conductance ``σ A / h``, the resistance ``R_c / A``:
    ``g' = 1 / (1/g + R_c / A)``, i.e. a factor ``1 / (1 + σ R_c / h)`` (h in m).
    """
    h_um = _checks.voxel_size_um(voxel_size_um)
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


def electronic_conductivity(
    labels: np.ndarray,
    voxel_size_um,
    axis: int,
    *,
    active_conductivity_S_m: float,
    binder_conductivity_S_m: float,
    contact_resistance_ohm_m2: float = 0.0,
    instances: np.ndarray | None = None,
    rtol: float = 1e-6,
) -> dict:
    """Compute the effective electronic conductivity of the solid network along ``axis``.

    Active material and carbon-binder conduct with their own conductivities; pores do not.

    Parameters
    ----------
    labels : ndarray of int, (z, y, x)
        Label volume.
    voxel_size_um : float or (3,) sequence
        Voxel size in µm.
    axis : int
        Transport axis (0 = z = through-plane).
    active_conductivity_S_m, binder_conductivity_S_m : float
        Bulk conductivities of the active and binder phases (S/m).
    contact_resistance_ohm_m2 : float
        Area-specific contact resistance between different active particles (Ω·m²);
        used with ``instances`` when positive (:func:`contact_face_multipliers`).
    instances : ndarray of int, (z, y, x), optional
        Active particle ids, e.g. from :func:`batteryct.particles.split_particles`.
    rtol : float
        Relative residual of the finite-volume solve.

    Returns
    -------
    dict
        ``conductivity_S_m`` (S/m, 0 without a conducting path) and ``percolating``.
    """
    masks = phase_masks(labels)
    field = np.zeros(labels.shape, np.float32)
    field[masks["active"]] = active_conductivity_S_m
    field[masks["binder"]] = binder_conductivity_S_m
    multiplier = None
    if instances is not None and contact_resistance_ohm_m2 > 0:
        multiplier = contact_face_multipliers(
            instances,
            masks["active"],
            voxel_size_um,
            conductivity_S_m=active_conductivity_S_m,
            contact_resistance_ohm_m2=contact_resistance_ohm_m2,
        )
    result = transport.effective_conductivity(
        field, axis=axis, voxel_size_um=voxel_size_um, rtol=rtol, face_multiplier=multiplier
    )
    return {"conductivity_S_m": float(result.deff), "percolating": bool(result.percolating)}


def bruggeman_exponent(tortuosity_factor: float, porosity: float) -> float:
    """Return α in ``τ = ε^(−α)``: ``α = −ln τ / ln ε``.

    Parameters
    ----------
    tortuosity_factor : float
        ``τ`` (dimensionless).
    porosity : float
        ``ε`` (volume fraction).

    Returns
    -------
    float
        ``α`` (dimensionless); NaN where undefined (τ infinite or <= 0, ε 0 or 1).
    """
    if not np.isfinite(tortuosity_factor) or tortuosity_factor <= 0 or not 0 < porosity < 1:
        return float("nan")
    return float(-np.log(tortuosity_factor) / np.log(porosity))


def sample_label_volume(
    posteriors: np.ndarray,
    class_codes,
    index: int,
    seed: int,
    *,
    correlation_voxels: float,
    global_weight: float,
) -> np.ndarray:
    """Draw label volume number ``index`` from per-voxel class probabilities, spatially coherent.

    Parameters
    ----------
    posteriors : ndarray, (n_classes, z, y, x)
        Class probabilities per voxel.
    class_codes : sequence of int
        Label code of each class, in the order of ``posteriors`` (increasing
        attenuation: pore, binder, active).
    index : int
        Sample number (>= 0).
    seed : int
        Seed; the draw depends only on ``(seed, index)``.
    correlation_voxels : float
        Smoothing (Gaussian sigma, voxels) of the local part of the sampling field.
    global_weight : float
        Share ``w`` of the sampling variance common to all voxels, in [0, 1].

    Returns
    -------
    ndarray of uint8, (z, y, x)
        The sampled labels.

    Raises
    ------
    ValueError
        If ``global_weight`` is outside [0, 1] or ``index < 0``.

    Notes
    -----
    Each voxel takes the class whose cumulative posterior first reaches a uniform variable
    ``u = Phi(z)``, with ``z = sqrt(w) g + sqrt(1 - w) f(x)``: ``g`` is one standard
    normal per sample (shared by every voxel) and ``f`` a unit-variance Gaussian random
    field smoothed over ``correlation_voxels``.

    Whatever ``w``, every voxel's marginal class probability is its posterior. The shared
    part moves all class boundaries together, as an error in the fitted phase levels or
    thresholds would (``u = 0.5`` for every voxel gives the posterior-median labels, i.e.
    the hard labels); the local part lets neighbouring regions disagree, as residual noise
    correlated over the denoising patch does. Independent draws (``w = 0`` and no
    smoothing) would instead give salt-and-pepper labels whose surface area and
    tortuosity are biased high, and intervals that shrink with the volume size.

    The draw depends only on ``(seed, index)``, not on how many samples are taken, so
    samples can be computed in separate jobs and adding samples keeps the earlier ones.
    """
    if not 0.0 <= global_weight <= 1.0:
        raise ValueError(f"global_weight must be in [0, 1], got {global_weight}")
    if index < 0:
        raise ValueError(f"sample index must be >= 0, got {index}")
    post = np.asarray(posteriors, dtype=np.float32)
    cumulative = np.cumsum(post, axis=0)
    cumulative /= np.maximum(cumulative[-1:], 1e-12)
    codes = np.asarray(class_codes, dtype=np.uint8)
    rng = np.random.default_rng([seed, index])
    shared = rng.standard_normal()
    field = ndimage.gaussian_filter(rng.standard_normal(post.shape[1:]).astype(np.float32), correlation_voxels)
    field /= max(float(field.std()), 1e-12)
    z = np.float32(np.sqrt(global_weight) * shared) + np.float32(np.sqrt(1.0 - global_weight)) * field
    u = special.ndtr(z)
    choice = np.minimum((cumulative < u[None]).sum(axis=0), len(codes) - 1)
    return codes[choice]


def sample_labels(
    posteriors: np.ndarray,
    class_codes,
    n_samples: int,
    seed: int,
    *,
    correlation_voxels: float,
    global_weight: float,
) -> list[np.ndarray]:
    """Draw the first ``n_samples`` label volumes of :func:`sample_label_volume`.

    Parameters
    ----------
    posteriors, class_codes, seed, correlation_voxels, global_weight
        As in :func:`sample_label_volume`.
    n_samples : int
        Number of samples (indices ``0 .. n_samples - 1``).

    Returns
    -------
    list of ndarray of uint8, (z, y, x)
        The sampled label volumes.
    """
    return [
        sample_label_volume(
            posteriors, class_codes, i, seed, correlation_voxels=correlation_voxels, global_weight=global_weight
        )
        for i in range(n_samples)
    ]


def interval(samples, value: float, level: float = 0.95, *, reach_sample_mean: bool = False) -> tuple[float, float]:
    """Compute the ``level`` coverage interval of a metric from its values on posterior samples.

    Parameters
    ----------
    samples : sequence of float
        The metric on the posterior samples (NaN values are ignored).
    value : float
        The metric on the hard labels (the centre of the interval, unless
        ``reach_sample_mean``).
    level : float
        Coverage probability.
    reach_sample_mean : bool, optional
        Stretch the interval to the mean of the samples as well (for the metrics of
        :data:`SURFACE_METRIC_PREFIXES`, whose samples read systematically rougher than
        the hard labels).

    Returns
    -------
    (float, float)
        Lower and upper bound, in the unit of the metric; ``(nan, nan)`` if nothing is
        left after dropping NaN values.

    Notes
    -----
    ``value ± t_{n-1} s sqrt(1 + 1/n)`` (``s``: standard deviation of the ``n`` sampled
    values, ``t``: Student quantile): the interval in which the metric of a new posterior
    sample falls with probability ``level``, centred on the value of the hard labels. With
    ~8 samples, empirical 2.5/97.5 % quantiles would be the extreme samples and too
    narrow. With ``reach_sample_mean`` the interval is ``[min(value, m) - h, max(value, m) + h]``
    (``m``: the samples' mean, ``h`` the half-width above): it holds both readings (with a
    single sample, the span of the value and that sample). If the
    value or a sample is infinite (a direction that percolates only in some samples), the
    interval is the range of all of them, infinity included.

    Examples
    --------
    >>> lo, hi = interval([0.29, 0.31, 0.30, 0.30], 0.30)
    >>> round(lo, 4), round(hi, 4)
    (0.2709, 0.3291)
    >>> lo, hi = interval([0.33, 0.35, 0.34, 0.34], 0.30, reach_sample_mean=True)
    >>> round(lo, 4), round(hi, 4)
    (0.2709, 0.3691)
    """
    v = np.asarray(samples, dtype=float)
    v = v[~np.isnan(v)]
    if not np.isfinite(value) or not np.all(np.isfinite(v)):
        allv = np.append(v, value)
        allv = allv[~np.isnan(allv)]
        if allv.size == 0:
            return float("nan"), float("nan")
        return float(allv.min()), float(allv.max())
    if v.size < 2:
        reach = reach_sample_mean and v.size == 1
        return (min(float(value), float(v[0])), max(float(value), float(v[0]))) if reach else (float(value),) * 2
    from scipy import stats  # here, not at the top: 0.6 s of every transport job's start-up

    half = float(stats.t.ppf(0.5 + level / 2.0, v.size - 1) * v.std(ddof=1) * np.sqrt(1.0 + 1.0 / v.size))
    low = high = float(value)
    if reach_sample_mean:
        low, high = min(low, float(v.mean())), max(high, float(v.mean()))
    return low - half, high + half


def _voxel_volume_um3(voxel_size_um) -> float:
    return float(np.prod(_checks.voxel_size_um(voxel_size_um)))


def _bounded(key: str, lo: float, hi: float) -> tuple[float, float]:
    """Clip an interval to the metric's range: fractions in [0, 1], the rest >= 0."""
    if key.startswith("bruggeman"):
        return lo, hi
    lo = max(lo, 0.0)
    if "fraction" in key or key == "porosity":
        hi = min(hi, 1.0)
    return lo, hi


@dataclass(frozen=True, kw_only=True)
class _Settings:
    """The config values the metrics of one label volume use (config section ``transport``)."""

    rtol: float
    random_walk_walkers: int
    random_walk_steps: int
    active_conductivity_S_m: float
    binder_conductivity_S_m: float
    contact_resistance_ohm_m2: float
    adhesion_energy_J_m2: float
    shear_strength_Pa: float
    seed: int
    random_walk: bool = True
    network: bool = True
    conductivity: bool = True


def _metrics(labels, voxel_size_um, p: _Settings, instances=None, logger=None):
    """Compute every metric of one label volume, as (row, nodes, throats).

    Used for the value and for each posterior sample; ``instances``: active particle ids
    (or None).
    """
    masks = phase_masks(labels)
    n = labels.size
    volume_um3 = n * _voxel_volume_um3(voxel_size_um)
    out = {
        "porosity": float(masks["pore"].sum() / n),
        "active_fraction": float(masks["active"].sum() / n),
        "binder_fraction": float(masks["binder"].sum() / n),
    }
    areas = interface_areas_um2(labels, voxel_size_um)
    # the solid surface is the pore surface: pore-active + pore-binder
    out["specific_surface_area_per_um"] = (areas["pore_active_area_um2"] + areas["pore_binder_area_um2"]) / volume_um3
    out.update(areas)
    out.update({k.replace("_area_um2", "_area_per_um"): v / volume_um3 for k, v in areas.items()})
    out.update(
        contact_mechanics(
            areas["active_binder_area_um2"],
            adhesion_energy_J_m2=p.adhesion_energy_J_m2,
            shear_strength_Pa=p.shear_strength_Pa,
        )
    )
    # k/N of the solves and extractions with the elapsed time, for the job's log
    steps = 3 + 3 * bool(p.conductivity) + bool(p.random_walk) + bool(p.network)
    step = runlog.Progress(logger, "transport metrics", "solves", every_fraction=0) if logger else None
    for axis, name in enumerate(AXES):
        t = transport.tortuosity(masks["pore"], axis=axis, voxel_size_um=voxel_size_um, rtol=p.rtol)
        if step:
            step(None, steps, f"tortuosity along {name}: {runlog.number(t['tortuosity_factor'])}")
        out[f"tortuosity_factor_{name}"] = float(t["tortuosity_factor"])
        out[f"deff_over_dbulk_{name}"] = float(t["deff_over_dbulk"])
        out[f"percolating_fraction_{name}"] = float(t["percolating_fraction"])
        out[f"isolated_pore_fraction_{name}"] = float(t["isolated_fraction"])
        out[f"dead_end_pore_fraction_{name}"] = float(t["dead_end_fraction"])
        if logger is not None and not t["percolating"]:
            logger.warning(f"the pore phase does not percolate along {name}: tortuosity factor = inf")
    for axis, name in enumerate(AXES if p.conductivity else ()):
        if masks["active"].any() or masks["binder"].any():
            c = electronic_conductivity(
                labels,
                voxel_size_um,
                axis,
                active_conductivity_S_m=p.active_conductivity_S_m,
                binder_conductivity_S_m=p.binder_conductivity_S_m,
                contact_resistance_ohm_m2=p.contact_resistance_ohm_m2,
                instances=instances,
                rtol=p.rtol,
            )
            out[f"conductivity_{name}_S_m"] = c["conductivity_S_m"]
        else:
            out[f"conductivity_{name}_S_m"] = 0.0
        if step:
            sigma_S_m = runlog.number(out[f"conductivity_{name}_S_m"])
            step(None, steps, f"electronic conductivity along {name}: {sigma_S_m} S/m")
    out["bruggeman_exponent_through_plane"] = bruggeman_exponent(out["tortuosity_factor_z"], out["porosity"])
    in_plane = [bruggeman_exponent(out[f"tortuosity_factor_{a}"], out["porosity"]) for a in ("y", "x")]
    out["bruggeman_exponent_in_plane"] = float(np.mean(in_plane)) if np.all(np.isfinite(in_plane)) else float("nan")
    if p.random_walk:
        rw = random_walk.random_walk_tortuosity(
            masks["pore"], voxel_size_um, n_walkers=p.random_walk_walkers, n_steps=p.random_walk_steps, seed=p.seed
        )
        tau_rw = np.broadcast_to(np.asarray(rw["tortuosity_factor"], dtype=float), (3,))
        for i, name in enumerate(AXES):
            out[f"random_walk_tortuosity_factor_{name}"] = float(tau_rw[i])
        if step:
            step(None, steps, f"random walk of {p.random_walk_walkers} walkers × {p.random_walk_steps} steps")
    if not p.network:  # the network tables with their columns and no rows
        nodes, throats = network.extract_network(np.zeros((3, 3, 3), bool), voxel_size_um)
        return out, nodes, throats
    nodes, throats = network.extract_network(masks["pore"], voxel_size_um)
    net = network.network_effective_diffusivity(nodes, throats, axis=0, porosity=out["porosity"])
    if step:
        step(None, steps, f"pore network: {len(nodes)} pores, {len(throats)} throats")
    out.update(
        {
            "network_n_pores": int(len(nodes)),
            "network_n_throats": int(len(throats)),
            "network_deff_over_dbulk_z": float(net["deff_over_dbulk"]),
            "network_tortuosity_factor_z": float(net["tortuosity_factor"]),
            "network_to_voxel_deff_ratio_z": float(net["deff_over_dbulk"] / out["deff_over_dbulk_z"])
            if out["deff_over_dbulk_z"] > 0
            else float("nan"),
        }
    )
    return out, nodes, throats


def value_metrics(
    labels: np.ndarray,
    voxel_size_um,
    *,
    instances,
    rtol: float,
    random_walk_walkers: int,
    random_walk_steps: int,
    active_conductivity_S_m: float,
    binder_conductivity_S_m: float,
    contact_resistance_ohm_m2: float,
    adhesion_energy_J_m2: float,
    shear_strength_Pa: float,
    seed: int,
    random_walk: bool = True,
    network: bool = True,
    conductivity: bool = True,
    logger=None,
):
    """Compute every electrode transport metric of the hard labels.

    Metrics: phase fractions, solid surface area, phase-pair interface areas, contact
    mechanics, tortuosity factor along z, y, x by finite volumes (τ = ∞ where the pore
    phase does not percolate), percolating / isolated / dead-end pore fractions,
    electronic conductivity with contact resistance, Bruggeman exponents, random-walk
    tortuosity (per axis), the pore network and its effective diffusivity.

    Parameters
    ----------
    labels : ndarray of int, (z, y, x)
        Hard labels of the transport box.
    voxel_size_um : float or (3,) sequence
        Voxel size in µm, ``(dz, dy, dx)`` for non-cubic voxels.
    instances : ndarray of int, (z, y, x), or None
        Active particle ids of :func:`particle_instances` (None: no contact resistance).
    rtol : float
        Relative residual of the finite-volume solves.
    random_walk_walkers, random_walk_steps : int
        Walkers and steps per walker of :func:`batteryct.random_walk.random_walk_tortuosity`.
    active_conductivity_S_m, binder_conductivity_S_m : float
        Bulk conductivities of the active and binder phases (S/m).
    contact_resistance_ohm_m2 : float
        Area-specific resistance at active–active particle contacts (Ω·m²).
    adhesion_energy_J_m2 : float
        ``G_c`` of the active–binder interface (J/m²).
    shear_strength_Pa : float
        ``T_max`` of the active–binder interface (Pa).
    seed : int
        Seed of the random walk.
    random_walk, network, conductivity : bool, optional
        Compute the random-walk tortuosity, the pore network (else empty tables) and the
        electronic conductivity (config ``transport``; all on by default). A metric that
        is off has no column.
    logger : logging.Logger, optional
        Warned when the pore phase does not percolate along an axis.

    Returns
    -------
    row : dict
        Metric name to value (units in the names).
    nodes, throats : pandas.DataFrame
        The pore network (:func:`batteryct.network.extract_network`).

    Raises
    ------
    ValueError
        If there is no pore phase.
    """
    settings = _Settings(
        rtol=rtol,
        random_walk_walkers=random_walk_walkers,
        random_walk_steps=random_walk_steps,
        active_conductivity_S_m=active_conductivity_S_m,
        binder_conductivity_S_m=binder_conductivity_S_m,
        contact_resistance_ohm_m2=contact_resistance_ohm_m2,
        adhesion_energy_J_m2=adhesion_energy_J_m2,
        shear_strength_Pa=shear_strength_Pa,
        seed=seed,
        random_walk=random_walk,
        network=network,
        conductivity=conductivity,
    )
    check_has_pores(labels)
    return _metrics(labels, voxel_size_um, settings, instances, logger=logger)


def _sample_metrics(
    labels,
    posteriors,
    class_codes,
    index,
    voxel_size_um,
    settings: _Settings,
    grown_instances,
    correlation_voxels,
    global_weight,
    uncertainty_rtol,
    logger=None,
) -> dict:
    """Run :func:`sample_metrics` with its settings gathered in ``settings``."""
    check_has_pores(labels)
    sample = sample_label_volume(
        posteriors,
        class_codes,
        index,
        settings.seed,
        correlation_voxels=correlation_voxels,
        global_weight=global_weight,
    )
    inst = None if grown_instances is None else np.where(sample == LABEL_SOLID, grown_instances, 0)
    # The solves on the samples stop at uncertainty_rtol: its effect on tau is far below
    # the spread between samples.
    p_sample = dataclasses.replace(settings, rtol=max(settings.rtol, uncertainty_rtol))
    row = _metrics(sample, voxel_size_um, p_sample, inst)[0]
    if logger is not None:
        logger.info(
            f"uncertainty sample {index}: porosity {row['porosity']:.4f}, tau_z {row['tortuosity_factor_z']:.4g}"
        )
    return row


def sample_metrics(
    labels: np.ndarray,
    posteriors: np.ndarray,
    class_codes,
    index: int,
    voxel_size_um,
    *,
    grown_instances,
    rtol: float,
    random_walk_walkers: int,
    random_walk_steps: int,
    active_conductivity_S_m: float,
    binder_conductivity_S_m: float,
    contact_resistance_ohm_m2: float,
    adhesion_energy_J_m2: float,
    shear_strength_Pa: float,
    seed: int,
    uncertainty_correlation_voxels: float,
    uncertainty_global_weight: float,
    uncertainty_rtol: float,
    random_walk: bool = True,
    network: bool = True,
    conductivity: bool = True,
    logger=None,
) -> dict:
    """Compute every metric of :func:`value_metrics` on posterior sample ``index``.

    The sample is :func:`sample_label_volume` with ``seed``; its finite-volume solves stop
    at ``max(rtol, uncertainty_rtol)``. The active particle partition of the hard
    ``labels``, grown by :func:`expand_instances` (``grown_instances``), is cut to the
    sample's active phase, so contacts stay where they were. Independent of every other
    sample: samples can run as separate jobs.

    Parameters
    ----------
    labels : ndarray of int, (z, y, x)
        Hard labels (checked for a pore phase).
    posteriors : ndarray, (n_classes, z, y, x)
        Class probabilities of the transport box.
    class_codes : sequence of int
        Label code of each posterior class.
    index : int
        Sample number (>= 0).
    voxel_size_um : float or (3,) sequence
        Voxel size in µm.
    grown_instances : ndarray of int, (z, y, x), or None
        :func:`expand_instances` of the hard labels' partition (None: no contact
        resistance).
    rtol, random_walk_walkers, random_walk_steps, seed
        As in :func:`value_metrics` (``seed`` also seeds the sample).
    active_conductivity_S_m, binder_conductivity_S_m, contact_resistance_ohm_m2
        As in :func:`value_metrics`.
    adhesion_energy_J_m2, shear_strength_Pa
        As in :func:`value_metrics`.
    uncertainty_correlation_voxels, uncertainty_global_weight : float
        ``correlation_voxels`` (voxels) and ``global_weight`` of
        :func:`sample_label_volume`.
    uncertainty_rtol : float
        Relative residual of the solves on the sample (the larger of it and ``rtol``).
    random_walk, network, conductivity : bool, optional
        As in :func:`value_metrics`.
    logger : logging.Logger, optional
        Gets one line per sample.

    Returns
    -------
    dict
        The row of :func:`value_metrics` for the sample.

    Raises
    ------
    ValueError
        If the hard labels have no pore phase.
    """
    settings = _Settings(
        rtol=rtol,
        random_walk_walkers=random_walk_walkers,
        random_walk_steps=random_walk_steps,
        active_conductivity_S_m=active_conductivity_S_m,
        binder_conductivity_S_m=binder_conductivity_S_m,
        contact_resistance_ohm_m2=contact_resistance_ohm_m2,
        adhesion_energy_J_m2=adhesion_energy_J_m2,
        shear_strength_Pa=shear_strength_Pa,
        seed=seed,
        random_walk=random_walk,
        network=network,
        conductivity=conductivity,
    )
    return _sample_metrics(
        labels,
        posteriors,
        class_codes,
        index,
        voxel_size_um,
        settings,
        grown_instances,
        uncertainty_correlation_voxels,
        uncertainty_global_weight,
        uncertainty_rtol,
        logger,
    )


def with_intervals(row: dict, sample_rows: list[dict], level: float = 0.95) -> dict:
    """Add ``<metric>_ci_low`` / ``<metric>_ci_high`` for every metric of ``row``.

    The intervals come from the same metrics on posterior samples (:func:`interval`,
    clipped to the metric's range: fractions in [0, 1], the rest >= 0 except the
    Bruggeman exponents); those of the pore|solid surface metrics
    (:data:`SURFACE_METRIC_PREFIXES`) reach the samples' mean as well.

    Parameters
    ----------
    row : dict
        Metrics of the hard labels.
    sample_rows : list of dict
        The same metrics on each posterior sample.
    level : float
        Coverage probability.

    Returns
    -------
    dict
        ``row`` with the interval bounds (unit of each metric) after each metric, and
        ``uncertainty_samples`` (the number of samples). The bounds of an integer metric
        (a count) are whole numbers: the interval widened to the integers around it.

    Raises
    ------
    ValueError
        If a metric of ``row`` is missing from a sample row.
    """
    metric_keys = [k for k in row if not k.endswith(("_ci_low", "_ci_high")) and k != "uncertainty_samples"]
    for i, s in enumerate(sample_rows):
        missing = [k for k in metric_keys if k not in s]
        if missing:
            raise ValueError(f"uncertainty sample {i} lacks metrics {missing}")
    out = {}
    for key in metric_keys:  # each value followed by its interval
        surface = key.startswith(SURFACE_METRIC_PREFIXES)
        lo, hi = _bounded(key, *interval([s[key] for s in sample_rows], row[key], level, reach_sample_mean=surface))
        if isinstance(row[key], (int, np.integer)) and not isinstance(row[key], (bool, np.bool_)):
            # a count's interval is of counts: widened to the integers around it
            lo = float(math.floor(lo)) if math.isfinite(lo) else lo
            hi = float(math.ceil(hi)) if math.isfinite(hi) else hi
        out[key], out[f"{key}_ci_low"], out[f"{key}_ci_high"] = row[key], lo, hi
    out["uncertainty_samples"] = len(sample_rows)
    return out


def transport_metrics(
    labels: np.ndarray,
    voxel_size_um,
    *,
    posteriors=None,
    class_codes=None,
    rtol: float,
    random_walk_walkers: int,
    random_walk_steps: int,
    active_conductivity_S_m: float,
    binder_conductivity_S_m: float,
    contact_resistance_ohm_m2: float,
    particle_min_radius_um: float,
    adhesion_energy_J_m2: float,
    shear_strength_Pa: float,
    seed: int,
    uncertainty_samples: int,
    uncertainty_correlation_voxels: float,
    uncertainty_global_weight: float,
    uncertainty_rtol: float,
    random_walk: bool = True,
    network: bool = True,
    conductivity: bool = True,
    logger=None,
):
    """Compute the value metrics and, with posteriors, their intervals, in one process.

    :func:`value_metrics` of the hard labels and, with ``posteriors`` and
    ``uncertainty_samples = N > 0``, the N samples of :func:`sample_metrics` and the
    intervals of :func:`with_intervals` (the workflow runs the samples as separate jobs;
    the result is the same). The keywords are those of the config section ``transport``
    (without ``kinds``).

    Parameters
    ----------
    labels : ndarray of int, (z, y, x)
        Hard labels of the transport box.
    voxel_size_um : float or (3,) sequence
        Voxel size in µm.
    posteriors : ndarray, (n_classes, z, y, x), optional
        Class probabilities of the box (no intervals without them).
    class_codes : sequence of int, optional
        Label code of each posterior class.
    rtol, random_walk_walkers, random_walk_steps, seed
        As in :func:`value_metrics`.
    active_conductivity_S_m, binder_conductivity_S_m, contact_resistance_ohm_m2
        As in :func:`value_metrics`.
    adhesion_energy_J_m2, shear_strength_Pa
        As in :func:`value_metrics`.
    particle_min_radius_um : float
        As in :func:`particle_instances` (µm).
    uncertainty_samples : int
        Number of posterior samples (0: no intervals).
    uncertainty_correlation_voxels, uncertainty_global_weight, uncertainty_rtol : float
        As in :func:`sample_metrics`.
    random_walk, network, conductivity : bool, optional
        As in :func:`value_metrics`.
    logger : logging.Logger, optional
        Gets warnings and one line per sample.

    Returns
    -------
    row : dict
        The metrics (with ``*_ci_low`` / ``*_ci_high`` and ``uncertainty_samples`` when
        samples were drawn).
    nodes, throats : pandas.DataFrame
        The pore network of the hard labels.

    Raises
    ------
    ValueError
        If there is no pore phase.

    Examples
    --------
    Layers normal to y (pore, binder, active, active): straight along z and x, blocked
    along y; the solid conducts ``0.25 * 10 + 0.5 * 1`` S/m along z.

    >>> import numpy as np
    >>> labels = np.ones((20, 20, 20), np.uint8)
    >>> labels[:, ::4] = 0
    >>> labels[:, 1::4] = 3
    >>> settings = dict(rtol=1e-6, random_walk_walkers=200, random_walk_steps=1000, seed=0,
    ...                 active_conductivity_S_m=1.0, binder_conductivity_S_m=10.0,
    ...                 contact_resistance_ohm_m2=0.0, particle_min_radius_um=2.0,
    ...                 adhesion_energy_J_m2=1.0, shear_strength_Pa=1e6, uncertainty_samples=0,
    ...                 uncertainty_correlation_voxels=8.0, uncertainty_global_weight=0.2,
    ...                 uncertainty_rtol=1e-4)
    >>> row, nodes, throats = transport_metrics(labels, 0.5, **settings)
    >>> row["porosity"], round(row["tortuosity_factor_z"], 6), row["tortuosity_factor_y"]
    (0.25, 1.0, inf)
    >>> round(row["conductivity_z_S_m"], 6), row["conductivity_y_S_m"]
    (3.0, 0.0)
    """
    settings = _Settings(
        rtol=rtol,
        random_walk_walkers=random_walk_walkers,
        random_walk_steps=random_walk_steps,
        active_conductivity_S_m=active_conductivity_S_m,
        binder_conductivity_S_m=binder_conductivity_S_m,
        contact_resistance_ohm_m2=contact_resistance_ohm_m2,
        adhesion_energy_J_m2=adhesion_energy_J_m2,
        shear_strength_Pa=shear_strength_Pa,
        seed=seed,
        random_walk=random_walk,
        network=network,
        conductivity=conductivity,
    )
    check_has_pores(labels)
    instances = particle_instances(
        labels,
        voxel_size_um,
        particle_min_radius_um=particle_min_radius_um,
    )
    row, nodes, throats = _metrics(labels, voxel_size_um, settings, instances, logger=logger)
    n_samples = int(uncertainty_samples)
    if posteriors is not None and n_samples > 0:
        grown = None if instances is None else expand_instances(instances)
        rows = [
            _sample_metrics(
                labels,
                posteriors,
                class_codes,
                i,
                voxel_size_um,
                settings,
                grown,
                uncertainty_correlation_voxels,
                uncertainty_global_weight,
                uncertainty_rtol,
                logger,
            )
            for i in range(n_samples)
        ]
        row = with_intervals(row, rows)
    return row, nodes, throats
