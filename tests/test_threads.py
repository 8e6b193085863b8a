"""Transport metrics do not depend on the thread count, and the costly ones can be switched off."""

import numba
import numpy as np
import pandas as pd
import pytest

from batteryct import electrode, generators, io
from batteryct.transport import _multigrid

SETTINGS = dict(
    rtol=1e-6,
    random_walk_walkers=400,
    random_walk_steps=4000,
    active_conductivity_S_m=1.0,
    binder_conductivity_S_m=10.0,
    contact_resistance_ohm_m2=1e-7,
    adhesion_energy_J_m2=1.0,
    shear_strength_Pa=1e6,
    seed=3,
)


@pytest.fixture(scope="module")
def labels():
    """A porous electrode: pores of thresholded noise, binder a thin shell of the solid."""
    pore = generators.thresholded_noise((36, 40, 44), porosity=0.4, sigma_voxels=2.0, seed=7)
    binder = generators.thresholded_noise((36, 40, 44), porosity=0.15, sigma_voxels=1.5, seed=8)
    out = np.where(pore, 0, np.where(binder, 3, 1)).astype(np.uint8)
    return out


def _bytes(tmp_path, name, row, nodes, throats):
    files = {}
    for part, table in (("row", pd.DataFrame([row])), ("nodes", nodes), ("throats", throats)):
        path = tmp_path / f"{name}_{part}.parquet"
        io.write_table(path, table)
        files[part] = path.read_bytes()
    return files


def test_value_metrics_are_byte_identical_for_one_and_two_threads(labels, tmp_path, monkeypatch):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has a single thread on this machine")
    # run every multigrid level in parallel, not only those above 2^22 cells
    monkeypatch.setattr(_multigrid, "_PARALLEL_MIN_CELLS", 0)
    before = numba.get_num_threads()
    results = {}
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            row, nodes, throats = electrode.value_metrics(labels, 0.5, instances=None, **SETTINGS)
            results[threads] = (row, _bytes(tmp_path, f"t{threads}", row, nodes, throats))
    finally:
        numba.set_num_threads(before)
    (row1, files1), (row2, files2) = results[1], results[2]
    assert row1["tortuosity_factor_z"] > 1.0 and np.isfinite(row1["random_walk_tortuosity_factor_x"])
    assert row1 == row2
    assert files1 == files2


def test_random_walk_network_and_conductivity_can_be_switched_off(labels):
    full, nodes, _ = electrode.value_metrics(labels, 0.5, instances=None, **SETTINGS)
    lean, lean_nodes, lean_throats = electrode.value_metrics(
        labels, 0.5, instances=None, **SETTINGS, random_walk=False, network=False, conductivity=False
    )
    dropped = {k for k in full if k.startswith(("random_walk_", "network_", "conductivity_"))}
    assert len(dropped) == 3 + 5 + 3
    assert set(lean) == set(full) - dropped
    assert {k: lean[k] for k in lean} == {k: full[k] for k in lean}  # the rest unchanged, exactly
    assert len(nodes) > 0 and len(lean_nodes) == len(lean_throats) == 0
    assert list(lean_nodes.columns) == list(nodes.columns)
