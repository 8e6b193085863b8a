import pytest

from batteryct import provenance


def test_library_imports_follow_relative_imports_transitively():
    # validation imports simulate and mosaic; electrode imports network, which imports
    # _validation; particles imports metrics inside a function
    assert {"validation", "simulate", "mosaic", "psd"} <= provenance.library_imports("validation")
    assert {"electrode", "network", "_validation", "transport", "metrics", "particles",
            "random_walk", "segment", "io"} <= provenance.library_imports("electrode")
    assert provenance.library_imports("recon") == {"recon"}
    with pytest.raises(ValueError, match="no batteryct module 'nope'"):
        provenance.library_imports("nope")


def test_code_hash_covers_the_modules_a_module_depends_on(tmp_path, monkeypatch):
    (tmp_path / "a.py").write_text("from . import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from .c import g\n")
    (tmp_path / "c.py").write_text("x = 1\n")
    monkeypatch.setattr(provenance, "LIBRARY_DIR", tmp_path)
    before = provenance.code_hash("a")
    assert provenance.code_hash("a") == before and provenance.code_hash("c") != before
    (tmp_path / "c.py").write_text("x = 2\n")
    assert provenance.code_hash("a") != before
