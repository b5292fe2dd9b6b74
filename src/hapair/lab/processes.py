"""Processes the lab started, known by PID and start time so that a recycled PID is never signalled."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

INTERRUPTED = 130  # the exit status of a run ended by Ctrl-C or SIGTERM, as a shell's
POLL_S = 0.02


@dataclass(frozen=True)
class ProcessId:
    """A process as /proc knows it: its PID and its start time (clock ticks since boot)."""

    pid: int
    start: int

    @classmethod
    def of(cls, pid: int) -> ProcessId:
        stat = _stat(pid)
        if stat is None:
            raise ProcessLookupError(pid)
        return cls(pid, int(stat[19]))

    def running(self) -> bool:
        """Still this process, and not a zombie."""
        stat = _stat(self.pid)
        return stat is not None and int(stat[19]) == self.start and stat[0] != "Z"

    def signal(self, signum: int) -> bool:
        """Send `signum` if the process is still this one; whether it was sent."""
        if not self.running():
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)
            return True
        return False


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command name (state first), or None if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def parent(pid: int) -> int | None:
    stat = _stat(pid)
    return None if stat is None else int(stat[1])


def children(pid: int) -> list[int]:
    """The PIDs whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    """`pid`'s children, their children and so on, outermost first."""
    found: list[int] = []
    pending = [pid]
    while pending:
        kids = children(pending.pop(0))
        found += kids
        pending += kids
    return found


def family(process: ProcessId) -> list[ProcessId]:
    """`process` and its descendants still running."""
    return [process, *identified(descendants(process.pid))] if process.running() else []


def identified(pids: list[int]) -> list[ProcessId]:
    """Those of `pids` still there, with their start times."""
    found = []
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            found.append(ProcessId.of(pid))
    return found


def wait_for_child(pid: int, timeout: float) -> ProcessId | None:
    """The first child `pid` gets within `timeout` seconds (a wrapper's forked program), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = children(pid)
        if kids:
            with contextlib.suppress(ProcessLookupError):
                return ProcessId.of(kids[0])
        time.sleep(POLL_S)
    return None


def wait_gone(processes: list[ProcessId], timeout: float) -> bool:
    """Wait until none of `processes` runs any more; whether that happened within `timeout`."""
    deadline = time.monotonic() + timeout
    while any(p.running() for p in processes):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


def stop(process: ProcessId, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it is still there after `timeout` seconds."""
    if process.signal(signal.SIGTERM) and not wait_gone([process], timeout):
        process.signal(signal.SIGKILL)
        wait_gone([process], timeout)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for the block (a process started and not yet recorded would be lost);
    one that came is raised again when the block ends. (Handlers, not a signal mask: a mask would be
    inherited by the processes the block starts.)"""
    caught: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in caught[:1]:
            signal.raise_signal(signum)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Ignore SIGINT and SIGTERM for the block (the tear-down, which a second Ctrl-C must not cut short)."""
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM interrupts the block as Ctrl-C does (KeyboardInterrupt), so that what it built is removed."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def told_to_the_end(
    story: Callable[[], int], tear_down: Callable[[], None], say: Callable[[str], None]
) -> int:
    """Run `story` (its exit status); Ctrl-C or SIGTERM end it with INTERRUPTED. `tear_down` runs however
    it ends, and a second Ctrl-C does not cut it short."""
    try:
        with sigterm_interrupts():
            return story()
    except KeyboardInterrupt:
        say("interrupted: removing the lab")
        return INTERRUPTED
    finally:
        with signals_ignored():
            tear_down()


def poll(condition: Callable[[], bool], timeout: float, meanwhile: Callable[[], None]) -> bool:
    """Whether `condition` held within `timeout` s, checked every POLL_S; `meanwhile` runs before each
    check."""
    deadline = time.monotonic() + timeout
    while True:
        meanwhile()
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
