"""One request, from its head to its log line (nginx's ngx_http_request_t and the core's phases).

A request goes through nginx's phases: the server's rewrite directives, the choice of a location by the
URI, the location's rewrite directives (a changed URI chooses the location again, at most 10 times), the
location's steps (access checks, try_files, ...) and its content handler (`proxy_pass`, `return`,
files...). Internal redirects (`error_page /uri`, `try_files ... /uri`) start over at the server's
rewrite directives; named locations (`@name`) at the location's. A location that needs none of this costs
nothing: the location chosen when the head is read is used as it is.

The response goes out through `send_head` (the location's filters change the head: add_header, gzip...),
`send_body` and `send_end`; what is gathered in a read is written at once by `flush`. Responses nginx
makes itself (error pages, redirects) come from `finalize`, which follows `error_page`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Final, Protocol, cast

from hapair.config.nginx.model.http import METHOD_BITS, UNKNOWN_METHOD
from hapair.config.nginx.model.logging import ErrorLevel

from .logcontext import error_context
from .pages import CLOSED, CLOSING, MSIE_PADDING, NO_RESPONSE, page, wire_status
from .parse import HTTP_10, HTTP_11, HTTP_20
from .response import REDIRECTS, Framing, ResponseHead, render
from .uri import escape_uri

if TYPE_CHECKING:
    import re

    from .body import BufferedBody
    from .client import ClientConnection
    from .clientside import ClientSide, MultiplexedSide
    from .proxying import Attempt
    from .request import Request
    from .routing import Found
    from .service import ErrorPage, Route, ServerRoutes
    from .target import Target

NEXT: Final = 0  # a step's answer: go on to the next step
DONE: Final = -1  # a step's answer: it took the request over (it answers, or will go on later)
_CLOSED_BY_CLIENT: Final = 499  # nginx's status in the log of a request whose client went away
_URI_CHANGES: Final = 11  # nginx's NGX_HTTP_MAX_URI_CHANGES + 1
_CHUNK_END: Final = b"0\r\n\r\n"
_LAST_MODIFIED_STATUSES: Final = frozenset({200, 206, 304})  # nginx's header filter drops its own otherwise


class Content(Protocol):
    """What produces a response and wants the request body: the proxy, for one."""

    closed: bool
    buffering: bool  # the response is read ahead of the client; a body filter flushes after each piece if not

    def body(self, data: bytes) -> None: ...

    def body_done(self) -> None: ...

    def client_full(self) -> None: ...

    def client_drained(self) -> None: ...

    def client_lost(self) -> None: ...

    def request_broken(self) -> None: ...

    def body_too_large(self) -> None: ...

    def tunnel_from_client(self, data: bytes) -> bool: ...

    def tunnel_eof(self, *, from_client: bool) -> None: ...


class BodyFilter(Protocol):
    """A filter of the response body (gzip): what to send for each piece, and at the end."""

    def data(self, chunk: bytes) -> bytes: ...

    def end(self) -> bytes: ...


class Exchange:
    """Per-request state; the client connection's callbacks and the content handler's arrive here."""

    subrequest: ClassVar[bool] = False  # nginx's r != r->main (see subrequest.Subrequest)

    __slots__ = (
        "_body_done",
        "_body_filters",
        "_chunked",
        "_complete",
        "_early",
        "_finished",
        "_head_size",
        "_header_only",
        "_out",
        "_responding",
        "_slash",
        "_started",
        "_step",
        "add_uri_to_alias",
        "args",
        "attempts",
        "binary_remote_addr",
        "body_bytes_sent",
        "body_received",
        "bytes_sent",
        "cleanups",
        "client",
        "content",
        "content_type",
        "err_status",
        "error_page",
        "head",
        "internal",
        "keepalive",
        "kept_headers",
        "limit_conn_status",
        "limit_req_status",
        "match",
        "method",
        "pipelined",
        "realip",
        "remote_addr",
        "remote_port",
        "request",
        "request_body",
        "request_length",
        "response_headers",
        "route",
        "server",
        "server_name",
        "status",
        "target",
        "trailers",
        "uri",
        "uri_changed",
        "uri_changes",
        "valid_location",
        "valid_unparsed_uri",
        "variables",
        "watching_client",
    )

    def __init__(
        self,
        client: ClientConnection | ClientSide,
        request: Request,
        server: ServerRoutes,
        found: Found[Route] | None,
        *,
        pipelined: bool,
    ) -> None:
        """`found`: the location of the request's URI in `server` (None: none matches)."""
        # a union for the compiled code: a ClientConnection's fields and methods reached directly (an
        # HTTP/2 stream's by name, through the protocol: its class is compiled in a group of its own)
        self.client: ClientConnection | ClientSide = client
        # (the annotations: variables.py's getters are typed before this class in mypy's import cycle)
        self.request: Request = request
        self.server = server
        # the client's address as the request sees it: the realip module may change it
        self.remote_addr: str = client.remote_addr
        self.remote_port: int = client.remote_port
        self.binary_remote_addr: str = client.binary_remote_addr
        self.realip = False  # the realip module has looked at the request
        # the limit_req module's verdict (limit_statuses.py), 0: none yet
        self.limit_req_status: int = 0
        self.limit_conn_status: int = 0
        self.cleanups: list[Callable[[], None]] | None = None  # run when the request ends (after its log)
        # r->headers_out kept past a redirect: for the response that answers in the end (an error page's)
        self.kept_headers: list[tuple[bytes, bytes]] | None = None
        self.route: Route = server.fallback
        self.match: re.Match[str] | None = None
        self._slash = False
        if found is not None:
            self.route, self.match, self._slash = found.value, found.match, found.redirect
        route = self.route
        self.pipelined: bool = pipelined
        self.server_name: str = route.server_name
        target = request.target
        self.uri: str = target.uri
        self.args: str | None = target.query
        self.variables: dict[str, str] | None = None  # `set` and captured named groups
        # while the request waits (a limit_req delay, a subrequest's upstream): whether the client's
        # close (or half-close) ends it now, as nginx's reading test then finds it (499)
        self.watching_client: Callable[[], bool] | None = None
        self.internal = False
        self.uri_changed = False
        self.uri_changes = _URI_CHANGES
        self.valid_location = True
        self.valid_unparsed_uri = True
        self.add_uri_to_alias = False  # try_files found a file for a regular expression's alias
        self.error_page = False
        self.err_status = 0  # the status an error_page's response is sent with (0: its own)
        self.method: bytes = request.method  # GET after an error_page's internal redirect
        self.keepalive = True  # r->keepalive: False once the connection must close after the answer
        self.status: int = 0
        self.bytes_sent: int = 0
        self.body_bytes_sent: int = 0
        self.body_received = 0
        self.request_length: int = request.head_length  # $request_length: the client connection adds the body
        self.attempts: list[Attempt] = []
        self.target: Target | None = None  # where the content handler proxies the request (r->upstream)
        self.response_headers: list[tuple[bytes, bytes]] = []
        self.content_type: bytes | None = None  # the response's, unless it has its own (X-Accel-Redirect)
        self.request_body: BufferedBody | None = None  # read whole, for each content handler until a response
        self.head: ResponseHead | None = None
        self.content: Content | None = None
        # add_trailer: [] once trailers are expected (the response is then chunked), filled at its end
        self.trailers: list[tuple[bytes, bytes]] | None = None
        self._body_done = not request.has_body
        self._early: list[bytes] = []  # body received before a content handler took it
        self._out: list[bytes] = []
        self._body_filters: list[BodyFilter] = []
        self._chunked = False
        self._complete = False  # the whole response was given (send_end)
        self._header_only = False
        self._head_size = 0
        self._responding = False
        self._finished = False
        self._started = False
        self._step = 0

    # -- the phases

    def start(self) -> None:
        """The request's turn has come (the ones before it on the connection are answered)."""
        self._started = True
        certificate_check = self.server.certificate_check
        if certificate_check is not None and (refused := certificate_check(self)):
            self.finalize(refused)
            return
        post_read = self.server.post_read
        if post_read is not None:
            post_read(self)  # realip, which never stops a request
        if self.server.rewrite is not None:
            self._server_rewrite()
            return
        self._enter_location()

    def start_phases(self) -> None:
        """A request with no location found yet (a subrequest): from the server's rewrite phase on."""
        self._started = True
        self._server_rewrite()

    def _server_rewrite(self) -> None:
        """NGX_HTTP_SERVER_REWRITE_PHASE, then the location chosen by the URI."""
        self.route = self.server.fallback
        script = self.server.rewrite
        if script is not None and script.run(self) == DONE:
            return
        self._find_location()
        self._enter_location()

    def _find_location(self) -> None:
        found = self.server.find(self.uri)
        if found is None:
            self.route, self.match, self._slash = self.server.fallback, None, False
        else:
            self.route, self.match, self._slash = found.value, found.match, found.redirect
        self.uri_changed = False
        if self.match is not None and self.match.re.groupindex:
            self.capture_names(self.match)

    def _enter_location(self) -> None:
        """From the location found on: its checks, its rewrite directives, its steps."""
        route = self.route
        if route.internal and not self.internal:
            self.finalize(404)
            return
        route = self._limit_except()
        request = self.request
        if route.max_body and request.content_length is not None and request.content_length > route.max_body:
            self.log_request_error(
                ErrorLevel.ERROR, f"client intended to send too large body: {request.content_length} bytes"
            )
            self.finalize(413)
            return
        if route.max_body and self.body_received > route.max_body:
            self.finalize(413)
            return
        if self._slash:
            self._redirect_to_slash()
            return
        if route.rewrite is not None:
            self._location_rewrite()
            return
        self._step = 0
        self.resume()

    def _location_rewrite(self) -> None:
        """NGX_HTTP_REWRITE_PHASE and NGX_HTTP_POST_REWRITE_PHASE."""
        script = self.route.rewrite
        assert script is not None
        if script.run(self) == DONE:
            return
        if self.uri_changed:
            self.uri_changes -= 1
            if self.uri_changes == 0:
                self.log_request_error(
                    ErrorLevel.ERROR, f'rewrite or internal redirection cycle while processing "{self.uri}"'
                )
                self.finalize(500)
                return
            self.route = self.server.fallback
            self._find_location()
            self._enter_location()
            return
        self._step = 0
        self.resume()

    def resume(self) -> None:
        """Run the location's steps from where they stopped; the last one is the content handler."""
        steps = self.route.steps
        while self._step < len(steps) and not self._finished:
            step = steps[self._step]
            self._step += 1
            result = step(self)
            if result == NEXT:
                continue
            if result != DONE:
                self.finalize(result)
            return

    def internal_redirect(self, uri: str, args: str | None) -> None:
        """ngx_http_internal_redirect: the request starts over with `uri` at the server's rewrite phase."""
        self.uri_changes -= 1
        if self.uri_changes == 0:
            self.log_request_error(
                ErrorLevel.ERROR,
                f'rewrite or internal redirection cycle while internally redirecting to "{uri}"',
            )
            self.finalize(500)
            return
        self.uri = uri
        self.args = args
        self.internal = True
        self.valid_unparsed_uri = False
        self.valid_location = True
        self._server_rewrite()

    def named_location(self, name: str) -> None:
        """ngx_http_named_location: the request goes on at the named location's rewrite phase."""
        route = self.server.named.get(name)
        if route is None:
            self.log_request_error(ErrorLevel.ERROR, f'could not find named location "{name}"')
            self.finalize(500)
            return
        self.uri_changes -= 1
        if self.uri_changes == 0:
            self.log_request_error(
                ErrorLevel.ERROR,
                f'rewrite or internal redirection cycle while redirect to named location "{name}"',
            )
            self.finalize(500)
            return
        self.route = route
        self.match = None
        self.internal = True
        route = self._limit_except()
        if route.rewrite is not None:
            self._location_rewrite()
            return
        self._step = 0
        self.resume()

    def _limit_except(self) -> Route:
        """ngx_http_update_location_config: a method its location's `limit_except` does not name takes
        that block's settings (its rewrite directives, none, included)."""
        limited = self.route.limit_except
        if limited is not None and METHOD_BITS.get(self.method, UNKNOWN_METHOD) & limited[0]:
            self.route = limited[1]
        return self.route

    def _redirect_to_slash(self) -> None:
        """A location named `/x/` with a proxy asked for as `/x`: nginx's 301 to `/x/`."""
        location = self.route.location
        assert location is not None
        name = escape_uri(location.path)
        head = ResponseHead(301)
        head.set_location((name if not self.args else f"{name}?{self.args}").encode("latin-1"))
        self.finalize(301, head)

    def capture_names(self, match: re.Match[str]) -> None:
        """A regular expression with named groups matched: they become variables, as in nginx."""
        variables = self.variables
        if variables is None:
            variables = self.variables = {}
        for name, value in match.groupdict(default="").items():
            variables[name.lower()] = value

    def add_cleanup(self, cleanup: Callable[[], None]) -> None:
        """Something to undo when the request ends, after its log line (nginx's pool cleanups): the
        last added runs first."""
        if self.cleanups is None:
            self.cleanups = []
        self.cleanups.append(cleanup)

    def keep_header(self, name: bytes, value: bytes) -> None:
        """A header of r->headers_out that outlives the response it came with: whatever answers the
        request in the end (an error page...) has it (an intercepted 401's WWW-Authenticate)."""
        if self.kept_headers is None:
            self.kept_headers = []
        self.kept_headers.append((name, value))

    def set_variable(self, name: str, value: str) -> None:
        if self.variables is None:
            self.variables = {}
        self.variables[name] = value

    # -- the request body, from the client connection

    def body(self, data: bytes) -> None:
        """A piece of the request body, as the client's parser gives it (without chunk framing)."""
        self.body_received += len(data)
        route = self.route
        if route.max_body and self.body_received > route.max_body and not self._finished:
            self._body_too_large()
            return
        content = self.content
        if content is not None and not content.closed:
            content.body(data)
        elif content is None and not self._finished:
            self._early.append(data)

    def body_done(self) -> None:
        self._body_done = True
        content = self.content
        if content is not None and not content.closed:
            content.body_done()

    @property
    def body_complete(self) -> bool:
        """The client has sent its whole request body (or it has none)."""
        return self._body_done

    def release_request_body(self) -> None:
        if self.request_body is not None:
            self.request_body.close()
            self.request_body = None

    def take_early_body(self) -> list[bytes]:
        """The body received before the content handler started."""
        early, self._early = self._early, []
        return early

    def _body_too_large(self) -> None:
        """A chunked body passed client_max_body_size (a Content-Length was checked at once)."""
        self._early.clear()
        if not self._started:
            return
        if self.content is not None:
            self.content.body_too_large()
        if self._responding:
            self.abort_response()
        else:
            self.finalize(413)

    def client_full(self) -> None:
        if self.content is not None:
            self.content.client_full()

    def client_drained(self) -> None:
        if self.content is not None:
            self.content.client_drained()

    def client_lost(self) -> None:
        """The client connection is gone: whatever is under way is dropped."""
        if self.content is not None:
            self.content.client_lost()
        if not self._finished and self._started:
            if not self._responding:
                self.status = _CLOSED_BY_CLIENT
            self._finish()

    def closed_by_client(self, status: int) -> None:
        """The client closed its side while the request was read or proxied: nothing more is sent, the
        request is logged with `status` (400 or 499) unless a response had begun."""
        if self._finished:
            return
        content = self.content
        if content is not None and not content.closed:
            content.client_lost()
        if not self._responding:
            self.status = status
        self.client.keep_alive = False
        self._finish()

    def timed_out(self) -> None:
        """The client was too slow for client_header_timeout (a head begun) or client_body_timeout: the
        request ends with nginx's 408, logged, without an answer."""
        content = self.content
        if content is not None and not content.closed:
            content.client_lost()
        self.finalize(408)

    def request_broken(self) -> None:
        """The client's request turned out malformed (a bad chunk): nothing more goes upstream."""
        self._body_done = True
        if self.content is not None:
            self.content.request_broken()
        if self._started and not self._finished:
            if self._responding:
                self.abort_response()
            else:
                self.finalize(400, close=True)
        self._finished = True

    # -- the response

    def send_head(self, head: ResponseHead) -> bool:
        """Run the location's filters over `head` and queue it, with nginx's framing. False when a filter
        answered the request with another response instead (a 412...): nothing more of this one is sent.
        An error page's status is the response's before the filters see it (ngx_http_send_header)."""
        kept = self.kept_headers
        if kept is not None:
            head.headers[:0] = kept
            if head.location >= 0:
                head.location += len(kept)
            self.kept_headers = None
        if self.err_status:
            head.status, head.status_text = self.err_status, None
        if head.content_type is None and self.content_type is not None:
            head.content_type = self.content_type
        for head_filter in self.route.filters:
            body_filter = head_filter(self, head)
            if self._responding or self._finished:
                return False
            if body_filter is not None:
                self._body_filters.append(body_filter)
        request = self.request
        client = self.client
        status = head.status
        keep_alive = self.keepalive and request.keep_alive and client.may_keep_alive(self.route)
        self._header_only = self.method == b"HEAD" or not head.has_body
        if status == 204 and head.status_text is None:  # an upstream's status line keeps its headers
            head.content_type = None
            head.content_length = -1
            head.last_modified = None
        elif head.last_modified is not None and status not in _LAST_MODIFIED_STATUSES:
            head.last_modified = None
        chunkable = HTTP_11 <= request.http_version < HTTP_20 and self.route.chunked_transfer_encoding
        if status == 101:
            connection = b"Connection: upgrade\r\n"
        elif not self._header_only and head.content_length < 0 and not chunkable and status >= 200:
            keep_alive = False
        if status != 101:
            if keep_alive:
                connection = b"Connection: keep-alive\r\n" + self.route.keepalive_header
            else:
                connection = b"Connection: close\r\n"
        # a response with trailers to send is chunked even with a length (nginx's chunked filter)
        self._chunked = (
            not self._header_only
            and chunkable
            and status >= 200
            and (head.content_length < 0 or self.trailers is not None)
        )
        if self._chunked:
            head.content_length = -1
        self.head = head
        self.status = status
        self._responding = True
        client.keep_alive = keep_alive
        if request.http_version < HTTP_10:
            return True  # HTTP/0.9: the body alone
        base = self._redirect_base() if head.location >= 0 else None  # only a Location needs it
        framing = Framing(connection, chunked=self._chunked, redirect_base=base)
        if client.multiplexed:  # HTTP/2: the head is a HEADERS frame, ending the stream if nothing follows
            end_stream = self._header_only or (head.content_length == 0 and self.trailers is None)
            self._head_size = cast("MultiplexedSide", client).send_head(head, framing, end_stream=end_stream)
            self.bytes_sent += self._head_size
            return True
        data = render(head, client.server_date(), framing)
        self._head_size = len(data)
        self._out.append(data)
        return True

    @property
    def finished(self) -> bool:
        """The request is over (answered, or its client gone)."""
        return self._finished

    def mark_header_only(self) -> None:
        """The response is under way but none of it is sent (a subrequest's): its body is dropped."""
        self._header_only = True
        self._responding = True

    @property
    def header_only(self) -> bool:
        """The response has no body (HEAD, 304...): what the content handler sends is dropped."""
        return self._header_only

    @property
    def body_as_is(self) -> bool:
        """The body goes out as it is given, no filter changing it and no chunk framing: it may be
        written to the client directly (sendfile)."""
        return not self._body_filters and not self._chunked

    def _redirect_base(self) -> bytes | None:
        """`http://host[:port]` for a relative `Location` (absolute_redirect), None to leave it as is."""
        route = self.route
        if not route.absolute_redirect:
            return None
        client = self.client
        host = route.server_name if route.server_name_in_redirect else self.request.host or client.server_addr
        port = client.server_port
        default = 443 if client.ssl_object is not None else 80
        scheme = b"https://" if client.ssl_object is not None else b"http://"
        if not route.port_in_redirect or port == default:
            return scheme + host.encode("latin-1")
        return scheme + host.encode("latin-1") + b":%d" % port

    def send_body(self, data: bytes) -> None:
        if self._header_only:
            return
        for body_filter in self._body_filters:
            data = body_filter.data(data)
        if not data:
            return
        if self._chunked:
            data = b"%x\r\n%b\r\n" % (len(data), data)
        self._out.append(data)

    def send_end(self) -> None:
        """The body is whole: what the filters still hold, the last chunk, and the request's end."""
        if not self._header_only:
            tail = b""
            for body_filter in self._body_filters:
                tail = body_filter.data(tail) + body_filter.end() if tail else body_filter.end()
            if tail:
                self._out.append(b"%x\r\n%b\r\n" % (len(tail), tail) if self._chunked else tail)
            if self._chunked:
                self._out.append(self._last_chunk())
        self.flush()
        self._complete = True
        self._finish()

    def _last_chunk(self) -> bytes:
        """The last chunk, with the trailers (nginx's chunked filter)."""
        if not self.trailers:
            return _CHUNK_END
        lines = b"".join(b"%b: %b\r\n" % (name, value) for name, value in self.trailers)
        return b"0\r\n" + lines + b"\r\n"

    def send_raw(self, data: bytes) -> None:
        """Bytes of an upgraded connection, after what is queued."""
        self._out.append(data)
        self.flush()

    def flush(self) -> None:
        """Write what is queued, at once."""
        out = self._out
        if out:
            data = out[0] if len(out) == 1 else b"".join(out)
            out.clear()
            self.bytes_sent += len(data)
            self.client.write(data)

    def respond(self, head: ResponseHead, body: bytes) -> None:
        """A whole response made here (`return 200 text`, a file that fits in memory...)."""
        head.content_length = len(body)
        self.send_head(head)
        if body:
            self.send_body(body)
        self.send_end()

    def finalize(self, status: int, head: ResponseHead | None = None, *, close: bool = False) -> None:
        """ngx_http_finalize_request with a status: nginx's special response for it (its page, or the
        `error_page` configured), or the connection closed without one (444, 408, 499)."""
        if self._finished:
            return
        if self._responding:
            self.abort_response()
            return
        if status in NO_RESPONSE:
            self.status = status
            self.client.keep_alive = False
            self.client.close_without_answer(reset=status != CLOSED and self.route.reset_timedout_connection)
            self._finish()
            return
        if close:
            self.keepalive = False
        if not self.error_page and self.route.error_pages and self.uri_changes != 0:
            if not self.route.recursive_error_pages:
                self.error_page = True
            configured = self.route.error_pages.get(status)
            if configured is not None:
                if head is not None:
                    self._keep_headers(head)
                self._error_page(configured, status)
                return
        self._special_response(status, head or ResponseHead(status))

    def _keep_headers(self, head: ResponseHead) -> None:
        """nginx's r->headers_out outlives the redirect to an error page: the headers the refusal set
        (`WWW-Authenticate`) go out with the response the request is redirected to."""
        kept = [header for index, header in enumerate(head.headers) if index != head.location]
        if kept:
            self.kept_headers = kept

    def _error_page(self, configured: ErrorPage, status: int) -> None:
        """ngx_http_send_error_page: the response the request is redirected to is sent with
        `err_status` (the original status, or the one `=code` gives; `=` alone: its own)."""
        overwrite = configured.overwrite
        self.err_status = status if overwrite < 0 else overwrite
        target = configured.target.evaluate(self)
        if target.startswith("/"):
            args = configured.args
            if configured.target.constant is None:
                target, mark, query = target.partition("?")
                args = query if mark else None
            if self.method != b"HEAD":
                self.method = b"GET"
            self._drop_content()
            self.internal_redirect(target, args)
            return
        if target.startswith("@"):
            self._drop_content()
            self.named_location(target)
            return
        if overwrite not in REDIRECTS:
            self.err_status = 302
        head = ResponseHead(self.err_status)
        head.set_location(target.encode("latin-1", "replace"))
        self._special_response(self.err_status, head)

    def _drop_content(self) -> None:
        content = self.content
        if content is not None and not content.closed:
            content.client_lost()
        self.content = None

    def _special_response(self, status: int, head: ResponseHead) -> None:
        """ngx_http_special_response_handler and ngx_http_send_special_response."""
        self._drop_content()
        if status in CLOSING or not self._body_done:
            self.keepalive = False
        body = page(status) or b""
        self.trailers = None
        head.status = wire_status(status)
        head.last_modified = None  # ngx_http_send_special_response: no validators, no ranges
        head.remove(b"etag")
        head.remove(b"accept-ranges")
        if body:
            head.content_type = b"text/html"
            if self.route.msie_padding and status >= 400 and _msie_or_chrome(self.request):
                body += MSIE_PADDING
        else:
            head.content_type = None
        self.status = head.status
        self.respond(head, body)

    def abort_response(self) -> None:
        """The response cannot be completed: the client connection is closed after what was written;
        what was still queued is dropped (nginx, which buffers responses, would not have sent it)."""
        self.client.keep_alive = False
        self._out.clear()
        self._finish()

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        content = self.content
        if content is not None and not content.closed:
            content.client_lost()
        self._early.clear()
        self.release_request_body()
        self._ended()

    def _ended(self) -> None:
        """The request is over: its log line, its cleanups, and the connection goes on. An HTTP/2
        stream calls `complete` itself, once the response's last frame is out."""
        if not self.client.multiplexed:
            self.complete()
        self.client.exchange_finished(self)

    def complete(self) -> None:
        """The request's end, once its response has left: its log line, then its cleanups."""
        self.body_bytes_sent = max(0, self.bytes_sent - self._head_size)
        self.route.log(self)
        self.run_cleanups()

    def let_go(self) -> None:
        """After `complete`, for a client side that drops the exchange: its content handler, which refers
        to it, is let go, so that both are freed once nothing else holds them (by their reference counts,
        not by the garbage collector, whose passes over every request's objects cost more)."""
        self.content = None

    def run_cleanups(self) -> None:
        if self.cleanups is not None:
            for cleanup in reversed(self.cleanups):
                cleanup()

    @property
    def response_complete(self) -> bool:
        """The whole response was given (it did not end early)."""
        return self._complete

    def add_framing(self, size: int) -> None:
        """Bytes sent that are not the body: HTTP/2's frame heads and trailers."""
        self.bytes_sent += size
        self._head_size += size

    def log_error(self, level: ErrorLevel, text: str) -> None:
        """An error log line about this request, with nginx's `*N` connection number."""
        self.route.error_log(level, f"*{self.client.number} {text}")

    def log_request_error(self, level: ErrorLevel, text: str) -> None:
        """The same with the request's context after the text, as nginx writes it (client, server...)."""
        self.log_error(level, text + error_context(self))

    # -- what the variables ask

    def sent_headers(self) -> list[tuple[bytes, bytes]]:
        """The response headers as the client got them, for `$sent_http_NAME`."""
        head = self.head
        out = [(b"Server", b"hapair"), (b"Connection", b"keep-alive" if self.client.keep_alive else b"close")]
        if head is None:
            return out
        if head.content_type:
            out.append((b"Content-Type", head.content_type))
        if head.content_length >= 0:
            out.append((b"Content-Length", b"%d" % head.content_length))
        out += head.headers
        if self._chunked:
            out.append((b"Transfer-Encoding", b"chunked"))
        return out

    @property
    def body_filters(self) -> list[BodyFilter]:
        """The body filters of the response (gzip...), for the variables that tell of them."""
        return self._body_filters

    def request_id(self) -> str:
        return os.urandom(16).hex()

    def request_time(self) -> float:
        return max(0.0, time.time() - self.request.started)

    # -- an upgraded connection

    def tunnel_from_client(self, data: bytes) -> None:
        content = self.content
        if content is None or not content.tunnel_from_client(data):
            self._early.append(data)  # sent after the request, or dropped if the upgrade is refused

    def tunnel_eof(self, *, from_client: bool) -> None:
        if self.content is not None:
            self.content.tunnel_eof(from_client=from_client)

    def end_tunnel(self) -> None:
        self.flush()
        self.client.keep_alive = False
        self._finish()


def _msie_or_chrome(request: Request) -> bool:
    agents = request.header_values("user_agent")
    if not agents:
        return False
    agent = agents[0]
    return b"MSIE " in agent or b"Chrome/" in agent
