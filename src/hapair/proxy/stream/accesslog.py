"""Writing stream access log lines to their files (`access_log path format [buffer=] [flush=] [if=]`).

Files are opened as nginx opens them (O_WRONLY | O_APPEND | O_CREAT, mode 0644), once per path however
many `access_log` lines name it. A line is written at once with one write(2), or, with `buffer=`, kept
until the buffer would overflow, `flush=` has passed, or the log is closed.
"""

from __future__ import annotations

import asyncio
import os

from hapair.config.nginx.model.logging import AccessLog, ErrorLevel

from ..errorlog import to_main_log
from ..logformat import BoundFormat, ByteFormat, LineFormat, ready_format
from ..syslog import SyslogPeer
from .variables import SessionView, StreamVariables

_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC


class LogFiles:
    """The open log files of one service, by path."""

    __slots__ = ("_fds",)

    def __init__(self) -> None:
        self._fds: dict[str, int] = {}

    def fd(self, path: str) -> int:
        fd = self._fds.get(path)
        if fd is None:
            fd = self._fds[path] = os.open(path, _OPEN_FLAGS, 0o644)
        return fd

    def reopen(self) -> None:
        """Open every file again by its path (after log rotation: nginx's SIGUSR1)."""
        for path, old in list(self._fds.items()):
            self._fds[path] = os.open(path, _OPEN_FLAGS, 0o644)
            os.close(old)

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


def line_format(
    line_format: LineFormat, variables: StreamVariables
) -> ByteFormat[SessionView] | BoundFormat[SessionView]:
    """A log format made ready (`logformat.ready_format`)."""
    return ready_format(line_format, variables.log_value, variables.getter)


class AccessLogWriter:
    """One `access_log` of a stream server."""

    __slots__ = (
        "_buffer",
        "_condition",
        "_files",
        "_flush_timer",
        "_format",
        "_loop",
        "_path",
        "_settings",
        "_syslog",
    )

    def __init__(
        self, loop: asyncio.AbstractEventLoop, log: AccessLog, files: LogFiles, variables: StreamVariables
    ) -> None:
        self._loop = loop
        self._settings = log
        self._path = log.path
        self._files = files
        self._syslog = SyslogPeer(log.syslog) if log.syslog is not None else None
        if self._syslog is None:
            files.fd(log.path)  # open it now: a file that cannot be opened stops the start, as in nginx
        self._format = line_format(LineFormat(log.format.template, log.format.escape), variables)
        self._condition = variables.template(log.condition) if log.condition else None
        self._buffer = bytearray()
        self._flush_timer: asyncio.TimerHandle | None = None

    def write(self, session: SessionView) -> None:
        """The session's line, unless the log's `if=` value is "" or "0"."""
        if self._condition is not None and self._condition.evaluate(session) in ("", "0"):
            return
        line = self._format.render_bytes(session)
        if self._syslog is not None:
            if not self._syslog.send(line[:-1] if line.endswith(b"\n") else line):
                to_main_log(ErrorLevel.WARN, "send() to syslog failed")
            return
        size = self._settings.buffer
        if len(self._buffer) + len(line) > size:
            self.flush()
        if len(line) > size:
            os.write(self._files.fd(self._path), line)
            return
        self._buffer += line
        if self._settings.flush and self._flush_timer is None:
            self._flush_timer = self._loop.call_later(self._settings.flush / 1000, self.flush)

    def flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if self._buffer:
            os.write(self._files.fd(self._path), self._buffer)
            self._buffer.clear()
