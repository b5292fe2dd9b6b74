"""A client's request once its head is read (reading.py reads it as nginx does): what the proxy needs of
it, and nginx's check of a host (ngx_http_validate_host)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

from .memo import keep
from .parse import HTTP_09, HTTP_10, HTTP_11, RequestError
from .uri import Target

if TYPE_CHECKING:
    from .reading import HeadReader

IDEMPOTENT: Final = frozenset({b"GET", b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"TRACE"})

__all__ = ["HTTP_09", "HTTP_10", "HTTP_11", "IDEMPOTENT", "Head", "Request", "RequestError", "validate_host"]


class Head(Protocol):
    """What a head read whole gives its Request (reading.HeadReader; an HTTP/2 header list's). Request
    takes a `HeadReader | Head`: the union lets the compiled code read a HeadReader's fields at their
    offsets (a protocol's are looked up by name, 16 a request) without naming an HTTP/2 class (compiled
    in a group of its own, which a worker without http2 listeners does not load)."""

    line: bytes
    method: bytes
    uri: bytes
    http_version: int
    protocol: bytes
    target: Target | None
    headers: list[tuple[bytes, bytes]]
    host: str
    host_header: bytes | None
    content_length: int | None
    chunked: bool
    keep_alive: bool
    upgrade: bool
    expect_continue: bool
    length: int
    started: float


class Request:
    """The head of one request, and what was derived from it."""

    __slots__ = (
        "_by_variable",
        "_head",
        "_refused",
        "chunked",
        "content_length",
        "expect_continue",
        "head_length",
        "headers",
        "host",
        "host_header",
        "http_version",
        "keep_alive",
        "line",
        "method",
        "protocol",
        "raw_target",
        "started",
        "target",
        "upgrade",
    )

    def __init__(self, head: HeadReader | Head) -> None:
        self.line: bytes = head.line  # $request
        self.method: bytes = head.method
        self.raw_target: bytes = head.uri  # $request_uri: from the path on
        self.http_version: int = head.http_version  # nginx's: major * 1000 + minor
        self.protocol: bytes = head.protocol  # $server_protocol: "HTTP/1.1" as sent, "" for HTTP/0.9
        self.target: Target = head.target or _ROOT
        self.headers: list[tuple[bytes, bytes]] = head.headers
        self.host: str = head.host  # lower case, without port or trailing dot; "" when there was none
        self.host_header: bytes | None = head.host_header
        self.content_length: int | None = head.content_length
        self.chunked: bool = head.chunked
        self.keep_alive: bool = head.keep_alive
        self.upgrade: bool = head.upgrade  # an Upgrade header: a 101 from upstream makes a tunnel
        self.expect_continue: bool = head.expect_continue  # `Expect: 100-continue` in HTTP/1.1: a 100
        self.head_length: int = head.length
        self.started: float = head.started
        self._by_variable: dict[bytes, list[bytes]] | None = None
        self._head = head
        self._refused = False

    def again(self) -> Request:
        """The same request made again from its head, as it was made (a subrequest's start: compiled, a
        Request cannot be copied with copy.copy): refused again if it was."""
        return Request.refused(self._head) if self._refused else Request(self._head)

    @classmethod
    def refused(cls, head: HeadReader | Head) -> Request:
        """What stands for a request refused before its head was read whole (for its log line): its
        request line as far as it was read, the headers read before, as plain HTTP/1.1."""
        request = cls(head)
        request.http_version = HTTP_11
        request.raw_target = b""
        request.content_length = None
        request.chunked = request.keep_alive = request.expect_continue = request.upgrade = False
        request.host = ""
        request._refused = True
        return request

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.content_length)

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT

    def header_values(self, variable: str) -> list[bytes]:
        """The values of the headers `$http_<variable>` names (`user_agent` for User-Agent and
        User_Agent: nginx lowers A to Z only and reads `-` as `_`)."""
        return self.values_of(variable.encode("latin-1")) or []

    def values_of(self, key: bytes) -> list[bytes] | None:
        """`header_values` of a variable's suffix already encoded; None for none (no list made)."""
        by_variable = self._by_variable
        if by_variable is None:
            by_variable = self._by_variable = {}
            for name, value in self.headers:
                variable = name.translate(_VARIABLE_NAME)
                values = by_variable.get(variable)
                if values is None:
                    by_variable[variable] = [value]
                else:
                    values.append(value)
        return by_variable.get(key)


_VARIABLE_NAME: Final = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ-", b"abcdefghijklmnopqrstuvwxyz_")
_ROOT: Final = Target("/", None, "/")


# hosts validated lately (emptied when full), and what stands for a host not among them (a control
# cannot be in a valid one)
_VALIDATED: Final[dict[bytes, str | None]] = {}
_VALIDATED_KEPT: Final = 256
_UNSEEN: Final = "\x00"


def validate_host(raw: bytes) -> str | None:
    """ngx_http_validate_host: lower case, the port and a trailing dot dropped; None (nginx answers 400)
    when it is empty or has `..`, `/`, a control, a space or DEL. Cached: a server sees the same few
    hosts (a dictionary's lookup, where an lru_cache's call cost four)."""
    host = _VALIDATED.get(raw, _UNSEEN)
    if host is _UNSEEN:
        host = _validate_host(raw)
        keep(_VALIDATED, raw, host, _VALIDATED_KEPT)
    return host


def _validate_host(raw: bytes) -> str | None:
    host_end = len(raw)
    literal = False
    previous_dot = False
    for index, byte in enumerate(raw):
        if byte == 0x2E:  # .
            if previous_dot:
                return None
            previous_dot = True
            continue
        previous_dot = False
        if byte == 0x3A:  # :
            if host_end == len(raw) and not literal:
                host_end = index
        elif byte == 0x5B:  # [
            literal = literal or index == 0
        elif byte == 0x5D:  # ]
            if literal and host_end == len(raw):
                host_end = index + 1
                literal = False
        elif byte == 0x2F or byte <= 0x20 or byte == 0x7F:
            return None
    host = raw[:host_end]
    if host.endswith(b"."):
        host = host[:-1]
    if not host:
        return None
    return host.lower().decode("latin-1")
