"""Acceptance figure: one checklist per powder batch (value, limits, pass/fail)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from batteryct.figures._base import fmt
from batteryct.figures.powder import table_figure

# (config key, table column, label, unit, kind): kind "range" = [min, max], "max", "min", "flag"
CRITERIA = (
    ("d50_um", "d50_volume_um", "volume-weighted d50", "µm", "range"),
    ("span_volume_max", "span_volume", "volume span (d90 − d10) / d50", "–", "max"),
    ("ssa_m2_g", "ssa_m2_g", "specific surface area", "m²/g", "range"),
    ("reachable_fraction_min", "reachable_fraction", "capacity reachable at the C-rate", "–", "min"),
    ("dispersion_index_max", "dispersion_index", "dispersion index", "–", "max"),
    ("kappa_eff_S_m_min", "kappa_eff_S_m", "effective ionic conductivity", "S/m", "min"),
    ("permeability_um2_min", "permeability_um2", "Kozeny-Carman permeability", "µm²", "min"),
    ("require_lognormal", "lognormal_ok", "lognormal size distribution", "–", "flag"),
)


def checklist(row: dict, criteria: dict) -> pd.DataFrame:
    """Return one batch's checklist: criterion, value, limit and result.

    Parameters
    ----------
    row : dict
        The batch's ``acceptance.parquet`` row.
    criteria : dict
        The ``acceptance:`` config (limits; None = not checked).

    Returns
    -------
    pandas.DataFrame
        Columns ``criterion``, ``unit``, ``value``, ``limit``, ``result`` ("pass", "FAIL",
        "not checked" or "no value").

    Examples
    --------
    >>> t = checklist({"d50_volume_um": 4.0, "span_volume": 1.2}, {"d50_um": [5, 15], "span_volume_max": 1.5})
    >>> t[["criterion", "result"]].values.tolist()
    [['volume-weighted d50', 'FAIL'], ['volume span (d90 − d10) / d50', 'pass']]
    """
    out = []
    for key, column, label, unit, kind in CRITERIA:
        if key not in criteria:
            continue
        limit = criteria[key]
        value = row.get(column, np.nan)
        if kind == "flag":
            checked = bool(limit)
            ok = bool(value) if value is not None and value == value else None
            text_limit = "required" if checked else "not required"
            text_value = "yes" if ok else ("no" if ok is not None else "n/a")
        else:
            checked = limit is not None
            v = float(value) if value is not None else np.nan
            text_value = fmt(v, 4)
            if not checked:
                ok, text_limit = None, "–"
            elif kind == "range":
                ok = bool(limit[0] <= v <= limit[1]) if np.isfinite(v) else None
                text_limit = f"{fmt(limit[0], 4)} – {fmt(limit[1], 4)}"
            elif kind == "max":
                ok = bool(v <= limit) if np.isfinite(v) else None
                text_limit = f"≤ {fmt(limit, 4)}"
            else:
                ok = bool(v >= limit) if np.isfinite(v) else None
                text_limit = f"≥ {fmt(limit, 4)}"
        result = "not checked" if not checked else ("no value" if ok is None else ("pass" if ok else "FAIL"))
        out.append({"criterion": label, "unit": unit, "value": text_value, "limit": text_limit, "result": result})
    return pd.DataFrame(out)


_COLOURS = {"pass": "#d8f0d8", "FAIL": "#f6c9c4", "not checked": "#eeeeee", "no value": "#fbe7b5"}


def checklist_figure(table: pd.DataFrame, *, title: str = ""):
    """Return the checklist as a coloured table (green pass, red fail, grey not checked).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`checklist` output.
    title : str, optional
        Figure title (sample and verdict).

    Returns
    -------
    matplotlib.figure.Figure
    """
    colours = np.array([[_COLOURS[r]] * table.shape[1] for r in table["result"]], dtype=object)
    widths = {"batch": 0.14, "criterion": 0.34, "unit": 0.08, "value": 0.13, "limit": 0.17, "result": 0.12}
    return table_figure(table, title=title, colours=colours, col_widths=[widths.get(c, 0.12) for c in table.columns])
