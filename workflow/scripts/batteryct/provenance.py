"""Hashes that tie outputs to the code and parameters that made them.

A rule passes :func:`script_code_hash` of its script through ``params:``, so editing any
library module the script reaches (through imports, transitively, packages included)
reruns exactly the rules that run that code.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import re
from pathlib import Path

LIBRARY_DIR = Path(__file__).resolve().parent
PACKAGE = "batteryct"


def module_path(module: str, library_dir: Path | None = None) -> Path | None:
    """Locate the source file of the dotted library module ``module`` (``batteryct.network._graph``).

    A package is its ``__init__.py``. Returns None for a name that is not a library module
    (for example a function imported from a module).
    """
    root = LIBRARY_DIR if library_dir is None else Path(library_dir)
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts[1:])
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if len(parts) > 1 and base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Collect the dotted library names a source imports.

    ``import x.y`` gives ``x.y``; ``from x import z`` gives ``x`` and ``x.z`` (the latter
    counts only where it is a module).
    """
    names: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                if node.level > 1:
                    parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {n for n in names if n == PACKAGE or n.startswith(PACKAGE + ".")}


# An import statement at the start of a line (any indentation), parenthesised names included.
_IMPORT_LINE = re.compile(r"^[ \t]*(?:from[ \t]+[.\w]+[ \t]+import[ \t]+(?:\([^)]*\)|[^\n]*)|import[ \t]+[^\n]*)", re.M)


def _import_statements(text: str) -> ast.Module:
    """Parse only the import statements of a source (a tenth of the time of the whole file).

    Lines that look like imports but are not code (in a docstring) may add a module, never
    lose one: the hash then covers a module too many, which costs a rerun, not a stale result.
    """
    body = []
    for match in _IMPORT_LINE.finditer(text):
        try:
            body += ast.parse(match.group(0).strip()).body
        except SyntaxError:
            continue
    return ast.Module(body=body, type_ignores=[])


@functools.lru_cache(maxsize=4096)
def _module_imports(text: str, module: str, is_package: bool, filename: str) -> frozenset[str]:
    # keyed by the source text: a rule file hashes ~40 scripts over the same modules, and a
    # parse per module and text (not per script) keeps the DAG build fast; an edit is new text
    return frozenset(_imported_names(_import_statements(text), module, is_package))


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


class LibrarySnapshot:
    """The library's sources, each located, read and parsed once.

    A Snakefile hashes about 50 scripts over the same modules (:func:`script_code_hash`
    per rule); one snapshot for all of them keeps that to one read per module. Files are
    read when first needed and kept: make a new snapshot to see later edits.

    Parameters
    ----------
    library_dir : pathlib.Path, optional
        The ``batteryct`` package folder (default: this library).

    Examples
    --------
    >>> snapshot = LibrarySnapshot()
    >>> "batteryct.transport" in snapshot.imports("batteryct.electrode")
    True
    """

    def __init__(self, library_dir: Path | None = None):
        self.library_dir = library_dir
        self._paths: dict[str, Path | None] = {}
        self._texts: dict[str, bytes] = {}
        self._direct: dict[str, frozenset[str]] = {}

    def path(self, module: str) -> Path | None:
        """:func:`module_path` of ``module``."""
        if module not in self._paths:
            self._paths[module] = module_path(module, self.library_dir)
        return self._paths[module]

    def source(self, module: str) -> bytes:
        """Return the source bytes of a library module."""
        if module not in self._texts:
            self._texts[module] = self.path(module).read_bytes()
        return self._texts[module]

    def imports(self, source: str | Path) -> set[str]:
        """:func:`library_imports` of ``source``."""
        seen: set[str] = set()
        todo: list[str] = []
        if isinstance(source, str) and source.split(".")[0] == PACKAGE:
            if self.path(source) is None:
                raise ValueError(f"no batteryct module {source!r}")
            todo.append(source)
        else:
            path = Path(source)
            if not path.is_file():
                raise ValueError(f"no batteryct module or script {str(source)!r}")
            todo.extend(_imported_names(_import_statements(path.read_text()), "__script__", False))
        while todo:
            for name in _with_parents(todo.pop()):
                if name in seen:
                    continue
                path = self.path(name)
                if path is None:
                    continue
                seen.add(name)
                if name not in self._direct:
                    text = self.source(name).decode()
                    self._direct[name] = _module_imports(text, name, path.name == "__init__.py", str(path))
                todo.extend(self._direct[name])
        return seen

    def code_hash(self, script: str | Path) -> str:
        """:func:`script_code_hash` of ``script``."""
        h = hashlib.sha256()
        for name in sorted(self.imports(Path(script))):
            h.update(name.encode())
            h.update(self.source(name))
        return h.hexdigest()[:16]


def library_imports(source: str | Path, library_dir: Path | None = None) -> set[str]:
    """Find the library modules a script or module reaches, directly or through others.

    Parameters
    ----------
    source : str or pathlib.Path
        A dotted module name (``"batteryct.electrode"``) or the path of a script.
    library_dir : pathlib.Path, optional
        The ``batteryct`` package folder (default: this library).

    Returns
    -------
    set of str
        Dotted module names, the package ``__init__`` modules on the way included
        (importing ``batteryct.network._graph`` runs ``batteryct/__init__.py`` and
        ``batteryct/network/__init__.py`` first). Imports inside functions count too.

    Raises
    ------
    ValueError
        If ``source`` names no library module and is not a file.

    Examples
    --------
    >>> sorted(m for m in library_imports("batteryct.electrode") if m.startswith("batteryct.transport"))[:2]
    ['batteryct.transport', 'batteryct.transport._kernels']
    """
    return LibrarySnapshot(library_dir).imports(source)


def script_code_hash(script: str | Path, library_dir: Path | None = None) -> str:
    """Hash (SHA-256, 16 hex digits) every library module a script reaches (:func:`library_imports`).

    The script's own text is not included: Snakemake already reruns a rule whose script
    changed. For many scripts over one library, use :meth:`LibrarySnapshot.code_hash`.
    """
    return LibrarySnapshot(library_dir).code_hash(script)


def params_hash(params: dict) -> str:
    """Hash (SHA-256, 16 hex digits) a JSON-serialisable parameter dict, stably."""
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
