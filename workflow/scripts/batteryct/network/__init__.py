"""Pore networks by skeletonisation: nodes, throats, network diffusivity, OpenPNM export.

Volumes are ``(z, y, x)`` with axis 0 (``z``) the through-plane direction of an electrode;
the centre of voxel ``(i, j, k)`` lies at ``((i + 1/2) h_z, (j + 1/2) h_y, (k + 1/2) h_x)``,
so the box is ``[0, n_z h_z] x [0, n_y h_y] x [0, n_x h_x]`` as in :mod:`batteryct.transport`.
:func:`skeletonize_pores` gives the curve skeleton, :func:`extract_network` the node and
throat tables, :func:`network_effective_diffusivity` solves diffusion on them and
:func:`to_openpnm_dict` converts them for OpenPNM (write it with :func:`batteryct.io.write_npz`).
"""

from ._constants import AXES, FACE_COLUMNS, NODE_COLUMNS, THROAT_COLUMNS
from .diffusivity import network_effective_diffusivity, throat_conductance
from .extract import extract_network
from .openpnm import to_openpnm_dict
from .skeleton import skeletonize_pores

__all__ = [
    "AXES",
    "FACE_COLUMNS",
    "NODE_COLUMNS",
    "THROAT_COLUMNS",
    "skeletonize_pores",
    "extract_network",
    "throat_conductance",
    "network_effective_diffusivity",
    "to_openpnm_dict",
]
