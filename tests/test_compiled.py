"""hapair.compiled: the guard that imports the compiled modules from their .py files when the build does not
match them, or when HAPAIR_PURE_PYTHON=1 asks for pure Python, and the list of compiled modules."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from hapair import compiled
from tests.reference import REPO

COMPILING = """
from mypyc.build import mypycify
from setuptools import Distribution
groups = [(["guarded/a.py"], "guarded.one"), (["guarded/b.py"], "guarded.two")]
modules = mypycify(["guarded/a.py", "guarded/b.py"], separate=groups)
distribution = Distribution({"ext_modules": modules})
command = distribution.get_command_obj("build_ext")
command.inplace = True
command.build_temp = "objects"
distribution.run_command("build_ext")
"""
MODULES = ("guarded.a", "guarded.b")
LIBRARIES = ("guarded.one__mypyc", "guarded.two__mypyc")
SOURCES = {  # b calls a: a native call from one group into the other
    "a": 'def where() -> str:\n    return "{}"\n',
    "b": 'from guarded.a import where\n\n\ndef both() -> str:\n    return where() + " {}"\n',
}
SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package `guarded` whose modules `a` and `b` were compiled by mypyc as two groups, from sources
    whose functions say "extension"; their .py files now say "source"."""
    pytest.importorskip("mypyc")
    if shutil.which("cc") is None:
        pytest.skip("needs a C compiler")
    root = tmp_path_factory.mktemp("guard")
    (root / "guarded").mkdir()
    (root / "guarded" / "__init__.py").write_text("")
    for name, source in SOURCES.items():
        (root / "guarded" / f"{name}.py").write_text(source.format("extension"))
    subprocess.run([sys.executable, "-c", COMPILING], cwd=root, check=True, capture_output=True, timeout=600)
    for name in ("a", "b", "one__mypyc", "two__mypyc"):
        assert (root / "guarded" / f"{name}{SUFFIX}").exists(), name
    for name, source in SOURCES.items():
        (root / "guarded" / f"{name}.py").write_text(source.format("source"))
    return root


def built_from_today(package: Path) -> dict:
    """The record the build writes: each module's source hash (here: of its .py as it is now)."""
    sources = {name: str(package / "guarded" / f"{name.split('.')[1]}.py") for name in MODULES}
    return {"modules": {name: compiled.source_hash(source) for name, source in sources.items()}}


def guarded(
    package: Path,
    monkeypatch: pytest.MonkeyPatch,
    record: dict | None,
    *,
    pure: bool = False,
) -> None:
    """The guard first on sys.meta_path, with `record` (None: no record) for the package's build."""
    path = package / "compiled.json"
    path.unlink(missing_ok=True)
    if record is not None:
        path.write_text(json.dumps(record))
    monkeypatch.syspath_prepend(str(package))
    guard = compiled.SourceWhenStale(MODULES, LIBRARIES, str(path), str(package), pure=pure)
    monkeypatch.setattr(sys, "meta_path", [guard, *sys.meta_path])
    for name in ("guarded", *MODULES, *LIBRARIES):
        monkeypatch.delitem(sys.modules, name, raising=False)


def imported() -> tuple[str, str]:
    """What a's function says, and what b's says (b's calls a's)."""
    return importlib.import_module("guarded.a").where(), importlib.import_module("guarded.b").both()


def test_groups_built_from_the_sources_beside_them_are_imported(package, monkeypatch):
    guarded(package, monkeypatch, built_from_today(package))
    assert imported() == ("extension", "extension extension")
    assert set(LIBRARIES) <= set(sys.modules)


@pytest.mark.parametrize("changed", MODULES)
def test_one_source_changed_since_the_build_makes_every_module_of_every_group_python(
    package, monkeypatch, changed
):
    record = built_from_today(package)
    record["modules"][changed] = "0" * 64
    guarded(package, monkeypatch, record)
    assert imported() == ("source", "source source")
    assert not set(LIBRARIES) & set(sys.modules)


def test_groups_the_build_did_not_record_are_not_imported(package, monkeypatch):
    guarded(package, monkeypatch, None)
    assert imported() == ("source", "source source")


def test_a_record_of_other_modules_is_not_current(package, monkeypatch):
    record = built_from_today(package)
    del record["modules"]["guarded.b"]
    guarded(package, monkeypatch, record)
    assert imported() == ("source", "source source")


def test_pure_python_asked_imports_the_sources(package, monkeypatch):
    guarded(package, monkeypatch, built_from_today(package), pure=True)
    assert imported() == ("source", "source source")


@pytest.mark.parametrize("library", LIBRARIES)
def test_the_shared_library_of_a_stale_group_is_refused(package, monkeypatch, library):
    """An extension the guard did not choose (one of a module no longer listed, left by an older build)
    would import its library: it fails rather than running beside the others as Python."""
    guarded(package, monkeypatch, None)
    with pytest.raises(ImportError, match="not built from the sources beside it"):
        importlib.import_module(library)


@pytest.mark.parametrize(("value", "asked"), [("", False), ("0", False), ("1", True), ("yes", True)])
def test_the_pure_python_switch(monkeypatch, value, asked):
    monkeypatch.setenv("HAPAIR_PURE_PYTHON", value)
    assert compiled.pure_python_asked() is asked


def test_every_compiled_module_is_a_module_of_the_tree_in_one_group():
    for name in compiled.MODULES:
        assert Path(compiled.source_path(name, str(REPO / "src"))).is_file(), name
    assert len(set(compiled.MODULES)) == len(compiled.MODULES)
    assert tuple(f"{group}__mypyc" for group, _ in compiled.GROUPS) == compiled.LIBRARIES


def test_the_tree_s_build_is_loaded_whole_or_not_at_all():
    """In this test run hapair's compiled modules are all extensions (a current build) or all Python."""
    if compiled.pure_python_asked():
        pytest.skip("HAPAIR_PURE_PYTHON asks for pure Python")
    kinds = {str(importlib.import_module(name).__file__).endswith(SUFFIX) for name in compiled.MODULES}
    assert len(kinds) == 1
    built = compiled.build_is_current(compiled.MODULES, compiled.RECORD, str(REPO / "src"))
    assert kinds == {built}


def test_the_http1_modules_load_neither_the_stream_group_nor_the_http2_group():
    """A worker of a configuration without `stream {}` or `http2` listeners holds neither group's code."""
    code = (
        "import importlib, sys\n"
        f"for name in {compiled.HTTP1_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(*sorted(sys.modules))\n"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = set(ran.stdout.split())
    others = {*compiled.STREAM_MODULES, *compiled.HTTP2_MODULES, *compiled.LIBRARIES[1:]}
    assert not others & loaded
    built = compiled.build_is_current(compiled.MODULES, compiled.RECORD, str(REPO / "src"))
    assert (compiled.LIBRARIES[0] in loaded) == (built and not compiled.pure_python_asked())


@pytest.mark.parametrize("module", compiled.NATIVE_MODULES)
def test_a_c_extension_is_used_only_when_built_from_the_c_beside_it(tmp_path, monkeypatch, module):
    monkeypatch.delenv("HAPAIR_PURE_PYTHON", raising=False)
    sources = compiled.native_sources(module, str(REPO / "src"))
    record = tmp_path / "compiled.json"
    record.write_text(json.dumps({"modules": {}, "native": {module: compiled.source_hash(*sources)}}))
    assert compiled.native_is_current(module, str(record))
    monkeypatch.setenv("HAPAIR_PURE_PYTHON", "1")
    assert not compiled.native_is_current(module, str(record))
    monkeypatch.delenv("HAPAIR_PURE_PYTHON")
    record.write_text(json.dumps({"modules": {}, "native": {module: "0" * 64}}))  # the .c changed since
    assert not compiled.native_is_current(module, str(record))
    # built before the header it includes changed: the .c's hash alone is not the sources'
    stream = REPO / "src" / "hapair" / "proxy" / "stream"
    assert sources[1:] == [str(stream / "_deadlines.h"), str(stream / "_handles.h")]
    record.write_text(json.dumps({"modules": {}, "native": {module: compiled.source_hash(sources[0])}}))
    assert not compiled.native_is_current(module, str(record))
    record.write_text(json.dumps({"modules": {}}))  # built before there was a C extension
    assert not compiled.native_is_current(module, str(record))
