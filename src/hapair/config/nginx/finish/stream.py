"""The end of the `stream` block (the rest of ngx_stream_block): each module's merge in nginx's module
order (core, log, proxy, upstream, access, ssl_preread), the variables, the listening sockets; then the
model."""

from __future__ import annotations

from functools import cmp_to_key

from ..access_fields import SET_REAL_IP_FROM
from ..errors import ConfigError
from ..fields import (
    ACCESS_LOGS,
    ERROR_LOGS,
    RESOLVER,
    RESOLVER_TIMEOUT,
    SSL_CERTIFICATE,
    SSL_CERTIFICATE_KEY,
    STREAM_PROXY_CONNECT_TIMEOUT,
    STREAM_PROXY_TIMEOUT,
)
from ..model.addresses import InetAddress
from ..model.logging import AccessLog
from ..model.resolver import DEFAULT_RESOLVER_TIMEOUT
from ..model.stream import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_PREREAD_BUFFER_SIZE,
    DEFAULT_PREREAD_TIMEOUT,
    DEFAULT_PROXY_PROTOCOL_TIMEOUT,
    StreamConfig,
    StreamListen,
    StreamPreread,
    StreamProxy,
    StreamServer,
    StreamTarget,
)
from ..model.templates import Template
from ..model.tls import ServerTls, UpstreamTls
from ..model.upstream import Upstream
from ..settings import Level
from ..state import Listening, MainState, StreamListenState, StreamServerState, StreamState
from ..stream_fields import (
    NEXT_UPSTREAM,
    NEXT_UPSTREAM_TIMEOUT,
    NEXT_UPSTREAM_TRIES,
    PREREAD_BUFFER_SIZE,
    PREREAD_TIMEOUT,
    PROXY_BIND,
    PROXY_PROTOCOL,
    PROXY_PROTOCOL_TIMEOUT,
    PROXY_REQUESTS,
    PROXY_RESPONSES,
    PROXY_SOCKET_KEEPALIVE,
    PROXY_SSL,
    PROXY_SSL_NAME_TEXT,
    SSL_HANDSHAKE_TIMEOUT,
    SSL_PREREAD,
    TCP_NODELAY,
)
from .access import access_rules
from .health import build_health_checks
from .tls import server_tls, upstream_tls
from .upstreams import build_upstream

DEFAULT_CONNECT_TIMEOUT = 60_000
DEFAULT_PROXY_TIMEOUT = 600_000
_MAX_INT32 = 2**31 - 1


def finish_stream(state: StreamState, main: MainState) -> StreamConfig:
    for server in state.servers:
        if server.proxy_pass is None:
            raise ConfigError.after_reading("no handler for server", server.place)
        _check_udp_proxy_protocol(server)
    upstreams = {id(group): build_upstream(group, main.system) for group in state.upstreams}
    state.variables.check()
    own_sockets = _own_sockets(state.listens)
    main.listening.extend(
        Listening(listen.address, listen.ipv6only, listen.place, listen.udp)
        for listen in state.listens
        if id(listen) in own_sockets
    )
    servers = tuple(_server(server, upstreams, own_sockets, main) for server in state.servers)
    return StreamConfig(
        servers=servers,
        upstreams=tuple(upstreams.values()),
        log_formats=tuple(state.log_formats.values()),
        place=state.place,
        variables=tuple(state.made_variables),
        health_checks=build_health_checks(state.health_checks, state.matches, upstreams, stream=True),
    )


def _check_udp_proxy_protocol(server: StreamServerState) -> None:
    """nginx would put the header in the first datagram to the upstream; hapair does not."""
    found = server.level.find(PROXY_PROTOCOL)
    if found is not None and found.value and any(listen.udp for listen in server.listens):
        raise ConfigError('hapair does not support "proxy_protocol" in a server with "udp"', found.place)


def _server(
    server: StreamServerState, upstreams: dict[int, Upstream], own_sockets: set[int], main: MainState
) -> StreamServer:
    level = server.level
    return StreamServer(
        listens=tuple(_listen(listen, id(listen) in own_sockets) for listen in server.listens),
        proxy=_proxy(server, upstreams, main),
        access_logs=_access_logs(level),
        error_logs=level.value(ERROR_LOGS, ()),
        defined=level.defined(),
        place=server.place,
        access=access_rules(level),
        sets=tuple(server.sets),
        preread=_preread(level),
        tcp_nodelay=level.value(TCP_NODELAY, True),
        proxy_protocol_timeout=level.value(PROXY_PROTOCOL_TIMEOUT, DEFAULT_PROXY_PROTOCOL_TIMEOUT),
        real_ip_from=level.value(SET_REAL_IP_FROM, ()),
        tls=_server_tls(server, main),
        handshake_timeout=level.value(SSL_HANDSHAKE_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT),
    )


def _server_tls(server: StreamServerState, main: MainState) -> ServerTls | None:
    """ngx_stream_ssl_merge_conf: a server with a `listen ... ssl` needs its certificates and keys, then
    they and the rest are checked as in http."""
    listen = server.ssl_listen
    if listen is None:
        return None
    level = server.level
    certificates = level.find(SSL_CERTIFICATE)
    directive = 'the "listen ... ssl" directive'
    if certificates is None:
        raise ConfigError.after_reading(f'no "ssl_certificate" is defined for {directive}', listen)
    keys = level.find(SSL_CERTIFICATE_KEY)
    if keys is None:
        raise ConfigError.after_reading(f'no "ssl_certificate_key" is defined for {directive}', listen)
    if len(keys.value) < len(certificates.value):
        raise ConfigError.after_reading(
            f'no "ssl_certificate_key" is defined for certificate "{certificates.value[-1]}" and {directive}',
            listen,
        )
    tls = server_tls(level, main.paths, stream=True)
    assert tls is not None
    return tls


def _upstream_tls(level: Level, main: MainState) -> UpstreamTls | None:
    """`proxy_ssl on`: the proxy module's TLS settings, checked as nginx's ngx_stream_proxy_set_ssl."""
    if not level.value(PROXY_SSL, False):
        return None
    return upstream_tls(level, main.paths, checked=True)


def _proxy(server: StreamServerState, upstreams: dict[int, Upstream], main: MainState) -> StreamProxy:
    proxy_pass = server.proxy_pass
    assert proxy_pass is not None
    level = server.level
    target = None
    if isinstance(proxy_pass.value, Template):
        target = StreamTarget(
            proxy_pass.value,
            level.value(RESOLVER, None),
            level.value(RESOLVER_TIMEOUT, DEFAULT_RESOLVER_TIMEOUT),
        )
    return StreamProxy(
        upstream=None if target is not None else upstreams[id(proxy_pass.value)],
        connect_timeout=level.value(STREAM_PROXY_CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT),
        timeout=level.value(STREAM_PROXY_TIMEOUT, DEFAULT_PROXY_TIMEOUT),
        place=proxy_pass.place,
        target=target,
        next_upstream=level.value(NEXT_UPSTREAM, True),
        next_upstream_tries=level.value(NEXT_UPSTREAM_TRIES, 0),
        next_upstream_timeout=level.value(NEXT_UPSTREAM_TIMEOUT, 0),
        responses=_responses(level),
        requests=level.value(PROXY_REQUESTS, 0),
        proxy_protocol=level.value(PROXY_PROTOCOL, False),
        tls=_upstream_tls(level, main),
        ssl_name=level.value(PROXY_SSL_NAME_TEXT, None),
        local=level.value(PROXY_BIND, None),
        socket_keepalive=level.value(PROXY_SOCKET_KEEPALIVE, False),
    )


def _responses(level: Level) -> int | None:
    """`proxy_responses`: nginx's unset value (NGX_MAX_INT32_VALUE), given or not, waits for proxy_timeout."""
    responses = level.value(PROXY_RESPONSES, None)
    return None if responses is None or responses >= _MAX_INT32 else responses


def _preread(level: Level) -> StreamPreread | None:
    """The preread phase's settings, when ssl_preread is on (its only handler in hapair)."""
    if not level.value(SSL_PREREAD, False):
        return None
    return StreamPreread(
        level.value(PREREAD_BUFFER_SIZE, DEFAULT_PREREAD_BUFFER_SIZE),
        level.value(PREREAD_TIMEOUT, DEFAULT_PREREAD_TIMEOUT),
    )


def _access_logs(level: Level) -> tuple[AccessLog, ...]:
    """The nearest `access_log`; stream has no default log."""
    found = level.find(ACCESS_LOGS)
    if found is None or found.value.off:
        return ()
    return found.value.logs


def _compare(first: StreamListenState, second: StreamListenState) -> int:
    """ngx_stream_cmp_conf_addrs: the wildcard last, addresses with `bind` first."""
    if first.address.wildcard:
        return 1
    if second.address.wildcard:
        return -1
    if first.bind != second.bind:
        return -1 if first.bind else 1
    return 0


def _own_sockets(listens: list[StreamListenState]) -> set[int]:
    """The listens that get a socket (ngx_stream_optimize_servers): on a port (of one socket type) with a
    wildcard address, the wildcard and the addresses with `bind`; elsewhere all."""
    ports: dict[tuple[int, int, bool], list[StreamListenState]] = {}
    for listen in listens:
        port = listen.address.port if isinstance(listen.address, InetAddress) else 0
        ports.setdefault((listen.address.family, port, listen.udp), []).append(listen)
    own: set[int] = set()
    for group in ports.values():
        ordered = sorted(group, key=cmp_to_key(_compare))
        wildcard = ordered[-1].address.wildcard
        own.update(id(listen) for listen in ordered if not wildcard or listen.bind or listen is ordered[-1])
    return own


def _listen(listen: StreamListenState, own_socket: bool) -> StreamListen:
    return StreamListen(
        address=listen.address,
        reuseport=listen.reuseport,
        backlog=listen.backlog,
        bind=listen.bind,
        ipv6only=listen.ipv6only,
        own_socket=own_socket,
        place=listen.place,
        udp=listen.udp,
        proxy_protocol=listen.proxy_protocol,
        socket=listen.socket,
        ssl=listen.ssl,
    )
