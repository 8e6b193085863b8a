"""The calendering sheet's schema and the rule scripts of workflow/rules/calendering.smk (no snakemake run)."""

import runpy

import pandas as pd
import pytest

from batteryct.calendering import simulate_calendering_series
from batteryct.sheets import SheetError, load_sheet
from conftest import ROOT, SCHEMAS

SCHEMA = SCHEMAS / "calendering.schema.yaml"
SCRIPTS = ROOT / "workflow" / "scripts"


def write_sheet(path, sheet):
    sheet.to_csv(path, sep="\t", index=False, float_format="%.6g")
    return path


@pytest.fixture(scope="module")
def virtual():
    composition = simulate_calendering_series(seed=1, n_levels=3, line_speeds_m_min=(1.0, 20.0)).sheet
    pycnometer = simulate_calendering_series(seed=2, series="pyc", n_levels=3, pycnometer=True).sheet
    return composition, pycnometer


@pytest.mark.parametrize("which", ["composition", "pycnometer", "both"])
def test_virtual_calender_sheets_pass_the_schema(tmp_path, virtual, which):
    composition, pycnometer = virtual
    sheet = {"composition": composition, "pycnometer": pycnometer}.get(which)
    if sheet is None:  # two series with different density columns: empty cells in each
        sheet = pd.concat([composition, pycnometer], ignore_index=True)
    table = load_sheet(write_sheet(tmp_path / "calendering.tsv", sheet), SCHEMA, ("sample",))
    assert list(table["sample"]) == list(sheet["sample"])
    assert table["thickness_um"].to_numpy() == pytest.approx(sheet["thickness_um"].to_numpy(), rel=1e-5)


def test_a_sheet_with_only_one_of_the_loads_passes(tmp_path, virtual):
    sheet = virtual[0]
    for drop in ("line_load_N_mm", "pressure_MPa"):
        load_sheet(write_sheet(tmp_path / f"no_{drop}.tsv", sheet.drop(columns=drop)), SCHEMA, ("sample",))


def test_negative_thickness_names_row_and_column(tmp_path, virtual):
    sheet = virtual[0].copy()
    sheet.loc[1, "thickness_um"] = -5.0
    with pytest.raises(SheetError, match=r"row 2, column 'thickness_um'.*less than or equal to the minimum of 0"):
        load_sheet(write_sheet(tmp_path / "bad.tsv", sheet), SCHEMA, ("sample",))


def test_misspelled_column_is_named(tmp_path, virtual):
    sheet = virtual[0].rename(columns={"thickness_gap_um": "thickness_gap_mm"})
    with pytest.raises(SheetError, match=r"unknown column 'thickness_gap_mm' \(did you mean 'thickness_gap_um'\?\)"):
        load_sheet(write_sheet(tmp_path / "bad.tsv", sheet), SCHEMA, ("sample",))
    sheet = virtual[0].rename(columns={"mass_loading_mg_cm2": "mass_loading_mg_per_cm2"})
    with pytest.raises(SheetError, match=r"column 'mass_loading_mg_cm2': 'mass_loading_mg_cm2' is a required"):
        load_sheet(write_sheet(tmp_path / "bad.tsv", sheet), SCHEMA, ("sample",))


def test_a_sheet_without_any_load_is_refused(tmp_path, virtual):
    sheet = virtual[0].drop(columns=["line_load_N_mm", "pressure_MPa"])
    with pytest.raises(SheetError, match="not valid under any of the given schemas"):
        load_sheet(write_sheet(tmp_path / "bad.tsv", sheet), SCHEMA, ("sample",))


def test_duplicate_sample_is_refused(tmp_path, virtual):
    sheet = virtual[0].copy()
    sheet.loc[1, "sample"] = sheet.loc[0, "sample"]
    with pytest.raises(SheetError, match="duplicate"):
        load_sheet(write_sheet(tmp_path / "bad.tsv", sheet), SCHEMA, ("sample",))


class Names(dict):
    """The attribute-and-key access of snakemake's named lists, enough for the scripts."""

    __getattr__ = dict.__getitem__


def run_script(name, tmp_path, *, input=None, output, params):
    sm = type("Snakemake", (), {})()
    sm.input, sm.output, sm.params = Names(input or {}), Names(output), Names(params)
    sm.log = [str(tmp_path / f"{name}.log")]
    runpy.run_path(str(SCRIPTS / f"{name}.py"), init_globals={"snakemake": sm})
    return (tmp_path / f"{name}.log").read_text()


def test_simulate_and_fit_scripts_on_two_series(tmp_path):
    series = {
        "A": {"seed": 5, "n_levels": 3, "line_speeds_m_min": [0.2, 20.0], "samples": {"L1-v0": "E1"}},
        "B": {"seed": 6, "n_levels": 3, "line_speeds_m_min": [0.2], "pycnometer": True, "law": "heckel"},
    }
    out = {k: str(tmp_path / f"{k}.{ext}") for k, ext in (("sheet", "tsv"), ("truth", "parquet"), ("exact", "parquet"))}
    run_script("simulate_calendering", tmp_path, output=out, params={"series": series})
    sheet = pd.read_csv(out["sheet"], sep="\t")
    assert sheet.columns[0] == "sample"
    assert list(sheet["sample"]) == ["A-L0-v0", "A-L0-v1", "E1", "A-L1-v1", "A-L2-v0", "A-L2-v1"] + [
        f"B-L{i}-v0" for i in range(3)
    ]
    truth = pd.read_parquet(out["truth"])
    assert list(truth.columns) == ["series", "model", "parameter", "value", "unit"]
    assert not truth["model"].isin(["bruggeman", "coordination_arzt"]).any()  # CT laws: the pipeline's CT
    exact = pd.read_parquet(out["exact"])
    assert list(exact["sample"]) == list(sheet["sample"])

    fits = {"parameters": str(tmp_path / "fits.parquet"), "samples": str(tmp_path / "fits_samples.parquet")}
    params = {
        "schema": str(SCHEMA),
        "contact_modulus_GPa": 10.0,
        "thickness_error_um": 0.2,
        "mass_loading_error_mg_cm2": 0.05,
        "geometry": "roll_on_flat",
    }
    log = run_script("calendering_fits", tmp_path, input={"sheet": out["sheet"]}, output=fits, params=params)
    parameters = pd.read_parquet(fits["parameters"])
    assert set(parameters["series"]) == {"A", "B"}
    assert "compaction law selected by AICc" in log and "Drucker-Prager" in log
    tau = parameters.query("series == 'A' and parameter == 'relaxation_time'").iloc[0]
    assert tau.ci_low < 0.02 < tau.ci_high  # the virtual calender's default tau
    assert len(pd.read_parquet(fits["samples"])) == len(sheet)
