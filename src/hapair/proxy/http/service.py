"""The HTTP service of one worker process: listeners started from the model's `Listener`s, and what
their connections share (balancers, the upstream connection pool, TLS contexts, log files, the clock).

Everything a location needs per request is made once, when the service starts: a `Route` per location
(and one per server for requests no location matches, served with the server's settings).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from hapair.config.nginx.model.addresses import InetAddress, UnixAddress
from hapair.config.nginx.model.config import ThreadPool as ThreadPoolSpec
from hapair.config.nginx.model.http import (
    HttpConfig,
    Listener,
    Location,
    LocationMatch,
    ProxyPass,
    ProxyPassTemplate,
    Server,
    Settings,
)
from hapair.config.nginx.model.logging import ErrorLevel
from hapair.config.nginx.model.upstream import Upstream
from hapair.proxy.balancer import Balancer, Peer
from hapair.proxy.resolver import NameResolver

from ..admission import Admission, Drain
from ..errorlog import ErrorLogFiles
from ..listening import listening_socket
from ..metrics import HTTP, ServerTally, WorkerMetrics
from ..shm import SharedZones
from ..status import StatusBoard, WorkerStatus
from .accesslog import AccessLogFiles, LogEntry
from .clock import Clock
from .configured import Getter, configured_variables
from .dynamic import DynamicPass
from .exchange import Exchange
from .files import LocationFiles
from .h2 import HTTP2_ALPN, HTTP_ALPN, protocol_factory
from .headers import BodyFraming, RequestHead
from .limits import DEFAULT_LIMITS, Limits
from .pages import SERVER
from .phases import location_filters, location_steps, server_post_read
from .pool import ConnectionPool, KeepPolicy, PoolKey
from .proxy_header import HeaderFirstServer
from .reading import HeadLimits
from .request import Request
from .rewrite import Script
from .routing import Found, LocationTree, ServerNames
from .target import Target, TargetTls, proxy_vars
from .threads import thread_pools
from .tls import ChosenServer, server_context, upstream_context, with_sni
from .upstream import UpstreamConnection
from .upstream_response import ResponseRules
from .uri import replace_prefix
from .variables import CompiledTemplate
from .zones import LimitZones, zone_specs

if TYPE_CHECKING:
    from hapair.config.nginx.model.tls import ClientCertificates

    from ..health.board import HealthBoard
    from .client_certificates import CertificateCheck
    from .clientside import Connection


def proxy_host(target: ProxyPass) -> tuple[str, str]:
    """`$proxy_host` and `$proxy_port` of a `proxy_pass` URL without variables."""
    rest = target.url.split("://", 1)[1]
    end = len(rest)
    for stop in "/?":
        found = rest.find(stop, rest.find("]") + 1 if rest.startswith("[") else 0)
        if found >= 0:
            end = min(end, found)
    return proxy_vars(rest[:end], target.scheme)


class ErrorPage:
    """An `error_page` target: a URI (with its arguments apart when it has no variables), a named
    location or a URL, and the status it answers with (`overwrite`: -1 the original status, 0 the
    status of the response it leads to)."""

    __slots__ = ("args", "overwrite", "target")

    def __init__(self, target: CompiledTemplate, overwrite: int, args: str | None) -> None:
        self.target = target
        self.overwrite = overwrite
        self.args = args


class Route:
    """A location (or a server without one matching), ready to serve requests: its settings, and the
    steps a request goes through there (`steps`, the last one its content handler)."""

    __slots__ = (
        "_loop",
        "_replacement",
        "absolute_redirect",
        "body_buffer_size",
        "body_temp_path",
        "buffering",
        "chunked_transfer_encoding",
        "client_body_timeout",
        "client_header_timeout",
        "client_send_timeout",
        "connect_timeout",
        "default_type",
        "dynamic",
        "error_log",
        "error_pages",
        "files",
        "filters",
        "high_water",
        "http2",
        "http11",
        "internal",
        "keepalive_header",
        "keepalive_requests",
        "keepalive_timeout",
        "limit_except",
        "lingering_close",
        "lingering_time",
        "lingering_timeout",
        "location",
        "logs",
        "max_body",
        "msie_padding",
        "next_upstream",
        "next_upstream_timeout",
        "pass_request_body",
        "pool",
        "port_in_redirect",
        "proxy_host",
        "proxy_port",
        "read_timeout",
        "recursive_error_pages",
        "replay_limit",
        "request_buffering",
        "reset_timedout_connection",
        "responses",
        "rewrite",
        "send_timeout",
        "server_name",
        "server_name_in_redirect",
        "steps",
        "tally",
        "target",
        "tcp_nodelay",
        "thread_pool",
        "types",
    )

    def __init__(
        self,
        service: Service,
        server: Server,
        settings: Settings,
        location: Location | None,
        route_of: RouteOf | None = None,
    ) -> None:
        proxy = settings.proxy
        target = proxy.target if location is not None else None
        limits = service.limits
        self._loop = service.loop
        self.location = location
        self.server_name = server.names[0] if server.names and not server.names[0].startswith("~") else ""
        self.max_body = settings.client_max_body_size
        self.logs: tuple[LogEntry, ...] = service.logs.entries(settings.access_logs)
        metrics = service.metrics
        self.tally: ServerTally | None = metrics.server(server) if metrics is not None else None
        self.error_log: Callable[[ErrorLevel, str], None] = service.error_logs.sink(settings.error_logs)
        self.client_header_timeout = _seconds(settings.client_header_timeout, limits.client_header_timeout)
        self.client_body_timeout = _seconds(settings.client_body_timeout, limits.client_body_timeout)
        self.client_send_timeout = _seconds(settings.send_timeout, limits.send_timeout)
        self.keepalive_timeout = _seconds(settings.keepalive_timeout, limits.keepalive_timeout)
        header = settings.keepalive_header
        self.keepalive_header = b"Keep-Alive: timeout=%d\r\n" % header if header else b""
        requests = settings.keepalive_requests
        self.keepalive_requests = limits.keepalive_requests if requests is None else requests
        self.lingering_close = settings.lingering_close
        self.lingering_time = _seconds(settings.lingering_time, limits.lingering_time)
        self.lingering_timeout = _seconds(settings.lingering_timeout, limits.lingering_timeout)
        self.reset_timedout_connection = settings.reset_timedout_connection
        self.tcp_nodelay = settings.tcp_nodelay
        self.high_water = limits.high_water
        self.replay_limit = limits.replay_limit
        self.request_buffering = proxy.request_buffering
        self.pass_request_body = proxy.pass_request_body
        pool = settings.files.thread_pool
        self.thread_pool = service.thread_pools[pool] if pool is not None else None
        self.http11 = proxy.http_version == "1.1"
        self.buffering = proxy.buffering
        self.responses = ResponseRules(proxy.response)
        self.body_buffer_size = settings.client_body_buffer_size
        self.body_temp_path = settings.client_body_temp_path
        self.connect_timeout = proxy.connect_timeout / 1000
        self.read_timeout = proxy.read_timeout / 1000
        self.send_timeout = proxy.send_timeout / 1000
        self.next_upstream = proxy.next_upstream
        self.next_upstream_timeout = proxy.next_upstream_timeout / 1000
        self.pool = service.pool
        self.rewrite: Script | None = None
        if location is not None and settings.rewrite and route_of is not None:
            self.rewrite = Script(settings.rewrite, route_of, log=settings.rewrite_log)
        self.files: LocationFiles = LocationFiles(
            settings.files, location.path if location is not None else ""
        )
        self.filters = location_filters(settings)
        self.error_pages = _error_pages(settings)
        self.recursive_error_pages = settings.recursive_error_pages
        self.internal = settings.internal
        self.msie_padding = settings.msie_padding
        self.absolute_redirect = settings.absolute_redirect
        self.chunked_transfer_encoding = settings.chunked_transfer_encoding
        self.http2 = settings.http2
        self.port_in_redirect = settings.port_in_redirect
        self.server_name_in_redirect = settings.server_name_in_redirect
        self.types = settings.types
        self.default_type = settings.default_type
        self.proxy_host: str = ""
        self.proxy_port: str = ""
        self._replacement: str | None = None
        self.target: Target | None = None
        self.dynamic: DynamicPass | None = None
        self.steps = location_steps(
            settings, proxied=target is not None, zones=service.zones, status=service.status
        )
        self.limit_except: tuple[int, Route] | None = None  # the methods, and the route they take
        if location is not None and location.limit_except and route_of is not None:
            limited = next(inner for inner in location.locations if inner.match is LocationMatch.LIMIT_EXCEPT)
            self.limit_except = (location.limit_except, route_of(limited))
        if target is None:
            return
        name = CompiledTemplate(proxy.tls.name) if proxy.tls.server_name or proxy.tls.verify else None
        if isinstance(target, ProxyPassTemplate):
            # made now, while the worker may still read the certificate files (it starts as root)
            dynamic_tls = TargetTls({}, upstream_context(proxy.tls), name)
            self.dynamic = DynamicPass(service, target, proxy, dynamic_tls, service.resolvers)
            return
        self.proxy_host, self.proxy_port = proxy_host(target)
        self._replacement = target.uri
        balancer = service.balancer(target.upstream)
        tls = None
        if target.scheme == "https":
            tls = TargetTls({peer: upstream_context(proxy.tls) for peer in balancer.peers}, None, name)
        self.target = Target(
            balancer,
            target.scheme,
            host_port=(self.proxy_host, self.proxy_port),
            head=RequestHead.of(proxy, self.proxy_host),
            keep_policy=KeepPolicy.of(target.upstream, limits),
            tries=proxy.next_upstream_tries,
            tls=tls,
        )

    def upstream_uri(self, ex: Exchange, url_uri: str | None = None) -> bytes:
        """The URI of the request line sent upstream (ngx_http_proxy_create_key's rules); `url_uri`: the
        URI part of a URL with variables, which replaces the whole URI."""
        request = ex.request
        if url_uri is not None:
            return url_uri.encode("latin-1")
        if self._replacement is None and ex.valid_unparsed_uri:
            raw = request.raw_target
            if raw.startswith(b"/"):
                return raw
            target = request.target
            uri = target.path if target.query is None else f"{target.path}?{target.query}"
            return uri.encode("latin-1")
        location = self.location
        matched = 0
        replacement = ""
        if ex.valid_location and self._replacement is not None:
            replacement = self._replacement
            if location is not None and location.match is not LocationMatch.NAMED:
                matched = len(location.path)
        return replace_prefix(ex.uri, matched, replacement, ex.args).encode("latin-1")

    def content_type(self, uri: str) -> str:
        """ngx_http_set_content_type: by the URI's extension (after the last `.` of its last segment,
        not a leading one) in `types`, else `default_type`."""
        for index in range(len(uri) - 1, 1, -1):
            char = uri[index]
            if char == "." and uri[index - 1] != "/":
                found = self.types.get(uri[index + 1 :].lower())
                return found if found is not None else self.default_type
            if char == "/":
                break
        return self.default_type

    def body_framing(self, request: Request) -> BodyFraming:
        """How the body goes upstream; `Content-Length: 0` is passed on, as nginx's."""
        if not self.pass_request_body:
            return BodyFraming.NONE
        if not request.has_body:
            return BodyFraming.NONE if request.content_length is None else BodyFraming.LENGTH
        if request.chunked and self.http11 and not self.request_buffering:
            return BodyFraming.CHUNKED
        return BodyFraming.LENGTH

    def open(self, peer: Peer, key: Any) -> Coroutine[Any, Any, UpstreamConnection]:
        return _open(self._loop, peer, key, self.pool, self.high_water)

    def log(self, exchange: Exchange) -> None:
        for entry in self.logs:
            entry.write(exchange)
        if self.tally is not None:
            _count(self.tally, exchange)


def _count(tally: ServerTally, ex: Exchange) -> None:
    """The metrics of a request logged: its own, and those of each upstream it tried (--metrics)."""
    seconds = max(0.0, time.time() - ex.request.started)
    tally.request(ex.status, seconds, ex.request_length, ex.bytes_sent)
    for attempt in ex.attempts:
        if attempt.tally >= 0:
            tally.response(attempt.tally, attempt.status)


RouteOf = Callable[[Location], Route]


def _error_pages(settings: Settings) -> dict[int, ErrorPage] | None:
    """`error_page` by status: the first one naming a status wins, as nginx's search."""
    if not settings.error_pages:
        return None
    pages: dict[int, ErrorPage] = {}
    for page in settings.error_pages:
        pages.setdefault(page.status, ErrorPage(CompiledTemplate(page.target), page.overwrite, page.args))
    return pages


def _seconds(configured_ms: int | None, default_s: float) -> float:
    return default_s if configured_ms is None else configured_ms / 1000


async def _open(
    loop: asyncio.AbstractEventLoop, peer: Peer, key: PoolKey, pool: ConnectionPool, high_water: int
) -> UpstreamConnection:
    def factory() -> UpstreamConnection:
        return UpstreamConnection(loop, peer, key, pool)

    address = peer.address
    tls = key.tls
    # "" (no SNI) is turned into None by UpstreamContext.wrap_bio
    hostname = (key.server_hostname or "") if tls is not None else None
    if isinstance(address, UnixAddress):
        _, conn = await loop.create_unix_connection(factory, address.path, ssl=tls, server_hostname=hostname)
    else:
        _, conn = await loop.create_connection(
            factory, str(address.ip), address.port, ssl=tls, server_hostname=hostname
        )
    conn.set_limits(high_water)
    pool.born(conn)
    return conn


class ServerRoutes:
    """A server's locations, its named locations, its rewrite directives, and its answer when no
    location matches."""

    __slots__ = (
        "_single",
        "certificate_check",
        "fallback",
        "head_limits",
        "named",
        "post_read",
        "rewrite",
        "tree",
        "variables",
    )

    def __init__(self, service: Service, server: Server) -> None:
        self.variables = service.variables  # `map`, `split_clients`: the same table in every server
        routes: dict[int, Route] = {}

        def route_of(location: Location) -> Route:
            found = routes.get(id(location))
            if found is None:
                found = routes[id(location)] = Route(service, server, location.settings, location, route_of)
            return found

        self.tree = LocationTree(server.locations, route_of)
        self.named = {
            location.path: route_of(location)
            for location in server.locations
            if location.match is LocationMatch.NAMED
        }
        self.fallback = Route(service, server, server.settings, None)
        settings = server.settings
        self.post_read = server_post_read(settings)
        self.certificate_check = _certificate_check(server.tls.clients) if server.tls is not None else None
        number, size = settings.large_client_header_buffers
        self.head_limits = HeadLimits(
            buffer_size=settings.client_header_buffer_size,
            large_buffers=number,
            large_buffer_size=size,
            underscores=settings.underscores_in_headers,
            ignore_invalid=settings.ignore_invalid_headers,
            max_headers=settings.max_headers,
        )
        self.rewrite = (
            Script(settings.rewrite, route_of, log=settings.rewrite_log) if settings.rewrite else None
        )

    def find(self, uri: str) -> Found[Route] | None:
        """The location of `uri` (None: no location matches)."""
        return self.tree.find(uri)


class ListenerRoutes:
    """The servers of one listening address, and whether it speaks HTTP/2."""

    __slots__ = ("_service", "default", "http2", "names", "select", "tls")

    def __init__(self, service: Service, listener: Listener) -> None:
        self._service = service
        self.tls = listener.ssl  # its connections are TLS
        self.names = ServerNames(listener.servers, listener.default_server)
        self.default = service.server_routes(listener.default_server)
        self.http2 = listener.http2
        limits = {service.server_routes(server).head_limits for server in listener.servers}
        # how a request head's host chooses the settings for the rest of it; None: all servers have
        # the default server's, so that there is nothing to choose
        self.select: Callable[[str], HeadLimits] | None = (
            None if limits == {self.default.head_limits} else self.head_limits
        )

    def route(self, request: Request) -> tuple[ServerRoutes, Found[Route] | None]:
        """The server of the request's host, and the location of its URI."""
        routes = self.server(request.host)
        return routes, routes.find(request.target.uri)

    def server(self, host: str) -> ServerRoutes:
        """The server of `host` ("": the default server)."""
        return self._service.server_routes(self.names.find(host))

    def head_limits(self, host: str) -> HeadLimits:
        """The settings for reading the rest of a request head once its host is known."""
        return self.server(host).head_limits


class Service:
    """What the connections of one worker's HTTP listeners share."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        limits: Limits,
        zones: LimitZones,
        variables: dict[str, Getter] | None = None,
        pools: tuple[ThreadPoolSpec, ...] = (),
        *,
        status: WorkerStatus | None = None,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.loop = loop
        self.status = status  # stub_status's counters, where the configuration shows them
        self.metrics = metrics  # the worker's counters of --metrics
        self.thread_pools = thread_pools(pools, loop)
        self.limits = limits
        self.zones = zones
        self.variables: dict[str, Getter] = variables or {}
        self.clock = Clock(SERVER)
        self.connections: set[Connection] = set()
        self.admission = Admission(loop, limits.admit_per_round)
        self.drains: list[Drain] = []
        self.draining = False  # a graceful stop: a connection that begins now closes after its answer
        self.pool = ConnectionPool(loop)
        self.logs = AccessLogFiles(loop)
        self.error_logs = ErrorLogFiles()
        self._balancers: dict[Upstream, Balancer] = {}
        self.health: HealthBoard | None = None  # the results of `health_check`, when there are checks
        self.upstreams: tuple[Upstream, ...] = ()  # the configuration's groups, for proxy_pass with variables
        self.resolvers: dict[int, NameResolver] = {}  # by `resolver` directive
        self._servers: dict[int, ServerRoutes] = {}

    def balancer(self, upstream: Upstream) -> Balancer:
        balancer = self._balancers.get(upstream)
        if balancer is None:
            health = self.health.view(upstream) if self.health is not None else None
            recorder = self.metrics.recorder(HTTP, upstream) if self.metrics is not None else None
            balancer = self._balancers[upstream] = Balancer(upstream, health=health, recorder=recorder)
        return balancer

    def server_routes(self, server: Server) -> ServerRoutes:
        routes = self._servers.get(id(server))
        if routes is None:
            routes = self._servers[id(server)] = ServerRoutes(self, server)
        return routes


class _ListenerGroup:
    """The addresses one listening socket serves (a wildcard socket also serves the addresses of its
    port that have no socket of their own)."""

    __slots__ = ("_by_address", "_only", "_owner", "_served")

    def __init__(self, service: Service, owner: Listener, served: list[Listener]) -> None:
        self._only = ListenerRoutes(service, owner)
        self._by_address = {listener.address: ListenerRoutes(service, listener) for listener in served}
        for routes in self._by_address.values():
            routes.tls = owner.ssl  # the socket's: its connections are TLS or not
        self._owner = owner
        self._served = served

    @property
    def http2(self) -> bool:
        """Whether one of its addresses speaks HTTP/2."""
        return any(listener.http2 for listener in (self._owner, *self._served))

    @property
    def proxy_protocol(self) -> bool:
        """Whether connections to one of its addresses start with a PROXY protocol header."""
        return any(listener.proxy_protocol for listener in (self._owner, *self._served))

    def expects_header(self, sockname: object) -> bool:
        """Whether the address a connection came to says `proxy_protocol` (nginx's addr_conf)."""
        for listener in self._served:
            address = listener.address
            if (
                isinstance(address, InetAddress)
                and isinstance(sockname, tuple)
                and (str(address.ip), address.port) == sockname[:2]
            ):
                return listener.proxy_protocol
        return self._owner.proxy_protocol

    def routes(self, sockname: object) -> ListenerRoutes:
        if not self._by_address or not isinstance(sockname, tuple):
            return self._only
        for address, routes in self._by_address.items():
            if isinstance(address, InetAddress) and (str(address.ip), address.port) == sockname[:2]:
                return routes
        return self._only


class HttpService:
    """The running listeners of one worker: `drain()` stops accepting and waits for the requests under
    way; `close()` stops everything at once."""

    def __init__(
        self, service: Service, servers: list[asyncio.AbstractServer], own_zones: SharedZones | None
    ) -> None:
        self._service = service
        self._servers = servers
        self._own_zones = own_zones  # the zones it made itself (none given), unmapped when it closes

    @property
    def connections(self) -> int:
        return len(self._service.connections)

    def close(self) -> None:
        self._stop_accepting()
        self._service.admission.close()
        for connection in list(self._service.connections):
            connection.close()
        self._service.pool.close()
        self._service.logs.close()
        self._service.error_logs.close()
        for pool in self._service.thread_pools.values():
            pool.close()
        if self._own_zones is not None:
            self._own_zones.close()
            self._own_zones = None

    def reopen_logs(self) -> None:
        """Reopen the access and error log files (after rotation)."""
        self._service.logs.reopen()
        self._service.error_logs.reopen()

    def _stop_accepting(self) -> None:
        for drain in self._service.drains:
            drain.closed = True
        for server in self._servers:
            server.close()

    async def wait_closed(self) -> None:
        for server in self._servers:
            await server.wait_closed()
        while self._service.connections:
            await asyncio.sleep(0.01)

    async def drain(self, timeout: float | None = None) -> None:
        """Stop accepting; answer the requests under way, closing each connection after its answer;
        then close (at `timeout` seconds, whatever is left is closed)."""
        self._stop_accepting()
        self._service.draining = True
        self._service.admission.release_all()
        for connection in list(self._service.connections):
            connection.drain()
        deadline = None if timeout is None else self._service.loop.time() + timeout
        while self._service.connections and (deadline is None or self._service.loop.time() < deadline):
            await asyncio.sleep(0.05)
        self.close()


def _served_by(owner: Listener, listeners: tuple[Listener, ...]) -> list[Listener]:
    """The addresses without a socket of their own that a wildcard listener's socket serves."""
    address = owner.address
    if not isinstance(address, InetAddress) or not address.wildcard:
        return []
    return [
        listener
        for listener in listeners
        if not listener.own_socket
        and isinstance(listener.address, InetAddress)
        and listener.address.port == address.port
        and listener.address.family == address.family
    ]


def _server_tls(listener: Listener, names: ServerNames) -> Any:
    """The TLS context of an `ssl` listener: its default server's, switching by SNI to the server of
    the name asked for; each offers HTTP/2 by ALPN when the listener speaks it."""
    contexts: dict[int, Any] = {}

    def context_of(server: Server) -> Any:
        if id(server) not in contexts:
            tls = server.tls
            alpn = HTTP2_ALPN if listener.http2 else HTTP_ALPN
            contexts[id(server)] = server_context(tls, alpn=alpn) if tls is not None else None
        return contexts[id(server)]

    default = context_of(listener.default_server)
    rejecting = any(server.tls is not None and server.tls.reject_handshake for server in listener.servers)
    if len(listener.servers) == 1 and not rejecting:
        return default
    for server in listener.servers:  # now, while the worker may still read the certificate files
        context_of(server)

    def chosen(name: str | None) -> ChosenServer:
        server = names.find(name) if name else listener.default_server
        rejected = server.tls is not None and server.tls.reject_handshake
        return ChosenServer(context_of(server), rejected=rejected)

    return with_sni(default, chosen)


def _certificate_check(clients: ClientCertificates) -> CertificateCheck | None:
    """A TLS server's check of its clients' certificates (client_certificates.py: imported for TLS servers
    only, as proxy/preload.py does)."""
    from .client_certificates import certificate_check  # noqa: PLC0415

    return certificate_check(clients)


async def serve_http(
    config: HttpConfig,
    *,
    reuse_port: bool,
    limits: Limits = DEFAULT_LIMITS,
    zones: SharedZones | None = None,
    thread_pools: tuple[ThreadPoolSpec, ...] = (),
    status: WorkerStatus | None = None,
    metrics: WorkerMetrics | None = None,
) -> HttpService:
    """Listen on the model's listeners (with SO_REUSEPORT when `reuse_port`, so that several worker
    processes can each have their own sockets) and serve them on the running event loop. `zones`: the
    shared memory zones the master made for the configuration; without them, the service makes its own
    (then nothing is shared with another process). `thread_pools`: the ones `aio threads` may name.
    `status`: the worker's slot of the master's counters (stub_status); without it, a configuration with a
    status page counts this service's connections only. `metrics`: the worker's slot of --metrics."""
    loop = asyncio.get_running_loop()
    own_zones = None
    if zones is None:
        zones = own_zones = SharedZones().renew(zone_specs(config))
    if status is None and config.serves_status():
        status = StatusBoard(slots=2).worker(1)  # a service of its own: its connections only
    limit_zones = LimitZones(zones, config.zones)
    service = Service(
        loop, limits, limit_zones, configured_variables(config), thread_pools, status=status, metrics=metrics
    )
    service.upstreams = config.upstreams
    if config.health_checks:
        from ..health.board import HealthBoard  # noqa: PLC0415 (with checks only: proxy/preload.py)

        service.health = HealthBoard.of(zones, config.health_checks, stream=False)
    servers: list[asyncio.AbstractServer] = []
    try:
        for listener in config.listeners:
            if not listener.own_socket:
                continue
            group = _ListenerGroup(service, listener, _served_by(listener, config.listeners))
            names = ServerNames(listener.servers, listener.default_server)
            tls = _server_tls(listener, names) if listener.ssl else None
            sock = listening_socket(
                listener.address,
                backlog=listener.backlog,
                ipv6only=listener.ipv6only,
                reuse_port=reuse_port or listener.reuseport,
                options=listener.socket,
            )

            # HTTP/1.x, or with `http2` the protocol each connection's address and ALPN choose
            factory = protocol_factory(service, group.routes, http2=group.http2)
            if group.proxy_protocol:
                # it accepts its connections itself, a batch at a time, to read their PROXY headers
                servers.append(
                    HeaderFirstServer(  # type: ignore[abstract]
                        loop, sock, factory, tls, routes=group.routes, expects=group.expects_header
                    )
                )
                continue
            admitted = protocol_factory(service, group.routes, http2=group.http2, admitted=True)
            drain = Drain(loop, sock, admitted, tls)

            def accepted(
                drain: Drain = drain, factory: Callable[[], asyncio.Protocol] = factory
            ) -> asyncio.Protocol:
                service.admission.came_from(drain)
                return factory()

            servers.append(await loop.create_server(accepted, sock=sock, ssl=tls, backlog=listener.backlog))
            service.drains.append(drain)
    except BaseException:
        for server in servers:
            server.close()
        service.logs.close()
        if own_zones is not None:
            own_zones.close()
        raise
    return HttpService(service, servers, own_zones)
