"""The stream variables: one system for what a session evaluates while it runs (`set`, a `map`, `proxy_pass`
with variables, a `hash` key) and for its access log lines.

The built-in values are nginx's (ngx_stream_variables.c, ngx_stream_upstream.c,
ngx_stream_ssl_preread_module.c), printed as nginx prints them: $session_time `1.234`, $status `200`,
$upstream_addr `a, b` with one entry per upstream tried and the upstream's name for a try that found no
live peer, `-` for a time never reached. A value is None where nginx's variable is "not found" (the
upstream ones before any try, the ssl_preread ones when nothing was preread or it was no ClientHello nginx
reads), which an access log writes `-`. The variables the configuration makes (`map`, `split_clients`,
`set`, named groups of a map's regular expressions) come after them.

What a session has once evaluated is kept for the rest of it in `SessionView.values`, as nginx keeps its
indexed variables: a `map` (unless `volatile`) and `split_clients`, `set`, and the built-ins nginx caches
whose value can change while the session runs ($bytes_sent, $bytes_received, the ssl_preread ones): a
`set $x $ssl_preread_server_name`, which runs before the preread phase, leaves the server name "not
found" for the rest of the session, in nginx and in hapair. The session makes `values` a dict when its
server evaluates something before its log lines; otherwise nothing is kept, as nothing could change.

Values are Latin-1 strings, one character per byte.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Protocol

from hapair.config.nginx.model.templates import Literal, Template
from hapair.config.nginx.model.variables import MadeVariable, Map, SplitClients
from hapair.proxy.http.split_clients import murmur_hash2
from hapair.proxy.logformat import ByteValue, TextValue
from hapair.proxy.proxy_protocol import ProxyAddresses
from hapair.proxy.script import MapLookup, ValueTemplate, split_value

from .clienthello import Hello
from .tls import tls_variables

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


class SessionView(Protocol):
    """What the variables read of a session. Addresses are text as nginx prints them (no port, IPv6
    without brackets); `binary_remote_addr` is the packed address, one character per byte."""

    connection: int
    protocol: str  # TCP or UDP
    status: int
    values: dict[str, str | None] | None  # what the session keeps (see the module's documentation)
    match: re.Match[str] | None  # the last map regular expression that matched: $1...
    proxy_header: ProxyAddresses | None  # what a PROXY protocol header said; None: no header, or UNKNOWN
    tls: dict[str, str | None] | None  # the `$ssl_*` values of the client's TLS connection, if any

    @property
    def attempts(self) -> list[UpstreamAttempt]: ...
    @property
    def hello(self) -> Hello | None:
        """What ssl_preread read; None: nothing, or no ClientHello nginx reads."""

    @property
    def remote_addr(self) -> str: ...
    @property
    def remote_port(self) -> str: ...
    @property
    def binary_remote_addr(self) -> str: ...
    @property
    def realip_remote_addr(self) -> str:
        """The connection's own address, whatever realip made `remote_addr`."""

    @property
    def realip_remote_port(self) -> str: ...
    @property
    def server_addr(self) -> str: ...
    @property
    def server_port(self) -> str: ...
    @property
    def bytes_sent(self) -> int:
        """To the client."""

    @property
    def bytes_received(self) -> int:
        """From the client, in the proxying phase (nginx does not count what was preread)."""

    def session_ms(self) -> int: ...

    def wall_time(self) -> float:
        """Now, or when the session ended."""


Getter = Callable[[SessionView], str | None]
StreamTemplate = ValueTemplate[SessionView]


def _seconds(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


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


# the texts of the current second, made once for all the lines written in it (as nginx's cached times)
_local_of_second = lru_cache(maxsize=4)(time_local)
_iso8601_of_second = lru_cache(maxsize=4)(time_iso8601)


def _msec(seconds: float) -> str:
    return f"{int(seconds)}.{int(seconds * 1000) % 1000:03d}"


def _each(render: Callable[[UpstreamAttempt], str]) -> Getter:
    def value(session: SessionView) -> str | None:
        if not session.attempts:
            return None
        return ", ".join(render(attempt) for attempt in session.attempts)

    return value


def _preread(read: Callable[[Hello], str]) -> Getter:
    def value(session: SessionView) -> str | None:
        hello = session.hello
        return None if hello is None else read(hello)

    return value


def _proxied(read: Callable[[ProxyAddresses], str]) -> Getter:
    def value(session: SessionView) -> str | None:
        header = session.proxy_header
        return None if header is None else read(header)

    return value


def _port(port: int) -> str:
    """nginx prints no port 0."""
    return str(port) if port else ""


def _text(data: bytes | bytearray | None) -> str:
    return "" if data is None else data.decode("latin-1")


# values that do not change while a session runs, or that nginx evaluates again at each use
_PLAIN: dict[str, Getter] = {
    "binary_remote_addr": lambda s: s.binary_remote_addr,
    "connection": lambda s: str(s.connection),
    "msec": lambda s: _msec(s.wall_time()),
    "nginx_version": lambda s: NGINX_VERSION,
    "protocol": lambda s: s.protocol,
    "proxy_protocol_addr": _proxied(lambda header: header.source),
    "proxy_protocol_port": _proxied(lambda header: _port(header.source_port)),
    "proxy_protocol_server_addr": _proxied(lambda header: header.destination),
    "proxy_protocol_server_port": _proxied(lambda header: _port(header.destination_port)),
    "realip_remote_addr": lambda s: s.realip_remote_addr,
    "realip_remote_port": lambda s: s.realip_remote_port,
    "remote_addr": lambda s: s.remote_addr,
    "remote_port": lambda s: s.remote_port,
    "server_addr": lambda s: s.server_addr,
    "server_port": lambda s: s.server_port,
    "session_time": lambda s: _seconds(max(s.session_ms(), 0)),
    "status": lambda s: f"{s.status:03d}",
    "time_iso8601": lambda s: _iso8601_of_second(int(s.wall_time())),
    "time_local": lambda s: _local_of_second(int(s.wall_time())),
    "upstream_addr": _each(lambda a: a.address),
    "upstream_bytes_received": _each(lambda a: str(a.bytes_received)),
    "upstream_bytes_sent": _each(lambda a: str(a.bytes_sent)),
    "upstream_connect_time": _each(lambda a: _time(a.connect_ms)),
    "upstream_first_byte_time": _each(lambda a: _time(a.first_byte_ms)),
    "upstream_session_time": _each(lambda a: _time(a.session_ms)),
}
# values nginx keeps once evaluated, which can change while the session runs
_KEPT: dict[str, Getter] = {
    "bytes_received": lambda s: str(s.bytes_received),
    "bytes_sent": lambda s: str(s.bytes_sent),
    "ssl_preread_alpn_protocols": _preread(lambda hello: _text(hello.alpn)),
    "ssl_preread_protocol": _preread(lambda hello: hello.protocol),
    "ssl_preread_server_name": _preread(lambda hello: _text(hello.server_name)),
}


def _kept(name: str, getter: Getter) -> Getter:
    def value(session: SessionView) -> str | None:
        values = session.values
        if values is None:
            return getter(session)
        if name in values:
            return values[name]
        found = values[name] = getter(session)
        return found

    return value


def _keep(session: SessionView, name: str, value: str | None) -> None:
    if session.values is None:
        session.values = {}
    session.values[name] = value


class SessionBytes(ByteValue[SessionView]):
    """A variable's value from a session as the bytes an access log line writes: the common variables'
    classes make them with no text formatted and encoded again (`logformat.ByteValue`)."""


_MILLIS: Final = tuple(b"%03d" % ms for ms in range(1000))  # a time's milliseconds as written
_STATUS_TEXTS: Final[dict[int, bytes]] = {}  # $status of each status met


class _Status(SessionBytes):
    plain = True

    def of(self, session: SessionView) -> bytes | None:
        status = session.status
        text = _STATUS_TEXTS.get(status)
        if text is None:
            text = _STATUS_TEXTS[status] = b"%03d" % status
        return text


class _SessionTime(SessionBytes):
    plain = True

    def of(self, session: SessionView) -> bytes | None:
        ms = max(session.session_ms(), 0)
        return str(ms // 1000).encode("latin-1") + b"." + _MILLIS[ms % 1000]


class _TimeLocal(SessionBytes):
    """$time_local, made again when the second changes."""

    plain = True

    def __init__(self) -> None:
        self._second = -1
        self._text = b""

    def of(self, session: SessionView) -> bytes | None:
        second = int(session.wall_time())
        if second != self._second:
            self._text = time_local(second).encode("latin-1")
            self._second = second
        return self._text


class _Kept(SessionBytes):
    """$bytes_sent, $bytes_received: a count, or what the session keeps of it once evaluated (see the
    module's documentation)."""

    plain = True

    def __init__(self, kept: Getter) -> None:
        self._kept = kept

    def of(self, session: SessionView) -> bytes | None:
        if session.values is not None:
            value = self._kept(session)
            return None if value is None else value.encode("latin-1")
        return str(self._count(session)).encode("latin-1")

    def _count(self, session: SessionView) -> int:
        raise NotImplementedError


class _BytesSent(_Kept):
    def _count(self, session: SessionView) -> int:
        return session.bytes_sent


class _BytesReceived(_Kept):
    def _count(self, session: SessionView) -> int:
        return session.bytes_received


class _RemoteAddr(SessionBytes):
    plain = True  # an address's text: digits, hexadecimal digits, dots and colons, or `unix:`

    def of(self, session: SessionView) -> bytes | None:
        return session.remote_addr.encode("latin-1")


class _RemotePort(SessionBytes):
    plain = True

    def of(self, session: SessionView) -> bytes | None:
        return session.remote_port.encode("latin-1")


class _ServerAddr(SessionBytes):
    plain = True  # an address's text: digits, hexadecimal digits, dots and colons, or `unix:`

    def of(self, session: SessionView) -> bytes | None:
        return session.server_addr.encode("latin-1")


class _ServerPort(SessionBytes):
    plain = True

    def of(self, session: SessionView) -> bytes | None:
        return session.server_port.encode("latin-1")


class _Protocol(SessionBytes):
    plain = True

    def of(self, session: SessionView) -> bytes | None:
        return session.protocol.encode("latin-1")


class _Connection(SessionBytes):
    plain = True

    def of(self, session: SessionView) -> bytes | None:
        return str(session.connection).encode("latin-1")


_SESSION_BYTES: Final[dict[str, Callable[[], SessionBytes]]] = {
    "status": _Status,
    "session_time": _SessionTime,
    "time_local": _TimeLocal,
    "remote_addr": _RemoteAddr,
    "remote_port": _RemotePort,
    "server_addr": _ServerAddr,
    "server_port": _ServerPort,
    "protocol": _Protocol,
    "connection": _Connection,
}
_KEPT_BYTES: Final[dict[str, Callable[[Getter], _Kept]]] = {
    "bytes_sent": _BytesSent,
    "bytes_received": _BytesReceived,
}


class StreamVariables:
    """The variables of one configuration's stream servers in one process: `getter(name)` and
    `template(t)` for the data plane, each name resolved once."""

    def __init__(
        self,
        made: Iterable[MadeVariable] = (),
        set_names: Iterable[str] = (),
        *,
        hostname: str | None = None,
        pid: int | None = None,
    ) -> None:
        host = (hostname if hostname is not None else socket.gethostname()).encode().decode("latin-1")
        process = str(pid if pid is not None else os.getpid())
        self._getters: dict[str, Getter] = {
            **_PLAIN,
            "hostname": lambda s: host,
            "pid": lambda s: process,
            **{name: _kept(name, getter) for name, getter in _KEPT.items()},
            **tls_variables(),
        }
        self._set_names = frozenset(set_names)
        self._makers: dict[str, Getter] = {}
        for variable in made:  # a later block making a name replaces an earlier one, as in nginx
            self._makers[variable.variable] = (
                self._map(variable) if isinstance(variable, Map) else self._split(variable)
            )

    def getter(self, name: str) -> Getter:
        found = self._getters.get(name)
        if found is None:
            found = self._getters[name] = self._configured(name)
        return found

    def template(self, template: Template) -> StreamTemplate:
        return ValueTemplate(template, self.getter)

    def log_value(self, name: str) -> ByteValue[SessionView]:
        """What an access log line writes of variable `name`."""
        make = _SESSION_BYTES.get(name)
        if make is not None:
            return make()
        kept = _KEPT_BYTES.get(name)
        if kept is not None:
            return kept(self.getter(name))
        return TextValue(self.getter(name))

    def _configured(self, name: str) -> Getter:
        """A variable the configuration makes: what the session keeps of it, else its maker's value; a
        variable only `set` makes is "" until set (ngx_stream_set_var), a named group "not found"."""
        makers = self._makers
        missing = "" if name in self._set_names else None

        def value(session: SessionView) -> str | None:
            values = session.values
            if values is not None and name in values:
                return values[name]
            maker = makers.get(name)
            return missing if maker is None else maker(session)

        return value

    def _map(self, made: Map) -> Getter:
        source = self.template(made.source)
        lookup = MapLookup(made, self.template)
        name, volatile = made.variable, made.volatile

        def value(session: SessionView) -> str | None:
            chosen, match = lookup.find(source.evaluate(session))
            if match is not None:
                session.match = match
                for group, text in match.groupdict(default="").items():
                    _keep(session, group.lower(), text)
            result = chosen.evaluate(session)
            if not volatile:
                _keep(session, name, result)
            return result

        return value

    def _split(self, made: SplitClients) -> Getter:
        source = self.template(made.source)

        def value(session: SessionView) -> str | None:
            result = split_value(made, murmur_hash2(_key_bytes(source.evaluate(session))))
            _keep(session, made.variable, result)
            return result

        return value


def _key_bytes(text: str) -> bytes:
    """A value as the bytes nginx hashes: one byte per character; a value not from the wire ($hostname)
    as its UTF-8 bytes."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


def wire_template(template: Template) -> Template:
    """A template whose literal text is the bytes nginx hashes (UTF-8), one character each."""
    parts = tuple(
        Literal(part.text.encode("utf-8", "surrogateescape").decode("latin-1"))
        if isinstance(part, Literal)
        else part
        for part in template.parts
    )
    return Template(template.source, parts)


class BalancingKey:
    """A `hash` key made ready: its value for a session about to connect, as the bytes nginx hashes."""

    __slots__ = ("_template",)

    def __init__(self, key: Template, variables: StreamVariables) -> None:
        self._template = variables.template(wire_template(key))

    def __call__(self, session: SessionView) -> bytes:
        return _key_bytes(self._template.evaluate(session))
