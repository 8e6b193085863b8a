"""Rules powder_campaign_figures, electrode_campaign_figures, validation_figures, fits_figures:
the figures of one stage aggregate, from the campaign tables the pipeline wrote."""

import numpy as np
import pandas as pd

from batteryct import io, runlog
from batteryct.figures import acceptance, electrode, fits, powder, validation
from batteryct.io.figures import write_figure

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
stage = sm.params.stage
out = dict(sm.params.names)  # figure name -> output path


def table(key):
    return pd.read_parquet(sm.input[key])


if stage == "powders":
    particles, voids = table("particles"), table("voids")
    t1 = powder.table1_rows(particles, voids)
    write_figure(out["table1"], powder.table_figure(t1, title="Table 1: particle and void metrics, mean ± SD (n)"))
    accept = table("acceptance")
    rows = []
    for row in accept.to_dict("records"):
        check = acceptance.checklist(row, sm.params.acceptance)
        rows.append(check.assign(batch=row["sample"]))
        n_fail = int((check["result"] == "FAIL").sum())
        log.info(f"batch {row['sample']}: {'accepted' if row['accepted'] else 'rejected'}, {n_fail} criteria failed")
    checks = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["batch", "criterion", "result"])
    checks = checks[["batch"] + [c for c in checks.columns if c != "batch"]]
    verdicts = "\n".join(
        f"{r['sample']}: {'ACCEPTED' if r['accepted'] else 'REJECTED'} ({r['reasons']})"
        for r in accept.to_dict("records")
    )
    write_figure(
        out["acceptance"],
        acceptance.checklist_figure(checks, title=f"batch acceptance\n{verdicts or 'no powder batch'}"),
    )
elif stage == "electrodes":
    t = table("transport")
    write_figure(out["tortuosity_porosity"], electrode.tortuosity_vs_porosity(t))
    write_figure(out["tortuosity_methods"], electrode.method_comparison(t))
    write_figure(out["phase_fractions"], electrode.phase_fractions(t))
    log.info(f"electrode figures of {len(t)} scans")
elif stage == "validation":
    if "scans" in out:
        from batteryct import simulate  # the truth's phase codes (here: a second to import)

        v = table("validation")
        write_figure(out["scans"], validation.scan_validation(v))
        slices = []
        for truth_path, labels_path in zip(sm.input.truth, sm.input.labels):
            if runlog.read_failure(labels_path) is not None:
                continue
            labels, attrs = io.read_volume(labels_path, "labels")
            phase, _ = io.read_volume(truth_path, "phase")
            z = labels.shape[0] // 2
            # the truth is on the label grid (validate_scan compares them voxel by voxel)
            solid_truth = np.isin(phase[z * phase.shape[0] // labels.shape[0]], (simulate.ACTIVE, simulate.BINDER))
            voxel = io.voxel_size_um(attrs)
            name = f"{attrs.get('sample', '')}/{attrs.get('scan', '')}"
            slices.append((name, labels[z], solid_truth, float(voxel if np.isscalar(voxel) else voxel[-1])))
        write_figure(out["error_maps"], validation.error_maps(slices))
    if "particles" in out:
        write_figure(out["particles"], validation.particle_validation(table("particles")))
    if "transport" in out:
        write_figure(out["transport"], validation.transport_validation(table("transport")))
    if "fits" in out:
        write_figure(out["fits"], validation.fitted_parameters(table("fits")))
    log.info(f"validation figures: {', '.join(out)}")
else:  # fits
    for key, trace_path, pulses_path, summary_path in zip(
        sm.params.gitt, sm.input.gitt_traces, sm.input.gitt_pulses, sm.input.gitt_summaries
    ):
        summary = pd.read_parquet(summary_path).iloc[0].to_dict()
        fig = fits.gitt_record(
            pd.read_parquet(trace_path),
            pd.read_parquet(pulses_path),
            summary,
            title=f"GITT {summary['sample']} / {summary['measurement']} at {summary['temperature_K']:.1f} K",
        )
        write_figure(out[f"gitt_{key}"], fig)
    for key, spectrum_path, drt_path, summary_path in zip(
        sm.params.eis, sm.input.eis_spectra, sm.input.eis_drt, sm.input.eis_summaries
    ):
        summary = pd.read_parquet(summary_path).iloc[0].to_dict()
        fig = fits.eis_spectrum(
            pd.read_parquet(spectrum_path),
            pd.read_parquet(drt_path),
            summary,
            title=f"impedance {summary['sample']} / {summary['measurement']} at {summary['temperature_K']:.1f} K",
        )
        write_figure(out[f"eis_{key}"], fig)
    if "arrhenius" in out:
        write_figure(out["arrhenius"], fits.arrhenius(table("diffusivity"), table("arrhenius")))
    if "calendering" in out:
        write_figure(out["calendering"], fits.calendering(table("calendering_samples"), table("calendering")))
    log.info(f"fit figures: {', '.join(out)}")
