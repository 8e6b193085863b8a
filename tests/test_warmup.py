"""batteryct.warmup: the synthetic electrode that compiles the transport kernels once."""

import numpy as np
import yaml

from batteryct import warmup
from batteryct.electrode import value_metrics
from batteryct.fov import box_roi
from batteryct.label_codes import LABEL_BINDER, LABEL_OPEN_PORE, LABEL_SOLID
from batteryct.segment import CLASS_LABELS
from conftest import ROOT

CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_synthetic_electrode_has_the_stated_phases_and_posteriors():
    labels, posteriors = warmup.synthetic_electrode(32, seed=3)
    fractions = {code: np.mean(labels == code) for code in (LABEL_OPEN_PORE, LABEL_BINDER, LABEL_SOLID)}
    # cut at the 40 % and 50 % quantiles of the field: exact up to ties
    assert abs(fractions[LABEL_OPEN_PORE] - 0.4) < 1e-3 and abs(fractions[LABEL_BINDER] - 0.1) < 1e-3
    assert abs(fractions[LABEL_SOLID] - 0.5) < 1e-3
    assert posteriors.dtype == np.float16 and posteriors.shape == (3, 32, 32, 32)
    # each posterior favours the voxel's own class; they sum to 1
    assert np.array_equal(np.asarray(CLASS_LABELS)[np.argmax(posteriors, axis=0)], labels)
    assert np.allclose(posteriors.astype(np.float32).sum(axis=0), 1.0, atol=2e-3)


def test_compile_transport_kernels_runs_the_rules_calls():
    transport = CONFIG["transport"]
    skip = ("kinds", "particle_min_radius_um", "uncertainty_samples", "uncertainty_samples_per_job")
    settings = {k: v for k, v in transport.items() if k not in skip}
    roi = CONFIG["metrics"]["roi_radius_fraction"]
    check = warmup.compile_transport_kernels(
        settings, roi_radius_fraction=roi, particle_min_radius_um=transport["particle_min_radius_um"]
    )
    # the value is that of the box of the synthetic block, computed directly
    labels, _ = warmup.synthetic_electrode()
    box = labels[box_roi(labels.shape, roi)]
    assert check["porosity"] == np.mean(box == LABEL_OPEN_PORE)
    direct = {k: v for k, v in settings.items() if not k.startswith("uncertainty_")}
    direct.update(random_walk=False, network=False, conductivity=False)
    row, _, _ = value_metrics(box, 0.5, instances=None, **direct)
    assert check["tortuosity_factor_z"] == row["tortuosity_factor_z"] and 1.0 < row["tortuosity_factor_z"] < 10
    # a posterior sample of confident posteriors (0.93 for the voxel's class) stays close to
    # the hard labels; the 8-voxel sampling field has only a few independent patches in this
    # small box, so one sample's porosity scatters by a few hundredths (0.023 for sample 0)
    assert abs(check["sample_porosity"] - check["porosity"]) < 0.05
