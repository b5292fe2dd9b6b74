"""The responses hapair makes itself: nginx's error pages and status lines (ngx_http_special_response.c),
with `hapair` where nginx writes `nginx/1.22.1` (the shape of nginx's pages under `server_tokens off`)."""

from __future__ import annotations

SERVER = b"hapair"

# nginx's own status texts (ngx_http_status_lines) for the responses it makes
REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Not Allowed",
    408: "Request Time-out",
    413: "Request Entity Too Large",
    414: "Request-URI Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
    505: "HTTP Version Not Supported",
}
# nginx's internal 494: answered as 400 with its own page
HEADER_TOO_LARGE = 494
# statuses after which nginx does not keep the connection (ngx_http_special_response_handler)
CLOSING = frozenset({400, 408, 413, 414, HEADER_TOO_LARGE, 500, 501, 505})
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def _page(status: int) -> tuple[bytes, bytes]:
    """The status line's text and the body of nginx's page for `status`."""
    if status == HEADER_TOO_LARGE:
        title = "400 Request Header Or Cookie Too Large"
        heading = "400 Bad Request"
        extra = "<center>Request Header Or Cookie Too Large</center>\r\n"
        status_text = "400 Bad Request"
    else:
        title = heading = status_text = f"{status} {REASONS[status]}"
        extra = ""
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{heading}</h1></center>\r\n"
        f"{extra}<hr><center>{SERVER.decode()}</center>\r\n</body>\r\n</html>\r\n"
    )
    return status_text.encode(), body.encode()


_PAGES = {status: _page(status) for status in (*REASONS, HEADER_TOO_LARGE)}


def wire_status(status: int) -> int:
    """The status on the wire and in `$status`: nginx answers and logs its 494 as 400."""
    return 400 if status == HEADER_TOO_LARGE else status


def error_response(status: int, server_date: bytes, *, keep_alive: bool, head_only: bool) -> bytes:
    """The whole response for one of the statuses in `REASONS` (or 494)."""
    status_text, body = _PAGES[status]
    connection = b"keep-alive" if keep_alive else b"close"
    head = b"".join(
        (
            b"HTTP/1.1 ",
            status_text,
            b"\r\n",
            server_date,
            b"Content-Type: text/html\r\nContent-Length: ",
            str(len(body)).encode(),
            b"\r\nConnection: ",
            connection,
            b"\r\n\r\n",
        )
    )
    return head if head_only else head + body


def page_length(status: int) -> int:
    return len(_PAGES[status][1])
