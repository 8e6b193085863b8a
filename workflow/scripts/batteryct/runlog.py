"""Logging and error context for workflow jobs (no snakemake import)."""

from __future__ import annotations

import contextlib
import logging
import sys


class ScanError(RuntimeError):
    """A scan that cannot be processed; the message names sample, scan and problem."""


def configure(log_path: str | None, name: str = "batteryct") -> logging.Logger:
    """Log to ``log_path`` (and stderr) with timestamps-free, reproducible lines."""
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
    return logger


@contextlib.contextmanager
def scan_context(sample: str, scan: str, logger: logging.Logger | None = None):
    """Re-raise any error as :class:`ScanError` prefixed with the sample and scan."""
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
