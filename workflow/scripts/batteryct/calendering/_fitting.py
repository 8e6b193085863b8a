"""Least-squares fitting shared by the calendering fits: one row per fitted parameter.

Every fit returns a :class:`pandas.DataFrame` with the columns :data:`FIT_COLUMNS`. The
``flags`` column is a ``"; "``-joined list of tokens:

* ``ci=jacobian_t``: 95 % interval ``value +- t(n - k) se`` with ``se`` from the
  Jacobian at the optimum, ``cov = s^2 (J^T J)^-1``, ``s^2 = RSS / (n - k)``;
  ``ci=jacobian_t_log``: the same on ``ln(value)`` (positive scale parameters), mapped
  back with ``exp`` (an asymmetric interval; ``stderr = value * se_ln``);
* ``ci=profile``: profile-likelihood interval ``{theta_j : RSS_profile(theta_j) <=
  RSS (1 + t^2 / (n - k))}`` where the Jacobian is poor (rank-deficient, condition number
  above 1e8, or the optimum on a bound: flag ``at_bound``); an end that reaches a bound is
  the bound, one that never crosses is infinite; ``stderr`` is the half-width over ``t``;
* ``ci=weighted_t``, ``ci=monte_carlo``, ``ci=delta_method_t``: see the fit;
* ``aic=AICc``: the ``aic`` column is the small-sample Akaike criterion; ``aic=undefined``
  where ``n <= k + 2``;
* ``skipped: <reason>``: the law was not fitted (value etc. are NaN).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

FIT_COLUMNS = ("model", "parameter", "value", "stderr", "ci_low", "ci_high", "unit", "n", "rmse", "aic", "flags")
LEVEL = 0.95
_COND_MAX = 1e8


@dataclass(frozen=True)
class Param:
    """One fitted parameter: name, unit, start value, bounds, and whether it is fitted as ``ln``."""

    name: str
    unit: str
    start: float
    lower: float = -math.inf
    upper: float = math.inf
    log: bool = False


def aicc(rss: float, n: int, k: int) -> float:
    """Return the small-sample Akaike criterion of a least-squares fit with ``k`` parameters.

    ``AICc = n ln(RSS / n) + 2 K + 2 K (K + 1) / (n - K - 1)`` with ``K = k + 1`` (the noise
    variance is a parameter too); NaN where ``n - K - 1 <= 0``.

    References
    ----------
    K. P. Burnham, D. R. Anderson, *Model Selection and Multimodel Inference*, 2nd ed.,
    Springer (2002), eq. 2.14 and sec. 2.4.
    """
    kk = k + 1
    if n - kk - 1 <= 0:
        return math.nan
    rss = max(float(rss), 1e-300)
    return n * math.log(rss / n) + 2 * kk + 2 * kk * (kk + 1) / (n - kk - 1)


def join_flags(*tokens) -> str:
    """Join non-empty flag tokens with ``"; "``."""
    return "; ".join(t for t in tokens if t)


def rows_frame(rows: Sequence[dict]) -> pd.DataFrame:
    """Return the rows as a DataFrame with exactly the columns :data:`FIT_COLUMNS`."""
    rows = list(rows)
    return pd.DataFrame({c: [r[c] for r in rows] for c in FIT_COLUMNS}, columns=list(FIT_COLUMNS))


def skipped(model: str, params: Sequence[Param], n: int, reason: str) -> pd.DataFrame:
    """Return NaN rows for a law that is not fitted, with the reason in ``flags``."""
    nan = math.nan
    return rows_frame(
        [
            dict(
                model=model,
                parameter=p.name,
                value=nan,
                stderr=nan,
                ci_low=nan,
                ci_high=nan,
                unit=p.unit,
                n=int(n),
                rmse=nan,
                aic=nan,
                flags=f"skipped: {reason}",
            )
            for p in params
        ]
    )


def too_few_points(model: str, params: Sequence[Param], n: int) -> pd.DataFrame | None:
    """Return the skipped rows if ``n <= k`` (no degrees of freedom for an interval), else None."""
    k = len(params)
    if n > k:
        return None
    return skipped(
        model,
        params,
        n,
        f"{k} parameters need more than {k} points for an interval, the series has {n}",
    )


def t_quantile(dof: int, level: float = LEVEL) -> float:
    """Return the two-sided Student quantile ``t_{dof, (1 + level) / 2}``."""
    return float(stats.t.ppf(0.5 + level / 2.0, dof))


def _to_internal(params, values):
    return np.array([math.log(v) if p.log else v for p, v in zip(params, values)], dtype=float)


def _to_natural(params, z):
    # a profile walk may take ln(value) far out: exp saturates at 0 and at e^700 (~1e304,
    # which leaves room for products with the data before a float overflows)
    return np.array([math.exp(min(v, 700.0)) if p.log else v for p, v in zip(params, z)], dtype=float)


def _bounds(params):
    lo = [math.log(p.lower) if p.log and p.lower > 0 else (-math.inf if p.log else p.lower) for p in params]
    hi = [math.log(p.upper) if p.log and math.isfinite(p.upper) else (math.inf if p.log else p.upper) for p in params]
    return np.array(lo, float), np.array(hi, float)


def _solve(residual, z0, lo, hi, *, tol=1e-12, max_nfev=None):
    z0 = np.clip(z0, np.nextafter(lo, np.inf), np.nextafter(hi, -np.inf))
    return optimize.least_squares(
        residual, z0, bounds=(lo, hi), method="trf", x_scale="jac", xtol=tol, ftol=tol, max_nfev=max_nfev
    )


def _profile_interval(residual, z, j, lo, hi, threshold, step):
    """Both ends of the profile-likelihood interval of internal parameter ``j``."""
    k = z.size
    others = np.array([i for i in range(k) if i != j], dtype=int)

    def profile(v, start):
        full = z.copy()
        full[j] = v
        if others.size == 0:
            r = residual(full)
            return float(r @ r), start

        def reduced(zo):
            full[others] = zo
            return residual(full)

        sol = _solve(reduced, start, lo[others], hi[others], tol=1e-9, max_nfev=50 * k)
        return float(sol.fun @ sol.fun), sol.x

    ends = []
    for sign in (-1.0, 1.0):
        bound = lo[j] if sign < 0 else hi[j]
        inner, start, outer = z[j], z[others], None
        for _ in range(40):
            v = inner + sign * step
            if (v - bound) * sign >= 0:
                if not math.isfinite(bound):
                    break
                v = float(np.nextafter(bound, -sign * np.inf))
                r, _ = profile(v, start)
                outer = v if r > threshold else None
                inner = inner if r > threshold else bound
                break
            r, new_start = profile(v, start)
            if r > threshold:
                outer = v
                break
            inner, start, step = v, new_start, 2.0 * step
        if outer is None:
            ends.append(inner if math.isfinite(bound) and inner == bound else sign * math.inf)
            continue
        ends.append(
            optimize.brentq(
                lambda v, s0=start: profile(v, s0)[0] - threshold, inner, outer, xtol=1e-9, rtol=1e-6, maxiter=40
            )
        )
    return ends[0], ends[1]


@dataclass(frozen=True)
class NlsResult:
    """Outcome of :func:`nls`: the rows, the natural parameter values and the fitted values."""

    rows: pd.DataFrame
    values: np.ndarray
    fitted: np.ndarray
    rss: float


def nls(
    model: str,
    params: Sequence[Param],
    predict: Callable[[np.ndarray], np.ndarray],
    y: np.ndarray,
    *,
    sigma: np.ndarray | None = None,
    extra_flags: str = "",
) -> NlsResult:
    """Fit ``y ~ predict(theta)`` by (weighted) least squares and return one row per parameter.

    Parameters
    ----------
    model : str
        Name written in the ``model`` column.
    params : sequence of Param
        The parameters, in the order ``predict`` takes them.
    predict : callable
        ``predict(theta) -> array like y`` with ``theta`` in natural units.
    y : ndarray
        The observations.
    sigma : ndarray, optional
        Relative standard errors of ``y`` (weights ``1 / sigma^2``); the overall scale is
        still estimated from the residuals, so only their ratios matter. Default: equal.
    extra_flags : str, optional
        Flags appended to every row.

    Returns
    -------
    NlsResult
        ``values`` and ``fitted`` are NaN when the law was skipped (``n <= k``).
    """
    y = np.asarray(y, dtype=float)
    n, k = y.size, len(params)
    skip = too_few_points(model, params, n)
    if skip is not None:
        return NlsResult(skip, np.full(k, math.nan), np.full(n, math.nan), math.nan)
    lo, hi = _bounds(params)
    w = np.ones(n) if sigma is None else 1.0 / np.broadcast_to(np.asarray(sigma, float), (n,))
    if not np.all(np.isfinite(w) & (w > 0)):
        raise ValueError("sigma must be positive and finite")
    w = w / math.sqrt(np.mean(w**2))  # RSS stays in the unit of y^2

    def residual(z, target=y):
        return (predict(_to_natural(params, z)) - target) * w

    z0 = _to_internal(params, [p.start for p in params])
    sol = _solve(residual, z0, lo, hi)
    z = sol.x
    res = sol.fun
    rss = float(res @ res)
    dof = n - k
    s2 = rss / dof
    jac = np.asarray(sol.jac, dtype=float)
    scale = np.linalg.norm(jac, axis=0)
    at_bound = np.any(sol.active_mask != 0)
    poor = at_bound or np.any(scale == 0)
    if not poor:
        js = jac / scale
        sv = np.linalg.svd(js, compute_uv=False)
        poor = sv[-1] <= 0 or sv[0] / sv[-1] > _COND_MAX
    t = t_quantile(dof)
    values = _to_natural(params, z)
    fitted = y + res / w
    if not poor:
        cov = s2 * np.linalg.inv(jac.T @ jac)
        se_z = np.sqrt(np.diag(cov))
        lows = z - t * se_z
        highs = z + t * se_z
        stderr = np.array([v * s if p.log else s for p, v, s in zip(params, values, se_z)])
        ci_low, ci_high = _to_natural(params, lows), _to_natural(params, highs)
        method = ["ci=jacobian_t_log" if p.log else "ci=jacobian_t" for p in params]
    else:
        # the Jacobian is poor: profile-likelihood interval,
        # {theta_j : RSS_profile(theta_j) <= RSS (1 + t^2 / (n - k))}
        threshold = rss * (1.0 + t * t / dof)
        se_guess = np.sqrt(np.abs(np.diag(s2 * np.linalg.pinv(jac.T @ jac))))
        lows, highs = np.empty(k), np.empty(k)
        for j in range(k):
            step = se_guess[j] if np.isfinite(se_guess[j]) and se_guess[j] > 0 else 0.1 * max(abs(z[j]), 1e-2)
            lows[j], highs[j] = _profile_interval(residual, z, j, lo, hi, threshold, step)
        half = (highs - lows) / (2.0 * t)
        with np.errstate(invalid="ignore"):  # 0 * inf for a value at 0 with an open interval
            stderr = np.array([v * h if p.log else h for p, v, h in zip(params, values, half)])
        ci_low, ci_high = _to_natural(params, lows), _to_natural(params, highs)
        method = ["ci=profile" + ("; at_bound" if at_bound else "")] * k
    a = aicc(rss, n, k)
    aic_flag = "aic=AICc" if math.isfinite(a) else "aic=undefined (n <= k + 2)"
    if sigma is not None:
        aic_flag += "; weighted by the porosity errors"
    rmse = math.sqrt(rss / n)
    rows = [
        dict(
            model=model,
            parameter=p.name,
            value=float(values[i]),
            stderr=float(stderr[i]),
            ci_low=float(ci_low[i]),
            ci_high=float(ci_high[i]),
            unit=p.unit,
            n=n,
            rmse=rmse,
            aic=a,
            flags=join_flags(method[i], aic_flag, extra_flags),
        )
        for i, p in enumerate(params)
    ]
    return NlsResult(rows_frame(rows), values, fitted, rss)


def weighted_line(x, y, sigma_y=None, *, through_origin: bool = False):
    """Weighted straight-line fit ``y = b0 + b1 x`` (or ``y = b1 x``) with its covariance.

    With ``sigma_y`` the weights are ``1 / sigma_y^2`` and the covariance is scaled by the
    Birge ratio ``chi^2 / (n - k)`` when that exceeds 1 (scatter beyond the stated errors);
    without, it is ordinary least squares (covariance scaled by ``RSS / (n - k)``).

    Returns
    -------
    coef : ndarray
        ``(b1,)`` through the origin, else ``(b0, b1)``.
    cov : ndarray
        Their covariance.
    rss : float
        Weighted residual sum of squares (chi^2 with ``sigma_y``).
    dof : int
        ``n - k``.
    birge : float
        ``sqrt(chi^2 / dof)`` (NaN without ``sigma_y``).
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    design = x[:, None] if through_origin else np.column_stack([np.ones_like(x), x])
    w = np.ones_like(y) if sigma_y is None else 1.0 / np.asarray(sigma_y, float) ** 2
    a = design * np.sqrt(w)[:, None]
    b = y * np.sqrt(w)
    coef, *_ = np.linalg.lstsq(a, b, rcond=None)
    r = b - a @ coef
    rss = float(r @ r)
    dof = y.size - design.shape[1]
    inv = np.linalg.inv(a.T @ a)
    if sigma_y is None:
        cov = inv * rss / dof
        birge = math.nan
    else:
        birge = math.sqrt(rss / dof)
        cov = inv * max(1.0, birge**2)
    return coef, cov, rss, dof, birge
