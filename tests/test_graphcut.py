"""Potts prior on the pore|solid decision (:func:`batteryct.segment.potts_solid_mask`).

The graph cut is checked against the exhaustive minimum of the same energy on grids
small enough to enumerate (2^12 labelings), with and without fixed pore voxels.
"""

import itertools

import numpy as np
import pytest

from batteryct.segment import potts_solid_mask
from batteryct.segment.graphcut import EPS


def energy(solid, p_solid, weight):
    """Posterior cost plus ``weight`` per pair of face neighbours with different labels."""
    p = np.clip(p_solid.astype(np.float64), EPS, 1 - EPS)
    e = float(np.where(solid, -np.log(p), -np.log1p(-p)).sum())
    return e + weight * sum(np.count_nonzero(np.diff(solid.astype(np.int8), axis=a)) for a in range(3))


def exhaustive_minimum(p_solid, weight, fixed_pore=None):
    best = np.inf
    for bits in itertools.product((False, True), repeat=p_solid.size):
        solid = np.array(bits).reshape(p_solid.shape)
        if fixed_pore is not None and np.any(solid & fixed_pore):
            continue
        best = min(best, energy(solid, p_solid, weight))
    return best


@pytest.mark.parametrize("trial", range(12))
def test_graph_cut_is_the_exact_minimum(trial):
    rng = np.random.default_rng(trial)
    shape = ((2, 2, 3), (1, 3, 4), (3, 2, 2))[trial % 3]
    # posteriors near 1/2 (in the graph) and confident ones (proved persistent, left out of it)
    p = np.where(rng.random(shape) < 0.7, rng.uniform(0.2, 0.8, shape), rng.uniform(0, 1, shape)).astype(np.float32)
    weight = float(rng.uniform(0.05, 1.5))
    fixed = (rng.random(shape) < 0.2) if trial % 2 else None
    solid = potts_solid_mask(p, weight, fixed_pore=fixed)
    if fixed is not None:
        assert not np.any(solid & fixed)
    assert energy(solid, p, weight) == pytest.approx(exhaustive_minimum(p, weight, fixed), abs=1e-5)


def test_zero_weight_is_the_argmax_and_a_large_weight_one_class():
    rng = np.random.default_rng(5)
    p = rng.uniform(0, 1, (6, 7, 8)).astype(np.float32)
    assert np.array_equal(potts_solid_mask(p, 0.0), p > 0.5)
    # a face costs more than any voxel's cost difference (13.8 nats): the labeling is uniform
    solid = potts_solid_mask(p, 20.0)
    assert solid.all() or not solid.any()
    uniform = [energy(np.full(p.shape, value), p, 20.0) for value in (False, True)]
    assert energy(solid, p, 20.0) == pytest.approx(min(uniform))


def test_noisy_thin_plate_is_recovered():
    """A solid plate 3 voxels thick whose posteriors are noisy: the prior removes the
    holes and specks of the argmax and keeps the plate's thickness."""
    rng = np.random.default_rng(0)
    truth = np.zeros((24, 24, 24), bool)
    truth[:, :, 10:13] = True
    logit = np.where(truth, 1.0, -1.0) + rng.normal(0, 1.2, truth.shape)
    p = (1 / (1 + np.exp(-logit))).astype(np.float32)
    argmax_errors = int(np.count_nonzero((p > 0.5) != truth))
    cut = potts_solid_mask(p, 0.6)
    assert argmax_errors > 0.15 * truth.size
    assert np.count_nonzero(cut != truth) < 0.02 * truth.size
    assert np.array_equal(cut.sum(axis=(0, 1)) > 0.5 * 24 * 24, truth.any(axis=(0, 1)))


def test_bad_arguments():
    p = np.full((4, 4, 4), 0.5, np.float32)
    for weight in (-0.1, np.nan, np.inf):
        with pytest.raises(ValueError, match="weight"):
            potts_solid_mask(p, weight)
    with pytest.raises(ValueError, match="shape"):
        potts_solid_mask(p, 0.5, fixed_pore=np.zeros((4, 4, 5), bool))
    with pytest.raises(ValueError):
        potts_solid_mask(np.full((4, 4), 0.5), 0.5)
