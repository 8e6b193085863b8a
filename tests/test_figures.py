"""Report figures: deterministic PNGs, scale bars, number formatting, checklists and Table 1."""

import struct
import subprocess
import sys
import zlib

import numpy as np
import pandas as pd
import pytest

from batteryct.figures import acceptance, powder, scan
from batteryct.figures._base import fmt, nice_length
from batteryct.io.figures import write_figure


def png_chunks(data: bytes) -> list[str]:
    """Chunk types of a PNG, checking each CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, i = [], 8
    while i < len(data):
        (n,) = struct.unpack(">I", data[i : i + 4])
        kind = data[i + 4 : i + 8]
        assert zlib.crc32(kind + data[i + 8 : i + 8 + n]) == struct.unpack(">I", data[i + 8 + n : i + 12 + n])[0]
        out.append(kind.decode())
        i += 12 + n
    return out


def sample_slices_figure():
    rng = np.random.default_rng(3)
    labels = np.zeros((20, 24, 24), np.uint8)
    labels[5:15, 6:18, 6:18] = 1
    labels[8:11, 9:12, 9:12] = 2
    volume = (labels == 1) * 0.04 + rng.normal(0, 0.002, labels.shape)
    box = (slice(None), slice(4, 20), slice(4, 20))
    return scan.orthogonal_slices(volume, labels, 0.5, transport_box=box, metrics_radius_px=10.0, title="P / a")


def test_figure_png_has_no_time_or_software_stamp_and_is_byte_identical(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    write_figure(a, sample_slices_figure())
    write_figure(b, sample_slices_figure())
    data = a.read_bytes()
    assert data == b.read_bytes()
    chunks = png_chunks(data)
    assert chunks[0] == "IHDR" and chunks[-1] == "IEND"
    assert not {"tEXt", "iTXt", "zTXt", "tIME"} & set(chunks), chunks


SUBPROCESS = """
import sys
from test_figures import sample_slices_figure
from batteryct.io.figures import write_figure
write_figure(sys.argv[1], sample_slices_figure())
"""


def test_figure_is_byte_identical_across_processes(tmp_path):
    """A fresh interpreter (other hash seed, font cache state) writes the same bytes."""
    here = tmp_path / "here.png"
    write_figure(here, sample_slices_figure())
    there = tmp_path / "there.png"
    tests = str(__import__("pathlib").Path(__file__).parent)
    env = {"PYTHONPATH": tests, "PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", SUBPROCESS, str(there)], check=True, env=env, cwd=tmp_path)
    assert here.read_bytes() == there.read_bytes()


def test_orthogonal_slices_draw_the_transport_box_where_it_is():
    fig = sample_slices_figure()
    xy = fig.axes[0]
    rect = [p for p in xy.patches if type(p).__name__ == "Rectangle"][0]
    # x from 4 to 20, y from 4 to 20 (pixel edges at -0.5)
    assert rect.get_xy() == (3.5, 3.5) and rect.get_width() == 16 and rect.get_height() == 16
    circle = [p for p in xy.patches if type(p).__name__ == "Circle"][0]
    assert circle.center == (11.5, 11.5) and circle.radius == 10.0
    # z runs over the whole volume in the xz plane: the box spans all 20 slices
    xz_rect = [p for p in fig.axes[1].patches if type(p).__name__ == "Rectangle"][0]
    assert xz_rect.get_height() == 20


@pytest.mark.parametrize(("length", "expected"), [(7.3, 5.0), (0.42, 0.2), (20.0, 20.0), (1.99, 1.0), (123.0, 100.0)])
def test_scale_bar_length_is_the_largest_1_2_5_value_below(length, expected):
    assert nice_length(length) == expected


def test_scale_bar_is_as_long_as_it_says():
    fig = sample_slices_figure()
    ax = fig.axes[0]
    bar = [line for line in ax.lines if line.get_linewidth() == 3][0]
    x = bar.get_xdata()
    label = [t.get_text() for t in ax.texts if t.get_text().endswith("µm")][0]
    # 24 px of 0.5 um: a fifth is 2.4 um -> a 2 um bar of 4 px
    assert label == "2 µm" and x[1] - x[0] == pytest.approx(4.0)


def test_numbers_read_as_decimals_not_exponents():
    assert fmt(11881.3) == "11881"
    assert fmt(0.44312) == "0.4431"
    assert fmt(2.5536e-5) == "2.554×10⁻⁵"
    assert fmt(float("inf")) == "∞" and fmt(float("nan")) == "n/a"


def test_acceptance_checklist_applies_each_limit():
    row = {
        "d50_volume_um": 16.0,
        "span_volume": 1.5,
        "ssa_m2_g": 0.3,
        "reachable_fraction": 0.79,
        "lognormal_ok": False,
    }
    criteria = {
        "d50_um": [5.0, 15.0],
        "span_volume_max": 1.5,
        "ssa_m2_g": [0.05, 1.0],
        "reachable_fraction_min": 0.8,
        "dispersion_index_max": None,
        "require_lognormal": False,
    }
    table = acceptance.checklist(row, criteria).set_index("criterion")["result"]
    assert table.to_dict() == {
        "volume-weighted d50": "FAIL",
        "volume span (d90 − d10) / d50": "pass",  # the limit is inclusive
        "specific surface area": "pass",
        "capacity reachable at the C-rate": "FAIL",
        "dispersion index": "not checked",
        "lognormal size distribution": "not checked",
    }


def test_table1_is_mean_and_sample_sd_per_sample_without_border_particles():
    rng = np.random.default_rng(0)
    n = 30
    particles = pd.DataFrame(
        {
            "sample": ["A"] * n + ["B"] * n,
            "touches_border": [False] * (n - 1) + [True] + [False] * n,
            **{c: rng.lognormal(1, 0.3, 2 * n) for _, _, k, c in powder.TABLE1_ROWS if k == "particles"},
        }
    )
    voids = pd.DataFrame(
        {"sample": ["A"] * 3, **{c: [1.0, 2.0, 4.0] for _, _, k, c in powder.TABLE1_ROWS if k == "voids"}}
    )
    table = powder.table1_rows(particles, voids).set_index("metric")
    v = particles.loc[(particles["sample"] == "A") & ~particles["touches_border"], "sphericity"].to_numpy()
    assert table.loc["particle sphericity", "A"] == f"{fmt(v.mean())} ± {fmt(v.std(ddof=1))} (n = {n - 1})"
    assert table.loc["void volume", "A"] == f"{fmt(7 / 3)} ± {fmt(np.std([1, 2, 4], ddof=1))} (n = 3)"
    assert table.loc["void volume", "B"] == "–"
    assert table.loc["void volume", "unit"] == "µm³"


def test_gallery_shows_the_extremes_and_a_fixed_random_choice():
    rng = np.random.default_rng(1)
    t = pd.DataFrame(
        {
            "particle_id": np.arange(1, 21),
            "equivalent_diameter_um": rng.uniform(3, 9, 20),
            "sphericity": rng.uniform(0.7, 0.99, 20),
            "touches_border": [True] + [False] * 19,
        }
    )
    picks = powder.gallery_ids(t)
    inner = t[~t["touches_border"]]
    assert picks[0] == (int(inner.loc[inner["equivalent_diameter_um"].idxmax(), "particle_id"]), "largest")
    assert picks[3] == (int(inner.loc[inner["sphericity"].idxmin(), "particle_id"]), "least spherical")
    assert 1 not in [i for i, _ in picks]  # a particle cut by the border is not shown
    assert picks == powder.gallery_ids(t) and len(picks) == 10
    random = [i for i, why in picks if why == "random"]
    assert len(set(random)) == 6 and not set(random) & {i for i, why in picks if why != "random"}
