"""Porosity of calendered electrodes from densities, thickness and mass loading.

``eps = 1 - m_A / (rho_s h)`` with the solid (skeletal) density ``rho_s`` from a gas
pycnometer or from the composition by the rule of mixtures; the kinematics of uniaxial
compaction ``eps = 1 - (1 - eps_0) exp(e)``, ``e = ln(h_0 / h)`` (solid volume per area
conserved), and two checks: the porosity of the sheet against the CT porosity of the same
sample, and the measured porosity against the kinematic one (a coating that spread
sideways or lost mass carries less mass per area than its thickness ratio says).

Units: mass loading in mg/cm^2, densities in g/cm^3, thicknesses in um, so that
``m_A / (rho_s h) = 10 m_A[mg/cm^2] / (rho_s[g/cm^3] h[um])``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from .. import _checks

__all__ = [
    "solid_density_rule_of_mixtures",
    "porosity_from_loading",
    "porosity_stderr",
    "kinematic_porosity",
    "true_strain",
    "compare_porosity",
    "check_kinematics",
]

# 1 mg/cm^2 = 1e-2 kg/m^2, 1 g/cm^3 = 1e3 kg/m^3, 1 um = 1e-6 m: 1e-2 / (1e3 * 1e-6) = 10
_LOADING_FACTOR = 10.0


def solid_density_rule_of_mixtures(mass_fractions, densities_g_cm3, *, tolerance: float = 1e-3) -> np.ndarray:
    """Return the solid density of a composite from mass fractions (rule of mixtures).

    ``1 / rho_s = sum_i w_i / rho_i``: the solid volumes add, the masses are the fractions.

    Parameters
    ----------
    mass_fractions : array_like, shape (..., k)
        Mass fractions of the ``k`` solid components (active, binder, carbon, ...); the last
        axis must sum to 1 within ``tolerance`` (then it is normalised).
    densities_g_cm3 : array_like, shape (..., k)
        Skeletal densities of the components in g/cm^3 (broadcast against the fractions).
    tolerance : float, optional
        Allowed deviation of the fraction sum from 1.

    Returns
    -------
    ndarray, shape (...)
        Solid density in g/cm^3.

    Raises
    ------
    ValueError
        If a fraction is negative, the fractions do not sum to 1, or a density is not positive.

    References
    ----------
    Seed document 001, "The Anatomy of a Porous Electrode" (rule of mixtures on mass
    fractions, or a gas pycnometer).

    Examples
    --------
    >>> round(float(solid_density_rule_of_mixtures([0.96, 0.02, 0.02], [4.75, 1.78, 1.9])), 4)
    4.4669
    """
    w = _checks.positive_array(mass_fractions, "mass_fractions", allow_zero=True)
    rho = _checks.positive_array(densities_g_cm3, "densities_g_cm3")
    total = w.sum(axis=-1, keepdims=True)
    bad = np.abs(total - 1.0) > tolerance
    if np.any(bad):
        raise ValueError(f"mass_fractions must sum to 1 (within {tolerance}), got {float(total[bad][0])!r}")
    w = w / total
    return 1.0 / np.sum(w / rho, axis=-1)


def porosity_from_loading(mass_loading_mg_cm2, thickness_um, solid_density_g_cm3) -> np.ndarray:
    """Return the porosity ``1 - m_A / (rho_s h)`` of a coating.

    Parameters
    ----------
    mass_loading_mg_cm2 : array_like
        Coating mass per area (without the current collector), mg/cm^2.
    thickness_um : array_like
        Coating thickness (without the current collector), um.
    solid_density_g_cm3 : array_like
        Skeletal density of the solid (pycnometer or rule of mixtures), g/cm^3.

    Returns
    -------
    ndarray
        Porosity (dimensionless); it may fall outside [0, 1] for inconsistent inputs.

    Raises
    ------
    ValueError
        If an input is not positive and finite.

    Examples
    --------
    >>> float(porosity_from_loading(20.0, 80.0, 4.0))
    0.375
    """
    m = _checks.positive_array(mass_loading_mg_cm2, "mass_loading_mg_cm2")
    h = _checks.positive_array(thickness_um, "thickness_um")
    rho = _checks.positive_array(solid_density_g_cm3, "solid_density_g_cm3")
    return 1.0 - _LOADING_FACTOR * m / (rho * h)


def porosity_stderr(
    porosity,
    mass_loading_mg_cm2,
    thickness_um,
    *,
    mass_loading_error_mg_cm2: float,
    thickness_error_um: float,
    solid_density_g_cm3=None,
    solid_density_error_g_cm3: float = 0.0,
) -> np.ndarray:
    """Return the standard error of :func:`porosity_from_loading` by linear propagation.

    ``sigma_eps = (1 - eps) sqrt((s_m / m)^2 + (s_h / h)^2 + (s_rho / rho)^2)``.

    Parameters
    ----------
    porosity : array_like
        The porosity computed from the same inputs.
    mass_loading_mg_cm2, thickness_um : array_like
        The inputs, mg/cm^2 and um.
    mass_loading_error_mg_cm2, thickness_error_um : float
        One standard deviation of the two measurements (balance and punch area; micrometer).
    solid_density_g_cm3 : array_like, optional
        Needed only with a density error.
    solid_density_error_g_cm3 : float, optional
        One standard deviation of the solid density.

    Returns
    -------
    ndarray
        Standard error of the porosity.
    """
    eps = _checks.finite_array(porosity, "porosity")
    m = _checks.positive_array(mass_loading_mg_cm2, "mass_loading_mg_cm2")
    h = _checks.positive_array(thickness_um, "thickness_um")
    sm = _checks.positive_scalar(mass_loading_error_mg_cm2, "mass_loading_error_mg_cm2", allow_zero=True)
    sh = _checks.positive_scalar(thickness_error_um, "thickness_error_um", allow_zero=True)
    srho = _checks.positive_scalar(solid_density_error_g_cm3, "solid_density_error_g_cm3", allow_zero=True)
    rel2 = (sm / m) ** 2 + (sh / h) ** 2
    if srho > 0:
        if solid_density_g_cm3 is None:
            raise ValueError("solid_density_g_cm3 is needed with solid_density_error_g_cm3 > 0")
        rel2 = rel2 + (srho / _checks.positive_array(solid_density_g_cm3, "solid_density_g_cm3")) ** 2
    return (1.0 - eps) * np.sqrt(rel2)


def true_strain(thickness_coated_um, thickness_um) -> np.ndarray:
    """Return the true (logarithmic) compressive strain ``e = ln(h_0 / h)``.

    Parameters
    ----------
    thickness_coated_um, thickness_um : array_like
        Thickness before and after calendering, um.

    Returns
    -------
    ndarray
        ``e`` (dimensionless, positive for a compaction).
    """
    h0 = _checks.positive_array(thickness_coated_um, "thickness_coated_um")
    h = _checks.positive_array(thickness_um, "thickness_um")
    return np.log(h0 / h)


def kinematic_porosity(porosity_coated, thickness_coated_um, thickness_um) -> np.ndarray:
    """Return the porosity after a uniaxial compaction that conserves solid volume per area.

    ``eps = 1 - (1 - eps_0) exp(e)`` with ``e = ln(h_0 / h)``.

    Parameters
    ----------
    porosity_coated : array_like
        Porosity ``eps_0`` of the coating before calendering.
    thickness_coated_um, thickness_um : array_like
        Thickness before and after, um.

    Returns
    -------
    ndarray
        Porosity after calendering.

    References
    ----------
    Seed document 001, "The Mechanics of Compression" (kinematic bedrock of the model).

    Examples
    --------
    >>> round(float(kinematic_porosity(0.45, 100.0, 70.0)), 4)
    0.2143
    """
    eps0 = _checks.finite_array(porosity_coated, "porosity_coated")
    return 1.0 - (1.0 - eps0) * np.exp(true_strain(thickness_coated_um, thickness_um))


def compare_porosity(
    porosity_sheet, porosity_sheet_stderr, porosity_ct, porosity_ct_ci_low, porosity_ct_ci_high, *, level: float = 0.95
) -> pd.DataFrame:
    """Return a table comparing the sheet porosity with the CT porosity of the same samples.

    Parameters
    ----------
    porosity_sheet, porosity_sheet_stderr : array_like
        Porosity from mass loading and thickness, and its standard error.
    porosity_ct, porosity_ct_ci_low, porosity_ct_ci_high : array_like
        CT porosity and its ``level`` interval (NaN where a sample has no scan).
    level : float, optional
        Level of the CT interval and of the difference interval.

    Returns
    -------
    DataFrame
        One row per sample: ``porosity_sheet``, ``porosity_sheet_stderr``, ``porosity_ct``,
        ``porosity_ct_ci_low``, ``porosity_ct_ci_high``, ``difference`` (sheet - CT),
        ``difference_ci_low``, ``difference_ci_high`` (normal, the CT half-width read as
        ``z sigma``), ``inside_ct_interval`` (the sheet value lies in the CT interval) and
        ``consistent`` (the difference interval contains 0); both False where CT is missing.
    """
    a = _checks.finite_array(porosity_sheet, "porosity_sheet")
    sa = _checks.positive_array(porosity_sheet_stderr, "porosity_sheet_stderr", allow_zero=True)
    b = np.asarray(porosity_ct, float)
    lo = np.asarray(porosity_ct_ci_low, float)
    hi = np.asarray(porosity_ct_ci_high, float)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    sb = (hi - lo) / (2.0 * z)
    diff = a - b
    sd = np.sqrt(sa**2 + sb**2)
    with np.errstate(invalid="ignore"):
        inside = (a >= lo) & (a <= hi)
        consistent = np.abs(diff) <= z * sd
    return pd.DataFrame(
        {
            "porosity_sheet": a,
            "porosity_sheet_stderr": sa,
            "porosity_ct": b,
            "porosity_ct_ci_low": lo,
            "porosity_ct_ci_high": hi,
            "difference": diff,
            "difference_ci_low": diff - z * sd,
            "difference_ci_high": diff + z * sd,
            "inside_ct_interval": inside,
            "consistent": consistent,
        }
    )


def check_kinematics(
    *,
    mass_loading_mg_cm2,
    thickness_coated_um,
    thickness_um,
    solid_density_g_cm3,
    mass_loading_error_mg_cm2: float,
    thickness_error_um: float,
    porosity_coated: float | None = None,
    porosity_coated_stderr: float | None = None,
    level: float = 0.99,
) -> pd.DataFrame:
    """Return measured against kinematic porosity per sample, flagging spreading or mass loss.

    The measured porosity uses the sample's own mass loading, ``eps = 1 - m_A / (rho_s h)``;
    the kinematic one, ``1 - (1 - eps_0) h_0 / h``, uses the porosity ``eps_0`` of the
    *coating*. A positive difference (measured above kinematic) beyond the measurement
    error means less solid per area than the thickness ratio allows: the coating spread
    sideways (or lost mass); a negative one more solid than the coating had (mass gain, or a
    thickness or loading error).

    Parameters
    ----------
    mass_loading_mg_cm2, thickness_coated_um, thickness_um, solid_density_g_cm3 : array_like
        Per-sample inputs (mg/cm^2, um, um, g/cm^3).
    mass_loading_error_mg_cm2, thickness_error_um : float
        One standard deviation of a mass loading and of a thickness measurement.
    porosity_coated : float, optional
        Porosity of the coating. Default: the median over the series of
        ``1 - m_A / (rho_s h_0)`` (robust to a few spread samples), with standard error
        ``1.2533 s / sqrt(n)`` (``s``: the sample standard deviation).
    porosity_coated_stderr : float, optional
        Its standard error (default as above; 0 when ``porosity_coated`` is given without).
    level : float, optional
        Two-sided level of the flag (0.99: about one false flag in 100 consistent samples).

    Returns
    -------
    DataFrame
        ``porosity_measured``, ``porosity_kinematic``, ``difference`` (measured - kinematic),
        ``difference_stderr``, ``z`` and ``kinematics_flag``: ``"ok"``,
        ``"spread_or_mass_loss"`` or ``"denser_than_kinematics"``.

    Examples
    --------
    >>> t = check_kinematics(mass_loading_mg_cm2=[20.0, 20.0, 18.0], thickness_coated_um=[80.0, 80.0, 80.0],
    ...     thickness_um=[60.0, 60.0, 60.0], solid_density_g_cm3=4.0, mass_loading_error_mg_cm2=0.05,
    ...     thickness_error_um=0.3, porosity_coated=0.375, porosity_coated_stderr=0.002)
    >>> t["kinematics_flag"].tolist()
    ['ok', 'ok', 'spread_or_mass_loss']
    """
    m = _checks.positive_array(mass_loading_mg_cm2, "mass_loading_mg_cm2")
    h0 = _checks.positive_array(thickness_coated_um, "thickness_coated_um")
    h = _checks.positive_array(thickness_um, "thickness_um")
    rho = _checks.positive_array(solid_density_g_cm3, "solid_density_g_cm3")
    m, h0, h, rho = np.broadcast_arrays(m, h0, h, rho)
    sm = _checks.positive_scalar(mass_loading_error_mg_cm2, "mass_loading_error_mg_cm2", allow_zero=True)
    sh = _checks.positive_scalar(thickness_error_um, "thickness_error_um", allow_zero=True)
    eps_meas = porosity_from_loading(m, h, rho)
    if porosity_coated is None:
        eps0_each = porosity_from_loading(m, h0, rho)
        eps0 = float(np.median(eps0_each))
        if porosity_coated_stderr is None:
            n = eps0_each.size
            porosity_coated_stderr = 1.2533 * float(np.std(eps0_each, ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    else:
        eps0 = float(porosity_coated)
    s0 = 0.0 if porosity_coated_stderr is None else float(porosity_coated_stderr)
    eps_kin = kinematic_porosity(eps0, h0, h)
    diff = eps_meas - eps_kin
    # d(diff): measured depends on m and h; kinematic on eps0, h0 and h
    d_m = -_LOADING_FACTOR / (rho * h)
    d_h = _LOADING_FACTOR * m / (rho * h**2) - (1.0 - eps0) * h0 / h**2
    d_h0 = (1.0 - eps0) / h
    d_e0 = -h0 / h
    sd = np.sqrt((d_m * sm) ** 2 + (d_h * sh) ** 2 + (d_h0 * sh) ** 2 + (d_e0 * s0) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        zscore = np.where(sd > 0, diff / sd, np.sign(diff) * np.inf)
    zc = float(stats.norm.ppf(0.5 + level / 2.0))
    flag = np.where(zscore > zc, "spread_or_mass_loss", np.where(zscore < -zc, "denser_than_kinematics", "ok"))
    return pd.DataFrame(
        {
            "porosity_measured": eps_meas,
            "porosity_kinematic": eps_kin,
            "difference": diff,
            "difference_stderr": sd,
            "z": zscore,
            "kinematics_flag": flag,
        }
    )
