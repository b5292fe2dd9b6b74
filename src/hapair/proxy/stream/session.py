"""One client connection of a stream server, through nginx's stream phases (ngx_stream_core_module's
phase engine, ngx_stream_proxy_module).

0. Before proxying, what the server has of them: the preaccess phase (`set`, in order), the access phase
   (`allow`/`deny`: a refused client is logged, `access forbidden by rule`, and the session ends with
   403), the preread phase (`ssl_preread on`: the client's first bytes are read, up to
   `preread_buffer_size` and within `preread_timeout`, until the ClientHello is read or found not to be
   one; a full buffer ends the session with 400, the client's EOF or the timeout with 200, as nginx's).
   A server with none of them goes straight to 1.
1. Connecting: the upstream is the server's group, or the one its `proxy_pass` value names for this
   session (target.py; a value leading nowhere ends the session with 500). A peer is picked by the
   group's balancer and connected to without blocking, within `proxy_connect_timeout`. A refused or
   timed-out connection marks the peer failed and the next one is tried (`proxy_next_upstream`, on by
   default), as long as the balancer has tries left (`proxy_next_upstream_tries` caps them) and
   `proxy_next_upstream_timeout` has not passed since the first; then the session ends with status 502
   ("no live upstreams" when the balancer has no peer to offer).
2. Relaying: what was preread goes to the upstream first; then one `Direction` each way (splice through
   a pipe once a read is large, or buffered copies), or, when both sockets are plain and splice is
   allowed, the worker's native relay (native.py: a C thread relays the same way and reports the end).
   Without `half_close` (nginx's default, `proxy_half_close off`) the session ends as soon as one side
   says EOF and what it sent has been passed on; with it, the EOF is passed on (shutdown(SHUT_WR)) and
   the session ends when both sides have said EOF. `proxy_timeout` ends a session idle in both
   directions (status 200, as nginx).
3. Finishing: sockets closed, the peer released, the access log lines written.

Status codes are nginx's stream ones: 200 (also for timeouts and resets once connected), 400, 403, 502
(no upstream reached), 500 (a local failure: no socket or pipe could be made; a `proxy_pass` value leading
nowhere).

The session is what the variables read (variables.SessionView). As nginx, `$bytes_received` does not
count the preread bytes, and the upstream's `$upstream_bytes_sent` does.
"""

from __future__ import annotations

import _socket
import asyncio
import errno
import ipaddress
import os
import re
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from socket import inet_pton
from typing import Final, Protocol

from hapair.config.nginx.model.addresses import InetAddress, ipv6_text
from hapair.config.nginx.model.logging import ErrorLevel
from hapair.config.nginx.model.stream import StreamPreread
from hapair.config.nginx.model.tls import ClientCertificates
from hapair.config.nginx.urls import parse_addr_port
from hapair.proxy.balancer import Balancer, Peer, Selection
from hapair.proxy.http.realip import Address, Trusted, parse_addr
from hapair.proxy.proxy_protocol import MAX_HEADER, HeaderError, ProxyAddresses, read_header, write_v1

from .access import AccessRulesCheck
from .accesslog import AccessLogWriter
from .clienthello import ClientHelloReader, Hello, Verdict
from .native import NativeRelay, Outcome
from .relay import CopyDirection, Direction, PipePool, SpliceDirection
from .target import DynamicTarget, Group, TargetError
from .tls import Handshake, UpstreamSessions, client_refusal, tls_values
from .variables import SessionView, StreamTemplate, UpstreamAttempt

# the timer may fire a little before its time; a session this close to its idle deadline is idle
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)  # Linux's, when Python lacks it
_FORBIDDEN, _BAD_REQUEST, _INTERNAL_ERROR, _BAD_GATEWAY = 403, 400, 500, 502
# a connect() failing at once with these is logged at `error`, with others at `crit` (ngx_event_connect_peer)
CONNECT_ERRORS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.EAGAIN,
        errno.ECONNRESET,
        errno.ENETDOWN,
        errno.ENETUNREACH,
        errno.EHOSTDOWN,
        errno.EHOSTUNREACH,
    }
)


def connect_failure(peer: str, code: int) -> tuple[str, ErrorLevel]:
    """The error log line and its level for a connect() to `peer` that failed at once with `code`."""
    level = ErrorLevel.ERROR if code in CONNECT_ERRORS else ErrorLevel.CRIT
    return f"connect() to {peer} failed ({code}: {os.strerror(code)})", level


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """What every session of one stream `server` shares."""

    group: Group | None  # None: `target` names it per session
    connect_timeout_s: float
    idle_timeout_s: float  # proxy_timeout
    half_close: bool
    splice: bool  # False: buffered copies
    logs: tuple[AccessLogWriter, ...]
    server: str  # the listen address, for error messages ("server: 0.0.0.0:8080")
    error_log: Callable[[ErrorLevel, str], None]  # the server's error_log, else the main one
    target: DynamicTarget | None = None
    access: AccessRulesCheck | None = None
    sets: tuple[tuple[str, StreamTemplate], ...] = ()
    preread: StreamPreread | None = None
    tcp_nodelay: bool = True
    next_upstream: bool = True
    next_upstream_tries: int = 0  # 0: the group's
    next_upstream_timeout_s: float = 0.0  # 0: none
    keeps_values: bool = False  # something is evaluated before the log lines: keep what it read
    proxy_protocol: bool = False  # `proxy_protocol on`: a PROXY protocol header first to the upstream
    proxy_protocol_timeout_s: float = 30.0  # for a `listen ... proxy_protocol` header to come
    real_ip_from: Trusted | None = None  # `set_real_ip_from`
    tls: ssl.SSLContext | None = None  # for the handshakes of its `listen ... ssl` addresses
    clients: ClientCertificates | None = None  # `ssl_verify_client` and the rest
    handshake_timeout_s: float = 60.0
    upstream_tls: UpstreamSessions | None = None  # `proxy_ssl on`
    local: InetAddress | StreamTemplate | None = None  # `proxy_bind`
    local_text: str = ""  # the `proxy_bind` address as written
    socket_keepalive: bool = False  # `proxy_socket_keepalive`
    responses: int | None = None  # UDP: `proxy_responses` (None: until `proxy_timeout`)
    requests: int = 0  # UDP: `proxy_requests` (0: no limit)
    tally: int = -1  # the first of the server's cells of --metrics (-1: not counted)


class SessionHost(Protocol):
    """The service running the sessions."""

    pipes: PipePool

    def native_relay(self) -> NativeRelay | None:
        """The worker's native relay, started at the first call; None: relay.py's directions."""

    def session_finished(self, session: StreamSession) -> None: ...


class SessionEnds:
    """What the variables read of a session's ends, shared by the TCP and the UDP session: the client's
    address and port and the server's (the address the client reached), as text made when first read;
    its server's --metrics cells; the upstream peer's name for the error log."""

    __slots__ = ("_addresses", "_peer", "_settings")
    _addresses: tuple[str, str, str, str, str] | None
    _settings: SessionSettings
    _peer: Peer | None

    def _ends(self) -> tuple[int, object, object]:
        """The address family, the client's address and the server's, as the sockets give them."""
        raise NotImplementedError

    @property
    def remote_addr(self) -> str:
        return self._texts()[0]

    @property
    def remote_port(self) -> str:
        return self._texts()[1]

    @property
    def binary_remote_addr(self) -> str:
        return self._texts()[2]

    @property
    def server_addr(self) -> str:
        return self._texts()[3]

    @property
    def server_port(self) -> str:
        return self._texts()[4]

    @property
    def tally(self) -> int:
        """The first of its server's cells of --metrics (-1: not counted)."""
        return self._settings.tally

    def _texts(self) -> tuple[str, str, str, str, str]:
        texts = self._addresses
        if texts is None:
            family, remote, local = self._ends()
            remote_addr, remote_port, binary = address_texts(family, remote)
            server_addr, server_port, _ = address_texts(family, local)
            texts = self._addresses = (remote_addr, remote_port, binary, server_addr, server_port)
        return texts

    def _peer_name(self) -> str:
        return self._peer.name if self._peer is not None else ""


class StreamSession(SessionEnds):
    """A client connection relayed to an upstream peer."""

    protocol = "TCP"  # $protocol
    __slots__ = (
        "_attempt",
        "_attempt_started",
        "_awaits_header",
        "_balancer",
        "_buffer",
        "_client",
        "_ended",
        "_ended_at",
        "_ended_wall",
        "_finished",
        "_handed_at",
        "_handshake",
        "_header_sent",
        "_host",
        "_loop",
        "_native",
        "_native_handle",
        "_outcome",
        "_outgoing",
        "_preread_sent",
        "_proxying",
        "_reader",
        "_reading",
        "_realip",
        "_remote",
        "_resolving",
        "_started",
        "_timer",
        "_tls_wanted",
        "_to_client",
        "_to_upstream",
        "_tried",
        "_tries",
        "_tries_started",
        "_upstream",
        "_watching",
        "attempts",
        "connection",
        "match",
        "proxy_header",
        "status",
        "tls",
        "values",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client: socket.socket,
        remote: object,
        settings: SessionSettings,
        *,
        host: SessionHost,
        connection: int,
        proxy_protocol: bool = False,
        tls: bool = False,
    ) -> None:
        """`proxy_protocol`: the connection starts with a PROXY protocol header; `tls`: then a TLS
        handshake (its `listen` says so)."""
        # per connection
        self._loop = loop
        self._client = client
        self._remote = remote  # the address accept() returned
        self._settings = settings
        self._host = host
        self.connection = connection
        self._started = loop.time()
        self._ended_at: float | None = None
        self._ended_wall = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._finished = False
        self.status = 0
        self._addresses: tuple[str, str, str, str, str] | None = None
        self.values: dict[str, str | None] | None = {} if settings.keeps_values else None
        self.match: re.Match[str] | None = None
        self._awaits_header = proxy_protocol
        self.proxy_header: ProxyAddresses | None = None  # what the PROXY protocol header said
        self._realip: tuple[str, str] | None = None  # the connection's own address and port, once replaced
        self._tls_wanted = tls and settings.tls is not None
        self._handshake: Handshake | None = None
        self.tls: dict[str, str | None] | None = None  # its `$ssl_*` values, once a TLS handshake is done
        # preread
        self._reader: ClientHelloReader | None = None
        self._buffer = b""
        self._reading = False
        self._resolving: asyncio.Task[Group] | None = None
        # upstream tries
        self._proxying = False  # the content phase has begun: errors carry the proxy's context
        self._balancer: Balancer | None = None
        self._tried: Selection | None = None  # made at the first pick, with the session's key
        self._tries = 0
        self._tries_started = 0.0
        self.attempts: list[UpstreamAttempt] = []
        self._peer: Peer | None = None
        self._upstream: socket.socket | None = None
        self._attempt = UpstreamAttempt("")
        self._attempt_started = 0.0
        self._watching = False
        # relaying
        self._preread_sent = 0
        self._header_sent = 0  # a PROXY protocol header sent before the upstream's TLS handshake
        self._outgoing = b""  # the PROXY protocol header for the upstream and what was preread
        self._to_upstream: Direction | None = None
        self._to_client: Direction | None = None
        self._ended = 0
        self._native: NativeRelay | None = None  # relaying there, until the outcome is known
        self._native_handle = 0
        self._handed_at = 0.0  # when the native relay took the session
        self._outcome: Outcome | None = None

    def start(self) -> None:
        if self._awaits_header:
            self._start_proxy_protocol()
        else:
            self._phases()

    def _phases(self) -> None:
        settings = self._settings
        if settings.real_ip_from and self.proxy_header is not None:
            self._real_ip(settings.real_ip_from, self.proxy_header)
        if denied(settings, self, self._client.family):
            self._error("access forbidden by rule while initializing session")
            self._finish(_FORBIDDEN)
            return
        if self._tls_wanted:
            self._start_tls()
        else:
            self._preread_phase()

    def _preread_phase(self) -> None:
        settings = self._settings
        if settings.preread is not None:
            self._start_preread(settings.preread)
        else:
            self._content()

    # -- the ssl phase (ngx_stream_ssl_handler)

    def _start_tls(self) -> None:
        settings = self._settings
        assert settings.tls is not None
        client = self._client
        if settings.tcp_nodelay and client.family != socket.AF_UNIX:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        wrapped = self._client = settings.tls.wrap_socket(
            client, server_side=True, do_handshake_on_connect=False
        )
        self._handshake = Handshake(
            self._loop, wrapped, settings.handshake_timeout_s, self._client_handshaken
        )
        self._handshake.start()

    def _client_handshaken(self, error: Exception | None) -> None:
        self._handshake = None
        if error is not None:
            self._finish(_INTERNAL_ERROR)  # nginx logs a failed handshake at info
            return
        assert isinstance(self._client, ssl.SSLSocket)
        self.tls = tls_values(self._client)
        clients = self._settings.clients
        refusal = client_refusal(self._client, clients) if clients is not None else None
        if refusal is not None:
            self._error(f"{refusal} while SSL handshaking", level=ErrorLevel.INFO)
            self._finish(_INTERNAL_ERROR)
            return
        self._preread_phase()

    def close(self) -> None:
        """End the session now (the service is stopping)."""
        native = self._native
        if native is not None:
            outcome = native.remove(self._native_handle)
            if outcome.status:  # it had ended in the relay's thread already: as it ended there
                self.relay_ended(outcome)
                return
            self._take_outcome(outcome)
        self._finish(200)

    # -- what the variables read (variables.SessionView)

    @property
    def hello(self) -> Hello | None:
        return None if self._reader is None else self._reader.hello

    @property
    def bytes_sent(self) -> int:
        return self._counts()[1]

    @property
    def bytes_received(self) -> int:
        return self._counts()[0]

    def _counts(self) -> tuple[int, int, int, int, float | None]:
        """Bytes from and to the client, from and to the upstream (not counting what went before the relay
        started), and when the upstream's first byte came (None: none)."""
        to_upstream, to_client, outcome = self._to_upstream, self._to_client, self._outcome
        if to_upstream is not None and to_client is not None:
            return (
                to_upstream.received,
                to_client.sent,
                to_client.received,
                to_upstream.sent,
                to_client.first_byte_at,
            )
        if outcome is not None:
            first = None if outcome.first_byte_s is None else self._handed_at + outcome.first_byte_s
            upstream_sent = outcome.upstream_sent - self._preread_sent
            return (
                outcome.client_received,
                outcome.client_sent,
                outcome.upstream_received,
                upstream_sent,
                first,
            )
        return 0, 0, 0, 0, None

    def session_ms(self) -> int:
        end = self._ended_at if self._ended_at is not None else self._loop.time()
        return milliseconds(end - self._started)

    def wall_time(self) -> float:
        return self._ended_wall if self._ended_at is not None else time.time()

    @property
    def realip_remote_addr(self) -> str:
        return self._realip[0] if self._realip is not None else self.remote_addr

    @property
    def realip_remote_port(self) -> str:
        return self._realip[1] if self._realip is not None else self.remote_port

    def _ends(self) -> tuple[int, object, object]:
        return self._client.family, self._remote, self._client.getsockname()

    # -- the PROXY protocol header of a `listen ... proxy_protocol` (ngx_stream_proxy_protocol_handler)

    def _start_proxy_protocol(self) -> None:
        self._timer = self._loop.call_later(self._settings.proxy_protocol_timeout_s, self._header_timed_out)
        self._loop.add_reader(self._client.fileno(), self._header_ready)
        self._reading = True

    def _header_ready(self) -> None:
        """nginx peeks at what has come (a header must come whole in it), reads the header, and leaves the
        rest for the phases."""
        client = self._client
        try:
            data = client.recv(MAX_HEADER, socket.MSG_PEEK)
        except BlockingIOError:
            return
        except OSError:
            self._finish(200)  # nginx's "recv() failed", at info for a client's reset
            return
        self._stop_waiting()
        try:
            header = read_header(data)
        except HeaderError as error:
            if str(error):
                self._error(f"{error} while reading PROXY protocol")
            self._finish(_BAD_REQUEST)
            return
        client.recv(header.length)
        self.proxy_header = header.addresses
        self._phases()

    def _header_timed_out(self) -> None:
        self._timer = None
        self._finish(200)  # "client timed out", at info

    def _real_ip(self, trusted: Trusted, header: ProxyAddresses) -> None:
        """ngx_stream_realip_handler: a client from a `set_real_ip_from` address is the one its header
        names."""
        if self._client.family == socket.AF_UNIX:
            own = Address(socket.AF_UNIX, b"", 0)
        else:
            own = Address(self._client.family, self.binary_remote_addr.encode("latin-1"), 0)
        if own not in trusted:
            return
        found = parse_addr(header.source.encode("ascii"))
        if found is None:
            return
        texts = self._texts()
        self._realip = (texts[0], texts[1])
        port = str(header.source_port) if header.source_port else ""
        self._addresses = (found.text, port, found.packed.decode("latin-1"), texts[3], texts[4])

    # -- preread (ngx_stream_core_preread_phase with ngx_stream_ssl_preread_handler)

    def _start_preread(self, preread: StreamPreread) -> None:
        self._reader = ClientHelloReader()
        self._timer = self._loop.call_later(preread.timeout / 1000, self._preread_timed_out)
        self._loop.add_reader(self._client.fileno(), self._preread_ready)
        self._reading = True

    def _preread_ready(self) -> None:
        reader, preread = self._reader, self._settings.preread
        assert reader is not None and preread is not None
        while True:
            room = preread.buffer_size - len(self._buffer)
            if room <= 0:
                self._error("preread buffer full while prereading client data")
                self._finish(_BAD_REQUEST)
                return
            try:
                data = self._client.recv(room)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._finish(200)  # the client gave up: nginx finalizes with NGX_STREAM_OK
                return
            self._buffer += data
            if reader.feed(self._buffer) is not Verdict.AGAIN:
                break
        self._stop_waiting()
        self._content()

    def _preread_timed_out(self) -> None:
        self._timer = None
        self._finish(200)

    # -- connecting

    def _content(self) -> None:
        self._proxying = True
        settings = self._settings
        client = self._client
        if settings.tcp_nodelay and client.family != socket.AF_UNIX:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if settings.group is not None:
            self._begin(settings.group)
            return
        assert settings.target is not None
        try:
            found = settings.target.find(self)
        except TargetError as error:
            self._fail_target(str(error))
            return
        if isinstance(found, Group):
            self._begin(found)
        else:
            task = self._resolving = self._loop.create_task(found)
            task.add_done_callback(self._resolved)

    def _resolved(self, task: asyncio.Task[Group]) -> None:
        self._resolving = None
        if task.cancelled() or self._finished:
            return
        error = task.exception()
        if isinstance(error, TargetError):
            self._fail_target(str(error))
        elif error is not None:
            self._finish(_INTERNAL_ERROR)
            raise error
        else:
            self._begin(task.result())

    def _fail_target(self, message: str) -> None:
        self._error(message)
        self._finish(_INTERNAL_ERROR)

    def _begin(self, group: Group) -> None:
        settings = self._settings
        balancer = self._balancer = group.balancer
        self._tried = balancer.selection(b"" if group.key is None else group.key(self))
        tries = balancer.tries
        self._tries = min(tries, settings.next_upstream_tries) if settings.next_upstream_tries else tries
        self._tries_started = self._loop.time()
        self._connect_next()

    def _connect_next(self) -> None:
        balancer, tried = self._balancer, self._tried
        assert balancer is not None and tried is not None
        now = self._loop.time()
        peer = balancer.pick(now, tried)
        if peer is None:
            self.attempts.append(UpstreamAttempt(balancer.upstream.name))
            self._error("no live upstreams while connecting to upstream", balancer.upstream.name)
            self._finish(_BAD_GATEWAY)
            return
        balancer.connected(peer)
        self._peer = peer
        self._attempt = UpstreamAttempt(peer.name)
        self.attempts.append(self._attempt)
        self._attempt_started = now
        try:  # non-blocking from the start: no ioctl of its own
            upstream = self._upstream = socket.socket(peer.family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        except OSError as error:
            self._error(f"socket() failed ({error.errno}: {error.strerror})", peer.name)
            self._finish(_INTERNAL_ERROR)
            return
        if not self._prepare_upstream(upstream, peer):
            return
        settings = self._settings
        if settings.tcp_nodelay and peer.family != socket.AF_UNIX:
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = upstream.connect_ex(peer.sockaddr)
        if code == 0:
            self._connected()
        elif code == errno.EINPROGRESS:
            self._watching = True
            self._loop.add_writer(upstream.fileno(), self._connect_done)
            self._timer = self._loop.call_later(self._settings.connect_timeout_s, self._connect_timed_out)
        else:
            self._connect_failed(*connect_failure(peer.name, code))

    def _prepare_upstream(self, upstream: socket.socket, peer: Peer) -> bool:
        """`proxy_socket_keepalive` and `proxy_bind`: whether the connection may go on (a bind that fails
        ends the session with 500)."""
        failed = prepare_upstream(upstream, self._settings, self, self._error)
        if failed is not None:
            self._error(failed, peer.name, ErrorLevel.CRIT)
            self._finish(_INTERNAL_ERROR)
            return False
        return True

    def _stop_waiting(self) -> None:
        """Stop waiting for the client's first bytes, for the upstream connection to complete, and for
        the session's timer."""
        if self._reading:
            self._loop.remove_reader(self._client.fileno())
            self._reading = False
        if self._watching and self._upstream is not None:
            self._loop.remove_writer(self._upstream.fileno())
            self._watching = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _connect_done(self) -> None:
        self._stop_waiting()
        assert self._upstream is not None
        code = self._upstream.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self._connect_failed(f"connect() failed ({code}: {os.strerror(code)})")
        else:
            self._connected()

    def _connect_timed_out(self) -> None:
        self._timer = None
        self._stop_waiting()
        self._connect_failed(f"upstream timed out ({errno.ETIMEDOUT}: {os.strerror(errno.ETIMEDOUT)})")

    def _connect_failed(
        self, reason: str, level: ErrorLevel = ErrorLevel.ERROR, *, action: str = "connecting to upstream"
    ) -> None:
        """ngx_stream_proxy_next_upstream: the peer failed; the next one, if the rules allow."""
        peer, upstream, balancer = self._peer, self._upstream, self._balancer
        assert peer is not None and upstream is not None and balancer is not None
        now = self._loop.time()
        self._error(f"{reason} while {action}", peer.name, level)
        self._header_sent = 0
        balancer.failed(peer, now)
        balancer.released(peer)
        self._attempt.session_ms = milliseconds(now - self._attempt_started)
        upstream.close()
        self._peer = self._upstream = None
        self._tries -= 1
        settings = self._settings
        timeout = settings.next_upstream_timeout_s
        if (
            self._tries <= 0
            or not settings.next_upstream
            or (timeout and now - self._tries_started >= timeout)
        ):
            self._finish(_BAD_GATEWAY)
        else:
            self._connect_next()

    def _connected(self) -> None:
        peer, upstream, balancer = self._peer, self._upstream, self._balancer
        assert peer is not None and upstream is not None and balancer is not None
        sessions = self._settings.upstream_tls
        if sessions is not None and not isinstance(upstream, ssl.SSLSocket):
            self._start_upstream_tls(sessions, peer, upstream, balancer)
            return
        now = self._loop.time()
        self._attempt.connect_ms = milliseconds(now - self._attempt_started)
        balancer.succeeded(peer, now)
        native = self._native_relay_for(upstream)
        if native is not None:
            self._relay_natively(native, upstream, peer)
            return
        try:
            self._to_upstream = self._direction(self._client, upstream)
            self._to_client = self._direction(upstream, self._client)
        except OSError as error:
            self._error(f"pipe() failed ({error.errno}: {error.strerror})", peer.name)
            self._finish(_INTERNAL_ERROR)
            return
        self._timer = self._loop.call_later(self._settings.idle_timeout_s, self._check_idle)
        self._outgoing = self._buffer
        if self._settings.proxy_protocol and self._settings.upstream_tls is None:
            self._outgoing = self._proxy_protocol_header() + self._buffer
        if self._outgoing:
            self._to_client.start()
            if not self._finished:
                self._send_preread()
            return
        self._to_upstream.start()
        if not self._finished:
            self._to_client.start()

    def _native_relay_for(self, upstream: socket.socket) -> NativeRelay | None:
        """The worker's native relay, for a session it can relay: plain sockets, splice allowed."""
        if not self._settings.splice or isinstance(self._client, ssl.SSLSocket):
            return None
        if isinstance(upstream, ssl.SSLSocket):
            return None
        return self._host.native_relay()

    def _relay_natively(self, native: NativeRelay, upstream: socket.socket, peer: Peer) -> None:
        """The session to the native relay, the PROXY protocol header and what was preread to send first."""
        settings = self._settings
        self._outgoing = self._buffer
        if settings.proxy_protocol:
            self._outgoing = self._proxy_protocol_header() + self._buffer
        try:
            self._native_handle = native.add(
                self,
                self._client,
                upstream,
                idle_timeout_s=settings.idle_timeout_s,
                half_close=settings.half_close,
                first=self._outgoing,
            )
        except OSError as error:
            self._error(f"epoll_ctl() failed ({error.errno}: {error.strerror})", peer.name)
            self._finish(_INTERNAL_ERROR)
            return
        self._native = native
        self._handed_at = self._loop.time()

    def relay_ended(self, outcome: Outcome) -> None:
        """The native relay ended the session (native.RelayOwner)."""
        self._take_outcome(outcome)
        if outcome.shutdown_errno:
            code = outcome.shutdown_errno
            self._error(f"shutdown() failed ({code}: {os.strerror(code)})", self._peer_name())
        self._finish(outcome.status)

    def _take_outcome(self, outcome: Outcome) -> None:
        self._native = None
        self._outcome = outcome
        self._preread_sent = min(outcome.upstream_sent, len(self._outgoing))

    def _start_upstream_tls(
        self, sessions: UpstreamSessions, peer: Peer, upstream: socket.socket, balancer: Balancer
    ) -> None:
        """`proxy_ssl on`: the PROXY protocol header first, in the clear and at once (as nginx sends it),
        then the handshake, within `proxy_connect_timeout`; a failed one fails the peer."""
        if self._settings.proxy_protocol:
            header = self._proxy_protocol_header()
            try:
                sent = upstream.send(header)
            except OSError:
                sent = 0
            if sent != len(header):
                self._error("could not send PROXY protocol header at once", peer.name)
                self._finish(_INTERNAL_ERROR)
                return
            self._header_sent = sent
        wrapped = self._upstream = sessions.wrap(upstream, peer.name, balancer.upstream.name)

        def done(error: Exception | None) -> None:
            self._handshake = None
            if error is None:
                sessions.remember(peer.name, wrapped)
                self._connected()
            else:
                self._connect_failed(_upstream_tls_error(error), action="SSL handshaking to upstream")

        self._handshake = Handshake(self._loop, wrapped, self._settings.connect_timeout_s, done)
        self._handshake.start()

    def _proxy_protocol_header(self) -> bytes:
        """`proxy_protocol on`: the client's address (as realip left it) and the one it came to."""
        if self._client.family == socket.AF_UNIX:
            return write_v1(None)
        remote_addr, remote_port, _, server_addr, server_port = self._texts()
        addresses = ProxyAddresses(remote_addr, int(remote_port or 0), server_addr, int(server_port))
        return write_v1(addresses, ipv6=self._client.family == socket.AF_INET6)

    def _send_preread(self) -> None:
        """The PROXY protocol header and what was preread, to the upstream before anything else the
        client sends."""
        upstream = self._upstream
        assert upstream is not None and self._to_upstream is not None
        try:
            sent = upstream.send(self._outgoing[self._preread_sent :])
        except BlockingIOError:
            sent = 0
        except OSError as error:
            self.direction_broken(self._to_upstream, error)
            return
        self._preread_sent += sent
        if self._preread_sent < len(self._outgoing):
            if not self._watching:
                self._watching = True
                self._loop.add_writer(upstream.fileno(), self._send_preread)
            return
        if self._watching:
            self._loop.remove_writer(upstream.fileno())
            self._watching = False
        self._to_upstream.start()

    def _direction(self, src: socket.socket, dst: socket.socket) -> Direction:
        if (
            self._settings.splice
            and not isinstance(src, ssl.SSLSocket)
            and not isinstance(dst, ssl.SSLSocket)
        ):
            return SpliceDirection(self._loop, src, dst, self, self._host.pipes)
        return CopyDirection(self._loop, src, dst, self)

    # -- relaying (DirectionOwner)

    def direction_ended(self, direction: Direction) -> None:
        if not self._settings.half_close:
            self._finish(200)
            return
        self._ended += 1
        if self._ended == 2:
            self._finish(200)
            return
        try:
            direction.dst.shutdown(socket.SHUT_WR)
        except OSError as error:
            self._error(f"shutdown() failed ({error.errno}: {error.strerror})", self._peer_name())
            self._finish(_INTERNAL_ERROR)

    def direction_broken(self, direction: Direction, error: OSError) -> None:
        self._finish(200)  # nginx finalizes a failed send with NGX_STREAM_OK

    def _check_idle(self) -> None:
        assert self._to_upstream is not None and self._to_client is not None
        deadline = max(self._to_upstream.active_at, self._to_client.active_at) + self._settings.idle_timeout_s
        if self._loop.time() >= deadline:  # never before proxy_timeout has passed, as nginx
            self._timer = None
            self._finish(200)  # "connection timed out", finalized with NGX_STREAM_OK
        else:
            self._timer = self._loop.call_at(deadline, self._check_idle)

    # -- finishing

    def _finish(self, status: int) -> None:
        if self._finished:
            return
        self._finished = True
        self.status = status
        now = self._ended_at = self._loop.time()
        self._ended_wall = time.time()
        self._stop_waiting()
        if self._handshake is not None:
            self._handshake.cancel()
        if self._resolving is not None:
            self._resolving.cancel()
        directions = (self._to_upstream, self._to_client)
        for direction in directions:
            if direction is not None:
                direction.stop()
        self._settle_attempt(now)
        for direction in directions:
            if direction is not None:
                direction.release()
        for access_log in self._settings.logs:  # while the sockets can still tell their addresses and TLS
            access_log.write(self)
        self._close_sockets()
        if self._peer is not None and self._balancer is not None:
            self._release_peer(self._balancer, self._peer, now)
        self._host.session_finished(self)

    def _close_sockets(self) -> None:
        self._client.close()
        if self._upstream is not None:
            self._upstream.close()

    def _release_peer(self, balancer: Balancer, peer: Peer, now: float) -> None:
        balancer.succeeded(peer, now)
        balancer.released(peer)

    def _settle_attempt(self, now: float) -> None:
        """The last upstream's numbers, as the session ends."""
        if self._peer is None:
            return
        attempt = self._attempt
        attempt.session_ms = milliseconds(now - self._attempt_started)
        if self._relaying():
            _, _, upstream_received, upstream_sent, first_byte_at = self._counts()
            attempt.bytes_sent = upstream_sent + self._preread_sent + self._header_sent
            attempt.bytes_received = upstream_received
            if first_byte_at is not None:
                attempt.first_byte_ms = milliseconds(first_byte_at - self._attempt_started)

    def _relaying(self) -> bool:
        """Whether the session got as far as relaying (its counts are the relay's)."""
        return (self._to_upstream is not None and self._to_client is not None) or self._outcome is not None

    def _error(self, message: str, upstream: str | None = None, level: ErrorLevel = ErrorLevel.ERROR) -> None:
        """nginx's error log line: `*N message, client: …, server: …`, and once proxying,
        `, upstream: "…", bytes from/to …` (ngx_stream_log_error, ngx_stream_proxy_log_error)."""
        settings = self._settings
        context = f"client: {self.remote_addr}, server: {settings.server}"
        if self._proxying:
            if upstream:
                context += f', upstream: "{upstream}"'
            context += f", {self._traffic()}"
        settings.error_log(level, f"*{self.connection} {message}, {context}")

    def _traffic(self) -> str:
        if not self._relaying():
            return "bytes from/to client:0/0, bytes from/to upstream:0/0"
        client_received, client_sent, upstream_received, upstream_sent, _ = self._counts()
        return (
            f"bytes from/to client:{client_received}/{client_sent},"
            f" bytes from/to upstream:{upstream_received}"
            f"/{upstream_sent + self._preread_sent + self._header_sent}"
        )


def denied(settings: SessionSettings, session: SessionView, family: int) -> bool:
    """The preaccess and access phases: the server's `set`s in order, then its `allow` and `deny`; whether
    they refuse the client."""
    values = session.values
    for name, template in settings.sets:
        value = template.evaluate(session)
        assert values is not None  # a server with `set` keeps values
        values[name] = value
    access = settings.access
    return access is not None and access.denies(family, session.binary_remote_addr.encode("latin-1"))


def prepare_upstream(
    upstream: _socket.socket, settings: SessionSettings, session: SessionView, log: Callable[[str], None]
) -> str | None:
    """`proxy_socket_keepalive`, then `proxy_bind` (ngx_event_connect_peer) on a new upstream socket: None,
    or nginx's error line for a bind that failed. A `proxy_bind` value that is no address is logged
    through `log` and not bound."""
    if settings.socket_keepalive:
        upstream.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if settings.local is None:
        return None
    local = _local_address(settings, session, log)
    if local is None:
        return None
    address, text = local
    try:
        if address.port == 0 and upstream.family != socket.AF_UNIX:
            upstream.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        elif upstream.type == socket.SOCK_DGRAM:
            upstream.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        upstream.bind(address.sockaddr)
    except OSError as error:
        return f"bind({text}) failed ({error.errno}: {error.strerror})"
    return None


def _local_address(
    settings: SessionSettings, session: SessionView, log: Callable[[str], None]
) -> tuple[InetAddress, str] | None:
    """The address to bind, and its text for the error lines; None: none (an empty value, or one that is
    no address, which nginx logs)."""
    local = settings.local
    if isinstance(local, InetAddress):
        return local, settings.local_text
    assert local is not None
    value = local.evaluate(session) or ""
    if not value:
        return None
    address = parse_addr_port(value)
    if address is None:
        log(f'invalid local address "{value}"')
        return None
    return address, value


# plain ints: the socket module's names are enums (each comparison through Python's protocol)
_AF_UNIX: Final = int(socket.AF_UNIX)
_AF_INET: Final = int(socket.AF_INET)


def milliseconds(seconds: float) -> int:
    return int(seconds * 1000)


def address_texts(family: int, address: object) -> tuple[str, str, str]:
    """An address as nginx's variables print it: (addr, port, binary addr one character per byte)."""
    if family == _AF_UNIX:
        return "unix:", "", "unix:"
    assert isinstance(address, tuple)
    if family == _AF_INET:  # the kernel's dotted quad, as nginx writes it: no need to parse it
        return address[0], str(address[1]), inet_pton(_AF_INET, address[0]).decode("latin-1")
    ip = ipaddress.ip_address(address[0].partition("%")[0])
    text = ipv6_text(ip) if isinstance(ip, ipaddress.IPv6Address) else str(ip)
    return text, str(address[1]), ip.packed.decode("latin-1")


def _upstream_tls_error(error: Exception) -> str:
    """nginx's line for a failed handshake with an upstream."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"upstream SSL certificate verify error: ({error.verify_code}:{error.verify_message})"
    if isinstance(error, TimeoutError):
        return f"upstream timed out ({errno.ETIMEDOUT}: {os.strerror(errno.ETIMEDOUT)})"
    return f"SSL_do_handshake() failed ({error})"
