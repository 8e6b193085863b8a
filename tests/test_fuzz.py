"""Property-based fuzz of the sheet and config validation and of the readers: whatever the
input, nothing escapes but the project's own named errors (SheetError, ConfigError,
InputDataError), and a valid input still passes."""

import copy
import os
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batteryct import io
from batteryct.sheets import ConfigError, SheetError, load_campaign, validate_config
from conftest import ROOT, SCHEMAS

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DEMO = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
CONFIG_SCHEMA = SCHEMAS / "config.schema.yaml"
SAMPLES = "sample\tkind\tmaterial\tdensity_g_cm3\nP1\tpowder\tNMC622\t4.75\n"
SCANS = "sample\tscan\tprojections\tpixel_size_um\nP1\ta\tp.h5\t0.5\n"
COLUMNS = ["sample", "scan", "kind", "material", "projections", "labels", "phase_map", "pixel_size_um", "x"]
CELL = st.one_of(
    st.sampled_from(["", "nan", "inf", "-1", "0", "1e-30", "1e30", "0.5", "0.4,0.5,0.5", "P1", "a", "powder"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\t\n\r"), max_size=12),
    st.text(alphabet="aA0._-/;$( ", min_size=60, max_size=80),
)


def campaign(samples: str, scans: str):
    folder = Path(tempfile.mkdtemp())
    (folder / "samples.tsv").write_text(samples, encoding="utf-8", errors="surrogateescape")
    (folder / "scans.tsv").write_text(scans, encoding="utf-8", errors="surrogateescape")
    return load_campaign(
        folder / "samples.tsv",
        folder / "scans.tsv",
        SCHEMAS / "samples.schema.yaml",
        SCHEMAS / "scans.schema.yaml",
    )


def test_the_valid_campaign_and_config_pass():
    samples, scans, problems = campaign(SAMPLES, SCANS)
    assert list(scans.index) == [("P1", "a")] and problems == {}
    validate_config(DEMO, CONFIG_SCHEMA)


@FUZZ
@given(
    header=st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=7),
    rows=st.lists(st.lists(CELL, min_size=0, max_size=8), max_size=4),
    which=st.booleans(),
)
def test_fuzzed_sheets_raise_only_sheet_errors(header, rows, which):
    text = "\n".join(["\t".join(header), *("\t".join(r) for r in rows)]) + "\n"
    try:
        campaign(text, SCANS) if which else campaign(SAMPLES, text)
    except SheetError:
        pass


@FUZZ
@given(raw=st.binary(max_size=300))
def test_random_bytes_as_a_sheet_raise_only_sheet_errors(raw):
    folder = Path(tempfile.mkdtemp())
    (folder / "scans.tsv").write_bytes(raw)
    (folder / "samples.tsv").write_text(SAMPLES)
    try:
        load_campaign(
            folder / "samples.tsv", folder / "scans.tsv", SCHEMAS / "samples.schema.yaml", SCHEMAS / "scans.schema.yaml"
        )
    except SheetError:
        pass


def _key_paths(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*path, k)
            yield from _key_paths(v, (*path, k))


KEY_PATHS = list(_key_paths(DEMO))
JSONISH = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**12), 10**12),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


@FUZZ
@given(
    path=st.sampled_from(KEY_PATHS),
    value=JSONISH,
    rename=st.one_of(st.none(), st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=16)),
)
def test_fuzzed_configs_raise_only_config_errors(path, value, rename):
    config = copy.deepcopy(DEMO)
    parent = config
    for key in path[:-1]:
        parent = parent[key]
    if rename is not None and rename != path[-1]:
        parent[rename] = parent.pop(path[-1])
    else:
        parent[path[-1]] = value
    try:
        validate_config(config, CONFIG_SCHEMA)
    except ConfigError as exc:
        assert "config key" in str(exc) or "invalid config" in str(exc)


# ---- readers ----------------------------------------------------------------------------


def _good_file(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    proj = rng.integers(500, 1500, (12, 6, 8)).astype(np.uint16)
    io.write_dataexchange(
        folder / "good.h5", proj, np.full((3, 6, 8), 2000, np.uint16), np.full((2, 6, 8), 50, np.uint16),
        np.linspace(0, 180, 12), 0.5,
    )  # fmt: skip
    return folder / "good.h5"


GOOD_BYTES = _good_file(Path(tempfile.mkdtemp())).read_bytes()


def read_all(path):
    """Every reader a workflow job may point at a user's file."""
    for reader in (io.read_projections, io.read_labels, io.read_volume, io.read_attrs, io.declared_projection_shape):
        try:
            reader(path)
        except io.InputDataError:
            pass


@FUZZ
@given(cut=st.integers(0, len(GOOD_BYTES) - 1), flips=st.lists(st.integers(0, len(GOOD_BYTES) - 1), max_size=4))
def test_truncated_or_corrupted_hdf5_raises_only_input_errors(cut, flips):
    raw = bytearray(GOOD_BYTES)
    for i in flips:
        raw[i] ^= 0xFF
    path = Path(tempfile.mkdtemp()) / "scan.h5"
    path.write_bytes(bytes(raw[:cut] if cut else raw))
    read_all(path)


@FUZZ
@given(raw=st.binary(max_size=2000), suffix=st.sampled_from([".h5", ".tif", ".tiff", ".hdf5", ""]))
def test_random_bytes_raise_only_input_errors(raw, suffix):
    path = Path(tempfile.mkdtemp()) / f"scan{suffix}"
    path.write_bytes(raw)
    read_all(path)


DTYPES = st.sampled_from(["u1", "u2", "i4", "f4", "f8", "c8", "?", "S4", "i8"])
SHAPES = st.lists(st.integers(0, 5), min_size=0, max_size=4).map(tuple)


@FUZZ
@given(
    datasets=st.dictionaries(
        st.sampled_from(["exchange/data", "exchange/data_white", "exchange/data_dark", "exchange/theta", "labels"]),
        st.tuples(DTYPES, SHAPES, st.integers(0, 1000)),
        min_size=1,
        max_size=5,
    ),
    pixel=st.one_of(st.none(), st.tuples(st.sampled_from(["um", "nm", "furlong", ""]), JSONISH)),
)
def test_odd_dtypes_shapes_and_attributes_raise_only_input_errors(datasets, pixel):
    path = Path(tempfile.mkdtemp()) / "odd.h5"
    with h5py.File(path, "w") as f:
        for name, (dtype, shape, seed) in datasets.items():
            rng = np.random.default_rng(seed)
            data = rng.integers(0, 255, shape).astype(dtype) if dtype != "S4" else np.full(shape, b"ab", "S4")
            f.create_dataset(name, data=data)
        if pixel is not None:
            units, value = pixel
            try:
                f["measurement/instrument/detector/pixel_size_x"] = value
            except (TypeError, ValueError):
                f["measurement/instrument/detector/pixel_size_x"] = 0.5
            f["measurement/instrument/detector/pixel_size_x"].attrs["units"] = units
    read_all(path)


@FUZZ
@given(
    frame=st.binary(max_size=200),
    angles=st.text(max_size=60),
    pixel=st.text(max_size=12),
    which=st.sampled_from(["proj", "flat", "dark"]),
)
def test_fuzzed_tiff_folders_raise_only_input_errors(frame, angles, pixel, which):
    folder = Path(tempfile.mkdtemp()) / "tiffs"
    z = np.full((12, 4, 5), 900, np.uint16)
    io.write_tiff_stack(folder, z, z[:2] + 1000, z[:2] - 850, np.linspace(0, 180, 12), 0.5)
    (folder / f"{which}_0001.tif").write_bytes(frame)
    if angles:
        (folder / "angles.csv").write_text(angles, errors="surrogateescape")
    (folder / "pixel_size_um.txt").write_text(pixel, errors="surrogateescape")
    try:
        io.read_projections(folder)
    except io.InputDataError:
        pass


def test_a_valid_file_still_reads():
    path = Path(tempfile.mkdtemp()) / "scan.h5"
    path.write_bytes(GOOD_BYTES)
    data = io.read_projections(path)
    assert data.projections.shape == (12, 6, 8) and data.pixel_size_um == pytest.approx(0.5)
    assert io.declared_projection_shape(path) == (12, 6, 8, 5)
    assert os.path.getsize(path) == len(GOOD_BYTES)


# ---- atomic writes: nothing partial and no temporary file left, whatever fails ----------


def _writers(folder: Path):
    import pandas as pd

    z = np.zeros((4, 3, 5), np.uint16)
    return {
        "a.h5": lambda p: io.write_volume(p, {"volume": z.astype(np.float32)}, {"units": "1/um"}),
        "a.png": lambda p: io.write_png(p, np.zeros((4, 5), np.uint8)),
        "a.parquet": lambda p: io.write_table(p, pd.DataFrame({"x_um": [1.0]})),
        "a_openpnm.npz": lambda p: io.write_npz(p, {"pore.coords": np.zeros((2, 3))}),
        "report.html": lambda p: io.atomic_write_bytes(p, b"<html></html>"),
        "tiff": lambda p: io.write_tiff_stack(p, z, z + 2, z, np.linspace(0, 180, 4), 0.5),
    }


@pytest.mark.parametrize("name", list(_writers(Path("."))))
def test_a_failed_write_leaves_neither_output_nor_temporary_file(tmp_path, monkeypatch, name):
    write = _writers(tmp_path)[name]
    stale = tmp_path / f"{name}.k1ll3d00.tmp"  # left by a killed job
    stale.mkdir() if name == "tiff" else stale.write_bytes(b"partial")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(io.os, "replace", full_disk)
        with pytest.raises(OSError, match="No space left"):
            write(tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    write(tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_atomic_h5_removes_its_temporary_file_when_h5py_cannot_create_it(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("Unable to synchronously create file")

    monkeypatch.setattr(io.h5py, "File", refuse)
    with pytest.raises(OSError, match="Unable to synchronously create"):
        io.write_volume(tmp_path / "goodtiff.h5", {"volume": np.zeros((2, 2, 2), np.float32)})
    assert list(tmp_path.iterdir()) == []
