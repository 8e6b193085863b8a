"""Powder summary (Table 1 of Heenan et al. 2020) and volume-weighted diameter percentiles."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .measure import PARTICLE_COLUMNS, PLANES, VOID_COLUMNS, _empty

__all__ = ["SUMMARY_COLUMNS", "volume_weighted_percentile", "powder_summary"]


def volume_weighted_percentile(diameter_um, volume_um3, q: float) -> float:
    """Compute the volume-weighted percentile ``q`` of diameters (e.g. d50).

    Diameters are sorted; each carries its volume as weight and sits at the middle of its
    weight on the cumulative axis; the percentile is linearly interpolated (clamped to
    the smallest and largest diameter). Non-finite values and zero weights are ignored.

    Parameters
    ----------
    diameter_um : array_like of float
        Diameters, µm.
    volume_um3 : array_like of float
        Their volumes (weights), µm^3.
    q : float
        Percentile, 0..100.

    Returns
    -------
    float
        Diameter in µm; NaN for no particles.

    Examples
    --------
    >>> volume_weighted_percentile([1.0, 2.0, 3.0], [1.0, 1.0, 2.0], 50)
    2.3333333333333335
    """
    d = np.asarray(diameter_um, float)
    w = np.asarray(volume_um3, float)
    ok = np.isfinite(d) & np.isfinite(w) & (w > 0)
    d, w = d[ok], w[ok]
    if d.size == 0:
        return float("nan")
    o = np.argsort(d, kind="stable")
    d, w = d[o], w[o]
    c = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q / 100.0, c, d))


#: columns of :func:`powder_summary`
SUMMARY_COLUMNS = [
    "sample",
    "n_particles",
    "n_border_particles",
    "n_void_particles",
    "n_voids",
    "mean_particle_volume_um3",
    "mean_particle_envelope_volume_um3",
    "mean_particle_surface_area_um2",
    "mean_particle_sphericity",
    "mean_particle_sa_to_v_per_um",
    "mean_particle_equivalent_diameter_um",
    "mean_void_volume_um3",
    "mean_void_surface_area_um2",
    "mean_void_sphericity",
    "mean_void_sa_to_v_per_um",
    "mean_void_equivalent_diameter_um",
    "dead_volume_percent_void_particles",
    "dead_volume_percent_net",
    "void_particle_frequency_per_100",
    "d10_volume_weighted_um",
    "d50_volume_weighted_um",
    "d90_volume_weighted_um",
    "mean_radius_um",
    "mean_roughness_proxy_um",
    "mean_local_roughness_um",
    "reference_range_miles",
    "range_impact_miles",
]


def powder_summary(
    particles: pd.DataFrame,
    voids: pd.DataFrame,
    sample: str = "",
    *,
    reference_range_miles: float,
) -> pd.DataFrame:
    """Summarise one powder as in Table 1 of Heenan et al. (2020).

    Statistics use particles with ``touches_border`` False and the voids whose host is
    such a particle.

    Parameters
    ----------
    particles : pandas.DataFrame or None
        Particle table of :func:`~batteryct.particles.particle_table`.
    voids : pandas.DataFrame or None
        Void table of :func:`~batteryct.particles.void_table`.
    sample : str, optional
        Copied into the row.
    reference_range_miles : float
        Drivable range the dead volume is scaled against, miles.

    Returns
    -------
    pandas.DataFrame
        One row with the columns :data:`SUMMARY_COLUMNS`:
        ``n_particles`` (non-border particles in the statistics), ``n_border_particles``
        (excluded), ``n_void_particles`` (particles holding >= 1 void), ``n_voids``;
        ``mean_particle_*``: means over particles of ``volume_um3`` (solid),
        ``envelope_volume_um3``, ``surface_area_um2``, ``sphericity``, ``sa_to_v_per_um``,
        ``equivalent_diameter_um``; ``mean_void_*``: the same over voids;
        ``dead_volume_percent_void_particles``: mean over void-holding particles of the void
        volume / envelope volume, in percent (the paper's ~4 %);
        ``dead_volume_percent_net``: total void volume / total envelope volume over all
        particles, in percent (~2 % in the paper); ``void_particle_frequency_per_100`` (55
        in the paper); ``d{10,50,90}_volume_weighted_um`` of the equivalent diameter
        (:func:`volume_weighted_percentile`, envelope volumes as weights);
        ``mean_radius_um``, ``mean_roughness_proxy_um``, ``mean_local_roughness_um`` (means
        over particles and planes); ``range_impact_miles`` = net dead-volume fraction x
        ``reference_range_miles`` (the paper: ~2 % of 300 miles, ~6 miles), assuming range
        scales with the active volume.

    Warns
    -----
    RuntimeWarning
        With no usable particle; the row then holds zero counts and NaNs.
    """
    row: dict = {c: np.nan for c in SUMMARY_COLUMNS}
    row["sample"] = sample
    row["reference_range_miles"] = float(reference_range_miles)
    p = particles if particles is not None else _empty(PARTICLE_COLUMNS)
    v = voids if voids is not None else _empty(VOID_COLUMNS)
    border = p["touches_border"].astype(bool).to_numpy() if len(p) else np.zeros(0, bool)
    pin = p[~border]
    row["n_border_particles"] = int(border.sum())
    row["n_particles"] = int(len(pin))
    if len(v) and len(pin):
        vin = v[v["host_particle_id"].isin(pin["particle_id"])]
    else:
        vin = v.iloc[0:0]
    row["n_voids"] = int(len(vin))
    if len(pin) == 0:
        warnings.warn(
            f"powder_summary({sample!r}): no particle away from the border; statistics are NaN",
            RuntimeWarning,
            stacklevel=2,
        )
        row["n_void_particles"] = 0
        row["n_voids"] = 0
        return pd.DataFrame([row])[SUMMARY_COLUMNS]
    has_void = pin["n_internal_voids"].to_numpy() > 0
    row["n_void_particles"] = int(has_void.sum())
    for col in (
        "volume_um3",
        "envelope_volume_um3",
        "surface_area_um2",
        "sphericity",
        "sa_to_v_per_um",
        "equivalent_diameter_um",
    ):
        row["mean_particle_" + col] = float(np.nanmean(pin[col])) if pin[col].notna().any() else np.nan
        if col != "envelope_volume_um3":
            row["mean_void_" + col] = float(np.nanmean(vin[col])) if len(vin) and vin[col].notna().any() else np.nan
    dv = pin["dead_volume_fraction"].to_numpy(float)
    row["dead_volume_percent_void_particles"] = float(100.0 * np.mean(dv[has_void])) if has_void.any() else 0.0
    net = float(pin["internal_void_volume_um3"].sum() / pin["envelope_volume_um3"].sum())
    row["dead_volume_percent_net"] = 100.0 * net
    row["void_particle_frequency_per_100"] = 100.0 * float(has_void.mean())
    for q in (10, 50, 90):
        row[f"d{q}_volume_weighted_um"] = volume_weighted_percentile(
            pin["equivalent_diameter_um"], pin["envelope_volume_um3"], q
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        row["mean_radius_um"] = float(np.nanmean(pin[[f"mean_radius_{pl}_um" for pl in PLANES]].to_numpy(float)))
        row["mean_roughness_proxy_um"] = float(
            np.nanmean(pin[[f"roughness_proxy_{pl}_um" for pl in PLANES]].to_numpy(float))
        )
        row["mean_local_roughness_um"] = float(
            np.nanmean(pin[[f"local_roughness_{pl}_um" for pl in PLANES]].to_numpy(float))
        )
    row["range_impact_miles"] = net * float(reference_range_miles)
    return pd.DataFrame([row])[SUMMARY_COLUMNS]
