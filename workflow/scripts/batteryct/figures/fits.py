"""Model-fit figures: data, fitted model, residuals and parameter intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from batteryct.figures._base import fmt, message_axes, new_figure


def gitt_record(trace: pd.DataFrame, pulses: pd.DataFrame, summary: dict, *, title: str = ""):
    """Return a GITT record with the full fit, its residuals and D per pulse with intervals.

    Parameters
    ----------
    trace : pandas.DataFrame
        ``time_s``, ``voltage_V`` (measured) and ``model_voltage_V`` at the fit's time nodes.
    pulses : pandas.DataFrame
        Per-pulse table (``stoichiometry``, ``D_wh_m2_s``, ``D_wh_sphere_m2_s``,
        ``D_fit_m2_s``, ``D_fit_ci_low_m2_s``, ``D_fit_ci_high_m2_s``).
    summary : dict
        The record's ``diffusivity.parquet`` row.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(9.5, 5.0)
    grid = fig.add_gridspec(2, 2, height_ratios=(2.2, 1), width_ratios=(2, 1))
    ax = fig.add_subplot(grid[0, 0])
    rx = fig.add_subplot(grid[1, 0], sharex=ax)
    dx = fig.add_subplot(grid[:, 1])
    t_h = trace["time_s"].to_numpy(float) / 3600
    ax.plot(t_h, trace["voltage_V"], "o", ms=2, color="0.3", label="measured (fit nodes)")
    ax.plot(t_h, trace["model_voltage_V"], "-", lw=1.0, color="C3", label="full fit (particle-size ensemble)")
    ax.set_ylabel("cell voltage (V)")
    ax.legend(frameon=False, fontsize=6)
    res_mV = 1e3 * (trace["voltage_V"].to_numpy(float) - trace["model_voltage_V"].to_numpy(float))
    rx.plot(t_h, res_mV, ".", ms=2, color="C0")
    rx.axhline(0, color="k", lw=0.8)
    rx.set_xlabel("time (h)")
    rx.set_ylabel("residual (mV)")
    rx.set_title(f"rms {fmt(summary.get('rmse_mV'), 3)} mV", fontsize=7)
    x = pulses["stoichiometry"].to_numpy(float)
    dx.plot(x, pulses["D_wh_m2_s"], "s", ms=3, color="C1", label="Weppner-Huggins")
    dx.plot(x, pulses["D_wh_sphere_m2_s"], "^", ms=3, color="C2", label="sphere-corrected")
    d = pulses["D_fit_m2_s"].to_numpy(float)
    lo = pulses["D_fit_ci_low_m2_s"].to_numpy(float)
    hi = pulses["D_fit_ci_high_m2_s"].to_numpy(float)
    if np.isfinite(d).any():
        err = np.vstack([np.clip(d - lo, 0, None), np.clip(hi - d, 0, None)])
        dx.errorbar(
            x, d, yerr=np.where(np.isfinite(err), err, 0), fmt="o", ms=3, capsize=2, color="C3", label="full fit, 95 %"
        )
    D = summary.get("D_fit_m2_s", np.nan)
    if np.isfinite(D):
        dx.axhspan(
            summary.get("D_fit_with_size_ci_low_m2_s", D),
            summary.get("D_fit_with_size_ci_high_m2_s", D),
            color="C3",
            alpha=0.15,
            label="record D, 95 % with CT size error",
        )
        dx.axhline(D, color="C3", lw=0.8)
    dx.set_yscale("log")
    dx.set_xlabel("stoichiometry")
    dx.set_ylabel("solid diffusivity D (m²/s)")
    dx.legend(frameon=False, fontsize=6)
    dx.set_title(f"D = {fmt(D, 3)} m²/s", fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def eis_spectrum(spectrum: pd.DataFrame, drt: pd.DataFrame, summary: dict, *, title: str = ""):
    """Return a spectrum with its DRT and Kramers-Kronig fits, the residuals and the DRT.

    Parameters
    ----------
    spectrum : pandas.DataFrame
        ``frequency_Hz``, ``z_real_ohm``, ``z_imag_ohm`` and the fits ``drt_z_real_ohm``,
        ``drt_z_imag_ohm``, ``kk_residual_real``, ``kk_residual_imag``, ``drt_residual_real``,
        ``drt_residual_imag``.
    drt : pandas.DataFrame
        ``tau_s``, ``gamma_ohm``, ``density_ohm``, ``is_peak``.
    summary : dict
        The spectrum's ``eis_psd.parquet`` row.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(9.5, 5.0)
    grid = fig.add_gridspec(2, 2)
    ax = fig.add_subplot(grid[:, 0])
    rx = fig.add_subplot(grid[0, 1])
    gx = fig.add_subplot(grid[1, 1])
    ax.plot(spectrum["z_real_ohm"], -spectrum["z_imag_ohm"], "o", ms=3, color="0.3", mfc="none", label="measured")
    ax.plot(
        spectrum["drt_z_real_ohm"],
        -spectrum["drt_z_imag_ohm"],
        "-",
        color="C3",
        lw=1.0,
        label=f"DRT fit (λ {fmt(summary.get('drt_lambda'), 2)}, GCV)",
    )
    ax.set_xlabel("Z' (Ω)")
    ax.set_ylabel("−Z'' (Ω)")
    ax.legend(frameon=False, fontsize=6)
    f = spectrum["frequency_Hz"].to_numpy(float)
    for key, colour, name in (("kk", "C0", "Kramers-Kronig"), ("drt", "C3", "DRT")):
        rx.plot(f, 100 * spectrum[f"{key}_residual_real"], "-", color=colour, lw=0.9, label=f"{name} Z'")
        rx.plot(f, 100 * spectrum[f"{key}_residual_imag"], "--", color=colour, lw=0.9, label=f"{name} Z''")
    rx.axhline(0, color="k", lw=0.6)
    rx.set_xscale("log")
    rx.set_xlabel("frequency (Hz)")
    rx.set_ylabel("residual / |Z| (%)")
    rx.legend(frameon=False, fontsize=6, ncols=2)
    valid = summary.get("kk_valid")
    rx.set_title(
        f"KK max residual {fmt(100 * summary.get('kk_max_residual', np.nan), 3)} %: "
        f"{'valid' if valid else 'NOT valid'}",
        fontsize=7,
    )
    gx.semilogx(drt["tau_s"], drt["density_ohm"], color="C3", lw=1.0)
    peaks = drt[drt["is_peak"].astype(bool)]
    gx.plot(
        peaks["tau_s"],
        peaks["density_ohm"],
        "v",
        color="k",
        ms=4,
        label=f"{len(peaks)} peak{'s' if len(peaks) != 1 else ''}",
    )
    gx.set_xlabel("relaxation time τ (s)")
    gx.set_ylabel("γ per ln τ (Ω)")
    gx.legend(frameon=False, fontsize=6)
    d50 = summary.get("lognormal_d50_um", np.nan)
    gx.set_title(
        f"lognormal size fit d50 {fmt(d50, 3)} µm [{fmt(summary.get('lognormal_d50_ci_low_um'), 3)}, "
        f"{fmt(summary.get('lognormal_d50_ci_high_um'), 3)}] vs CT {fmt(summary.get('ct_d50_volume_um'), 3)} µm",
        fontsize=7,
    )
    if title:
        fig.suptitle(title)
    return fig


def arrhenius(diffusivity: pd.DataFrame, fits: pd.DataFrame):
    """Return D against 1000/T per sample with the Arrhenius fit.

    Parameters
    ----------
    diffusivity : pandas.DataFrame
        ``diffusivity.parquet``.
    fits : pandas.DataFrame
        ``arrhenius.parquet``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(5.5, 3.8)
    ax = fig.subplots()
    if diffusivity.empty:
        message_axes(ax, "no GITT records")
        return fig
    fit_rows = {r["sample"]: r for r in fits.to_dict("records")} if "sample" in fits else {}
    for k, (sample, g) in enumerate(diffusivity.groupby("sample", sort=True)):
        x = 1000.0 / g["temperature_K"].to_numpy(float)
        d = g["D_fit_m2_s"].to_numpy(float)
        lo = g["D_fit_ci_low_m2_s"].to_numpy(float)
        hi = g["D_fit_ci_high_m2_s"].to_numpy(float)
        ax.errorbar(
            x,
            d,
            yerr=np.vstack([d - lo, hi - d]),
            fmt="o",
            ms=4,
            capsize=2,
            color=f"C{k}",
            label=f"{sample} GITT full fit",
        )
        r = fit_rows.get(sample)
        ea = None if r is None else r.get("activation_energy_kJ_mol")
        if ea is not None and np.isfinite(ea):
            xs = np.linspace(x.min() * 0.98, x.max() * 1.02, 50)
            t_ref = float(r.get("reference_temperature_K", 298.15))
            d_ref = float(r["D_ref_m2_s"])
            ax.plot(
                xs,
                d_ref * np.exp(-ea * 1e3 / 8.314462618 * (xs / 1000 - 1 / t_ref)),
                color=f"C{k}",
                lw=1.0,
                label=f"E_a {fmt(ea, 3)} kJ/mol [{fmt(r.get('activation_energy_ci_low_kJ_mol'), 3)}, "
                f"{fmt(r.get('activation_energy_ci_high_kJ_mol'), 3)}]",
            )
    ax.set_yscale("log")
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel("D (m²/s)")
    ax.legend(frameon=False, fontsize=6)
    if not fit_rows:
        ax.set_title("no sample with GITT at three or more temperatures: no Arrhenius fit", fontsize=7)
    return fig


def _param(fits, series, model, name):
    hit = fits[(fits["series"] == series) & (fits["model"] == model) & (fits["parameter"] == name)]
    return float(hit["value"].iloc[0]) if len(hit) else np.nan


def calendering(samples: pd.DataFrame, fits: pd.DataFrame):
    """Return porosity against nip pressure with the compaction laws, and every parameter's interval.

    Parameters
    ----------
    samples : pandas.DataFrame
        ``calendering_samples.parquet`` (``series``, ``peak_pressure_MPa``, ``porosity``,
        ``porosity_stderr``).
    fits : pandas.DataFrame
        ``calendering.parquet`` (``series``, ``model``, ``parameter``, ``value``, ``ci_low``,
        ``ci_high``, ``unit``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from batteryct.calendering import compaction  # here: the package takes ~0.8 s to import

    fig = new_figure(9.5, 0.9 + max(3.4, 0.17 * len(fits)))
    ax, px = fig.subplots(1, 2, width_ratios=(1, 1.3))
    if samples.empty:
        message_axes(ax, "no calendering series")
    for k, (series, g) in enumerate(samples.groupby("series", sort=True)):
        p = g["peak_pressure_MPa"].to_numpy(float)
        e = g["porosity"].to_numpy(float)
        se = g["porosity_stderr"].to_numpy(float) if "porosity_stderr" in g else None
        ax.errorbar(
            p,
            e,
            yerr=None if se is None else 1.96 * np.nan_to_num(se),
            fmt="o",
            ms=4,
            capsize=2,
            color=f"C{k}",
            label=f"{series}",
        )
        ok = np.isfinite(p)
        if not ok.any():
            continue
        x = np.linspace(0, np.nanmax(p) * 1.05, 100)
        heckel = (_param(fits, series, "heckel", "heckel_K"), _param(fits, series, "heckel", "heckel_A"))
        if np.all(np.isfinite(heckel)):
            ax.plot(
                x,
                compaction.porosity_heckel(x, heckel_K=heckel[0], heckel_A=heckel[1]),
                "--",
                color=f"C{k}",
                lw=0.9,
                label="Heckel",
            )
        kaw = [_param(fits, series, "kawakita", n) for n in ("kawakita_a", "kawakita_b")]
        eps0 = _param(fits, series, "kawakita", "porosity_coated")
        if not np.isfinite(eps0) and "porosity_coated" in g:
            eps0 = float(np.nanmax(g["porosity_coated"]))
        if np.all(np.isfinite(kaw)) and np.isfinite(eps0):
            ax.plot(
                x,
                compaction.porosity_kawakita(x, kawakita_a=kaw[0], kawakita_b=kaw[1], porosity_coated=eps0),
                ":",
                color=f"C{k}",
                lw=0.9,
                label="Kawakita",
            )
    ax.set_xlabel("peak nip pressure (MPa)")
    ax.set_ylabel("porosity (from densities and loading)")
    ax.legend(frameon=False, fontsize=6)
    ax.set_title("compaction; bars: 95 % intervals", fontsize=7)
    if fits.empty:
        message_axes(px, "no fits")
        return fig
    v = fits["value"].to_numpy(float)
    scale = np.where(np.abs(v) > 0, np.abs(v), 1.0)
    lo = fits["ci_low"].to_numpy(float) / scale
    hi = fits["ci_high"].to_numpy(float) / scale
    y = np.arange(len(fits))
    rel = v / scale
    err = np.vstack([np.clip(rel - lo, 0, None), np.clip(hi - rel, 0, None)])
    px.errorbar(rel, y, xerr=np.where(np.isfinite(err), err, 0), fmt="o", ms=3, capsize=2, color="C0")
    px.set_yticks(
        y,
        [
            f"{s} {m}: {p} = {fmt(val, 3)} {u}"
            for s, m, p, val, u in zip(fits["series"], fits["model"], fits["parameter"], v, fits["unit"])
        ],
        fontsize=6,
    )
    px.invert_yaxis()
    px.axvline(1, color="k", lw=0.6)
    px.set_xlabel("95 % interval / |value|")
    px.set_title("fitted parameters with their 95 % intervals", fontsize=7)
    return fig
