"""Reading and writing projections, volumes and tables.

Projection files are read into one model, :class:`ProjectionSet`, whatever their layout:

* DataExchange HDF5: ``/exchange/data`` (projections), ``/exchange/data_white`` (flats),
  ``/exchange/data_dark`` (darks), ``/exchange/theta`` (degrees). The pixel size is read
  from ``/measurement/instrument/detector/pixel_size_x`` (um) when present.
* A folder of TIFFs: ``proj_*.tif`` (one per angle, sorted by name), ``flat_*.tif``,
  ``dark_*.tif`` and ``angles.csv`` with a column ``angle_deg``; an optional
  ``pixel_size_um.txt`` holds the pixel size.

Volumes and labels are written to HDF5 with chunking, gzip and no timestamps, so two
runs give byte-identical files. Tables are parquet.
"""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

PIXEL_SIZE_PATHS = (
    "/measurement/instrument/detector/pixel_size_x",
    "/measurement/instrument/detection_system/objective/resolution",
)


class InputDataError(ValueError):
    """Raised when input data are unusable; the message names the file and the problem."""


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
    """

    projections: np.ndarray
    flats: np.ndarray
    darks: np.ndarray
    theta_rad: np.ndarray
    pixel_size_um: float | None = None
    source: str = ""
    notes: list[str] = field(default_factory=list)


def check_projection_set(data: ProjectionSet) -> None:
    """Raise :class:`InputDataError` when shapes, angles or values are unusable."""
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
    """Read a DataExchange HDF5 file (angles stored in degrees)."""
    path = str(path)
    if not os.path.isfile(path):
        raise InputDataError(f"{path}: projections file does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputDataError(f"{path}: not a readable HDF5 file ({exc})") from exc
    with f:
        missing = [k for k in ("data", "data_white", "data_dark", "theta") if f"/exchange/{k}" not in f]
        if missing:
            raise InputDataError(
                f"{path}: DataExchange datasets missing: " + ", ".join(f"/exchange/{k}" for k in missing)
            )
        data = ProjectionSet(
            projections=np.asarray(f["/exchange/data"][...], dtype=np.float32),
            flats=np.asarray(f["/exchange/data_white"][...], dtype=np.float32),
            darks=np.asarray(f["/exchange/data_dark"][...], dtype=np.float32),
            theta_rad=np.deg2rad(np.asarray(f["/exchange/theta"][...], dtype=np.float64)),
            pixel_size_um=_read_pixel_size_h5(f),
            source=path,
        )
    return data


def _read_tiffs(paths: list[Path]) -> np.ndarray:
    import tifffile

    frames = [tifffile.imread(p) for p in paths]
    shapes = {fr.shape for fr in frames}
    if len(shapes) != 1:
        raise InputDataError(f"{paths[0].parent}: TIFF frames have different shapes {sorted(shapes)}")
    return np.stack(frames).astype(np.float32)


def read_tiff_stack(folder: str | os.PathLike) -> ProjectionSet:
    """Read a folder of ``proj_*.tif``, ``flat_*.tif``, ``dark_*.tif`` and ``angles.csv``."""
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
    with open(angles_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "angle_deg" not in rows[0]:
        raise InputDataError(f"{angles_csv}: needs a column 'angle_deg'")
    try:
        theta_deg = np.array([float(r["angle_deg"]) for r in rows])
    except ValueError as exc:
        raise InputDataError(f"{angles_csv}: non-numeric angle ({exc})") from exc
    pixel_size_um = None
    px_file = folder / "pixel_size_um.txt"
    if px_file.is_file():
        pixel_size_um = float(px_file.read_text().strip())
    return ProjectionSet(
        projections=_read_tiffs(groups["proj"]),
        flats=_read_tiffs(groups["flat"]),
        darks=_read_tiffs(groups["dark"]),
        theta_rad=np.deg2rad(theta_deg),
        pixel_size_um=pixel_size_um,
        source=str(folder),
    )


def read_projections(path: str | os.PathLike, pixel_size_um: float | None = None) -> ProjectionSet:
    """Read projections from a DataExchange file or a TIFF folder and check them.

    Parameters
    ----------
    path : path
        HDF5 file or folder of TIFFs.
    pixel_size_um : float, optional
        Overrides the pixel size stored with the data.
    """
    path = Path(path)
    data = read_tiff_stack(path) if path.is_dir() else read_dataexchange(path)
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
    """Write raw data in the DataExchange layout (deterministic bytes)."""
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
    """Write a TIFF-folder scan readable by :func:`read_tiff_stack`."""
    import tifffile

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, stack in (("proj", projections), ("flat", flats), ("dark", darks)):
        for i, frame in enumerate(stack):
            tifffile.imwrite(folder / f"{prefix}_{i:04d}.tif", frame)
    with open(folder / "angles.csv", "w", newline="") as fh:
        fh.write("angle_deg\n")
        for a in theta_deg:
            fh.write(f"{float(a):.10g}\n")
    if pixel_size_um is not None:
        (folder / "pixel_size_um.txt").write_text(f"{float(pixel_size_um):.10g}\n")


class atomic_h5:
    """Open an HDF5 file for writing under a temporary name; rename on success.

    A failed write never leaves a partial file at ``path``.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __enter__(self) -> h5py.File:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        self.file = h5py.File(self.tmp, "w", track_order=False)
        return self.file

    def __exit__(self, exc_type, exc, tb) -> None:
        self.file.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def _chunks(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(min(s, 64) for s in shape)


def write_volume(path: str | os.PathLike, datasets: dict[str, np.ndarray], attrs: dict | None = None) -> None:
    """Write named arrays (and file attributes) to HDF5: chunked, gzip, no timestamps."""
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
    """The file attributes written by :func:`write_volume`."""
    path = str(path)
    if not os.path.isfile(path):
        raise InputDataError(f"{path}: file does not exist")
    with h5py.File(path, "r") as f:
        return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}


def read_volume(path: str | os.PathLike, name: str = "volume") -> tuple[np.ndarray, dict]:
    """Read one dataset and the file attributes written by :func:`write_volume`."""
    path = str(path)
    if not os.path.isfile(path):
        raise InputDataError(f"{path}: file does not exist")
    with h5py.File(path, "r") as f:
        if name not in f:
            raise InputDataError(f"{path}: no dataset {name!r} (has {sorted(f.keys())})")
        arr = f[name][...]
        attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
    return arr, attrs


def write_table(path: str | os.PathLike, table) -> None:
    """Write a pandas DataFrame to parquet atomically, without the pandas index."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), tmp)
    os.replace(tmp, path)


def read_labels(path: str | os.PathLike) -> np.ndarray:
    """Read a labelled volume: a multi-page TIFF, a folder of TIFF slices, or HDF5.

    HDF5 paths may name the dataset as ``file.h5::/group/dataset`` (default dataset
    ``labels``). The result must be a 3-D integer array.
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
        with h5py.File(p, "r") as f:
            name = dataset or "labels"
            if name not in f:
                raise InputDataError(f"{p}: no dataset {name!r} (give file.h5::/path/to/dataset)")
            arr = f[name][...]
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


def voxel_size_um(attrs: dict):
    """Voxel size from a volume's attributes: a float for cubic voxels, else ``(dz, dy, dx)``."""
    v = np.atleast_1d(np.asarray(attrs["voxel_size_um"], dtype=float))
    if v.size == 1 or np.all(v == v[0]):
        return float(v[0])
    if v.size != 3:
        raise InputDataError(f"voxel_size_um must be one value or three (z, y, x), got {v.tolist()}")
    return tuple(float(x) for x in v)


def voxel_size_columns(voxel_size) -> dict:
    """Table columns of a voxel size: ``voxel_size_{z,y,x}_um`` and ``voxel_size_um`` (the
    edge of cubic voxels; NaN for non-cubic ones).
    """
    v = np.broadcast_to(np.asarray(voxel_size, dtype=float), (3,))
    cubic = bool(np.all(v == v[0]))
    return {
        "voxel_size_um": float(v[0]) if cubic else float("nan"),
        "voxel_size_z_um": float(v[0]),
        "voxel_size_y_um": float(v[1]),
        "voxel_size_x_um": float(v[2]),
    }
