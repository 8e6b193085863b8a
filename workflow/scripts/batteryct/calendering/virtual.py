"""A virtual calender: a calendering series with CT metrics from known laws and noise.

One coating (porosity ``eps_0``, mass loading ``m_A``, composition) is calendered at
``n_levels`` loads and at each of the line speeds. Each sample goes through:

1. the nip: Hertz line contact (:func:`~.nip.hertz_line_contact`, roll on a flat),
   peak pressure ``p_max`` and dwell ``2 b / v``; the porosity relaxes towards
   ``eps_eq(p(t))`` of the compaction law with time constant ``tau`` (irreversible
   branch, :func:`~.nip.nip_exit_porosity`; ``tau = 0`` means ``eps_c = eps_eq(p_max)``);
   the minimum (gap) thickness is ``h_c = 10 m_A / (rho_s (1 - eps_c))``;
2. springback: ``h = h_c (1 + p_max / (E_s (1 - eps_c)^n))``;
3. the measurements: thicknesses with Gaussian noise ``thickness_error_um``, the mass
   loading with ``mass_loading_error_mg_cm2`` (after dividing by ``1 + spread`` for samples
   that spread sideways), the measured conductivity ``G_0 (p / 1 MPa)^m`` with lognormal
   noise;
4. the CT metrics: porosity (the true relaxed porosity plus noise) and ``tau = eps^-alpha``
   per direction with lognormal noise, conductivity, Sauter ``d32`` and coordination number,
   each with its 95 % interval (value +- 1.96 sigma, in log space for the positive ones).

The loads are chosen so that the quasi-static porosity ``eps_eq(p_max)`` falls evenly from
just below ``eps_0`` to ``porosity_final``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from .. import _checks
from .compaction import porosity_exponential, porosity_heckel, porosity_kawakita
from .nip import hertz_line_contact, nip_exit_porosity
from .porosity import solid_density_rule_of_mixtures

__all__ = ["VirtualSeries", "simulate_calendering_series", "TRUTH_COLUMNS"]

TRUTH_COLUMNS = ("model", "parameter", "value", "unit")
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class VirtualSeries:
    """Output of :func:`simulate_calendering_series`.

    Attributes
    ----------
    sheet : DataFrame
        The ``calendering.tsv`` rows (columns of the issue, plus ``sample``).
    ct : DataFrame
        CT metrics per sample (``sample``, ``porosity``, ``tortuosity_factor_{z,y,x}``,
        ``conductivity_z_S_m``, ``sauter_d32_um``, ``coordination_number`` and each one's
        ``_ci_low`` / ``_ci_high``).
    truth : DataFrame
        Columns :data:`TRUTH_COLUMNS`, with the ``model`` and ``parameter`` names of the fit
        rows, plus model ``virtual_calender`` for quantities that are not fitted.
    exact : DataFrame
        Noise-free per-sample quantities (``porosity_gap``, ``porosity``, ``peak_pressure_MPa``,
        ``dwell_time_s``, ``springback``), for tests.
    """

    sheet: pd.DataFrame
    ct: pd.DataFrame
    truth: pd.DataFrame
    exact: pd.DataFrame


def _law(law, porosity_coated, porosity_min, gamma_c_MPa, heckel_K_1_MPa, kawakita_a, kawakita_b_1_MPa):
    if law == "compaction_exponential":
        params = {"porosity_initial": porosity_coated, "porosity_min": porosity_min, "gamma_c": gamma_c_MPa}
        units = {"porosity_initial": "1", "porosity_min": "1", "gamma_c": "MPa"}

        def eq(p, eps0=None):
            return porosity_exponential(
                p, porosity_initial=porosity_coated, porosity_min=porosity_min, gamma_c=gamma_c_MPa
            )

        limit = porosity_min
    elif law == "heckel":
        a = -math.log(porosity_coated)
        params = {"heckel_K": heckel_K_1_MPa, "heckel_A": a}
        units = {"heckel_K": "1/MPa", "heckel_A": "1"}

        def eq(p, eps0=None):
            return porosity_heckel(p, heckel_K=heckel_K_1_MPa, heckel_A=a)

        limit = 0.0
    elif law == "kawakita":
        params = {"kawakita_a": kawakita_a, "kawakita_b": kawakita_b_1_MPa}
        units = {"kawakita_a": "1", "kawakita_b": "1/MPa"}

        def eq(p, eps0=porosity_coated):
            return porosity_kawakita(p, kawakita_a=kawakita_a, kawakita_b=kawakita_b_1_MPa, porosity_coated=eps0)

        limit = 1.0 - (1.0 - porosity_coated) / (1.0 - kawakita_a)
    else:
        raise ValueError(f"law must be compaction_exponential, heckel or kawakita, got {law!r}")
    return eq, params, units, limit


def simulate_calendering_series(
    *,
    seed: int = 0,
    series: str = "virtual",
    n_levels: int = 6,
    line_speeds_m_min=(1.0, 20.0),
    porosity_coated: float = 0.45,
    porosity_final: float = 0.30,
    relaxed_porosities=None,
    law: str = "compaction_exponential",
    porosity_min: float = 0.28,
    gamma_c_MPa: float = 40.0,
    heckel_K_1_MPa: float = 0.004,
    kawakita_a: float = 0.25,
    kawakita_b_1_MPa: float = 0.05,
    relaxation_time_s: float = 0.02,
    contact_modulus_GPa: float = 10.0,
    roll_diameter_mm: float = 400.0,
    solid_modulus_GPa: float = 5.0,
    gibson_ashby_n: float = 2.0,
    mass_loading_mg_cm2: float = 20.0,
    mass_fractions=(0.96, 0.02, 0.02),
    densities_g_cm3=(4.75, 1.78, 1.90),
    pycnometer: bool = False,
    thickness_error_um: float = 0.2,
    mass_loading_error_mg_cm2: float = 0.05,
    spread=None,
    bruggeman_alpha_z: float = 0.9,
    bruggeman_alpha_xy: float = 0.5,
    conductivity_G0_S_m: float = 2.0,
    conductivity_m: float = 1.0 / 3.0,
    conductivity_error_ln: float = 0.03,
    ct_porosity_error: float = 0.005,
    ct_tortuosity_error_ln: float = 0.03,
    sauter_d32_zero_load_um: float = 8.0,
    sauter_d32_slope_um_MPa: float = -0.005,
    sauter_d32_error_um: float = 0.05,
    coordination_at_064: float = 6.5,
    coordination_slope: float = 15.0,
    coordination_error: float = 0.1,
) -> VirtualSeries:
    """Calender one virtual coating at ``n_levels`` loads and every line speed.

    Parameters
    ----------
    seed : int, optional
        Seed of all noise.
    series : str, optional
        The ``series`` column; samples are named ``{series}-L{level}-v{speed index}``.
    n_levels : int, optional
        Load levels (>= 2; the issue asks for >= 5).
    line_speeds_m_min : sequence of float, optional
        Line speeds, m/min (two for the nip relaxation).
    porosity_coated : float, optional
        Porosity of the coating, ``eps_0``.
    porosity_final : float, optional
        Quasi-static porosity under the highest load.
    relaxed_porosities : sequence of float, optional
        Instead of evenly spaced levels: the relaxed porosity (after the nip and springback,
        noise-free) of the samples at the first line speed, one per level, decreasing; sets
        ``n_levels``. This is how the demo makes its series meet the porosities of its
        virtual electrodes.
    law : {"compaction_exponential", "heckel", "kawakita"}, optional
        Compaction law ``eps_eq(p)``, in the peak pressure (MPa).
    porosity_min, gamma_c_MPa : float, optional
        Exponential law (its ``eps_0`` is ``porosity_coated``).
    heckel_K_1_MPa : float, optional
        Heckel's ``K_H``; ``A = -ln eps_0``.
    kawakita_a, kawakita_b_1_MPa : float, optional
        Kawakita's ``a`` and ``b``.
    relaxation_time_s : float, optional
        ``tau`` of the nip relaxation (0: quasi-static).
    contact_modulus_GPa : float, optional
        Hertz ``E*``.
    roll_diameter_mm : float, optional
        Roll diameter (roll on a flat: ``R_eff = D / 2``).
    solid_modulus_GPa, gibson_ashby_n : float, optional
        Springback ``E_s`` and ``n``.
    mass_loading_mg_cm2 : float, optional
        Mass loading of the coating.
    mass_fractions, densities_g_cm3 : sequence of 3 float, optional
        Active, binder, carbon.
    pycnometer : bool, optional
        Write ``solid_density_g_cm3`` instead of the composition columns.
    thickness_error_um, mass_loading_error_mg_cm2 : float, optional
        One standard deviation of each measurement.
    spread : array_like, optional
        Lateral spreading (relative area increase) per sample, default 0.
    bruggeman_alpha_z, bruggeman_alpha_xy : float, optional
        ``tau = eps^-alpha`` through-plane and in-plane.
    conductivity_G0_S_m, conductivity_m : float, optional
        ``G = G_0 (p / 1 MPa)^m``.
    conductivity_error_ln, ct_porosity_error, ct_tortuosity_error_ln : float, optional
        Noise of the conductivities (log), the CT porosity and the tortuosity factors (log).
    sauter_d32_zero_load_um, sauter_d32_slope_um_MPa, sauter_d32_error_um : float, optional
        ``d32 = d32_0 + s p`` and its noise.
    coordination_at_064, coordination_slope, coordination_error : float, optional
        ``Z = Z_ref + C (phi - 0.64)`` with ``phi = 1 - eps`` and its noise.

    Returns
    -------
    VirtualSeries

    Raises
    ------
    ValueError
        If ``porosity_final`` cannot be reached by the law, or an input is out of range.

    Examples
    --------
    >>> v = simulate_calendering_series(seed=1)
    >>> len(v.sheet), round(float(v.exact["porosity_gap"].min()), 2)
    (12, 0.3)
    """
    n_levels = _checks.check_int(n_levels, "n_levels", 2)
    speeds = _checks.positive_array(line_speeds_m_min, "line_speeds_m_min", ndim=1)
    eps0 = _checks.fraction(porosity_coated, "porosity_coated")
    eps_f = _checks.fraction(porosity_final, "porosity_final")
    tau = _checks.positive_scalar(relaxation_time_s, "relaxation_time_s", allow_zero=True)
    eq, law_params, law_units, limit = _law(
        law, eps0, porosity_min, gamma_c_MPa, heckel_K_1_MPa, kawakita_a, kawakita_b_1_MPa
    )
    if not limit < eps_f < eps0:
        raise ValueError(
            f"porosity_final must lie between the law's limit {limit:.4g} and porosity_coated {eps0:.4g}, got {eps_f}"
        )
    rng = np.random.default_rng(seed)
    rho = float(solid_density_rule_of_mixtures(mass_fractions, densities_g_cm3))
    radius = roll_diameter_mm / 2000.0
    e_star = contact_modulus_GPa * 1e9

    def through_nip(q, v):
        # Hertz nip, relaxation towards eps_eq(p(t)), springback; relaxed porosity at fixed mass
        nip = hertz_line_contact(q, roll_radius_m=radius, contact_modulus_Pa=e_star, line_speed_m_s=v)
        p_max = nip.peak_pressure_Pa / 1e6
        if tau > 0:
            eps_c = nip_exit_porosity(
                porosity_initial=np.full(np.shape(q), eps0),
                peak_pressure_MPa=p_max,
                dwell_time_s=nip.dwell_time_s,
                relaxation_time_s=tau,
                equilibrium_porosity=lambda p: eq(p, eps0),
                n_steps=512,
            )
        else:
            eps_c = np.asarray(eq(p_max), float)
        sb = p_max * 1e-3 / (solid_modulus_GPa * (1.0 - eps_c) ** gibson_ashby_n)
        return nip, p_max, eps_c, sb, 1.0 - (1.0 - eps_c) / (1.0 + sb)

    def load_of(p_MPa):  # N/m, roll on flat: p = sqrt(q E* / (pi R))
        return math.pi * radius * (p_MPa * 1e6) ** 2 / e_star

    if relaxed_porosities is None:
        targets = np.linspace(eps0 - (eps0 - eps_f) / n_levels, eps_f, n_levels)
        p_levels = np.array([optimize.brentq(lambda p, e=e: float(eq(p)) - e, 1e-9, 1e6, xtol=1e-12) for e in targets])
    else:
        targets = _checks.positive_array(relaxed_porosities, "relaxed_porosities", ndim=1)
        if np.any(np.diff(targets) >= 0) or targets[0] >= eps0 or targets[-1] <= limit:
            raise ValueError(
                f"relaxed_porosities must decrease from below porosity_coated {eps0:.4g} to above the "
                f"law's limit {limit:.4g}, got {targets.tolist()}"
            )
        n_levels = targets.size
        v0 = float(speeds[0]) / 60.0

        def miss(p, e):
            return float(through_nip(np.array([load_of(p)]), np.array([v0]))[4][0]) - e

        def solve(e):  # springback makes the relaxed porosity rise again at high loads: first root
            grid = np.geomspace(1e-6, 1e5, 221)
            f = np.array([miss(p, e) for p in grid])
            k = np.flatnonzero(f <= 0)
            if k.size == 0 or k[0] == 0:
                raise ValueError(f"relaxed porosity {e} is not reached at any load (springback too large?)")
            return optimize.brentq(miss, grid[k[0] - 1], grid[k[0]], args=(e,), xtol=1e-12)

        p_levels = np.array([solve(e) for e in targets])
    q_levels = load_of(p_levels)
    n = n_levels * speeds.size
    level = np.repeat(np.arange(n_levels), speeds.size)
    speed_i = np.tile(np.arange(speeds.size), n_levels)
    q = q_levels[level]
    v = speeds[speed_i] / 60.0
    nip, p_max, eps_c, sb, _ = through_nip(q, v)
    td = nip.dwell_time_s
    m_true = np.full(n, float(mass_loading_mg_cm2))
    h0 = 10.0 * m_true / (rho * (1.0 - eps0))
    h_gap = 10.0 * m_true / (rho * (1.0 - eps_c))
    spread_a = np.zeros(n) if spread is None else np.broadcast_to(np.asarray(spread, float), (n,))
    # spreading: same solid, larger area -> less mass per area and a thinner layer
    h = h_gap * (1.0 + sb) / (1.0 + spread_a)
    eps_relaxed = 1.0 - 10.0 * m_true / (rho * h_gap * (1.0 + sb))
    noise = rng.standard_normal((6, n))
    samples = [f"{series}-L{lv}-v{si}" for lv, si in zip(level, speed_i)]
    columns = {
        "sample": samples,
        "series": [series] * n,
        "line_load_N_mm": q / 1000.0,
        "pressure_MPa": p_max,
        "roll_diameter_mm": np.full(n, float(roll_diameter_mm)),
        "line_speed_m_min": speeds[speed_i],
        "thickness_coated_um": h0 + thickness_error_um * noise[0],
        "thickness_um": h + thickness_error_um * noise[1],
        "thickness_gap_um": h_gap / (1.0 + spread_a) + thickness_error_um * noise[2],
        "mass_loading_mg_cm2": m_true / (1.0 + spread_a) + mass_loading_error_mg_cm2 * noise[3],
    }
    names = ("active", "binder", "carbon")
    if pycnometer:
        columns["solid_density_g_cm3"] = np.full(n, rho)
    else:
        columns.update({f"mass_fraction_{c}": np.full(n, float(w)) for c, w in zip(names, mass_fractions)})
        columns.update({f"density_{c}_g_cm3": np.full(n, float(d)) for c, d in zip(names, densities_g_cm3)})
    g_true = conductivity_G0_S_m * p_max**conductivity_m
    columns["conductivity_S_m"] = g_true * np.exp(conductivity_error_ln * noise[4])
    sheet = pd.DataFrame(columns)
    ct = _ct_metrics(
        rng,
        samples,
        eps_relaxed,
        p_max,
        g_true,
        ct_porosity_error=ct_porosity_error,
        ct_tortuosity_error_ln=ct_tortuosity_error_ln,
        conductivity_error_ln=conductivity_error_ln,
        alpha_z=bruggeman_alpha_z,
        alpha_xy=bruggeman_alpha_xy,
        d32=(sauter_d32_zero_load_um, sauter_d32_slope_um_MPa, sauter_d32_error_um),
        coordination=(coordination_at_064, coordination_slope, coordination_error),
    )
    truth = [(law, k, float(val), law_units[k]) for k, val in law_params.items()]
    truth += [("nip_relaxation", k, float(val), law_units[k]) for k, val in law_params.items()]
    truth += [
        ("nip_relaxation", "relaxation_time", tau, "s"),
        ("springback_gibson_ashby", "solid_modulus", float(solid_modulus_GPa), "GPa"),
        ("springback_gibson_ashby", "gibson_ashby_n", float(gibson_ashby_n), "1"),
        ("bruggeman", "alpha_z", float(bruggeman_alpha_z), "1"),
        ("bruggeman", "alpha_xy", float(bruggeman_alpha_xy), "1"),
        ("bruggeman", "alpha_ratio_z_xy", float(bruggeman_alpha_z / bruggeman_alpha_xy), "1"),
        ("sauter_d32_pressure", "d32_zero_load", float(sauter_d32_zero_load_um), "um"),
        ("sauter_d32_pressure", "slope", float(sauter_d32_slope_um_MPa), "um/MPa"),
        ("coordination_arzt", "coordination_at_reference", float(coordination_at_064), "1"),
        ("coordination_arzt", "slope", float(coordination_slope), "1"),
        ("virtual_calender", "contact_modulus", float(contact_modulus_GPa), "GPa"),
        ("virtual_calender", "solid_density", rho, "g/cm3"),
        ("virtual_calender", "porosity_coated", eps0, "1"),
    ]
    for model in ("conductivity_power_law_measured", "conductivity_power_law_ct"):
        truth += [(model, "G0", float(conductivity_G0_S_m), "S/m"), (model, "m", float(conductivity_m), "1")]
    exact = pd.DataFrame(
        {
            "sample": sheet["sample"],
            "porosity_gap": eps_c,
            "porosity": eps_relaxed,
            "peak_pressure_MPa": p_max,
            "half_width_m": nip.half_width_m,
            "dwell_time_s": td,
            "springback": sb,
        }
    )
    return VirtualSeries(sheet, ct, pd.DataFrame(truth, columns=list(TRUTH_COLUMNS)), exact)


def _ct_metrics(
    rng,
    samples,
    eps,
    p_max,
    g_true,
    *,
    ct_porosity_error,
    ct_tortuosity_error_ln,
    conductivity_error_ln,
    alpha_z,
    alpha_xy,
    d32,
    coordination,
):
    n = eps.size
    out = {"sample": list(samples)}

    def add(name, value, sigma, log):
        if log:
            obs = value * np.exp(sigma * rng.standard_normal(n))
            out[name], out[f"{name}_ci_low"], out[f"{name}_ci_high"] = (
                obs,
                obs * math.exp(-_Z95 * sigma),
                obs * math.exp(_Z95 * sigma),
            )
        else:
            obs = value + sigma * rng.standard_normal(n)
            out[name], out[f"{name}_ci_low"], out[f"{name}_ci_high"] = obs, obs - _Z95 * sigma, obs + _Z95 * sigma

    add("porosity", eps, ct_porosity_error, False)
    add("tortuosity_factor_z", eps**-alpha_z, ct_tortuosity_error_ln, True)
    add("tortuosity_factor_y", eps**-alpha_xy, ct_tortuosity_error_ln, True)
    add("tortuosity_factor_x", eps**-alpha_xy, ct_tortuosity_error_ln, True)
    add("conductivity_z_S_m", g_true, conductivity_error_ln, True)
    add("sauter_d32_um", d32[0] + d32[1] * p_max, d32[2], False)
    add("coordination_number", coordination[0] + coordination[1] * ((1.0 - eps) - 0.64), coordination[2], False)
    return pd.DataFrame(out)
