"""Tomography fields proposed on the virtual mosaic hold more particles than random fields."""

import numpy as np
import pandas as pd
import pytest

from batteryct import mosaic


@pytest.fixture(scope="module")
def detected():
    sim = mosaic.simulate_mosaic(
        seed=12, n_rows=3, n_cols=4, tile_px=96, pixel_size_um=0.512, overlap_fraction=0.1,
        stage_error_px=1.5, gain_drift=0.03, flat_counts=3000, particles_per_tile=12, median_diameter_um=5.0,
    )  # fmt: skip
    res = mosaic.stitch(
        sim.tiles, sim.stage_position_um, sim.pixel_size_um, sim.n_rows, sim.n_cols,
        search_px=6, min_ncc=0.3, max_residual_px=1.0,
    )  # fmt: skip
    det = mosaic.detect_particles(res.mosaic, sim.pixel_size_um, threshold="noise", edge_k_sigma=3.0,
                                  seed_k_sigma=6.0, min_diameter_um=2.5)  # fmt: skip
    return res, det.particles, sim.pixel_size_um


def random_fields(valid, side, n, rng):
    h, w = valid.shape
    out = []
    while len(out) < n:
        cy, cx = rng.uniform(side / 2, h - side / 2), rng.uniform(side / 2, w - side / 2)
        y0, x0 = int(np.floor(cy - side / 2)), int(np.floor(cx - side / 2))
        if valid[y0 : int(np.ceil(cy + side / 2)) + 1, x0 : int(np.ceil(cx + side / 2)) + 1].all():
            out.append((cy, cx))
    return np.array(out)


@pytest.mark.parametrize("criterion", ["count", "size_range"])
def test_proposed_fields_beat_random_fields_of_the_same_size(detected, criterion):
    res, particles, px = detected
    assert len(particles) > 60
    fov_um = 25.0
    side = fov_um / px
    valid = np.isfinite(res.mosaic)
    fields = mosaic.propose_fields(
        particles, valid, px, res.origin_px, field_of_view_um=fov_um, n_fields=4, criterion=criterion
    )
    assert len(fields) == 4
    # inside the imaged area, no two overlapping
    for a in range(4):
        for b in range(a + 1, 4):
            fa, fb = fields.iloc[a], fields.iloc[b]
            assert max(abs(fa.centre_y_px - fb.centre_y_px), abs(fa.centre_x_px - fb.centre_x_px)) >= side
    rng = np.random.default_rng(0)
    rand = random_fields(valid, side, 300, rng)
    contents = mosaic.field_contents(particles, rand[:, 0], rand[:, 1], side)
    counts = np.array([d.size for d in contents])
    mine = mosaic.field_contents(particles, fields["centre_y_px"], fields["centre_x_px"], side)
    np.testing.assert_array_equal([d.size for d in mine], fields["n_particles"])
    if criterion == "count":
        assert fields["n_particles"].min() > counts.mean()
        assert fields["n_particles"].iloc[0] >= counts.max() - 1  # grid of quarter-field steps
    else:
        spans = np.array([np.log(d.max() / d.min()) if d.size >= 2 else 0.0 for d in contents])
        mine_spans = np.log(fields["diameter_max_um"] / fields["diameter_min_um"])
        assert mine_spans.min() > spans.mean()
    # stage coordinates: (origin + index) * pixel
    np.testing.assert_allclose(fields["centre_y_um"], (res.origin_px[0] + fields["centre_y_px"]) * px)


def test_fields_larger_than_the_mosaic_are_refused(detected):
    res, particles, px = detected
    with pytest.raises(ValueError, match="no 1000 um field fits inside the imaged area"):
        mosaic.propose_fields(
            particles, np.isfinite(res.mosaic), px, res.origin_px, field_of_view_um=1000.0, n_fields=1
        )
    with pytest.raises(ValueError, match="criterion"):
        mosaic.propose_fields(particles, np.ones((9, 9), bool), px, (0, 0), field_of_view_um=1.0, n_fields=1,
                              criterion="many")  # fmt: skip


def test_draw_fields_outlines(detected):
    res, particles, px = detected
    fields = pd.DataFrame({"centre_y_px": [50.0], "centre_x_px": [60.0]})
    img = mosaic.draw_fields(mosaic.to_uint8(res.mosaic), fields, 20.0)
    assert img.shape == res.mosaic.shape + (3,)
    assert img[40, 60].tolist() == [255, 0, 0] and img[60, 50].tolist() == [255, 0, 0]
    red = (img[..., 0] == 255) & (img[..., 1] == 0)
    assert red.sum() == 4 * 21 * 2 - 4 * 4  # four 2-px lines of 21 px, corners shared
