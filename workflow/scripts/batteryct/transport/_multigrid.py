"""Aggregation multigrid (K-cycle) preconditioner and the FCG(1) solve of the transport system.

The operator is given as face conductances on a structured grid (see
:func:`batteryct.transport.effective_conductivity`, Notes, for the method);
``_Hierarchy`` builds the coarse levels, ``_solve_faces`` runs the outer iteration.
"""

from __future__ import annotations

import functools
import math
import time

import numba
import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from ._kernels import (
    _active_from_faces,
    _apply,
    _coarsen_faces,
    _dot,
    _dot2,
    _gs_color,
    _lincomb,
    _prolong_add,
    _residual64,
    _restrict_residual,
    _sub_scaled,
    _update_xr,
    _xpby_dot,
)

_PARALLEL_MIN_CELLS = 1 << 22  # grids below 2^22 cells (~160^3) run on one thread


def _psum(partial: np.ndarray) -> float:
    # Fixed-order (serial) sum of the per-slab partial sums: thread-count independent.
    s = 0.0
    for v in partial.tolist():
        s += v
    return s


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


def _solve_faces(gz, gy, gx, axis, voxel_size, rtol, maxiter, coarse_cells, smoothing_steps, times):
    """FCG(1) + K-cycle on face conductances; returns (x padded, iterations, rel. residual, levels)."""
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
    true_residual = functools.partial(_true_residual, gz, gy, gx, x, r, r32, b_in, axis, fine.partial)
    threads = numba.get_num_threads()
    if fine.n_cells < _PARALLEL_MIN_CELLS:
        numba.set_num_threads(1)
    try:
        x, it, rnorm = _fcg(hier, gz, gy, gx, x, r, q, p, z, r32, rtol * bnorm, maxiter, true_residual)
    finally:
        numba.set_num_threads(threads)
    del p, z, r32, true_residual  # the float32 work vectors are not needed any more
    rel = rnorm / bnorm if bnorm > 0 else 0.0
    times["solve"] = time.perf_counter() - t0
    return x, it, rel, hier.n_levels


def _true_residual(gz, gy, gx, x, r, r32, b_in, axis, partial):
    """R = b - A x (float64) and its float32 copy r32 (the preconditioner's input); returns ||r||.

    ``b`` is ``b_in`` on the inlet plane (index 0 along ``axis``) and 0 elsewhere.
    """
    _residual64(gz, gy, gx, x, r)
    sl = [slice(1, -1)] * 3
    sl[axis] = 1
    r[tuple(sl)] += b_in
    np.copyto(r32, r, casting="same_kind")
    _dot(r, r, partial)
    return math.sqrt(_psum(partial))


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
