"""UDP in a stream server (`listen ... udp`), as nginx 1.22 proxies datagrams (ngx_event_udp.c and the
UDP parts of ngx_stream_proxy_module.c).

A `DatagramListener` reads its socket; each datagram belongs to the session of its client's address (and,
on a wildcard socket, of the local address it came to, read from IP_PKTINFO), made by the first datagram
from that address: so a client's queries and their answers go through one upstream peer while its
session lasts. A session goes through the server's phases as a TCP one does (`set`, `allow`/`deny`;
`ssl_preread` declines on UDP, as nginx's), picks a peer with the group's balancer (`proxy_pass` with a
variable included), and sends each datagram of its client to the peer from a UDP socket connected to it
(`proxy_bind`, `proxy_socket_keepalive` applied first); each datagram the peer sends back goes to the
client from the listening socket (from the address the client wrote to). A UDP connect() succeeds or
fails at once: a peer that cannot be reached (ENETUNREACH...) is counted as failed and the next one tried
as `proxy_next_upstream` and `proxy_next_upstream_tries` allow; `proxy_next_upstream_timeout` cannot pass
then, as in nginx, whose clock does not move between the tries of one event.

A session ends (status 200, "udp done") once the peer has sent `proxy_responses` datagrams for each
datagram of the client; or, with `proxy_requests`, only once the client has sent that many (the next
datagram from that address begins a new session); or when `proxy_timeout` passes without a datagram
either way: then with 200 if the answers expected have come (or no `proxy_responses` is set), else with
nginx's `upstream timed out` error, 502, and the peer counted as failed. A peer that refuses (an ICMP
port unreachable, read as ECONNREFUSED) counts as an answer and as the peer's failure: nginx's
`recv() failed (111: Connection refused)` line, and the session goes on as its rules say.

Datagrams are read and sent whole (up to 65535 bytes). The variables are the TCP session's (the same
getters read a `DatagramSession`), with `$protocol` UDP: `$bytes_received` counts every datagram of the
client, the first included; `$upstream_connect_time` is 0.000, as nginx's.

What a session costs is kept to nginx's system calls or fewer (docs/request-cost.md, "UDP sessions"):
the upstream socket is made non-blocking by socket() itself, connected, and watched in an epoll set of
the listener's own (`UpstreamPoller`: one epoll_ctl, and its close takes it out), not through the event
loop's add_reader; the answer that ends the session is the last datagram read from it. The sessions of
one server share one timer for `proxy_timeout` (`IdleSessions`), where a timer each would be made and
cancelled per session. A `DatagramSession` is not a TCP `StreamSession`: it sets a third of the
attributes, reads the clock when a datagram moves (not at each step), makes the numbers of its upstream
tries only when a variable reads them, and touches nothing a feature its server does not use would need.
"""

from __future__ import annotations

import _socket
import asyncio
import errno
import ipaddress
import os
import re
import select
import socket
import struct
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from hapair.config.nginx.model.addresses import InetAddress
from hapair.config.nginx.model.logging import ErrorLevel
from hapair.proxy.balancer import Balancer, Peer, Selection
from hapair.proxy.proxy_protocol import ProxyAddresses

from ..errorlog import to_main_log
from .clienthello import Hello
from .native_datagram import make
from .session import (
    SessionEnds,
    SessionSettings,
    address_texts,
    connect_failure,
    denied,
    milliseconds,
    prepare_upstream,
)
from .target import Group, TargetError
from .variables import UpstreamAttempt

DATAGRAM_MAX = 65535
READ_BATCH = 64  # datagrams read per readiness event before the other connections get their turn
RECEIVE_BATCH = 16  # datagrams the extension reads with one recvmmsg() (_native_datagram.c's)
_FORBIDDEN, _INTERNAL_ERROR, _BAD_GATEWAY = 403, 500, 502
# a session's socket to its peer: non-blocking from the start (no ioctl of its own), and of the C type
# itself, whose making and closing cost half a microsecond less than socket.socket's Python methods
_UPSTREAM_TYPE = socket.SOCK_DGRAM | socket.SOCK_NONBLOCK
_TRUNCATED = int(socket.MSG_TRUNC | socket.MSG_CTRUNC)  # an int: the flags recvmsg gives are one
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux's, when Python's socket module lacks the name
_IN_PKTINFO = struct.Struct("=i4s4s")  # ipi_ifindex, ipi_spec_dst, ipi_addr
_IN6_PKTINFO = struct.Struct("=16si")  # ipi6_addr, ipi6_ifindex
_ANCILLARY_SIZE = socket.CMSG_SPACE(_IN6_PKTINFO.size)
_INET_FAMILIES = (int(socket.AF_INET), int(socket.AF_INET6))  # what native_datagram.py connects to

Address = tuple[str, int] | tuple[str, int, int, int]  # what recvmsg gives for the client
Ancillary = tuple[int, int, bytes]  # one item of recvmsg's and sendmsg's ancillary data


class Ended(NamedTuple):
    """What the extension counted of a session until it ended, as its poll() and remove() give it: the
    extension's own `Ended`, a struct sequence (a tuple whose items are also read by name) of these fields
    in this order (test_native_datagram checks that they agree). Declared here for its types, and so that
    the compiled module reads each field as a tuple's item (mypyc does for a NamedTuple); never made here."""

    handle: int
    status: int  # 200, 502 (timed out before the answers awaited came); 0: removed while going on
    failed: int  # 1: the peer counts as failed
    responses: int  # a refusal counts as one
    to_peer: int
    up_received: int
    sent: int  # to the client
    first_byte_s: float  # from `add`; -1.0: no answer came
    ended_s: float  # from `add`
    sendmsg_errno: int  # the failed sendmsg() to the client that ended the session, else 0
    refused_errno: int  # the peer refused (ECONNREFUSED), else 0; then the counts of that moment:
    refused_to_peer: int
    refused_up_received: int
    refused_sent: int


class LocalEnd:
    """An address of this host that datagrams come to on a listener: the server whose sessions they begin
    (a wildcard socket serves the `listen`s of specific addresses on its port), that server's
    `proxy_timeout` timer, and the ancillary data that sends answers from the address (None: the socket's
    own address). One object per address, so that a session's key hashes and compares by identity; the
    address's texts made once for the sessions' variables; whether the server's sessions may do their
    socket work in C (native_datagram.py: not with `proxy_requests`, `proxy_responses 0`, `proxy_bind` or
    `proxy_socket_keepalive`), with the IP_PKTINFO data answers are sent with."""

    __slots__ = ("address", "idle", "native", "pktinfo", "settings", "source", "texts", "timeout_ms")

    def __init__(
        self, address: Address, settings: SessionSettings, idle: IdleSessions, source: list[Ancillary] | None
    ) -> None:
        self.address = address
        self.settings = settings
        self.idle = idle
        self.source = source
        self.texts: tuple[str, str] | None = None  # $server_addr and $server_port, made when first read
        self.native = (
            not settings.requests
            and settings.responses != 0
            and settings.local is None
            and not settings.socket_keepalive
        )
        self.pktinfo = b"" if source is None else source[0][2]
        self.timeout_ms = max(0, round(settings.idle_timeout_s * 1000))


class DatagramListener:
    """A UDP socket of the stream servers and the sessions of its clients."""

    __slots__ = (
        "_ancillary",
        "_arrivals",
        "_idle",
        "_local",
        "_locals",
        "_sessions",
        "family",
        "fd",
        "host",
        "loop",
        "natives",
        "owned",
        "poller",
        "routes",
        "settings",
        "sock",
    )

    def __init__(
        self,
        host: DatagramHost,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        settings: SessionSettings,
        routes: dict[InetAddress, SessionSettings],
        *,
        natives: NativeChoice,
        owned: bool,
        wildcard: bool,
    ) -> None:
        self.host = host
        self.loop = loop
        self.sock = sock
        self.settings = settings
        self.routes = routes  # servers of specific addresses served by this wildcard socket
        self.owned = owned
        self._sessions: dict[tuple[Address, LocalEnd], DatagramSession] = {}
        self.family = sock.family  # read once: the socket's property makes an enum each time
        self.fd = sock.fileno()
        self.natives = natives  # whether the worker's sessions are in C (the socket is AF_INET or AF_INET6)
        self.poller = UpstreamPoller(self.loop)
        self._idle = {
            id(server): IdleSessions(self.loop, server.idle_timeout_s)
            for server in (settings, *routes.values())
        }
        # the socket's own address; on a wildcard socket, the one a datagram without IP_PKTINFO came to
        self._local = LocalEnd(sock.getsockname(), settings, self._idle[id(settings)], None)
        self._locals: dict[Address, LocalEnd] = {}  # on a wildcard socket: the host's addresses seen
        self._arrivals: dict[bytes, LocalEnd] = {}  # the same by IP_PKTINFO's bytes (interface, addresses)
        self._ancillary = 0
        if wildcard:  # nginx asks for each datagram's local address on a wildcard socket
            if sock.family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
            self._ancillary = _ANCILLARY_SIZE

    def start(self) -> None:
        self.loop.add_reader(self.sock.fileno(), self._receive)
        self.poller.start()

    def stop(self) -> None:
        """Stop reading; the sessions end with the socket (nginx: "disconnected on shutdown"). Those past
        their `proxy_requests` go on until they end (then `close`)."""
        self.loop.remove_reader(self.sock.fileno())
        for session in list(self._sessions.values()):
            session.close()
        if self.owned:
            self.sock.close()

    def close(self) -> None:
        """Once the last session has ended."""
        self.poller.close()

    def send(self, data: bytes, remote: Address, local: LocalEnd) -> int:
        """A datagram to `remote`, from `local`."""
        if local.source is None:
            return self.sock.sendto(data, remote)
        return self.sock.sendmsg([data], local.source, 0, remote)

    def forget(self, session: DatagramSession) -> None:
        """The next datagram from the session's client begins a new session."""
        key = session.key
        if self._sessions.get(key) is session:
            del self._sessions[key]

    def _receive(self) -> None:
        native = self.natives.native()
        if native is not None:
            self._receive_batches(native)
            return
        sock, size = self.sock, self._ancillary
        for _ in range(READ_BATCH):
            try:
                data, ancillary, flags, remote = sock.recvmsg(DATAGRAM_MAX, size)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                to_main_log(ErrorLevel.ALERT, f"recvmsg() failed ({error.errno}: {error.strerror})")
                return
            if flags & _TRUNCATED:
                to_main_log(ErrorLevel.ALERT, "recvmsg() truncated data")
                continue
            self._datagram(data, ancillary, remote)

    def _receive_batches(self, native: NativeDatagrams) -> None:
        """The extension's recvmmsg(), RECEIVE_BATCH datagrams a call."""
        sessions, fd, ancillary = native.sessions, self.fd, self._ancillary != 0
        for _ in range(READ_BATCH // RECEIVE_BATCH):
            try:
                received: list[tuple[bytes, Any, Address] | None] = sessions.receive(fd, ancillary)
            except OSError as error:
                to_main_log(ErrorLevel.ALERT, f"recvmsg() failed ({error.errno}: {error.strerror})")
                return
            for item in received:
                if item is None:
                    to_main_log(ErrorLevel.ALERT, "recvmsg() truncated data")
                else:
                    self._datagram(item[0], item[1], item[2])
            if len(received) < RECEIVE_BATCH:
                return

    def _datagram(self, data: bytes, ancillary: Any, remote: Address) -> None:
        """A datagram to the session of its client (and local) address, or the first of a new one."""
        local = self._local
        if ancillary:
            local = self._arrivals.get(ancillary[0][2]) or self._arrival(ancillary)
        key = (remote, local)
        session = self._sessions.get(key)
        if session is not None:
            session.datagram(data)
        else:
            self._sessions[key] = self.host.begin_datagram(self, data, remote, local)

    def _arrival(self, ancillary: list[Ancillary]) -> LocalEnd:
        """The local address a datagram came to, by IP_PKTINFO, remembered by the option's bytes: as
        many as the host has addresses (times its interfaces)."""
        address = _destination(ancillary, self._local.address)
        local = self._locals.get(address)
        if local is None:
            settings = self._settings_for(address)
            idle = self._idle[id(settings)]
            local = self._locals[address] = LocalEnd(address, settings, idle, [_source(self.family, address)])
        self._arrivals[ancillary[0][2]] = local
        return local

    def _settings_for(self, local: Address) -> SessionSettings:
        if not self.routes:
            return self.settings
        address = InetAddress(ipaddress.ip_address(local[0].partition("%")[0]), local[1])
        return self.routes.get(address, self.settings)


def _destination(ancillary: list[Ancillary], name: Address) -> Address:
    """The local address a datagram came to: IP_PKTINFO's on a wildcard socket, else the socket's."""
    for level, kind, data in ancillary:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(data) >= _IN_PKTINFO.size:
            _, _, address = _IN_PKTINFO.unpack_from(data)
            return (socket.inet_ntop(socket.AF_INET, address), name[1])
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO and len(data) >= _IN6_PKTINFO.size:
            address, _ = _IN6_PKTINFO.unpack_from(data)
            return (socket.inet_ntop(socket.AF_INET6, address), name[1], 0, 0)
    return name


def _source(family: int, local: Address) -> Ancillary:
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


class NativeDatagrams:
    """The worker's UDP sessions whose socket work the extension does (native_datagram.py); the loop
    watches its epoll set. `sessions.add(...)` gives a session's handle, by which `owners` keeps it."""

    __slots__ = ("_loop", "owners", "sessions")

    def __init__(self, loop: asyncio.AbstractEventLoop, sessions: Any) -> None:
        self._loop = loop
        self.sessions = sessions
        self.owners: dict[int, DatagramSession] = {}
        loop.add_reader(sessions.fileno(), self._poll)

    def remove(self, handle: int) -> Ended:
        """End a session now (status 0)."""
        del self.owners[handle]
        ended: Ended = self.sessions.remove(handle)
        return ended

    def close(self) -> None:
        """The service is closed: no session is left."""
        self._loop.remove_reader(self.sessions.fileno())
        self.sessions.close()

    def _poll(self) -> None:
        owners = self.owners
        ended_sessions: list[Ended] = self.sessions.poll()
        for ended in ended_sessions:
            owners.pop(ended.handle).datagrams_ended(ended)


class NativeChoice:
    """Whether the worker's UDP sessions do their socket work in the extension, and its `NativeDatagrams`
    when they do: the one place that decides, made by the service for all its listeners. The extension's
    sessions are made at the first call (the first datagram of an AF_INET or AF_INET6 listener), never
    before; None from then on when it is not built (or stale, or pure Python is asked) or could not start."""

    __slots__ = ("_decided", "_loop", "_native")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._decided = False
        self._native: NativeDatagrams | None = None

    def native(self) -> NativeDatagrams | None:
        if not self._decided:
            self._decided = True
            sessions = make()
            self._native = None if sessions is None else NativeDatagrams(self._loop, sessions)
        return self._native

    def close(self) -> None:
        """The service is closed: no session is left."""
        native, self._native = self._native, None
        if native is not None:
            native.close()


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
        """End the sessions idle for `proxy_timeout`, never before it has passed (as nginx; the timer may
        fire a little early, and is then set again for what is left); wait for the next."""
        self._timer = None
        sessions, timeout = self._sessions, self._timeout
        while sessions:
            session = next(iter(sessions))
            deadline = session.active_at + timeout
            if self._loop.time() < deadline:
                self._timer = self._loop.call_at(deadline, self._expire)
                return
            del sessions[session]
            session.timed_out()


class DatagramHost(Protocol):
    """The service running the sessions."""

    def begin_datagram(
        self,
        listener: DatagramListener,
        data: bytes,
        remote: Address,
        local: LocalEnd,
    ) -> DatagramSession:
        """Start the session of a client address's first datagram."""

    def session_finished(self, session: DatagramSession) -> None: ...


class DatagramSession(SessionEnds):
    """The datagrams of one client address, relayed to one upstream peer (see the module's documentation).

    It keeps what a UDP session needs and no more: no relay state, no timers of its own; the numbers the
    variables read of its upstream tries (`attempts`) are made when they are read."""

    protocol = "UDP"  # $protocol
    hello: Hello | None = None  # nothing is preread on UDP
    proxy_header: ProxyAddresses | None = None  # a UDP listen has no PROXY protocol
    tls: dict[str, str | None] | None = None

    __slots__ = (
        "_attempt_started",
        "_balancer",
        "_earlier",
        "_ended_at",
        "_ended_wall",
        "_failed",
        "_first_byte_at",
        "_idle",
        "_listener",
        "_local",
        "_loop",
        "_native",
        "_native_handle",
        "_proxying",
        "_queue",
        "_remote",
        "_resolving",
        "_sent",
        "_started",
        "_to_peer",
        "_tried",
        "_up_received",
        "_upstream",
        "_upstream_eof",
        "active_at",
        "connection",
        "key",
        "match",
        "received",
        "requests",
        "responses",
        "status",
        "values",
    )

    def __init__(
        self,
        listener: DatagramListener,
        data: bytes,
        remote: Address,
        local: LocalEnd,
        connection: int,
    ) -> None:
        loop = self._loop = listener.loop
        self._listener = listener
        settings = self._settings = local.settings
        self._idle = local.idle
        self._remote = remote
        self._local = local
        self.key = (remote, local)
        self.connection = connection
        self.status = 0
        self.values: dict[str, str | None] | None = {} if settings.keeps_values else None
        self.match: re.Match[str] | None = None
        self._addresses: tuple[str, str, str, str, str] | None = None
        self._started = self.active_at = loop.time()  # active_at: the last datagram either way
        self._ended_at: float | None = None
        self._proxying = False  # the content phase has begun: errors carry the proxy's context
        self._resolving: asyncio.Task[Group] | None = None
        self._queue: list[bytes] | None = [data]  # None: the peer's socket is connected and watched
        self.requests = 1
        self.received = len(data)  # from the client
        self.responses = 0
        self._sent = 0  # to the client
        self._to_peer = 0
        self._up_received = 0
        self._earlier: list[UpstreamAttempt] | None = None  # the tries before the peer's, if any
        self._balancer: Balancer | None = None
        self._peer: Peer | None = None
        self._upstream: _socket.socket | None = None
        self._native: NativeDatagrams | None = None  # native_datagram.py has the socket, until the end
        self._native_handle = 0
        self._first_byte_at: float | None = None
        self._upstream_eof = False
        self._failed = False  # the peer refused or did not answer: it counts as failed

    def start(self) -> None:
        settings = self._settings
        if (settings.sets or settings.access is not None) and denied(settings, self, self._listener.family):
            self._error("access forbidden by rule while initializing session")
            self._finish(_FORBIDDEN)
            return
        self._proxying = True
        group = settings.group
        if group is not None:
            self._begin(group, self._started)
            return
        assert settings.target is not None
        try:
            found = settings.target.find(self)
        except TargetError as error:
            self._error(str(error))
            self._finish(_INTERNAL_ERROR)
            return
        if isinstance(found, Group):
            self._begin(found, self._loop.time())
        else:
            task = self._resolving = self._loop.create_task(found)
            task.add_done_callback(self._resolved)

    def close(self) -> None:
        """End the session now (the service is stopping: nginx's "disconnected on shutdown")."""
        native = self._native
        if native is not None:
            self.datagrams_ended(native.remove(self._native_handle))
            return
        self._finish(200)

    # -- what the variables read (variables.SessionView)

    @property
    def realip_remote_addr(self) -> str:
        return self.remote_addr

    @property
    def realip_remote_port(self) -> str:
        return self.remote_port

    @property
    def bytes_sent(self) -> int:
        return self._sent

    @property
    def bytes_received(self) -> int:
        return self.received

    @property
    def attempts(self) -> list[UpstreamAttempt]:
        """The upstreams tried (ngx_stream_upstream_state_t), made as they are read: the tries that
        failed, then the peer's. The peer's connect time is 0: a UDP connect() completes at once, and nginx
        reads both times from the clock it caches per event."""
        attempts = list(self._earlier or ())
        peer = self._peer
        if peer is None:
            return attempts
        started, ended = self._attempt_started, self._ended_at
        attempt = UpstreamAttempt(peer.name, 0 if self._queue is None else None)
        if self._first_byte_at is not None:
            attempt.first_byte_ms = milliseconds(self._first_byte_at - started)
        if ended is not None:
            attempt.session_ms = milliseconds(ended - started)
            attempt.bytes_sent = self._to_peer
            attempt.bytes_received = self._up_received
        attempts.append(attempt)
        return attempts

    def session_ms(self) -> int:
        end = self._ended_at if self._ended_at is not None else self._loop.time()
        return milliseconds(end - self._started)

    def wall_time(self) -> float:
        return self._ended_wall if self._ended_at is not None else time.time()

    def _texts(self) -> tuple[str, str, str, str, str]:
        """The addresses' texts: the server's made once per local address (`LocalEnd`)."""
        texts = self._addresses
        if texts is None:
            family, local = self._listener.family, self._local
            server = local.texts
            if server is None:
                server_addr, server_port, _ = address_texts(family, local.address)
                server = local.texts = (server_addr, server_port)
            remote_addr, remote_port, binary = address_texts(family, self._remote)
            texts = self._addresses = (remote_addr, remote_port, binary, server[0], server[1])
        return texts

    # -- connecting: a UDP socket connects at once, or fails at once

    def _resolved(self, task: asyncio.Task[Group]) -> None:
        self._resolving = None
        if task.cancelled() or self._ended_at is not None:
            return
        error = task.exception()
        if isinstance(error, TargetError):
            self._error(str(error))
            self._finish(_INTERNAL_ERROR)
        elif error is not None:
            self._finish(_INTERNAL_ERROR)
            raise error
        else:
            self._begin(task.result(), self._loop.time())

    def _begin(self, group: Group, now: float) -> None:
        balancer = self._balancer = group.balancer
        self._tried: Selection = balancer.selection(b"" if group.key is None else group.key(self))
        self._connect(now)

    def _connect(self, now: float) -> None:
        """The next peer: its socket made non-blocking by socket() itself, connected, and watched in the
        listener's epoll set."""
        balancer = self._balancer
        assert balancer is not None
        peer = balancer.pick(now, self._tried)
        if peer is None:
            self._tried_one(UpstreamAttempt(balancer.upstream.name))
            self._error("no live upstreams while connecting to upstream", balancer.upstream.name)
            self._finish(_BAD_GATEWAY)
            return
        balancer.connected(peer)
        self._peer = peer
        self._attempt_started = now
        if self._local.native and peer.family in _INET_FAMILIES:
            native = self._listener.natives.native()
            if native is not None:
                self._connect_native(native, peer, now)
                return
        try:
            upstream = self._upstream = _socket.socket(peer.family, _UPSTREAM_TYPE)
        except OSError as error:
            self._error(f"socket() failed ({error.errno}: {error.strerror})", peer.name)
            self._finish(_INTERNAL_ERROR)
            return
        settings = self._settings
        if settings.local is not None or settings.socket_keepalive:
            failed = prepare_upstream(upstream, settings, self, self._error)
            if failed is not None:
                self._error(failed, peer.name, ErrorLevel.CRIT)
                self._finish(_INTERNAL_ERROR)
                return
        code = upstream.connect_ex(peer.sockaddr)
        if code:
            self._connect_failed(*connect_failure(peer.name, code), now)
            return
        self._listener.poller.watch(upstream.fileno(), self._upstream_readable)
        self._idle.add(self)
        queued, self._queue = self._queue, None
        assert queued is not None
        for data in queued:
            self._send_upstream(data)
            if self._ended_at is not None:
                return
        self._test_finalize()

    def _connect_native(self, native: NativeDatagrams, peer: Peer, now: float) -> None:
        """The extension's: the socket made and connected, the queries sent, the answers read."""
        queued, local, responses = self._queue, self._local, self._settings.responses
        assert queued is not None
        try:
            handle: int = native.sessions.add(
                self._listener.fd,
                peer.family,
                peer.sockaddr,
                self._remote,
                local.pktinfo,
                local.timeout_ms,
                -1 if responses is None else responses,
                queued[0],
            )
        except OSError as error:
            self._native_refused(error, peer, now)
            return
        native.owners[handle] = self
        self._native_handle = handle
        self._native, self._queue = native, None
        for data in queued[1:]:
            self._send_native(native, data)
            if self._native is None:
                return

    def _native_refused(self, error: OSError, peer: Peer, now: float) -> None:
        """The extension could not begin the session: the call that failed is the error's filename."""
        call, code = error.filename, error.errno
        if call == "connect":
            assert code is not None  # the extension's errors carry the call's errno
            self._connect_failed(*connect_failure(peer.name, code), now)
        elif call == "send":
            self._queue = None
            self._error(f"send() failed ({code}: {error.strerror})", peer.name)
            self._finish(200)
        else:
            self._error(f"{call}() failed ({code}: {error.strerror})", peer.name)
            self._finish(_INTERNAL_ERROR)

    def _connect_failed(self, reason: str, level: ErrorLevel, now: float) -> None:
        """ngx_stream_proxy_next_upstream: the peer failed; the next one, if the rules allow.
        `proxy_next_upstream_timeout` cannot pass: the tries of a UDP session are all made at once."""
        peer, upstream, balancer = self._peer, self._upstream, self._balancer
        assert peer is not None and balancer is not None
        self._error(f"{reason} while connecting to upstream", peer.name, level)
        balancer.failed(peer, now)
        balancer.released(peer)
        self._tried_one(UpstreamAttempt(peer.name, session_ms=milliseconds(now - self._attempt_started)))
        if upstream is not None:  # None: native_datagram.py's, closed already
            upstream.close()
        self._peer = self._upstream = None
        settings = self._settings
        tries, limit = balancer.tries, settings.next_upstream_tries
        if len(self._earlier or ()) >= (min(tries, limit) if limit else tries) or not settings.next_upstream:
            self._finish(_BAD_GATEWAY)
        else:
            self._connect(now)

    def _tried_one(self, attempt: UpstreamAttempt) -> None:
        if self._earlier is None:
            self._earlier = []
        self._earlier.append(attempt)

    # -- from the client

    def datagram(self, data: bytes) -> None:
        """Another datagram from the client."""
        self.requests += 1
        self.received += len(data)
        self.active_at = self._loop.time()
        native = self._native
        if native is not None:
            self._send_native(native, data)
            return
        if self._queue is None:
            self._idle.active(self)
            self._send_upstream(data)
        else:
            self._queue.append(data)
        self._test_finalize()

    def _send_native(self, native: NativeDatagrams, data: bytes) -> None:
        try:
            native.sessions.send(self._native_handle, data)
        except OSError as error:
            self._native_counts(native.remove(self._native_handle))
            self._error(f"send() failed ({error.errno}: {error.strerror})", self._peer_name())
            self._finish(200)

    def datagrams_ended(self, ended: Ended) -> None:
        """The extension has ended the session (or `remove` has: status 0, ended now, with 200): its counts,
        nginx's error log lines, the end."""
        status, refused, sendmsg_errno = ended.status, ended.refused_errno, ended.sendmsg_errno
        if refused:  # the line as it would have been written then, with the counts of then
            self._to_peer, self._up_received, self._sent = (
                ended.refused_to_peer,
                ended.refused_up_received,
                ended.refused_sent,
            )
            self._error(
                f"recv() failed ({refused}: {os.strerror(refused)}) while proxying and reading from upstream",
                self._peer_name(),
            )
        ended_at = self._native_counts(ended)
        if sendmsg_errno:
            text = os.strerror(sendmsg_errno)
            self._error(f"sendmsg() failed ({sendmsg_errno}: {text})", self._peer_name())
        elif status == _BAD_GATEWAY:
            self._timed_out_line()
        self._finish(status or 200, ended_at)

    def _native_counts(self, ended: Ended) -> float:
        """What the extension counted, taken over; when the session ended there, on the loop's clock."""
        self._native = None
        started = self._attempt_started
        self._failed = bool(ended.failed)
        self.responses, self._to_peer = ended.responses, ended.to_peer
        self._up_received, self._sent = ended.up_received, ended.sent
        first_byte_s = ended.first_byte_s
        if first_byte_s >= 0:
            self._first_byte_at = started + first_byte_s
        ended_at = self.active_at = started + ended.ended_s
        return ended_at

    # -- to and from the peer

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
            if self._ended_at is not None:
                return
            self._idle.active(self)

    def _answer(self, data: bytes) -> None:
        now = self.active_at = self._loop.time()
        if self._first_byte_at is None:
            self._first_byte_at = now
        self.responses += 1
        self._up_received += len(data)
        try:
            self._sent += self._listener.send(data, self._remote, self._local)
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
        if self._ended_at is not None:
            return
        settings = self._settings
        if settings.requests:
            if self.requests < settings.requests:
                return
            self._listener.forget(self)
        if settings.responses is None or self.responses < settings.responses * self.requests:
            return
        if self._queue is None:
            self._finish(200, self.active_at)

    def timed_out(self) -> None:
        """`proxy_timeout` has passed without a datagram either way (IdleSessions)."""
        responses = self._settings.responses
        if responses is None or self.responses >= responses * self.requests:
            self._finish(200)  # "udp timed out"
            return
        self._timed_out_line()
        self._failed = True
        self._finish(_BAD_GATEWAY)

    def _timed_out_line(self) -> None:
        text = os.strerror(errno.ETIMEDOUT)
        self._error(
            f"upstream timed out ({errno.ETIMEDOUT}: {text}) while proxying connection", self._peer_name()
        )

    # -- finishing

    def _finish(self, status: int, now: float | None = None) -> None:
        """Log the session, close the peer's socket and release the peer. `now`: the time just read, if
        the caller has it."""
        if self._ended_at is not None:
            return
        self.status = status
        self._ended_at = now = self._loop.time() if now is None else now
        if self._resolving is not None:
            self._resolving.cancel()
        logs = self._settings.logs
        if logs:
            self._ended_wall = time.time()
            for access_log in logs:
                access_log.write(self)
        listener = self._listener
        listener.forget(self)
        self._idle.remove(self)
        upstream = self._upstream
        if upstream is not None:
            if self._queue is None and not self._upstream_eof:
                listener.poller.closing(upstream.fileno())
            upstream.close()
        peer, balancer = self._peer, self._balancer
        if peer is not None and balancer is not None:
            if self._failed:
                balancer.failed(peer, now)
            else:
                balancer.succeeded(peer, now)
            balancer.released(peer)
        listener.host.session_finished(self)

    def _error(self, message: str, upstream: str | None = None, level: ErrorLevel = ErrorLevel.ERROR) -> None:
        """nginx's error log line: `*N message, udp client: …, server: …`, and once proxying,
        `, upstream: "…", bytes from/to …` (ngx_stream_log_error, ngx_stream_proxy_log_error)."""
        settings = self._settings
        context = f"udp client: {self.remote_addr}, server: {settings.server}"
        if self._proxying:
            if upstream:
                context += f', upstream: "{upstream}"'
            context += (
                f", bytes from/to client:{self.received}/{self._sent},"
                f" bytes from/to upstream:{self._up_received}/{self._to_peer}"
            )
        settings.error_log(level, f"*{self.connection} {message}, {context}")
