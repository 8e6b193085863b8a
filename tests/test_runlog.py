"""Readable job logs: numbers, row summaries, k/N progress and the report's checks."""

import logging

import numpy as np
import pandas as pd

from batteryct import report, runlog


def test_number_gives_four_significant_figures_as_plain_text():
    assert runlog.number(np.float64(2.553961e-05)) == "2.554e-05"
    assert runlog.number(np.float32(0.4356123)) == "0.4356"
    assert runlog.number(np.int64(710)) == "710"
    assert runlog.number(np.array(3.14159)) == "3.142"
    assert runlog.number(np.bool_(True)) == "True"
    assert runlog.number(float("inf")) == "inf"
    assert "np." not in runlog.number(np.float64(1.5))


def test_summary_puts_each_interval_and_unit_next_to_its_value():
    row = pd.Series(
        {
            "sample": "E1",
            "tortuosity_factor_z": np.float64(1.93812),
            "tortuosity_factor_z_ci_low": np.float64(1.8991),
            "tortuosity_factor_z_ci_high": np.float64(1.97777),
            "voxel_size_um": 0.512,
        }
    )
    text = runlog.summary(row)
    assert text == "sample E1, tortuosity_factor_z 1.938 [1.899, 1.978], voxel_size_um 0.512 µm"


def test_progress_logs_every_tenth_and_the_end_with_elapsed_time(caplog):
    logger = logging.getLogger("batteryct.test_runlog")
    with caplog.at_level(logging.INFO, logger="batteryct.test_runlog"):
        step = runlog.Progress(logger, "NLM denoising", "blocks")
        for k in range(1, 38):
            step(k, 37)
        step(37, 37)  # a repeated end is not logged twice
    messages = [r.getMessage() for r in caplog.records]
    counts = [m.split(": ")[1].split(" ")[0] for m in messages]
    # each tenth of 37 blocks once (at 4, 8, 12, ..., 34 done), then 37/37
    assert counts == ["4/37", "8/37", "12/37", "15/37", "19/37", "23/37", "26/37", "30/37", "34/37", "37/37"]
    assert all(m.startswith("NLM denoising: ") and m.endswith(" s elapsed") for m in messages)


def test_suspicious_values_lists_each_check_once():
    tables = {
        "scan metrics": pd.DataFrame(
            {
                "sample": ["P1", "P2"],
                "scan": ["a", "a"],
                "center_px": [31.2, 30.0],
                "center_estimates_disagree": [True, False],
                "center_warning": ["centre estimates disagree: Vo 31.20 px", ""],
            }
        ),
        "powder summary": pd.DataFrame({"sample": ["P1"], "mean_void_sphericity": [1.042]}),
        "transport": pd.DataFrame(
            {"sample": ["E1"], "scan": ["s"], "tortuosity_factor_x": [np.inf], "tortuosity_factor_z": [2.1]}
        ),
    }
    checks = report.suspicious_values(tables)
    assert checks[["table", "sample", "column", "value"]].values.tolist() == [
        ["scan metrics", "P1", "center_px", "31.2"],
        ["powder summary", "P1", "mean_void_sphericity", "1.042"],
        ["transport", "E1", "tortuosity_factor_x", "inf"],
    ]
    assert report.suspicious_values({"t": pd.DataFrame({"sample": ["x"], "sphericity": [0.97]})}).empty
