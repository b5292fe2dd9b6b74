"""The temporary files of bodies and buffered responses (proxy/http/tempfiles.py) are made as
tempfile.NamedTemporaryFile(dir=..., prefix="") makes them: a new file of a random name in the
directory, only its owner's, written and read through, removed when closed or dropped; a forked process
draws other names than its parent."""

from __future__ import annotations

import gc
import os
import stat
from pathlib import Path

import pytest

from hapair.proxy.http import tempfiles
from hapair.proxy.http.tempfiles import TemporaryFile


def test_a_file_of_its_own_in_the_directory_removed_when_closed(tmp_path: Path) -> None:
    made = TemporaryFile(str(tmp_path))
    path = Path(made.name)
    assert path.parent == tmp_path
    assert len(path.name) == 12 and set(path.name) <= set("0123456789abcdef")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    made.write(b"body ")
    made.write(b"bytes")
    made.flush()
    assert os.pread(made.fileno(), 100, 0) == b"body bytes"
    assert path.read_bytes() == b"body bytes"
    made.close()
    made.close()
    assert list(tmp_path.iterdir()) == []


def test_a_file_dropped_unclosed_is_removed(tmp_path: Path) -> None:
    made = TemporaryFile(str(tmp_path))
    assert len(list(tmp_path.iterdir())) == 1
    del made
    gc.collect()
    assert list(tmp_path.iterdir()) == []


def test_a_name_already_taken_is_passed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "aaaaaaaa").write_bytes(b"someone else's")
    names = iter(["aaaaaaaa", "bbbbbbbb"])
    monkeypatch.setattr(tempfiles, "_random_name", lambda: next(names))
    made = TemporaryFile(str(tmp_path))
    assert Path(made.name).name == "bbbbbbbb"
    made.close()
    assert (tmp_path / "aaaaaaaa").read_bytes() == b"someone else's"


def test_a_forked_child_draws_names_of_its_own() -> None:
    """A worker forked from the master does not draw the master's next names: ten names in the parent
    and ten in a child share none."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its ten names to the parent
        os.close(read)
        os.write(write, " ".join(tempfiles._random_name() for _ in range(10)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child = set(pipe.read().decode().split())
    os.waitpid(pid, 0)
    parent = {tempfiles._random_name() for _ in range(10)}
    assert len(child) == 10
    assert not child & parent


def test_a_directory_that_cannot_hold_it_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        TemporaryFile(str(tmp_path / "missing"))
