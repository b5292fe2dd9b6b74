"""One HTTP/2 stream: the client side of one request's `Exchange` (what `ClientConnection` is to an
HTTP/1.x request), its response going out as frames.

The head becomes a HEADERS frame at once (`send_head`); the body is held per stream and leaves as DATA
frames of at most the location's `http2_chunk_size`, as the client's flow-control windows allow, when
the connection pumps its streams (once per turn of the event loop, so that the last DATA frame carries
END_STREAM as nginx's does). A stream holding more than the connection's high-water mark of body tells
its exchange `client_full` (the proxy then stops reading its upstream, or spools), and `client_drained`
once it is down to half. The request body is acknowledged to the client (WINDOW_UPDATE) as it is given
to the exchange; while the upstream cannot take more (`pause_reading_for_upstream`) it is not, so the
client's window closes and it stops sending on this stream alone.

The request's log line is written once the response's last frame has left (or the stream is reset), as
nginx frees a stream's request only then: `$bytes_sent` counts the frames, 9 bytes of frame head each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hapair.config.nginx.model.logging import ErrorLevel

from ..timers import IdleTimer

if TYPE_CHECKING:
    import asyncio
    import ssl

    from h2.stream import H2Stream

    from ..exchange import Exchange
    from ..response import Framing, ResponseHead
    from ..service import Route
    from .connection import Http2Connection

FRAME_HEAD = 9
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
INTERNAL_ERROR = 0x2


class Http2Stream:
    """Per-stream state; the connection's events for the stream and the exchange's calls arrive here."""

    __slots__ = (
        "_body_left",
        "_body_timer",
        "_chunk",
        "_connection",
        "_ended",
        "_full",
        "_held",
        "_paused",
        "_rst",
        "_send_timer",
        "binary_remote_addr",
        "closed",
        "exchange",
        "h2_stream",
        "http2",
        "id",
        "in_closed",
        "keep_alive",
        "number",
        "out",
        "out_closed",
        "proxy_header",
        "remote_addr",
        "remote_port",
        "requests",
        "scheme",
        "server_addr",
        "server_name_indication",
        "server_port",
        "ssl_object",
    )
    multiplexed = True
    transport: asyncio.Transport | None = None  # no socket of its own: files are read and sent as DATA frames

    def __init__(self, connection: Http2Connection, h2_stream: H2Stream, *, in_closed: bool) -> None:
        self._connection = connection
        self.h2_stream = h2_stream  # the h2 library's
        self.id = h2_stream.stream_id
        self.exchange: Exchange | None = None
        self.number = connection.number
        self.proxy_header = connection.proxy_header
        self.requests = connection.requests
        self.remote_addr = connection.remote_addr
        self.remote_port = connection.remote_port
        self.binary_remote_addr = connection.binary_remote_addr
        self.server_addr = connection.server_addr
        self.server_port = connection.server_port
        self.scheme = connection.scheme
        self.ssl_object: ssl.SSLObject | None = connection.ssl_object
        self.server_name_indication = connection.server_name_indication
        self.http2 = "h2" if connection.ssl_object is not None else "h2c"
        self.keep_alive = True  # set by the exchange; a stream does not close its connection
        self.in_closed = in_closed  # the client has ended its side (END_STREAM)
        self.out_closed = False  # END_STREAM or RST_STREAM sent
        self.closed = False  # done with: the exchange has logged, the connection has forgotten it
        self.out = bytearray()  # body not sent yet
        self._chunk = 0
        self._ended = False  # the exchange has given the whole response
        self._full = False
        self._paused = False
        self._held = 0  # request body received and not acknowledged, while paused
        self._body_left = -1  # what Content-Length still announces (-1: no Content-Length)
        self._body_timer: IdleTimer | None = None
        self._send_timer: IdleTimer | None = None  # while the client's window keeps the body back
        self._rst = False  # RST_STREAM sent or received

    # -- the request, from the connection

    def start(self, exchange: Exchange) -> None:
        """The request's head is read: its exchange runs, with its body to come unless the stream ended."""
        self.exchange = exchange
        length = exchange.request.content_length
        self._body_left = -1 if length is None else length
        if not self.in_closed:
            timer = self._body_timer = IdleTimer(self._connection.loop, self._body_timed_out)
            timer.start(exchange.route.client_body_timeout)
        exchange.start()

    def data(self, data: bytes, flow_controlled: int) -> None:
        """A DATA frame's payload (`flow_controlled`: what it counted against the windows, padding too)."""
        exchange = self.exchange
        if exchange is None or self.closed or self.out_closed or self._ended:
            self._connection.acknowledge(flow_controlled, self.id)  # a body nobody wants any more
            return
        if self._body_timer is not None:
            self._body_timer.touch()
        if self._body_left >= 0:
            self._body_left -= len(data)
            if self._body_left < 0:
                self._log_info("client intended to send body data larger than declared")
                self._connection.acknowledge(flow_controlled, self.id)
                exchange.body_received += len(data)  # $request_length counts it, as nginx's
                exchange.request_length += len(data)
                exchange.request_broken()
                return
        if self._paused:
            self._held += flow_controlled
        else:
            self._connection.acknowledge(flow_controlled, self.id)
        if data:
            exchange.request_length += len(data)  # $request_length: the head's block and the body
            exchange.body(data)

    def end_of_body(self) -> None:
        """The client ended its side of the stream."""
        self.in_closed = True
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        exchange = self.exchange
        if exchange is None or self.closed:
            return
        if self._body_left > 0:
            received, declared = exchange.body_received, exchange.request.content_length
            self._log_info(
                f"client prematurely closed stream: only {received} out of {declared} bytes of request body "
                "received"
            )
            exchange.request_broken()
            return
        exchange.body_done()

    def _body_timed_out(self) -> None:
        """client_body_timeout between two DATA frames: nginx's 408, the stream reset."""
        exchange = self.exchange
        if exchange is None or self.closed:
            return
        self._log_info("client timed out")
        exchange.finalize(408)

    def reset_by_client(self) -> None:
        """RST_STREAM from the client: whatever is under way is dropped."""
        self.in_closed = self.out_closed = self._rst = True
        self.out.clear()
        self._lost()

    def connection_lost(self) -> None:
        self.out_closed = self._rst = True
        self._lost()

    def _lost(self) -> None:
        exchange = self.exchange
        if exchange is not None:
            exchange.client_lost()  # an exchange under way finishes, and comes back through exchange_finished
        self._close()

    def _log_info(self, text: str) -> None:
        exchange = self.exchange
        if exchange is not None:
            exchange.log_request_error(ErrorLevel.INFO, text)

    # -- what the exchange asks of its client side

    def send_head(self, head: ResponseHead, framing: Framing, *, end_stream: bool) -> int:
        """The head as a HEADERS frame (with END_STREAM when there is no body to come); the bytes it took."""
        if self.out_closed:
            return 0
        exchange = self.exchange
        assert exchange is not None
        self._chunk = exchange.route.http2.chunk_size
        size = self._connection.send_head(self, head, framing, end_stream=end_stream)
        if end_stream:
            self._end_sent()
        return size

    def write(self, data: bytes) -> None:
        """Body bytes, sent as DATA frames when the connection pumps."""
        if self.out_closed:
            return
        self.out += data
        self._connection.wants_to_send(self)
        if not self._full and len(self.out) > self._connection.high_water:
            self._full = True
            exchange = self.exchange
            if exchange is not None:
                exchange.client_full()

    def server_date(self) -> bytes:
        return self._connection.server_date()

    def may_keep_alive(self, route: Route) -> bool:
        return True  # a stream's end is not its connection's

    def pause_reading_for_upstream(self) -> None:
        """The body is not acknowledged any more; client_body_timeout does not run while the client
        waits for us."""
        self._paused = True
        if self._body_timer is not None:
            self._body_timer.stop()

    def resume_reading_for_upstream(self) -> None:
        self._paused = False
        exchange = self.exchange
        if self._body_timer is not None and not self._body_timer.running and exchange is not None:
            self._body_timer.start(exchange.route.client_body_timeout)
        if self._held:
            held, self._held = self._held, 0
            self._connection.acknowledge(held, self.id)

    def start_tunnel(self, exchange: Exchange) -> None:
        """An upstream switching protocols: there is no such thing on an HTTP/2 stream (nginx answers a
        101 to an HTTP/2 request with an error); the stream is reset."""
        exchange.abort_response()

    def write_eof_or_close(self) -> None:
        """The response's sender is done: the stream's side ends."""
        self._ended = True
        self._connection.wants_to_send(self)

    def close_without_answer(self, *, reset: bool = False) -> None:
        """nginx's 444 and 408: the stream is reset (nginx marks the request timed out: PROTOCOL_ERROR);
        the connection, shared by other streams, stays (`reset` concerns a connection of its own)."""
        self._reset(PROTOCOL_ERROR)

    def exchange_finished(self, exchange: Exchange) -> None:
        """The exchange is done: a complete response ends the stream once its body is out (then the
        request is logged); an incomplete one resets it."""
        if self.out_closed:
            self._close()
            return
        if exchange.response_complete:
            self._ended = True
            self._connection.wants_to_send(self)
            return
        self._connection.send_now(self)
        self._reset(INTERNAL_ERROR)
        self._close()

    # -- frames out, when the connection pumps

    def send_ready(self, window: int, frame_size: int) -> int:
        """Send what `window` (the smaller of the connection's and the stream's) allows, in frames of
        at most `frame_size`; END_STREAM with the last once the response is whole. The bytes sent."""
        out = self.out
        chunk = min(self._chunk or frame_size, frame_size)
        sent = 0
        connection = self._connection
        while out and window > 0:
            size = min(len(out), chunk, window)
            piece = bytes(out[:size])
            del out[:size]
            last = not out and self._ended and not self._trailers_due()
            connection.send_data(self, piece, end_stream=last)
            self._count_frame()
            window -= size
            sent += size
            if last:
                self._end_sent()
        if self._ended and not out and not self.out_closed:
            self._send_end()
        self._wait_for_window(blocked=bool(out) and not self.out_closed, progressed=sent > 0)
        if self._full and len(out) <= connection.high_water // 2:
            self._full = False
            exchange = self.exchange
            if exchange is not None and not self.closed:
                exchange.client_drained()
        return sent

    def _wait_for_window(self, *, blocked: bool, progressed: bool) -> None:
        """send_timeout runs while the client's window keeps what the stream holds from leaving, from
        the last frame that left."""
        timer = self._send_timer
        if not blocked:
            if timer is not None:
                timer.stop()
            return
        exchange = self.exchange
        if exchange is None:
            return
        if timer is None:
            timer = self._send_timer = IdleTimer(self._connection.loop, self._send_timed_out)
        if not timer.running:
            timer.start(exchange.route.client_send_timeout)
        elif progressed:
            timer.touch()

    def _send_timed_out(self) -> None:
        """nginx's "client timed out" while sending: the stream is reset (PROTOCOL_ERROR)."""
        if self.closed:
            return
        self._log_info("client timed out")
        self._reset(PROTOCOL_ERROR)
        self._lost()

    def _trailers_due(self) -> bool:
        exchange = self.exchange
        return exchange is not None and bool(exchange.trailers)

    def _send_end(self) -> None:
        """END_STREAM on the trailers, or on an empty DATA frame."""
        exchange = self.exchange
        if exchange is not None and exchange.trailers:
            size = self._connection.send_trailers(self, exchange.trailers)
            exchange.add_framing(size)
        else:
            self._connection.send_data(self, b"", end_stream=True)
            self._count_frame()
        self._end_sent()

    def _count_frame(self) -> None:
        exchange = self.exchange
        if exchange is not None:
            exchange.add_framing(FRAME_HEAD)

    def _end_sent(self) -> None:
        self.out_closed = True
        if self._ended:
            self._close()

    def _reset(self, code: int) -> None:
        if not self.out_closed:
            self.out_closed = self._rst = True
            self.out.clear()
            self._connection.reset(self.id, code)

    def _close(self) -> None:
        """The stream is done: the request's log line, and the connection forgets it. A response that
        ended while the client still sends its body: nginx tells it with RST_STREAM (NO_ERROR) that the
        rest is not wanted."""
        if self.closed:
            return
        self.closed = True
        for timer in (self._body_timer, self._send_timer):
            if timer is not None:
                timer.cancel()
        self._body_timer = self._send_timer = None
        if not self.in_closed and not self._rst:
            self._connection.reset(self.id, NO_ERROR)
        if self._held:
            self._connection.acknowledge(self._held, self.id)
            self._held = 0
        exchange = self.exchange
        if exchange is not None:
            exchange.complete()
            exchange.let_go()
            self.exchange = None  # the stream and its exchange refer to each other: freed now, not by the GC
        self._connection.stream_closed(self)
