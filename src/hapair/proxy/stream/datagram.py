"""UDP in a stream server (`listen ... udp`), as nginx 1.22 proxies datagrams (ngx_event_udp.c and the
UDP parts of ngx_stream_proxy_module.c).

A `DatagramListener` reads its socket; each datagram belongs to the session of its client's address (and,
on a wildcard socket, of the local address it came to, read from IP_PKTINFO), made by the first datagram
from that address: so a client's queries and their answers go through one upstream peer while its
session lasts. A session goes through the server's phases as a TCP one does (`set`, `allow`/`deny`;
`ssl_preread` declines on UDP, as nginx's), picks a peer with the group's balancer, and sends each
datagram of its client to the peer from a UDP socket connected to it; each datagram the peer sends back
goes to the client from the listening socket (from the address the client wrote to).

A session ends (status 200, "udp done") once the peer has sent `proxy_responses` datagrams for each
datagram of the client; or, with `proxy_requests`, only once the client has sent that many (the next
datagram from that address begins a new session); or when `proxy_timeout` passes without a datagram
either way: then with 200 if the answers expected have come (or no `proxy_responses` is set), else with
nginx's `upstream timed out` error, 502, and the peer counted as failed. A peer that refuses (an ICMP
port unreachable, read as ECONNREFUSED) counts as an answer and as the peer's failure: nginx's
`recv() failed (111: Connection refused)` line, and the session goes on as its rules say.

Datagrams are read and sent whole (up to 65535 bytes). The variables are the TCP session's, with
`$protocol` UDP: `$bytes_received` counts every datagram of the client, the first included.

What a session costs is kept to nginx's system calls or fewer (docs/request-cost.md, "UDP sessions"):
the upstream socket is made non-blocking by socket() itself, connected, and watched in an epoll set of
the listener's own (`UpstreamPoller`: one epoll_ctl, and its close takes it out), not through the event
loop's add_reader; the answer that ends the session is the last datagram read from it. The sessions of
one server share one timer for `proxy_timeout` (`IdleSessions`), where a timer each would be made and
cancelled per session.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import select
import socket
import struct
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from hapair.config.nginx.model.addresses import InetAddress
from hapair.config.nginx.model.logging import ErrorLevel
from hapair.proxy.balancer import Balancer, Peer

from ..errorlog import to_main_log
from .session import SessionHost, SessionSettings, StreamSession, address_texts, milliseconds

if TYPE_CHECKING:
    from .service import StreamService

DATAGRAM_MAX = 65535
READ_BATCH = 64  # datagrams read per readiness event before the other connections get their turn
_BAD_GATEWAY = 502
_TIMER_SLACK = 0.002
_TRUNCATED = int(socket.MSG_TRUNC | socket.MSG_CTRUNC)  # an int: the flags recvmsg gives are one
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux's, when Python's socket module lacks the name
_IN_PKTINFO = struct.Struct("=i4s4s")  # ipi_ifindex, ipi_spec_dst, ipi_addr
_IN6_PKTINFO = struct.Struct("=16si")  # ipi6_addr, ipi6_ifindex
_ANCILLARY_SIZE = socket.CMSG_SPACE(_IN6_PKTINFO.size)

Address = tuple[str, int] | tuple[str, int, int, int]  # what recvmsg gives for the client


class DatagramListener:
    """A UDP socket of the stream servers and the sessions of its clients."""

    __slots__ = (
        "_ancillary",
        "_idle",
        "_loop",
        "_name",
        "_service",
        "_sessions",
        "_sources",
        "family",
        "owned",
        "poller",
        "routes",
        "settings",
        "sock",
    )

    def __init__(
        self,
        service: StreamService,
        sock: socket.socket,
        settings: SessionSettings,
        routes: dict[InetAddress, SessionSettings],
        *,
        owned: bool,
        wildcard: bool,
    ) -> None:
        self._service = service
        self._loop = service.loop
        self.sock = sock
        self.settings = settings
        self.routes = routes  # servers of specific addresses served by this wildcard socket
        self.owned = owned
        self._sessions: dict[tuple[Address, Address], DatagramSession] = {}
        self.family = sock.family  # read once: the socket's property makes an enum each time
        self._name: Address = sock.getsockname()  # the local address, unless IP_PKTINFO tells it
        self.poller = UpstreamPoller(self._loop)
        self._idle = {
            id(server): IdleSessions(self._loop, server.idle_timeout_s)
            for server in (settings, *routes.values())
        }
        self._sources: dict[Address, tuple[int, int, bytes]] = {}  # the ancillary data sending from each
        self._ancillary = 0
        if wildcard:  # nginx asks for each datagram's local address on a wildcard socket
            if sock.family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
            self._ancillary = _ANCILLARY_SIZE

    def start(self) -> None:
        self._loop.add_reader(self.sock.fileno(), self._receive)
        self.poller.start()

    def stop(self) -> None:
        """Stop reading; the sessions end with the socket (nginx: "disconnected on shutdown"). Those past
        their `proxy_requests` go on until they end (then `close`)."""
        self._loop.remove_reader(self.sock.fileno())
        for session in list(self._sessions.values()):
            session.close()
        if self.owned:
            self.sock.close()

    def close(self) -> None:
        """Once the last session has ended."""
        self.poller.close()

    def idle_sessions(self, settings: SessionSettings) -> IdleSessions:
        """The `proxy_timeout` timer of a server's sessions."""
        return self._idle[id(settings)]

    def send(self, data: bytes, remote: Address, local: Address) -> int:
        """A datagram to `remote`, from `local` on a wildcard socket."""
        if not self._ancillary:
            return self.sock.sendto(data, remote)
        source = self._sources.get(local)
        if source is None:  # a few: the host's own addresses
            source = self._sources[local] = _source(self.family, local)
        return self.sock.sendmsg([data], [source], 0, remote)

    def forget(self, session: DatagramSession) -> None:
        """The next datagram from the session's client begins a new session."""
        key = session.key
        if self._sessions.get(key) is session:
            del self._sessions[key]

    def _receive(self) -> None:
        for _ in range(READ_BATCH):
            try:
                data, ancillary, flags, remote = self.sock.recvmsg(DATAGRAM_MAX, self._ancillary)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                to_main_log(ErrorLevel.ALERT, f"recvmsg() failed ({error.errno}: {error.strerror})")
                return
            if flags & _TRUNCATED:
                to_main_log(ErrorLevel.ALERT, "recvmsg() truncated data")
                continue
            local = _destination(ancillary, self._name) if ancillary else self._name
            key = (remote, local)
            session = self._sessions.get(key)
            if session is not None:
                session.datagram(data)
                continue
            settings = self._settings_for(local)
            self._sessions[key] = self._service.begin_datagram(self, data, remote, local, settings)

    def _settings_for(self, local: Address) -> SessionSettings:
        if not self.routes:
            return self.settings
        address = InetAddress(ipaddress.ip_address(local[0].partition("%")[0]), local[1])
        return self.routes.get(address, self.settings)


def _destination(ancillary: list[tuple[int, int, bytes]], name: Address) -> Address:
    """The local address a datagram came to: IP_PKTINFO's on a wildcard socket, else the socket's."""
    for level, kind, data in ancillary:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(data) >= _IN_PKTINFO.size:
            _, _, address = _IN_PKTINFO.unpack_from(data)
            return (socket.inet_ntop(socket.AF_INET, address), name[1])
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO and len(data) >= _IN6_PKTINFO.size:
            address, _ = _IN6_PKTINFO.unpack_from(data)
            return (socket.inet_ntop(socket.AF_INET6, address), name[1], 0, 0)
    return name


def _source(family: int, local: Address) -> tuple[int, int, bytes]:
    """The ancillary data that sends a datagram from `local` (ngx_set_srcaddr_cmsg)."""
    packed = socket.inet_pton(family, local[0])
    if family == socket.AF_INET6:
        return (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, _IN6_PKTINFO.pack(packed, 0))
    return (socket.IPPROTO_IP, IP_PKTINFO, _IN_PKTINFO.pack(0, packed, b"\0\0\0\0"))


class UpstreamPoller:
    """The upstream sockets of a listener's sessions, in an epoll set the event loop watches as one
    descriptor. Watching a socket is one epoll_ctl and its close takes it out of the set, as in nginx's
    epoll module; the loop's add_reader and remove_reader cost a handle, an ioctl and six epoll_ctl calls
    per socket."""

    __slots__ = ("_callbacks", "_epoll", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._epoll = select.epoll()
        self._callbacks: dict[int, Callable[[], None]] = {}

    def start(self) -> None:
        self._loop.add_reader(self._epoll.fileno(), self._ready)

    def close(self) -> None:
        if not self._epoll.closed:
            self._loop.remove_reader(self._epoll.fileno())
            self._epoll.close()

    def watch(self, fd: int, readable: Callable[[], None]) -> None:
        self._epoll.register(fd, select.EPOLLIN)
        self._callbacks[fd] = readable

    def unwatch(self, fd: int) -> None:
        """Stop watching a socket that stays open."""
        self._epoll.unregister(fd)
        self.closing(fd)

    def closing(self, fd: int) -> None:
        """Stop watching a socket about to be closed (its close takes it out of the set)."""
        del self._callbacks[fd]

    def _ready(self) -> None:
        callbacks = self._callbacks
        for fd, _ in self._epoll.poll(0, READ_BATCH):
            readable = callbacks.get(fd)  # None: closed by a callback before it in this batch
            if readable is not None:
                readable()


class IdleSessions:
    """The sessions of one server with their `proxy_timeout`, least recently active first, and one timer
    for the first of them: what a timer per session does, without making and cancelling one for each.
    The timer is not cancelled when the last session ends before it: it finds none then, and the next
    session arms it again; a run of sessions that each end within `proxy_timeout` makes one timer per
    `proxy_timeout`."""

    __slots__ = ("_loop", "_sessions", "_timeout", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout_s: float) -> None:
        self._loop = loop
        self._timeout = timeout_s
        self._sessions: OrderedDict[DatagramSession, None] = OrderedDict()
        self._timer: asyncio.TimerHandle | None = None

    def add(self, session: DatagramSession) -> None:
        self._sessions[session] = None
        if self._timer is None:
            self._timer = self._loop.call_at(session.active_at + self._timeout, self._expire)

    def active(self, session: DatagramSession) -> None:
        """The session has just passed a datagram on: its timeout starts again."""
        self._sessions.move_to_end(session)

    def remove(self, session: DatagramSession) -> None:
        self._sessions.pop(session, None)  # absent: it ended before its first datagram went out, or timed out

    def _expire(self) -> None:
        """End the sessions idle for `proxy_timeout` (the timer may fire a little early); wait for the
        next."""
        self._timer = None
        sessions, timeout = self._sessions, self._timeout
        while sessions:
            session = next(iter(sessions))
            deadline = session.active_at + timeout
            if self._loop.time() + _TIMER_SLACK < deadline:
                self._timer = self._loop.call_at(deadline, self._expire)
                return
            del sessions[session]
            session.timed_out()


class DatagramSession(StreamSession):
    """The datagrams of one client address, relayed to one upstream peer (see the module's documentation)."""

    protocol = "UDP"
    client_label = "udp client"
    socket_type = socket.SOCK_DGRAM

    __slots__ = (
        "_client_address",
        "_failed",
        "_first_byte_at",
        "_idle",
        "_listener",
        "_local",
        "_queue",
        "_sent",
        "_to_peer",
        "_up_received",
        "_upstream_eof",
        "_wired",
        "active_at",
        "key",
        "received",
        "requests",
        "responses",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        listener: DatagramListener,
        data: bytes,
        remote: Address,
        local: Address,
        *,
        settings: SessionSettings,
        host: SessionHost,
        connection: int,
    ) -> None:
        super().__init__(loop, listener.sock, remote, settings, host=host, connection=connection)
        self._listener = listener
        self._idle = listener.idle_sessions(settings)
        self._client_address = remote
        self._local = local
        self.key = (remote, local)
        self._queue: list[bytes] = [data]
        self.requests = 1
        self.received = len(data)  # from the client
        self.responses = 0
        self._sent = 0  # to the client
        self._to_peer = 0
        self._up_received = 0
        self.active_at = self._started  # the last datagram either way (or the connection to the peer)
        self._first_byte_at: float | None = None
        self._wired = False  # the peer's socket is connected and watched
        self._upstream_eof = False
        self._failed = False  # the peer refused or did not answer: it counts as failed

    # -- what the variables read

    @property
    def bytes_sent(self) -> int:
        return self._sent

    @property
    def bytes_received(self) -> int:
        return self.received

    def _texts(self) -> tuple[str, str, str, str, str]:
        texts = self._addresses
        if texts is None:
            family = self._listener.family
            remote_addr, remote_port, binary = address_texts(family, self._remote)
            server_addr, server_port, _ = address_texts(family, self._local)
            texts = self._addresses = (remote_addr, remote_port, binary, server_addr, server_port)
        return texts

    # -- from the client

    def datagram(self, data: bytes) -> None:
        """Another datagram from the client."""
        self.requests += 1
        self.received += len(data)
        self.active_at = self._loop.time()
        if self._wired:
            self._idle.active(self)
            self._send_upstream(data)
        else:
            self._queue.append(data)
        self._test_finalize()

    # -- to and from the peer

    def _connected(self) -> None:
        peer, upstream = self._peer, self._upstream
        assert peer is not None and upstream is not None
        now = self.active_at = self._loop.time()
        self._attempt.connect_ms = milliseconds(now - self._attempt_started)
        self._wired = True
        self._listener.poller.watch(upstream.fileno(), self._upstream_readable)
        self._idle.add(self)
        queued, self._queue = self._queue, []
        for data in queued:
            self._send_upstream(data)
            if self._finished:
                return
        self._test_finalize()

    def _send_upstream(self, data: bytes) -> None:
        upstream = self._upstream
        assert upstream is not None
        try:
            self._to_peer += upstream.send(data)
        except BlockingIOError:
            return  # the socket's buffer is full: the datagram is lost, as on the network
        except OSError as error:
            self._error(f"send() failed ({error.errno}: {error.strerror})", self._peer_name())
            self._finish(200)

    def _upstream_readable(self) -> None:
        upstream = self._upstream
        assert upstream is not None
        for _ in range(READ_BATCH):
            try:
                data = upstream.recv(DATAGRAM_MAX)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                self._upstream_refused(error)
                self._test_finalize()
                return
            self._answer(data)
            self._test_finalize()  # the answer that ends the session is the last one read
            if self._finished:
                return

    def _answer(self, data: bytes) -> None:
        now = self.active_at = self._loop.time()
        self._idle.active(self)
        if self._first_byte_at is None:
            self._first_byte_at = now
        self.responses += 1
        self._up_received += len(data)
        try:
            self._sent += self._listener.send(data, self._client_address, self._local)
        except (BlockingIOError, InterruptedError):
            pass  # the client's side is full: the datagram is lost, as on the network
        except OSError as error:
            self._error(f"sendmsg() failed ({error.errno}: {error.strerror})", self._peer_name())
            self._finish(200)

    def _upstream_refused(self, error: OSError) -> None:
        """nginx reads the error as an empty answer and the end of the peer's side; the peer failed."""
        self._error(
            f"recv() failed ({error.errno}: {error.strerror}) while proxying and reading from upstream",
            self._peer_name(),
        )
        self._failed = self._upstream_eof = True
        self.active_at = now = self._loop.time()
        self._idle.active(self)
        if self._first_byte_at is None:
            self._first_byte_at = now
        self.responses += 1
        assert self._upstream is not None
        self._listener.poller.unwatch(self._upstream.fileno())

    def _test_finalize(self) -> None:
        """ngx_stream_proxy_test_finalize for UDP."""
        if self._finished:
            return
        settings = self._settings
        if settings.requests:
            if self.requests < settings.requests:
                return
            self._listener.forget(self)
        if settings.responses is None or self.responses < settings.responses * self.requests:
            return
        if self._wired:
            self._finish(200)

    def timed_out(self) -> None:
        """`proxy_timeout` has passed without a datagram either way (IdleSessions)."""
        responses = self._settings.responses
        if responses is None or self.responses >= responses * self.requests:
            self._finish(200)  # "udp timed out"
            return
        text = os.strerror(errno.ETIMEDOUT)
        self._error(
            f"upstream timed out ({errno.ETIMEDOUT}: {text}) while proxying connection", self._peer_name()
        )
        self._failed = True
        self._finish(_BAD_GATEWAY)

    # -- finishing

    def _close_sockets(self) -> None:
        self._listener.forget(self)
        self._idle.remove(self)
        upstream = self._upstream
        if upstream is not None:
            if self._wired and not self._upstream_eof:
                self._listener.poller.closing(upstream.fileno())
            upstream.close()

    def _release_peer(self, balancer: Balancer, peer: Peer, now: float) -> None:
        if self._failed:
            balancer.failed(peer, now)
        else:
            balancer.succeeded(peer, now)
        balancer.released(peer)

    def _settle_attempt(self, now: float) -> None:
        if self._peer is None:
            return
        attempt = self._attempt
        attempt.session_ms = milliseconds(now - self._attempt_started)
        attempt.bytes_sent = self._to_peer
        attempt.bytes_received = self._up_received
        if self._first_byte_at is not None:
            attempt.first_byte_ms = milliseconds(self._first_byte_at - self._attempt_started)

    def _traffic(self) -> str:
        return (
            f"bytes from/to client:{self.received}/{self._sent},"
            f" bytes from/to upstream:{self._up_received}/{self._to_peer}"
        )
