"""The job model of batteryct.resources: posterior-sample batches and their run time."""

import math

import pytest

from batteryct import resources


@pytest.mark.parametrize("n_samples", [0, 1, 3, 8, 9, 17])
@pytest.mark.parametrize("per_job", [1, 2, 4, 8])
def test_sample_batches_cover_every_index_once_aligned(n_samples, per_job):
    batches = resources.sample_batches(n_samples, per_job)
    indices = [i for first, last in batches for i in range(first, last + 1)]
    assert indices == list(range(n_samples))
    assert all(first % per_job == 0 and last - first < per_job for first, last in batches)
    assert len(batches) == math.ceil(n_samples / per_job)


@pytest.mark.parametrize("per_job", [1, 3, 4])
def test_one_more_sample_keeps_every_full_batch(per_job):
    for n in range(12):
        before, after = resources.sample_batches(n, per_job), resources.sample_batches(n + 1, per_job)
        full = [b for b in before if b[1] - b[0] + 1 == per_job]
        assert set(full) <= set(after)
        assert len(set(after) - set(before)) == 1  # one new or grown batch, nothing else


def test_sample_batches_refuse_an_empty_batch():
    with pytest.raises(ValueError, match="per_job"):
        resources.sample_batches(8, 0)


def test_runtime_scales_with_the_items_of_a_job():
    n = 512**3  # big enough to be above the 5-minute floor
    one = resources.runtime_min("transport_sample", n)
    m = resources.STAGES["transport_sample"]
    model_min = resources.HEADROOM_TIME * (m.base_s + m.s_per_mvoxel * n / 1e6) / 60
    assert one == math.ceil(model_min)
    assert resources.runtime_min("transport_sample", n, n_items=4) == math.ceil(4 * model_min)
    assert resources.runtime_min("transport_sample", n, attempt=2, n_items=4) == 2 * math.ceil(4 * model_min)
