"""Electrochemistry of a sample as tables: CT particle sizes for the fits, GITT and EIS rows, risk.

The functions here turn the results of :mod:`batteryct.gitt`, :mod:`batteryct.impedance` and
:mod:`batteryct.risk` into the rows of the campaign tables (``results/fits/*.parquet``) and
choose the particle sizes a fit uses: the sample's CT particles (non-border), grouped into
volume classes that keep their Sauter diameter, or the cells sheet's ``radius_um``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _checks, psd

__all__ = [
    "CellGeometry",
    "ParticleSizes",
    "particle_sizes",
    "gitt_pulse_rows",
    "gitt_summary_row",
    "nearest_temperature_diffusivity",
    "ct_volume_quantiles_um",
    "score_against_truth",
    "sauter_radius_interval_um",
]


@dataclass(frozen=True)
class CellGeometry:
    """The cells sheet row of a sample, in SI units.

    Attributes
    ----------
    electrode_area_m2, electrode_thickness_m : float
        Geometric area and coating thickness.
    active_volume_fraction : float
        Volume fraction of active material in the coating.
    max_concentration_mol_m3 : float
        ``c_max`` of the active material.
    initial_stoichiometry : float
        ``x`` at the start of a record (NaN when the sheet leaves it empty).
    radius_m : float
        Particle radius that overrides the CT sizes (NaN: use the CT sizes).
    """

    electrode_area_m2: float
    electrode_thickness_m: float
    active_volume_fraction: float
    max_concentration_mol_m3: float
    initial_stoichiometry: float
    radius_m: float

    @classmethod
    def from_row(cls, row) -> CellGeometry:
        """Build from a cells-sheet row (mapping with the sheet's column names and units)."""

        def opt(key):
            value = row.get(key)
            return math.nan if value is None or value != value else float(value)

        return cls(
            electrode_area_m2=_checks.positive_scalar(row["electrode_area_cm2"], "electrode_area_cm2") * 1e-4,
            electrode_thickness_m=_checks.positive_scalar(row["electrode_thickness_um"], "electrode_thickness_um")
            * 1e-6,
            active_volume_fraction=_checks.fraction(row["active_volume_fraction"], "active_volume_fraction"),
            max_concentration_mol_m3=_checks.positive_scalar(
                row["max_concentration_mol_m3"], "max_concentration_mol_m3"
            ),
            initial_stoichiometry=opt("initial_stoichiometry"),
            radius_m=opt("radius_um") * 1e-6,
        )

    @property
    def active_volume_m3(self) -> float:
        """Volume of active material, ``A h phi_active`` (m^3)."""
        return self.electrode_area_m2 * self.electrode_thickness_m * self.active_volume_fraction


@dataclass(frozen=True)
class ParticleSizes:
    """The particle sizes a fit uses.

    Attributes
    ----------
    radius_m, volume_fraction : numpy.ndarray
        Size classes and their share of the active volume.
    source : str
        ``"ct:<scan>"`` (CT particles of that scan), ``"cells_sheet"`` (``radius_um``).
    n_particles : int
        Particles behind the classes (0 for the sheet radius).
    diameters_um : numpy.ndarray
        The particles' equivalent diameters (empty for the sheet radius).
    """

    radius_m: np.ndarray
    volume_fraction: np.ndarray
    source: str
    n_particles: int
    diameters_um: np.ndarray


def particle_sizes(particles: pd.DataFrame, sample: str, cell: CellGeometry, *, n_classes: int) -> ParticleSizes:
    """Size classes for the fits of ``sample``: the cells sheet radius, else its CT particles.

    Parameters
    ----------
    particles : DataFrame
        The campaign particle table (``sample``, ``scan``, ``equivalent_diameter_um``,
        ``touches_border``); particles that touch the analysis border are left out.
    sample : str
        Sample id.
    cell : CellGeometry
        Its cells-sheet row (``radius_m`` wins when given).
    n_classes : int
        Largest number of volume classes (:func:`batteryct.psd.volume_size_classes`).

    Returns
    -------
    ParticleSizes

    Raises
    ------
    ValueError
        If the sample has neither a sheet radius nor CT particles.

    Examples
    --------
    >>> cell = CellGeometry(1e-4, 6e-5, 0.5, 5e4, 0.4, 5e-6)
    >>> particle_sizes(pd.DataFrame(), "E1", cell, n_classes=5).radius_m
    array([5.e-06])
    """
    n_classes = _checks.check_int(n_classes, "n_classes", 1)
    if math.isfinite(cell.radius_m):
        return ParticleSizes(np.array([cell.radius_m]), np.array([1.0]), "cells_sheet", 0, np.array([]))
    rows = particles[particles["sample"] == sample] if "sample" in particles else particles.iloc[:0]
    if len(rows):
        first_scan = rows["scan"].iloc[0]
        rows = rows[(rows["scan"] == first_scan) & ~rows["touches_border"].astype(bool)]
    d = rows["equivalent_diameter_um"].to_numpy(float) if len(rows) else np.array([])
    d = d[np.isfinite(d) & (d > 0)]
    if d.size == 0:
        raise ValueError(
            f"sample {sample}: no CT particle sizes (no particle scan, or every particle touches the border) "
            "and no radius_um in the cells sheet"
        )
    radius, fraction = psd.volume_size_classes(d, n_classes)
    return ParticleSizes(radius, fraction, f"ct:{first_scan}", int(d.size), d)


def ct_volume_quantiles_um(diameters_um) -> tuple[float, float, float]:
    """Return the volume-weighted d10, d50, d90 (µm) of particle diameters, as the PSD table defines them.

    Examples
    --------
    >>> [round(q, 2) for q in ct_volume_quantiles_um([1.0, 2.0, 2.0, 3.0])]
    [1.87, 2.51, 3.0]
    """
    d = np.asarray(diameters_um, float)
    q = psd.weighted_quantiles(d, d**3, [0.1, 0.5, 0.9])
    return float(q[0]), float(q[1]), float(q[2])


_PULSE_COLUMNS = {
    "pulse": "pulse",
    "stoichiometry": None,
    "duration_s": "tau_s",
    "delta_e_s_V": "dEs_V",
    "delta_e_t_V": "dEt_V",
    "ir_step_V": "ir_step_V",
    "dimensionless_time": "dimensionless_time",
    "diffusivity_wh_m2_s": "D_wh_m2_s",
    "diffusivity_sphere_m2_s": "D_wh_sphere_m2_s",
}


def gitt_pulse_rows(fit, *, sample: str, measurement: str, temperature_K: float) -> pd.DataFrame:
    """Return the ``gitt_pulses.parquet`` rows of one fitted record (:class:`batteryct.gitt.GittFit`).

    Columns: ``sample, measurement, temperature_K, pulse, stoichiometry, tau_s, dEs_V, dEt_V,
    ir_step_V, dimensionless_time, D_wh_m2_s, D_wh_sphere_m2_s, D_fit_m2_s, D_fit_ci_low_m2_s,
    D_fit_ci_high_m2_s, flags``; the fitted D is the record's (or the pulse's with
    ``per_pulse``), its interval the Jacobian one.
    """
    p = fit.pulses
    out = pd.DataFrame(
        {
            "sample": sample,
            "measurement": measurement,
            "temperature_K": float(temperature_K),
            "pulse": p["pulse"].to_numpy(),
            "stoichiometry": fit.pulse_stoichiometry,
        }
    )
    for src, dst in _PULSE_COLUMNS.items():
        if dst and dst not in out:
            out[dst] = p[src].to_numpy()
    n = len(p)
    out["D_fit_m2_s"] = np.broadcast_to(fit.diffusivity_m2_s, (n,)).astype(float)
    out["D_fit_ci_low_m2_s"] = np.broadcast_to(fit.diffusivity_low_m2_s, (n,)).astype(float)
    out["D_fit_ci_high_m2_s"] = np.broadcast_to(fit.diffusivity_high_m2_s, (n,)).astype(float)
    out["flags"] = p["flag_names"].astype(str).to_numpy()
    return out


def gitt_summary_row(fit, *, sample: str, measurement: str, temperature_K: float, sizes: ParticleSizes) -> dict:
    """Return the ``diffusivity.parquet`` row of one fitted record.

    The WH and sphere-corrected values are medians over the pulses; ``D_fit`` is the full
    fit over the size classes (median of the per-pulse values with ``per_pulse``) with the
    fit's interval (``D_fit_ci_*``: voltage noise) and the interval that also holds the
    sampling error of the CT Sauter radius (``D_fit_with_size_ci_*``); ``diffusion_rate_1_s``
    is ``D / R_32^2``, what a record fixes whatever the sizes.
    """
    d_fit = np.atleast_1d(fit.diffusivity_m2_s)
    lo = np.atleast_1d(fit.diffusivity_low_m2_s)
    hi = np.atleast_1d(fit.diffusivity_high_m2_s)
    k = int(np.argsort(d_fit)[d_fit.size // 2])
    p = fit.pulses
    flags = sorted({f for s in p["flag_names"].astype(str) for f in s.split(";") if f})
    if fit.interval_disagreement:
        flags.append("bootstrap_disagrees_with_jacobian")
    if not fit.success:
        flags.append("fit_not_converged")
    r_um = psd_sauter_radius_um(sizes)
    # D scales with R^2 at a fixed record: the sampling interval of the CT Sauter radius,
    # combined in log space with the fit's interval, gives the interval with the size error
    lo_s, hi_s = float(lo[k]), float(hi[k])
    if sizes.diameters_um.size >= 2:
        _, r_lo, r_hi = sauter_radius_interval_um(sizes.diameters_um)
        z_fit = math.log(hi_s / lo_s) / 2.0
        z_size = math.log(r_hi / r_lo)  # = 2 x half-width of ln R
        w = math.sqrt(z_fit**2 + z_size**2)
        lo_s, hi_s = float(d_fit[k]) * math.exp(-w), float(d_fit[k]) * math.exp(w)
    rate = float(d_fit[k]) / (r_um * 1e-6) ** 2
    return {
        "sample": sample,
        "measurement": measurement,
        "temperature_K": float(temperature_K),
        "D_fit_m2_s": float(d_fit[k]),
        "D_fit_ci_low_m2_s": float(lo[k]),
        "D_fit_ci_high_m2_s": float(hi[k]),
        "D_fit_bootstrap_ci_low_m2_s": float(np.atleast_1d(fit.diffusivity_bootstrap_low_m2_s)[k]),
        "D_fit_bootstrap_ci_high_m2_s": float(np.atleast_1d(fit.diffusivity_bootstrap_high_m2_s)[k]),
        "interval_ratio_bootstrap_to_jacobian": float(np.atleast_1d(fit.interval_ratio)[k]),
        "D_fit_with_size_ci_low_m2_s": lo_s,
        "D_fit_with_size_ci_high_m2_s": hi_s,
        "diffusion_rate_1_s": rate,
        "diffusion_rate_ci_low_1_s": rate * float(lo[k]) / float(d_fit[k]),
        "diffusion_rate_ci_high_1_s": rate * float(hi[k]) / float(d_fit[k]),
        "D_wh_m2_s": float(np.nanmedian(p["diffusivity_wh_m2_s"])),
        "D_wh_sphere_m2_s": float(np.nanmedian(p["diffusivity_sphere_m2_s"])),
        "series_resistance_ohm": fit.series_resistance_ohm,
        "series_resistance_ci_low_ohm": fit.series_resistance_low_ohm,
        "series_resistance_ci_high_ohm": fit.series_resistance_high_ohm,
        "radius_source": sizes.source,
        "n_size_classes": int(sizes.radius_m.size),
        "sauter_radius_um": r_um,
        "rmse_mV": 1e3 * fit.residual_rms_V,
        "n_pulses": int(len(p)),
        "n_points": fit.n_points,
        "flags": ";".join(flags),
    }


def sauter_radius_interval_um(
    diameters_um, *, confidence: float = 0.95, n_bootstrap: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """Sauter radius ``sum d^3 / (2 sum d^2)`` of measured particles and its bootstrap interval (µm).

    The interval is the sampling error of a finite number of particles (resampled with
    replacement); it does not hold a bias of the segmentation (merged or split particles).

    Examples
    --------
    >>> r, lo, hi = sauter_radius_interval_um(np.full(40, 8.0))
    >>> float(r), float(lo), float(hi)
    (4.0, 4.0, 4.0)
    """
    d = _checks.positive_array(diameters_um, "diameters_um", ndim=1)
    conf = _checks.fraction(confidence, "confidence")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, d.size, (_checks.check_int(n_bootstrap, "n_bootstrap", 1), d.size))
    boot = (d[idx] ** 3).sum(axis=1) / (2.0 * (d[idx] ** 2).sum(axis=1))
    a = (1.0 - conf) / 2.0
    lo, hi = np.quantile(boot, [a, 1.0 - a])
    return float((d**3).sum() / (2.0 * (d**2).sum())), float(lo), float(hi)


def psd_sauter_radius_um(sizes: ParticleSizes) -> float:
    """Sauter radius ``sum phi / sum (phi / R)`` of the size classes, µm."""
    return float(1e6 / np.sum(sizes.volume_fraction / sizes.radius_m))


def nearest_temperature_diffusivity(diffusivity: pd.DataFrame, sample: str, temperature_K: float):
    """Return the fitted D (and its interval) of ``sample`` at the temperature nearest ``temperature_K``.

    Returns
    -------
    tuple or None
        ``(D, (D_low, D_high), measurement)`` in m^2/s, or None when the sample has no GITT fit.
    """
    rows = diffusivity[(diffusivity["sample"] == sample) & np.isfinite(diffusivity["D_fit_m2_s"])]
    if rows.empty:
        return None
    r = rows.iloc[int(np.argmin(np.abs(rows["temperature_K"].to_numpy() - temperature_K)))]
    return (
        float(r["D_fit_m2_s"]),
        (float(r["D_fit_ci_low_m2_s"]), float(r["D_fit_ci_high_m2_s"])),
        str(r["measurement"]),
    )


def score_against_truth(
    *, stage: str, subject: str, parameter: str, unit: str, truth: float, value: float, ci_low=None, ci_high=None
) -> dict:
    """One ``fits_validation.parquet`` row: a fitted value against its truth.

    ``relative_error = value / truth - 1``; ``inside_ci`` is None without an interval.

    Examples
    --------
    >>> r = score_against_truth(stage="gitt", subject="E1/g", parameter="D", unit="m2/s",
    ...                         truth=2.0, value=2.1, ci_low=1.9, ci_high=2.2)
    >>> round(r["relative_error"], 3), r["inside_ci"]
    (0.05, True)
    """
    lo = math.nan if ci_low is None else float(ci_low)
    hi = math.nan if ci_high is None else float(ci_high)
    has_ci = math.isfinite(lo) and math.isfinite(hi)
    t, v = float(truth), float(value)
    return {
        "stage": stage,
        "subject": subject,
        "parameter": parameter,
        "unit": unit,
        "truth": t,
        "value": v,
        "ci_low": lo,
        "ci_high": hi,
        "relative_error": v / t - 1.0 if t != 0 else math.nan,
        "inside_ci": bool(lo <= t <= hi) if has_ci else None,
    }
