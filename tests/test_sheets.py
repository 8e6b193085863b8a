import pandas as pd
import pytest

from batteryct.sheets import SheetError, load_campaign, parse_voxel_size
from conftest import SCHEMAS

SAMPLES = "sample\tkind\tmaterial\tdensity_g_cm3\nA1\tpowder\tNMC622\t4.75\nB-2\telectrode\tNMC811\t\n"
SCANS = "sample\tscan\tprojections\tpixel_size_um\nA1\ts01\ta.h5\t0.512\nB-2\ts01\tb_tiff\t\n"


def write(tmp_path, samples=SAMPLES, scans=SCANS):
    (tmp_path / "samples.tsv").write_text(samples)
    (tmp_path / "scans.tsv").write_text(scans)
    return (
        tmp_path / "samples.tsv",
        tmp_path / "scans.tsv",
        SCHEMAS / "samples.schema.yaml",
        SCHEMAS / "scans.schema.yaml",
    )


def test_valid_sheets_are_typed(tmp_path):
    samples, scans, problems = load_campaign(*write(tmp_path))
    assert problems == {}
    assert samples.loc["A1", "density_g_cm3"] == pytest.approx(4.75)
    assert pd.isna(samples.loc["B-2", "density_g_cm3"])
    assert scans.loc[("A1", "s01"), "pixel_size_um"] == pytest.approx(0.512)
    assert scans.loc[("B-2", "s01"), "projections"] == "b_tiff"


@pytest.mark.parametrize(
    "samples,scans,expected",
    [
        (SAMPLES.replace("A1\tpowder", "A1\tslurry"), SCANS, "samples.tsv, row 1, column 'kind'"),
        (SAMPLES.replace("B-2\t", "-B2\t"), SCANS, "samples.tsv, row 2, column 'sample'"),
        (SAMPLES.replace("4.75", "heavy"), SCANS, "samples.tsv, row 1, column 'density_g_cm3'"),
        (SAMPLES, SCANS.replace("0.512", "-1"), "scans.tsv, row 1, column 'pixel_size_um'"),
        (SAMPLES, SCANS.replace("b_tiff", ""), "scans.tsv, row 2: give one of 'projections', 'volume', or 'labels'"),
        (SAMPLES, SCANS.replace("\ts01\ta.h5", "\ts 01\ta.h5"), "scans.tsv, row 1, column 'scan'"),
    ],
)
def test_bad_cells_are_named_by_sheet_row_and_column(tmp_path, samples, scans, expected):
    with pytest.raises(SheetError) as err:
        load_campaign(*write(tmp_path, samples, scans))
    assert expected in str(err.value)


def test_duplicate_scan_is_an_error(tmp_path):
    with pytest.raises(SheetError, match="duplicate"):
        load_campaign(*write(tmp_path, scans=SCANS + "A1\ts01\tc.h5\t\n"))


def test_unknown_sample_is_reported_for_that_scan_only(tmp_path):
    samples, scans, problems = load_campaign(*write(tmp_path, scans=SCANS + "Z9\ts01\tz.h5\t\n"))
    assert list(problems) == [("Z9", "s01")]
    assert "row 3, column 'sample'" in problems[("Z9", "s01")]
    assert "'Z9'" in problems[("Z9", "s01")]


LABEL_SCANS = "sample\tscan\tprojections\tlabels\tphase_map\tpixel_size_um\nA1\tseg\t\tseg.tif\t0:pore,1:active\t0.4\n"


def test_labels_scan_is_valid(tmp_path):
    _, scans, _ = load_campaign(*write(tmp_path, scans=LABEL_SCANS))
    assert scans.loc[("A1", "seg"), "phase_map"] == "0:pore,1:active"


@pytest.mark.parametrize(
    "change,expected",
    [
        (
            ("\t0.4\n", "\t\n"),
            "row 1: give one of 'projections', 'volume', or 'labels' with 'phase_map' and 'pixel_size_um'",
        ),
        (("\t\tseg.tif", "\ta.h5\tseg.tif"), "row 1: give one of 'projections', 'volume', or 'labels'"),
        (("0:pore,1:active", "0:pore,1:glue"), "row 1, column 'phase_map'"),
        (("0:pore,1:active", "pore=0"), "row 1, column 'phase_map'"),
    ],
)
def test_bad_labels_rows(tmp_path, change, expected):
    with pytest.raises(SheetError) as err:
        load_campaign(*write(tmp_path, scans=LABEL_SCANS.replace(*change)))
    assert expected in str(err.value)


def test_voxel_size_triple_for_label_scans_only(tmp_path):
    scans_text = LABEL_SCANS.replace("\t0.4\n", "\t0.8, 0.4,0.4\n") + "A1\tproj\ta.h5\t\t\t0.5,0.5,1\n"
    _, scans, problems = load_campaign(*write(tmp_path, scans=scans_text))
    assert scans.loc[("A1", "seg"), "pixel_size_um"] == (0.8, 0.4, 0.4)
    # a projections scan has cubic voxels: that scan alone gets a problem naming row and column
    assert list(problems) == [("A1", "proj")]
    assert "row 2, column 'pixel_size_um'" in problems[("A1", "proj")]
    assert "only for scans given as 'labels'" in problems[("A1", "proj")]


def test_parse_voxel_size():
    assert parse_voxel_size(0.5) == 0.5
    assert parse_voxel_size("0.5,0.5,0.5") == 0.5
    assert parse_voxel_size(" 1e-1 ,0.2,0.3") == (0.1, 0.2, 0.3)
    assert parse_voxel_size(None) is None
    for bad in ("0.5,0.5", "0,1,1", "a,b,c"):
        with pytest.raises(ValueError):
            parse_voxel_size(bad)
