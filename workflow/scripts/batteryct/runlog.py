"""Logging and error context for workflow jobs (no snakemake import)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys


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
        logger.info(f"SLURM_JOB_ID={os.environ['SLURM_JOB_ID']} on {os.uname().nodename}")
    return logger


@contextlib.contextmanager
def scan_context(sample: str, scan: str, logger: logging.Logger | None = None):
    """Re-raise any error as :class:`ScanError` prefixed with the sample and scan.

    Parameters
    ----------
    sample, scan : str
        Ids of the scan being processed.
    logger : logging.Logger, optional
        The error is also logged here.

    Yields
    ------
    None
        The body of the ``with`` block runs in this context.

    Raises
    ------
    ScanError
        For any exception of the body (a ``ScanError`` passes unchanged).
    """
    try:
        yield
    except ScanError as exc:
        if logger:
            logger.error(str(exc))
        raise
    except Exception as exc:  # noqa: BLE001 - re-raised with context
        msg = f"sample {sample!r}, scan {scan!r}: {type(exc).__name__}: {exc}"
        if logger:
            logger.error(msg)
        raise ScanError(msg) from exc
