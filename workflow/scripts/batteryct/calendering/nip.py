"""The roll nip: Hertz line contact, the pressure a coating sees, and relaxation through it.

Hertz line contact of a cylinder (radius ``R_eff``) pressed by a line load ``q`` (N/m)
against a half-space: half-width ``b = sqrt(4 q R_eff / (pi E*))``, peak pressure
``p_max = 2 q / (pi b)``, semi-elliptic profile ``p(x) = p_max sqrt(1 - (x / b)^2)``; a
point of the web moving at ``v`` spends the dwell time ``t_d = 2 b / v`` in the contact and
sees ``p(t) = p_max sqrt(1 - (2 t / t_d - 1)^2)``.

Convention for ``R_eff`` (``1 / R_eff = 1 / R_1 + 1 / R_2``): ``geometry="roll_on_flat"``
(default) takes ``R_eff = R``, one roll of radius ``R`` on a flat (a web on a rigid
support, the thin coating much softer than steel); ``geometry="two_rolls"`` takes
``R_eff = R / 2``, two equal rolls of radius ``R`` both indenting the coating. The known
answer of the issue (1000 N/mm, ``R`` = 0.2 m, ``E*`` = 10 GPa: contact width 10.1 mm,
126 MPa, 10 ms at 1 m/s) is the roll-on-flat one; two rolls give 7.1 mm and 178 MPa.

Relaxation: ``d eps / dt = -(eps - eps_eq(p(t))) / tau``. Read literally this lets the
porosity rise back to ``eps_eq(0) = eps_0`` as the pressure falls at the nip exit, which
would undo the calendering; the default ``irreversible=True`` integrates the compaction
branch only, ``d eps / dt = -max(eps - eps_eq, 0) / tau`` (the plastic porosity never
increases; the elastic recovery is the springback, :mod:`.compaction`). Integration is an
exact exponential integrator for piecewise-constant pressure (``eps_eq`` held at its step
mean), or :func:`scipy.integrate.solve_ivp` for checking.

References
----------
* K. L. Johnson, *Contact Mechanics*, Cambridge University Press (1985), sec. 4.3 (2-D
  Hertz contact of cylinders, eqs. 4.43-4.45).
* Seed document 001, "A Brief, Intense Journey: Dynamics in the Roll Nip".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import integrate

from .. import _checks
from ._fitting import Param, nls, skipped
from ._kernels import relax_steps
from .compaction import _exponential_start, porosity_exponential, porosity_heckel, porosity_kawakita

__all__ = [
    "NipContact",
    "hertz_line_contact",
    "half_width_from_pressure",
    "nip_pressure_profile",
    "relax_porosity",
    "nip_exit_porosity",
    "fit_nip_relaxation",
]

_GEOMETRIES = {"roll_on_flat": 1.0, "two_rolls": 0.5}


@dataclass(frozen=True)
class NipContact:
    """Hertz line contact of a roll nip (arrays broadcast from the inputs).

    Attributes
    ----------
    effective_radius_m : ndarray
        ``R_eff``, m.
    half_width_m : ndarray
        ``b``, m (contact width ``2 b``).
    peak_pressure_Pa : ndarray
        ``p_max = 2 q / (pi b)``, Pa.
    mean_pressure_Pa : ndarray
        ``q / (2 b) = pi p_max / 4``, Pa.
    dwell_time_s : ndarray
        ``2 b / v``, s.
    """

    effective_radius_m: np.ndarray
    half_width_m: np.ndarray
    peak_pressure_Pa: np.ndarray
    mean_pressure_Pa: np.ndarray
    dwell_time_s: np.ndarray


def _effective_radius(roll_radius_m, geometry):
    if geometry not in _GEOMETRIES:
        raise ValueError(f"geometry must be one of {tuple(_GEOMETRIES)}, got {geometry!r}")
    return _checks.positive_array(roll_radius_m, "roll_radius_m") * _GEOMETRIES[geometry]


def hertz_line_contact(
    line_load_N_m, *, roll_radius_m, contact_modulus_Pa, line_speed_m_s, geometry: str = "roll_on_flat"
) -> NipContact:
    """Return the Hertz line contact of a calender nip.

    Parameters
    ----------
    line_load_N_m : array_like
        Force per roll width, N/m (1 N/mm = 1000 N/m).
    roll_radius_m : array_like
        Roll radius ``R``, m (half the ``roll_diameter_mm`` of the sheet, / 1000).
    contact_modulus_Pa : array_like
        Plane-strain contact modulus ``E*`` (``1/E* = (1 - nu_1^2)/E_1 + (1 - nu_2^2)/E_2``), Pa.
    line_speed_m_s : array_like
        Web speed, m/s (1 m/min = 1/60 m/s).
    geometry : {"roll_on_flat", "two_rolls"}, optional
        ``R_eff = R`` or ``R / 2`` (module docstring).

    Returns
    -------
    NipContact

    Raises
    ------
    ValueError
        If an input is not positive and finite, or for an unknown geometry.

    References
    ----------
    K. L. Johnson, *Contact Mechanics* (1985), eqs. 4.43-4.45.

    Examples
    --------
    >>> c = hertz_line_contact(1.0e6, roll_radius_m=0.2, contact_modulus_Pa=10e9, line_speed_m_s=1.0)
    >>> width_mm, p_max_MPa = 2e3 * float(c.half_width_m), float(c.peak_pressure_Pa) / 1e6
    >>> round(width_mm, 2), round(p_max_MPa, 1), round(1e3 * float(c.dwell_time_s), 2)
    (10.09, 126.2, 10.09)
    """
    q = _checks.positive_array(line_load_N_m, "line_load_N_m")
    r = _effective_radius(roll_radius_m, geometry)
    e = _checks.positive_array(contact_modulus_Pa, "contact_modulus_Pa")
    v = _checks.positive_array(line_speed_m_s, "line_speed_m_s")
    b = np.sqrt(4.0 * q * r / (math.pi * e))
    p = 2.0 * q / (math.pi * b)
    return NipContact(
        effective_radius_m=np.broadcast_to(r, b.shape).copy(),
        half_width_m=b,
        peak_pressure_Pa=p,
        mean_pressure_Pa=q / (2.0 * b),
        dwell_time_s=2.0 * b / v,
    )


def half_width_from_pressure(
    peak_pressure_Pa, *, roll_radius_m, contact_modulus_Pa, geometry: str = "roll_on_flat"
) -> np.ndarray:
    """Return the Hertz half-width ``b = 2 R_eff p_max / E*`` for a known peak pressure.

    Parameters
    ----------
    peak_pressure_Pa : array_like
        Peak pressure, Pa.
    roll_radius_m, contact_modulus_Pa : array_like
        As in :func:`hertz_line_contact`.
    geometry : {"roll_on_flat", "two_rolls"}, optional
        Convention for ``R_eff``.

    Returns
    -------
    ndarray
        ``b``, m (``q = pi b p_max / 2`` follows).
    """
    p = _checks.positive_array(peak_pressure_Pa, "peak_pressure_Pa")
    e = _checks.positive_array(contact_modulus_Pa, "contact_modulus_Pa")
    return 2.0 * _effective_radius(roll_radius_m, geometry) * p / e


def nip_pressure_profile(time_s, *, peak_pressure, dwell_time_s):
    """Return the semi-elliptic pressure ``p_max sqrt(1 - (2 t / t_d - 1)^2)`` (0 outside the nip).

    Parameters
    ----------
    time_s : array_like
        Time since entry into the contact, s.
    peak_pressure : float
        ``p_max`` (any pressure unit; the result has it).
    dwell_time_s : float
        ``t_d = 2 b / v``, s.

    Returns
    -------
    ndarray
        Pressure at ``time_s``.
    """
    s = 2.0 * np.asarray(time_s, float) / dwell_time_s - 1.0
    return peak_pressure * np.sqrt(np.clip(1.0 - s * s, 0.0, None))


def relax_porosity(
    time_s,
    pressure_MPa,
    *,
    porosity_initial: float,
    relaxation_time_s: float,
    equilibrium_porosity: Callable[[np.ndarray], np.ndarray],
    irreversible: bool = True,
    method: str = "exponential",
) -> np.ndarray:
    """Integrate ``d eps / dt = -(eps - eps_eq(p(t))) / tau`` along a pressure history.

    Parameters
    ----------
    time_s : array_like, shape (m,)
        Increasing times, s; the porosity is returned at each.
    pressure_MPa : array_like, shape (m,)
        Pressure at those times (linear in between), MPa.
    porosity_initial : float
        Porosity at ``time_s[0]``.
    relaxation_time_s : float
        ``tau``, s.
    equilibrium_porosity : callable
        ``eps_eq(pressure_MPa)``, vectorised.
    irreversible : bool, optional
        Integrate the compaction branch only (``max(eps - eps_eq, 0)``); module docstring.
    method : {"exponential", "solve_ivp"}, optional
        Exponential integrator with ``eps_eq`` held at the mean of its end values over each
        step (exact for constant pressure), or RK45 at ``rtol = 1e-10``.

    Returns
    -------
    ndarray, shape (m,)
        Porosity at ``time_s``.

    Examples
    --------
    >>> t = np.linspace(0.0, 0.3, 4)
    >>> eps = relax_porosity(t, np.full(4, 50.0), porosity_initial=0.45, relaxation_time_s=0.1,
    ...                      equilibrium_porosity=lambda p: np.full_like(p, 0.3))
    >>> np.allclose(eps, 0.3 + 0.15 * np.exp(-t / 0.1))
    True
    """
    t = _checks.increasing_array(time_s, "time_s", min_size=1)
    p = _checks.finite_array(pressure_MPa, "pressure_MPa", ndim=1)
    if p.shape != t.shape:
        raise ValueError(f"pressure_MPa must have the shape of time_s {t.shape}, got {p.shape}")
    tau = _checks.positive_scalar(relaxation_time_s, "relaxation_time_s")
    if method == "exponential":
        eq = np.asarray(equilibrium_porosity(p), float)
        out = np.empty_like(t)
        eps = float(porosity_initial)
        out[0] = eps
        for k in range(1, t.size):
            target = 0.5 * (eq[k - 1] + eq[k])
            if not irreversible or eps > target:
                eps = target + (eps - target) * math.exp(-(t[k] - t[k - 1]) / tau)
            out[k] = eps
        return out
    if method != "solve_ivp":
        raise ValueError(f"method must be 'exponential' or 'solve_ivp', got {method!r}")

    def rhs(time, y):
        target = float(np.asarray(equilibrium_porosity(np.array([np.interp(time, t, p)])), float)[0])
        drive = y[0] - target
        if irreversible:
            drive = max(drive, 0.0)
        return [-drive / tau]

    if t.size == 1:
        return np.array([float(porosity_initial)])
    sol = integrate.solve_ivp(
        rhs, (t[0], t[-1]), [float(porosity_initial)], t_eval=t, rtol=1e-10, atol=1e-12, max_step=(t[-1] - t[0]) / 200
    )
    return sol.y[0]


def nip_exit_porosity(
    *,
    porosity_initial,
    peak_pressure_MPa,
    dwell_time_s,
    relaxation_time_s: float,
    equilibrium_porosity: Callable[[np.ndarray], np.ndarray],
    irreversible: bool = True,
    n_steps: int = 128,
) -> np.ndarray:
    """Return the porosity at the nip exit for many samples at once (exponential integrator).

    The semi-elliptic profile is sampled at ``t = t_d (1 - cos theta) / 2`` with ``theta``
    uniform in ``[0, pi]``, where ``p = p_max sin theta`` exactly: fine steps at the entry
    and exit, where the pressure changes fastest.

    Parameters
    ----------
    porosity_initial : array_like, shape (n,)
        Porosity entering the nip (the coating's).
    peak_pressure_MPa, dwell_time_s : array_like, shape (n,)
        ``p_max`` (MPa) and ``t_d`` (s) of each sample.
    relaxation_time_s : float
        ``tau``, s (>= 0; 0 is quasi-static: each step reaches ``eps_eq`` of its pressure).
    equilibrium_porosity : callable
        ``eps_eq(pressure_MPa)`` for arrays of shape ``(n, n_steps)`` (row = sample).
    irreversible : bool, optional
        As in :func:`relax_porosity`.
    n_steps : int, optional
        Steps through the nip.

    Returns
    -------
    ndarray, shape (n,)
        Porosity at the exit (the minimum of the pass with ``irreversible``).
    """
    eps = np.array(np.broadcast_to(np.asarray(porosity_initial, float), np.shape(peak_pressure_MPa)), dtype=float)
    p_max = _checks.positive_array(peak_pressure_MPa, "peak_pressure_MPa")
    td = _checks.positive_array(dwell_time_s, "dwell_time_s")
    tau = _checks.positive_scalar(relaxation_time_s, "relaxation_time_s", allow_zero=True)
    n_steps = _checks.check_int(n_steps, "n_steps", 2)
    theta = np.linspace(0.0, math.pi, n_steps + 1)
    # mean pressure of each step: p_max (cos a - cos b) / (b - a) over theta in [a, b]
    p_step = p_max[:, None] * ((np.cos(theta[:-1]) - np.cos(theta[1:])) / np.diff(theta))[None, :]
    eq = np.asarray(equilibrium_porosity(p_step), float).reshape(p_step.shape)
    dt = 0.5 * td[:, None] * np.diff(-np.cos(theta))[None, :]
    # tau -> 0 (the fit's ln tau running to -inf): instantaneous relaxation, decay 0
    with np.errstate(over="ignore"):  # dt / tau overflows for a vanishing tau: decay 0
        decay = np.exp(-dt / tau) if tau > 0 else np.zeros_like(dt)
    return relax_steps(np.ascontiguousarray(eps), np.ascontiguousarray(eq), decay, bool(irreversible))


def _law_eq(law, theta, porosity_coated):
    if law == "compaction_exponential":
        return lambda p: porosity_exponential(p, porosity_initial=theta[0], porosity_min=theta[1], gamma_c=theta[2])
    if law == "heckel":
        return lambda p: porosity_heckel(p, heckel_K=theta[0], heckel_A=theta[1])
    eps0 = np.asarray(porosity_coated, float)[:, None]
    return lambda p: porosity_kawakita(p, kawakita_a=theta[0], kawakita_b=theta[1], porosity_coated=eps0)


def _law_params(law, pressure, porosity, porosity_coated):
    if law == "compaction_exponential":
        eps_min, eps0, gamma = _exponential_start(pressure, porosity)
        return [
            Param("porosity_initial", "1", eps0, 0.0, 1.0),
            Param("porosity_min", "1", eps_min, 0.0, 1.0),
            Param("gamma_c", "MPa", gamma, 0.0, math.inf, log=True),
        ]
    if law == "heckel":
        k, a = np.polyfit(pressure, -np.log(porosity), 1)
        return [Param("heckel_K", "1/MPa", float(k)), Param("heckel_A", "1", float(a))]
    from .compaction import _degree_of_compaction, _kawakita_start

    a0, b0 = _kawakita_start(pressure, _degree_of_compaction(porosity, porosity_coated))
    return [Param("kawakita_a", "1", a0, 0.0, 1.0), Param("kawakita_b", "1/MPa", b0, 0.0, math.inf, log=True)]


def fit_nip_relaxation(
    porosity,
    *,
    porosity_coated,
    peak_pressure_MPa,
    half_width_m,
    line_speed_m_s,
    law: str = "compaction_exponential",
    porosity_stderr=None,
    irreversible: bool = True,
    n_steps: int = 96,
) -> pd.DataFrame:
    """Fit a compaction law and the relaxation time ``tau`` jointly through the nip.

    Each sample enters the nip at its coated porosity and follows
    ``d eps / dt = -(eps - eps_eq(p(t))) / tau`` through the Hertz profile of its own peak
    pressure and dwell time ``2 b / v`` (:func:`nip_exit_porosity`); the law's parameters
    and ``ln tau`` are fitted to the exit porosity by least squares. ``tau`` is identified
    by the difference between line speeds at equal load, so a series with a single line
    speed is skipped with that reason.

    Parameters
    ----------
    porosity : array_like
        Porosity at the nip exit per sample (at the minimum thickness when the sheet has
        ``thickness_gap_um``, else after springback).
    porosity_coated : array_like
        Porosity entering the nip.
    peak_pressure_MPa, half_width_m, line_speed_m_s : array_like
        ``p_max`` (MPa), Hertz ``b`` (m) and web speed (m/s) per sample.
    law : {"compaction_exponential", "heckel", "kawakita"}, optional
        ``eps_eq(p)`` (in pressure: ``gamma_c`` in MPa).
    porosity_stderr : array_like, optional
        Standard errors of the porosities, the weights of the least squares (only their
        ratios matter).
    irreversible : bool, optional
        As in :func:`relax_porosity`.
    n_steps : int, optional
        Integrator steps through the nip.

    Returns
    -------
    DataFrame
        Model ``nip_relaxation``: the law's parameters and ``relaxation_time`` (s). Where the
        upper end of the ``relaxation_time`` interval is below the shortest dwell time, its row
        carries the flag ``quasi_static``: every sample came close to equilibrium in the
        nip, the data bound ``tau`` from above only, and the lower end (a log-scale interval
        never reaches 0) says little.
    """
    y = _checks.finite_array(porosity, "porosity", ndim=1)
    eps0 = np.broadcast_to(_checks.finite_array(porosity_coated, "porosity_coated"), y.shape)
    p = np.broadcast_to(_checks.positive_array(peak_pressure_MPa, "peak_pressure_MPa"), y.shape)
    b = np.broadcast_to(_checks.positive_array(half_width_m, "half_width_m"), y.shape)
    v = np.broadcast_to(_checks.positive_array(line_speed_m_s, "line_speed_m_s"), y.shape)
    if law not in ("compaction_exponential", "heckel", "kawakita"):
        raise ValueError(f"law must be compaction_exponential, heckel or kawakita, got {law!r}")
    td = 2.0 * b / v
    params = _law_params(law, p, y, eps0)
    speeds = np.unique(np.round(v, 12))
    tau_param = Param("relaxation_time", "s", float(np.median(td)) / 10.0, 0.0, math.inf, log=True)
    if speeds.size < 2:
        return skipped(
            "nip_relaxation",
            [*params, tau_param],
            y.size,
            "the relaxation time needs a series that varies the line speed (one speed in this series)",
        )
    k_law = len(params)

    def predict(th):
        return nip_exit_porosity(
            porosity_initial=eps0,
            peak_pressure_MPa=p,
            dwell_time_s=td,
            relaxation_time_s=th[k_law],
            equilibrium_porosity=_law_eq(law, th[:k_law], eps0),
            irreversible=irreversible,
            n_steps=n_steps,
        )

    # start tau from a grid with the law at its quasi-static start values
    start = [q.start for q in params]
    best = None
    for tau in np.median(td) * np.logspace(-3, 1, 17):
        r = predict([*start, tau]) - y
        rss = float(r @ r)
        if best is None or rss < best[0]:
            best = (rss, tau)
    tau_param = Param("relaxation_time", "s", float(best[1]), 0.0, math.inf, log=True)
    sigma = None
    if porosity_stderr is not None:
        sigma = np.broadcast_to(_checks.positive_array(porosity_stderr, "porosity_stderr"), y.shape)
    rows = nls(
        "nip_relaxation",
        [*params, tau_param],
        predict,
        y,
        sigma=sigma,
        extra_flags=f"law={law}; {'irreversible' if irreversible else 'reversible'} relaxation",
    ).rows
    tau_row = rows.index[rows["parameter"] == "relaxation_time"]
    if np.all(rows.loc[tau_row, "ci_high"] < float(td.min())):
        rows.loc[tau_row, "flags"] = rows.loc[tau_row, "flags"] + "; quasi_static"
    return rows
