"""keepalived's notify FIFOs (`notify_fifo`, `vrrp_notify_fifo` and their `_script`s: lib/notify.c's
fifo_open and fifo_close, vrrp_notify.c's notify_fifo): every notification as one line,
`INSTANCE "VI_1" MASTER 100` or `GROUP "G1" BACKUP 0`, written in the order the notifications happen to
a FIFO the daemon creates (unless it exists) and whose reader script it starts.

The line is pure (`fifo_line`); `FifoWriter` holds the FIFO."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import stat
from collections.abc import Callable

from ..config.keepalived.model.global_defs import GlobalDefs, NotifyFifo
from .actions import NotifyEvent
from .commands import ScriptRunner

FIFO_MODE = stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH  # before the umask, as keepalived


def fifo_line(*, group: bool, name: str, event: NotifyEvent, priority: int) -> bytes:
    """keepalived's line for a notification (a group's priority is 0)."""
    kind = "GROUP" if group else "INSTANCE"
    return f'{kind} "{name}" {event.value} {priority}\n'.encode()


class FifoWriter:
    """An open notify FIFO: lines are written without blocking (a full FIFO loses them, as keepalived's
    do); `close` removes the FIFO if the daemon created it."""

    def __init__(self, path: str, fd: int, created: bool) -> None:
        self.path = path
        self._fd = fd
        self._created = created

    def write(self, line: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self._fd, line)

    def close(self) -> None:
        """Remove the FIFO first (a reader that reopens it in a loop finds nothing), then close it."""
        if self._created:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        os.close(self._fd)


def open_fifos(
    defs: GlobalDefs, runner: ScriptRunner, log: Callable[[str], None], *, umask: int
) -> list[FifoWriter]:
    """The VRRP process's FIFOs, as keepalived opens them: the global `notify_fifo`, then
    `vrrp_notify_fifo`; each one's script is started before the FIFO is opened."""
    opened = [
        _open(fifo, kind, runner, log, umask)
        for fifo, kind in ((defs.notify_fifo, ""), (defs.vrrp_notify_fifo, "vrrp_"))
        if fifo.name is not None
    ]
    return [fifo for fifo in opened if fifo is not None]


def _open(
    fifo: NotifyFifo, kind: str, runner: ScriptRunner, log: Callable[[str], None], umask: int
) -> FifoWriter | None:
    assert fifo.name is not None
    path = fifo.name
    created = _make(path, fifo, kind, log, umask)
    if created is None:
        return None
    if fifo.script is not None:
        runner.run_service(fifo.script).add_done_callback(lambda task: _ended(task, log))
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError as error:
        log(f"Unable to open {kind}notify fifo {path} - errno {error.errno}")
        if created:
            with contextlib.suppress(OSError):
                os.unlink(path)
        return None
    return FifoWriter(path, fd, created)


def _ended(task: asyncio.Task[int | None], log: Callable[[str], None]) -> None:
    """keepalived's vrrp_notify_fifo_script_exit, for a reader that ended on its own (not at the stop)."""
    if not task.cancelled() and task.result() is not None:
        log("vrrp notify fifo script terminated")


def _make(path: str, fifo: NotifyFifo, kind: str, log: Callable[[str], None], umask: int) -> bool | None:
    """Create the FIFO: True when made, False when it exists, None (logged) when it cannot be made."""
    try:
        os.mkfifo(path, FIFO_MODE)
    except OSError as error:
        if error.errno == errno.EEXIST:
            return False
        log(f"Unable to create {kind}notify fifo {path}")
        return None
    os.chmod(path, FIFO_MODE & ~umask)
    uid, gid = os.getuid(), os.getgid()
    if (fifo.uid, fifo.gid) != (uid, gid):
        try:
            os.chown(path, fifo.uid if fifo.uid != uid else -1, fifo.gid if fifo.gid != gid else -1)
        except OSError:
            log(f"Failed to set uid:gid for fifo {path}")
    return True
