"""Compile the transport stage's numba kernels once, before its jobs fan out.

A cold numba cache costs a transport job about a minute of compilation (the multigrid
solver, the random walk, the pore network, the surface mesh). Jobs that start together
each compile the same kernels, so the workflow runs :func:`compile_transport_kernels`
in one job first: it pushes a small synthetic electrode through the same calls as the
transport rules (file reading included, so the arrays have the same types and layouts),
and numba's on-disk cache (``cache=True``) then serves every transport job.
"""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path

import numpy as np
from scipy import ndimage

from batteryct import io
from batteryct.contacts import expand_instances, particle_instances
from batteryct.electrode import sample_metrics, value_metrics
from batteryct.fov import box_roi
from batteryct.label_codes import LABEL_BINDER, LABEL_OPEN_PORE, LABEL_SOLID
from batteryct.segment import CLASS_LABELS

#: Edge (voxels) of the synthetic electrode: large enough for every code path (percolating
#: pores, several particles, a coarse multigrid level), small enough to run in a second.
WARMUP_EDGE_VOXELS = 40
#: Keywords of :func:`batteryct.electrode.sample_metrics` that :func:`value_metrics` lacks.
UNCERTAINTY_KEYWORDS = ("uncertainty_correlation_voxels", "uncertainty_global_weight", "uncertainty_rtol")


def synthetic_electrode(edge_voxels: int = WARMUP_EDGE_VOXELS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Make a three-phase electrode block and its posteriors, as the segmentation writes them.

    Parameters
    ----------
    edge_voxels : int
        Edge of the cubic block (voxels).
    seed : int
        Seed of the smoothed random field the phases are cut from.

    Returns
    -------
    labels : ndarray of uint8, (n, n, n)
        About 40 % pore, 50 % active, 10 % carbon-binder (label codes of
        :mod:`batteryct.label_codes`).
    posteriors : ndarray of float16, (3, n, n, n)
        Class posteriors in the order of ``segment.CLASS_LABELS`` (pore, binder, active).

    Examples
    --------
    >>> labels, posteriors = synthetic_electrode(16)
    >>> labels.shape, posteriors.shape, posteriors.dtype.name
    ((16, 16, 16), (3, 16, 16, 16), 'float16')
    """
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.standard_normal((edge_voxels,) * 3), 2.0, mode="wrap")
    low, high = np.quantile(field, [0.4, 0.5])
    labels = np.full(field.shape, LABEL_SOLID, dtype=np.uint8)
    labels[field < high] = LABEL_BINDER
    labels[field < low] = LABEL_OPEN_PORE
    posteriors = np.stack([(labels == code).astype(np.float32) for code in CLASS_LABELS])
    posteriors = 0.9 * posteriors + 0.1 / len(CLASS_LABELS)
    return labels, posteriors.astype(np.float16)


def compile_transport_kernels(settings: dict, *, roi_radius_fraction: float, particle_min_radius_um: float) -> dict:
    """Run the transport rules' calls once on :func:`synthetic_electrode`.

    Parameters
    ----------
    settings : dict
        The ``transport`` config less ``kinds``, ``particle_min_radius_um``,
        ``uncertainty_samples`` and ``uncertainty_samples_per_job`` (the keywords of
        :func:`batteryct.electrode.sample_metrics`); the random walk is shortened, which
        changes no kernel.
    roi_radius_fraction : float
        ``metrics.roi_radius_fraction``: the transport box, as in the rules.
    particle_min_radius_um : float
        ``transport.particle_min_radius_um``: the contact partition, as in the rules.

    Returns
    -------
    dict
        Porosity and tortuosity factor along z of the synthetic block and of one
        posterior sample of it (a check that the solves ran).
    """
    labels, posteriors = synthetic_electrode()
    voxel_size_um = 0.5
    run = {**settings, "random_walk_walkers": 50, "random_walk_steps": 500}
    uncertainty = {k: run.pop(k) for k in UNCERTAINTY_KEYWORDS}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "labels.h5"
        attrs = {"voxel_size_um": voxel_size_um, "posterior_class_codes": [int(c) for c in CLASS_LABELS]}
        io.write_volume(path, {"labels": labels, "posteriors": posteriors}, attrs)
        crop = partial(box_roi, radius_fraction=roi_radius_fraction)
        box = io.read_transport_box(path, crop, posteriors=False)
        instances = particle_instances(box.labels, box.voxel_size_um, particle_min_radius_um=particle_min_radius_um)
        grown = None if instances is None else expand_instances(instances)
        io.write_contact_partition(Path(tmp) / "contacts.h5", instances, grown)
        partition = io.read_contact_partition(Path(tmp) / "contacts.h5", box.labels.shape)
        value, _, _ = value_metrics(box.labels, box.voxel_size_um, instances=partition.instances, **run)
        box = io.read_transport_box(path, crop)
        sample = sample_metrics(
            box.labels,
            box.posteriors,
            box.class_codes,
            0,
            box.voxel_size_um,
            grown_instances=partition.grown_instances,
            **run,
            **uncertainty,
        )
    return {
        "porosity": value["porosity"],
        "tortuosity_factor_z": value["tortuosity_factor_z"],
        "sample_porosity": sample["porosity"],
        "sample_tortuosity_factor_z": sample["tortuosity_factor_z"],
    }
