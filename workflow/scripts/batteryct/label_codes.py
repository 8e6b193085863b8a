"""Label codes of batteryct segmentations, shared by every stage that reads labels.

``0`` open pore (connected to the outside of the sample), ``1`` solid (active material),
``2`` internal closed void (pore space enclosed by solid), ``3`` carbon-binder domain.
Also the phase names a user's phase map may use (``"0:pore,1:active,2:binder"``). This
module imports nothing, so the sheet validation that runs on every ``snakemake`` call
stays fast.
"""

import numpy as np

LABEL_OPEN_PORE = 0
LABEL_SOLID = 1
LABEL_INTERNAL_VOID = 2
LABEL_BINDER = 3

PHASE_NAMES = {
    "pore": 0,
    "void": 0,
    "active": LABEL_SOLID,
    "solid": LABEL_SOLID,
    "binder": LABEL_BINDER,
    "cbd": LABEL_BINDER,
}


def parse_phase_map(text: str) -> dict[int, str]:
    """Parse a phase map such as ``"0:pore,1:active,2:binder"``.

    Parameters
    ----------
    text : str
        Comma-separated ``value:name`` items; names are those of :data:`PHASE_NAMES`
        (case-insensitive), one of them a pore phase.

    Returns
    -------
    dict of int to str
        Label value → lower-case phase name, e.g. ``{0: "pore", 1: "active", 2: "binder"}``.

    Raises
    ------
    ValueError
        If an item is malformed, a value is given twice or no pore phase is named.

    Examples
    --------
    >>> parse_phase_map("0:pore, 1:Active, 2:cbd")
    {0: 'pore', 1: 'active', 2: 'cbd'}
    """
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


def phase_masks(labels: np.ndarray) -> dict[str, np.ndarray]:
    """Return boolean masks of the three phases (internal voids count as pore).

    Parameters
    ----------
    labels : ndarray of int, (z, y, x)
        Label volume (codes of :mod:`batteryct.label_codes`).

    Returns
    -------
    dict of str to ndarray of bool
        ``pore`` (open pore or internal void), ``active``, ``binder``.
    """
    return {
        "pore": (labels == LABEL_OPEN_PORE) | (labels == LABEL_INTERNAL_VOID),
        "active": labels == LABEL_SOLID,
        "binder": labels == LABEL_BINDER,
    }


def check_has_pores(labels: np.ndarray) -> None:
    """Raise ValueError naming the label counts if ``labels`` holds no pore voxel.

    Parameters
    ----------
    labels : ndarray of int, (z, y, x)
        Label volume.

    Raises
    ------
    ValueError
        If there is no pore voxel (open pore or internal void).
    """
    if not phase_masks(labels)["pore"].any():
        raise ValueError(
            "no pore phase in the volume: transport metrics need pores "
            f"(label counts {dict(zip(*np.unique(labels, return_counts=True)))})"
        )


_LABEL_NAMES = {0: "open pore", 1: "solid", 2: "internal void", 3: "carbon-binder"}


def single_phase_warning(labels: np.ndarray) -> str | None:
    """Return a warning when a label volume holds one phase only (else None).

    Porosity 1 or 0, tortuosity 1 and zero conductivity are then artefacts of the input
    (an all-zero export, a wrong dataset or phase map), not of the material.

    Parameters
    ----------
    labels : ndarray of int
        A batteryct label volume (codes of this module).

    Returns
    -------
    str or None
        The message, naming the one phase present.

    Examples
    --------
    >>> single_phase_warning(np.zeros((2, 3, 4), np.uint8))
    'all 24 voxels are open pore (one phase only): check the labels file, dataset and phase map'
    >>> single_phase_warning(np.array([[[0, 1]]])) is None
    True
    """
    values = np.unique(np.asarray(labels))
    if values.size != 1:
        return None
    name = _LABEL_NAMES.get(int(values[0]), f"label {int(values[0])}")
    n = np.asarray(labels).size
    return f"all {n} voxels are {name} (one phase only): check the labels file, dataset and phase map"
