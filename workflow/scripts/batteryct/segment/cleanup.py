"""Clean-up of a binary solid and labelling of the pore space.

Small solid specks are removed and small closed pores filled; the pore space is split into
open pores and internal closed voids.
"""

from __future__ import annotations

import cc3d
import numpy as np

from .._checks import as_mask_3d
from ..label_codes import LABEL_INTERNAL_VOID, LABEL_OPEN_PORE, LABEL_SOLID

__all__ = ["clean_binary", "label_pore_space"]


def _touching_ids(lab: np.ndarray, outside_mask: np.ndarray | None) -> np.ndarray:
    """Component ids present on the six faces of ``lab`` or inside ``outside_mask``."""
    faces = [lab[0], lab[-1], lab[:, 0], lab[:, -1], lab[:, :, 0], lab[:, :, -1]]
    ids = [np.unique(f) for f in faces]
    if outside_mask is not None:
        if outside_mask.shape != lab.shape:
            raise ValueError(f"outside_mask shape {outside_mask.shape} differs from {lab.shape}")
        ids.append(np.unique(lab[outside_mask]))
    ids = np.unique(np.concatenate(ids))
    return ids[ids > 0]


def clean_binary(
    solid: np.ndarray,
    min_solid_voxels: int = 32,
    min_pore_voxels: int = 16,
    outside_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Remove small solid specks and fill small closed pores.

    * solid components (26-connected) with fewer than ``min_solid_voxels`` voxels become
      pore (wherever they are);
    * closed pore components (6-connected, touching neither a face of the volume nor
      ``outside_mask``) with fewer than ``min_pore_voxels`` voxels become solid. Open
      pores are never filled.

    Parameters
    ----------
    solid : numpy.ndarray of bool
        Solid mask ``(z, y, x)``.
    min_solid_voxels : int, optional
        Smallest solid component kept, in voxels.
    min_pore_voxels : int, optional
        Smallest closed pore kept, in voxels. Real internal voids of NMC particles
        (2-4 µm diameter at ~0.5 µm voxels, i.e. tens to hundreds of voxels) must survive:
        keep it below the smallest void of interest (default 16 voxels, a ball of radius
        ~1.5 voxels).
    outside_mask : numpy.ndarray of bool, optional
        Voxels outside the sample (e.g. outside the FOV cylinder); pores touching it are open.

    Returns
    -------
    numpy.ndarray of bool
        Cleaned solid mask (a new array).

    Raises
    ------
    ValueError
        If ``solid`` is not 3-D or ``outside_mask`` has another shape.
    TypeError
        If ``solid`` is neither boolean nor integer.
    """
    solid = as_mask_3d(solid, "solid")
    out = solid.copy()
    if min_solid_voxels > 1 and out.any():
        lab = cc3d.connected_components(out, connectivity=26, binary_image=True)
        counts = np.bincount(lab.reshape(-1))
        small = counts < min_solid_voxels
        small[0] = False
        if small.any():
            out[small[lab]] = False
        del lab
    if min_pore_voxels > 1 and not out.all():
        pore = ~out
        lab = cc3d.connected_components(pore, connectivity=6, binary_image=True)
        counts = np.bincount(lab.reshape(-1))
        small = counts < min_pore_voxels
        small[0] = False
        small[_touching_ids(lab, outside_mask)] = False
        if small.any():
            out[small[lab]] = True
    return out


def label_pore_space(solid: np.ndarray, outside_mask: np.ndarray | None = None) -> np.ndarray:
    """Label solid (1), open pore (0) and internal closed voids (2).

    Parameters
    ----------
    solid : numpy.ndarray of bool
        Solid mask ``(z, y, x)``.
    outside_mask : numpy.ndarray of bool, optional
        Voxels outside the sample (e.g. outside the FOV cylinder), same shape.

    Returns
    -------
    numpy.ndarray of uint8
        Labels :data:`~batteryct.label_codes.LABEL_OPEN_PORE`,
        :data:`~batteryct.label_codes.LABEL_SOLID`,
        :data:`~batteryct.label_codes.LABEL_INTERNAL_VOID`.

    Raises
    ------
    ValueError
        If ``solid`` is not 3-D or ``outside_mask`` has another shape.
    TypeError
        If ``solid`` is neither boolean nor integer.

    Notes
    -----
    Connectivity is *dual*: solid is 26-connected, pore (``~solid``) 6-connected. Two pore
    voxels that share only an edge or a corner are therefore not connected; a cavity whose
    only link to the outside is such a diagonal contact is an internal void. With these
    two connectivities the surface between solid and pore is well defined (no pore
    component leaks through a solid wall that is closed in the 26-connected sense).

    A pore component is open (0) if it touches any of the six faces of the volume or any
    voxel of ``outside_mask``; otherwise it is an internal void (2). This is a flood fill
    of the pore space from the outside, as in Heenan et al. (2020, *Adv. Energy Mater.*,
    "Identifying the origins of microstructural defects such as cracking within Ni-rich
    NMC811 cathode particles").

    Examples
    --------
    >>> import numpy as np
    >>> solid = np.zeros((7, 7, 7), bool)
    >>> solid[1:6, 1:6, 1:6] = True
    >>> solid[3, 3, 3] = False  # a closed cavity
    >>> lab = label_pore_space(solid)
    >>> int(lab[3, 3, 3]), int(lab[0, 0, 0]), int(lab[1, 1, 1])
    (2, 0, 1)
    """
    solid = as_mask_3d(solid, "solid")
    labels = np.where(solid, np.uint8(LABEL_SOLID), np.uint8(LABEL_OPEN_PORE)).astype(np.uint8)
    if solid.all():
        return labels
    lab = cc3d.connected_components(~solid, connectivity=6, binary_image=True)
    n = int(lab.max())
    is_open = np.zeros(n + 1, dtype=bool)
    is_open[_touching_ids(lab, outside_mask)] = True
    closed = np.ones(n + 1, dtype=bool)
    closed[0] = False
    closed &= ~is_open
    if closed.any():
        labels[closed[lab]] = LABEL_INTERNAL_VOID
    return labels
