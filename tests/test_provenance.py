import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from batteryct import provenance
from conftest import ROOT

SCRIPTS = ROOT / "workflow" / "scripts"


def test_library_imports_follow_relative_imports_transitively():
    # validation imports simulate and mosaic; electrode imports network, which imports
    # _checks; electrode takes the label codes from label_codes, not from segment
    assert {"batteryct.validation", "batteryct.simulate", "batteryct.mosaic", "batteryct.psd"} <= (
        provenance.library_imports("batteryct.validation")
    )
    electrode = provenance.library_imports("batteryct.electrode")
    for name in ("electrode", "network", "_checks", "transport", "metrics", "particles", "random_walk", "label_codes"):
        assert any(m == f"batteryct.{name}" or m.startswith(f"batteryct.{name}.") for m in electrode), name
    assert "batteryct" in electrode  # the package __init__ runs first
    assert not any(m.startswith("batteryct.segment") for m in electrode)  # no rerun when segmentation changes
    with pytest.raises(ValueError, match="no batteryct module 'batteryct.nope'"):
        provenance.library_imports("batteryct.nope")


def write_library(root: Path, files: dict) -> Path:
    lib = root / "batteryct"
    for rel, text in {"__init__.py": "", **files}.items():
        (lib / rel).parent.mkdir(parents=True, exist_ok=True)
        (lib / rel).write_text(text)
    return lib


def test_script_code_hash_follows_packages_and_function_level_imports(tmp_path):
    lib = write_library(
        tmp_path,
        {
            "a.py": "from . import b\n",
            "b.py": "def f():\n    from .c import g\n",
            "c.py": "x = 1\n",
            "pkg/__init__.py": "from ._inner import h\n",
            "pkg/_inner.py": "from .. import c\n",
            "lonely.py": "y = 1\n",
        },
    )
    script = tmp_path / "rule.py"
    script.write_text("from batteryct import a\nfrom batteryct.pkg import h\n")
    assert provenance.library_imports(script, lib) == {
        "batteryct",
        "batteryct.a",
        "batteryct.b",
        "batteryct.c",
        "batteryct.pkg",
        "batteryct.pkg._inner",
    }
    before = provenance.script_code_hash(script, lib)
    (lib / "lonely.py").write_text("y = 2\n")
    assert provenance.script_code_hash(script, lib) == before
    (lib / "c.py").write_text("x = 2\n")
    after_c = provenance.script_code_hash(script, lib)
    assert after_c != before
    (lib / "pkg" / "_inner.py").write_text("from .. import c  # edited\n")
    assert provenance.script_code_hash(script, lib) != after_c


RUNTIME_IMPORTS = """
import ast, json, sys
sys.path.insert(0, sys.argv[2])
tree = ast.parse(open(sys.argv[1]).read())
for node in tree.body:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        exec(compile(ast.Module([node], []), sys.argv[1], "exec"))
print(json.dumps(sorted(m for m in sys.modules if m == "batteryct" or m.startswith("batteryct."))))
"""


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.py")))
def test_static_imports_cover_what_each_script_imports_at_run_time(script):
    """What Python really loads when the script's imports run (in a fresh interpreter, -I:
    nothing leaks from this process) is inside the set the code hash covers."""
    proc = subprocess.run(
        [sys.executable, "-I", "-c", RUNTIME_IMPORTS, str(SCRIPTS / script), str(SCRIPTS)],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(json.loads(proc.stdout))
    static = provenance.library_imports(SCRIPTS / script, SCRIPTS / "batteryct")
    assert loaded <= static, loaded - static
    tree = ast.parse((SCRIPTS / script).read_text())
    if any(isinstance(n, ast.ImportFrom) and (n.module or "").startswith("batteryct") for n in ast.walk(tree)):
        assert static, script
