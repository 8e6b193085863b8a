"""Compaction laws of a calendering series, compared by AICc, and springback.

Laws (all fitted to the porosity ``eps`` of the samples, so that their AICc compare):

* exponential line-load law ``eps(q) = eps_min + (eps_0 - eps_min) exp(-q / gamma_c)``,
  with ``q`` the line load (N/mm) or the pressure (MPa): ``gamma_c`` has the load's unit;
* Heckel ``ln(1 / eps) = K_H P + A``, i.e. ``eps = exp(-A - K_H P)``;
* Kawakita ``C = (V_0 - V) / V_0 = a b P / (1 + b P)`` with ``V / V_0 = h / h_0`` (the area
  does not change), i.e. ``eps = 1 - (1 - eps_0) / (1 - C)`` with each sample's coated
  porosity ``eps_0``; and its linearisation ``P / C = P / a + 1 / (a b)``.

The compressibility ``K(eps) = -d eps / d sigma`` of each law, and springback
``eps_sb = p_max / E_eff(eps_c)`` with the Gibson-Ashby modulus ``E_eff = E_s (1 - eps_c)^n``.

References
----------
* R. W. Heckel, "Density-pressure relationships in powder compaction", Trans. Metall.
  Soc. AIME 221, 671 (1961).
* K. Kawakita, K.-H. Luedde, "Some considerations on powder compression equations",
  Powder Technol. 4, 61 (1971).
* L. J. Gibson, M. F. Ashby, *Cellular Solids*, 2nd ed., Cambridge University Press (1997),
  ch. 5 (``E / E_s = C (rho / rho_s)^n``, ``n = 2`` for open cells).
* C. Meyer, H. Bockholt, W. Haselrieder, A. Kwade, "Characterization of the calendering
  process for compaction of electrodes for lithium-ion batteries", J. Mater. Process.
  Technol. 249, 172 (2017) -- the exponential line-load law.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import _checks
from ._fitting import FIT_COLUMNS, Param, join_flags, nls, rows_frame, skipped, t_quantile, too_few_points

__all__ = [
    "LAWS",
    "porosity_exponential",
    "porosity_heckel",
    "porosity_kawakita",
    "fit_exponential_law",
    "fit_heckel",
    "fit_kawakita",
    "fit_kawakita_linear",
    "compare_compaction_laws",
    "compressibility_exponential",
    "compressibility_heckel",
    "compressibility_kawakita",
    "compressibility_from_fit",
    "springback_strain",
    "springback_gibson_ashby",
    "fit_springback",
]

LAWS = ("compaction_exponential", "heckel", "kawakita")


# ----------------------------------------------------------------------------- laws
def porosity_exponential(load, *, porosity_initial, porosity_min, gamma_c):
    """Return ``eps_min + (eps_0 - eps_min) exp(-load / gamma_c)`` (exponential line-load law).

    Parameters
    ----------
    load : array_like
        Line load (N/mm) or pressure (MPa).
    porosity_initial, porosity_min : float
        ``eps_0`` (zero load) and ``eps_min`` (infinite load).
    gamma_c : float
        Compaction resistance, in the unit of ``load``.

    Returns
    -------
    ndarray
        Porosity.
    """
    return porosity_min + (porosity_initial - porosity_min) * np.exp(-np.asarray(load, float) / gamma_c)


def porosity_heckel(pressure_MPa, *, heckel_K, heckel_A):
    """Return ``exp(-A - K_H P)``, the porosity of Heckel's law ``ln(1 / eps) = K_H P + A``.

    Parameters
    ----------
    pressure_MPa : array_like
        Pressure ``P`` (or a line load, with ``heckel_K`` in its inverse unit).
    heckel_K : float
        ``K_H`` in 1/MPa.
    heckel_A : float
        ``A`` (dimensionless).

    Returns
    -------
    ndarray
        Porosity.
    """
    return np.exp(-heckel_A - heckel_K * np.asarray(pressure_MPa, float))


def porosity_kawakita(pressure_MPa, *, kawakita_a, kawakita_b, porosity_coated):
    """Return the porosity of Kawakita's law, ``1 - (1 - eps_0) / (1 - C)``, ``C = a b P / (1 + b P)``.

    Parameters
    ----------
    pressure_MPa : array_like
        Pressure ``P`` (or a line load, with ``kawakita_b`` in its inverse unit).
    kawakita_a : float
        Limiting degree of compaction ``a`` (dimensionless, in (0, 1)).
    kawakita_b : float
        ``b`` in 1/MPa.
    porosity_coated : array_like
        Porosity ``eps_0`` of the coating (per sample).

    Returns
    -------
    ndarray
        Porosity.
    """
    bp = kawakita_b * np.asarray(pressure_MPa, float)
    c = kawakita_a * (1.0 - 1.0 / (1.0 + bp))  # = a b P / (1 + b P), and a for b P -> inf
    return 1.0 - (1.0 - np.asarray(porosity_coated, float)) / (1.0 - c)


# ----------------------------------------------------------------------------- checks
def _series(load, porosity, load_name):
    x = _checks.positive_array(load, load_name, allow_zero=True)
    y = _checks.finite_array(porosity, "porosity")
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"{load_name} and porosity must be 1-D of one length, got {x.shape} and {y.shape}")
    if np.any((y <= 0) | (y >= 1)):
        raise ValueError(f"porosity must lie in (0, 1), got {float(y[(y <= 0) | (y >= 1)][0])!r}")
    return x, y


def _load(line_load_N_mm, pressure_MPa):
    if (line_load_N_mm is None) == (pressure_MPa is None):
        raise ValueError("give exactly one of line_load_N_mm and pressure_MPa")
    if pressure_MPa is not None:
        return pressure_MPa, "pressure_MPa", "MPa"
    return line_load_N_mm, "line_load_N_mm", "N/mm"


def _sigma(porosity_stderr, y):
    if porosity_stderr is None:
        return None
    s = np.broadcast_to(_checks.positive_array(porosity_stderr, "porosity_stderr"), y.shape)
    return np.asarray(s, float)


def _inverse(unit):
    return f"1/{unit}" if "/" not in unit else f"1/({unit})"


# ----------------------------------------------------------------------------- fits
def _exponential_start(x, y):
    """Start values by variable projection: for each gamma on a grid the law is linear."""
    span = max(float(x.max()), 1e-12)
    gamma = span * np.logspace(-1.5, 1.5, 61)
    e = np.exp(-x[None, :] / gamma[:, None])
    em = e.mean(axis=1, keepdims=True)
    de = e - em
    slope = (de @ (y - y.mean())) / np.maximum(np.sum(de * de, axis=1), 1e-300)
    intercept = y.mean() - slope * em[:, 0]
    rss = np.sum((y[None, :] - intercept[:, None] - slope[:, None] * e) ** 2, axis=1)
    i = int(np.argmin(rss))
    eps_min, eps0 = intercept[i], intercept[i] + slope[i]
    return float(np.clip(eps_min, 1e-4, 0.999)), float(np.clip(eps0, 1e-4, 0.999)), float(gamma[i])


def _exponential(x, y, unit, sigma=None, model="compaction_exponential"):
    eps_min, eps0, gamma = _exponential_start(x, y)
    params = [
        Param("porosity_initial", "1", eps0, 0.0, 1.0),
        Param("porosity_min", "1", eps_min, 0.0, 1.0),
        Param("gamma_c", unit, gamma, 0.0, math.inf, log=True),
    ]
    return nls(
        model,
        params,
        lambda th: porosity_exponential(x, porosity_initial=th[0], porosity_min=th[1], gamma_c=th[2]),
        y,
        sigma=sigma,
        extra_flags=f"load={'pressure' if unit == 'MPa' else 'line load'}",
    )


def fit_exponential_law(porosity, *, line_load_N_mm=None, pressure_MPa=None, porosity_stderr=None) -> pd.DataFrame:
    """Fit the exponential line-load law ``eps = eps_min + (eps_0 - eps_min) exp(-q / gamma_c)``.

    Parameters
    ----------
    porosity : array_like
        Porosity of each sample (after the nip).
    line_load_N_mm, pressure_MPa : array_like
        The load of each sample: give exactly one (``gamma_c`` gets its unit).
    porosity_stderr : array_like, optional
        Standard errors of the porosities (e.g. :func:`~.porosity.porosity_stderr`): weights
        of the least squares (only their ratios matter). The porosity error grows with
        ``1 - eps``, so the most compacted samples, which fix ``eps_min``, are the noisiest.

    Returns
    -------
    DataFrame
        Rows ``porosity_initial``, ``porosity_min``, ``gamma_c`` (columns
        :data:`~batteryct.calendering.FIT_COLUMNS`); skipped with the reason for fewer
        than 4 samples.

    Examples
    --------
    >>> q = np.array([0.0, 200.0, 400.0, 700.0, 1000.0, 1500.0])
    >>> eps = porosity_exponential(q, porosity_initial=0.45, porosity_min=0.25, gamma_c=600.0)
    >>> t = fit_exponential_law(eps, line_load_N_mm=q)
    >>> [round(v, 6) for v in t["value"]]
    [0.45, 0.25, 600.0]
    """
    load, name, unit = _load(line_load_N_mm, pressure_MPa)
    x, y = _series(load, porosity, name)
    return _exponential(x, y, unit, _sigma(porosity_stderr, y)).rows


def _heckel(x, y, unit, sigma=None):
    ln_inv = -np.log(y)
    slope, intercept = np.polyfit(x, ln_inv, 1) if x.size >= 2 and np.ptp(x) > 0 else (0.0, float(ln_inv.mean()))
    params = [Param("heckel_K", _inverse(unit), float(slope)), Param("heckel_A", "1", float(intercept))]
    return nls(
        "heckel",
        params,
        lambda th: porosity_heckel(x, heckel_K=th[0], heckel_A=th[1]),
        y,
        sigma=sigma,
        extra_flags="fitted on eps (not on ln(1/eps))",
    )


def fit_heckel(porosity, *, pressure_MPa=None, line_load_N_mm=None, porosity_stderr=None) -> pd.DataFrame:
    """Fit Heckel's law ``ln(1 / eps) = K_H P + A`` (least squares on ``eps``).

    The residuals are taken on the porosity itself, as for the other laws, so that the
    three laws' AICc compare (a fit of ``ln(1 / eps)`` would weight the low porosities
    more and answer on another scale).

    Parameters
    ----------
    porosity : array_like
        Porosity of each sample.
    pressure_MPa, line_load_N_mm : array_like
        Give exactly one (``K_H`` gets its inverse unit).
    porosity_stderr : array_like, optional
        Weights, as in :func:`fit_exponential_law`.

    Returns
    -------
    DataFrame
        Rows ``heckel_K``, ``heckel_A``; skipped for fewer than 3 samples.

    References
    ----------
    R. W. Heckel, Trans. Metall. Soc. AIME 221, 671 (1961).
    """
    load, name, unit = _load(line_load_N_mm, pressure_MPa)
    x, y = _series(load, porosity, name)
    return _heckel(x, y, unit, _sigma(porosity_stderr, y)).rows


def _degree_of_compaction(porosity, porosity_coated):
    return 1.0 - (1.0 - porosity_coated) / (1.0 - porosity)


def _kawakita_start(x, c):
    use = (x > 0) & (c > 0)
    if use.sum() >= 2 and np.ptp(x[use]) > 0:
        slope, intercept = np.polyfit(x[use], x[use] / c[use], 1)
        if slope > 0 and intercept > 0:
            a = 1.0 / slope
            if 0 < a < 1:
                return a, slope / intercept
    return float(np.clip(1.5 * c.max(), 0.05, 0.95)), 1.0 / max(
        float(np.median(x[x > 0])) if np.any(x > 0) else 1.0, 1e-12
    )


def _kawakita(x, y, eps0, unit, sigma=None):
    a0, b0 = _kawakita_start(x, _degree_of_compaction(y, eps0))
    params = [Param("kawakita_a", "1", a0, 0.0, 1.0), Param("kawakita_b", _inverse(unit), b0, 0.0, math.inf, log=True)]
    return nls(
        "kawakita",
        params,
        lambda th: porosity_kawakita(x, kawakita_a=th[0], kawakita_b=th[1], porosity_coated=eps0),
        y,
        sigma=sigma,
        extra_flags="fitted on eps",
    )


def fit_kawakita(
    porosity, *, porosity_coated, pressure_MPa=None, line_load_N_mm=None, porosity_stderr=None
) -> pd.DataFrame:
    """Fit Kawakita's law ``C = a b P / (1 + b P)`` (least squares on ``eps``).

    Parameters
    ----------
    porosity : array_like
        Porosity of each sample after the nip.
    porosity_coated : float or array_like
        Porosity of the coating before the nip (``C = 1 - h / h_0`` follows); one value for
        the series, or one per sample.
    pressure_MPa, line_load_N_mm : array_like
        Give exactly one (``b`` gets its inverse unit).
    porosity_stderr : array_like, optional
        Weights, as in :func:`fit_exponential_law`.

    Returns
    -------
    DataFrame
        Rows ``kawakita_a``, ``kawakita_b``; skipped for fewer than 3 samples.

    References
    ----------
    K. Kawakita, K.-H. Luedde, Powder Technol. 4, 61 (1971).
    """
    load, name, unit = _load(line_load_N_mm, pressure_MPa)
    x, y = _series(load, porosity, name)
    eps0 = np.broadcast_to(_checks.finite_array(porosity_coated, "porosity_coated"), y.shape)
    return _kawakita(x, y, eps0, unit, _sigma(porosity_stderr, y)).rows


def fit_kawakita_linear(degree_of_compaction, *, pressure_MPa=None, line_load_N_mm=None) -> pd.DataFrame:
    """Fit Kawakita's linearisation ``P / C = P / a + 1 / (a b)`` by weighted least squares.

    A constant error of ``C`` makes the error of ``P / C`` grow as ``P / C^2`` (the low loads,
    where ``C`` is small, scatter most), so the line is weighted by ``C^4 / P^2``; ordinary
    least squares would let the lowest loads dominate (its intervals under-cover).
    ``a = 1 / slope`` and ``b = slope / intercept``; their intervals are delta-method
    ``+- t(n - 2) se`` (flag ``ci=delta_method_t``). Samples with ``P = 0`` or ``C <= 0`` carry
    no information on the line and are left out. The ``aic`` column is NaN: the response
    ``P / C`` is not the porosity, so its AIC does not compare with the other laws.

    Parameters
    ----------
    degree_of_compaction : array_like
        ``C = (V_0 - V) / V_0 = 1 - h / h_0`` per sample.
    pressure_MPa, line_load_N_mm : array_like
        Give exactly one.

    Returns
    -------
    DataFrame
        Rows ``kawakita_a``, ``kawakita_b`` of model ``kawakita_linear``.

    Examples
    --------
    >>> p = np.array([20.0, 50.0, 90.0, 140.0, 200.0])
    >>> c = 0.4 * 0.02 * p / (1 + 0.02 * p)
    >>> [round(v, 12) for v in fit_kawakita_linear(c, pressure_MPa=p)["value"]]
    [0.4, 0.02]
    """
    load, name, unit = _load(line_load_N_mm, pressure_MPa)
    x = _checks.positive_array(load, name, allow_zero=True)
    c = _checks.finite_array(degree_of_compaction, "degree_of_compaction")
    if x.shape != c.shape:
        raise ValueError(f"{name} and degree_of_compaction must have one shape, got {x.shape} and {c.shape}")
    use = (x > 0) & (c > 0)
    x, c = x[use], c[use]
    params = [Param("kawakita_a", "1", math.nan), Param("kawakita_b", _inverse(unit), math.nan)]
    skip = too_few_points("kawakita_linear", params, x.size)
    if skip is not None:
        return skip
    y = x / c
    # a constant error of C gives sigma(P / C) = P sigma_C / C^2: weights C^4 / P^2
    w = c**2 / x
    w = w / math.sqrt(np.mean(w**2))
    design = np.column_stack([x, np.ones_like(x)])
    coef, *_ = np.linalg.lstsq(design * w[:, None], y * w, rcond=None)
    r = (y - design @ coef) * w
    rss = float(r @ r)
    dof = x.size - 2
    wd = design * w[:, None]
    cov = np.linalg.inv(wd.T @ wd) * rss / dof if dof > 0 else np.full((2, 2), math.nan)
    s, i = coef
    if s <= 0 or i <= 0:
        return skipped("kawakita_linear", params, x.size, f"slope {s:.4g} and intercept {i:.4g} must both be > 0")
    a, b = 1.0 / s, s / i
    grad_a = np.array([-1.0 / s**2, 0.0])
    grad_b = np.array([1.0 / i, -s / i**2])
    t = t_quantile(dof)
    rows = []
    for p, v, g in ((params[0], a, grad_a), (params[1], b, grad_b)):
        se = float(math.sqrt(max(g @ cov @ g, 0.0)))
        rows.append(
            dict(
                model="kawakita_linear",
                parameter=p.name,
                value=v,
                stderr=se,
                ci_low=v - t * se,
                ci_high=v + t * se,
                unit=p.unit,
                n=int(x.size),
                rmse=math.sqrt(rss / x.size),
                aic=math.nan,
                flags="ci=delta_method_t; weighted for a constant error of C; rmse in P/C (weighted); "
                "aic: linearised response, not comparable",
            )
        )
    return rows_frame(rows)


def compare_compaction_laws(
    porosity, *, porosity_coated, line_load_N_mm=None, pressure_MPa=None, porosity_stderr=None
) -> tuple[pd.DataFrame, str | None]:
    """Fit the three compaction laws to one series and rank them by AICc.

    All three are least squares on the porosity with the same samples, so their AICc
    (``n ln(RSS / n) + 2K + 2K(K + 1) / (n - K - 1)``, ``K = k + 1``) compare. The rows of the
    law with the smallest AICc carry the flag ``selected``; every row carries its Akaike
    weight ``w = exp(-dAICc / 2) / sum`` and ``dAICc`` (flags ``akaike_weight=...``,
    ``delta_aicc=...``). A law without an AICc (``n <= k + 2``) is not ranked.

    Parameters
    ----------
    porosity : array_like
        Porosity after the nip, per sample.
    porosity_coated : float or array_like
        Porosity of the coating (Kawakita's ``V_0``); of an array its median is used, one
        value for the series. Each sample's own value would carry that sample's
        mass-loading error, which its porosity shares, into Kawakita's prediction only
        and favour it unfairly in the comparison.
    line_load_N_mm, pressure_MPa : array_like
        Give exactly one; every law uses it (parameters carry its unit).
    porosity_stderr : array_like, optional
        Weights of all three fits, as in :func:`fit_exponential_law`.

    Returns
    -------
    rows : DataFrame
        The rows of :func:`fit_exponential_law`, :func:`fit_heckel` and :func:`fit_kawakita`.
    selected : str or None
        Model name of the selected law (None if none could be ranked).

    Examples
    --------
    >>> p = np.linspace(10.0, 150.0, 8)
    >>> eps = porosity_exponential(p, porosity_initial=0.45, porosity_min=0.28, gamma_c=40.0)
    >>> eps = eps + 0.002 * np.array([1, -1, 1, -1, -1, 1, -1, 1])
    >>> rows, best = compare_compaction_laws(eps, porosity_coated=0.45, pressure_MPa=p)
    >>> best
    'compaction_exponential'
    """
    load, name, unit = _load(line_load_N_mm, pressure_MPa)
    x, y = _series(load, porosity, name)
    eps0 = np.full(y.shape, float(np.median(_checks.finite_array(porosity_coated, "porosity_coated"))))
    sigma = _sigma(porosity_stderr, y)
    fits = [
        _exponential(x, y, unit, sigma).rows,
        _heckel(x, y, unit, sigma).rows,
        _kawakita(x, y, eps0, unit, sigma).rows,
    ]
    aics = {f["model"].iloc[0]: float(f["aic"].iloc[0]) for f in fits}
    ranked = {m: a for m, a in aics.items() if math.isfinite(a)}
    selected = None
    if ranked:
        best = min(ranked.values())
        weights = {m: math.exp(-(a - best) / 2.0) for m, a in ranked.items()}
        total = sum(weights.values())
        selected = min(ranked, key=ranked.get)
        for f in fits:
            m = f["model"].iloc[0]
            if m in ranked:
                extra = join_flags(
                    "selected" if m == selected else "",
                    f"akaike_weight={weights[m] / total:.3f}",
                    f"delta_aicc={ranked[m] - best:.2f}",
                )
                f["flags"] = [join_flags(fl, extra) for fl in f["flags"]]
    return pd.concat(fits, ignore_index=True)[list(FIT_COLUMNS)], selected


# ----------------------------------------------------------------------------- compressibility
def compressibility_exponential(porosity, *, porosity_min, gamma_c):
    """Return ``K(eps) = -d eps / d sigma = (eps - eps_min) / gamma_c`` of the exponential law.

    Parameters
    ----------
    porosity : array_like
        Porosity at which to evaluate.
    porosity_min : float
        ``eps_min``.
    gamma_c : float
        In the unit of the load (``K`` comes in its inverse).

    Returns
    -------
    ndarray
        ``K`` in 1/(unit of gamma_c).
    """
    return (np.asarray(porosity, float) - porosity_min) / gamma_c


def compressibility_heckel(porosity, *, heckel_K):
    """Return ``K(eps) = K_H eps``, the compressibility implied by Heckel's law.

    From ``eps = exp(-A - K_H P)``: ``d eps / d P = -K_H eps``.

    Parameters
    ----------
    porosity : array_like
        Porosity at which to evaluate.
    heckel_K : float
        ``K_H`` in 1/MPa.

    Returns
    -------
    ndarray
        ``K`` in 1/MPa.

    Examples
    --------
    >>> float(compressibility_heckel(0.3, heckel_K=0.01))
    0.003
    """
    return heckel_K * np.asarray(porosity, float)


def compressibility_kawakita(porosity, *, kawakita_a, kawakita_b, porosity_coated):
    """Return ``K(eps) = -d eps / d P`` of Kawakita's law.

    With ``C = 1 - (1 - eps_0) / (1 - eps)`` and ``dC/dP = a b / (1 + b P)^2 = b (a - C)^2 / a``:
    ``K = (1 - eps)^2 / (1 - eps_0) * b (a - C)^2 / a``.

    Parameters
    ----------
    porosity : array_like
        Porosity at which to evaluate.
    kawakita_a, kawakita_b : float
        Kawakita's ``a`` and ``b`` (1/MPa).
    porosity_coated : array_like
        ``eps_0`` of the coating.

    Returns
    -------
    ndarray
        ``K`` in 1/MPa.
    """
    eps = np.asarray(porosity, float)
    eps0 = np.asarray(porosity_coated, float)
    c = _degree_of_compaction(eps, eps0)
    return (1.0 - eps) ** 2 / (1.0 - eps0) * kawakita_b * (kawakita_a - c) ** 2 / kawakita_a


def compressibility_from_fit(rows: pd.DataFrame, model: str, porosity, *, porosity_coated=None) -> np.ndarray:
    """Return ``K(eps)`` of a law from its fit rows (:func:`compare_compaction_laws`).

    Parameters
    ----------
    rows : DataFrame
        Fit rows holding ``model``.
    model : str
        One of :data:`LAWS`.
    porosity : array_like
        Where to evaluate.
    porosity_coated : array_like, optional
        Needed for Kawakita.

    Returns
    -------
    ndarray
        ``K`` in the inverse unit of the law's load (NaN if the law was skipped).

    Raises
    ------
    ValueError
        For an unknown model, or Kawakita without ``porosity_coated``.
    """
    if model not in LAWS:
        raise ValueError(f"model must be one of {LAWS}, got {model!r}")
    v = dict(zip(rows.loc[rows["model"] == model, "parameter"], rows.loc[rows["model"] == model, "value"]))
    if model == "compaction_exponential":
        return compressibility_exponential(porosity, porosity_min=v["porosity_min"], gamma_c=v["gamma_c"])
    if model == "heckel":
        return compressibility_heckel(porosity, heckel_K=v["heckel_K"])
    if porosity_coated is None:
        raise ValueError("porosity_coated is needed for the Kawakita compressibility")
    return compressibility_kawakita(
        porosity, kawakita_a=v["kawakita_a"], kawakita_b=v["kawakita_b"], porosity_coated=porosity_coated
    )


# ----------------------------------------------------------------------------- springback
def springback_strain(thickness_um, thickness_gap_um) -> np.ndarray:
    """Return the springback strain ``(h - h_gap) / h_gap`` (relaxed over minimum thickness).

    Parameters
    ----------
    thickness_um : array_like
        Relaxed thickness after the nip, um.
    thickness_gap_um : array_like
        Minimum thickness in the nip (roll gap), um.

    Returns
    -------
    ndarray
        Engineering strain of the elastic recovery (dimensionless).
    """
    h = _checks.positive_array(thickness_um, "thickness_um")
    hg = _checks.positive_array(thickness_gap_um, "thickness_gap_um")
    return (h - hg) / hg


def springback_gibson_ashby(peak_pressure_MPa, porosity_gap, *, solid_modulus_GPa, exponent):
    """Return ``eps_sb = p_max / (E_s (1 - eps_c)^n)`` (Gibson-Ashby modulus of the compact).

    Parameters
    ----------
    peak_pressure_MPa : array_like
        Peak nip pressure, MPa.
    porosity_gap : array_like
        Porosity ``eps_c`` at the minimum thickness.
    solid_modulus_GPa : float
        ``E_s``, GPa.
    exponent : float
        Gibson-Ashby ``n``.

    Returns
    -------
    ndarray
        Springback strain.
    """
    p = np.asarray(peak_pressure_MPa, float) * 1e-3
    return p / (solid_modulus_GPa * (1.0 - np.asarray(porosity_gap, float)) ** exponent)


def fit_springback(peak_pressure_MPa, porosity_gap, springback) -> pd.DataFrame:
    """Fit ``eps_sb = p_max / (E_s (1 - eps_c)^n)`` for ``E_s`` (GPa) and ``n``.

    Least squares on the strain (its error is the thickness error, additive); ``E_s`` is
    fitted as ``ln E_s`` (flag ``ci=jacobian_t_log``). Start values from the line
    ``ln(p / eps_sb) = ln E_s + n ln(1 - eps_c)``.

    Parameters
    ----------
    peak_pressure_MPa : array_like
        Peak nip pressure per sample, MPa.
    porosity_gap : array_like
        Porosity at the minimum (gap) thickness per sample.
    springback : array_like
        Springback strain per sample (:func:`springback_strain`).

    Returns
    -------
    DataFrame
        Rows ``solid_modulus`` (GPa) and ``gibson_ashby_n`` of model ``springback_gibson_ashby``;
        skipped for fewer than 3 samples.

    References
    ----------
    L. J. Gibson, M. F. Ashby, *Cellular Solids*, 2nd ed. (1997), ch. 5; seed document 001,
    "A Tale of Two Strains".
    """
    p = _checks.positive_array(peak_pressure_MPa, "peak_pressure_MPa", ndim=1)
    ec = _checks.finite_array(porosity_gap, "porosity_gap", ndim=1)
    y = _checks.finite_array(springback, "springback", ndim=1)
    if not p.shape == ec.shape == y.shape:
        raise ValueError("peak_pressure_MPa, porosity_gap and springback must have one length")
    solid = np.log(1.0 - ec)
    ok = y > 0
    e0, n0 = 10.0, 2.0
    if ok.sum() >= 2 and np.ptp(solid[ok]) > 0:
        n0, ln_e = np.polyfit(solid[ok], np.log(p[ok] * 1e-3 / y[ok]), 1)
        e0 = math.exp(ln_e)
    params = [
        Param("solid_modulus", "GPa", float(np.clip(e0, 1e-6, 1e6)), 0.0, math.inf, log=True),
        Param("gibson_ashby_n", "1", float(np.clip(n0, -20, 20)), -50.0, 50.0),
    ]
    return nls(
        "springback_gibson_ashby",
        params,
        lambda th: springback_gibson_ashby(p, ec, solid_modulus_GPa=th[0], exponent=th[1]),
        y,
    ).rows
