"""Reading a request from a client connection's bytes as nginx 1.22 reads it (ngx_http_request.c), without
I/O: the head line by line into nginx's header buffers, the headers nginx handles as they come, the
checks once the head is whole, then the body framed by its `Content-Length` or its chunks.

The head (`HeadReader`): leading empty lines are skipped; the request line comes first (`parse.py` says
what is valid); an HTTP/0.9 request has nothing more; header lines follow up to an empty line. A line
nginx finds invalid ends the request with its status. A header line with a name nginx calls invalid
(`_` without `underscores_in_headers`, `@`, `.`, a byte from 0x80...) is dropped while
`ignore_invalid_headers` is on, kept otherwise; more than `max_headers` kept lines is refused (494).
Host, Content-Length, Transfer-Encoding, Expect, Authorization, If-*, Content-Range and If-Range may
come once; Host is checked (ngx_http_validate_host) and chooses the server whose settings apply to the
rest of the head.

nginx's buffers (`client_header_buffer_size`, `large_client_header_buffers`): the head is read into a
buffer of `client_header_buffer_size`; when it is full and the head is not whole, a large buffer takes
the line under way, up to `large_client_header_buffers` of them. A line that does not fit in one is
refused (the request line with 414, a header line with 494), and so is a head that needs more buffers.
What a request's head costs therefore depends on where its lines fall, as in nginx.

`$request_length` as nginx counts it: the request line and each header line read (dropped ones too, not
a line refused as invalid), the empty line, then the body's bytes as sent (chunk framing too).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .memo import keep
from .pages import HEADER_TOO_LARGE
from .parse import (
    HTTP_10,
    HTTP_11,
    HeaderLine,
    RequestError,
    fields,
    header_line_refused,
    lower_name,
    parse_content_length,
    parse_header_line,
    parse_request_line,
    request_line_refused,
)
from .request import Request, validate_host
from .uri import BadTargetError, Target, parse_target

_URI_TOO_LARGE: Final = 414
_NOT_ALLOWED: Final = 405
_NOT_IMPLEMENTED: Final = 501


@dataclass(frozen=True, slots=True)
class HeadLimits:
    """A server's settings for reading request heads, with nginx's defaults."""

    buffer_size: int = 1024  # client_header_buffer_size (the default server's applies)
    large_buffers: int = 4  # large_client_header_buffers: how many
    large_buffer_size: int = 8192  # and how large
    underscores: bool = False  # underscores_in_headers
    ignore_invalid: bool = True  # ignore_invalid_headers
    max_headers: int = 1000  # max_headers (Debian's nginx)


# what nginx does with a header line by its lower-case name (ngx_http_headers_in)
_HOST, _UNIQUE, _CONNECTION, _UPGRADE = range(4)
_HANDLED: Final = {
    b"host": _HOST,
    b"connection": _CONNECTION,
    b"upgrade": _UPGRADE,
    **dict.fromkeys(
        (
            b"content-length",
            b"transfer-encoding",
            b"expect",
            b"authorization",
            b"if-modified-since",
            b"if-unmodified-since",
            b"if-match",
            b"if-none-match",
            b"content-range",
            b"if-range",
        ),
        _UNIQUE,
    ),
}
_CLOSE, _KEEP_ALIVE = 1, 2  # nginx's connection_type
_REFUSED_METHODS: Final = frozenset({b"CONNECT", b"TRACE"})  # 405 ("client sent CONNECT method")
_USUAL_REQUEST_LINE: Final = re.compile(rb"([A-Z_-]+) (/[^\x00-\x20\x7f]*) (HTTP/1\.([0-9]{1,3}))")
# usual request lines read lately, by their bytes (emptied when full): clients send the same lines again
# and again, and the pattern's match costs ten times the lookup
_USUAL_LINES: Final[dict[bytes, tuple[bytes, bytes, bytes, int]]] = {}
_USUAL_LINES_KEPT: Final = 256
_USUAL_LINE_SIZE: Final = 256  # longer lines are matched each time


def _usual_request_line(line: bytes) -> tuple[bytes, bytes, bytes, int] | None:
    """The method, the target, the protocol and the minor version of a usual request line, else None."""
    found = _USUAL_LINES.get(line)
    if found is not None:
        return found
    usual = _USUAL_REQUEST_LINE.fullmatch(line)
    if usual is None:
        return None
    method, uri, protocol, minor = usual.groups()
    found = (method, uri, protocol, int(minor))
    if len(line) <= _USUAL_LINE_SIZE:
        keep(_USUAL_LINES, line, found, _USUAL_LINES_KEPT)
    return found


@dataclass(frozen=True, slots=True)
class BufferLayout:
    """Where a request's head starts in nginx's header buffers: `offset` into a buffer of `size`, a
    large one or not (a large one counts against `large_client_header_buffers`)."""

    offset: int
    size: int
    large: bool


# what a HeadReader sets as it reads
_READ: Final = (
    "line",
    "method",
    "uri",
    "http_version",
    "protocol",
    "target",
    "absolute",
    "length",
    "host",
    "host_header",
    "content_length",
    "chunked",
    "keep_alive",
    "upgrade",
    "expect_continue",
    "_content_length",
    "_transfer_encoding",
    "_expect",
    "_connection",
    "_unique",
)


class HeadReader:
    """One request head. `feed` reads bytes as they come; what was read stays readable after a
    RequestError, for the log line of the refused request (`line`, `headers`, `length`).

    What it found is in its attributes (those of request.Head once the head is whole); the defaults
    are the class's, so that a head sets only what it has."""

    # the request line
    line = b""  # as sent, or as far as it was read (nginx's $request, even when refused)
    method = b""
    uri = b""  # from the path on ($request_uri)
    http_version = 0  # 0 until the request line is read
    protocol = b""
    target: Target | None = None
    absolute: bytes | None = None  # an absolute-form target's host
    # the headers
    headers: list[tuple[bytes, bytes]]
    length = 0
    host = ""  # the host that chose the server: the request line's, else Host's
    host_header: bytes | None = None
    content_length: int | None = None
    chunked = False
    keep_alive = False
    upgrade = False
    expect_continue = False
    _content_length: bytes | None = None
    _transfer_encoding: bytes | None = None
    _expect: bytes | None = None
    _connection = 0
    _unique: set[bytes] | None = None
    # nginx's header buffers
    _buffer_start = 0  # where the current one starts and ends, in positions of the head's buffers
    _large = False
    _busy = 0
    _partial = b""  # the line under way, not yet ended by a LF

    def __init__(
        self,
        limits: HeadLimits,
        select: Callable[[str], HeadLimits] | None,
        started: float,
        layout: BufferLayout | None = None,
    ) -> None:
        """`limits`: the default server's; `select(host)`: the settings of the server a host chooses
        (None: the same for every host). `layout`: where the head starts in nginx's header buffers when
        it was pipelined after another (None: at the start of a new buffer of `limits.buffer_size`)."""
        self._limits = self._default_limits = limits
        self._select = select
        self.started = started
        self.headers = []
        if layout is None:
            self._window_end = limits.buffer_size
            self._line_start = 0  # where the line under way starts
        else:
            self._window_end = layout.size
            self._line_start = layout.offset
            if layout.large:
                self._large = True
                self._busy = 1

    def _start_over(self) -> None:
        """Forget what the quick way read of the head (it is read again line by line): the defaults a
        new reader has (taken from one rather than from the class: compiled, the class holds none)."""
        new = HeadReader(self._default_limits, self._select, self.started)
        for name in _READ:
            setattr(self, name, getattr(new, name))
        self._limits = self._default_limits
        self.headers = []

    def pipelined(self, body: int) -> BufferLayout | None:
        """Where a request read right after this one (and `body` bytes of its body) starts in nginx's
        buffers: in the same buffer when it began there, else in a new one (None)."""
        start = self._line_start + body
        if start >= self._window_end:
            return None
        return BufferLayout(start - self._buffer_start, self._window_end - self._buffer_start, self._large)

    def feed(self, data: bytes, pos: int) -> int:
        """Read data[pos:]; returns the position after the head once it is whole (the request is then
        `request()`), or -1 when everything was read and more is needed. Raises RequestError."""
        if not self.http_version and not self._partial:
            end = self._whole_head(data, pos)
            if end >= 0:
                return end
        length = len(data)
        while pos < length:
            end = data.find(b"\n", pos)
            if end < 0:
                self._read_partial(data[pos:])
                return -1
            line = data[pos:end]
            if self._partial:
                line, self._partial = self._partial + line, b""
            pos = end + 1
            if self._line(line):
                return pos
        return -1

    def _whole_head(self, data: bytes, pos: int) -> int:
        """The usual head, read the quick way: whole in `data` and within the current header buffer, a
        request line `METHOD /target HTTP/1.x`, header lines as `parse.fields` reads them, no more than
        `max_headers`. Returns the position after it, or -1 to read it line by line (also where nginx
        refuses it: that way knows at which line, for the log)."""
        end = data.find(b"\r\n\r\n", pos)
        if end < 0 or end + 4 - pos > self._window_end - self._line_start:
            return -1
        eol = data.find(b"\r\n", pos)
        line = data[pos:eol]
        usual = _usual_request_line(line)
        if usual is None:
            return -1
        limits = self._limits
        headers = fields(data, eol + 2, end + 2, underscores=limits.underscores)
        if headers is None or len(headers) > limits.max_headers:
            return -1
        self.method, self.uri, self.protocol, minor = usual
        self.http_version = HTTP_10 + minor
        self.line = line
        self.headers = headers
        self.length = end + 4 - pos
        try:
            self.target = parse_target(self.uri)
            for name, value in headers:
                kind = _HANDLED.get(lower_name(name))
                if kind is not None:
                    self._handled(kind, name, value)
            self._check_head()
        except (BadTargetError, RequestError):
            self._start_over()
            return -1
        self._line_start += end + 4 - pos
        return end + 4

    def _line(self, line: bytes) -> bool:
        """A line ended by a LF (not included); True when it ended the head."""
        start = self._line_start
        end = start + len(line) + 1  # the position after the LF
        self._line_start = end
        if not self.http_version:
            stripped = line.lstrip(b"\r")
            if not stripped:  # CRs and LFs before the request line are skipped, as nginx does
                self._fit(start, end, empty=True)
                return False
            start += len(line) - len(stripped)
            self.line = stripped[:-1] if stripped.endswith(b"\r") else stripped
            self._fit(start, end)
            return self._request_line(stripped, end - start)
        self._fit(start, end)
        if not line or line == b"\r":
            self.length += end - start
            self._check_head()
            return True
        self._header(parse_header_line(line.rstrip(b"\r"), underscores=self._limits.underscores), end - start)
        return False

    def _read_partial(self, piece: bytes) -> None:
        """The start of a line: its bytes count against the buffers at once, as in nginx."""
        partial = self._partial + piece
        start = self._line_start
        if not self.http_version:
            stripped = partial.lstrip(b"\r")
            if not stripped:
                self._line_start += len(partial)  # skipped: nothing of it needs keeping
                self._fit(start, self._line_start, empty=True, whole=False)
                return
            start += len(partial) - len(stripped)
            self.line = stripped.partition(b"\r")[0]
            refused = request_line_refused(stripped)
            if refused:
                raise RequestError(refused)
        elif header_line_refused(partial):
            raise RequestError(400)
        self._partial = partial
        self._fit(start, self._line_start + len(partial), whole=False)

    # -- nginx's header buffers

    def _fit(self, start: int, end: int, *, empty: bool = False, whole: bool = True) -> None:
        """The line [start, end) (with its LF when `whole`) in nginx's header buffers: when the current
        one is full before the line ends, a large buffer takes the line (the part read is copied), or
        the next lines when the line ended the buffer; CRs and LFs alone before the request line just
        empty the buffer."""
        while end > self._window_end or (not whole and end == self._window_end):
            size = self._limits.large_buffer_size
            if empty or (start >= self._window_end and not self.http_version):
                current = self._window_end - self._buffer_start
                self._buffer_start = self._window_end
                self._window_end += current
                continue
            if start >= self._window_end:
                self._take_large_buffer()
                self._buffer_start = self._window_end
                self._window_end += size
                continue
            if self._window_end - start >= size:
                self._refuse_large()
            self._take_large_buffer()
            self._buffer_start = start
            self._window_end = start + size

    def _take_large_buffer(self) -> None:
        if self._busy >= self._limits.large_buffers:
            self._refuse_large()
        self._busy += 1
        self._large = True

    def _refuse_large(self) -> None:
        if not self.http_version:
            # "client sent too long URI": nginx logs what its buffer holds of the request line
            self.line = self.line[: self._limits.large_buffer_size]
            raise RequestError(_URI_TOO_LARGE)
        raise RequestError(HEADER_TOO_LARGE)  # "client sent too long header line"

    # -- the lines

    def _request_line(self, line: bytes, size: int) -> bool:
        request_line = parse_request_line(line)
        self.line = request_line.line
        self.method = request_line.method
        self.uri = request_line.uri
        self.http_version = request_line.http_version
        self.protocol = request_line.protocol
        self.absolute = request_line.host
        self.length = size
        try:
            self.target = parse_target(request_line.uri)
        except BadTargetError as exc:
            raise RequestError(400) from exc  # ngx_http_parse_complex_uri: `..` above the root...
        if self.absolute is not None:
            self.host = _host(self.absolute)
            if self._select is not None:
                self._limits = self._select(self.host)
        return self.http_version < HTTP_10  # HTTP/0.9: no headers

    def _header(self, header: HeaderLine, size: int) -> None:
        """A header line of `size` bytes, read: dropped when its name is invalid and invalid headers are
        ignored; else kept, and handled as nginx handles the names it knows."""
        self.length += size
        limits = self._limits
        if not header.valid and limits.ignore_invalid:
            return
        if len(self.headers) >= limits.max_headers:
            raise RequestError(HEADER_TOO_LARGE)  # "client sent too many header lines"
        name, value = header.name, header.value
        self.headers.append((name, value))
        if header.valid:
            kind = _HANDLED.get(lower_name(name))
            if kind is not None:
                self._handled(kind, name, value)

    def _handled(self, kind: int, name: bytes, value: bytes) -> None:
        if kind == _HOST:
            if self.host_header is not None:
                raise RequestError(400)  # "client sent duplicate host header"
            self.host_header = value
            host = _host(value)
            if self.absolute is None:
                self.host = host
                if self._select is not None:
                    self._limits = self._select(host)
        elif kind == _UNIQUE:
            self._unique_header(name.lower(), value)
        elif kind == _CONNECTION:
            lower = value.lower()
            if lower.find(b"close") >= 0:
                self._connection = _CLOSE
            elif lower.find(b"keep-alive") >= 0:
                self._connection = _KEEP_ALIVE
        else:
            self.upgrade = True

    def _unique_header(self, lower: bytes, value: bytes) -> None:
        unique = self._unique
        if unique is None:
            unique = self._unique = set()
        elif lower in unique:
            raise RequestError(400)  # "client sent duplicate header line"
        unique.add(lower)
        if lower == b"content-length":
            self._content_length = value
        elif lower == b"transfer-encoding":
            self._transfer_encoding = value
        elif lower == b"expect":
            self._expect = value

    def _check_head(self) -> None:
        """ngx_http_process_request_header, and what the request then is."""
        version = self.http_version
        if self.host_header is None and version > HTTP_10:
            raise RequestError(400)  # "client sent HTTP/1.1 request without "Host" header"
        if self._content_length is not None:
            self.content_length = parse_content_length(self._content_length)
            if self.content_length < 0:
                raise RequestError(400)  # "client sent invalid "Content-Length" header"
        if self._transfer_encoding is not None:
            if version < HTTP_11:
                raise RequestError(400)  # "client sent HTTP/1.0 request with "Transfer-Encoding" header"
            if self._transfer_encoding.lower() != b"chunked":
                raise RequestError(_NOT_IMPLEMENTED)  # "client sent unknown "Transfer-Encoding""
            if self._content_length is not None:
                raise RequestError(400)  # "... "Content-Length" and "Transfer-Encoding" ..."
            self.chunked = True
        if self.method in _REFUSED_METHODS:
            raise RequestError(_NOT_ALLOWED)
        connection = self._connection
        self.keep_alive = connection == _KEEP_ALIVE or (connection == 0 and version > HTTP_10)
        if self._expect is not None and version >= HTTP_11:
            self.expect_continue = self._expect.lower() == b"100-continue"

    def request(self) -> Request:
        """The request whose head was read whole."""
        return Request(self)

    def refused(self) -> Request:
        """What stands for a request refused while its head was read, for its log line: its request
        line as far as it was read, the headers before the refused one, the bytes counted so far."""
        return Request.refused(self)


def _host(raw: bytes) -> str:
    """A Host header's or an absolute target's host, checked: the server is chosen by it."""
    host = validate_host(raw)
    if host is None:
        raise RequestError(400)  # "client sent invalid host header" (or "... host in request line")
    return host


class LengthBody:
    """A body of `Content-Length` bytes; the same interface as parse.ChunkedBody."""

    __slots__ = ("consumed", "done", "left")

    def __init__(self, length: int) -> None:
        self.left = length
        self.consumed = 0
        self.done = length == 0

    def feed(self, data: bytes, pos: int, out: list[bytes]) -> int:
        take = min(self.left, len(data) - pos)
        if take:
            out.append(data[pos : pos + take] if pos or take < len(data) else data)
            self.left -= take
            self.consumed += take
            self.done = not self.left
        return pos + take
