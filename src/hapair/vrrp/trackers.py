"""The edge of `track_file` for a running configuration: files read at start and on inotify events (as
keepalived 2.2.7's init_track_files / process_inotify). What they hold goes to the pure core
(track_file.py), and what changes to the runtime's callback. `vrrp_track_process`'s edge is
process_watch.py, imported only by configurations that track processes.

inotify comes from inotify_simple: Python's standard library has no inotify, and that small library is
only inotify_init1 / inotify_add_watch (through ctypes) around a file descriptor the event loop watches.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config.keepalived.model.vrrp import TrackFile, TrackFileInit
from .track_file import READ_SIZE, FileState, LinkChange, Reading, read_value

if TYPE_CHECKING:
    from inotify_simple import INotify

# inotify(7)'s event bits (linux/inotify.h): IN_CLOSE_WRITE, IN_MOVED_FROM, IN_MOVED_TO, IN_DELETE, IN_ISDIR
IN_CLOSE_WRITE, IN_MOVED_FROM, IN_MOVED_TO, IN_DELETE, IN_ISDIR = 0x8, 0x40, 0x80, 0x200, 0x40000000
WATCHED = IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
GONE = IN_DELETE | IN_MOVED_FROM


def write_init_files(files: Sequence[TrackFile], log: Callable[[str], None], *, reload: bool) -> None:
    """`init_file`: write the initial value to the files the configuration asks for (at a reload, only to
    those that do not exist: keepalived does not overwrite a file on reload)."""
    for file in files:
        if file.init is TrackFileInit.NONE or file.path is None:
            continue
        if reload and os.path.lexists(file.path):
            continue
        try:
            with open(file.path, "w") as out:
                out.write(f"{file.init_value}\n")
        except OSError:
            log(f"Unable to initialise track file {file.name}")


def read_file(path: str) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        return os.read(fd, READ_SIZE)
    except OSError:
        return b""
    finally:
        os.close(fd)


@dataclass
class _Watched:
    state: FileState
    directory: str
    name: str
    wd: int = -1


FileChanged = Callable[[FileState, list[LinkChange]], None]


class FileWatch:
    """The tracked files: each resolved and read at start, its directory watched for writes, moves and
    deletions."""

    def __init__(self, files: Sequence[TrackFile], log: Callable[[str], None], changed: FileChanged) -> None:
        self._log = log
        self._changed = changed
        self._files: list[_Watched] = []
        self._inotify: INotify | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        for file in files:
            if not file.tracking:
                continue  # nothing tracks it: keepalived forgets it
            watched = self._resolve(file)
            if watched is not None:
                self._files.append(watched)

    @property
    def values(self) -> dict[str, int]:
        return {watched.state.name: watched.state.value for watched in self._files}

    def _resolve(self, file: TrackFile) -> _Watched | None:
        path = file.path or ""
        try:
            resolved = os.path.realpath(path, strict=True)
        except FileNotFoundError:
            directory, _slash, name = path.rpartition("/")
            try:
                real_directory = os.path.realpath(directory if "/" in path else ".", strict=True)
            except OSError:
                real_directory = ""
            if not os.path.isdir(real_directory):
                self._log(f"Track file directory for {file.name} does not exist - removing")
                return None
            resolved = os.path.join(real_directory, name)
        except OSError:
            self._log(f"track file {file.name} is not accessible - ignoring")
            return None
        directory, _slash, name = resolved.rpartition("/")
        state = FileState(file)
        state.path = resolved
        return _Watched(state, directory or "/", name)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Watch the directories and read the files that exist (their values are the starting ones)."""
        if not self._files:
            return
        # inotify_simple looks libc up with ctypes.util.find_library, which runs ldconfig: only with files
        from inotify_simple import INotify  # noqa: PLC0415

        try:
            self._inotify = INotify(nonblocking=True)
        except OSError:
            self._log("Unable to monitor track files")
            return
        for watched in self._files:
            try:
                watched.wd = self._inotify.add_watch(watched.directory, WATCHED)
            except OSError:
                watched.wd = -1
            if os.path.exists(watched.state.path):
                line = watched.state.load(read_value(read_file(watched.state.path), watched.state.path))
                if line is not None:
                    self._log(line)
        self._loop = loop
        loop.add_reader(self._inotify.fileno(), self._events)

    def _events(self) -> None:
        assert self._inotify is not None
        for event in self._inotify.read(timeout=0):
            if event.mask & IN_ISDIR:
                continue
            if not event.mask & WATCHED:
                self._log(f"Unknown inotify event 0x{event.mask:x}")
                continue
            for watched in self._files:
                if watched.wd != event.wd or watched.name != event.name:
                    continue
                changes = watched.state.removed() if event.mask & GONE else self._read(watched.state)
                if changes:
                    self._changed(watched.state, changes)

    def _read(self, state: FileState) -> list[LinkChange]:
        reading: Reading = read_value(read_file(state.path), state.path)
        if reading.invalid is not None:
            self._log(reading.invalid)
        return state.update(reading)

    def close(self) -> None:
        if self._inotify is not None:
            if self._loop is not None:
                self._loop.remove_reader(self._inotify.fileno())
            self._inotify.close()
            self._inotify = None
