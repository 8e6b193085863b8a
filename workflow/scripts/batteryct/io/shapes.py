"""Voxel counts that input files declare, read from their headers (no voxel is loaded).

The workflow sizes its jobs (``resources: mem_mb, runtime``) from these counts when it
builds the DAG, so they must be cheap: HDF5 dataset shapes and TIFF page headers only.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import tifffile

from . import declared_projection_shape


def declared_volume_voxels(path: str | os.PathLike) -> int | None:
    """Voxel count of a volume file (labels or reconstruction) from its header.

    Parameters
    ----------
    path : str or os.PathLike
        A multi-page TIFF, a folder of TIFF slices, or HDF5 as ``file.h5::/dataset``
        (default dataset ``labels``, then ``volume``), the forms of
        :func:`batteryct.io.read_labels`.

    Returns
    -------
    int or None
        ``z * y * x``; None when the file is missing, unreadable or not 3-D (the job's
        reader then reports it).

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> d = Path(tempfile.mkdtemp())
    >>> tifffile.imwrite(d / "v.tif", np.zeros((3, 4, 5), np.uint8), photometric="minisblack")
    >>> declared_volume_voxels(d / "v.tif")
    60
    >>> with h5py.File(d / "v.h5", "w") as f:
    ...     _ = f.create_dataset("data/labels", shape=(6, 7, 8), dtype="u1")
    >>> declared_volume_voxels(f"{d / 'v.h5'}::/data/labels"), declared_volume_voxels(d / "missing.tif")
    (336, None)
    """
    file_part, _, dataset = str(path).partition("::")
    p = Path(file_part)
    try:
        if p.is_dir():
            slices = sorted(p.glob("*.tif*"))
            if not slices:
                return None
            with tifffile.TiffFile(slices[0]) as tif:
                rows, cols = tif.pages[0].shape[:2]
            return len(slices) * int(rows) * int(cols)
        if p.suffix.lower() in (".h5", ".hdf5", ".hdf"):
            with h5py.File(p, "r") as f:
                names = [dataset] if dataset else ["labels", "volume"]
                name = next((n for n in names if n in f and isinstance(f[n], h5py.Dataset)), None)
                shape = f[name].shape if name else ()
        else:
            with tifffile.TiffFile(p) as tif:
                shape = tif.series[0].shape
    except Exception:  # noqa: BLE001 - missing or unreadable: the job's reader reports it
        return None
    if len(shape) != 3:
        return None
    return int(shape[0]) * int(shape[1]) * int(shape[2])


def declared_projection_voxels(path: str | os.PathLike) -> int | None:
    """Voxel count of the volume a projection file reconstructs to: ``rows * columns**2``.

    Parameters
    ----------
    path : str or os.PathLike
        Projections in a layout of :func:`batteryct.io.declared_projection_shape`.

    Returns
    -------
    int or None
        None when the shape cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from batteryct.io import write_dataexchange
    >>> path = Path(tempfile.mkdtemp()) / "p.h5"
    >>> z = np.zeros((3, 4, 5), np.uint16)
    >>> write_dataexchange(path, z, z[:2] + 1, z[:1], np.arange(3.0), 0.5)
    >>> declared_projection_voxels(path)
    100
    """
    shape = declared_projection_shape(path)
    if shape is None:
        return None
    _, rows, cols, _ = shape
    return int(rows) * int(cols) ** 2
