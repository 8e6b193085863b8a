"""Logging and error context for workflow jobs (no snakemake import).

A scan that fails does not block the campaign: :func:`scan_context`, given the job, writes
a *failure record* to each of the job's outputs instead of its results (a small text file
that starts with :data:`FAILED_MAGIC`, then JSON: sample, scan, rule, error, log) and the
job ends normally. Jobs downstream find the record among their inputs and pass it on, and
the campaign tables gather the outputs that hold results (:func:`finished`), listing the
others in ``results/tables/failures.parquet``. Fixing the cause (a sheet row, a file, the
code) reruns only that scan and the tables, as Snakemake sees the changed input or
parameter.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from pathlib import Path

FAILED_MAGIC = b"batteryct failure record\n"


class ScanError(RuntimeError):
    """A scan that cannot be processed; the message names sample, scan and problem."""


def configure(log_path: str | None, name: str = "batteryct") -> logging.Logger:
    """Log to ``log_path`` (and stderr) with timestamp-free, reproducible lines.

    Parameters
    ----------
    log_path : str or None
        The job's log file (overwritten); None logs to stderr only.
    name : str, optional
        Logger name.

    Returns
    -------
    logging.Logger
        At level INFO; warnings are captured into the log.
    """
    logger = logging.getLogger(name)
    logger.handlers.clear()
    logger.setLevel(logging.INFO)
    fmt = logging.Formatter("%(levelname)s %(message)s")
    handlers = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w"))
    for h in handlers:
        h.setFormatter(fmt)
        logger.addHandler(h)
    logging.captureWarnings(True)
    if os.environ.get("SLURM_JOB_ID"):  # which cluster job wrote this log
        env = os.environ
        task = f"{env.get('SLURM_ARRAY_JOB_ID')}_{env.get('SLURM_ARRAY_TASK_ID')}"
        array = f" (array {task})" if "SLURM_ARRAY_JOB_ID" in env else ""
        logger.info(f"SLURM_JOB_ID={env['SLURM_JOB_ID']}{array} on {os.uname().nodename}")
    return logger


def _paths(named) -> list[str]:
    """Flatten a Snakemake ``input``/``output`` (strings and lists of strings) to paths."""
    out = []
    for item in named or ():
        out += [str(x) for x in item] if isinstance(item, (list, tuple)) else [str(item)]
    return out


def read_failure(path: str | os.PathLike) -> dict | None:
    """Return the failure record a failed job wrote at ``path``, or None for a result.

    Parameters
    ----------
    path : str or os.PathLike
        An output of a per-scan job.

    Returns
    -------
    dict or None
        ``sample``, ``scan``, ``rule``, ``error``, ``log`` of the job that failed first.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "a.parquet"
    >>> write_failure([out], {"sample": "P1", "scan": "a", "rule": "reconstruct", "error": "x", "log": ""})
    >>> read_failure(out)["rule"], read_failure(out.parent) is None
    ('reconstruct', True)
    """
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size > 1_000_000:
            return None
        with open(path, "rb") as fh:
            if fh.read(len(FAILED_MAGIC)) != FAILED_MAGIC:
                return None
            return json.loads(fh.read().decode("utf-8"))
    except (OSError, ValueError):
        return None


def write_failure(paths, record: dict) -> None:
    """Write ``record`` as the failure record at every path (atomically, replacing partial files).

    Parameters
    ----------
    paths : iterable of str or os.PathLike
        The failed job's outputs.
    record : dict
        JSON-serialisable: ``sample``, ``scan``, ``rule``, ``error``, ``log``.
    """
    from . import io  # here, so that importing runlog stays light

    blob = FAILED_MAGIC + (json.dumps(record, sort_keys=True, indent=1) + "\n").encode("utf-8")
    for path in paths:
        io.atomic_write_bytes(path, blob)


def finished(paths) -> list[str]:
    """Return the paths that hold results, leaving out failure records, in order.

    Parameters
    ----------
    paths : iterable of str or os.PathLike
        Per-scan outputs an aggregation rule takes.

    Returns
    -------
    list of str
        The paths whose scans finished.
    """
    return [str(p) for p in paths if read_failure(p) is None]


def _first_lines(text: str, n: int = 3) -> str:
    return "\n".join(text.strip().splitlines()[:n])


@contextlib.contextmanager
def scan_context(sample: str, scan: str, logger: logging.Logger | None = None, *, job=None):
    """Re-raise any error as :class:`ScanError` prefixed with the sample and scan.

    With ``job`` (the script's ``snakemake`` object), an error is not raised: the error is
    logged and a failure record written to each of the job's outputs instead (module
    docstring). An input that holds a failure record passes it on unchanged, so the record
    names the rule that failed first.

    Parameters
    ----------
    sample, scan : str
        Ids of the scan being processed.
    logger : logging.Logger, optional
        The error is also logged here.
    job : object, optional
        Anything with ``input``, ``output``, ``log`` and ``rule`` like Snakemake's script
        object.

    Yields
    ------
    None
        The body of the ``with`` block runs in this context.

    Raises
    ------
    ScanError
        For any exception of the body (a ``ScanError`` passes unchanged), without ``job``.
    """
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - re-raised with context, or recorded
        upstream = None
        if job is not None:
            upstream = next((r for r in map(read_failure, _paths(job.input)) if r is not None), None)
        if upstream is not None:
            msg = (
                f"sample {sample!r}, scan {scan!r}: not computed, rule {upstream.get('rule')!r} failed for it "
                f"earlier: {_first_lines(str(upstream.get('error', '')), 1)}"
            )
        elif isinstance(exc, ScanError):
            msg = str(exc)
        else:
            msg = f"sample {sample!r}, scan {scan!r}: {type(exc).__name__}: {exc}"
        if logger:
            logger.error(msg)
        if job is None:
            if isinstance(exc, ScanError):
                raise
            raise ScanError(msg) from exc
        record = upstream or {
            "sample": str(sample),
            "scan": str(scan),
            "rule": str(getattr(job, "rule", "")),
            "error": _first_lines(msg),
            "log": ";".join(_paths(getattr(job, "log", ()))),
        }
        write_failure(_paths(job.output), record)
        if logger:
            logger.warning("wrote failure records instead of results: " + ", ".join(_paths(job.output)))


def number(value, digits: int = 4) -> str:
    """Return ``value`` as plain text with ``digits`` significant figures.

    NumPy scalars print as numbers (not ``np.float64(...)``), integers and booleans
    unchanged, NaN as ``nan``; anything else as ``str``.

    Parameters
    ----------
    value : object
        A number, or anything printable.
    digits : int, optional
        Significant figures of floats.

    Returns
    -------
    str

    Examples
    --------
    >>> import numpy as np
    >>> number(np.float64(2.553961e-05)), number(11881.3), number(np.int64(7)), number(True)
    ('2.554e-05', '1.188e+04', '7', 'True')
    >>> number(0.43561), number(1.0), number(float("nan")), number([0.93189409, 2])
    ('0.4356', '1', 'nan', '[0.9319, 2]')
    """
    import numbers

    if isinstance(value, (bool, str)) or value is None:
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.{digits}g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(number(v, digits) for v in value) + "]"
    if hasattr(value, "item") and getattr(value, "size", 2) == 1:  # 0-d numpy arrays
        return number(value.item(), digits)
    return str(value)


def summary(row, keys=None, digits: int = 4) -> str:
    """Return the values of a table row as one readable line: name, value [interval] unit.

    A value whose ``<name>_ci_low`` and ``<name>_ci_high`` are in the row is followed by
    its interval; the unit comes from the data dictionary (:mod:`batteryct.columns`);
    the interval columns themselves are not repeated.

    Parameters
    ----------
    row : mapping
        Column → value (a dict or a pandas Series).
    keys : iterable of str, optional
        The columns to show, in order (default: all but the interval bounds).
    digits : int, optional
        Significant figures.

    Returns
    -------
    str

    Examples
    --------
    >>> summary({"porosity": 0.43561, "porosity_ci_low": 0.4312, "porosity_ci_high": 0.4401,
    ...          "specific_surface_area_per_um": 1.23456, "n_particles": 710})
    'porosity 0.4356 [0.4312, 0.4401], specific_surface_area_per_um 1.235 1/µm, n_particles 710'
    """
    from . import columns

    row = dict(row)
    if keys is None:
        keys = [k for k in row if not str(k).endswith(("_ci_low", "_ci_high"))]
    parts = []
    for key in keys:
        if key not in row:
            continue
        text = f"{key} {number(row[key], digits)}"
        low, high = row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high")
        if low is not None and high is not None:
            text += f" [{number(low, digits)}, {number(high, digits)}]"
        unit = columns.describe(str(key))[0]
        if unit not in ("", "1") and not isinstance(row[key], str):
            text += f" {unit}"
        parts.append(text)
    return ", ".join(parts)


class Progress:
    """Log the progress of a long loop as ``k/N`` with the elapsed time.

    Call it with the number of steps done (or None for one more step), the total and
    optionally a note on the step; it logs about every tenth of the work and at the end,
    so a log stays short however long the loop. Library functions take it as their
    ``progress`` argument (any callable ``progress(done, total)``).

    Parameters
    ----------
    logger : logging.Logger or None
        Where to log (``logging.getLogger("batteryct")`` when None).
    what : str
        What is being done, e.g. ``"back-projection"``.
    unit : str, optional
        What a step is, e.g. ``"slices"``.
    every_fraction : float, optional
        Fraction of the total between two lines.

    Examples
    --------
    >>> import logging
    >>> lines = []
    >>> logger = logging.getLogger("progress-example")
    >>> logger.addHandler(type("H", (logging.Handler,), {"emit": lambda s, r: lines.append(r.getMessage())})())
    >>> logger.setLevel(logging.INFO)
    >>> p = Progress(logger, "back-projection", "slices", every_fraction=0.5)
    >>> for k in range(1, 5):
    ...     p(k, 4)
    >>> [line.split(",")[0] for line in lines]
    ['back-projection: 2/4 slices', 'back-projection: 4/4 slices']
    """

    def __init__(self, logger, what: str, unit: str = "", every_fraction: float = 0.1):
        import time

        self._clock = time.perf_counter
        self._start = self._clock()
        self._logger = logger or logging.getLogger("batteryct")
        self._what = what
        self._unit = f" {unit}" if unit else ""
        self._every = float(every_fraction)
        self._done = 0
        self._logged_step = 0
        self._finished = False

    def __call__(self, done: int | None = None, total: int = 1, note: str = "") -> None:
        """Record ``done`` of ``total`` steps (one more when None); log when a tenth is passed."""
        self._done = self._done + 1 if done is None else int(done)
        total = max(int(total), 1)
        if self._finished:
            return
        finished = self._done >= total
        step = int(self._done / (total * self._every) + 1e-9) if self._every > 0 else self._done
        if finished or step > self._logged_step:
            self._logged_step, self._finished = step, finished
            elapsed = self._clock() - self._start
            note = f" ({note})" if note else ""
            self._logger.info(f"{self._what}: {self._done}/{total}{self._unit}{note}, {number(elapsed, 3)} s elapsed")
