"""The `stream` block: TCP servers relaying connections to upstream groups (times in milliseconds)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .addresses import SocketAddress
from .logging import AccessLog, ErrorLog, LogFormat
from .place import Place
from .upstream import Upstream


@dataclass(frozen=True, slots=True)
class StreamListen:
    address: SocketAddress
    reuseport: bool
    backlog: int
    bind: bool
    ipv6only: bool
    own_socket: bool  # False: served by the wildcard socket of the same port (no `bind`)
    place: Place


@dataclass(frozen=True, slots=True)
class StreamProxy:
    upstream: Upstream
    connect_timeout: int
    timeout: int  # between two successive reads or writes, either side
    place: Place  # the `proxy_pass`


@dataclass(frozen=True, slots=True)
class StreamServer:
    listens: tuple[StreamListen, ...]
    proxy: StreamProxy
    access_logs: tuple[AccessLog, ...]  # empty: none (stream has no default access log)
    error_logs: tuple[ErrorLog, ...]  # empty: the main context's (NginxConfig.error_logs)
    defined: Mapping[str, Place]
    place: Place


@dataclass(frozen=True, slots=True)
class StreamConfig:
    servers: tuple[StreamServer, ...]
    upstreams: tuple[Upstream, ...]
    log_formats: tuple[LogFormat, ...]
    place: Place
