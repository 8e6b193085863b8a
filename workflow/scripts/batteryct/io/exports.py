"""Exports for the tools users open results in: tables as CSV, volumes and labels as TIFF.

CSV for spreadsheets (Excel, Origin); ImageJ hyperstack TIFF with the voxel size in µm
for Fiji, Avizo and Dragonfly. Both written atomically through :func:`batteryct.io.atomic_path`.
"""

from __future__ import annotations

import os

import numpy as np

from . import atomic_path

#: ImageJ's unit string for micrometres (Fiji shows it as µm).
TIFF_UNIT = "um"


def write_csv(path: str | os.PathLike, table) -> None:
    r"""Write a table as CSV: header row, no index, full float precision, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination ``.csv`` file.
    table : pandas.DataFrame
        The table (column names carry the units).

    Notes
    -----
    Floats are written with Python's shortest round-trip repr, so reading the file back
    gives the same numbers bit for bit; NaN is an empty field. The bytes depend only on the
    table (deterministic).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from pathlib import Path
    >>> out = Path(tempfile.mkdtemp()) / "t.csv"
    >>> write_csv(out, pd.DataFrame({"d_um": [1.5, 0.1], "n": [3, 4]}))
    >>> out.read_text()
    'd_um,n\n1.5,3\n0.1,4\n'
    """
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, lineterminator="\n")


def write_imagej_tiff(path: str | os.PathLike, array: np.ndarray, voxel_size_um) -> None:
    """Write a (z, y, x) volume as an ImageJ hyperstack TIFF with the voxel size in µm.

    Parameters
    ----------
    path : str or os.PathLike
        Destination ``.tif`` file.
    array : numpy.ndarray, (z, y, x)
        float32 volume, or integer labels (written as uint8 if they fit, else uint16).
    voxel_size_um : float or (dz, dy, dx)
        Voxel size in µm: x and y go into the resolution tags (pixels per µm), z into the
        ImageJ ``spacing``, with ``unit: um``.

    Raises
    ------
    ValueError
        If the array is not 3-D, a voxel size is not positive, or integer labels are
        negative or exceed 65535.

    Examples
    --------
    >>> import tempfile, tifffile
    >>> from pathlib import Path
    >>> out = Path(tempfile.mkdtemp()) / "labels.tif"
    >>> write_imagej_tiff(out, np.arange(24).reshape(2, 3, 4), (1.0, 0.5, 0.5))
    >>> with tifffile.TiffFile(out) as tif:
    ...     tif.asarray().dtype, tif.imagej_metadata["spacing"], tif.imagej_metadata["unit"]
    (dtype('uint8'), 1.0, 'um')
    """
    import tifffile

    from .. import _checks

    a = np.asarray(array)
    if a.ndim != 3:
        raise ValueError(f"expected a 3-D (z, y, x) array, got shape {a.shape}")
    dz, dy, dx = (float(v) for v in np.broadcast_to(_checks.voxel_size_um(voxel_size_um), (3,)))
    if np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
        lo = int(a.min()) if a.size else 0
        hi = int(a.max()) if a.size else 0
        if lo < 0 or hi > 65535:
            raise ValueError(f"labels must lie in 0..65535 for a TIFF export, got {lo}..{hi}")
        a = a.astype(np.uint8 if hi <= 255 else np.uint16)
    else:
        a = a.astype(np.float32)
    with atomic_path(path) as tmp:
        tifffile.imwrite(
            tmp,
            a,
            imagej=True,
            resolution=(1.0 / dx, 1.0 / dy),
            metadata={"axes": "ZYX", "spacing": dz, "unit": TIFF_UNIT},
        )


def read_imagej_voxel_size_um(path: str | os.PathLike) -> tuple[float, float, float]:
    """Return the voxel size ``(dz, dy, dx)`` in µm stored in an ImageJ TIFF.

    Raises
    ------
    ValueError
        If the file has no ImageJ metadata or its unit is not µm.
    """
    import tifffile

    with tifffile.TiffFile(path) as tif:
        meta = tif.imagej_metadata
        if not meta or meta.get("unit") not in ("um", "µm", "micron"):
            raise ValueError(f"{path}: no ImageJ metadata with unit um")
        page = tif.pages[0]
        xr = page.tags["XResolution"].value
        yr = page.tags["YResolution"].value
        dx = xr[1] / xr[0]
        dy = yr[1] / yr[0]
        return float(meta.get("spacing", 1.0)), float(dy), float(dx)
