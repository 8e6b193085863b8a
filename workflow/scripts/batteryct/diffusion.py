"""Solid-state diffusion in spheres: a finite-volume solver, analytic references, size ensembles.

Fick's second law in a sphere, ``dc/dt = r^-2 d/dr (r^2 D dc/dr)``, with ``dc/dr = 0`` at the
centre and a flux (Neumann) or concentration (Dirichlet) condition at the surface (seed 002,
"The Spherical Particle Model").

Discretisation (:func:`sphere_grid`): vertex-centred finite volumes in the dimensionless radius
``xi = r / R``; nodes at the centre and at the surface, control volumes bounded by the midpoints,
node spacing graded geometrically towards the surface (where the gradients are). The surface
concentration is a node value (no extrapolation), the mean is the volume-weighted sum, and the
face fluxes telescope, so the moles in a particle change by exactly ``dt * area * flux`` in each
step (mass conserved to round-off). Time: Crank-Nicolson; a step in which the surface condition
jumps is replaced by two backward-Euler half steps (Rannacher's damped start), which removes
Crank-Nicolson's oscillations after a switch and keeps second order. Every radius of an ensemble
shares the dimensionless grid and is solved in the same step (batched tridiagonal solves).
A concentration-dependent ``D(c)`` is evaluated at the faces with a predictor-corrector
(second order, still conservative).

Time convention (the whole module, :mod:`batteryct.gitt` and :mod:`batteryct.cycler`):
``value[i]`` of a flux or current array is the constant value during ``(time_s[i-1], time_s[i]]``;
``value[0]`` is the value at ``time_s[0]`` (a current there only enters the IR drop of the first
sample). Every particle starts uniform, at rest.

Sign convention: a positive surface flux (mol/m^2/s) goes **into** the particle; a positive
current is a **discharge** of the working electrode, i.e. a lithiation of a cathode: its
stoichiometry ``x = c / c_max`` rises and its voltage falls. Butler-Volmer (symmetric,
``alpha = 1/2``): ``i = F j = 2 i0 sinh(F eta / (2 R T))`` with ``eta >= 0`` for lithiation, and
the electrode potential is ``OCV(x_s) - eta``; the cell voltage is ``electrode potential - I R_s``.

Ensembles (:func:`simulate_ensemble`): particles of several radii (volume fractions of the active
material, e.g. the CT size distribution) either share one electrode potential (``split =
"potential"``: each particle's ``OCV(x_s) - eta`` equals the common potential and the particle
currents add up to the applied current exactly), or carry the same current density
(``split = "uniform"``; the reported potential is then the surface-weighted mean of
``OCV(x_s) - eta``).

References
----------
J. Crank, *The Mathematics of Diffusion*, 2nd ed., Oxford 1975, eqs. 6.18 and 6.33 (constant
surface concentration and constant surface flux in a sphere).
R. Rannacher, Finite element solution of diffusion problems with irregular data, Numer. Math.
43 (1984) 309-327.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from batteryct import _checks

FARADAY_C_MOL = 96485.33212
GAS_CONSTANT_J_MOL_K = 8.314462618

SPLITS = ("potential", "uniform")


# ---------------------------------------------------------------------------------------------
# analytic references
# ---------------------------------------------------------------------------------------------


def sphere_flux_roots(n_roots: int) -> np.ndarray:
    """Return the first positive roots of ``tan(alpha) = alpha``.

    Parameters
    ----------
    n_roots : int
        Number of roots.

    Returns
    -------
    numpy.ndarray
        ``alpha_1 < alpha_2 < ...``, ``alpha_n`` in ``(n pi, (n + 1/2) pi)``
        (``alpha_1 = 4.493409...``).

    Examples
    --------
    >>> round(float(sphere_flux_roots(1)[0]), 6)
    4.493409
    """
    n_roots = _checks.check_int(n_roots, "n_roots", 1)
    beta = (np.arange(1, n_roots + 1) + 0.5) * np.pi
    a = beta - 1.0 / beta - 2.0 / (3.0 * beta**3)
    for _ in range(8):  # Newton on g = sin a - a cos a (its zeros are those of tan a - a)
        g = np.sin(a) - a * np.cos(a)
        a = a - g / (a * np.sin(a))
    return a


def _flux_roots(n_roots: int) -> np.ndarray:
    """Return the first ``n_roots`` roots of ``tan a = a`` (cached table of :func:`_mode_tables` when it suffices)."""
    if n_roots <= _MODE_TABLE_SIZE:
        return np.sqrt(_mode_tables()[0][:n_roots])
    return sphere_flux_roots(n_roots)


def _series_terms(t_min: float, rate: float) -> int:
    """Return the number of terms until ``exp(-rate n^2 T) < 1e-19`` at the smallest T."""
    return int(math.ceil(math.sqrt(44.0 / (rate * max(t_min, 1e-12))))) + 2


def crank_constant_flux_surface(dimensionless_time) -> np.ndarray:
    """Return the surface-concentration rise of a sphere under a constant surface flux.

    ``Delta c_s D / (j R) = 3 T + 1/5 - 2 sum_n exp(-alpha_n^2 T) / alpha_n^2`` with
    ``tan(alpha_n) = alpha_n`` and ``T = D t / R^2`` (the mean rises by ``3 T``). The series
    is summed until its terms fall below 1e-19 (exact to round-off for ``T >= 1e-12``).

    Parameters
    ----------
    dimensionless_time : float or array_like
        ``T = D t / R^2`` (>= 0).

    Returns
    -------
    numpy.ndarray
        ``Delta c_s D / (j R)``, same shape as the input (0 at ``T = 0``).

    Raises
    ------
    ValueError
        If a time is negative or not finite.

    References
    ----------
    J. Crank, *The Mathematics of Diffusion*, 2nd ed. (1975), eq. 6.33 at ``r = a``.

    Examples
    --------
    >>> [round(float(v), 5) for v in crank_constant_flux_surface([0.01, 0.1, 0.3])]
    [0.12364, 0.48676, 1.09977]
    """
    t = _checks.finite_array(dimensionless_time, "dimensionless_time")
    if np.any(t < 0):
        raise ValueError("dimensionless_time must be >= 0")
    flat = t.ravel()
    out = np.zeros_like(flat)
    pos = flat > 0
    if np.any(pos):
        alpha = _flux_roots(_series_terms(float(flat[pos].min()), 1.0))
        a2 = alpha**2
        for i in np.flatnonzero(pos):
            tt = flat[i]
            m = a2 * tt < 45.0
            out[i] = 3.0 * tt + 2.0 * np.sum(-np.expm1(-a2[m] * tt) / a2[m]) + 2.0 * (0.1 - np.sum(1.0 / a2[m]))
    return out.reshape(t.shape)


def crank_dirichlet_uptake(dimensionless_time) -> np.ndarray:
    """Return the fractional uptake of a sphere after a step in surface concentration.

    ``M_t / M_inf = 1 - (6 / pi^2) sum_n exp(-n^2 pi^2 T) / n^2``, ``T = D t / R^2``.

    Parameters
    ----------
    dimensionless_time : float or array_like
        ``T = D t / R^2`` (>= 0).

    Returns
    -------
    numpy.ndarray
        Uptake in ``[0, 1]``, same shape as the input.

    Raises
    ------
    ValueError
        If a time is negative or not finite.

    References
    ----------
    J. Crank, *The Mathematics of Diffusion*, 2nd ed. (1975), eq. 6.20.

    Examples
    --------
    >>> round(float(crank_dirichlet_uptake(0.01)), 6)
    0.308514
    """
    t = _checks.finite_array(dimensionless_time, "dimensionless_time")
    if np.any(t < 0):
        raise ValueError("dimensionless_time must be >= 0")
    flat = t.ravel()
    out = np.zeros_like(flat)
    pos = flat > 0
    if np.any(pos):
        n2 = np.arange(1, _series_terms(float(flat[pos].min()), np.pi**2) + 1, dtype=float) ** 2
        for i in np.flatnonzero(pos):
            tt = flat[i]
            m = n2 * np.pi**2 * tt < 45.0
            # 1 - (6/pi^2) sum exp(-.)/n^2 = (6/pi^2) [sum (1 - exp(-.))/n^2 + sum_{n > N} 1/n^2]
            tail = np.pi**2 / 6.0 - np.sum(1.0 / n2[m])
            out[i] = 6.0 / np.pi**2 * (np.sum(-np.expm1(-n2[m] * np.pi**2 * tt) / n2[m]) + tail)
    return out.reshape(t.shape)


# ---------------------------------------------------------------------------------------------
# grid and single-particle solver
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SphereGrid:
    """Vertex-centred finite-volume grid on the dimensionless radius ``xi = r / R``.

    Attributes
    ----------
    node_xi : numpy.ndarray
        ``(n,)`` node positions, ``0 = xi_0 < ... < xi_{n-1} = 1``.
    volume : numpy.ndarray
        ``(n,)`` control volumes ``(xi_{i+1/2}^3 - xi_{i-1/2}^3) / 3`` (sum 1/3).
    conductance : numpy.ndarray
        ``(n - 1,)`` face conductances ``xi_{i+1/2}^2 / (xi_{i+1} - xi_i)``.
    """

    node_xi: np.ndarray
    volume: np.ndarray
    conductance: np.ndarray


def sphere_grid(n_shells: int = 24, grading: float = 10.0) -> SphereGrid:
    """Build the graded grid of :func:`solve_sphere` and :func:`simulate_ensemble`.

    Parameters
    ----------
    n_shells : int, optional
        Number of nodes (control volumes), >= 3.
    grading : float, optional
        Ratio of the node spacing at the centre to that at the surface (>= 1; 1 = uniform).
        The spacings form a geometric series.

    Returns
    -------
    SphereGrid

    Raises
    ------
    ValueError
        If ``n_shells < 3`` or ``grading < 1``.

    Examples
    --------
    >>> g = sphere_grid(10, 5.0)
    >>> round(float(g.volume.sum()), 12), float(g.node_xi[-1])
    (0.333333333333, 1.0)
    """
    n = _checks.check_int(n_shells, "n_shells", 3)
    grading = _checks.positive_scalar(grading, "grading")
    if grading < 1.0:
        raise ValueError(f"grading must be >= 1, got {grading!r}")
    q = grading ** (-1.0 / (n - 2))
    h = q ** np.arange(n - 1)
    h /= h.sum()
    xi = np.concatenate([[0.0], np.cumsum(h)])
    xi[-1] = 1.0
    faces = np.concatenate([[0.0], 0.5 * (xi[1:] + xi[:-1]), [1.0]])
    vol = np.diff(faces**3) / 3.0
    cond = faces[1:-1] ** 2 / np.diff(xi)
    return SphereGrid(node_xi=xi, volume=vol, conductance=cond)


@dataclass(frozen=True)
class SphereSolution:
    """Result of :func:`solve_sphere`; ``n_t`` times, ``n_r`` radii, ``n`` nodes.

    Attributes
    ----------
    time_s : numpy.ndarray
        ``(n_t,)``.
    radius_m : numpy.ndarray
        ``(n_r,)``.
    node_radius_m : numpy.ndarray
        ``(n_r, n)`` node positions.
    concentration_mol_m3 : numpy.ndarray
        ``(n_t, n_r, n)`` node concentrations.
    surface_concentration_mol_m3 : numpy.ndarray
        ``(n_t, n_r)``.
    mean_concentration_mol_m3 : numpy.ndarray
        ``(n_t, n_r)`` volume averages.
    surface_flux_mol_m2_s : numpy.ndarray
        ``(n_t, n_r)`` flux into the particle during ``(t[i-1], t[i]]`` (row 0 is 0); the
        prescribed flux (Neumann) or the one that balances the moles (Dirichlet).
    moles_mol : numpy.ndarray
        ``(n_t, n_r)`` moles in one particle.
    """

    time_s: np.ndarray
    radius_m: np.ndarray
    node_radius_m: np.ndarray
    concentration_mol_m3: np.ndarray
    surface_concentration_mol_m3: np.ndarray
    mean_concentration_mol_m3: np.ndarray
    surface_flux_mol_m2_s: np.ndarray
    moles_mol: np.ndarray


def _boundary_array(value, name: str, n_t: int, n_r: int) -> np.ndarray:
    """Broadcast a scalar, ``(n_t,)`` or ``(n_t, n_r)`` boundary value to ``(n_t, n_r)``."""
    a = _checks.finite_array(value, name)
    if a.ndim == 0:
        return np.full((n_t, n_r), float(a))
    if a.shape == (n_t,):
        return np.repeat(a[:, None], n_r, axis=1)
    if a.shape == (n_t, n_r):
        return a.copy()
    raise ValueError(f"{name} must be a number or have shape ({n_t},) or ({n_t}, {n_r}), got {a.shape}")


def _jumps(values: np.ndarray, previous0, rel_tol: float = 1e-3) -> np.ndarray:
    """Flag the steps whose boundary value differs from the previous interval's (a switch)."""
    prev = np.vstack([np.broadcast_to(previous0, values[:1].shape), values[1:-1]]) if values.ndim == 2 else None
    if values.ndim == 1:
        prev = np.concatenate([[previous0], values[1:-1]])
    cur = values[1:]
    scale = max(float(np.max(np.abs(values[1:] - previous0))), 1e-300)
    d = np.abs(cur - prev) > rel_tol * scale
    if d.ndim == 2:
        d = d.any(axis=1)
    return np.concatenate([[False], d])


def _diffusivity_function(diffusivity_m2_s):
    """``(callable or None, scalar or None)`` from a number or a callable ``D(c)``."""
    if callable(diffusivity_m2_s):
        return diffusivity_m2_s, None
    return None, _checks.positive_scalar(diffusivity_m2_s, "diffusivity_m2_s")


def _face_values(c: np.ndarray) -> np.ndarray:
    return 0.5 * (c[:, 1:] + c[:, :-1])


def _eval_d(dfun, c_face: np.ndarray) -> np.ndarray:
    d = np.asarray(dfun(c_face), dtype=float)
    if d.shape != c_face.shape:
        d = np.broadcast_to(d, c_face.shape)
    if not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise ValueError("diffusivity_m2_s(c) must return positive finite values")
    return d


def _solve_tridiagonal_batched(lower, diag, upper, rhs):
    """Solve ``n_r`` independent tridiagonal systems in one banded LAPACK call.

    The systems are stacked into one of size ``n_r * n`` whose couplings between blocks are zero.
    ``lower[:, i]`` couples node i to i - 1, ``upper[:, i]`` node i to i + 1; ``rhs`` is
    ``(n_r, n)`` or ``(n_r, n, m)``.
    """
    from scipy.linalg import solve_banded

    n_r, n = diag.shape
    ab = np.zeros((3, n_r * n))
    up = upper.copy()
    up[:, -1] = 0.0
    lo = lower.copy()
    lo[:, 0] = 0.0
    ab[0, 1:] = up.ravel()[:-1]
    ab[1] = diag.ravel()
    ab[2, :-1] = lo.ravel()[1:]
    b = rhs.reshape(n_r * n, -1)
    x = solve_banded((1, 1), ab, b, overwrite_ab=True, check_finite=False)
    return x.reshape(rhs.shape)


def solve_sphere(
    radius_m,
    time_s,
    *,
    diffusivity_m2_s: float | Callable,
    initial_concentration_mol_m3: float,
    surface_flux_mol_m2_s=None,
    surface_concentration_mol_m3=None,
    n_shells: int = 100,
    grading: float = 10.0,
) -> SphereSolution:
    """Solve Fick's law in spheres of several radii under a surface flux or concentration.

    Exactly one of ``surface_flux_mol_m2_s`` (Neumann) and ``surface_concentration_mol_m3``
    (Dirichlet) is given. Each radius is an independent particle; all are solved together.

    Parameters
    ----------
    radius_m : float or array_like
        Particle radii, ``(n_r,)``.
    time_s : array_like
        ``(n_t,)`` strictly increasing output times; the solver steps exactly on them (choose
        them fine where the surface condition switches).
    diffusivity_m2_s : float or callable
        ``D`` (m^2/s), or ``D(c)`` taking concentrations (mol/m^3, an array) and returning
        m^2/s of the same shape.
    initial_concentration_mol_m3 : float
        Uniform initial concentration.
    surface_flux_mol_m2_s : float or array_like, optional
        Flux into the particle: a number, ``(n_t,)`` or ``(n_t, n_r)``; entry ``i`` holds during
        ``(t[i-1], t[i]]`` (entry 0 unused).
    surface_concentration_mol_m3 : float or array_like, optional
        Surface concentration at ``t[i]`` for ``i >= 1``, same shapes (entry 0 unused; the
        particle starts uniform, so a value different from the initial one is a step at ``t[0]``).
    n_shells : int, optional
        Number of radial nodes.
    grading : float, optional
        Centre-to-surface node spacing ratio (see :func:`sphere_grid`).

    Returns
    -------
    SphereSolution

    Raises
    ------
    ValueError
        If neither or both surface conditions are given, or an argument is out of range.

    References
    ----------
    J. Crank, *The Mathematics of Diffusion*, 2nd ed. (1975), ch. 6 and 8.

    Examples
    --------
    Constant flux into a sphere of radius 1 with ``D = 1``: the surface rise at ``T = 0.1``
    is Crank's 0.486762.

    >>> import numpy as np
    >>> t = np.concatenate([[0.0], np.geomspace(1e-6, 0.1, 200)])
    >>> s = solve_sphere(1.0, t, diffusivity_m2_s=1.0, initial_concentration_mol_m3=0.0,
    ...                  surface_flux_mol_m2_s=1.0, n_shells=60)
    >>> round(float(s.surface_concentration_mol_m3[-1, 0]), 3)
    0.487
    """
    radius = _checks.positive_array(np.atleast_1d(radius_m), "radius_m", ndim=1)
    t = _checks.increasing_array(time_s, "time_s")
    c0 = float(_checks.finite_array(initial_concentration_mol_m3, "initial_concentration_mol_m3", ndim=0))
    if (surface_flux_mol_m2_s is None) == (surface_concentration_mol_m3 is None):
        raise ValueError("give exactly one of surface_flux_mol_m2_s and surface_concentration_mol_m3")
    dfun, dconst = _diffusivity_function(diffusivity_m2_s)
    grid = sphere_grid(n_shells, grading)
    n_t, n_r, nn = t.size, radius.size, grid.node_xi.size
    neumann = surface_flux_mol_m2_s is not None
    if neumann:
        bc = _boundary_array(surface_flux_mol_m2_s, "surface_flux_mol_m2_s", n_t, n_r)
        bc[0] = 0.0
        damp = _jumps(bc, 0.0)
    else:
        bc = _boundary_array(surface_concentration_mol_m3, "surface_concentration_mol_m3", n_t, n_r)
        bc[0] = c0
        damp = _jumps(bc, c0)
    vol = grid.volume
    cond = grid.conductance
    inv_r2 = 1.0 / radius**2
    c = np.full((n_r, nn), c0)
    conc = np.empty((n_t, n_r, nn))
    conc[0] = c
    flux_out = np.zeros((n_t, n_r))
    for n in range(1, n_t):
        nsub = 2 if damp[n] else 1
        theta = 1.0 if damp[n] else 0.5
        dt = (t[n] - t[n - 1]) / nsub
        c_start = c
        for _ in range(nsub):
            c_old = c
            c_pred = c_old
            for _pass in range(2 if dfun is not None else 1):
                if dfun is None:
                    af = np.broadcast_to((dconst * inv_r2)[:, None], (n_r, nn - 1))
                else:
                    af = _eval_d(dfun, _face_values(0.5 * (c_old + c_pred))) * inv_r2[:, None]
                g = af * cond[None, :]
                lap = np.zeros((n_r, nn))
                lap[:, :-1] += g * (c_old[:, :-1] - c_old[:, 1:])
                lap[:, 1:] += g * (c_old[:, 1:] - c_old[:, :-1])
                diag = vol[None, :] / dt + theta * (np.pad(g, ((0, 0), (1, 0))) + np.pad(g, ((0, 0), (0, 1))))
                lower = -theta * np.pad(g, ((0, 0), (1, 0)))
                upper = -theta * np.pad(g, ((0, 0), (0, 1)))
                rhs = vol[None, :] / dt * c_old - (1.0 - theta) * lap
                if neumann:
                    rhs[:, -1] += bc[n] / radius
                else:
                    diag[:, -1] = 1.0
                    lower[:, -1] = 0.0
                    rhs[:, -1] = bc[n]
                c_pred = _solve_tridiagonal_batched(lower, diag, upper, rhs)
            c = c_pred
        conc[n] = c
        if neumann:
            flux_out[n] = bc[n]
        else:
            flux_out[n] = radius * ((c - c_start) @ vol) / (t[n] - t[n - 1])
    mean = 3.0 * conc @ vol
    moles = 4.0 / 3.0 * np.pi * radius**3 * mean
    return SphereSolution(
        time_s=t,
        radius_m=radius,
        node_radius_m=radius[:, None] * grid.node_xi[None, :],
        concentration_mol_m3=conc,
        surface_concentration_mol_m3=conc[:, :, -1].copy(),
        mean_concentration_mol_m3=mean,
        surface_flux_mol_m2_s=flux_out,
        moles_mol=moles,
    )


# ---------------------------------------------------------------------------------------------
# ensembles of particle sizes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnsembleResult:
    """Result of :func:`simulate_ensemble`; ``n_t`` times, ``n_sizes`` size classes.

    Attributes
    ----------
    time_s : numpy.ndarray
        ``(n_t,)``.
    current_A : numpy.ndarray
        ``(n_t,)`` applied current (positive = discharge = lithiation).
    voltage_V : numpy.ndarray
        ``(n_t,)`` cell voltage, ``electrode_potential_V - current_A * R_s``.
    electrode_potential_V : numpy.ndarray
        ``(n_t,)`` common potential ``OCV(x_s) - eta`` (surface-weighted mean for the uniform split).
    current_density_A_m2 : numpy.ndarray
        ``(n_t, n_sizes)`` current per particle surface (positive = lithiation).
    overpotential_V : numpy.ndarray
        ``(n_t, n_sizes)`` Butler-Volmer overpotentials.
    surface_stoichiometry : numpy.ndarray
        ``(n_t, n_sizes)``.
    mean_stoichiometry : numpy.ndarray
        ``(n_t, n_sizes)``.
    surface_area_m2 : numpy.ndarray
        ``(n_sizes,)`` total particle surface of each size class, ``3 phi_k V / R_k``.
    """

    time_s: np.ndarray
    current_A: np.ndarray
    voltage_V: np.ndarray
    electrode_potential_V: np.ndarray
    current_density_A_m2: np.ndarray
    overpotential_V: np.ndarray
    surface_stoichiometry: np.ndarray
    mean_stoichiometry: np.ndarray
    surface_area_m2: np.ndarray


def check_size_distribution(radius_m, volume_fraction) -> tuple[np.ndarray, np.ndarray]:
    """Check a discrete size distribution: radii and volume fractions summing to 1.

    Parameters
    ----------
    radius_m : float or array_like
        ``(n_sizes,)`` radii.
    volume_fraction : float or array_like
        ``(n_sizes,)`` fractions of the active-material volume, each in ``[0, 1]``, sum 1
        (within 1e-6).

    Returns
    -------
    tuple of numpy.ndarray
        ``(radius_m, volume_fraction)`` as 1-D float64 arrays (fractions rescaled to sum 1
        exactly).

    Raises
    ------
    ValueError
        If the shapes differ, a radius is not positive, a fraction is outside ``[0, 1]``, or the
        fractions do not sum to 1.
    """
    r = _checks.positive_array(np.atleast_1d(radius_m), "radius_m", ndim=1)
    phi = _checks.positive_array(np.atleast_1d(volume_fraction), "volume_fraction", ndim=1, allow_zero=True)
    if phi.shape != r.shape:
        raise ValueError(f"volume_fraction must have the shape of radius_m {r.shape}, got {phi.shape}")
    if np.any(phi > 1):
        raise ValueError(f"volume_fraction must be in [0, 1], got {float(phi.max())!r}")
    s = float(phi.sum())
    if abs(s - 1.0) > 1e-6:
        raise ValueError(f"volume_fraction must sum to 1, got {s!r}")
    return r, phi / s


def sauter_radius_m(radius_m, volume_fraction) -> float:
    """Return the Sauter radius ``R32 = 3 V / S`` of a size distribution.

    Parameters
    ----------
    radius_m, volume_fraction : array_like
        As :func:`check_size_distribution`.

    Returns
    -------
    float
        ``1 / sum(phi_k / R_k)`` (m): half the Sauter diameter ``d32``.

    Examples
    --------
    >>> round(sauter_radius_m([1e-6, 2e-6], [0.5, 0.5]) * 1e6, 6)
    1.333333
    """
    r, phi = check_size_distribution(radius_m, volume_fraction)
    return float(1.0 / np.sum(phi / r))


@dataclass(frozen=True)
class _EnsembleSetup:
    """Everything of an ensemble run that does not change between fit evaluations."""

    vol: np.ndarray
    cond: np.ndarray
    radius: np.ndarray
    area: np.ndarray
    time: np.ndarray
    current: np.ndarray
    damp: np.ndarray
    c_max: float
    x_init: float
    i0: float
    rt_f: float
    uniform: bool
    u_x0: float
    u_dx: float
    u_val: np.ndarray
    u_der: np.ndarray
    out_index: np.ndarray
    step_owner: np.ndarray


def _ocv_table(ocv_V, n_points: int = 2001) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Tabulate ``ocv_V`` on ``[0, 1]`` with PCHIP slopes (cubic Hermite, linear outside)."""
    from scipy.interpolate import PchipInterpolator

    if not callable(ocv_V):
        raise TypeError(f"ocv_V must be a callable x -> V, got {ocv_V!r}")
    x = np.linspace(0.0, 1.0, n_points)
    u = np.asarray(ocv_V(x), dtype=float)
    if u.shape != x.shape or not np.all(np.isfinite(u)):
        raise ValueError("ocv_V must return finite voltages of the shape of x on [0, 1]")
    der = PchipInterpolator(x, u).derivative()(x)
    return 0.0, 1.0 / (n_points - 1), np.ascontiguousarray(u), np.ascontiguousarray(der)


def _current_jumps(current: np.ndarray, rel_tol: float = 1e-3) -> np.ndarray:
    """Intervals in which the applied current switches (the first one if it is not zero)."""
    scale = max(float(np.max(np.abs(current[1:]))) if current.size > 1 else 0.0, 1e-300)
    prev = np.concatenate([[0.0], current[1:-1]])
    return np.concatenate([[False], np.abs(current[1:] - prev) > rel_tol * scale])


def _refine_switches(time: np.ndarray, current: np.ndarray, n_sub: int, first_fraction: float = 1e-3):
    """Insert ``n_sub`` geometric sub-steps into every interval in which the current switches.

    Returns ``(t_sim, i_sim, damp, out_index)``: the refined times and interval currents, the
    damped (switch) steps, and where the original times sit in ``t_sim``.
    """
    jumps = _current_jumps(current)
    if n_sub == 0 or not np.any(jumps):
        return time, current, jumps, np.arange(time.size)
    n_idx = np.flatnonzero(jumps)
    frac = np.geomspace(first_fraction, 1.0, n_sub + 1)[:-1]
    extra = (time[n_idx - 1][:, None] + frac[None, :] * (time[n_idx] - time[n_idx - 1])[:, None]).ravel()
    t_sim = np.union1d(time, extra)
    out_index = np.searchsorted(t_sim, time)
    owner = np.clip(np.searchsorted(time, t_sim, side="left"), 0, time.size - 1)
    i_sim = current[owner]
    damp = np.zeros(t_sim.size, bool)
    damp[np.searchsorted(t_sim, time[n_idx - 1]) + 1] = True  # only the first sub-step of a switch
    return t_sim, i_sim, damp, out_index


def _setup_ensemble(
    radius_m,
    volume_fraction,
    time_s,
    current_A,
    *,
    ocv_V,
    exchange_current_density_A_m2,
    temperature_K,
    active_volume_m3,
    max_concentration_mol_m3,
    initial_stoichiometry,
    split,
    n_shells,
    grading,
    switch_substeps=8,
) -> _EnsembleSetup:
    r, phi = check_size_distribution(radius_m, volume_fraction)
    t = _checks.increasing_array(time_s, "time_s")
    cur = _checks.finite_array(current_A, "current_A", ndim=1)
    if cur.shape != t.shape:
        raise ValueError(f"current_A must have the shape of time_s {t.shape}, got {cur.shape}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    i0 = _checks.positive_scalar(exchange_current_density_A_m2, "exchange_current_density_A_m2")
    temp = _checks.positive_scalar(temperature_K, "temperature_K")
    v_act = _checks.positive_scalar(active_volume_m3, "active_volume_m3")
    c_max = _checks.positive_scalar(max_concentration_mol_m3, "max_concentration_mol_m3")
    x0 = _checks.fraction(initial_stoichiometry, "initial_stoichiometry")
    grid = sphere_grid(n_shells, grading)
    u_x0, u_dx, u_val, u_der = _ocv_table(ocv_V)
    keep = phi > 0
    n_sub = _checks.check_int(switch_substeps, "switch_substeps", 0)
    t_sim, i_sim, damp, out_index = _refine_switches(t, cur, n_sub)
    return _EnsembleSetup(
        vol=grid.volume,
        cond=grid.conductance,
        radius=np.ascontiguousarray(r[keep]),
        area=np.ascontiguousarray(3.0 * phi[keep] * v_act / r[keep]),
        time=np.ascontiguousarray(t_sim),
        current=np.ascontiguousarray(i_sim),
        damp=np.ascontiguousarray(damp),
        c_max=c_max,
        x_init=x0,
        i0=i0,
        rt_f=GAS_CONSTANT_J_MOL_K * temp / FARADAY_C_MOL,
        uniform=split == "uniform",
        u_x0=u_x0,
        u_dx=u_dx,
        u_val=u_val,
        u_der=u_der,
        out_index=out_index,
        step_owner=np.clip(np.searchsorted(t, t_sim, side="left"), 0, t.size - 1),
    ), keep


def _run_ensemble(s: _EnsembleSetup, d_steps=None, log10_d_table=None):
    """Run the kernel; ``d_steps`` per output interval, or a log10 D table on ``[0, 1]``.

    Returns ``[potential, j, eta, x_s, x_mean]`` at the output times (``s.out_index``).
    """
    from batteryct._diffusion_kernels import ensemble_kernel

    n_t, n_s = s.time.size, s.radius.size
    out = [np.empty(n_t)] + [np.empty((n_t, n_s)) for _ in range(4)]
    use_table = log10_d_table is not None
    table = np.ascontiguousarray(log10_d_table, dtype=float) if use_table else np.zeros(2)
    if d_steps is None:
        steps = np.zeros(n_t)
    else:  # per output interval -> per simulation step (a sub-step belongs to the interval it ends in)
        steps = np.ascontiguousarray(np.asarray(d_steps, dtype=float)[s.step_owner])
    status = ensemble_kernel(
        s.vol, s.cond, s.radius, s.area, s.time, s.current, s.damp, steps, use_table, 0.0,
        1.0 / (table.size - 1), table, s.c_max, s.x_init, s.i0, s.rt_f, s.uniform,
        s.u_x0, s.u_dx, s.u_val, s.u_der, *out,
    )  # fmt: skip
    if status != 0:
        raise RuntimeError(f"ensemble coupling did not converge in the step ending at {s.time[status]!r} s")
    return [a[s.out_index] for a in out]


# ---------------------------------------------------------------------------------------------
# modal (eigenfunction) solver of the ensemble
# ---------------------------------------------------------------------------------------------

_MODE_TABLE_SIZE = 16384


@functools.lru_cache(maxsize=1)
def _mode_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``alpha_n^2`` of the sphere's Neumann modes and the tail sums of ``alpha^-2`` and ``alpha^-4``.

    ``tail1[n] = sum_{m >= n} alpha_m^-2 = 1/10 - sum_{m < n}`` and ``tail2[n] = 1/350 - ...``
    (the complete sums of the constant-flux sphere: ``sum 2 / alpha^2 = 1/5``).
    """
    a2 = sphere_flux_roots(_MODE_TABLE_SIZE) ** 2
    tail1 = np.clip(0.1 - np.concatenate([[0.0], np.cumsum(1.0 / a2)]), 0.0, None)
    tail2 = np.clip(1.0 / 350.0 - np.concatenate([[0.0], np.cumsum(1.0 / a2**2)]), 0.0, None)
    return a2, tail1, tail2


@dataclass(frozen=True)
class _ModalSetup:
    """What a modal ensemble run needs besides D and the OCV (fixed between fit evaluations)."""

    radius: np.ndarray
    area: np.ndarray
    time: np.ndarray
    current: np.ndarray
    c_max: float
    x_init: float
    i0: float
    rt_f: float
    uniform: bool


def _modal_setup(
    radius_m,
    volume_fraction,
    time_s,
    current_A,
    *,
    exchange_current_density_A_m2,
    temperature_K,
    active_volume_m3,
    max_concentration_mol_m3,
    initial_stoichiometry,
    split="potential",
) -> tuple[_ModalSetup, np.ndarray]:
    """Check the arguments of a modal run; returns the setup and the mask of the non-empty classes."""
    r, phi = check_size_distribution(radius_m, volume_fraction)
    t = _checks.increasing_array(time_s, "time_s")
    cur = _checks.finite_array(current_A, "current_A", ndim=1)
    if cur.shape != t.shape:
        raise ValueError(f"current_A must have the shape of time_s {t.shape}, got {cur.shape}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    i0 = _checks.positive_scalar(exchange_current_density_A_m2, "exchange_current_density_A_m2")
    temp = _checks.positive_scalar(temperature_K, "temperature_K")
    v_act = _checks.positive_scalar(active_volume_m3, "active_volume_m3")
    c_max = _checks.positive_scalar(max_concentration_mol_m3, "max_concentration_mol_m3")
    x0 = _checks.fraction(initial_stoichiometry, "initial_stoichiometry")
    keep = phi > 0
    setup = _ModalSetup(
        radius=np.ascontiguousarray(r[keep]),
        area=np.ascontiguousarray(3.0 * phi[keep] * v_act / r[keep]),
        time=np.ascontiguousarray(t),
        current=np.ascontiguousarray(cur),
        c_max=c_max,
        x_init=x0,
        i0=i0,
        rt_f=GAS_CONSTANT_J_MOL_K * temp / FARADAY_C_MOL,
        uniform=split == "uniform",
    )
    return setup, keep


def _ocv_knots_from_callable(ocv_V) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """``(x, U, dU/dx, uniform)`` knots of :func:`_ocv_table` for the modal kernel."""
    x0, dx, val, der = _ocv_table(ocv_V)
    xk = x0 + dx * np.arange(val.size)
    return xk, val, der, True


def _run_modes(s: _ModalSetup, d_steps, knots, *, d_group=None, n_dpar: int = 0, slope_sens=None):
    """Run :func:`batteryct._diffusion_kernels.modal_ensemble_kernel`.

    ``d_steps`` (n_t,) D per step; ``knots = (x, U, dU/dx, uniform)`` the OCV; with ``n_dpar``
    and/or ``slope_sens`` (``(n_knots, n_knots)``, knot values as parameters) the sensitivities of
    the electrode potential are returned too. Returns ``[potential, j, eta, x_s, x_mean], dV``
    (``dV`` of shape ``(n_t, n_dpar + n_knots)``, or ``(n_t, 0)``).
    """
    from batteryct._diffusion_kernels import EQUILIBRATED_EXPONENT, modal_ensemble_kernel

    a2, tail1, tail2 = _mode_tables()
    d = np.ascontiguousarray(d_steps, dtype=float)
    n_t, n_s = s.time.size, s.radius.size
    if n_t > 1:
        tau_min = float(np.min(d[1:] * np.diff(s.time))) / float(np.max(s.radius)) ** 2
        n_modes = int(np.clip(np.searchsorted(a2, EQUILIBRATED_EXPONENT / tau_min) + 1, 1, a2.size))
    else:
        n_modes = 1
    xk, val, der, uniform_knots = knots
    n_upar = 0 if slope_sens is None else int(slope_sens.shape[1])
    sens = np.zeros((1, 1)) if slope_sens is None else np.ascontiguousarray(slope_sens, dtype=float)
    group = np.zeros(n_t, np.int64) if d_group is None else np.ascontiguousarray(d_group, dtype=np.int64)
    out = [np.empty(n_t)] + [np.empty((n_t, n_s)) for _ in range(4)]
    dve = np.empty((n_t, n_dpar + n_upar))
    status = modal_ensemble_kernel(
        s.radius, s.area, a2[:n_modes], tail1[: n_modes + 1], tail2[: n_modes + 1], s.time, s.current, d, group,
        int(n_dpar), s.c_max, s.x_init, s.i0, s.rt_f, s.uniform, np.ascontiguousarray(xk, dtype=float),
        np.ascontiguousarray(val, dtype=float), np.ascontiguousarray(der, dtype=float), bool(uniform_knots), sens,
        n_upar, *out, dve,
    )  # fmt: skip
    if status != 0:
        raise RuntimeError(f"ensemble coupling did not converge in the step ending at {s.time[max(status, 0)]!r} s")
    return out, dve


def _diffusivity_steps(diffusivity_m2_s, n_t: int):
    """``(d_steps, log10 table)`` from a number, an ``(n_t,)`` array or a callable ``D(c)``."""
    if callable(diffusivity_m2_s):
        return None, diffusivity_m2_s
    d = _checks.positive_array(diffusivity_m2_s, "diffusivity_m2_s")
    if d.ndim == 0:
        return np.full(n_t, float(d)), None
    if d.shape != (n_t,):
        raise ValueError(f"diffusivity_m2_s must be a number, a callable or have shape ({n_t},), got {d.shape}")
    return np.ascontiguousarray(d), None


def simulate_ensemble(
    radius_m,
    volume_fraction,
    time_s,
    current_A,
    *,
    diffusivity_m2_s,
    ocv_V: Callable,
    exchange_current_density_A_m2: float,
    temperature_K: float,
    active_volume_m3: float,
    max_concentration_mol_m3: float,
    initial_stoichiometry: float,
    series_resistance_ohm: float = 0.0,
    split: str = "potential",
    n_shells: int = 24,
    grading: float = 16.0,
    switch_substeps: int = 8,
    solver: str = "finite_volume",
) -> EnsembleResult:
    """Simulate an electrode of spherical particles of several sizes under an applied current.

    Parameters
    ----------
    radius_m : array_like
        ``(n_sizes,)`` particle radii (e.g. the CT size classes).
    volume_fraction : array_like
        ``(n_sizes,)`` fraction of the active-material volume in each class (sum 1).
    time_s : array_like
        ``(n_t,)`` strictly increasing output times; one Crank-Nicolson step per interval, except
        in an interval in which the current switches: there ``switch_substeps`` geometric sub-steps
        (from 1e-3 of the interval), the first as two backward-Euler half steps. Choose the times
        geometric after switches (as :func:`batteryct.gitt.fit_time_nodes` does).
    current_A : array_like
        ``(n_t,)`` applied current; ``current_A[i]`` flows during ``(time_s[i-1], time_s[i]]``.
        Positive = discharge = lithiation.
    diffusivity_m2_s : float, array_like or callable
        Solid diffusivity: a number; ``(n_t,)`` values, one per interval (entry ``i`` during
        ``(time_s[i-1], time_s[i]]``); or ``D(c)`` of the concentration (mol/m^3, array in,
        array out; tabulated on ``x`` in ``[0, 1]``, log-linear, evaluated at the faces).
    ocv_V : callable
        Open-circuit voltage ``U(x)`` of the stoichiometry (array in, array out); tabulated on
        ``[0, 1]`` (2001 points, PCHIP) and continued linearly outside.
    exchange_current_density_A_m2 : float
        Butler-Volmer exchange current density (symmetric, ``alpha = 1/2``).
    temperature_K : float
        Temperature of the Butler-Volmer term (``D`` is given at this temperature).
    active_volume_m3 : float
        Total volume of active material.
    max_concentration_mol_m3 : float
        ``c_max`` (``x = c / c_max``).
    initial_stoichiometry : float
        Uniform initial ``x`` of every particle (in ``[0, 1]``).
    series_resistance_ohm : float, optional
        Ohmic resistance; the voltage is ``potential - I R_s``.
    split : {"potential", "uniform"}, optional
        Common electrode potential (the particle currents follow from it) or the same current
        density on every particle.
    n_shells : int, optional
        Radial nodes per particle.
    grading : float, optional
        Centre-to-surface node spacing ratio.
    switch_substeps : int, optional
        Sub-steps of an interval in which the current switches (0 = none).
    solver : {"finite_volume", "modes"}, optional
        ``"finite_volume"``: the graded finite volumes and Crank-Nicolson steps of the module
        docstring (``n_shells``, ``grading``, ``switch_substeps``; any D). ``"modes"``: the
        sphere's Neumann eigenfunctions (``tan alpha_n = alpha_n``), integrated exactly over each
        interval for a particle flux linear in time (it may jump where the current changes),
        every mode that matters resolved and the rest summed in closed form: no spatial or
        time-stepping error for a given flux history, the coupling second order in the steps
        (D a number or one per interval; the grid arguments are ignored). The GITT fits use it.

    Returns
    -------
    EnsembleResult

    Raises
    ------
    ValueError
        If an argument is out of range or shapes disagree.
    RuntimeError
        If the potential coupling does not converge (e.g. a non-monotonic OCV).

    Examples
    --------
    Two sizes, one lithiation pulse of 100 s and a rest: the currents add up to the applied one.

    >>> import numpy as np
    >>> t = np.concatenate([[0.0], np.geomspace(0.01, 100, 60), 100 + np.geomspace(0.01, 400, 60)])
    >>> i = np.where(t <= 100, 1e-3, 0.0)
    >>> res = simulate_ensemble([2e-6, 6e-6], [0.5, 0.5], t, i, diffusivity_m2_s=1e-14,
    ...     ocv_V=lambda x: 4.2 - 0.8 * x, exchange_current_density_A_m2=1.0, temperature_K=298.15,
    ...     active_volume_m3=1e-9, max_concentration_mol_m3=5e4, initial_stoichiometry=0.5)
    >>> total = res.current_density_A_m2 @ res.surface_area_m2
    >>> bool(np.allclose(total, i, rtol=1e-10, atol=1e-13))
    True
    """
    if solver not in ("finite_volume", "modes"):
        raise ValueError(f"solver must be 'finite_volume' or 'modes', got {solver!r}")
    modes = solver == "modes"
    setup, keep = _setup_ensemble(
        radius_m,
        volume_fraction,
        time_s,
        current_A,
        ocv_V=ocv_V,
        exchange_current_density_A_m2=exchange_current_density_A_m2,
        temperature_K=temperature_K,
        active_volume_m3=active_volume_m3,
        max_concentration_mol_m3=max_concentration_mol_m3,
        initial_stoichiometry=initial_stoichiometry,
        split=split,
        n_shells=n_shells,
        grading=grading,
        switch_substeps=0 if modes else switch_substeps,
    )
    r_s = _checks.positive_scalar(series_resistance_ohm, "series_resistance_ohm", allow_zero=True)
    d_steps, dfun = _diffusivity_steps(diffusivity_m2_s, setup.out_index.size)
    table = None
    if modes and dfun is not None:
        raise ValueError("solver='modes' needs a diffusivity that does not depend on the concentration")
    if dfun is not None:
        xt = np.linspace(0.0, 1.0, 401)
        dv = np.asarray(dfun(xt * setup.c_max), dtype=float)
        if dv.shape != xt.shape or not np.all(np.isfinite(dv)) or np.any(dv <= 0):
            raise ValueError("diffusivity_m2_s(c) must return positive finite values on [0, c_max]")
        table = np.log10(dv)
    if modes:
        ms, _ = _modal_setup(
            radius_m, volume_fraction, time_s, current_A, exchange_current_density_A_m2=exchange_current_density_A_m2,
            temperature_K=temperature_K, active_volume_m3=active_volume_m3,
            max_concentration_mol_m3=max_concentration_mol_m3, initial_stoichiometry=initial_stoichiometry, split=split,
        )  # fmt: skip
        xk = setup.u_x0 + setup.u_dx * np.arange(setup.u_val.size)
        (ve, j, eta, xs, xm), _ = _run_modes(ms, d_steps, (xk, setup.u_val, setup.u_der, True))
    else:
        ve, j, eta, xs, xm = _run_ensemble(setup, d_steps, table)
    n_all = keep.size
    full = []
    for a in (j * FARADAY_C_MOL, eta, xs, xm):
        b = np.full((a.shape[0], n_all), np.nan)
        b[:, keep] = a
        full.append(b)
    area = np.zeros(n_all)
    area[keep] = setup.area
    t_out = setup.time[setup.out_index]
    i_out = setup.current[setup.out_index]
    return EnsembleResult(
        time_s=t_out,
        current_A=i_out,
        voltage_V=ve - i_out * r_s,
        electrode_potential_V=ve,
        current_density_A_m2=np.where(np.isnan(full[0]), 0.0, full[0]),
        overpotential_V=full[1],
        surface_stoichiometry=full[2],
        mean_stoichiometry=full[3],
        surface_area_m2=area,
    )
