"""Access log lines of the stream module (pure but for `balancing_key`'s host name and pid): the record
a finished session leaves, and the values of the stream variables taken from it, formatted as
ngx_stream_variables.c and ngx_stream_upstream.c print them ($session_time `1.234`, $status `200`,
$upstream_addr `a, b` with one entry per upstream tried and the upstream's name for a try that found no
live peer, `-` for a time never reached); and `balancing_key`, a `hash` key's value for a session.

Escaping and the rest of the line are `hapair.proxy.logformat`'s (shared with the http access log): a
variable without a value (the upstream ones before any try) is written `-` (nothing with `escape=json`).
Values are Latin-1 strings, one character per byte, as that module expects.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hapair.config.nginx.model.logging import LogEscape, LogFormat
from hapair.config.nginx.model.templates import Literal, Template, Variable
from hapair.proxy.logformat import LineFormat

NGINX_VERSION = "1.22.1"  # the nginx whose behaviour hapair follows
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(slots=True)
class UpstreamAttempt:
    """One upstream tried by a session (ngx_stream_upstream_state_t); times in milliseconds, None: `-`."""

    address: str  # the peer's address, or the upstream's name when no peer was live
    connect_ms: int | None = None
    first_byte_ms: int | None = None
    session_ms: int | None = None
    bytes_sent: int = 0
    bytes_received: int = 0


@dataclass(slots=True)
class SessionRecord:
    """What a finished session leaves for its log line. Addresses are already text as nginx prints them
    (no port, IPv6 without brackets); `remote_binary` is the packed address."""

    connection: int
    remote_addr: str
    remote_port: str
    remote_binary: bytes
    server_addr: str
    server_port: str
    status: int
    bytes_sent: int  # to the client
    bytes_received: int  # from the client
    session_ms: int
    logged_at: float  # wall-clock seconds when the session ended
    upstreams: list[UpstreamAttempt] = field(default_factory=list)


Getter = Callable[[SessionRecord], str | None]


def _seconds(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


def _each(render: Callable[[UpstreamAttempt], str]) -> Getter:
    def value(record: SessionRecord) -> str | None:
        if not record.upstreams:
            return None
        return ", ".join(render(attempt) for attempt in record.upstreams)

    return value


def _time(ms: int | None) -> str:
    return "-" if ms is None else _seconds(max(ms, 0))


def _offset(tm: time.struct_time, separator: str) -> str:
    minutes = tm.tm_gmtoff // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{separator}{abs(minutes) % 60:02d}"


def time_local(seconds: float) -> str:
    """`28/Sep/1970:12:00:00 +0600`, months in English whatever the locale."""
    tm = time.localtime(seconds)
    return (
        f"{tm.tm_mday:02d}/{_MONTHS[tm.tm_mon - 1]}/{tm.tm_year}:"
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} {_offset(tm, '')}"
    )


def time_iso8601(seconds: float) -> str:
    """`1970-09-28T12:00:00+06:00`."""
    tm = time.localtime(seconds)
    return (
        f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T"
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}{_offset(tm, ':')}"
    )


def _variables(hostname: str, pid: int) -> dict[str, Getter]:
    host = hostname.encode().decode("latin-1")
    process = str(pid)
    return {
        "binary_remote_addr": lambda r: r.remote_binary.decode("latin-1"),
        "bytes_received": lambda r: str(r.bytes_received),
        "bytes_sent": lambda r: str(r.bytes_sent),
        "connection": lambda r: str(r.connection),
        "hostname": lambda r: host,
        "msec": lambda r: f"{int(r.logged_at)}.{int(r.logged_at * 1000) % 1000:03d}",
        "nginx_version": lambda r: NGINX_VERSION,
        "pid": lambda r: process,
        "protocol": lambda r: "TCP",
        "remote_addr": lambda r: r.remote_addr,
        "remote_port": lambda r: r.remote_port,
        "server_addr": lambda r: r.server_addr,
        "server_port": lambda r: r.server_port,
        "session_time": lambda r: _seconds(max(r.session_ms, 0)),
        "status": lambda r: f"{r.status:03d}",
        "time_iso8601": lambda r: time_iso8601(r.logged_at),
        "time_local": lambda r: time_local(r.logged_at),
        "upstream_addr": _each(lambda a: a.address),
        "upstream_bytes_received": _each(lambda a: str(a.bytes_received)),
        "upstream_bytes_sent": _each(lambda a: str(a.bytes_sent)),
        "upstream_connect_time": _each(lambda a: _time(a.connect_ms)),
        "upstream_first_byte_time": _each(lambda a: _time(a.first_byte_ms)),
        "upstream_session_time": _each(lambda a: _time(a.session_ms)),
    }


class StreamLogLine:
    """A stream `log_format` ready to turn session records into lines (ending in a newline)."""

    __slots__ = ("_format", "_variables")

    def __init__(self, log_format: LogFormat, *, hostname: str, pid: int) -> None:
        self._format = LineFormat(log_format.template, log_format.escape)
        self._variables = _variables(hostname, pid)

    def line(self, record: SessionRecord) -> bytes:
        variables = self._variables
        return self._format.render_bytes(lambda name: variables[name](record))


class StreamCondition:
    """An `access_log ... if=` value: the line is written unless it evaluates to "" or "0"."""

    __slots__ = ("_format", "_variables")

    def __init__(self, template: Template, *, hostname: str, pid: int) -> None:
        self._format = LineFormat(template, LogEscape.NONE)
        self._variables = _variables(hostname, pid)

    def holds(self, record: SessionRecord) -> bool:
        variables = self._variables
        return self._format.render(lambda name: variables[name](record)) not in ("", "0")


@functools.cache
def _process_variables(pid: int) -> dict[str, Getter]:
    return _variables(socket.gethostname(), pid)


def balancing_key(template: Template, record: SessionRecord) -> bytes:
    """A `hash` key's value for a session about to connect (`record` as it stands then), as the bytes
    nginx hashes: literal text in UTF-8, values one byte per character, a variable without a value and a
    capture (stream has no regular expressions here) as nothing."""
    variables = _process_variables(os.getpid())
    out: list[bytes] = []
    for part in template.parts:
        if isinstance(part, Literal):
            out.append(part.text.encode("utf-8", "surrogateescape"))
        elif isinstance(part, Variable):
            value = variables[part.name](record)
            if value is not None:
                out.append(value.encode("latin-1", "replace"))
    return b"".join(out)
