"""Active particle partition of an electrode: contact resistance between particles and the PSD.

The hard labels' active phase is split into particles once per scan
(:func:`particle_instances`); posterior label samples reuse that partition, grown a few
voxels (:func:`expand_instances`) so that a boundary moved by a voxel or two keeps it.
"""

from __future__ import annotations

import numpy as np
from skimage.segmentation import expand_labels

from . import particles
from .label_codes import LABEL_SOLID

__all__ = ["expand_instances", "particle_instances"]


def particle_instances(labels: np.ndarray, voxel_size_um, *, particle_min_radius_um: float):
    """Split the active phase of the hard labels into particles.

    The partition serves the contact resistance between particles and the electrode's
    particle size distribution.

    Parameters
    ----------
    labels : ndarray of int, (z, y, x)
        Hard labels.
    voxel_size_um : float or (3,) sequence
        Voxel size in µm.
    particle_min_radius_um : float
        Smallest particle radius of the watershed split (µm), see
        :func:`batteryct.particles.split_particles`.

    Returns
    -------
    ndarray of int, (z, y, x), or None
        Active particle ids; None when there is no active phase.
    """
    if (labels == LABEL_SOLID).any():
        return particles.split_particles(
            labels, voxel_size_um, solid_labels=(LABEL_SOLID,), min_radius_um=particle_min_radius_um
        )
    return None


def expand_instances(instances: np.ndarray, distance_voxels: int = 3) -> np.ndarray:
    """Grow particle ids by up to ``distance_voxels`` into their surroundings.

    A label sample whose active boundary moved by a voxel or two then keeps the particle
    partition (and so the contact resistances) of the hard labels.

    Parameters
    ----------
    instances : ndarray of int, (z, y, x)
        Particle ids (0 = none).
    distance_voxels : int
        Largest growth distance (voxels).

    Returns
    -------
    ndarray of int, (z, y, x)
        The grown ids (:func:`skimage.segmentation.expand_labels`).
    """
    return expand_labels(instances, distance=distance_voxels)
