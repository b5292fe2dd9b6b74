"""An HTTP/2 connection: an asyncio Protocol over h2's sans-I/O state machine (frames, HPACK, flow
control), whose streams are requests served as HTTP/1.x ones are (`stream.Http2Stream`).

What nginx 1.22 does, and hapair with it:

- It sends its SETTINGS (SETTINGS_MAX_CONCURRENT_STREAMS from `http2_max_concurrent_streams`,
  SETTINGS_INITIAL_WINDOW_SIZE from `http2_body_preread_size`) and opens the connection's window to
  2^31-1; a stream beyond the concurrent ones is refused (RST_STREAM, REFUSED_STREAM).
- Timeouts: `client_header_timeout` until the first stream, `keepalive_timeout` once no stream is left
  (then GOAWAY), `client_body_timeout` between a request body's DATA frames, `send_timeout` while the
  client takes nothing; after `keepalive_requests` streams, GOAWAY (NO_ERROR) and the streams under way
  finish.
- Floods (nginx's "http2 flood detected", GOAWAY NO_ERROR): bytes received without payload (frames
  that carry no request head or body) past an eighth of what was read and a margin; more than 10 times
  `keepalive_requests` reads while no stream is open; too many control frames waiting for a client
  that does not read (the connection is closed). PRIORITY frames past the concurrent streams' allowance
  (GOAWAY ENHANCE_YOUR_CALM). A header field longer than a large header buffer, or a header list longer
  than all of them (the default server's `large_client_header_buffers`, 4 8k by default, as nginx 1.22
  applies them to HTTP/2): GOAWAY ENHANCE_YOUR_CALM; h2 stops decoding a list of more than 33 times that
  as HPACK counts them (an HPACK bomb).

Where hapair does better than nginx 1.22, which predates them (docs/nginx-differences.md):

- Rapid reset (CVE-2023-44487): as nginx 1.25.3, at most twice the concurrent streams are opened per
  read (the others refused); and once the client has reset more than the concurrent streams' number
  of streams before their response was sent, and more than half of the streams it opened, GOAWAY
  ENHANCE_YOUR_CALM.
- CONTINUATION floods: h2 takes at most 64 CONTINUATION frames per header block (GOAWAY PROTOCOL_ERROR),
  so a header block held in memory is at most 1 MiB (64 frames of 16k, the largest frame hapair
  announces).
- The flood margin is 64 KiB of bytes without payload, where nginx allows 1 MiB: a frame costs hapair
  far more CPU than nginx.
"""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, cast

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
import h2.stream
from h2.errors import ErrorCodes
from hyperframe.frame import GoAwayFrame

from hapair.config.nginx.model.http2 import DEFAULT_WINDOW, MAX_WINDOW
from hapair.config.nginx.model.logging import ErrorLevel

from ...status import ACCEPTED, ACTIVE, HANDLED, REQUESTS, WAITING, WRITING
from ..client import CONNECTION_NUMBERS
from ..exchange import Exchange
from ..pages import SERVER
from ..timers import IdleTimer
from ..tls import SERVER_NAMES
from .decoding import ENTRY_OVERHEAD
from .encoding import HeadEncoder
from .frames import send_block, send_body
from .machine import ServerConnection, server_configuration
from .request import Refusal, empty_request, read_request
from .stream import FRAME_HEAD, Http2Stream

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable

    from hapair.proxy.proxy_protocol import ProxyAddresses

    from ..response import Framing, ResponseHead
    from ..service import ListenerRoutes, Route, Service

FLOOD_MARGIN = 64 * 1024  # bytes without payload tolerated beyond an eighth of what was read
QUEUED_CONTROL_LIMIT = 10000 * 24  # nginx's 10000 frames of its 24-byte buffers, waiting to be written
_CONNECTION_ACTION = "while processing HTTP/2 connection"


class Http2Connection(asyncio.Protocol):
    """Per-connection state: h2's connection, the streams, the timers and the flood accounting."""

    def __init__(self, service: Service, routes_for: Callable[[object], ListenerRoutes]) -> None:
        self._service = service
        self._routes_for = routes_for
        self.loop = service.loop
        self.high_water = service.limits.high_water
        self.number = next(CONNECTION_NUMBERS)
        self.proxy_header: ProxyAddresses | None = None  # what a PROXY protocol header said
        self.requests = 0
        self.remote_addr = ""
        self.remote_port = 0
        self.binary_remote_addr = ""
        self.server_addr = ""
        self.server_port = 0
        self.scheme = "http"
        self.ssl_object: ssl.SSLObject | None = None
        self.server_name_indication: str | None = None
        self.transport: asyncio.Transport | None = None
        self._routes: ListenerRoutes | None = None
        self._route: Route | None = None  # the default server's: the connection's settings
        self._h2 = ServerConnection(server_configuration())
        self._encoder = HeadEncoder(SERVER)
        self._h2.encoder = self._encoder  # type: ignore[assignment]  # h2 tells it the client's table size
        self._streams: dict[int, Http2Stream] = {}
        self._sending: dict[int, Http2Stream] = {}  # streams with frames to send, in the order they came
        self._out: list[bytes] = []  # frames made, written at the end of the turn
        self._pump_scheduled = False
        self._timer = IdleTimer(self.loop, self._timed_out)
        self._send_timer = IdleTimer(self.loop, self._abort)
        self._linger_timer = IdleTimer(self.loop, self._close_now)
        self._linger_end: asyncio.TimerHandle | None = None
        self._write_paused = False
        self._closed = False
        self._goaway = False  # GOAWAY sent: no new stream is served
        self._idle_reads = 0
        self._total_bytes = 0
        self._payload_bytes = 0
        self._opened = 0  # streams the client opened
        self._premature_resets = 0  # of those, the ones it reset before their response was out
        self._priority_limit = 0
        self._max_streams = 0
        self._field_limit = self._list_limit = 0  # set from the default server's settings
        status = service.status
        self._cells = status.cells if status is not None else None  # stub_status's counters, if counted
        self._waiting = False  # counted as waiting (no stream open)

    # -- the connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        self._note_addresses(transport)
        routes = self._routes = self._routes_for(transport.get_extra_info("sockname"))
        route = self._route = routes.default.fallback
        limits = routes.default.head_limits  # large_client_header_buffers: a field, and the whole list
        self._field_limit = limits.large_buffer_size
        self._list_limit = limits.large_buffers * limits.large_buffer_size
        settings = route.http2
        self._max_streams = settings.max_concurrent_streams
        self._priority_limit = max(self._max_streams, 100)
        # h2 counts (and forgets) its streams at each new one: once per as many new streams as can be open
        self._h2.forget_above = 2 * self._max_streams
        transport.set_write_buffer_limits(high=self.high_water)
        self._service.connections.add(self)
        if self._cells is not None:
            self._cells[ACCEPTED] += 1
            self._cells[HANDLED] += 1
            self._cells[ACTIVE] += 1
            self._count_streams(0)
        conn = self._h2
        conn.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self._max_streams,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: settings.body_preread_size,
            },
        )
        conn.decoder.max_header_list_size = self._list_limit * (1 + ENTRY_OVERHEAD)
        conn.initiate_connection()
        conn.increment_flow_control_window(MAX_WINDOW - DEFAULT_WINDOW)
        self._flush()
        self._timer.start(route.client_header_timeout)

    def _note_addresses(self, transport: asyncio.Transport) -> None:
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        sock = transport.get_extra_info("socket")
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
        if self._closed:
            self._linger_timer.touch()  # lingering: dropped
            return
        self._total_bytes += len(data)
        if not self._streams:
            self._idle_reads += 1
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            self._log_info(f"client sent invalid frames: {exc}")
            self._finish()
            return
        self._handle(events)
        if self._closed:
            return
        if self._flooded():
            return
        self._flush()

    def _handle(self, events: list[h2.events.Event]) -> None:
        new_streams = 0
        attached: set[int] = set()
        for event in events:
            if self._closed:
                return
            if isinstance(event, h2.events.RequestReceived):
                new_streams += 1
                if event.priority_updated is not None:
                    attached.add(id(event.priority_updated))
                self._request(event, at_once=new_streams)
            elif isinstance(event, h2.events.DataReceived):
                self._payload_bytes += len(event.data)
                stream = self._streams.get(event.stream_id)
                if stream is not None:
                    stream.data(event.data, event.flow_controlled_length)
                else:
                    self.acknowledge(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                stream = self._streams.get(event.stream_id)
                if stream is not None:
                    stream.end_of_body()
            elif isinstance(event, h2.events.StreamReset):
                self._stream_reset(event)
            elif isinstance(event, h2.events.TrailersReceived):
                self._trailers(event)
            elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
                self._schedule_pump()
            elif isinstance(event, h2.events.PriorityUpdated) and id(event) not in attached:
                self._priority_limit -= 1
                if self._priority_limit == 0:
                    self._log_info("client sent too many PRIORITY frames")
                    self._fail(ErrorCodes.ENHANCE_YOUR_CALM)
            elif isinstance(event, h2.events.ConnectionTerminated):
                self._client_goaway()

    # -- streams

    def _request(self, event: h2.events.RequestReceived, *, at_once: int) -> None:
        stream_id = event.stream_id
        length = self._h2.block_sizes.pop(stream_id, 0)
        h2_stream = self._h2.begun.pop(stream_id)
        if self._goaway:
            self._h2.reset_stream(stream_id, ErrorCodes.REFUSED_STREAM)
            return
        if len(self._streams) >= self._max_streams:
            self._log_info(f"concurrent streams exceeded {len(self._streams)}")
            self._h2.reset_stream(stream_id, ErrorCodes.REFUSED_STREAM)
            return
        if at_once > 2 * self._max_streams:
            self._log_info("client sent too many streams at once")
            self._h2.reset_stream(stream_id, ErrorCodes.REFUSED_STREAM)
            return
        headers = cast(list[tuple[bytes, bytes]], event.headers)
        limit = self._headers_refused(headers)
        if limit is not None:
            self._log_info(limit)
            self._fail(ErrorCodes.ENHANCE_YOUR_CALM)
            return
        self._timer.stop()
        self._priority_limit += self._max_streams
        self.requests += 1
        self._opened += 1
        in_closed = event.stream_ended is not None
        stream = self._streams[stream_id] = Http2Stream(self, h2_stream, in_closed=in_closed)
        if self._cells is not None:
            self._cells[REQUESTS] += 1
            self._count_streams(1)
        if self._last_request():
            self._send_goaway(ErrorCodes.NO_ERROR)
        started = self._service.clock.now()
        assert self._routes is not None
        limits = self._routes.default.head_limits
        read = read_request(
            headers,
            stream_ended=in_closed,
            length=length,
            started=started,
            underscores=limits.underscores,
            ignore_invalid=limits.ignore_invalid,
        )
        if isinstance(read, Refusal):
            self._refuse(stream, read, started)
            return
        self._payload_bytes += length
        server, found = self._routes.route(read)
        stream.start(Exchange(stream, read, server, found, pipelined=False))

    def _headers_refused(self, headers: list[tuple[bytes, bytes]]) -> str | None:
        """nginx's limits on a header list (large_client_header_buffers): a field, and the whole list."""
        total = 0
        for name, value in headers:
            if len(name) > self._field_limit or len(value) > self._field_limit:
                return "client sent too large header field"
            total += len(name) + len(value)
        if total > self._list_limit:
            return "client sent too large header"
        return None

    def _last_request(self) -> bool:
        """nginx sends GOAWAY once a connection has served keepalive_requests streams."""
        route = self._route
        assert route is not None
        return route.keepalive_timeout <= 0 or self.requests >= route.keepalive_requests

    def _refuse(self, stream: Http2Stream, refusal: Refusal, started: float) -> None:
        """A request nginx does not serve: the stream reset, or nginx's error page."""
        request = refusal.request if refusal.request is not None else empty_request(started)
        assert self._routes is not None
        exchange = Exchange(stream, request, self._routes.default, None, pipelined=False)
        stream.exchange = exchange
        exchange.log_request_error(ErrorLevel.INFO, refusal.reason)
        if refusal.reset:
            self._h2.reset_stream(stream.id, refusal.reset)
            stream.reset_by_client()
            return
        exchange.finalize(refusal.status)

    def _stream_reset(self, event: h2.events.StreamReset) -> None:
        stream = self._streams.get(event.stream_id)
        if stream is None:
            return
        code = event.error_code
        what = {
            ErrorCodes.CANCEL: "client canceled stream %d",
            ErrorCodes.REFUSED_STREAM: "client refused stream %d",
            ErrorCodes.INTERNAL_ERROR: "client terminated stream %d due to internal error",
        }.get(cast(ErrorCodes, code), f"client terminated stream %d with status {int(code or 0)}")
        self._log_info(what % event.stream_id)
        if not stream.out_closed:
            self._premature_resets += 1
        stream.reset_by_client()
        if self._premature_resets > self._max_streams and self._premature_resets * 2 > self._opened:
            self._log_info("client reset too many streams")
            self._fail(ErrorCodes.ENHANCE_YOUR_CALM)

    def _trailers(self, event: h2.events.TrailersReceived) -> None:
        """nginx 1.22 takes no trailers in a request: a HEADERS frame on an open stream is a connection
        error."""
        self._h2.block_sizes.pop(event.stream_id, None)
        self._log_info(
            f"client sent HEADERS frame with incorrect identifier {event.stream_id}, the last was "
            f"{self._h2.highest_inbound_stream_id}"
        )
        self._fail(ErrorCodes.PROTOCOL_ERROR)

    def _client_goaway(self) -> None:
        """nginx reads past a client's GOAWAY and finishes the streams under way; h2 would refuse to send
        another frame, so its connection is put back in the state it was in."""
        self._h2.state_machine.state = h2.connection.ConnectionState.SERVER_OPEN
        if not self._streams:
            self._fail(ErrorCodes.NO_ERROR)

    def stream_closed(self, stream: Http2Stream) -> None:
        closed = self._streams.pop(stream.id, None)
        self._sending.pop(stream.id, None)
        if self._closed:
            return
        if closed is not None and self._cells is not None:
            self._count_streams(-1)
        if not self._streams:
            if self._goaway:
                self._finish()
                return
            route = self._route
            assert route is not None
            self._timer.start(route.keepalive_timeout)
        self._schedule_pump()

    def acknowledge(self, size: int, stream_id: int) -> None:
        """Request body taken: the client may send that much more (WINDOW_UPDATE when due)."""
        if size and not self._closed:
            self._h2.acknowledge_received_data(size, stream_id)
            self._schedule_pump()

    def reset(self, stream_id: int, code: int) -> None:
        if not self._closed:
            self._h2.reset_stream(stream_id, code)
            self._schedule_pump()

    # -- frames out

    def server_date(self) -> bytes:
        return self._service.clock.server_date

    def send_head(
        self, stream: Http2Stream, head: ResponseHead, framing: Framing, *, end_stream: bool
    ) -> int:
        """The HEADERS frame(s) of a response; the bytes they take."""
        block = self._encoder.head(head, self._service.clock.date, framing)
        return self._send_block(stream, block, informational=head.status < 200, end_stream=end_stream)

    def send_trailers(self, stream: Http2Stream, trailers: list[tuple[bytes, bytes]]) -> int:
        return self._send_block(
            stream, self._encoder.trailers(trailers), informational=False, end_stream=True
        )

    def _send_block(self, stream: Http2Stream, block: bytes, *, informational: bool, end_stream: bool) -> int:
        size = send_block(
            self._h2, stream.h2_stream, block, informational=informational, end_stream=end_stream
        )
        self._payload_bytes += size - FRAME_HEAD
        self._schedule_pump()
        return size

    def send_data(self, stream: Http2Stream, data: bytes, *, end_stream: bool) -> None:
        send_body(self._h2, stream.h2_stream, data, end_stream=end_stream)
        self._payload_bytes += len(data)

    def wants_to_send(self, stream: Http2Stream) -> None:
        self._sending[stream.id] = stream
        self._schedule_pump()

    def send_now(self, stream: Http2Stream) -> None:
        """What a stream holds and the windows allow, at once (before it is reset)."""
        if not self._write_paused and not self._closed:
            self._send_some(stream)

    def _schedule_pump(self) -> None:
        if not self._pump_scheduled and not self._closed:
            self._pump_scheduled = True
            self.loop.call_soon(self._pump)

    def _pump(self) -> None:
        """Frames of the streams with something to send, as the windows and the transport allow; then
        everything h2 has for the client, in one write."""
        self._pump_scheduled = False
        if self._closed:
            return
        if not self._write_paused:
            for stream in list(self._sending.values()):
                if self._send_some(stream):
                    self._sending.pop(stream.id, None)
        self._flush()

    def _send_some(self, stream: Http2Stream) -> bool:
        """True when the stream has nothing left to send for now (or is done)."""
        if stream.out_closed:
            return True
        conn = self._h2
        window = min(conn.outbound_flow_control_window, stream.h2_stream.outbound_flow_control_window)
        stream.send_ready(window, conn.max_outbound_frame_size)
        return stream.out_closed or not stream.out

    def _take_frames(self) -> None:
        data = self._h2.data_to_send()
        if data:
            self._out.append(data)

    def _flush(self) -> None:
        """Everything made for the client, in one write."""
        self._take_frames()
        out = self._out
        if not out:
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def pause_writing(self) -> None:
        self._write_paused = True
        route = self._route
        assert route is not None
        self._send_timer.start(route.client_send_timeout)

    def resume_writing(self) -> None:
        self._write_paused = False
        self._send_timer.stop()
        self._schedule_pump()

    # -- floods and timeouts

    def _flooded(self) -> bool:
        """nginx's flood checks, after a read."""
        route = self._route
        assert route is not None
        transport = self.transport
        if (
            transport is not None
            and self._write_paused
            and transport.get_write_buffer_size() > (self.high_water + QUEUED_CONTROL_LIMIT)
        ):
            self._log_info("http2 flood detected")
            self._abort()
            return True
        if (
            self._total_bytes // 8 > self._payload_bytes + FLOOD_MARGIN
            or self._idle_reads > 10 * route.keepalive_requests
        ):
            self._log_info("http2 flood detected")
            self._fail(ErrorCodes.NO_ERROR)
            return True
        return False

    def _timed_out(self) -> None:
        """client_header_timeout before the first stream ("client timed out"), keepalive_timeout after
        the last."""
        if self.requests == 0:
            self._log_info("client timed out")
            self._fail(ErrorCodes.PROTOCOL_ERROR)
        else:
            self._fail(ErrorCodes.NO_ERROR)

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # -- the end

    def _send_goaway(self, code: int) -> None:
        """GOAWAY without closing h2's side, so that the streams under way still get their frames (h2
        would refuse any frame after its own GOAWAY)."""
        if self._goaway:
            return
        self._goaway = True
        frame = GoAwayFrame(0)
        frame.last_stream_id = self._h2.highest_inbound_stream_id
        frame.error_code = code
        self._take_frames()
        self._out.append(frame.serialize())
        self._flush()

    def _fail(self, code: int) -> None:
        """A connection error: GOAWAY with `code`, the streams dropped, the connection closed."""
        if self._closed:
            return
        if not self._goaway:
            self._goaway = True
            self._h2.close_connection(error_code=code)
        self._finish()

    def _finish(self) -> None:
        """Write what h2 has (its GOAWAY), drop the streams, and close, lingering."""
        if self._closed:
            return
        self._flush()
        self._closed = True
        self._drop_streams()
        self._linger()

    def _linger(self) -> None:
        """nginx's lingering close: the client has the time to read the GOAWAY. The connection's sending
        side is shut, what the client still sends is read and dropped, and the connection closes after
        `lingering_timeout` without anything from it, or `lingering_time` in all (a close with unread
        data would reset the connection, and the client could lose the GOAWAY)."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if transport.can_write_eof():
            transport.write_eof()
        self._timer.cancel()
        limits = self._service.limits
        self._linger_timer.start(limits.lingering_timeout)
        self._linger_end = self.loop.call_later(limits.lingering_time, self._close_now)

    def _close_now(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _drop_streams(self) -> None:
        for stream in list(self._streams.values()):
            stream.connection_lost()
        self._streams.clear()
        self._sending.clear()

    def drain(self) -> None:
        """Graceful stop: GOAWAY; the streams under way finish, then the connection closes."""
        if not self._streams:
            self._fail(ErrorCodes.NO_ERROR)
            return
        self._send_goaway(ErrorCodes.NO_ERROR)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def eof_received(self) -> bool | None:
        if self._streams and not self._closed:
            self._log_info("client prematurely closed connection")
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._timer.cancel()
        self._send_timer.cancel()
        self._linger_timer.cancel()
        if self._linger_end is not None:
            self._linger_end.cancel()
        self._service.connections.discard(self)
        if self._cells is not None:
            self._cells[ACTIVE] -= 1
            self._count_streams(-len(self._streams))
        self._drop_streams()

    def _count_streams(self, change: int) -> None:
        """stub_status's counters: each open stream is a request being written (nginx's h2 requests go
        from reading to writing once their headers are in, which is when a stream opens here), and the
        connection is waiting while it has none."""
        cells = self._cells
        assert cells is not None
        cells[WRITING] += change
        waiting = not self._streams and not self._closed
        if waiting != self._waiting:
            cells[WAITING] += 1 if waiting else -1
            self._waiting = waiting

    def _log_info(self, text: str) -> None:
        route = self._route
        if route is None:
            return
        route.error_log(
            ErrorLevel.INFO,
            f"*{self.number} {text} {_CONNECTION_ACTION}, client: {self.remote_addr}, "
            f"server: {self.server_addr}:{self.server_port}",
        )
