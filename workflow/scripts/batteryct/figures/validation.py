"""Validation figures: measured against truth, Dice, error maps, fitted parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from batteryct.figures._base import add_scale_bar, fmt, message_axes, new_figure


def _parity(ax, truth, measured, names, *, low=None, high=None, tolerance=None, relative=False, label=""):
    truth = np.asarray(truth, float)
    measured = np.asarray(measured, float)
    ok = np.isfinite(truth) & np.isfinite(measured)
    if not ok.any():
        message_axes(ax, f"{label}: no values")
        return
    lo = min(truth[ok].min(), measured[ok].min())
    hi = max(truth[ok].max(), measured[ok].max())
    pad = 0.08 * (hi - lo or abs(hi) or 1.0)
    x = np.linspace(lo - pad, hi + pad, 50)
    ax.plot(x, x, color="k", lw=0.8)
    if tolerance is not None:
        band = tolerance * np.abs(x) if relative else np.full_like(x, tolerance)
        what = f"± {fmt(100 * tolerance, 2)} %" if relative else f"± {fmt(tolerance, 3)}"
        ax.fill_between(x, x - band, x + band, color="C2", alpha=0.2, label=f"tolerance {what}")
    yerr = None
    if low is not None and high is not None:
        yerr = np.vstack(
            [np.clip(measured - np.asarray(low, float), 0, None), np.clip(np.asarray(high, float) - measured, 0, None)]
        )
        yerr = np.where(np.isfinite(yerr), yerr, 0.0)[:, ok]
    ax.errorbar(
        truth[ok], measured[ok], yerr=yerr, fmt="o", ms=4, capsize=2, color="C0", label="measured (95 % interval)"
    )
    for t, m, n in zip(truth[ok], measured[ok], np.asarray(names, object)[ok]):
        ax.annotate(str(n), (t, m), fontsize=5, xytext=(3, -6), textcoords="offset points")
    ax.set_xlabel(f"{label} truth")
    ax.set_ylabel(f"{label} measured")
    ax.set_xlim(x[0], x[-1])
    ax.legend(frameon=False, fontsize=6, loc="upper left")


def scan_validation(validation: pd.DataFrame, *, porosity_tolerance: float = 0.01, center_tolerance_px: float = 0.15):
    """Return porosity parity, centre error and Dice per phase of the simulated scans.

    Parameters
    ----------
    validation : pandas.DataFrame
        ``validation.parquet``.
    porosity_tolerance : float, optional
        Target on the absolute porosity error (the accuracy test's ±0.01).
    center_tolerance_px : float, optional
        Target on the centre error in pixels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(9.5, 3.4)
    ax, bx, cx = fig.subplots(1, 3)
    names = [f"{s}/{c}" for s, c in zip(validation["sample"], validation["scan"])]
    _parity(
        ax, validation["porosity_truth"], validation["porosity"], names, tolerance=porosity_tolerance, label="porosity"
    )
    ax.set_title("porosity (scan-metrics cylinder)")
    err = validation["center_error_px"].to_numpy(float)
    bx.barh(range(len(err)), err, color=["C0" if abs(e) <= center_tolerance_px else "C3" for e in err])
    bx.axvspan(-center_tolerance_px, center_tolerance_px, color="C2", alpha=0.2, label=f"± {center_tolerance_px:g} px")
    bx.set_yticks(range(len(err)), names, fontsize=6)
    bx.set_xlabel("centre of rotation error (px)")
    bx.legend(frameon=False, fontsize=6)
    bx.set_title("rotation centre")
    keys = [k for k in ("dice_solid", "dice_active", "dice_binder", "void_recall") if k in validation]
    width = 0.8 / max(len(keys), 1)
    for j, k in enumerate(keys):
        v = validation[k].to_numpy(float)
        cx.bar(
            np.arange(len(v)) + (j - (len(keys) - 1) / 2) * width, np.nan_to_num(v), width, label=k.replace("_", " ")
        )
    cx.set_xticks(range(len(names)), names, fontsize=6, rotation=30)
    cx.set_ylim(0, 1.05)
    cx.set_ylabel("Dice / recall")
    cx.legend(frameon=False, fontsize=6, loc="lower left")
    cx.set_title("segmentation overlap with the truth")
    return fig


def transport_validation(table: pd.DataFrame, *, relative_tolerance: float = 0.1):
    """Return measured against true transport metrics (relative errors with intervals).

    Parameters
    ----------
    table : pandas.DataFrame
        ``transport_validation.parquet``.
    relative_tolerance : float, optional
        Band drawn at ± this relative error.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(9.5, 0.9 + 0.16 * max(len(table), 4))
    ax = fig.subplots()
    if table.empty:
        message_axes(ax, "no virtual electrode")
        return fig
    truth = table["truth"].to_numpy(float)
    scale = np.where(np.abs(truth) > 0, np.abs(truth), 1.0)
    rel = (table["measured"].to_numpy(float) - truth) / scale
    lo = (table["ci_low"].to_numpy(float) - truth) / scale
    hi = (table["ci_high"].to_numpy(float) - truth) / scale
    y = np.arange(len(table))
    inside = table["truth_in_interval"].astype(bool).to_numpy()
    xerr = np.vstack([np.clip(rel - lo, 0, None), np.clip(hi - rel, 0, None)])
    xerr = np.where(np.isfinite(xerr), xerr, 0)
    ax.axvspan(
        -relative_tolerance, relative_tolerance, color="C2", alpha=0.2, label=f"± {100 * relative_tolerance:g} %"
    )
    for flag, colour, name in ((True, "C0", "truth inside the interval"), (False, "C3", "truth outside")):
        m = inside == flag
        ax.errorbar(rel[m], y[m], xerr=xerr[:, m], fmt="o", ms=3, capsize=2, color=colour, label=name)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, [f"{s}/{c} {m}" for s, c, m in zip(table["sample"], table["scan"], table["metric"])], fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("(measured − truth) / |truth| (same metric on the true phases, same box)")
    ax.legend(frameon=False, fontsize=6, loc="lower right")
    ax.set_title("transport metrics of the virtual electrodes against their truth")
    return fig


def particle_validation(table: pd.DataFrame, *, relative_tolerance: float = 0.05):
    """Return particle count, d50 and d32 against the truth.

    Parameters
    ----------
    table : pandas.DataFrame
        ``particle_validation.parquet``.
    relative_tolerance : float, optional
        Band drawn at ± this relative error.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(9.5, 3.2)
    axes = fig.subplots(1, 3)
    names = [f"{s}/{c}" for s, c in zip(table["sample"], table["scan"])]
    for ax, (m, t, label) in zip(
        axes,
        (
            ("n_particles", "n_particles_truth", "particle count"),
            ("d50_volume_um", "d50_volume_um_truth", "d50 (µm)"),
            ("d32_um", "d32_um_truth", "d32 (µm)"),
        ),
    ):
        _parity(ax, table[t], table[m], names, tolerance=relative_tolerance, relative=True, label=label)
    return fig


def error_maps(slices: list[tuple[str, np.ndarray, np.ndarray, float]]):
    """Return the error maps of several scans side by side.

    Parameters
    ----------
    slices : list of (name, labels2d, solid_truth2d, voxel_size_um)
        One entry per simulated scan.

    Returns
    -------
    matplotlib.figure.Figure
    """
    n = max(len(slices), 1)
    cols = min(n, 4)
    rows = int(np.ceil(n / cols))
    fig = new_figure(2.4 * cols + 0.4, 2.6 * rows + 0.5)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes:
        ax.set_axis_off()
    if not slices:
        message_axes(axes[0], "no simulated scans")
    for ax, (name, lab, truth, voxel) in zip(axes, slices):
        solid = np.isin(lab, (1, 3))
        rgb = np.ones(lab.shape + (3,))
        rgb[solid & truth] = (0.6, 0.6, 0.6)
        rgb[solid & ~truth] = (0.85, 0.15, 0.1)
        rgb[~solid & truth] = (0.1, 0.3, 0.9)
        ax.imshow(rgb, interpolation="nearest")
        add_scale_bar(ax, voxel, lab.shape[1], colour="black")
        fp = 100 * np.mean(~solid & truth)
        fs = 100 * np.mean(solid & ~truth)
        ax.set_title(f"{name}\nfalse pore {fmt(fp, 2)} %, false solid {fmt(fs, 2)} %", fontsize=7)
    fig.legend(
        handles=[
            Patch(color=(0.6, 0.6, 0.6), label="solid, correct"),
            Patch(color=(0.85, 0.15, 0.1), label="labelled solid, truly pore"),
            Patch(color=(0.1, 0.3, 0.9), label="labelled pore, truly solid"),
        ],
        loc="outside lower center",
        ncols=3,
        frameon=False,
    )
    fig.suptitle("mid-z slice: segmentation against the virtual scanner's phases")
    return fig


def fitted_parameters(table: pd.DataFrame):
    """Return every fitted parameter over its truth with the 95 % interval (forest plot).

    Parameters
    ----------
    table : pandas.DataFrame
        ``fits_validation.parquet``: ``stage``, ``subject``, ``parameter``, ``unit``, ``truth``,
        ``value``, ``ci_low``, ``ci_high``, ``inside_ci``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(9.5, 0.9 + 0.17 * max(len(table), 4))
    ax = fig.subplots()
    if table.empty:
        message_axes(ax, "no fitted parameters with a truth")
        return fig
    truth = table["truth"].to_numpy(float)
    scale = np.where(np.abs(truth) > 0, np.abs(truth), 1.0)
    v = table["value"].to_numpy(float) / scale
    lo = table["ci_low"].to_numpy(float) / scale
    hi = table["ci_high"].to_numpy(float) / scale
    y = np.arange(len(table))
    inside = table["inside_ci"].fillna(False).astype(bool).to_numpy()
    xerr = np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)])
    xerr = np.where(np.isfinite(xerr), xerr, 0)
    sign = np.sign(np.where(truth != 0, truth, 1.0))
    ax.axvline(1.0, color="k", lw=0.8, label="truth")
    for flag, colour, name in ((True, "C0", "truth inside the 95 % interval"), (False, "C3", "truth outside")):
        m = inside == flag
        ax.errorbar((v * sign)[m], y[m], xerr=xerr[:, m], fmt="o", ms=3, capsize=2, color=colour, label=name)
    ax.set_yticks(
        y,
        [
            f"{st}: {su} {p} ({u})"
            for st, su, p, u in zip(table["stage"], table["subject"], table["parameter"], table["unit"])
        ],
        fontsize=6,
    )
    ax.invert_yaxis()
    ax.set_xlabel("fitted value / true value")
    ax.legend(frameon=False, fontsize=6, loc="lower right")
    ax.set_title("model fits against the virtual cycler's and calender's truth")
    return fig
