"""Batch acceptance of cathode powders from their size distribution.

The chain of seed document 000 ("The Symphony of Performance", paragraph "The ultimate
goal of this understanding..."): volume-weighted d10/d50/d90 -> lognormal -> specific
surface area -> electrode transport (Kozeny-Carman, Bruggeman) -> solid-diffusion times
over the PSD -> accessible capacity at a C-rate -> thresholds -> accept / reject with
reasons in words. :func:`acceptance_table` does it for every sample of a
:func:`batteryct.psd.psd_table`, with the criteria of an :class:`AcceptanceCriteria`; the
steps and their units are in the Notes of :func:`acceptance_table`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import special

from .diffusion import crank_constant_flux_surface
from .psd import percentile_lognormal

__all__ = [
    "AcceptanceCriteria",
    "specific_surface_area_m2_g",
    "kozeny_carman_permeability_um2",
    "bruggeman_conductivity_S_m",
    "diffusion_time_s",
    "galvanostatic_utilisation",
    "reachable_fractions",
    "acceptance_table",
]

DENSITY_MISSING = "density_g_cm3 missing in samples.tsv"


# --------------------------------------------------------------------------- physics


def specific_surface_area_m2_g(d32_um, density_g_cm3):
    """Return the specific surface area of smooth spheres, ``6 / (rho d32)``.

    Parameters
    ----------
    d32_um : float or array_like
        Sauter mean diameter in micrometres.
    density_g_cm3 : float or array_like
        Particle (skeletal) density in g/cm^3.

    Returns
    -------
    float or ndarray
        SSA in m^2/g (the unit factors 1e6 g/m^3 per g/cm^3 and 1e-6 m per um cancel).
    """
    return 6.0 / (np.asarray(density_g_cm3, dtype=float) * np.asarray(d32_um, dtype=float))


def kozeny_carman_permeability_um2(d32_um, porosity, constant: float = 180.0):
    """Return the Kozeny-Carman permeability ``eps^3 d32^2 / (constant (1 - eps)^2)``.

    Parameters
    ----------
    d32_um : float or array_like
        Sauter mean diameter in micrometres.
    porosity : float
        Electrode porosity ``eps`` (0..1, exclusive).
    constant : float, optional
        Dimensionless; 180 = Kozeny constant 5 x 36 (sphere specific surface 6 / d32),
        Carman's form for packed spheres.

    Returns
    -------
    float or ndarray
        Permeability in um^2 (multiply by 1e-12 for m^2).

    Raises
    ------
    ValueError
        If ``porosity`` is not inside (0, 1).
    """
    eps = float(porosity)
    if not 0.0 < eps < 1.0:
        raise ValueError(f"porosity must lie in (0, 1), got {eps}")
    return eps**3 * np.asarray(d32_um, dtype=float) ** 2 / (constant * (1.0 - eps) ** 2)


def bruggeman_conductivity_S_m(kappa0_S_m: float, porosity: float, alpha: float = 1.5) -> float:
    """Return the Bruggeman effective ionic conductivity ``kappa0 eps^alpha``.

    Parameters
    ----------
    kappa0_S_m : float
        Bulk electrolyte conductivity in S/m.
    porosity : float
        Electrode porosity ``eps`` (0 exclusive .. 1).
    alpha : float, optional
        Bruggeman exponent (dimensionless; 1.5 is Bruggeman's value for spheres).

    Returns
    -------
    float
        Effective conductivity in S/m.

    Raises
    ------
    ValueError
        If ``porosity`` is not in (0, 1].
    """
    eps = float(porosity)
    if not 0.0 < eps <= 1.0:
        raise ValueError(f"porosity must lie in (0, 1], got {eps}")
    return float(kappa0_S_m) * eps ** float(alpha)


def diffusion_time_s(d_um, D_s_cm2_s: float):
    """Return the solid-diffusion time ``tau_D = R^2 / D_s`` with ``R = d / 2``.

    Parameters
    ----------
    d_um : float or array_like
        Particle diameter in micrometres (R in cm = d_um * 1e-4 / 2).
    D_s_cm2_s : float
        Solid diffusivity in cm^2/s.

    Returns
    -------
    float or ndarray
        ``tau_D`` in seconds.
    """
    r_cm = np.asarray(d_um, dtype=float) * 0.5e-4
    return r_cm**2 / float(D_s_cm2_s)


_T_GRID = np.logspace(-9, 0, 600)
# surface filling per unit beta, g(T) = 3T + 1/5 - 2 sum exp(-a_n^2 T) / a_n^2: the constant-flux
# sphere of batteryct.diffusion (Crank eq. 6.33), tabulated once
_G_GRID = crank_constant_flux_surface(_T_GRID)


def galvanostatic_utilisation(tau_over_t):
    """Return the mean filling of a sphere at constant surface flux when its surface saturates.

    Parameters
    ----------
    tau_over_t : float or array_like
        ``tau_D / t_d`` = (R^2 / D_s) / (3600 / C), dimensionless (>= 0).

    Returns
    -------
    float or ndarray
        Capacity fraction ``3 beta T*`` reached when ``x_surface(T*) = 1``, with
        ``beta = tau_over_t / 3`` (Notes of :func:`acceptance_table`, step 5). 1 for ``tau_over_t = 0``;
        ``~1 - tau_over_t / 15`` when small; ``~(9 pi / 4) / tau_over_t`` when large
        (semi-infinite limit, surface filling ``2 beta sqrt(T / pi)``).

    Raises
    ------
    ValueError
        If ``tau_over_t`` is negative.
    """
    r = np.asarray(tau_over_t, dtype=float)
    if np.any(r < 0):
        raise ValueError("tau_over_t must be >= 0")
    beta = r / 3.0
    g_star = 1.0 / np.where(beta > 0, beta, 1.0)  # beta = 0 handled at the end
    t_star = np.empty_like(g_star)
    big = g_star >= _G_GRID[-1]  # T* >= 1: exponentials < 2e-9, g = 3T + 1/5
    t_star[big] = (g_star[big] - 0.2) / 3.0
    small = g_star <= _G_GRID[0]  # T* <= 1e-9: semi-infinite, g = 2 sqrt(T / pi)
    t_star[small] = np.pi * g_star[small] ** 2 / 4.0
    mid = ~big & ~small
    t_star[mid] = np.exp(np.interp(np.log(g_star[mid]), np.log(_G_GRID), np.log(_T_GRID)))
    u = np.where(beta > 0, 3.0 * beta * t_star, 1.0)
    u = np.clip(u, 0.0, 1.0)
    return float(u) if u.ndim == 0 else u


def reachable_fractions(d50_volume_um: float, sigma: float, D_s_cm2_s: float, c_rate: float, n_nodes: int = 96) -> dict:
    """Return the capacity fractions reachable in ``3600 / c_rate`` s over a volume-weighted lognormal.

    Parameters
    ----------
    d50_volume_um : float
        Volume-weighted median diameter, micrometres.
    sigma : float
        Lognormal width (sd of ln d), dimensionless; 0 = monodisperse.
    D_s_cm2_s : float
        Solid diffusivity, cm^2/s.
    c_rate : float
        Discharge rate in 1/h.
    n_nodes : int, optional
        Gauss-Hermite nodes of the galvanostatic integral.

    Returns
    -------
    dict
        ``discharge_time_s`` (s), ``d_crit_um`` (um, the diameter whose tau_D equals the
        discharge time), ``reachable_fraction_tau``, ``reachable_fraction_galvanostatic``
        (dimensionless; NaN when ``d50_volume_um`` or ``sigma`` is not finite); merged
        into a row of :func:`acceptance_table`.
    """
    t_d = 3600.0 / float(c_rate)
    d_crit = float(2.0 * np.sqrt(D_s_cm2_s * t_d) * 1e4)
    if not (np.isfinite(d50_volume_um) and np.isfinite(sigma)):
        return {
            "discharge_time_s": t_d,
            "d_crit_um": d_crit,
            "reachable_fraction_tau": np.nan,
            "reachable_fraction_galvanostatic": np.nan,
        }
    if sigma <= 0:
        f_tau = float(d50_volume_um < d_crit)
        f_g = galvanostatic_utilisation(diffusion_time_s(d50_volume_um, D_s_cm2_s) / t_d)
    else:
        f_tau = float(special.ndtr(np.log(d_crit / d50_volume_um) / sigma))
        z, w = np.polynomial.hermite_e.hermegauss(n_nodes)
        w = w / w.sum()
        d = d50_volume_um * np.exp(sigma * z)
        f_g = float(np.sum(w * galvanostatic_utilisation(diffusion_time_s(d, D_s_cm2_s) / t_d)))
    return {
        "discharge_time_s": t_d,
        "d_crit_um": d_crit,
        "reachable_fraction_tau": f_tau,
        "reachable_fraction_galvanostatic": float(f_g),
    }


# --------------------------------------------------------------------------- table

_REACHABLE_MODELS = ("galvanostatic", "tau")
_D32_SOURCES = ("percentile", "measured")


@dataclass(frozen=True)
class AcceptanceCriteria:
    """Physics parameters and thresholds of the batch acceptance (``acceptance:`` in the config).

    The workflow's values are in ``config/config.yaml``; :meth:`from_mapping` builds the
    criteria from that section. Units are in the names; a threshold of ``None`` is not
    checked.

    Attributes
    ----------
    electrode_porosity : float
        Porosity ``eps`` of the electrode made from the powder (fraction, 0..1), for
        Kozeny-Carman and Bruggeman.
    kozeny_carman_constant : float
        Dimensionless constant ``C`` of ``k = eps^3 d32^2 / (C (1 - eps)^2)``: the Kozeny
        constant times 36 (sphere specific surface ``6 / d32``).
    kappa0_S_m : float
        Bulk ionic conductivity of the electrolyte, S/m.
    bruggeman_alpha : float
        Bruggeman exponent (dimensionless), ``kappa_eff = kappa0 eps^alpha``.
    D_s_cm2_s : float
        Solid diffusivity of the active material, cm^2/s.
    c_rate : float
        Discharge rate, 1/h (discharge time ``3600 / c_rate`` s).
    reachable_model : {"galvanostatic", "tau"}
        Which reachable capacity fraction is compared with ``reachable_fraction_min``.
    d32_source : {"percentile", "measured"}
        Sauter diameter used for SSA and permeability: from the volume-weighted
        percentiles (lognormal route) or the measured ``sum d^3 / sum d^2``.
    d50_um : (float or None, float or None) or None
        Accepted range [min, max] of the volume-weighted d50, um.
    span_volume_max : float or None
        Largest volume-weighted span ``(d90 - d10) / d50`` (dimensionless).
    ssa_m2_g : (float or None, float or None) or None
        Accepted range [min, max] of the specific surface area, m^2/g (needs the sample's
        density).
    reachable_fraction_min : float or None
        Smallest capacity fraction reachable at ``c_rate`` (dimensionless).
    dispersion_index_max : float or None
        Largest dispersion index (:func:`batteryct.psd.dispersion_index`, dimensionless).
    kappa_eff_S_m_min : float or None
        Smallest effective ionic conductivity, S/m.
    permeability_um2_min : float or None
        Smallest Kozeny-Carman permeability, um^2.
    require_lognormal : bool
        A PSD that is not lognormal rejects the batch (True) or only adds a note (False).

    Raises
    ------
    ValueError
        If ``reachable_model`` or ``d32_source`` is not one of the choices, or a range is
        not a pair.
    """

    electrode_porosity: float
    kozeny_carman_constant: float
    kappa0_S_m: float
    bruggeman_alpha: float
    D_s_cm2_s: float
    c_rate: float
    reachable_model: str
    d32_source: str
    d50_um: tuple | None
    span_volume_max: float | None
    ssa_m2_g: tuple | None
    reachable_fraction_min: float | None
    dispersion_index_max: float | None
    kappa_eff_S_m_min: float | None
    permeability_um2_min: float | None
    require_lognormal: bool

    def __post_init__(self):
        """Check the choices; store the ranges as tuples."""
        if self.reachable_model not in _REACHABLE_MODELS:
            raise ValueError("reachable_model must be 'galvanostatic' or 'tau'")
        if self.d32_source not in _D32_SOURCES:
            raise ValueError("d32_source must be 'percentile' or 'measured'")
        for name in ("d50_um", "ssa_m2_g"):
            value = getattr(self, name)
            if value is not None:
                if len(value) != 2:
                    raise ValueError(f"{name} must be a [min, max] pair or None, got {value!r}")
                object.__setattr__(self, name, tuple(value))  # a YAML list becomes a hashable pair

    @classmethod
    def from_mapping(cls, mapping) -> AcceptanceCriteria:
        """Build the criteria from the ``acceptance:`` section of the workflow config.

        Parameters
        ----------
        mapping : Mapping
            One entry per attribute (see the class docstring); no other keys.

        Returns
        -------
        AcceptanceCriteria

        Raises
        ------
        KeyError
            Naming every unknown key, or every missing one.
        """
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(mapping) - set(known))
        if unknown:
            raise KeyError(f"unknown acceptance config keys {unknown}; known: {sorted(known)}")
        missing = [k for k in known if k not in mapping]
        if missing:
            raise KeyError(f"acceptance config keys missing: {missing}")
        return cls(**{k: mapping[k] for k in known})


def _range(value):
    if value is None:
        return None, None
    lo, hi = value
    return (None if lo is None else float(lo)), (None if hi is None else float(hi))


def _check_range(reasons, label, value, bounds, fmt, unit):
    lo, hi = _range(bounds)
    u = f" {unit}" if unit else ""
    if lo is not None and value < lo:
        reasons.append(f"{label} {value:{fmt}}{u} below the {lo:{fmt}}{u} limit")
    if hi is not None and value > hi:
        reasons.append(f"{label} {value:{fmt}}{u} above the {hi:{fmt}}{u} limit")


def _density_lookup(samples: pd.DataFrame | None) -> dict:
    if samples is None or "sample" not in samples:
        return {}
    if "density_g_cm3" not in samples:
        return {s: np.nan for s in samples["sample"]}
    dens = pd.to_numeric(samples["density_g_cm3"], errors="coerce")
    out = {}
    for s, v in zip(samples["sample"], dens):
        out.setdefault(s, float(v))
    return out


def acceptance_table(
    psd_table: pd.DataFrame, samples: pd.DataFrame | None, criteria: AcceptanceCriteria
) -> pd.DataFrame:
    """Accept or reject each powder batch from its PSD.

    Parameters
    ----------
    psd_table : DataFrame
        Output of :func:`batteryct.psd.psd_table` (needs ``sample``, ``n_particles``,
        ``d10_volume_um``, ``d50_volume_um``, ``d90_volume_um``, ``span_volume``,
        ``d32_um``; uses ``dispersion_index``, ``lognormal_ok``, ``ks_pvalue``,
        ``d32_percentile_rel_error`` and ``warning`` when present).
    samples : DataFrame or None
        ``sample`` and ``density_g_cm3`` (g/cm^3; missing / NaN allowed).
    criteria : AcceptanceCriteria
        Physics parameters and thresholds.

    Returns
    -------
    DataFrame
        One row per sample with every input and computed value (units in the column
        names), ``accepted`` (bool), ``reasons`` ("; "-joined failed criteria, or
        "all criteria met") and ``notes`` (caveats that do not reject).

    Notes
    -----
    Steps and units:

    1. **Lognormal from percentiles** (:func:`batteryct.psd.percentile_lognormal`):
       ``sigma = ln(d90/d10) / 2.5631`` from the *volume-weighted* percentiles; the
       volume-weighted ln d is then ``N(ln d50, sigma^2)`` and ``d32 = d50 exp(-sigma^2/2)``.
       ``d32_source = "measured"`` uses the measured ``sum d^3 / sum d^2`` instead.
    2. **Specific surface area** of smooth spheres, ``SSA = 6 / (rho d32)``. With ``rho`` in
       g/cm^3 = 1e6 g/m^3 and ``d32`` in um = 1e-6 m the factors cancel:
       ``SSA [m^2/g] = 6 / (rho [g/cm^3] * d32 [um])`` (4.75 g/cm^3, 10 um -> 0.126 m^2/g).
       This is a geometric lower bound of a BET area (no roughness, no internal porosity).
    3. **Kozeny-Carman permeability** of the electrode's pore space (Carman form, Kozeny
       constant 5, sphere specific surface ``S_v = 6 / d32``)::

           k = eps^3 / (5 S_v^2 (1 - eps)^2) = eps^3 d32^2 / (180 (1 - eps)^2)

       ``eps`` = configured electrode porosity; k in um^2 when d32 is in um (x 1e-12 for m^2).
    4. **Effective ionic conductivity** (Bruggeman): ``kappa_eff = kappa0 eps^alpha`` in S/m,
       MacMullin number ``N_M = kappa0 / kappa_eff = eps^-alpha``. Note: in this chain it
       depends on the configured porosity only, not on the PSD (every batch gets the same
       value); it is reported, and thresholded only if ``kappa_eff_S_m_min`` is set.
    5. **Solid diffusion**: ``tau_D = R^2 / D_s`` with ``R = d / 2`` (seed 000 and seed 002,
       "tau_D ~ R^2/D"); R in cm (1 um = 1e-4 cm), D_s in cm^2/s, tau in s. Discharge time
       ``t_d = 3600 / C`` s. Two estimates of the capacity fraction reachable in ``t_d``,
       both integrated over the volume-weighted lognormal of step 1 (volume = capacity):

       * ``reachable_fraction_tau``: volume fraction of particles with ``tau_D < t_d``, i.e.
         ``d < d_crit = 2 sqrt(D_s t_d)``: ``Phi(ln(d_crit / d50) / sigma)``. Simple but
         very pessimistic: a particle with ``tau_D = 10 t_d`` counts zero although it fills
         to ~75 %.
       * ``reachable_fraction_galvanostatic``: the spherical
         particle model of seed 002 ("Application: The Spherical Particle Model"; Fick's law in
         a sphere, zero flux at the centre, constant flux at the surface = "galvanostatic
         operation"). Each particle runs at the electrode C-rate (current proportional to its
         capacity), starting empty. With ``T = D_s t / R^2`` and
         ``beta = tau_D / (3 t_d)`` the surface filling is the classical series solution for
         a sphere with constant surface flux (Carslaw & Jaeger, *Conduction of Heat in
         Solids*; rewritten with ``sum 1/a_n^2 = 1/10`` so that it converges at short times;
         checked against a finite-volume solution in ``tests/test_acceptance.py``)::

             x_surface(T) = beta * [3 T + 2 sum_n (1 - exp(-a_n^2 T)) / a_n^2],  tan a_n = a_n

         and the mean filling is ``x_mean = 3 beta T``. The particle's usable capacity is
         ``x_mean`` when its surface saturates (``x_surface = 1``); for ``tau_D << t_d``
         this is ``1 - tau_D / (15 t_d)`` (the parabolic-profile limit). Assumptions: no
         redistribution of current after a particle saturates, a constant ``D_s``, no
         kinetic or electrolyte overpotential. It lies between the ``tau`` criterion and the
         potentiostatic (constant surface concentration) upper bound.

       ``reachable_model`` selects which one is compared with ``reachable_fraction_min``.
    6. **Thresholds** (``None`` = not checked). A sample is accepted when every configured
       criterion is met; ``reasons`` lists every failed one in words.
    6. **Thresholds** (``None`` = not checked). A sample is accepted when every configured
       criterion is met; ``reasons`` lists every failed one in words. The thresholds are
       proposals to be set by the QA owner of each material, not values from the seed
       documents.

    Examples
    --------
    >>> import pandas as pd
    >>> psd = pd.DataFrame([{"sample": "A", "n_particles": 500, "d10_volume_um": 7.5, "d50_volume_um": 10.0,
    ...                      "d90_volume_um": 14.0, "span_volume": 0.65, "d32_um": 9.6}])
    >>> criteria = AcceptanceCriteria(
    ...     electrode_porosity=0.3, kozeny_carman_constant=180.0, kappa0_S_m=1.0, bruggeman_alpha=1.5,
    ...     D_s_cm2_s=1e-10, c_rate=1.0, reachable_model="galvanostatic", d32_source="percentile",
    ...     d50_um=(5.0, 15.0), span_volume_max=1.5, ssa_m2_g=(0.05, 1.0), reachable_fraction_min=0.8,
    ...     dispersion_index_max=None, kappa_eff_S_m_min=None, permeability_um2_min=None, require_lognormal=False)
    >>> row = acceptance_table(psd, pd.DataFrame({"sample": ["A"], "density_g_cm3": [4.75]}), criteria).iloc[0]
    >>> bool(row["accepted"]), row["reasons"], f"{row['ssa_m2_g']:.3f} m2/g"
    (True, 'all criteria met', '0.130 m2/g')
    """
    cfg = criteria
    density = _density_lookup(samples)
    listed = set(density)
    eps = float(cfg.electrode_porosity)
    kappa_eff = bruggeman_conductivity_S_m(cfg.kappa0_S_m, eps, cfg.bruggeman_alpha)
    rows = []
    for _, p in psd_table.iterrows():
        sample = p["sample"]
        reasons, notes = [], []
        d10, d50, d90 = (float(p.get(f"d{k}_volume_um", np.nan)) for k in (10, 50, 90))
        d32_meas = float(p.get("d32_um", np.nan))
        warning = p.get("warning", "")
        warning = "" if warning is None or (isinstance(warning, float) and np.isnan(warning)) else str(warning)
        has_psd = np.isfinite(d10) and np.isfinite(d50) and np.isfinite(d90) and d10 > 0
        ln = percentile_lognormal(d10, d50, d90) if has_psd else percentile_lognormal(np.nan, np.nan, np.nan)
        sigma = ln["percentile_sigma"]
        d32_used = ln["d32_percentile_um"] if cfg.d32_source == "percentile" else d32_meas
        rho = density.get(sample, np.nan)
        ssa = float(specific_surface_area_m2_g(d32_used, rho)) if np.isfinite(rho) and rho > 0 else np.nan
        perm = float(kozeny_carman_permeability_um2(d32_used, eps, cfg.kozeny_carman_constant))
        reach = reachable_fractions(d50, sigma, cfg.D_s_cm2_s, cfg.c_rate)
        reach_used = reach[f"reachable_fraction_{cfg.reachable_model}"]
        tau = {f"tau_D_d{k}_s": float(diffusion_time_s(v, cfg.D_s_cm2_s)) for k, v in ((10, d10), (50, d50), (90, d90))}
        di = float(p.get("dispersion_index", np.nan))
        lognormal_ok = p.get("lognormal_ok", np.nan)
        span_v = float(p.get("span_volume", np.nan))

        if not has_psd:
            reasons.append("no size statistics" + (f" ({warning})" if warning else ""))
        else:
            _check_range(reasons, "d50", d50, cfg.d50_um, ".1f", "µm")
            if cfg.span_volume_max is not None and span_v > cfg.span_volume_max:
                reasons.append(f"volume span {span_v:.2f} above the {cfg.span_volume_max:.2f} limit")
            if cfg.ssa_m2_g is not None:
                if np.isfinite(ssa):
                    _check_range(reasons, "SSA", ssa, cfg.ssa_m2_g, ".3f", "m²/g")
                elif sample not in listed:
                    reasons.append(f"{DENSITY_MISSING} (sample not listed)")
                else:
                    reasons.append(DENSITY_MISSING)
            elif not np.isfinite(ssa):
                notes.append(f"{DENSITY_MISSING}; SSA not computed")
            rmin = cfg.reachable_fraction_min
            if rmin is not None and reach_used < rmin:
                reasons.append(
                    f"reachable capacity fraction {reach_used:.2f} at {cfg.c_rate:g}C "
                    f"({cfg.reachable_model} model) below the {rmin:.2f} limit"
                )
            dmax = cfg.dispersion_index_max
            if dmax is not None:
                if not np.isfinite(di):
                    reasons.append("dispersion index not available")
                elif di > dmax:
                    reasons.append(f"dispersion index {di:.2f} above the {dmax:.2f} limit")
            kmin = cfg.kappa_eff_S_m_min
            if kmin is not None and kappa_eff < kmin:
                reasons.append(f"effective ionic conductivity {kappa_eff:.3f} S/m below the {kmin:.3f} S/m limit")
            pmin = cfg.permeability_um2_min
            if pmin is not None and perm < pmin:
                reasons.append(f"Kozeny-Carman permeability {perm:.4f} µm² below the {pmin:.4f} µm² limit")
            if isinstance(lognormal_ok, (bool, np.bool_)) and not lognormal_ok:
                msg = "PSD not lognormal"
                if "ks_pvalue" in p and np.isfinite(p["ks_pvalue"]):
                    msg += f" (KS p = {p['ks_pvalue']:.3g}"
                    if "d32_percentile_rel_error" in p and np.isfinite(p["d32_percentile_rel_error"]):
                        msg += f", percentile-route d32 off by {100 * p['d32_percentile_rel_error']:+.1f} %"
                    msg += ")"
                if cfg.require_lognormal:
                    reasons.append(msg)
                else:
                    notes.append(msg + ": lognormal-based predictions are approximate")
        rows.append(
            {
                "sample": sample,
                "n_particles": p.get("n_particles", np.nan),
                "density_g_cm3": rho,
                "d10_volume_um": d10,
                "d50_volume_um": d50,
                "d90_volume_um": d90,
                "span_volume": span_v,
                "d32_measured_um": d32_meas,
                **ln,
                "d32_source": cfg.d32_source,
                "d32_used_um": d32_used,
                "ssa_m2_g": ssa,
                "electrode_porosity": eps,
                "kozeny_carman_constant": float(cfg.kozeny_carman_constant),
                "permeability_um2": perm,
                "permeability_m2": perm * 1e-12,
                "kappa0_S_m": float(cfg.kappa0_S_m),
                # not the transport table's bruggeman_exponent_* (α of τ = ε^-α): another α
                "kappa_porosity_exponent": float(cfg.bruggeman_alpha),
                "kappa_eff_S_m": kappa_eff,
                "macmullin_number": float(cfg.kappa0_S_m) / kappa_eff,
                "D_s_cm2_s": float(cfg.D_s_cm2_s),
                "c_rate": float(cfg.c_rate),
                **tau,
                **reach,
                "reachable_model": cfg.reachable_model,
                "reachable_fraction": reach_used,
                "dispersion_index": di,
                "lognormal_ok": lognormal_ok,
                "accepted": not reasons,
                "reasons": "; ".join(reasons) if reasons else "all criteria met",
                "notes": "; ".join(notes),
            }
        )
    return pd.DataFrame(rows)
