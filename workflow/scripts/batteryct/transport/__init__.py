"""Transport in voxel images: pore connectivity, effective conductivity, tortuosity factor.

Volumes are ``(z, y, x)`` with axis 0 (``z``) the through-plane direction of an electrode;
lengths carry their unit in the name (``voxel_size_um``). Steady conduction or diffusion
is solved by cell-centred finite volumes with a matrix-free multigrid-preconditioned
conjugate-gradient solver in numba (see :func:`effective_conductivity`, Notes).
"""

from .conductivity import ConductivityResult, effective_conductivity, tortuosity
from .connectivity import pore_connectivity

__all__ = [
    "ConductivityResult",
    "pore_connectivity",
    "effective_conductivity",
    "tortuosity",
]
