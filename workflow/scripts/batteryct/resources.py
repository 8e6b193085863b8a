"""Memory and run time a job asks for, from the voxel count of its scan.

Each heavy stage follows a linear model fitted on measured jobs (``benchmark:`` files of
the workflow's own runs, 2-core machine, one thread)::

    peak RSS (MB)  = base_mb + bytes_per_voxel * n / 2**20
    wall time (s)  = base_s + s_per_mvoxel * n / 1e6

``n`` is the voxel count of the scan's volume (the transport stages work on a crop of it,
so using the whole volume errs on the safe side). A job asks for ``HEADROOM_MEMORY`` times
the modelled memory and ``HEADROOM_TIME`` times the modelled time, both multiplied by
Snakemake's ``attempt`` (1, 2, ...), so that with ``retries`` an out-of-memory or
out-of-time job comes back with more. The figures behind each stage are in
:data:`STAGES` (``source``); the demo campaign's scans are 128^3 (2.1 M voxels), the NREL
electrode 251 x 301 x 301 (22.7 M voxels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MB = 1024**2
HEADROOM_MEMORY = 1.5
HEADROOM_TIME = 2.0
MIN_MEM_MB = 1000
MIN_RUNTIME_MIN = 5
# Voxel count assumed when neither the sheet, the config nor a file header gives one.
DEFAULT_VOXELS = 256**3
# Threads: the numba kernels (projector, back-projection, multigrid τ and conductivity solves)
# are memory-bound and most of each stage is serial (I/O, marching cubes, watershed, network
# extraction): on the NREL electrode (22.7 M voxels) the six transport solves take 49 s on one
# thread and 41 s on two, and every threaded rule of the demo (2.1 M voxels) used 0.9-1.2 cores
# on average when given two. A job given two threads holds both cores of a laptop while using
# one, so below MIN_VOXELS_PER_EXTRA_THREAD voxels a job runs on one thread and Snakemake runs
# two jobs side by side; bigger scans get one more thread per that many voxels, up to
# MAX_THREADS (Snakemake caps it at --cores; --set-threads overrides it per rule).
MIN_VOXELS_PER_EXTRA_THREAD = 64 * 1024**2
MAX_THREADS = 8


@dataclass(frozen=True)
class StageModel:
    """Linear memory and time model of one stage (see the module docstring)."""

    base_mb: float
    bytes_per_voxel: float
    base_s: float
    s_per_mvoxel: float
    source: str


STAGES = {
    # simulate_scan: phantom on the 2x oversampled grid (memory.simulate_scan_bytes: 9 B per fine
    # voxel = 72 B per voxel) plus the fine projections; 15 s per 128^3 scan in the demo (90 s / 6).
    "simulate_scan": StageModel(300, 90, 3, 6.0, "demo 6 x 128^3: 90 s; memory.simulate_scan_bytes"),
    # reconstruct: float32 raw + line integrals + volume (memory.reconstruct_bytes, ~12-16 B per
    # voxel at 141 angles) and the filter's work arrays; 32 s / 6 scans of 128^3 in the demo.
    "reconstruct": StageModel(300, 40, 3, 2.5, "demo 6 x 128^3: 32 s; memory.reconstruct_bytes"),
    # segment: float32 volume, denoised copy, 4 float32 posteriors, labels; 45 s / 6 in the demo.
    "segment": StageModel(300, 60, 3, 3.6, "demo 6 x 128^3: 45 s"),
    # transport_contacts: EDT + watershed of the active phase (tiny campaign 92 k voxels: 8.4 s, 321 MB).
    "transport_contacts": StageModel(320, 40, 8, 3.0, "tiny 40x48x48: 8.4 s, 321 MB"),
    # transport_value: tiny campaign (92 k voxels) 18.6 s, 365 MB; NREL 22.7 M voxels 448 s, 2.2 GB.
    "transport_value": StageModel(360, 85, 17, 19.0, "tiny: 18.6 s, 365 MB; NREL 22.7 M: 448 s, 2.2 GB"),
    # transport_sample: the value's metrics at rtol 1e-4 plus the float32 posteriors (16 B/voxel)
    # and the sampling field; the demo's 24 samples of 128^3 took 236 s (10 s each).
    "transport_sample": StageModel(360, 105, 17, 19.0, "transport_value + posteriors; demo 24 x 128^3: 236 s"),
    # transport_truth: the value's metrics on the true phases of a virtual electrode.
    "transport_truth": StageModel(360, 85, 17, 19.0, "as transport_value (tiny: 33.6 s, 359 MB)"),
}


def _voxels(n_voxels) -> int:
    n = DEFAULT_VOXELS if n_voxels is None else int(n_voxels)
    if n <= 0:
        raise ValueError(f"voxel count must be positive, got {n_voxels}")
    return n


def threads(n_voxels: int | None) -> int:
    """Threads a parallel stage's job asks for on a scan of ``n_voxels`` voxels.

    Parameters
    ----------
    n_voxels : int or None
        Voxels of the scan's volume (None: :data:`DEFAULT_VOXELS`).

    Returns
    -------
    int
        ``1 + n_voxels // MIN_VOXELS_PER_EXTRA_THREAD``, at most :data:`MAX_THREADS`.

    Examples
    --------
    The demo's 128^3 scans and the NREL electrode run on one thread, a 512^3 scan on three,
    a 1024^3 scan on eight:

    >>> threads(128**3), threads(251 * 301 * 301), threads(512**3), threads(1024**3)
    (1, 1, 3, 8)
    """
    return min(MAX_THREADS, 1 + _voxels(n_voxels) // MIN_VOXELS_PER_EXTRA_THREAD)


def mem_mb(stage: str, n_voxels: int | None, attempt: int = 1) -> int:
    """Memory (MB) a job of ``stage`` asks for on a scan of ``n_voxels`` voxels.

    Parameters
    ----------
    stage : str
        A key of :data:`STAGES`.
    n_voxels : int or None
        Voxels of the scan's volume (None: :data:`DEFAULT_VOXELS`).
    attempt : int
        Snakemake's attempt number (1 on the first run).

    Returns
    -------
    int
        ``max(MIN_MEM_MB, HEADROOM_MEMORY * model) * attempt``, rounded up.

    Examples
    --------
    The NREL electrode's transport value job (measured 2.2 GB) asks for 3.3 GB, then 6.6 GB:

    >>> mem_mb("transport_value", 251 * 301 * 301), mem_mb("transport_value", 251 * 301 * 301, attempt=2)
    (3306, 6612)
    >>> mem_mb("transport_value", 40**3)
    1000
    """
    m = STAGES[stage]
    model = m.base_mb + m.bytes_per_voxel * _voxels(n_voxels) / MB
    return int(math.ceil(max(MIN_MEM_MB, HEADROOM_MEMORY * model))) * int(attempt)


def runtime_min(stage: str, n_voxels: int | None, attempt: int = 1, n_items: int = 1) -> int:
    """Wall time (minutes) a job of ``stage`` asks for on a scan of ``n_voxels`` voxels.

    Parameters
    ----------
    stage : str
        A key of :data:`STAGES`.
    n_voxels : int or None
        Voxels of the scan's volume (None: :data:`DEFAULT_VOXELS`).
    attempt : int
        Snakemake's attempt number.
    n_items : int
        Items the job computes one after the other (the posterior samples of a
        ``transport_sample`` job); the model is per item.

    Returns
    -------
    int
        ``max(MIN_RUNTIME_MIN, HEADROOM_TIME * n_items * model / 60) * attempt``, rounded up.

    Examples
    --------
    The NREL transport value job (448 s measured) asks for 15 minutes; a 1024^3 scan for
    about 11 hours:

    >>> runtime_min("transport_value", 251 * 301 * 301), runtime_min("transport_value", 1024**3)
    (15, 681)
    """
    m = STAGES[stage]
    model_s = (m.base_s + m.s_per_mvoxel * _voxels(n_voxels) / 1e6) * int(n_items)
    return int(math.ceil(max(MIN_RUNTIME_MIN, HEADROOM_TIME * model_s / 60.0))) * int(attempt)


def sample_batches(n_samples: int, per_job: int = 1) -> list[tuple[int, int]]:
    """Split posterior-sample indices ``0 .. n_samples - 1`` into the jobs that compute them.

    Batches start at multiples of ``per_job``, so raising ``n_samples`` keeps every full
    batch already made and redoes at most the last, partial one.

    Parameters
    ----------
    n_samples : int
        Posterior samples of a scan (config ``transport.uncertainty_samples``).
    per_job : int
        Samples one job computes (``transport.uncertainty_samples_per_job``).

    Returns
    -------
    list of (int, int)
        ``(first, last)`` sample index of each job, both included.

    Examples
    --------
    >>> sample_batches(8, 4), sample_batches(9, 4), sample_batches(3)
    ([(0, 3), (4, 7)], [(0, 3), (4, 7), (8, 8)], [(0, 0), (1, 1), (2, 2)])
    """
    if int(per_job) < 1:
        raise ValueError(f"per_job must be >= 1, got {per_job}")
    step = int(per_job)
    return [(first, min(first + step, int(n_samples)) - 1) for first in range(0, int(n_samples), step)]
