"""Connected parts of a phase relative to the two faces normal to a transport axis."""

from __future__ import annotations

import cc3d
import numpy as np

from .. import _checks


def pore_connectivity(mask: np.ndarray, axis: int = 0) -> dict:
    """Split a phase into percolating, dead-end and isolated parts along one axis.

    Components are 6-connected (face neighbours), as everywhere in :mod:`batteryct`
    for the pore space and as required by the finite-volume stencil.

    Parameters
    ----------
    mask : ndarray of bool, (z, y, x)
        The phase (e.g. pore space), True where present (integer arrays: non-zero).
    axis : int
        Transport axis; its first and last planes are the two electrode faces.

    Returns
    -------
    dict
        ``porosity`` : float
            Volume fraction of the phase (dimensionless, of the whole image).
        ``percolating_fraction``, ``dead_end_fraction``, ``isolated_fraction`` : float
            Volume fractions (of the whole image; they add up to ``porosity``) of the
            components touching both faces, exactly one face and no face normal to
            ``axis``. A component touching only the lateral faces is isolated here.
        ``percolating_fraction_of_phase``, ``dead_end_fraction_of_phase``,
        ``isolated_fraction_of_phase`` : float
            The same relative to the phase volume (add up to 1; NaN for an empty phase).
        ``n_components``, ``n_percolating``, ``n_dead_end``, ``n_isolated`` : int
            Component counts.
        ``percolating`` : bool
            Whether any component connects the two faces.
        ``percolating_mask`` : ndarray of bool, (z, y, x)
            The voxels of the percolating components.

    Raises
    ------
    ValueError
        If the mask is not 3-D or is empty, or ``axis`` is out of range.
    TypeError
        If the mask is neither boolean nor integer, or ``axis`` is not an integer.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((4, 4, 4), bool)
    >>> m[:, 0, 0] = True  # a channel joining the two z faces
    >>> m[0, 2, 2] = True  # a dead end on the first face
    >>> c = pore_connectivity(m, axis=0)
    >>> c["n_percolating"], c["n_dead_end"], c["n_isolated"]
    (1, 1, 0)
    """
    mask = _checks.as_mask_3d(mask, "mask")
    axis = _checks.check_axis(axis)
    labels, n = cc3d.connected_components(mask, connectivity=6, return_N=True)
    counts = np.bincount(labels.reshape(-1), minlength=n + 1)
    first = np.zeros(n + 1, bool)
    last = np.zeros(n + 1, bool)
    first[np.unique(np.take(labels, 0, axis=axis))] = True
    last[np.unique(np.take(labels, -1, axis=axis))] = True
    first[0] = last[0] = False
    perc = first & last
    dead = first ^ last
    iso = ~(first | last)
    iso[0] = False
    total = float(mask.size)
    n_phase = int(counts[1:].sum())
    v_perc, v_dead, v_iso = (int(counts[s].sum()) for s in (perc, dead, iso))
    percolating_mask = perc[labels]
    del labels

    def of_phase(v):
        return v / n_phase if n_phase else float("nan")

    return {
        "porosity": n_phase / total,
        "percolating_fraction": v_perc / total,
        "dead_end_fraction": v_dead / total,
        "isolated_fraction": v_iso / total,
        "percolating_fraction_of_phase": of_phase(v_perc),
        "dead_end_fraction_of_phase": of_phase(v_dead),
        "isolated_fraction_of_phase": of_phase(v_iso),
        "n_components": int(n),
        "n_percolating": int(perc.sum()),
        "n_dead_end": int(dead.sum()),
        "n_isolated": int(iso.sum()),
        "percolating": bool(perc.any()),
        "percolating_mask": percolating_mask,
    }
