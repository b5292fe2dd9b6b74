"""The content of a location with `proxy_pass` (ngx_http_upstream.c's part of a request): the peer chosen
by the balancer, the connection (from the pool or new), the request written upstream with its body, the
response handed to the exchange as it comes, retries on the next peer as `proxy_next_upstream` allows.

Data moves in the protocols' callbacks, without a task: a task exists only while a new upstream
connection is being opened. Flow control joins the two sides: the client's reading pauses while the
upstream connection holds more than its high-water mark of request body. The response, with
`proxy_buffering on` (nginx's default), is read as fast as the upstream sends it: what a slow client
cannot take yet is held (`spool.ResponseSpool`: memory, then a temporary file), so that the upstream is
done with early; the upstream's reading pauses only when that is full. With `proxy_buffering off` (or
`X-Accel-Buffering: no`) it pauses while the client's transport holds more than its high-water mark.

Responses with a status of 300 or more go to the location's `error_page` for it instead with
`proxy_intercept_errors on`.

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
from collections.abc import Iterator
from time import monotonic, time
from typing import TYPE_CHECKING, Final

from hapair.config.nginx.model.logging import ErrorLevel
from hapair.proxy.balancer import Peer, Selection

from .body import BodyFileError, BufferedBody
from .dynamic import BadUrlError, Destination, DynamicPass, PeersError
from .headers import BodyFraming
from .logcontext import error_context
from .pages import CONTINUE
from .request import IDEMPOTENT
from .response import find_header_line
from .spool import ResponseSpool, SpoolFileError
from .target import Target
from .upstream import TIMED_OUT, Failure, Framing, UpstreamConnection
from .upstream_response import redirect_headers, unsafe_uri
from .variables import balancing_key

if TYPE_CHECKING:
    from .exchange import Exchange

_HTTP_FAILURES: Final = {
    500: "http_500",
    502: "http_502",
    503: "http_503",
    504: "http_504",
    403: "http_403",
    404: "http_404",
    429: "http_429",
}
_NOT_A_FAILURE: Final = frozenset({403, 404})  # nginx tries the next peer but does not count a failure
_CHUNK_END: Final = b"0\r\n\r\n"
_WWW_AUTHENTICATE: Final = b"www-authenticate"


class Attempt:
    """One upstream tried: what `$upstream_*` tell of it."""

    __slots__ = (
        "address",
        "bytes_received",
        "bytes_sent",
        "connect_time",
        "header_time",
        "redirected",
        "response_length",
        "response_time",
        "started",
        "status",
        "tally",
    )

    def __init__(self, address: str, started: float, *, redirected: bool = False) -> None:
        self.address = address
        self.tally = -1  # the first of its peer's metrics cells (-1: not counted)
        self.started = started
        self.redirected = redirected  # the first of an upstream after an internal redirect
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
        "_attempts_from",
        "_body_done",
        "_buffered",
        "_client_full",
        "_collect",
        "_conn",
        "_connecting",
        "_deadline",
        "_destination",
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
        "_spool",
        "_target",
        "_tried",
        "_tries_left",
        "_tunnel",
        "_tunnel_eof",
        "_unsent",
        "_upstream_over",
        "_uri",
        "buffering",
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
        self.buffering = route.buffering
        self._framing = route.body_framing(request)
        self._buffered: BufferedBody | None = None
        # a chunked body for an HTTP/1.0 upstream is read whole to send its length, buffering or not
        self._collect = request.chunked and self._framing is BodyFraming.LENGTH
        self._body_done = not request.has_body or not route.pass_request_body
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
        self._target: Target | None = route.target  # None: made from the URL (proxy_pass with variables)
        self._destination: Destination | None = None
        self._attempts_from = len(ex.attempts)  # where this upstream's attempts begin in the request's
        self._client_full = False  # the client's transport holds more than its high-water mark
        self._spool: ResponseSpool | None = None  # a buffered response the client has not taken yet
        self._upstream_over = False  # the upstream is done with; the spool still has some of its response

    def start(self) -> None:
        ex, route, request = self._ex, self._route, self._ex.request
        ex.target = self._target
        if route.dynamic is not None and not self._read_url(route.dynamic):
            return
        self._uri = route.upstream_uri(ex, None if self._destination is None else self._destination.uri)
        if self._target is not None:
            self._tries_left = self._target.tries
        if route.next_upstream_timeout:
            self._deadline = monotonic() + route.next_upstream_timeout
        if ex.request_body is not None:
            # read whole for an upstream before this one (X-Accel-Redirect, error_page): sent again
            self._buffered = ex.request_body
            self._body_done = True
            self._attempt()
            return
        early = ex.take_early_body()
        if request.has_body and ex.body_complete and not early and ex.body_received:
            # streamed to an upstream before this one: gone
            self._framing = BodyFraming.NONE
            self._body_done = True
            self._attempt()
            return
        if request.has_body and route.pass_request_body and (route.request_buffering or self._collect):
            self._buffered = BufferedBody(route.body_buffer_size, route.body_temp_path)
        if request.expect_continue and not ex.body_complete:
            ex.client.write(CONTINUE)
            ex.bytes_sent += len(CONTINUE)  # nginx counts it in $bytes_sent and $body_bytes_sent
        for piece in early:
            self.body(piece)
        whole = ex.body_complete and request.has_body
        if self._buffered is not None:
            if whole:
                self.body_done()  # the upstream only once the body is whole
            return
        if whole:
            self.body_done()
        self._attempt()

    def _read_url(self, dynamic: DynamicPass) -> bool:
        """ngx_http_proxy_eval: the URL of a proxy_pass with variables; its target now if it names a group
        or an address (a name is resolved when the upstream is needed). False: the request got a 500."""
        ex = self._ex
        try:
            destination = dynamic.destination(ex)
        except BadUrlError as error:
            self.closed = True
            ex.log_error(ErrorLevel.ERROR, str(error) + error_context(ex))
            ex.finalize(500)
            return False
        self._destination = destination
        self._target = ex.target = dynamic.group_target(destination)
        return True

    async def _resolve(self, dynamic: DynamicPass, destination: Destination) -> None:
        try:
            target = await dynamic.resolved_target(destination)
        except PeersError as error:
            self._connecting = None
            if not self.closed:
                self._ex.log_error(ErrorLevel.ERROR, str(error) + error_context(self._ex))
                self.closed = True
                self._release_body()
                self._ex.finalize(error.status)
            return
        self._connecting = None
        if self.closed:
            return
        self._target = self._ex.target = target
        self._tries_left = target.tries
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
        elif self._framing is BodyFraming.LENGTH:
            self._add_body(data)  # (NONE: `proxy_pass_request_body off`, the body is dropped)

    def body_done(self) -> None:
        self._body_done = True
        if self.closed:
            return
        if self._buffered is not None:
            self._ex.request_body = self._buffered  # the request's from now on (nginx's r->request_body)
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
        """The client's transport holds too much: stop reading the upstream, unless the response is
        buffered (what comes meanwhile is held in the spool)."""
        self._client_full = True
        if self._conn is not None and (not self.buffering or self._tunnel):
            self._conn.pause_reading()

    def client_drained(self) -> None:
        self._client_full = False
        if self._spool is not None:
            self._give_spooled()
        elif self._conn is not None:
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
        self._drop_spool()

    def _release_body(self) -> None:
        """Done with the request body; one read whole stays the request's, for whatever handles it next."""
        if self._buffered is not None and self._buffered is not self._ex.request_body:
            self._buffered.close()
        self._buffered = None
        self._pending = None

    # -- choosing a peer and connecting

    def _attempt(self, peer: Peer | None = None) -> None:
        route, ex, target = self._route, self._ex, self._target
        if target is None:
            assert route.dynamic is not None and self._destination is not None
            resolving = self._resolve(route.dynamic, self._destination)
            self._connecting = asyncio.get_running_loop().create_task(resolving)
            return
        if peer is None:
            if self._tries_left <= 0:
                self._fail()
                return
            if self._tried is None:
                self._tried = target.balancer.selection(balancing_key(ex))
            peer = target.balancer.pick(time(), self._tried)
            if peer is None:
                if not ex.attempts:
                    ex.attempts.append(Attempt(target.name, monotonic()))
                    ex.attempts[-1].status = 502
                    self._log_upstream_error("no live upstreams while connecting to upstream")
                self._fail()
                return
            self._tries_left -= 1
            target.balancer.connected(peer)
            self._peer = peer
        redirected = len(ex.attempts) == self._attempts_from > 0
        attempt = Attempt(peer.name, monotonic(), redirected=redirected)
        recorder = target.balancer.recorder
        if recorder is not None:
            attempt.tally = recorder.cell(peer)
        ex.attempts.append(attempt)
        key = target.pool_key(peer, ex)
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
        attempt.connect_time = monotonic() - attempt.started
        self._use(conn)

    def _connect_failed(self, failure: Failure, text: str) -> None:
        if self.closed:
            return
        self._log_upstream_error(text)
        self._ex.attempts[-1].connect_time = None
        self._failed(failure, written=False)

    def _log_upstream_error(self, text: str, level: ErrorLevel = ErrorLevel.ERROR) -> None:
        """nginx's error log line about the upstream of this request, with nginx's context."""
        self._ex.log_error(level, text + error_context(self._ex, self.upstream_url()))

    def upstream_url(self) -> str:
        """The upstream as nginx's error log names it: scheme, the peer (else the group) and the URI."""
        target = self._target
        assert target is not None
        peer = self._peer.name if self._peer is not None else target.name
        return f"{target.scheme}://{peer}{self._uri.decode('latin-1')}"

    def _use(self, conn: UpstreamConnection) -> None:
        self._conn = conn
        ex = self._ex
        request = ex.request
        assert self._target is not None
        request_head = self._target.head
        method = request_head.method(ex)
        # a response to HEAD has no body, whatever its head says
        conn.bind(
            self,
            skip_body=method.upper() == b"HEAD",
            upgrade=request.upgrade,
            head_limit=self._route.responses.head_limit,
        )
        buffered = self._buffered
        length = buffered.size if buffered is not None else request.content_length or 0
        head = request_head.build(ex, method, self._uri, self._framing, length)
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
        attempt.header_time = monotonic() - attempt.started
        condition = _HTTP_FAILURES.get(status)
        if condition is not None and condition in route.next_upstream and self._can_retry():
            self._drop_connection(failed=status not in _NOT_A_FAILURE)
            self._attempt()
            return
        assert self._peer is not None and self._target is not None
        self._target.balancer.succeeded(self._peer, time())
        ex.response_headers = headers
        rules = route.responses
        if status >= 300 and rules.intercept_errors and route.error_pages and status in route.error_pages:
            self._intercept(status, headers)
            return
        made = rules.head(ex, status, status_line, headers, framing, buffering=route.buffering)
        if made.redirect is not None:
            self._accel_redirect(made.redirect, headers)
            return
        self._responding = True
        self.buffering = made.buffering
        ex.release_request_body()  # as nginx, once the response starts
        ex.send_head(made.head)
        if conn.tunnel:
            self._start_tunnel()

    def _intercept(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        """ngx_http_upstream_intercept_errors: the response is not read; the request is finalized with its
        status, which leads to the error page (an upstream's 401 lends it its WWW-Authenticate)."""
        ex = self._ex
        self._end_early()
        if status == 401:
            challenge = find_header_line(headers, _WWW_AUTHENTICATE)  # as the upstream wrote it
            if challenge is not None:
                ex.keep_header(*challenge)
        ex.finalize(status)

    def _accel_redirect(self, target: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        """X-Accel-Redirect: the upstream's response is not read; the request goes on at the URI it names
        (as a GET, unless HEAD) or at the named location, with the upstream's Content-Type, Set-Cookie,
        Content-Disposition, Cache-Control, Expires and Accept-Ranges kept for the response made there."""
        ex = self._ex
        self._end_early()
        content_type, kept = redirect_headers(headers)
        for name, value in kept:
            ex.keep_header(name, value)
        if content_type is not None:
            ex.content_type = content_type
        uri = target.decode("latin-1")
        if uri.startswith("@"):
            ex.named_location(uri)
            return
        parsed = unsafe_uri(uri)
        if parsed is None:
            ex.log_error(ErrorLevel.ERROR, f'unsafe URI "{uri}" was detected')
            ex.finalize(404)
            return
        if ex.method != b"HEAD":
            ex.method = b"GET"
        ex.internal_redirect(*parsed)

    def _end_early(self) -> None:
        """The upstream's part is over before its response body: the connection is not kept."""
        attempt = self._ex.attempts[-1]
        attempt.response_time = monotonic() - attempt.started
        self._drop_connection(failed=False)
        self.closed = True
        self._release_body()

    def upstream_body(self, data: bytes) -> None:
        attempt = self._ex.attempts[-1]
        attempt.bytes_received += len(data)
        attempt.response_length += len(data)
        if self._spool is None and (not self._client_full or not self.buffering or self._tunnel):
            self._ex.send_body(data)
            return
        self._hold(data)

    def _hold(self, data: bytes) -> None:
        """A buffered response's piece the client cannot take yet: into the spool; the upstream waits
        only when the spool is full."""
        spool = self._spool
        if spool is None:
            rules = self._route.responses
            spool = self._spool = ResponseSpool(rules.spool_memory, rules.spool_file, rules.temp_path)
        had_file = spool.file_name is not None
        try:
            spool.add(data)
        except SpoolFileError as error:
            self._spool_failed(error)
            return
        if not had_file and spool.file_name is not None:
            text = f"an upstream response is buffered to a temporary file {spool.file_name}"
            self._log_upstream_error(f"{text} while reading upstream", ErrorLevel.WARN)
        if spool.full and self._conn is not None:
            self._conn.pause_reading()

    def _give_spooled(self) -> None:
        """The client can take more: what the spool holds, oldest first, until it cannot again."""
        spool, ex = self._spool, self._ex
        assert spool is not None
        size = self._route.responses.take_size
        while not self._client_full and not spool.empty:
            ex.send_body(spool.take(size))
            ex.flush()
            if self._spool is not spool:
                return  # the client went away meanwhile
        if spool.empty:
            self._drop_spool()
            if self._upstream_over:
                self._upstream_over = False
                ex.send_end()
                return
        if self._conn is not None and not spool.full:
            self._conn.resume_reading(self._route.read_timeout)

    def _spool_failed(self, error: SpoolFileError) -> None:
        cause = f"({error.errno}: {error.strerror})" if error.errno is not None else str(error)
        path = error.filename or self._route.responses.temp_path
        self._log_upstream_error(f'open() "{path}" failed {cause} while reading upstream', ErrorLevel.CRIT)
        self._drop_connection(failed=False)
        self.closed = True
        self._release_body()
        self._drop_spool()
        self._ex.abort_response()

    def _drop_spool(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def flush(self) -> None:
        self._ex.flush()

    def upstream_done(self, conn: UpstreamConnection, *, reusable: bool) -> None:
        if conn is not self._conn:
            return
        ex = self._ex
        attempt = ex.attempts[-1]
        attempt.response_time = monotonic() - attempt.started
        self._conn = None
        conn.release()
        if reusable and self._body_done and self._pending is None:
            conn.remember_tls()
            self._route.pool.put(conn, self._target.keep_policy)  # type: ignore[union-attr]
        else:
            conn.close()
        self._release_peer()
        self._release_body()
        self.closed = True
        if not self._body_done:
            # answered before the client finished sending: the rest of its body is not read
            ex.client.keep_alive = False
        if self._spool is not None:
            self._upstream_over = True  # the response ends once the client has what the spool holds
            return
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
            self._drop_spool()
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
        attempt.response_time = monotonic() - attempt.started
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
        if self._deadline and monotonic() > self._deadline:
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
        if failed and self._peer is not None and self._target is not None:
            self._target.balancer.failed(self._peer, time())
        self._release_peer()

    def _release_peer(self) -> None:
        if self._peer is not None and self._target is not None:
            self._target.balancer.released(self._peer)
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
