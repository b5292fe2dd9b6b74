"""The content of a location with `proxy_pass` (ngx_http_upstream.c's part of a request): the peer chosen
by the balancer, the connection (from the pool or new), the request written upstream with its body, the
response handed to the exchange as it comes, retries on the next peer as `proxy_next_upstream` allows.

Data moves in the protocols' callbacks, without a task: a task exists only while a new upstream
connection is being opened. Flow control joins the two sides: the upstream's reading pauses while the
client's transport holds more than its high-water mark of response, and the client's reading pauses while
the upstream connection holds more than its high-water mark of request body.

The request body: with `proxy_request_buffering on` (nginx's default) it is read whole first (in memory,
then in a temporary file: `body.BufferedBody`) and the upstream is chosen only then; with `off` it is
streamed as it arrives, and kept for a retry only while it is no larger than `Limits.replay_limit` (a
larger one is not retried once some of it was sent).

Retries (nginx's rules): only before anything of the response reached the client; a request that was
written upstream is not retried when its method is not idempotent (POST, PATCH, LOCK...) unless
`non_idempotent` is in `proxy_next_upstream`; within `proxy_next_upstream_tries` and
`proxy_next_upstream_timeout`. A failure on a reused idle connection before any response byte is the
keep-alive race, not the peer's failure: an idempotent request is sent again on another connection to the
same peer, without counting a failure.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from hapair.config.nginx.model.logging import ErrorLevel
from hapair.proxy.balancer import Peer, Selection

from .body import BodyFileError, BufferedBody
from .headers import BodyFraming
from .pages import CONTINUE
from .request import IDEMPOTENT
from .response import ResponseHead
from .upstream import TIMED_OUT, Failure, Framing, UpstreamConnection
from .variables import balancing_key, request_line

if TYPE_CHECKING:
    from .exchange import Exchange

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
# upstream headers nginx does not pass on (proxy_hide_header's defaults and the hop-by-hop ones)
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
_CONTENT_TYPE = b"content-type"
_CONTENT_LENGTH = b"content-length"
_LOCATION = b"location"
_CHUNK_END = b"0\r\n\r\n"


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


def proxy(ex: Exchange) -> int:
    """The content handler of a location with `proxy_pass`."""
    proxying = Proxying(ex)
    ex.content = proxying
    proxying.start()
    return -1


class Proxying:
    """One request's way through the upstream; the upstream connection's callbacks arrive here."""

    __slots__ = (
        "_body_done",
        "_buffered",
        "_collect",
        "_conn",
        "_connecting",
        "_deadline",
        "_ex",
        "_failure",
        "_framing",
        "_held",
        "_held_size",
        "_keep",
        "_peer",
        "_pending",
        "_request_written",
        "_responding",
        "_route",
        "_sent",
        "_tried",
        "_tries_left",
        "_tunnel",
        "_tunnel_eof",
        "_unsent",
        "_uri",
        "closed",
        "send_timeout",
    )

    def __init__(self, ex: Exchange) -> None:
        route = ex.route
        request = ex.request
        self._ex = ex
        self._route = route
        self.send_timeout = route.send_timeout
        self.closed = False
        self._framing = route.body_framing(request)
        self._buffered: BufferedBody | None = None
        # a chunked body for an HTTP/1.0 upstream is read whole to send its length, buffering or not
        self._collect = request.chunked and self._framing is BodyFraming.LENGTH
        self._body_done = not request.has_body
        self._held: list[bytes] = []  # streamed body pieces not yet written, or kept for a retry
        self._held_size = 0
        self._sent = 0  # how many of `_held` the current connection has
        self._unsent = 0  # bytes of `_held` the current connection does not have
        self._keep = True  # the whole body received is still there: a retry can send it again
        self._pending: Iterator[bytes] | None = None  # a buffered body being written upstream
        self._conn: UpstreamConnection | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._peer: Peer | None = None
        self._tried: Selection | None = None  # made at the first pick, with the request's key
        self._tries_left = 0
        self._deadline = 0.0
        self._failure: Failure | None = None
        self._request_written = False
        self._responding = False
        self._tunnel = False
        self._tunnel_eof = [False, False]  # client side, upstream side
        self._uri = b""

    def start(self) -> None:
        ex, route, request = self._ex, self._route, self._ex.request
        self._uri = route.upstream_uri(ex)
        self._tries_left = route.tries
        if route.next_upstream_timeout:
            self._deadline = time.monotonic() + route.next_upstream_timeout
        if request.has_body and (route.request_buffering or self._collect):
            self._buffered = BufferedBody(route.body_buffer_size, route.body_temp_path)
        if request.expect_continue and not self._body_done:
            ex.client.write(CONTINUE)
            ex.bytes_sent += len(CONTINUE)  # nginx counts it in $bytes_sent and $body_bytes_sent
        if self._buffered is not None:
            for piece in ex.take_early_body():
                self.body(piece)
            if not self._body_done:
                return  # upstream only once the body is whole
        else:
            for piece in ex.take_early_body():
                self.body(piece)
        self._attempt()

    # -- the request body, from the exchange

    def body(self, data: bytes) -> None:
        if self.closed:
            return
        buffered = self._buffered
        if buffered is not None:
            try:
                buffered.add(data)
            except BodyFileError as error:
                ex = self._ex
                ex.log_error(ErrorLevel.CRIT, f"{error.strerror} while reading client request body")
                self._buffered = None
                buffered.close()
                self.closed = True
                ex.finalize(500)
            return
        if self._framing is BodyFraming.CHUNKED:
            self._add_body(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            self._add_body(data)

    def body_done(self) -> None:
        self._body_done = True
        if self.closed:
            return
        if self._buffered is not None:
            self._attempt()
            return
        if self._framing is BodyFraming.CHUNKED:
            self._add_body(_CHUNK_END)
        conn = self._conn
        if conn is not None and self._request_written:
            conn.expect_response(self._route.read_timeout)

    def _add_body(self, piece: bytes) -> None:
        self._held.append(piece)
        self._held_size += len(piece)
        self._unsent += len(piece)
        conn = self._conn
        if conn is not None and self._request_written:
            self._send_held(conn)
        elif self._unsent > self._route.high_water:
            self._ex.client.pause_reading_for_upstream()

    def _send_held(self, conn: UpstreamConnection) -> None:
        """Write the pieces `conn` does not have; keep them for a retry while the body is small."""
        pieces = self._held[self._sent :]
        if not pieces:
            return
        data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        self._ex.attempts[-1].bytes_sent += len(data)
        if self._keep and self._held_size > self._route.replay_limit:
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
            self._ex.client.resume_reading_for_upstream()

    def _send_buffered(self, conn: UpstreamConnection) -> None:
        """Write the buffered body until the connection holds enough; go on when it drains."""
        pending = self._pending
        if pending is None:
            return
        attempt = self._ex.attempts[-1]
        for chunk in pending:
            attempt.bytes_sent += len(chunk)
            conn.write(chunk)
            if conn.flow is not None and conn.flow.write_paused:
                return
        self._pending = None
        if self._body_done and self._conn is conn:
            conn.expect_response(self._route.read_timeout)

    # -- the client side

    def client_full(self) -> None:
        """The client's transport holds too much: stop reading the upstream."""
        if self._conn is not None:
            self._conn.pause_reading()

    def client_drained(self) -> None:
        if self._conn is not None:
            self._conn.resume_reading(self._route.read_timeout)

    def client_lost(self) -> None:
        """The client connection is gone: whatever is under way with the upstream is dropped."""
        self._stop()

    def request_broken(self) -> None:
        """The client's request turned out malformed (a bad chunk): the upstream gets nothing more."""
        self._body_done = True
        self._stop()

    def body_too_large(self) -> None:
        self._stop()

    def _stop(self) -> None:
        self.closed = True
        if self._connecting is not None:
            self._connecting.cancel()
            self._connecting = None
        self._drop_connection(failed=False)
        self._release_body()

    def _release_body(self) -> None:
        if self._buffered is not None:
            self._buffered.close()
            self._buffered = None
        self._pending = None

    # -- choosing a peer and connecting

    def _attempt(self, peer: Peer | None = None) -> None:
        route, ex = self._route, self._ex
        if peer is None:
            if self._tries_left <= 0:
                self._fail()
                return
            if self._tried is None:
                self._tried = route.balancer.selection(balancing_key(ex))
            peer = route.balancer.pick(time.time(), self._tried)
            if peer is None:
                if not ex.attempts:
                    ex.attempts.append(Attempt(route.upstream_name, time.monotonic()))
                    ex.attempts[-1].status = 502
                    self._log_upstream_error("no live upstreams while connecting to upstream")
                self._fail()
                return
            self._tries_left -= 1
            route.balancer.connected(peer)
            self._peer = peer
        ex.attempts.append(Attempt(peer.name, time.monotonic()))
        key = route.pool_key(peer, ex)
        conn = route.pool.take(key)
        if conn is not None:
            ex.attempts[-1].connect_time = 0.0
            self._use(conn)
            return
        self._connecting = asyncio.get_running_loop().create_task(self._connect(peer, key))

    async def _connect(self, peer: Peer, key: object) -> None:
        route = self._route
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
        if self.closed:
            conn.close()
            return
        attempt = self._ex.attempts[-1]
        attempt.connect_time = time.monotonic() - attempt.started
        self._use(conn)

    def _connect_failed(self, failure: Failure, text: str) -> None:
        if self.closed:
            return
        self._log_upstream_error(text)
        self._ex.attempts[-1].connect_time = None
        self._failed(failure, written=False)

    def _log_upstream_error(self, text: str) -> None:
        """nginx's error log line for an upstream that failed this request, with nginx's context."""
        ex, route = self._ex, self._route
        request = ex.request
        peer = self._peer.name if self._peer is not None else route.upstream_name
        uri = self._uri.decode("latin-1")
        line = (
            f"{text}, client: {ex.client.remote_addr}, server: {ex.server_name},"
            f' request: "{request_line(ex)}", upstream: "{route.upstream_scheme}://{peer}{uri}"'
        )
        if request.host_header is not None:
            line += f', host: "{request.host_header.decode("latin-1")}"'
        ex.log_error(ErrorLevel.ERROR, line)

    def _use(self, conn: UpstreamConnection) -> None:
        self._conn = conn
        ex = self._ex
        request = ex.request
        conn.bind(self, skip_body=ex.method == b"HEAD", upgrade=request.upgrade)
        buffered = self._buffered
        length = buffered.size if buffered is not None else request.content_length or 0
        head = self._route.head.build(ex, self._uri, self._framing, length)  # type: ignore[union-attr]
        self._request_written = True
        ex.attempts[-1].bytes_sent += len(head)
        conn.write(head)
        if buffered is not None:
            self._pending = buffered.chunks()
            self._send_buffered(conn)
            return
        self._sent = 0
        self._unsent = self._held_size
        if self._held:
            self._send_held(conn)
        if self._body_done and self._conn is conn:
            conn.expect_response(self._route.read_timeout)

    # -- the upstream side

    def upstream_full(self) -> None:
        """The upstream connection holds too much of the request: stop reading the client."""
        if self._buffered is None:
            self._ex.client.pause_reading_for_upstream()

    def upstream_drained(self) -> None:
        conn = self._conn
        if self._pending is not None and conn is not None:
            self._send_buffered(conn)
            return
        if self._buffered is None:
            self._ex.client.resume_reading_for_upstream()

    def upstream_head(
        self,
        conn: UpstreamConnection,
        status: int,
        status_line: bytes,
        headers: list[tuple[bytes, bytes]],
        framing: Framing,
    ) -> None:
        """The response head: `status_line` from the code on, as the upstream sent it ("200 OK")."""
        if conn is not self._conn:
            return
        ex, route = self._ex, self._route
        attempt = ex.attempts[-1]
        attempt.status = status
        attempt.header_time = time.monotonic() - attempt.started
        condition = _HTTP_FAILURES.get(status)
        if condition is not None and condition in route.next_upstream and self._can_retry():
            self._drop_connection(failed=status not in _NOT_A_FAILURE)
            self._attempt()
            return
        assert self._peer is not None
        route.balancer.succeeded(self._peer, time.time())
        ex.response_headers = headers
        self._responding = True
        ex.send_head(_response_head(status, status_line, headers, framing))
        if conn.tunnel:
            self._start_tunnel()

    def upstream_body(self, data: bytes) -> None:
        attempt = self._ex.attempts[-1]
        attempt.bytes_received += len(data)
        attempt.response_length += len(data)
        self._ex.send_body(data)

    def flush(self) -> None:
        self._ex.flush()

    def upstream_done(self, conn: UpstreamConnection, *, reusable: bool) -> None:
        if conn is not self._conn:
            return
        ex = self._ex
        attempt = ex.attempts[-1]
        attempt.response_time = time.monotonic() - attempt.started
        self._conn = None
        conn.release()
        if reusable and self._body_done and self._pending is None:
            conn.remember_tls()
            self._route.pool.put(conn, self._route.keep_policy)
        else:
            conn.close()
        self._release_peer()
        self._release_body()
        self.closed = True
        if not self._body_done:
            # answered before the client finished sending: the rest of its body is not read
            ex.client.keep_alive = False
        ex.send_end()

    def upstream_failed(self, conn: UpstreamConnection, failure: Failure, text: str) -> None:
        """The upstream connection failed this request; `text` is what nginx's error log says of it."""
        if conn is not self._conn:
            return
        if self._tunnel:
            self._close_tunnel()
            return
        ex = self._ex
        if self._responding:
            # the response was cut short: the client cannot be told otherwise
            self._drop_connection(failed=False)
            self.closed = True
            self._release_body()
            ex.abort_response()
            return
        if conn.reused and failure is Failure.ERROR and self._can_resend():
            peer = self._peer
            self._conn = None
            conn.close()
            ex.attempts.pop()
            self._attempt(peer)
            return
        self._log_upstream_error(text)
        attempt = ex.attempts[-1]
        attempt.response_time = time.monotonic() - attempt.started
        self._failed(failure, written=True)

    def _failed(self, failure: Failure, *, written: bool) -> None:
        attempt = self._ex.attempts[-1]
        if not attempt.status:
            attempt.status = 504 if failure is Failure.TIMEOUT else 502  # nginx's $upstream_status
        self._failure = failure
        self._drop_connection(failed=True)
        if failure.value in self._route.next_upstream and self._can_retry(written=written):
            self._attempt()
        else:
            self._fail()

    def _can_resend(self) -> bool:
        """Whether the request can be written again: its body is all kept, and it is idempotent unless
        `non_idempotent` allows more."""
        if not self._keep or self.closed:
            return False
        return self._ex.method in IDEMPOTENT or "non_idempotent" in self._route.next_upstream

    def _can_retry(self, *, written: bool = True) -> bool:
        if self._tries_left <= 0 or self.closed or not self._keep:
            return False
        if self._deadline and time.monotonic() > self._deadline:
            return False
        return not written or self._can_resend()

    def _fail(self) -> None:
        """No upstream answered: 504 after a timeout, else 502."""
        self.closed = True
        self._release_body()
        self._ex.finalize(504 if self._failure is Failure.TIMEOUT else 502)

    def _drop_connection(self, *, failed: bool) -> None:
        conn = self._conn
        if conn is not None:
            self._conn = None
            conn.close()
        if failed and self._peer is not None:
            self._route.balancer.failed(self._peer, time.time())
        self._release_peer()

    def _release_peer(self) -> None:
        if self._peer is not None:
            self._route.balancer.released(self._peer)
            self._peer = None
        self._request_written = False
        self._pending = None

    # -- an upgraded connection (101 Switching Protocols): bytes relayed both ways

    def _start_tunnel(self) -> None:
        self._tunnel = True
        ex = self._ex
        ex.client.start_tunnel(ex)
        conn = self._conn
        early = ex.take_early_body()
        if conn is not None and early:
            conn.write(b"".join(early))

    def tunnel_from_client(self, data: bytes) -> bool:
        """Relay `data` upstream once the upgrade is done; False: not (yet) a tunnel."""
        conn = self._conn
        if self._tunnel and conn is not None:
            conn.write(data)
            return True
        return False

    def tunnel_to_client(self, data: bytes) -> None:
        self._ex.attempts[-1].bytes_received += len(data)
        self._ex.send_raw(data)

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
            self._ex.flush()
            self._ex.client.write_eof_or_close()

    def tunnel_closed(self) -> None:
        self._close_tunnel()

    def _close_tunnel(self) -> None:
        self._drop_connection(failed=False)
        self.closed = True
        self._ex.end_tunnel()


def _response_head(
    status: int, status_line: bytes, headers: list[tuple[bytes, bytes]], framing: Framing
) -> ResponseHead:
    """The response head nginx makes of an upstream's (ngx_http_upstream_process_headers): its status
    line, `Content-Type` and `Content-Length` apart, the hidden headers dropped."""
    head = ResponseHead(status, status_line)
    upgrade = status == 101
    for name, value in headers:
        lower = name.lower()
        if lower in _HIDDEN or (lower == _UPGRADE and not upgrade):
            continue
        if lower == _CONTENT_TYPE:
            head.content_type = value
        elif lower == _CONTENT_LENGTH:
            if framing is Framing.LENGTH or (framing is Framing.NONE and value.isdigit()):
                head.content_length = int(value)
        else:
            if lower == _LOCATION:
                head.location = len(head.headers)
            head.headers.append((name, value))
    return head
