"""A client connection: an asyncio.Protocol that is its request parser's callback target.

Requests are answered in order. A request whose head is read becomes an `Exchange`; it starts at once
when the connection has nothing else under way, otherwise it waits its turn (pipelining) and the
connection stops reading until it comes. A malformed request gets nginx's answer after the answers to
the requests before it, and the connection is closed: nothing after it is read as a request (no request
smuggling). Timeouts follow nginx's: `client_header_timeout` while a request head is read,
`client_body_timeout` between two reads of a body, `keepalive_timeout` between requests, `send_timeout`
while the client does not take what is written; a connection closed after an error keeps reading (and
dropping) what the client still sends for a while (lingering close), so that the client sees the answer.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import httptools

from .exchange import Exchange
from .flow import FlowControl
from .pages import HEADER_TOO_LARGE, rejection, wire_status
from .request import Request, RequestError
from .timers import IdleTimer
from .tls import SERVER_NAMES

if TYPE_CHECKING:
    import ssl

    from hapair.proxy.proxy_protocol import ProxyAddresses

    from .service import ListenerRoutes, Route, Service

CONNECTION_NUMBERS = itertools.count(1)  # nginx's `*N`: one count for a worker's connections
_REQUEST_LINE_FIXED = 12  # the spaces, " HTTP/1.1" and CRLF around the method and the target


class ClientConnection(asyncio.Protocol):
    """Per-connection state, then the state of the request head being parsed."""

    http2 = ""  # $http2
    multiplexed = False  # one request at a time: its head and body are written as they are made

    __slots__ = (
        "_active",
        "_closed",
        "_draining",
        "_eof",
        "_generation",
        "_headers",
        "_headers_size",
        "_idle",
        "_in_head",
        "_last_route",
        "_linger_timer",
        "_lingering",
        "_loop",
        "_parser",
        "_parsing",
        "_partial_line",
        "_paused_for_pipeline",
        "_paused_for_upstream",
        "_queue",
        "_read_timer",
        "_rejected",
        "_routes",
        "_routes_for",
        "_send_timer",
        "_service",
        "_started",
        "_tunnel",
        "_url",
        "_url_size",
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

    def __init__(self, service: Service, routes_for: Callable[[object], ListenerRoutes]) -> None:
        """`routes_for`: the servers of the address a connection came to, by that address."""
        self._service = service
        self._routes_for = routes_for
        self._loop = service.loop
        self._parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.flow: FlowControl | None = None
        self.number = next(CONNECTION_NUMBERS)
        self.requests = 0
        self.keep_alive = True
        self.remote_addr = ""
        self.remote_port = 0
        self.binary_remote_addr = ""
        self.server_addr = ""
        self.server_port = 0
        self.scheme = "http"
        self.ssl_object: ssl.SSLObject | None = None
        self.server_name_indication: str | None = None
        self.proxy_header: ProxyAddresses | None = None  # what a PROXY protocol header said (proxy_header.py)
        self._read_timer = IdleTimer(self._loop, self._read_timed_out)
        self._send_timer = IdleTimer(self._loop, self._send_timed_out)
        self._linger_timer: asyncio.TimerHandle | None = None
        self._active: Exchange | None = None
        self._queue: deque[Exchange] = deque()
        self._parsing: Exchange | None = None  # the exchange whose body is being read
        self._tunnel: Exchange | None = None
        self._rejected: int | None = None
        self._paused_for_pipeline = False
        self._paused_for_upstream = False
        self._closed = False
        self._lingering = False
        self._draining = False
        self._eof = False
        # the request head being parsed
        self._idle = False  # between requests, waiting for the next one (keepalive_timeout)
        self._in_head = False
        self._generation = 0  # requests begun: tells whether a read held the end of one and a new one
        self._partial_line = 0  # bytes of the head's last line not yet complete
        self._url: list[bytes] = []
        self._url_size = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._headers_size = 0
        self._started = 0.0

    # -- the connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's transports are not its subclasses
        self.transport = transport
        self.flow = FlowControl(transport)
        self._routes = self._routes_for(transport.get_extra_info("sockname"))
        transport.set_write_buffer_limits(high=self._service.limits.high_water)
        self._note_addresses(transport)
        self._service.connections.add(self)
        self._last_route = self._routes.default.fallback
        self._read_timer.start(self._last_route.client_header_timeout)

    def _note_addresses(self, transport: asyncio.Transport) -> None:
        sock = transport.get_extra_info("socket")
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        if isinstance(peer, tuple):
            self.remote_addr, self.remote_port = peer[0], peer[1]
            family = socket.AF_INET6 if ":" in peer[0] else socket.AF_INET
            self.binary_remote_addr = socket.inet_pton(family, peer[0]).decode("latin-1")
        elif sock is not None and sock.family == socket.AF_UNIX:
            self.remote_addr = "unix:"
        if isinstance(local, tuple):
            self.server_addr, self.server_port = local[0], local[1]
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self.ssl_object = ssl_object
            self.scheme = "https"
            self.server_name_indication = SERVER_NAMES.get(ssl_object)

    def data_received(self, data: bytes) -> None:
        if self._tunnel is not None:
            self._tunnel.tunnel_from_client(data)
            return
        if self._lingering or self._rejected is not None:
            self._read_timer.touch()
            return  # after a malformed request nothing more is read as requests
        if self._parsing is not None:
            self._read_timer.touch()  # client_body_timeout is between two reads
        generation, in_head = self._generation, self._in_head
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._upgraded(data[exc.args[0] :])
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if not isinstance(cause, RequestError):
                raise exc  # a bug of ours, not the client's: the loop's handler logs it, with its cause
            self._reject(cause.status)
        except httptools.HttpParserError:
            self._reject(400)
        else:
            if self._in_head:
                self._check_partial_line(data, began_here=not in_head or generation != self._generation)

    def _check_partial_line(self, data: bytes, *, began_here: bool) -> None:
        """A head still incomplete after a read: httptools holds its last, unfinished line, which must
        not grow past nginx's limits either (complete lines are checked in `on_header`)."""
        newline = data.rfind(b"\n")
        if newline >= 0:
            self._partial_line = len(data) - newline - 1
        elif began_here:
            self._partial_line = 0  # this read may also hold the end of the previous request
            return
        else:
            self._partial_line += len(data)
        limits = self._service.limits
        if (
            self._partial_line > limits.header_line
            or self._headers_size + self._partial_line > limits.headers_total
        ):
            self._reject(HEADER_TOO_LARGE)

    def eof_received(self) -> bool | None:
        self._eof = True
        if self._tunnel is not None:
            self._tunnel.tunnel_eof(from_client=True)
            return True
        if self._active is not None and not self._lingering:
            self.keep_alive = False
            return True  # the answer is still written; the connection closes after it
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._read_timer.cancel()
        self._send_timer.cancel()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        self._service.connections.discard(self)
        active = self._active
        self._active = None
        self._queue.clear()
        if active is not None:
            active.client_lost()

    def pause_writing(self) -> None:
        assert self.flow is not None
        self.flow.write_paused = True
        route = self._active.route if self._active is not None else self._last_route
        self._send_timer.start(route.client_send_timeout)
        if self._active is not None:
            self._active.client_full()

    def resume_writing(self) -> None:
        assert self.flow is not None
        self.flow.write_paused = False
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
            and self._rejected is None
        )

    def pause_reading_for_upstream(self) -> None:
        self._paused_for_upstream = True
        self._apply_reading()

    def resume_reading_for_upstream(self) -> None:
        self._paused_for_upstream = False
        self._apply_reading()

    def _apply_reading(self) -> None:
        assert self.flow is not None
        if self._paused_for_upstream or self._paused_for_pipeline:
            if not self.flow.read_paused:
                self.flow.pause_reading()
                self._read_timer.stop()
        elif self.flow.read_paused:
            self.flow.resume_reading()
            self._arm_read_timer()

    def start_tunnel(self, exchange: Exchange) -> None:
        """101 Switching Protocols: from now on the client's bytes go to the upstream as they are."""
        self._tunnel = exchange
        self._read_timer.stop()

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
        self._last_route = exchange.route
        self._tunnel = None
        if self._closed:
            return
        if not self.keep_alive:
            self._close_after_answer()
            return
        if self._queue:
            self._activate(self._queue.popleft())
            if not self._queue and not self._closed:
                self._paused_for_pipeline = False  # the request now served may still be sending its body
                self._apply_reading()
            return
        if self._rejected is not None:
            self._answer_rejected()
            return
        self._paused_for_pipeline = False
        self._idle = True
        self._apply_reading()
        self._arm_read_timer()

    def drain(self) -> None:
        """Graceful stop: the request under way is answered, then the connection closes."""
        self._draining = True
        if self._active is None and not self._in_head and not self._queue and self.transport is not None:
            self.transport.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def close_without_answer(self) -> None:
        """nginx's 444 (and 408, 499): the connection closes, after the answers before."""
        self.keep_alive = False
        if self.transport is not None and not self._closed:
            self.transport.close()

    # -- timers

    def _arm_read_timer(self) -> None:
        """The timeout of what the connection waits for: a body (its location's client_body_timeout), a
        head (the server's client_header_timeout) or the next request (the last location's
        keepalive_timeout)."""
        if self._closed or self._lingering or (self.flow is not None and self.flow.read_paused):
            self._read_timer.stop()
        elif self._parsing is not None:
            self._read_timer.start(self._parsing.route.client_body_timeout)
        elif self._in_head:
            self._read_timer.start(self._routes.default.fallback.client_header_timeout)
        elif self._idle:
            self._read_timer.start(self._last_route.keepalive_timeout)
        else:
            self._read_timer.stop()

    def _read_timed_out(self) -> None:
        """A slow or silent client: nginx closes without an answer."""
        self._abort()

    def _send_timed_out(self) -> None:
        self._abort()

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # -- closing

    def _close_after_answer(self) -> None:
        """Close once what is written is sent; read and drop what the client still sends meanwhile,
        as nginx's lingering close, unless the client is done sending."""
        transport = self.transport
        if transport is None or self._closed:
            return
        if self._eof or (self._parsing is None and self._rejected is None and not self._queue):
            transport.close()
            return
        self._lingering = True
        self._read_timer.stop()
        self._paused_for_pipeline = self._paused_for_upstream = False
        self._apply_reading()
        limits = self._service.limits
        if transport.can_write_eof():
            transport.write_eof()
        self._linger_timer = self._loop.call_later(limits.lingering_time, transport.close)
        self._read_timer.start(limits.lingering_timeout)

    def _reject(self, status: int) -> None:
        """A malformed request: answered once the requests before it are, then the connection closes."""
        self._rejected = status
        self._in_head = False
        parsing = self._parsing
        self._parsing = None
        if parsing is not None:
            if parsing is self._active:
                parsing.request_broken()
                return
            self._queue.remove(parsing)
        if self._active is None:
            self._answer_rejected()
        else:
            self._paused_for_pipeline = True
            self._apply_reading()

    def _answer_rejected(self) -> None:
        status = self._rejected
        assert status is not None and self.transport is not None
        data = rejection(status, self.server_date())
        self.transport.write(data)
        self._service.log_rejected(self._routes, self, wire_status(status), len(data))
        self.keep_alive = False
        self._close_after_answer()

    # -- httptools callbacks

    def on_message_begin(self) -> None:
        self._in_head = True
        self._url = []
        self._url_size = 0
        self._headers = []
        self._headers_size = 0
        self._generation += 1
        self._partial_line = 0
        self._started = self._service.clock.now()
        if self._idle:
            # client_header_timeout: the whole head within it, from its first byte (not between reads)
            self._idle = False
            self._read_timer.start(self._routes.default.fallback.client_header_timeout)

    def on_url(self, url: bytes) -> None:
        self._url.append(url)
        self._url_size += len(url)
        method = self._parser.get_method()
        if len(method) + self._url_size + _REQUEST_LINE_FIXED > self._service.limits.request_line:
            raise RequestError(414)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_head:
            return  # a trailer of a chunked body: dropped, as nginx does
        size = len(name) + len(value) + 4
        self._headers_size += size
        limits = self._service.limits
        if size > limits.header_line or self._headers_size > limits.headers_total:
            raise RequestError(HEADER_TOO_LARGE)
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        method = parser.get_method()
        if method == b"CONNECT":
            raise RequestError(405)
        url = self._url[0] if len(self._url) == 1 else b"".join(self._url)
        head_length = len(method) + len(url) + _REQUEST_LINE_FIXED + self._headers_size + 2
        request = Request(
            method,
            url,
            parser.get_http_version(),
            self._headers,
            keep_alive=parser.should_keep_alive(),
            head_length=head_length,
            started=self._started,
        )
        self._in_head = False
        self.requests += 1
        server, found = self._routes.route(request)
        pipelined = self._active is not None
        exchange = Exchange(self, request, server, found, pipelined=pipelined)
        if request.has_body:
            self._parsing = exchange
        if self._active is None:
            self._activate(exchange)
        else:
            self._queue.append(exchange)
            self._paused_for_pipeline = True
            self._apply_reading()

    def on_body(self, body: bytes) -> None:
        parsing = self._parsing
        if parsing is not None:
            parsing.body(body)

    def on_message_complete(self) -> None:
        parsing = self._parsing
        if parsing is not None:
            self._parsing = None
            parsing.body_done()
            self._arm_read_timer()

    def _activate(self, exchange: Exchange) -> None:
        self._active = exchange
        self._arm_read_timer()
        exchange.start()

    def _upgraded(self, rest: bytes) -> None:
        """The request asks to switch protocols: the parser stops; bytes after it wait for the switch."""
        exchange = self._active if not self._queue else self._queue[-1]
        if exchange is None:
            self._reject(400)
            return
        exchange.upgraded_client = True
        self._tunnel = exchange
        if rest:
            exchange.tunnel_from_client(rest)
