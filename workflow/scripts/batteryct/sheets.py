"""Loading and validating the campaign sheets (samples, scans, electrochemistry, cells, calendering) and config.

Errors name the sheet, the row (1-based, the header is row 0) and the column, so a user
can fix a 200-row sheet without guessing; an unknown column or config key comes with the
nearest valid name ("did you mean ...?").
"""

from __future__ import annotations

import copy
import csv
import difflib
import math
from pathlib import Path
from typing import TYPE_CHECKING

import jsonschema
import yaml

if TYPE_CHECKING:
    import pandas as pd

from .label_codes import parse_phase_map

# Ids name folders and files (e.g. {scan}_particles.parquet.XXXXXXXX.tmp): 64 keeps every
# file name far below the 255 bytes of common file systems (the schemas' patterns say {0,63}).
MAX_ID_LENGTH = 64
# A pixel size outside this (um) is a unit mistake, not a scanner: 1 nm to 1 mm.
PIXEL_SIZE_RANGE_UM = (1.0e-3, 1.0e3)


class SheetError(ValueError):
    """A sheet that cannot be used; the message names sheet, row and column."""


class ConfigError(ValueError):
    """A config that cannot be used; the message names every bad key by its dotted path."""


def did_you_mean(name: str, choices) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest of ``choices``, or ``""``.

    Examples
    --------
    >>> did_you_mean("pixel_size_mu", ["sample", "scan", "pixel_size_um"])
    " (did you mean 'pixel_size_um'?)"
    >>> did_you_mean("zzz", ["sample"])
    ''
    """
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _non_finite(node, path=()):
    """Yield the dotted paths of NaN or infinite numbers in a nested config."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _non_finite(value, (*path, str(key)))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _non_finite(value, (*path, str(i)))
    elif isinstance(node, float) and not math.isfinite(node):
        yield ".".join(path), node


# Sections that describe the demo campaign itself (its virtual scanner, cycler and calender,
# and its model-fit sheets), not how a stage works: a campaign of one's own never inherits them.
DEMO_CAMPAIGN_KEYS = ("simulate", "electrochem", "cells", "calendering")


def drop_demo_campaign(config: dict, user_config: dict) -> list[str]:
    """Remove the demo's campaign sections from a merged config when the user names their own sheets.

    Snakemake merges ``--configfile`` over the Snakefile's ``configfile:`` (the demo), so a
    user's campaign would otherwise inherit the demo's virtual scans. A user config that
    names its own ``samples`` sheet is a campaign of its own: each of
    :data:`DEMO_CAMPAIGN_KEYS` then comes from the user's config alone (replaced whole, not
    merged), or is absent. A config without ``samples`` tunes the demo and changes nothing.

    Parameters
    ----------
    config : dict
        The merged config, changed in place.
    user_config : dict
        What the command line gave (``--configfile`` files and ``--config``, merged).

    Returns
    -------
    list of str
        The demo sections removed.

    Examples
    --------
    >>> merged = {"samples": "mine.tsv", "simulate": {"scans": {"A/a": {}}}, "electrochem": "demo.tsv"}
    >>> drop_demo_campaign(merged, {"samples": "mine.tsv"}), merged
    (['simulate', 'electrochem'], {'samples': 'mine.tsv', 'simulate': {}})
    >>> demo = {"samples": "demo.tsv", "simulate": {"scans": {}}}
    >>> drop_demo_campaign(demo, {"reconstruct": {"pad": False}}), demo["simulate"]
    ([], {'scans': {}})
    """
    if "samples" not in (user_config or {}):
        return []
    dropped = []
    for key in DEMO_CAMPAIGN_KEYS:
        if key in user_config:
            config[key] = copy.deepcopy(user_config[key])
        elif key in config:
            dropped.append(key)
            del config[key]
    config.setdefault("simulate", {})
    return dropped


def validate_config(config: dict, schema) -> None:
    """Check a workflow config against its JSON schema before any job runs.

    Parameters
    ----------
    config : dict
        The merged config (Snakemake's ``config``).
    schema : dict, str or pathlib.Path
        The schema, or the YAML file holding it (``workflow/schemas/config.schema.yaml``).

    Raises
    ------
    ConfigError
        Listing every problem by the key's dotted path: unknown keys with the nearest valid
        name, wrong types, values out of bounds, NaN or infinite numbers.

    Examples
    --------
    >>> schema = {"type": "object", "properties": {"reconstruct": {"type": "object"}},
    ...           "additionalProperties": False}
    >>> validate_config({"reconstrcut": {}}, schema)
    Traceback (most recent call last):
    ...
    batteryct.sheets.ConfigError: invalid config:
      config key 'reconstrcut': unknown key (did you mean 'reconstruct'?)
    """
    if not isinstance(schema, dict):
        schema = load_schema(schema)
    if not isinstance(config, dict):
        raise ConfigError(f"invalid config: expected a mapping of keys, got {type(config).__name__}")
    problems = []
    for where, value in _non_finite(config):
        problems.append(f"config key {where!r}: {value} is not a finite number")
    validator = jsonschema.Draft202012Validator(schema)
    for err in sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]):
        where = ".".join(str(p) for p in err.absolute_path)
        if err.validator == "additionalProperties" and err.validator_value is False and isinstance(err.instance, dict):
            allowed = set(err.schema.get("properties", {}))
            for key in sorted(k for k in err.instance if k not in allowed):
                full = f"{where}.{key}" if where else key
                problems.append(f"config key {full!r}: unknown key{did_you_mean(key, allowed)}")
        elif err.validator == "propertyNames":
            problems.append(f"config key {where!r}: key {err.instance!r} is not a valid id ({err.message})")
        else:
            problems.append(f"config key {where or '(top level)'!r}: {err.message}")
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(dict.fromkeys(problems)))


def read_records(path: str | Path) -> tuple[list[str], list[dict]]:
    """Read a tab-separated sheet; ids stay strings, empty cells become None.

    Plain Python (no pandas): the sheets are read at every DAG build, where importing
    pandas would cost more than the rest of loading a campaign.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.tsv`` file, UTF-8. A line whose first non-blank character is ``#`` is a
        comment; blank lines are skipped; a cell may be quoted (``"a b"``).

    Returns
    -------
    columns : list of str
        The header's column names, stripped.
    records : list of dict
        One dict per row, column -> stripped string or None; a short row's missing
        cells are None.

    Raises
    ------
    SheetError
        If the file does not exist, is not UTF-8 text, has no header, an empty column
        name, or a row with more cells than the header.
    """
    path = Path(path)
    if not path.is_file():
        raise SheetError(f"{path}: sheet does not exist")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SheetError(f"{path}: not a readable tab-separated sheet ({exc})") from exc
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise SheetError(f"{path}: sheet is empty (no header row; only blank or '#' comment lines)")
    try:
        header, *rows = list(csv.reader(lines, delimiter="\t", quotechar='"', strict=True))
    except csv.Error as exc:
        raise SheetError(f"{path}: not a readable tab-separated sheet ({exc})") from exc
    columns = [c.strip() for c in header]
    unnamed = [i + 1 for i, c in enumerate(columns) if not c]
    if unnamed:
        raise SheetError(f"{path}: header has empty column name(s) at position(s) {unnamed}")
    records = []
    for i, cells in enumerate(rows, start=1):
        if len(cells) > len(columns):
            raise SheetError(
                f"{path}: not a readable tab-separated sheet (row {i} has {len(cells)} cells, "
                f"the header {len(columns)})"
            )
        values = [c.strip() or None for c in cells] + [None] * (len(columns) - len(cells))
        records.append(dict(zip(columns, values)))
    return columns, records


def _coerce(record: dict, schema: dict) -> dict:
    """Return the record with numeric-looking strings as numbers where the schema wants a number."""
    out = {}
    for key, value in record.items():
        types = schema.get("properties", {}).get(key, {}).get("type", [])
        types = [types] if isinstance(types, str) else types
        if value is not None and ("number" in types or "integer" in types):
            try:
                number = float(value)
                # NaN and infinity stay as text, so the schema rejects them naming row and column
                if math.isfinite(number):
                    value = int(number) if "integer" in types and number.is_integer() else number
            except (TypeError, ValueError):
                pass  # the schema reports it
        out[key] = value
    return out


def _is_non_finite_text(value, column_schema: dict) -> bool:
    """Tell whether a cell is text such as ``nan`` or ``-inf`` in a column that wants a number."""
    types = column_schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if not isinstance(value, str) or not ("number" in types or "integer" in types):
        return False
    try:
        return not math.isfinite(float(value))
    except ValueError:
        return False


def validate_records(columns: list[str], records: list[dict], schema: dict, sheet: str) -> list[dict]:
    """Validate every row against a JSON schema; return the typed rows.

    Parameters
    ----------
    columns, records : list
        The sheet as read by :func:`read_records`.
    schema : dict
        JSON schema of one row.
    sheet : str
        Sheet name used in the messages.

    Returns
    -------
    list of dict
        The rows with numbers where the schema wants numbers.

    Raises
    ------
    SheetError
        Naming the sheet, row and column of every problem found.
    """
    validator = jsonschema.Draft202012Validator(schema)
    typed, problems = [], []
    known = list(schema.get("properties", {}))
    if schema.get("additionalProperties", True) is False:
        dup = sorted({c for c in columns if columns.count(c) > 1})
        problems += [f"{sheet}: column {c!r} appears more than once" for c in dup]
        problems += [
            f"{sheet}: unknown column {c!r}{did_you_mean(c, known)}; known columns: {', '.join(known)}"
            for c in dict.fromkeys(columns)
            if c not in known
        ]
    if not records and not problems:
        raise SheetError(f"{sheet}: sheet has a header but no rows")
    for i, rec in enumerate(records, start=1):
        rec = _coerce(rec, schema)
        bad = {k for k, v in rec.items() if _is_non_finite_text(v, schema.get("properties", {}).get(k, {}))}
        problems += [f"{sheet}, row {i}, column {k!r}: {rec[k]!r} is not a finite number" for k in sorted(bad)]
        for err in sorted(validator.iter_errors({k: v for k, v in rec.items() if v is not None}), key=str):
            column = err.path[0] if err.path else None
            if column in bad or err.validator == "additionalProperties":  # unknown columns: reported above
                continue
            if column is None and err.validator == "required":
                column = err.message.split("'")[1]
            if column is None and err.validator == "oneOf":
                problems.append(
                    f"{sheet}, row {i}: give one of 'projections', 'volume', or 'labels' with 'phase_map' "
                    "and 'pixel_size_um'"
                )
                continue
            if err.validator == "pattern" and isinstance(err.instance, str) and len(err.instance) > MAX_ID_LENGTH:
                problems.append(
                    f"{sheet}, row {i}, column {column!r}: id {err.instance[:24]!r}... has {len(err.instance)} "
                    f"characters; ids have at most {MAX_ID_LENGTH} (they name folders and files)"
                )
                continue
            problems.append(f"{sheet}, row {i}, column {column!r}: {err.message}")
        typed.append(rec)
    if problems:
        raise SheetError("invalid sheet:\n  " + "\n  ".join(problems))
    return typed


def load_schema(path: str | Path) -> dict:
    """Read a JSON schema written in YAML.

    Parameters
    ----------
    path : str or pathlib.Path
        The schema file.

    Returns
    -------
    dict
        The schema.
    """
    with open(path) as fh:
        # libyaml's loader where PyYAML has it: the schemas are read at every DAG build
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_campaign_records(samples_path, scans_path, samples_schema, scans_schema):
    r"""Load both sheets, validate them and check ids, as plain dicts (no pandas).

    A scan naming an unknown sample (or with an unusable ``pixel_size_um``) is not fatal
    for the campaign: it is listed in ``problems`` and that scan's job fails with the
    message, so the other scans still run under ``--keep-going``.

    Parameters
    ----------
    samples_path, scans_path : str or pathlib.Path
        The samples and scans sheets (``.tsv``).
    samples_schema, scans_schema : str or pathlib.Path
        Their JSON schemas (YAML files in ``workflow/schemas``).

    Returns
    -------
    samples : dict
        sample id -> row (column -> value, None where empty), in sheet order.
    scans : dict
        (sample, scan) -> row, in sheet order; ``pixel_size_um`` parsed by
        :func:`parse_voxel_size` (None where it cannot be).
    problems : dict
        (sample, scan) -> message, for the scans that cannot run.
    columns : tuple of (list of str, list of str)
        The columns of the samples and of the scans sheet.

    Raises
    ------
    SheetError
        If a sheet is missing or invalid, an id is duplicated or a phase map is unusable.
    """
    sample_columns, sample_rows = read_records(samples_path)
    sample_rows = validate_records(sample_columns, sample_rows, load_schema(samples_schema), str(samples_path))
    scan_columns, scan_rows = read_records(scans_path)
    scan_rows = validate_records(scan_columns, scan_rows, load_schema(scans_schema), str(scans_path))
    ids = [r["sample"] for r in sample_rows]
    dup = [s for i, s in enumerate(ids) if s in ids[:i]]
    if dup:
        raise SheetError(f"{samples_path}: duplicate sample ids {dup}")
    keys = [(r["sample"], r["scan"]) for r in scan_rows]
    dup = [list(k) for i, k in enumerate(keys) if k in set(keys[:i])]
    if dup:
        raise SheetError(f"{scans_path}: duplicate (sample, scan) pairs {dup}")
    bad = []
    for i, row in enumerate(scan_rows, start=1):
        if isinstance(row.get("phase_map"), str):
            try:
                parse_phase_map(row["phase_map"])
            except ValueError as exc:
                bad.append(f"{scans_path}, row {i}, column 'phase_map': {exc}")
    if bad:
        raise SheetError("invalid sheet:\n  " + "\n  ".join(bad))
    problems = {}
    known = set(ids)
    for i, row in enumerate(scan_rows, start=1):
        key = (row["sample"], row["scan"])
        size = None
        try:
            size = parse_voxel_size(row.get("pixel_size_um"))
            if isinstance(size, tuple) and (
                isinstance(row.get("projections"), str) or isinstance(row.get("volume"), str)
            ):
                raise ValueError(
                    "three voxel edges are only for scans given as 'labels' (a reconstruction "
                    "from projections has cubic voxels)"
                )
        except ValueError as exc:
            problems[key] = f"{scans_path}, row {i}, column 'pixel_size_um': {exc}"
        if "pixel_size_um" in row or size is not None:
            row["pixel_size_um"] = size
        if row["sample"] not in known:
            problems[key] = (
                f"{scans_path}, row {i}, column 'sample': scan {row['scan']!r} names sample "
                f"{row['sample']!r}, which is not in {samples_path}"
            )
    samples = dict(zip(ids, sample_rows))
    scans = dict(zip(keys, scan_rows))
    return samples, scans, problems, (sample_columns, scan_columns)


def load_campaign(samples_path, scans_path, samples_schema, scans_schema):
    r"""Load both sheets as tables; parameters and errors are those of :func:`load_campaign_records`.

    Returns
    -------
    samples : DataFrame
        Indexed by sample.
    scans : DataFrame
        Indexed by (sample, scan); ``pixel_size_um`` parsed by :func:`parse_voxel_size`.
    problems : dict
        (sample, scan) -> message, for the scans that cannot run.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "samples.tsv").write_text("sample\tkind\tmaterial\nP1\tpowder\tNMC622\n")
    >>> _ = (folder / "scans.tsv").write_text("sample\tscan\tprojections\nP1\ta\tp.h5\nP2\ta\tq.h5\n")
    >>> schemas = Path(__file__).parents[2] / "schemas"
    >>> samples, scans, problems = load_campaign(
    ...     folder / "samples.tsv", folder / "scans.tsv", schemas / "samples.schema.yaml", schemas / "scans.schema.yaml"
    ... )
    >>> list(samples.index), list(scans.index), list(problems)
    (['P1'], [('P1', 'a'), ('P2', 'a')], [('P2', 'a')])
    """
    samples, scans, problems, (sample_columns, scan_columns) = load_campaign_records(
        samples_path, scans_path, samples_schema, scans_schema
    )
    import pandas as pd  # only here: the DAG build uses the dicts

    samples = _frame(list(samples.values()), sample_columns, ["sample"])
    scan_table = _frame(list(scans.values()), scan_columns, ["sample", "scan"])
    if "pixel_size_um" in scan_table:  # tuples of three edges stay whole
        sizes = [row.get("pixel_size_um") for row in scans.values()]
        scan_table["pixel_size_um"] = pd.Series(sizes, index=scan_table.index, dtype=object)
    return samples, scan_table, problems


def _frame(records: list[dict], columns: list[str], key: list[str]) -> pd.DataFrame:
    """Typed rows as a DataFrame indexed by ``key`` (kept as columns too)."""
    import pandas as pd  # only here: the DAG build uses the dicts

    table = pd.DataFrame.from_records(records, columns=list(dict.fromkeys(columns)))
    return table.set_index(key[0] if len(key) == 1 else key, drop=False)


def parse_voxel_size(value):
    """Parse the ``pixel_size_um`` cell of a scan row.

    Parameters
    ----------
    value : str, float or None
        A number, or ``"dz,dy,dx"`` for non-cubic voxels of an imported label volume (µm,
        in the volume's axis order).

    Returns
    -------
    float, tuple of 3 floats or None
        Equal edges collapse to a float; None for an empty cell.

    Raises
    ------
    ValueError
        If there are neither one nor three values, or a size is not positive.

    Examples
    --------
    >>> parse_voxel_size("0.4,0.5,0.5"), parse_voxel_size("0.5,0.5,0.5")
    ((0.4, 0.5, 0.5), 0.5)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (int, float)):
        parts = [float(value)]
    else:
        parts = [float(x) for x in str(value).split(",")]
        if len(parts) not in (1, 3):
            raise ValueError(f"pixel_size_um {value!r}: give one value or three (z,y,x)")
    if not all(math.isfinite(x) and x > 0 for x in parts):
        raise ValueError(f"pixel_size_um {value!r}: sizes must be positive")
    if not all(PIXEL_SIZE_RANGE_UM[0] <= x <= PIXEL_SIZE_RANGE_UM[1] for x in parts):
        raise ValueError(
            f"pixel_size_um {value!r}: outside {PIXEL_SIZE_RANGE_UM[0]:g}-{PIXEL_SIZE_RANGE_UM[1]:g} um "
            "(1 nm to 1 mm); is the unit um?"
        )
    return parts[0] if len(set(parts)) == 1 else tuple(parts)


def schema_path(name: str) -> Path:
    """Return the path of the workflow's sheet schema ``workflow/schemas/{name}.schema.yaml``.

    Examples
    --------
    >>> schema_path("cells").name
    'cells.schema.yaml'
    """
    path = Path(__file__).resolve().parents[2] / "schemas" / f"{name}.schema.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no sheet schema {path}")
    return path


def load_sheet_records(path: str | Path, schema: str | Path, key: tuple[str, ...]) -> dict:
    r"""Load one sheet, validate every row and check that ``key`` is unique, as plain dicts.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.tsv`` sheet.
    schema : str or pathlib.Path
        Its JSON schema (YAML).
    key : tuple of str
        Columns that identify a row (for example ``("sample", "measurement")``).

    Returns
    -------
    dict
        Key -> typed row (column -> value, None where empty), in sheet order; the key is
        the value of a one-column ``key``, else the tuple of values.

    Raises
    ------
    SheetError
        If the sheet is missing, a row is invalid (naming sheet, row and column) or a key
        is duplicated.
    """
    return _load_sheet(path, schema, key)[1]


def _load_sheet(path, schema, key) -> tuple[list[str], dict]:
    columns, records = read_records(path)
    rows = validate_records(columns, records, load_schema(schema), str(path))
    keys = [row[key[0]] if len(key) == 1 else tuple(row[k] for k in key) for row in rows]
    seen, dup = set(), []
    for k in keys:
        if k in seen:
            dup.append(list(k) if isinstance(k, tuple) else [k])
        seen.add(k)
    if dup:
        raise SheetError(f"{path}: duplicate {tuple(key)} {dup}")
    return columns, dict(zip(keys, rows))


def load_sheet(path: str | Path, schema: str | Path, key: tuple[str, ...]) -> pd.DataFrame:
    r"""Load one sheet as a table; parameters and errors are those of :func:`load_sheet_records`.

    Returns
    -------
    DataFrame
        Typed rows, indexed by ``key`` (the key columns are kept as columns too).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "cells.tsv").write_text(
    ...     "sample\telectrode_area_cm2\telectrode_thickness_um\tactive_volume_fraction\tmax_concentration_mol_m3\n"
    ...     "E1\t1.13\t60\t0.5\t49000\n"
    ... )
    >>> schema = Path(__file__).parents[2] / "schemas" / "cells.schema.yaml"
    >>> cells = load_sheet(folder / "cells.tsv", schema, ("sample",))
    >>> float(cells.loc["E1", "electrode_area_cm2"])
    1.13
    """
    columns, rows = _load_sheet(path, schema, key)
    return _frame(list(rows.values()), columns, list(key))
