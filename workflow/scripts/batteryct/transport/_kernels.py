"""Numba kernels of the finite-volume transport solver (face building, stencil, smoother, vector ops).

Vectors are padded with one zero layer on every side, shape ``(nz + 2, ny + 2, nx + 2)``;
the halo is never written, so it stays 0 and the stencil needs no branches (a Dirichlet
face sees a zero neighbour: homogeneous operator). Every kernel loops over z slabs
(``prange`` in the stencil kernels) and writes only to its own slab(s); reductions are
per-slab partial sums added afterwards in a fixed order. The light vector kernels (dots,
axpys) are serial: memory-bound, and a parallel numba function takes much longer to
compile (per type signature). In the stencils, ``u_zm`` / ``u_zp`` are the rows of the
z - 1 / z + 1 neighbours and ``us`` / ``un`` those of the y - 1 / y + 1 neighbours.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._jit import threaded_kernel


@njit(cache=True, inline="always")
def _face(use_a, use_b, k_a, k_b, geo):  # pragma: no cover - numba
    """Conductance of the face between two cells (0 unless both are in ``use``).

    Scalars only: with array arguments the serial compilation of :func:`_build_faces`
    kept reference counting in its innermost loop and ran ten times slower.
    """
    if use_a and use_b:
        ka = np.float64(k_a)
        kb = np.float64(k_b)
        return 2.0 * ka * kb / (ka + kb) * geo
    return 0.0


@threaded_kernel()
def _build_faces(k, use, cz, cy, cx, flow_axis, gz, gy, gx):  # pragma: no cover - numba
    """Face conductances (harmonic mean x area / length) among voxels with ``use``.

    ``k`` and ``use`` are flat (C order); one parallel loop over z planes fills the z
    faces of plane ``f`` and the y and x faces of slab ``f`` (one gufunc: compiles
    faster than three).
    """
    nz, ny, nx = gx.shape[0], gx.shape[1], gx.shape[2] - 1
    syx = ny * nx
    for f in prange(nz + 1):
        # z faces: index f between cells f - 1 and f; 0 and nz are the boundary planes
        for y in range(ny):
            for x in range(nx):
                g = 0.0
                if f == 0 or f == nz:
                    c = (0 if f == 0 else nz - 1) * syx + y * nx + x
                    if flow_axis == 0 and use[c]:
                        g = 2.0 * np.float64(k[c]) * cz
                else:
                    c = f * syx + y * nx + x
                    g = _face(use[c - syx], use[c], k[c - syx], k[c], cz)
                gz[f, y, x] = g
        if f == nz:
            continue
        z = f
        for yf in range(ny + 1):
            for x in range(nx):
                g = 0.0
                if yf == 0 or yf == ny:
                    c = z * syx + (0 if yf == 0 else ny - 1) * nx + x
                    if flow_axis == 1 and use[c]:
                        g = 2.0 * np.float64(k[c]) * cy
                else:
                    c = z * syx + yf * nx + x
                    g = _face(use[c - nx], use[c], k[c - nx], k[c], cy)
                gy[z, yf, x] = g
        for y in range(ny):
            for xf in range(nx + 1):
                g = 0.0
                if xf == 0 or xf == nx:
                    c = z * syx + y * nx + (0 if xf == 0 else nx - 1)
                    if flow_axis == 2 and use[c]:
                        g = 2.0 * np.float64(k[c]) * cx
                else:
                    c = z * syx + y * nx + xf
                    g = _face(use[c - 1], use[c], k[c - 1], k[c], cx)
                gx[z, y, xf] = g


@njit(cache=True, inline="always")
def _row_dot(a, b, n):  # pragma: no cover - numba
    """sum_i a[i] b[i] for i < n in float64 with four interleaved accumulators."""
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    m = n - n % 4
    for i in range(0, m, 4):
        s0 += np.float64(a[i]) * np.float64(b[i])
        s1 += np.float64(a[i + 1]) * np.float64(b[i + 1])
        s2 += np.float64(a[i + 2]) * np.float64(b[i + 2])
        s3 += np.float64(a[i + 3]) * np.float64(b[i + 3])
    for i in range(m, n):
        s0 += np.float64(a[i]) * np.float64(b[i])
    return (s0 + s1) + (s2 + s3)


@threaded_kernel()
def _apply(gz, gy, gx, u, out, partial):  # pragma: no cover - numba
    """Out = A u on the interior; partial[z + 1] = sum over slab z of u * out."""
    nz, ny, nx = gx.shape[0], gx.shape[1], gx.shape[2] - 1
    for z in prange(nz):
        s = 0.0
        for y in range(ny):
            u_zm = u[z, y + 1]
            uc = u[z + 1, y + 1]
            u_zp = u[z + 2, y + 1]
            us = u[z + 1, y]
            un = u[z + 1, y + 2]
            o = out[z + 1, y + 1]
            gzm = gz[z, y]
            gzp = gz[z + 1, y]
            gys = gy[z, y]
            gyn = gy[z, y + 1]
            gxr = gx[z, y]
            for x in range(nx):
                # float64 arithmetic whatever the storage type: q = A p must be exact
                # to float64 rounding for the outer iteration.
                c = np.float64(uc[x + 1])
                o[x + 1] = (
                    np.float64(gzm[x]) * (c - np.float64(u_zm[x + 1]))
                    + np.float64(gzp[x]) * (c - np.float64(u_zp[x + 1]))
                    + np.float64(gys[x]) * (c - np.float64(us[x + 1]))
                    + np.float64(gyn[x]) * (c - np.float64(un[x + 1]))
                    + np.float64(gxr[x]) * (c - np.float64(uc[x]))
                    + np.float64(gxr[x + 1]) * (c - np.float64(uc[x + 2]))
                )
            s += _row_dot(uc[1:], o[1:], nx)
        partial[z + 1] = s
    partial[0] = 0.0
    partial[nz + 1] = 0.0


@threaded_kernel()
def _gs_color(gz, gy, gx, r, u, color, first):  # pragma: no cover - numba
    """Gauss-Seidel half-sweep on the cells with (z + y + x) % 2 == color.

    The Jacobi update of a whole row is computed into a buffer (vectorisable; the
    other colour is not modified) and only the cells of ``color`` are copied back.
    ``first``: start from u = 0 (u = r / d on ``color``, 0 elsewhere; u is overwritten).
    """
    nz, ny, nx = gx.shape[0], gx.shape[1], gx.shape[2] - 1
    for z in prange(nz):
        buf = np.empty(nx, u.dtype)
        for y in range(ny):
            u_zm = u[z, y + 1]
            uc = u[z + 1, y + 1]
            u_zp = u[z + 2, y + 1]
            us = u[z + 1, y]
            un = u[z + 1, y + 2]
            ro = r[z + 1, y + 1]
            gzm = gz[z, y]
            gzp = gz[z + 1, y]
            gys = gy[z, y]
            gyn = gy[z, y + 1]
            gxr = gx[z, y]
            x0 = (z + y + color) & 1
            if first:
                for x in range(nx):
                    d = gzm[x] + gzp[x] + gys[x] + gyn[x] + gxr[x] + gxr[x + 1]
                    v = ro[x + 1] / d if d > 0 else 0.0
                    uc[x + 1] = v if (x & 1) == x0 else 0.0
                continue
            for x in range(nx):
                a = gzm[x]
                b = gzp[x]
                c = gys[x]
                e = gyn[x]
                f = gxr[x]
                g = gxr[x + 1]
                d = a + b + c + e + f + g
                num = (
                    ro[x + 1]
                    + a * u_zm[x + 1]
                    + b * u_zp[x + 1]
                    + c * us[x + 1]
                    + e * un[x + 1]
                    + f * uc[x]
                    + g * uc[x + 2]
                )
                buf[x] = num / d if d > 0 else uc[x + 1]
            for x in range(x0, nx, 2):
                uc[x + 1] = buf[x]


@njit(cache=True)
def _residual64(gz, gy, gx, x, r):  # pragma: no cover - numba
    """R = -A x on the interior (float64, serial: used twice per solve)."""
    nz, ny, nx = gx.shape[0], gx.shape[1], gx.shape[2] - 1
    for z in range(nz):
        for y in range(ny):
            u_zm = x[z, y + 1]
            uc = x[z + 1, y + 1]
            u_zp = x[z + 2, y + 1]
            us = x[z + 1, y]
            un = x[z + 1, y + 2]
            o = r[z + 1, y + 1]
            gzm = gz[z, y]
            gzp = gz[z + 1, y]
            gys = gy[z, y]
            gyn = gy[z, y + 1]
            gxr = gx[z, y]
            for i in range(nx):
                c = uc[i + 1]
                o[i + 1] = -(
                    np.float64(gzm[i]) * (c - u_zm[i + 1])
                    + np.float64(gzp[i]) * (c - u_zp[i + 1])
                    + np.float64(gys[i]) * (c - us[i + 1])
                    + np.float64(gyn[i]) * (c - un[i + 1])
                    + np.float64(gxr[i]) * (c - uc[i])
                    + np.float64(gxr[i + 1]) * (c - uc[i + 2])
                )


@threaded_kernel()
def _restrict_residual(gz, gy, gx, r, u, rc, sz, sy, sx):  # pragma: no cover - numba
    """rc[parent] = sum over the children of (r - A u); rc's halo stays 0.

    ``sz, sy, sx`` are the coarsening shifts (1: pairs of cells, 0: not coarsened).
    """
    nz, ny, nx = gx.shape[0], gx.shape[1], gx.shape[2] - 1
    cnz = rc.shape[0] - 2
    for zc in prange(cnz):
        rc[zc + 1, :, :] = 0.0
        buf = np.empty(nx, r.dtype)
        for z in range(zc << sz, min((zc + 1) << sz, nz)):
            for y in range(ny):
                u_zm = u[z, y + 1]
                uc = u[z + 1, y + 1]
                u_zp = u[z + 2, y + 1]
                us = u[z + 1, y]
                un = u[z + 1, y + 2]
                ro = r[z + 1, y + 1]
                gzm = gz[z, y]
                gzp = gz[z + 1, y]
                gys = gy[z, y]
                gyn = gy[z, y + 1]
                gxr = gx[z, y]
                for x in range(nx):
                    c = uc[x + 1]
                    buf[x] = ro[x + 1] - (
                        gzm[x] * (c - u_zm[x + 1])
                        + gzp[x] * (c - u_zp[x + 1])
                        + gys[x] * (c - us[x + 1])
                        + gyn[x] * (c - un[x + 1])
                        + gxr[x] * (c - uc[x])
                        + gxr[x + 1] * (c - uc[x + 2])
                    )
                rco = rc[zc + 1, (y >> sy) + 1]
                if sx == 1:
                    for xc in range(nx >> 1):
                        rco[xc + 1] += buf[2 * xc] + buf[2 * xc + 1]
                    if nx & 1:
                        rco[(nx >> 1) + 1] += buf[nx - 1]
                else:
                    for x in range(nx):
                        rco[x + 1] += buf[x]


@threaded_kernel()
def _prolong_add(active, ec, u, sz, sy, sx):  # pragma: no cover - numba
    """u[child] += ec[parent] on the conducting cells."""
    nz, ny, nx = active.shape
    for z in prange(nz):
        for y in range(ny):
            ao = active[z, y]
            uo = u[z + 1, y + 1]
            eo = ec[(z >> sz) + 1, (y >> sy) + 1]
            for x in range(nx):
                if ao[x]:
                    uo[x + 1] += eo[(x >> sx) + 1]


@threaded_kernel()
def _coarsen_faces(gz, gy, gx, cgz, cgy, cgx, fz, fy, fx):  # pragma: no cover - numba
    """Galerkin faces of the aggregated grid: sums of the fine faces between blocks."""
    nz, ny, nx = gx.shape[0], gx.shape[1], gx.shape[2] - 1
    cnz, cny, cnx = cgx.shape[0], cgx.shape[1], cgx.shape[2] - 1
    for zc in prange(cnz + 1):
        f = min(fz * zc, nz)
        for yc in range(cny):
            for xc in range(cnx):
                s = 0.0
                for y in range(fy * yc, min(fy * yc + fy, ny)):
                    for x in range(fx * xc, min(fx * xc + fx, nx)):
                        s += gz[f, y, x]
                cgz[zc, yc, xc] = s
        if zc == cnz:
            continue
        z0 = fz * zc
        z1 = min(z0 + fz, nz)
        for yc in range(cny + 1):
            f = min(fy * yc, ny)
            for xc in range(cnx):
                s = 0.0
                for z in range(z0, z1):
                    for x in range(fx * xc, min(fx * xc + fx, nx)):
                        s += gy[z, f, x]
                cgy[zc, yc, xc] = s
        for yc in range(cny):
            for xc in range(cnx + 1):
                f = min(fx * xc, nx)
                s = 0.0
                for z in range(z0, z1):
                    for y in range(fy * yc, min(fy * yc + fy, ny)):
                        s += gx[z, y, f]
                cgx[zc, yc, xc] = s


@njit(cache=True)
def _active_from_faces(gz, gy, gx, active):  # pragma: no cover - numba
    nz, ny, nx = active.shape
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                d = gz[z, y, x] + gz[z + 1, y, x] + gy[z, y, x] + gy[z, y + 1, x] + gx[z, y, x] + gx[z, y, x + 1]
                active[z, y, x] = 1 if d > 0 else 0


@njit(cache=True)
def _dot(a, b, partial):  # pragma: no cover - numba
    """partial[z] = sum over slab z of a * b (padded arrays, all slabs)."""
    for z in range(a.shape[0]):
        s = 0.0
        for y in range(a.shape[1]):
            s += _row_dot(a[z, y], b[z, y], a.shape[2])
        partial[z] = s


@njit(cache=True)
def _dot2(a, b, c, p1, p2):  # pragma: no cover - numba
    """p1 = a . b, p2 = a . c (per slab)."""
    for z in range(a.shape[0]):
        s1 = 0.0
        s2 = 0.0
        for y in range(a.shape[1]):
            s1 += _row_dot(a[z, y], b[z, y], a.shape[2])
            s2 += _row_dot(a[z, y], c[z, y], a.shape[2])
        p1[z] = s1
        p2[z] = s2


@threaded_kernel()
def _update_xr(x, r, r32, p, q, alpha, partial):  # pragma: no cover - numba
    """X += alpha p; r -= alpha q; r32 = float32(r); partial = r . r."""
    for z in prange(x.shape[0]):
        s = 0.0
        for y in range(x.shape[1]):
            xo = x[z, y]
            ro = r[z, y]
            r3 = r32[z, y]
            po = p[z, y]
            qo = q[z, y]
            for i in range(x.shape[2]):
                xo[i] += alpha * po[i]
                v = ro[i] - alpha * qo[i]
                ro[i] = v
                r3[i] = v
            s += _row_dot(ro, ro, x.shape[2])
        partial[z] = s


@njit(cache=True)
def _xpby_dot(p, zv, beta, r, partial):  # pragma: no cover - numba
    """P = z + beta p (computed in float64, stored in p's type); partial = p . r."""
    for z in range(p.shape[0]):
        s = 0.0
        for y in range(p.shape[1]):
            po = p[z, y]
            zo = zv[z, y]
            for i in range(p.shape[2]):
                po[i] = np.float64(zo[i]) + beta * np.float64(po[i])
            s += _row_dot(po, r[z, y], p.shape[2])
        partial[z] = s


@njit(cache=True)
def _sub_scaled(out, r, w, c, partial):  # pragma: no cover - numba
    """Out = r - c w; partial = out . out."""
    for z in range(out.shape[0]):
        s = 0.0
        for y in range(out.shape[1]):
            oo = out[z, y]
            ro = r[z, y]
            wo = w[z, y]
            for i in range(out.shape[2]):
                oo[i] = ro[i] - c * wo[i]
            s += _row_dot(oo, oo, out.shape[2])
        partial[z] = s


@njit(cache=True)
def _lincomb(v, d, a, b):  # pragma: no cover - numba
    """V = a v + b d."""
    for z in range(v.shape[0]):
        for y in range(v.shape[1]):
            vo = v[z, y]
            do = d[z, y]
            for i in range(v.shape[2]):
                vo[i] = a * vo[i] + b * do[i]
