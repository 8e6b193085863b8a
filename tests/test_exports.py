"""CSV and ImageJ TIFF exports (batteryct.io.exports) read back exactly."""

import numpy as np
import pandas as pd
import pytest
import tifffile

from batteryct import io
from batteryct.io import exports


@pytest.mark.parametrize("voxel_size_um", [0.512, (0.7, 0.512, 0.3), 0.0649])
def test_tiff_round_trip_volume_and_voxel_size(tmp_path, voxel_size_um):
    rng = np.random.default_rng(0)
    vol = rng.random((5, 6, 7)).astype(np.float32)
    out = tmp_path / "v.tif"
    exports.write_imagej_tiff(out, vol, voxel_size_um)
    with tifffile.TiffFile(out) as tif:
        assert tif.is_imagej
        back = tif.asarray()
        assert tif.imagej_metadata["unit"] == "um"
    assert back.dtype == np.float32 and back.shape == vol.shape
    np.testing.assert_array_equal(back, vol)
    expect = tuple(float(v) for v in np.broadcast_to(voxel_size_um, (3,)))
    assert exports.read_imagej_voxel_size_um(out) == expect


def test_tiff_labels_dtype(tmp_path):
    labels = np.array([0, 1, 2, 3] * 6, np.int64).reshape(2, 3, 4)
    exports.write_imagej_tiff(tmp_path / "l.tif", labels, 0.5)
    back = tifffile.imread(tmp_path / "l.tif")
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, labels)
    big = labels * 1000
    exports.write_imagej_tiff(tmp_path / "b.tif", big, 0.5)
    assert tifffile.imread(tmp_path / "b.tif").dtype == np.uint16
    with pytest.raises(ValueError, match="0..65535"):
        exports.write_imagej_tiff(tmp_path / "n.tif", labels - 1, 0.5)
    assert not (tmp_path / "n.tif").exists()


def test_csv_round_trip_equals_parquet(tmp_path):
    rng = np.random.default_rng(1)
    t = pd.DataFrame(
        {
            "sample": ["a", "b", "c"],
            "d50_um": rng.random(3) * 1e-5,
            "n_particles": [3, 0, 12],
            "tau_z": [1.5, np.inf, np.nan],
            "accepted": [True, False, True],
        }
    )
    io.write_table(tmp_path / "t.parquet", t)
    exports.write_csv(tmp_path / "t.csv", t)
    back = pd.read_csv(tmp_path / "t.csv")
    pd.testing.assert_frame_equal(back, pd.read_parquet(tmp_path / "t.parquet"))
    first = (tmp_path / "t.csv").read_bytes()
    exports.write_csv(tmp_path / "t.csv", t)
    assert (tmp_path / "t.csv").read_bytes() == first
