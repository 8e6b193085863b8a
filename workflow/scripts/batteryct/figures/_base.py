"""Shared pieces of the report figures: a pyplot-free figure, phase colours, scale bars."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
from matplotlib.figure import Figure

# No pyplot and no GUI: every figure is an Agg-rendered Figure object, so figure jobs need
# no display and keep no global state between figures.
matplotlib.use("Agg")
matplotlib.rcParams.update(
    {
        "font.size": 8,
        "axes.titlesize": 8,
        "axes.labelsize": 8,
        "legend.fontsize": 7,
        "xtick.labelsize": 7,
        "ytick.labelsize": 7,
        "svg.hashsalt": "batteryct",  # fixed ids should SVG ever be written
        "path.simplify": True,
    }
)

#: label code -> (name, colour) of the segmentation phases (batteryct.label_codes).
PHASES = {
    0: ("open pore", "#4c72b0"),
    1: ("active", "#dd5c50"),
    2: ("internal void", "#f2c12e"),
    3: ("carbon-binder", "#55a868"),
}
AXES = ("z", "y", "x")
AXIS_COLOURS = {"z": "#1f77b4", "y": "#ff7f0e", "x": "#2ca02c"}


def new_figure(width_in: float, height_in: float) -> Figure:
    """Return an empty constrained-layout figure of ``width_in`` x ``height_in`` inches.

    Parameters
    ----------
    width_in, height_in : float
        Size in inches.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> new_figure(3, 2).get_size_inches().tolist()
    [3.0, 2.0]
    """
    return Figure(figsize=(width_in, height_in), layout="constrained")


def nice_length(length: float) -> float:
    """Return the 1-2-5 number at most ``length`` (the length of a scale bar).

    Parameters
    ----------
    length : float
        Upper bound (> 0).

    Returns
    -------
    float

    Examples
    --------
    >>> nice_length(7.3), nice_length(0.42), nice_length(20.0)
    (5.0, 0.2, 20.0)
    """
    exponent = math.floor(math.log10(length))
    for step in (5.0, 2.0, 1.0):
        value = step * 10.0**exponent
        if value <= length * (1 + 1e-12):
            return float(f"{value:.12g}")
    return float(f"{10.0**exponent:.12g}")


def add_scale_bar(ax, pixel_size_um: float, width_px: int, *, colour: str = "white") -> float:
    """Draw a µm scale bar of about a fifth of the image width in the lower left corner.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes showing an image with pixel coordinates (``imshow`` default extent).
    pixel_size_um : float
        Pixel size along the image's horizontal axis in µm.
    width_px : int
        Image width in pixels.
    colour : str, optional
        Bar and text colour.

    Returns
    -------
    float
        The bar length in µm.
    """
    length_um = nice_length(0.2 * width_px * pixel_size_um)
    length_px = length_um / pixel_size_um
    y0, y1 = ax.get_ylim()
    height = abs(y0 - y1)
    x = 0.05 * width_px
    y = max(y0, y1) - 0.07 * height
    ax.plot([x, x + length_px], [y, y], color=colour, lw=3, solid_capstyle="butt")
    ax.text(
        x + length_px / 2, y - 0.03 * height, f"{length_um:g} µm", color=colour, ha="center", va="bottom", fontsize=7
    )
    return length_um


def phase_overlay(labels2d: np.ndarray) -> np.ndarray:
    """Return an RGBA image colouring each phase of a label slice (open pore transparent).

    Parameters
    ----------
    labels2d : ndarray of int, (ny, nx)
        Label codes (see :data:`PHASES`).

    Returns
    -------
    ndarray of float, (ny, nx, 4)

    Examples
    --------
    >>> phase_overlay(np.array([[0, 1]]))[0, :, 3].tolist()
    [0.0, 1.0]
    """
    from matplotlib.colors import to_rgba

    out = np.zeros(labels2d.shape + (4,))
    for code, (_, colour) in PHASES.items():
        if code == 0:
            continue
        out[labels2d == code] = to_rgba(colour)
    return out


def fmt(value, digits: int = 4) -> str:
    """Format a number to ``digits`` significant figures for figure text.

    Plain decimals between 0.001 and 10^6, otherwise ``m×10ⁿ``; nan reads "n/a".

    Parameters
    ----------
    value : float or int
        The number.
    digits : int, optional
        Significant figures.

    Returns
    -------
    str

    Examples
    --------
    >>> fmt(11881.3), fmt(0.44312), fmt(2.5536e-5), fmt(float("nan")), fmt(3)
    ('11881', '0.4431', '2.554×10⁻⁵', 'n/a', '3')
    """
    if value is None:
        return "n/a"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if not math.isfinite(value):
        return "n/a" if math.isnan(value) else ("∞" if value > 0 else "-∞")
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    if -3 <= exponent < 6:
        return f"{value:.{max(digits - 1 - exponent, 0)}f}"
    mantissa, power = f"{value:.{digits - 1}e}".split("e")
    return f"{mantissa}×10{str(int(power)).translate(_SUPERSCRIPT)}"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def message_axes(ax, text: str) -> None:
    """Replace an axes' content by a centred note (a panel whose data this campaign lacks).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes.
    text : str
        The note.
    """
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True, fontsize=8, color="0.3")
