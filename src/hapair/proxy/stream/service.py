"""The stream servers of a configuration running in one process: listening sockets, one balancer per
upstream, access logs, and the sessions in progress.

Listening follows nginx: an address with its own socket is bound; a `listen` without one (a specific
address on a port some wildcard listen also has, without `bind`) is served by the wildcard socket, which
looks at each connection's local address to find its server. The process model may bind the sockets
itself (`bind_listeners`, e.g. once in a master process, or again for a reload) and pass them in;
`StreamService.close` closes only the ones it bound.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from hapair.config.nginx.model.addresses import InetAddress, SocketAddress
from hapair.config.nginx.model.sockets import LocalAddress
from hapair.config.nginx.model.stream import StreamConfig, StreamServer
from hapair.config.nginx.model.upstream import Upstream
from hapair.proxy.balancer import Balancer
from hapair.proxy.http.realip import Trusted
from hapair.proxy.resolver import NameResolver

from ..errorlog import ErrorLogFiles
from ..listening import listening_socket
from ..metrics import STREAM, WorkerMetrics
from ..status import ACCEPTED, ACTIVE, HANDLED, WorkerStatus
from .access import AccessRulesCheck
from .accesslog import AccessLogWriter, LogFiles
from .datagram import Address, DatagramListener, DatagramSession, LocalEnd, NativeChoice
from .native import NativeRelay, start
from .relay import PipePool
from .session import SessionSettings, StreamSession
from .target import DynamicTarget, Group
from .tls import UpstreamSessions, stream_server_context
from .variables import BalancingKey, StreamTemplate, StreamVariables

if TYPE_CHECKING:
    from ..health.board import HealthBoard

log = logging.getLogger(__name__)
# a TCP listen's server; whether its connections start with a PROXY protocol header, then a TLS handshake
Route = tuple[SessionSettings, bool, bool]

ACCEPT_BATCH = 64  # connections accepted per readiness event
ACCEPT_PAUSE_S = 0.5  # nginx stops accepting for 500 ms when out of file descriptors
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def bind_listeners(
    config: StreamConfig,
    *,
    reuse_port: bool = False,
    skip: Collection[SocketAddress] = (),
    udp: bool = False,
) -> dict[SocketAddress, socket.socket]:
    """A listening, non-blocking socket for every stream `listen` that has its own socket (the TCP ones,
    or with `udp` the UDP ones), except the addresses in `skip`. `reuse_port` sets SO_REUSEPORT on all of
    them (one socket per worker process); a `listen ... reuseport` has it anyway."""
    sockets: dict[SocketAddress, socket.socket] = {}
    try:
        for server in config.servers:
            for listen in server.listens:
                if (
                    listen.own_socket
                    and listen.udp == udp
                    and listen.address not in sockets
                    and listen.address not in skip
                ):
                    sockets[listen.address] = listening_socket(
                        listen.address,
                        backlog=listen.backlog,
                        ipv6only=listen.ipv6only,
                        reuse_port=reuse_port or listen.reuseport,
                        udp=udp,
                        options=listen.socket,
                    )
    except OSError:
        for sock in sockets.values():
            sock.close()
        raise
    return sockets


class _Listener:
    """One listening socket and the server(s) it accepts connections for."""

    __slots__ = ("_loop", "_service", "owned", "proxy_protocol", "routes", "settings", "sock", "tls")

    def __init__(
        self,
        service: StreamService,
        sock: socket.socket,
        settings: SessionSettings,
        routes: dict[InetAddress, Route],
        *,
        owned: bool,
        proxy_protocol: bool = False,
        tls: bool = False,
    ) -> None:
        self._service = service
        self._loop = service.loop
        self.sock = sock
        self.settings = settings
        self.routes = routes  # servers of specific addresses served by this wildcard socket
        self.owned = owned
        self.proxy_protocol = proxy_protocol
        self.tls = tls

    def start(self) -> None:
        self._loop.add_reader(self.sock.fileno(), self._accept)

    def stop(self) -> None:
        self._loop.remove_reader(self.sock.fileno())
        if self.owned:
            self.sock.close()

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                client, remote = self.sock.accept()
            except BlockingIOError:
                return
            except OSError as error:
                if error.errno in _OUT_OF_RESOURCES:
                    log.critical("accept() failed (%s: %s)", error.errno, error.strerror)
                    self._loop.remove_reader(self.sock.fileno())
                    self._loop.call_later(ACCEPT_PAUSE_S, self._resume)
                    return
                continue  # the client gave up before accept (ECONNABORTED...)
            settings, proxy_protocol, tls = self._settings_for(client)
            self._service.begin(client, remote, settings, proxy_protocol=proxy_protocol, tls=tls)

    def _resume(self) -> None:
        if not self._service.closing:
            self.start()

    def _settings_for(self, client: socket.socket) -> Route:
        if not self.routes:
            return self.settings, self.proxy_protocol, self.tls
        host, port = client.getsockname()[:2]
        local = InetAddress(ipaddress.ip_address(host.partition("%")[0]), port)
        return self.routes.get(local, (self.settings, self.proxy_protocol, self.tls))


class StreamService:
    """The running stream servers. `close()` stops accepting; sessions in progress go on until they end
    (or `abort()` ends them); `await wait_closed()` returns when none is left, logs flushed."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        config: StreamConfig,
        sockets: Mapping[SocketAddress, socket.socket],
        *,
        owned: Collection[SocketAddress],
        half_close: bool,
        splice: bool,
        datagram_sockets: Mapping[SocketAddress, socket.socket] | None = None,
        status: WorkerStatus | None = None,
        health: HealthBoard | None = None,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.loop = loop
        self._health = health  # the results of `health_check`, when there are checks
        self._cells = status.cells if status is not None else None  # stub_status's counters, if counted
        self._metrics = metrics  # the worker's counters of --metrics
        self.pipes = PipePool()
        self._native: NativeRelay | None = None
        self._native_started = False
        self.native_choice = NativeChoice(loop)  # whether UDP sessions do their socket work in C
        self.sessions: set[StreamSession | DatagramSession] = set()
        self.closing = False
        self._files = LogFiles()
        self._error_logs = ErrorLogFiles()
        self._writers: list[AccessLogWriter] = []
        self._connections = 0
        self._drained = asyncio.Event()
        self._variables = StreamVariables(
            config.variables, (set_.name for server in config.servers for set_ in server.sets)
        )
        self._upstreams = config.upstreams
        self._groups: dict[int, Group] = {}
        self._resolvers: dict[int, NameResolver] = {}
        try:
            settings = {
                id(server): self._settings(server, half_close=half_close, splice=splice)
                for server in config.servers
            }
        except OSError:
            self._files.close()
            self._error_logs.close()
            raise
        self._listeners = _listeners(self, config, settings, sockets, owned)
        self._datagram_listeners = _datagram_listeners(self, config, settings, datagram_sockets or {})

    def start(self) -> None:
        for listener in self._listeners:
            listener.start()
        for datagrams in self._datagram_listeners:
            datagrams.start()

    @property
    def sockets(self) -> list[socket.socket]:
        """The listening sockets (their `getsockname()` tells the ports chosen for port 0)."""
        return [listener.sock for listener in self._listeners]

    @property
    def datagram_sockets(self) -> list[socket.socket]:
        """The UDP sockets."""
        return [listener.sock for listener in self._datagram_listeners]

    def begin(
        self,
        client: socket.socket,
        remote: object,
        settings: SessionSettings,
        *,
        proxy_protocol: bool = False,
        tls: bool = False,
    ) -> None:
        """Start relaying a connection just accepted (`proxy_protocol`: it starts with a PROXY header;
        `tls`: then a TLS handshake)."""
        client.setblocking(False)
        self._connections += 1
        session = StreamSession(
            self.loop,
            client,
            remote,
            settings,
            host=self,
            connection=self._connections,
            proxy_protocol=proxy_protocol,
            tls=tls,
        )
        self.sessions.add(session)
        if self._cells is not None:
            self._count_session()
        session.start()

    def begin_datagram(
        self,
        listener: DatagramListener,
        data: bytes,
        remote: Address,
        local: LocalEnd,
    ) -> DatagramSession:
        """Start the session of a client address's first datagram."""
        self._connections += 1
        session = DatagramSession(listener, data, remote, local, self._connections)
        self.sessions.add(session)
        if self._cells is not None:
            self._count_session()
        session.start()
        return session

    def _count_session(self) -> None:
        """nginx counts a stream connection (or UDP session) as accepted, handled and active."""
        cells = self._cells
        assert cells is not None
        cells[ACCEPTED] += 1
        cells[HANDLED] += 1
        cells[ACTIVE] += 1

    def native_relay(self) -> NativeRelay | None:
        """The worker's native relay thread, started at its first session (None: relay.py's)."""
        if not self._native_started:
            self._native_started = True
            self._native = start(self.loop)
        return self._native

    def session_finished(self, session: StreamSession | DatagramSession) -> None:
        if self._cells is not None and session in self.sessions:
            self._cells[ACTIVE] -= 1
        if self._metrics is not None and session in self.sessions:
            self._metrics.session(session.tally, session.bytes_received, session.bytes_sent)
        self.sessions.discard(session)
        if self.closing and not self.sessions:
            self._drained.set()

    def close(self) -> None:
        """Stop accepting connections (nginx's graceful shutdown, SIGQUIT)."""
        if self.closing:
            return
        self.closing = True
        for listener in self._listeners:
            listener.stop()
        for datagrams in self._datagram_listeners:
            datagrams.stop()
        if not self.sessions:
            self._drained.set()

    def abort(self) -> None:
        """Stop accepting and end every session now (SIGTERM)."""
        self.close()
        for session in list(self.sessions):
            session.close()

    async def wait_closed(self) -> None:
        await self._drained.wait()
        for listener in self._datagram_listeners:
            listener.close()
        for writer in self._writers:
            writer.flush()
        self._files.close()
        self._error_logs.close()
        self.pipes.close()
        if self._native is not None:
            self._native.close()
            self._native = None
        self.native_choice.close()

    def reopen_logs(self) -> None:
        """Reopen the access and error log files (after rotation)."""
        for writer in self._writers:
            writer.flush()
        self._files.reopen()
        self._error_logs.reopen()

    def _group(self, upstream: Upstream) -> Group:
        """The worker's balancer of a configured group (one per group, whichever servers use it)."""
        group = self._groups.get(id(upstream))
        if group is None:
            key = BalancingKey(upstream.hash_key, self._variables) if upstream.hash_key is not None else None
            health = self._health.view(upstream) if self._health is not None else None
            metrics = self._metrics
            recorder = metrics.recorder(STREAM, upstream) if metrics is not None else None
            group = self._groups[id(upstream)] = Group(
                Balancer(upstream, health=health, recorder=recorder), key
            )
        return group

    def _settings(self, server: StreamServer, *, half_close: bool, splice: bool) -> SessionSettings:
        proxy = server.proxy
        variables = self._variables
        writers = tuple(AccessLogWriter(self.loop, log, self._files, variables) for log in server.access_logs)
        self._writers.extend(writers)
        target = None
        if proxy.target is not None:
            target = DynamicTarget(
                proxy.target,
                variables,
                upstreams=self._upstreams,
                groups=self._group,
                resolvers=self._resolvers,
                place=proxy.place,
            )
        group = self._group(proxy.upstream) if proxy.upstream is not None else None
        return SessionSettings(
            group=group,
            connect_timeout_s=proxy.connect_timeout / 1000,
            idle_timeout_s=proxy.timeout / 1000,
            half_close=half_close,
            splice=splice,
            logs=writers,
            server=server.listens[0].address.text,
            error_log=self._error_logs.sink(server.error_logs),
            target=target,
            access=AccessRulesCheck(server.access) if server.access is not None else None,
            sets=tuple((set_.name, variables.template(set_.value)) for set_ in server.sets),
            preread=server.preread,
            tcp_nodelay=server.tcp_nodelay,
            next_upstream=proxy.next_upstream,
            next_upstream_tries=proxy.next_upstream_tries,
            next_upstream_timeout_s=proxy.next_upstream_timeout / 1000,
            responses=proxy.responses,
            requests=proxy.requests,
            proxy_protocol=proxy.proxy_protocol,
            proxy_protocol_timeout_s=server.proxy_protocol_timeout / 1000,
            real_ip_from=Trusted(server.real_ip_from) if server.real_ip_from else None,
            tls=stream_server_context(server.tls) if server.tls is not None else None,
            clients=server.tls.clients if server.tls is not None else None,
            handshake_timeout_s=server.handshake_timeout / 1000,
            upstream_tls=UpstreamSessions(proxy.tls, proxy.ssl_name) if proxy.tls is not None else None,
            local=_local(proxy.local, variables),
            local_text=proxy.local.text if proxy.local is not None else "",
            socket_keepalive=proxy.socket_keepalive,
            keeps_values=bool(server.sets) or target is not None or bool(group and group.key),
            tally=self._metrics.stream(server) if self._metrics is not None else -1,
        )


def _listeners(
    service: StreamService,
    config: StreamConfig,
    settings: dict[int, SessionSettings],
    sockets: Mapping[SocketAddress, socket.socket],
    owned: Collection[SocketAddress],
) -> list[_Listener]:
    routes: dict[SocketAddress, dict[InetAddress, Route]] = {}
    for server in config.servers:
        for listen in server.listens:
            if not listen.udp and not listen.own_socket and isinstance(listen.address, InetAddress):
                route = (settings[id(server)], listen.proxy_protocol, listen.ssl)
                routes.setdefault(_wildcard_of(listen.address), {})[listen.address] = route
    return [
        _Listener(
            service,
            sockets[listen.address],
            settings[id(server)],
            routes.get(listen.address, {}),
            owned=listen.address in owned,
            proxy_protocol=listen.proxy_protocol,
            tls=listen.ssl,
        )
        for server in config.servers
        for listen in server.listens
        if listen.own_socket and not listen.udp
    ]


def _local(local: LocalAddress | None, variables: StreamVariables) -> InetAddress | StreamTemplate | None:
    """`proxy_bind`: the address, or the value that gives it per session."""
    if local is None:
        return None
    if local.value is not None:
        return variables.template(local.value)
    assert isinstance(local.address, InetAddress)
    return local.address


def _datagram_listeners(
    service: StreamService,
    config: StreamConfig,
    settings: dict[int, SessionSettings],
    sockets: Mapping[SocketAddress, socket.socket],
) -> list[DatagramListener]:
    """The UDP sockets (each bound by the service) and the servers of each, as `_listeners` for TCP."""
    routes: dict[SocketAddress, dict[InetAddress, SessionSettings]] = {}
    for server in config.servers:
        for listen in server.listens:
            if listen.udp and not listen.own_socket and isinstance(listen.address, InetAddress):
                routes.setdefault(_wildcard_of(listen.address), {})[listen.address] = settings[id(server)]
    return [
        DatagramListener(
            service,
            service.loop,
            sockets[listen.address],
            settings[id(server)],
            routes.get(listen.address, {}),
            natives=service.native_choice,
            owned=True,
            wildcard=listen.address.wildcard,
        )
        for server in config.servers
        for listen in server.listens
        if listen.own_socket and listen.udp
    ]


def _wildcard_of(address: InetAddress) -> InetAddress:
    unspecified = ipaddress.ip_address("::" if address.ip.version == 6 else "0.0.0.0")
    return InetAddress(unspecified, address.port)


async def serve_stream(
    config: StreamConfig,
    *,
    reuse_port: bool = False,
    half_close: bool = False,
    splice: bool = True,
    listening: Mapping[SocketAddress, socket.socket] | None = None,
    status: WorkerStatus | None = None,
    health: HealthBoard | None = None,
    metrics: WorkerMetrics | None = None,
) -> StreamService:
    """Start the stream servers of `config` on the running loop.

    `listening`: sockets already bound by `bind_listeners` (left open by `close`); the others are bound
    here. `half_close`: pass each side's EOF on and relay until both have ended (nginx's
    `proxy_half_close on`; off is nginx's default, and the model has no such directive yet). `splice`:
    False moves bytes by buffered copies instead (kept for TLS; tests force it). `status`: the worker's
    slot of the counters stub_status shows, if the configuration shows them; `metrics`: its slot of
    --metrics; `health`: the results of the block's `health_check` lines (`hapair.proxy.health`), if it
    has any."""
    given = dict(listening or {})
    bound = bind_listeners(config, reuse_port=reuse_port, skip=given.keys())
    datagram: dict[SocketAddress, socket.socket] = {}
    try:
        datagram = bind_listeners(config, reuse_port=reuse_port, udp=True)
        service = StreamService(
            asyncio.get_running_loop(),
            config,
            {**given, **bound},
            owned=bound.keys(),
            half_close=half_close,
            splice=splice,
            datagram_sockets=datagram,
            status=status,
            health=health,
            metrics=metrics,
        )
    except BaseException:
        for sock in (*bound.values(), *datagram.values()):
            sock.close()
        raise
    service.start()
    return service
