"""The end of the `stream` block (the rest of ngx_stream_block): each module's merge in nginx's module
order (core, log, proxy, upstream), the variables, the listening sockets; then the model."""

from __future__ import annotations

from functools import cmp_to_key

from ..errors import ConfigError
from ..fields import ACCESS_LOGS, ERROR_LOGS, STREAM_PROXY_CONNECT_TIMEOUT, STREAM_PROXY_TIMEOUT
from ..model.addresses import InetAddress
from ..model.logging import AccessLog
from ..model.stream import StreamConfig, StreamListen, StreamProxy, StreamServer
from ..model.upstream import Upstream
from ..settings import Level
from ..state import Listening, MainState, StreamListenState, StreamServerState, StreamState
from .upstreams import build_upstream

DEFAULT_CONNECT_TIMEOUT = 60_000
DEFAULT_PROXY_TIMEOUT = 600_000


def finish_stream(state: StreamState, main: MainState) -> StreamConfig:
    for server in state.servers:
        if server.proxy_pass is None:
            raise ConfigError.after_reading("no handler for server", server.place)
    upstreams = {id(group): build_upstream(group, main.system) for group in state.upstreams}
    state.variables.check()
    own_sockets = _own_sockets(state.listens)
    main.listening.extend(
        Listening(listen.address, listen.ipv6only, listen.place)
        for listen in state.listens
        if id(listen) in own_sockets
    )
    servers = tuple(_server(server, upstreams, own_sockets) for server in state.servers)
    return StreamConfig(
        servers=servers,
        upstreams=tuple(upstreams.values()),
        log_formats=tuple(state.log_formats.values()),
        place=state.place,
    )


def _server(server: StreamServerState, upstreams: dict[int, Upstream], own_sockets: set[int]) -> StreamServer:
    proxy_pass = server.proxy_pass
    assert proxy_pass is not None
    level = server.level
    return StreamServer(
        listens=tuple(_listen(listen, id(listen) in own_sockets) for listen in server.listens),
        proxy=StreamProxy(
            upstream=upstreams[id(proxy_pass.value)],
            connect_timeout=level.value(STREAM_PROXY_CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT),
            timeout=level.value(STREAM_PROXY_TIMEOUT, DEFAULT_PROXY_TIMEOUT),
            place=proxy_pass.place,
        ),
        access_logs=_access_logs(level),
        error_logs=level.value(ERROR_LOGS, ()),
        defined=level.defined(),
        place=server.place,
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
    """The listens that get a socket (ngx_stream_optimize_servers): on a port with a wildcard address,
    the wildcard and the addresses with `bind`; elsewhere all."""
    ports: dict[tuple[int, int], list[StreamListenState]] = {}
    for listen in listens:
        port = listen.address.port if isinstance(listen.address, InetAddress) else 0
        ports.setdefault((listen.address.family, port), []).append(listen)
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
    )
