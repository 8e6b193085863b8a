"""Rule segment: attenuation volume → uint8 labels (0 open pore, 1 solid, 2 internal void, 3 binder)."""

import json

import numba

from batteryct import __version__, io, runlog, segment
from batteryct.provenance import params_hash

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
numba.set_num_threads(sm.threads)
scan = sm.params.scan
p = dict(sm.params.segment)
with runlog.scan_context(scan["sample"], scan["scan"], log, job=sm):
    volume, attrs = io.read_volume(sm.input.volume, "volume")
    voxel_um3 = attrs["voxel_size_um"] ** 3
    multiphase = scan["kind"] == "electrode"
    result = segment.segment_volume(
        volume,
        n_solid_phases=2 if multiphase else 1,
        return_posteriors=multiphase,
        denoise_method=p["denoise_method"],
        denoise_strength=p["denoise_strength"],
        min_solid_voxels=int(round(p["min_solid_volume_um3"] / voxel_um3)),
        min_pore_voxels=int(round(p["min_pore_volume_um3"] / voxel_um3)),
        fov_radius_fraction=p["fov_radius_fraction"],
        seed=p["seed"],
        # optional keys a campaign's config may leave out take the library's defaults
        **{k: p[k] for k in segment.CONFIG_OPTIONS if k in p},
        progress=runlog.Progress(log, f"{p['denoise_method']} denoising", "blocks"),
    )
    labels, info = result.labels, result.info
    if multiphase and info["gmm"]["binder_level_source"] == "prior":
        log.warning(
            "no carbon-binder plateau in the histogram: the binder level is the prior "
            f"({info['gmm']['means'][1]:.4g} /um) and the {info['label_counts']['3']} binder voxels "
            "rest on that assumption (a two-phase image?)"
        )
    datasets = {"labels": labels}
    if multiphase:
        # float16 posteriors of (pore, binder, active) beside the hard labels.
        datasets["posteriors"] = result.posteriors
    timings = info.pop("timings_s", {})  # logged, not stored: outputs stay byte-identical
    steps = ", ".join(f"{k.replace('_', ' ')} {runlog.number(t, 3)} s" for k, t in timings.items())
    log.info(f"time per step: {steps}")
    # Scalars as attributes; arrays and nested values (GMM means, thresholds) as JSON.
    out_attrs = {
        k: (v if isinstance(v, (int, float, str, bool)) else json.dumps(v, default=str))
        for k, v in info.items()
        if v is not None
    }
    out_attrs.update(
        voxel_size_um=attrs["voxel_size_um"],
        label_codes="0 open pore, 1 solid (active), 2 internal closed void, 3 carbon-binder",
        software_version=__version__,
        params_hash=params_hash(p),
        sample=scan["sample"],
        scan=scan["scan"],
    )
    if multiphase:
        out_attrs["posterior_class_codes"] = [int(c) for c in segment.CLASS_LABELS]
        out_attrs["posterior_classes"] = "pore, binder, active"
    io.write_volume(sm.output.labels, datasets, out_attrs)
    names = {"0": "open pore", "1": "solid", "2": "internal void", "3": "carbon-binder"}
    counts = info.get("label_counts", {})
    total = max(sum(counts.values()), 1)
    fractions = ", ".join(f"{names.get(str(k), k)} {runlog.number(n / total)}" for k, n in counts.items())
    log.info(
        f"segmented {'×'.join(map(str, labels.shape))} voxels; phase fractions in the field of view: {fractions} "
        f"(noise sigma {runlog.number(info.get('sigma', float('nan')))} 1/µm)"
    )
