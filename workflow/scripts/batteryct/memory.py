"""Memory a job needs, estimated from declared shapes before anything is allocated.

A job that cannot fit fails at once with the shape, the estimate and the ``mem_mb`` it was
given, instead of a ``MemoryError`` (or the kernel's OOM killer) minutes later. The models
count only the arrays each stage must hold at the same time, so they are lower bounds: a
job refused by them could not have run.
"""

from __future__ import annotations

import math

from .io import InputDataError

MB = 1024**2


class MemoryBudgetError(InputDataError):
    """A job whose declared data cannot fit in the memory it was given."""


def reconstruct_bytes(n_projections: int, n_rows: int, n_columns: int, n_references: int = 0) -> int:
    """Lower bound of the bytes :func:`batteryct.recon.reconstruct` holds at its peak.

    Raw projections and references as float32, the float32 line integrals of the same
    shape and the float32 volume ``(n_rows, n_columns, n_columns)``.

    Parameters
    ----------
    n_projections, n_rows, n_columns : int
        Declared shape of the projections.
    n_references : int, optional
        Number of flat and dark frames together.

    Returns
    -------
    int
        Bytes.

    Examples
    --------
    >>> reconstruct_bytes(141, 128, 128, 30) / 2**20
    27.5
    """
    frame = int(n_rows) * int(n_columns)
    return 4 * (2 * int(n_projections) * frame + int(n_references) * frame + int(n_rows) * int(n_columns) ** 2)


def simulate_scan_bytes(n_voxels: int, oversample: int, n_angles: int) -> int:
    """Lower bound of the bytes the virtual scanner holds at its peak.

    The phantom on the fine grid (``(n_voxels * oversample)**3``: uint8 phase, int32
    particle id, float32 attenuation) and the float32 projections on the fine detector.

    Parameters
    ----------
    n_voxels, oversample, n_angles : int
        Keys of the ``simulate`` config.

    Returns
    -------
    int
        Bytes.

    Examples
    --------
    >>> simulate_scan_bytes(128, 2, 141) / 2**20
    179.25
    """
    fine = int(n_voxels) * int(oversample)
    return 9 * fine**3 + 4 * int(n_angles) * fine**2


def check_fits(estimate_bytes: int, mem_mb: float | None, what: str, shape) -> None:
    """Raise :class:`MemoryBudgetError` when an estimate exceeds the job's memory.

    Parameters
    ----------
    estimate_bytes : int
        Bytes the job needs at least.
    mem_mb : float or None
        The job's ``resources.mem_mb``; None (not given) skips the check.
    what : str
        What is estimated, for the message (e.g. the file and the stage).
    shape : tuple
        The declared shape, for the message.

    Raises
    ------
    MemoryBudgetError
        Naming ``what``, the shape, the estimate and ``mem_mb``.

    Examples
    --------
    >>> check_fits(10 * MB, 4000, "x.h5: reconstruction", (141, 128, 128))
    >>> check_fits(10**15, 4000, "x.h5: reconstruction", (100000, 10000, 10000))
    Traceback (most recent call last):
    ...
    batteryct.memory.MemoryBudgetError: x.h5: reconstruction of shape (100000, 10000, 10000) needs at least \
953674316 MB (9.31e+05 GiB); the job was given mem_mb=4000: raise the rule's resources mem_mb, or crop or bin the data
    """
    if mem_mb is None or not math.isfinite(float(mem_mb)):
        return
    need_mb = estimate_bytes / MB
    if need_mb > float(mem_mb):
        raise MemoryBudgetError(
            f"{what} of shape {tuple(int(s) for s in shape)} needs at least {need_mb:.0f} MB "
            f"({estimate_bytes / 1024**3:.3g} GiB); the job was given mem_mb={float(mem_mb):g}: raise the rule's "
            "resources mem_mb, or crop or bin the data"
        )
