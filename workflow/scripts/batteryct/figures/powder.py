"""Powder figures: particle gallery, size distributions, azimuthal radii, shape, stereology, Table 1.

Layout of the azimuth and Table 1 figures after Heenan et al. (2020), Figures 1-3 and Table 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patches import Patch
from matplotlib.ticker import ScalarFormatter
from scipy import ndimage

from batteryct.figures._base import add_scale_bar, fmt, message_axes, new_figure

AZIMUTHS_DEG = (0, 45, 90, 135, 180, 225, 270, 315)


def gallery_ids(particles: pd.DataFrame, n_random: int = 6, seed: int = 0) -> list[tuple[int, str]]:
    """Return the particles a gallery shows: the extremes, then random ones, with a caption each.

    Parameters
    ----------
    particles : pandas.DataFrame
        Particle table of one scan (``particle_id``, ``equivalent_diameter_um``,
        ``sphericity``, ``touches_border``).
    n_random : int, optional
        Random particles in addition to the extremes.
    seed : int, optional
        Seed of the random choice (fixed, so the gallery is the same in every run).

    Returns
    -------
    list of (int, str)
        ``(particle_id, caption)``.

    Examples
    --------
    >>> t = pd.DataFrame({"particle_id": [1, 2, 3], "equivalent_diameter_um": [3.0, 5.0, 4.0],
    ...                   "sphericity": [0.9, 0.8, 0.95], "touches_border": [False] * 3})
    >>> [i for i, _ in gallery_ids(t, n_random=1)]  # no particle left for a random pick
    [2, 1, 3, 2]
    """
    t = particles[~particles["touches_border"].astype(bool)]
    if t.empty:
        t = particles
    if t.empty:
        return []
    d = t["equivalent_diameter_um"].to_numpy(float)
    s = t["sphericity"].to_numpy(float)
    ids = t["particle_id"].to_numpy()
    out = [
        (int(ids[np.nanargmax(d)]), "largest"),
        (int(ids[np.nanargmin(d)]), "smallest"),
        (int(ids[np.nanargmax(s)]), "most spherical"),
        (int(ids[np.nanargmin(s)]), "least spherical"),
    ]
    rest = np.flatnonzero(~np.isin(ids, [i for i, _ in out]))  # random ones among the others
    rng = np.random.default_rng(seed)
    pick = rng.choice(rest, size=min(n_random, rest.size), replace=False)
    out += [(int(ids[i]), "random") for i in sorted(pick)]
    return out


def particle_gallery(instances, labels, particles: pd.DataFrame, voxel_size_um: float, *, title: str = ""):
    """Return central xy sections of selected particles, internal voids in red.

    Parameters
    ----------
    instances : ndarray of int, (z, y, x)
        Particle instance labels (0 background).
    labels : ndarray of uint8, (z, y, x)
        Segmentation (2 = internal void).
    particles : pandas.DataFrame
        Particle table of the scan (centroids in µm, sizes, sphericity, voids).
    voxel_size_um : float
        Voxel size in µm.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    chosen = gallery_ids(particles)
    n_cols = 5
    n_rows = max(1, int(np.ceil(len(chosen) / n_cols)))
    fig = new_figure(9.0, 2.0 * n_rows + 0.5)
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols)).ravel()
    rows = particles.set_index("particle_id")
    for ax in axes:
        ax.set_axis_off()
    if not chosen:
        message_axes(axes[0], "no particles")
    for ax, (pid, why) in zip(axes, chosen):
        r = rows.loc[pid]
        z = int(np.clip(round(r["centroid_z_um"] / voxel_size_um), 0, instances.shape[0] - 1))
        mask = instances[z] == pid
        if not mask.any():  # a non-convex particle may miss its centroid plane
            z = int(np.argmax((instances == pid).sum(axis=(1, 2))))
            mask = instances[z] == pid
        yy, xx = np.nonzero(mask)
        pad = 2
        y0, y1 = max(yy.min() - pad, 0), min(yy.max() + pad + 1, mask.shape[0])
        x0, x1 = max(xx.min() - pad, 0), min(xx.max() + pad + 1, mask.shape[1])
        crop = mask[y0:y1, x0:x1]
        # only the voids inside this particle's outline, not those of a neighbour in the crop
        void = (labels[z, y0:y1, x0:x1] == 2) & ndimage.binary_fill_holes(crop)
        rgb = np.ones(crop.shape + (3,))
        rgb[crop] = (0.55, 0.55, 0.6)
        rgb[void] = (0.85, 0.1, 0.1)
        ax.imshow(rgb, interpolation="nearest")
        add_scale_bar(ax, voxel_size_um, crop.shape[1], colour="black")
        ax.set_title(
            f"#{pid} {why}\nd {fmt(r['equivalent_diameter_um'], 3)} µm, Ψ {fmt(r['sphericity'], 3)}, "
            f"{int(r['n_internal_voids'])} voids",
            fontsize=7,
        )
    fig.legend(
        handles=[
            Patch(color=(0.55, 0.55, 0.6), label="particle"),
            Patch(color=(0.85, 0.1, 0.1), label="internal void"),
        ],
        loc="outside lower center",
        ncols=2,
        frameon=False,
    )
    if title:
        fig.suptitle(title)
    return fig


def _lognormal_pdf(d, mu, sigma):
    d = np.asarray(d, float)
    return np.exp(-((np.log(d) - mu) ** 2) / (2 * sigma**2)) / (d * sigma * np.sqrt(2 * np.pi))


def size_distributions(diameters_um: np.ndarray, psd: dict, *, title: str = ""):
    """Return number- and volume-weighted size histograms with cumulative curves and the lognormal fit.

    Parameters
    ----------
    diameters_um : ndarray of float
        Equivalent diameters (µm) of the particles the PSD used.
    psd : dict
        The sample's ``psd.parquet`` row (``d10_number_um`` ... ``d90_volume_um``,
        ``lognormal_mu``, ``lognormal_sigma``, ``ks_pvalue``).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> d = np.random.default_rng(0).lognormal(1.5, 0.3, 200)
    >>> row = {"lognormal_mu": 1.5, "lognormal_sigma": 0.3}
    >>> len(size_distributions(d, row).axes)
    4
    """
    d = np.sort(np.asarray(diameters_um, float))
    d = d[np.isfinite(d) & (d > 0)]
    fig = new_figure(9.0, 3.6)
    axes = fig.subplots(1, 2)
    for ax, weight_name, key in ((axes[0], "number", "number"), (axes[1], "volume", "volume")):
        if d.size == 0:
            message_axes(ax, "no particles")
            continue
        w = np.ones_like(d) if key == "number" else d**3
        bins = np.geomspace(d.min() * 0.95, d.max() * 1.05, max(6, min(30, int(np.sqrt(d.size)) + 2)))
        ax.hist(
            d,
            bins=bins,
            weights=w / w.sum() / np.diff(np.log(bins)).mean(),
            color="0.75",
            label=f"{weight_name}-weighted",
        )
        mu, sigma = psd.get("lognormal_mu", np.nan), psd.get("lognormal_sigma", np.nan)
        if np.isfinite(mu) and np.isfinite(sigma) and sigma > 0:
            x = np.geomspace(bins[0], bins[-1], 300)
            # per ln d: number density d f(d); the volume-weighted lognormal has mu + 3 sigma^2
            shift = 0.0 if key == "number" else 3 * sigma**2
            ax.plot(
                x,
                x * _lognormal_pdf(x, mu + shift, sigma),
                color="C0",
                lw=1.4,
                label=f"lognormal ML fit (σ {fmt(sigma, 3)})",
            )
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(ScalarFormatter())
        ax.set_xlabel("equivalent diameter d (µm)")
        ax.set_ylabel("fraction per unit ln d")
        cx = ax.twinx()
        cx.step(d, np.cumsum(w) / w.sum(), where="post", color="k", lw=1.0, label="cumulative")
        cx.set_ylim(0, 1.02)
        cx.set_ylabel("cumulative fraction")
        for q, ls in (("10", ":"), ("50", "--"), ("90", ":")):
            v = psd.get(f"d{q}_{key}_um", np.nan)
            if np.isfinite(v):
                ax.axvline(v, color="C3", ls=ls, lw=1.0)
                ax.text(
                    v, 0.98, f" d{q} {fmt(v, 3)}", transform=ax.get_xaxis_transform(), rotation=90, va="top", fontsize=6
                )
        ax.set_title(f"{weight_name}-weighted, n = {d.size}")
        ax.legend(loc="upper left", frameon=False)
    if title:
        p = psd.get("ks_pvalue", np.nan)
        note = psd.get("warning") or ""
        # at the Monte-Carlo floor the p-value is an upper bound
        p_text = f"≤ {fmt(p, 3)} (Monte-Carlo floor)" if psd.get("ks_pvalue_at_floor", False) else fmt(p, 3)
        fig.suptitle(f"{title}: KS p-value of the lognormal fit {p_text}" + (f"\n{note}" if note else ""))
    return fig


def azimuth_radii(particles: pd.DataFrame, *, n_particles: int = 3, title: str = ""):
    """Return the radii at 8 azimuths in xy, xz and yz of a few particles (polar plots).

    Parameters
    ----------
    particles : pandas.DataFrame
        Particle table with ``radius_{plane}_{azimuth:03d}_um`` columns.
    n_particles : int, optional
        Particles shown: those nearest the 10th, 50th and 90th size percentile.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    t = particles[~particles["touches_border"].astype(bool)]
    t = t if len(t) else particles
    fig = new_figure(9.0, 3.4)
    planes = ("xy", "xz", "yz")
    axes = [fig.add_subplot(1, 3, i + 1, projection="polar") for i in range(3)]
    if t.empty:
        message_axes(axes[0], "no particles")
        return fig
    d = t["equivalent_diameter_um"].to_numpy(float)
    picks = []
    for q in np.linspace(10, 90, n_particles):
        i = int(np.nanargmin(np.abs(d - np.nanpercentile(d, q))))
        if i not in picks:
            picks.append(i)
    theta = np.radians(np.r_[AZIMUTHS_DEG, AZIMUTHS_DEG[0]])
    for ax, plane in zip(axes, planes):
        for k, i in enumerate(picks):
            row = t.iloc[i]
            r = np.array([row[f"radius_{plane}_{a:03d}_um"] for a in AZIMUTHS_DEG], float)
            ax.plot(
                theta,
                np.r_[r, r[0]],
                "o-",
                ms=3,
                lw=1.0,
                color=f"C{k}",
                label=f"#{int(row['particle_id'])} (d {fmt(row['equivalent_diameter_um'], 3)} µm)",
            )
        ax.set_title(f"{plane} plane: radius (µm) at 8 azimuths", fontsize=7)
        ax.set_xticks(np.radians(AZIMUTHS_DEG))
    axes[0].legend(loc="lower left", bbox_to_anchor=(-0.25, -0.25), frameon=False, fontsize=6)
    if title:
        fig.suptitle(title)
    return fig


def shape_scatter(particles: pd.DataFrame, voids: pd.DataFrame, *, title: str = ""):
    """Return roughness and sphericity against diameter (particles and internal voids).

    Parameters
    ----------
    particles, voids : pandas.DataFrame
        Particle and void tables of the scan.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(9.0, 3.4)
    ax, bx = fig.subplots(1, 2)
    inner = particles[~particles["touches_border"].astype(bool)]
    edge = particles[particles["touches_border"].astype(bool)]
    for plane, colour in (("xy", "C0"), ("xz", "C1"), ("yz", "C2")):
        ax.plot(
            inner["equivalent_diameter_um"],
            inner[f"local_roughness_{plane}_um"],
            "o",
            ms=3,
            color=colour,
            alpha=0.7,
            label=f"{plane}",
        )
    ax.set_xlabel("equivalent diameter (µm)")
    ax.set_ylabel("local roughness (µm)")
    ax.set_title("roughness of the 8-azimuth radius profile")
    ax.legend(frameon=False, title="plane")
    bx.plot(
        inner["equivalent_diameter_um"], inner["sphericity"], "o", ms=3, color="0.3", label=f"particles ({len(inner)})"
    )
    if len(edge):
        bx.plot(
            edge["equivalent_diameter_um"],
            edge["sphericity"],
            "x",
            ms=3,
            color="0.6",
            label=f"cut by the border ({len(edge)})",
        )
    if len(voids):
        bx.plot(
            voids["equivalent_diameter_um"],
            voids["sphericity"],
            "o",
            ms=3,
            color="C3",
            mfc="none",
            label=f"internal voids ({len(voids)})",
        )
        n_above = int(np.sum(voids["sphericity"].to_numpy(float) > 1))
        if n_above:
            bx.text(
                0.02, 0.02, f"{n_above} voids with Ψ > 1 (suspicious)", transform=bx.transAxes, color="C3", fontsize=7
            )
    bx.axhline(1.0, color="k", lw=0.8, ls="--")
    bx.set_xlabel("equivalent diameter (µm)")
    bx.set_ylabel("sphericity Ψ = π^(1/3) (6V)^(2/3) / A")
    bx.set_xscale("log")
    bx.legend(frameon=False, fontsize=6)
    if title:
        fig.suptitle(title)
    return fig


def stereology(section_diameters_um: np.ndarray, diameters_3d_um: np.ndarray, psd: dict, *, title: str = ""):
    """Return 2D-section diameters against 3D equivalent diameters.

    Parameters
    ----------
    section_diameters_um : ndarray
        Equivalent-circle diameters of the particle sections in the analysed planes (µm).
    diameters_3d_um : ndarray
        3D equivalent diameters (µm).
    psd : dict
        The sample's PSD row (``stereology_mean_diameter_um``, ``mean_diameter_3d_um``).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(6.0, 3.4)
    ax = fig.subplots()
    d2 = np.asarray(section_diameters_um, float)
    d3 = np.asarray(diameters_3d_um, float)
    both = np.r_[d2, d3]
    both = both[np.isfinite(both) & (both > 0)]
    if both.size == 0:
        message_axes(ax, "no particles")
        return fig
    bins = np.linspace(0, both.max() * 1.05, 25)
    ax.hist(
        d2,
        bins=bins,
        density=True,
        alpha=0.5,
        color="C0",
        label=f"2D sections (n = {d2.size}), mean {fmt(np.mean(d2), 3)} µm",
    )
    ax.hist(
        d3,
        bins=bins,
        density=True,
        alpha=0.5,
        color="C3",
        label=f"3D particles (n = {d3.size}), mean {fmt(np.mean(d3), 3)} µm",
    )
    est = psd.get("stereology_mean_diameter_um", np.nan)
    if np.isfinite(est):
        ax.axvline(est, color="C0", ls="--", label=f"3D mean from the sections (Schwartz-Saltykov) {fmt(est, 3)} µm")
    m3 = psd.get("mean_diameter_3d_um", np.nan)
    if np.isfinite(m3):
        ax.axvline(m3, color="C3", ls="--", label=f"3D mean {fmt(m3, 3)} µm")
    ax.set_xlabel("diameter (µm)")
    ax.set_ylabel("probability density (1/µm)")
    ax.legend(frameon=False, fontsize=6)
    if title:
        rel = psd.get("stereology_relative_error", np.nan)
        ax.set_title(f"{title}: relative error of the section estimate {fmt(rel, 3)}")
    return fig


TABLE1_ROWS = (
    ("particle volume", "µm³", "particles", "volume_um3"),
    ("particle surface area", "µm²", "particles", "surface_area_um2"),
    ("particle sphericity", "–", "particles", "sphericity"),
    ("particle SA:V", "1/µm", "particles", "sa_to_v_per_um"),
    ("particle equivalent diameter", "µm", "particles", "equivalent_diameter_um"),
    ("internal voids per particle", "–", "particles", "n_internal_voids"),
    ("dead volume fraction", "–", "particles", "dead_volume_fraction"),
    ("void volume", "µm³", "voids", "volume_um3"),
    ("void surface area", "µm²", "voids", "surface_area_um2"),
    ("void sphericity", "–", "voids", "sphericity"),
    ("void equivalent diameter", "µm", "voids", "equivalent_diameter_um"),
)


def table1_rows(particles: pd.DataFrame, voids: pd.DataFrame) -> pd.DataFrame:
    """Return Table 1 of Heenan et al. (2020): metric, unit and mean ± SD (n) per sample.

    Particles cut by the field of view are left out, as in the PSD.

    Parameters
    ----------
    particles, voids : pandas.DataFrame
        Campaign particle and void tables.

    Returns
    -------
    pandas.DataFrame
        Columns ``metric``, ``unit`` and one string column per sample.

    Examples
    --------
    >>> p = pd.DataFrame({"sample": ["A", "A"], "touches_border": [False, False], "volume_um3": [1.0, 3.0]})
    >>> t = table1_rows(p.assign(**{c: 1.0 for _, _, k, c in TABLE1_ROWS if k == "particles" and c != "volume_um3"}),
    ...                 pd.DataFrame(columns=["sample", "host_particle_id"]))
    >>> t.loc[0, "A"]
    '2.000 ± 1.414 (n = 2)'
    """
    inner = particles[~particles["touches_border"].astype(bool)]
    samples = list(dict.fromkeys(particles["sample"]))
    out = []
    for metric, unit, source, column in TABLE1_ROWS:
        table = inner if source == "particles" else voids
        row = {"metric": metric, "unit": unit}
        for s in samples:
            v = table.loc[table["sample"] == s, column].to_numpy(float) if column in table else np.array([])
            v = v[np.isfinite(v)]
            row[s] = (
                f"{fmt(v.mean(), 4)} ± {fmt(v.std(ddof=1), 4)} (n = {v.size})"
                if v.size > 1
                else (f"{fmt(v[0], 4)} (n = 1)" if v.size else "–")
            )
        out.append(row)
    return pd.DataFrame(out)


def table_figure(table: pd.DataFrame, *, title: str = "", colours: np.ndarray | None = None, col_widths=None):
    """Return a table drawn as a figure (for the report, printable, no sideways scrolling).

    Parameters
    ----------
    table : pandas.DataFrame
        Cells as text (anything is formatted with ``str``).
    title : str, optional
        Figure title.
    colours : ndarray of colours, (n_rows, n_cols), optional
        Cell background colours.
    col_widths : sequence of float, optional
        Relative column widths.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = table_figure(pd.DataFrame({"a": ["1"], "b": ["2"]}))
    >>> len(fig.axes)
    1
    """
    n_rows, n_cols = table.shape
    width = min(11.0, 1.6 + 1.9 * n_cols)
    fig = new_figure(width, 0.6 + 0.24 * (n_rows + 1))
    ax = fig.subplots()
    ax.set_axis_off()
    cells = [[str(v) for v in row] for row in table.to_numpy()]
    tab = ax.table(
        cellText=cells,
        colLabels=[str(c) for c in table.columns],
        cellColours=None if colours is None else colours,
        loc="upper center",
        cellLoc="left",
        colLoc="left",
        colWidths=col_widths,
    )
    tab.auto_set_font_size(False)
    tab.set_fontsize(7)
    tab.scale(1, 1.25)
    for (r, _), cell in tab.get_celld().items():
        if r == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("0.9")
    if title:
        ax.set_title(title)
    return fig
