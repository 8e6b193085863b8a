"""Zeiss Xradia reader on files the tests write (cfbwrite), cross-checked with txrm2tiff."""

import logging

import numpy as np
import pytest
from zeiss_files import write_zeiss

from batteryct import io
from batteryct.io import zeiss

N, H, W = 130, 6, 5  # 130 images: two ImageData storages


@pytest.fixture
def scan():
    rng = np.random.default_rng(3)
    return {
        "images": rng.integers(200, 4000, (N, H, W)).astype(np.uint16),
        "angles_deg": np.linspace(-90.0, 90.0, N),
        "reference": rng.integers(4500, 5000, (H, W)).astype(np.uint16),
        "positions_um": rng.normal(0.0, 100.0, (N, 3)),
    }


@pytest.mark.parametrize("version", [3, 5])
def test_txrm_round_trip_older_and_newer_versions(tmp_path, scan, version):
    path = write_zeiss(
        tmp_path / "s.txrm",
        scan["images"],
        version=version,
        angles_deg=scan["angles_deg"],
        pixel_size_um=0.512,
        reference=scan["reference"],
        exposure_s=2.0,
        reference_exposure_s=1.0,
        positions_um=scan["positions_um"],
    )
    data = io.read_projections(path, dark_counts=100.0)
    np.testing.assert_array_equal(data.projections, scan["images"])
    np.testing.assert_allclose(np.rad2deg(data.theta_rad), scan["angles_deg"].astype(np.float32), rtol=1e-14)
    assert data.pixel_size_um == pytest.approx(0.512, rel=1e-7)
    # the reference (1 s) scaled to the images' 2 s above the 100-count dark
    np.testing.assert_allclose(data.flats[0], 100.0 + (scan["reference"] - 100.0) * 2.0, rtol=1e-6)
    assert data.darks.shape == (1, H, W) and np.all(data.darks == 100.0)
    assert any("without dark frames" in n and "100" in n for n in data.notes)
    info = zeiss.read_zeiss_info(path)
    assert info.version == version and info.n_images == N
    np.testing.assert_allclose(info.x_um, scan["positions_um"][:, 0].astype(np.float32))
    np.testing.assert_allclose(info.z_um, scan["positions_um"][:, 2].astype(np.float32))
    np.testing.assert_array_equal(info.exposure_s, np.full(N, 2.0))


def test_varying_exposures_scale_each_image_to_the_reference(tmp_path, scan):
    exposure = np.linspace(1.0, 3.0, N)
    path = write_zeiss(
        tmp_path / "s.txrm", scan["images"], angles_deg=scan["angles_deg"], pixel_size_um=1.0,
        reference=scan["reference"], exposure_s=exposure, reference_exposure_s=1.5,
    )  # fmt: skip
    data = zeiss.read_txrm(path, dark_counts=50.0)
    expect = 50.0 + (scan["images"] - 50.0) * (1.5 / exposure.astype(np.float32))[:, None, None]
    np.testing.assert_allclose(data.projections, expect, rtol=1e-6)
    np.testing.assert_array_equal(data.flats[0], scan["reference"])


def test_agrees_with_txrm2tiff(tmp_path, scan, caplog):
    txrm2tiff = pytest.importorskip("txrm2tiff.txrm.main")
    path = write_zeiss(
        tmp_path / "s.txrm", scan["images"], angles_deg=scan["angles_deg"], pixel_size_um=0.25,
        reference=scan["reference"], exposure_s=1.0, reference_exposure_s=1.0,
    )  # fmt: skip
    ours = zeiss.read_txrm(path)
    with caplog.at_level(logging.CRITICAL), txrm2tiff.open_txrm(path) as theirs:
        images = theirs.get_output(flip=True, clear_images=False)  # flip=True: rows as stored
        np.testing.assert_array_equal(ours.projections, images)
        np.testing.assert_array_equal(ours.flats[0], theirs.get_reference())
        np.testing.assert_array_equal(np.rad2deg(ours.theta_rad).astype(np.float32), theirs.image_info["Angles"])
        assert ours.pixel_size_um == theirs.image_info["PixelSize"][0]
        assert theirs.version == 5.0


def test_aborted_scan_uses_the_images_taken(tmp_path, scan):
    # streams allocated for NoOfImages = 130, only 100 images taken
    raw = {"ImageInfo/NoOfImages": np.asarray([N], "<i4").tobytes()}
    path = write_zeiss(
        tmp_path / "s.txrm", scan["images"][:100], angles_deg=scan["angles_deg"][:100], reference=scan["reference"],
        pixel_size_um=1.0, count_stream="both",
        replace={**raw, "ImageInfo/Angles": scan["angles_deg"].astype("<f4").tobytes()},
    )  # fmt: skip
    data = io.read_projections(path)
    assert data.projections.shape == (100, H, W)
    np.testing.assert_allclose(np.rad2deg(data.theta_rad), scan["angles_deg"][:100].astype(np.float32))


def test_float_images_without_a_data_type_stream(tmp_path, scan):
    images = scan["images"].astype(np.float32) / 7.0
    path = write_zeiss(
        tmp_path / "s.txrm", images, angles_deg=scan["angles_deg"], pixel_size_um=1.0,
        reference=scan["reference"].astype(np.float32), omit=("ImageInfo/DataType",),
    )  # fmt: skip
    data = zeiss.read_txrm(path)
    np.testing.assert_array_equal(data.projections, images)
    assert any("float32 from the image size" in n for n in data.notes)


def _good(tmp_path, scan, name="s.txrm", **kw):
    args = dict(angles_deg=scan["angles_deg"], pixel_size_um=1.0, reference=scan["reference"])
    return write_zeiss(tmp_path / name, scan["images"], **{**args, **kw})


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"omit": ("ImageData1/Image3",)}, ["missing stream ImageData1/Image3", "image 3 of 130"]),
        ({"omit": ("ImageData2/Image101",)}, ["missing stream ImageData2/Image101"]),
        ({"omit": ("ImageInfo/Angles",)}, ["missing stream ImageInfo/Angles"]),
        ({"omit": ("ReferenceData/Image",)}, ["missing stream ReferenceData/Image", "flat"]),
        ({"omit": ("ImageInfo/ImageWidth",)}, ["missing stream ImageInfo/ImageWidth"]),
        ({"omit": ("ImageInfo/ImagesTaken", "ImageInfo/NoOfImages")}, ["ImagesTaken or ImageInfo/NoOfImages"]),
        ({"data_type": 10}, ["ImageData1/Image1 holds 60 bytes", "float32 needs 120", "wrong ImageInfo/DataType"]),
        ({"data_type": 13}, ["ImageInfo/DataType = 13 is not an Xradia image data type"]),
        ({"angles_deg": np.linspace(0, 180, N - 1)}, ["ImageInfo/Angles holds 129 values for 130 images"]),
    ],
)
def test_malformed_files_name_the_file_and_the_missing_piece(tmp_path, scan, kw, words):
    path = _good(tmp_path, scan, **kw)
    with pytest.raises(io.InputDataError) as err:
        io.read_projections(path)
    assert str(path) in str(err.value)
    for w in words:
        assert w in str(err.value)


def test_truncated_and_foreign_files(tmp_path, scan):
    path = _good(tmp_path, scan)
    blob = path.read_bytes()
    for cut in (len(blob) // 2, 600):
        short = tmp_path / f"cut{cut}.txrm"
        short.write_bytes(blob[:cut])
        with pytest.raises(io.InputDataError, match=r"cut\d+\.txrm: .*(truncated|damaged)"):
            io.read_projections(short)
    other = tmp_path / "text.txrm"
    other.write_text("not a compound document")
    with pytest.raises(io.InputDataError, match="text.txrm: not a Zeiss Xradia file"):
        io.read_projections(other)
    with pytest.raises(io.InputDataError, match="nothing.txrm: file does not exist"):
        io.read_projections(tmp_path / "nothing.txrm")


def test_xrm_radiograph_and_txm_are_not_projections(tmp_path, scan):
    xrm = write_zeiss(tmp_path / "r.xrm", scan["images"][:1], pixel_size_um=0.5, exposure_s=1.0)
    image, info = zeiss.read_xrm(xrm)
    np.testing.assert_array_equal(image, scan["images"][0])
    assert info.pixel_size_um == 0.5 and info.mosaic_rows == 0
    with pytest.raises(io.InputDataError, match="single radiograph or a mosaic"):
        io.read_projections(xrm)
    txm = write_zeiss(tmp_path / "v.txm", scan["images"][:8].astype(np.float32), pixel_size_um=0.7)
    with pytest.raises(io.InputDataError, match="'volume' column"):
        io.read_projections(txm)
    volume, info = zeiss.read_txm(txm)
    np.testing.assert_array_equal(volume, scan["images"][:8])
    assert info.pixel_size_um == pytest.approx(0.7)


def test_mosaic_newer_layout_one_image_per_tile(tmp_path):
    rows, cols, h, w, px = 2, 3, 8, 10, 0.5
    rng = np.random.default_rng(1)
    tiles = rng.integers(0, 60000, (rows * cols, h, w)).astype(np.uint16)
    grid = io.grid_indices(rows, cols)
    # tile centres 90 % of a tile apart (10 % overlap), y down the rows
    centre = np.stack([grid[:, 0] * 0.9 * h * px + 40.0, grid[:, 1] * 0.9 * w * px - 7.0], axis=1)
    xyz = np.stack([centre[:, 1], centre[:, 0], np.full(len(tiles), 3.0)], axis=1)
    path = write_zeiss(tmp_path / "m.xrm", tiles, pixel_size_um=px, positions_um=xyz, mosaic=(rows, cols))
    data = io.read_mosaic(path)
    np.testing.assert_array_equal(data.tiles, tiles)
    assert (data.n_rows, data.n_cols) == (rows, cols)
    top_left = centre.astype(np.float32) - np.array([(h - 1) / 2, (w - 1) / 2]) * px
    np.testing.assert_allclose(data.stage_position_um, top_left, rtol=1e-6)


def test_mosaic_older_layout_one_stitched_image(tmp_path):
    rows, cols, h, w, px = 2, 3, 8, 10, 0.5
    whole = np.arange(rows * h * cols * w, dtype=np.uint16).reshape(1, rows * h, cols * w)
    path = write_zeiss(tmp_path / "m.xrm", whole, version=3, pixel_size_um=px, mosaic=(rows, cols))
    data = io.read_mosaic(path)
    assert data.tiles.shape == (rows * cols, h, w)
    np.testing.assert_array_equal(data.tiles[4], whole[0, h : 2 * h, w : 2 * w])
    np.testing.assert_allclose(data.stage_position_um[4], [h * px, w * px])
    with pytest.raises(io.InputDataError, match="m2.xrm: 1 image.* do not make a 3 x 3 mosaic"):
        io.read_mosaic(write_zeiss(tmp_path / "m2.xrm", whole, version=3, pixel_size_um=px, mosaic=(3, 3)))
    with pytest.raises(io.InputDataError, match="r.xrm: not a mosaic"):
        io.read_mosaic(write_zeiss(tmp_path / "r.xrm", whole, pixel_size_um=px))


def test_zeiss_mosaic_of_the_virtual_mosaic_stitches_to_its_true_positions(tmp_path):
    from batteryct import mosaic

    sim = mosaic.simulate_mosaic(
        seed=5, n_rows=2, n_cols=2, tile_px=64, pixel_size_um=0.512, overlap_fraction=0.2,
        stage_error_px=1.0, gain_drift=0.02, flat_counts=3000, particles_per_tile=8,
    )  # fmt: skip
    centre = sim.stage_position_um + (64 - 1) / 2 * 0.512
    xyz = np.stack([centre[:, 1], centre[:, 0], np.zeros(len(centre))], axis=1)
    path = write_zeiss(tmp_path / "m.xrm", sim.tiles, pixel_size_um=0.512, positions_um=xyz, mosaic=(2, 2))
    data = io.read_mosaic(path)
    np.testing.assert_allclose(data.stage_position_um, sim.stage_position_um, atol=1e-5)  # float32 streams
    res = mosaic.stitch(
        data.tiles, data.stage_position_um, data.pixel_size_um, data.n_rows, data.n_cols,
        search_px=6, min_ncc=0.3, max_residual_px=1.0,
    )  # fmt: skip
    found, true = res.positions[["y_px", "x_px"]].to_numpy(), sim.true_position_px
    assert res.n_pairs_used == 4
    assert np.abs((found - found[0]) - (true - true[0])).max() < 0.1
