"""A self-contained HTML report of a campaign: tables and images in one file.

:func:`render_html` builds the page; :func:`slice_preview` the preview images
(written with :func:`batteryct.io.write_png`).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

LABEL_COLOURS = np.array([[235, 235, 235], [40, 70, 160], [220, 50, 40], [240, 170, 30], [0, 0, 0]], np.uint8)


def to_uint8(image: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """Scale an image to 0..255 between two percentiles of its finite values.

    Parameters
    ----------
    image : ndarray
        Any real image; NaN is shown as the low end.
    low, high : float, optional
        Percentiles (0..100) mapped to 0 and 255.

    Returns
    -------
    ndarray, uint8, same shape
        Scaled image (all 0 if nothing is finite).
    """
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return np.zeros(image.shape, np.uint8)
    lo, hi = np.percentile(finite, [low, high])
    scaled = (np.nan_to_num(image, nan=lo) - lo) / (hi - lo if hi > lo else 1.0)
    return np.clip(np.round(scaled * 255), 0, 255).astype(np.uint8)


def slice_preview(volume: np.ndarray | None, labels: np.ndarray, z: int | None = None) -> np.ndarray:
    """Return an RGB image of a z slice of the volume (grey) beside its labels (colours).

    Parameters
    ----------
    volume : ndarray, (z, y, x), or None
        Reconstructed volume; None shows the labels only.
    labels : ndarray of int, (z, y, x)
        Labels 0..3 (:mod:`batteryct.segment`; larger values are shown as 4).
    z : int, optional
        Slice index; default the middle slice.

    Returns
    -------
    ndarray, uint8, (y, 2 x + 4, 3) or (y, x, 3)
        The image.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.zeros((4, 8, 8), np.uint8)
    >>> slice_preview(np.ones((4, 8, 8)), labels).shape
    (8, 20, 3)
    """
    z = labels.shape[0] // 2 if z is None else z
    lab = LABEL_COLOURS[np.clip(labels[z], 0, len(LABEL_COLOURS) - 1)]
    if volume is None:
        return lab
    grey = np.repeat(to_uint8(volume[z])[..., None], 3, axis=2)
    gap = np.full((lab.shape[0], 4, 3), 255, np.uint8)
    return np.concatenate([grey, gap, lab], axis=1)


def _img_tag(path: Path) -> str:
    """Return an ``<img>`` tag holding the PNG file at ``path`` inline (base64)."""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(Path(path).name)}">'


def header_tooltip(unit: str, description: str) -> str:
    """Return the tooltip of a table header: the description and the unit.

    Examples
    --------
    >>> header_tooltip("µm", "Voxel edge length.")
    'Voxel edge length. [µm]'
    >>> header_tooltip("", "Sample name.")
    'Sample name.'
    """
    return f"{description} [{unit}]" if unit else description


def _table_html(table: pd.DataFrame, dictionary: pd.DataFrame | None) -> str:
    """Return ``table`` as HTML, each header with a ``title=`` tooltip from ``dictionary``."""
    out = table.to_html(index=False, float_format=lambda x: f"{x:.4g}", na_rep="–")
    if dictionary is None:
        return out
    info = {r.column: header_tooltip(r.unit, r.description) for r in dictionary.itertuples()}
    head, sep, body = out.partition("</thead>")
    pos, parts = 0, []
    for column in table.columns:
        tag = f"<th>{html.escape(str(column), quote=False)}</th>"
        i = head.find(tag, pos)
        if i < 0 or not info.get(column):
            continue
        parts.append(head[pos:i] + f'<th title="{html.escape(info[column])}">' + tag[4:])
        pos = i + len(tag)
    return "".join(parts) + head[pos:] + sep + body


def render_dictionary_html(dictionary: pd.DataFrame) -> str:
    """Render the data dictionary as one self-contained HTML page.

    Parameters
    ----------
    dictionary : DataFrame
        Columns ``table``, ``column``, ``unit``, ``description``.

    Returns
    -------
    str
        The HTML document: one table per campaign table.

    Examples
    --------
    >>> d = pd.DataFrame({"table": ["psd"], "column": ["d32_um"], "unit": ["µm"], "description": ["Sauter."]})
    >>> "<td>d32_um</td>" in render_dictionary_html(d)
    True
    """
    tables = {name: group.drop(columns="table") for name, group in dictionary.groupby("table", sort=False)}
    return render_html(
        "batteryct data dictionary",
        tables,
        {},
        notes="Every column of every campaign table with its unit (1: dimensionless; blank: identifier, "
        "flag or text) and description, as stored in each parquet file's field metadata "
        "(batteryct.io.read_column_dictionary). Intervals *_ci_low/_ci_high of the transport metrics come "
        "from label volumes drawn from the segmentation posteriors; those of the fits from each fit's "
        "covariance or bootstrap, as each description says.",
    )


def suspicious_values(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """List the values of the campaign tables a reader should check before trusting them.

    The checks: the two centre-of-rotation estimates disagree
    (``center_estimates_disagree``); a KS p-value at its Monte-Carlo floor
    (``ks_pvalue_at_floor``: the lognormal is rejected at any level the replicates
    resolve); a sphericity above 1 (impossible for a closed surface: a surface-area
    error); an infinite tortuosity factor (the pores do not percolate along that axis).

    Parameters
    ----------
    tables : dict of str to DataFrame
        Table name -> table, as the report shows them.

    Returns
    -------
    DataFrame
        ``table``, ``sample``, ``scan``, ``column``, ``value`` (as text) and ``check``
        (what is suspicious), one row per flagged value; no rows when nothing is.

    Examples
    --------
    >>> t = pd.DataFrame({"sample": ["P1", "P2"], "ks_pvalue": [0.000999, 0.4],
    ...                   "ks_pvalue_at_floor": [True, False]})
    >>> suspicious_values({"psd": t})[["sample", "column", "value"]].values.tolist()
    [['P1', 'ks_pvalue', '0.000999']]
    """
    from . import runlog

    rows = []

    def add(name, row, column, value, check):
        rows.append(
            {
                "table": name,
                "sample": str(row.get("sample", "")),
                "scan": str(row.get("scan", "")),
                "column": column,
                "value": runlog.number(value),
                "check": check,
            }
        )

    for name, table in tables.items():
        for _, row in table.iterrows():
            if bool(row.get("center_estimates_disagree", False)):
                add(name, row, "center_px", row.get("center_px"), str(row.get("center_warning", "")))
            if bool(row.get("ks_pvalue_at_floor", False)):
                add(
                    name,
                    row,
                    "ks_pvalue",
                    row.get("ks_pvalue"),
                    "KS p-value at its Monte-Carlo floor: the lognormal is rejected at any level the replicates "
                    "resolve; the true p-value may be far lower",
                )
            for column, value in row.items():
                if not isinstance(value, (int, float, np.number)) or isinstance(value, (bool, np.bool_)):
                    continue
                if "sphericity" in str(column) and np.isfinite(value) and value > 1.0 + 1e-9:
                    add(name, row, column, value, "a sphericity above 1 is impossible: surface area too low")
                if str(column).startswith("tortuosity_factor_") and np.isinf(value):
                    add(name, row, column, value, "the pores do not percolate along this axis")
    return pd.DataFrame(rows, columns=["table", "sample", "scan", "column", "value", "check"])


def render_html(
    title: str,
    tables: dict[str, pd.DataFrame],
    images: dict[str, Path],
    notes: str = "",
    dictionaries: dict[str, pd.DataFrame] | None = None,
) -> str:
    """Render one HTML page with every table and image.

    Parameters
    ----------
    title : str
        Page title and heading.
    tables : dict of str to DataFrame
        Heading -> table; numbers are shown to 4 significant digits, NaN as "–".
    images : dict of str to pathlib.Path
        Caption -> PNG file, embedded inline (base64), so the page is self-contained.
    notes : str, optional
        A paragraph under the title.
    dictionaries : dict of str to DataFrame, optional
        Heading -> the table's data dictionary (``column``, ``unit``, ``description``, as
        :func:`batteryct.io.read_column_dictionary` returns it): each column header gets a
        tooltip with the description and unit.

    Returns
    -------
    str
        The HTML document.
    """
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}th[title]{cursor:help}"
        ".scroll{overflow-x:auto;max-width:100%}"
        "img{min-width:256px;max-width:100%;image-rendering:pixelated;border:1px solid #ccc}"
        "figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if notes:
        parts.append(f"<p>{html.escape(notes)}</p>")
    for name, table in tables.items():
        parts.append(f"<h2>{html.escape(name)}</h2>")
        if table.empty:
            parts.append("<p>(empty)</p>")
        else:
            dictionary = (dictionaries or {}).get(name)
            parts.append('<div class="scroll">' + _table_html(table, dictionary) + "</div>")
    if images:
        parts.append("<h2>Images</h2>")
        for caption, path in images.items():
            parts.append(f"<figure>{_img_tag(path)}<figcaption>{html.escape(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
