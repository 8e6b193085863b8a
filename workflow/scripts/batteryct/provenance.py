"""Hashes that tie outputs to the code and parameters that made them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

LIBRARY_DIR = Path(__file__).resolve().parent


def library_imports(module: str) -> set[str]:
    """The batteryct modules ``module`` imports, directly or through others (itself
    included): relative imports anywhere in the source, function-level ones too."""
    import ast

    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = LIBRARY_DIR / f"{name}.py"
        if not path.exists():
            raise ValueError(f"no batteryct module {name!r} ({path})")
        seen.add(name)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    todo.append(node.module.split(".")[0])
                else:
                    todo.extend(alias.name for alias in node.names)
    return seen


def code_hash(*modules: str) -> str:
    """SHA-256 (16 hex digits) of the source of the named batteryct modules and of every
    library module they import (:func:`library_imports`).

    A rule passes this through ``params:`` so that editing a module it runs, or one that
    module depends on, reruns it.
    """
    h = hashlib.sha256()
    for name in sorted(set().union(*(library_imports(m) for m in modules))):
        path = LIBRARY_DIR / f"{name}.py"
        h.update(name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def params_hash(params: dict) -> str:
    """Stable hash of a JSON-serialisable parameter dict."""
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
