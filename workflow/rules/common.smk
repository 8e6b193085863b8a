# Loads and validates the campaign sheets and holds the input functions.
from functools import lru_cache
from pathlib import Path

from snakemake.utils import validate

from batteryct.provenance import LibrarySnapshot
from batteryct.sheets import drop_demo_campaign, load_campaign_records, load_sheet_records, validate_config

# a campaign of one's own (its config names its samples sheet) does not inherit the demo's
# virtual scanner or model-fit sheets from config/config.yaml
for _key in drop_demo_campaign(config, workflow.config_settings.overwrite_config):
    logger.info(f"batteryct: the demo's '{_key}' section is not used: your config names its own samples sheet")
# every key checked before any job runs: unknown ones with the nearest valid name
validate_config(config, workflow.source_path("../schemas/config.schema.yaml"))
validate(config, "../schemas/config.schema.yaml")

# the sheets as plain dicts, sample -> row and (sample, scan) -> row: input functions run
# per job, and pandas (its import and a lookup per call) would cost more than the rest of
# the DAG build of a 50-scan campaign
SAMPLES, SCAN_ROWS, SCAN_PROBLEMS, (SAMPLE_COLUMNS, _) = load_campaign_records(
    config["samples"],
    config["scans"],
    workflow.source_path("../schemas/samples.schema.yaml"),
    workflow.source_path("../schemas/scans.schema.yaml"),
)
for _message in SCAN_PROBLEMS.values():
    logger.warning(f"batteryct: {_message} (that scan's job will fail)")
SAMPLE_KINDS = {s: row["kind"] for s, row in SAMPLES.items()}

ID = "[A-Za-z0-9][A-Za-z0-9_.-]*"
SCRIPTS = Path(workflow.basedir) / "workflow" / "scripts"
LIBRARY = LibrarySnapshot(SCRIPTS / "batteryct")


def script_code(script):
    """Hash of the library code ``workflow/scripts/{script}.py`` reaches, for ``params:``:
    editing a module reruns exactly the rules whose scripts import it (transitively)."""
    return LIBRARY.code_hash(SCRIPTS / f"{script}.py")


wildcard_constraints:
    sample=ID,
    scan=ID,


SIMULATED = {
    key: {**config["simulate"].get("defaults", {}), **spec}
    for key, spec in (config.get("simulate", {}).get("scans") or {}).items()
}
SIMULATED_OUTPUTS = {
    p for key in SIMULATED for p in (f"results/simulated/{key}/projections.h5", f"results/simulated/{key}/tiff")
}


def scan_keys():
    return list(SCAN_ROWS)


def simulation_spec(wildcards):
    key = f"{wildcards.sample}/{wildcards.scan}"
    if key not in SIMULATED:
        raise ValueError(f"no virtual-scanner entry simulate.scans[{key!r}] in the config")
    return SIMULATED[key]


def scan_row(wildcards):
    """The scan's sheet row, as a dict of column to value."""
    return SCAN_ROWS[(wildcards.sample, wildcards.scan)]


def projections_input(wildcards):
    """The scan's projections when they exist or a rule makes them.

    A missing file is not declared as input: the job then fails with a message naming
    the sample, scan and path, and other scans go on under --keep-going.
    """
    path = scan_row(wildcards).get("projections")
    if isinstance(path, str) and (path in SIMULATED_OUTPUTS or Path(path).exists()):
        return path
    return []


@lru_cache(maxsize=None)  # the sheets do not change once loaded; called per job and per key
def is_labels_scan(sample, scan):
    labels = SCAN_ROWS[(sample, scan)].get("labels")
    return isinstance(labels, str) and bool(labels)


def labels_input(wildcards):
    """An existing segmentation; scans with projections get a path no rule makes, so
    ruleorder falls back from import_labels to segment."""
    if not is_labels_scan(wildcards.sample, wildcards.scan):
        return f"<{wildcards.sample}/{wildcards.scan} has no labels column>"
    path = scan_row(wildcards)["labels"]
    return path.partition("::")[0] if Path(path.partition("::")[0]).exists() else []


@lru_cache(maxsize=None)  # called per scan by every figure input function
def is_volume_scan(sample, scan):
    """A scan given as an existing reconstruction (scans sheet column 'volume', e.g. a Zeiss .txm)."""
    volume = SCAN_ROWS[(sample, scan)].get("volume")
    return isinstance(volume, str) and bool(volume)


def volume_file_input(wildcards):
    """An existing reconstruction; other scans get a path no rule makes, so ruleorder falls
    back from import_volume to reconstruct."""
    if not is_volume_scan(wildcards.sample, wildcards.scan):
        return f"<{wildcards.sample}/{wildcards.scan} has no volume column>"
    path = scan_row(wildcards)["volume"].partition("::")[0]
    return path if Path(path).exists() else []


def volume_input(wildcards):
    """The reconstructed volume, for scans that have one."""
    if is_labels_scan(wildcards.sample, wildcards.scan):
        return []
    return f"results/volumes/{wildcards.sample}/{wildcards.scan}.h5"


def scan_params(wildcards):
    """Per-scan facts a job needs: sample kind, pixel size override, sheet problems."""
    row = scan_row(wildcards)
    pixel = row.get("pixel_size_um")
    text = lambda key: row.get(key) if isinstance(row.get(key), str) else None  # noqa: E731
    return {
        "sample": wildcards.sample,
        "scan": wildcards.scan,
        "projections": text("projections"),
        "labels": text("labels"),
        "volume": text("volume"),
        "phase_map": text("phase_map"),
        "pixel_size_um": list(pixel) if isinstance(pixel, tuple) else pixel,  # float, [dz, dy, dx] or None
        "kind": SAMPLE_KINDS.get(wildcards.sample),
        "problem": SCAN_PROBLEMS.get((wildcards.sample, wildcards.scan)),
    }


SIMULATED_MOSAICS = {
    sample: {**config["simulate"].get("mosaic_defaults", {}), **spec}
    for sample, spec in (config.get("simulate", {}).get("mosaics") or {}).items()
}
SIMULATED_OUTPUTS |= {
    p for s in SIMULATED_MOSAICS for p in (f"results/simulated/{s}/mosaic.h5", f"results/simulated/{s}/mosaic_tiff")
}


def mosaic_simulation_spec(wildcards):
    if wildcards.sample not in SIMULATED_MOSAICS:
        raise ValueError(f"no virtual-scanner entry simulate.mosaics[{wildcards.sample!r}] in the config")
    return SIMULATED_MOSAICS[wildcards.sample]


def mosaic_samples():
    return [s for s, row in SAMPLES.items() if isinstance(row.get("mosaic"), str) and row["mosaic"]]


def simulated_mosaic_samples():
    return [s for s in mosaic_samples() if s in SIMULATED_MOSAICS]


def mosaic_input(wildcards):
    """The sample's mosaic when it exists or a rule makes it (else the job reports it)."""
    path = SAMPLES[wildcards.sample]["mosaic"]
    if path in SIMULATED_OUTPUTS or Path(path).exists():
        return path
    return []


def mosaic_params(wildcards):
    return {"sample": wildcards.sample, "mosaic": SAMPLES[wildcards.sample]["mosaic"]}


def simulated_scan_keys():
    return list(_simulated_scan_keys())


@lru_cache(maxsize=None)
def _simulated_scan_keys():
    return tuple((s, c) for s, c in scan_keys() if f"{s}/{c}" in SIMULATED and not is_labels_scan(s, c))


def scan_keys_of_kinds(kinds):
    """Scans whose sample kind is one of ``kinds``."""
    return list(_scan_keys_of_kinds(frozenset(kinds)))


@lru_cache(maxsize=None)  # called by most rules' input functions; the sheets do not change
def _scan_keys_of_kinds(kinds):
    return tuple((s, c) for s, c in SCAN_ROWS if SAMPLE_KINDS.get(s) in kinds)


def particle_scan_keys():
    """Scans analysed particle by particle (config particles.kinds)."""
    return scan_keys_of_kinds(config["particles"]["kinds"])


def transport_scan_keys():
    """Scans that get transport metrics (config transport.kinds)."""
    return scan_keys_of_kinds(config["transport"]["kinds"])


def has_posteriors(sample, scan):
    """Segmented electrode scans store class posteriors (segment.py); imported labels do not."""
    return not is_labels_scan(sample, scan) and SAMPLE_KINDS.get(sample) == "electrode"


def transport_sample_inputs(wildcards):
    """The scan's posterior-sample tables, one per transport_sample job (none without
    posteriors or with 0 samples)."""
    if not has_posteriors(wildcards.sample, wildcards.scan):
        return []
    batches = job_model.sample_batches(
        config["transport"]["uncertainty_samples"], config["transport"].get("uncertainty_samples_per_job", 1)
    )
    folder = f"results/transport_samples/{wildcards.sample}/{wildcards.scan}"
    return [f"{folder}/samples_{first:03d}-{last:03d}.parquet" for first, last in batches]


def transport_params(*exclude):
    """The transport config without ``exclude`` keys, so changing e.g. the number of
    uncertainty samples does not rerun the value or the samples already made."""
    return {k: v for k, v in config["transport"].items() if k not in exclude}


def simulated_particle_scan_keys():
    return [k for k in particle_scan_keys() if k in set(simulated_scan_keys())]


def simulated_transport_scan_keys():
    """Virtual electrodes: their transport metrics are compared to those of their truth."""
    return [k for k in transport_scan_keys() if k in set(simulated_scan_keys())]


def sample_properties(wildcards=None):
    """Sample sheet columns the acceptance needs, as plain records."""
    cols = [c for c in ("sample", "kind", "material", "density_g_cm3") if c in SAMPLE_COLUMNS]
    return [{c: row[c] for c in cols} for row in SAMPLES.values()]


def report_tables():
    """Campaign tables the report shows (those of the stages this campaign has)."""
    tables = ["results/tables/scan_metrics.parquet"]
    if simulated_scan_keys():
        tables.append("results/tables/validation.parquet")
    if mosaic_samples():
        tables.append("results/tables/mosaics.parquet")
    if simulated_mosaic_samples():
        tables.append("results/tables/mosaic_validation.parquet")
    if particle_scan_keys() or transport_scan_keys():
        tables += ["results/tables/powder_summary.parquet", "results/tables/psd.parquet"]
    if particle_scan_keys():
        tables.append("results/tables/acceptance.parquet")
    if simulated_particle_scan_keys():
        tables.append("results/tables/particle_validation.parquet")
    if transport_scan_keys():
        tables += ["results/tables/transport.parquet"]
    if simulated_transport_scan_keys():
        tables.append("results/tables/transport_validation.parquet")
    tables.append("results/tables/failures.parquet")
    return tables


def failure_inputs():
    """Per-scan and per-mosaic outputs the campaign tables gather: a failed scan's hold its
    failure record (batteryct.runlog), which rule failures lists."""
    per_scan = {
        "results/metrics/{}/{}.parquet": scan_keys(),
        "results/previews/{}/{}.png": scan_keys(),
        "results/particles/{}/{}_particles.parquet": particle_scan_keys(),
        "results/transport/{}/{}.parquet": transport_scan_keys(),
        "results/network/{}/{}_nodes.parquet": transport_scan_keys(),
        "results/validation/{}/{}.parquet": simulated_scan_keys(),
        "results/validation/particles/{}/{}.parquet": simulated_particle_scan_keys(),
    }
    paths = [pattern.format(s, c) for pattern, keys in per_scan.items() for s, c in keys]
    paths += [p for s in mosaic_samples() for p in (f"results/mosaics/{s}_summary.parquet", f"results/mosaics/{s}.png")]
    return paths + [f"results/validation/mosaics/{s}.parquet" for s in simulated_mosaic_samples()]


# ---- model fits (optional sheets: electrochem, cells, calendering) ----

ELECTROCHEM = (
    load_sheet_records(
        config["electrochem"], workflow.source_path("../schemas/electrochem.schema.yaml"), ("sample", "measurement")
    )
    if config.get("electrochem")
    else None
)
CELLS = (
    load_sheet_records(config["cells"], workflow.source_path("../schemas/cells.schema.yaml"), ("sample",))
    if config.get("cells")
    else None
)
if ELECTROCHEM is not None:
    _missing = sorted({s for s, _ in ELECTROCHEM} - (set() if CELLS is None else set(CELLS)))
    if _missing:
        raise ValueError(
            f"{config['electrochem']}: sample(s) {_missing} have no row in the cells sheet {config.get('cells')}"
        )
    _unknown = sorted({s for s, _ in ELECTROCHEM} - set(SAMPLES))
    if _unknown:
        raise ValueError(f"{config['electrochem']}: sample(s) {_unknown} are not in the samples sheet")
SIMULATED_ELECTROCHEM = {
    s: {**config["simulate"].get("electrochem_defaults", {}), **(spec or {})}
    for s, spec in (config.get("simulate", {}).get("electrochem") or {}).items()
}


def electrochem_keys(technique):
    """(sample, measurement) of the electrochem sheet rows of one technique."""
    if ELECTROCHEM is None:
        return []
    return [key for key, row in ELECTROCHEM.items() if row["technique"] == technique]


def simulated_electrochem_keys():
    """Rows the virtual cycler makes: their path is results/simulated/<sample>/electrochem/<measurement>.csv."""
    if ELECTROCHEM is None:
        return []
    return [
        (s, m)
        for (s, m), row in ELECTROCHEM.items()
        if s in SIMULATED_ELECTROCHEM and row["path"] == f"results/simulated/{s}/electrochem/{m}.csv"
    ]


def electrochem_row(wildcards):
    return dict(ELECTROCHEM[(wildcards.sample, wildcards.measurement)])


def electrochem_input(wildcards):
    """The measurement's CSV when it exists or the virtual cycler makes it (else the job says so)."""
    path = ELECTROCHEM[(wildcards.sample, wildcards.measurement)]["path"]
    if (wildcards.sample, wildcards.measurement) in simulated_electrochem_keys() or Path(path).exists():
        return path
    return []


def cell_row(wildcards):
    return dict(CELLS[wildcards.sample])


def ct_particles_input(wildcards):
    """The campaign particle table, unless the cells sheet gives the sample's radius."""
    radius = CELLS[wildcards.sample].get("radius_um")
    return [] if radius == radius and radius is not None else "results/tables/particles.parquet"


def gitt_sample_cells():
    """Cells-sheet rows of the samples with GITT records, by sample."""
    samples = sorted({s for s, _ in electrochem_keys("gitt")})
    return {s: dict(CELLS[s]) for s in samples}


def electrochem_simulation_spec(wildcards):
    return {**SIMULATED_ELECTROCHEM[wildcards.sample], **electrochem_row(wildcards)}


def truth_particles_input(wildcards):
    """True particles of the sample's first simulated scan (the virtual cycler's sizes)."""
    keys = [c for s, c in simulated_scan_keys() if s == wildcards.sample]
    if not keys:
        raise ValueError(f"virtual cycler: sample {wildcards.sample} has no simulated scan to take particle sizes from")
    return f"results/simulated/{wildcards.sample}/{keys[0]}/particles.parquet"


def gitt_fit_tables(kind):
    return [f"results/fits/gitt/{s}/{m}{kind}.parquet" for s, m in electrochem_keys("gitt")]


def eis_fit_tables(kind):
    return [f"results/fits/eis/{s}/{m}{kind}.parquet" for s, m in electrochem_keys("eis")]


def arrhenius_samples():
    """Samples with GITT at three or more temperatures."""
    if ELECTROCHEM is None:
        return []
    temperatures = {}
    for (s, _), row in ELECTROCHEM.items():
        if row["technique"] == "gitt" and row.get("temperature_K") is not None:
            temperatures.setdefault(s, set()).add(row["temperature_K"])
    return sorted(s for s, t in temperatures.items() if len(t) >= 3)


def fits_validation_inputs(wildcards):
    """Truth and fitted tables of the demo's virtual cycler and calender."""
    inputs = {"truth": [f"results/simulated/{s}/electrochem/{m}_truth.json" for s, m in simulated_electrochem_keys()]}
    if electrochem_keys("gitt"):
        inputs["diffusivity"] = "results/fits/diffusivity.parquet"
    if arrhenius_samples():
        inputs["arrhenius"] = "results/fits/arrhenius.parquet"
    if electrochem_keys("eis"):
        inputs["eis_psd"] = "results/fits/eis_psd.parquet"
    if config.get("simulate", {}).get("calendering") and config.get("calendering"):
        inputs["calendering_truth"] = "results/simulated/calendering_truth.parquet"
        inputs["calendering"] = "results/fits/calendering.parquet"
    return inputs


def fit_tables():
    """Tables of the model fits this campaign has."""
    tables = []
    if electrochem_keys("gitt"):
        tables += ["results/fits/gitt_pulses.parquet", "results/fits/diffusivity.parquet"]
        tables += ["results/fits/arrhenius.parquet", "results/fits/risk.parquet"]
    if electrochem_keys("eis"):
        tables += ["results/fits/drt.parquet", "results/fits/eis_psd.parquet"]
    if config.get("calendering"):
        tables += ["results/fits/calendering.parquet", "results/fits/calendering_samples.parquet"]
    if simulated_electrochem_keys() or config.get("simulate", {}).get("calendering"):
        tables.append("results/tables/fits_validation.parquet")
    return tables


def export_volume_input(wildcards):
    """The reconstructed volume a TIFF export reads; scans imported as labels get a path no
    rule makes, so ruleorder falls back from export_tiff to export_labels_tiff."""
    if is_labels_scan(wildcards.sample, wildcards.scan):
        return f"<{wildcards.sample}/{wildcards.scan} has no volume>"
    return f"results/volumes/{wildcards.sample}/{wildcards.scan}.h5"


def csv_export_tables():
    """Campaign tables exported as CSV when config exports.csv is on (else none)."""
    if not config.get("exports", {}).get("csv", False):
        return []
    return dictionary_tables() + ["results/tables/data_dictionary.parquet"]


def csv_export_path(table):
    """results/tables/x.parquet → results/exports/csv/tables/x.csv."""
    return f"results/exports/csv/{table.removeprefix('results/').removesuffix('.parquet')}.csv"


def export_targets():
    """CSV of every table and TIFF stacks of volumes and labels, each only when config exports turns it on."""
    out = [csv_export_path(t) for t in csv_export_tables()]
    if config.get("exports", {}).get("tiff", False):
        for s, c in scan_keys():
            if not is_labels_scan(s, c):
                out.append(f"results/exports/tiff/{s}/{c}_volume.tif")
            out.append(f"results/exports/tiff/{s}/{c}_labels.tif")
    return out


def dictionary_tables():
    """Campaign tables the data dictionary describes: the report's, the fits', particles, voids and network."""
    tables = report_tables() + fit_tables()
    if particle_scan_keys():
        tables += ["results/tables/particles.parquet", "results/tables/voids.parquet"]
    if transport_scan_keys():
        tables += ["results/tables/network_nodes.parquet", "results/tables/network_throats.parquet"]
        if config.get("calendering"):
            tables.append("results/fits/calendering_ct.parquet")
    return tables


def all_targets():
    """The campaign's tables, the model fits, the report figures (figures.smk), the exports and the report."""
    rois = [f"results/mosaics/{s}_rois.parquet" for s in mosaic_samples()]  # tomography fields on each mosaic
    dictionary = ["results/tables/data_dictionary.parquet", "results/data_dictionary.html"]
    return (
        report_tables()
        + fit_tables()
        + figure_targets()
        + rois
        + export_targets()
        + dictionary
        + ["results/report.html"]
    )
