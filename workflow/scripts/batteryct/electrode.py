"""Electrode microstructure metrics: interfaces, contacts, conductivity, Bruggeman, uncertainty.

Label codes are those of :mod:`batteryct.segment`: 0 open pore, 1 active, 2 internal
closed void (pore), 3 carbon-binder. Transport axis 0 (z) is through-plane, 1 and 2 (y, x)
are in-plane.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, special

from . import metrics, transport
from .label_codes import LABEL_BINDER, LABEL_INTERNAL_VOID, LABEL_OPEN_PORE, LABEL_SOLID

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
    active–binder contact.
    """
    area_m2 = active_binder_area_um2 * 1e-12
    return {"adhesion_energy_J": adhesion_energy_J_m2 * area_m2, "max_shear_force_N": shear_strength_Pa * area_m2}


def contact_face_multipliers(
    instances: np.ndarray, active: np.ndarray, voxel_size_um, conductivity_S_m: float, contact_resistance_ohm_m2: float
):
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


def electronic_conductivity(
    labels: np.ndarray,
    voxel_size_um,
    axis: int,
    active_conductivity_S_m: float,
    binder_conductivity_S_m: float,
    contact_resistance_ohm_m2: float = 0.0,
    instances: np.ndarray | None = None,
    rtol: float = 1e-6,
) -> dict:
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
        multiplier = contact_face_multipliers(
            instances, masks["active"], voxel_size_um, active_conductivity_S_m, contact_resistance_ohm_m2
        )
    result = transport.effective_conductivity(
        field, axis=axis, voxel_size_um=voxel_size_um, rtol=rtol, face_multiplier=multiplier
    )
    return {"conductivity_S_m": float(result.deff), "percolating": bool(result.percolating)}


def bruggeman_exponent(tortuosity_factor: float, porosity: float) -> float:
    """α in ``τ = ε^(−α)``: ``α = −ln τ / ln ε``; NaN where undefined (τ infinite, ε 0 or 1)."""
    if not np.isfinite(tortuosity_factor) or tortuosity_factor <= 0 or not 0 < porosity < 1:
        return float("nan")
    return float(-np.log(tortuosity_factor) / np.log(porosity))


def sample_label_volume(
    posteriors: np.ndarray,
    class_codes,
    index: int,
    seed: int,
    correlation_voxels: float = 2.0,
    global_weight: float = 0.8,
) -> np.ndarray:
    """Label volume number ``index`` drawn from per-voxel class probabilities, spatially coherent.

    Each voxel takes the class whose cumulative posterior (classes in the order of
    ``class_codes``, i.e. of increasing attenuation: pore, binder, active) first reaches a
    uniform variable ``u = Phi(z)``, with ``z = sqrt(w) g + sqrt(1 - w) f(x)``: ``g`` is one
    standard normal per sample (shared by every voxel) and ``f`` a unit-variance Gaussian
    random field smoothed over ``correlation_voxels``; ``w = global_weight``.

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
    correlation_voxels: float = 2.0,
    global_weight: float = 0.8,
) -> list[np.ndarray]:
    """The first ``n_samples`` label volumes of :func:`sample_label_volume`."""
    return [
        sample_label_volume(posteriors, class_codes, i, seed, correlation_voxels, global_weight)
        for i in range(n_samples)
    ]


def interval(samples, value: float, level: float = 0.95) -> tuple[float, float]:
    """``level`` coverage interval of a metric from its values on posterior samples.

    ``value ± t_{n-1} s sqrt(1 + 1/n)`` (``s``: standard deviation of the ``n`` sampled
    values, ``t``: Student quantile): the interval in which the metric of a new posterior
    sample falls with probability ``level``, centred on the value of the hard labels. With
    ~8 samples, empirical 2.5/97.5 % quantiles would be the extreme samples and too
    narrow. If the value or a sample is infinite (a direction that percolates only in some
    samples), the interval is the range of all of them, infinity included. NaN values
    (undefined metrics) are ignored; ``(nan, nan)`` if nothing is left.
    """
    from scipy import stats

    v = np.asarray(samples, dtype=float)
    v = v[~np.isnan(v)]
    if not np.isfinite(value) or not np.all(np.isfinite(v)):
        allv = np.append(v, value)
        allv = allv[~np.isnan(allv)]
        if allv.size == 0:
            return float("nan"), float("nan")
        return float(allv.min()), float(allv.max())
    if v.size < 2:
        return float(value), float(value)
    half = float(stats.t.ppf(0.5 + level / 2.0, v.size - 1) * v.std(ddof=1) * np.sqrt(1.0 + 1.0 / v.size))
    return float(value) - half, float(value) + half


def box_roi(shape, radius_fraction: float) -> tuple[slice, slice, slice]:
    """The largest axis-aligned box (all z) inside the cylinder of ``radius_fraction`` of the
    field-of-view radius: transport needs a box, reconstructions are valid in a cylinder.
    """
    n_y, n_x = shape[1:]
    radius = radius_fraction * (min(n_y, n_x) - 1) / 2
    half = int(np.floor(radius / np.sqrt(2)))
    cy, cx = n_y // 2, n_x // 2
    return slice(None), slice(cy - half, cy + half), slice(cx - half, cx + half)


def read_transport_box(path, radius_fraction: float, posteriors: bool = True):
    """The transport box of a segmentation file: ``(labels, posteriors, class_codes,
    voxel_size_um)``.

    Reconstructed scans are cropped to :func:`box_roi` (``radius_fraction`` of the field of
    view); imported label volumes (attribute ``roi = "box"``) are used whole and have no
    posteriors (None, as when ``posteriors=False`` or the file holds none).
    """
    from . import io

    labels, attrs = io.read_volume(path, "labels")
    post = None
    if attrs.get("roi") != "box":
        box = box_roi(labels.shape, radius_fraction)
        labels = labels[box]
        if posteriors:
            try:
                post = io.read_volume(path, "posteriors")[0][(slice(None),) + box]
            except io.InputDataError:
                post = None
    return labels, post, attrs.get("posterior_class_codes"), io.voxel_size_um(attrs)


def _voxel_volume_um3(voxel_size_um) -> float:
    return float(np.prod(np.broadcast_to(np.asarray(voxel_size_um, dtype=float), (3,))))


def _bounded(key: str, lo: float, hi: float) -> tuple[float, float]:
    """Clip an interval to the metric's range: fractions in [0, 1], the rest >= 0."""
    if key.startswith("bruggeman"):
        return lo, hi
    lo = max(lo, 0.0)
    if "fraction" in key or key == "porosity":
        hi = min(hi, 1.0)
    return lo, hi


def expand_instances(instances: np.ndarray, distance_voxels: int = 3) -> np.ndarray:
    """Particle ids grown by up to ``distance_voxels`` into their surroundings, so a label
    sample whose active boundary moved by a voxel or two keeps the particle partition
    (and so the contact resistances) of the hard labels.
    """
    from skimage.segmentation import expand_labels

    return expand_labels(instances, distance=distance_voxels)


def _metrics(labels, voxel_size_um, p, instances=None, logger=None):
    """Every metric of one label volume, as (row, nodes, throats); used for the value and
    for each posterior sample. ``instances``: active particle ids (or None).
    """
    from . import network, random_walk

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
    out.update(contact_mechanics(areas["active_binder_area_um2"], p["adhesion_energy_J_m2"], p["shear_strength_Pa"]))
    for axis, name in enumerate(AXES):
        t = transport.tortuosity(masks["pore"], axis=axis, voxel_size_um=voxel_size_um, rtol=p["rtol"])
        out[f"tortuosity_factor_{name}"] = float(t["tortuosity_factor"])
        out[f"deff_over_dbulk_{name}"] = float(t["deff_over_dbulk"])
        out[f"percolating_fraction_{name}"] = float(t["percolating_fraction"])
        out[f"isolated_pore_fraction_{name}"] = float(t["isolated_fraction"])
        out[f"dead_end_pore_fraction_{name}"] = float(t["dead_end_fraction"])
        if logger is not None and not t["percolating"]:
            logger.warning(f"the pore phase does not percolate along {name}: tortuosity factor = inf")
    for axis, name in enumerate(AXES):
        if masks["active"].any() or masks["binder"].any():
            c = electronic_conductivity(
                labels,
                voxel_size_um,
                axis,
                p["active_conductivity_S_m"],
                p["binder_conductivity_S_m"],
                p["contact_resistance_ohm_m2"],
                instances,
                rtol=p["rtol"],
            )
            out[f"conductivity_{name}_S_m"] = c["conductivity_S_m"]
        else:
            out[f"conductivity_{name}_S_m"] = 0.0
    out["bruggeman_exponent_through_plane"] = bruggeman_exponent(out["tortuosity_factor_z"], out["porosity"])
    in_plane = [bruggeman_exponent(out[f"tortuosity_factor_{a}"], out["porosity"]) for a in ("y", "x")]
    out["bruggeman_exponent_in_plane"] = float(np.mean(in_plane)) if np.all(np.isfinite(in_plane)) else float("nan")
    rw = random_walk.random_walk_tortuosity(
        masks["pore"], voxel_size_um, n_walkers=p["random_walk_walkers"], n_steps=p["random_walk_steps"], seed=p["seed"]
    )
    tau_rw = np.broadcast_to(np.asarray(rw["tortuosity_factor"], dtype=float), (3,))
    for i, name in enumerate(AXES):
        out[f"random_walk_tortuosity_factor_{name}"] = float(tau_rw[i])
    nodes, throats = network.extract_network(masks["pore"], voxel_size_um)
    net = network.network_effective_diffusivity(nodes, throats, axis=0, porosity=out["porosity"])
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


def particle_instances(labels: np.ndarray, voxel_size_um, p: dict):
    """Active particle ids of the hard labels for the contact resistance (None when there
    is no contact resistance or no active phase).
    """
    from . import particles

    if p["contact_resistance_ohm_m2"] > 0 and (labels == LABEL_SOLID).any():
        return particles.split_particles(
            labels, voxel_size_um, solid_labels=(LABEL_SOLID,), min_radius_um=p["particle_min_radius_um"]
        )
    return None


def write_contact_partition(path, instances, grown_instances) -> None:
    """Store the particle partition of :func:`particle_instances` and its
    :func:`expand_instances` growth (HDF5; an empty file says "no contact resistance").
    """
    from . import io

    if instances is None:
        io.write_volume(path, {}, {"contact_partition": "none"})
    else:
        io.write_volume(
            path, {"instances": instances, "grown_instances": grown_instances}, {"contact_partition": "particles"}
        )


def read_contact_partition(path, shape) -> tuple:
    """``(instances, grown_instances)`` written by :func:`write_contact_partition`, or
    ``(None, None)``; the arrays must have the transport box's ``shape``.
    """
    from . import io

    if io.read_attrs(path).get("contact_partition") == "none":
        return None, None
    instances, _ = io.read_volume(path, "instances")
    grown, _ = io.read_volume(path, "grown_instances")
    if instances.shape != tuple(shape) or grown.shape != tuple(shape):
        raise io.InputDataError(
            f"{path}: particle partition of shape {instances.shape}, the labels box is {tuple(shape)}"
        )
    return instances, grown


def check_has_pores(labels: np.ndarray) -> None:
    """Raise ValueError naming the label counts if ``labels`` holds no pore voxel."""
    if not phase_masks(labels)["pore"].any():
        raise ValueError(
            "no pore phase in the volume: transport metrics need pores "
            f"(label counts {dict(zip(*np.unique(labels, return_counts=True)))})"
        )


def value_metrics(labels: np.ndarray, voxel_size_um, p: dict, instances=None, logger=None):
    """Every electrode transport metric of the hard labels, as (row dict, nodes, throats).

    ``p`` holds the ``transport`` section of the config; ``voxel_size_um`` is a float or
    ``(dz, dy, dx)``. Metrics: phase fractions, solid surface area, phase-pair interface
    areas, contact mechanics, tortuosity factor along z, y, x by finite volumes (τ = ∞
    where the pore phase does not percolate), percolating / isolated / dead-end pore
    fractions, electronic conductivity with contact resistance, Bruggeman exponents,
    random-walk tortuosity (per axis), the pore network and its effective diffusivity.
    ``instances``: the particle partition of :func:`particle_instances` (computed here if
    None). Raises ValueError if there is no pore phase.
    """
    check_has_pores(labels)
    if instances is None:
        instances = particle_instances(labels, voxel_size_um, p)
    return _metrics(labels, voxel_size_um, p, instances, logger=logger)


def sample_metrics(
    labels: np.ndarray,
    posteriors: np.ndarray,
    class_codes,
    index: int,
    voxel_size_um,
    p: dict,
    grown_instances=None,
    logger=None,
) -> dict:
    """Every metric of :func:`value_metrics` on posterior sample ``index``, as a row dict.

    The sample is :func:`sample_label_volume` with ``p["seed"]``,
    ``p["uncertainty_correlation_voxels"]`` and ``p["uncertainty_global_weight"]``; its
    finite-volume solves stop at ``p["uncertainty_rtol"]``. The active particle partition
    of the hard ``labels``, grown by :func:`expand_instances` (``grown_instances``,
    computed here if None), is cut to the sample's active phase, so contacts stay where
    they were.
    Independent of every other sample: samples can run as separate jobs.
    """
    check_has_pores(labels)
    if grown_instances is None:
        instances = particle_instances(labels, voxel_size_um, p)
        grown_instances = None if instances is None else expand_instances(instances)
    sample = sample_label_volume(
        posteriors,
        class_codes,
        index,
        p["seed"],
        correlation_voxels=p.get("uncertainty_correlation_voxels", 2.0),
        global_weight=p.get("uncertainty_global_weight", 0.8),
    )
    inst = None if grown_instances is None else np.where(sample == LABEL_SOLID, grown_instances, 0)
    # Solves on the samples stop at uncertainty_rtol: at 1e-4 tau moves by <= 0.03 % (256^3
    # benchmark electrode: 2.72078 vs 2.72020 at 1e-6, 6 instead of 15 iterations), two
    # orders of magnitude below the spread between samples.
    p_sample = dict(p, rtol=max(p["rtol"], p.get("uncertainty_rtol", p["rtol"])))
    row = _metrics(sample, voxel_size_um, p_sample, inst)[0]
    if logger is not None:
        logger.info(
            f"uncertainty sample {index}: porosity {row['porosity']:.4f}, tau_z {row['tortuosity_factor_z']:.4g}"
        )
    return row


def with_intervals(row: dict, sample_rows: list[dict], level: float = 0.95) -> dict:
    """``row`` with ``<metric>_ci_low`` / ``<metric>_ci_high`` for every metric, from the
    same metrics on posterior samples (:func:`interval`, clipped to the metric's range),
    and ``uncertainty_samples``. A metric missing from a sample row is an error.
    """
    out = dict(row)
    metric_keys = [k for k in row if not k.endswith(("_ci_low", "_ci_high")) and k != "uncertainty_samples"]
    for i, s in enumerate(sample_rows):
        missing = [k for k in metric_keys if k not in s]
        if missing:
            raise ValueError(f"uncertainty sample {i} lacks metrics {missing}")
    for key in metric_keys:
        lo, hi = interval([s[key] for s in sample_rows], row[key], level)
        out[f"{key}_ci_low"], out[f"{key}_ci_high"] = _bounded(key, lo, hi)
    out["uncertainty_samples"] = len(sample_rows)
    return out


def transport_metrics(labels: np.ndarray, voxel_size_um, p: dict, posteriors=None, class_codes=None, logger=None):
    """:func:`value_metrics`, and with ``posteriors`` and ``p["uncertainty_samples"] = N > 0``
    the N samples of :func:`sample_metrics` and the intervals of :func:`with_intervals`, in
    one process (the workflow runs the samples as separate jobs).
    """
    check_has_pores(labels)
    instances = particle_instances(labels, voxel_size_um, p)
    row, nodes, throats = _metrics(labels, voxel_size_um, p, instances, logger=logger)
    n_samples = int(p.get("uncertainty_samples", 0))
    if posteriors is not None and n_samples > 0:
        grown = None if instances is None else expand_instances(instances)
        rows = [
            sample_metrics(labels, posteriors, class_codes, i, voxel_size_um, p, grown, logger)
            for i in range(n_samples)
        ]
        row = with_intervals(row, rows)
    return row, nodes, throats
