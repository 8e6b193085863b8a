"""NeXus ``NXtomo`` files (synchrotron tomography) read with h5py.

Read from the one ``NXentry`` whose ``definition`` is ``NXtomo``:

* ``instrument/detector/data`` (``data/data`` as a fallback): all frames, (n, rows, columns);
* ``instrument/detector/image_key_control`` (or the standard ``image_key``): per frame 0
  projection, 1 flat field, 2 dark field, -1 alignment (left out), 3 invalid (left out);
  ``image_key`` holds alignment frames as 0, so ``image_key_control`` is preferred;
* ``sample/rotation_angle`` with its ``units`` (``degree``/``deg``/``rad``; degrees when
  absent);
* the pixel size at the sample: ``sample/x_pixel_size`` (NXtomo 1.5), else
  ``instrument/detector/x_magnified_pixel_size``, else ``instrument/detector/x_pixel_size``,
  with its ``units`` (``m`` when absent); ``x`` and ``y`` must agree;
* reported in the notes only: ``instrument/detector/distance`` (sample-detector
  distance; parallel-beam geometry is assumed) and ``instrument/beam/incident_energy``.
"""

from __future__ import annotations

import os

import h5py
import numpy as np

LENGTH_TO_UM = {
    "m": 1e6,
    "meter": 1e6,
    "metre": 1e6,
    "cm": 1e4,
    "mm": 1e3,
    "um": 1.0,
    "µm": 1.0,
    "micron": 1.0,
    "microns": 1.0,
    "micrometer": 1.0,
    "micrometre": 1.0,
    "nm": 1e-3,
}
ANGLE_TO_DEG = {"degree": 1.0, "degrees": 1.0, "deg": 1.0, "rad": 180.0 / np.pi, "radian": 180.0 / np.pi}
ANGLE_TO_DEG["radians"] = ANGLE_TO_DEG["rad"]
IMAGE_KEYS = {0: "projection", 1: "flat", 2: "dark", -1: "alignment", 3: "invalid"}


def _error(message: str):
    from batteryct.io import InputDataError

    return InputDataError(message)


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, np.ndarray):
        return _text(value.ravel()[0]) if value.size else ""
    return str(value)


def _units(dset) -> str | None:
    u = dset.attrs.get("units")
    return None if u is None else _text(u).strip()


def nxtomo_entries(f: h5py.File) -> list[str]:
    """Return the names of the top-level entries of an open file whose definition is ``NXtomo``.

    Parameters
    ----------
    f : h5py.File
        The open file.

    Returns
    -------
    list of str
        Entry names, sorted.
    """
    out = []
    for name, node in f.items():
        if not isinstance(node, h5py.Group):
            continue
        definition = node.get("definition")
        text = (
            _text(definition[()]) if isinstance(definition, h5py.Dataset) else _text(node.attrs.get("definition", ""))
        )
        if text.strip() == "NXtomo":
            out.append(name)
    return sorted(out)


def is_nxtomo(path: str | os.PathLike) -> bool:
    """Tell whether an HDF5 file holds an ``NXtomo`` entry (False for any unreadable file).

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    bool
    """
    try:
        with h5py.File(path, "r") as f:
            return bool(nxtomo_entries(f))
    except OSError:
        return False


def _length_um(entry: h5py.Group, names, path: str) -> tuple[float, str] | None:
    for name in names:
        if name in entry:
            d = entry[name]
            value = float(np.asarray(d[()]).ravel()[0])
            units = _units(d) or "m"
            if units not in LENGTH_TO_UM:
                raise _error(f"{path}: {entry.name}/{name} has unknown length units {units!r}")
            return value * LENGTH_TO_UM[units], name
    return None


def read_nxtomo(path: str | os.PathLike, dark_counts: float = 0.0):
    """Read an ``NXtomo`` file into a :class:`~batteryct.io.ProjectionSet`.

    Parameters
    ----------
    path : str or os.PathLike
        The NeXus (HDF5) file.
    dark_counts : float, optional
        Dark level used, as one constant frame, when the file has no dark frame (image key 2).

    Returns
    -------
    ProjectionSet
        Projections, flats and darks as float32 (in acquisition order), angles of the
        projections in radians, pixel size in um; ``notes`` name the entry and what was
        left out or assumed.

    Raises
    ------
    InputDataError
        Naming the file and the missing piece: no NXtomo entry (or several), no data, no
        image key or angles of the frame count, unknown units, no flats or projections,
        non-square pixels.
    """
    from batteryct.io import ProjectionSet

    path = str(path)
    if not os.path.isfile(path):
        raise _error(f"{path}: projections file does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise _error(f"{path}: not a readable HDF5 file ({exc})") from exc
    notes: list[str] = []
    with f:
        entries = nxtomo_entries(f)
        if not entries:
            raise _error(f"{path}: no NXentry with definition NXtomo")
        if len(entries) > 1:
            raise _error(
                f"{path}: {len(entries)} NXtomo entries ({', '.join(entries)}); batteryct reads files with one"
            )
        entry = f[entries[0]]
        notes.append(f"NXtomo entry /{entries[0]}")
        data_path = next((p for p in ("instrument/detector/data", "data/data") if p in entry), None)
        if data_path is None:
            raise _error(f"{path}: /{entries[0]} has no instrument/detector/data (the frames)")
        frames = entry[data_path]
        if frames.ndim != 3:
            raise _error(f"{path}: /{entries[0]}/{data_path} must be 3-D (n, rows, columns), got shape {frames.shape}")
        n = frames.shape[0]
        key_path = next(
            (p for p in ("instrument/detector/image_key_control", "instrument/detector/image_key") if p in entry), None
        )
        if key_path is None:
            raise _error(f"{path}: /{entries[0]} has no instrument/detector/image_key (frame types)")
        keys = np.asarray(entry[key_path][()]).astype(np.int64).ravel()
        if keys.size != n:
            raise _error(f"{path}: /{entries[0]}/{key_path} has {keys.size} values for {n} frames")
        unknown = sorted(set(keys.tolist()) - set(IMAGE_KEYS))
        if unknown:
            raise _error(f"{path}: /{entries[0]}/{key_path} has unknown image keys {unknown} (known: 0, 1, 2, -1, 3)")
        if "sample/rotation_angle" not in entry:
            raise _error(f"{path}: /{entries[0]} has no sample/rotation_angle")
        angle_ds = entry["sample/rotation_angle"]
        angles = np.asarray(angle_ds[()], dtype=np.float64).ravel()
        if angles.size != n:
            raise _error(f"{path}: /{entries[0]}/sample/rotation_angle has {angles.size} values for {n} frames")
        units = _units(angle_ds)
        if units is None:
            notes.append("rotation_angle without units: taken as degrees")
            units = "degree"
        if units not in ANGLE_TO_DEG:
            raise _error(f"{path}: /{entries[0]}/sample/rotation_angle has unknown units {units!r}")
        angles_deg = angles * ANGLE_TO_DEG[units]
        pixel = _length_um(
            entry,
            ("sample/x_pixel_size", "instrument/detector/x_magnified_pixel_size", "instrument/detector/x_pixel_size"),
            path,
        )
        pixel_size_um = None
        if pixel is not None:
            pixel_size_um, used = pixel
            other = _length_um(entry, (used.replace("x_", "y_"),), path)
            if other is not None and not np.isclose(other[0], pixel_size_um, rtol=1e-6):
                raise _error(
                    f"{path}: /{entries[0]}/{used} {pixel_size_um:g} um and y {other[0]:g} um differ: "
                    "non-square pixels are not supported"
                )
            notes.append(f"pixel size {pixel_size_um:g} um from {used}")
        distance = _length_um(entry, ("instrument/detector/distance",), path)
        if distance is not None:
            notes.append(f"sample-detector distance {distance[0] * 1e-6:g} m (parallel beam assumed)")
        selections = {k: np.flatnonzero(keys == k) for k in (0, 1, 2)}
        skipped = {IMAGE_KEYS[k]: int(np.count_nonzero(keys == k)) for k in (-1, 3) if np.any(keys == k)}
        if skipped:
            notes.append("left out: " + ", ".join(f"{v} {k} frame(s)" for k, v in skipped.items()))
        if selections[0].size == 0:
            raise _error(f"{path}: no projection (image key 0) in /{entries[0]}")
        if selections[1].size == 0:
            raise _error(f"{path}: no flat field (image key 1) in /{entries[0]}")

        def take(idx):
            return np.asarray(frames[idx, :, :] if idx.size else np.empty((0,) + frames.shape[1:]), dtype=np.float32)

        projections = take(selections[0])
        flats = take(selections[1])
        if selections[2].size:
            darks = take(selections[2])
        else:
            darks = np.full((1,) + frames.shape[1:], float(dark_counts), dtype=np.float32)
            notes.append(f"no dark field (image key 2): a constant dark level of {float(dark_counts):g} counts is used")
    return ProjectionSet(
        projections=projections,
        flats=flats,
        darks=darks,
        theta_rad=np.deg2rad(angles_deg[selections[0]]),
        pixel_size_um=pixel_size_um,
        source=path,
        notes=notes,
    )
