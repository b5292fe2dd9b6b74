"""One request proxied (ngx_http_upstream.c's part of a request): the peer chosen by the balancer, the
connection (from the pool or new), the request written upstream and its body streamed, the response
relayed to the client, retries on the next peer as `proxy_next_upstream` allows, and the access log.

Data moves in the protocols' callbacks, without a task: a task exists only while a new upstream
connection is being opened. Flow control joins the two sides: the client's reading pauses while the
upstream connection holds more than its high-water mark of request body, and the upstream's reading
pauses while the client's transport holds more than its high-water mark of response.

Retries (nginx's rules): only before anything of the response reached the client; a request that was
written upstream is not retried when its method is not idempotent (POST, PATCH, LOCK...) unless
`non_idempotent` is in `proxy_next_upstream`; within `proxy_next_upstream_tries` and
`proxy_next_upstream_timeout`. Where hapair differs: a request body is streamed, not read whole first,
and it is kept for a retry only while it is no larger than `Limits.replay_limit` (a larger one is not
retried once some of it was sent). A failure on a reused idle connection before any response byte is
the keep-alive race, not the peer's failure: an idempotent request is sent again on another connection
to the same peer, without counting a failure.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from typing import TYPE_CHECKING

from hapair.config.nginx.model.logging import ErrorLevel
from hapair.proxy.balancer import Peer, Selection

from .headers import BodyFraming
from .pages import CLOSING, CONTINUE, error_response, page_length, wire_status
from .upstream import TIMED_OUT, Failure, Framing, UpstreamConnection
from .variables import balancing_key, request_line

if TYPE_CHECKING:
    import re

    from .client import ClientConnection
    from .request import Request
    from .service import Route

_HTTP_FAILURES = {
    500: "http_500",
    502: "http_502",
    503: "http_503",
    504: "http_504",
    403: "http_403",
    404: "http_404",
    429: "http_429",
}
_NOT_A_FAILURE = frozenset({403, 404})  # nginx tries the next peer but does not count a failure
_HIDDEN = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"server",
        b"date",
        b"x-pad",
        b"x-accel-expires",
        b"x-accel-redirect",
        b"x-accel-limit-rate",
        b"x-accel-buffering",
        b"x-accel-charset",
    }
)
_UPGRADE = b"upgrade"
_CHUNK_END = b"0\r\n\r\n"
_CLOSED_BY_CLIENT = 499  # nginx's status in the log of a request whose client went away


class Attempt:
    """One upstream tried: what `$upstream_*` tell of it."""

    __slots__ = (
        "address",
        "bytes_received",
        "bytes_sent",
        "connect_time",
        "header_time",
        "response_length",
        "response_time",
        "started",
        "status",
    )

    def __init__(self, address: str, started: float) -> None:
        self.address = address
        self.started = started
        self.status = 0
        self.connect_time: float | None = 0.0
        self.header_time: float | None = None
        self.response_time: float | None = None
        self.bytes_sent = 0
        self.bytes_received = 0
        self.response_length = 0


class Exchange:
    """Per-request state; the upstream connection's callbacks and the client's arrive here."""

    __slots__ = (
        "_body_done",
        "_client_closed",
        "_collect",
        "_complete",
        "_conn",
        "_connecting",
        "_deadline",
        "_early",
        "_failure",
        "_finished",
        "_framing",
        "_held",
        "_held_size",
        "_keep",
        "_out",
        "_peer",
        "_rechunk",
        "_request_written",
        "_responding",
        "_sent",
        "_started",
        "_tried",
        "_tries_left",
        "_tunnel",
        "_tunnel_eof",
        "_unsent",
        "_uri",
        "attempts",
        "body_bytes_sent",
        "body_received",
        "bytes_sent",
        "client",
        "match",
        "pipelined",
        "request",
        "response_headers",
        "route",
        "send_timeout",
        "server_name",
        "status",
        "upgraded_client",
    )

    def __init__(
        self,
        client: ClientConnection,
        request: Request,
        route: Route,
        match: re.Match[str] | None,
        *,
        pipelined: bool,
    ) -> None:
        self.client = client
        self.request = request
        self.route = route
        self.match = match
        self.pipelined = pipelined
        self.server_name = route.server_name
        self.send_timeout = route.send_timeout
        self.status = 0
        self.bytes_sent = 0
        self.body_bytes_sent = 0
        self.body_received = 0
        self.attempts: list[Attempt] = []
        self.response_headers: list[tuple[bytes, bytes]] = []
        self.upgraded_client = False
        self._framing = route.body_framing(request)
        self._collect = request.chunked and self._framing is BodyFraming.LENGTH
        self._body_done = not request.has_body
        self._held: list[bytes] = []  # body pieces not yet written, or kept for a retry
        self._held_size = 0
        self._sent = 0  # how many of `_held` the current connection has
        self._unsent = 0  # bytes of `_held` the current connection does not have
        self._keep = True  # `_held` still has the whole body received: a retry can send it again
        self._conn: UpstreamConnection | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._peer: Peer | None = None
        self._tried: Selection | None = None  # made at the first pick, with the request's key
        self._tries_left = 0
        self._deadline = 0.0
        self._failure: Failure | None = None
        self._request_written = False
        self._out: list[bytes] = []
        self._responding = False
        self._rechunk = False
        self._complete = False
        self._finished = False
        self._client_closed = False
        self._started = False
        self._tunnel = False
        self._tunnel_eof = [False, False]  # client side, upstream side
        self._early: list[bytes] = []
        self._uri = b""

    # -- the client side

    def start(self) -> None:
        """The request's turn has come (the ones before it on the connection are answered)."""
        self._started = True
        route = self.route
        request = self.request
        if route.head is None:
            self.respond_error(404)
            return
        if route.max_body and request.content_length is not None and request.content_length > route.max_body:
            self.respond_error(413, close=True)
            return
        if route.max_body and self.body_received > route.max_body:
            self.respond_error(413, close=True)
            return
        self._uri = route.upstream_uri(request, self.match)
        self._tries_left = route.tries
        if route.next_upstream_timeout:
            self._deadline = time.monotonic() + route.next_upstream_timeout
        if request.expect_continue and not self._body_done:
            self.client.write(CONTINUE)
        if self._collect and not self._body_done:
            return  # a chunked body for an HTTP/1.0 upstream: sent with its length once read whole
        self._attempt()

    def body(self, data: bytes) -> None:
        """A piece of the request body, as the client's parser gives it (without chunk framing)."""
        self.body_received += len(data)
        route = self.route
        if route.max_body and self.body_received > route.max_body and not self._finished:
            self._body_too_large()
            return
        if self._framing is BodyFraming.CHUNKED:
            self._add_body(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            self._add_body(data)

    def body_done(self) -> None:
        self._body_done = True
        if self._framing is BodyFraming.CHUNKED:
            self._add_body(_CHUNK_END)
        elif self._collect and self._started and not self._finished:
            self._attempt()
            return
        conn = self._conn
        if conn is not None and self._request_written:
            conn.expect_response(self.route.read_timeout)

    def _add_body(self, piece: bytes) -> None:
        if self._finished:
            return
        self._held.append(piece)
        self._held_size += len(piece)
        self._unsent += len(piece)
        conn = self._conn
        if conn is not None and self._request_written and not self._collect:
            self._send_held(conn)
        elif not self._collect and self._unsent > self.route.high_water:
            self.client.pause_reading_for_upstream()

    def _send_held(self, conn: UpstreamConnection) -> None:
        """Write the pieces `conn` does not have; keep them for a retry while the body is small."""
        pieces = self._held[self._sent :]
        if not pieces:
            return
        data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        self.attempts[-1].bytes_sent += len(data)
        if self._keep and self._held_size > self.route.replay_limit:
            self._keep = False
        if self._keep:
            self._sent = len(self._held)
        else:
            self._held.clear()
            self._held_size = 0
            self._sent = 0
        self._unsent = 0
        conn.write(data)
        if conn.flow is not None and not conn.flow.write_paused:
            self.client.resume_reading_for_upstream()

    def _body_too_large(self) -> None:
        """A chunked body passed client_max_body_size (a Content-Length was checked at once)."""
        if not self._started:
            self._held.clear()
            return
        self._drop_connection(failed=False)
        if self._responding:
            self._abort()
        else:
            self.respond_error(413, close=True)

    def client_full(self) -> None:
        """The client's transport holds too much: stop reading the upstream."""
        if self._conn is not None:
            self._conn.pause_reading()

    def client_drained(self) -> None:
        if self._conn is not None:
            self._conn.resume_reading(self.route.read_timeout)

    def client_lost(self) -> None:
        """The client connection is gone: whatever is under way with the upstream is dropped."""
        self._client_closed = True
        if self._connecting is not None:
            self._connecting.cancel()
            self._connecting = None
        self._drop_connection(failed=False)
        if not self._finished and self._started:
            if not self._responding:
                self.status = _CLOSED_BY_CLIENT
            self._finish()

    def request_broken(self) -> None:
        """The client's request turned out malformed (a bad chunk): the upstream gets nothing more."""
        self._body_done = True
        self._drop_connection(failed=False)
        if self._started and not self._finished:
            if self._responding:
                self._abort()
            else:
                self.respond_error(400, close=True)
        self._finished = True

    # -- choosing a peer and connecting

    def _attempt(self, peer: Peer | None = None) -> None:
        route = self.route
        if peer is None:
            if self._tries_left <= 0:
                self._fail()
                return
            if self._tried is None:
                self._tried = route.balancer.selection(balancing_key(self))
            peer = route.balancer.pick(time.time(), self._tried)
            if peer is None:
                if not self.attempts:
                    self.attempts.append(Attempt(route.upstream_name, time.monotonic()))
                    self._log_upstream_error("no live upstreams while connecting to upstream")
                self._fail()
                return
            self._tries_left -= 1
            route.balancer.connected(peer)
            self._peer = peer
        self.attempts.append(Attempt(peer.name, time.monotonic()))
        key = route.pool_key(peer, self)
        conn = route.pool.take(key)
        if conn is not None:
            self.attempts[-1].connect_time = 0.0
            self._use(conn)
            return
        self._connecting = asyncio.get_running_loop().create_task(self._connect(peer, key))

    async def _connect(self, peer: Peer, key: object) -> None:
        route = self.route
        try:
            conn = await asyncio.wait_for(route.open(peer, key), route.connect_timeout)
        except TimeoutError:
            self._connecting = None
            self._connect_failed(Failure.TIMEOUT, f"{TIMED_OUT} while connecting to upstream")
            return
        except (ssl.SSLError, ssl.CertificateError) as error:
            self._connecting = None
            self._connect_failed(
                Failure.ERROR, f"SSL_do_handshake() failed ({error}) while SSL handshaking to upstream"
            )
            return
        except OSError as error:
            self._connecting = None
            cause = f"{error.errno}: {error.strerror}" if error.errno is not None else str(error)
            self._connect_failed(Failure.ERROR, f"connect() failed ({cause}) while connecting to upstream")
            return
        self._connecting = None
        if self._finished:
            conn.close()
            return
        attempt = self.attempts[-1]
        attempt.connect_time = time.monotonic() - attempt.started
        self._use(conn)

    def _connect_failed(self, failure: Failure, text: str) -> None:
        if self._finished:
            return
        self._log_upstream_error(text)
        self.attempts[-1].connect_time = None
        self._failed(failure, written=False)

    def _log_upstream_error(self, text: str) -> None:
        """nginx's error log line for an upstream that failed this request, with nginx's context."""
        client, request, route = self.client, self.request, self.route
        peer = self._peer.name if self._peer is not None else route.upstream_name
        uri = self._uri.decode("latin-1")
        line = (
            f"*{client.number} {text}, client: {client.remote_addr}, server: {self.server_name},"
            f' request: "{request_line(self)}", upstream: "{route.upstream_scheme}://{peer}{uri}"'
        )
        if request.host_header is not None:
            line += f', host: "{request.host_header.decode("latin-1")}"'
        route.error_log(ErrorLevel.ERROR, line)

    def _use(self, conn: UpstreamConnection) -> None:
        self._conn = conn
        request = self.request
        conn.bind(self, skip_body=request.method == b"HEAD")
        length = self._held_size if self._collect else (request.content_length or 0)
        head = self.route.head.build(self, self._uri, self._framing, length)  # type: ignore[union-attr]
        self._request_written = True
        self._sent = 0
        self._unsent = self._held_size
        self.attempts[-1].bytes_sent += len(head)
        conn.write(head)
        if self._held:
            self._send_held(conn)
        if self._body_done and self._conn is conn:
            conn.expect_response(self.route.read_timeout)

    # -- the upstream side

    def upstream_full(self) -> None:
        """The upstream connection holds too much of the request: stop reading the client."""
        self.client.pause_reading_for_upstream()

    def upstream_drained(self) -> None:
        self.client.resume_reading_for_upstream()

    def upstream_head(
        self,
        conn: UpstreamConnection,
        status: int,
        reason: bytes,
        headers: list[tuple[bytes, bytes]],
        framing: Framing,
    ) -> None:
        if conn is not self._conn:
            return
        attempt = self.attempts[-1]
        attempt.status = status
        attempt.header_time = time.monotonic() - attempt.started
        route = self.route
        condition = _HTTP_FAILURES.get(status)
        if condition is not None and condition in route.next_upstream and self._can_retry():
            self._drop_connection(failed=status not in _NOT_A_FAILURE)
            self._attempt()
            return
        assert self._peer is not None
        route.balancer.succeeded(self._peer, time.time())
        self.response_headers = headers
        self._write_head(status, reason, headers, framing)
        if status == 101:
            self._start_tunnel()

    def upstream_body(self, data: bytes) -> None:
        attempt = self.attempts[-1]
        attempt.bytes_received += len(data)
        attempt.response_length += len(data)
        self.body_bytes_sent += len(data)
        if self._rechunk:
            self._out.append(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            self._out.append(data)

    def upstream_done(self, conn: UpstreamConnection, *, reusable: bool) -> None:
        if conn is not self._conn:
            return
        attempt = self.attempts[-1]
        attempt.response_time = time.monotonic() - attempt.started
        if self._rechunk:
            self._out.append(_CHUNK_END)
        self._complete = True
        self._conn = None
        conn.release()
        if reusable and self._body_done:
            conn.remember_tls()
            self.route.pool.put(conn, self.route.keep_policy)
        else:
            conn.close()
        self._release_peer()
        if not self._body_done:
            # answered before the client finished sending: the rest of its body is not read
            self.client.keep_alive = False

    def upstream_failed(self, conn: UpstreamConnection, failure: Failure, text: str) -> None:
        """The upstream connection failed this request; `text` is what nginx's error log says of it."""
        if conn is not self._conn:
            return
        if self._tunnel:
            self._close_tunnel()
            return
        if self._responding:
            # the response was cut short: the client cannot be told otherwise
            self._drop_connection(failed=False)
            self._abort()
            return
        if conn.reused and failure is Failure.ERROR and self._can_resend():
            peer = self._peer
            self._conn = None
            conn.close()
            self.attempts.pop()
            self._attempt(peer)
            return
        self._log_upstream_error(text)
        self.attempts[-1].response_time = time.monotonic() - self.attempts[-1].started
        self._failed(failure, written=True)

    def _failed(self, failure: Failure, *, written: bool) -> None:
        self._failure = failure
        self._drop_connection(failed=True)
        if failure.value in self.route.next_upstream and self._can_retry(written=written):
            self._attempt()
        else:
            self._fail()

    def _can_resend(self) -> bool:
        """Whether the request can be written again: its body is all kept, and it is idempotent unless
        `non_idempotent` allows more."""
        if not self._keep or self._finished:
            return False
        return self.request.idempotent or "non_idempotent" in self.route.next_upstream

    def _can_retry(self, *, written: bool = True) -> bool:
        if self._tries_left <= 0 or self._finished or not self._keep:
            return False
        if self._deadline and time.monotonic() > self._deadline:
            return False
        return not written or self._can_resend()

    def _fail(self) -> None:
        """No upstream answered: 504 after a timeout, else 502."""
        self.respond_error(504 if self._failure is Failure.TIMEOUT else 502)

    def _drop_connection(self, *, failed: bool) -> None:
        conn = self._conn
        if conn is not None:
            self._conn = None
            conn.close()
        if failed and self._peer is not None:
            self.route.balancer.failed(self._peer, time.time())
        self._release_peer()

    def _release_peer(self) -> None:
        if self._peer is not None:
            self.route.balancer.released(self._peer)
            self._peer = None
        self._request_written = False

    # -- the response to the client

    def _write_head(
        self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]], framing: Framing
    ) -> None:
        request = self.request
        client = self.client
        keep_alive = request.keep_alive and client.may_keep_alive(self.route) and not self.upgraded_client
        out = [b"HTTP/1.1 %d %b\r\n" % (status, reason), client.server_date()]
        upgrade = status == 101
        for name, value in headers:
            lower = name.lower()
            if lower in _HIDDEN or (lower == _UPGRADE and not upgrade):
                continue
            out += (name, b": ", value, b"\r\n")
        if framing is Framing.CHUNKED or framing is Framing.CLOSE:
            if request.version == "1.1":
                self._rechunk = True
                out.append(b"Transfer-Encoding: chunked\r\n")
            else:
                keep_alive = False
        if upgrade:
            out.append(b"Connection: upgrade\r\n\r\n")
        elif keep_alive:
            out += (b"Connection: keep-alive\r\n", self.route.keepalive_header, b"\r\n")
        else:
            out.append(b"Connection: close\r\n\r\n")
        self.status = status
        self._responding = True
        self.client.keep_alive = keep_alive
        self._out.append(b"".join(out))

    def flush(self) -> None:
        """Write what the last upstream read gave, at once; finish when the response is whole."""
        if self._out:
            data = self._out[0] if len(self._out) == 1 else b"".join(self._out)
            self._out.clear()
            self.bytes_sent += len(data)
            self.client.write(data)
        if self._complete and not self._finished:
            self._finish()

    def respond_error(self, status: int, *, close: bool = False) -> None:
        """nginx's page for `status`, then the next request (or the connection closed)."""
        if self._finished:
            return
        self._drop_connection(failed=False)
        request = self.request
        keep_alive = (
            request.keep_alive
            and not close
            and status not in CLOSING
            and self._body_done
            and not self.upgraded_client
            and self.client.may_keep_alive(self.route)
        )
        head_only = request.method == b"HEAD"
        data = error_response(status, self.client.server_date(), keep_alive=keep_alive, head_only=head_only)
        self.status = wire_status(status)
        self.body_bytes_sent = 0 if head_only else page_length(status)
        self.bytes_sent += len(data)
        self.client.keep_alive = keep_alive
        self._responding = True
        self.client.write(data)
        self._finish()

    def _abort(self) -> None:
        """The response cannot be completed: the client connection is closed after what was written."""
        self.client.keep_alive = False
        self.flush()
        self._finish()

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        if self._connecting is not None:
            self._connecting.cancel()
            self._connecting = None
        self.route.log(self)
        self.client.exchange_finished(self)

    def sent_headers(self) -> list[tuple[bytes, bytes]]:
        """The response headers as the client got them, for `$sent_http_NAME`."""
        return [
            (b"Server", b"hapair"),
            (b"Connection", b"keep-alive" if self.client.keep_alive else b"close"),
            *((name, value) for name, value in self.response_headers if name.lower() not in _HIDDEN),
            *([(b"Transfer-Encoding", b"chunked")] if self._rechunk else []),
        ]

    def request_id(self) -> str:
        return os.urandom(16).hex()

    # -- an upgraded connection (101 Switching Protocols): bytes relayed both ways

    def _start_tunnel(self) -> None:
        self._tunnel = True
        self.client.start_tunnel(self)
        conn = self._conn
        if conn is not None and self._early:
            conn.write(b"".join(self._early))
        self._early.clear()

    def tunnel_from_client(self, data: bytes) -> None:
        conn = self._conn
        if self._tunnel and conn is not None:
            conn.write(data)
        else:
            self._early.append(data)  # sent after the request, or dropped if the upgrade is refused

    def tunnel_to_client(self, data: bytes) -> None:
        self.body_bytes_sent += len(data)
        self.bytes_sent += len(data)
        self.attempts[-1].bytes_received += len(data)
        self.client.write(data)

    def tunnel_eof(self, *, from_client: bool) -> None:
        """One side finished sending: the other is told (half-close), and both closed once both are."""
        side = 0 if from_client else 1
        self._tunnel_eof[side] = True
        if all(self._tunnel_eof):
            self._close_tunnel()
            return
        if from_client:
            conn = self._conn
            if conn is not None and conn.transport is not None and conn.transport.can_write_eof():
                conn.transport.write_eof()
            else:
                self._close_tunnel()
        else:
            self.flush()
            self.client.write_eof_or_close()

    def tunnel_closed(self) -> None:
        self._close_tunnel()

    def _close_tunnel(self) -> None:
        self.flush()
        self._drop_connection(failed=False)
        self.client.keep_alive = False
        self._finish()
