"""Zeiss Xradia files: ``.txrm`` tomography, ``.xrm`` radiographs and mosaics, ``.txm`` volumes.

The files are OLE2 compound documents (read with :mod:`olefile`) whose streams hold
little-endian arrays without a header. Streams read here:

* ``ImageInfo/ImageWidth``, ``ImageInfo/ImageHeight`` (int32): image size, px;
* ``ImageInfo/DataType`` (int32, Xradia ``XrmDataTypes``: 5 uint16, 10 float32, ...);
  files without it get their type from the size of the first image stream (2 bytes a
  pixel: uint16, 4: float32), as the public readers do;
* ``ImageInfo/ImagesTaken`` (uint32, newer files) or ``ImageInfo/NoOfImages`` (int32,
  older files): the image count; with both, ``ImagesTaken`` wins (an aborted scan
  allocates its per-image streams for ``NoOfImages``, their first ``ImagesTaken``
  entries are used);
* ``ImageData{k}/Image{i}``, ``i = 1 ... n``, ``k = (i - 1) // 100 + 1``: the images,
  rows as stored (XRM Data Explorer shows them flipped upside down; this reader does not
  flip);
* ``ImageInfo/Angles`` (float32, degrees), ``ImageInfo/PixelSize`` (float32, um),
  ``ImageInfo/ExpTimes`` (float32 per image, s; older files ``ImageInfo/ExpTime``),
  ``ImageInfo/XPosition``, ``YPosition``, ``ZPosition`` (float32 per image, um);
* ``ReferenceData/Image``: the reference (open-beam, flat) image; its size from
  ``ReferenceData/ImageInfo/ImageWidth``/``ImageHeight`` in newer (version 5) files, the
  image size in older (version 3) ones; its type from ``ReferenceData/DataType`` (or
  ``ReferenceData/ImageInfo/DataType``, or its byte count); its exposure from
  ``ReferenceData/ImageInfo/ExpTimes``/``ExpTime`` or ``ReferenceData/ExpTime``;
* ``ImageInfo/MosiacRows``, ``ImageInfo/MosiacColumns`` (sic), ``ImageInfo/MosiacMode``:
  mosaics. Newer files store one image per tile (row-major, the columns the fast axis)
  with its stage position; older ones store the whole mosaic as one image of
  ``rows x columns`` tiles.
* ``Version`` (float32): reported, not needed.

Zeiss files carry no dark frames: :func:`read_txrm` uses a dark level given by the
caller (config ``raw_data.dark_counts``) and says so in the notes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Xradia XrmDataTypes code -> numpy type (little-endian); 12 is a string, 1 a bit.
XRM_DTYPES = {
    2: np.dtype("<i1"),
    3: np.dtype("<u1"),
    4: np.dtype("<i2"),
    5: np.dtype("<u2"),
    6: np.dtype("<i4"),
    7: np.dtype("<u4"),
    8: np.dtype("<i8"),
    9: np.dtype("<u8"),
    10: np.dtype("<f4"),
    11: np.dtype("<f8"),
}
# bytes per pixel -> type, for files without a DataType stream (the public readers' fallback)
_FALLBACK_DTYPES = {2: np.dtype("<u2"), 4: np.dtype("<f4")}
IMAGES_PER_STORAGE = 100


def image_stream(index: int) -> str:
    """Return the stream name of image ``index`` (1-based).

    Parameters
    ----------
    index : int
        Image number, from 1.

    Returns
    -------
    str
        ``ImageData{k}/Image{index}`` with ``k = (index - 1) // 100 + 1``.

    Examples
    --------
    >>> image_stream(1), image_stream(100), image_stream(101)
    ('ImageData1/Image1', 'ImageData1/Image100', 'ImageData2/Image101')
    """
    return f"ImageData{(index - 1) // IMAGES_PER_STORAGE + 1}/Image{index}"


@dataclass
class ZeissInfo:
    """What a Zeiss file says about its images.

    Attributes
    ----------
    path : str
        The file.
    version : float or None
        Stream ``Version`` (3 older, 5 newer files).
    n_images : int
        Images in the file.
    width, height : int
        Image size, px (``ImageWidth``, ``ImageHeight``).
    dtype : numpy.dtype
        Pixel type of the images.
    pixel_size_um : float or None
        ``PixelSize``, um; None when absent or not positive.
    angles_deg : numpy.ndarray or None
        Rotation angle of each image, degrees.
    exposure_s : numpy.ndarray or None
        Exposure of each image, s.
    x_um, y_um, z_um : numpy.ndarray or None
        Stage position of each image, um.
    mosaic_rows, mosaic_cols : int
        Mosaic grid (0 when not a mosaic).
    reference_exposure_s : float or None
        Exposure of the reference image, s.
    notes : list of str
        Remarks made while reading (fallbacks taken).
    """

    path: str
    version: float | None
    n_images: int
    width: int
    height: int
    dtype: np.dtype
    pixel_size_um: float | None
    angles_deg: np.ndarray | None
    exposure_s: np.ndarray | None
    x_um: np.ndarray | None
    y_um: np.ndarray | None
    z_um: np.ndarray | None
    mosaic_rows: int = 0
    mosaic_cols: int = 0
    reference_exposure_s: float | None = None
    notes: list[str] = field(default_factory=list)


def _error(message: str):
    from batteryct.io import InputDataError

    return InputDataError(message)


class _Ole:
    """An open Zeiss file; every problem becomes an InputDataError naming the file and stream."""

    def __init__(self, path: str | os.PathLike):
        import olefile

        self.path = str(path)
        if not os.path.isfile(self.path):
            raise _error(f"{self.path}: file does not exist")
        if not olefile.isOleFile(self.path):
            raise _error(f"{self.path}: not a Zeiss Xradia file (no OLE2 compound-document header)")
        try:
            self.ole = olefile.OleFileIO(self.path)
        except Exception as exc:  # noqa: BLE001 - olefile raises many types; re-raised with the path
            raise _error(f"{self.path}: damaged or truncated OLE2 container ({type(exc).__name__}: {exc})") from exc

    def close(self):
        self.ole.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def exists(self, name: str) -> bool:
        return bool(self.ole.exists(name))

    def raw(self, name: str, what: str = "") -> bytes:
        if not self.ole.exists(name):
            raise _error(f"{self.path}: missing stream {name}" + (f" ({what})" if what else ""))
        try:
            size = self.ole.get_size(name)
            data = self.ole.openstream(name).read()
        except Exception as exc:  # noqa: BLE001 - re-raised with the path and stream
            raise _error(f"{self.path}: stream {name} cannot be read, truncated file? ({exc})") from exc
        if len(data) != size:
            raise _error(f"{self.path}: stream {name} holds {len(data)} of its {size} bytes: truncated file")
        return data

    def values(self, name: str, dtype, what: str = "", required: bool = False) -> np.ndarray | None:
        if not self.ole.exists(name):
            if required:
                raise _error(f"{self.path}: missing stream {name}" + (f" ({what})" if what else ""))
            return None
        data = self.raw(name, what)
        dt = np.dtype(dtype).newbyteorder("<")
        if len(data) % dt.itemsize:
            raise _error(f"{self.path}: stream {name} has {len(data)} bytes, not a whole number of {dt.name} values")
        return np.frombuffer(data, dt)

    def scalar(self, name: str, dtype, what: str = "", required: bool = False):
        v = self.values(name, dtype, what, required)
        if v is None:
            return None
        if v.size == 0:
            raise _error(f"{self.path}: stream {name} is empty" + (f" ({what})" if what else ""))
        return v[0].item()

    def first(self, names, dtype):
        for name in names:
            v = self.scalar(name, dtype)
            if v is not None:
                return v
        return None


def _dtype(ole: _Ole, names, n_pixels: int, sample_stream: str, notes: list) -> np.dtype:
    """Pixel type from the first DataType stream present, else from the byte count of a sample image."""
    for name in names:
        code = ole.scalar(name, "<i4")
        if code is not None:
            if code not in XRM_DTYPES:
                raise _error(
                    f"{ole.path}: {name} = {code} is not an Xradia image data type "
                    f"(known: {', '.join(f'{k} {v.name}' for k, v in XRM_DTYPES.items())})"
                )
            return XRM_DTYPES[code]
    size = len(ole.raw(sample_stream, "image data"))
    per_pixel = size / n_pixels if n_pixels else 0
    if per_pixel not in _FALLBACK_DTYPES:
        raise _error(
            f"{ole.path}: missing stream {names[0]}, and {sample_stream} holds {size} bytes for "
            f"{n_pixels} pixels ({per_pixel:g} bytes a pixel, neither uint16 nor float32)"
        )
    dt = _FALLBACK_DTYPES[int(per_pixel)]
    notes.append(f"no {names[0]} stream: {dt.name} from the image size ({int(per_pixel)} bytes a pixel)")
    return dt


def _per_image(ole: _Ole, name: str, n: int, allocated: int | None) -> np.ndarray | None:
    """Read a float32 stream of one value per image (an aborted scan's may hold ``allocated``)."""
    v = ole.values(name, "<f4")
    if v is None:
        return None
    if v.size == n:
        return v.astype(np.float64)
    if allocated is not None and v.size == allocated and allocated > n:
        return v[:n].astype(np.float64)
    raise _error(f"{ole.path}: {name} holds {v.size} values for {n} images")


def _read_info(ole: _Ole) -> ZeissInfo:
    notes: list[str] = []
    width = ole.scalar("ImageInfo/ImageWidth", "<i4", "image width", required=True)
    height = ole.scalar("ImageInfo/ImageHeight", "<i4", "image height", required=True)
    if width <= 0 or height <= 0:
        raise _error(f"{ole.path}: image size {width} x {height} px is not positive")
    taken = ole.scalar("ImageInfo/ImagesTaken", "<u4")
    allocated = ole.scalar("ImageInfo/NoOfImages", "<i4")
    if taken is None and allocated is None:
        raise _error(f"{ole.path}: missing stream ImageInfo/ImagesTaken or ImageInfo/NoOfImages (the image count)")
    n = int(taken if taken is not None else allocated)
    if n < 1:
        raise _error(f"{ole.path}: the file holds no images (image count {n})")
    if not ole.exists(image_stream(1)):
        raise _error(f"{ole.path}: missing stream {image_stream(1)} (the first image)")
    dtype = _dtype(ole, ("ImageInfo/DataType",), width * height, image_stream(1), notes)
    pixel = ole.scalar("ImageInfo/PixelSize", "<f4")
    if pixel is not None and not (np.isfinite(pixel) and pixel > 0):
        notes.append(f"ImageInfo/PixelSize = {pixel} is not a positive number: ignored")
        pixel = None
    exposure = _per_image(ole, "ImageInfo/ExpTimes", n, allocated)
    if exposure is None:
        single = ole.values("ImageInfo/ExpTime", "<f4")  # older files: one value, or one per image
        if single is not None and single.size:
            exposure = np.resize(single.astype(np.float64), n) if single.size in (1, n) else None
    ref_exposure = ole.first(
        ("ReferenceData/ImageInfo/ExpTimes", "ReferenceData/ImageInfo/ExpTime", "ReferenceData/ExpTime"), "<f4"
    )
    version = ole.scalar("Version", "<f4")
    return ZeissInfo(
        path=ole.path,
        version=version,
        n_images=n,
        width=int(width),
        height=int(height),
        dtype=dtype,
        pixel_size_um=None if pixel is None else float(pixel),
        angles_deg=_per_image(ole, "ImageInfo/Angles", n, allocated),
        exposure_s=exposure,
        x_um=_per_image(ole, "ImageInfo/XPosition", n, allocated),
        y_um=_per_image(ole, "ImageInfo/YPosition", n, allocated),
        z_um=_per_image(ole, "ImageInfo/ZPosition", n, allocated),
        mosaic_rows=int(ole.scalar("ImageInfo/MosiacRows", "<i4") or 0),
        mosaic_cols=int(ole.scalar("ImageInfo/MosiacColumns", "<i4") or 0),
        reference_exposure_s=None if ref_exposure is None else float(ref_exposure),
        notes=notes,
    )


def _image(ole: _Ole, index: int, info: ZeissInfo) -> np.ndarray:
    name = image_stream(index)
    data = ole.raw(name, f"image {index} of {info.n_images}")
    need = info.width * info.height * info.dtype.itemsize
    if len(data) != need:
        raise _error(
            f"{ole.path}: {name} holds {len(data)} bytes; a {info.width} x {info.height} image of "
            f"{info.dtype.name} needs {need}: truncated file or wrong ImageInfo/DataType"
        )
    return np.frombuffer(data, info.dtype).reshape(info.height, info.width)


def _images(ole: _Ole, info: ZeissInfo) -> np.ndarray:
    out = np.empty((info.n_images, info.height, info.width), dtype=np.float32)
    for i in range(info.n_images):
        out[i] = _image(ole, i + 1, info)
    return out


def _reference(ole: _Ole, info: ZeissInfo) -> np.ndarray | None:
    if not ole.exists("ReferenceData/Image"):
        return None
    width = ole.scalar("ReferenceData/ImageInfo/ImageWidth", "<i4") or info.width
    height = ole.scalar("ReferenceData/ImageInfo/ImageHeight", "<i4") or info.height
    dtype = _dtype(
        ole, ("ReferenceData/DataType", "ReferenceData/ImageInfo/DataType"), width * height, "ReferenceData/Image", []
    )
    data = ole.raw("ReferenceData/Image", "reference image")
    if len(data) != width * height * dtype.itemsize:
        raise _error(
            f"{ole.path}: ReferenceData/Image holds {len(data)} bytes; a {width} x {height} reference of "
            f"{dtype.name} needs {width * height * dtype.itemsize}: truncated file or wrong ReferenceData/DataType"
        )
    return np.frombuffer(data, dtype).reshape(height, width).astype(np.float32)


def read_zeiss_info(path: str | os.PathLike) -> ZeissInfo:
    """Read the metadata of a Zeiss ``.txrm``, ``.xrm`` or ``.txm`` file (no pixel data).

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    ZeissInfo
        Image size and type, image count, angles, pixel size, exposures, stage positions,
        mosaic grid.

    Raises
    ------
    InputDataError
        If the file is missing, not an OLE2 file, truncated, or lacks the size, count or
        first image; the message names the file and the stream.
    """
    with _Ole(path) as ole:
        return _read_info(ole)


def read_txrm(path: str | os.PathLike, dark_counts: float = 0.0):
    """Read a Zeiss ``.txrm`` tomography into a :class:`~batteryct.io.ProjectionSet`.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.txrm`` file.
    dark_counts : float, optional
        Dark level, counts: the file has no dark frames, so one frame of this constant is
        the dark reference (config ``raw_data.dark_counts``).

    Returns
    -------
    ProjectionSet
        The images (float32), ``ReferenceData/Image`` as the one flat, the constant dark,
        ``ImageInfo/Angles`` in radians, ``ImageInfo/PixelSize``. When the exposures of
        the reference and the images are known and differ, the dark-subtracted reference
        is scaled to the images' exposure (each image's own when they vary, by scaling
        the image to the reference instead). ``notes`` say what was assumed.

    Raises
    ------
    InputDataError
        Naming the file and the missing or bad stream: no reference image, no angles,
        angle count not matching the images, unknown data type, truncated image.
    """
    from batteryct.io import ProjectionSet

    with _Ole(path) as ole:
        info = _read_info(ole)
        if info.angles_deg is None:
            raise _error(f"{ole.path}: missing stream ImageInfo/Angles (the rotation angle of each image)")
        reference = _reference(ole, info)
        if reference is None:
            raise _error(
                f"{ole.path}: missing stream ReferenceData/Image (the reference / flat image); "
                "acquire the scan with a reference or convert it with its reference file"
            )
        if reference.shape != (info.height, info.width):
            raise _error(
                f"{ole.path}: reference image {reference.shape[1]} x {reference.shape[0]} px, images "
                f"{info.width} x {info.height} px: mismatched shapes"
            )
        projections = _images(ole, info)
    dark = float(dark_counts)
    notes = list(info.notes)
    notes.append(
        f"Zeiss file without dark frames: a constant dark level of {dark:g} counts is used (raw_data.dark_counts)"
    )
    t_ref, t_img = info.reference_exposure_s, info.exposure_s
    if t_ref and t_img is not None and np.all(t_img > 0):
        if np.allclose(t_img, t_img[0], rtol=1e-6):
            if not np.isclose(t_img[0], t_ref, rtol=1e-6):
                reference = dark + (reference - dark) * np.float32(t_img[0] / t_ref)
                notes.append(f"reference exposure {t_ref:g} s scaled to the images' {t_img[0]:g} s")
        else:
            scale = (t_ref / t_img).astype(np.float32)[:, None, None]
            projections = dark + (projections - dark) * scale
            notes.append(
                f"image exposures {t_img.min():g}-{t_img.max():g} s: each image scaled to the reference's {t_ref:g} s"
            )
    elif t_ref is None or t_img is None:
        notes.append("exposure of the reference or of the images not in the file: taken as equal")
    if info.version is not None:
        notes.insert(0, f"Xradia file version {info.version:g}")
    return ProjectionSet(
        projections=projections,
        flats=reference[None].astype(np.float32),
        darks=np.full((1, info.height, info.width), dark, dtype=np.float32),
        theta_rad=np.deg2rad(info.angles_deg),
        pixel_size_um=info.pixel_size_um,
        source=str(path),
        notes=notes,
    )


def read_xrm(path: str | os.PathLike) -> tuple[np.ndarray, ZeissInfo]:
    """Read a single Zeiss radiograph (``.xrm``).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.xrm`` file.

    Returns
    -------
    image : numpy.ndarray of float32, (rows, columns)
        The first image (the only one of a radiograph; an older mosaic's whole image).
    info : ZeissInfo
        Its metadata.

    Raises
    ------
    InputDataError
        As :func:`read_zeiss_info`, or a truncated image.
    """
    with _Ole(path) as ole:
        info = _read_info(ole)
        return _image(ole, 1, info).astype(np.float32), info


def read_zeiss_mosaic(path: str | os.PathLike):
    """Read a Zeiss mosaic (``.xrm``/``.txrm`` with ``MosiacRows`` x ``MosiacColumns`` tiles).

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    MosaicData
        Tiles as stored, row-major. Newer files: one image per tile, stage positions from
        ``XPosition``/``YPosition`` (um, taken as the tile centre, y along the image rows)
        moved to the top-left pixel centre; without positions, abutting tiles. Older
        files: the one stored image cut into the grid, tiles abutting (the instrument
        already assembled them).

    Raises
    ------
    InputDataError
        If the grid is missing, does not match the images, or there is no pixel size.
    """
    from batteryct.io import MosaicData, check_mosaic, grid_indices

    with _Ole(path) as ole:
        info = _read_info(ole)
        rows, cols = info.mosaic_rows, info.mosaic_cols
        if rows < 1 or cols < 1:
            raise _error(f"{ole.path}: not a mosaic (ImageInfo/MosiacRows = {rows}, ImageInfo/MosiacColumns = {cols})")
        if info.pixel_size_um is None:
            raise _error(f"{ole.path}: missing stream ImageInfo/PixelSize (a mosaic needs its pixel size)")
        px = info.pixel_size_um
        grid = grid_indices(rows, cols)
        if info.n_images == rows * cols and rows * cols > 1:
            tiles = np.stack([_image(ole, i + 1, info) for i in range(info.n_images)])
            h, w = info.height, info.width
            if info.x_um is not None and info.y_um is not None:
                half = np.array([(h - 1) / 2.0, (w - 1) / 2.0]) * px
                pos = np.stack([info.y_um, info.x_um], axis=1) - half
            else:
                pos = grid.astype(np.float64) * np.array([h, w]) * px
        elif info.n_images == 1 and info.height % rows == 0 and info.width % cols == 0:
            whole = _image(ole, 1, info)
            h, w = info.height // rows, info.width // cols
            tiles = np.stack([whole[r * h : (r + 1) * h, c * w : (c + 1) * w] for r, c in grid])
            pos = grid.astype(np.float64) * np.array([h, w]) * px
        else:
            raise _error(
                f"{ole.path}: {info.n_images} image(s) of {info.width} x {info.height} px do not make a "
                f"{rows} x {cols} mosaic (one image per tile, or one image of the whole grid)"
            )
    data = MosaicData(
        tiles=np.ascontiguousarray(tiles),
        stage_position_um=pos,
        pixel_size_um=float(px),
        n_rows=rows,
        n_cols=cols,
        grid=grid,
        source=str(path),
    )
    check_mosaic(data)
    return data


def read_txm(path: str | os.PathLike) -> tuple[np.ndarray, ZeissInfo]:
    """Read a Zeiss reconstruction (``.txm``): one image per slice.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.txm`` file.

    Returns
    -------
    volume : numpy.ndarray of float32, (z, y, x)
        The slices in file order, values as stored (the reconstruction software's grey
        levels, not calibrated attenuation).
    info : ZeissInfo
        ``pixel_size_um`` is the voxel edge.

    Raises
    ------
    InputDataError
        As :func:`read_zeiss_info`, a truncated slice, fewer than 2 slices, or no voxel size.
    """
    with _Ole(path) as ole:
        info = _read_info(ole)
        if info.n_images < 2:
            raise _error(f"{ole.path}: a .txm volume needs at least 2 slices, the file holds {info.n_images}")
        volume = _images(ole, info)
    if not np.all(np.isfinite(volume)):
        raise _error(f"{path}: the volume contains NaN or infinite values")
    return volume, info


def is_zeiss(path: str | os.PathLike) -> bool:
    """Tell whether a path names a Zeiss file by its suffix (``.txrm``, ``.xrm``, ``.txm``).

    Examples
    --------
    >>> is_zeiss("scan.TXRM"), is_zeiss("scan.h5")
    (True, False)
    """
    return Path(path).suffix.lower() in (".txrm", ".xrm", ".txm")
