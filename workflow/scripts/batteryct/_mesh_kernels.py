"""Numba kernels of the marching-cubes areas of :mod:`batteryct.metrics` and :mod:`batteryct.particles`.

Only ``@njit`` functions: per-triangle areas and centroids, the band of cubes that can hold
triangles, and the banded level-set curvature.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["triangle_area_centroid", "active_band", "kappa_field"]


@numba.njit(cache=True)
def triangle_area_centroid(verts, faces, t, sp):  # pragma: no cover - numba
    """Return the area and centroid of triangle ``t`` of a marching-cubes mesh.

    Parameters
    ----------
    verts : ndarray, float, (n_vertices, 3)
        Vertex coordinates ``(z, y, x)`` in um.
    faces : ndarray, int, (n_triangles, 3)
        Vertex indices of each triangle.
    t : int
        Triangle index.
    sp : ndarray, float64, (3,)
        Voxel size ``(dz, dy, dx)`` in um.

    Returns
    -------
    area : float
        Triangle area in um^2.
    pz, py, px : float
        Centroid in voxel units (``z, y, x``).
    """
    i0, i1, i2 = faces[t, 0], faces[t, 1], faces[t, 2]
    uz = verts[i1, 0] - verts[i0, 0]
    uy = verts[i1, 1] - verts[i0, 1]
    ux = verts[i1, 2] - verts[i0, 2]
    vz = verts[i2, 0] - verts[i0, 0]
    vy = verts[i2, 1] - verts[i0, 1]
    vx = verts[i2, 2] - verts[i0, 2]
    cz = uy * vx - ux * vy
    cy = ux * vz - uz * vx
    cx = uz * vy - uy * vz
    area = 0.5 * np.sqrt(cz * cz + cy * cy + cx * cx)
    pz = (verts[i0, 0] + verts[i1, 0] + verts[i2, 0]) / (3.0 * sp[0])
    py = (verts[i0, 1] + verts[i1, 1] + verts[i2, 1]) / (3.0 * sp[1])
    px = (verts[i0, 2] + verts[i1, 2] + verts[i2, 2]) / (3.0 * sp[2])
    return area, pz, py, px


@numba.njit(cache=True)
def _triangle_areas_centroids(verts, faces, sp, origin):  # pragma: no cover - numba
    """Return the area (um^2), centroid and owning voxel of every triangle, in one pass.

    The centroid is in voxel units of the block frame; the owning voxel is in the array
    frame, ``floor(centroid + origin + 1/2)``. One pass avoids the (n, 3, 3) temporaries of
    ``verts[faces]``, ``np.cross`` and ``norm``.
    """
    n = faces.shape[0]
    area = np.empty(n)
    cen = np.empty((n, 3))
    vox = np.empty((n, 3), np.int64)
    for t in range(n):
        area[t], cen[t, 0], cen[t, 1], cen[t, 2] = triangle_area_centroid(verts, faces, t, sp)
        for ax in range(3):
            vox[t, ax] = np.int64(np.floor(cen[t, ax] + origin[ax] + 0.5))
    return area, cen, vox


@numba.njit(cache=True)
def active_band(m, band):
    """Mark the corners of the cubes whose 8 corners are not all equal in ``m``.

    Those are the only cubes where marching cubes on the clamped field can place
    triangles (the ``mask`` of :func:`skimage.measure.marching_cubes` in
    :mod:`batteryct.metrics` and :mod:`batteryct.particles`).

    Parameters
    ----------
    m : ndarray, bool, (z, y, x)
        Binary mask.
    band : ndarray, bool, same shape
        Output, overwritten.
    """
    nz, ny, nx = m.shape
    band[:] = False
    for z in range(nz - 1):
        for y in range(ny - 1):
            for x in range(nx - 1):
                s = (
                    np.int32(m[z, y, x])
                    + m[z, y, x + 1]
                    + m[z, y + 1, x]
                    + m[z, y + 1, x + 1]
                    + m[z + 1, y, x]
                    + m[z + 1, y, x + 1]
                    + m[z + 1, y + 1, x]
                    + m[z + 1, y + 1, x + 1]
                )
                if s != 0 and s != 8:
                    for dz in range(2):
                        for dy in range(2):
                            for dx in range(2):
                                band[z + dz, y + dy, x + dx] = True


@numba.njit(cache=True)
def _pair(i, n):  # pragma: no cover - numba
    """Return the indices of the np.gradient difference at ``i`` of an axis of length ``n``.

    The two neighbours inside, the point itself and its one neighbour at the ends.
    """
    return (i - 1 if i > 0 else 0), (i + 1 if i < n - 1 else n - 1)


@numba.njit(cache=True)
def kappa_field(f, sp, band, nbuf, kbuf):
    """Write the level-set curvature ``-div(grad f / (|grad f| + 1e-12))`` of ``f`` at the band.

    The finite differences of ``np.gradient`` are applied twice (central inside,
    one-sided at the array edges) in float32, like numpy on a float32 field. Only the
    band voxels are computed (the unit gradient at them and their 6 neighbours).

    Parameters
    ----------
    f : ndarray, float32, (z, y, x)
        Smoothed field.
    sp : ndarray, float64, (3,)
        Voxel size ``(dz, dy, dx)`` in um.
    band : ndarray, bool, same shape as ``f``
        Voxels where the curvature is wanted (:func:`active_band`).
    nbuf : ndarray, float32, (3, z, y, x)
        Work space for the unit gradient.
    kbuf : ndarray, float32, same shape as ``f``
        Output: curvature in 1/um at the band voxels, elsewhere left as it is.
    """
    nz, ny, nx = f.shape
    for z in range(nz):
        za, zb = _pair(z, nz)
        hz = sp[0] * (zb - za)
        for y in range(ny):
            ya, yb = _pair(y, ny)
            hy = sp[1] * (yb - ya)
            for x in range(nx):
                xa, xb = _pair(x, nx)
                if not (
                    band[z, y, x]
                    or band[za, y, x]
                    or band[zb, y, x]
                    or band[z, ya, x]
                    or band[z, yb, x]
                    or band[z, y, xa]
                    or band[z, y, xb]
                ):
                    continue
                hx = sp[2] * (xb - xa)
                # float32 like numpy on the float32 field (gradients rounded to float32)
                g0 = np.float32((f[zb, y, x] - f[za, y, x]) / hz)
                g1 = np.float32((f[z, yb, x] - f[z, ya, x]) / hy)
                g2 = np.float32((f[z, y, xb] - f[z, y, xa]) / hx)
                mag = np.float32(np.sqrt(np.float32(np.float32(g0 * g0 + g1 * g1) + g2 * g2)) + np.float32(1e-12))
                nbuf[0, z, y, x] = g0 / mag
                nbuf[1, z, y, x] = g1 / mag
                nbuf[2, z, y, x] = g2 / mag
    for z in range(nz):
        za, zb = _pair(z, nz)
        hz = sp[0] * (zb - za)
        for y in range(ny):
            ya, yb = _pair(y, ny)
            hy = sp[1] * (yb - ya)
            for x in range(nx):
                if not band[z, y, x]:
                    continue
                xa, xb = _pair(x, nx)
                hx = sp[2] * (xb - xa)
                k = np.float32(0.0)
                k = np.float32(k - np.float32((nbuf[0, zb, y, x] - nbuf[0, za, y, x]) / hz))
                k = np.float32(k - np.float32((nbuf[1, z, yb, x] - nbuf[1, z, ya, x]) / hy))
                k = np.float32(k - np.float32((nbuf[2, z, y, xb] - nbuf[2, z, y, xa]) / hx))
                kbuf[z, y, x] = k
