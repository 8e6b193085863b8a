"""A virtual GITT cycler: records with a known truth for the fits of :mod:`batteryct.gitt`.

:func:`virtual_gitt` runs a pulse/rest protocol on an electrode of spherical particles of known
sizes (:func:`batteryct.diffusion.simulate_ensemble`, fine time grid, potential split), with D from
an Arrhenius law, an analytic NMC OCV (:func:`nmc_ocv_V`), Butler-Volmer kinetics and a series
resistance, and adds what a real cell and instrument add and the fit model does not have: an RC
element (electrolyte / surface film, ``V_RC' = (I - V_RC / R_1) / C_1``, integrated exactly for the
piecewise-constant current), a counter-electrode Butler-Volmer overpotential
``(2RT/F) asinh(I / (2 I_0,ce))``, voltage noise and current-measurement noise. It returns the
record (``time_s``, ``current_A``, ``voltage_V``, as :func:`batteryct.io.read_gitt_csv` reads it)
and the truth.

Conventions of :mod:`batteryct.diffusion`: positive current = discharge = lithiation of the
cathode; ``current_A[i]`` flows during ``(time_s[i-1], time_s[i]]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from batteryct import _checks
from batteryct.diffusion import (
    FARADAY_C_MOL,
    GAS_CONSTANT_J_MOL_K,
    check_size_distribution,
    sauter_radius_m,
    simulate_ensemble,
)
from batteryct.gitt import arrhenius


def nmc_ocv_V(stoichiometry):
    """Return the open-circuit voltage of NMC811 against Li (Chen et al. 2020).

    ``U(x) = -0.8090 x + 4.4875 - 0.0428 tanh(18.5138 (x - 0.5542))
    - 17.7326 tanh(15.7890 (x - 0.3117)) + 17.5842 tanh(15.9308 (x - 0.3120))``, fitted on
    ``0.27 <= x <= 0.91``; monotone decreasing on ``[0, 1]``.

    Parameters
    ----------
    stoichiometry : float or array_like
        Lithium stoichiometry ``x``.

    Returns
    -------
    numpy.ndarray or float
        Voltage (V).

    References
    ----------
    C.-H. Chen, F. Brosa Planella, K. O'Regan, D. Gastol, W. D. Widanage, E. Kendrick,
    J. Electrochem. Soc. 167 (2020) 080534, eq. 9.

    Examples
    --------
    >>> round(nmc_ocv_V(0.5), 4)
    3.972
    """
    x = np.asarray(stoichiometry, dtype=float)
    u = (
        -0.8090 * x
        + 4.4875
        - 0.0428 * np.tanh(18.5138 * (x - 0.5542))
        - 17.7326 * np.tanh(15.7890 * (x - 0.3117))
        + 17.5842 * np.tanh(15.9308 * (x - 0.3120))
    )
    return float(u) if u.ndim == 0 else u


def lognormal_size_classes(
    median_radius_m: float = 5e-6, sigma: float = 0.35, n_sizes: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """Return radii and volume fractions of a volume-weighted lognormal, like a CT size table.

    Classes are geometrically spaced between the 0.5 % and 99.5 % quantiles; each gets the
    volume in its ``ln R`` bin.

    Parameters
    ----------
    median_radius_m : float, optional
        Volume-weighted median radius.
    sigma : float, optional
        Standard deviation of ``ln R``.
    n_sizes : int, optional
        Number of classes.

    Returns
    -------
    tuple of numpy.ndarray
        ``(radius_m, volume_fraction)``, fractions summing to 1.

    Examples
    --------
    >>> r, phi = lognormal_size_classes(5e-6, 0.3, 5)
    >>> round(float(phi.sum()), 12), r.size
    (1.0, 5)
    """
    from scipy import stats

    r50 = _checks.positive_scalar(median_radius_m, "median_radius_m")
    s = _checks.positive_scalar(sigma, "sigma")
    n = _checks.check_int(n_sizes, "n_sizes", 1)
    if n == 1:
        return np.array([r50]), np.array([1.0])
    z = stats.norm.ppf([0.005, 0.995])
    ln_r = np.linspace(math.log(r50) + z[0] * s, math.log(r50) + z[1] * s, n)
    h = ln_r[1] - ln_r[0]
    edges = np.concatenate([ln_r - h / 2, [ln_r[-1] + h / 2]])
    cdf = stats.norm.cdf((edges - math.log(r50)) / s)
    phi = np.diff(cdf)
    return np.exp(ln_r), phi / phi.sum()


@dataclass(frozen=True)
class CyclerTruth:
    """The truth behind a :func:`virtual_gitt` record.

    Attributes
    ----------
    diffusivity_m2_s : float
        D at ``temperature_K``.
    diffusivity_ref_m2_s, reference_temperature_K, activation_energy_kJ_mol : float
        The Arrhenius law D came from.
    temperature_K : float
        Temperature of the record.
    series_resistance_ohm : float
        Ohmic resistance.
    rc_resistance_ohm, rc_capacitance_F : float
        RC element (0 when switched off).
    counter_exchange_current_A : float
        Counter-electrode exchange current (inf when switched off).
    exchange_current_density_A_m2 : float
        Working-electrode kinetics.
    radius_m, volume_fraction : numpy.ndarray
        Size classes.
    sauter_radius_m : float
        ``3 V / S`` of the classes.
    max_concentration_mol_m3, active_volume_m3, initial_stoichiometry : float
        Electrode.
    ocv_V : callable
        The OCV used.
    voltage_noise_V, current_noise_A : float
        Noise standard deviations.
    true_current_A, noise_free_voltage_V : numpy.ndarray
        At the record samples.
    """

    diffusivity_m2_s: float
    diffusivity_ref_m2_s: float
    reference_temperature_K: float
    activation_energy_kJ_mol: float
    temperature_K: float
    series_resistance_ohm: float
    rc_resistance_ohm: float
    rc_capacitance_F: float
    counter_exchange_current_A: float
    exchange_current_density_A_m2: float
    radius_m: np.ndarray
    volume_fraction: np.ndarray
    sauter_radius_m: float
    max_concentration_mol_m3: float
    active_volume_m3: float
    initial_stoichiometry: float
    ocv_V: Callable = field(repr=False)
    voltage_noise_V: float = 0.0
    current_noise_A: float = 0.0
    true_current_A: np.ndarray = field(default=None, repr=False)
    noise_free_voltage_V: np.ndarray = field(default=None, repr=False)


def _protocol_times(n_pulses, pulse_s, rest_s, first_rest_s, dt_pulse, dt_rest):
    """Sample times and true currents (sign +1 during pulses) of the protocol."""
    t = [np.arange(0.0, first_rest_s + 1e-9, dt_rest)]
    on = [np.zeros(t[0].size)]
    t0 = first_rest_s
    for _ in range(n_pulses):
        tp = t0 + np.arange(1, int(round(pulse_s / dt_pulse)) + 1) * dt_pulse
        tr = tp[-1] + np.arange(1, int(round(rest_s / dt_rest)) + 1) * dt_rest
        t += [tp, tr]
        on += [np.ones(tp.size), np.zeros(tr.size)]
        t0 = tr[-1]
    return np.concatenate(t), np.concatenate(on)


def virtual_gitt(
    *,
    radius_m=None,
    volume_fraction=None,
    diffusivity_ref_m2_s: float = 5e-15,
    activation_energy_kJ_mol: float = 40.0,
    temperature_K: float = 298.15,
    reference_temperature_K: float = 298.15,
    max_concentration_mol_m3: float = 63104.0,
    active_volume_m3: float = 3.2e-9,
    initial_stoichiometry: float = 0.45,
    ocv_V: Callable = nmc_ocv_V,
    exchange_current_density_A_m2: float = 2.0,
    n_pulses: int = 10,
    pulse_s: float = 600.0,
    rest_s: float = 3600.0,
    first_rest_s: float = 60.0,
    current_A: float = 5e-4,
    sample_interval_s: float = 1.0,
    rest_sample_interval_s: float = 5.0,
    series_resistance_ohm: float = 8.0,
    extra_overpotentials: bool = True,
    rc_resistance_ohm: float = 4.0,
    rc_capacitance_F: float = 1.0,
    counter_exchange_current_A: float = 2e-3,
    voltage_noise_V: float = 2e-4,
    current_noise_A: float = 5e-7,
    solver: str = "modes",
    n_shells: int = 160,
    seed: int = 0,
) -> tuple[pd.DataFrame, CyclerTruth]:
    """Record a GITT protocol on a virtual cell whose truth is known.

    Parameters
    ----------
    radius_m, volume_fraction : array_like, optional
        Size classes; default :func:`lognormal_size_classes` (median 5 um, sigma 0.35, 20 classes).
    diffusivity_ref_m2_s : float, optional
        D at ``reference_temperature_K``.
    activation_energy_kJ_mol : float, optional
        ``E_a`` of D.
    temperature_K, reference_temperature_K : float, optional
        Temperature of the record and of ``diffusivity_ref_m2_s``.
    max_concentration_mol_m3, active_volume_m3, initial_stoichiometry : float, optional
        Electrode.
    ocv_V : callable, optional
        OCV ``U(x)``; default :func:`nmc_ocv_V`.
    exchange_current_density_A_m2 : float, optional
        Working-electrode Butler-Volmer exchange current density.
    n_pulses : int, optional
        Number of pulses.
    pulse_s, rest_s, first_rest_s : float, optional
        Durations of each pulse, each rest after a pulse, and the rest before the first one.
    current_A : float, optional
        Pulse current (positive = lithiation; negative for a charge GITT).
    sample_interval_s, rest_sample_interval_s : float, optional
        Logging intervals during pulses and rests.
    series_resistance_ohm : float, optional
        Ohmic resistance.
    extra_overpotentials : bool, optional
        Add the RC element and the counter-electrode overpotential (physics the fit lacks).
    rc_resistance_ohm, rc_capacitance_F : float, optional
        RC element.
    counter_exchange_current_A : float, optional
        Counter-electrode exchange current.
    voltage_noise_V, current_noise_A : float, optional
        Standard deviations of white measurement noise.
    solver : {"modes", "finite_volume"}, optional
        Solver of the truth (:func:`batteryct.diffusion.simulate_ensemble`): the exact modal one,
        or finite volumes with ``n_shells`` nodes (and 24 geometric sub-steps after switches).
    n_shells : int, optional
        Radial nodes of the finite-volume truth.
    seed : int, optional
        Noise seed.

    Returns
    -------
    record : pandas.DataFrame
        ``time_s``, ``current_A`` (measured), ``voltage_V`` (measured).
    truth : CyclerTruth

    Raises
    ------
    ValueError
        If an argument is out of range.

    Examples
    --------
    >>> rec, truth = virtual_gitt(n_pulses=2, pulse_s=60.0, rest_s=120.0, seed=0)
    >>> list(rec.columns), round(truth.sauter_radius_m * 1e6, 3)
    (['time_s', 'current_A', 'voltage_V'], 4.718)
    """
    if radius_m is None and volume_fraction is None:
        radius_m, volume_fraction = lognormal_size_classes()
    r, phi = check_size_distribution(radius_m, volume_fraction)
    n_pulses = _checks.check_int(n_pulses, "n_pulses", 1)
    for name, val in (
        ("pulse_s", pulse_s),
        ("rest_s", rest_s),
        ("first_rest_s", first_rest_s),
        ("sample_interval_s", sample_interval_s),
        ("rest_sample_interval_s", rest_sample_interval_s),
    ):
        _checks.positive_scalar(val, name)
    for name, val in (
        ("series_resistance_ohm", series_resistance_ohm),
        ("rc_resistance_ohm", rc_resistance_ohm),
        ("voltage_noise_V", voltage_noise_V),
        ("current_noise_A", current_noise_A),
    ):
        _checks.positive_scalar(val, name, allow_zero=True)
    c_rc = _checks.positive_scalar(rc_capacitance_F, "rc_capacitance_F")
    i0_ce = _checks.positive_scalar(counter_exchange_current_A, "counter_exchange_current_A", allow_inf=True)
    i_pulse = float(_checks.finite_array(current_A, "current_A", ndim=0))
    temp = _checks.positive_scalar(temperature_K, "temperature_K")
    d_t = arrhenius(diffusivity_ref_m2_s, activation_energy_kJ_mol, temp, reference_temperature_K)

    t_rec, on = _protocol_times(n_pulses, pulse_s, rest_s, first_rest_s, sample_interval_s, rest_sample_interval_s)
    i_true = on * i_pulse
    sim = simulate_ensemble(
        r,
        phi,
        t_rec,
        i_true,
        diffusivity_m2_s=d_t,
        ocv_V=ocv_V,
        exchange_current_density_A_m2=exchange_current_density_A_m2,
        temperature_K=temp,
        active_volume_m3=active_volume_m3,
        max_concentration_mol_m3=max_concentration_mol_m3,
        initial_stoichiometry=initial_stoichiometry,
        series_resistance_ohm=series_resistance_ohm,
        n_shells=n_shells,
        grading=60.0,
        switch_substeps=24,
        solver=solver,
    )
    v_clean = sim.voltage_V
    r1 = rc_resistance_ohm if extra_overpotentials else 0.0
    if extra_overpotentials:
        tau = r1 * c_rc
        v_rc = np.zeros(t_rec.size)
        for k in range(1, t_rec.size):
            a = math.exp(-(t_rec[k] - t_rec[k - 1]) / tau) if tau > 0 else 0.0
            v_rc[k] = i_true[k] * r1 + (v_rc[k - 1] - i_true[k] * r1) * a
        rt_f = GAS_CONSTANT_J_MOL_K * temp / FARADAY_C_MOL
        eta_ce = 2.0 * rt_f * np.arcsinh(i_true / (2.0 * i0_ce))
        v_clean = v_clean - v_rc - eta_ce
    else:
        i0_ce = math.inf
    rng = np.random.default_rng(seed)
    v_meas = v_clean + rng.normal(0.0, voltage_noise_V, t_rec.size) if voltage_noise_V > 0 else v_clean.copy()
    i_meas = i_true + rng.normal(0.0, current_noise_A, t_rec.size) if current_noise_A > 0 else i_true.copy()
    record = pd.DataFrame({"time_s": t_rec, "current_A": i_meas, "voltage_V": v_meas})
    truth = CyclerTruth(
        diffusivity_m2_s=float(d_t),
        diffusivity_ref_m2_s=float(diffusivity_ref_m2_s),
        reference_temperature_K=float(reference_temperature_K),
        activation_energy_kJ_mol=float(activation_energy_kJ_mol),
        temperature_K=temp,
        series_resistance_ohm=float(series_resistance_ohm),
        rc_resistance_ohm=float(r1),
        rc_capacitance_F=float(c_rc),
        counter_exchange_current_A=float(i0_ce),
        exchange_current_density_A_m2=float(exchange_current_density_A_m2),
        radius_m=r,
        volume_fraction=phi,
        sauter_radius_m=sauter_radius_m(r, phi),
        max_concentration_mol_m3=float(max_concentration_mol_m3),
        active_volume_m3=float(active_volume_m3),
        initial_stoichiometry=float(initial_stoichiometry),
        ocv_V=ocv_V,
        voltage_noise_V=float(voltage_noise_V),
        current_noise_A=float(current_noise_A),
        true_current_A=i_true,
        noise_free_voltage_V=v_clean,
    )
    return record, truth
