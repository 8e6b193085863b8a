"""Hashes that tie outputs to the code and parameters that made them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

LIBRARY_DIR = Path(__file__).resolve().parent


def code_hash(*modules: str) -> str:
    """SHA-256 (16 hex digits) of the source of the named batteryct modules.

    A rule passes this through ``params:`` so that editing a module it runs reruns it.
    """
    h = hashlib.sha256()
    for name in sorted(set(modules)):
        path = LIBRARY_DIR / f"{name}.py"
        h.update(name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def params_hash(params: dict) -> str:
    """Stable hash of a JSON-serialisable parameter dict."""
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
