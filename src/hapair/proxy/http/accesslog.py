"""Access log files: lines rendered by `hapair.proxy.logformat` and written in batches.

nginx writes each line at once unless `access_log ... buffer=` is given. hapair writes the lines of an
unbuffered log once the event loop's turn that made them is over (so the lines of the requests one turn
answers go out in one write, and each is in the file before the next turn), and those of a buffered one
when `buffer` bytes are waiting (at least 64 KiB) or at the latest `flush` after the first waiting line
(at most one second, also without `flush=`); and all of them when the service closes.
A file several `access_log` lines name is opened once, in append mode, as nginx does.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from hapair.config.nginx.model.logging import AccessLog, ErrorLevel, LogFormat

from ..logformat import BoundFormat, ByteFormat, LineFormat, ready_format
from ..syslog import SyslogPeer
from .variables import CompiledTemplate, log_value, resolver

if TYPE_CHECKING:
    from .exchange import Exchange

_MIN_BUFFER: Final = 64 * 1024
_OPEN_FLAGS: Final = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_MAX_DELAY: Final = 1.0


class LogFile:
    """One file, written by whichever locations log to it."""

    __slots__ = ("_buffer", "_delay", "_fd", "_limit", "_loop", "_size", "_timer", "path")

    def __init__(self, loop: asyncio.AbstractEventLoop, path: str) -> None:
        self._loop = loop
        self.path = path
        self._fd = os.open(path, _OPEN_FLAGS, 0o644)
        self._buffer: list[bytes] = []
        self._size = 0
        self._limit = _MIN_BUFFER
        self._delay = _MAX_DELAY
        self._timer: asyncio.Handle | None = None

    def adopt(self, log: AccessLog) -> None:
        """Take the largest buffer and the shortest delay the `access_log` lines of this file ask for (an
        unbuffered one: none)."""
        self._limit = max(self._limit, log.buffer)
        if not log.buffer:
            self._delay = 0.0
        elif log.flush:
            self._delay = min(self._delay, log.flush / 1000)

    def write(self, line: bytes) -> bool:
        if self._fd < 0:
            return True  # closed with the service; a connection closing after it has nothing to log to
        self._buffer.append(line)
        self._size += len(line)
        if self._size >= self._limit:
            self.flush()
        elif self._timer is None:
            delay = self._delay
            self._timer = (
                self._loop.call_soon(self.flush) if not delay else self._loop.call_later(delay, self.flush)
            )
        return True

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._buffer:
            return
        data = b"".join(self._buffer)
        self._buffer.clear()
        self._size = 0
        try:
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
        except OSError:
            return  # nginx goes on serving when a log cannot be written

    def reopen(self) -> None:
        """Write what is waiting to the file as it was, then open it again by its path (log rotation)."""
        if self._fd < 0:
            return
        self.flush()
        old, self._fd = self._fd, os.open(self.path, _OPEN_FLAGS, 0o644)
        os.close(old)

    def close(self) -> None:
        if self._fd >= 0:
            self.flush()
            os.close(self._fd)
            self._fd = -1


class SyslogLog:
    """An access log sent to syslog: each line at once, as nginx sends it (a syslog log has no buffer)."""

    __slots__ = ("_peer",)

    def __init__(self, peer: SyslogPeer) -> None:
        self._peer = peer

    def write(self, line: bytes) -> bool:
        """False when the datagram could not be sent."""
        return self._peer.send(line[:-1] if line.endswith(b"\n") else line)

    def flush(self) -> None:
        pass  # nothing waits

    def reopen(self) -> None:
        pass  # a socket, not a file: nothing to rotate

    def close(self) -> None:
        self._peer.close()


def line_format(log_format: LogFormat) -> ByteFormat[Exchange] | BoundFormat[Exchange]:
    """A log format made ready (`logformat.ready_format`)."""
    return ready_format(LineFormat(log_format.template, log_format.escape), log_value, resolver)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One `access_log` of a location: where, in which format, and under which condition."""

    file: LogFile | SyslogLog
    format: ByteFormat[Exchange] | BoundFormat[Exchange]
    condition: CompiledTemplate | None

    def write(self, exchange: Exchange) -> None:
        if self.condition is not None:
            value = self.condition.evaluate(exchange)
            if not value or value == "0":
                return
        if not self.file.write(self.format.render_bytes(exchange)):
            exchange.log_request_error(ErrorLevel.WARN, "send() to syslog failed")


class AccessLogFiles:
    """The open log files of a service, by path."""

    __slots__ = ("_files", "_formats", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._files: dict[str, LogFile | SyslogLog] = {}
        self._formats: dict[LogFormat, ByteFormat[Exchange] | BoundFormat[Exchange]] = {}

    def entries(self, logs: tuple[AccessLog, ...]) -> tuple[LogEntry, ...]:
        return tuple(self._entry(log) for log in logs)

    def _entry(self, log: AccessLog) -> LogEntry:
        file = self._files.get(log.path)
        if file is None:
            if log.syslog is not None:
                file = SyslogLog(SyslogPeer(log.syslog))
            else:
                file = LogFile(self._loop, log.path)
            self._files[log.path] = file
        if isinstance(file, LogFile):
            file.adopt(log)
        ready = self._formats.get(log.format)
        if ready is None:
            ready = self._formats[log.format] = line_format(log.format)
        condition = CompiledTemplate(log.condition) if log.condition is not None else None
        return LogEntry(file, ready, condition)

    def flush(self) -> None:
        for file in self._files.values():
            file.flush()

    def reopen(self) -> None:
        """Open every file again by its path (after log rotation: nginx's SIGUSR1)."""
        for file in self._files.values():
            file.reopen()

    def close(self) -> None:
        for file in self._files.values():
            file.close()
        self._files.clear()
