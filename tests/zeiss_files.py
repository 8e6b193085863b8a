"""Writes Zeiss Xradia files (OLE2 compound documents) for the tests, with cfbwrite.

The stream layout is the one the public readers (dxchange, txrm2tiff, xrmreader) read:
``ImageInfo/*`` metadata, ``ImageData{k}/Image{i}`` images (100 per storage),
``ReferenceData/Image`` and, in version-5 files, ``ReferenceData/ImageInfo/*``.
"""

from pathlib import Path

import numpy as np
from cfbwrite import Entry, write_ole

DATA_TYPE = {np.dtype(np.uint16): 5, np.dtype(np.float32): 10}


def _stream(name: str, data: bytes) -> Entry:
    return Entry(name=name, is_storage=False, size=len(data), read=lambda data=data: data)


def _storage(name: str, children: list) -> Entry:
    return Entry(name=name, is_storage=True, size=0, read=None, children=children)


def _f4(values) -> bytes:
    return np.asarray(values, dtype="<f4").tobytes()


def _i4(value) -> bytes:
    return np.asarray([value], dtype="<i4").tobytes()


def write_zeiss(
    path,
    images,
    *,
    version: int = 5,
    angles_deg=None,
    pixel_size_um=None,
    reference=None,
    exposure_s=None,
    reference_exposure_s=None,
    positions_um=None,
    mosaic=None,
    count_stream: str | None = None,
    omit=(),
    replace=None,
    data_type=None,
):
    """Write a Zeiss file.

    ``images`` (n, h, w) uint16 or float32. ``version`` 5 (newer: ``ImagesTaken`` and ``NoOfImages``,
    ``ExpTimes``, ``ReferenceData/ImageInfo``) or 3 (older: only ``NoOfImages``, ``ExpTime``,
    ``ReferenceData/ExpTime``); ``count_stream`` overrides which count stream is written
    (``"both"`` writes both). ``positions_um`` (n, 3) x, y, z. ``mosaic`` (rows, cols).
    ``omit``: stream names left out; ``replace``: stream name -> raw bytes (malformed files);
    ``data_type``: the DataType code written (default from the dtype).
    """
    images = np.asarray(images)
    n, h, w = images.shape
    replace = dict(replace or {})
    code = DATA_TYPE[images.dtype] if data_type is None else data_type
    info = {
        "ImageWidth": _i4(w),
        "ImageHeight": _i4(h),
        "DataType": _i4(code),
    }
    count = count_stream or ("both" if version >= 5 else "NoOfImages")
    if count in ("ImagesTaken", "both"):
        info["ImagesTaken"] = np.asarray([n], dtype="<u4").tobytes()
    if count in ("NoOfImages", "both"):
        info["NoOfImages"] = _i4(n)
    if angles_deg is not None:
        info["Angles"] = _f4(angles_deg)
    if pixel_size_um is not None:
        info["PixelSize"] = _f4([pixel_size_um])
    if exposure_s is not None:
        info["ExpTimes" if version >= 5 else "ExpTime"] = _f4(np.resize(exposure_s, n))
    if positions_um is not None:
        pos = np.asarray(positions_um, dtype=np.float64)
        for k, axis in enumerate("XYZ"):
            info[f"{axis}Position"] = _f4(pos[:, k])
    # not a mosaic: the instrument writes a 0 x 0 grid
    info["MosiacRows"] = _i4(mosaic[0] if mosaic else 0)
    info["MosiacColumns"] = _i4(mosaic[1] if mosaic else 0)
    info["MosiacMode"] = _i4(1 if mosaic else 0)
    root = []
    items = {f"ImageInfo/{k}": v for k, v in info.items()}
    items["Version"] = _f4([version])
    for i in range(n):
        name = f"ImageData{i // 100 + 1}/Image{i + 1}"
        items[name] = np.ascontiguousarray(images[i]).astype(images.dtype.newbyteorder("<")).tobytes()
    if reference is not None:
        ref = np.asarray(reference)
        items["ReferenceData/Image"] = ref.astype(ref.dtype.newbyteorder("<")).tobytes()
        items["ReferenceData/DataType"] = _i4(DATA_TYPE[ref.dtype])
        if version >= 5:
            items["ReferenceData/ImageInfo/ImageWidth"] = _i4(ref.shape[1])
            items["ReferenceData/ImageInfo/ImageHeight"] = _i4(ref.shape[0])
            if reference_exposure_s is not None:
                items["ReferenceData/ImageInfo/ExpTimes"] = _f4([reference_exposure_s])
        elif reference_exposure_s is not None:
            items["ReferenceData/ExpTime"] = _f4([reference_exposure_s])
    items.update(replace)
    for name in omit:
        items.pop(name, None)
    # nest "a/b/c" names into storages
    tree: dict = {}
    for name, data in items.items():
        node = tree
        *parents, leaf = name.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = data

    def build(node):
        out = []
        for name, value in sorted(node.items()):
            out.append(_storage(name, build(value)) if isinstance(value, dict) else _stream(name, value))
        return out

    root = build(tree)
    write_ole(Path(path), root)
    return Path(path)
