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

from ..logformat import BoundFormat, LineFormat
from ..syslog import SyslogPeer
from .variables import ByteValue, CompiledTemplate, log_value, resolver

if TYPE_CHECKING:
    from .exchange import Exchange

_MIN_BUFFER: Final = 64 * 1024
_OPEN_FLAGS: Final = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_MAX_DELAY: Final = 1.0
# a byte that needs no escape becomes a space, any other an `x`: a value needs none when its translation
# is all spaces (two C loops over it, where testing each byte in a set looks each one up)
_PLAIN_AS_SPACE: Final = bytes(
    0x20 if 0x20 <= code < 0x7F and code not in b'"\\' else 0x78 for code in range(256)
)


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


class ByteFormat:
    """A log format rendered straight into bytes from an exchange (`LineFormat.render_bytes`' line): its
    literal texts encoded once, its variables' values as bytes (`variables.ByteValue`)."""

    __slots__ = ("_escape", "_missing", "_parts")

    def __init__(self, line_format: LineFormat) -> None:
        """Raises UnicodeEncodeError for a literal text that is not one byte per character."""
        self._escape = line_format.escape
        self._missing = line_format.missing.encode("latin-1")
        self._parts: tuple[bytes | ByteValue, ...] = tuple(
            log_value(text) if is_variable else text.encode("latin-1")
            for is_variable, text in line_format.parts
        )

    def render_bytes(self, ex: Exchange) -> bytes:
        """The line and its newline. The values are escaped one by one only when one of them needs it:
        whether any does is found in one pass over those that may."""
        out: list[bytes] = []
        unsure: list[bytes] = []  # the values that may need escaping
        missing = self._missing
        for part in self._parts:
            if isinstance(part, bytes):
                out.append(part)
                continue
            value = part.of(ex)
            if value is None:
                out.append(missing)
                continue
            if not part.plain:
                unsure.append(value)
            out.append(value)
        if unsure and not _plain(unsure[0] if len(unsure) == 1 else b"".join(unsure)):
            self._escape_values(out)
        out.append(b"\n")
        return b"".join(out)

    def _escape_values(self, out: list[bytes]) -> None:
        """Each variable's place in `out` escaped (a missing value's stand-in is the same escaped)."""
        escape = self._escape
        for index, part in enumerate(self._parts):
            if not isinstance(part, bytes):
                out[index] = escape(out[index].decode("latin-1")).encode("latin-1")


def _plain(value: bytes) -> bool:
    """Whether the default escape leaves `value` as it is (printable ASCII but `"` and `\\`)."""
    return not value or value.translate(_PLAIN_AS_SPACE).isspace()


def line_format(log_format: LogFormat) -> ByteFormat | BoundFormat[Exchange]:
    """A log format made ready: into bytes, or through text where a literal text of it is not a byte per
    character (that line's encoding fails as it did)."""
    text_format = LineFormat(log_format.template, log_format.escape)
    try:
        return ByteFormat(text_format)
    except UnicodeEncodeError:
        return text_format.bind(resolver)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One `access_log` of a location: where, in which format, and under which condition."""

    file: LogFile | SyslogLog
    format: ByteFormat | BoundFormat[Exchange]
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
        self._formats: dict[LogFormat, ByteFormat | BoundFormat[Exchange]] = {}

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
