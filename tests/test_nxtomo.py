"""NXtomo reader on files written by the nxtomo package: the same virtual scan as DataExchange."""

import h5py
import numpy as np
import pytest
import yaml

from batteryct import io, recon, simulate
from batteryct.io import nxtomo as nx
from conftest import ROOT

pint = pytest.importorskip("pint")
NXtomo = pytest.importorskip("nxtomo").NXtomo
from nxtomo.nxobject.nxdetector import ImageKey  # noqa: E402

U = pint.get_application_registry()
SPEC = {
    "phantom": "powder",
    "seed": 4,
    "n_voxels": 24,
    "voxel_size_um": 0.512,
    "oversample": 1,
    "n_angles": 31,
    "angle_range_deg": [-90.0, 90.0],
    "center_offset_px": 0.4,
    "flat_counts": 20000,
    "dark_counts": 100,
    "n_bad_columns": 0,
    "zinger_fraction": 0.0,
    "attenuation_per_um": {"active": 0.047, "binder": 0.0094, "support": 0.004},
    "phantom_params": {"n_particles": 4, "median_diameter_um": 3.0, "diameter_range_um": [2.0, 4.0]},
}


@pytest.fixture(scope="module")
def scan():
    return simulate.simulate_scan(SPEC)


def write_nxtomo(path, sim, *, angle_units="degree", pixel=(0.512e-6, "m"), extra=True, darks=True):
    """Darks, flats, then projections with an alignment and an invalid frame among them."""
    frames, keys, angles = [], [], []
    if darks:
        frames += list(sim.darks)
        keys += [ImageKey.DARK_FIELD] * len(sim.darks)
        angles += [0.0] * len(sim.darks)
    frames += list(sim.flats)
    keys += [ImageKey.FLAT_FIELD] * len(sim.flats)
    angles += [0.0] * len(sim.flats)
    for i, (p, a) in enumerate(zip(sim.projections, sim.theta_deg)):
        frames.append(p)
        keys.append(ImageKey.PROJECTION)
        angles.append(a)
        if extra and i == 10:
            frames += [np.zeros_like(p), np.full_like(p, 7)]
            keys += [ImageKey.ALIGNMENT, ImageKey.INVALID]
            angles += [0.0, 45.0]
    scale = {"degree": 1.0, "rad": np.pi / 180.0}[angle_units]
    n = NXtomo()
    n.instrument.detector.data = np.stack(frames)
    n.instrument.detector.image_key_control = keys
    n.sample.rotation_angle = np.asarray(angles) * scale * U(angle_units)
    n.instrument.detector.x_pixel_size = pixel[0] * U(pixel[1])
    n.instrument.detector.y_pixel_size = pixel[0] * U(pixel[1])
    n.instrument.detector.distance = 0.05 * U.m
    n.save(str(path), data_path="entry0000")
    return path


def test_nxtomo_and_dataexchange_of_one_scan_reconstruct_to_identical_volumes(tmp_path, scan):
    dx = tmp_path / "scan.h5"
    io.write_dataexchange(dx, scan.projections, scan.flats, scan.darks, scan.theta_deg, scan.pixel_size_um)
    nxs = write_nxtomo(tmp_path / "scan.nx", scan)
    a, b = io.read_projections(dx), io.read_projections(nxs)
    assert any("left out: 1 alignment frame(s), 1 invalid frame(s)" in n for n in b.notes)
    for name in ("projections", "flats", "darks", "theta_rad"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert b.pixel_size_um == pytest.approx(a.pixel_size_um, rel=1e-12)
    params = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["reconstruct"]
    va, ia = recon.reconstruct(a, **params)
    vb, ib = recon.reconstruct(b, **params)
    np.testing.assert_array_equal(va, vb)
    assert ia["center_px"] == ib["center_px"]
    # and the volume is the phantom's: the reconstruction is not trivially equal
    assert np.corrcoef(va.ravel(), scan.mu_truth_per_um.ravel())[0, 1] > 0.8


def test_units_as_stored(tmp_path, scan):
    path = write_nxtomo(tmp_path / "r.nx", scan, angle_units="rad", pixel=(0.512, "um"), extra=False)
    data = nx.read_nxtomo(path)
    np.testing.assert_allclose(np.rad2deg(data.theta_rad), scan.theta_deg, rtol=1e-12)
    assert data.pixel_size_um == pytest.approx(0.512)
    assert any("distance 0.05 m" in n for n in data.notes)
    nodark = nx.read_nxtomo(write_nxtomo(tmp_path / "d.nx", scan, darks=False), dark_counts=80.0)
    assert nodark.darks.shape == (1,) + scan.flats.shape[1:] and np.all(nodark.darks == 80.0)
    assert any("no dark field" in n for n in nodark.notes)


def _edit(path, fn):
    with h5py.File(path, "r+") as f:
        fn(f["entry0000"])
    return path


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda e: e["sample"].__delitem__("rotation_angle"), "has no sample/rotation_angle"),
        (lambda e: e["instrument/detector"].__delitem__("image_key_control"), None),
        (lambda e: e["instrument/detector/x_pixel_size"].attrs.__setitem__("units", "furlong"), "unknown length units"),
        (lambda e: e["sample/rotation_angle"].attrs.__setitem__("units", "grad"), "unknown units 'grad'"),
        (lambda e: e["instrument/detector/y_pixel_size"].write_direct(np.array(1e-6)), "non-square pixels"),
    ],
)
def test_malformed_nxtomo_names_the_file_and_the_piece(tmp_path, scan, edit, words):
    path = _edit(write_nxtomo(tmp_path / "bad.nx", scan, extra=False), edit)
    if words is None:  # image_key remains: the standard key is used
        assert nx.read_nxtomo(path).projections.shape[0] == scan.projections.shape[0]
        return
    with pytest.raises(io.InputDataError) as err:
        io.read_projections(path)
    assert str(path) in str(err.value) and words in str(err.value)


def test_missing_flats_and_mismatched_keys(tmp_path, scan):
    path = tmp_path / "noflat.nx"
    with h5py.File(path, "w") as f:
        e = f.create_group("entry")
        e["definition"] = "NXtomo"
        e["instrument/detector/data"] = scan.projections
        e["instrument/detector/image_key"] = np.zeros(len(scan.projections), int)
        e["sample/rotation_angle"] = scan.theta_deg
    with pytest.raises(io.InputDataError, match=r"noflat.nx: no flat field \(image key 1\)"):
        io.read_projections(path)
    with h5py.File(path, "r+") as f:
        del f["entry/instrument/detector/image_key"]
        f["entry/instrument/detector/image_key"] = np.zeros(3, int)
    with pytest.raises(io.InputDataError, match="image_key has 3 values for 31 frames"):
        io.read_projections(path)
    assert nx.is_nxtomo(path) and not nx.is_nxtomo(tmp_path / "absent.nx")
