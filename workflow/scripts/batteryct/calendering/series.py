"""All calendering fits of a ``calendering.tsv`` sheet (and CT metrics), series by series.

:func:`fit_calendering_series` reads the sheet columns of issue 11, derives per-sample
quantities (solid density, porosity with its error, coated and gap porosity, kinematics,
Hertz nip, springback) and runs every fit the data allow; what it cannot fit is listed
with the reason. Sheet columns (one row per electrode sample):

``sample`` (id; needed to join CT metrics), ``series``, ``line_load_N_mm`` and/or
``pressure_MPa`` (read as the peak nip pressure), ``roll_diameter_mm``,
``line_speed_m_min``, ``thickness_coated_um``, ``thickness_um`` (relaxed, after the nip),
optional ``thickness_gap_um`` (roll gap / minimum thickness), ``mass_loading_mg_cm2``,
and ``solid_density_g_cm3`` or ``mass_fraction_{active,binder,carbon}`` with
``density_{active,binder,carbon}_g_cm3``; optional ``conductivity_S_m``.

CT metrics (optional, one row per scanned sample, joined on ``sample``): ``porosity``,
``tortuosity_factor_{z,y,x}``, ``conductivity_z_S_m``, ``sauter_d32_um`` (or ``d32_um``,
as :func:`batteryct.psd.psd_summary` names it), ``coordination_number``
(:attr:`~.structure.CoordinationResult.mean_interior` of the sample's particle partition),
each optionally with ``_ci_low`` / ``_ci_high`` (95 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import _checks
from ._fitting import FIT_COLUMNS, Param, join_flags, skipped
from .compaction import (
    compare_compaction_laws,
    compressibility_from_fit,
    fit_kawakita_linear,
    fit_springback,
    springback_strain,
)
from .nip import fit_nip_relaxation, half_width_from_pressure, hertz_line_contact
from .porosity import (
    check_kinematics,
    compare_porosity,
    porosity_from_loading,
    porosity_stderr,
    solid_density_rule_of_mixtures,
)
from .structure import (
    DRUCKER_PRAGER_CAP_REASON,
    fit_bruggeman,
    fit_conductivity_pressure,
    fit_coordination,
    fit_sauter_pressure,
)

__all__ = ["CalenderingFits", "fit_calendering_series", "SHEET_REQUIRED", "PARAMETER_COLUMNS"]

SHEET_REQUIRED = (
    "series",
    "roll_diameter_mm",
    "line_speed_m_min",
    "thickness_coated_um",
    "thickness_um",
    "mass_loading_mg_cm2",
)
PARAMETER_COLUMNS = ("series", *FIT_COLUMNS)
_COMPONENTS = ("active", "binder", "carbon")


@dataclass(frozen=True)
class CalenderingFits:
    """Output of :func:`fit_calendering_series`.

    Attributes
    ----------
    parameters : DataFrame
        Every fit row, columns :data:`PARAMETER_COLUMNS` (``series`` + the fit columns).
    samples : DataFrame
        Per-sample derived quantities: ``sample``, ``series``, ``solid_density_g_cm3``,
        ``porosity`` and ``porosity_stderr`` (relaxed), ``porosity_coated``,
        ``porosity_gap``, ``true_strain``, ``peak_pressure_MPa``, ``half_width_m``,
        ``dwell_time_s``, ``springback``, ``compressibility`` (of the selected law, in the
        inverse unit of its load), the kinematics columns of
        :func:`~.porosity.check_kinematics` and, with CT, those of
        :func:`~.porosity.compare_porosity`.
    selected_law : dict
        Series -> the compaction law AICc selected (None where none could be ranked).
    notes : tuple of str
        Sentences for the report (what was not fitted and why).
    """

    parameters: pd.DataFrame
    samples: pd.DataFrame
    selected_law: dict
    notes: tuple


def _column(df, name, sheet_name, *, positive=True, allow_zero=False, required=True):
    """Numeric column ``name`` of ``df`` (NaN where empty); errors name the sheet row (1-based)."""
    if name not in df.columns or df[name].isna().all():
        if required:
            raise ValueError(f"{sheet_name}: column {name!r} is missing")
        return None
    values = pd.to_numeric(df[name], errors="coerce").to_numpy(float)
    empty = df[name].isna().to_numpy()
    rows = df.index.to_numpy() + 1  # the sheet's index was reset: its data rows, 1-based
    if required and empty.any():
        raise ValueError(f"{sheet_name}, row {rows[empty][0]}, column {name!r}: empty")
    bad = ~empty & ~np.isfinite(values)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{sheet_name}, row {rows[k]}, column {name!r}: not a number ({df[name].iloc[k]!r})")
    if positive:
        with np.errstate(invalid="ignore"):
            bad = ~empty & ((values < 0) if allow_zero else (values <= 0))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{sheet_name}, row {rows[k]}, column {name!r}: must be {'>= 0' if allow_zero else '> 0'}, "
                f"got {values[k]!r}"
            )
    return values


def _solid_density(df, sheet_name):
    pyc = _column(df, "solid_density_g_cm3", sheet_name, required=False)
    have_comp = all(f"mass_fraction_{c}" in df.columns for c in _COMPONENTS)
    comp = None
    if have_comp:
        w = np.column_stack([_column(df, f"mass_fraction_{c}", sheet_name, allow_zero=True) for c in _COMPONENTS])
        d = np.column_stack([_column(df, f"density_{c}_g_cm3", sheet_name) for c in _COMPONENTS])
        comp = solid_density_rule_of_mixtures(w, d, tolerance=0.01)
    if pyc is None and comp is None:
        raise ValueError(
            f"{sheet_name}: give solid_density_g_cm3 (pycnometer) or mass_fraction_{{active,binder,carbon}} "
            "with density_{active,binder,carbon}_g_cm3"
        )
    if pyc is None:
        return comp
    if comp is None:
        if np.any(np.isnan(pyc)):
            i = int(df.index[np.flatnonzero(np.isnan(pyc))[0]]) + 1
            raise ValueError(f"{sheet_name}, row {i}, column 'solid_density_g_cm3': empty and no composition given")
        return pyc
    return np.where(np.isnan(pyc), comp, pyc)


def _ct_column(ct, name):
    if ct is None or name not in ct.columns:
        return None, None, None
    lo = ct[f"{name}_ci_low"].to_numpy(float) if f"{name}_ci_low" in ct.columns else None
    hi = ct[f"{name}_ci_high"].to_numpy(float) if f"{name}_ci_high" in ct.columns else None
    return ct[name].to_numpy(float), lo, hi


def _sel(a, m):
    return None if a is None else np.asarray(a)[m]


def fit_calendering_series(
    sheet: pd.DataFrame,
    ct: pd.DataFrame | None = None,
    *,
    contact_modulus_Pa: float | None = None,
    thickness_error_um: float = 0.5,
    mass_loading_error_mg_cm2: float = 0.05,
    solid_density_error_g_cm3: float = 0.0,
    geometry: str = "roll_on_flat",
    kinematics_level: float = 0.99,
    nip_law: str | None = None,
    sheet_name: str = "calendering.tsv",
) -> CalenderingFits:
    """Run every calendering fit the sheet (and the CT metrics) allow, series by series.

    Per series: porosity from densities and its error; kinematics check; the three
    compaction laws ranked by AICc (on the porosity at the gap thickness when the sheet
    has ``thickness_gap_um``, else the relaxed porosity; on the rows at the slowest line
    speed when the series varies it, which are closest to equilibrium) and Kawakita's
    linearisation; the compressibility of the selected law; springback (needs
    ``thickness_gap_um`` and a pressure); the joint nip-relaxation fit (needs two line
    speeds, a pressure and the Hertz half-width); with CT: porosity comparison,
    Bruggeman, coordination, ``d32`` and conductivity against pressure; the measured
    conductivity against pressure. Drucker-Prager-cap is never fitted (the reason is in
    ``notes``). Where the fitted relaxation time exceeds a fifth of the shortest dwell time
    at the slowest speed, the compaction-law rows carry the flag ``not_quasi_static`` (those
    samples did not reach equilibrium: the laws' parameters are biased, the
    ``nip_relaxation`` rows are not).

    The pressure is ``pressure_MPa`` where the sheet has it, else the Hertz peak
    pressure from the line load and ``contact_modulus_Pa``. The half-width is
    ``b = 2 q / (pi p_max)`` when the sheet has both line load and pressure, else Hertz
    from one of them and ``contact_modulus_Pa``. Without any pressure, the compaction
    laws use the line load (parameters in N/mm) and the fits that need a pressure are
    skipped with that reason.

    Parameters
    ----------
    sheet : DataFrame
        The calendering sheet (module docstring for its columns).
    ct : DataFrame, optional
        CT metrics per sample, joined on ``sample``.
    contact_modulus_Pa : float, optional
        Hertz contact modulus ``E*`` of coating against roll, Pa.
    thickness_error_um, mass_loading_error_mg_cm2 : float, optional
        One standard deviation of a thickness and of a mass-loading measurement.
    solid_density_error_g_cm3 : float, optional
        One standard deviation of the solid density.
    geometry : {"roll_on_flat", "two_rolls"}, optional
        ``R_eff`` convention (:mod:`.nip`).
    kinematics_level : float, optional
        Level of the kinematics flag.
    nip_law : {"compaction_exponential", "heckel", "kawakita"}, optional
        Law of ``eps_eq(p)`` in the nip-relaxation fit; default: the law AICc selected for
        the series (the exponential law when the laws used the line load).
    sheet_name : str, optional
        Name used in error messages.

    Returns
    -------
    CalenderingFits

    Raises
    ------
    ValueError
        Naming the sheet, the row and the column of a missing or invalid value.

    Examples
    --------
    >>> from batteryct.calendering import simulate_calendering_series
    >>> v = simulate_calendering_series(seed=3)  # 6 loads x 2 line speeds, tau = 0.02 s
    >>> fits = fit_calendering_series(v.sheet, v.ct, thickness_error_um=0.2)
    >>> tau = fits.parameters.query("parameter == 'relaxation_time'").iloc[0]
    >>> bool(tau.ci_low < 0.02 < tau.ci_high), tau.unit
    (True, 's')
    >>> fits.parameters.query("parameter == 'alpha_z'")["value"].round(1).tolist()
    [0.9]
    """
    if not isinstance(sheet, pd.DataFrame):
        raise TypeError(f"sheet must be a DataFrame, got {type(sheet).__name__}")
    for name in SHEET_REQUIRED:
        if name not in sheet.columns:
            raise ValueError(f"{sheet_name}: column {name!r} is missing")
    if "line_load_N_mm" not in sheet.columns and "pressure_MPa" not in sheet.columns:
        raise ValueError(f"{sheet_name}: give a column 'line_load_N_mm' or 'pressure_MPa'")
    if ct is not None and "sample" not in sheet.columns:
        raise ValueError(f"{sheet_name}: column 'sample' is needed to join the CT metrics")
    if contact_modulus_Pa is not None:
        contact_modulus_Pa = _checks.positive_scalar(contact_modulus_Pa, "contact_modulus_Pa")
    sheet = sheet.reset_index(drop=True)
    param_frames, sample_frames, notes, selected = [], [], [DRUCKER_PRAGER_CAP_REASON], {}
    for series, idx in sheet.groupby("series", sort=False).groups.items():
        df = sheet.loc[idx]
        fr, sa, nt, law = _one_series(
            df,
            ct,
            contact_modulus_Pa=contact_modulus_Pa,
            thickness_error_um=thickness_error_um,
            mass_loading_error_mg_cm2=mass_loading_error_mg_cm2,
            solid_density_error_g_cm3=solid_density_error_g_cm3,
            geometry=geometry,
            kinematics_level=kinematics_level,
            nip_law=nip_law,
            sheet_name=sheet_name,
        )
        fr.insert(0, "series", series)
        sa.insert(1, "series", series)
        param_frames.append(fr)
        sample_frames.append(sa)
        notes += [f"series {series}: {t}" for t in nt]
        selected[series] = law
    return CalenderingFits(
        parameters=pd.concat(param_frames, ignore_index=True)[list(PARAMETER_COLUMNS)],
        samples=pd.concat(sample_frames, ignore_index=True),
        selected_law=selected,
        notes=tuple(notes),
    )


def _one_series(
    df,
    ct,
    *,
    contact_modulus_Pa,
    thickness_error_um,
    mass_loading_error_mg_cm2,
    solid_density_error_g_cm3,
    geometry,
    kinematics_level,
    nip_law,
    sheet_name,
):
    n = len(df)
    notes = []
    frames = []
    rho = _solid_density(df, sheet_name)
    m = _column(df, "mass_loading_mg_cm2", sheet_name)
    h0 = _column(df, "thickness_coated_um", sheet_name)
    h = _column(df, "thickness_um", sheet_name)
    h_gap = _column(df, "thickness_gap_um", sheet_name, required=False)
    if h_gap is not None and np.any(np.isnan(h_gap)):
        notes.append("thickness_gap_um is incomplete: springback and the gap porosity are not used")
        h_gap = None
    radius = _column(df, "roll_diameter_mm", sheet_name) / 2000.0
    speed = _column(df, "line_speed_m_min", sheet_name) / 60.0
    q = _column(df, "line_load_N_mm", sheet_name, allow_zero=True, required=False)
    p = _column(df, "pressure_MPa", sheet_name, allow_zero=True, required=False)
    if q is not None and np.any(np.isnan(q)):
        q = None
    if p is not None and np.any(np.isnan(p)):
        p = None
    eps = porosity_from_loading(m, h, rho)
    eps_se = porosity_stderr(
        eps,
        m,
        h,
        mass_loading_error_mg_cm2=mass_loading_error_mg_cm2,
        thickness_error_um=thickness_error_um,
        solid_density_g_cm3=rho,
        solid_density_error_g_cm3=solid_density_error_g_cm3,
    )
    eps0 = porosity_from_loading(m, h0, rho)
    eps_gap = None if h_gap is None else porosity_from_loading(m, h_gap, rho)
    samples = pd.DataFrame(
        {
            "sample": df["sample"].to_numpy() if "sample" in df.columns else np.arange(n),
            "solid_density_g_cm3": rho,
            "porosity": eps,
            "porosity_stderr": eps_se,
            "porosity_coated": eps0,
            "porosity_gap": np.full(n, math.nan) if eps_gap is None else eps_gap,
            "true_strain": np.log(h0 / h),
        }
    )
    kin = check_kinematics(
        mass_loading_mg_cm2=m,
        thickness_coated_um=h0,
        thickness_um=h,
        solid_density_g_cm3=rho,
        mass_loading_error_mg_cm2=mass_loading_error_mg_cm2,
        thickness_error_um=thickness_error_um,
        level=kinematics_level,
    )
    samples = pd.concat([samples, kin.drop(columns=["porosity_measured"]).reset_index(drop=True)], axis=1)
    n_flag = int((kin["kinematics_flag"] != "ok").sum())
    if n_flag:
        notes.append(f"{n_flag} of {n} samples fail the kinematics check (see kinematics_flag)")

    # pressure and nip geometry
    pressure, half_width = p, None
    loaded = (q > 0) if q is not None else (p > 0)
    if p is None and q is not None and contact_modulus_Pa is not None:
        nip = hertz_line_contact(
            np.where(q > 0, q, 1.0) * 1000.0,
            roll_radius_m=radius,
            contact_modulus_Pa=contact_modulus_Pa,
            line_speed_m_s=speed,
            geometry=geometry,
        )
        pressure = np.where(q > 0, nip.peak_pressure_Pa / 1e6, 0.0)
        half_width = np.where(q > 0, nip.half_width_m, math.nan)
        notes.append("pressure = Hertz peak pressure from line_load_N_mm and contact_modulus_Pa")
    elif p is not None and q is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            half_width = np.where(p > 0, 2.0 * q * 1000.0 / (math.pi * p * 1e6), math.nan)
    elif p is not None and contact_modulus_Pa is not None:
        half_width = np.full(n, math.nan)
        pos = p > 0
        half_width[pos] = half_width_from_pressure(
            p[pos] * 1e6, roll_radius_m=radius[pos], contact_modulus_Pa=contact_modulus_Pa, geometry=geometry
        )
    samples["peak_pressure_MPa"] = np.full(n, math.nan) if pressure is None else pressure
    samples["half_width_m"] = np.full(n, math.nan) if half_width is None else half_width
    samples["dwell_time_s"] = samples["half_width_m"] * 2.0 / speed

    # compaction laws
    response = eps if eps_gap is None else eps_gap
    response_se = eps_se
    if eps_gap is not None:
        response_se = porosity_stderr(
            eps_gap,
            m,
            h_gap,
            mass_loading_error_mg_cm2=mass_loading_error_mg_cm2,
            thickness_error_um=thickness_error_um,
            solid_density_g_cm3=rho,
            solid_density_error_g_cm3=solid_density_error_g_cm3,
        )
    weights = response_se if np.all(response_se > 0) else None
    response_name = "relaxed porosity (no thickness_gap_um)" if eps_gap is None else "porosity at the gap thickness"
    thick = h if h_gap is None else h_gap
    speeds = np.unique(np.round(speed, 12))
    static = np.ones(n, bool) if speeds.size == 1 else np.isclose(speed, speeds.min())
    load_kw = {"pressure_MPa": pressure[static]} if pressure is not None else {"line_load_N_mm": q[static]}
    rows, law = compare_compaction_laws(
        response[static], porosity_coated=eps0[static], porosity_stderr=_sel(weights, static), **load_kw
    )
    extra = f"response={response_name}" + (
        "" if speeds.size == 1 else f"; slowest line speed only ({static.sum()} of {n})"
    )
    rows["flags"] = [f"{f}; {extra}" for f in rows["flags"]]
    frames.append(rows)
    frames.append(fit_kawakita_linear(1.0 - thick[static] / h0[static], **load_kw))
    if law is not None:
        samples["compressibility"] = compressibility_from_fit(rows, law, response, porosity_coated=eps0)
    else:
        samples["compressibility"] = math.nan
        notes.append("no compaction law could be ranked (too few samples for AICc)")

    # springback
    if h_gap is not None and pressure is not None:
        sb = springback_strain(h, h_gap)
        samples["springback"] = sb
        use = loaded
        frames.append(fit_springback(pressure[use], eps_gap[use], sb[use]))
    else:
        samples["springback"] = math.nan if h_gap is None else springback_strain(h, h_gap)
        reason = (
            "needs thickness_gap_um"
            if h_gap is None
            else "needs pressure_MPa, or line_load_N_mm with contact_modulus_Pa"
        )
        frames.append(
            skipped(
                "springback_gibson_ashby",
                [Param("solid_modulus", "GPa", 0), Param("gibson_ashby_n", "1", 0)],
                n,
                reason,
            )
        )

    # nip relaxation
    if nip_law is None:
        nip_law = law if law is not None and "pressure_MPa" in load_kw else "compaction_exponential"
    if pressure is not None and half_width is not None and np.all(np.isfinite(half_width[loaded])):
        nip_rows = fit_nip_relaxation(
            response[loaded],
            porosity_coated=float(np.median(eps0)),
            peak_pressure_MPa=pressure[loaded],
            half_width_m=half_width[loaded],
            line_speed_m_s=speed[loaded],
            law=nip_law,
            porosity_stderr=_sel(weights, loaded),
        )
        frames.append(nip_rows)
        tau = float(nip_rows.loc[nip_rows["parameter"] == "relaxation_time", "value"].iloc[0])
        slow_dwell = samples["dwell_time_s"].to_numpy()[static & loaded]
        if math.isfinite(tau) and slow_dwell.size and float(np.nanmin(slow_dwell)) < 5.0 * tau:
            token = (
                f"not_quasi_static: the shortest dwell at the slowest speed, {np.nanmin(slow_dwell):.3g} s, "
                f"is below 5 tau = {5.0 * tau:.3g} s (use the nip_relaxation rows)"
            )
            for fr in frames[:2]:  # the compaction laws and Kawakita's line
                fr["flags"] = [fl if fl.startswith("skipped") else join_flags(fl, token) for fl in fr["flags"]]
            notes.append(
                "the compaction laws were fitted to the slowest line speed as if it were quasi-static, but the "
                "fitted relaxation time says those samples did not reach equilibrium in the nip: their "
                "parameters (eps_0 above all) are biased; the nip_relaxation rows fit the law and tau jointly"
            )
    else:
        frames.append(
            skipped(
                "nip_relaxation",
                [Param("relaxation_time", "s", 0)],
                n,
                "needs a pressure and the Hertz half-width (pressure_MPa and line_load_N_mm, or contact_modulus_Pa)",
            )
        )

    # measured conductivity
    g = _column(df, "conductivity_S_m", sheet_name, required=False)
    if g is not None and pressure is not None:
        ok = np.isfinite(g) & (pressure > 0)
        frames.append(fit_conductivity_pressure(pressure[ok], g[ok], model="conductivity_power_law_measured"))

    # CT
    if ct is not None:
        frames += _ct_fits(ct, samples, pressure, q, notes)
    return pd.concat(frames, ignore_index=True), samples, notes, law


def _ct_fits(ct, samples, pressure, q, notes):
    frames = []
    if "sample" not in ct.columns:
        raise ValueError("ct: column 'sample' is missing")
    dup = ct["sample"][ct["sample"].duplicated()]
    if len(dup):
        raise ValueError(
            f"ct: sample {dup.iloc[0]!r} has more than one row (one row per sample: combine its scans first)"
        )
    joined = samples[["sample"]].merge(ct, on="sample", how="left")
    has = joined["porosity"].notna().to_numpy() if "porosity" in joined.columns else np.zeros(len(joined), bool)
    if not has.any():
        notes.append("no CT metrics for this series")
        return frames
    eps_ct, lo, hi = _ct_column(joined, "porosity")
    cmp = compare_porosity(
        samples["porosity"].to_numpy(),
        samples["porosity_stderr"].to_numpy(),
        eps_ct,
        lo if lo is not None else np.full(len(joined), math.nan),
        hi if hi is not None else np.full(len(joined), math.nan),
    )
    for c in cmp.columns:
        if c not in ("porosity_sheet", "porosity_sheet_stderr"):
            samples[c] = cmp[c].to_numpy()
    tz, tzl, tzh = _ct_column(joined, "tortuosity_factor_z")
    if tz is not None:
        ty, tyl, tyh = _ct_column(joined, "tortuosity_factor_y")
        tx, txl, txh = _ct_column(joined, "tortuosity_factor_x")
        use = has & np.isfinite(eps_ct) & ~np.isnan(tz)
        inplane = inplane_lo = inplane_hi = None
        if ty is not None and tx is not None:
            inplane = np.column_stack([ty, tx])[use]
            if tyl is not None and txl is not None and tyh is not None and txh is not None:
                inplane_lo, inplane_hi = np.column_stack([tyl, txl])[use], np.column_stack([tyh, txh])[use]
        frames.append(
            fit_bruggeman(
                eps_ct[use],
                tz[use],
                inplane,
                porosity_ci_low=_sel(lo, use),
                porosity_ci_high=_sel(hi, use),
                tortuosity_z_ci_low=_sel(tzl, use),
                tortuosity_z_ci_high=_sel(tzh, use),
                tortuosity_in_plane_ci_low=inplane_lo,
                tortuosity_in_plane_ci_high=inplane_hi,
            )
        )
    z, _, _ = _ct_column(joined, "coordination_number")
    if z is not None:
        use = has & np.isfinite(z)
        frames.append(fit_coordination(1.0 - eps_ct[use], z[use]))
    load = pressure if pressure is not None else q
    d32, _, _ = _ct_column(joined, "sauter_d32_um" if "sauter_d32_um" in joined.columns else "d32_um")
    if d32 is not None and load is not None:
        use = has & np.isfinite(d32)
        rows = fit_sauter_pressure(load[use], d32[use])
        if pressure is None:
            rows["unit"] = rows["unit"].replace({"um/MPa": "um/(N/mm)"})
            rows["flags"] = [f"{f}; load=line load" for f in rows["flags"]]
        frames.append(rows)
    g, gl, gh = _ct_column(joined, "conductivity_z_S_m")
    if g is not None and pressure is not None:
        use = has & np.isfinite(g) & (pressure > 0)
        frames.append(
            fit_conductivity_pressure(
                pressure[use],
                g[use],
                conductivity_ci_low=_sel(gl, use),
                conductivity_ci_high=_sel(gh, use),
                model="conductivity_power_law_ct",
            )
        )
    return frames
