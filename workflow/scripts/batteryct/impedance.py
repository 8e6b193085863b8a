"""Impedance spectra of intercalation electrodes: elements, Kramers-Kronig test, DRT, diffusion times.

The chain this module provides is *impedance -> distribution of relaxation times (DRT) ->
distribution of solid-diffusion times -> particle-size distribution*, for comparison with
the size distribution that CT measured on the same powder.

Conventions
-----------
* ``Z = Z' + j Z''`` (``j**2 = -1``), angular frequency ``omega = 2 pi f`` with ``f`` in Hz.
  Capacitive behaviour has ``Z'' < 0``. Tables and files store ``z_imag_ohm`` **as
  measured**, i.e. negative for capacitive behaviour (never ``-Z''``); columns are
  ``frequency_Hz, z_real_ohm, z_imag_ohm`` (:func:`spectrum_from_table`).
* A relaxation time ``tau`` belongs to the frequency ``f = 1 / (2 pi tau)`` (the apex of
  an RC arc); the DRT is reported on a log-spaced ``tau_s`` grid.
* Everything is in SI units (ohm, F, H, s, m, m^2/s); diameters of size distributions are
  in micrometres (``*_um``) like the CT particle tables.

Elements
--------
* RC: ``Z = R / (1 + j omega tau)``; ZARC (Cole-Cole): ``Z = R / (1 + (j omega tau)**alpha)``.
* Finite spherical diffusion into one particle of radius ``R`` with a flux boundary
  condition at the surface and zero flux at the centre (Jacobsen and West 1995)::

      Z_D = R_D tanh(s) / (s - tanh(s)),   s = sqrt(j omega tau_D),   tau_D = R**2 / D

  with ``R_D = |dU/dc| R / (F D 4 pi R**2) = |dU/dc| / (4 pi F D R)`` for a particle.
  Low frequencies: ``Z_D -> 3 R_D / (j omega tau_D) + R_D / 5`` (a capacitor
  ``C = tau_D / (3 R_D) = F V / |dU/dc|``, proportional to the particle volume ``V``, in
  series with ``R_D / 5``). Partial fractions (poles of ``tanh(s) / (s - tanh s)``)::

      Z_D = 3 R_D / (j omega tau_D) + sum_n (2 R_D / alpha_n**2) / (1 + j omega tau_D / alpha_n**2)

  over the positive roots of ``tan(alpha) = alpha`` (``alpha_1**2 = 20.19``; the
  weights sum to ``R_D / 5`` because ``sum 1 / alpha_n**2 = 1 / 10``). Its DRT therefore
  has lines at ``tau_D / alpha_n**2``, the largest at ``tau_D / 20.19`` with
  ``2 / 20.19 = 49.5 %`` of ``R_D / 5``.
* Ensemble: particles in parallel share the electrode potential, so admittances add. With
  ``Z_i = (tau_i / (3 C_i)) f(j omega tau_i)``, ``f(x) = tanh(sqrt x) / (sqrt x - tanh sqrt x)``,
  the ensemble admittance is ``Y = sum_i C_i g(omega, tau_i)``, ``g = 3 / (tau f)``: linear
  in the capacitances ``C_i``, which are proportional to the particle volumes (same
  material, same ``dU/dc``). The fitted ``C_i / sum C`` is therefore the
  **volume-weighted** distribution over ``tau_D``; with a diffusivity ``D``,
  ``R = sqrt(tau_D D)``.

Fits
----
* :func:`kramers_kronig_test`: linear KK test of Schoenleber et al. (2014).
* :func:`fit_drt`: non-negative ridge (Tikhonov order 0) DRT with the regularisation chosen
  by generalised cross-validation (GCV).
* :func:`fit_diffusion_time_distribution`: series resistance and charge-transfer ZARC by
  variable projection, then the non-negative ridge fit of the ensemble admittance over
  ``tau_D`` (robust GCV), mapped to volume-weighted d10/d50/d90 with a diffusivity. Shape-free,
  but smoothed by the regularisation; its bootstrap interval covers the noise only.
* :func:`fit_lognormal_size_distribution`: a volume-weighted lognormal PSD (median and
  ``sigma``) with the same front end fitted directly to the spectrum by
  ``scipy.optimize.least_squares``; delta-method intervals of d10/d50/d90 (including the
  diffusivity's interval) and a chi-square test against a Kramers-Kronig-compliant fit that
  flags spectra the lognormal cannot explain. The route with an honest interval.

The non-negative ridge problems are solved by ``scipy.optimize.nnls`` on the Cholesky-reduced
system for the first lambda, then by a warm-started active-set solver on the normal
equations for the next ones (same minimiser; checked against scipy in the tests).

The model of :func:`simulate_eis_spectrum` and of the diffusion fit is
``Z = R_s + Z_ZARC + 1 / sum_i Y_D,i`` (one lumped charge-transfer arc in series with the
ensemble). It neglects that each particle has its own charge-transfer resistance (inversely
proportional to its surface) in series with its own diffusion impedance, which shifts
current towards small particles when charge transfer and diffusion overlap in frequency.

References
----------
.. [1] J. Jacobsen, J. R. West, "Diffusion impedance in planar, cylindrical and spherical
   symmetry", Electrochim. Acta 40 (1995) 255-262.
.. [2] M. Schoenleber, D. Klotz, E. Ivers-Tiffee, "A method for improving the robustness
   of linear Kramers-Kronig validity tests", Electrochim. Acta 131 (2014) 20-27.
.. [3] T. H. Wan, M. Saccoccio, C. Chen, F. Ciucci, "Influence of the discretization
   methods on the distribution of relaxation times deconvolution", Electrochim. Acta 184
   (2015) 483-499.
.. [4] G. H. Golub, M. Heath, G. Wahba, "Generalized cross-validation as a method for
   choosing a good ridge parameter", Technometrics 21 (1979) 215-223.
.. [5] M. A. Lukas, "Robust generalized cross-validation for choosing the regularization
   parameter", Inverse Problems 22 (2006) 1883-1902.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, optimize, signal, special, stats

from batteryct import _checks

__all__ = [
    "FARADAY_C_MOL",
    "rc_impedance",
    "zarc_impedance",
    "spherical_diffusion_roots",
    "spherical_diffusion_impedance",
    "spherical_diffusion_impedance_series",
    "spherical_diffusion_admittance_kernel",
    "particle_diffusion_parameters",
    "ensemble_diffusion_impedance",
    "spectrum_from_table",
    "KramersKronigResult",
    "kramers_kronig_test",
    "DRTResult",
    "fit_drt",
    "DiffusionTimeDistribution",
    "fit_diffusion_time_distribution",
    "diffusion_size_quantiles",
    "LognormalSizeFit",
    "fit_lognormal_size_distribution",
    "VirtualEIS",
    "simulate_eis_spectrum",
]

FARADAY_C_MOL = 96485.33212
"""Faraday constant in C/mol (CODATA 2018, exact)."""

_QUANTILES = (0.1, 0.5, 0.9)

# x-power-series of tanh(sqrt x) / (sqrt x - tanh sqrt x) - 3 / x: coefficients
# (-1)**k * 2 * S_(k+1), S_m = sum_n alpha_n**(-2 m) (Rayleigh sums of tan a = a):
# S_1 = 1/10, S_2 = 1/350, S_3 = 1/7875, S_4 = 37/6063750, S_5 = 2.99383e-7.
_SMALL_X_COEF = (1.0 / 5.0, -1.0 / 175.0, 2.0 / 7875.0, -37.0 / 3031875.0, 5.98766313e-7)
_SMALL_X = 1e-2


# --------------------------------------------------------------------------- helpers


def _frequency(frequency_Hz, name: str = "frequency_Hz") -> np.ndarray:
    f = _checks.positive_array(frequency_Hz, name)
    if f.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {f.shape}")
    return f


def _spectrum(frequency_Hz, z_ohm) -> tuple[np.ndarray, np.ndarray]:
    f = _frequency(frequency_Hz)
    z = np.asarray(z_ohm)
    if z.dtype.kind not in "biufc":
        raise TypeError(f"z_ohm must be numeric (complex), got {z.dtype}")
    z = z.astype(complex).reshape(-1)
    if z.shape != f.shape:
        raise ValueError(f"z_ohm must have the shape of frequency_Hz {f.shape}, got {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("z_ohm contains NaN or infinite values")
    if np.any(z == 0):
        raise ValueError("z_ohm contains zeros (relative weighting needs |Z| > 0)")
    return f, z


def _sphere_f(x) -> np.ndarray:
    """Return ``tanh(s) / (s - tanh s)`` with ``s = sqrt(x)`` (accurate for small ``|x|``)."""
    x = np.asarray(x, dtype=complex)
    out = np.empty_like(x)
    small = np.abs(x) < _SMALL_X
    xs = x[small]
    if xs.size:
        poly = np.zeros_like(xs)
        for c in _SMALL_X_COEF[::-1]:
            poly = poly * xs + c
        out[small] = 3.0 / xs + poly
    xl = x[~small]
    s = np.sqrt(xl)
    t = np.tanh(s)
    out[~small] = t / (s - t)
    return out


def _stack(z: np.ndarray) -> np.ndarray:
    return np.concatenate([z.real, z.imag], axis=0)


def _ridge_nnls(a: np.ndarray, b: np.ndarray, penalized: np.ndarray, lam: float, gram=None) -> np.ndarray:
    """Solve ``min |a x - b|^2 + lam |x[penalized]|^2`` with ``x >= 0``.

    The augmented least-squares system ``[a; sqrt(lam) P] x = [b; 0]`` is replaced by the
    square one with the same minimiser, ``L^T x = L^-1 a^T b`` with
    ``L L^T = a^T a + lam P^T P`` (Cholesky), before ``scipy.optimize.nnls``; where the
    Cholesky factorisation fails (singular normal matrix) the augmented system is used.
    """
    g, h = gram if gram is not None else (a.T @ a, a.T @ b)
    m = g + lam * np.diag(penalized.astype(float))
    try:
        low = linalg.cholesky(m, lower=True)
        rhs = linalg.solve_triangular(low, h, lower=True)
        x, _ = optimize.nnls(low.T, rhs, maxiter=50 * a.shape[1])
        return x
    except linalg.LinAlgError:
        pass
    idx = np.flatnonzero(penalized)
    if lam > 0 and idx.size:
        reg = np.zeros((idx.size, a.shape[1]))
        reg[np.arange(idx.size), idx] = np.sqrt(lam)
        a = np.vstack([a, reg])
        b = np.concatenate([b, np.zeros(idx.size)])
    x, _ = optimize.nnls(a, b, maxiter=50 * a.shape[1])
    return x


def _gcv(a, b, x, penalized, lam: float, robust: float = 1.0, g=None) -> float:
    """Return the (robust) GCV score of a non-negative ridge solution.

    ``GCV = n |r|^2 / (n - tr H)^2``; the robust variant multiplies it by
    ``robust + (1 - robust) tr(H^2) / n`` (Lukas 2006; ``robust = 1`` is plain GCV).
    On the active set (the free, strictly positive variables) the NNLS solution is the
    unconstrained ridge solution restricted to those columns, so the influence matrix is
    ``H = a_F (a_F^T a_F + lam P_F)^-1 a_F^T``.
    """
    n = b.size
    r = b - a @ x
    free = x > 0
    tr_h = tr_h2 = 0.0
    if np.any(free):
        gf = g[np.ix_(free, free)] if g is not None else a[:, free].T @ a[:, free]
        m = gf + lam * np.diag(penalized[free].astype(float))
        try:
            k = np.linalg.solve(m, gf)
        except np.linalg.LinAlgError:
            k = np.linalg.pinv(m) @ gf
        tr_h = float(np.trace(k))
        tr_h2 = float(np.sum(k * k.T))
    dof = n - tr_h
    if dof <= 0:
        return np.inf
    return float(n * (r @ r) / dof**2 * (robust + (1.0 - robust) * tr_h2 / n))


def _nnls_gram(g: np.ndarray, h: np.ndarray, x0=None, max_iter: int | None = None):
    """Minimise ``x^T g x / 2 - h^T x`` over ``x >= 0`` (``g`` positive definite), warm-started.

    The Lawson-Hanson active-set method on the normal equations (the "fast NNLS" of Bro and
    de Jong 1997), started from a feasible ``x0`` (a previous solution of a nearby problem,
    whose support is the initial passive set). Returns ``None`` when it does not converge
    in ``max_iter`` steps (the caller then uses ``scipy.optimize.nnls``).
    """
    n = h.size
    max_iter = 3 * n if max_iter is None else max_iter
    x = np.zeros(n) if x0 is None else np.maximum(np.asarray(x0, float), 0.0)
    passive = x > 0
    tol = 1e-12 * max(float(np.max(np.abs(h))), 1e-300) * n
    it = 0

    def inner(x, passive):
        nonlocal it
        while True:
            it += 1
            s = np.zeros(n)
            if passive.any():
                idx = np.flatnonzero(passive)
                s[idx] = np.linalg.solve(g[idx][:, idx], h[idx])
            bad = passive & (s <= 0)
            if not bad.any() or it > max_iter:
                return s, passive
            alpha = np.min(x[bad] / (x[bad] - s[bad]))
            x = x + alpha * (s - x)
            passive = passive & (x > tol * 1e-3)
            x[~passive] = 0.0

    if passive.any():
        x, passive = inner(x, passive)
    while it <= max_iter:
        w = h - g @ x
        w[passive] = -np.inf
        j = int(np.argmax(w))
        if w[j] <= tol:
            return x
        passive = passive.copy()
        passive[j] = True
        x, passive = inner(x, passive)
    return None


def _ridge_gcv(a, b, penalized, lambdas, robust: float = 1.0) -> tuple[np.ndarray, float, np.ndarray]:
    """Return the solution at the GCV-minimising lambda, that lambda and the GCV curve.

    The largest lambda is solved by ``scipy.optimize.nnls``, the others from the largest
    down, each warm-started from the previous solution (:func:`_nnls_gram`; scipy again if
    that fails).
    """
    g, h = a.T @ a, a.T @ b
    pdiag = penalized.astype(float)
    lambdas = np.asarray(lambdas, dtype=float)
    scores = np.full(lambdas.size, np.nan)
    sols = [None] * lambdas.size
    x_prev = None
    for i in np.argsort(lambdas)[::-1]:
        lam = float(lambdas[i])
        x = None
        if x_prev is not None:  # a cold start is faster in scipy's compiled NNLS
            try:
                x = _nnls_gram(g + lam * np.diag(pdiag), h, x_prev)
            except np.linalg.LinAlgError:
                x = None
        if x is None:
            x = _ridge_nnls(a, b, penalized, lam, gram=(g, h))
        sols[i] = x_prev = x
        if lambdas.size > 1:
            scores[i] = _gcv(a, b, x, penalized, lam, robust, g)
    best = int(np.argmin(scores)) if lambdas.size > 1 else 0
    return sols[best], float(lambdas[best]), scores


def _lambda_grid(regularization, lambda_grid) -> np.ndarray:
    if regularization is not None:
        lam = _checks.positive_scalar(regularization, "regularization", allow_zero=True)
        return np.array([lam])
    if lambda_grid is None:
        return np.logspace(-8, 0, 25)
    grid = _checks.positive_array(lambda_grid, "lambda_grid").reshape(-1)
    if grid.size == 0:
        raise ValueError("lambda_grid is empty")
    return np.sort(grid)


def _log_grid(lo: float, hi: float, points_per_decade: int) -> np.ndarray:
    n = max(2, int(np.ceil(np.log10(hi / lo) * points_per_decade)) + 1)
    return np.logspace(np.log10(lo), np.log10(hi), n)


def _grid_quantiles(x: np.ndarray, w: np.ndarray, q) -> np.ndarray:
    """Return quantiles of weights ``w`` on a log-spaced grid ``x``.

    Each weight is spread uniformly in ``ln x`` over its grid cell (edges at the geometric
    mid-points, outer cells as wide as their neighbours), so the cumulative distribution
    is piecewise linear in ``ln x``.
    """
    lx = np.log(x)
    if lx.size == 1:
        return np.full(len(q), x[0])
    mid = 0.5 * (lx[1:] + lx[:-1])
    edges = np.concatenate([[lx[0] - (mid[0] - lx[0])], mid, [lx[-1] + (lx[-1] - mid[-1])]])
    cdf = np.concatenate([[0.0], np.cumsum(w)]) / np.sum(w)
    cdf[-1] = 1.0
    q = np.asarray(q, dtype=float)
    k = np.searchsorted(cdf, q, side="left")  # first edge with cdf >= q
    k0 = np.searchsorted(cdf, 0.0, side="right") - 1  # start of the support (for q = 0)
    k = np.clip(k, 1, cdf.size - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(cdf[k] > cdf[k - 1], (q - cdf[k - 1]) / (cdf[k] - cdf[k - 1]), 0.0)
    out = edges[k - 1] + frac * (edges[k] - edges[k - 1])
    out = np.where(q <= 0, edges[k0], out)
    return np.exp(out)


# --------------------------------------------------------------------------- elements


def rc_impedance(frequency_Hz, *, resistance_ohm, tau_s) -> np.ndarray:
    """Return the impedance of a resistor in parallel with a capacitor.

    Parameters
    ----------
    frequency_Hz : array_like
        Frequencies in Hz (positive).
    resistance_ohm : float
        Resistance ``R`` in ohm.
    tau_s : float
        Time constant ``tau = R C`` in s.

    Returns
    -------
    numpy.ndarray of complex
        ``R / (1 + j omega tau)`` in ohm.

    Examples
    --------
    >>> z = rc_impedance([1 / (2 * np.pi)], resistance_ohm=2.0, tau_s=1.0)
    >>> complex(z[0])
    (1-1j)
    """
    f = _checks.positive_array(frequency_Hz, "frequency_Hz")
    r = _checks.positive_scalar(resistance_ohm, "resistance_ohm", allow_zero=True)
    tau = _checks.positive_scalar(tau_s, "tau_s")
    return r / (1.0 + 2j * np.pi * f * tau)


def zarc_impedance(frequency_Hz, *, resistance_ohm, tau_s, alpha=1.0) -> np.ndarray:
    """Return the impedance of a ZARC (Cole-Cole) element.

    Parameters
    ----------
    frequency_Hz : array_like
        Frequencies in Hz (positive).
    resistance_ohm : float
        Arc diameter ``R`` in ohm.
    tau_s : float
        Characteristic time in s (apex of the arc at ``f = 1 / (2 pi tau)``).
    alpha : float, optional
        Dispersion exponent in ``(0, 1]``; 1 gives an RC element.

    Returns
    -------
    numpy.ndarray of complex
        ``R / (1 + (j omega tau)**alpha)`` in ohm.

    References
    ----------
    .. [1] K. S. Cole, R. H. Cole, "Dispersion and absorption in dielectrics", J. Chem.
       Phys. 9 (1941) 341-351.
    """
    f = _checks.positive_array(frequency_Hz, "frequency_Hz")
    r = _checks.positive_scalar(resistance_ohm, "resistance_ohm", allow_zero=True)
    tau = _checks.positive_scalar(tau_s, "tau_s")
    a = _checks.positive_scalar(alpha, "alpha")
    if a > 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    return r / (1.0 + (2j * np.pi * f * tau) ** a)


def spherical_diffusion_roots(n_roots: int) -> np.ndarray:
    """Return the first positive roots ``alpha_n`` of ``tan(alpha) = alpha``.

    Parameters
    ----------
    n_roots : int
        Number of roots (``>= 1``).

    Returns
    -------
    numpy.ndarray
        ``alpha_1 < alpha_2 < ...`` with ``alpha_n`` in ``(n pi, (n + 1/2) pi)``.

    Examples
    --------
    >>> np.round(spherical_diffusion_roots(2) ** 2, 3)
    array([20.191, 59.68 ])
    """
    n = _checks.check_int(n_roots, "n_roots", 1)
    q = (np.arange(1, n + 1) + 0.5) * np.pi
    a = q - 1.0 / q - 2.0 / (3.0 * q**3)
    for _ in range(4):  # Newton on sin(a) - a cos(a), whose derivative is a sin(a)
        a = a - (np.sin(a) - a * np.cos(a)) / (a * np.sin(a))
    return a


def spherical_diffusion_impedance(frequency_Hz, *, diffusion_resistance_ohm, tau_D_s) -> np.ndarray:
    """Return the finite spherical diffusion impedance of one particle (closed form).

    Parameters
    ----------
    frequency_Hz : array_like
        Frequencies in Hz (positive).
    diffusion_resistance_ohm : float
        ``R_D`` in ohm (see :func:`particle_diffusion_parameters`).
    tau_D_s : float
        Diffusion time ``R**2 / D`` in s.

    Returns
    -------
    numpy.ndarray of complex
        ``R_D tanh(s) / (s - tanh s)``, ``s = sqrt(j omega tau_D)``, in ohm; a power series
        replaces the closed form where ``|omega tau_D| < 0.01`` (cancellation in
        ``s - tanh s``).

    References
    ----------
    .. [1] J. Jacobsen, J. R. West, Electrochim. Acta 40 (1995) 255-262.

    Examples
    --------
    Low-frequency limit ``3 R_D / (j omega tau_D) + R_D / 5``:

    >>> f = 1e-6 / (2 * np.pi)
    >>> z = spherical_diffusion_impedance([f], diffusion_resistance_ohm=1.0, tau_D_s=1.0)[0]
    >>> round(float(z.real), 6), round(float(z.imag) / -3e6, 6)
    (0.2, 1.0)
    """
    f = _checks.positive_array(frequency_Hz, "frequency_Hz")
    rd = _checks.positive_scalar(diffusion_resistance_ohm, "diffusion_resistance_ohm", allow_zero=True)
    tau = _checks.positive_scalar(tau_D_s, "tau_D_s")
    return rd * _sphere_f(2j * np.pi * f * tau)


def spherical_diffusion_impedance_series(
    frequency_Hz, *, diffusion_resistance_ohm, tau_D_s, n_terms: int = 1000, tail: bool = True
) -> np.ndarray:
    """Return the spherical diffusion impedance from its partial-fraction (pole) expansion.

    Parameters
    ----------
    frequency_Hz : array_like
        Frequencies in Hz (positive).
    diffusion_resistance_ohm : float
        ``R_D`` in ohm.
    tau_D_s : float
        Diffusion time in s.
    n_terms : int, optional
        Number of poles summed explicitly.
    tail : bool, optional
        Add the remainder ``sum_(n > n_terms)`` in closed form: with ``q_n = (n + 1/2) pi``,
        ``alpha_n**2 = q_n**2 - 2 + O(q_n**-2)`` and
        ``sum_(n >= 0) 1 / (q_n**2 + y) = tanh(sqrt y) / (2 sqrt y)``, so the remainder is
        the same sum with ``q_n**2 - 2`` in place of ``alpha_n**2`` (error ``O(n_terms**-5)``).
        Without it the truncation error is about ``2 R_D / (pi**2 n_terms)``.

    Returns
    -------
    numpy.ndarray of complex
        ``3 R_D / (j omega tau_D) + sum_n (2 R_D / alpha_n**2) / (1 + j omega tau_D / alpha_n**2)``.

    Examples
    --------
    >>> f = np.logspace(-3, 3, 4)
    >>> a = spherical_diffusion_impedance_series(f, diffusion_resistance_ohm=1.0, tau_D_s=1.0)
    >>> b = spherical_diffusion_impedance(f, diffusion_resistance_ohm=1.0, tau_D_s=1.0)
    >>> bool(np.max(np.abs(a - b) / np.abs(b)) < 1e-10)
    True
    """
    f = _checks.positive_array(frequency_Hz, "frequency_Hz")
    rd = _checks.positive_scalar(diffusion_resistance_ohm, "diffusion_resistance_ohm", allow_zero=True)
    tau = _checks.positive_scalar(tau_D_s, "tau_D_s")
    n = _checks.check_int(n_terms, "n_terms", 1)
    x = (2j * np.pi * f * tau)[..., None]
    a2 = spherical_diffusion_roots(n) ** 2
    total = 3.0 / x[..., 0] + np.sum(2.0 / (a2 + x), axis=-1)
    if tail:
        y = x[..., 0] - 2.0
        sy = np.sqrt(y)
        q2 = ((np.arange(0, n + 1) + 0.5) * np.pi) ** 2  # q_0 .. q_n
        total = total + 2.0 * (np.tanh(sy) / (2.0 * sy) - np.sum(1.0 / (q2 + y[..., None]), axis=-1))
    return rd * total


def spherical_diffusion_admittance_kernel(frequency_Hz, tau_D_s) -> np.ndarray:
    """Return the admittance per unit capacitance of spherical particles, ``g(omega, tau_D)``.

    A particle of capacitance ``C`` and diffusion time ``tau_D`` has the admittance
    ``C g(omega, tau_D)`` with ``g = 3 / (tau_D f(j omega tau_D))`` and
    ``f(x) = tanh(sqrt x) / (sqrt x - tanh sqrt x)``; ``g -> j omega`` at low frequency and
    ``g -> 3 sqrt(j omega / tau_D)`` at high frequency.

    Parameters
    ----------
    frequency_Hz : array_like, shape (n_f,)
        Frequencies in Hz.
    tau_D_s : array_like, shape (n_tau,)
        Diffusion times in s.

    Returns
    -------
    numpy.ndarray of complex, shape (n_f, n_tau)
        ``g`` in 1/s (siemens per farad).
    """
    f = _checks.positive_array(frequency_Hz, "frequency_Hz").reshape(-1)
    tau = _checks.positive_array(tau_D_s, "tau_D_s").reshape(-1)
    x = 2j * np.pi * f[:, None] * tau[None, :]
    return 3.0 / (tau[None, :] * _sphere_f(x))


def particle_diffusion_parameters(radius_m, *, diffusivity_m2_s, dU_dc_V_m3_mol) -> dict:
    """Return the diffusion resistance, capacitance and time of spherical particles.

    Parameters
    ----------
    radius_m : array_like
        Particle radii in m.
    diffusivity_m2_s : float or array_like
        Chemical diffusivity ``D`` in m^2/s.
    dU_dc_V_m3_mol : float or array_like
        Magnitude of the slope of the open-circuit potential against the concentration in
        the solid, ``|dU/dc|`` in V m^3/mol.

    Returns
    -------
    dict
        ``diffusion_resistance_ohm = |dU/dc| / (4 pi F D R)``,
        ``capacitance_F = F (4/3) pi R**3 / |dU/dc|`` and ``tau_D_s = R**2 / D`` (arrays);
        ``diffusion_resistance_ohm = tau_D_s / (3 capacitance_F)``.

    Examples
    --------
    >>> p = particle_diffusion_parameters(5e-6, diffusivity_m2_s=1e-14, dU_dc_V_m3_mol=1e-5)
    >>> round(float(p["tau_D_s"]), 6)
    2500.0
    """
    r = _checks.positive_array(radius_m, "radius_m")
    d = _checks.positive_array(diffusivity_m2_s, "diffusivity_m2_s")
    k = _checks.positive_array(dU_dc_V_m3_mol, "dU_dc_V_m3_mol")
    return {
        "diffusion_resistance_ohm": k / (4.0 * np.pi * FARADAY_C_MOL * d * r),
        "capacitance_F": FARADAY_C_MOL * (4.0 / 3.0) * np.pi * r**3 / k,
        "tau_D_s": r**2 / d,
    }


def ensemble_diffusion_impedance(frequency_Hz, *, tau_D_s, volume_fraction, capacitance_F) -> np.ndarray:
    """Return the diffusion impedance of particles in parallel that share the potential.

    Parameters
    ----------
    frequency_Hz : array_like, shape (n_f,)
        Frequencies in Hz.
    tau_D_s : array_like, shape (n,)
        Diffusion time ``R_i**2 / D`` of each particle (or size class) in s.
    volume_fraction : array_like, shape (n,)
        Volume of each particle or class (any non-negative weights; normalised here).
    capacitance_F : float
        Total low-frequency (intercalation) capacitance ``dQ/dU`` of the ensemble in F; class
        ``i`` has ``C_i = capacitance_F * w_i`` and ``R_D,i = tau_i / (3 C_i)``.

    Returns
    -------
    numpy.ndarray of complex, shape (n_f,)
        ``1 / sum_i C_i g(omega, tau_i)`` in ohm.

    Examples
    --------
    One class reproduces the single-particle impedance:

    >>> f = np.logspace(-3, 1, 3)
    >>> a = ensemble_diffusion_impedance(f, tau_D_s=[10.0], volume_fraction=[1.0], capacitance_F=2.0)
    >>> b = spherical_diffusion_impedance(f, diffusion_resistance_ohm=10.0 / 6.0, tau_D_s=10.0)
    >>> bool(np.allclose(a, b, rtol=1e-12))
    True
    """
    tau = _checks.positive_array(tau_D_s, "tau_D_s").reshape(-1)
    w = _checks.positive_array(volume_fraction, "volume_fraction", allow_zero=True).reshape(-1)
    if w.shape != tau.shape:
        raise ValueError(f"volume_fraction must have the shape of tau_D_s {tau.shape}, got {w.shape}")
    if not np.sum(w) > 0:
        raise ValueError("volume_fraction must not be all zero")
    c = _checks.positive_scalar(capacitance_F, "capacitance_F")
    g = spherical_diffusion_admittance_kernel(frequency_Hz, tau)
    return 1.0 / (g @ (c * w / np.sum(w)))


def spectrum_from_table(table: pd.DataFrame, *, source: str = "table") -> tuple[np.ndarray, np.ndarray]:
    """Return frequencies and complex impedances from a ``frequency_Hz, z_real_ohm, z_imag_ohm`` table.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per frequency; ``z_imag_ohm`` as measured (negative for capacitive
        behaviour).
    source : str, optional
        Name of the file or table, used in error messages.

    Returns
    -------
    frequency_Hz : numpy.ndarray
        Frequencies in Hz, in table order.
    z_ohm : numpy.ndarray of complex
        ``z_real_ohm + 1j * z_imag_ohm``.

    Raises
    ------
    ValueError
        If a column is missing, or holds non-numeric, non-finite or (frequency) non-positive
        values; the message names the source and the column.
    """
    out = {}
    for col in ("frequency_Hz", "z_real_ohm", "z_imag_ohm"):
        if col not in table.columns:
            raise ValueError(f"{source}: missing column {col!r}")
        try:
            v = pd.to_numeric(table[col], errors="raise").to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{source}: column {col!r} is not numeric") from None
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{source}: column {col!r} contains NaN or infinite values")
        out[col] = v
    if np.any(out["frequency_Hz"] <= 0):
        raise ValueError(f"{source}: column 'frequency_Hz' must be positive")
    return out["frequency_Hz"], out["z_real_ohm"] + 1j * out["z_imag_ohm"]


# --------------------------------------------------------------------------- Kramers-Kronig


@dataclass(frozen=True)
class KramersKronigResult:
    """Linear Kramers-Kronig test of one spectrum (see :func:`kramers_kronig_test`).

    Attributes
    ----------
    n_elements : int
        Number of RC elements ``M`` chosen by the ``mu`` criterion.
    mu : float
        ``1 - sum|R_k < 0| / sum|R_k >= 0|`` at ``M``.
    mu_curve, rms_curve : numpy.ndarray
        ``mu`` and the rms relative residual for ``M = 1, 2, ...`` (index ``M - 1``).
    tau_s : numpy.ndarray
        Fixed time constants of the RC elements in s.
    resistance_ohm : numpy.ndarray
        Fitted RC resistances (may be negative) in ohm.
    series_resistance_ohm : float
        Fitted ohmic resistance in ohm.
    inductance_H, inverse_capacitance_per_F : float
        Fitted series inductance (H) and ``1 / C`` of a series capacitance (1/F); 0 when the
        term was not fitted.
    z_fit_ohm : numpy.ndarray of complex
        KK-compliant fit.
    residual_real, residual_imag : numpy.ndarray
        ``(Z' - Z'_fit) / |Z|`` and ``(Z'' - Z''_fit) / |Z|`` per frequency.
    max_residual : float
        Largest absolute relative residual (real or imaginary).
    threshold : float
        Flag threshold on ``max_residual``.
    valid : bool
        ``max_residual <= threshold``.
    mu_reached : bool
        False when ``mu`` never fell below the criterion up to the largest ``M`` tried.
    """

    n_elements: int
    mu: float
    mu_curve: np.ndarray
    rms_curve: np.ndarray
    tau_s: np.ndarray
    resistance_ohm: np.ndarray
    series_resistance_ohm: float
    inductance_H: float
    inverse_capacitance_per_F: float
    z_fit_ohm: np.ndarray
    residual_real: np.ndarray
    residual_imag: np.ndarray
    max_residual: float
    threshold: float
    valid: bool
    mu_reached: bool


def _kk_fit(omega, z, m, inductance, capacitance, fit):
    w = 1.0 / np.abs(z)
    if m == 1:
        tau = np.array([1.0 / omega.max()])
    else:
        tau = np.logspace(np.log10(1.0 / omega.max()), np.log10(1.0 / omega.min()), m)
    cols = [np.ones_like(omega, dtype=complex)]
    cols += [1.0 / (1.0 + 1j * omega * t) for t in tau]
    n_rc = len(cols)
    if inductance:
        cols.append(1j * omega)
    if capacitance:
        cols.append(1.0 / (1j * omega))
    a = np.stack(cols, axis=1) * w[:, None]
    b = z * w
    if fit == "complex":
        coef = _lstsq(_stack(a), _stack(b))
    elif fit == "real":
        coef = np.zeros(a.shape[1])
        coef[:n_rc] = _lstsq(a.real[:, :n_rc], b.real)
        if a.shape[1] > n_rc:  # L and C from the imaginary part left over by the RC fit
            coef[n_rc:] = _lstsq(a.imag[:, n_rc:], b.imag - a.imag[:, :n_rc] @ coef[:n_rc])
    else:  # "imag": R_0 from the weighted real residual (Boukamp 1995, eq. 7)
        coef = _lstsq(a.imag, b.imag)
        coef[0] = 0.0
        zw = a.real @ coef
        coef[0] = np.sum(w * (b.real - zw)) / np.sum(w * w)
    zfit = (a @ coef) / w
    return tau, coef, zfit


def _lstsq(a, b):
    scale = np.linalg.norm(a, axis=0)
    scale[scale == 0] = 1.0
    return np.linalg.lstsq(a / scale, b, rcond=None)[0] / scale


def kramers_kronig_test(
    frequency_Hz,
    z_ohm,
    *,
    mu_criterion: float = 0.85,
    max_elements: int | None = None,
    underfit_factor: float = 2.0,
    threshold: float = 0.01,
    inductance: bool = False,
    capacitance: bool = False,
    fit: str = "complex",
) -> KramersKronigResult:
    """Test a spectrum for Kramers-Kronig compliance with the linear KK method (lin-KK).

    ``M`` RC elements with fixed time constants, log-spaced from ``1 / omega_max`` to
    ``1 / omega_min``, plus an ohmic resistance (and optionally a series inductance and a
    series capacitance) are fitted by linear least squares with weights ``1 / |Z|`` (to the
    real and imaginary parts together, or to one of them); the resistances may be negative.
    ``M`` is chosen with the ``mu`` criterion of Schoenleber et al.:
    ``mu = 1 - sum|R_k < 0| / sum|R_k >= 0|`` drops below ``mu_criterion`` where
    over-fitting starts. Negative resistances also appear when a coarse grid *under*-fits
    a spectrum (seen on spectra with a capacitive diffusion tail), so the scan for
    ``mu < mu_criterion`` starts at the smallest ``M`` whose rms residual is within
    ``underfit_factor`` times the smallest rms residual over all ``M`` tried; on spectra
    where ``mu`` stays near 1 until over-fitting this is the original criterion.
    A spectrum is flagged (``valid = False``) when the largest relative residual exceeds
    ``threshold``; set the threshold a few times above the noise level.

    Parameters
    ----------
    frequency_Hz : array_like
        Frequencies in Hz (any order).
    z_ohm : array_like of complex
        Impedances in ohm (``Z' + j Z''``).
    mu_criterion : float, optional
        ``c`` of the ``mu`` criterion (0.85 recommended by Schoenleber et al.).
    max_elements : int, optional
        Largest ``M`` tried (default: the number of frequencies).
    underfit_factor : float, optional
        ``M`` below the first one with ``rms <= underfit_factor * min(rms)`` count as
        under-fitted and are skipped (``inf`` gives the original criterion).
    threshold : float, optional
        Largest acceptable ``max(|residual|)`` relative to ``|Z|``.
    inductance : bool, optional
        Fit a series inductance (high-frequency inductive tail).
    capacitance : bool, optional
        Fit a series capacitance (low-frequency capacitive tail of blocking or
        intercalation electrodes, which RC elements alone cannot follow).
    fit : {"complex", "real", "imag"}, optional
        Fit both parts, the real part (then ``L`` and ``C`` from the imaginary part) or the
        imaginary part (then ``R_0`` from the real part, Boukamp 1995).

    Returns
    -------
    KramersKronigResult

    Raises
    ------
    ValueError
        If the arrays are inconsistent or an option is out of range.

    References
    ----------
    .. [1] M. Schoenleber, D. Klotz, E. Ivers-Tiffee, Electrochim. Acta 131 (2014) 20-27.
    .. [2] B. A. Boukamp, "A linear Kronig-Kramers transform test for immittance data
       validation", J. Electrochem. Soc. 142 (1995) 1885-1894.

    Examples
    --------
    >>> f = np.logspace(-2, 5, 50)
    >>> z = 10.0 + zarc_impedance(f, resistance_ohm=50.0, tau_s=1e-3, alpha=0.8)
    >>> res = kramers_kronig_test(f, z)
    >>> bool(res.valid), bool(res.max_residual < 1e-3)
    (True, True)
    """
    f, z = _spectrum(frequency_Hz, z_ohm)
    c = _checks.fraction(mu_criterion, "mu_criterion")
    thr = _checks.positive_scalar(threshold, "threshold")
    kappa = _checks.positive_scalar(underfit_factor, "underfit_factor", allow_inf=True)
    if kappa < 1:
        raise ValueError(f"underfit_factor must be >= 1, got {underfit_factor!r}")
    m_max = f.size if max_elements is None else _checks.check_int(max_elements, "max_elements", 1)
    if fit not in ("complex", "real", "imag"):
        raise ValueError(f"fit must be 'complex', 'real' or 'imag', got {fit!r}")
    omega = 2.0 * np.pi * f
    mod = np.abs(z)
    fits, mus, rms = [], [], []
    for m in range(1, m_max + 1):
        tau, coef, zfit = _kk_fit(omega, z, m, inductance, capacitance, fit)
        rk = coef[1 : m + 1]
        pos = np.sum(rk[rk >= 0])
        mus.append(1.0 - np.sum(np.abs(rk[rk < 0])) / pos if pos > 0 else 0.0)
        r = (z - zfit) / mod
        rms.append(float(np.sqrt(np.mean(r.real**2 + r.imag**2))))
        fits.append((tau, coef, zfit))
    mus, rms = np.array(mus), np.array(rms)
    start = int(np.flatnonzero(rms <= kappa * rms.min())[0]) if np.isfinite(kappa) else 0
    below = np.flatnonzero(mus[start:] < c)
    reached = bool(below.size)
    i = start + int(below[0]) if reached else m_max - 1
    tau, coef, zfit = fits[i]
    m = i + 1
    res_re = (z.real - zfit.real) / mod
    res_im = (z.imag - zfit.imag) / mod
    max_res = float(max(np.max(np.abs(res_re)), np.max(np.abs(res_im))))
    k = m + 1
    ind = float(coef[k]) if inductance else 0.0
    inv_c = float(coef[k + int(inductance)]) if capacitance else 0.0
    return KramersKronigResult(
        n_elements=int(m),
        mu=float(mus[i]),
        mu_curve=mus,
        rms_curve=rms,
        tau_s=tau,
        resistance_ohm=coef[1 : m + 1].copy(),
        series_resistance_ohm=float(coef[0]),
        inductance_H=ind,
        inverse_capacitance_per_F=inv_c,
        z_fit_ohm=zfit,
        residual_real=res_re,
        residual_imag=res_im,
        max_residual=max_res,
        threshold=thr,
        valid=bool(max_res <= thr),
        mu_reached=reached,
    )


# --------------------------------------------------------------------------- DRT


@dataclass(frozen=True)
class DRTResult:
    """Distribution of relaxation times (see :func:`fit_drt`).

    Attributes
    ----------
    tau_s : numpy.ndarray
        Log-spaced grid of relaxation times in s (``tau = 1 / (2 pi f)``).
    gamma_ohm : numpy.ndarray
        Resistance carried by each grid point in ohm (``sum(gamma_ohm)`` is the total
        polarisation resistance of the RC part).
    density_ohm : numpy.ndarray
        ``gamma_ohm / d(ln tau)``: the DRT as a density per unit ``ln tau`` in ohm.
    series_resistance_ohm : float
        ``R_inf`` in ohm.
    inductance_H : float
        Series inductance in H (0 when not fitted).
    capacitance_F : float
        Series capacitance in F (``inf`` when not fitted or fitted as zero elastance).
    regularization : float
        The ``lambda`` used (chosen by GCV unless given).
    lambda_grid, gcv : numpy.ndarray
        The lambdas tried and their GCV scores (one entry when ``lambda`` was given).
    z_fit_ohm : numpy.ndarray of complex
        Fitted impedance.
    residual_real, residual_imag : numpy.ndarray
        ``(Z' - Z'_fit) / |Z|`` and ``(Z'' - Z''_fit) / |Z|``.
    peak_tau_s : numpy.ndarray
        Per peak: ``exp`` of the ``gamma``-weighted mean of ``ln tau`` over the peak.
    peak_weight_ohm : numpy.ndarray
        Per peak: the integrated weight (sum of ``gamma_ohm`` between the minima that bound
        it), in ohm. Peaks sorted by increasing ``tau``.
    """

    tau_s: np.ndarray
    gamma_ohm: np.ndarray
    density_ohm: np.ndarray
    series_resistance_ohm: float
    inductance_H: float
    capacitance_F: float
    regularization: float
    lambda_grid: np.ndarray
    gcv: np.ndarray
    z_fit_ohm: np.ndarray
    residual_real: np.ndarray
    residual_imag: np.ndarray
    peak_tau_s: np.ndarray
    peak_weight_ohm: np.ndarray


def _peaks(tau: np.ndarray, gamma: np.ndarray, prominence: float) -> tuple[np.ndarray, np.ndarray]:
    top = float(np.max(gamma)) if gamma.size else 0.0
    if top <= 0:
        return np.zeros(0), np.zeros(0)
    padded = np.concatenate([[0.0], gamma, [0.0]])
    idx, _ = signal.find_peaks(padded, prominence=prominence * top)
    idx = idx - 1
    if idx.size == 0:
        return np.zeros(0), np.zeros(0)
    bounds = [0]
    for a, b in zip(idx[:-1], idx[1:]):
        bounds.append(a + int(np.argmin(gamma[a : b + 1])))
    bounds.append(gamma.size)
    lt = np.log(tau)
    ptau, pw = [], []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        g = gamma[lo:hi]
        s = float(np.sum(g))
        pw.append(s)
        ptau.append(float(np.exp(np.sum(g * lt[lo:hi]) / s)) if s > 0 else float(tau[lo]))
    return np.array(ptau), np.array(pw)


def fit_drt(
    frequency_Hz,
    z_ohm,
    *,
    tau_s=None,
    points_per_decade: int = 10,
    extend_decades: float = 1.0,
    inductance: bool = False,
    series_capacitance: bool = False,
    weighting: str = "modulus",
    regularization: float | None = None,
    lambda_grid=None,
    gcv_robustness: float = 1.0,
    peak_prominence: float = 0.01,
) -> DRTResult:
    """Compute the distribution of relaxation times by non-negative ridge regression.

    Model (``omega = 2 pi f``)::

        Z(omega) = R_inf + j omega L + 1 / (j omega C) + sum_k gamma_k / (1 + j omega tau_k)

    on a log-spaced ``tau_k`` grid (the ``L`` and ``C`` terms only when asked for; the
    series capacitance takes the capacitive tail of diffusion into particles). All
    coefficients are non-negative. With weights ``w = 1 / |Z|`` (``weighting="modulus"``) or
    ``w = 1 / max|Z|`` (``"unit"``) the problem solved is::

        min  sum_k w_k^2 |Z_k - Z_fit,k|^2 + lambda sum_i (gamma_i / max|Z|)^2

    as NNLS on the augmented system ``[A; sqrt(lambda) I] x = [b; 0]``
    (``scipy.optimize.nnls``, reduced to the square system with the same minimiser by a
    Cholesky factorisation of its normal matrix). ``R_inf``, ``L`` and ``1/C`` are not penalised. ``lambda`` is
    chosen on ``lambda_grid`` by generalised cross-validation,
    ``GCV = n |r|^2 / (n - tr H)^2`` with ``n`` = twice the number of frequencies and the
    influence matrix ``H`` of the ridge problem restricted to the active set (the
    strictly positive coefficients).

    Parameters
    ----------
    frequency_Hz : array_like
        Frequencies in Hz.
    z_ohm : array_like of complex
        Impedances in ohm.
    tau_s : array_like, optional
        The ``tau`` grid in s (log-spaced). Default: from ``1 / (2 pi f_max)`` to
        ``1 / (2 pi f_min)`` extended by ``extend_decades`` on each side.
    points_per_decade : int, optional
        Grid density of the default grid.
    extend_decades : float, optional
        Extension of the default grid beyond the measured range, in decades.
    inductance : bool, optional
        Fit a series inductance ``L``.
    series_capacitance : bool, optional
        Fit a series capacitance ``C``.
    weighting : {"modulus", "unit"}, optional
        Relative (``1 / |Z|``) or uniform weights.
    regularization : float, optional
        Use this ``lambda`` instead of the GCV search.
    lambda_grid : array_like, optional
        Lambdas searched by GCV (default ``logspace(-8, 0, 25)``).
    gcv_robustness : float, optional
        ``gamma`` of robust GCV in ``(0, 1]``: the GCV score is multiplied by
        ``gamma + (1 - gamma) tr(H^2) / n`` (Lukas 2006), which guards against the
        under-smoothing of plain GCV where its curve is flat; 1 (default) is plain GCV.
    peak_prominence : float, optional
        Minimum prominence of a peak relative to the largest ``gamma``.

    Returns
    -------
    DRTResult

    Raises
    ------
    ValueError
        If the arrays are inconsistent or an option is out of range.

    References
    ----------
    .. [1] T. H. Wan, M. Saccoccio, C. Chen, F. Ciucci, Electrochim. Acta 184 (2015) 483-499.
    .. [2] G. H. Golub, M. Heath, G. Wahba, Technometrics 21 (1979) 215-223.

    Examples
    --------
    >>> f = np.logspace(-2, 5, 60)
    >>> z = 5.0 + rc_impedance(f, resistance_ohm=10.0, tau_s=1e-3) + rc_impedance(f, resistance_ohm=20.0, tau_s=1.0)
    >>> res = fit_drt(f, z, regularization=1e-6)
    >>> np.round(res.peak_tau_s, 3), np.round(res.peak_weight_ohm, 2)
    (array([0.001, 1.   ]), array([10., 20.]))
    """
    f, z = _spectrum(frequency_Hz, z_ohm)
    omega = 2.0 * np.pi * f
    if tau_s is None:
        ppd = _checks.check_int(points_per_decade, "points_per_decade", 1)
        ext = _checks.positive_scalar(extend_decades, "extend_decades", allow_zero=True)
        tau = _log_grid(10.0**-ext / omega.max(), 10.0**ext / omega.min(), ppd)
    else:
        tau = _checks.positive_array(tau_s, "tau_s").reshape(-1)
        if tau.size < 2 or np.any(np.diff(tau) <= 0):
            raise ValueError("tau_s must be strictly increasing with at least 2 points")
    if weighting == "modulus":
        w = 1.0 / np.abs(z)
    elif weighting == "unit":
        w = np.full(f.size, 1.0 / np.max(np.abs(z)))
    else:
        raise ValueError(f"weighting must be 'modulus' or 'unit', got {weighting!r}")
    lambdas = _lambda_grid(regularization, lambda_grid)
    prom = _checks.positive_scalar(peak_prominence, "peak_prominence")
    r_ref = float(np.max(np.abs(z)))

    cols = [np.ones(f.size, complex)]
    if inductance:
        cols.append(1j * omega)
    if series_capacitance:
        cols.append(1.0 / (1j * omega))
    n_extra = len(cols)
    a = np.concatenate([np.stack(cols, axis=1), 1.0 / (1.0 + 1j * omega[:, None] * tau[None, :])], axis=1)
    aw = _stack(a * w[:, None])
    bw = _stack(z * w)
    scale = np.ones(a.shape[1])
    scale[:n_extra] = 1.0 / np.maximum(np.linalg.norm(aw[:, :n_extra], axis=0), 1e-300)
    scale[n_extra:] = r_ref
    penalized = np.zeros(a.shape[1], bool)
    penalized[n_extra:] = True
    rob = _checks.fraction(gcv_robustness, "gcv_robustness")
    u, lam, scores = _ridge_gcv(aw * scale, bw, penalized, lambdas, rob)
    x = u * scale

    gamma = x[n_extra:]
    k = 1
    ind = float(x[k]) if inductance else 0.0
    k += int(inductance)
    cap = (1.0 / x[k] if x[k] > 0 else np.inf) if series_capacitance else np.inf
    zfit = a @ x
    mod = np.abs(z)
    dlt = np.gradient(np.log(tau))
    ptau, pw = _peaks(tau, gamma, prom)
    return DRTResult(
        tau_s=tau,
        gamma_ohm=gamma,
        density_ohm=gamma / dlt,
        series_resistance_ohm=float(x[0]),
        inductance_H=ind,
        capacitance_F=float(cap),
        regularization=lam,
        lambda_grid=lambdas,
        gcv=scores,
        z_fit_ohm=zfit,
        residual_real=(z.real - zfit.real) / mod,
        residual_imag=(z.imag - zfit.imag) / mod,
        peak_tau_s=ptau,
        peak_weight_ohm=pw,
    )


# --------------------------------------------------------------------------- diffusion times


@dataclass(frozen=True)
class DiffusionTimeDistribution:
    """Volume-weighted distribution of solid-diffusion times (see :func:`fit_diffusion_time_distribution`).

    Attributes
    ----------
    tau_D_s : numpy.ndarray
        Log-spaced grid of diffusion times ``R**2 / D`` in s.
    volume_fraction : numpy.ndarray
        Fitted volume fraction of the active material at each grid point (sums to 1).
    capacitance_F : float
        Total intercalation capacitance ``sum C_i`` in F.
    series_resistance_ohm, charge_transfer_resistance_ohm : float
        Parameters of ``R_s + ZARC`` in ohm (fitted, or as given when fixed).
    charge_transfer_tau_s, charge_transfer_alpha : float
        Time constant (s) and exponent of the ZARC.
    fitted_parameters : tuple of str
        Names of the front-end parameters that were fitted (the others were fixed).
    regularization : float
        The ``lambda`` of the final ridge fit.
    lambda_grid, gcv : numpy.ndarray
        Lambdas tried and their GCV scores in the final round.
    z_fit_ohm : numpy.ndarray of complex
        Fitted impedance.
    residual_real, residual_imag : numpy.ndarray
        ``(Z' - Z'_fit) / |Z|`` and ``(Z'' - Z''_fit) / |Z|``.
    tau_D10_s, tau_D50_s, tau_D90_s : float
        Volume-weighted quantiles of ``tau_D`` in s.
    diffusivity_m2_s : float
        Diffusivity used for the sizes (NaN if none was given).
    diameter_um : numpy.ndarray
        ``2 sqrt(tau_D D)`` of each grid point in um (NaN without a diffusivity).
    d10_um, d50_um, d90_um : float
        Volume-weighted diameter quantiles in um (``2 sqrt(D tau_Dq)``).
    d10_interval_um, d50_interval_um, d90_interval_um : tuple of float
        Bootstrap percentile intervals (noise only, widened by the diffusivity interval if
        given; see ``n_bootstrap`` of :func:`fit_diffusion_time_distribution`); NaN when
        ``n_bootstrap = 0``. They do not include the smoothing bias of the inversion and
        are too narrow; :class:`LognormalSizeFit` carries intervals that do.
    n_bootstrap : int
        Number of bootstrap refits behind the intervals.
    """

    tau_D_s: np.ndarray
    volume_fraction: np.ndarray
    capacitance_F: float
    series_resistance_ohm: float
    charge_transfer_resistance_ohm: float
    charge_transfer_tau_s: float
    charge_transfer_alpha: float
    fitted_parameters: tuple
    regularization: float
    lambda_grid: np.ndarray
    gcv: np.ndarray
    z_fit_ohm: np.ndarray
    residual_real: np.ndarray
    residual_imag: np.ndarray
    tau_D10_s: float
    tau_D50_s: float
    tau_D90_s: float
    diffusivity_m2_s: float
    diameter_um: np.ndarray
    d10_um: float
    d50_um: float
    d90_um: float
    d10_interval_um: tuple
    d50_interval_um: tuple
    d90_interval_um: tuple
    n_bootstrap: int


def diffusion_size_quantiles(tau_D_s, volume_fraction, *, diffusivity_m2_s, quantiles=_QUANTILES) -> np.ndarray:
    """Return volume-weighted diameter quantiles of a distribution of diffusion times.

    ``d = 2 R = 2 sqrt(tau_D D)``; quantiles are taken on the log-spaced grid with each
    weight spread uniformly in ``ln tau`` over its cell (so the cumulative distribution is
    piecewise linear in ``ln d``).

    Parameters
    ----------
    tau_D_s : array_like
        Strictly increasing, log-spaced diffusion times in s.
    volume_fraction : array_like
        Non-negative weights on the grid (normalised here).
    diffusivity_m2_s : float
        Chemical diffusivity in m^2/s (e.g. from GITT).
    quantiles : sequence of float, optional
        Quantile levels in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray
        Diameters in um.

    Examples
    --------
    >>> float(diffusion_size_quantiles([1.0, 4.0, 16.0], [0, 1, 0], diffusivity_m2_s=1e-12, quantiles=[0.5])[0])
    4.0
    """
    tau = _checks.increasing_array(tau_D_s, "tau_D_s", min_size=1)
    if np.any(tau <= 0):
        raise ValueError(f"tau_D_s must be positive, got {float(tau.min())!r}")
    w = _checks.positive_array(volume_fraction, "volume_fraction", allow_zero=True).reshape(-1)
    if w.shape != tau.shape or not np.sum(w) > 0:
        raise ValueError("volume_fraction must match tau_D_s and not be all zero")
    d = _checks.positive_scalar(diffusivity_m2_s, "diffusivity_m2_s")
    q = np.asarray([_checks.fraction(v, "quantiles") for v in np.atleast_1d(quantiles)])
    return 2e6 * np.sqrt(_grid_quantiles(tau, w, q) * d)


_FRONT = ("series_resistance_ohm", "charge_transfer_resistance_ohm", "charge_transfer_tau_s", "charge_transfer_alpha")


def _front_impedance(omega, p) -> np.ndarray:
    rs, rct, tct, alpha = p
    return rs + rct / (1.0 + (1j * omega * tct) ** alpha)


class _DiffusionProblem:
    """Variable projection: front-end parameters outside, non-negative capacitances inside."""

    def __init__(self, omega, z, tau, fixed, c_ref, robust):
        self.omega, self.z, self.tau, self.fixed, self.robust = omega, z, tau, fixed, robust
        self.mod = np.abs(z)
        self.free = [k for k in range(4) if fixed[k] is None]
        self.g = 3.0 / (tau[None, :] * _sphere_f(1j * omega[:, None] * tau[None, :])) * c_ref
        self.c_ref = c_ref
        self.penalized = np.ones(tau.size, bool)

    def params(self, theta) -> list:
        p = [v for v in self.fixed]
        for k, v in zip(self.free, theta):
            p[k] = float(np.exp(v)) if k == 2 else float(v)
        return p

    def system(self, p):
        zd = self.z - _front_impedance(self.omega, p)
        wgt = np.abs(zd) ** 2 / self.mod
        a = _stack(self.g * wgt[:, None])
        b = _stack(wgt / zd)
        return a, b

    def solve(self, p, lambdas):
        a, b = self.system(p)
        return _ridge_gcv(a, b, self.penalized, lambdas, self.robust)

    def model(self, p, u) -> np.ndarray:
        y = self.g @ u
        with np.errstate(divide="ignore", invalid="ignore"):
            zd = np.where(np.abs(y) > 0, 1.0 / y, 1e30)
        return _front_impedance(self.omega, p) + zd

    def residual(self, theta, lam) -> np.ndarray:
        p = self.params(theta)
        u, _, _ = self.solve(p, [lam])
        return _stack((self.z - self.model(p, u)) / self.mod)


def _front_guesses(f, z, n_max: int = 4) -> list:
    """Return starting values ``[R_s, R_ct, tau_ct, alpha]`` for the front-end fit.

    The candidates are the largest peaks of the DRT with a series capacitance (the
    charge-transfer arc is one of them, but noise and the diffusion lines add others), and
    arcs at three fixed time constants over the upper half of the frequency range, with the
    real-part rise up to their apex frequency as ``R_ct``.
    """
    drt = fit_drt(f, z, series_capacitance=True)
    rs = drt.series_resistance_ohm
    keep = drt.peak_tau_s < 1.0 / (2.0 * np.pi * np.min(f))
    tau_p, w_p = drt.peak_tau_s[keep], drt.peak_weight_ohm[keep]
    out = [[rs, float(w_p[i]), float(tau_p[i]), 0.9] for i in np.argsort(w_p)[::-1][:n_max]]
    lf = np.log(f)
    order = np.argsort(lf)
    for q in (0.6, 0.75, 0.9):
        f_apex = float(np.exp(lf.min() + q * (lf.max() - lf.min())))
        z_re = float(np.interp(np.log(f_apex), lf[order], z.real[order]))
        out.append([rs, max(2.0 * (z_re - rs), 1e-3 * abs(rs) + 1e-12), 1.0 / (2.0 * np.pi * f_apex), 0.9])
    return out


def _fit_once(prob, theta0, bounds, lambdas, n_rounds: int = 2):
    """Alternate GCV (front end fixed) and the front-end fit (lambda fixed), ending with GCV."""
    theta = np.asarray(theta0, float)
    u, lam, scores = prob.solve(prob.params(theta), lambdas)
    for _ in range(n_rounds - 1):
        if theta.size == 0:
            break
        theta = optimize.least_squares(prob.residual, theta, bounds=bounds, args=(lam,), x_scale="jac").x
        u, lam, scores = prob.solve(prob.params(theta), lambdas)
    return theta, u, lam, scores


def fit_diffusion_time_distribution(
    frequency_Hz,
    z_ohm,
    *,
    diffusivity_m2_s: float | None = None,
    diffusivity_interval_m2_s: tuple | None = None,
    tau_D_s=None,
    tau_D_range_s: tuple | None = None,
    points_per_decade: int = 10,
    series_resistance_ohm: float | None = None,
    charge_transfer_resistance_ohm: float | None = None,
    charge_transfer_tau_s: float | None = None,
    charge_transfer_alpha: float | None = None,
    regularization: float | None = None,
    lambda_grid=None,
    gcv_robustness: float = 0.1,
    n_bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
) -> DiffusionTimeDistribution:
    """Fit the volume-weighted distribution of diffusion times of a particle ensemble.

    The shape-free (non-parametric) route. Its bootstrap interval (``n_bootstrap``) reflects
    the noise only: the non-negative ridge inversion smooths the distribution, which biases
    its quantiles for a skewed PSD, and the bootstrap does not see that bias, so the interval
    is too narrow to cover the truth. For a d10/d50/d90 with an honest interval use
    :func:`fit_lognormal_size_distribution` (and its ``adequate`` flag); use this one for the
    shape of the distribution (e.g. to spot a bimodal PSD).

    Model: ``Z = R_s + R_ct / (1 + (j omega tau_ct)**alpha) + 1 / sum_i C_i g(omega, tau_i)``
    with ``g`` the spherical-diffusion admittance per unit capacitance
    (:func:`spherical_diffusion_admittance_kernel`) on a log-spaced ``tau_D`` grid and
    ``C_i >= 0`` proportional to the volume of material with diffusion time ``tau_i``.

    Variable projection: for given front-end parameters ``(R_s, R_ct, tau_ct, alpha)`` the
    diffusion admittance ``Y_D = 1 / (Z - R_s - Z_ZARC)`` is linear in the ``C_i``, which are
    found by non-negative ridge regression (NNLS on the augmented system, real and imaginary
    parts, row weights ``|Z_D|**2 / |Z|`` so that the admittance residual approximates the
    relative impedance residual ``|dZ| / |Z|``; penalty ``lambda sum (C_i / C_ref)**2``,
    ``C_ref = -1 / (omega_min Z''(omega_min))``). The front-end parameters minimise the
    relative impedance residual (``scipy.optimize.least_squares``; several starts, from
    the largest DRT peaks and from arcs at fixed time constants, on a grid of half the
    density, the best refined on the full grid). ``lambda`` is chosen by robust GCV with the
    front end fixed, then the front end is refitted at that ``lambda`` and ``lambda``
    re-chosen.

    Parameters
    ----------
    frequency_Hz : array_like
        Frequencies in Hz; the spectrum should reach the capacitive low-frequency limit of
        the slowest particles (``omega tau_D`` below about 1).
    z_ohm : array_like of complex
        Impedances in ohm.
    diffusivity_m2_s : float, optional
        Chemical diffusivity (from GITT or a configuration) for the sizes
        ``d = 2 sqrt(tau_D D)``; without it only ``tau_D`` is returned.
    diffusivity_interval_m2_s : tuple of float, optional
        ``(low, high)`` interval of the diffusivity; widens the diameter intervals
        (``d`` scales as ``sqrt(D)``).
    tau_D_s : array_like, optional
        Explicit log-spaced ``tau_D`` grid in s.
    tau_D_range_s : tuple of float, optional
        ``(low, high)`` of the default grid; default ``(1 / omega_max, 100 / omega_min)``.
    points_per_decade : int, optional
        Density of the default grid.
    series_resistance_ohm, charge_transfer_resistance_ohm : float, optional
        Fix a front-end parameter at this value (``charge_transfer_resistance_ohm=0`` removes
        the arc); ``None`` fits it.
    charge_transfer_tau_s, charge_transfer_alpha : float, optional
        Fix the arc's time constant (s) or exponent; ``None`` fits them (``alpha`` within
        ``[0.4, 1]``).
    regularization : float, optional
        Fixed ``lambda`` instead of the GCV search.
    lambda_grid : array_like, optional
        Lambdas searched by GCV (default ``logspace(-8, 0, 25)``).
    gcv_robustness : float, optional
        ``gamma`` of robust GCV (see :func:`fit_drt`). Default 0.1: for this kernel the
        plain-GCV curve (``gamma = 1``) is flat at small ``lambda`` and its minimum now and
        then lands at a far too small ``lambda`` (a spiky distribution).
    n_bootstrap : int, optional
        Residual-bootstrap refits (front end and distribution refitted each time, lambda kept)
        for the percentile intervals of d10/d50/d90; 0 skips them. These intervals cover the
        noise only: not the resolution limit of the inversion (the recovered distribution is
        a smoothed version of the true one, which shifts its quantiles for a skewed or
        ragged PSD), nor the model assumptions (Notes), nor the diffusivity unless
        ``diffusivity_interval_m2_s`` is given; :func:`fit_lognormal_size_distribution`
        gives intervals that cover the truth.
    confidence : float, optional
        Level of the intervals.
    seed : int, optional
        Seed of the bootstrap.

    Returns
    -------
    DiffusionTimeDistribution

    Raises
    ------
    ValueError
        If the arrays are inconsistent or an option is out of range.

    Notes
    -----
    The sizes rest on three assumptions: spheres, one diffusivity for all particles, and
    one ``|dU/dc|`` (so that ``C_i`` is proportional to volume). Particles with
    ``tau_D`` well above ``1 / omega_min`` are seen only through their Warburg part
    ``C / sqrt(tau_D)`` and are poorly resolved; those far below ``1 / omega_max`` only as
    capacitance.

    Examples
    --------
    >>> f = np.logspace(-4, 4, 60)
    >>> sim = simulate_eis_spectrum(f, radius_m=[5e-6], volume_fraction=[1.0], diffusivity_m2_s=1e-13,
    ...                             capacitance_F=10.0, charge_transfer_resistance_ohm=0.5)
    >>> fr, zz = spectrum_from_table(sim.spectrum)
    >>> res = fit_diffusion_time_distribution(fr, zz, diffusivity_m2_s=1e-13)
    >>> round(res.d50_um, 1), round(res.capacitance_F, 2)
    (10.0, 10.0)
    """
    f, z = _spectrum(frequency_Hz, z_ohm)
    order = np.argsort(f)
    f, z = f[order], z[order]
    omega = 2.0 * np.pi * f
    if tau_D_s is not None:
        tau = _checks.increasing_array(tau_D_s, "tau_D_s")
        if np.any(tau <= 0):
            raise ValueError("tau_D_s must be positive")
    else:
        lo, hi = tau_D_range_s if tau_D_range_s is not None else (1.0 / omega.max(), 100.0 / omega.min())
        lo = _checks.positive_scalar(lo, "tau_D_range_s[0]")
        hi = _checks.positive_scalar(hi, "tau_D_range_s[1]")
        if hi <= lo:
            raise ValueError(f"tau_D_range_s must be (low, high) with low < high, got {tau_D_range_s!r}")
        tau = _log_grid(lo, hi, _checks.check_int(points_per_decade, "points_per_decade", 1))
    dif = np.nan if diffusivity_m2_s is None else _checks.positive_scalar(diffusivity_m2_s, "diffusivity_m2_s")
    d_int = None
    if diffusivity_interval_m2_s is not None:
        d_int = [_checks.positive_scalar(v, "diffusivity_interval_m2_s") for v in diffusivity_interval_m2_s]
        if len(d_int) != 2 or d_int[0] > d_int[1]:
            raise ValueError(f"diffusivity_interval_m2_s must be (low, high), got {diffusivity_interval_m2_s!r}")
    lambdas = _lambda_grid(regularization, lambda_grid)
    rob = _checks.fraction(gcv_robustness, "gcv_robustness")
    nb = _checks.check_int(n_bootstrap, "n_bootstrap", 0)
    conf = _checks.fraction(confidence, "confidence")

    fixed = [series_resistance_ohm, charge_transfer_resistance_ohm, charge_transfer_tau_s, charge_transfer_alpha]
    for k, v in enumerate(fixed):
        if v is not None:
            fixed[k] = _checks.positive_scalar(v, _FRONT[k], allow_zero=k < 2)
    if fixed[3] is not None and fixed[3] > 1:
        raise ValueError(f"charge_transfer_alpha must be in (0, 1], got {fixed[3]!r}")
    if fixed[1] == 0.0:  # no arc: its time constant and exponent are irrelevant
        fixed[2] = 1.0 if fixed[2] is None else fixed[2]
        fixed[3] = 1.0 if fixed[3] is None else fixed[3]

    c_ref = -1.0 / (omega[0] * z[0].imag) if z[0].imag < 0 else 1.0
    prob = _DiffusionProblem(omega, z, tau, fixed, c_ref, rob)
    lo_b = [0.0, 0.0, np.log(0.01 / omega.max()), 0.4]
    hi_b = [np.inf, np.inf, np.log(10.0 / omega.min()), 1.0]
    blo = [lo_b[k] for k in prob.free]
    bhi = [hi_b[k] for k in prob.free]
    lam0 = float(lambdas[len(lambdas) // 2]) if lambdas.size > 1 else float(lambdas[0])
    best = (0.0, np.zeros(0))
    if prob.free:  # multi-start on a coarser grid (every other point), then refine on the full one
        coarse = _DiffusionProblem(omega, z, tau[::2], fixed, c_ref, rob)
        best = None
        for guess in _front_guesses(f, z):
            theta0 = []
            for k in prob.free:
                v = np.log(guess[k]) if k == 2 else guess[k]
                theta0.append(float(np.clip(v, lo_b[k] + 1e-9 * (1 + abs(lo_b[k])), hi_b[k] - 1e-9)))
            sol = optimize.least_squares(
                coarse.residual, theta0, bounds=(blo, bhi), args=(lam0,), x_scale="jac", ftol=1e-3, max_nfev=30
            )
            if best is None or sol.cost < best[0]:
                best = (float(sol.cost), sol.x)
    theta, u, lam, scores = _fit_once(prob, best[1], (blo, bhi), lambdas)
    p = prob.params(theta)
    zfit = prob.model(p, u)

    def summary(uu):
        w = uu / np.sum(uu)
        tq = _grid_quantiles(tau, w, np.array(_QUANTILES))
        return w, tq

    w, tq = summary(u)
    nan3 = (np.nan, np.nan)
    intervals = [nan3, nan3, nan3]
    if np.isfinite(dif):
        dq = 2e6 * np.sqrt(tq * dif)
        diam = 2e6 * np.sqrt(tau * dif)
    else:
        dq = np.full(3, np.nan)
        diam = np.full(tau.size, np.nan)
    if nb > 0:
        rng = np.random.default_rng(seed)
        mod = np.abs(z)
        r_re = (z.real - zfit.real) / mod
        r_im = (z.imag - zfit.imag) / mod
        boot = np.empty((nb, 3))
        for b in range(nb):
            zb = zfit + mod * (rng.choice(r_re, r_re.size) + 1j * rng.choice(r_im, r_im.size))
            pb = _DiffusionProblem(omega, zb, tau, fixed, c_ref, rob)
            _, ub, _, _ = _fit_once(pb, theta, (blo, bhi), np.array([lam]))
            boot[b] = summary(ub)[1] if np.sum(ub) > 0 else np.nan
        alpha = 0.5 * (1.0 - conf)
        t_lo = np.nanquantile(boot, alpha, axis=0)
        t_hi = np.nanquantile(boot, 1.0 - alpha, axis=0)
        if np.isfinite(dif):
            dl, dh = d_int if d_int is not None else (dif, dif)
            intervals = [(float(2e6 * np.sqrt(t_lo[i] * dl)), float(2e6 * np.sqrt(t_hi[i] * dh))) for i in range(3)]
    return DiffusionTimeDistribution(
        tau_D_s=tau,
        volume_fraction=w,
        capacitance_F=float(np.sum(u) * c_ref),
        series_resistance_ohm=float(p[0]),
        charge_transfer_resistance_ohm=float(p[1]),
        charge_transfer_tau_s=float(p[2]),
        charge_transfer_alpha=float(p[3]),
        fitted_parameters=tuple(_FRONT[k] for k in prob.free),
        regularization=lam,
        lambda_grid=lambdas,
        gcv=scores,
        z_fit_ohm=zfit,
        residual_real=(z.real - zfit.real) / np.abs(z),
        residual_imag=(z.imag - zfit.imag) / np.abs(z),
        tau_D10_s=float(tq[0]),
        tau_D50_s=float(tq[1]),
        tau_D90_s=float(tq[2]),
        diffusivity_m2_s=float(dif),
        diameter_um=diam,
        d10_um=float(dq[0]),
        d50_um=float(dq[1]),
        d90_um=float(dq[2]),
        d10_interval_um=intervals[0],
        d50_interval_um=intervals[1],
        d90_interval_um=intervals[2],
        n_bootstrap=nb,
    )


# --------------------------------------------------------------------------- parametric (lognormal) sizes

_LOGNORMAL_FREE = (*_FRONT, "capacitance_F", "tau_D50_s", "sigma_ln_d")
_Z_Q = (-1.2815515655446004, 0.0, 1.2815515655446004)  # standard-normal quantiles of 0.1, 0.5, 0.9


@dataclass(frozen=True)
class LognormalSizeFit:
    """Lognormal size distribution fitted to an impedance spectrum (see :func:`fit_lognormal_size_distribution`).

    The volume-weighted distribution of ``ln d`` (``d`` the diameter, equivalently of
    ``ln R``) is normal with median ``d50`` and standard deviation ``sigma_ln_d``; the
    diffusion times ``tau_D = R**2 / D`` are then lognormal with median ``tau_D50_s`` and
    standard deviation ``2 sigma_ln_d`` of ``ln tau_D``.

    Attributes
    ----------
    tau_D50_s : float
        Volume-weighted median diffusion time in s.
    tau_D50_interval_s : tuple of float
        Its interval (spectrum noise only; independent of ``D``).
    sigma_ln_d : float
        Standard deviation of ``ln d`` (dimensionless; the same for the number-weighted
        distribution, Hatch-Choate).
    sigma_ln_d_interval : tuple of float
        Its interval.
    capacitance_F : float
        Total intercalation capacitance in F.
    series_resistance_ohm, charge_transfer_resistance_ohm : float
        ``R_s`` and ``R_ct`` in ohm (fitted, or as given when fixed).
    charge_transfer_tau_s, charge_transfer_alpha : float
        Time constant (s) and exponent of the charge-transfer ZARC.
    parameter_names : tuple of str
        Names of the fitted parameters, in the order of ``parameters`` and ``covariance``;
        ``charge_transfer_tau_s``, ``capacitance_F`` and ``tau_D50_s`` enter as natural
        logarithms.
    parameters : numpy.ndarray
        Fitted parameter vector (with those logarithms).
    covariance : numpy.ndarray
        ``s**2 (J^T J)^-1`` of ``parameters`` (``s**2`` the residual variance); rows and
        columns of parameters that ended on a bound are NaN.
    at_bound : tuple of str
        Fitted parameters that ended on a bound (held fixed for the covariance).
    diffusivity_m2_s : float
        Diffusivity used for the diameters (NaN if none was given).
    diffusivity_interval_m2_s : tuple of float
        The diffusivity interval used (``(D, D)`` if none was given, NaN without ``D``).
    d10_um, d50_um, d90_um : float
        Volume-weighted diameter quantiles ``d50 exp(z_q sigma_ln_d)`` in um (NaN without ``D``).
    d10_interval_um, d50_interval_um, d90_interval_um : tuple of float
        Their intervals (delta method; spectrum noise and the diffusivity interval).
    number_median_um : float
        Median of the number-weighted distribution, ``d50 exp(-3 sigma_ln_d**2)`` in um.
    confidence : float
        Level of the intervals.
    z_fit_ohm : numpy.ndarray of complex
        Fitted impedance.
    residual_real, residual_imag : numpy.ndarray
        ``(Z' - Z'_fit) / |Z|`` and ``(Z'' - Z''_fit) / |Z|``.
    chi2_reduced : float
        ``sum(residual**2) / (2 n_f - n_parameters)`` (relative units).
    reference_chi2_reduced : float
        The noise variance it is compared with: ``noise_rel**2`` if given, else the reduced
        chi-square of a flexible Kramers-Kronig-compliant linear fit of the same spectrum
        (see :func:`fit_lognormal_size_distribution`).
    chi2_ratio : float
        ``chi2_reduced / reference_chi2_reduced`` (about 1 for an adequate model).
    chi2_p_value : float
        Probability of a ratio at least this large for an adequate model and Gaussian
        noise: F distribution with the two residual degrees of freedom (chi-square when
        ``noise_rel`` was given). Conservative, since the two fits share the noise (which
        makes the ratio less variable than F).
    significance : float
        Level below which ``chi2_p_value`` flags a misfit.
    adequate : bool
        ``chi2_p_value >= significance``; False means the lognormal model does not explain
        the spectrum to its noise level (e.g. a bimodal PSD) and its intervals are not to
        be trusted. True does not prove a lognormal PSD: a mixture whose modes are close
        gives a spectrum a lognormal fits to the noise.
    """

    tau_D50_s: float
    tau_D50_interval_s: tuple
    sigma_ln_d: float
    sigma_ln_d_interval: tuple
    capacitance_F: float
    series_resistance_ohm: float
    charge_transfer_resistance_ohm: float
    charge_transfer_tau_s: float
    charge_transfer_alpha: float
    parameter_names: tuple
    parameters: np.ndarray
    covariance: np.ndarray
    at_bound: tuple
    diffusivity_m2_s: float
    diffusivity_interval_m2_s: tuple
    d10_um: float
    d50_um: float
    d90_um: float
    d10_interval_um: tuple
    d50_interval_um: tuple
    d90_interval_um: tuple
    number_median_um: float
    confidence: float
    z_fit_ohm: np.ndarray
    residual_real: np.ndarray
    residual_imag: np.ndarray
    chi2_reduced: float
    reference_chi2_reduced: float
    chi2_ratio: float
    chi2_p_value: float
    significance: float
    adequate: bool


class _LognormalProblem:
    """Residuals of ``R_s + ZARC + 1 / (C sum_k p_k g(omega, tau_k))`` with lognormal ``p_k``.

    The kernel ``g`` is tabulated once on a fine log-spaced ``tau`` grid (``grid_per_decade``
    points per decade, ``grid_extension_decades`` beyond ``[1 / omega_max, 1 / omega_min]``);
    the lognormal enters through trapezoid weights ``p_k`` (the pdf of ``ln tau`` times the
    grid step; spectrally accurate while the step is at most one standard deviation
    ``2 sigma`` of ``ln tau``), with the probability mass beyond the grid lumped into its
    end points.
    """

    def __init__(self, omega, z, fixed, grid_per_decade, grid_extension_decades):
        self.omega, self.z, self.fixed = omega, z, fixed
        self.mod = np.abs(z)
        self.free = [k for k in range(7) if fixed[k] is None]
        lo = np.log10(1.0 / omega.max()) - grid_extension_decades
        hi = np.log10(1.0 / omega.min()) + grid_extension_decades
        n = int(np.ceil((hi - lo) * grid_per_decade)) + 1
        self.ln_tau = np.linspace(lo, hi, n) * np.log(10.0)
        self.h = float(self.ln_tau[1] - self.ln_tau[0])
        tau = np.exp(self.ln_tau)
        g = 3.0 / (tau[None, :] * _sphere_f(1j * omega[:, None] * tau[None, :]))
        self.g_stacked = np.ascontiguousarray(_stack(g))  # real matrix: a real matvec is much faster

    def params(self, theta) -> list:
        p = list(self.fixed)
        for k, v in zip(self.free, theta):
            p[k] = float(v)
        return p

    def weights(self, ln_tau50, sigma_ln_d) -> tuple[int, np.ndarray]:
        """Return the first grid index and the weights ``p_k`` from there (9 standard deviations each side)."""
        s = 2.0 * sigma_ln_d
        n = self.ln_tau.size
        c = (ln_tau50 - self.ln_tau[0]) / self.h
        reach = 9.0 * s / self.h
        k0 = int(np.clip(np.floor(c - reach), 0, n - 1))
        k1 = int(np.clip(np.ceil(c + reach) + 1, k0 + 1, n))
        u = (self.ln_tau[k0:k1] - ln_tau50) / s
        w = np.exp(-0.5 * u * u) * (self.h / (s * np.sqrt(2.0 * np.pi)))
        half = 0.5 * self.h / s
        if k0 == 0:
            w[0] += special.ndtr(u[0] - half)
        if k1 == n:
            w[-1] += special.ndtr(-(u[-1] + half))
        return k0, w / np.sum(w)

    def kernel(self, ln_t50, sig) -> np.ndarray:
        """Return ``sum_k p_k g(omega, tau_k)`` (complex, per frequency)."""
        k0, w = self.weights(ln_t50, sig)
        y = self.g_stacked[:, k0 : k0 + w.size] @ w
        n = self.omega.size
        return y[:n] + 1j * y[n:]

    def model(self, p) -> np.ndarray:
        rs, rct, ln_tct, alpha, ln_c, ln_t50, sig = p
        y = np.exp(ln_c) * self.kernel(ln_t50, sig)
        return _front_impedance(self.omega, (rs, rct, np.exp(ln_tct), alpha)) + 1.0 / y

    def residual(self, theta) -> np.ndarray:
        return _stack((self.z - self.model(self.params(theta))) / self.mod)

    def capacitance_guess(self, p) -> float:
        """Return ``ln C`` of the weighted linear fit of the diffusion admittance, the rest of ``p`` fixed."""
        rs, rct, ln_tct, alpha, _, ln_t50, sig = p
        zd = self.z - _front_impedance(self.omega, (rs, rct, np.exp(ln_tct), alpha))
        y = 1.0 / zd
        gk = self.kernel(ln_t50, sig)
        wt = (np.abs(zd) ** 2 / self.mod) ** 2
        c = float(np.sum(wt * (np.conj(gk) * y).real) / np.sum(wt * np.abs(gk) ** 2))
        return float(np.log(c)) if c > 0 else np.nan


def _diffusivity_log_halfwidths(dif, d_int, z_conf):
    """Return the standard deviations of ``ln D`` below and above ``D`` implied by its interval."""
    if d_int is None:
        return 0.0, 0.0
    return float(np.log(dif / d_int[0]) / z_conf), float(np.log(d_int[1] / dif) / z_conf)


def _kk_noise_variance(omega, z) -> tuple[float, float]:
    """Return the noise variance of the relative residual estimated by a KK-compliant linear fit, and its dof.

    ``Z ~ R_0 + 1 / (j omega C) + sum_k R_k / (1 + j omega tau_k)`` with unconstrained
    ``R_k`` at 4 time constants per decade over ``[1 / omega_max, 1 / omega_min]`` extended
    by 2 decades (so that Warburg-like tails beyond the measured range are followed), fitted
    by linear least squares with weights ``1 / |Z|``; for a linear fit
    ``E|r|**2 = sigma**2 (2 n_f - rank)``.
    """
    wt = 1.0 / np.abs(z)
    lo = np.log10(1.0 / omega.max()) - 2.0
    hi = np.log10(1.0 / omega.min()) + 2.0
    tau = np.logspace(lo, hi, int(np.ceil((hi - lo) * 4)) + 1)
    cols = np.concatenate(
        [np.ones((omega.size, 1)), 1.0 / (1j * omega[:, None]), 1.0 / (1.0 + 1j * omega[:, None] * tau[None, :])],
        axis=1,
    )
    a = _stack(cols * wt[:, None])
    b = _stack(z * wt)
    a = a / np.linalg.norm(a, axis=0)
    coef, _, rank, _ = np.linalg.lstsq(a, b, rcond=None)
    dof = b.size - int(rank)
    r = b - a @ coef
    return (float(r @ r) / dof, float(dof)) if dof > 0 else (np.nan, 0.0)


def fit_lognormal_size_distribution(
    frequency_Hz,
    z_ohm,
    *,
    diffusivity_m2_s: float | None = None,
    diffusivity_interval_m2_s: tuple | None = None,
    series_resistance_ohm: float | None = None,
    charge_transfer_resistance_ohm: float | None = None,
    charge_transfer_tau_s: float | None = None,
    charge_transfer_alpha: float | None = None,
    initial: DiffusionTimeDistribution | None = None,
    noise_rel: float | None = None,
    significance: float = 0.01,
    confidence: float = 0.95,
    grid_per_decade: int = 40,
    grid_extension_decades: float = 3.0,
) -> LognormalSizeFit:
    """Fit a volume-weighted lognormal particle-size distribution directly to an impedance spectrum.

    Model: ``Z = R_s + R_ct / (1 + (j omega tau_ct)**alpha) + 1 / Y_D`` with the ensemble
    admittance of spherical particles sharing the potential,
    ``Y_D = C integral p(ln tau) g(omega, tau) d ln tau``
    (:func:`spherical_diffusion_admittance_kernel`), where the volume-weighted ``p`` of
    ``ln tau_D`` is normal with median ``ln tau_D50`` and standard deviation
    ``2 sigma_ln_d`` (``tau_D = R**2 / D`` and ``ln R`` normal with ``sigma_ln_d``). The seven
    parameters ``R_s, R_ct, ln tau_ct, alpha, ln C, ln tau_D50, sigma_ln_d`` minimise the
    relative residual ``|Z - Z_fit| / |Z|`` (real and imaginary parts; the right weighting
    for noise proportional to ``|Z|``) by ``scipy.optimize.least_squares`` from two starts:
    the front ends of :func:`fit_diffusion_time_distribution`'s DRT-based guesses (or of
    ``initial``) are combined with a scan of ``tau_D50`` (``C`` by linear least squares,
    ``sigma_ln_d = 0.3``), and the best combination and the best one with another front end
    are refined.

    Intervals (delta method): the covariance ``s**2 (J^T J)^-1`` at the optimum
    (``J`` by central differences, ``s**2 = sum r**2 / (2 n_f - n_p)``) gives Student-t
    intervals of ``ln tau_D50`` and ``sigma_ln_d``; the diameters
    ``d_q = 2 sqrt(D tau_D50) exp(z_q sigma_ln_d)`` (``z_q`` the standard-normal quantile
    of 0.1, 0.5, 0.9) get the variance of ``ln d_q`` from the gradient
    ``(1/2, z_q)`` and, since ``d`` scales as ``sqrt(D)``, add ``(ln(D / D_low) / (2 z))**2``
    below and ``(ln(D_high / D) / (2 z))**2`` above (``z`` the normal quantile of the
    confidence level: the diffusivity interval is taken at the same level and independent
    of the spectrum). Unlike the bootstrap of the non-parametric fit, these intervals carry
    no smoothing bias, but they hold only where the lognormal model holds: check
    ``adequate``.

    Goodness of fit: ``chi2_ratio`` compares the reduced chi-square with the noise level,
    either ``noise_rel**2`` (if known) or the reduced chi-square (residual variance per
    degree of freedom) of a flexible, model-free Kramers-Kronig-compliant linear fit of the
    same spectrum: ``R_0``, a series capacitance and unconstrained RC elements at 4 time
    constants per decade over the measured range extended by 2 decades (unlike the
    ``mu``-limited fit of :func:`kramers_kronig_test`, which leaves model error in the
    residual of diffusion spectra); ``adequate`` when the F-test p-value of the ratio is at
    least ``significance``. A spectrum that fails :func:`kramers_kronig_test` (drift) should
    not be fitted at all.

    Parameters
    ----------
    frequency_Hz : array_like
        Frequencies in Hz; the spectrum should reach the capacitive limit of the slowest
        particles (``omega tau_D`` below about 1).
    z_ohm : array_like of complex
        Impedances in ohm.
    diffusivity_m2_s : float, optional
        Chemical diffusivity (from GITT or a configuration) for the diameters; without it
        only ``tau_D50_s`` and ``sigma_ln_d`` are returned.
    diffusivity_interval_m2_s : tuple of float, optional
        ``(low, high)`` interval of the diffusivity at the level ``confidence``, with
        ``low <= D <= high``.
    series_resistance_ohm, charge_transfer_resistance_ohm : float, optional
        Fix a front-end parameter (``charge_transfer_resistance_ohm=0`` removes the arc);
        ``None`` fits it.
    charge_transfer_tau_s, charge_transfer_alpha : float, optional
        Fix the arc's time constant (s) or exponent; ``None`` fits them (``alpha`` within
        ``[0.4, 1]``).
    initial : DiffusionTimeDistribution, optional
        A non-parametric fit of the same spectrum: its front end and its ``tau_D``
        quantiles give one more start (and the fit does not need the DRT-based guesses).
    noise_rel : float, optional
        Known relative noise of each part of ``Z`` (standard deviation over ``|Z|``), the
        reference of ``chi2_ratio``; default: estimated from a Kramers-Kronig-compliant fit.
    significance : float, optional
        ``chi2_p_value`` below which the fit is flagged as inadequate.
    confidence : float, optional
        Level of the intervals.
    grid_per_decade : int, optional
        Density of the ``tau`` grid on which the kernel is tabulated; it sets the smallest
        ``sigma_ln_d``, ``ln(10) / (2 grid_per_decade)`` (0.029 at the default; a narrower
        distribution ends on that bound).
    grid_extension_decades : float, optional
        Extension of that grid beyond ``[1 / omega_max, 1 / omega_min]``.

    Returns
    -------
    LognormalSizeFit

    Raises
    ------
    ValueError
        If the arrays are inconsistent or an option is out of range.

    Notes
    -----
    The same model assumptions as :func:`fit_diffusion_time_distribution` (spheres, one
    ``D`` and one ``|dU/dc|`` for all particles, one lumped charge-transfer arc) plus the
    lognormal shape; ``tau_D50`` is bounded to ``[0.01 / omega_max, 100 / omega_min]`` and
    ``sigma_ln_d`` to ``[ln(10) / (2 grid_per_decade), 1.5]``. A parameter that ends on a bound is held fixed for
    the covariance (``at_bound``). The number-weighted median follows from Hatch-Choate,
    ``d50_number = d50 exp(-3 sigma_ln_d**2)``.

    For a PSD that is not exactly lognormal (any finite particle table), ``d50`` estimates the
    median of the lognormal that best matches the spectrum, which is close to the
    volume-weighted geometric mean ``exp(sum v_i ln d_i / sum v_i)`` of the particles, and
    ``sigma_ln_d`` their volume-weighted standard deviation of ``ln d``. Compare them with the
    same statistics of the CT PSD rather than with its d50 quantile: the two differ by the
    sampling noise of a volume-weighted median and by the departure from a lognormal.

    References
    ----------
    .. [1] J. Jacobsen, J. R. West, Electrochim. Acta 40 (1995) 255-262.
    .. [2] T. Hatch, S. P. Choate, J. Franklin Inst. 207 (1929) 369-387.

    Examples
    --------
    >>> f = np.logspace(4, -4, 50)
    >>> x = np.linspace(-4, 4, 81)  # volume-weighted lognormal classes: d50 = 12 um, sigma = 0.3
    >>> sim = simulate_eis_spectrum(f, radius_m=6e-6 * np.exp(0.3 * x), volume_fraction=np.exp(-x**2 / 2),
    ...                             diffusivity_m2_s=1e-13, noise_rel=0.005, seed=1)
    >>> fr, zz = spectrum_from_table(sim.spectrum)
    >>> res = fit_lognormal_size_distribution(fr, zz, diffusivity_m2_s=1e-13)
    >>> round(res.d50_um, 1), round(res.sigma_ln_d, 2), res.adequate
    (11.9, 0.29, True)
    >>> lo, hi = res.d50_interval_um  # 95 % interval, covers the true 12 um
    >>> round(lo, 2), round(hi, 2)
    (11.85, 12.03)
    """
    f, z = _spectrum(frequency_Hz, z_ohm)
    order = np.argsort(f)
    f, z = f[order], z[order]
    omega = 2.0 * np.pi * f
    n_f = f.size
    dif = np.nan if diffusivity_m2_s is None else _checks.positive_scalar(diffusivity_m2_s, "diffusivity_m2_s")
    d_int = None
    if diffusivity_interval_m2_s is not None:
        if not np.isfinite(dif):
            raise ValueError("diffusivity_interval_m2_s needs diffusivity_m2_s")
        d_int = [_checks.positive_scalar(v, "diffusivity_interval_m2_s") for v in diffusivity_interval_m2_s]
        if len(d_int) != 2 or not d_int[0] <= dif <= d_int[1]:
            raise ValueError(
                "diffusivity_interval_m2_s must be (low, high) with low <= diffusivity_m2_s <= high, "
                f"got {diffusivity_interval_m2_s!r}"
            )
    conf = _checks.fraction(confidence, "confidence")
    if not 0.0 < conf < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    sig_level = _checks.fraction(significance, "significance")
    ppd = _checks.check_int(grid_per_decade, "grid_per_decade", 5)
    ext = _checks.positive_scalar(grid_extension_decades, "grid_extension_decades", allow_zero=True)
    if noise_rel is not None:
        noise_rel = _checks.positive_scalar(noise_rel, "noise_rel")
    if initial is not None and not isinstance(initial, DiffusionTimeDistribution):
        raise TypeError(f"initial must be a DiffusionTimeDistribution, got {type(initial).__name__}")

    front = [series_resistance_ohm, charge_transfer_resistance_ohm, charge_transfer_tau_s, charge_transfer_alpha]
    for k, v in enumerate(front):
        if v is not None:
            front[k] = _checks.positive_scalar(v, _FRONT[k], allow_zero=k < 2)
    if front[3] is not None and front[3] > 1:
        raise ValueError(f"charge_transfer_alpha must be in (0, 1], got {front[3]!r}")
    if front[1] == 0.0:
        front[2] = 1.0 if front[2] is None else front[2]
        front[3] = 1.0 if front[3] is None else front[3]
    fixed = [*front, None, None, None]
    if fixed[2] is not None:
        fixed[2] = float(np.log(fixed[2]))
    prob = _LognormalProblem(omega, z, fixed, ppd, ext)

    sigma_min = 0.5 * np.log(10.0) / ppd  # the tau grid step is then at most one standard deviation of ln tau
    lo_b = [0.0, 0.0, np.log(0.01 / omega.max()), 0.4, -np.inf, np.log(0.01 / omega.max()), sigma_min]
    hi_b = [np.inf, np.inf, np.log(10.0 / omega.min()), 1.0, np.inf, np.log(100.0 / omega.min()), 1.5]
    blo = np.array([lo_b[k] for k in prob.free])
    bhi = np.array([hi_b[k] for k in prob.free])
    with np.errstate(invalid="ignore"):
        inner_lo = np.where(np.isfinite(blo), blo + 1e-9 * (1 + np.abs(blo)), blo)
        inner_hi = np.where(np.isfinite(bhi), bhi - 1e-9 * (1 + np.abs(bhi)), bhi)

    # starting values: front ends x a scan of tau_D50 (C by linear least squares)
    fronts, diff_starts = [], []
    if initial is not None:
        fronts.append(
            [
                initial.series_resistance_ohm,
                initial.charge_transfer_resistance_ohm,
                initial.charge_transfer_tau_s,
                initial.charge_transfer_alpha,
            ]
        )
        t10, t50, t90 = initial.tau_D10_s, initial.tau_D50_s, initial.tau_D90_s
        sig0 = float(np.clip(np.log(t90 / t10) / (4.0 * _Z_Q[2]), 0.05, 1.0))
        diff_starts.append((np.log(t50), sig0))
    if all(v is not None for v in front):
        fronts = [[front[0], front[1], front[2], front[3]]]
    elif initial is None:
        fronts += _front_guesses(f, z)
    ln_t50_scan = np.linspace(hi_b[5] - 1.0, lo_b[5] + 1.0, 15)
    candidates = []
    for i_front, fr0 in enumerate(fronts):
        p0 = [fixed[k] if fixed[k] is not None else v for k, v in enumerate(fr0)]
        if fixed[2] is None:
            p0[2] = float(np.log(max(fr0[2], 1e-300)))
        starts = diff_starts + [(lt, 0.3) for lt in ln_t50_scan]
        for lt, sg in starts:
            p = [*p0, 0.0, float(lt), float(sg)]
            p[4] = prob.capacitance_guess(p)
            if not np.isfinite(p[4]):
                continue
            theta = np.array([p[k] for k in prob.free], float)
            theta = np.clip(theta, inner_lo, inner_hi)
            r = prob.residual(theta)
            if np.all(np.isfinite(r)):
                candidates.append((float(r @ r), i_front, theta))
    if not candidates:
        raise ValueError("no valid starting point for the lognormal fit (is the spectrum capacitive at low frequency?)")
    candidates.sort(key=lambda c: c[0])
    # refine the best start and the best one from another front-end guess
    starts = [candidates[0]] + [c for c in candidates if c[1] != candidates[0][1]][:1]
    best = None
    for _, _, theta0 in starts:
        sol = optimize.least_squares(prob.residual, theta0, bounds=(blo, bhi), x_scale="jac", method="trf")
        if best is None or sol.cost < best.cost:
            best = sol
    sol = optimize.least_squares(
        prob.residual, best.x, bounds=(blo, bhi), x_scale="jac", jac="3-point", ftol=1e-12, xtol=1e-12, gtol=1e-12
    )
    if sol.cost > best.cost:
        sol = best
    theta = sol.x
    p = prob.params(theta)
    r = prob.residual(theta)
    n_p = len(prob.free)
    dof = 2 * n_f - n_p
    if dof <= 0:
        raise ValueError(f"too few frequencies ({n_f}) for {n_p} parameters")
    chi2 = float(r @ r) / dof

    # covariance: central-difference Jacobian, parameters on a bound held fixed
    names = tuple(_LOGNORMAL_FREE[k] for k in prob.free)
    span = bhi - blo
    at_bound = np.array(
        [min(theta[i] - blo[i], bhi[i] - theta[i]) <= 1e-6 * (1.0 + abs(theta[i])) for i in range(n_p)], bool
    )
    at_bound &= np.isfinite(span)
    jac = np.empty((r.size, n_p))
    for i in range(n_p):
        step = 1e-5 * max(1.0, abs(theta[i]))
        tp, tm = theta.copy(), theta.copy()
        tp[i] += step
        tm[i] -= step
        jac[:, i] = (prob.residual(tp) - prob.residual(tm)) / (2.0 * step)
    cov = np.full((n_p, n_p), np.nan)
    keep = np.flatnonzero(~at_bound)
    if keep.size:
        jk = jac[:, keep]
        _, sv, vt = np.linalg.svd(jk, full_matrices=False)
        good = sv > sv[0] * np.finfo(float).eps * max(jk.shape)
        ck = (vt[good].T / sv[good] ** 2) @ vt[good] * chi2
        cov[np.ix_(keep, keep)] = ck

    t_crit = float(stats.t.ppf(0.5 + 0.5 * conf, dof))
    z_crit = float(stats.norm.ppf(0.5 + 0.5 * conf))
    i_t, i_s = names.index("tau_D50_s"), names.index("sigma_ln_d")
    ln_t50, sig = p[5], p[6]
    v_t, v_s, c_ts = cov[i_t, i_t], cov[i_s, i_s], cov[i_t, i_s]
    if at_bound[i_t]:
        v_t, c_ts = 0.0, 0.0
    if at_bound[i_s]:
        v_s, c_ts = 0.0, 0.0
    tau_int = (float(np.exp(ln_t50 - t_crit * np.sqrt(v_t))), float(np.exp(ln_t50 + t_crit * np.sqrt(v_t))))
    sig_int = (float(sig - t_crit * np.sqrt(v_s)), float(sig + t_crit * np.sqrt(v_s)))

    dq = [np.nan] * 3
    d_ints = [(np.nan, np.nan)] * 3
    nmed = np.nan
    d_pair = (np.nan, np.nan)
    if np.isfinite(dif):
        sd_lo, sd_hi = _diffusivity_log_halfwidths(dif, d_int, z_crit)
        d_pair = (float(dif), float(dif)) if d_int is None else (float(d_int[0]), float(d_int[1]))
        d50 = 2e6 * np.sqrt(np.exp(ln_t50) * dif)
        nmed = float(d50 * np.exp(-3.0 * sig * sig))
        d_ints = []
        dq = []
        for zq in _Z_Q:
            ln_d = np.log(d50) + zq * sig
            v_spec = 0.25 * v_t + zq * zq * v_s + zq * c_ts
            half_lo = np.sqrt(t_crit**2 * v_spec + (z_crit * 0.5 * sd_lo) ** 2)
            half_hi = np.sqrt(t_crit**2 * v_spec + (z_crit * 0.5 * sd_hi) ** 2)
            dq.append(float(np.exp(ln_d)))
            d_ints.append((float(np.exp(ln_d - half_lo)), float(np.exp(ln_d + half_hi))))

    if noise_rel is not None:
        ref, ref_dof = noise_rel**2, np.inf
    else:
        ref, ref_dof = _kk_noise_variance(omega, z)
    ratio = chi2 / ref if ref > 0 else np.inf
    p_value = float(stats.f.sf(ratio, dof, ref_dof)) if np.isfinite(ref_dof) else float(stats.chi2.sf(ratio * dof, dof))
    zfit = prob.model(p)
    return LognormalSizeFit(
        tau_D50_s=float(np.exp(ln_t50)),
        tau_D50_interval_s=tau_int,
        sigma_ln_d=float(sig),
        sigma_ln_d_interval=sig_int,
        capacitance_F=float(np.exp(p[4])),
        series_resistance_ohm=float(p[0]),
        charge_transfer_resistance_ohm=float(p[1]),
        charge_transfer_tau_s=float(np.exp(p[2])),
        charge_transfer_alpha=float(p[3]),
        parameter_names=names,
        parameters=np.asarray(theta, float),
        covariance=cov,
        at_bound=tuple(n for n, b in zip(names, at_bound) if b),
        diffusivity_m2_s=float(dif),
        diffusivity_interval_m2_s=d_pair,
        d10_um=float(dq[0]),
        d50_um=float(dq[1]),
        d90_um=float(dq[2]),
        d10_interval_um=d_ints[0],
        d50_interval_um=d_ints[1],
        d90_interval_um=d_ints[2],
        number_median_um=float(nmed),
        confidence=conf,
        z_fit_ohm=zfit,
        residual_real=(z.real - zfit.real) / np.abs(z),
        residual_imag=(z.imag - zfit.imag) / np.abs(z),
        chi2_reduced=chi2,
        reference_chi2_reduced=float(ref),
        chi2_ratio=float(ratio),
        chi2_p_value=p_value,
        significance=sig_level,
        adequate=bool(p_value >= sig_level),
    )


# --------------------------------------------------------------------------- virtual instrument


@dataclass(frozen=True)
class VirtualEIS:
    """A simulated spectrum and its ground truth (see :func:`simulate_eis_spectrum`).

    Attributes
    ----------
    spectrum : pandas.DataFrame
        ``frequency_Hz, z_real_ohm, z_imag_ohm`` (noisy, ``z_imag_ohm`` as measured).
    z_true_ohm : numpy.ndarray of complex
        Noise-free impedance (with drift, if any).
    tau_D_s, volume_fraction, diameter_um, diffusion_resistance_ohm : numpy.ndarray
        Per particle class: diffusion time, normalised volume fraction, diameter and
        ``R_D,i = tau_i / (3 C_i)``.
    capacitance_F, series_resistance_ohm : float
        The parameters used.
    charge_transfer_resistance_ohm, charge_transfer_tau_s, charge_transfer_alpha : float
        The parameters used.
    diffusivity_m2_s : float
        Diffusivity used.
    d10_um, d50_um, d90_um : float
        Volume-weighted diameter quantiles of the classes (``batteryct.psd.weighted_quantiles``,
        the convention of the CT particle tables).
    """

    spectrum: pd.DataFrame
    z_true_ohm: np.ndarray
    tau_D_s: np.ndarray
    volume_fraction: np.ndarray
    diameter_um: np.ndarray
    diffusion_resistance_ohm: np.ndarray
    capacitance_F: float
    series_resistance_ohm: float
    charge_transfer_resistance_ohm: float
    charge_transfer_tau_s: float
    charge_transfer_alpha: float
    diffusivity_m2_s: float
    d10_um: float
    d50_um: float
    d90_um: float


def simulate_eis_spectrum(
    frequency_Hz,
    *,
    radius_m,
    volume_fraction,
    diffusivity_m2_s: float,
    capacitance_F: float = 10.0,
    series_resistance_ohm: float = 1.0,
    charge_transfer_resistance_ohm: float = 2.0,
    charge_transfer_tau_s: float = 1e-3,
    charge_transfer_alpha: float = 0.9,
    noise_rel: float = 0.0,
    series_resistance_drift_ohm: float = 0.0,
    periods_per_frequency: float = 2.0,
    seed: int = 0,
) -> VirtualEIS:
    """Simulate the impedance spectrum of a particle ensemble (virtual EIS instrument).

    ``Z = R_s(t) + R_ct / (1 + (j omega tau_ct)**alpha) + 1 / sum_i C_i g(omega, tau_i)`` with
    ``tau_i = R_i**2 / D`` and ``C_i = capacitance_F * w_i`` (``w`` the normalised volume
    fractions), plus noise ``|Z| noise_rel (e1 + j e2)``, ``e1, e2 ~ N(0, 1)`` (seeded).

    Parameters
    ----------
    frequency_Hz : array_like
        Frequencies in Hz, **in sweep order** (the order matters only for the drift).
    radius_m : array_like
        Radius of each particle or size class in m.
    volume_fraction : array_like
        Volume (or volume fraction) of each class; normalised here.
    diffusivity_m2_s : float
        Solid diffusivity in m^2/s, the same for all particles.
    capacitance_F : float, optional
        Total intercalation capacitance ``dQ/dU`` in F.
    series_resistance_ohm : float, optional
        ``R_s`` at the start of the sweep, in ohm.
    charge_transfer_resistance_ohm, charge_transfer_tau_s, charge_transfer_alpha : float, optional
        The ZARC of charge transfer and double layer.
    noise_rel : float, optional
        Standard deviation of the noise on each part, relative to ``|Z|``.
    series_resistance_drift_ohm : float, optional
        Change of ``R_s`` over the sweep, linear in the elapsed time; a frequency takes
        ``periods_per_frequency / f`` seconds. A non-zero drift makes the spectrum
        violate Kramers-Kronig (a non-stationary system).
    periods_per_frequency : float, optional
        Measurement periods per frequency (for the drift's time axis).
    seed : int, optional
        Seed of the noise.

    Returns
    -------
    VirtualEIS

    Examples
    --------
    >>> sim = simulate_eis_spectrum(np.logspace(3, -3, 4), radius_m=[2e-6, 4e-6], volume_fraction=[1, 1],
    ...                             diffusivity_m2_s=1e-14)
    >>> list(sim.spectrum.columns), bool(np.all(sim.spectrum["z_imag_ohm"] < 0))
    (['frequency_Hz', 'z_real_ohm', 'z_imag_ohm'], True)
    """
    from batteryct.psd import weighted_quantiles

    f = _frequency(frequency_Hz)
    r = _checks.positive_array(radius_m, "radius_m").reshape(-1)
    w = _checks.positive_array(volume_fraction, "volume_fraction", allow_zero=True).reshape(-1)
    if w.shape != r.shape:
        raise ValueError(f"volume_fraction must have the shape of radius_m {r.shape}, got {w.shape}")
    if not np.sum(w) > 0:
        raise ValueError("volume_fraction must not be all zero")
    w = w / np.sum(w)
    dif = _checks.positive_scalar(diffusivity_m2_s, "diffusivity_m2_s")
    cap = _checks.positive_scalar(capacitance_F, "capacitance_F")
    rs = _checks.positive_scalar(series_resistance_ohm, "series_resistance_ohm", allow_zero=True)
    rct = _checks.positive_scalar(charge_transfer_resistance_ohm, "charge_transfer_resistance_ohm", allow_zero=True)
    tct = _checks.positive_scalar(charge_transfer_tau_s, "charge_transfer_tau_s")
    act = _checks.positive_scalar(charge_transfer_alpha, "charge_transfer_alpha")
    if act > 1:
        raise ValueError(f"charge_transfer_alpha must be in (0, 1], got {charge_transfer_alpha!r}")
    noise = _checks.positive_scalar(noise_rel, "noise_rel", allow_zero=True)
    drift = float(_checks.finite_array(series_resistance_drift_ohm, "series_resistance_drift_ohm", ndim=0))
    ppf = _checks.positive_scalar(periods_per_frequency, "periods_per_frequency")
    tau = r**2 / dif
    omega = 2.0 * np.pi * f
    z = _front_impedance(omega, (rs, rct, tct, act)) + ensemble_diffusion_impedance(
        f, tau_D_s=tau, volume_fraction=w, capacitance_F=cap
    )
    if drift != 0.0:
        t_end = np.cumsum(ppf / f)
        z = z + drift * t_end / t_end[-1]
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((2, f.size))
    zn = z + noise * np.abs(z) * (e[0] + 1j * e[1])
    d_um = 2e6 * r
    dq = weighted_quantiles(d_um, w, np.array(_QUANTILES))
    with np.errstate(divide="ignore"):
        rd = np.where(w > 0, tau / (3.0 * cap * w), np.inf)
    return VirtualEIS(
        spectrum=pd.DataFrame({"frequency_Hz": f, "z_real_ohm": zn.real, "z_imag_ohm": zn.imag}),
        z_true_ohm=z,
        tau_D_s=tau,
        volume_fraction=w,
        diameter_um=d_um,
        diffusion_resistance_ohm=rd,
        capacitance_F=cap,
        series_resistance_ohm=rs,
        charge_transfer_resistance_ohm=rct,
        charge_transfer_tau_s=tct,
        charge_transfer_alpha=act,
        diffusivity_m2_s=dif,
        d10_um=float(dq[0]),
        d50_um=float(dq[1]),
        d90_um=float(dq[2]),
    )
