"""The `stream` block: TCP and UDP servers relaying sessions to upstream groups (times in milliseconds)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .access import AccessRules, Cidr
from .addresses import SocketAddress
from .health import HealthCheck
from .logging import AccessLog, ErrorLog, LogFormat
from .place import Place
from .resolver import DEFAULT_RESOLVER_TIMEOUT, Resolver
from .rewrite import SetVariable
from .sockets import NO_OPTIONS, LocalAddress, SocketOptions
from .templates import Template
from .tls import ServerTls, UpstreamTls
from .upstream import Upstream
from .variables import MadeVariable

DEFAULT_PREREAD_BUFFER_SIZE = 16384
DEFAULT_PREREAD_TIMEOUT = 30_000
DEFAULT_PROXY_PROTOCOL_TIMEOUT = 30_000
DEFAULT_HANDSHAKE_TIMEOUT = 60_000


@dataclass(frozen=True, slots=True)
class StreamListen:
    address: SocketAddress
    reuseport: bool
    backlog: int
    bind: bool
    ipv6only: bool
    own_socket: bool  # False: served by the wildcard socket of the same port (no `bind`)
    place: Place
    udp: bool = False  # a datagram socket: each client address is a session
    proxy_protocol: bool = False  # connections start with a PROXY protocol header
    socket: SocketOptions = NO_OPTIONS
    ssl: bool = False  # connections begin with a TLS handshake (the server's `tls`)


@dataclass(frozen=True, slots=True)
class StreamTarget:
    """`proxy_pass` with variables: the value, made per session, names an `upstream` group or is an
    address (`host:port`, a name the `resolver` resolves, `unix:path`)."""

    value: Template
    resolver: Resolver | None  # None: a name cannot be resolved ("no resolver defined")
    resolver_timeout: int = DEFAULT_RESOLVER_TIMEOUT


@dataclass(frozen=True, slots=True)
class StreamProxy:
    upstream: Upstream | None  # None: `target` gives it per session
    connect_timeout: int
    timeout: int  # between two successive reads or writes, either side
    place: Place  # the `proxy_pass`
    target: StreamTarget | None = None
    next_upstream: bool = True  # a failed connection tries the next peer
    next_upstream_tries: int = 0  # 0: as many as the group has peers
    next_upstream_timeout: int = 0  # 0: no limit
    responses: int | None = None  # `proxy_responses` (UDP): None, as many as come until `timeout`
    requests: int = 0  # `proxy_requests` (UDP): datagrams a session takes before the next one starts; 0: all
    proxy_protocol: bool = False  # `proxy_protocol on`: a PROXY protocol (v1) header first to the upstream
    tls: UpstreamTls | None = None  # `proxy_ssl on`
    ssl_name: str | None = None  # `proxy_ssl_name`; None: the upstream's host name
    local: LocalAddress | None = None  # `proxy_bind`
    socket_keepalive: bool = False  # `proxy_socket_keepalive`: SO_KEEPALIVE on upstream connections


@dataclass(frozen=True, slots=True)
class StreamPreread:
    """`ssl_preread on`, and the core's preread phase settings it uses."""

    buffer_size: int = DEFAULT_PREREAD_BUFFER_SIZE  # preread_buffer_size
    timeout: int = DEFAULT_PREREAD_TIMEOUT  # preread_timeout


@dataclass(frozen=True, slots=True)
class StreamServer:
    listens: tuple[StreamListen, ...]
    proxy: StreamProxy
    access_logs: tuple[AccessLog, ...]  # empty: none (stream has no default access log)
    error_logs: tuple[ErrorLog, ...]  # empty: the main context's (NginxConfig.error_logs)
    defined: Mapping[str, Place]
    place: Place
    access: AccessRules | None = None  # `allow` and `deny`
    sets: tuple[SetVariable, ...] = ()  # `set`, in order
    preread: StreamPreread | None = None  # None: `ssl_preread off`
    tcp_nodelay: bool = True
    proxy_protocol_timeout: int = DEFAULT_PROXY_PROTOCOL_TIMEOUT  # a listen's PROXY protocol header within it
    real_ip_from: tuple[Cidr, ...] = ()  # `set_real_ip_from`: whose PROXY protocol address is the client's
    tls: ServerTls | None = None  # for its `listen ... ssl` addresses
    handshake_timeout: int = DEFAULT_HANDSHAKE_TIMEOUT


@dataclass(frozen=True, slots=True)
class StreamConfig:
    servers: tuple[StreamServer, ...]
    upstreams: tuple[Upstream, ...]
    log_formats: tuple[LogFormat, ...]
    place: Place
    variables: tuple[MadeVariable, ...] = ()  # `map`, `split_clients`, in order
    health_checks: tuple[HealthCheck, ...] = ()  # `health_check` lines (hapair's extension), in order
