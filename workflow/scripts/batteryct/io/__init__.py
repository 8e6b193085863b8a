"""Reading and writing projections, volumes and tables.

Projection files are read into one model, :class:`ProjectionSet`, whatever their layout:

* DataExchange HDF5: ``/exchange/data`` (projections), ``/exchange/data_white`` (flats),
  ``/exchange/data_dark`` (darks), ``/exchange/theta`` (degrees). The pixel size is read
  from ``/measurement/instrument/detector/pixel_size_x`` (um) when present.
* A folder of TIFFs: ``proj_*.tif`` (one per angle, sorted by name), ``flat_*.tif``,
  ``dark_*.tif`` and ``angles.csv`` with a column ``angle_deg``; an optional
  ``pixel_size_um.txt`` holds the pixel size.
* NXtomo (NeXus) HDF5: :mod:`batteryct.io.nxtomo`.
* Zeiss Xradia ``.txrm`` (tomography), ``.xrm`` (radiographs, mosaics) and ``.txm``
  (reconstructed volumes): :mod:`batteryct.io.zeiss`.

Volumes and labels are written to HDF5 with chunking, gzip and no timestamps, so two
runs give byte-identical files. Tables are parquet.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import tifffile
from PIL import Image

from batteryct import columns

PIXEL_SIZE_PATHS = (
    "/measurement/instrument/detector/pixel_size_x",
    "/measurement/instrument/detection_system/objective/resolution",
)


class InputDataError(ValueError):
    """Raised when input data are unusable; the message names the file and the problem."""


# With this many projections, angles that all fit within 2 pi "degrees" are radians: no
# tomographic scan takes dozens of projections over a few degrees.
RADIANS_CHECK_MIN_ANGLES = 10


@dataclass
class ProjectionSet:
    """Raw projections with their references and geometry.

    Attributes
    ----------
    projections : ndarray, float32, (n_projections, n_rows, n_columns)
        Raw detector counts.
    flats, darks : ndarray, float32, (n, n_rows, n_columns)
        Open-beam and dark references.
    theta_rad : ndarray, float64, (n_projections,)
        Projection angles in radians.
    pixel_size_um : float or None
        Detector pixel size at the sample, in micrometres.
    source : str
        Path the data were read from (for messages).
    notes : list of str
        Remarks collected while reading (empty by default).
    """

    projections: np.ndarray
    flats: np.ndarray
    darks: np.ndarray
    theta_rad: np.ndarray
    pixel_size_um: float | None = None
    source: str = ""
    notes: list[str] = field(default_factory=list)


def check_projection_set(data: ProjectionSet) -> None:
    """Check a projection set; raise :class:`InputDataError` when it is unusable.

    Parameters
    ----------
    data : ProjectionSet
        The set to check.

    Raises
    ------
    InputDataError
        If shapes, angles, values, flats or the pixel size are unusable; the message
        names the file and the problem.
    """
    src = data.source
    for name in ("projections", "flats", "darks"):
        arr = getattr(data, name)
        if arr.ndim != 3:
            raise InputDataError(f"{src}: {name} must be 3-D (n, rows, columns), got shape {arr.shape}")
        if arr.shape[0] == 0:
            raise InputDataError(f"{src}: no {name} in the file")
    shape = data.projections.shape[1:]
    for name in ("flats", "darks"):
        if getattr(data, name).shape[1:] != shape:
            raise InputDataError(
                f"{src}: {name} have frames of shape {getattr(data, name).shape[1:]}, "
                f"projections {shape}: mismatched shapes"
            )
    if data.theta_rad.ndim != 1 or data.theta_rad.size != data.projections.shape[0]:
        raise InputDataError(f"{src}: {data.theta_rad.size} angles for {data.projections.shape[0]} projections")
    if not np.all(np.isfinite(data.theta_rad)):
        raise InputDataError(f"{src}: angles contain NaN or infinity")
    span_deg = float(np.rad2deg(np.ptp(data.theta_rad))) if data.theta_rad.size else 0.0
    if data.theta_rad.size >= RADIANS_CHECK_MIN_ANGLES and 0 < span_deg <= 2.0 * np.pi * 1.001:
        raise InputDataError(
            f"{src}: {data.theta_rad.size} angles span only {span_deg:.4g} deg (at most 2 pi): the angles look "
            "like radians; store them in degrees (/exchange/theta, angles.csv column angle_deg)"
        )
    for name in ("projections", "flats", "darks"):
        arr = getattr(data, name)
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        if bad:
            raise InputDataError(f"{src}: {name} contain {bad} NaN or infinite values")
    flat_mean = data.flats.mean(axis=0) - data.darks.mean(axis=0)
    if not np.any(flat_mean > 0):
        raise InputDataError(f"{src}: flats are not above the darks anywhere (flats of zeros?)")
    if data.pixel_size_um is not None and not (data.pixel_size_um > 0):
        raise InputDataError(f"{src}: pixel size {data.pixel_size_um} um is not positive")


def _unreadable(path, what: str, exc: Exception) -> InputDataError:
    """Build the error for a file a reader cannot open (a failed job's failure record says so)."""
    from ..runlog import read_failure  # runlog imports io; late import avoids the cycle

    record = read_failure(path)
    if record is not None:
        return InputDataError(
            f"{path}: holds the failure record of rule {record.get('rule')!r} for sample {record.get('sample')!r}, "
            f"scan {record.get('scan')!r}, not results: {record.get('error')}"
        )
    return InputDataError(f"{path}: not a readable {what} file ({type(exc).__name__}: {exc})")


def _open_h5(path) -> h5py.File:
    """Open an HDF5 file for reading; any failure becomes an :class:`InputDataError` naming it."""
    try:
        return h5py.File(path, "r")
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError and others; re-raised with the path
        raise _unreadable(path, "HDF5", exc) from exc


def _read_pixel_size_h5(f: h5py.File) -> float | None:
    for path in PIXEL_SIZE_PATHS:
        if path in f:
            value = float(np.asarray(f[path][()]).ravel()[0])
            units = f[path].attrs.get("units", "um")
            units = units.decode() if isinstance(units, bytes) else str(units)
            scale = {"um": 1.0, "micron": 1.0, "microns": 1.0, "nm": 1e-3, "mm": 1e3, "m": 1e6}
            if units not in scale:
                raise InputDataError(f"{f.filename}: {path} has unknown units {units!r}")
            return value * scale[units]
    return None


def read_dataexchange(path: str | os.PathLike) -> ProjectionSet:
    """Read a DataExchange HDF5 file (angles stored in degrees).

    Parameters
    ----------
    path : str or os.PathLike
        The HDF5 file.

    Returns
    -------
    ProjectionSet
        Counts as float32, angles in radians, the pixel size in um when stored.

    Raises
    ------
    InputDataError
        If the file does not exist, is not HDF5 or lacks a DataExchange dataset.
    """
    path = str(path)
    if not os.path.isfile(path):
        raise InputDataError(f"{path}: projections file does not exist")
    with _open_h5(path) as f:
        missing = [k for k in ("data", "data_white", "data_dark", "theta") if f"/exchange/{k}" not in f]
        if missing:
            raise InputDataError(
                f"{path}: DataExchange datasets missing: " + ", ".join(f"/exchange/{k}" for k in missing)
            )
        try:
            data = ProjectionSet(
                projections=np.asarray(f["/exchange/data"][...], dtype=np.float32),
                flats=np.asarray(f["/exchange/data_white"][...], dtype=np.float32),
                darks=np.asarray(f["/exchange/data_dark"][...], dtype=np.float32),
                theta_rad=np.deg2rad(np.asarray(f["/exchange/theta"][...], dtype=np.float64)),
                pixel_size_um=_read_pixel_size_h5(f),
                source=path,
            )
        except (OSError, TypeError, ValueError, IndexError, KeyError) as exc:  # truncated, odd dtypes or shapes
            raise InputDataError(f"{path}: DataExchange data unreadable ({type(exc).__name__}: {exc})") from exc
    return data


def _read_tiff(path: Path) -> np.ndarray:
    """Read one TIFF file; any reader failure becomes an :class:`InputDataError` naming it."""
    try:
        frame = tifffile.imread(path)
    except Exception as exc:  # noqa: BLE001 - tifffile raises many types; re-raised with the path
        raise InputDataError(f"{path}: not a readable TIFF ({type(exc).__name__}: {exc})") from exc
    if frame.size == 0:
        raise InputDataError(f"{path}: not a readable TIFF (no image data)")
    return frame


def _read_number_file(path: Path, what: str) -> float:
    """Read a text file holding one positive number (e.g. ``pixel_size_um.txt``), named in errors."""
    try:
        text = path.read_text().strip()
        value = float(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputDataError(f"{path}: {what} must be one number, could not read it ({exc})") from exc
    if not np.isfinite(value) or value <= 0:
        raise InputDataError(f"{path}: {what} {text!r} is not a positive finite number")
    return value


def _read_tiffs(paths: list[Path]) -> np.ndarray:
    frames = [_read_tiff(p) for p in paths]
    shapes = {fr.shape for fr in frames}
    if len(shapes) != 1:
        common = max(shapes, key=[fr.shape for fr in frames].count)
        odd = [f"{p.name} {fr.shape}" for p, fr in zip(paths, frames) if fr.shape != common][:5]
        raise InputDataError(
            f"{paths[0].parent}: TIFF frames have different shapes: {', '.join(odd)} where the others are {common}"
        )
    return np.stack(frames).astype(np.float32)


def read_tiff_stack(folder: str | os.PathLike) -> ProjectionSet:
    """Read a folder of ``proj_*.tif``, ``flat_*.tif``, ``dark_*.tif`` and ``angles.csv``.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder (module docstring for the layout).

    Returns
    -------
    ProjectionSet
        Counts as float32, angles in radians, the pixel size in um when
        ``pixel_size_um.txt`` exists.

    Raises
    ------
    InputDataError
        If the folder, a group of TIFFs or ``angles.csv`` is missing or unusable.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputDataError(f"{folder}: projections folder does not exist")
    groups = {k: sorted(folder.glob(f"{k}_*.tif*")) for k in ("proj", "flat", "dark")}
    for k, files in groups.items():
        if not files:
            raise InputDataError(f"{folder}: no {k}_*.tif files")
    angles_csv = folder / "angles.csv"
    if not angles_csv.is_file():
        raise InputDataError(f"{folder}: angles.csv is missing")
    try:
        with open(angles_csv, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputDataError(f"{angles_csv}: not a readable CSV ({exc})") from exc
    if not rows or "angle_deg" not in rows[0]:
        raise InputDataError(f"{angles_csv}: needs a column 'angle_deg'")
    try:
        theta_deg = np.array([float(r["angle_deg"]) for r in rows])
    except (TypeError, ValueError) as exc:
        raise InputDataError(f"{angles_csv}: non-numeric angle ({exc})") from exc
    pixel_size_um = None
    px_file = folder / "pixel_size_um.txt"
    if px_file.is_file():
        pixel_size_um = _read_number_file(px_file, "the pixel size (um)")
    return ProjectionSet(
        projections=_read_tiffs(groups["proj"]),
        flats=_read_tiffs(groups["flat"]),
        darks=_read_tiffs(groups["dark"]),
        theta_rad=np.deg2rad(theta_deg),
        pixel_size_um=pixel_size_um,
        source=str(folder),
    )


def declared_projection_shape(path: str | os.PathLike) -> tuple[int, int, int, int] | None:
    """Shape the projections declare, read without loading them (for a memory check).

    Parameters
    ----------
    path : str or os.PathLike
        A DataExchange HDF5 file or a TIFF folder (the layouts of :func:`read_projections`).

    Returns
    -------
    (n_projections, n_rows, n_columns, n_references) or None
        ``n_references`` counts flats and darks; None when the layout is another one or
        unreadable (the reader then reports it).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "p.h5"
    >>> z = np.zeros((3, 4, 5), np.uint16)
    >>> write_dataexchange(path, z, z[:2] + 1, z[:1], np.arange(3.0), 0.5)
    >>> declared_projection_shape(path)
    (3, 4, 5, 3)
    """
    path = Path(path)
    try:
        if path.is_dir():
            proj = sorted(path.glob("proj_*.tif*"))
            refs = len(list(path.glob("flat_*.tif*"))) + len(list(path.glob("dark_*.tif*")))
            if not proj:
                return None
            with tifffile.TiffFile(proj[0]) as tif:
                rows, cols = tif.pages[0].shape[:2]
            return len(proj), int(rows), int(cols), refs
        with h5py.File(path, "r") as f:
            shape = f["/exchange/data"].shape
            refs = sum(f[f"/exchange/{k}"].shape[0] for k in ("data_white", "data_dark") if f"/exchange/{k}" in f)
            if len(shape) != 3:
                return None
            return int(shape[0]), int(shape[1]), int(shape[2]), int(refs)
    except Exception:  # noqa: BLE001 - unreadable or another layout: the reader reports it
        return None


def read_projections(
    path: str | os.PathLike, pixel_size_um: float | None = None, dark_counts: float = 0.0
) -> ProjectionSet:
    """Read projections from a DataExchange or NXtomo file, a Zeiss ``.txrm`` or a TIFF folder and check them.

    Parameters
    ----------
    path : str or os.PathLike
        HDF5 file (NXtomo when it has an ``NXtomo`` entry, else DataExchange), ``.txrm``
        file (:func:`batteryct.io.zeiss.read_txrm`) or folder of TIFFs.
    pixel_size_um : float, optional
        Overrides the pixel size stored with the data, um.
    dark_counts : float, optional
        Dark level (counts) for files without dark frames (Zeiss, NXtomo without image key 2).

    Returns
    -------
    ProjectionSet
        Checked by :func:`check_projection_set`.

    Raises
    ------
    InputDataError
        If the data are unreadable or unusable, or no pixel size is known.
    """
    from batteryct.io import nxtomo, zeiss

    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        data = read_tiff_stack(path)
    elif suffix == ".txrm":
        data = zeiss.read_txrm(path, dark_counts=dark_counts)
    elif suffix in (".txm", ".xrm"):
        kind = (
            "a reconstructed volume: give it in the scans sheet's 'volume' column"
            if suffix == ".txm"
            else ("a single radiograph or a mosaic: give a mosaic in the samples sheet's 'mosaic' column")
        )
        raise InputDataError(f"{path}: a Zeiss {suffix} file is {kind}, not a tomography (.txrm)")
    elif nxtomo.is_nxtomo(path):
        data = nxtomo.read_nxtomo(path, dark_counts=dark_counts)
    else:
        data = read_dataexchange(path)
    if pixel_size_um is not None:
        data.pixel_size_um = float(pixel_size_um)
    if data.pixel_size_um is None:
        raise InputDataError(f"{path}: no pixel size in the file; give pixel_size_um in the scans sheet")
    check_projection_set(data)
    return data


def write_dataexchange(
    path: str | os.PathLike,
    projections: np.ndarray,
    flats: np.ndarray,
    darks: np.ndarray,
    theta_deg: np.ndarray,
    pixel_size_um: float,
) -> None:
    """Write raw data in the DataExchange layout (atomically, deterministic bytes).

    Parameters
    ----------
    path : str or os.PathLike
        Destination HDF5 file.
    projections, flats, darks : ndarray, (n, n_rows, n_columns)
        Counts (any dtype; stored as given).
    theta_deg : ndarray, (n_projections,)
        Angles in degrees.
    pixel_size_um : float
        Pixel size, um.
    """
    with atomic_h5(path) as f:
        ex = f.create_group("exchange")
        for name, arr in (("data", projections), ("data_white", flats), ("data_dark", darks)):
            ex.create_dataset(
                name,
                data=arr,
                chunks=(1,) + tuple(arr.shape[1:]),
                compression="gzip",
                compression_opts=4,
                track_times=False,
            )
        ex.create_dataset("theta", data=np.asarray(theta_deg, dtype=np.float64), track_times=False)
        ex["theta"].attrs["units"] = "degrees"
        det = f.create_group("measurement/instrument/detector")
        det.create_dataset("pixel_size_x", data=float(pixel_size_um), track_times=False)
        det["pixel_size_x"].attrs["units"] = "um"
        det.create_dataset("pixel_size_y", data=float(pixel_size_um), track_times=False)
        det["pixel_size_y"].attrs["units"] = "um"
        f.attrs["implements"] = "exchange:measurement"


def write_tiff_stack(
    folder: str | os.PathLike,
    projections: np.ndarray,
    flats: np.ndarray,
    darks: np.ndarray,
    theta_deg: np.ndarray,
    pixel_size_um: float | None = None,
) -> None:
    """Write a TIFF-folder scan readable by :func:`read_tiff_stack`.

    Parameters
    ----------
    folder : str or os.PathLike
        Destination folder (written under a temporary name, then renamed as a whole).
    projections, flats, darks : ndarray, (n, n_rows, n_columns)
        Counts, one TIFF per frame.
    theta_deg : ndarray, (n_projections,)
        Angles in degrees (``angles.csv``).
    pixel_size_um : float, optional
        Pixel size in um (``pixel_size_um.txt``).
    """
    import tifffile

    # the whole folder appears at once (a killed job leaves only a stale *.tmp folder)
    with atomic_path(folder, directory=True) as tmp:
        for prefix, stack in (("proj", projections), ("flat", flats), ("dark", darks)):
            for i, frame in enumerate(stack):
                tifffile.imwrite(tmp / f"{prefix}_{i:04d}.tif", frame)
        with open(tmp / "angles.csv", "w", newline="") as fh:
            fh.write("angle_deg\n")
            for a in theta_deg:
                fh.write(f"{float(a):.10g}\n")
        if pixel_size_um is not None:
            (tmp / "pixel_size_um.txt").write_text(f"{float(pixel_size_um):.10g}\n")


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, directory: bool = False):
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    The one way this library writes a file. Missing parent folders are created and stale
    temporary files of the same output (left by a killed job) are removed first. The
    temporary file is created inside the guarded block, so whatever fails (creating it,
    writing it, or the caller's code) removes it; a failed write never leaves a partial
    file at ``path``. The finished file gets the permissions a plain ``open`` would give
    (``0o666`` minus the umask), not the ``0o600`` of a temporary file.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file (or folder, with ``directory=True``).
    directory : bool, optional
        Yield an empty temporary folder instead of a file; an existing folder at ``path``
        is replaced on success (the rename of a folder is atomic too).

    Yields
    ------
    pathlib.Path
        The temporary file (or folder) to write; it exists, empty.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = (out.parent / "a.txt.x1y2z3.tmp").write_text("left by a killed job")
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("done")
    >>> sorted(p.name for p in out.parent.iterdir()), out.read_text()
    (['a.txt'], 'done')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(glob.escape(path.name) + ".*.tmp"):
        _remove(stale)
    tmp = None
    try:
        if directory:
            tmp = tempfile.mkdtemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        else:
            fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
            os.close(fd)
        yield Path(tmp)
        os.chmod(tmp, (0o777 if directory else 0o666) & ~_UMASK)
        if directory and path.is_dir():
            _remove(path)
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            _remove(Path(tmp))
        raise


def _remove(path: Path) -> None:
    """Remove a file or a folder tree, if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_h5(path: str | os.PathLike):
    """Open an HDF5 file for writing under a temporary name; rename on success.

    Parameters
    ----------
    path : str or os.PathLike
        Destination HDF5 file.

    Yields
    ------
    h5py.File
        The open file; it is closed, then renamed to ``path`` (or deleted on error).
    """
    with atomic_path(path) as tmp:
        f = h5py.File(tmp, "w", track_order=False)
        try:
            yield f
        finally:
            f.close()


def _chunks(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(min(s, 64) for s in shape)


def write_volume(path: str | os.PathLike, datasets: dict[str, np.ndarray], attrs: dict | None = None) -> None:
    """Write named arrays (and file attributes) to HDF5: chunked, gzip, no timestamps, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination HDF5 file.
    datasets : dict of str to ndarray
        Dataset name -> array.
    attrs : dict, optional
        File attributes (written in sorted order).
    """
    with atomic_h5(path) as f:
        for name, arr in datasets.items():
            arr = np.ascontiguousarray(arr)
            f.create_dataset(
                name,
                data=arr,
                chunks=_chunks(arr.shape) if arr.ndim else None,
                compression="gzip" if arr.ndim else None,
                compression_opts=4 if arr.ndim else None,
                shuffle=bool(arr.ndim),
                track_times=False,
            )
        for key, value in sorted((attrs or {}).items()):
            f.attrs[key] = value


def read_attrs(path: str | os.PathLike) -> dict:
    """Return the file attributes written by :func:`write_volume`.

    Parameters
    ----------
    path : str or os.PathLike
        The HDF5 file.

    Returns
    -------
    dict
        Attribute name -> value (numpy scalars as Python scalars).

    Raises
    ------
    InputDataError
        If the file does not exist.
    """
    path = str(path)
    if not os.path.isfile(path):
        raise InputDataError(f"{path}: file does not exist")
    with _open_h5(path) as f:
        return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}


def read_volume(path: str | os.PathLike, name: str = "volume") -> tuple[np.ndarray, dict]:
    """Read one dataset and the file attributes written by :func:`write_volume`.

    Parameters
    ----------
    path : str or os.PathLike
        The HDF5 file.
    name : str, optional
        Dataset name.

    Returns
    -------
    array : ndarray
        The dataset.
    attrs : dict
        The file attributes (see :func:`read_attrs`).

    Raises
    ------
    InputDataError
        If the file or the dataset does not exist.
    """
    path = str(path)
    if not os.path.isfile(path):
        raise InputDataError(f"{path}: file does not exist")
    with _open_h5(path) as f:
        if name not in f:
            raise InputDataError(f"{path}: no dataset {name!r} (has {sorted(f.keys())})")
        try:
            arr = f[name][...]
        except OSError as exc:
            raise InputDataError(f"{path}: dataset {name!r} unreadable ({exc})") from exc
        attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
    return arr, attrs


def write_table(path: str | os.PathLike, table) -> None:
    """Write a pandas DataFrame to parquet atomically, without the pandas index.

    Each field carries the data dictionary's unit and description
    (:func:`batteryct.columns.describe`) as field metadata ``unit`` and ``description``
    (deterministic: no time stamps); :func:`read_column_dictionary` reads them back.

    Parameters
    ----------
    path : str or os.PathLike
        Destination parquet file.
    table : DataFrame
        The table.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    fields = []
    for f in arrow.schema:
        unit, description = columns.describe(f.name)
        fields.append(f.with_metadata({b"unit": unit.encode(), b"description": description.encode()}))
    arrow = pa.Table.from_arrays(arrow.columns, schema=pa.schema(fields, metadata=arrow.schema.metadata))
    with atomic_path(path) as tmp:
        pq.write_table(arrow, tmp)


def read_column_dictionary(path: str | os.PathLike):
    """Read the unit and description of every column of a parquet table.

    Parameters
    ----------
    path : str or os.PathLike
        A parquet file written by :func:`write_table`.

    Returns
    -------
    DataFrame
        One row per column, in the table's order: ``column``, ``unit``, ``description``
        (``""`` where the file holds none).

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> write_table(path, pd.DataFrame({"sample": ["P1"], "porosity": [0.4]}))
    >>> read_column_dictionary(path)["unit"].tolist()
    ['', '1']
    """
    import pandas as pd
    import pyarrow.parquet as pq

    rows = []
    for f in pq.read_schema(path):
        meta = f.metadata or {}
        rows.append((f.name, meta.get(b"unit", b"").decode(), meta.get(b"description", b"").decode()))
    return pd.DataFrame(rows, columns=["column", "unit", "description"])


def read_labels(path: str | os.PathLike) -> np.ndarray:
    """Read a labelled volume: a multi-page TIFF, a folder of TIFF slices, or HDF5.

    Parameters
    ----------
    path : str or os.PathLike
        The file or folder; HDF5 paths may name the dataset as
        ``file.h5::/group/dataset`` (default dataset ``labels``).

    Returns
    -------
    ndarray of int, (z, y, x)
        The labels (integer-valued floats are converted to int64).

    Raises
    ------
    InputDataError
        If the file is missing or unreadable, or the labels are not a 3-D integer volume.
    """
    import tifffile

    text = str(path)
    file_part, _, dataset = text.partition("::")
    p = Path(file_part)
    if not p.exists():
        raise InputDataError(f"{p}: labels file does not exist")
    if p.is_dir():
        slices = sorted(p.glob("*.tif*"))
        if not slices:
            raise InputDataError(f"{p}: no TIFF slices in the labels folder")
        arr = _read_tiffs(slices)
    elif p.suffix.lower() in (".h5", ".hdf5", ".hdf"):
        with _open_h5(p) as f:
            name = dataset or "labels"
            if name not in f or not isinstance(f[name], h5py.Dataset):
                raise InputDataError(f"{p}: no dataset {name!r} (give file.h5::/path/to/dataset)")
            try:
                arr = f[name][...]
            except OSError as exc:
                raise InputDataError(f"{p}: dataset {name!r} unreadable ({exc})") from exc
    else:
        try:
            arr = tifffile.imread(p)
        except Exception as exc:  # noqa: BLE001 - re-raised with the path
            raise InputDataError(f"{p}: not a readable TIFF ({exc})") from exc
    if arr.ndim != 3:
        raise InputDataError(f"{text}: labels must be a 3-D volume, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise InputDataError(f"{text}: labels must be integers (got {arr.dtype} with non-integer values)")
        arr = arr.astype(np.int64)
    return arr


def read_reconstruction(path: str | os.PathLike) -> tuple[np.ndarray, float | None, list[str]]:
    """Read an existing reconstruction: a Zeiss ``.txm`` or an HDF5 dataset.

    Parameters
    ----------
    path : str or os.PathLike
        ``file.txm`` (:func:`batteryct.io.zeiss.read_txm`) or ``file.h5::/path/to/dataset``
        (default dataset ``volume``).

    Returns
    -------
    volume : numpy.ndarray of float32, (z, y, x)
        Grey values as stored.
    voxel_size_um : float or None
        From the file (``.txm`` ``PixelSize``; HDF5 attribute ``voxel_size_um`` of the
        dataset or the file), None when it holds none.
    notes : list of str
        Remarks made while reading.

    Raises
    ------
    InputDataError
        If the file or dataset is missing or not a finite 3-D volume.
    """
    from batteryct.io import zeiss

    text = str(path)
    file_part, _, dataset = text.partition("::")
    p = Path(file_part)
    if not p.is_file():
        raise InputDataError(f"{p}: volume file does not exist")
    if p.suffix.lower() == ".txm":
        volume, info = zeiss.read_txm(p)
        return volume, info.pixel_size_um, info.notes
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise InputDataError(f"{p}: neither a Zeiss .txm nor a readable HDF5 file ({exc})") from exc
    with f:
        name = dataset or "volume"
        if name not in f:
            raise InputDataError(f"{p}: no dataset {name!r} (give file.h5::/path/to/dataset)")
        ds = f[name]
        volume = np.asarray(ds[...], dtype=np.float32)
        size = ds.attrs.get("voxel_size_um", f.attrs.get("voxel_size_um"))
    if volume.ndim != 3:
        raise InputDataError(f"{text}: a volume must be 3-D, got shape {volume.shape}")
    if not np.all(np.isfinite(volume)):
        raise InputDataError(f"{text}: the volume contains NaN or infinite values")
    return volume, (None if size is None else float(np.ravel(size)[0])), []


def voxel_size_um(attrs: dict):
    """Return the voxel size stored in a volume's attributes.

    Parameters
    ----------
    attrs : dict
        Attributes with ``voxel_size_um`` (one value or three).

    Returns
    -------
    float or tuple of 3 floats
        A float for cubic voxels, else ``(dz, dy, dx)``, in um.

    Raises
    ------
    InputDataError
        If there are neither one nor three values.
    """
    v = np.atleast_1d(np.asarray(attrs["voxel_size_um"], dtype=float))
    if v.size == 1 or np.all(v == v[0]):
        return float(v[0])
    if v.size != 3:
        raise InputDataError(f"voxel_size_um must be one value or three (z, y, x), got {v.tolist()}")
    return tuple(float(x) for x in v)


def voxel_size_columns(voxel_size) -> dict:
    """Return the table columns of a voxel size.

    Parameters
    ----------
    voxel_size : float or (dz, dy, dx)
        Voxel size, um.

    Returns
    -------
    dict
        ``voxel_size_um`` (the edge of cubic voxels; NaN for non-cubic ones) and
        ``voxel_size_{z,y,x}_um``.
    """
    v = np.broadcast_to(np.asarray(voxel_size, dtype=float), (3,))
    cubic = bool(np.all(v == v[0]))
    return {
        "voxel_size_um": float(v[0]) if cubic else float("nan"),
        "voxel_size_z_um": float(v[0]),
        "voxel_size_y_um": float(v[1]),
        "voxel_size_x_um": float(v[2]),
    }


# --------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------
def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write bytes to a file atomically: a temporary file in the same folder, then a rename.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; missing parent folders are created.
    data : bytes
        The complete file contents.

    Notes
    -----
    A failed write leaves neither a partial file at ``path`` nor the temporary file.
    """
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_png(path: str | os.PathLike, image_uint8: np.ndarray) -> None:
    """Write an 8-bit image as PNG, atomically and with deterministic bytes.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    image_uint8 : numpy.ndarray of uint8
        Greyscale ``(rows, columns)`` or RGB(A) ``(rows, columns, 3 or 4)``.

    Raises
    ------
    ValueError
        If the array is not uint8 or has another shape.

    Notes
    -----
    Pillow writes the PNG without a time stamp or any other chunk that varies between runs.
    """
    image = np.asarray(image_uint8)
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise ValueError(
            f"image must be uint8 (rows, columns) or (rows, columns, 3 or 4), got {image.dtype} {image.shape}"
        )
    buf = BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


# --------------------------------------------------------------------------------------
# Radiograph mosaics
# --------------------------------------------------------------------------------------
# HDF5 layout (write_mosaic_h5):
#
#     /tiles               uint16 (n, h, w)  raw counts, one gzip chunk per tile
#     /stage_position_um   float64 (n, 2)    (y, x) of each tile's top-left pixel centre, um
#     /tile_grid           int32 (n, 2)      (row, col) of each tile (optional; row-major when absent)
#     attrs: pixel_size_um (float), n_rows (int), n_cols (int)
#     /truth               (simulated data only; never read by the stitcher)
#         position_px      float64 (n, 2)    true positions, px, simulator frame
#         gain             float64 (n,)      true per-tile gains
#         particles/{y_um, x_um, diameter_um}  float64 sphere centres and diameters, um
#         attrs: the simulator's parameters
#
# TIFF folder (write_mosaic_tiffs): tile_000.tif, tile_001.tif, ... (one 2-D image per tile),
# positions.csv (columns tile, row, col, y_um, x_um) and pixel_size_um.txt (one number, um;
# optional when the reader is given the pixel size).
MOSAIC_POSITION_COLUMNS = ("tile", "row", "col", "y_um", "x_um")


def grid_indices(n_rows: int, n_cols: int) -> np.ndarray:
    """Return the (row, col) of every tile of a row-major grid.

    Parameters
    ----------
    n_rows, n_cols : int
        Grid shape.

    Returns
    -------
    numpy.ndarray of int32, shape (n_rows * n_cols, 2)
        Tile ``k`` is at row ``k // n_cols``, column ``k % n_cols``.

    Examples
    --------
    >>> grid_indices(2, 2).tolist()
    [[0, 0], [0, 1], [1, 0], [1, 1]]
    """
    r, c = np.divmod(np.arange(n_rows * n_cols), n_cols)
    return np.stack([r, c], axis=1).astype(np.int32)


@dataclass
class MosaicData:
    """Tiles of a radiograph mosaic with their stage positions, as read from a file.

    Attributes
    ----------
    tiles : numpy.ndarray, shape (n_tiles, h, w)
        Raw counts as stored (uint16 normally).
    stage_position_um : numpy.ndarray of float64, shape (n_tiles, 2)
        (y, x) of each tile's top-left pixel centre, µm.
    pixel_size_um : float
        Pixel size at the sample, µm.
    n_rows, n_cols : int
        Grid shape.
    grid : numpy.ndarray of int32, shape (n_tiles, 2)
        (row, col) of each tile.
    source : str
        Path read (for messages).
    """

    tiles: np.ndarray
    stage_position_um: np.ndarray
    pixel_size_um: float
    n_rows: int
    n_cols: int
    grid: np.ndarray
    source: str = ""


def check_mosaic(data: MosaicData) -> None:
    """Check that a mosaic read from a file is usable.

    Parameters
    ----------
    data : MosaicData
        The mosaic.

    Raises
    ------
    InputDataError
        If the tiles are not a 3-D stack, positions are missing, not finite or do not match
        the tiles, the pixel size is not positive, or the grid has missing or duplicated cells.
    """
    src = data.source
    if data.tiles.ndim != 3:
        raise InputDataError(f"{src}: tiles must be 3-D (n, rows, columns), got shape {data.tiles.shape}")
    n = data.tiles.shape[0]
    if n == 0:
        raise InputDataError(f"{src}: no tiles")
    pos = data.stage_position_um
    if pos.ndim != 2 or pos.shape[1] != 2:
        raise InputDataError(f"{src}: stage positions must be (n, 2) (y, x), got shape {pos.shape}")
    if pos.shape[0] != n:
        raise InputDataError(f"{src}: {pos.shape[0]} stage positions for {n} tiles")
    bad = np.flatnonzero(~np.all(np.isfinite(pos), axis=1))
    if bad.size:
        raise InputDataError(f"{src}: non-finite stage positions (NaN or infinity) for tiles {bad.tolist()}")
    if not (data.pixel_size_um is not None and np.isfinite(data.pixel_size_um) and data.pixel_size_um > 0):
        raise InputDataError(f"{src}: pixel size {data.pixel_size_um} um is not a positive number")
    if n != data.n_rows * data.n_cols:
        raise InputDataError(f"{src}: {n} tiles for a {data.n_rows} x {data.n_cols} grid: missing tile(s)")
    grid = data.grid
    if grid.shape != (n, 2):
        raise InputDataError(f"{src}: tile grid must be (n, 2) (row, col), got shape {grid.shape}")
    cells = {(int(r), int(c)) for r, c in grid}
    expected = {(r, c) for r in range(data.n_rows) for c in range(data.n_cols)}
    if cells != expected:
        missing = sorted(expected - cells)
        raise InputDataError(
            f"{src}: grid cells without a tile (row, col): {missing[:10]}"
            + (" (duplicated or out-of-grid entries)" if not missing else "")
        )


def write_mosaic_h5(
    path: str | os.PathLike,
    tiles: np.ndarray,
    stage_position_um: np.ndarray,
    pixel_size_um: float,
    n_rows: int,
    n_cols: int,
    grid: np.ndarray | None = None,
    truth: dict | None = None,
) -> None:
    """Write a radiograph mosaic to HDF5 (atomically, deterministic bytes).

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    tiles : numpy.ndarray, shape (n, h, w)
        Raw counts (stored as given; uint16 normally).
    stage_position_um : numpy.ndarray, shape (n, 2)
        (y, x) of each tile's top-left pixel centre, µm.
    pixel_size_um : float
        Pixel size at the sample, µm.
    n_rows, n_cols : int
        Grid shape.
    grid : numpy.ndarray, shape (n, 2), optional
        (row, col) of each tile; row-major (:func:`grid_indices`) when omitted.
    truth : dict, optional
        Ground truth of a simulated mosaic, written to the group ``/truth``, with the keys
        of :func:`read_mosaic_truth`: ``position_px`` (n, 2) and ``gain`` (n,) arrays,
        ``particles`` (a table with columns ``y_um, x_um, diameter_um``) and ``params``
        (a dict of scalars, stored as attributes).

    Notes
    -----
    Layout: ``/tiles`` (one gzip chunk per tile), ``/stage_position_um``, ``/tile_grid``
    (int32), file attributes ``pixel_size_um``, ``n_rows``, ``n_cols``; the optional group
    ``/truth`` holds ``position_px``, ``gain``, ``particles/{y_um, x_um, diameter_um}`` and
    the simulator's parameters as attributes (it is never read by the stitcher).
    """
    tiles = np.ascontiguousarray(tiles)
    grid = grid_indices(n_rows, n_cols) if grid is None else np.asarray(grid, dtype=np.int32)
    with atomic_h5(path) as f:
        f.create_dataset(
            "tiles",
            data=tiles,
            chunks=(1,) + tiles.shape[1:],
            compression="gzip",
            compression_opts=4,
            shuffle=True,
            track_times=False,
        )
        f.create_dataset("stage_position_um", data=np.asarray(stage_position_um, dtype=np.float64), track_times=False)
        f["stage_position_um"].attrs["units"] = "um"
        f["stage_position_um"].attrs["columns"] = "y, x"
        f.create_dataset("tile_grid", data=grid, track_times=False)
        f["tile_grid"].attrs["columns"] = "row, col"
        f.attrs["pixel_size_um"] = float(pixel_size_um)
        f.attrs["n_rows"] = int(n_rows)
        f.attrs["n_cols"] = int(n_cols)
        if truth is not None:
            g = f.create_group("truth")
            g.create_dataset("position_px", data=truth["position_px"], track_times=False)
            g.create_dataset("gain", data=truth["gain"], track_times=False)
            pg = g.create_group("particles")
            for col in ("y_um", "x_um", "diameter_um"):
                pg.create_dataset(col, data=np.asarray(truth["particles"][col], dtype=np.float64), track_times=False)
            for key, value in sorted(truth["params"].items()):
                g.attrs[key] = value


def read_mosaic_h5(path: str | os.PathLike) -> MosaicData:
    """Read and check a mosaic written by :func:`write_mosaic_h5`.

    Parameters
    ----------
    path : str or os.PathLike
        HDF5 file.

    Returns
    -------
    MosaicData
        Without ``/tile_grid`` the tiles are taken to be in row-major order.

    Raises
    ------
    InputDataError
        If the file is missing or unreadable, lacks a dataset or attribute, or the mosaic
        fails :func:`check_mosaic`.
    """
    path = str(path)
    if not os.path.isfile(path):
        raise InputDataError(f"{path}: mosaic file does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputDataError(f"{path}: not a readable HDF5 file ({exc})") from exc
    with f:
        missing = [k for k in ("tiles", "stage_position_um") if k not in f]
        missing += [f"attribute {k}" for k in ("pixel_size_um", "n_rows", "n_cols") if k not in f.attrs]
        if missing:
            raise InputDataError(f"{path}: missing " + ", ".join(missing))
        tiles = f["tiles"][...]
        pos = np.asarray(f["stage_position_um"][...], dtype=np.float64)
        n_rows, n_cols = int(f.attrs["n_rows"]), int(f.attrs["n_cols"])
        grid = (
            np.asarray(f["tile_grid"][...], dtype=np.int32)
            if "tile_grid" in f
            else grid_indices(n_rows, n_cols)[: tiles.shape[0] if tiles.ndim else 0]
        )
        data = MosaicData(
            tiles=tiles,
            stage_position_um=pos,
            pixel_size_um=float(f.attrs["pixel_size_um"]),
            n_rows=n_rows,
            n_cols=n_cols,
            grid=grid,
            source=path,
        )
    check_mosaic(data)
    return data


def read_mosaic_truth(path: str | os.PathLike) -> dict:
    """Read the ground truth of a simulated mosaic file (group ``/truth``).

    Parameters
    ----------
    path : str or os.PathLike
        HDF5 file written by :func:`write_mosaic_h5` with ``truth``.

    Returns
    -------
    dict
        ``position_px`` (n, 2) true tile positions, px, simulator frame (origin at the
        nominal position of tile 0); ``gain`` (n,) true per-tile gains; ``particles``, a
        DataFrame of ``y_um, x_um, diameter_um`` (sphere centres and diameters, µm,
        simulator frame); ``params``, the simulator's parameters.

    Raises
    ------
    InputDataError
        If the file has no ``/truth`` group.
    """
    with h5py.File(path, "r") as f:
        if "truth" not in f:
            raise InputDataError(f"{path}: no /truth group (not a simulated mosaic)")
        g = f["truth"]
        return {
            "position_px": g["position_px"][...],
            "gain": g["gain"][...],
            "particles": pd.DataFrame({k: g["particles"][k][...] for k in ("y_um", "x_um", "diameter_um")}),
            "params": {k: (v.item() if isinstance(v, np.generic) else v) for k, v in g.attrs.items()},
        }


def tile_filename(index: int) -> str:
    """Return the file name of tile ``index`` in a mosaic TIFF folder.

    Parameters
    ----------
    index : int
        Tile number.

    Returns
    -------
    str
        ``tile_000.tif`` style (at least three digits).

    Examples
    --------
    >>> tile_filename(7)
    'tile_007.tif'
    """
    return f"tile_{index:03d}.tif"


def write_mosaic_tiffs(
    folder: str | os.PathLike,
    tiles: np.ndarray,
    stage_position_um: np.ndarray,
    pixel_size_um: float | None,
    n_rows: int,
    n_cols: int,
    grid: np.ndarray | None = None,
) -> None:
    """Write a mosaic as a TIFF folder: ``tile_000.tif ...``, ``positions.csv``, ``pixel_size_um.txt``.

    Parameters
    ----------
    folder : str or os.PathLike
        Destination folder (created when missing); each file is written atomically.
    tiles : numpy.ndarray, shape (n, h, w)
        Raw counts, one 2-D TIFF per tile.
    stage_position_um : numpy.ndarray, shape (n, 2)
        (y, x) of each tile's top-left pixel centre, µm.
    pixel_size_um : float or None
        Pixel size at the sample, µm; ``None`` writes no ``pixel_size_um.txt``.
    n_rows, n_cols : int
        Grid shape.
    grid : numpy.ndarray, shape (n, 2), optional
        (row, col) of each tile; row-major when omitted.

    Notes
    -----
    ``positions.csv`` has the columns ``tile, row, col, y_um, x_um``; positions and the
    pixel size are written with 17 significant digits (exact float64 round trip).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    grid = grid_indices(n_rows, n_cols) if grid is None else np.asarray(grid)
    for k, tile in enumerate(tiles):
        buf = BytesIO()
        tifffile.imwrite(buf, np.asarray(tile))
        atomic_write_bytes(folder / tile_filename(k), buf.getvalue())
    lines = [",".join(MOSAIC_POSITION_COLUMNS)]
    for k, ((r, c), (y, x)) in enumerate(zip(grid, np.asarray(stage_position_um, dtype=np.float64))):
        lines.append(f"{k},{int(r)},{int(c)},{float(y):.17g},{float(x):.17g}")
    atomic_write_bytes(folder / "positions.csv", ("\n".join(lines) + "\n").encode())
    if pixel_size_um is not None:
        atomic_write_bytes(folder / "pixel_size_um.txt", f"{float(pixel_size_um):.17g}\n".encode())


def _read_mosaic_positions_csv(csv_path: Path) -> pd.DataFrame:
    """Read and check ``positions.csv`` of a mosaic TIFF folder, sorted by tile."""
    if not csv_path.is_file():
        raise InputDataError(f"{csv_path}: positions file is missing")
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    need = MOSAIC_POSITION_COLUMNS
    if not rows:
        raise InputDataError(f"{csv_path}: no positions")
    absent = [c for c in need if c not in rows[0]]
    if absent:
        raise InputDataError(f"{csv_path}: missing column(s) {absent} (needs {', '.join(need)})")
    out = {c: [] for c in need}
    for line, r in enumerate(rows, start=2):
        try:
            for c in ("tile", "row", "col"):
                out[c].append(int(r[c]))
            for c in ("y_um", "x_um"):
                out[c].append(float(r[c]))
        except (TypeError, ValueError) as exc:
            raise InputDataError(f"{csv_path}: line {line}: not a number ({exc})") from exc
    table = pd.DataFrame(out)
    bad = table.loc[~np.isfinite(table[["y_um", "x_um"]].to_numpy()).all(axis=1), "tile"]
    if len(bad):
        raise InputDataError(f"{csv_path}: non-finite position (NaN or infinity) for tile(s) {bad.tolist()}")
    dup = table["tile"][table["tile"].duplicated()]
    if len(dup):
        raise InputDataError(f"{csv_path}: tile(s) listed twice: {sorted(set(dup.tolist()))}")
    return table.sort_values("tile", kind="stable").reset_index(drop=True)


def read_mosaic_tiffs(folder: str | os.PathLike, pixel_size_um: float | None = None) -> MosaicData:
    """Read and check a mosaic TIFF folder written by :func:`write_mosaic_tiffs`.

    Parameters
    ----------
    folder : str or os.PathLike
        Folder of ``tile_*.tif``, ``positions.csv`` and (optionally) ``pixel_size_um.txt``.
    pixel_size_um : float, optional
        Pixel size at the sample, µm; overrides ``pixel_size_um.txt`` (required when that
        file is absent).

    Returns
    -------
    MosaicData
        Grid shape from the largest row and column in ``positions.csv``.

    Raises
    ------
    InputDataError
        If the folder, a listed tile, ``positions.csv`` or the pixel size is missing or
        unusable, tiles differ in shape, or the mosaic fails :func:`check_mosaic`.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputDataError(f"{folder}: mosaic folder does not exist")
    table = _read_mosaic_positions_csv(folder / "positions.csv")
    files = sorted(p.name for p in folder.glob("tile_*.tif"))
    for t in table["tile"]:
        name = tile_filename(int(t))
        if not (folder / name).is_file():
            raise InputDataError(f"{folder / name}: tile {int(t)} listed in positions.csv is missing")
    if len(files) != len(table):
        raise InputDataError(
            f"{folder / 'positions.csv'}: {len(table)} positions for {len(files)} tile files (tile_*.tif)"
        )
    if table["tile"].tolist() != list(range(len(table))):
        raise InputDataError(f"{folder / 'positions.csv'}: tiles must be numbered 0..{len(table) - 1}")
    frames, shape0 = [], None
    for t in table["tile"]:
        p = folder / tile_filename(int(t))
        fr = tifffile.imread(p)
        if fr.ndim != 2:
            raise InputDataError(f"{p}: a tile must be a 2-D image, got shape {fr.shape}")
        if shape0 is None:
            shape0 = fr.shape
        elif fr.shape != shape0:
            raise InputDataError(
                f"{p}: tile of shape {fr.shape}, {tile_filename(0)} has {shape0}: tiles of different shapes"
            )
        frames.append(fr)
    if pixel_size_um is None:
        px_file = folder / "pixel_size_um.txt"
        if not px_file.is_file():
            raise InputDataError(f"{px_file}: missing, and no pixel size given")
        try:
            pixel_size_um = float(px_file.read_text().strip())
        except ValueError as exc:
            raise InputDataError(f"{px_file}: not a number ({exc})") from exc
    grid = table[["row", "col"]].to_numpy(np.int32)
    data = MosaicData(
        tiles=np.stack(frames),
        stage_position_um=table[["y_um", "x_um"]].to_numpy(np.float64),
        pixel_size_um=float(pixel_size_um),
        n_rows=int(grid[:, 0].max()) + 1,
        n_cols=int(grid[:, 1].max()) + 1,
        grid=grid,
        source=str(folder),
    )
    check_mosaic(data)
    return data


def read_mosaic(path: str | os.PathLike, pixel_size_um: float | None = None) -> MosaicData:
    """Read and check a mosaic from an HDF5 file, a TIFF folder or a Zeiss mosaic.

    Parameters
    ----------
    path : str or os.PathLike
        HDF5 file (:func:`read_mosaic_h5`), folder (:func:`read_mosaic_tiffs`) or Zeiss
        ``.xrm``/``.txrm`` mosaic (:func:`batteryct.io.zeiss.read_zeiss_mosaic`).
    pixel_size_um : float, optional
        Pixel size at the sample, µm; overrides the one stored with the data.

    Returns
    -------
    MosaicData

    Raises
    ------
    InputDataError
        If the data are missing or unusable.
    """
    from batteryct.io import zeiss

    path = Path(path)
    if path.is_dir():
        data = read_mosaic_tiffs(path, pixel_size_um)
    elif path.suffix.lower() in (".xrm", ".txrm"):
        data = zeiss.read_zeiss_mosaic(path)
    else:
        data = read_mosaic_h5(path)
    if pixel_size_um is not None:
        data.pixel_size_um = float(pixel_size_um)
        check_mosaic(data)
    return data


# --------------------------------------------------------------------------------------
# Named arrays (.npz)
# --------------------------------------------------------------------------------------
def write_npz(path: str | os.PathLike, arrays: dict) -> None:
    """Write named arrays to a compressed ``.npz`` file, atomically and with deterministic bytes.

    Parameters
    ----------
    path : str or os.PathLike
        Destination, written as given (no ``.npz`` suffix is appended); missing parent
        folders are created.
    arrays : dict of str -> array_like
        The arrays, stored as ``<name>.npy`` members in the order of the dict (read them
        back with ``dict(np.load(path))``).

    Notes
    -----
    The bytes are those of :func:`numpy.savez_compressed`, whose zip members carry the
    fixed zip epoch as their date (no time stamp, no file name of the archive), so equal
    arrays give equal files. The file is written through :func:`atomic_write_bytes`.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "arrays.npz"
    ...     write_npz(path, {"a": np.arange(3), "b": np.eye(2)})
    ...     d = dict(np.load(path))
    >>> sorted(d), d["a"].tolist()
    (['a', 'b'], [0, 1, 2])
    """
    buf = BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


# --------------------------------------------------------------------------------------
# Transport box and particle partition (rules transport_contacts, transport_value, transport_sample)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TransportBox:
    """The part of a segmentation file that the transport metrics use.

    Attributes
    ----------
    labels : numpy.ndarray of uint8, (z, y, x)
        Hard labels of the box.
    posteriors : numpy.ndarray, (n_classes, z, y, x), or None
        Class probabilities of the box; None for imported labels, when the file holds
        none, or when they were not asked for.
    class_codes : numpy.ndarray or None
        Label code of each posterior class (file attribute ``posterior_class_codes``).
    voxel_size_um : float or tuple of 3 float
        Voxel size in µm (:func:`voxel_size_um`).
    """

    labels: np.ndarray
    posteriors: np.ndarray | None
    class_codes: np.ndarray | None
    voxel_size_um: float | tuple


def read_transport_box(path: str | os.PathLike, crop, *, posteriors: bool = True) -> TransportBox:
    """Read the transport box of a segmentation file.

    Parameters
    ----------
    path : str or os.PathLike
        Segmentation HDF5 file (datasets ``labels`` and optionally ``posteriors``).
    crop : callable
        ``crop(shape) -> tuple of 3 slices``: the box of a reconstructed scan of label
        shape ``(nz, ny, nx)`` (e.g. :func:`batteryct.fov.box_roi` with the radius
        fraction bound). Imported label volumes (file attribute ``roi = "box"``) are used
        whole and have no posteriors.
    posteriors : bool, optional
        Also read the posteriors of the box.

    Returns
    -------
    TransportBox
        Labels, posteriors (or None), class codes and voxel size (µm).

    Raises
    ------
    InputDataError
        If the file or its ``labels`` dataset does not exist.
    """
    labels, attrs = read_volume(path, "labels")
    post = None
    if attrs.get("roi") != "box":
        box = tuple(crop(labels.shape))
        labels = labels[box]
        if posteriors:
            try:
                post = read_volume(path, "posteriors")[0][(slice(None),) + box]
            except InputDataError:
                post = None
    return TransportBox(labels, post, attrs.get("posterior_class_codes"), voxel_size_um(attrs))


@dataclass(frozen=True)
class ContactPartition:
    """Active particle partition of a transport box (rule ``transport_contacts``).

    Attributes
    ----------
    instances : numpy.ndarray of int, (z, y, x), or None
        Particle ids of the hard labels' active phase; None: no active phase.
    grown_instances : numpy.ndarray of int, (z, y, x), or None
        The same ids grown into the surroundings (for the posterior samples).
    """

    instances: np.ndarray | None
    grown_instances: np.ndarray | None


def write_contact_partition(path: str | os.PathLike, instances, grown_instances) -> None:
    """Write a particle partition and its growth to HDF5 (atomically, via :func:`write_volume`).

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    instances, grown_instances : numpy.ndarray of int, (z, y, x), or None
        The partition and its growth; ``instances = None`` writes a file without
        datasets that says "no contact resistance".
    """
    if instances is None:
        write_volume(path, {}, {"contact_partition": "none"})
    else:
        write_volume(
            path, {"instances": instances, "grown_instances": grown_instances}, {"contact_partition": "particles"}
        )


def read_contact_partition(path: str | os.PathLike, shape) -> ContactPartition:
    """Read the particle partition written by :func:`write_contact_partition`.

    Parameters
    ----------
    path : str or os.PathLike
        The partition file.
    shape : tuple of int
        Shape of the transport box the arrays must have.

    Returns
    -------
    ContactPartition
        Both fields None for a box without active phase.

    Raises
    ------
    InputDataError
        If the file does not exist or its arrays do not have ``shape``.
    """
    if read_attrs(path).get("contact_partition") == "none":
        return ContactPartition(None, None)
    instances, _ = read_volume(path, "instances")
    grown, _ = read_volume(path, "grown_instances")
    if instances.shape != tuple(shape) or grown.shape != tuple(shape):
        raise InputDataError(f"{path}: particle partition of shape {instances.shape}, the labels box is {tuple(shape)}")
    return ContactPartition(instances, grown)


def _read_numeric_csv(path, columns: tuple[str, ...]):
    """Read ``columns`` of a CSV as float64; :class:`InputDataError` names the file and the column."""
    import pandas

    path = Path(path)
    try:
        df = pandas.read_csv(path)
    except FileNotFoundError:
        raise InputDataError(f"{path}: file not found") from None
    except (pandas.errors.ParserError, pandas.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputDataError(f"{path}: not a readable CSV ({exc})") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputDataError(f"{path}: missing column(s) {', '.join(missing)} (found {', '.join(df.columns)})")
    out = {}
    for c in columns:
        vals = pandas.to_numeric(df[c], errors="coerce")
        bad = vals.isna() | ~np.isfinite(vals.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputDataError(
                f"{path}: column {c} has a non-numeric, NaN or infinite value in data row {row + 1} "
                f"({df[c].iloc[row]!r})"
            )
        out[c] = vals.to_numpy(dtype=np.float64)
    if len(df) < 2:
        raise InputDataError(f"{path}: needs at least 2 rows, got {len(df)}")
    return pandas.DataFrame(out)


def read_gitt_csv(path: str | os.PathLike):
    """Read a GITT record: a CSV with columns ``time_s``, ``current_A``, ``voltage_V``.

    Extra columns are ignored. Conventions of :mod:`batteryct.diffusion`: positive current =
    discharge (lithiation of the cathode); ``current_A[i]`` flows during ``(t[i-1], t[i]]``.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.

    Returns
    -------
    pandas.DataFrame
        The three columns as float64.

    Raises
    ------
    InputDataError
        Naming the file and the problem: missing column, non-numeric or NaN values (with the
        column and row), fewer than 2 rows, time not strictly increasing, a current that never
        switches (constant).
    """
    df = _read_numeric_csv(path, ("time_s", "current_A", "voltage_V"))
    t = df["time_s"].to_numpy()
    bad = np.flatnonzero(np.diff(t) <= 0)
    if bad.size:
        raise InputDataError(
            f"{path}: column time_s is not strictly increasing (data row {bad[0] + 2}: {t[bad[0] + 1]!r})"
        )
    cur = df["current_A"].to_numpy()
    if np.ptp(cur) <= 1e-12 * max(float(np.max(np.abs(cur))), 1e-300):
        raise InputDataError(f"{path}: column current_A never switches (constant {cur[0]!r} A): no pulse to analyse")
    return df


def read_eis_csv(path: str | os.PathLike):
    """Read an impedance spectrum: a CSV with columns ``frequency_Hz``, ``z_real_ohm``, ``z_imag_ohm``.

    Extra columns are ignored; the sign convention of ``z_imag_ohm`` is the file's (no flip).

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.

    Returns
    -------
    pandas.DataFrame
        The three columns as float64, in file order.

    Raises
    ------
    InputDataError
        Naming the file and the problem: missing column, non-numeric or NaN values (with the
        column and row), fewer than 2 rows, a frequency that is not positive.
    """
    df = _read_numeric_csv(path, ("frequency_Hz", "z_real_ohm", "z_imag_ohm"))
    f = df["frequency_Hz"].to_numpy()
    bad = np.flatnonzero(f <= 0)
    if bad.size:
        raise InputDataError(f"{path}: column frequency_Hz must be positive (data row {bad[0] + 1}: {f[bad[0]]!r})")
    return df
