"""The data dictionary (batteryct.columns) and its parquet field metadata (batteryct.io)."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from batteryct import columns, io


@pytest.mark.parametrize(
    "name, unit",
    [
        ("sample", ""),
        ("accepted", ""),
        ("porosity", "1"),
        ("tortuosity_factor_z", "1"),
        ("n_particles", "1"),
        ("voxel_size_um", "µm"),
        ("voxel_size_x_um", "µm"),
        ("surface_area_um2", "µm²"),
        ("volume_um3", "µm³"),
        ("specific_surface_area_per_um", "1/µm"),
        ("conductivity_z_S_m", "S/m"),
        ("conductivity_z_S_m_ci_high", "S/m"),
        ("tau_s", "s"),
        ("dEs_V", "V"),
        ("rmse_mV", "mV"),
        ("D_fit_ci_low_m2_s", "m²/s"),
        ("D_s_cm2_s", "cm²/s"),
        ("activation_energy_kJ_mol", "kJ/mol"),
        ("series_resistance_ohm", "Ω"),
        ("ssa_m2_g", "m²/g"),
        ("temperature_K", "K"),
        ("center_px_vo", "px"),
        ("radius_xz_045_um", "µm"),
        ("d50_volume_um_truth", "µm"),
        ("mean_particle_sphericity", "1"),
        ("mean_void_surface_area_um2", "µm²"),
        ("dead_volume_percent_net", "%"),
        ("porosity_ci_low", "1"),
    ],
)
def test_known_names_have_their_units(name, unit):
    got_unit, description = columns.describe(name)
    assert got_unit == unit
    assert description and description.endswith(".")


def test_intervals_say_how_they_were_computed():
    # transport metrics: posterior label samples; fits: their covariance or the bootstrap
    assert "segmentation posteriors" in columns.describe("tortuosity_factor_z_ci_low")[1]
    assert "`tortuosity_factor_z`" in columns.describe("tortuosity_factor_z_ci_low")[1]
    assert "Jacobian" in columns.describe("D_fit_ci_high_m2_s")[1]
    assert "bootstrap" in columns.describe("D_fit_bootstrap_ci_low_m2_s")[1]
    assert "posterior" not in columns.describe("lognormal_mu_ci_low")[1]
    assert "t interval" in columns.describe("coordination_number_ci_low")[1]
    assert columns.describe("percolating_fraction_z")[1].count("transport box") == 1


def test_the_two_bruggeman_exponents_are_told_apart():
    transport = columns.describe("bruggeman_exponent_through_plane")[1]
    acceptance = columns.describe("kappa_porosity_exponent")[1]
    assert "τ = ε^-α" in transport and "κ = κ₀ ε^α" in acceptance


def test_an_unknown_name_has_no_description_but_its_suffix_unit():
    assert columns.describe("not_a_column") == ("", "")
    assert columns.describe("not_a_column_um2") == ("µm²", "")
    # a truth or interval of an unknown base is unknown too
    assert columns.describe("not_a_column_ci_low")[1] == ""
    assert columns.describe("not_a_column_truth")[1] == ""


def test_field_metadata_round_trip(tmp_path):
    table = pd.DataFrame(
        {
            "sample": ["P1", "E1"],
            "porosity": [0.4, 0.35],
            "conductivity_z_S_m_ci_low": [1.5, np.inf],
            "unknown_thing": [1, 2],
        }
    )
    path = tmp_path / "t.parquet"
    io.write_table(path, table)
    pd.testing.assert_frame_equal(pd.read_parquet(path), table)
    got = io.read_column_dictionary(path)
    assert got["column"].tolist() == list(table.columns)
    assert got["unit"].tolist() == ["", "1", "S/m", ""]
    assert got["description"].tolist()[:3] == [columns.describe(c)[1] for c in table.columns[:3]]
    assert got["description"].iloc[3] == ""
    field = pq.read_schema(path).field("porosity")
    assert field.metadata[b"unit"] == b"1"
    assert field.metadata[b"description"].decode() == columns.describe("porosity")[1]


def test_tables_with_metadata_stay_byte_identical(tmp_path):
    table = pd.DataFrame({"sample": ["P1"], "tortuosity_factor_z": [2.5]})
    io.write_table(tmp_path / "a.parquet", table)
    io.write_table(tmp_path / "b.parquet", table)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_empty_table_keeps_its_dictionary(tmp_path):
    io.write_table(tmp_path / "e.parquet", pd.DataFrame(columns=["sample", "failed_rule"]))
    got = io.read_column_dictionary(tmp_path / "e.parquet")
    assert got["column"].tolist() == ["sample", "failed_rule"]
    assert (got["description"] != "").all()
