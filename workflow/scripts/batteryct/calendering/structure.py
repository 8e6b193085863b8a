"""Structure-property laws from CT of a calendering series.

* Bruggeman ``tau = eps^(-alpha)`` through-plane (z) and in-plane (y, x), with intervals
  that carry the CT intervals of ``tau`` and ``eps``, and the anisotropy ratio
  ``alpha_z / alpha_xy``;
* the coordination number of an instance-label volume (mean number of distinct touching
  neighbours per particle) and its linear law against the solid fraction (Arzt);
* the Sauter diameter ``d32`` against pressure (particle cracking shows as a slope < 0);
* the electronic conductivity against pressure, ``G = G_0 (p / 1 MPa)^m``, with ``m``
  compared with the Hertzian ``1/3`` (contact radius ``a ~ F^(1/3)``).

Intervals of the power laws (``ci=weighted_t``): weighted least squares in log space with
the weights ``1 / sigma^2`` read from the CT intervals (``sigma = ln(hi / lo) / (2 z)``);
errors of ``ln eps`` enter by effective variance (``sigma^2 = s_y^2 + alpha^2 s_x^2``,
iterated); the covariance is scaled by the Birge ratio ``chi^2 / (n - k)`` when the points
scatter more than their intervals say; ``+- t(n - k)``. Without intervals: ordinary least
squares with ``+- t(n - k)``.

References
----------
* D. A. G. Bruggeman, Ann. Phys. 416, 636 (1935); B. Tjaden, S. J. Cooper, D. J. L. Brett,
  D. Kramer, P. R. Shearing, "On the origin and application of the Bruggeman correlation
  for analysing transport phenomena in electrochemical systems", Curr. Opin. Chem. Eng.
  12, 44 (2016).
* E. Arzt, "The influence of an increasing particle coordination on the densification of
  spherical powders", Acta Metall. 30, 1883 (1982) -- ``Z = Z_0 + C (D - D_0)``.
* Seed document 001, "The Ripple Effect" (``G ~ p^(1/3)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .. import _checks
from ._fitting import LEVEL, Param, aicc, join_flags, rows_frame, t_quantile, too_few_points, weighted_line

__all__ = [
    "DRUCKER_PRAGER_CAP_REASON",
    "CoordinationResult",
    "coordination_number",
    "fit_bruggeman",
    "fit_coordination",
    "fit_sauter_pressure",
    "fit_conductivity_pressure",
]

DRUCKER_PRAGER_CAP_REASON = (
    "The Drucker-Prager-cap model is not fitted, because calendering.tsv records only one loading "
    "path (the through-thickness load and the thicknesses before, in and after the nip), while "
    "the model's cohesion, friction angle, cap eccentricity and cap hardening law need stress "
    "states off that path: the lateral (radial) stress under uniaxial compaction, as an "
    "instrumented die records it, shear or triaxial failure stresses of the coating at several "
    "densities, and loading-unloading cycles for the elastic moduli."
)

_Z = float(stats.norm.ppf(0.5 + LEVEL / 2.0))


def _log_sigma(lo, hi, n, name):
    """``sigma`` of ``ln value`` from a 95 % interval ``[lo, hi]`` (None when not given)."""
    if lo is None and hi is None:
        return None
    if lo is None or hi is None:
        raise ValueError(f"give both {name}_ci_low and {name}_ci_high, or neither")
    lo = np.broadcast_to(_checks.positive_array(lo, f"{name}_ci_low"), (n,))
    hi = np.broadcast_to(_checks.positive_array(hi, f"{name}_ci_high"), (n,))
    if np.any(hi < lo):
        raise ValueError(f"{name}_ci_high must be >= {name}_ci_low")
    return np.log(hi / lo) / (2.0 * _Z)


def _row(model, name, unit, value, se, lo, hi, n, rmse, aic, flags):
    return dict(
        model=model,
        parameter=name,
        value=float(value),
        stderr=float(se),
        ci_low=float(lo),
        ci_high=float(hi),
        unit=unit,
        n=int(n),
        rmse=float(rmse),
        aic=float(aic),
        flags=flags,
    )


def _origin_fit(x, y, sx, sy):
    """Weighted fit ``y = alpha x`` with effective variance; returns (alpha, se, chi2/rss, dof, birge, weights)."""
    alpha = float(np.sum(x * y) / np.sum(x * x))
    sig = None
    for _ in range(5 if sy is not None or sx is not None else 1):
        if sy is None and sx is None:
            break
        var = (0.0 if sy is None else sy**2) + (0.0 if sx is None else (alpha * sx) ** 2)
        sig = np.sqrt(np.maximum(var, 1e-300))
        coef, cov, rss, dof, birge = weighted_line(x, y, sig, through_origin=True)
        alpha = float(coef[0])
    coef, cov, rss, dof, birge = weighted_line(x, y, sig, through_origin=True)
    return float(coef[0]), float(math.sqrt(cov[0, 0])), rss, dof, birge, sig


def fit_bruggeman(
    porosity,
    tortuosity_z,
    tortuosity_in_plane=None,
    *,
    porosity_ci_low=None,
    porosity_ci_high=None,
    tortuosity_z_ci_low=None,
    tortuosity_z_ci_high=None,
    tortuosity_in_plane_ci_low=None,
    tortuosity_in_plane_ci_high=None,
    n_draws: int = 4000,
    seed: int = 0,
) -> pd.DataFrame:
    """Fit Bruggeman's ``tau = eps^(-alpha)`` through-plane and in-plane, and their ratio.

    ``ln tau = alpha (-ln eps)`` through the origin, weighted by the CT intervals (module
    docstring). ``alpha_xy`` is one exponent for both in-plane axes (both columns of
    ``tortuosity_in_plane`` enter). The ratio ``alpha_z / alpha_xy`` gets a Monte-Carlo
    percentile interval (``ci=monte_carlo``): ``ln eps`` is drawn once per sample and
    shared by the directions (the correlation through the common porosity), each
    ``ln tau`` independently, every sigma scaled by its fit's Birge ratio where that
    exceeds 1 (without intervals: sigma = the fit's residual standard deviation).

    Parameters
    ----------
    porosity : array_like, shape (n,)
        CT porosity per sample.
    tortuosity_z : array_like, shape (n,)
        Through-plane tortuosity factor (TauFactor's ``tau``) per sample.
    tortuosity_in_plane : array_like, shape (n,) or (n, 2), optional
        In-plane tortuosity factors (y and x columns, or one).
    porosity_ci_low, porosity_ci_high, tortuosity_z_ci_low, tortuosity_z_ci_high : array_like, optional
        95 % intervals of the CT values (shape of the values).
    tortuosity_in_plane_ci_low, tortuosity_in_plane_ci_high : array_like, optional
        The same for the in-plane values.
    n_draws : int, optional
        Monte-Carlo draws for the ratio.
    seed : int, optional
        Seed of the draws.

    Returns
    -------
    DataFrame
        Model ``bruggeman``: rows ``alpha_z``, and with in-plane data ``alpha_xy`` and
        ``alpha_ratio_z_xy``. Samples with ``tau`` infinite (no percolation) are left out.

    Examples
    --------
    >>> eps = np.array([0.3, 0.35, 0.4, 0.45])
    >>> t = fit_bruggeman(eps, eps**-0.8, np.column_stack([eps**-0.5, eps**-0.5]))
    >>> [round(v, 6) for v in t["value"]]
    [0.8, 0.5, 1.6]
    """
    eps = _checks.finite_array(porosity, "porosity", ndim=1)
    n = eps.size
    if np.any((eps <= 0) | (eps >= 1)):
        raise ValueError("porosity must lie in (0, 1)")
    tz = np.asarray(tortuosity_z, float)
    if tz.shape != (n,):
        raise ValueError(f"tortuosity_z must have shape ({n},), got {tz.shape}")
    s_eps = _log_sigma(porosity_ci_low, porosity_ci_high, n, "porosity")
    s_tz = _log_sigma(tortuosity_z_ci_low, tortuosity_z_ci_high, n, "tortuosity_z")
    rng = np.random.default_rng(seed)

    def direction(tau, s_tau, name):
        tau = np.asarray(tau, float)
        ok = np.isfinite(tau) & (tau > 0)
        if np.any(np.isfinite(tau) & (tau <= 0)):
            raise ValueError(f"tortuosity values must be > 0 (infinite where not percolating), got {name}")
        x = np.broadcast_to(-np.log(eps)[:, None], tau.shape)[ok]
        y = np.log(tau[ok])
        sx = None if s_eps is None else np.broadcast_to(s_eps[:, None], tau.shape)[ok]
        sy = None if s_tau is None else np.broadcast_to(s_tau.reshape(tau.shape[0], -1), tau.shape)[ok]
        idx = np.broadcast_to(np.arange(n)[:, None], tau.shape)[ok]
        return x, y, sx, sy, idx

    out = []
    data = {}
    inputs = [("alpha_z", tz[:, None], None if s_tz is None else s_tz[:, None])]
    if tortuosity_in_plane is not None:
        tp = np.asarray(tortuosity_in_plane, float)
        tp = tp[:, None] if tp.ndim == 1 else tp
        if tp.shape[0] != n or tp.ndim != 2:
            raise ValueError(f"tortuosity_in_plane must have shape ({n},) or ({n}, 2), got {tp.shape}")
        s_tp = _log_sigma(
            None if tortuosity_in_plane_ci_low is None else np.asarray(tortuosity_in_plane_ci_low, float).reshape(-1),
            None if tortuosity_in_plane_ci_high is None else np.asarray(tortuosity_in_plane_ci_high, float).reshape(-1),
            tp.size,
            "tortuosity_in_plane",
        )
        inputs.append(("alpha_xy", tp, None if s_tp is None else s_tp.reshape(tp.shape)))
    for name, tau, s_tau in inputs:
        x, y, sx, sy, idx = direction(tau, s_tau, name)
        param = [Param(name, "1", math.nan)]
        n_samples = np.unique(idx).size
        skip = too_few_points("bruggeman", param, n_samples)
        if skip is not None:
            out.append(skip.to_dict("records")[0])
            continue
        alpha, se, rss, dof, birge, sig = _origin_fit(x, y, sx, sy)
        dof = n_samples - 1  # in-plane: two values per sample are not independent samples
        t = t_quantile(dof)
        resid = y - alpha * x
        if sig is None:
            flags = "ci=ols_t (no CT intervals given)"
            a = aicc(rss, y.size, 1)
        else:
            flags = "ci=weighted_t" + (f"; birge_ratio={birge:.2f}" if birge > 1 else "")
            a = rss + 2 + 4 / (y.size - 2) if y.size > 2 else math.nan
        out.append(
            _row(
                "bruggeman",
                name,
                "1",
                alpha,
                se,
                alpha - t * se,
                alpha + t * se,
                n_samples,
                math.sqrt(np.mean(resid**2)),
                a,
                join_flags(flags, "rmse in ln(tau)"),
            )
        )
        data[name] = (x, y, sx, sy, idx, alpha, birge, resid)
    if "alpha_z" in data and "alpha_xy" in data:
        draws = _ratio_draws(data, eps, s_eps, n, n_draws, rng)
        ratio = data["alpha_z"][5] / data["alpha_xy"][5]
        lo, hi = np.quantile(draws, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
        out.append(
            _row(
                "bruggeman",
                "alpha_ratio_z_xy",
                "1",
                ratio,
                float(np.std(draws, ddof=1)),
                lo,
                hi,
                n,
                math.nan,
                math.nan,
                join_flags(
                    "ci=monte_carlo",
                    "anisotropic (z more tortuous)" if lo > 1 else ("anisotropic (xy more tortuous)" if hi < 1 else ""),
                ),
            )
        )
    return rows_frame(out)


def _ratio_draws(data, eps, s_eps, n, n_draws, rng):
    """Monte-Carlo ``alpha_z / alpha_xy`` with the porosity error shared by the directions."""
    ln_eps = np.log(eps)
    d_eps = np.zeros((n_draws, n)) if s_eps is None else rng.standard_normal((n_draws, n)) * s_eps[None, :]
    alphas = []
    for name in ("alpha_z", "alpha_xy"):
        x, y, sx, sy, idx, alpha, birge, resid = data[name]
        scale = max(1.0, _finite(birge))
        if sy is None:
            # no tau intervals: the residual scatter stands for the tau error
            s_y = np.full(y.size, math.sqrt(np.sum(resid**2) / max(np.unique(idx).size - 1, 1)))
        else:
            s_y = sy * scale
        var = (0.0 if sy is None else sy**2) + (0.0 if sx is None else (alpha * sx) ** 2)
        w = np.ones(y.size) if np.isscalar(var) else 1.0 / np.maximum(var, 1e-300)
        x_star = -(ln_eps[idx][None, :] + d_eps[:, idx])
        y_star = y[None, :] + rng.standard_normal((n_draws, y.size)) * s_y[None, :]
        alphas.append(np.sum(w * x_star * y_star, axis=1) / np.sum(w * x_star * x_star, axis=1))
    return alphas[0] / alphas[1]


def _finite(v):
    return v if math.isfinite(v) else 1.0


@dataclass(frozen=True)
class CoordinationResult:
    """Contacts of an instance-label volume (face adjacency).

    Attributes
    ----------
    mean_interior : float
        Mean number of distinct touching neighbours over the particles that do not touch
        the box faces (their neighbourhood is complete); NaN if there are none.
    mean_all : float
        The same over every particle (biased low: neighbours outside the box are missing).
    n_particles, n_interior : int
        Particles (distinct non-zero ids) and interior particles.
    n_contacts : int
        Distinct touching pairs.
    labels : ndarray of int64
        The particle ids, ascending.
    coordination : ndarray of int64
        Distinct neighbours of each id in ``labels``.
    touches_boundary : ndarray of bool
        Whether each id has a voxel on a box face.
    pairs : ndarray of int64, shape (n_contacts, 2)
        Touching id pairs ``(low, high)``.
    contact_area_um2 : ndarray of float64, shape (n_contacts,)
        Shared voxel-face area of each pair, um^2 (a staircase area, not corrected for
        orientation).
    """

    mean_interior: float
    mean_all: float
    n_particles: int
    n_interior: int
    n_contacts: int
    labels: np.ndarray
    coordination: np.ndarray
    touches_boundary: np.ndarray
    pairs: np.ndarray
    contact_area_um2: np.ndarray


def coordination_number(instances, voxel_size_um=1.0) -> CoordinationResult:
    """Count the distinct touching neighbours of every particle of an instance-label volume.

    Two particles touch where two face-adjacent voxels (6-connectivity) carry different
    non-zero ids; each pair is counted once, whatever the number of shared faces (which
    gives the contact area). Particles with a voxel on a box face may have neighbours
    outside the box: :attr:`CoordinationResult.mean_interior` averages over the others
    only (their neighbours themselves may touch the box), ``mean_all`` over every particle.

    Parameters
    ----------
    instances : array_like of int, (z, y, x)
        Particle ids, 0 = background (pore, binder).
    voxel_size_um : float or (3,) sequence, optional
        Voxel size, for the contact areas.

    Returns
    -------
    CoordinationResult

    Raises
    ------
    TypeError
        If ``instances`` is not an integer array.
    ValueError
        If it is not 3-D, is empty, or has negative ids.

    Examples
    --------
    >>> v = np.zeros((3, 3, 5), np.int32)
    >>> v[1, 1, 1], v[1, 1, 2], v[1, 1, 3] = 1, 2, 3
    >>> r = coordination_number(v)
    >>> r.coordination.tolist(), round(r.mean_interior, 4)
    ([1, 2, 1], 1.3333)
    """
    lab = _checks.as_volume_3d(instances, "instances")
    if lab.dtype.kind not in "iu":
        raise TypeError(f"instances must be an integer array, got {lab.dtype}")
    lab = lab.astype(np.int64, copy=False)
    if lab.min() < 0:
        raise ValueError(f"instances must be >= 0, got {int(lab.min())}")
    h = _checks.voxel_size_um(voxel_size_um)
    face_area = (h[1] * h[2], h[0] * h[2], h[0] * h[1])
    ids = np.unique(lab)
    ids = ids[ids > 0]
    stride = int(lab.max()) + 1
    keys, areas = [], []
    for axis in range(3):
        a = np.moveaxis(lab, axis, 0)
        lo, hi = a[:-1], a[1:]
        touch = (lo != hi) & (lo > 0) & (hi > 0)
        u, v = lo[touch], hi[touch]
        keys.append(np.minimum(u, v) * stride + np.maximum(u, v))
        areas.append(np.full(u.size, face_area[axis]))
    keys = np.concatenate(keys)
    areas = np.concatenate(areas)
    uniq, inverse = np.unique(keys, return_inverse=True)
    area = np.bincount(inverse, weights=areas, minlength=uniq.size) if uniq.size else np.zeros(0)
    pairs = np.column_stack([uniq // stride, uniq % stride]).astype(np.int64)
    degree = np.bincount(pairs.ravel(), minlength=stride)[ids] if pairs.size else np.zeros(ids.size, np.int64)
    boundary = np.zeros(stride, bool)
    for axis in range(3):
        for end in (0, -1):
            boundary[np.unique(np.take(lab, end, axis=axis))] = True
    touches = boundary[ids]
    interior = ~touches
    return CoordinationResult(
        mean_interior=float(degree[interior].mean()) if interior.any() else math.nan,
        mean_all=float(degree.mean()) if ids.size else math.nan,
        n_particles=int(ids.size),
        n_interior=int(interior.sum()),
        n_contacts=int(uniq.size),
        labels=ids.astype(np.int64),
        coordination=degree.astype(np.int64),
        touches_boundary=touches,
        pairs=pairs,
        contact_area_um2=np.asarray(area, float),
    )


def _line_rows(model, names, units, x, y, sigma_y=None, *, flags="", records=False):
    """Rows of a weighted (or ordinary) straight-line fit ``y = b0 + b1 x`` (dicts with ``records``)."""
    params = [Param(names[0], units[0], math.nan), Param(names[1], units[1], math.nan)]
    skip = too_few_points(model, params, x.size)
    if skip is not None:
        return skip, None
    coef, cov, rss, dof, birge = weighted_line(x, y, sigma_y)
    t = t_quantile(dof)
    se = np.sqrt(np.diag(cov))
    resid = y - (coef[0] + coef[1] * x)
    if sigma_y is None:
        method, a = "ci=ols_t", aicc(rss, x.size, 2)
    else:
        method = "ci=weighted_t" + (f"; birge_ratio={birge:.2f}" if birge > 1 else "")
        a = rss + 4 + 12 / (x.size - 3) if x.size > 3 else math.nan
    rows = [
        _row(
            model,
            p.name,
            p.unit,
            coef[i],
            se[i],
            coef[i] - t * se[i],
            coef[i] + t * se[i],
            x.size,
            math.sqrt(np.mean(resid**2)),
            a,
            join_flags(method, flags),
        )
        for i, p in enumerate(params)
    ]
    return (rows if records else rows_frame(rows)), (coef, se, t)


def fit_coordination(solid_fraction, coordination, *, reference_solid_fraction: float = 0.64) -> pd.DataFrame:
    """Fit Arzt's linear law ``Z = Z_ref + C (phi - phi_ref)`` of coordination against solid fraction.

    Parameters
    ----------
    solid_fraction : array_like
        Solid fraction ``phi = 1 - eps`` per sample (of the phase whose particles are counted,
        or of all solids).
    coordination : array_like
        Mean coordination number per sample (:attr:`CoordinationResult.mean_interior`).
    reference_solid_fraction : float, optional
        ``phi_ref`` (0.64: random dense packing of spheres, as in Arzt 1982).

    Returns
    -------
    DataFrame
        Model ``coordination_arzt``: rows ``coordination_at_reference`` and ``slope``.

    References
    ----------
    E. Arzt, Acta Metall. 30, 1883 (1982).
    """
    phi = _checks.finite_array(solid_fraction, "solid_fraction", ndim=1)
    z = _checks.finite_array(coordination, "coordination", ndim=1)
    if phi.shape != z.shape:
        raise ValueError("solid_fraction and coordination must have one length")
    ref = _checks.fraction(reference_solid_fraction, "reference_solid_fraction")
    rows, _ = _line_rows(
        "coordination_arzt",
        ("coordination_at_reference", "slope"),
        ("1", "1"),
        phi - ref,
        z,
        flags=f"phi_ref={ref:g}",
    )
    return rows


def fit_sauter_pressure(pressure_MPa, sauter_d32_um) -> pd.DataFrame:
    """Fit ``d32 = d32_0 + s P``: the Sauter diameter against pressure (cracking if ``s < 0``).

    Parameters
    ----------
    pressure_MPa : array_like
        Pressure per sample, MPa (or a line load; the slope then has its unit).
    sauter_d32_um : array_like
        Sauter mean diameter from CT per sample, um.

    Returns
    -------
    DataFrame
        Model ``sauter_d32_pressure``: rows ``d32_zero_load`` (um) and ``slope`` (um/MPa); the
        flag ``d32_decreases`` where the whole slope interval is below 0.
    """
    p = _checks.positive_array(pressure_MPa, "pressure_MPa", ndim=1, allow_zero=True)
    d = _checks.positive_array(sauter_d32_um, "sauter_d32_um", ndim=1)
    if p.shape != d.shape:
        raise ValueError("pressure_MPa and sauter_d32_um must have one length")
    rows, fit = _line_rows("sauter_d32_pressure", ("d32_zero_load", "slope"), ("um", "um/MPa"), p, d)
    if fit is not None:
        coef, se, t = fit
        if coef[1] + t * se[1] < 0:
            rows["flags"] = [join_flags(f, "d32_decreases") for f in rows["flags"]]
    return rows


def fit_conductivity_pressure(
    pressure_MPa,
    conductivity_S_m,
    *,
    conductivity_ci_low=None,
    conductivity_ci_high=None,
    model: str = "conductivity_power_law",
) -> pd.DataFrame:
    """Fit ``G = G_0 (p / 1 MPa)^m`` and compare ``m`` with the Hertzian 1/3.

    ``ln G = ln G_0 + m ln p`` by least squares, weighted by the conductivity intervals
    where given. The flag ``hertz_1/3_outside_ci`` marks an interval of ``m`` that excludes
    1/3, ``hertz_1/3_inside_ci`` one that contains it.

    Parameters
    ----------
    pressure_MPa : array_like
        Pressure per sample (> 0), MPa.
    conductivity_S_m : array_like
        Electronic conductivity per sample (CT or measured), S/m.
    conductivity_ci_low, conductivity_ci_high : array_like, optional
        95 % intervals of the conductivity.
    model : str, optional
        Name for the ``model`` column (e.g. ``conductivity_power_law_measured``).

    Returns
    -------
    DataFrame
        Rows ``G0`` (S/m, at 1 MPa; fitted as ``ln G_0``, interval ``exp`` of its interval)
        and ``m``.

    Examples
    --------
    >>> p = np.array([20.0, 40.0, 80.0, 160.0])
    >>> t = fit_conductivity_pressure(p, 5.0 * p ** (1 / 3))
    >>> [round(v, 12) for v in t["value"]], t["flags"].iloc[1].split("; ")[-1]
    ([5.0, 0.333333333333], 'hertz_1/3_inside_ci')
    """
    p = _checks.positive_array(pressure_MPa, "pressure_MPa", ndim=1)
    g = _checks.positive_array(conductivity_S_m, "conductivity_S_m", ndim=1)
    if p.shape != g.shape:
        raise ValueError("pressure_MPa and conductivity_S_m must have one length")
    s = _log_sigma(conductivity_ci_low, conductivity_ci_high, g.size, "conductivity")
    out, fit = _line_rows(model, ("G0", "m"), ("S/m", "1"), np.log(p), np.log(g), s, records=True)
    if fit is None:
        return out
    coef, se, t = fit
    g0 = out[0]
    g0.update(
        value=math.exp(coef[0]),
        stderr=math.exp(coef[0]) * se[0],
        ci_low=math.exp(coef[0] - t * se[0]),
        ci_high=math.exp(coef[0] + t * se[0]),
        flags=g0["flags"].replace("ci=", "ci=exp of ", 1),
    )
    lo, hi = coef[1] - t * se[1], coef[1] + t * se[1]
    slack = 1e-12 * max(1.0, abs(coef[1]))  # exact data: a zero-width interval at 1/3
    token = "hertz_1/3_inside_ci" if lo - slack <= 1 / 3 <= hi + slack else "hertz_1/3_outside_ci"
    for r in out:
        r["flags"] = join_flags(r["flags"], "rmse in ln(G)", token)
    return rows_frame(out)
