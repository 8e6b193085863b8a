"""Per-rule environments, checked without conda (its channels are not reachable here).

Snakemake's script preamble appends the driver's ``sys.path``, so a green run under
``--sdm conda`` cannot prove an env complete: a module missing from the env is silently
imported from the driver's venv. These tests read the rules and the envs instead: every
rule with ``script:`` has a ``conda:`` env that pins exactly ``pyproject.toml``'s versions
and lists every third-party distribution its script reaches through the library; the
isolation test builds one venv per env file with pip and imports, under ``python -I``,
everything each rule needs.
"""

import ast
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import venv
from pathlib import Path

import pytest
import yaml

from batteryct.provenance import library_imports, module_path
from conftest import ROOT

RULES = ROOT / "workflow" / "rules"
SCRIPTS = ROOT / "workflow" / "scripts"
LIBRARY = SCRIPTS / "batteryct"
ENVS = ROOT / "envs"
# Needed at run time without being imported by name: pandas reads and writes parquet with pyarrow.
IMPLICIT = {"pandas": {"pyarrow"}}


def rule_blocks() -> dict[str, dict]:
    """rule name -> {"file", "script", "conda", "envmodules"} from the snakefmt-formatted rules."""
    rules = {}
    for smk in sorted(RULES.glob("*.smk")):
        text = smk.read_text()
        for m in re.finditer(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", text, re.M):
            body = m.group(2)
            entry = {"file": smk.name}
            for key in ("script", "conda"):
                k = re.search(rf"^    {key}:\n\s+\"([^\"]+)\"", body, re.M)
                entry[key] = k.group(1) if k else None
            e = re.search(r"^    envmodules:\n((?:        .*\n)+)", body, re.M)
            entry["envmodules"] = re.findall(r"\"([^\"]+)\"", e.group(1)) if e else []
            rules[m.group(1)] = entry
    return rules


def env_packages(env_file: Path) -> dict[str, str]:
    """Distribution (normalised name) -> pinned version of an env file's pip list."""
    spec = yaml.safe_load(env_file.read_text())
    pins = {}
    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            for line in dep.get("pip", []):
                name, _, version = line.partition("==")
                assert version, f"{env_file.name}: {line!r} is not pinned with =="
                pins[normalise(name)] = version.strip()
    return pins


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def pyproject_pins() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {normalise(d.split("==")[0]): d.split("==")[1] for d in deps}


def _top_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def script_modules(script: Path) -> tuple[set[str], set[str]]:
    """(library modules, third-party top-level modules) a rule script reaches."""
    lib = library_imports(script, LIBRARY)
    files = [script] + [module_path(m, LIBRARY) for m in lib]
    third = set()
    for f in files:
        third |= _top_level_imports(f)
    third -= set(sys.stdlib_module_names) | {"batteryct", "__future__", "snakemake"}
    return lib, third


def distributions(modules: set[str]) -> set[str]:
    """Distributions (normalised) that provide the top-level modules, with the implicit ones."""
    provided = importlib.metadata.packages_distributions()
    out = set()
    for m in modules:
        assert m in provided, f"module {m!r} is imported by the library but no installed distribution provides it"
        dists = {normalise(d) for d in provided[m]}
        out |= dists
        for d in list(dists):
            out |= IMPLICIT.get(d, set())
    return out


RULE_BLOCKS = rule_blocks()
SCRIPT_RULES = {name: r for name, r in RULE_BLOCKS.items() if r["script"]}


def test_rules_were_found():
    # the parser sees the workflow's stages (a broken parse would make the tests below vacuous)
    assert {"reconstruct", "segment", "transport_value", "transport_sample", "campaign_report"} <= set(SCRIPT_RULES)


@pytest.mark.parametrize("rule", sorted(SCRIPT_RULES))
def test_rule_env_pins_pyproject_and_lists_what_its_script_imports(rule):
    r = SCRIPT_RULES[rule]
    assert r["conda"], f"rule {rule} ({r['file']}) has script: but no conda:"
    env_file = (RULES / r["conda"]).resolve()
    assert env_file.parent == ENVS and env_file.is_file(), env_file
    pins = env_packages(env_file)
    project = pyproject_pins()
    for dist, version in pins.items():
        assert project.get(dist) == version, f"{env_file.name}: {dist}=={version}, pyproject pins {project.get(dist)}"
    script = (RULES / r["script"]).resolve()
    _, third = script_modules(script)
    missing = distributions(third) - set(pins)
    assert not missing, f"rule {rule}: {script.name} reaches {sorted(third)}; {env_file.name} lacks {sorted(missing)}"
    assert r["envmodules"], f"rule {rule} has conda: but no envmodules: beside it"


def test_every_env_file_is_used():
    used = {(RULES / r["conda"]).resolve().name for r in SCRIPT_RULES.values() if r["conda"]}
    assert used == {p.name for p in ENVS.glob("*.yaml")}


def _env_venv(env_file: Path, cache: Path) -> Path:
    """A venv with exactly the env's pip packages (no system site packages), cached by content.

    Built with uv when it is installed (the test extra pins it: it links the packages from
    its cache instead of unpacking each wheel per venv, minutes faster in CI), else pip.
    """
    key = hashlib.sha256(env_file.read_bytes()).hexdigest()[:16]
    target = cache / f"{env_file.stem}-{key}"
    python = target / "bin" / "python"
    if (target / ".complete").exists():
        return python
    pkgs = [f"{d}=={v}" for d, v in env_packages(env_file).items()]
    t0 = time.perf_counter()
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv:
        subprocess.run([uv, "venv", "-q", "--clear", "--python", sys.executable, str(target)], check=True)
        install = [uv, "pip", "install", "-q", "--python", str(python), *pkgs]
    else:
        venv.EnvBuilder(system_site_packages=False, clear=True, with_pip=True).create(target)
        install = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pkgs]
    proc = subprocess.run(install, capture_output=True, text=True)
    assert proc.returncode == 0, f"{env_file.name}: {' '.join(install[:3])} failed:\n{proc.stderr[-3000:]}"
    tool = Path(install[0]).name
    (target / ".complete").write_text(f"{tool} install {' '.join(pkgs)}: {time.perf_counter() - t0:.0f} s\n")
    return python


@pytest.fixture(scope="session")
def env_cache(tmp_path_factory):
    # beside the session's basetemp, so later sessions reuse the venvs (keyed by file content)
    path = tmp_path_factory.getbasetemp().parent / "batteryct-env-venvs"
    path.mkdir(exist_ok=True)
    return path


@pytest.mark.envs
@pytest.mark.parametrize("env_file", sorted(ENVS.glob("*.yaml")), ids=lambda p: p.stem)
def test_env_venv_imports_everything_its_rules_need_in_isolation(env_file, env_cache):
    python = _env_venv(env_file, env_cache)
    rules = [n for n, r in SCRIPT_RULES.items() if r["conda"] and (RULES / r["conda"]).resolve() == env_file]
    assert rules
    lib, third = set(), set()
    for rule in rules:
        m = script_modules((RULES / SCRIPT_RULES[rule]["script"]).resolve())
        lib |= m[0]
        third |= m[1]
    modules = sorted(third) + sorted(lib)
    # -I: no PYTHONPATH, no user site, no script dir; the library comes from the checkout as
    # Snakemake's preamble would put it, nothing else from the driver's venv
    code = (
        f"import sys; sys.path.insert(0, {str(SCRIPTS)!r})\n"
        f"import importlib\nfor m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(p for p in sys.path if 'site-packages' in p))"
    )
    proc = subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True, env={"PATH": os.defpath})
    assert proc.returncode == 0, f"{env_file.name} (rules {rules}):\n{proc.stderr[-3000:]}"
    assert str(Path(sys.prefix)) not in proc.stdout  # nothing on the path from the driver's venv
