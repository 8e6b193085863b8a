"""Per-scan figures: slices with the segmentation, histogram, centre check, sinograms.

Orthogonal slices with the segmentation drawn in, the grey-value histogram with the
fitted classes, the centre-of-rotation check and the sinogram before/after ring correction.
"""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, Rectangle

from batteryct.figures._base import PHASES, add_scale_bar, fmt, new_figure, phase_overlay

_PLANES = (("xy", 0, ("x", "y")), ("xz", 1, ("x", "z")), ("yz", 2, ("y", "z")))


def _grey_limits(volume: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(volume[:: max(1, volume.shape[0] // 16)], (0.5, 99.5))
    return float(lo), float(hi if hi > lo else lo + 1.0)


def orthogonal_slices(
    volume: np.ndarray | None,
    labels: np.ndarray,
    voxel_size_um: float,
    *,
    transport_box: tuple | None = None,
    metrics_radius_px: float | None = None,
    title: str = "",
    alpha: float = 0.35,
):
    """Return the xy, xz and yz mid-slices with the segmentation drawn over the grey values.

    Parameters
    ----------
    volume : ndarray of float, (z, y, x), or None
        Reconstructed attenuation (1/µm); None for imported labels (phases drawn opaque).
    labels : ndarray of uint8, (z, y, x)
        Label codes (0 open pore, 1 active, 2 internal void, 3 carbon-binder).
    voxel_size_um : float
        Voxel size in µm (of the in-plane axes).
    transport_box : tuple of 3 slice, optional
        The box the transport metrics use, drawn as a dashed rectangle in every plane.
    metrics_radius_px : float, optional
        Radius of the cylinder the scan metrics use (voxels), drawn as a circle in xy.
    title : str, optional
        Figure title.
    alpha : float, optional
        Opacity of the phase colours over the grey values.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> labels = np.zeros((8, 10, 12), np.uint8); labels[2:6, 3:7, 4:9] = 1
    >>> fig = orthogonal_slices(None, labels, 0.5)
    >>> len(fig.axes)
    3
    """
    nz, ny, nx = labels.shape
    mid = (nz // 2, ny // 2, nx // 2)
    widths = [nx, nx, ny]
    fig = new_figure(9.0, 3.6)
    axes = fig.subplots(1, 3, width_ratios=widths)
    if volume is not None:
        lo, hi = _grey_limits(volume)
    for ax, (name, axis, (h_name, v_name)) in zip(axes, _PLANES):
        index = [slice(None)] * 3
        index[axis] = mid[axis]
        lab = labels[tuple(index)]
        if volume is not None:
            ax.imshow(volume[tuple(index)], cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
            over = phase_overlay(lab)
            over[..., 3] *= alpha
            ax.imshow(over, interpolation="nearest")
        else:
            rgba = phase_overlay(lab)
            rgba[lab == 0] = (0.9, 0.93, 1.0, 1.0)
            ax.imshow(rgba, interpolation="nearest")
        if transport_box is not None:
            b = transport_box
            if name == "xy":
                rect = (b[2], b[1])
            elif name == "xz":
                rect = (b[2], b[0])
            else:
                rect = (b[1], b[0])
            h0, h1, _ = rect[0].indices(lab.shape[1])
            v0, v1, _ = rect[1].indices(lab.shape[0])
            ax.add_patch(
                Rectangle(
                    (h0 - 0.5, v0 - 0.5),
                    h1 - h0,
                    v1 - v0,
                    fill=False,
                    ec="cyan",
                    ls="--",
                    lw=1.2,
                )
            )
        if metrics_radius_px is not None and name == "xy":
            ax.add_patch(
                Circle(((nx - 1) / 2, (ny - 1) / 2), metrics_radius_px, fill=False, ec="magenta", ls=":", lw=1.2)
            )
        ax.set_title(f"{name} slice at {'zyx'[axis]} = {mid[axis]} ({fmt(mid[axis] * voxel_size_um, 3)} µm)")
        ax.set_xlabel(f"{h_name} (voxels)")
        ax.set_ylabel(f"{v_name} (voxels)")
        add_scale_bar(ax, voxel_size_um, lab.shape[1], colour="white" if volume is not None else "black")
    present = [int(c) for c in np.unique(labels) if int(c) in PHASES]
    handles = [
        Patch(fc="none", ec="0.5", label=f"{PHASES[c][0]} (uncoloured)")
        if c == 0 and volume is not None
        else Patch(color=(0.9, 0.93, 1.0) if c == 0 else PHASES[c][1], label=PHASES[c][0])
        for c in present
    ]
    if transport_box is not None:
        handles.append(Line2D([], [], color="cyan", ls="--", label="transport box"))
    if metrics_radius_px is not None:
        handles.append(Line2D([], [], color="magenta", ls=":", label="scan-metrics cylinder"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6), frameon=False)
    if title:
        fig.suptitle(title)
    return fig


def _gauss(x, mean, sd):
    return np.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))


def grey_histogram(
    values: np.ndarray,
    *,
    classes: list[tuple[str, float, float, float]],
    thresholds: list[float],
    title: str = "",
    bins: int = 160,
):
    """Return the grey-value histogram with the fitted phase classes and the thresholds.

    Parameters
    ----------
    values : ndarray of float
        Attenuation values (1/µm) inside the field of view.
    classes : list of (name, mean, sd, weight)
        Fitted classes: mean and standard deviation in 1/µm, weight = volume fraction.
    thresholds : list of float
        Thresholds between the classes (1/µm).
    title : str, optional
        Figure title.
    bins : int, optional
        Histogram bins.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> v = np.r_[rng.normal(0, 1, 500), rng.normal(5, 1, 500)]
    >>> fig = grey_histogram(v, classes=[("a", 0, 1, 0.5), ("b", 5, 1, 0.5)], thresholds=[2.5])
    >>> fig.axes[0].get_xlabel()
    'attenuation (1/µm)'
    """
    values = np.asarray(values, float).ravel()
    values = values[np.isfinite(values)]
    lo, hi = np.percentile(values, (0.05, 99.95))
    fig = new_figure(6.0, 3.4)
    ax = fig.subplots()
    counts, edges, _ = ax.hist(values, bins=bins, range=(lo, hi), density=True, color="0.7", label="voxels in the FOV")
    x = np.linspace(lo, hi, 600)
    colours = {"pore": PHASES[0][1], "binder": PHASES[3][1], "active": PHASES[1][1], "solid": PHASES[1][1]}
    total = np.zeros_like(x)
    for name, mean, sd, weight in classes:
        if not (np.isfinite(mean) and np.isfinite(sd) and sd > 0):
            continue
        y = weight * _gauss(x, mean, sd)
        total += y
        colour = colours.get(name.split()[0], None)
        ax.plot(
            x, y, color=colour, lw=1.4, label=f"{name}: {fmt(mean, 3)} ± {fmt(sd, 2)} 1/µm, {fmt(100 * weight, 3)} %"
        )
    if len(classes) > 1:
        ax.plot(x, total, color="k", lw=0.8, ls="--", label="sum of classes")
    for t in thresholds:
        ax.axvline(t, color="k", lw=1.0, ls=":")
        ax.text(t, ax.get_ylim()[1] * 0.97, f" {fmt(t, 3)}", rotation=90, va="top", ha="right", fontsize=7)
    ax.set_xlabel("attenuation (1/µm)")
    ax.set_ylabel("probability density (µm)")
    ax.set_yscale("symlog", linthresh=max(counts.max() * 1e-3, 1e-12))
    ax.legend(loc="upper right", frameon=False)
    if title:
        ax.set_title(title)
    return fig


def center_check(
    line_integrals_row: np.ndarray,
    theta_rad: np.ndarray,
    *,
    center_used_px: float,
    center_vo_px: float,
    center_phase_correlation_px: float,
    tolerance_px: float,
    pair: tuple[int, int],
    title: str = "",
):
    """Return the centre-of-rotation check: the 0°/180° pair and the two estimates.

    Parameters
    ----------
    line_integrals_row : ndarray, (n_projections, n_columns)
        Sinogram of one detector row (line integrals).
    theta_rad : ndarray, (n_projections,)
        Angles in radians.
    center_used_px, center_vo_px, center_phase_correlation_px : float
        The centre used, Vo's estimate and the phase-correlation estimate (detector column, px).
    tolerance_px : float
        Largest accepted difference between the two estimates (px).
    pair : (int, int)
        Indices of the two projections about 180° apart.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The projection at ``theta + 180°`` is the mirror image of the one at ``theta`` about the
    rotation axis: mirrored about the right centre ``c`` (column ``u -> 2c - u``) the two
    profiles coincide; a wrong centre shifts them by twice the error.

    Examples
    --------
    >>> theta = np.linspace(0, np.pi, 5)
    >>> sino = np.tile(np.exp(-0.5 * ((np.arange(20) - 9.5) / 2) ** 2), (5, 1))
    >>> fig = center_check(sino, theta, center_used_px=9.5, center_vo_px=9.5,
    ...                    center_phase_correlation_px=9.6, tolerance_px=0.5, pair=(0, 4))
    >>> len(fig.axes)
    2
    """
    sino = np.asarray(line_integrals_row, float)
    n_cols = sino.shape[1]
    u = np.arange(n_cols, dtype=float)
    i, j = pair
    fig = new_figure(8.5, 3.4)
    ax, bx = fig.subplots(1, 2, width_ratios=(2.2, 1))
    ax.plot(u, sino[i], color="k", lw=1.2, label=f"{np.degrees(theta_rad[i]):.1f}°")
    for c, colour, ls, name in (
        (center_used_px, "C3", "--", "used"),
        (center_phase_correlation_px, "C1", "-.", "phase correlation"),
    ):
        mirrored = np.interp(2 * c - u, u, sino[j], left=np.nan, right=np.nan)
        label = f"{np.degrees(theta_rad[j]):.1f}° mirrored about {fmt(c, 5)} px ({name})"
        ax.plot(u, mirrored, color=colour, lw=1.0, ls=ls, label=label)
    wrong = center_used_px + 2.0
    ax.plot(
        u,
        np.interp(2 * wrong - u, u, sino[j], left=np.nan, right=np.nan),
        color="0.6",
        lw=0.8,
        ls=":",
        label=f"mirrored about {fmt(wrong, 5)} px (2 px off, for comparison)",
    )
    ax.set_xlabel("detector column (px)")
    ax.set_ylabel("line integral (−ln T)")
    ax.set_title("opposite projections of the middle row")
    ax.legend(loc="upper right", frameon=False, fontsize=6)
    estimates = [
        ("Vo (Fourier)", center_vo_px),
        ("phase corr. 0°/180°", center_phase_correlation_px),
        ("used", center_used_px),
    ]
    ys = np.arange(len(estimates))
    bx.errorbar(
        [center_vo_px],
        [0],
        xerr=[[tolerance_px], [tolerance_px]],
        fmt="o",
        color="C0",
        capsize=3,
        label=f"± tolerance {fmt(tolerance_px, 2)} px",
    )
    bx.plot([center_phase_correlation_px], [1], "s", color="C1")
    bx.plot([center_used_px], [2], "D", color="C3")
    bx.set_yticks(ys, [f"{n}\n{fmt(v, 5)} px" for n, v in estimates])
    bx.set_ylim(-0.7, len(estimates) - 0.3)
    diff = center_vo_px - center_phase_correlation_px
    ok = abs(diff) <= tolerance_px
    bx.set_title(f"difference {fmt(diff, 3)} px: {'agree' if ok else 'DISAGREE'}", color="k" if ok else "C3")
    bx.set_xlabel("rotation-axis column (px)")
    bx.legend(loc="lower right", frameon=False, fontsize=6)
    if title:
        fig.suptitle(title)
    return fig


def sinogram_rings(before: np.ndarray, after: np.ndarray, theta_rad: np.ndarray, *, title: str = ""):
    """Return one detector row's sinogram before and after ring correction and the change.

    Parameters
    ----------
    before, after : ndarray, (n_projections, n_columns)
        Line integrals of one row before and after the ring filter.
    theta_rad : ndarray
        Angles in radians.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> s = np.ones((6, 8)); fig = sinogram_rings(s, s, np.linspace(0, np.pi, 6))
    >>> len(fig.axes)
    5
    """
    before = np.asarray(before, float)
    after = np.asarray(after, float)
    change = after - before
    lo, hi = np.percentile(before, (0.5, 99.5))
    extent = (-0.5, before.shape[1] - 0.5, np.degrees(theta_rad[-1]), np.degrees(theta_rad[0]))
    fig = new_figure(9.0, 3.4)
    axes = fig.subplots(1, 3)
    for ax, image, name in ((axes[0], before, "before"), (axes[1], after, "after ring correction")):
        im = ax.imshow(image, cmap="gray", vmin=lo, vmax=hi, aspect="auto", extent=extent, interpolation="nearest")
        ax.set_title(name)
        ax.set_xlabel("detector column (px)")
        ax.set_ylabel("angle (°)")
    fig.colorbar(im, ax=axes[1], label="line integral (−ln T)", shrink=0.9)
    m = float(np.max(np.abs(change))) or 1.0
    im = axes[2].imshow(change, cmap="RdBu_r", vmin=-m, vmax=m, aspect="auto", extent=extent, interpolation="nearest")
    n_cols = int(np.count_nonzero(np.any(change != 0, axis=0)))
    axes[2].set_title(f"after − before ({n_cols} columns changed)")
    axes[2].set_xlabel("detector column (px)")
    fig.colorbar(im, ax=axes[2], label="correction", shrink=0.9)
    if title:
        fig.suptitle(title)
    return fig
