"""hapair.dataclass_code: dataclasses' generated methods read from the file beside their module's bytecode
rather than compiled again, the file written when texts were compiled (and bytecode may be written), and
the classes the same either way."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from hapair import dataclass_code, frozen_imports
from tests.reference import REPO

POINT = """
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Point:
    x: int
    y: int = 0
    tags: list = field(default_factory=list, compare=False)
"""
TEXTS = 6  # a frozen class's __init__, __repr__, __eq__, __hash__, __setattr__, __delattr__
CHANGED = POINT.replace("    y: int = 0\n", "    y: int = 0\n    z: int = 0\n")


def make_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str = POINT) -> ModuleType:
    """A module of hapair's (by its name) whose bytecode's place is in tmp_path, its source run."""
    module = ModuleType("hapair.probe_for_tests")
    module.__cached__ = str(tmp_path / "__pycache__" / "probe_for_tests.cpython-311.pyc")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(source, "probe_for_tests.py", "exec"), module.__dict__)
    return module


def code_file(tmp_path: Path) -> Path:
    return tmp_path / "__pycache__" / "probe_for_tests.cpython-311.dataclasses"


def check_point(point_class: type) -> None:
    """The generated methods work as dataclasses' own: init with defaults, repr, eq, hash, frozen."""
    point = point_class(1)
    assert repr(point) == "Point(x=1, y=0, tags=[])"
    assert point == point_class(1, 0, ["other"])  # tags are not compared
    assert point != point_class(1, 2)
    assert hash(point) == hash(point_class(1, 0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 2  # type: ignore[misc]


def refuse_to_compile(*args: object) -> None:
    raise AssertionError("compiled a text the file holds")


def test_a_class_made_again_takes_its_methods_from_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with dataclass_code.cached(writing=True):
        check_point(make_module(tmp_path, monkeypatch).Point)
    assert code_file(tmp_path).exists()
    written = code_file(tmp_path).stat().st_mtime_ns
    monkeypatch.setattr(dataclass_code, "compile", refuse_to_compile, raising=False)
    with dataclass_code.cached(writing=True):
        check_point(make_module(tmp_path, monkeypatch).Point)
    assert code_file(tmp_path).stat().st_mtime_ns == written  # nothing compiled, nothing written


def test_nothing_is_written_when_bytecode_is_not_to_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    with dataclass_code.cached():
        check_point(make_module(tmp_path, monkeypatch).Point)
    assert not code_file(tmp_path).exists()


def test_a_file_that_cannot_be_read_is_written_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code_file(tmp_path).parent.mkdir()
    code_file(tmp_path).write_bytes(b"not marshal's")
    with dataclass_code.cached(writing=True):
        check_point(make_module(tmp_path, monkeypatch).Point)
    assert len(dataclass_code.read_code(str(code_file(tmp_path)))) == TEXTS


def test_a_changed_module_s_file_holds_its_new_texts_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with dataclass_code.cached(writing=True):
        make_module(tmp_path, monkeypatch)
    old = set(dataclass_code.read_code(str(code_file(tmp_path))))
    with dataclass_code.cached(writing=True):
        point = make_module(tmp_path, monkeypatch, CHANGED).Point(1, 2, z=3)
    assert repr(point) == "Point(x=1, y=2, z=3, tags=[])"
    new = set(dataclass_code.read_code(str(code_file(tmp_path))))
    assert len(new) == TEXTS
    assert not new & old  # every text names the fields: none of the old ones is kept


def test_other_modules_dataclasses_are_compiled_as_usual(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with dataclass_code.cached(writing=True) as cache:

        @dataclasses.dataclass
        class Local:  # this test module's: not hapair's
            value: int

        assert Local(1) == Local(1)
    assert cache.modules == {}


def test_the_exec_is_lent_for_the_block_only(tmp_path: Path) -> None:
    with frozen_imports.frozen():
        assert isinstance(vars(dataclasses)["exec"].__self__, dataclass_code.CodeCache)
        with dataclass_code.cached() as inner:  # the outer block's, in the same process
            assert vars(dataclasses)["exec"].__self__ is inner
    assert "exec" not in vars(dataclasses)


def test_a_forked_child_writes_what_it_compiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with dataclass_code.cached(writing=True):
        pid = os.fork()
        if pid == 0:  # the child: a block of its own inside the parent's
            try:
                with dataclass_code.cached(writing=True):
                    make_module(tmp_path, monkeypatch)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
    assert len(dataclass_code.read_code(str(code_file(tmp_path)))) == TEXTS


def test_python_m_writes_the_files_of_hapair_s_modules(tmp_path: Path) -> None:
    """Run on a copy of the package, whose __pycache__ directories are empty."""
    copy = tmp_path / "src"
    subprocess.run(["cp", "-r", str(REPO / "src"), str(copy)], check=True)
    subprocess.run(["find", str(copy), "-name", "*.dataclasses", "-delete"], check=True)
    environment = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "hapair.dataclass_code"]
    first = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    again = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    model = copy / "hapair" / "config" / "keepalived" / "model" / "__pycache__"
    assert (model / f"vrrp.{sys.implementation.cache_tag}.dataclasses").exists()
    assert int(first.stdout.split()[0]) > 50
    assert again.stdout.startswith("0 file(s)")
