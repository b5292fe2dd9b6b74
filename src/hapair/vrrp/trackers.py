"""The edges of `track_file` and `vrrp_track_process` for a running configuration: files read at start and
on inotify events (as keepalived 2.2.7's init_track_files / process_inotify), processes seen through the
kernel's proc connector where it works, or else through pidfds and a scan of /proc. What they find goes to
the pure cores (track_file.py, track_process.py), and what changes to the runtime's callbacks.

inotify comes from inotify_simple: Python's standard library has no inotify, and that small library is
only inotify_init1 / inotify_add_watch (through ctypes) around a file descriptor the event loop watches.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config.keepalived.model.global_defs import GlobalDefs
from ..config.keepalived.model.vrrp import TrackFile, TrackFileInit, TrackProcess
from ..net.processes import (
    Acknowledged,
    Executed,
    Overrun,
    PidWatcher,
    ProcConnector,
    ProcessEvent,
    ProcessInfo,
    process_ids,
    read_process,
)
from .track_file import READ_SIZE, FileState, LinkChange, Reading, read_value
from .track_process import ProcessTable, QuorumChange, scan_events

if TYPE_CHECKING:
    from inotify_simple import INotify

SECOND_US = 1_000_000
# inotify(7)'s event bits (linux/inotify.h): IN_CLOSE_WRITE, IN_MOVED_FROM, IN_MOVED_TO, IN_DELETE, IN_ISDIR
IN_CLOSE_WRITE, IN_MOVED_FROM, IN_MOVED_TO, IN_DELETE, IN_ISDIR = 0x8, 0x40, 0x80, 0x200, 0x40000000
WATCHED = IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
GONE = IN_DELETE | IN_MOVED_FROM
SCAN_INTERVAL_S = 0.1  # how often the fallback looks for new processes in /proc
ACK_WAIT_S = 0.1  # keepalived's wait for the kernel's confirmation of the subscription
RESCAN_DELAY_S = 1.0  # after lost events, keepalived counts the processes again a second later


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


QuorumChanged = Callable[[list[QuorumChange]], None]


class ProcessWatch:
    """The tracked processes: counted at start from /proc, then followed through the kernel's process
    events, or, where the kernel sends none (another network namespace, a container), through a pidfd
    per counted process and a scan of /proc every SCAN_INTERVAL_S for new ones. The log says which."""

    def __init__(
        self,
        configs: Sequence[TrackProcess],
        defs: GlobalDefs,
        max_name_len: int,
        *,
        log: Callable[[str], None],
        detail: bool,
        changed: QuorumChanged,
    ) -> None:
        self.table = ProcessTable(configs)
        self._defs = defs
        self._cmdline_size = max_name_len + 2 if self.table.use_cmdline else 0
        self._log = log
        self._detail = detail
        self._changed = changed
        self._loop = asyncio.get_running_loop()
        self._connector: ProcConnector | None = None
        self._pidfds: PidWatcher | None = None
        self._seen: set[int] = set()
        self._handles: dict[str, asyncio.TimerHandle] = {}
        self._acknowledged = False

    def now(self) -> int:
        return int(self._loop.time() * SECOND_US)

    def start(self) -> None:
        """Subscribe to the kernel's process events (or set up the fallback), then count the processes
        running now. The quorums are then the starting ones."""
        try:
            self._connector = ProcConnector.open(
                self._defs.process_monitor_rcv_bufs, force=self._defs.process_monitor_rcv_bufs_force
            )
        except OSError as error:
            self._log(
                f"Process events not available (errno {error.errno} - {error.strerror}): tracking processes "
                f"with pidfds and a scan of /proc every {SCAN_INTERVAL_S * 1000:.0f} ms"
            )
            self._pidfds = PidWatcher(self._loop, self._exited)
        else:
            self._log("Tracking processes with the kernel's process events (proc connector)")
            self._loop.add_reader(self._connector.fileno(), self._events)
            self._handles["ack"] = self._loop.call_later(ACK_WAIT_S, self._check_acknowledged)
        self.table.load(self._snapshot().values())
        if self._pidfds is not None:
            self._watch_counted()
            self._handles["scan"] = self._loop.call_later(SCAN_INTERVAL_S, self._scan)

    def _snapshot(self) -> dict[int, ProcessInfo]:
        processes: dict[int, ProcessInfo] = {}
        for pid in process_ids():
            info = read_process(pid, cmdline_size=self._cmdline_size)
            if info is not None:
                processes[pid] = info
        self._seen = set(processes)
        return processes

    # ----- the proc connector

    def _events(self) -> None:
        assert self._connector is not None
        for event in self._connector.receive():
            self._handle(event)

    def _handle(self, event: ProcessEvent) -> None:
        if isinstance(event, Acknowledged):
            self._acknowledged = True
            if self._detail:
                self._log("proc_events has confirmed it is configured")
            return
        if isinstance(event, Overrun):
            self._schedule("rescan", RESCAN_DELAY_S, self._rescan)
            return
        info = None
        if isinstance(event, Executed):
            info = read_process(event.pid, cmdline_size=self._cmdline_size)
        self._report(self.table.handle(event, info, self.now()))

    def _check_acknowledged(self) -> None:
        if not self._acknowledged:
            self._log("WARNING - the kernel does not support proc events - track_process will not work")

    def _rescan(self) -> None:
        """Events were lost: count the processes again (keepalived's reinitialise_track_processes)."""
        before = {name: tracker.count for name, tracker in self.table.trackers.items()}
        self.table = _recounted(self.table, self._snapshot().values())
        for name, tracker in self.table.trackers.items():
            if self._detail and tracker.count != before[name]:
                changed = f"from {before[name]} to {tracker.count}"
                self._log(f"Process {name}, number of current processes changed {changed}")
        self._report([change for t in self.table.trackers.values() if (change := t.settle()) is not None])

    # ----- the fallback: pidfds and /proc scans

    def _exited(self, pid: int) -> None:
        self._seen.discard(pid)
        self._report(self.table.exited(pid, self.now()))

    def _scan(self) -> None:
        self._handles.pop("scan", None)
        pids = process_ids()
        looked_at = {pid for pid in pids if pid not in self._seen or pid in self.table.pids}
        processes = {
            pid: info
            for pid in looked_at
            if (info := read_process(pid, cmdline_size=self._cmdline_size)) is not None
        }
        events = scan_events(self.table, self._seen, processes)
        self._seen = set(pids)
        now = self.now()
        for event, info in events:
            self._report(self.table.handle(event, info, now))
        self._watch_counted()
        self._handles["scan"] = self._loop.call_later(SCAN_INTERVAL_S, self._scan)

    def _watch_counted(self) -> None:
        """A pidfd for each counted process (and none for the others); one already gone has exited."""
        assert self._pidfds is not None
        for pid in self._pidfds.watching - self.table.pids.keys():
            self._pidfds.unwatch(pid)
        for pid in list(self.table.pids):
            if not self._pidfds.watch(pid):
                self._exited(pid)

    # ----- what changed

    def _report(self, changes: list[QuorumChange]) -> None:
        if changes:
            self._changed(changes)
        self._arm()

    def _arm(self) -> None:
        deadline = self.table.deadline()
        handle = self._handles.pop("delay", None)
        if handle is not None:
            handle.cancel()
        if deadline is not None:
            self._handles["delay"] = self._loop.call_at(deadline / SECOND_US, self._expire)

    def _expire(self) -> None:
        self._handles.pop("delay", None)
        self._report(self.table.expire(self.now()))

    def _schedule(self, key: str, delay_s: float, callback: Callable[[], None]) -> None:
        old = self._handles.pop(key, None)
        if old is not None:
            old.cancel()
        self._handles[key] = self._loop.call_later(delay_s, callback)

    def close(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
        if self._connector is not None:
            self._loop.remove_reader(self._connector.fileno())
            self._connector.close()
            self._connector = None
        if self._pidfds is not None:
            self._pidfds.close()
            self._pidfds = None


def _recounted(table: ProcessTable, processes: Iterable[ProcessInfo]) -> ProcessTable:
    """A table with the same trackers and quorums, its counts made again from `processes`."""
    fresh = ProcessTable(tracker.config for tracker in table.trackers.values())
    quorums = table.quorums
    fresh.load(processes)
    for name, tracker in fresh.trackers.items():
        tracker.have_quorum = quorums[name]
    return fresh
