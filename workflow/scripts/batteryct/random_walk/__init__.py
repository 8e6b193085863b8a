"""Tortuosity tensor of a pore space by random walk: lattice "blind ant" walkers and their MSD.

Volumes are ``(z, y, x)`` with axis 0 (``z``) the through-plane direction of an electrode;
every tensor and per-axis array is ordered ``(z, y, x)``. The walk is the stochastic
counterpart of the finite-volume solve of :mod:`batteryct.transport` (see
:func:`random_walk_tortuosity`, Notes).
"""

from .start_set import walker_start_set
from .walk import random_walk_tortuosity

__all__ = ["random_walk_tortuosity", "walker_start_set"]
