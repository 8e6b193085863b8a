"""Effective conductivity and tortuosity factor of voxel images by finite volumes.

:func:`effective_conductivity` takes any per-voxel conductivity field (with optional
per-face multipliers, e.g. contact resistances), :func:`tortuosity` a pore mask
(TauFactor's tortuosity factor); both work along one axis and share one solver
(:mod:`batteryct.transport._multigrid`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .. import _checks
from ._kernels import _build_faces
from ._multigrid import _solve_faces
from .connectivity import pore_connectivity

_DEFAULT_RTOL = 1e-6
_K_MIN, _K_MAX = 1e-30, 1e30  # positive conductivities must fit float32's normal range


def _validated_field(conductivity_field) -> np.ndarray:
    """Return the field as a C-contiguous array, checked: numeric, finite, >= 0, in range."""
    k = _checks.as_volume_3d(conductivity_field, "conductivity_field")
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


def _voxel_size(voxel_size_um) -> tuple[float, float, float]:
    """``(h_z, h_y, h_x)`` in um as Python floats (checked)."""
    hz, hy, hx = (float(v) for v in _checks.voxel_size_um(voxel_size_um))
    return hz, hy, hx


def _faces(k, axis, h, face_multiplier, use):
    """Face conductances (float32) among the voxels of ``use`` (the percolating cluster).

    Returns ``gz, gy, gx`` of shapes ``(nz + 1, ny, nx)``, ``(nz, ny + 1, nx)`` and
    ``(nz, ny, nx + 1)`` in units of ``k x um``; ``gz[i]`` is the face between cells
    ``i - 1`` and ``i`` along z. The two boundary planes of ``axis`` carry the Dirichlet
    conductance ``2 k A / h``, those of the other axes are 0. Harmonic means are formed
    in float64 and stored in float32. ``face_multiplier`` scales the interior faces.
    """
    hz, hy, hx = h
    use = np.ascontiguousarray(use, dtype=bool)
    k32 = np.asarray(k, dtype=np.float32)
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
    """Solve on a checked field; ``conn``: the connectivity of ``field_k > 0`` if known."""
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
    """Compute the effective conductivity of a voxel conductivity field along one axis.

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
        (dimensionless).
    reference_conductivity : float
        ``deff_relative = deff / reference_conductivity`` (unit of the field, e.g. the
        bulk value).
    face_multiplier : None or sequence of 3 (array or None)
        Per-face factors ``(m_z, m_y, m_x)`` (dimensionless) applied to the *interior*
        faces, shapes ``(nz - 1, ny, nx)``, ``(nz, ny - 1, nx)``, ``(nz, ny, nx - 1)`` (or
        broadcastable); ``m_z[i]`` scales the face between cells ``i`` and ``i + 1``
        along z. Hook for contact resistances (``m = 1 / (1 + g R_c)``). Must be positive
        and finite: a zero would cut the cluster behind the connectivity analysis and
        make the system singular.
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
        iterations, final relative residual, timings (s). A direction without a
        percolating path returns ``deff = 0`` with ``percolating = False``.

    Raises
    ------
    ValueError
        If the field is not 3-D, is empty, holds negative, non-finite or out-of-range
        values, or an argument is out of range.
    TypeError
        If the field is not numeric or ``axis`` is not an integer.

    Notes
    -----
    Steady-state conduction (or diffusion) ``div(k grad c) = 0`` with cell-centred
    finite volumes:

    * ``c = 1`` on the inlet face (index 0 along ``axis``), ``c = 0`` on the outlet face
      (last index); no flux through the four other faces and into insulating voxels.
    * The conductance of the face between two conducting voxels ``a``, ``b`` along axis
      ``d`` is ``g = harm(k_a, k_b) A_d / h_d`` with the harmonic mean
      ``harm = 2 k_a k_b / (k_a + k_b)`` (two half-voxel resistances in series), the face
      area ``A_d`` (um^2, product of the two other voxel sizes) and the voxel size
      ``h_d`` (um) along ``d``; non-cubic voxels are therefore exact for straight
      channels and layers. A Dirichlet face lies half a voxel from the cell centre:
      ``g = 2 k A_d / h_d``. The face multipliers scale the interior faces before the
      solve; the solver only ever sees face conductances.
    * Only the conducting cluster connected (6-connectivity) to both Dirichlet faces
      carries flux; everything else is excluded from the system, which it would make
      singular (:func:`pore_connectivity`).
    * From the converged potential, the fluxes through the inlet and outlet faces,
      ``J_in = sum g (1 - c)`` and ``J_out = sum g c`` (conductivity x um for the unit
      potential difference), give ``k_eff = J L / (A dc)`` with ``L = n_axis h_axis`` and
      ``A`` the cross-section in um^2; ``J`` is the mean of the two (they differ by the
      sum of the residual, reported as ``flux_imbalance``).

    Solver: flexible conjugate gradients (FCG(1), Notay 2000) on the symmetric positive
    definite system of the percolating cluster, preconditioned by a matrix-free
    aggregation multigrid written in numba:

    * every level is a 7-point stencil stored as face conductances; level ``l + 1``
      aggregates 2 x 2 x 2 cells and its face conductance is the *sum* of the fine faces
      between the two aggregates, the Dirichlet faces included: exactly the Galerkin
      operator ``P^T A P`` of piecewise-constant prolongation, so every level is SPD.
      Non-cubic voxels use semi-coarsening (only the axes whose current cell size is
      within 1.5x of the smallest are paired); axes of length 1 are never coarsened;
    * smoother: symmetric red-black Gauss-Seidel, deterministic because a colour only
      reads the other colour;
    * K-cycle (Notay & Vassilevski 2008): the coarse problem of every level is solved by
      up to two FCG steps preconditioned by the next level; the coarsest level (at most
      ``coarse_cells`` cells) by a sparse LU factorisation (SuperLU);
    * precision: face conductances, search directions and the preconditioner are
      float32; the potential, the residual, ``A p`` (formed in float64 from the stored
      values), all dot products and the fluxes are float64;
    * dot products are per-z-slab partial sums added in a fixed order and every kernel
      writes only to its own slabs, so the result is bit-identical for any number of
      numba threads. Grids below 2^22 cells run on one thread (the fork/join of a
      parallel kernel costs more than the work there).

    Geometric aggregation ignores the conductivity, so two-phase fields need more
    iterations as the contrast grows. Peak memory of the solve: three float32 and three
    float64 padded vectors, three float32 face arrays, a uint8 mask and the coarse levels
    (about 1/7 of that), about ``55 n`` bytes for ``n`` voxels; the connected-component
    labelling needs ``4 n`` bytes (uint32 labels) plus ``8 n`` transiently, before the
    solve. On cores busy with other work one thread can be faster than two
    (``NUMBA_NUM_THREADS=1``); the numbers do not change.

    References
    ----------
    * S. J. Cooper, A. Bertei, P. R. Shearing, J. A. Kilner, N. P. Brandon, "TauFactor: an
      open-source application for calculating tortuosity factors from tomographic data",
      SoftwareX 5, 203 (2016): the half-voxel Dirichlet faces.
    * Y. Notay, "Flexible conjugate gradients", SIAM J. Sci. Comput. 22, 1444 (2000).
    * Y. Notay, P. S. Vassilevski, "Recursive Krylov-based multigrid cycles", Numer.
      Linear Algebra Appl. 15, 473 (2008).

    Examples
    --------
    Two layers in series along z (conductivities 1 and 3): ``1 / (0.5 / 1 + 0.5 / 3)``.

    >>> import numpy as np
    >>> k = np.ones((16, 8, 8))
    >>> k[8:] = 3.0
    >>> round(effective_conductivity(k, axis=0).deff, 6)
    1.5
    """
    k = _validated_field(conductivity_field)
    axis = _checks.check_axis(axis)
    h = _voxel_size(voxel_size_um)
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
    """Compute the tortuosity factor of the pore space along one axis (TauFactor's definition).

    Solves steady diffusion with ``D = D_bulk`` in the percolating pore cluster
    (:func:`effective_conductivity`), ``c = 1`` / ``c = 0`` on the two faces normal to
    ``axis``.

    Parameters
    ----------
    pore_mask : ndarray of bool, (z, y, x)
        True in the pore phase (integer arrays: non-zero = pore).
    axis : int
        Transport axis (0 = z = through-plane).
    voxel_size_um : float or (3,) sequence
        Voxel size in um (non-cubic allowed).
    rtol : float
        Relative residual at which the solver stops (dimensionless).
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
        ``iterations``, ``converged``, ``residual``, ``n_levels``, ``time_s`` (s),
        ``axis``, ``voxel_size_um`` (um) : as in :class:`ConductivityResult`.
        ``flux_in``, ``flux_out`` : total flux through the inlet / outlet face for
        ``D_bulk = 1`` and a unit concentration difference, in um (multiply by
        ``D_bulk`` and the concentration difference for physical units);
        ``flux_imbalance`` : their relative difference.
        ``potential`` : the concentration field (float64) or None.

    Raises
    ------
    ValueError
        If the mask is not 3-D or is empty, or an argument is out of range.
    TypeError
        If the mask is neither boolean nor integer, or ``axis`` is not an integer.

    Notes
    -----
    ``tau = eps D_bulk / D_eff`` with ``eps`` the *total* pore volume fraction
    (Cooper et al. 2016); ``tau_percolating`` uses the percolating fraction. A direction
    without a percolating path gives ``D_eff = 0`` and ``tau = inf``.

    Examples
    --------
    Straight channels along z: ``tau = 1`` along z, no path along x.

    >>> import numpy as np
    >>> pores = np.zeros((16, 16, 16), bool)
    >>> pores[:, ::2, ::2] = True
    >>> t = tortuosity(pores, axis=0)
    >>> t["porosity"], round(t["tortuosity_factor"], 6)
    (0.25, 1.0)
    >>> tortuosity(pores, axis=2)["tortuosity_factor"]
    inf
    """
    mask = _checks.as_mask_3d(pore_mask, "pore_mask")
    axis = _checks.check_axis(axis)
    h = _voxel_size(voxel_size_um)
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
