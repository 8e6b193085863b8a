"""Electrode figures: τ, its three methods, a concentration field, the pore network, phases."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection

from batteryct.figures._base import AXES, PHASES, add_scale_bar, fmt, message_axes, new_figure


def _interval(row, key):
    v = float(row.get(key, np.nan))
    lo = float(row.get(f"{key}_ci_low", np.nan))
    hi = float(row.get(f"{key}_ci_high", np.nan))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return v, 0.0, 0.0
    return v, max(v - lo, 0.0), max(hi - v, 0.0)


def tortuosity_vs_porosity(transport: pd.DataFrame, *, exponents=(0.5, 1.0, 1.5)):
    """Return τ against porosity per axis with the 95 % intervals and Bruggeman curves ``τ = ε^(−α)``.

    Parameters
    ----------
    transport : pandas.DataFrame
        ``transport.parquet``: one row per electrode scan.
    exponents : sequence of float, optional
        α of the drawn curves (α = 0.5 is Bruggeman's spheres).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> t = pd.DataFrame({"sample": ["E"], "scan": ["a"], "porosity": [0.4],
    ...                   **{f"tortuosity_factor_{a}": [2.0] for a in "zyx"}})
    >>> len(tortuosity_vs_porosity(t).axes)
    3
    """
    fig = new_figure(9.0, 3.4)
    axes = fig.subplots(1, 3, sharey=True)
    eps = np.linspace(0.05, 0.95, 200)
    for ax, a in zip(axes, AXES):
        for alpha, ls in zip(exponents, (":", "--", "-.")):
            ax.plot(eps, eps ** (-alpha), color="0.5", ls=ls, lw=0.9, label=f"τ = ε^−{alpha:g}")
        for k, row in enumerate(transport.to_dict("records")):
            e, e_lo, e_hi = _interval(row, "porosity")
            t, t_lo, t_hi = _interval(row, f"tortuosity_factor_{a}")
            if not np.isfinite(t):
                ax.annotate(f"{row['sample']}/{row['scan']}: no path", (e, 1), fontsize=6, color="C3")
                continue
            ax.errorbar(
                [e],
                [t],
                xerr=[[e_lo], [e_hi]],
                yerr=[[t_lo], [t_hi]],
                fmt="o",
                ms=4,
                capsize=2,
                color=f"C{k % 10}",
                label=f"{row['sample']}/{row['scan']}",
            )
        ax.set_xlabel("porosity ε (transport box)")
        ax.set_title(f"{a} ({'through-plane' if a == 'z' else 'in-plane'})")
        ax.set_yscale("log")
        ax.set_xlim(0, 1)
    axes[0].set_ylabel("tortuosity factor τ = ε D_bulk / D_eff")
    axes[-1].legend(loc="upper right", frameon=False, fontsize=6)
    fig.suptitle("finite-volume tortuosity factor; bars: 95 % intervals from segmentation posterior samples")
    return fig


def method_comparison(transport: pd.DataFrame):
    """Return finite-volume, random-walk and pore-network τ side by side per scan and axis.

    Parameters
    ----------
    transport : pandas.DataFrame
        ``transport.parquet``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = transport.to_dict("records")
    fig = new_figure(9.0, 3.4)
    ax = fig.subplots()
    methods = (
        ("finite volume", "tortuosity_factor_{a}", "C0"),
        ("random walk", "random_walk_tortuosity_factor_{a}", "C1"),
        ("pore network", "network_tortuosity_factor_{a}", "C2"),
    )
    labels = []
    x = 0
    for row in rows:
        for a in AXES:
            for m, (name, key, colour) in enumerate(methods):
                k = key.format(a=a)
                if k not in row:
                    continue
                v, lo, hi = _interval(row, k)
                if np.isfinite(v):
                    ax.bar(
                        x + (m - 1) * 0.27,
                        v,
                        0.27,
                        yerr=[[lo], [hi]],
                        color=colour,
                        capsize=2,
                        label=name if x == 0 else None,
                    )
                else:
                    ax.text(x + (m - 1) * 0.27, 0.1, "∞", ha="center", fontsize=7, color=colour)
            labels.append(f"{row['sample']}/{row['scan']}\n{a}")
            x += 1
    ax.set_xticks(range(len(labels)), labels, fontsize=6)
    ax.set_ylabel("tortuosity factor τ")
    ax.set_title("τ by three methods (pore network: z only); bars: 95 % intervals")
    ax.legend(frameon=False)
    return fig


def concentration_slice(
    concentration: np.ndarray, pore: np.ndarray, voxel_size_um: float, *, tau: float, title: str = ""
):
    """Return an x-z slice of the steady concentration field of a τ solve along z.

    Parameters
    ----------
    concentration : ndarray, (z, x)
        Concentration (1 at the inlet z = 0, 0 at the outlet) on one plane; 0 outside the
        percolating pores.
    pore : ndarray of bool, (z, x)
        Pore phase on the plane.
    voxel_size_um : float
        Voxel size in µm.
    tau : float
        The τ of the solve.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> c = np.tile(np.linspace(1, 0, 6)[:, None], (1, 5))
    >>> len(concentration_slice(c, c > -1, 0.5, tau=1.0).axes)
    2
    """
    fig = new_figure(5.5, 4.2)
    ax = fig.subplots()
    shown = np.ma.masked_where(~pore, concentration)
    ax.imshow(~pore, cmap="Greys", vmin=0, vmax=1.6, interpolation="nearest")
    im = ax.imshow(shown, cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    fig.colorbar(im, ax=ax, label="normalised concentration c / c_inlet")
    ax.set_xlabel("x (voxels)")
    ax.set_ylabel("z (voxels): inlet c = 1 at the top, outlet c = 0 at the bottom")
    add_scale_bar(ax, voxel_size_um, pore.shape[1], colour="white")
    ax.set_title(f"{title}\nτ_z of this box {fmt(tau, 4)}; grey: solid, dark: pores not on a through path")
    return fig


def pore_network(nodes: pd.DataFrame, throats: pd.DataFrame, *, title: str = ""):
    """Return the pore network projected on the x-z plane, nodes sized by their radius.

    Parameters
    ----------
    nodes : pandas.DataFrame
        ``network_nodes``: ``node_id``, ``x_um``, ``z_um``, ``pore_radius_um``, ``coordination_number``.
    throats : pandas.DataFrame
        ``network_throats``: ``node_a``, ``node_b``.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(5.5, 4.6)
    ax = fig.subplots()
    if nodes.empty:
        message_axes(ax, "no pores")
        return fig
    pos = nodes.set_index("node_id")[["x_um", "z_um"]]
    a = pos.reindex(throats["node_a"]).to_numpy()
    b = pos.reindex(throats["node_b"]).to_numpy()
    ok = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    ax.add_collection(LineCollection(np.stack([a[ok], b[ok]], axis=1), colors="0.6", linewidths=0.6))
    r = nodes["pore_radius_um"].to_numpy(float)
    sc = ax.scatter(
        nodes["x_um"],
        nodes["z_um"],
        s=(r / max(np.nanmax(r), 1e-9)) ** 2 * 120 + 2,
        c=nodes["coordination_number"],
        cmap="plasma",
        edgecolors="k",
        linewidths=0.3,
    )
    fig.colorbar(sc, ax=ax, label="coordination number")
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("z (µm), through-plane")
    ax.invert_yaxis()
    ax.set_aspect("equal")
    ax.set_title(f"{title}\n{len(nodes)} pores, {len(throats)} throats; marker area ∝ pore radius²")
    return fig


def phase_fractions(transport: pd.DataFrame):
    """Return the phase volume fractions of each electrode scan with their 95 % intervals.

    Parameters
    ----------
    transport : pandas.DataFrame
        ``transport.parquet``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(6.5, 3.2)
    ax = fig.subplots()
    phases = (("porosity", PHASES[0]), ("active_fraction", PHASES[1]), ("binder_fraction", PHASES[3]))
    rows = transport.to_dict("records")
    for i, row in enumerate(rows):
        for j, (key, (name, colour)) in enumerate(phases):
            v, lo, hi = _interval(row, key)
            ax.bar(
                i + (j - 1) * 0.27, v, 0.27, yerr=[[lo], [hi]], color=colour, capsize=2, label=name if i == 0 else None
            )
            ax.text(i + (j - 1) * 0.27, v + hi + 0.01, fmt(v, 3), ha="center", fontsize=6)
    ax.set_xticks(range(len(rows)), [f"{r['sample']}/{r['scan']}" for r in rows])
    ax.set_ylabel("volume fraction of the transport box")
    ax.set_ylim(0, 1)
    ax.legend(frameon=False, ncols=3)
    ax.set_title("phase fractions; bars: 95 % intervals from segmentation posterior samples")
    return fig
