"""The temporary files of bodies and buffered responses (proxy/http/tempfiles.py) are made as
tempfile.NamedTemporaryFile(dir=..., prefix="") makes them: a new file of 8 random characters in the
directory, only its owner's, written and read through, removed when closed or dropped."""

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
    assert len(path.name) == 8 and set(path.name) <= set(tempfiles._CHARACTERS)
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
    monkeypatch.setattr(tempfiles._names, "choices", lambda _characters, k: list(next(names)))
    made = TemporaryFile(str(tmp_path))
    assert Path(made.name).name == "bbbbbbbb"
    made.close()
    assert (tmp_path / "aaaaaaaa").read_bytes() == b"someone else's"


def test_a_directory_that_cannot_hold_it_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        TemporaryFile(str(tmp_path / "missing"))
