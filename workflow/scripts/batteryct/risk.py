"""Risk indices over a particle size distribution: fracture, heat, plating, packing.

Seed document 000 ("The Seeds of Failure" and "The Art of Building") names four ways in
which the size distribution (PSD) that CT measures sets the risk of an electrode; this
module turns each into a number computed over the measured diameters:

* **fracture** (Weibull statistics with the volume size effect): larger particles more
  likely hold a critical flaw, so the tail of the PSD dominates;
* **heat** (a dimensionless ratio of the time heat needs to diffuse out of a particle to the
  time in which it is generated): the largest particles are the "slow-burning fuses";
* **lithium plating**: the fraction of the active surface whose overpotential crosses the
  plating threshold, from per-size overpotentials over time;
* **packing** of a bimodal blend: the densest packing fraction and the coarse fraction that
  gives it (Furnas / Westman-Hugill for a large size ratio, Yu-Standish for finite ratios).

Lognormal helpers give the Hatch-Choate moments of a number-weighted lognormal PSD.

Diameters are in micrometres (``*_um``) like the CT particle tables; everything else is SI.
A PSD is given as diameters with optional counts (``count``; one particle each by default),
so both a particle table and a binned distribution work. Number-weighted averages weigh
each particle 1, volume-weighted ones ``d**3``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from batteryct import _checks

__all__ = [
    "weibull_strength_scale_Pa",
    "weibull_fracture_probability",
    "WeibullRisk",
    "weibull_fracture_risk",
    "heat_generation_time_s",
    "thermal_index",
    "ThermalRisk",
    "thermal_risk",
    "PlatingRisk",
    "plating_risk",
    "BinaryPacking",
    "furnas_binary_packing",
    "yu_standish_binary_packing",
    "lognormal_moment",
    "lognormal_moment_diameter",
    "lognormal_sauter_diameter",
    "lognormal_weighted_median",
]


def _psd(diameter_um, count) -> tuple[np.ndarray, np.ndarray]:
    d = _checks.positive_array(diameter_um, "diameter_um").reshape(-1)
    if count is None:
        n = np.ones_like(d)
    else:
        n = _checks.positive_array(count, "count", allow_zero=True).reshape(-1)
        if n.shape != d.shape:
            raise ValueError(f"count must have the shape of diameter_um {d.shape}, got {n.shape}")
        if not np.sum(n) > 0:
            raise ValueError("count must not be all zero")
    return d, n


# --------------------------------------------------------------------------- fracture


def weibull_strength_scale_Pa(diameter_um, *, strength_ref_Pa, diameter_ref_um, weibull_modulus) -> np.ndarray:
    """Return the Weibull scale strength of particles of diameter ``d`` (volume size effect).

    ``sigma_0(d) = sigma_0,ref (d / d_ref)**(-3 / m)``: with the failure probability
    ``1 - exp(-(V / V_ref) (sigma / sigma_0,ref)**m)`` and ``V`` proportional to ``d**3``, the
    characteristic strength falls as ``d**(-3/m)``.

    Parameters
    ----------
    diameter_um : array_like
        Diameters in um.
    strength_ref_Pa : float
        Scale strength ``sigma_0,ref`` of particles of diameter ``diameter_ref_um``, in Pa.
    diameter_ref_um : float
        Reference diameter in um.
    weibull_modulus : float
        Weibull modulus ``m`` (positive).

    Returns
    -------
    numpy.ndarray
        ``sigma_0(d)`` in Pa.

    References
    ----------
    .. [1] W. Weibull, "A statistical distribution function of wide applicability", J. Appl.
       Mech. 18 (1951) 293-297.

    Examples
    --------
    Doubling the diameter at ``m = 5`` multiplies the strength by ``2**(-3/5)``:

    >>> float(np.round(weibull_strength_scale_Pa(2.0, strength_ref_Pa=1.0, diameter_ref_um=1.0, weibull_modulus=5), 3))
    0.66
    """
    d = _checks.positive_array(diameter_um, "diameter_um")
    s0 = _checks.positive_scalar(strength_ref_Pa, "strength_ref_Pa")
    d0 = _checks.positive_scalar(diameter_ref_um, "diameter_ref_um")
    m = _checks.positive_scalar(weibull_modulus, "weibull_modulus")
    return s0 * (d / d0) ** (-3.0 / m)


def weibull_fracture_probability(
    diameter_um, *, stress_Pa, strength_ref_Pa, diameter_ref_um, weibull_modulus
) -> np.ndarray:
    """Return the Weibull fracture probability of particles under a stress.

    ``P_f(d) = 1 - exp(-(sigma / sigma_0(d))**m)`` with ``sigma_0(d)`` from
    :func:`weibull_strength_scale_Pa`, i.e. ``1 - exp(-(d / d_ref)**3 (sigma / sigma_0,ref)**m)``.

    Parameters
    ----------
    diameter_um : array_like
        Diameters in um.
    stress_Pa : float or array_like
        Peak tensile stress in each particle in Pa (broadcast against ``diameter_um``; e.g.
        a diffusion-induced stress that depends on size).
    strength_ref_Pa, diameter_ref_um, weibull_modulus : float
        As in :func:`weibull_strength_scale_Pa`.

    Returns
    -------
    numpy.ndarray
        Probabilities in ``[0, 1]``.
    """
    s0 = weibull_strength_scale_Pa(
        diameter_um, strength_ref_Pa=strength_ref_Pa, diameter_ref_um=diameter_ref_um, weibull_modulus=weibull_modulus
    )
    sig = _checks.positive_array(stress_Pa, "stress_Pa", allow_zero=True)
    m = float(weibull_modulus)
    return -np.expm1(-((sig / s0) ** m))


@dataclass(frozen=True)
class WeibullRisk:
    """Weibull fracture probability over a PSD (see :func:`weibull_fracture_risk`).

    Attributes
    ----------
    probability : numpy.ndarray
        ``P_f`` of each diameter (input order).
    number_weighted : float
        Expected fraction of particles that fracture, ``sum n P_f / sum n``.
    volume_weighted : float
        Expected fraction of the active volume in fractured particles,
        ``sum n d**3 P_f / sum n d**3``.
    """

    probability: np.ndarray
    number_weighted: float
    volume_weighted: float


def weibull_fracture_risk(
    diameter_um, *, stress_Pa, strength_ref_Pa, diameter_ref_um, weibull_modulus, count=None
) -> WeibullRisk:
    """Return the expected Weibull fracture probability over a PSD, by number and by volume.

    Parameters
    ----------
    diameter_um : array_like
        Diameters in um (particles or bin centres).
    stress_Pa : float or array_like
        Peak tensile stress in Pa (scalar or one per diameter).
    strength_ref_Pa, diameter_ref_um, weibull_modulus : float
        As in :func:`weibull_strength_scale_Pa`.
    count : array_like, optional
        Number of particles per diameter (default 1 each).

    Returns
    -------
    WeibullRisk

    Examples
    --------
    >>> r = weibull_fracture_risk([1.0, 2.0], stress_Pa=1.0, strength_ref_Pa=1.0, diameter_ref_um=1.0,
    ...                           weibull_modulus=5)
    >>> np.round(r.probability, 4), round(r.number_weighted, 4), round(r.volume_weighted, 4)
    (array([0.6321, 0.9997]), 0.8159, 0.9588)
    """
    d, n = _psd(diameter_um, count)
    p = weibull_fracture_probability(
        d,
        stress_Pa=stress_Pa,
        strength_ref_Pa=strength_ref_Pa,
        diameter_ref_um=diameter_ref_um,
        weibull_modulus=weibull_modulus,
    )
    p = np.broadcast_to(p, d.shape)
    v = n * d**3
    return WeibullRisk(
        probability=np.array(p),
        number_weighted=float(np.sum(n * p) / np.sum(n)),
        volume_weighted=float(np.sum(v * p) / np.sum(v)),
    )


# --------------------------------------------------------------------------- heat


def heat_generation_time_s(*, volumetric_heat_W_m3, density_kg_m3, specific_heat_J_kg_K, temperature_rise_K) -> float:
    """Return the time in which adiabatic heat generation raises the temperature by ``dT``.

    ``t_gen = rho c_p dT / q``: the time scale against which the diffusion of heat out of a
    particle competes (:func:`thermal_index`).

    Parameters
    ----------
    volumetric_heat_W_m3 : float
        Heat generated per unit particle volume, ``q`` in W/m^3.
    density_kg_m3 : float
        Particle density in kg/m^3.
    specific_heat_J_kg_K : float
        Specific heat in J/(kg K).
    temperature_rise_K : float
        Critical temperature rise (e.g. to the onset of an exothermic side reaction) in K.

    Returns
    -------
    float
        ``t_gen`` in s.

    Examples
    --------
    >>> heat_generation_time_s(volumetric_heat_W_m3=1e7, density_kg_m3=4700.0, specific_heat_J_kg_K=700.0,
    ...                        temperature_rise_K=10.0)
    3.29
    """
    q = _checks.positive_scalar(volumetric_heat_W_m3, "volumetric_heat_W_m3")
    rho = _checks.positive_scalar(density_kg_m3, "density_kg_m3")
    cp = _checks.positive_scalar(specific_heat_J_kg_K, "specific_heat_J_kg_K")
    dt = _checks.positive_scalar(temperature_rise_K, "temperature_rise_K")
    return rho * cp * dt / q


def thermal_index(diameter_um, *, thermal_diffusivity_m2_s, heat_generation_time_s) -> np.ndarray:
    """Return the thermal index ``t_diff / t_gen`` of particles; above 1 means dangerous.

    ``t_diff = r**2 / alpha_th`` (``r = d / 2``) is the time heat needs to diffuse out of the
    particle; ``t_gen`` the time in which it is generated (:func:`heat_generation_time_s`).
    An index **above 1** means heat is generated faster than it escapes: the particle heats
    up (thermally dangerous). Other shape factors for the diffusion time (e.g.
    ``r**2 / (pi**2 alpha)`` for the slowest mode of a sphere, ``r**2 / (15 alpha)`` for its
    mean temperature under uniform heating) rescale the threshold, not the ranking.

    Parameters
    ----------
    diameter_um : array_like
        Diameters in um.
    thermal_diffusivity_m2_s : float
        ``alpha_th = k / (rho c_p)`` of the particle in m^2/s.
    heat_generation_time_s : float
        ``t_gen`` in s.

    Returns
    -------
    numpy.ndarray
        The index (dimensionless), increasing as ``d**2``.

    Examples
    --------
    >>> thermal_index([2.0, 4.0], thermal_diffusivity_m2_s=1e-6, heat_generation_time_s=1e-6)
    array([1., 4.])
    """
    d = _checks.positive_array(diameter_um, "diameter_um")
    a = _checks.positive_scalar(thermal_diffusivity_m2_s, "thermal_diffusivity_m2_s")
    t = _checks.positive_scalar(heat_generation_time_s, "heat_generation_time_s")
    r_m = 0.5e-6 * d
    return r_m**2 / a / t


@dataclass(frozen=True)
class ThermalRisk:
    """Thermal index over a PSD (see :func:`thermal_risk`).

    Attributes
    ----------
    index : numpy.ndarray
        ``t_diff / t_gen`` of each diameter (input order); above 1 is dangerous.
    critical_diameter_um : float
        Diameter at which the index is 1, ``2 sqrt(alpha_th t_gen)``, in um.
    volume_fraction_above_1 : float
        ``sum n d**3 [index > 1] / sum n d**3``.
    number_fraction_above_1 : float
        ``sum n [index > 1] / sum n``.
    """

    index: np.ndarray
    critical_diameter_um: float
    volume_fraction_above_1: float
    number_fraction_above_1: float


def thermal_risk(diameter_um, *, thermal_diffusivity_m2_s, heat_generation_time_s, count=None) -> ThermalRisk:
    """Return the thermal index of each particle and the volume fraction above 1.

    Parameters
    ----------
    diameter_um : array_like
        Diameters in um.
    thermal_diffusivity_m2_s : float
        Thermal diffusivity of the particles in m^2/s.
    heat_generation_time_s : float
        Heat-generation time in s.
    count : array_like, optional
        Number of particles per diameter (default 1 each).

    Returns
    -------
    ThermalRisk

    Examples
    --------
    >>> r = thermal_risk([1.0, 2.0, 3.0], thermal_diffusivity_m2_s=1e-6, heat_generation_time_s=1e-6)
    >>> r.critical_diameter_um, round(r.volume_fraction_above_1, 4)
    (2.0, 0.75)
    """
    d, n = _psd(diameter_um, count)
    idx = thermal_index(
        d, thermal_diffusivity_m2_s=thermal_diffusivity_m2_s, heat_generation_time_s=heat_generation_time_s
    )
    hot = idx > 1.0
    v = n * d**3
    return ThermalRisk(
        index=idx,
        critical_diameter_um=float(2e6 * np.sqrt(float(thermal_diffusivity_m2_s) * float(heat_generation_time_s))),
        volume_fraction_above_1=float(np.sum(v[hot]) / np.sum(v)),
        number_fraction_above_1=float(np.sum(n[hot]) / np.sum(n)),
    )


# --------------------------------------------------------------------------- plating


@dataclass(frozen=True)
class PlatingRisk:
    """Surface at risk of lithium plating (see :func:`plating_risk`).

    Attributes
    ----------
    at_risk : numpy.ndarray of bool, shape (n_sizes,)
        Size classes whose overpotential crosses the threshold at some time.
    area_fraction : float
        Fraction of the active surface in those classes.
    area_fraction_vs_time : numpy.ndarray, shape (n_t,)
        Fraction of the active surface beyond the threshold at each time.
    peak_area_fraction : float
        ``max(area_fraction_vs_time)``.
    first_crossing_time_s : numpy.ndarray, shape (n_sizes,)
        First time at which each class crosses the threshold (NaN if never; the time index
        when no ``time_s`` is given).
    """

    at_risk: np.ndarray
    area_fraction: float
    area_fraction_vs_time: np.ndarray
    peak_area_fraction: float
    first_crossing_time_s: np.ndarray


def plating_risk(
    overpotential_V, surface_area_m2, *, threshold_V: float, side: str = "above", time_s=None
) -> PlatingRisk:
    """Return the fraction of the active surface whose overpotential crosses the plating threshold.

    Parameters
    ----------
    overpotential_V : array_like, shape (n_t, n_sizes)
        Per-size overpotential over time in V (as the ensemble particle model returns).
    surface_area_m2 : array_like, shape (n_sizes,)
        Total surface of each size class in m^2 (e.g. ``count * pi * d**2``).
    threshold_V : float
        Plating threshold in V.
    side : {"above", "below"}, optional
        A class is at risk where the overpotential exceeds (``"above"``) or falls below
        (``"below"``) the threshold; use ``"below"`` with the plating potential
        ``phi_s - phi_e`` vs Li/Li+ and a threshold of 0 V.
    time_s : array_like, shape (n_t,), optional
        Times, for ``first_crossing_time_s``.

    Returns
    -------
    PlatingRisk

    Raises
    ------
    ValueError
        If the shapes disagree, or a value is not finite.

    Examples
    --------
    >>> eta = np.array([[0.01, 0.02, 0.03], [0.02, 0.04, 0.06]])
    >>> r = plating_risk(eta, [1.0, 2.0, 1.0], threshold_V=0.035)
    >>> r.at_risk.tolist(), r.area_fraction, r.area_fraction_vs_time.tolist()
    ([False, True, True], 0.75, [0.0, 0.75])
    """
    eta = _checks.finite_array(overpotential_V, "overpotential_V", ndim=2)
    area = _checks.positive_array(surface_area_m2, "surface_area_m2", allow_zero=True).reshape(-1)
    if area.size != eta.shape[1]:
        raise ValueError(f"surface_area_m2 must have n_sizes = {eta.shape[1]} values, got {area.size}")
    if not np.sum(area) > 0:
        raise ValueError("surface_area_m2 must not be all zero")
    thr = float(_checks.finite_array(threshold_V, "threshold_V", ndim=0))
    if side == "above":
        cross = eta > thr
    elif side == "below":
        cross = eta < thr
    else:
        raise ValueError(f"side must be 'above' or 'below', got {side!r}")
    if time_s is None:
        t = np.arange(eta.shape[0], dtype=float)
    else:
        t = _checks.finite_array(time_s, "time_s", ndim=1)
        if t.size != eta.shape[0]:
            raise ValueError(f"time_s must have n_t = {eta.shape[0]} values, got {t.size}")
    at_risk = np.any(cross, axis=0)
    first = np.where(at_risk, t[np.argmax(cross, axis=0)], np.nan)
    total = np.sum(area)
    vs_t = (cross @ area) / total
    return PlatingRisk(
        at_risk=at_risk,
        area_fraction=float(np.sum(area[at_risk]) / total),
        area_fraction_vs_time=vs_t,
        peak_area_fraction=float(np.max(vs_t)),
        first_crossing_time_s=first,
    )


# --------------------------------------------------------------------------- packing


@dataclass(frozen=True)
class BinaryPacking:
    """Packing fraction of a binary (bimodal) blend against its coarse volume fraction.

    Attributes
    ----------
    coarse_fraction : numpy.ndarray
        Coarse fraction of the solid volume, ``y_c``.
    packing_fraction : numpy.ndarray
        Packing fraction at each ``y_c``.
    phi_max : float
        Densest packing fraction of the blend.
    optimal_coarse_fraction : float
        ``y_c`` at ``phi_max``.
    model : str
        ``"furnas"`` or ``"yu_standish"``.
    """

    coarse_fraction: np.ndarray
    packing_fraction: np.ndarray
    phi_max: float
    optimal_coarse_fraction: float
    model: str


def _coarse_grid(coarse_fraction) -> np.ndarray:
    if coarse_fraction is None:
        return np.linspace(0.0, 1.0, 101)
    y = _checks.finite_array(coarse_fraction, "coarse_fraction").reshape(-1)
    if np.any((y < 0) | (y > 1)):
        raise ValueError("coarse_fraction must lie in [0, 1]")
    return y


def furnas_binary_packing(*, phi_coarse: float, phi_fine: float, coarse_fraction=None) -> BinaryPacking:
    """Return the packing of a binary blend in the large-size-ratio limit (Furnas, Westman-Hugill).

    With specific volumes ``v = 1 / phi`` and coarse solid fraction ``y_c``, the blend's
    specific volume is the larger of the coarse-skeleton branch ``y_c v_c`` (fines sit in
    the voids of the coarse packing) and the fine-matrix branch ``y_c + (1 - y_c) v_f``
    (coarse particles are solid lumps in the fine packing). They meet at
    ``y_c* = v_f / (v_c + v_f - 1)``, where ``phi_max = phi_c + (1 - phi_c) phi_f``
    (0.8704 at ``y_c* = 0.735`` for ``phi_c = phi_f = 0.64``).

    Parameters
    ----------
    phi_coarse, phi_fine : float
        Packing fraction of each size class alone, in ``(0, 1]``.
    coarse_fraction : array_like, optional
        ``y_c`` values for the curve (default 101 points on ``[0, 1]``).

    Returns
    -------
    BinaryPacking

    References
    ----------
    .. [1] C. C. Furnas, "Grading aggregates I: mathematical relations for beds of broken
       solids of maximum density", Ind. Eng. Chem. 23 (1931) 1052-1058.
    .. [2] A. E. R. Westman, H. R. Hugill, "The packing of particles", J. Am. Ceram. Soc. 13
       (1930) 767-779.

    Examples
    --------
    >>> p = furnas_binary_packing(phi_coarse=0.64, phi_fine=0.64)
    >>> round(p.phi_max, 4), round(p.optimal_coarse_fraction, 4)
    (0.8704, 0.7353)
    """
    pc = _checks.positive_scalar(phi_coarse, "phi_coarse")
    pf = _checks.positive_scalar(phi_fine, "phi_fine")
    if pc > 1 or pf > 1:
        raise ValueError(f"phi_coarse and phi_fine must be in (0, 1], got {phi_coarse!r}, {phi_fine!r}")
    vc, vf = 1.0 / pc, 1.0 / pf
    y = _coarse_grid(coarse_fraction)
    v = np.maximum(y * vc, y + (1.0 - y) * vf)
    y_opt = vf / (vc + vf - 1.0)
    return BinaryPacking(
        coarse_fraction=y,
        packing_fraction=1.0 / v,
        phi_max=float(pc + (1.0 - pc) * pf),
        optimal_coarse_fraction=float(y_opt),
        model="furnas",
    )


def _yu_standish_coefficients(r, pc, pf) -> tuple[float, float]:
    """Return ``(a, b)`` of ``P_coarse = phi_c / (1 - a x_f)`` and ``P_fine = phi_f / (1 - b x_c)``."""
    if r > 0.741:
        return 0.0, 0.0
    shape = 1.0 - 2.35 * r + 1.35 * r * r
    coef = []
    for i, phi in enumerate((pc, pf)):
        p_ij = phi + phi * (1.0 - phi) * shape  # binary maximum seen from component i
        x_ij = (1.0 - r * r) / (2.0 - phi)  # for j coarser than i
        if i == 0:  # the other component (j = fine) is finer than i
            x_ij = 1.0 - x_ij
        coef.append((1.0 - phi / p_ij) / x_ij)
    return coef[0], coef[1]


def _yu_standish(y_c, r, pc, pf) -> np.ndarray:
    """Return the Yu-Standish (1987) packing fraction of a binary blend, coarse fraction ``y_c``."""
    if r > 0.741:  # no interaction: ideal mixing of the specific volumes
        return 1.0 / (y_c / pc + (1.0 - y_c) / pf)
    a, b = _yu_standish_coefficients(r, pc, pf)
    with np.errstate(divide="ignore"):
        p_c = np.where(a * (1.0 - y_c) < 1.0, pc / (1.0 - a * (1.0 - y_c)), np.inf)
        p_f = np.where(b * y_c < 1.0, pf / (1.0 - b * y_c), np.inf)
    return np.minimum(1.0, np.minimum(p_c, p_f))


def yu_standish_binary_packing(
    *, size_ratio: float, phi_coarse: float, phi_fine: float, coarse_fraction=None
) -> BinaryPacking:
    """Return the packing of a binary blend at a finite size ratio (Yu and Standish 1987).

    For components ``i`` (each packing alone at ``phi_i``) and the size ratio
    ``r = d_fine / d_coarse <= 1``, the blend packs at ``min_i P_i`` with
    ``P_i = phi_i / (1 - sum_(j != i) (1 - phi_i / P_ij) x_j / X_ij)``, where for
    ``r <= 0.741`` the binary maximum is ``P_ij = phi_i + phi_i (1 - phi_i)
    (1 - 2.35 r + 1.35 r**2)`` at ``X_ij = (1 - r**2) / (2 - phi_i)`` (``j`` coarser than
    ``i``; ``1 - X`` for ``j`` finer) and for ``r > 0.741`` there is no interaction
    (``P_ij = phi_i``, ideal mixing of the specific volumes). For ``r -> 0`` and
    ``phi_c = phi_f`` it reduces to the Furnas limit (:func:`furnas_binary_packing`). The
    implementation follows MFIX's ``calc_ep_star`` (binary case).

    Parameters
    ----------
    size_ratio : float
        ``d_fine / d_coarse`` in ``(0, 1]`` (values above 1 are inverted).
    phi_coarse, phi_fine : float
        Packing fraction of each class alone.
    coarse_fraction : array_like, optional
        Coarse solid fractions for the curve (default 101 points on ``[0, 1]``). ``phi_max``
        and its coarse fraction are exact: the intersection of the coarse- and the
        fine-dominated branches. Without interaction and with ``phi_c = phi_f`` the curve is
        flat and the optimal coarse fraction is NaN.

    Returns
    -------
    BinaryPacking

    References
    ----------
    .. [1] A. B. Yu, N. Standish, "Porosity calculations of multi-component mixtures of
       spherical particles", Powder Technol. 52 (1987) 233-241.

    Examples
    --------
    >>> p = yu_standish_binary_packing(size_ratio=0.2, phi_coarse=0.64, phi_fine=0.64)
    >>> round(p.phi_max, 4), round(p.optimal_coarse_fraction, 3)
    (0.7746, 0.706)
    """
    r = _checks.positive_scalar(size_ratio, "size_ratio")
    r = 1.0 / r if r > 1 else r
    pc = _checks.positive_scalar(phi_coarse, "phi_coarse")
    pf = _checks.positive_scalar(phi_fine, "phi_fine")
    if pc > 1 or pf > 1:
        raise ValueError(f"phi_coarse and phi_fine must be in (0, 1], got {phi_coarse!r}, {phi_fine!r}")
    y = _coarse_grid(coarse_fraction)
    curve = _yu_standish(y, r, pc, pf)
    a, b = _yu_standish_coefficients(r, pc, pf)
    if a == 0.0 and b == 0.0:  # ideal mixing: the better class alone (flat if equal)
        y_opt = np.nan if pc == pf else float(pc > pf)
    else:  # the coarse-dominated branch rises with x_f, the fine-dominated one with x_c: intersect them
        y_opt = float(np.clip((pc - pf + pf * a) / (pc * b + pf * a), 0.0, 1.0))
    phi_max = float(_yu_standish(np.array([0.0 if np.isnan(y_opt) else y_opt]), r, pc, pf)[0])
    return BinaryPacking(
        coarse_fraction=y,
        packing_fraction=curve,
        phi_max=phi_max,
        optimal_coarse_fraction=y_opt,
        model="yu_standish",
    )


# --------------------------------------------------------------------------- lognormal


def lognormal_moment(mu_ln_um: float, sigma: float, k: float) -> float:
    """Return the ``k``-th moment ``E[d**k]`` of a number-weighted lognormal PSD.

    ``ln d ~ N(mu, sigma**2)`` (``d`` in um) gives ``E[d**k] = exp(k mu + k**2 sigma**2 / 2)``.

    Parameters
    ----------
    mu_ln_um : float
        Mean of ``ln(d / 1 um)``.
    sigma : float
        Standard deviation of ``ln d`` (non-negative).
    k : float
        Order of the moment.

    Returns
    -------
    float
        ``E[d**k]`` in um**k.
    """
    mu = float(_checks.finite_array(mu_ln_um, "mu_ln_um", ndim=0))
    s = _checks.positive_scalar(sigma, "sigma", allow_zero=True)
    k = float(_checks.finite_array(k, "k", ndim=0))
    return float(np.exp(k * mu + 0.5 * k * k * s * s))


def lognormal_moment_diameter(mu_ln_um: float, sigma: float, p: float, q: float) -> float:
    """Return the moment-ratio diameter ``d_pq = (E[d**p] / E[d**q])**(1 / (p - q))``.

    For a number-weighted lognormal (Hatch-Choate): ``d_pq = exp(mu + (p + q) sigma**2 / 2)``;
    ``d_10`` is the mean, ``d_32`` the Sauter diameter, ``d_43`` the De Brouckere diameter.

    Parameters
    ----------
    mu_ln_um, sigma : float
        As in :func:`lognormal_moment`.
    p, q : float
        Orders, ``p != q``.

    Returns
    -------
    float
        ``d_pq`` in um.

    References
    ----------
    .. [1] T. Hatch, S. P. Choate, "Statistical description of the size properties of non
       uniform particulate substances", J. Franklin Inst. 207 (1929) 369-387.

    Examples
    --------
    >>> round(lognormal_moment_diameter(0.0, 0.5, 4, 3), 6) == round(float(np.exp(3.5 * 0.25)), 6)
    True
    """
    p = float(_checks.finite_array(p, "p", ndim=0))
    q = float(_checks.finite_array(q, "q", ndim=0))
    if p == q:
        raise ValueError(f"p and q must differ, got p = q = {p}")
    mu = float(_checks.finite_array(mu_ln_um, "mu_ln_um", ndim=0))
    s = _checks.positive_scalar(sigma, "sigma", allow_zero=True)
    return float(np.exp(mu + 0.5 * (p + q) * s * s))


def lognormal_sauter_diameter(mu_ln_um: float, sigma: float) -> float:
    """Return the Sauter mean diameter ``d32 = exp(mu + 2.5 sigma**2)`` of a number-weighted lognormal.

    Parameters
    ----------
    mu_ln_um, sigma : float
        As in :func:`lognormal_moment`.

    Returns
    -------
    float
        ``d32`` in um.

    Examples
    --------
    >>> round(lognormal_sauter_diameter(np.log(10.0), 0.4), 4)
    14.9182
    """
    return lognormal_moment_diameter(mu_ln_um, sigma, 3, 2)


def lognormal_weighted_median(mu_ln_um: float, sigma: float, k: float) -> float:
    """Return the median of the ``d**k``-weighted distribution of a number-weighted lognormal.

    Weighting a lognormal ``N(mu, sigma**2)`` in ``ln d`` by ``d**k`` gives again a lognormal,
    ``N(mu + k sigma**2, sigma**2)`` (Hatch-Choate), so its median is
    ``exp(mu + k sigma**2)``: ``k = 2`` surface-, ``k = 3`` volume-weighted.

    Parameters
    ----------
    mu_ln_um, sigma : float
        As in :func:`lognormal_moment`.
    k : float
        Weighting exponent.

    Returns
    -------
    float
        Median diameter in um.

    Examples
    --------
    >>> round(lognormal_weighted_median(np.log(10.0), 0.4, 3), 4)
    16.1607
    """
    mu = float(_checks.finite_array(mu_ln_um, "mu_ln_um", ndim=0))
    s = _checks.positive_scalar(sigma, "sigma", allow_zero=True)
    k = float(_checks.finite_array(k, "k", ndim=0))
    return float(np.exp(mu + k * s * s))
