"""A request's header list, read as nginx 1.22 reads an HTTP/2 request (ngx_http_v2_state_process_header,
ngx_http_v2_validate_header, ngx_http_v2_pseudo_header, ngx_http_v2_run_request): the result is the
`Request` the phases serve, or what nginx does instead.

- A header name with a capital letter, a control character, a space or `:` past its start, or a value
  with NUL, CR or LF: the stream is reset (PROTOCOL_ERROR).
- A header name with other characters nginx does not expect (`_` included unless the default server has
  `underscores_in_headers on`): the header is dropped, unless that server has `ignore_invalid_headers
  off`.
- A pseudo-header repeated, empty, unknown or invalid; `:method`, `:scheme` or `:path` missing; no
  `:authority` nor `host`; a header nginx wants once given twice; a `content-length` that is not a
  number, or with a `transfer-encoding`; CONNECT and TRACE; a `content-length` on a stream the
  HEADERS frame ended: the request is answered with nginx's error page (400, 405, 501).
- `:authority` is the request's `host` header, where it stood; the `cookie` headers become one, joined
  with `; `, after the others; a request without `content-length` whose stream stays open has a body of
  unknown length (nginx's `chunked`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from ..parse import HTTP_20
from ..request import Request, validate_host
from ..uri import BadTargetError, Target, parse_target

PROTOCOL_ERROR = 0x1  # RST_STREAM's code for a header nginx refuses

_NAME_OK = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-")
_NAME_OK_UNDERSCORES = _NAME_OK | {ord("_")}
_USUAL_NAME = re.compile(rb":?[a-z0-9_\-]+\Z")
_KEPT_NAMES = 256  # usual names kept, of up to _KEPT_NAME_SIZE bytes: a client's names are few
_KEPT_NAME_SIZE = 64
_NUL: Final = 0x00
_CR: Final = 0x0D
_LF: Final = 0x0A
_NAME_FORBIDDEN = frozenset(b"\x7f:")  # beside controls, spaces and capitals
_VALUE_FORBIDDEN = frozenset(b"\x00\r\n")
_METHOD_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ_-")
_SCHEME_FIRST = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SCHEME_CHARS = _SCHEME_FIRST | frozenset(b"0123456789+-.")
# the headers nginx's ngx_http_process_unique_header_line (and Host's handler) takes once
_UNIQUE = frozenset(
    {
        b"host",
        b"if-modified-since",
        b"if-unmodified-since",
        b"if-match",
        b"if-none-match",
        b"content-length",
        b"content-range",
        b"if-range",
        b"transfer-encoding",
        b"expect",
        b"authorization",
    }
)
_NOT_ALLOWED = frozenset({b"CONNECT", b"TRACE"})
_usual_names: set[bytes] = set()  # names _USUAL_NAME has passed


@dataclass(frozen=True, slots=True)
class Refusal:
    """What nginx does instead of serving the request: reset the stream with `reset` (an RST_STREAM
    code), else answer `status` (the request as far as it was read is `request`, for the log line).
    `reason` is nginx's `info` line."""

    reason: str
    status: int = 0
    reset: int = 0
    request: Request | None = None


class _Reading:
    """A header list as far as it was read. (A plain class: a dataclass's __init__ is made by the
    dataclasses module, interpreted even in a compiled module.)"""

    __slots__ = ("cookies", "headers", "method", "path", "scheme", "unique")

    def __init__(self) -> None:
        self.method = b""
        self.scheme = b""
        self.path = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.cookies: list[bytes] | None = None
        self.unique: dict[bytes, bytes] = {}  # the headers of _UNIQUE read, by name

    def partial_request(self, started: float, length: int, *, line: bool = False) -> Request:
        """The request as far as it was read, for the log line of its refusal; `line`: nginx had made
        its request line (the header list was read whole)."""
        if line:
            head = Http2Head(self.method, self.path, self.headers, length, started)
        else:
            head = Http2Head(headers=self.headers, length=length, started=started)
        head.host_header = _header(head.headers, b"host")
        return Request(head)


class Http2Head:
    """What `Request` takes of a head (request.Head), made from a stream's header list. (A plain class,
    as `_Reading`.)"""

    __slots__ = (
        "chunked",
        "content_length",
        "expect_continue",
        "headers",
        "host",
        "host_header",
        "http_version",
        "keep_alive",
        "length",
        "line",
        "method",
        "protocol",
        "started",
        "target",
        "upgrade",
        "uri",
    )

    def __init__(
        self,
        method: bytes = b"",
        uri: bytes = b"",
        headers: list[tuple[bytes, bytes]] | None = None,
        length: int = 0,
        started: float = 0.0,
        *,
        target: Target | None = None,
    ) -> None:
        self.method = method
        self.uri = uri
        self.headers: list[tuple[bytes, bytes]] = [] if headers is None else headers
        self.length = length
        self.started = started
        self.target = target
        self.host = ""
        self.host_header: bytes | None = None
        self.content_length: int | None = None
        self.chunked = False
        self.http_version = HTTP_20
        self.protocol = b"HTTP/2.0"
        self.keep_alive = True
        self.upgrade = False
        self.expect_continue = False
        # $request: nginx makes it once the header list is read
        self.line = method + b" " + uri + b" HTTP/2.0" if method else b""


def empty_request(started: float) -> Request:
    """A request refused before any of its header list was read (for its log line)."""
    return Request(Http2Head(started=started))


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((value for key, value in headers if key == name), None)


def read_request(
    headers: list[tuple[bytes, bytes]],
    *,
    stream_ended: bool,
    length: int,
    started: float,
    underscores: bool = False,
    ignore_invalid: bool = True,
) -> Request | Refusal:
    """`headers` as the HEADERS frame's block gave them; `stream_ended`: the frame ended the stream;
    `length`: the block's size ($request_length); `underscores`, `ignore_invalid`: the default server's
    `underscores_in_headers` and `ignore_invalid_headers`."""
    reading = _Reading()
    valid = _NAME_OK_UNDERSCORES if underscores else _NAME_OK
    for name, value in headers:
        if not _usual_field(name, value):
            refused = _check_field(name, value)
            if refused is not None:
                return Refusal(
                    refused, reset=PROTOCOL_ERROR, request=reading.partial_request(started, length)
                )
        if name.startswith(b":"):
            problem = _pseudo_header(reading, name[1:], value)
        elif ignore_invalid and not valid.issuperset(name):
            continue  # "client sent invalid header", dropped as ignore_invalid_headers on has it
        elif name == b"cookie":
            if reading.cookies is None:
                reading.cookies = []
            reading.cookies.append(value)
            continue
        else:
            problem = _regular_header(reading, name, value)
        if problem is not None:
            return Refusal(problem, status=400, request=reading.partial_request(started, length))
    return _run(reading, stream_ended=stream_ended, length=length, started=started)


def _usual_field(name: bytes, value: bytes) -> bool:
    """A field that `_check_field` need not look at, as most are: its value has no NUL, CR nor LF, and
    its name is a usual one (`:`, then lower-case letters, digits, `_` and `-`), which the names met
    already (`_usual_names`) spare the pattern's search."""
    if _NUL in value or _CR in value or _LF in value:  # bytes' codes: a memchr each
        return False
    if name in _usual_names:
        return True
    if _USUAL_NAME.match(name) is None:
        return False
    if len(_usual_names) < _KEPT_NAMES and len(name) <= _KEPT_NAME_SIZE:
        _usual_names.add(name)
    return True


def _check_field(name: bytes, value: bytes) -> str | None:
    """ngx_http_v2_validate_header's refusals, for which the stream is reset (for a field whose name is
    not a usual one, or whose value has a character nginx refuses)."""
    if not name:
        return "client sent zero header name length"
    for char in name[1:] if name.startswith(b":") else name:
        if char <= 0x20 or char in _NAME_FORBIDDEN or 0x41 <= char <= 0x5A:
            return f'client sent invalid header name: "{name.decode("latin-1")}"'
    if _VALUE_FORBIDDEN.intersection(value):
        return (
            f'client sent header "{name.decode("latin-1")}" with invalid value: "{value.decode("latin-1")}"'
        )
    return None


def _pseudo_header(reading: _Reading, name: bytes, value: bytes) -> str | None:
    """ngx_http_v2_pseudo_header: the problem with it, None when it is read."""
    if name == b"path":
        if reading.path:
            return "client sent duplicate :path header"
        if not value:
            return "client sent empty :path header"
        if not value.startswith(b"/") or any(char <= 0x20 or char == 0x7F for char in value):
            return f'client sent invalid :path header: "{value.decode("latin-1")}"'
        reading.path = value
        return None
    if name == b"method":
        if reading.method:
            return "client sent duplicate :method header"
        if not value:
            return "client sent empty :method header"
        reading.method = value
        if not _METHOD_CHARS.issuperset(value):
            return f'client sent invalid method: "{value.decode("latin-1")}"'
        return None
    if name == b"scheme":
        if reading.scheme:
            return "client sent duplicate :scheme header"
        if not value:
            return "client sent empty :scheme header"
        if value[0] not in _SCHEME_FIRST or not _SCHEME_CHARS.issuperset(value):
            return f'client sent invalid :scheme header: "{value.decode("latin-1")}"'
        reading.scheme = value
        return None
    if name == b"authority":
        return _regular_header(reading, b"host", value)
    return f'client sent unknown pseudo-header ":{name.decode("latin-1")}"'


def _regular_header(reading: _Reading, name: bytes, value: bytes) -> str | None:
    headers = reading.headers
    unique = name in _UNIQUE
    if unique:
        previous = reading.unique.get(name)
        if previous is not None:
            if name == b"host":
                return "client sent duplicate host header"
            text = name.decode("latin-1")
            return (
                f'client sent duplicate header line: "{text}: {value.decode("latin-1")}", '
                f'previous value: "{text}: {previous.decode("latin-1")}"'
            )
    if name == b"host" and validate_host(value) is None:
        return "client sent invalid host header"
    headers.append((name, value))
    if unique:
        reading.unique[name] = value
    return None


def _run(reading: _Reading, *, stream_ended: bool, length: int, started: float) -> Request | Refusal:
    """ngx_http_v2_run_request: the request line, the cookie header, the checks of the whole head."""
    missing = (
        "client sent no :method header"
        if not reading.method
        else "client sent no :scheme header"
        if not reading.scheme
        else "client sent no :path header"
        if not reading.path
        else None
    )
    if missing is not None:
        return Refusal(missing, status=400, request=reading.partial_request(started, length))
    headers = reading.headers
    if reading.cookies is not None:
        headers.append((b"cookie", b"; ".join(reading.cookies)))
    unique = reading.unique
    problem, status = _head_problem(unique, reading.method)
    if problem is None:
        try:
            target = parse_target(reading.path)
        except BadTargetError:  # a target nginx's URI parser refuses
            problem, status = "client sent invalid request", 400
        else:
            host_header = unique.get(b"host")
            length_value = unique.get(b"content-length")
            head = Http2Head(reading.method, reading.path, headers, length, started, target=target)
            head.host_header = host_header
            head.host = (validate_host(host_header) or "") if host_header is not None else ""
            head.content_length = int(length_value) if length_value is not None else None
            request = Request(head)
            if not request.content_length or not stream_ended:
                if request.content_length is None and not stream_ended:
                    request.chunked = True  # a body of unknown length: nginx reads it as it comes
                return request
            problem, status = "client prematurely closed stream", 400
    assert problem is not None
    return Refusal(problem, status=status, request=reading.partial_request(started, length, line=True))


def _head_problem(unique: dict[bytes, bytes], method: bytes) -> tuple[str | None, int]:
    """ngx_http_process_request_header's checks that `Request` leaves to the reader of the head
    (`unique`: the headers nginx takes once, by name)."""
    length = unique.get(b"content-length")
    encoding = unique.get(b"transfer-encoding")
    if b"host" not in unique:
        return 'client sent HTTP/1.1 request without "Host" header', 400
    if length is not None and (not length.isdigit() or len(length) > 18):
        return 'client sent invalid "Content-Length" header', 400
    if encoding is not None and encoding.lower() != b"chunked":
        return f'client sent unknown "Transfer-Encoding": "{encoding.decode("latin-1")}"', 501
    if length is not None and encoding is not None:
        return 'client sent "Content-Length" and "Transfer-Encoding" headers at the same time', 400
    if method in _NOT_ALLOWED:
        return f"client sent {method.decode()} method", 405
    return None, 0
