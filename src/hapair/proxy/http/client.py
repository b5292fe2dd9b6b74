"""A client connection: an asyncio.Protocol reading requests as nginx does (reading.py), one at a time.

A request whose head is read becomes an `Exchange` and starts at once; its body, if any, is read as it
comes. Bytes that follow a request (pipelined requests) are kept until it is answered, and are read
then, as nginx reads its buffer: a malformed request after good ones gets its answer after theirs. A
request nginx refuses while its head is read gets nginx's answer through an Exchange of its own (its
server's error pages and access log), and the connection is closed after it.

Timeouts follow nginx's: `client_header_timeout` for the whole head, `client_body_timeout` between two
reads of a body, `keepalive_timeout` between requests, `send_timeout` while the client does not take
what is written. A connection closed while the client may still be sending keeps reading (and
dropping) what comes for a while, as nginx's lingering close (`lingering_close`, `lingering_time`,
`lingering_timeout`), so that the client sees the answer.

A client that closes its side (EOF) while its request is read, or proxied, leaves: as nginx, the
request is logged with 400 (a head or body cut short) or 499 and the connection is closed.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, cast

from ..status import ACCEPTED, ACTIVE, HANDLED, READING, REQUESTS, WAITING, WRITING
from .exchange import Exchange
from .flow import FlowControl
from .parse import ChunkedBody, ChunkError, RequestError
from .proxying import Proxying
from .reading import HeadReader, LengthBody
from .timers import IdleTimer
from .tls import SERVER_NAMES

if TYPE_CHECKING:
    import ssl

    from hapair.proxy.proxy_protocol import ProxyAddresses

    from .request import Request
    from .service import ListenerRoutes, Route, Service

CONNECTION_NUMBERS: Final = itertools.count(1)  # nginx's `*N`: one count for a worker's connections
_CLOSED_BY_CLIENT: Final = 499
_LINGER_RESET: Final = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends an RST


class ClientConnection(asyncio.Protocol):
    """Per-connection state, then the state of the request being read."""

    http2 = ""  # $http2
    multiplexed = False  # one request at a time: its head and body are written as they are made

    __slots__ = (
        "_active",
        "_admitted",
        "_body",
        "_cells",
        "_closed",
        "_draining",
        "_eof",
        "_held",
        "_idle",
        "_last_route",
        "_linger_timer",
        "_lingering",
        "_loop",
        "_nodelay",
        "_paused_for_pending",
        "_paused_for_upstream",
        "_pending",
        "_previous",
        "_previous_body",
        "_read_timer",
        "_reader",
        "_reading",
        "_refused",
        "_routes",
        "_routes_for",
        "_send_timer",
        "_service",
        "_stat",
        "_tunnel",
        "binary_remote_addr",
        "flow",
        "keep_alive",
        "number",
        "proxy_header",
        "remote_addr",
        "remote_port",
        "requests",
        "scheme",
        "server_addr",
        "server_name_indication",
        "server_port",
        "ssl_object",
        "transport",
    )

    def __init__(
        self, service: Service, routes_for: Callable[[object], ListenerRoutes], *, admitted: bool = False
    ) -> None:
        """`routes_for`: the servers of the address a connection came to, by that address; `admitted`:
        its round came already (a connection a Drain took)."""
        self._service = service
        self._routes_for = routes_for
        self._loop = service.loop
        self._admitted = admitted
        self.number: int = next(CONNECTION_NUMBERS)
        self.transport: asyncio.Transport | None = None
        self.flow: FlowControl | None = None
        self.requests: int = 0
        self.keep_alive: bool = True
        self.remote_addr: str = ""
        self.remote_port: int = 0
        self.binary_remote_addr: str = ""
        self.server_addr: str = ""
        self.server_port: int = 0
        self.scheme: str = "http"
        self.ssl_object: ssl.SSLObject | None = None
        self.server_name_indication: str | None = None
        self.proxy_header: ProxyAddresses | None = None  # what a PROXY protocol header said (proxy_header.py)
        self._read_timer = IdleTimer(self._loop, self._read_timed_out)
        self._send_timer: IdleTimer | None = None  # made when writing first blocks
        self._linger_timer: asyncio.TimerHandle | None = None
        self._active: Exchange | None = None  # the request under way
        self._reader: HeadReader | None = None  # the head being read
        self._body: LengthBody | ChunkedBody | None = None  # the active request's body being read
        self._pending = b""  # bytes after the active request, read once it is answered
        self._previous: HeadReader | None = None  # the last request's head, and its body's size: a
        self._previous_body = 0  # request pipelined after them starts in the same buffer
        self._tunnel: Exchange | None = None
        self._reading = False  # inside `_read`: an exchange finishing now leaves the rest to it
        self._paused_for_pending = False
        self._paused_for_upstream = False
        self._closed = False
        self._lingering = False
        self._draining = False
        self._eof = False
        self._refused = False  # a request was refused: what the client sends after it is not read
        self._idle = False  # between requests, waiting for the next one (keepalive_timeout)
        self._held = False  # waiting for its turn to be read (admission): nothing set up but `transport`
        self._nodelay = True  # TCP_NODELAY, which uvloop sets on every connection
        status = service.status
        self._cells = status.cells if status is not None else None  # stub_status's counters, if counted
        self._stat = -1  # the counter the connection is in: READING, WRITING, WAITING, or none

    # -- the connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not its subclasses
        cells = self._cells
        if cells is not None:
            cells[ACCEPTED] += 1
            cells[HANDLED] += 1
            cells[ACTIVE] += 1
            self._count_as(WAITING)
        if self._admitted or self._service.admission.enter(self):
            self._begin()
        else:
            self._held = True

    def _begin(self) -> None:
        """The connection's turn to be read: client_header_timeout runs from now."""
        transport = self.transport
        assert transport is not None
        self.flow = FlowControl(transport)
        local = transport.get_extra_info("sockname")
        self._routes = self._routes_for(local)
        transport.set_write_buffer_limits(high=self._service.limits.high_water)
        self._note_addresses(transport, local)
        self._service.connections.add(self)
        self._draining = self._service.draining
        self._last_route = self._routes.default.fallback
        if not self._last_route.tcp_nodelay:
            self._set_nodelay(False)
        self._read_timer.start(self._last_route.client_header_timeout)

    def release(self) -> None:
        """Many connections came at once and this one was held (admission): its turn; what it sent
        meanwhile is read."""
        self._held = False
        if self._closed:
            return
        self._begin()
        pending, self._pending = self._pending, b""
        if pending:
            self._read(pending, 0)
        if self._eof and not self._closed and not self._on_eof() and self.transport is not None:
            self.transport.close()

    def _note_addresses(self, transport: asyncio.Transport, local: object) -> None:
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.remote_addr, self.remote_port = peer[0], peer[1]
            family = socket.AF_INET6 if ":" in peer[0] else socket.AF_INET
            self.binary_remote_addr = socket.inet_pton(family, peer[0]).decode("latin-1")
        else:
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family == socket.AF_UNIX:
                self.remote_addr = "unix:"
        if isinstance(local, tuple):
            self.server_addr, self.server_port = local[0], local[1]
        if self._routes.tls:
            ssl_object = transport.get_extra_info("ssl_object")
            if ssl_object is not None:
                self.ssl_object = ssl_object
                self.scheme = "https"
                self.server_name_indication = SERVER_NAMES.get(ssl_object)

    def data_received(self, data: bytes) -> None:
        if self._held:
            self._pending += data
            return
        if self._tunnel is not None:
            self._tunnel.tunnel_from_client(data)
            return
        if self._lingering:
            self._read_timer.touch()
            return  # the connection is closing: what comes is dropped
        if self._body is not None:
            self._read_timer.touch()  # client_body_timeout is between two reads
        elif self._active is not None:
            self._keep_pending(data)
            return
        self._read(data, 0)

    def _keep_pending(self, data: bytes) -> None:
        """Bytes after a request still under way: read once it is answered (reading pauses when they
        pile up; nginx does not read them either)."""
        self._pending += data
        if len(self._pending) > self._service.limits.high_water and not self._paused_for_pending:
            self._paused_for_pending = True
            self._apply_reading()

    def _read(self, data: bytes, pos: int, *, carried: bool = False) -> None:
        """Read requests from data[pos:] until it is all read or a request is under way; `carried`:
        the bytes came after a request that is now answered (a request read there is pipelined)."""
        self._reading = True
        try:
            length = len(data)
            while pos < length and not self._lingering and not self._closed:
                if self._body is not None:
                    pos = self._read_body(data, pos)
                elif self._active is not None:
                    self._pending = data[pos:] if pos else data
                    return
                else:
                    pos = self._read_head(data, pos, pipelined=carried or pos > 0)
        finally:
            self._reading = False

    def _read_head(self, data: bytes, pos: int, *, pipelined: bool) -> int:
        reader = self._reader
        if reader is None:
            # a request's first byte: client_header_timeout runs for its whole head from now
            if self._idle:
                self._idle = False
                self._read_timer.start(self._routes.default.fallback.client_header_timeout)
            routes = self._routes
            limits = routes.default.head_limits
            if not limits.buffer_size:
                # client_header_buffer_size 0: nginx reads nothing into its buffer, and closes
                self.close_without_answer()
                return len(data)
            previous = self._previous
            layout = previous.pipelined(self._previous_body) if pipelined and previous is not None else None
            reader = self._reader = HeadReader(limits, routes.select, self._service.clock.now(), layout)
            if self._cells is not None:
                self._cells[REQUESTS] += 1
                self._count_as(READING)
        try:
            end = reader.feed(data, pos)
        except RequestError as error:
            self._refuse(reader, error.status)
            return len(data)
        if end < 0:
            return len(data)
        self._reader = None
        self._previous, self._previous_body = reader, 0
        self._start(reader.request(), pipelined=pipelined)
        return end

    def _read_body(self, data: bytes, pos: int) -> int:
        body = self._body
        active = self._active
        assert body is not None and active is not None
        pieces: list[bytes] = []
        try:
            end = body.feed(data, pos, pieces)
        except ChunkError:
            self._body = None
            active.request_broken()
            return len(data)
        active.request_length += end - pos
        for piece in pieces:
            active.body(piece)
            if self._body is None:
                return len(data)  # the request was dropped while its body came
        if body.done:
            self._body = None
            self._previous_body = body.consumed
            active.body_done()
            self._arm_read_timer()
        return end

    def _start(self, request: Request, *, pipelined: bool) -> None:
        self.requests += 1
        server, found = self._routes.route(request)
        exchange = Exchange(self, request, server, found, pipelined=pipelined)
        self._active = exchange
        if self._cells is not None:
            self._count_as(WRITING)
        if request.chunked:
            self._body = ChunkedBody()
        elif request.content_length:
            self._body = LengthBody(request.content_length)
        self._arm_read_timer()
        exchange.start()

    def _refuse(self, reader: HeadReader, status: int) -> None:
        """A request refused while its head was read: nginx's answer, then the connection closes."""
        self._reader = None
        self._refused = True
        exchange = self._refused_exchange(reader)
        exchange.finalize(status, close=True)

    def _refused_exchange(self, reader: HeadReader) -> Exchange:
        request = reader.refused()
        exchange = Exchange(self, request, self._routes.server(reader.host), None, pipelined=False)
        exchange.request_length = request.head_length
        self.requests += 1
        self.keep_alive = False
        self._active = exchange
        return exchange

    def eof_received(self) -> bool | None:
        self._eof = True
        if self._held:
            return True  # looked at in its turn
        return self._on_eof()

    def _on_eof(self) -> bool | None:
        if self._tunnel is not None:
            self._tunnel.tunnel_eof(from_client=True)
            return True
        if self._lingering:
            return None
        active = self._active
        if self._reader is not None and active is None:
            # a head cut short: nginx logs it as 400 without answering ("client prematurely closed
            # connection")
            exchange = self._refused_exchange(self._reader)
            self._reader = None
            exchange.closed_by_client(400)
            return None
        if active is None:
            return None
        self.keep_alive = False
        if self._body is not None:
            self._body = None
            active.closed_by_client(400)  # a body cut short
            return None
        content = active.content
        if isinstance(content, Proxying) and not content.closed:
            active.closed_by_client(_CLOSED_BY_CLIENT)  # proxy_ignore_client_abort off
            return None
        watching = active.watching_client
        if watching is not None and watching():
            active.closed_by_client(_CLOSED_BY_CLIENT)
            return None
        return True  # the answer is still written; the connection closes after it

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if self._cells is not None:
            self._cells[ACTIVE] -= 1
            self._count_as(-1)
        if self._held:
            self._service.admission.leave(self)
            return
        self._read_timer.cancel()
        if self._send_timer is not None:
            self._send_timer.cancel()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        self._service.connections.discard(self)
        active = self._active
        self._active = None
        self._pending = b""
        if active is not None:
            active.client_lost()

    def pause_writing(self) -> None:
        assert self.flow is not None
        self.flow.write_paused = True
        route = self._active.route if self._active is not None else self._last_route
        if self._send_timer is None:
            self._send_timer = IdleTimer(self._loop, self._send_timed_out)
        self._send_timer.start(route.client_send_timeout)
        if self._active is not None:
            self._active.client_full()

    def resume_writing(self) -> None:
        assert self.flow is not None
        self.flow.write_paused = False
        if self._send_timer is not None:
            self._send_timer.stop()
        if self._active is not None:
            self._active.client_drained()

    # -- what exchanges ask of the connection

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        if not self._closed:
            self.transport.write(data)

    def server_date(self) -> bytes:
        return self._service.clock.server_date

    def may_keep_alive(self, route: Route) -> bool:
        """Whether the connection stays open after the answer to a request `route` served."""
        return (
            not self._draining
            and not self._eof
            and route.keepalive_timeout > 0
            and self.requests < route.keepalive_requests
        )

    def pause_reading_for_upstream(self) -> None:
        self._paused_for_upstream = True
        self._apply_reading()

    def resume_reading_for_upstream(self) -> None:
        self._paused_for_upstream = False
        self._apply_reading()

    def _apply_reading(self) -> None:
        assert self.flow is not None
        if self._paused_for_upstream or self._paused_for_pending:
            if not self.flow.read_paused:
                self.flow.pause_reading()
                self._read_timer.stop()
        elif self.flow.read_paused:
            self.flow.resume_reading()
            self._arm_read_timer()

    def start_tunnel(self, exchange: Exchange) -> None:
        """101 Switching Protocols: from now on the client's bytes go to the upstream as they are, those
        that came after the request first."""
        self._tunnel = exchange
        self._body = None
        if not self._nodelay and exchange.route.tcp_nodelay:
            self._set_nodelay(True)
        self._read_timer.stop()
        pending, self._pending = self._pending, b""
        if self._paused_for_pending:
            self._paused_for_pending = False
            self._apply_reading()
        if pending:
            exchange.tunnel_from_client(pending)

    def _count_as(self, counter: int) -> None:
        """Move the connection from its counter to `counter` (-1: none), as nginx moves it between
        ngx_stat_reading, writing and waiting."""
        cells = self._cells
        assert cells is not None
        if self._stat >= 0:
            cells[self._stat] -= 1
        if counter >= 0:
            cells[counter] += 1
        self._stat = counter

    def _set_nodelay(self, on: bool) -> None:
        """TCP_NODELAY, as nginx's tcp_nodelay: uvloop sets it on every connection; the default server's
        `tcp_nodelay off` clears it, and a kept-alive or upgraded connection gets it back where its
        location has it on (nginx never clears it once set)."""
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        if sock is not None and sock.family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(on))
        self._nodelay = on

    def write_eof_or_close(self) -> None:
        transport = self.transport
        if transport is None or self._closed:
            return
        if transport.can_write_eof():
            transport.write_eof()
        else:
            transport.close()

    def exchange_finished(self, exchange: Exchange) -> None:
        """`exchange` has answered: the next request's turn, or the end of the connection."""
        if exchange is not self._active:
            return
        self._active = None
        exchange.let_go()  # logged already: freed with its proxying by reference counts, not by the GC
        self._last_route = exchange.route
        self._tunnel = None
        if self._closed:
            return
        if not self.keep_alive:
            self._close_after_answer(exchange.route)
            return
        if self._body is not None:
            self._close_after_answer(exchange.route)  # answered before its body came: not read on
            return
        self._idle = True
        if self._cells is not None:
            self._count_as(WAITING)
        if not self._nodelay and exchange.route.tcp_nodelay:
            self._set_nodelay(True)
        self._arm_read_timer()
        if self._reading:
            return  # `_read` goes on with what follows
        pending, self._pending = self._pending, b""
        if not pending:
            self._previous = None  # the next request comes in a new read: a new buffer
        if self._paused_for_pending:
            self._paused_for_pending = False
            self._apply_reading()
        if pending:
            self._read(pending, 0, carried=True)

    def drain(self) -> None:
        """Graceful stop: the request under way is answered, then the connection closes; one waiting
        between two requests closes now. One accepted that has not sent its first request yet is not
        idle, as for nginx (whose graceful stop closes only its keepalive connections): its request,
        maybe already in the socket's buffer, is answered, under client_header_timeout."""
        self._draining = True
        if self._idle and self._active is None and self._reader is None and self.transport is not None:
            self.transport.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def close_without_answer(self, *, reset: bool = False) -> None:
        """nginx's 444 (and 408, 499): the connection closes; `reset`: with an RST (SO_LINGER 0, nginx's
        reset_timedout_connection), what is still unsent dropped."""
        self.keep_alive = False
        transport = self.transport
        if transport is None or self._closed:
            return
        if reset:
            self._abort(reset=True)
        else:
            transport.close()

    # -- timers

    def _arm_read_timer(self) -> None:
        """The timeout of what the connection waits for: a body (its location's client_body_timeout), a
        head (the server's client_header_timeout) or the next request (the last location's
        keepalive_timeout)."""
        if self._closed or self._lingering or (self.flow is not None and self.flow.read_paused):
            self._read_timer.stop()
        elif self._body is not None and self._active is not None:
            self._read_timer.start(self._active.route.client_body_timeout)
        elif self._reader is not None:
            self._read_timer.start(self._routes.default.fallback.client_header_timeout)
        elif self._idle:
            self._read_timer.start(self._last_route.keepalive_timeout)
        else:
            self._read_timer.stop()

    def _read_timed_out(self) -> None:
        """A slow or silent client: nginx closes without an answer. A request begun (a head in part, or
        its body) ends with 408, logged; an idle connection just closes."""
        reader, active = self._reader, self._active
        if reader is not None and active is None:
            self._reader = None
            self._refused_exchange(reader).timed_out()
        elif self._body is not None and active is not None:
            self._body = None
            active.timed_out()
        else:
            self._abort()

    def _send_timed_out(self) -> None:
        route = self._active.route if self._active is not None else self._last_route
        self._abort(reset=route.reset_timedout_connection)

    def _abort(self, *, reset: bool = False) -> None:
        """Close at once, what is unsent dropped; `reset`: with an RST (SO_LINGER 0)."""
        transport = self.transport
        if transport is None:
            return
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family != socket.AF_UNIX:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        transport.abort()

    # -- closing

    def _close_after_answer(self, route: Route) -> None:
        """Close once what is written is sent. With lingering_close on, while the client may still be
        sending (its body was not read whole, bytes came after the request, or a head was refused),
        what it sends is read and dropped for a while, as nginx's lingering close."""
        transport = self.transport
        if transport is None or self._closed:
            return
        self._lingering = True  # no request is read any more
        linger = route.lingering_close
        unread = self._body is not None or bool(self._pending) or self._refused
        if linger == "off" or self._eof or (linger == "on" and not unread):
            transport.close()
            return
        self._body = None
        self._pending = b""
        if self._cells is not None:
            self._count_as(WAITING)  # nginx's lingering connection is a reusable one
        self._read_timer.stop()
        self._paused_for_pending = self._paused_for_upstream = False
        self._apply_reading()
        if transport.can_write_eof():
            transport.write_eof()
        self._linger_timer = self._loop.call_later(route.lingering_time, transport.close)
        self._read_timer.start(route.lingering_timeout)
