"""Phase maps: turning a user's labelled volume into batteryct's label codes.

A scan may start from an existing segmentation (Avizo, Dragonfly, …) with a phase map
such as ``"0:pore,1:active,2:binder"``. Names are mapped to the codes of
:mod:`batteryct.segment`: pore → 0 (open) or 2 (internal closed void, found by the same
flood fill from the volume faces as for reconstructed scans), active/solid → 1,
binder/cbd → 3. Every value present in the volume must be named in the map.
"""

from __future__ import annotations

import numpy as np

from .label_codes import LABEL_BINDER, LABEL_SOLID, PHASE_NAMES, parse_phase_map
from .segment import label_pore_space

__all__ = ["PHASE_NAMES", "import_labels", "parse_phase_map"]


def import_labels(raw: np.ndarray, phase_map: dict[int, str]) -> np.ndarray:
    """Map a user's labels to batteryct codes, labelling internal voids.

    Parameters
    ----------
    raw : numpy.ndarray of int
        The user's labelled volume ``(z, y, x)``.
    phase_map : dict of int to str
        Of :func:`parse_phase_map`.

    Returns
    -------
    numpy.ndarray of uint8
        Label codes of :mod:`batteryct.label_codes`: pore becomes 0 (open) or 2 (internal
        closed void, flood fill from the volume faces), active 1, binder 3.

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
