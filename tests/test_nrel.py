"""The real NREL nmc-1-cal electrode (resources/nrel_nmc_1_cal, BSD-3) against its reference figures."""

import numpy as np
import pytest
from skimage.measure import marching_cubes, mesh_surface_area

from batteryct import io, metrics, phases
from conftest import ROOT

NREL = ROOT / "resources" / "nrel_nmc_1_cal" / "nmc-1-cal_generatedCBD_bridge.tif"


@pytest.fixture(scope="module")
def raw():
    return io.read_labels(NREL)


def test_import_with_phase_map_keeps_phase_fractions(raw):
    labels = phases.import_labels(raw, phases.parse_phase_map("0:pore,1:active,2:binder"))
    fractions = metrics.phase_fractions(labels)
    # README of the data: 40.05 % pore, 49.95 % active, 10.0 % binder.
    assert fractions["porosity"] == pytest.approx(0.40055, abs=5e-5)
    assert fractions["active_fraction"] == pytest.approx(0.49945, abs=5e-5)
    assert fractions["binder_fraction"] == pytest.approx(0.1000, abs=5e-5)
    # Closed pores exist but are rare in a calendered electrode.
    assert 0 < fractions["internal_void_fraction"] < 0.002


def test_surface_area_against_the_reference_marching_cubes(raw):
    pore = raw == 0
    # Plain marching cubes reproduces the reference figure (0.099 per voxel) ...
    v, f, _, _ = marching_cubes(np.pad(pore, 1, mode="edge").astype(np.float32), 0.5)
    plain = mesh_surface_area(v, f) / pore.size
    assert plain == pytest.approx(0.099, rel=0.02)
    # ... and the corrected area is lower by about the staircase bias measured on spheres.
    corrected = metrics.specific_surface_area_per_um(pore, 1.0)
    assert 0.86 < corrected / plain < 0.93


def test_phase_map_errors_are_clear(raw):
    with pytest.raises(ValueError, match=r"label values \[2\] are not in the phase map"):
        phases.import_labels(raw, phases.parse_phase_map("0:pore,1:active"))
    with pytest.raises(ValueError, match="not 'value:name'"):
        phases.parse_phase_map("0:pore,1:glue")
