import hashlib

import numpy as np
import pytest

from batteryct import io


def make_set(n_proj=7, shape=(4, 6), seed=0):
    rng = np.random.default_rng(seed)
    proj = rng.integers(100, 1000, (n_proj, *shape)).astype(np.uint16)
    flats = np.full((3, *shape), 2000, np.uint16)
    darks = np.full((2, *shape), 50, np.uint16)
    theta = np.linspace(-90, 90, n_proj)
    return proj, flats, darks, theta


def test_dataexchange_roundtrip(tmp_path):
    proj, flats, darks, theta = make_set()
    io.write_dataexchange(tmp_path / "a.h5", proj, flats, darks, theta, 0.512)
    data = io.read_projections(tmp_path / "a.h5")
    np.testing.assert_array_equal(data.projections, proj)
    np.testing.assert_allclose(data.theta_rad, np.deg2rad(theta))
    assert data.pixel_size_um == pytest.approx(0.512)
    assert io.read_projections(tmp_path / "a.h5", pixel_size_um=0.25).pixel_size_um == 0.25


def test_tiff_roundtrip_matches_dataexchange(tmp_path):
    proj, flats, darks, theta = make_set()
    io.write_tiff_stack(tmp_path / "t", proj, flats, darks, theta, 0.512)
    data = io.read_projections(tmp_path / "t")
    np.testing.assert_array_equal(data.projections, proj)
    np.testing.assert_array_equal(data.flats, flats)
    np.testing.assert_allclose(data.theta_rad, np.deg2rad(theta))


def test_hdf5_bytes_are_reproducible(tmp_path):
    proj, flats, darks, theta = make_set()
    vol = np.random.default_rng(1).random((8, 9, 10)).astype(np.float32)
    digests = []
    for name in ("a", "b"):
        io.write_dataexchange(tmp_path / f"{name}.h5", proj, flats, darks, theta, 0.5)
        io.write_volume(tmp_path / f"{name}_v.h5", {"volume": vol}, {"center_px": 3.2, "filter": "ramp"})
        digests.append(
            [hashlib.sha256((tmp_path / f).read_bytes()).hexdigest() for f in (f"{name}.h5", f"{name}_v.h5")]
        )
    assert digests[0] == digests[1]


def write_bad(tmp_path, **change):
    proj, flats, darks, theta = make_set()
    args = dict(projections=proj.astype(np.float32), flats=flats, darks=darks, theta_deg=theta, pixel_size_um=0.5)
    args.update(change)
    io.write_dataexchange(tmp_path / "bad.h5", **args)
    return tmp_path / "bad.h5"


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(theta_deg=np.linspace(-90, 90, 6)), "6 angles for 7 projections"),
        (dict(flats=np.zeros((3, 4, 6), np.uint16), darks=np.zeros((2, 4, 6), np.uint16)), "flats of zeros"),
        (dict(darks=np.zeros((2, 4, 5), np.uint16)), "mismatched shapes"),
    ],
)
def test_bad_projections_are_named(tmp_path, change, message):
    path = write_bad(tmp_path, **change)
    with pytest.raises(io.InputDataError) as err:
        io.read_projections(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_nan_in_projections(tmp_path):
    proj = make_set()[0].astype(np.float32)
    proj[2, 1, 1] = np.nan
    path = write_bad(tmp_path, projections=proj)
    with pytest.raises(io.InputDataError, match="projections contain 1 NaN"):
        io.read_projections(path)


def test_missing_file_and_missing_pixel_size(tmp_path):
    with pytest.raises(io.InputDataError, match="does not exist"):
        io.read_projections(tmp_path / "nope.h5")
    proj, flats, darks, theta = make_set()
    io.write_tiff_stack(tmp_path / "t", proj, flats, darks, theta)
    with pytest.raises(io.InputDataError, match="no pixel size"):
        io.read_projections(tmp_path / "t")


def test_failed_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "v.h5"
    with pytest.raises(TypeError):
        io.write_volume(target, {"volume": np.zeros((2, 2, 2))}, {"bad": object()})
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
