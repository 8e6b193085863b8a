"""GITT analysis: pulse detection, Weppner-Huggins, the sphere-exact inversion, a full ensemble fit, Arrhenius.

A galvanostatic intermittent titration record (time, current, voltage) is cut into pulses from the
current alone (:func:`detect_pulses`); each pulse gets its IR step, its transient ``Delta E_t``
and the change of the relaxed voltage ``Delta E_s`` (:func:`analyze_gitt`). Three estimates of the
solid diffusivity follow, each more faithful than the last:

1. **Weppner-Huggins** (:func:`weppner_huggins_diffusivity`): the short-time (``sqrt t``) limit,
   ``D = 4 / (pi tau) (R/3)^2 (Delta E_s / Delta E_t)^2`` with ``R = 3 V / S`` the Sauter radius of
   the CT size distribution. It is biased low once ``D tau / R^2`` is not small (0.945, 0.833,
   0.537, 0.316 of the true D at ``T = 1e-3, 0.01, 0.1, 0.3``).
2. **Sphere-exact inversion** (:func:`sphere_corrected_diffusivity`): with a locally linear OCV,
   ``Delta E_t / Delta E_s = Delta c_s(tau) / Delta c_avg(tau) = f(T) / (3 T)``, ``f`` Crank's
   constant-flux surface series (:func:`batteryct.diffusion.crank_constant_flux_surface`); solved
   for ``T``, ``D = T R^2 / tau``. Exact for one particle size at any pulse length.
3. **Full fit** (:func:`fit_gitt`): the ensemble model of :mod:`batteryct.diffusion` with the CT
   radii and volume fractions and the OCV interpolated through the relaxed voltages, fitted to the
   whole voltage record (``scipy.optimize.least_squares``) for ``log10 D`` (one, or one per pulse)
   and a series resistance; 95 % intervals from the Jacobian, checked by a residual bootstrap.

:func:`arrhenius_fit` turns D at several temperatures (with intervals) into an activation energy
and D at a reference temperature, with intervals; :func:`arrhenius` evaluates the law.

Conventions are those of :mod:`batteryct.diffusion`: ``current_A[i]`` flows during
``(time_s[i-1], time_s[i]]`` (so a pulse whose first sample with current is ``i`` starts at
``time_s[i-1]``); positive current = discharge = lithiation of a cathode (stoichiometry rises).

References
----------
W. Weppner and R. A. Huggins, J. Electrochem. Soc. 124 (1977) 1569-1578.
J. Crank, *The Mathematics of Diffusion*, 2nd ed., Oxford 1975, eq. 6.33.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from batteryct import _checks
from batteryct.diffusion import (
    FARADAY_C_MOL,
    GAS_CONSTANT_J_MOL_K,
    _modal_setup,
    _mode_tables,
    _ocv_knots_from_callable,
    _run_modes,
    _series_terms,
    check_size_distribution,
    crank_constant_flux_surface,
    sauter_radius_m,
)

#: Default limit of ``D tau / R^2`` for Weppner-Huggins: beyond it WH underestimates D by > ~10 %.
WH_MAX_DIMENSIONLESS_TIME = 3e-3

_SLOPE_STEP_V = 1e-7  # central-difference step of the PCHIP knot slopes by the knot values

PULSE_FLAGS = (
    "not_relaxed",
    "too_long_for_wh",
    "small_delta_e_s",
    "sign_mismatch",
    "no_rest_after",
    "no_sphere_solution",
)


# ---------------------------------------------------------------------------------------------
# pulse detection
# ---------------------------------------------------------------------------------------------


def current_noise_A(current_A) -> float:
    """Estimate the standard deviation of white current noise from the sample-to-sample changes.

    ``1.4826 MAD(diff I) / sqrt(2)``: the switches are rare, so the median absolute deviation of
    the differences sees only the noise.

    Parameters
    ----------
    current_A : array_like
        Current samples.

    Returns
    -------
    float
        Noise standard deviation (A); 0 for a noise-free record.
    """
    i = _checks.finite_array(current_A, "current_A", ndim=1, min_size=2)
    d = np.diff(i)
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(2.0))


def detect_pulses(time_s, current_A, *, threshold_A: float | None = None, min_samples: int = 2) -> pd.DataFrame:
    """Find the current pulses of a record from the current alone.

    A sample is "on" when ``|I| > threshold`` (sign kept); maximal runs of on-samples of one sign
    are pulses; runs shorter than ``min_samples`` (noise spikes) count as rest.

    Parameters
    ----------
    time_s : array_like
        ``(n,)`` strictly increasing sample times.
    current_A : array_like
        ``(n,)`` current samples (either sign; rests near zero).
    threshold_A : float, optional
        On/off threshold. Default: ``max(8 sigma, 0.05 max|I|)``, ``sigma`` from
        :func:`current_noise_A`.
    min_samples : int, optional
        Shortest accepted pulse, in samples.

    Returns
    -------
    pandas.DataFrame
        One row per pulse: ``pulse``, ``start_index`` (first on-sample), ``end_index`` (last
        on-sample), ``rest_end_index`` (last sample before the next pulse or of the record),
        ``sign`` (+1 lithiation, -1 delithiation), ``start_time_s`` (``time_s[start - 1]``, the
        switch; ``time_s[0]`` if the record starts on), ``end_time_s``, ``duration_s``,
        ``rest_duration_s``, ``mean_current_A``.

    Raises
    ------
    ValueError
        If the arrays are unusable or no pulse is found.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(10.0)
    >>> i = np.array([0, 0, 1, 1, 1, 0, 0, -1, -1, 0]) * 1e-3
    >>> detect_pulses(t, i)[["start_index", "end_index", "sign", "duration_s"]].values.tolist()
    [[2.0, 4.0, 1.0, 3.0], [7.0, 8.0, -1.0, 2.0]]
    """
    t = _checks.increasing_array(time_s, "time_s")
    i = _checks.finite_array(current_A, "current_A", ndim=1)
    if i.shape != t.shape:
        raise ValueError(f"current_A must have the shape of time_s {t.shape}, got {i.shape}")
    min_samples = _checks.check_int(min_samples, "min_samples", 1)
    if threshold_A is None:
        imax = float(np.max(np.abs(i)))
        threshold = max(8.0 * current_noise_A(i), 0.05 * imax)
    else:
        threshold = _checks.positive_scalar(threshold_A, "threshold_A")
    state = np.where(np.abs(i) > threshold, np.sign(i), 0.0).astype(int)
    edges = np.flatnonzero(np.diff(state)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges - 1, [i.size - 1]])
    runs = [(s, e, state[s]) for s, e in zip(starts, ends) if state[s] != 0 and e - s + 1 >= min_samples]
    if not runs:
        raise ValueError(f"no current pulse found (threshold {threshold:.3g} A)")
    rows = []
    for k, (s, e, sg) in enumerate(runs):
        rest_end = runs[k + 1][0] - 1 if k + 1 < len(runs) else i.size - 1
        t_on = t[s - 1] if s > 0 else t[0]
        rows.append(
            {
                "pulse": k,
                "start_index": int(s),
                "end_index": int(e),
                "rest_end_index": int(rest_end),
                "sign": int(sg),
                "start_time_s": float(t_on),
                "end_time_s": float(t[e]),
                "duration_s": float(t[e] - t_on),
                "rest_duration_s": float(t[rest_end] - t[e]),
                "mean_current_A": float(np.mean(i[s : e + 1])),
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Weppner-Huggins and the sphere-exact inversion
# ---------------------------------------------------------------------------------------------


def weppner_huggins_diffusivity(duration_s, sauter_radius_m, delta_e_s_V, delta_e_t_V):
    """Return the Weppner-Huggins diffusivity ``4 / (pi tau) (R/3)^2 (Delta E_s / Delta E_t)^2``.

    ``R / 3 = V / S`` for spheres; with a size distribution ``R`` is the Sauter radius
    (:func:`batteryct.diffusion.sauter_radius_m`).

    Parameters
    ----------
    duration_s : float or array_like
        Pulse duration ``tau``.
    sauter_radius_m : float
        ``R = 3 V / S``.
    delta_e_s_V, delta_e_t_V : float or array_like
        Change of the relaxed voltage over the pulse and its rest; voltage change during the
        pulse without the IR step.

    Returns
    -------
    numpy.ndarray or float
        D (m^2/s).

    References
    ----------
    W. Weppner and R. A. Huggins, J. Electrochem. Soc. 124 (1977) 1569, eq. 27.

    Examples
    --------
    >>> round(weppner_huggins_diffusivity(100.0, 3e-6, 0.01, 0.02) * 1e15, 6)
    3.183099
    """
    tau = np.asarray(duration_s, dtype=float)
    r = _checks.positive_scalar(sauter_radius_m, "sauter_radius_m")
    ratio = np.asarray(delta_e_s_V, dtype=float) / np.asarray(delta_e_t_V, dtype=float)
    out = 4.0 / (np.pi * tau) * (r / 3.0) ** 2 * ratio**2
    return float(out) if out.ndim == 0 else out


@functools.lru_cache(maxsize=4)
def _ratio_table() -> tuple[np.ndarray, np.ndarray]:
    """``log T`` and ``log(f(T) / 3T - 1)`` on a fine grid, for a fast monotone inversion."""
    log_t = np.linspace(math.log(1e-8), math.log(1e3), 1101)
    tt = np.exp(log_t)
    ratio = crank_constant_flux_surface(tt) / (3.0 * tt)
    return log_t, np.log(ratio - 1.0)


def sphere_voltage_ratio(dimensionless_time) -> np.ndarray:
    """Return ``Delta E_t / Delta E_s = f(T) / (3 T)`` of a sphere with a linear OCV.

    ``f`` is :func:`batteryct.diffusion.crank_constant_flux_surface`: the surface rises by
    ``f(T) jR/D`` during the pulse, the mean (which the relaxed voltage follows) by ``3T jR/D``.

    Parameters
    ----------
    dimensionless_time : float or array_like
        ``T = D tau / R^2`` (> 0).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> round(float(sphere_voltage_ratio(0.1)), 5)
    1.62254
    """
    t = _checks.positive_array(dimensionless_time, "dimensionless_time")
    return crank_constant_flux_surface(t) / (3.0 * t)


def _ratio_minus(q: float, log_t_min: float):
    """``g(log T) = f(T) / (3T) - q`` with Crank's series summed on roots enough for ``T >= exp(log_t_min)``."""
    inv_a2 = 1.0 / _mode_tables()[0][: _series_terms(math.exp(log_t_min), 1.0)]
    const = 2.0 * (0.1 - float(np.sum(inv_a2)))

    def g(lt):
        tt = math.exp(lt)
        return (3.0 * tt + 2.0 * float(np.sum(-np.expm1(-tt / inv_a2) * inv_a2)) + const) / (3.0 * tt) - q

    return g


def sphere_corrected_diffusivity(duration_s, sauter_radius_m, delta_e_s_V, delta_e_t_V):
    """Return D from the exact constant-flux sphere transient instead of the ``sqrt t`` limit.

    Solves ``f(T) / (3 T) = Delta E_t / Delta E_s`` for ``T`` (:func:`sphere_voltage_ratio` is
    monotone decreasing from infinity to 1) and returns ``T R^2 / tau``. Ratios at or below 1
    (no solution) give NaN.

    Parameters
    ----------
    duration_s : float or array_like
        Pulse duration ``tau``.
    sauter_radius_m : float
        Particle (Sauter) radius.
    delta_e_s_V, delta_e_t_V : float or array_like
        As :func:`weppner_huggins_diffusivity`.

    Returns
    -------
    numpy.ndarray or float
        D (m^2/s).

    References
    ----------
    J. Crank, *The Mathematics of Diffusion*, 2nd ed. (1975), eq. 6.33.

    Examples
    --------
    >>> r = float(sphere_voltage_ratio(0.1))
    >>> round(sphere_corrected_diffusivity(1000.0, 5e-6, 1.0, r) * 1e15, 6)
    2.5
    """
    from scipy.optimize import brentq

    tau = np.asarray(duration_s, dtype=float)
    r = _checks.positive_scalar(sauter_radius_m, "sauter_radius_m")
    ratio = np.asarray(delta_e_t_V, dtype=float) / np.asarray(delta_e_s_V, dtype=float)
    tau_b, ratio_b = np.broadcast_arrays(tau, ratio)
    log_t, log_excess = _ratio_table()
    out = np.full(ratio_b.shape, np.nan)
    for idx in np.ndindex(ratio_b.shape):
        q = float(ratio_b[idx])
        if not np.isfinite(q) or q <= 1.0 or not np.isfinite(tau_b[idx]) or tau_b[idx] <= 0:
            continue
        y = math.log(q - 1.0)
        if y > log_excess[0]:  # T < 1e-8: short-time limit f ~ 2 sqrt(T / pi)
            tt = (2.0 / (3.0 * q)) ** 2 / np.pi
        elif y < log_excess[-1]:
            continue
        else:
            k = int(np.searchsorted(-log_excess, -y))
            lo, hi = log_t[max(k - 1, 0)], log_t[min(k, log_t.size - 1)]
            g = _ratio_minus(q, lo)
            if g(lo) * g(hi) > 0:
                lo, hi = log_t[0], log_t[-1]
                g = _ratio_minus(q, lo)
            tt = math.exp(brentq(g, lo, hi, xtol=1e-13, rtol=1e-13))
        out[idx] = tt * r**2 / tau_b[idx]
    return float(out) if out.ndim == 0 else out


# ---------------------------------------------------------------------------------------------
# per-pulse analysis
# ---------------------------------------------------------------------------------------------


def _end_fit(t: np.ndarray, v: np.ndarray, lo: int, hi: int, window_s: float):
    """Linear fit of ``v`` on the samples ``[lo, hi]`` within ``window_s`` of ``t[hi]``.

    Returns ``(value at t[hi], slope, slope std, value std, residual std, n)``; at least 3
    samples when available.
    """
    idx = np.arange(lo, hi + 1)
    sel = idx[t[idx] >= t[hi] - window_s]
    if sel.size < 3:
        sel = idx[-min(3, idx.size) :]
    if sel.size < 2:
        return float(v[hi]), np.nan, np.nan, np.nan, np.nan, int(sel.size)
    x = t[sel] - t[hi]
    a = np.vstack([np.ones_like(x), x]).T
    coef, *_ = np.linalg.lstsq(a, v[sel], rcond=None)
    res = v[sel] - a @ coef
    dof = sel.size - 2
    s = float(np.sqrt(res @ res / dof)) if dof > 0 else np.nan
    cov = np.linalg.pinv(a.T @ a) * (s**2 if dof > 0 else np.nan)
    return float(coef[0]), float(coef[1]), float(np.sqrt(cov[1, 1])), float(np.sqrt(cov[0, 0])), s, int(sel.size)


def _start_fit(t: np.ndarray, v: np.ndarray, t_on: float, s: int, e: int, window_s: float) -> float:
    """Intercept at ``t_on`` of ``v = a + b sqrt(t - t_on) + c (t - t_on)`` on the first pulse samples.

    The linear term is the sphere's curvature correction of the ``sqrt t`` response (Crank's
    surface series starts ``2 sqrt(T / pi) + T``); with fewer than 5 samples in the window it is
    dropped, with fewer than 2 the first sample is returned.
    """
    idx = np.arange(s, e + 1)
    sel = idx[t[idx] - t_on <= window_s]
    if sel.size < 5:
        sel = idx[: min(5, idx.size)]
    if sel.size < 2:
        return float(v[s])
    dt = t[sel] - t_on
    cols = [np.ones_like(dt), np.sqrt(dt)] + ([dt] if sel.size >= 5 else [])
    a = np.vstack(cols).T
    coef, *_ = np.linalg.lstsq(a, v[sel], rcond=None)
    return float(coef[0])


def cumulative_charge_C(time_s, current_A) -> np.ndarray:
    """Return the charge passed up to each sample, ``q[i] = sum_{m <= i} I_m (t_m - t_{m-1})``.

    Parameters
    ----------
    time_s, current_A : array_like
        ``(n,)`` record (``current_A[m]`` flows during ``(t[m-1], t[m]]``).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` charge in C (``q[0] = 0``; positive = lithiation).
    """
    t = _checks.increasing_array(time_s, "time_s")
    i = _checks.finite_array(current_A, "current_A", ndim=1)
    return np.concatenate([[0.0], np.cumsum(i[1:] * np.diff(t))])


def open_circuit_current_A(current_A, pulses: pd.DataFrame) -> np.ndarray:
    """Return the current with every sample outside the pulses set to zero (open-circuit rests).

    In a GITT rest the cell is at open circuit: what the cycler logs there is measurement noise
    and offset. Integrated over long rests it would walk the charge (and the stoichiometry) away
    from the truth, so the analysis and the fits count charge only during the pulses.

    Parameters
    ----------
    current_A : array_like
        ``(n,)`` current samples.
    pulses : pandas.DataFrame
        :func:`detect_pulses` table of the record (``start_index``, ``end_index``).

    Returns
    -------
    numpy.ndarray
        ``(n,)``: the measured current on the samples ``start_index..end_index`` of each pulse,
        0 elsewhere.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(8.0)
    >>> i = np.array([1e-6, 0, 1e-3, 1e-3, 2e-6, -1e-6, 0, 0])
    >>> open_circuit_current_A(i, detect_pulses(t, i)).tolist()
    [0.0, 0.0, 0.001, 0.001, 0.0, 0.0, 0.0, 0.0]
    """
    i = _checks.finite_array(current_A, "current_A", ndim=1)
    on = np.zeros(i.size, bool)
    for s, e in zip(pulses["start_index"].to_numpy(), pulses["end_index"].to_numpy()):
        on[int(s) : int(e) + 1] = True
    return np.where(on, i, 0.0)


def analyze_gitt(
    time_s,
    current_A,
    voltage_V,
    *,
    sauter_radius_m: float,
    initial_stoichiometry: float,
    max_concentration_mol_m3: float,
    active_volume_m3: float,
    threshold_A: float | None = None,
    ir_window_fraction: float = 0.05,
    end_window_fraction: float = 0.05,
    relax_window_fraction: float = 0.1,
    relaxed_dvdt_V_s: float = 5e-7,
    wh_max_dimensionless_time: float = WH_MAX_DIMENSIONLESS_TIME,
    open_circuit_rests: bool = True,
) -> pd.DataFrame:
    """Analyse every pulse of a GITT record: IR step, ``Delta E_t``, ``Delta E_s``, WH and sphere D.

    Per pulse (start ``s``, end ``e``, rest until ``r``; see :func:`detect_pulses`):

    * relaxed voltages before and after: value at the end of the rest before / after of a linear
      fit over the last ``relax_window_fraction`` of that rest (noise-averaged), with its slope
      (the relaxation check: ``not_relaxed`` when ``|dV/dt| > relaxed_dvdt_V_s`` and the slope is
      significant at 3 standard deviations);
    * IR step: intercept at the switch of ``V = a + b sqrt(t - t_on) + c (t - t_on)`` over the
      first ``ir_window_fraction`` of the pulse, minus the relaxed voltage before (it holds the
      ohmic and the charge-transfer drop);
    * ``Delta E_t``: voltage at the pulse end (linear fit over the last ``end_window_fraction``)
      minus that intercept; ``Delta E_s``: relaxed after minus relaxed before;
    * stoichiometry before/after from the charge counted since the start of the record,
      ``x = x0 + q / (F c_max V)`` (with ``open_circuit_rests`` only the charge of the pulses,
      :func:`open_circuit_current_A`).

    Parameters
    ----------
    time_s, current_A, voltage_V : array_like
        ``(n,)`` record.
    sauter_radius_m : float
        ``R = 3 V / S`` of the sample (CT: :func:`batteryct.diffusion.sauter_radius_m`).
    initial_stoichiometry : float
        ``x`` at ``time_s[0]``.
    max_concentration_mol_m3 : float
        ``c_max``.
    active_volume_m3 : float
        Active-material volume.
    threshold_A : float, optional
        Pulse threshold (see :func:`detect_pulses`).
    ir_window_fraction, end_window_fraction, relax_window_fraction : float, optional
        Fit windows as fractions of the pulse or rest duration (at least 3 samples each).
    relaxed_dvdt_V_s : float, optional
        Relaxation criterion on ``|dV/dt|`` at the end of a rest.
    wh_max_dimensionless_time : float, optional
        ``too_long_for_wh`` when ``D tau / R^2`` (sphere-corrected D, else WH) exceeds it.
    open_circuit_rests : bool, optional
        Count charge only during the pulses (the rests are at open circuit; their logged current
        is noise). False: integrate the whole measured current.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`detect_pulses` and ``charge_C``, ``stoichiometry_before``,
        ``stoichiometry_after``, ``voltage_before_V``, ``voltage_after_V``, ``ir_step_V``,
        ``delta_e_t_V``, ``delta_e_s_V``, ``delta_e_s_std_V``, ``relaxation_dvdt_V_s``,
        ``diffusivity_wh_m2_s``, ``diffusivity_sphere_m2_s``, ``dimensionless_time``, one boolean
        column per flag of :data:`PULSE_FLAGS` and ``flag_names`` (the raised ones, comma-separated).

    Raises
    ------
    ValueError
        If the arrays are unusable or no pulse is found.

    Examples
    --------
    See :func:`fit_gitt`; ``tests/test_gitt.py`` runs it on simulated records.
    """
    t = _checks.increasing_array(time_s, "time_s")
    i = _checks.finite_array(current_A, "current_A", ndim=1)
    v = _checks.finite_array(voltage_V, "voltage_V", ndim=1)
    if not (i.shape == v.shape == t.shape):
        raise ValueError(f"time_s, current_A and voltage_V must have one shape, got {t.shape}, {i.shape}, {v.shape}")
    r = _checks.positive_scalar(sauter_radius_m, "sauter_radius_m")
    x0 = _checks.fraction(initial_stoichiometry, "initial_stoichiometry")
    c_max = _checks.positive_scalar(max_concentration_mol_m3, "max_concentration_mol_m3")
    v_act = _checks.positive_scalar(active_volume_m3, "active_volume_m3")
    pulses = detect_pulses(t, i, threshold_A=threshold_A)
    q = cumulative_charge_C(t, open_circuit_current_A(i, pulses) if open_circuit_rests else i)
    x = x0 + q / (FARADAY_C_MOL * c_max * v_act)
    rows = []
    prev = None
    columns = {c: pulses[c].to_numpy().tolist() for c in pulses.columns}
    for p in (dict(zip(columns, vals)) for vals in zip(*columns.values())):
        s, e, re_ = p["start_index"], p["end_index"], p["rest_end_index"]
        t_on = p["start_time_s"]
        if prev is not None:
            vb, vb_std = prev
        elif s >= 1:
            vb, _, _, vb_std, _, _ = _end_fit(t, v, 0, s - 1, relax_window_fraction * (t[s - 1] - t[0]))
        else:
            vb, vb_std = float(v[0]), np.nan
        va, sa, sa_std, va_std, _, n_rest = _end_fit(
            t, v, e + 1 if re_ > e else e, re_, relax_window_fraction * p["rest_duration_s"]
        )
        v_start = _start_fit(t, v, t_on, s, e, ir_window_fraction * p["duration_s"])
        v_end, *_ = _end_fit(t, v, s, e, end_window_fraction * p["duration_s"])
        d_et = v_end - v_start
        d_es = va - vb
        d_es_std = float(np.hypot(va_std, vb_std)) if np.isfinite(va_std) and np.isfinite(vb_std) else np.nan
        d_wh = weppner_huggins_diffusivity(p["duration_s"], r, d_es, d_et)
        d_sph = sphere_corrected_diffusivity(p["duration_s"], r, d_es, d_et)
        d_for_t = d_sph if np.isfinite(d_sph) else d_wh
        t_dimless = d_for_t * p["duration_s"] / r**2
        flags = {
            "not_relaxed": bool(
                np.isfinite(sa) and abs(sa) > relaxed_dvdt_V_s and (not np.isfinite(sa_std) or abs(sa) > 3 * sa_std)
            ),
            "too_long_for_wh": bool(np.isfinite(t_dimless) and t_dimless > wh_max_dimensionless_time),
            "small_delta_e_s": bool(np.isfinite(d_es_std) and abs(d_es) < 5 * d_es_std),
            "sign_mismatch": bool(d_es * d_et <= 0),
            "no_rest_after": bool(re_ - e < 3),
            "no_sphere_solution": bool(not np.isfinite(d_sph)),
        }
        rows.append(
            {
                **p,
                "charge_C": float(q[e] - q[max(s - 1, 0)]),
                "stoichiometry_before": float(x[max(s - 1, 0)]),
                "stoichiometry_after": float(x[re_]),
                "voltage_before_V": vb,
                "voltage_after_V": va,
                "ir_step_V": v_start - vb,
                "delta_e_t_V": d_et,
                "delta_e_s_V": d_es,
                "delta_e_s_std_V": d_es_std,
                "relaxation_dvdt_V_s": sa,
                "diffusivity_wh_m2_s": d_wh,
                "diffusivity_sphere_m2_s": d_sph,
                "dimensionless_time": t_dimless,
                **flags,
                "flag_names": ",".join(k for k, val in flags.items() if val),
            }
        )
        prev = (va, va_std)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# full ensemble fit
# ---------------------------------------------------------------------------------------------


def _pchip_slopes(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Slopes at the knots of the PCHIP interpolant through ``(x, u)`` (those of :class:`RelaxedOcv`).

    The algorithm of ``scipy.interpolate.PchipInterpolator`` (Fritsch-Butland weighted harmonic
    means inside, the shape-preserving three-point formula at the ends), vectorised over the
    leading axes of ``u`` (``(..., n)``).
    """
    h = np.diff(x)
    m = np.diff(u, axis=-1) / h
    d = np.zeros(u.shape)
    if x.size == 2:
        d[..., 0] = d[..., 1] = m[..., 0]
        return d
    w1 = 2.0 * h[1:] + h[:-1]
    w2 = h[1:] + 2.0 * h[:-1]
    flat = (np.sign(m[..., 1:]) != np.sign(m[..., :-1])) | (m[..., 1:] == 0) | (m[..., :-1] == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = (w1 + w2) / (w1 / m[..., :-1] + w2 / m[..., 1:])
    d[..., 1:-1] = np.where(flat, 0.0, inner)

    def edge(h0, h1, m0, m1):
        e = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
        e = np.where(np.sign(e) != np.sign(m0), 0.0, e)
        return np.where((np.sign(m0) != np.sign(m1)) & (np.abs(e) > 3.0 * np.abs(m0)), 3.0 * m0, e)

    d[..., 0] = edge(h[0], h[1], m[..., 0], m[..., 1])
    d[..., -1] = edge(h[-1], h[-2], m[..., -1], m[..., -2])
    return d


def _pchip_slope_sensitivity(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``S[m, p] = d slope_m / d u_p`` of :func:`_pchip_slopes` (central differences)."""
    step = _SLOPE_STEP_V * np.eye(x.size)
    return ((_pchip_slopes(x, u + step) - _pchip_slopes(x, u - step)) / (2.0 * _SLOPE_STEP_V)).T


class RelaxedOcv:
    """OCV through relaxed ``(x, V)`` points: PCHIP inside, straight lines (end slopes) outside.

    Repeated stoichiometries (within 1e-9) are merged (voltages averaged).

    Parameters
    ----------
    stoichiometry : array_like
        ``x`` of the relaxed points (any order).
    voltage_V : array_like
        Their voltages.

    Raises
    ------
    ValueError
        If fewer than 2 distinct stoichiometries remain.

    Examples
    --------
    >>> ocv = RelaxedOcv([0.5, 0.6, 0.7], [3.9, 3.8, 3.75])
    >>> [round(float(u), 4) for u in ocv([0.6, 0.8])]  # beyond 0.7: PCHIP's end slope
    [3.8, 3.725]
    """

    def __init__(self, stoichiometry, voltage_V):
        from scipy.interpolate import PchipInterpolator

        x = _checks.finite_array(stoichiometry, "stoichiometry", ndim=1)
        u = _checks.finite_array(voltage_V, "voltage_V", ndim=1)
        if x.shape != u.shape:
            raise ValueError(f"stoichiometry and voltage_V must have one shape, got {x.shape} and {u.shape}")
        order = np.argsort(x, kind="stable")
        x, u = x[order], u[order]
        group = np.concatenate([[0], np.cumsum(np.diff(x) > 1e-9)])
        xs = np.array([x[group == g].mean() for g in range(group[-1] + 1)])
        us = np.array([u[group == g].mean() for g in range(group[-1] + 1)])
        if xs.size < 2:
            raise ValueError("RelaxedOcv needs at least 2 distinct stoichiometries")
        self.stoichiometry = xs
        self.voltage_V = us
        self._p = PchipInterpolator(xs, us, extrapolate=False)
        d = self._p.derivative()
        self._s0, self._s1 = float(d(xs[0])), float(d(xs[-1]))

    def __call__(self, x):
        """Return the OCV (V) at stoichiometry ``x``."""
        x = np.asarray(x, dtype=float)
        out = self._p(np.clip(x, self.stoichiometry[0], self.stoichiometry[-1]))
        out = np.where(x < self.stoichiometry[0], self.voltage_V[0] + self._s0 * (x - self.stoichiometry[0]), out)
        out = np.where(x > self.stoichiometry[-1], self.voltage_V[-1] + self._s1 * (x - self.stoichiometry[-1]), out)
        return out


def fit_time_nodes(time_s, pulses: pd.DataFrame, *, points_per_segment: int = 24) -> np.ndarray:
    """Choose the samples a fit evaluates: geometric in time after every switch.

    Each pulse (from its switch, ``start_index - 1``, to ``end_index``) and each rest (from
    ``end_index`` to ``rest_end_index``) gets up to ``points_per_segment`` samples spaced
    geometrically from the first sample after the switch to the segment end (both included); the
    rest before the first pulse gets ``points_per_segment`` evenly spaced ones (it pins the OCV at
    the initial stoichiometry).

    Parameters
    ----------
    time_s : array_like
        ``(n,)`` record times.
    pulses : pandas.DataFrame
        Output of :func:`detect_pulses` (or :func:`analyze_gitt`).
    points_per_segment : int, optional
        Samples per pulse and per rest (fewer when the segment has fewer).

    Returns
    -------
    numpy.ndarray
        Sorted unique sample indices, starting at 0.
    """
    t = _checks.increasing_array(time_s, "time_s")
    m = _checks.check_int(points_per_segment, "points_per_segment", 2)
    s0 = int(pulses["start_index"].iloc[0])
    nodes = np.unique(np.round(np.linspace(0, max(s0 - 1, 0), min(m, max(s0, 1))))).astype(int).tolist()
    cols = [pulses[c].to_numpy() for c in ("start_index", "end_index", "rest_end_index")]
    for s, e, re_ in zip(*(c.astype(int).tolist() for c in cols)):
        for a, b in ((max(s - 1, 0), e), (e, re_)):
            if b <= a:
                continue
            nodes.append(a)
            dt0 = t[a + 1] - t[a]
            target = t[a] + np.geomspace(dt0, t[b] - t[a], m)
            k = np.clip(np.searchsorted(t, target - 1e-9 * (t[b] - t[a])), a + 1, b)
            nodes.extend(k.tolist())
            nodes.append(b)
    return np.unique(np.asarray(nodes, dtype=np.int64))


@dataclass(frozen=True)
class GittFit:
    """Result of :func:`fit_gitt`.

    Attributes
    ----------
    diffusivity_m2_s : float or numpy.ndarray
        Fitted D (one value, or one per pulse with ``per_pulse``).
    diffusivity_low_m2_s, diffusivity_high_m2_s : float or numpy.ndarray
        Interval from the Jacobian (t-distribution, residual variance) at ``confidence``.
    diffusivity_bootstrap_low_m2_s, diffusivity_bootstrap_high_m2_s : float or numpy.ndarray
        Percentile interval of the residual bootstrap (NaN without bootstrap).
    series_resistance_ohm, series_resistance_low_ohm, series_resistance_high_ohm : float
        Fitted series resistance and its Jacobian interval.
    series_resistance_bootstrap_low_ohm, series_resistance_bootstrap_high_ohm : float
        Its bootstrap interval (NaN without bootstrap).
    interval_ratio : float or numpy.ndarray
        Bootstrap standard deviation of ``log10 D`` over the Jacobian standard error (NaN without
        bootstrap).
    interval_disagreement : bool
        Some ``interval_ratio`` is outside ``[1/2, 2]``.
    per_pulse : bool
        One D per pulse (applied during the pulse and its rest).
    pulse_stoichiometry : numpy.ndarray
        Mean stoichiometry of each pulse (``(before + after) / 2``), where each D applies.
    residual_rms_V : float
        Root-mean-square residual.
    n_points, n_parameters : int
        Fitted samples and parameters.
    node_index : numpy.ndarray
        Record samples the model was evaluated at.
    model_voltage_V, measured_voltage_V : numpy.ndarray
        At ``node_index``.
    fitted : numpy.ndarray
        Boolean mask over ``node_index`` of the samples in the residuals.
    ocv_stoichiometry, ocv_voltage_V : numpy.ndarray
        Points the model's OCV interpolates (fitted values with ``fit_ocv``); empty when an OCV
        was given.
    ocv_relaxed_voltage_V : numpy.ndarray
        The relaxed voltages at ``ocv_stoichiometry`` (the start of the OCV fit).
    pulses : pandas.DataFrame
        :func:`analyze_gitt` table of the record.
    confidence : float
        Level of the intervals.
    success : bool
        ``least_squares`` reported convergence.
    message : str
        Its message.
    nfev : int
        Model evaluations of the main fit.
    """

    diffusivity_m2_s: float | np.ndarray
    diffusivity_low_m2_s: float | np.ndarray
    diffusivity_high_m2_s: float | np.ndarray
    diffusivity_bootstrap_low_m2_s: float | np.ndarray
    diffusivity_bootstrap_high_m2_s: float | np.ndarray
    series_resistance_ohm: float
    series_resistance_low_ohm: float
    series_resistance_high_ohm: float
    series_resistance_bootstrap_low_ohm: float
    series_resistance_bootstrap_high_ohm: float
    interval_ratio: float | np.ndarray
    interval_disagreement: bool
    per_pulse: bool
    pulse_stoichiometry: np.ndarray
    residual_rms_V: float
    n_points: int
    n_parameters: int
    node_index: np.ndarray
    model_voltage_V: np.ndarray
    measured_voltage_V: np.ndarray
    fitted: np.ndarray
    ocv_stoichiometry: np.ndarray
    ocv_voltage_V: np.ndarray
    ocv_relaxed_voltage_V: np.ndarray
    pulses: pd.DataFrame = field(repr=False)
    confidence: float = 0.95
    success: bool = True
    message: str = ""
    nfev: int = 0


def fit_gitt(
    time_s,
    current_A,
    voltage_V,
    *,
    radius_m,
    volume_fraction,
    exchange_current_density_A_m2: float,
    temperature_K: float,
    active_volume_m3: float,
    max_concentration_mol_m3: float,
    initial_stoichiometry: float,
    per_pulse: bool = False,
    split: str = "potential",
    points_per_segment: int = 24,
    skip_after_switch_s: float = 0.0,
    fit_ocv: bool = True,
    open_circuit_rests: bool = True,
    confidence: float = 0.95,
    n_bootstrap: int = 0,
    bootstrap_block: int = 1,
    seed: int = 0,
    threshold_A: float | None = None,
    ocv_V: Callable | None = None,
) -> GittFit:
    """Fit D (and a series resistance) of a size ensemble to a whole GITT voltage record.

    The model is :func:`batteryct.diffusion.simulate_ensemble` with the given (CT) radii and
    volume fractions, the given kinetics, and an OCV interpolated (:class:`RelaxedOcv`) through
    the relaxed voltages of the record (:func:`analyze_gitt`) unless ``ocv_V`` is given. It is
    evaluated at the samples of :func:`fit_time_nodes` (the step currents are the
    charge-averaged measured currents), and ``scipy.optimize.least_squares`` adjusts ``log10 D``
    (one, or one per pulse), ``R_s`` and (``fit_ocv``) the OCV values at the knots as nuisance
    parameters: first ``D`` and ``R_s`` at the relaxed OCV, then all together from there.
    Jacobian: forward differences (log10 D and the OCV knots), exact for ``R_s`` (the voltage is
    linear in it). Intervals: ``theta +- t_{n-p} sqrt(diag(s^2 (J^T J)^-1))`` with all parameters
    free (``log10 D`` symmetric, so D's interval is multiplicative); with ``n_bootstrap > 0`` also
    the percentile interval of a residual bootstrap (blocks of ``bootstrap_block`` consecutive
    residuals, refits started at the optimum), and ``interval_disagreement`` when the bootstrap
    standard deviation and the Jacobian standard error of ``log10 D``    differ by more than a factor 2.

    Parameters
    ----------
    time_s, current_A, voltage_V : array_like
        ``(n,)`` record (conventions of :mod:`batteryct.diffusion`).
    radius_m, volume_fraction : array_like
        Size classes of the sample (CT).
    exchange_current_density_A_m2, temperature_K, active_volume_m3, max_concentration_mol_m3 : float
        As :func:`batteryct.diffusion.simulate_ensemble`.
    initial_stoichiometry : float
        ``x`` at ``time_s[0]``.
    per_pulse : bool, optional
        One ``log10 D`` per pulse (``D(x)``), else one for the record.
    split : {"potential", "uniform"}, optional
        Current split of the ensemble model.
    points_per_segment : int, optional
        Samples per pulse and per rest (:func:`fit_time_nodes`).
    skip_after_switch_s : float, optional
        Leave out of the residuals the samples closer than this to a switch (e.g. a double-layer
        or RC transient the model lacks); they are still simulated.
    fit_ocv : bool, optional
        Fit the OCV values at the relaxed stoichiometries together with D and ``R_s`` (started at
        the relaxed voltages), plus one knot half a pulse beyond the last relaxed point that the
        particle surfaces overshoot, so that their uncertainty enters D's interval and a rest too
        short for the largest particles does not bias the OCV; else keep the OCV at the relaxed
        voltages (faster, biased when rests are short).
    n_shells, grading, switch_substeps : optional
        Radial grid and sub-steps after switches of the model (:func:`batteryct.diffusion.simulate_ensemble`).
    confidence : float, optional
        Interval level.
    n_bootstrap : int, optional
        Bootstrap refits (0 = none).
    bootstrap_block : int, optional
        Block length (in fitted samples) of the residual bootstrap; 1 = independent residuals.
    seed : int, optional
        Seed of the bootstrap.
    threshold_A : float, optional
        Pulse threshold (:func:`detect_pulses`).
    ocv_V : callable, optional
        A known OCV ``U(x)`` instead of the relaxed-voltage interpolation.

    Returns
    -------
    GittFit

    Raises
    ------
    ValueError
        If an argument is out of range or the record has no usable pulse.

    Examples
    --------
    A 3-pulse record from the forward model is fitted back (without noise D comes back exactly).

    >>> import numpy as np
    >>> from batteryct import cycler
    >>> rec, truth = cycler.virtual_gitt(n_pulses=3, pulse_s=300.0, rest_s=1200.0,
    ...     extra_overpotentials=False, voltage_noise_V=0.0, current_noise_A=0.0, seed=1)
    >>> fit = fit_gitt(rec.time_s, rec.current_A, rec.voltage_V, radius_m=truth.radius_m,
    ...     volume_fraction=truth.volume_fraction, temperature_K=truth.temperature_K,
    ...     exchange_current_density_A_m2=truth.exchange_current_density_A_m2,
    ...     active_volume_m3=truth.active_volume_m3, initial_stoichiometry=truth.initial_stoichiometry,
    ...     max_concentration_mol_m3=truth.max_concentration_mol_m3, ocv_V=truth.ocv_V)
    >>> bool(abs(fit.diffusivity_m2_s / truth.diffusivity_m2_s - 1) < 0.01)
    True
    """
    from scipy import stats
    from scipy.optimize import least_squares

    t = _checks.increasing_array(time_s, "time_s")
    i = _checks.finite_array(current_A, "current_A", ndim=1)
    v = _checks.finite_array(voltage_V, "voltage_V", ndim=1)
    if not (i.shape == v.shape == t.shape):
        raise ValueError(f"time_s, current_A and voltage_V must have one shape, got {t.shape}, {i.shape}, {v.shape}")
    r, phi = check_size_distribution(radius_m, volume_fraction)
    conf = _checks.fraction(confidence, "confidence")
    n_boot = _checks.check_int(n_bootstrap, "n_bootstrap", 0)
    block = _checks.check_int(bootstrap_block, "bootstrap_block", 1)
    skip = _checks.positive_scalar(skip_after_switch_s, "skip_after_switch_s", allow_zero=True)
    x0 = _checks.fraction(initial_stoichiometry, "initial_stoichiometry")
    c_max = _checks.positive_scalar(max_concentration_mol_m3, "max_concentration_mol_m3")
    v_act = _checks.positive_scalar(active_volume_m3, "active_volume_m3")
    pulses = analyze_gitt(
        t,
        i,
        v,
        sauter_radius_m=sauter_radius_m(r, phi),
        initial_stoichiometry=x0,
        max_concentration_mol_m3=c_max,
        active_volume_m3=v_act,
        threshold_A=threshold_A,
        open_circuit_rests=open_circuit_rests,
    )
    n_p = len(pulses)
    fit_ocv_points = ocv_V is None and fit_ocv
    if ocv_V is None:  # points: before the first pulse, after each pulse that has a rest
        has_rest = ~pulses["no_rest_after"].to_numpy()
        ocv_x = np.concatenate(
            [[pulses["stoichiometry_before"].iloc[0]], pulses["stoichiometry_after"].to_numpy()[has_rest]]
        )
        ocv_u0 = np.concatenate([[pulses["voltage_before_V"].iloc[0]], pulses["voltage_after_V"].to_numpy()[has_rest]])
        ocv0 = RelaxedOcv(ocv_x, ocv_u0)
        ocv_x, ocv_u0 = ocv0.stoichiometry, ocv0.voltage_V
        if fit_ocv_points:
            # the surface runs ahead of the mean: one more knot half a step beyond the end that a
            # pulse reaches while moving outwards (PCHIP's straight continuation is a guess there)
            xb = pulses["stoichiometry_before"].to_numpy()
            xa = pulses["stoichiometry_after"].to_numpy()
            extra = []
            k_hi, k_lo = int(np.argmax(xa)), int(np.argmin(xa))
            if xa[k_hi] >= ocv_x[-1] - 1e-12 and xa[k_hi] > xb[k_hi]:
                extra.append(ocv_x[-1] + 0.5 * (xa[k_hi] - xb[k_hi]))
            if xa[k_lo] <= ocv_x[0] + 1e-12 and xa[k_lo] < xb[k_lo]:
                extra.append(ocv_x[0] - 0.5 * (xb[k_lo] - xa[k_lo]))
            if extra:
                xn = np.concatenate([ocv_x, extra])
                ocv0 = RelaxedOcv(xn, ocv0(xn))
                ocv_x, ocv_u0 = ocv0.stoichiometry, ocv0.voltage_V
    else:
        ocv0, ocv_x, ocv_u0 = ocv_V, np.array([]), np.array([])
    n_u = ocv_x.size if fit_ocv_points else 0

    nodes = fit_time_nodes(t, pulses, points_per_segment=points_per_segment)
    i_model = open_circuit_current_A(i, pulses) if open_circuit_rests else i
    q = cumulative_charge_C(t, i_model)
    tn = t[nodes]
    i_nodes = np.concatenate([[i_model[nodes[0]]], np.diff(q[nodes]) / np.diff(tn)])
    x_start = x0 + q[nodes[0]] / (FARADAY_C_MOL * c_max * v_act)
    setup = _modal_setup(
        r,
        phi,
        tn,
        i_nodes,
        exchange_current_density_A_m2=exchange_current_density_A_m2,
        temperature_K=temperature_K,
        active_volume_m3=v_act,
        max_concentration_mol_m3=c_max,
        initial_stoichiometry=float(np.clip(x_start, 0.0, 1.0)),
        split=split,
    )[0]
    # which pulse's D each step uses (pulse k: from its switch to the end of its rest)
    switch_t = pulses["start_time_s"].to_numpy()
    step_pulse = np.clip(np.searchsorted(switch_t, tn, side="left") - 1, 0, n_p - 1)
    seg_start = np.concatenate([switch_t, pulses["end_time_s"].to_numpy()])
    since = tn[:, None] - seg_start[None, :]
    since = np.where(since >= 0, since, np.inf).min(axis=1)
    fitted = since >= skip
    y = v[nodes][fitted]
    n_d = n_p if per_pulse else 1
    group = step_pulse if per_pulse else np.zeros(tn.size, np.int64)
    if ocv_V is not None:
        fixed_knots = _ocv_knots_from_callable(ocv_V)
    else:
        fixed_knots = (ocv_x, ocv_u0, _pchip_slopes(ocv_x, ocv_u0), False)

    cache = {}

    def evaluate(theta, n_cols):
        # model voltage at the nodes and (n_cols > 0) its first n_cols Jacobian columns, cached
        key = theta.tobytes()
        if cache.get("key") == key and cache["n_cols"] >= n_cols:
            return cache["m"], cache["jac"]
        d = 10.0 ** np.asarray(theta[:n_d])
        u = np.asarray(theta[n_d + 1 :])
        knots = (ocv_x, u, _pchip_slopes(ocv_x, u), False) if n_u else fixed_knots
        sens = _pchip_slope_sensitivity(ocv_x, u) if (n_cols > n_d + 1 and n_u) else None
        (ve, *_), dve = _run_modes(setup, d[group], knots, d_group=group, n_dpar=n_d if n_cols else 0, slope_sens=sens)
        m = ve - i_nodes * theta[n_d]
        jac_full = None
        if n_cols:  # exact forward sensitivities; the voltage is linear in R_s (column -I)
            jac_full = np.column_stack([dve[:, :n_d], -i_nodes, dve[:, n_d:]])
        cache.update(key=key, m=m, jac=jac_full, n_cols=jac_full.shape[1] if n_cols else 0)
        return m, jac_full

    def resid(theta, target, n_cols=None):
        return evaluate(theta, theta.size if n_cols is None else n_cols)[0][fitted] - target

    def jac(theta, target, n_cols=None):
        n_cols = theta.size if n_cols is None else n_cols
        return evaluate(theta, n_cols)[1][fitted, :n_cols]

    # starting values: the sphere-corrected (else WH) D of the pulses, the IR steps, the relaxed voltages
    d_guess = pulses["diffusivity_sphere_m2_s"].to_numpy()
    d_guess = np.where(np.isfinite(d_guess), d_guess, pulses["diffusivity_wh_m2_s"].to_numpy())
    d_guess = np.where(np.isfinite(d_guess) & (d_guess > 0), d_guess, np.nan)
    d0 = float(np.nanmedian(d_guess)) if np.any(np.isfinite(d_guess)) else 1e-14
    lg0 = np.log10(np.where(np.isfinite(d_guess), d_guess, d0)) if per_pulse else np.array([math.log10(d0)])
    ir = pulses["ir_step_V"].to_numpy() / -pulses["mean_current_A"].to_numpy()
    rs0 = float(np.clip(np.nanmedian(ir), 0.0, None)) if np.any(np.isfinite(ir)) else 0.0
    theta0 = np.concatenate([lg0, [rs0], ocv_u0[:n_u]])
    lo = np.concatenate([theta0[:n_d] - 4.0, [-np.inf], theta0[n_d + 1 :] - 0.5])
    hi = np.concatenate([theta0[:n_d] + 4.0, [np.inf], theta0[n_d + 1 :] + 0.5])
    ls_kw = dict(x_scale="jac", xtol=1e-8, ftol=1e-10, gtol=1e-10)
    n_c = n_d + 1

    def resid_c(tc, target, u):  # D and R_s at fixed OCV points
        return resid(np.concatenate([tc, u]), target, n_c)

    def jac_c(tc, target, u):
        return jac(np.concatenate([tc, u]), target, n_c)

    # stage 1: D and R_s at the relaxed OCV points; stage 2 (fit_ocv): all parameters, from there
    u = ocv_u0[:n_u].copy()
    sol = least_squares(resid_c, theta0[:n_c], jac=jac_c, bounds=(lo[:n_c], hi[:n_c]), args=(y, u), **ls_kw)
    nfev = sol.nfev
    if n_u:
        sol = least_squares(resid, np.concatenate([sol.x, u]), jac=jac, bounds=(lo, hi), args=(y,), **ls_kw)
        nfev += sol.nfev
    else:
        sol.x = np.concatenate([sol.x, u])
    theta = sol.x
    res = sol.fun
    n, p = res.size, theta.size
    dof = max(n - p, 1)
    s2 = float(res @ res) / dof
    jac_hat = jac(theta, y)
    cov = np.linalg.pinv(jac_hat.T @ jac_hat) * s2
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    tq = float(stats.t.ppf(0.5 + conf / 2.0, dof))
    lo_j, hi_j = theta - tq * se, theta + tq * se

    boot_lo = np.full(p, np.nan)
    boot_hi = np.full(p, np.nan)
    ratio = np.full(n_d, np.nan)
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        fit_hat = res + y
        centred = (res - res.mean()) * math.sqrt(n / dof)
        samples = []
        n_blocks = int(math.ceil(n / block))
        for _ in range(n_boot):
            starts = rng.integers(0, n - block + 1, n_blocks)
            rstar = np.concatenate([centred[s0 : s0 + block] for s0 in starts])[:n]
            sb = least_squares(resid, theta, jac=jac, bounds=(lo, hi), args=(fit_hat + rstar,), max_nfev=8, **ls_kw)
            samples.append(sb.x)
        samples = np.asarray(samples)
        a = (1.0 - conf) / 2.0
        boot_lo, boot_hi = np.quantile(samples, [a, 1.0 - a], axis=0)
        ratio = samples[:, :n_d].std(axis=0, ddof=1) / se[:n_d]
    disagree = bool(np.any((ratio > 2.0) | (ratio < 0.5)))

    def dval(a):
        out = 10.0 ** np.asarray(a[:n_d])
        return out if per_pulse else float(out[0])

    u_fit = theta[n_d + 1 :] if n_u else ocv_u0
    return GittFit(
        diffusivity_m2_s=dval(theta),
        diffusivity_low_m2_s=dval(lo_j),
        diffusivity_high_m2_s=dval(hi_j),
        diffusivity_bootstrap_low_m2_s=dval(boot_lo),
        diffusivity_bootstrap_high_m2_s=dval(boot_hi),
        series_resistance_ohm=float(theta[n_d]),
        series_resistance_low_ohm=float(lo_j[n_d]),
        series_resistance_high_ohm=float(hi_j[n_d]),
        series_resistance_bootstrap_low_ohm=float(boot_lo[n_d]),
        series_resistance_bootstrap_high_ohm=float(boot_hi[n_d]),
        interval_ratio=ratio if per_pulse else float(ratio[0]),
        interval_disagreement=disagree,
        per_pulse=bool(per_pulse),
        pulse_stoichiometry=0.5
        * (pulses["stoichiometry_before"].to_numpy() + pulses["stoichiometry_after"].to_numpy()),
        residual_rms_V=float(np.sqrt(np.mean(res**2))),
        n_points=int(n),
        n_parameters=int(p),
        node_index=nodes,
        model_voltage_V=evaluate(theta, 0)[0],
        measured_voltage_V=v[nodes],
        fitted=fitted,
        ocv_stoichiometry=ocv_x,
        ocv_voltage_V=np.asarray(u_fit, dtype=float),
        ocv_relaxed_voltage_V=ocv_u0,
        pulses=pulses,
        confidence=conf,
        success=bool(sol.success),
        message=str(sol.message),
        nfev=int(nfev),
    )


# ---------------------------------------------------------------------------------------------
# Arrhenius
# ---------------------------------------------------------------------------------------------


def arrhenius(diffusivity_ref_m2_s, activation_energy_kJ_mol, temperature_K, reference_temperature_K=298.15):
    """Return ``D(T) = D_ref exp(-E_a / R (1/T - 1/T_ref))``.

    Parameters
    ----------
    diffusivity_ref_m2_s : float or array_like
        D at the reference temperature.
    activation_energy_kJ_mol : float or array_like
        Activation energy.
    temperature_K : float or array_like
        Temperature(s).
    reference_temperature_K : float, optional
        Reference temperature.

    Returns
    -------
    numpy.ndarray or float

    Examples
    --------
    >>> round(arrhenius(1.0, 40.0, 258.0, 298.0), 4)
    0.0818
    """
    tk = _checks.positive_array(temperature_K, "temperature_K")
    tr = _checks.positive_scalar(reference_temperature_K, "reference_temperature_K")
    ea = np.asarray(activation_energy_kJ_mol, dtype=float) * 1e3
    out = np.asarray(diffusivity_ref_m2_s, dtype=float) * np.exp(-ea / GAS_CONSTANT_J_MOL_K * (1.0 / tk - 1.0 / tr))
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class ArrheniusFit:
    """Result of :func:`arrhenius_fit`.

    Attributes
    ----------
    activation_energy_kJ_mol, activation_energy_low_kJ_mol, activation_energy_high_kJ_mol : float
        ``E_a`` and its interval.
    diffusivity_ref_m2_s, diffusivity_ref_low_m2_s, diffusivity_ref_high_m2_s : float
        D at ``reference_temperature_K`` and its interval.
    reference_temperature_K : float
        Reference temperature.
    chi2 : float
        Weighted sum of squared residuals of ``ln D``.
    dof : int
        Points minus 2.
    scale : float
        Factor applied to the covariance: ``max(1, chi2 / dof)`` (Birge ratio squared) when the
        scatter exceeds the input intervals, else 1.
    scatter_exceeds_intervals : bool
        ``chi2`` above its ``confidence`` quantile for ``dof``: the points scatter more than
        their intervals say (the intervals were widened by ``sqrt(scale)``).
    confidence : float
        Interval level.
    """

    activation_energy_kJ_mol: float
    activation_energy_low_kJ_mol: float
    activation_energy_high_kJ_mol: float
    diffusivity_ref_m2_s: float
    diffusivity_ref_low_m2_s: float
    diffusivity_ref_high_m2_s: float
    reference_temperature_K: float
    chi2: float
    dof: int
    scale: float
    scatter_exceeds_intervals: bool
    confidence: float


def arrhenius_fit(
    temperature_K,
    diffusivity_m2_s,
    diffusivity_low_m2_s,
    diffusivity_high_m2_s,
    *,
    reference_temperature_K: float = 298.15,
    confidence: float = 0.95,
) -> ArrheniusFit:
    """Fit ``ln D = ln D_ref - E_a / R (1/T - 1/T_ref)`` to D values with intervals.

    Each point's standard deviation in ``ln D`` is its interval width over ``2 z`` (``z`` the
    normal quantile of ``confidence``; the intervals are read as symmetric in ``ln D``, as those of
    :func:`fit_gitt` are). Weighted least squares; the intervals of the two parameters use the
    normal quantile, and are widened by the Birge ratio when ``chi2`` exceeds its ``confidence``
    quantile (then with the t quantile of ``dof``).

    Parameters
    ----------
    temperature_K : array_like
        ``(n,)`` temperatures, ``n >= 3`` (at least 2 distinct).
    diffusivity_m2_s, diffusivity_low_m2_s, diffusivity_high_m2_s : array_like
        ``(n,)`` D values and their interval bounds (at ``confidence``).
    reference_temperature_K : float, optional
        Where ``D_ref`` is reported.
    confidence : float, optional
        Level of the input and the output intervals.

    Returns
    -------
    ArrheniusFit

    Raises
    ------
    ValueError
        If fewer than 3 points, shapes differ, or an interval does not contain its value.

    Examples
    --------
    >>> import numpy as np
    >>> tk = np.array([258.0, 278.0, 298.0, 318.0])
    >>> d = arrhenius(1e-14, 40.0, tk, 298.0)
    >>> fit = arrhenius_fit(tk, d, d / 1.1, d * 1.1, reference_temperature_K=298.0)
    >>> round(fit.activation_energy_kJ_mol, 6), round(fit.diffusivity_ref_m2_s * 1e14, 6)
    (40.0, 1.0)
    """
    from scipy import stats

    tk = _checks.positive_array(temperature_K, "temperature_K", ndim=1)
    d = _checks.positive_array(diffusivity_m2_s, "diffusivity_m2_s", ndim=1)
    dl = _checks.positive_array(diffusivity_low_m2_s, "diffusivity_low_m2_s", ndim=1)
    dh = _checks.positive_array(diffusivity_high_m2_s, "diffusivity_high_m2_s", ndim=1)
    if not (tk.shape == d.shape == dl.shape == dh.shape):
        raise ValueError("temperature_K and the diffusivities must have one shape")
    if tk.size < 3:
        raise ValueError(f"arrhenius_fit needs at least 3 temperatures, got {tk.size}")
    if np.unique(tk).size < 2:
        raise ValueError("arrhenius_fit needs at least 2 distinct temperatures")
    if np.any(dl >= d) or np.any(dh <= d):
        raise ValueError("each interval must contain its diffusivity (low < D < high)")
    tr = _checks.positive_scalar(reference_temperature_K, "reference_temperature_K")
    conf = _checks.fraction(confidence, "confidence")
    z = float(stats.norm.ppf(0.5 + conf / 2.0))
    sig = (np.log(dh) - np.log(dl)) / (2.0 * z)
    w = 1.0 / sig**2
    xcol = -(1.0 / tk - 1.0 / tr) / GAS_CONSTANT_J_MOL_K  # times E_a in J/mol
    a = np.vstack([np.ones_like(tk), xcol]).T
    y = np.log(d)
    aw = a * w[:, None]
    cov = np.linalg.inv(a.T @ aw)
    beta = cov @ (aw.T @ y)
    res = y - a @ beta
    chi2 = float(np.sum(w * res**2))
    dof = tk.size - 2
    exceeds = bool(chi2 > stats.chi2.ppf(conf, dof))
    scale = max(1.0, chi2 / dof) if exceeds else 1.0
    q = float(stats.t.ppf(0.5 + conf / 2.0, dof)) if exceeds else z
    se = np.sqrt(np.diag(cov) * scale)
    ln_d, ea = beta
    return ArrheniusFit(
        activation_energy_kJ_mol=float(ea / 1e3),
        activation_energy_low_kJ_mol=float((ea - q * se[1]) / 1e3),
        activation_energy_high_kJ_mol=float((ea + q * se[1]) / 1e3),
        diffusivity_ref_m2_s=float(np.exp(ln_d)),
        diffusivity_ref_low_m2_s=float(np.exp(ln_d - q * se[0])),
        diffusivity_ref_high_m2_s=float(np.exp(ln_d + q * se[0])),
        reference_temperature_K=tr,
        chi2=chi2,
        dof=int(dof),
        scale=float(scale),
        scatter_exceeds_intervals=exceeds,
        confidence=conf,
    )
