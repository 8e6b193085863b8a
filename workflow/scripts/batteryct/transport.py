"""Transport in voxel images: pore connectivity, effective conductivity, tortuosity.

Everything here follows the conventions of :mod:`batteryct` (see ``__init__``): volumes
are ``(z, y, x)``, axis 0 (``z``) is the through-plane direction of an electrode, and
lengths carry their unit in the name (``voxel_size_um``).

Physics and discretisation
--------------------------
Steady-state conduction (or diffusion) ``div(k grad c) = 0`` in a voxel image with a
per-voxel conductivity ``k >= 0`` (0 = insulating), solved with cell-centred finite
volumes:

* ``c = 1`` on the inlet face (index 0 along ``axis``) and ``c = 0`` on the outlet face
  (last index); no flux through the four other faces and into insulating voxels.
* The conductance of the face between two conducting voxels ``a``, ``b`` along axis
  ``d`` is ``g = harm(k_a, k_b) * A_d / h_d`` with the harmonic mean
  ``harm = 2 k_a k_b / (k_a + k_b)`` (two half-voxel resistances in series), the face
  area ``A_d`` (um^2, product of the two other voxel sizes) and the voxel size ``h_d``
  (um) along ``d``. Non-cubic voxels are therefore exact for straight channels and
  layers. A Dirichlet face lies half a voxel from the cell centre: ``g = 2 k A_d / h_d``.
* The faces are built once (:func:`face_conductances`) as three arrays, one per axis,
  that include the two boundary planes (``(nz + 1, ny, nx)``, ``(nz, ny + 1, nx)``,
  ``(nz, ny, nx + 1)``). A per-face multiplier (e.g. a contact resistance at particle
  contacts, ``m = 1 / (1 + g R_c)``) can be applied to the interior faces before the
  solve (``face_multiplier``); the solver only ever sees face conductances.
* Only the conducting cluster connected (6-connectivity) to both Dirichlet faces
  carries flux. Everything else is excluded from the system (it would make it
  singular): :func:`pore_connectivity` splits a phase into percolating, dead-end
  (touching exactly one of the two faces) and isolated (touching neither) components.
* From the converged potential the fluxes through the inlet and outlet faces,
  ``J_in = sum g (1 - c)`` and ``J_out = sum g c`` (units: conductivity x um for the unit
  potential difference), give ``k_eff = J L / (A dc)`` with ``L = n_axis h_axis`` and
  ``A`` the cross-section in um^2; ``J`` is the mean of the two (they differ by the sum
  of the residual, reported as ``flux_imbalance``).
* Tortuosity factor (TauFactor's definition): ``tau = eps D_bulk / D_eff`` with ``eps``
  the *total* pore volume fraction; ``tau_percolating`` uses the percolating fraction.
  A direction without a percolating path gives ``D_eff = 0`` and ``tau = inf``.

Solver
------
Flexible conjugate gradients (FCG(1), Notay 2000) on the symmetric positive definite
system of the percolating cluster, preconditioned by a matrix-free aggregation
multigrid written in numba:

* every level is a 7-point stencil stored as face conductances on a structured grid;
  level ``l + 1`` aggregates 2 x 2 x 2 cells and its face conductance is the *sum* of
  the fine faces between the two aggregates, the Dirichlet faces included. This is
  exactly the Galerkin operator ``P^T A P`` for piecewise-constant prolongation ``P``
  restricted to the conducting fine cells, so every level is SPD; a coarse cell is
  conducting iff any of its children is (equivalently: its diagonal is positive);
  insulating cells are never touched. Non-cubic voxels use semi-coarsening (only the
  axes whose current cell size is within 1.5x of the smallest are paired), axes of
  length 1 are never coarsened;
* smoother: red-black Gauss-Seidel (symmetric: red-black before, black-red after the
  coarse correction), deterministic because a colour only reads the other colour;
* K-cycle (Notay & Vassilevski 2008): the coarse problem of every level is solved by
  up to two FCG steps preconditioned by the next level, which keeps unsmoothed
  aggregation from degrading with the number of levels; the coarsest level (at most
  ``coarse_cells`` cells) is solved with a sparse LU factorisation (SuperLU);
* precision: face conductances, search directions and everything inside the
  preconditioner are float32 (memory and bandwidth); the potential, the residual,
  ``A p`` (computed in float64 from the stored values), all dot products and the
  fluxes are float64, so the true residual reaches 1e-10 and below;
* dot products are sums of per-z-slab partial sums added in a fixed order, and every
  kernel writes only to its own slab(s), so the result is bit-identical for any number
  of numba threads. Grids below 2^22 cells (the whole solve for images below ~160^3,
  the coarse levels otherwise) run on one thread: there the fork/join of a parallel
  kernel costs more than the work, badly so when the cores are shared.

Convergence is measured by the relative residual ``||b - A x|| / ||b||``; on porous
images ``rtol = 1e-6`` (the default) gave ``D_eff`` within about 1e-5 relative of the
``rtol = 1e-10`` value (128^3 and 256^3 overlapping-sphere images, NREL NMC volume),
``rtol = 1e-4`` within about 4e-4. Typical iteration counts: 10-12 for binary pore
spaces of porosity 0.4 at 1e-6 (64^3 to 251 x 301 x 301). Two-phase fields need more
as the contrast grows, because geometric aggregation ignores the conductivity when it
forms aggregates: on a 40^3 field with contrasts 10, 100, 1000, 13, 31, 78 iterations
to 1e-6 (``D_eff`` error 3e-6, 6e-5, 1e-4) and 24, 63, 190 to 1e-10.

Cost (benchmarks/bench_tortuosity.py, 256^3, porosity 0.41, 12 iterations): 4.3-5.7 s
of CPU in all (connectivity, faces, hierarchy, solve); wall 4.3 s with two threads,
5.8 s with one, measured on two cores shared with other jobs (load average about 4;
up to 15 s when the load was 5). Peak memory of the solve: three float32 and three
float64 padded vectors, three float32 face arrays, a uint8 mask and
the coarse levels (about 1/7 of that): about ``55 n`` bytes for ``n`` voxels (peak RSS
of the whole process at 256^3: 1.09 GB); the connected-component labelling needs
``4 n`` bytes (uint32 labels) plus ``8 n`` transiently, before the solve.

Threads: the stencil kernels (smoothing, residual, restriction, prolongation, face
building) use ``numba.get_num_threads()`` threads; the light vector kernels are serial.
On a machine whose cores are busy with other work, one thread can be faster than two
(every parallel kernel ends with a join that waits for the slowest thread); set
``NUMBA_NUM_THREADS=1`` there. The numbers do not change.

References
----------
* S. J. Cooper, A. Bertei, P. R. Shearing, J. A. Kilner, N. P. Brandon, "TauFactor: an
  open-source application for calculating tortuosity factors from tomographic data",
  SoftwareX 5, 203 (2016) -- definition of tau and the half-voxel Dirichlet faces.
* Y. Notay, "Flexible conjugate gradients", SIAM J. Sci. Comput. 22, 1444 (2000).
* Y. Notay, P. S. Vassilevski, "Recursive Krylov-based multigrid cycles", Numer.
  Linear Algebra Appl. 15, 473 (2008).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import cc3d
import numba
import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from numba import njit, prange

__all__ = [
    "ConductivityResult",
    "pore_connectivity",
    "face_conductances",
    "effective_conductivity",
    "tortuosity",
]

_DEFAULT_RTOL = 1e-6
_PARALLEL_MIN_CELLS = 1 << 22  # grids below 2^22 cells (~160^3) run on one thread


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------
def _check_axis(axis, ndim: int = 3) -> int:
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    if not -ndim <= int(axis) < ndim:
        raise ValueError(f"axis {axis} out of range for a {ndim}-D volume")
    return int(axis) % ndim


def _check_voxel_size(voxel_size_um) -> tuple[float, float, float]:
    h = np.broadcast_to(np.asarray(voxel_size_um, dtype=np.float64), (3,))
    if not np.all(np.isfinite(h)) or np.any(h <= 0):
        raise ValueError(f"voxel_size_um must be positive and finite, got {voxel_size_um!r}")
    return float(h[0]), float(h[1]), float(h[2])


def _check_volume(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 3:
        raise ValueError(f"{name} must be a 3-D (z, y, x) array, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    return a


# --------------------------------------------------------------------------------------
# Connectivity
# --------------------------------------------------------------------------------------
def pore_connectivity(mask: np.ndarray, axis: int = 0) -> dict:
    """Split a phase into percolating, dead-end and isolated parts along one axis.

    Components are 6-connected (face neighbours), as everywhere in :mod:`batteryct`
    for the pore space and as required by the finite-volume stencil.

    Parameters
    ----------
    mask : ndarray of bool, (z, y, x)
        The phase (e.g. pore space), True where present.
    axis : int
        Transport axis; its first and last planes are the two electrode faces.

    Returns
    -------
    dict
        ``porosity`` : float
            Volume fraction of the phase (dimensionless, of the whole image).
        ``percolating_fraction``, ``dead_end_fraction``, ``isolated_fraction`` : float
            Volume fractions (of the whole image; they add up to ``porosity``) of the
            components touching both faces, exactly one face and no face normal to
            ``axis``. A component touching only the lateral faces is isolated here.
        ``percolating_fraction_of_phase``, ``dead_end_fraction_of_phase``,
        ``isolated_fraction_of_phase`` : float
            The same relative to the phase volume (add up to 1; NaN for an empty phase).
        ``n_components``, ``n_percolating``, ``n_dead_end``, ``n_isolated`` : int
            Component counts.
        ``percolating`` : bool
            Whether any component connects the two faces.
        ``percolating_mask`` : ndarray of bool, (z, y, x)
            The voxels of the percolating components.
    """
    mask = _check_volume(mask, "mask")
    axis = _check_axis(axis)
    mask = np.ascontiguousarray(mask, dtype=bool)
    labels, n = cc3d.connected_components(mask, connectivity=6, return_N=True)
    counts = np.bincount(labels.reshape(-1), minlength=n + 1)
    first = np.zeros(n + 1, bool)
    last = np.zeros(n + 1, bool)
    first[np.unique(np.take(labels, 0, axis=axis))] = True
    last[np.unique(np.take(labels, -1, axis=axis))] = True
    first[0] = last[0] = False
    perc = first & last
    dead = first ^ last
    iso = ~(first | last)
    iso[0] = False
    total = float(mask.size)
    n_phase = int(counts[1:].sum())
    v_perc, v_dead, v_iso = (int(counts[s].sum()) for s in (perc, dead, iso))
    percolating_mask = perc[labels]
    del labels

    def of_phase(v):
        return v / n_phase if n_phase else float("nan")

    return {
        "porosity": n_phase / total,
        "percolating_fraction": v_perc / total,
        "dead_end_fraction": v_dead / total,
        "isolated_fraction": v_iso / total,
        "percolating_fraction_of_phase": of_phase(v_perc),
        "dead_end_fraction_of_phase": of_phase(v_dead),
        "isolated_fraction_of_phase": of_phase(v_iso),
        "n_components": int(n),
        "n_percolating": int(perc.sum()),
        "n_dead_end": int(dead.sum()),
        "n_isolated": int(iso.sum()),
        "percolating": bool(perc.any()),
        "percolating_mask": percolating_mask,
    }


# --------------------------------------------------------------------------------------
# Face conductances
# --------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _face(k, use, a, b, geo):  # pragma: no cover - numba
    """Conductance of the face between flat cells a and b (both must be in ``use``)."""
    if use[a] and use[b]:
        ka = np.float64(k[a])
        kb = np.float64(k[b])
        return 2.0 * ka * kb / (ka + kb) * geo
    return 0.0


@njit(parallel=True, cache=True)
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
                    g = _face(k, use, c - syx, c, cz)
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
                    g = _face(k, use, c - nx, c, cy)
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
                    g = _face(k, use, c - 1, c, cx)
                gx[z, y, xf] = g


_K_MIN, _K_MAX = 1e-30, 1e30  # positive conductivities must fit float32's normal range


def _validated_field(conductivity_field) -> np.ndarray:
    """The field as a C-contiguous array, checked: numeric, finite, >= 0, in range."""
    k = _check_volume(conductivity_field, "conductivity_field")
    if k.dtype.kind not in "biuf":
        raise TypeError(f"conductivity_field must be numeric, got {k.dtype}")
    if k.dtype.kind == "b":
        return np.ascontiguousarray(k)
    if k.dtype.kind == "f" and not np.isfinite(k).all():
        raise ValueError("conductivity_field must be finite")
    if k.dtype.kind in "if" and (k < 0).any():
        raise ValueError("conductivity_field must be >= 0")
    if k.max() > _K_MAX or np.min(k, where=k > 0, initial=np.inf) < _K_MIN:
        raise ValueError(
            f"positive conductivities must lie in [{_K_MIN:g}, {_K_MAX:g}]; "
            "rescale the field (the result scales with it)"
        )
    return np.ascontiguousarray(k)


def face_conductances(
    conductivity_field: np.ndarray,
    axis: int = 0,
    voxel_size_um=1.0,
    face_multiplier=None,
    use_mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Finite-volume face conductances of a voxel conductivity field.

    Parameters
    ----------
    conductivity_field : ndarray, (z, y, x)
        Per-voxel conductivity ``k >= 0`` (any unit, e.g. S/m or um^2/s; 0 = insulating;
        positive values in [1e-30, 1e30]). Boolean arrays mean ``k = 1`` where True.
        The field is used as float32 (a float32 copy is made for other dtypes).
    axis : int
        Transport axis: its two boundary planes get the Dirichlet conductance
        ``2 k A / h``; the boundary planes of the other axes are no-flux (0).
    voxel_size_um : float or (3,) sequence
        Voxel size ``(h_z, h_y, h_x)`` in um.
    face_multiplier : None or sequence of 3 (array or None)
        Optional per-face factors ``(m_z, m_y, m_x)`` applied to the *interior* faces,
        shapes ``(nz - 1, ny, nx)``, ``(nz, ny - 1, nx)``, ``(nz, ny, nx - 1)`` (or
        broadcastable); must be positive and finite (a zero would cut the cluster
        behind the connectivity analysis and make the system singular).
    use_mask : ndarray of bool, optional
        Only faces between two voxels of this mask are conducting (default ``k > 0``);
        the solver passes the percolating cluster here.

    Returns
    -------
    gz, gy, gx : ndarray of float32
        Conductances in units of ``k x um`` (conductance = conductivity x area /
        length), shapes ``(nz + 1, ny, nx)``, ``(nz, ny + 1, nx)``, ``(nz, ny, nx + 1)``.
        ``gz[i]`` is the face between cells ``i - 1`` and ``i`` along z. Harmonic means
        are formed in float64 and stored in float32 (relative rounding <= 6e-8).
    """
    k = _validated_field(conductivity_field)
    return _faces(k, _check_axis(axis), _check_voxel_size(voxel_size_um), face_multiplier, use_mask)


def _faces(k, axis, h, face_multiplier, use_mask):
    hz, hy, hx = h
    if use_mask is None:
        use = k > 0
    else:
        use = np.ascontiguousarray(use_mask, dtype=bool)
        if use.shape != k.shape:
            raise ValueError("use_mask must have the shape of conductivity_field")
    k32 = np.asarray(k, dtype=np.float32)
    if use_mask is not None and (use & ~(k32 > 0)).any():
        raise ValueError("use_mask may only contain voxels with conductivity > 0")
    nz, ny, nx = k.shape
    gz = np.empty((nz + 1, ny, nx), np.float32)
    gy = np.empty((nz, ny + 1, nx), np.float32)
    gx = np.empty((nz, ny, nx + 1), np.float32)
    _build_faces(
        k32.reshape(-1), use.view(np.uint8).reshape(-1), hy * hx / hz, hz * hx / hy, hz * hy / hx, axis, gz, gy, gx
    )
    del k32
    if face_multiplier is not None:
        if len(face_multiplier) != 3:
            raise ValueError("face_multiplier must be a sequence of 3 (array or None)")
        interiors = (gz[1:-1], gy[:, 1:-1], gx[:, :, 1:-1])
        for d, (g, m) in enumerate(zip(interiors, face_multiplier)):
            if m is None:
                continue
            m = np.asarray(m, dtype=np.float64)
            if not np.all(np.isfinite(m)) or np.any(m <= 0):
                raise ValueError(f"face_multiplier[{d}] must be positive and finite")
            np.multiply(g, np.broadcast_to(m, g.shape), out=g, casting="unsafe")
    return gz, gy, gx


# --------------------------------------------------------------------------------------
# Numba kernels. Vectors are padded with one zero layer on every side, shape
# (nz + 2, ny + 2, nx + 2); the halo is never written, so it stays 0 and the stencil
# needs no branches (a Dirichlet face sees a zero neighbour: homogeneous operator).
# Every kernel loops over z slabs (prange in the stencil kernels) and writes only to its
# own slab(s); reductions are per-slab partial sums added afterwards in a fixed order.
# The light vector kernels (dots, axpys) are serial: memory-bound, and a parallel numba
# function costs several seconds of compilation per type signature.
# --------------------------------------------------------------------------------------
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


@njit(parallel=True, cache=True)
def _apply(gz, gy, gx, u, out, partial):  # pragma: no cover - numba
    """Out = A u on the interior; partial[z + 1] = sum over slab z of u * out."""
    nz, ny, nx = gx.shape[0], gx.shape[1], gx.shape[2] - 1
    for z in prange(nz):
        s = 0.0
        for y in range(ny):
            um = u[z, y + 1]
            uc = u[z + 1, y + 1]
            up = u[z + 2, y + 1]
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
                    np.float64(gzm[x]) * (c - np.float64(um[x + 1]))
                    + np.float64(gzp[x]) * (c - np.float64(up[x + 1]))
                    + np.float64(gys[x]) * (c - np.float64(us[x + 1]))
                    + np.float64(gyn[x]) * (c - np.float64(un[x + 1]))
                    + np.float64(gxr[x]) * (c - np.float64(uc[x]))
                    + np.float64(gxr[x + 1]) * (c - np.float64(uc[x + 2]))
                )
            s += _row_dot(uc[1:], o[1:], nx)
        partial[z + 1] = s
    partial[0] = 0.0
    partial[nz + 1] = 0.0


@njit(parallel=True, cache=True)
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
            um = u[z, y + 1]
            uc = u[z + 1, y + 1]
            up = u[z + 2, y + 1]
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
                    + a * um[x + 1]
                    + b * up[x + 1]
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
            um = x[z, y + 1]
            uc = x[z + 1, y + 1]
            up = x[z + 2, y + 1]
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
                    np.float64(gzm[i]) * (c - um[i + 1])
                    + np.float64(gzp[i]) * (c - up[i + 1])
                    + np.float64(gys[i]) * (c - us[i + 1])
                    + np.float64(gyn[i]) * (c - un[i + 1])
                    + np.float64(gxr[i]) * (c - uc[i])
                    + np.float64(gxr[i + 1]) * (c - uc[i + 2])
                )


@njit(parallel=True, cache=True)
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
                um = u[z, y + 1]
                uc = u[z + 1, y + 1]
                up = u[z + 2, y + 1]
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
                        gzm[x] * (c - um[x + 1])
                        + gzp[x] * (c - up[x + 1])
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


@njit(parallel=True, cache=True)
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


@njit(parallel=True, cache=True)
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


@njit(parallel=True, cache=True)
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


def _psum(partial: np.ndarray) -> float:
    # Fixed-order (serial) sum of the per-slab partial sums: thread-count independent.
    s = 0.0
    for v in partial.tolist():
        s += v
    return s


# --------------------------------------------------------------------------------------
# Multigrid hierarchy
# --------------------------------------------------------------------------------------
class _Level:
    """One grid: face conductances, conducting mask and work vectors (float32)."""

    def __init__(self, gz, gy, gx):
        self.gz, self.gy, self.gx = gz, gy, gx
        self.shape = (gx.shape[0], gx.shape[1], gx.shape[2] - 1)
        self.n_cells = int(np.prod(self.shape))
        self.active = np.empty(self.shape, np.uint8)
        _active_from_faces(gz, gy, gx, self.active)
        self.partial = np.zeros(self.shape[0] + 2)
        self.partial2 = np.zeros(self.shape[0] + 2)
        self.shifts = None  # coarsening shifts to the next level (1 = pairs, 0 = none)
        self.threads = 1  # numba threads used on this level
        self.lu = None

    def alloc_work(self):
        pshape = tuple(n + 2 for n in self.shape)
        self.r = np.zeros(pshape, np.float32)  # right-hand side from the finer level
        self.r2 = np.zeros(pshape, np.float32)
        self.v = np.zeros(pshape, np.float32)  # K-cycle iterates; the solution ends in v
        self.d = np.zeros(pshape, np.float32)
        self.w = np.zeros(pshape)  # A v, A d: float64 like the outer q (one _apply type)

    def setup_direct(self):
        """Sparse LU factorisation (SuperLU, single-threaded) of this level's operator.

        Used on the coarsest level (``prod(shape) <= coarse_cells``) or when a level has
        at most ``coarse_cells`` active cells.
        """
        idx = np.flatnonzero(self.active.reshape(-1))
        n = idx.size
        self.direct_cells = np.unravel_index(idx, self.shape)
        self.direct_padded = tuple(c + 1 for c in self.direct_cells)
        if n == 0:
            return
        z, y, x = self.direct_cells
        gz, gy, gx = self.gz, self.gy, self.gx
        diag = (
            gz[z, y, x].astype(np.float64)
            + gz[z + 1, y, x]
            + gy[z, y, x]
            + gy[z, y + 1, x]
            + gx[z, y, x]
            + gx[z, y, x + 1]
        )
        cells = np.arange(n)
        rows, cols, vals = [cells], [cells], [diag]
        nz, ny, nx = self.shape
        # Off-diagonals: the face towards the +1 neighbour along each axis (a positive
        # interior face implies that both cells are active).
        for g, coord, size, stride in (
            (gz[z + 1, y, x], z, nz, ny * nx),
            (gy[z, y + 1, x], y, ny, nx),
            (gx[z, y, x + 1], x, nx, 1),
        ):
            sel = (coord + 1 < size) & (g > 0)
            i = cells[sel]
            j = np.searchsorted(idx, idx[sel] + stride)
            gs = -g[sel].astype(np.float64)
            rows += [i, j]
            cols += [j, i]
            vals += [gs, gs]
        a = scipy.sparse.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
        self.lu = scipy.sparse.linalg.splu(a)

    def solve_direct(self, r, out):
        """Out (padded) = A^-1 r (padded) on the active cells, 0 elsewhere."""
        out.fill(0.0)
        if self.lu is None:
            return
        out[self.direct_padded] = self.lu.solve(r[self.direct_padded].astype(np.float64))


class _Hierarchy:
    """Aggregation K-cycle preconditioner built from the fine face conductances."""

    def __init__(self, gz, gy, gx, voxel_size=(1.0, 1.0, 1.0), coarse_cells=1024, smoothing_steps=1, kcycle_tol=0.25):
        self.smoothing_steps = int(smoothing_steps)
        self.kcycle_tol = float(kcycle_tol)
        levels = [_Level(gz, gy, gx)]
        h = list(voxel_size)
        while True:
            cur = levels[-1]
            shape = cur.shape
            n_active = int(np.count_nonzero(cur.active))
            if int(np.prod(shape)) <= coarse_cells or n_active <= coarse_cells:
                break
            # Semi-coarsening for non-cubic cells: only the axes whose (current) cell
            # size is within 1.5x of the smallest are paired, so the coarse cells get
            # closer to cubic (couplings scale as 1 / h^2; aggregating across a weak
            # direction would make a poor coarse space).
            h_min = min(h[d] for d in range(3) if shape[d] > 1) if max(shape) > 1 else 1.0
            f = tuple(2 if (shape[d] > 1 and h[d] <= 1.5 * h_min) else 1 for d in range(3))
            if f == (1, 1, 1):
                break
            h = [h[d] * f[d] for d in range(3)]
            cshape = tuple(-(-n // fi) for n, fi in zip(shape, f))
            cz, cy, cx = cshape
            cgz = np.empty((cz + 1, cy, cx), np.float32)
            cgy = np.empty((cz, cy + 1, cx), np.float32)
            cgx = np.empty((cz, cy, cx + 1), np.float32)
            _coarsen_faces(cur.gz, cur.gy, cur.gx, cgz, cgy, cgx, *f)
            cur.shifts = tuple(fi - 1 for fi in f)
            levels.append(_Level(cgz, cgy, cgx))
        for lev in levels[1:]:
            lev.alloc_work()
        levels[-1].setup_direct()
        self.levels = levels

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    def apply(self, r32, z):
        """Z ~= A^-1 r on the finest level (r32, z: float32, padded).

        Levels smaller than ``_PARALLEL_MIN_CELLS`` run on one numba thread: there the
        fork/join cost exceeds the work, badly so on a loaded machine. The results do
        not depend on the thread count, so this only changes the speed.
        """
        if len(self.levels) == 1:
            self.levels[0].solve_direct(r32, z)
            return
        threads = numba.get_num_threads()
        for lev in self.levels:
            lev.threads = threads if lev.n_cells >= _PARALLEL_MIN_CELLS else 1
        try:
            self._cycle(0, r32, z)
        finally:
            numba.set_num_threads(threads)

    def _cycle(self, i, r, u):
        """U ~= A_i^-1 r: symmetric red-black Gauss-Seidel around the coarse correction."""
        lev = self.levels[i]
        g = (lev.gz, lev.gy, lev.gx)
        numba.set_num_threads(lev.threads)
        _gs_color(*g, r, u, 0, True)  # red from u = 0
        _gs_color(*g, r, u, 1, False)
        for _ in range(self.smoothing_steps - 1):
            _gs_color(*g, r, u, 0, False)
            _gs_color(*g, r, u, 1, False)
        nxt = self.levels[i + 1]
        _restrict_residual(*g, r, u, nxt.r, *lev.shifts)
        self._coarse(i + 1)
        numba.set_num_threads(lev.threads)
        _prolong_add(lev.active, nxt.v, u, *lev.shifts)
        for _ in range(self.smoothing_steps):
            _gs_color(*g, r, u, 1, False)
            _gs_color(*g, r, u, 0, False)

    def _coarse(self, i):
        """Approximate solve of level i's system (rhs lev.r, solution in lev.v)."""
        lev = self.levels[i]
        if i == len(self.levels) - 1:
            lev.solve_direct(lev.r, lev.v)
            return
        g = (lev.gz, lev.gy, lev.gx)
        p1, p2 = lev.partial, lev.partial2
        self._cycle(i, lev.r, lev.v)
        numba.set_num_threads(lev.threads)
        _apply(*g, lev.v, lev.w, p1)
        alpha1 = _psum(p1)  # v . A v
        _dot(lev.v, lev.r, p1)
        rho1 = _psum(p1)  # v . r
        if not alpha1 > 0.0:
            return
        c1 = rho1 / alpha1
        _dot(lev.r, lev.r, p1)
        rnorm2 = _psum(p1)
        _sub_scaled(lev.r2, lev.r, lev.w, np.float32(c1), p1)
        r2norm2 = _psum(p1)
        if r2norm2 <= self.kcycle_tol**2 * rnorm2:
            _lincomb(lev.v, lev.d, np.float32(c1), np.float32(0.0))
            return
        self._cycle(i, lev.r2, lev.d)
        numba.set_num_threads(lev.threads)
        _dot2(lev.d, lev.w, lev.r2, p1, p2)
        gamma = _psum(p1)  # d . A v
        alpha2 = _psum(p2)  # d . r2
        _apply(*g, lev.d, lev.w, p1)
        beta = _psum(p1)  # d . A d
        rho2 = beta - gamma * gamma / alpha1
        if not rho2 > 0.0:
            _lincomb(lev.v, lev.d, np.float32(c1), np.float32(0.0))
            return
        a_v = c1 - gamma * alpha2 / (alpha1 * rho2)
        a_d = alpha2 / rho2
        _lincomb(lev.v, lev.d, np.float32(a_v), np.float32(a_d))


# --------------------------------------------------------------------------------------
# Solver
# --------------------------------------------------------------------------------------
@dataclass
class ConductivityResult:
    """Result of :func:`effective_conductivity`.

    Attributes
    ----------
    deff : float
        Effective conductivity along ``axis``, in the unit of the conductivity field.
    deff_relative : float
        ``deff / reference_conductivity`` (dimensionless; ``D_eff / D_bulk`` for a
        tortuosity calculation).
    reference_conductivity : float
        The reference used for ``deff_relative`` (unit of the field).
    axis : int
        Transport axis.
    voxel_size_um : tuple of float
        ``(h_z, h_y, h_x)`` in um.
    conducting_fraction, percolating_fraction : float
        Volume fractions of voxels with ``k > 0`` and of the percolating cluster.
    percolating : bool
        False when no conducting path joins the two faces (then ``deff = 0``,
        ``iterations = 0``, ``converged = True``).
    flux_in, flux_out : float
        Flux through the inlet / outlet face for the unit potential difference, in
        units of conductivity x um (e.g. (um^2/s) x um x (mol/um^3) = mol/s for
        diffusion with a unit concentration difference in mol/um^3).
    flux_imbalance : float
        ``|flux_in - flux_out| / mean`` (dimensionless, equals the summed residual).
    iterations : int
        Outer (flexible CG) iterations.
    residual : float
        Final true relative residual ``||b - A x|| / ||b||``.
    converged : bool
        Whether ``residual <= rtol`` was reached within ``maxiter``.
    n_unknowns : int
        Number of voxels in the solved system (percolating cluster).
    n_levels : int
        Multigrid levels (1 = direct solve).
    time_s : dict
        Wall times in s: ``connectivity``, ``faces``, ``hierarchy``, ``solve``, ``total``.
    potential : ndarray or None
        Potential field (float64, (z, y, x), 0 outside the percolating cluster) when
        requested with ``return_potential=True``.
    """

    deff: float
    deff_relative: float
    reference_conductivity: float
    axis: int
    voxel_size_um: tuple
    conducting_fraction: float
    percolating_fraction: float
    percolating: bool
    flux_in: float
    flux_out: float
    flux_imbalance: float
    iterations: int
    residual: float
    converged: bool
    n_unknowns: int
    n_levels: int
    time_s: dict = field(default_factory=dict)
    potential: np.ndarray | None = field(default=None, repr=False)


def _solve_faces(gz, gy, gx, axis, voxel_size, rtol, maxiter, coarse_cells, smoothing_steps, times):
    """FCG(1) + K-cycle on face conductances; returns (x padded, iterations, rel. res.)."""
    t0 = time.perf_counter()
    hier = _Hierarchy(gz, gy, gx, voxel_size, coarse_cells=coarse_cells, smoothing_steps=smoothing_steps)
    fine = hier.levels[0]
    times["hierarchy"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    shape = fine.shape
    pshape = tuple(n + 2 for n in shape)
    inner = (slice(1, -1),) * 3
    g_axis = (gz, gy, gx)[axis]
    b_in = np.take(g_axis, 0, axis=axis).astype(np.float64)  # rhs = g_in * 1 on inlet cells
    bnorm = math.sqrt(_psum(np.einsum("ij,ij->i", b_in, b_in)))

    # Initial guess: the linear profile 1 - (i + 1/2) / n on the conducting cells.
    x = np.zeros(pshape)
    n_ax = shape[axis]
    prof = 1.0 - (np.arange(n_ax) + 0.5) / n_ax
    bshape = [1, 1, 1]
    bshape[axis] = n_ax
    np.multiply(fine.active, prof.reshape(bshape), out=x[inner])
    r = np.zeros(pshape)
    q = np.zeros(pshape)
    # Search directions in float32 (memory, bandwidth): q = A p is formed exactly from
    # the stored p and x, r are updated with that same p, so only the choice of the
    # direction is rounded, not the consistency of x and r.
    p = np.zeros(pshape, np.float32)
    z = np.zeros(pshape, np.float32)
    r32 = np.zeros(pshape, np.float32)  # float32 copy of r: the preconditioner's input
    p1 = fine.partial

    def true_residual():
        _residual64(gz, gy, gx, x, r)
        sl = [slice(1, -1)] * 3
        sl[axis] = 1
        r[tuple(sl)] += b_in
        np.copyto(r32, r, casting="same_kind")
        _dot(r, r, p1)
        return math.sqrt(_psum(p1))

    threads = numba.get_num_threads()
    if fine.n_cells < _PARALLEL_MIN_CELLS:
        numba.set_num_threads(1)
    try:
        x, it, rnorm = _fcg(hier, gz, gy, gx, x, r, q, p, z, r32, rtol * bnorm, maxiter, true_residual)
    finally:
        numba.set_num_threads(threads)
    del p, z, r32
    rel = rnorm / bnorm if bnorm > 0 else 0.0
    times["solve"] = time.perf_counter() - t0
    return x, it, rel, hier.n_levels


def _fcg(hier, gz, gy, gx, x, r, q, p, z, r32, target, maxiter, true_residual):
    """FCG(1) iterations with restarts from the true residual; returns (x, it, ||r||)."""
    p1, p2 = hier.levels[0].partial, hier.levels[0].partial2
    rnorm = true_residual()
    it = 0
    restarts = 0
    while True:
        first = True
        pq = 1.0
        while rnorm > target and it < maxiter:
            hier.apply(r32, z)
            if first:
                np.copyto(p, z)
                _dot(p, r, p2)
                first = False
            else:
                _dot(z, q, p1)
                _xpby_dot(p, z, -_psum(p1) / pq, r, p2)  # beta = -z.q / p.q (FCG(1))
            pr = _psum(p2)
            _apply(gz, gy, gx, p, q, p1)
            pq = _psum(p1)
            if not pq > 0.0:
                break
            _update_xr(x, r, r32, p, q, pr / pq, p1)  # alpha = p.r / p.q (exact line search)
            rnorm = math.sqrt(_psum(p1))
            it += 1
        # The recursively updated residual can drift from b - A x in the last digits:
        # check the true one and restart from it if needed (at most 3 times).
        rnorm = true_residual()
        if rnorm <= target or it >= maxiter or restarts >= 3:
            break
        restarts += 1
    return x, it, rnorm


def _effective(
    field_k,
    axis,
    h,
    reference,
    rtol,
    maxiter,
    return_potential,
    face_multiplier,
    coarse_cells,
    smoothing_steps,
    conn=None,
):
    t_start = time.perf_counter()
    times = {}
    shape = field_k.shape
    if conn is None:
        t0 = time.perf_counter()
        conn = pore_connectivity(field_k > 0, axis)
        times["connectivity"] = time.perf_counter() - t0
    perc = conn["percolating_mask"]
    hz, hy, hx = h
    lengths = (shape[0] * hz, shape[1] * hy, shape[2] * hx)
    length = lengths[axis]
    area = float(np.prod([lengths[d] for d in range(3) if d != axis]))
    common = dict(
        reference_conductivity=float(reference),
        axis=axis,
        voxel_size_um=tuple(h),
        conducting_fraction=conn["porosity"],
        percolating_fraction=conn["percolating_fraction"],
    )
    if not conn["percolating"]:
        times["total"] = time.perf_counter() - t_start
        return ConductivityResult(
            deff=0.0,
            deff_relative=0.0,
            percolating=False,
            flux_in=0.0,
            flux_out=0.0,
            flux_imbalance=0.0,
            iterations=0,
            residual=0.0,
            converged=True,
            n_unknowns=0,
            n_levels=0,
            time_s=times,
            potential=np.zeros(shape) if return_potential else None,
            **common,
        )
    t0 = time.perf_counter()
    gz, gy, gx = _faces(field_k, axis, h, face_multiplier, perc)
    n_unknowns = int(np.count_nonzero(perc))
    del conn, perc
    times["faces"] = time.perf_counter() - t0
    x, it, rel, n_levels = _solve_faces(gz, gy, gx, axis, h, rtol, maxiter, coarse_cells, smoothing_steps, times)
    g_axis = (gz, gy, gx)[axis]
    g_in = np.take(g_axis, 0, axis=axis).astype(np.float64)
    g_out = np.take(g_axis, -1, axis=axis).astype(np.float64)
    xi = x[1:-1, 1:-1, 1:-1]
    c_in = np.take(xi, 0, axis=axis)
    c_out = np.take(xi, -1, axis=axis)
    flux_in = float(np.sum(g_in * (1.0 - c_in)))
    flux_out = float(np.sum(g_out * c_out))
    flux = 0.5 * (flux_in + flux_out)
    deff = flux * length / area
    times["total"] = time.perf_counter() - t_start
    return ConductivityResult(
        deff=deff,
        deff_relative=deff / float(reference),
        percolating=True,
        flux_in=flux_in,
        flux_out=flux_out,
        flux_imbalance=abs(flux_in - flux_out) / flux if flux > 0 else 0.0,
        iterations=it,
        residual=rel,
        converged=bool(rel <= rtol),
        n_unknowns=n_unknowns,
        n_levels=n_levels,
        time_s=times,
        potential=np.ascontiguousarray(xi) if return_potential else None,
        **common,
    )


def effective_conductivity(
    conductivity_field: np.ndarray,
    axis: int = 0,
    voxel_size_um=1.0,
    rtol: float = _DEFAULT_RTOL,
    *,
    reference_conductivity: float = 1.0,
    face_multiplier=None,
    maxiter: int = 500,
    return_potential: bool = False,
    coarse_cells: int = 1024,
    smoothing_steps: int = 1,
) -> ConductivityResult:
    """Effective conductivity of a voxel conductivity field along one axis.

    Parameters
    ----------
    conductivity_field : ndarray, (z, y, x)
        Per-voxel conductivity ``k >= 0`` in any unit (0 = insulating), e.g. 1.0 for
        active material and 10.0 for carbon-binder; a boolean array means ``k = 1``.
        Positive values must lie in [1e-30, 1e30]; the faces are computed from a
        float32 copy (none for float32 input), harmonic means in float64.
    axis : int
        Transport axis (0 = z = through-plane); ``c = 1`` on its first plane, ``c = 0``
        on its last plane, no flux elsewhere.
    voxel_size_um : float or (3,) sequence
        Voxel size in um, ``(h_z, h_y, h_x)`` for non-cubic voxels.
    rtol : float
        Stop when the relative residual ``||b - A x|| / ||b||`` is at most ``rtol``
        (1e-6 gave ``deff`` to about 1e-5 relative on porous images; see the module
        notes).
    reference_conductivity : float
        ``deff_relative = deff / reference_conductivity`` (e.g. the bulk value).
    face_multiplier : None or sequence of 3 (array or None)
        Per-face factors on the interior faces, see :func:`face_conductances` (hook for
        contact resistances). Must be positive: it cannot cut connections.
    maxiter : int
        Maximum number of outer iterations.
    return_potential : bool
        Also return the potential field (float64, (z, y, x)).
    coarse_cells : int
        Coarsening stops at this many cells; that level is solved directly.
    smoothing_steps : int
        Red-black Gauss-Seidel sweeps before and after each coarse correction.

    Returns
    -------
    ConductivityResult
        ``deff`` (unit of the field), ``deff_relative``, fluxes and their balance,
        iterations, final relative residual, timings. A direction without a
        percolating path returns ``deff = 0`` with ``percolating = False``.
    """
    k = _validated_field(conductivity_field)
    axis = _check_axis(axis)
    h = _check_voxel_size(voxel_size_um)
    if not (math.isfinite(reference_conductivity) and reference_conductivity > 0):
        raise ValueError("reference_conductivity must be positive and finite")
    if not rtol > 0:
        raise ValueError("rtol must be positive")
    if int(smoothing_steps) < 1 or int(coarse_cells) < 1:
        raise ValueError("smoothing_steps and coarse_cells must be >= 1")
    return _effective(
        k,
        axis,
        h,
        reference_conductivity,
        float(rtol),
        int(maxiter),
        return_potential,
        face_multiplier,
        int(coarse_cells),
        int(smoothing_steps),
    )


def tortuosity(
    pore_mask: np.ndarray,
    axis: int = 0,
    voxel_size_um=1.0,
    rtol: float = _DEFAULT_RTOL,
    *,
    maxiter: int = 500,
    return_potential: bool = False,
) -> dict:
    """Tortuosity factor of the pore space along one axis (TauFactor's definition).

    Solves steady diffusion with ``D = D_bulk`` in the percolating pore cluster
    (:func:`effective_conductivity`), ``c = 1`` / ``c = 0`` on the two faces normal to
    ``axis``.

    Parameters
    ----------
    pore_mask : ndarray of bool, (z, y, x)
        True in the pore phase.
    axis : int
        Transport axis (0 = z = through-plane).
    voxel_size_um : float or (3,) sequence
        Voxel size in um (non-cubic allowed).
    rtol : float
        Relative residual at which the solver stops.
    maxiter : int
        Maximum number of solver iterations.
    return_potential : bool
        Also return the concentration field under ``"potential"``.

    Returns
    -------
    dict
        ``porosity`` : total pore volume fraction ``eps``.
        ``percolating_fraction``, ``dead_end_fraction``, ``isolated_fraction`` : volume
        fractions (of the image) of the pore components touching both, one and none of
        the two faces (see :func:`pore_connectivity`); ``*_of_pore`` relative to ``eps``.
        ``percolating`` : bool.
        ``deff_over_dbulk`` : ``D_eff / D_bulk`` (0 when not percolating).
        ``tortuosity_factor`` : ``eps / (D_eff / D_bulk)``, ``inf`` when not percolating.
        ``tortuosity_factor_percolating`` : the same with the percolating fraction.
        ``iterations``, ``converged``, ``residual``, ``n_levels``, ``time_s``, ``axis``,
        ``voxel_size_um`` : as in :class:`ConductivityResult`.
        ``flux_in``, ``flux_out`` : total flux through the inlet / outlet face for
        ``D_bulk = 1`` and a unit concentration difference, in um (multiply by
        ``D_bulk`` and the concentration difference for physical units);
        ``flux_imbalance`` : their relative difference.
        ``potential`` : the concentration field (float64) or None.
    """
    mask = _check_volume(pore_mask, "pore_mask")
    if mask.dtype != np.bool_:
        if mask.dtype.kind not in "biu":
            raise TypeError(f"pore_mask must be boolean, got {mask.dtype}")
        mask = mask != 0
    axis = _check_axis(axis)
    h = _check_voxel_size(voxel_size_um)
    t0 = time.perf_counter()
    conn = pore_connectivity(mask, axis)
    t_conn = time.perf_counter() - t0
    eps = conn["porosity"]
    eps_perc = conn["percolating_fraction"]
    if not rtol > 0:
        raise ValueError("rtol must be positive")
    res = _effective(
        conn["percolating_mask"], axis, h, 1.0, float(rtol), int(maxiter), return_potential, None, 1024, 1, conn=conn
    )
    res.time_s["connectivity"] = t_conn
    res.time_s["total"] += t_conn
    d = res.deff_relative
    return {
        "porosity": eps,
        "percolating_fraction": eps_perc,
        "dead_end_fraction": conn["dead_end_fraction"],
        "isolated_fraction": conn["isolated_fraction"],
        "percolating_fraction_of_pore": conn["percolating_fraction_of_phase"],
        "dead_end_fraction_of_pore": conn["dead_end_fraction_of_phase"],
        "isolated_fraction_of_pore": conn["isolated_fraction_of_phase"],
        "percolating": res.percolating,
        "deff_over_dbulk": d,
        "tortuosity_factor": eps / d if d > 0 else math.inf,
        "tortuosity_factor_percolating": eps_perc / d if d > 0 else math.inf,
        "iterations": res.iterations,
        "converged": res.converged,
        "residual": res.residual,
        "flux_in": res.flux_in,
        "flux_out": res.flux_out,
        "flux_imbalance": res.flux_imbalance,
        "n_levels": res.n_levels,
        "time_s": res.time_s,
        "axis": axis,
        "voxel_size_um": h,
        "potential": res.potential,
    }
