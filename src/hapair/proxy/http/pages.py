"""The pages nginx writes itself for its special responses (ngx_http_special_response.c): the page of
each status it has one for, with `hapair` where nginx writes `nginx/1.22.1` (nginx's shape under
`server_tokens off`), and the statuses it answers with another (its internal 494-497 are sent as 400).
Checked against nginx 1.22.1's `return CODE;` for every code 200-508."""

from __future__ import annotations

from .response import REDIRECTS, Framing, ResponseHead, render, status_line

SERVER = b"hapair"

# nginx's internal statuses, each answered as 400 with a page of its own
HEADER_TOO_LARGE = 494  # request header or cookie too large
CERT_ERROR = 495
NO_CERT = 496
TO_HTTPS = 497
CANCELED = 498  # answered with 404's page, under its own status
CLOSED = 499  # the client went away: nothing is sent
_INTERNAL = {
    HEADER_TOO_LARGE: "Request Header Or Cookie Too Large",
    CERT_ERROR: "The SSL certificate error",
    NO_CERT: "No required SSL certificate was sent",
    TO_HTTPS: "The plain HTTP request was sent to HTTPS port",
}
# where a page's title is not the status line's text
_PAGE_TITLES = {302: "302 Found", 401: "401 Authorization Required"}
# the statuses nginx has a page for
_PAGED = frozenset(
    {
        *REDIRECTS - {304},
        *range(400, 417),
        421,
        429,
        500,
        501,
        502,
        503,
        504,
        505,
        507,
    }
) - {407}
# statuses after which nginx does not keep the connection (ngx_http_special_response_handler)
CLOSING = frozenset({400, 413, 414, TO_HTTPS, CERT_ERROR, NO_CERT, 500, 501})
# statuses nginx answers by closing the connection, without a response
NO_RESPONSE = frozenset({408, 444, CLOSED})
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def wire_status(status: int) -> int:
    """The status the client sees for `status`."""
    return 400 if status in _INTERNAL else status


def _page(status: int, server: bytes) -> bytes:
    tail = b"<hr><center>" + server + b"</center>\r\n</body>\r\n</html>\r\n"
    if status in _INTERNAL:
        text = _INTERNAL[status]
        return (
            f"<html>\r\n<head><title>400 {text}</title></head>\r\n<body>\r\n"
            f"<center><h1>400 Bad Request</h1></center>\r\n<center>{text}</center>\r\n"
        ).encode() + tail
    line = _PAGE_TITLES.get(status) or status_line(404 if status == CANCELED else status).decode()
    return (
        f"<html>\r\n<head><title>{line}</title></head>\r\n<body>\r\n<center><h1>{line}</h1></center>\r\n"
    ).encode() + tail


_PAGES = {status: _page(status, SERVER) for status in (*_PAGED, *_INTERNAL, CANCELED)}
# MSIE and Chrome show their own page for a short error page: nginx pads its pages for them (msie_padding)
MSIE_PADDING = b"<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n" * 6


def page(status: int) -> bytes | None:
    """nginx's page for `status`, or None when it sends no body."""
    return _PAGES.get(status)


def page_length(status: int) -> int:
    found = _PAGES.get(status)
    return 0 if found is None else len(found)


def rejection(status: int, server_date: bytes) -> bytes:
    """The whole answer to a request refused before its head was read (the connection closes after it)."""
    body = page(status) or b""
    head = ResponseHead(wire_status(status))
    head.content_type = b"text/html" if body else None
    head.content_length = len(body)
    return (
        render(head, server_date, Framing(b"Connection: close\r\n", chunked=False, redirect_base=None)) + body
    )
