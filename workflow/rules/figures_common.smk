# Figure paths, report registration and input functions of figures.smk.

FIG = "results/figures"


def figure(path, caption, category, subcategory, **labels):
    """A report-registered figure output."""
    return report(
        path,
        caption=f"../report/{caption}.rst",
        category=category,
        subcategory=subcategory,
        labels=labels,
    )


@lru_cache(maxsize=None)  # called per figure job; the sheets do not change once loaded
def projection_scan_keys():
    """Scans reconstructed here (they have projections: centre and sinogram figures)."""
    return tuple((s, c) for s, c in scan_keys() if not is_labels_scan(s, c) and not is_volume_scan(s, c))


def powder_scan_keys():
    """Particle scans of powder samples (gallery, PSD, shape figures)."""
    return [(s, c) for s, c in particle_scan_keys() if SAMPLE_KINDS[s] == "powder"]


def segmentation_figure_input(wildcards):
    return {
        "labels": f"results/segmentations/{wildcards.sample}/{wildcards.scan}.h5",
        "volume": volume_input(wildcards),
    }


def campaign_figure_outputs(stage):
    """Figures of one stage aggregate: {name: path} for the tables this campaign has."""
    out = {}
    if stage == "powders":
        if powder_scan_keys():
            out["table1"] = f"{FIG}/powders/table1.png"
            out["acceptance"] = f"{FIG}/powders/acceptance.png"
    elif stage == "electrodes":
        if transport_scan_keys():
            out.update(
                {
                    n: f"{FIG}/electrodes/{n}.png"
                    for n in ("tortuosity_porosity", "tortuosity_methods", "phase_fractions")
                }
            )
    elif stage == "validation":
        if simulated_scan_keys():
            out["scans"] = f"{FIG}/validation/scans.png"
            out["error_maps"] = f"{FIG}/validation/error_maps.png"
        if simulated_particle_scan_keys():
            out["particles"] = f"{FIG}/validation/particles.png"
        if simulated_transport_scan_keys():
            out["transport"] = f"{FIG}/validation/transport.png"
        if simulated_electrochem_keys() or config.get("simulate", {}).get("calendering"):
            out["fits"] = f"{FIG}/validation/fits.png"
    elif stage == "fits":
        out.update({f"gitt_{s}_{m}": f"{FIG}/fits/gitt_{s}_{m}.png" for s, m in electrochem_keys("gitt")})
        out.update({f"eis_{s}_{m}": f"{FIG}/fits/eis_{s}_{m}.png" for s, m in electrochem_keys("eis")})
        if electrochem_keys("gitt"):
            out["arrhenius"] = f"{FIG}/fits/arrhenius.png"
        if config.get("calendering"):
            out["calendering"] = f"{FIG}/fits/calendering.png"
    return out


CATEGORY = {"powders": "Powders", "electrodes": "Electrodes", "validation": "Validation", "fits": "Fits"}


def campaign_report_outputs(stage):
    """The stage's figures registered for the report (caption file = stage_name); the fit
    figures of one record go under its sample, labelled with the measurement."""
    records = {f"{t}_{s}_{m}": (t, s, m) for t in ("gitt", "eis") for s, m in electrochem_keys(t)}
    out = []
    for name, path in campaign_figure_outputs(stage).items():
        if stage == "fits" and name in records:
            kind, sample, measurement = records[name]
            out.append(figure(path, f"fits_{kind}", "Fits", sample, figure=kind.upper(), measurement=measurement))
        else:
            out.append(figure(path, f"{stage}_{name}", CATEGORY[stage], "campaign", figure=name.replace("_", " ")))
    return out


def campaign_figure_inputs(stage):
    def inputs(wildcards):
        if stage == "powders":
            return {
                "particles": "results/tables/particles.parquet",
                "voids": "results/tables/voids.parquet",
                "acceptance": "results/tables/acceptance.parquet",
            }
        if stage == "electrodes":
            return {"transport": "results/tables/transport.parquet"}
        if stage == "validation":
            out = {}
            if simulated_scan_keys():
                out["validation"] = "results/tables/validation.parquet"
                out["truth"] = [f"results/simulated/{s}/{c}/truth.h5" for s, c in simulated_scan_keys()]
                out["labels"] = [f"results/segmentations/{s}/{c}.h5" for s, c in simulated_scan_keys()]
            if simulated_particle_scan_keys():
                out["particles"] = "results/tables/particle_validation.parquet"
            if simulated_transport_scan_keys():
                out["transport"] = "results/tables/transport_validation.parquet"
            if "fits" in campaign_figure_outputs("validation"):
                out["fits"] = "results/tables/fits_validation.parquet"
            return out
        out = {
            "gitt_traces": [f"results/fits/gitt/{s}/{m}_trace.parquet" for s, m in electrochem_keys("gitt")],
            "gitt_pulses": gitt_fit_tables("_pulses"),
            "gitt_summaries": gitt_fit_tables(""),
            "eis_spectra": [f"results/fits/eis/{s}/{m}_spectrum.parquet" for s, m in electrochem_keys("eis")],
            "eis_drt": eis_fit_tables("_drt"),
            "eis_summaries": eis_fit_tables(""),
        }
        if electrochem_keys("gitt"):
            out["diffusivity"] = "results/fits/diffusivity.parquet"
            out["arrhenius"] = "results/fits/arrhenius.parquet"
        if config.get("calendering"):
            out["calendering"] = "results/fits/calendering.parquet"
            out["calendering_samples"] = "results/fits/calendering_samples.parquet"
        return out

    return inputs


def figure_targets():
    """Every report figure of this campaign (all_targets adds them to rule all)."""
    out = [f"{FIG}/{s}/{c}/{n}.png" for s, c in projection_scan_keys() for n in SCAN_FIGURES]
    projected = set(projection_scan_keys())
    out += [f"{FIG}/{s}/{c}/overlay.png" for s, c in scan_keys() if (s, c) not in projected]
    out += [f"{FIG}/{s}/mosaic.png" for s in mosaic_samples()]
    out += [f"{FIG}/{s}/{c}/{n}.png" for s, c in powder_scan_keys() for n in POWDER_FIGURES]
    out += [f"{FIG}/{s}/{c}/{n}.png" for s, c in transport_scan_keys() for n in ELECTRODE_FIGURES]
    for stage in CATEGORY:
        out += list(campaign_figure_outputs(stage).values())
    return out


SCAN_FIGURES = ("slices", "histogram", "center", "sinogram")
POWDER_FIGURES = ("gallery", "psd", "radii", "shape", "stereology")
ELECTRODE_FIGURES = ("concentration", "network")
