"""Phase maps: turning a user's labelled volume into batteryct's label codes.

A scan may start from an existing segmentation (Avizo, Dragonfly, …) with a phase map
such as ``"0:pore,1:active,2:binder"``. Names are mapped to the codes of
:mod:`batteryct.segment`: pore → 0 (open) or 2 (internal closed void, found by the same
flood fill from the volume faces as for reconstructed scans), active/solid → 1,
binder/cbd → 3. Every value present in the volume must be named in the map.
"""

from __future__ import annotations

import numpy as np

from .label_codes import LABEL_BINDER, LABEL_SOLID
from .segment import label_pore_space

PHASE_NAMES = {
    "pore": 0,
    "void": 0,
    "active": LABEL_SOLID,
    "solid": LABEL_SOLID,
    "binder": LABEL_BINDER,
    "cbd": LABEL_BINDER,
}


def parse_phase_map(text: str) -> dict[int, str]:
    """Parse ``"0:pore,1:active,2:binder"`` into ``{0: "pore", 1: "active", 2: "binder"}``."""
    mapping: dict[int, str] = {}
    for item in str(text).split(","):
        value, sep, name = item.strip().partition(":")
        name = name.strip().lower()
        if not sep or not value.strip().lstrip("-").isdigit() or name not in PHASE_NAMES:
            raise ValueError(
                f"phase map {text!r}: item {item.strip()!r} is not 'value:name' with name one of {sorted(PHASE_NAMES)}"
            )
        if int(value) in mapping:
            raise ValueError(f"phase map {text!r}: value {int(value)} given twice")
        mapping[int(value)] = name
    if "pore" not in mapping.values() and "void" not in mapping.values():
        raise ValueError(f"phase map {text!r}: names no pore phase")
    return mapping


def import_labels(raw: np.ndarray, phase_map: dict[int, str]) -> np.ndarray:
    """Map a user's labels to batteryct codes (uint8), labelling internal voids.

    Raises
    ------
    ValueError
        When the volume holds values the phase map does not name.
    """
    values = np.unique(raw)
    unknown = sorted(set(values.tolist()) - set(phase_map))
    if unknown:
        raise ValueError(f"label values {unknown} are not in the phase map {phase_map}")
    lut_solid = np.zeros(values.size, bool)
    lut_binder = np.zeros(values.size, bool)
    for i, v in enumerate(values):
        code = PHASE_NAMES[phase_map[int(v)]]
        lut_solid[i] = code in (LABEL_SOLID, LABEL_BINDER)
        lut_binder[i] = code == LABEL_BINDER
    index = np.searchsorted(values, raw)
    solid = lut_solid[index]
    labels = label_pore_space(solid)
    labels[lut_binder[index]] = LABEL_BINDER
    return labels
