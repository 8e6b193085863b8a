"""Field of view of a reconstruction: the valid cylinder and the transport box inside it.

Reconstructions are 0 outside the cylinder that every projection covers; segmentation and
the per-particle tables treat everything outside it as outside the sample, and transport
metrics, which need a box, use the largest axis-aligned box inside it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["box_roi", "fov_cylinder_mask"]


def fov_cylinder_mask(shape: tuple[int, ...], radius_fraction: float = 1.0) -> np.ndarray:
    """Return the boolean mask of the field-of-view cylinder about the z axis.

    Parameters
    ----------
    shape : tuple of int
        Volume shape ``(nz, ny, nx)`` or slice shape ``(ny, nx)``, in voxels.
    radius_fraction : float, optional
        Radius as a fraction of ``(min(ny, nx) - 1) / 2`` voxels (dimensionless, > 0). The
        axis passes through the grid centre ``((ny - 1) / 2, (nx - 1) / 2)``; voxels whose
        centre lies within the radius (inclusive) are True. The same disc is used for
        every z.

    Returns
    -------
    numpy.ndarray of bool
        Mask of shape ``shape``.

    Raises
    ------
    ValueError
        If ``shape`` is neither 2-D nor 3-D or ``radius_fraction`` is not positive.

    Examples
    --------
    >>> m = fov_cylinder_mask((2, 5, 5))
    >>> m.shape, int(m[0].sum())
    ((2, 5, 5), 13)
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"shape must be (nz, ny, nx) or (ny, nx), got {shape}")
    if not radius_fraction > 0:
        raise ValueError(f"radius_fraction must be > 0, got {radius_fraction}")
    ny, nx = shape[-2:]
    radius = radius_fraction * (min(ny, nx) - 1) / 2.0
    y = np.arange(ny) - (ny - 1) / 2.0
    x = np.arange(nx) - (nx - 1) / 2.0
    disc = (y[:, None] ** 2 + x[None, :] ** 2) <= radius * radius + 1e-9
    if len(shape) == 2:
        return disc
    return np.repeat(disc[None], shape[0], axis=0)


def box_roi(shape, radius_fraction: float) -> tuple[slice, slice, slice]:
    """Return the transport box: the largest axis-aligned box (all z) inside the valid cylinder.

    Transport needs a box, reconstructions are valid in a cylinder.

    Parameters
    ----------
    shape : tuple of int
        ``(nz, ny, nx)`` of the reconstructed volume.
    radius_fraction : float
        Radius of the cylinder as a fraction of the field-of-view radius
        ``(min(ny, nx) - 1) / 2`` (voxels).

    Returns
    -------
    tuple of 3 slice
        The box, for indexing the volume.
    """
    n_y, n_x = shape[1:]
    radius = radius_fraction * (min(n_y, n_x) - 1) / 2
    half = int(np.floor(radius / np.sqrt(2)))
    cy, cx = n_y // 2, n_x // 2
    return slice(None), slice(cy - half, cy + half), slice(cx - half, cx + half)
