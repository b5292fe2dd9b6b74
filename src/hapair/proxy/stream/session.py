"""One client connection of a stream server, as ngx_stream_proxy_module handles it.

1. Connecting: a peer is picked by the upstream's balancer and connected to without blocking, within
   `proxy_connect_timeout`. A refused or timed-out connection marks the peer failed and the next one is
   tried (`proxy_next_upstream on`, nginx's default and the only setting the model has), as long as the
   balancer has tries left; then the session ends with status 502 ("no live upstreams" when the balancer
   has no peer to offer).
2. Relaying: one `Direction` each way (splice through a pipe, or buffered copies). Without
   `half_close` (nginx's default, `proxy_half_close off`) the session ends as soon as one side says EOF
   and what it sent has been passed on; with it, the EOF is passed on (shutdown(SHUT_WR)) and the session
   ends when both sides have said EOF. `proxy_timeout` ends a session idle in both directions (status
   200, as nginx).
3. Finishing: sockets closed, the peer released, the access log lines written.

Status codes are nginx's stream ones: 200 (also for timeouts and resets once connected), 502 (no upstream
reached), 500 (a local failure: no socket or pipe could be made).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hapair.config.nginx.model.addresses import ipv6_text
from hapair.config.nginx.model.logging import ErrorLevel
from hapair.proxy.balancer import Balancer, Peer, Selection

from .accesslog import AccessLogWriter
from .logline import SessionRecord, UpstreamAttempt, balancing_key
from .relay import CopyDirection, Direction, PipePool, SpliceDirection

# the timer may fire a little before its time; a session this close to its idle deadline is idle
_TIMER_SLACK = 0.002


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """What every session of one stream `server` shares."""

    balancer: Balancer
    connect_timeout_s: float
    idle_timeout_s: float  # proxy_timeout
    half_close: bool
    splice: bool  # False: buffered copies
    logs: tuple[AccessLogWriter, ...]
    server: str  # the listen address, for error messages ("server: 0.0.0.0:8080")
    error_log: Callable[[ErrorLevel, str], None]  # the server's error_log, else the main one


class SessionHost(Protocol):
    """The service running the sessions."""

    pipes: PipePool

    def session_finished(self, session: StreamSession) -> None: ...


class StreamSession:
    """A client connection relayed to an upstream peer."""

    __slots__ = (
        "_attempt",
        "_attempt_started",
        "_client",
        "_connecting",
        "_ended",
        "_finished",
        "_host",
        "_loop",
        "_peer",
        "_remote",
        "_settings",
        "_started",
        "_timer",
        "_to_client",
        "_to_upstream",
        "_tried",
        "_tries",
        "_upstream",
        "attempts",
        "connection",
        "status",
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
    ) -> None:
        # per connection
        self._loop = loop
        self._client = client
        self._remote = remote  # the address accept() returned
        self._settings = settings
        self._host = host
        self.connection = connection
        self._started = loop.time()
        self._timer: asyncio.TimerHandle | None = None
        self._finished = False
        self.status = 0
        # upstream tries
        self._tried: Selection | None = None  # made at the first pick, with the session's key
        self._tries = settings.balancer.tries
        self.attempts: list[UpstreamAttempt] = []
        self._peer: Peer | None = None
        self._upstream: socket.socket | None = None
        self._attempt = UpstreamAttempt("")
        self._attempt_started = 0.0
        self._connecting = False
        # relaying
        self._to_upstream: Direction | None = None
        self._to_client: Direction | None = None
        self._ended = 0

    def start(self) -> None:
        self._connect_next()

    def close(self) -> None:
        """End the session now (the service is stopping)."""
        self._finish(200)

    # -- connecting

    def _connect_next(self) -> None:
        balancer = self._settings.balancer
        now = self._loop.time()
        if self._tried is None:
            key = balancer.upstream.hash_key
            self._tried = balancer.selection(b"" if key is None else balancing_key(key, self._record(now)))
        peer = balancer.pick(now, self._tried)
        if peer is None:
            self.attempts.append(UpstreamAttempt(balancer.upstream.name))
            self._error("no live upstreams", balancer.upstream.name)
            self._finish(502)
            return
        balancer.connected(peer)
        self._peer = peer
        self._attempt = UpstreamAttempt(peer.name)
        self.attempts.append(self._attempt)
        self._attempt_started = now
        try:
            upstream = self._upstream = socket.socket(peer.address.family, socket.SOCK_STREAM)
        except OSError as error:
            self._error(f"socket() failed ({error.errno}: {error.strerror})", peer.name)
            self._finish(500)
            return
        upstream.setblocking(False)
        if peer.address.family != socket.AF_UNIX:
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = upstream.connect_ex(peer.address.sockaddr)
        if code == 0:
            self._connected()
        elif code == errno.EINPROGRESS:
            self._connecting = True
            self._loop.add_writer(upstream.fileno(), self._connect_done)
            self._timer = self._loop.call_later(self._settings.connect_timeout_s, self._connect_timed_out)
        else:
            self._connect_failed(f"connect() failed ({code}: {os.strerror(code)})")

    def _stop_waiting(self) -> None:
        """Stop waiting for the upstream connection to complete, and for the session's timer."""
        if self._connecting and self._upstream is not None:
            self._loop.remove_writer(self._upstream.fileno())
            self._connecting = False
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

    def _connect_failed(self, reason: str) -> None:
        peer, upstream = self._peer, self._upstream
        assert peer is not None and upstream is not None
        now = self._loop.time()
        self._error(f"{reason} while connecting to upstream", peer.name)
        self._settings.balancer.failed(peer, now)
        self._settings.balancer.released(peer)
        self._attempt.session_ms = _ms(now - self._attempt_started)
        upstream.close()
        self._peer = self._upstream = None
        self._tries -= 1
        if self._tries > 0:
            self._connect_next()
        else:
            self._finish(502)

    def _connected(self) -> None:
        peer, upstream = self._peer, self._upstream
        assert peer is not None and upstream is not None
        now = self._loop.time()
        self._attempt.connect_ms = _ms(now - self._attempt_started)
        self._settings.balancer.succeeded(peer, now)
        try:
            self._to_upstream = self._direction(self._client, upstream)
            self._to_client = self._direction(upstream, self._client)
        except OSError as error:
            self._error(f"pipe() failed ({error.errno}: {error.strerror})", peer.name)
            self._finish(500)
            return
        self._timer = self._loop.call_later(self._settings.idle_timeout_s, self._check_idle)
        self._to_upstream.start()
        if not self._finished:
            self._to_client.start()

    def _direction(self, src: socket.socket, dst: socket.socket) -> Direction:
        if self._settings.splice:
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
            self._finish(500)

    def direction_broken(self, direction: Direction, error: OSError) -> None:
        self._finish(200)  # nginx finalizes a failed send with NGX_STREAM_OK

    def _check_idle(self) -> None:
        assert self._to_upstream is not None and self._to_client is not None
        deadline = max(self._to_upstream.active_at, self._to_client.active_at) + self._settings.idle_timeout_s
        if self._loop.time() + _TIMER_SLACK >= deadline:
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
        now = self._loop.time()
        self._stop_waiting()
        directions = [d for d in (self._to_upstream, self._to_client) if d is not None]
        for direction in directions:
            direction.stop()
        record = self._record(now) if self._settings.logs else None
        for direction in directions:
            direction.release()
        self._client.close()
        if self._upstream is not None:
            self._upstream.close()
        if self._peer is not None:
            self._settings.balancer.succeeded(self._peer, now)
            self._settings.balancer.released(self._peer)
        self._host.session_finished(self)
        if record is not None:
            for access_log in self._settings.logs:
                access_log.write(record)

    def _record(self, now: float) -> SessionRecord:
        to_upstream, to_client = self._to_upstream, self._to_client
        if self._peer is not None:
            self._attempt.session_ms = _ms(now - self._attempt_started)
        if to_upstream is not None and to_client is not None:
            self._attempt.bytes_sent = to_upstream.sent
            self._attempt.bytes_received = to_client.received
            if to_client.first_byte_at is not None:
                self._attempt.first_byte_ms = _ms(to_client.first_byte_at - self._attempt_started)
        remote_addr, remote_port, remote_binary = _address_texts(self._client.family, self._remote)
        server_addr, server_port, _ = _address_texts(self._client.family, self._client.getsockname())
        return SessionRecord(
            connection=self.connection,
            remote_addr=remote_addr,
            remote_port=remote_port,
            remote_binary=remote_binary,
            server_addr=server_addr,
            server_port=server_port,
            status=self.status,
            bytes_sent=to_client.sent if to_client else 0,
            bytes_received=to_upstream.received if to_upstream else 0,
            session_ms=_ms(now - self._started),
            logged_at=time.time(),
            upstreams=self.attempts,
        )

    def _peer_name(self) -> str:
        return self._peer.name if self._peer is not None else ""

    def _error(self, message: str, upstream: str) -> None:
        """nginx's error log line: `*N message, client: …, server: …, upstream: "…", bytes from/to …`."""
        client, _, _ = _address_texts(self._client.family, self._remote)
        settings = self._settings
        context = f'client: {client}, server: {settings.server}, upstream: "{upstream}"'
        settings.error_log(ErrorLevel.ERROR, f"*{self.connection} {message}, {context}, {self._traffic()}")

    def _traffic(self) -> str:
        to_upstream, to_client = self._to_upstream, self._to_client
        if to_upstream is None or to_client is None:
            return "bytes from/to client:0/0, bytes from/to upstream:0/0"
        return (
            f"bytes from/to client:{to_upstream.received}/{to_client.sent},"
            f" bytes from/to upstream:{to_client.received}/{to_upstream.sent}"
        )


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _address_texts(family: int, address: object) -> tuple[str, str, bytes]:
    """An address as nginx's variables print it: (addr, port, binary addr)."""
    if family == socket.AF_UNIX:
        return "unix:", "", b"unix:"
    assert isinstance(address, tuple)
    ip = ipaddress.ip_address(address[0].partition("%")[0])
    text = ipv6_text(ip) if isinstance(ip, ipaddress.IPv6Address) else str(ip)
    return text, str(address[1]), ip.packed
