"""A response head as nginx holds it (r->headers_out) and as its header filter writes it.

nginx keeps a few headers apart from the list of the others and writes the head in a fixed order
(ngx_http_header_filter_module.c): the status line, `Server`, `Date`, `Content-Type` (with the charset the
charset filter chose), `Content-Length`, `Last-Modified` (of a file), a `Location` made absolute when it
starts with `/`, `Transfer-Encoding: chunked`, `Connection` (and `Keep-Alive`), `Vary: Accept-Encoding`
(gzip_vary), then the other headers in their order. The filters of the modules (add_header, gzip, ...)
change a `ResponseHead` before it is written; `render` writes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from .clock import http_date

if TYPE_CHECKING:
    from .ranges import BodyParts

# nginx's status lines (ngx_http_status_lines); a status not here is written as "NNN " with no text
STATUS_LINES: Final[dict[int, bytes]] = {
    status: f"{status} {text}".encode()
    for status, text in (
        (200, "OK"),
        (201, "Created"),
        (202, "Accepted"),
        (204, "No Content"),
        (206, "Partial Content"),
        (301, "Moved Permanently"),
        (302, "Moved Temporarily"),
        (303, "See Other"),
        (304, "Not Modified"),
        (307, "Temporary Redirect"),
        (308, "Permanent Redirect"),
        (400, "Bad Request"),
        (401, "Unauthorized"),
        (402, "Payment Required"),
        (403, "Forbidden"),
        (404, "Not Found"),
        (405, "Not Allowed"),
        (406, "Not Acceptable"),
        (408, "Request Time-out"),
        (409, "Conflict"),
        (410, "Gone"),
        (411, "Length Required"),
        (412, "Precondition Failed"),
        (413, "Request Entity Too Large"),
        (414, "Request-URI Too Large"),
        (415, "Unsupported Media Type"),
        (416, "Requested Range Not Satisfiable"),
        (421, "Misdirected Request"),
        (429, "Too Many Requests"),
        (500, "Internal Server Error"),
        (501, "Not Implemented"),
        (502, "Bad Gateway"),
        (503, "Service Temporarily Unavailable"),
        (504, "Gateway Time-out"),
        (505, "HTTP Version Not Supported"),
        (507, "Insufficient Storage"),
    )
}
REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_NO_BODY: Final = frozenset({204, 304})


def status_line(status: int) -> bytes:
    line = STATUS_LINES.get(status)
    return line if line is not None else b"%03d " % status


def find_header_line(headers: Iterable[tuple[bytes, bytes]], lower_name: bytes) -> tuple[bytes, bytes] | None:
    """The first header `lower_name` (given in lower case) in `headers`, its name as written, or None."""
    for item in headers:
        if item[0].lower() == lower_name:
            return item
    return None


def find_header(headers: Iterable[tuple[bytes, bytes]], lower_name: bytes) -> bytes | None:
    """The first value of the header `lower_name` (given in lower case) in `headers`, or None."""
    line = find_header_line(headers, lower_name)
    return line[1] if line is not None else None


class ResponseHead:
    """r->headers_out: `headers` holds the headers nginx writes in their order, `location` the index in it
    of the `Location` header (-1: none), `content_length` -1 when unknown, `last_modified` the time of a
    file (None: no `Last-Modified` of nginx's own; an upstream's stays in `headers`)."""

    __slots__ = (
        "allow_ranges",
        "charset",
        "content_length",
        "content_type",
        "gzip_vary",
        "headers",
        "last_modified",
        "location",
        "ranges",
        "status",
        "status_text",
        "upstream_date",
        "upstream_server",
    )

    def __init__(self, status: int, status_text: bytes | None = None) -> None:
        self.status = status
        self.status_text = status_text  # an upstream's status line ("200 OK"); None: nginx's own
        self.content_type: bytes | None = None
        self.charset: bytes | None = None
        self.content_length = -1
        self.last_modified: int | None = None
        self.location = -1
        self.gzip_vary = False
        self.headers: list[tuple[bytes, bytes]] = []
        self.allow_ranges = False  # r->allow_ranges: the content handler can send any part of the body
        self.ranges: BodyParts | None = None  # the parts the range filter chose (None: the whole body)
        self.upstream_server = False  # `headers` has the upstream's Server (proxy_pass_header): not ours
        self.upstream_date = False  # likewise Date

    def add(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def set_location(self, value: bytes) -> None:
        """The `Location` header, replacing one already there (ngx_http_clear_location)."""
        self.clear_location()
        self.location = len(self.headers)
        self.headers.append((b"Location", value))

    def clear_location(self) -> None:
        if self.location >= 0:
            del self.headers[self.location]
            self.location = -1

    def find(self, lower_name: bytes) -> bytes | None:
        return find_header(self.headers, lower_name)

    def remove(self, lower_name: bytes) -> None:
        """Every header of this name (a `Location` one included)."""
        location = self.headers[self.location] if self.location >= 0 else None
        self.headers = [item for item in self.headers if item[0].lower() != lower_name]
        self.location = (
            -1 if location is None or location not in self.headers else self.headers.index(location)
        )

    @property
    def has_body(self) -> bool:
        """A 101 passed on as a response (the request did not ask to upgrade) keeps the body the
        upstream sent with it, as nginx's."""
        return self.status not in _NO_BODY and (not 100 <= self.status < 200 or self.status == 101)


class Framing:
    """How the head's connection and body are written: decided by the exchange."""

    __slots__ = ("chunked", "connection", "redirect_base")

    def __init__(self, connection: bytes, *, chunked: bool, redirect_base: bytes | None) -> None:
        self.connection = connection  # the `Connection:` line(s), `Keep-Alive:` included
        self.chunked = chunked
        self.redirect_base = redirect_base  # `http://host[:port]` for a relative Location; None: as is


def render(head: ResponseHead, server_date: bytes, framing: Framing) -> bytes:
    """The head as nginx's header filter writes it."""
    status = head.status
    if head.upstream_server or head.upstream_date:
        server_date = _own_lines(server_date, server=not head.upstream_server, date=not head.upstream_date)
    out = [b"HTTP/1.1 ", head.status_text or status_line(status), b"\r\n", server_date]
    if head.content_type:
        out += (b"Content-Type: ", head.content_type)
        if head.charset:
            out += (b"; charset=", head.charset)
        out.append(b"\r\n")
    if head.content_length >= 0:
        out.append(b"Content-Length: %d\r\n" % head.content_length)
    if head.last_modified is not None:
        out += (b"Last-Modified: ", http_date(head.last_modified).encode(), b"\r\n")
    location = head.location
    if location >= 0 and framing.redirect_base is not None:
        value = head.headers[location][1]
        if value.startswith(b"/"):
            out += (b"Location: ", framing.redirect_base, value, b"\r\n")
        else:
            location = -1
    else:
        location = -1
    if framing.chunked:
        out.append(b"Transfer-Encoding: chunked\r\n")
    out.append(framing.connection)
    if head.gzip_vary:
        out.append(b"Vary: Accept-Encoding\r\n")
    for index, (name, value) in enumerate(head.headers):
        if index != location:
            out += (name, b": ", value, b"\r\n")
    out.append(b"\r\n")
    return b"".join(out)


def _own_lines(server_date: bytes, *, server: bool, date: bool) -> bytes:
    """The proxy's `Server` and `Date` lines, less those the upstream's replace."""
    server_line, _, date_line = server_date.partition(b"\r\n")
    return (server_line + b"\r\n" if server else b"") + (date_line if date else b"")
