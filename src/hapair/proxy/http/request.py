"""A client's request once its head is read: what the proxy needs of its headers, checked as nginx
checks them (ngx_http_process_request_header)."""

from __future__ import annotations

from functools import lru_cache

from .uri import BadTargetError, Target, authority, parse_target

_HOST = b"host"
_CONTENT_LENGTH = b"content-length"
_TRANSFER_ENCODING = b"transfer-encoding"
_EXPECT = b"expect"
_UPGRADE = b"upgrade"
_CONNECTION = b"connection"
IDEMPOTENT = frozenset({b"GET", b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"TRACE"})


class RequestError(Exception):
    """The request gets nginx's answer `status` and its connection is closed."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Request:
    """The head of one request, and what was derived from it."""

    __slots__ = (
        "_by_variable",
        "chunked",
        "content_length",
        "expect_continue",
        "head_length",
        "headers",
        "host",
        "host_header",
        "keep_alive",
        "method",
        "raw_target",
        "started",
        "target",
        "upgrade",
        "version",
    )

    def __init__(
        self,
        method: bytes,
        raw_target: bytes,
        version: str,
        headers: list[tuple[bytes, bytes]],
        *,
        keep_alive: bool,
        head_length: int,
        started: float,
    ) -> None:
        self.method = method
        self.raw_target = raw_target
        self.version = version
        self.headers = headers
        self.keep_alive = keep_alive
        self.head_length = head_length
        self.started = started
        self.host_header: bytes | None = None
        self.content_length: int | None = None
        self.chunked = False
        self.expect_continue = False
        self.upgrade = False
        self.host = ""
        self.target: Target = _ROOT
        self._by_variable: dict[str, list[bytes]] | None = None
        self._check_headers()

    def _check_headers(self) -> None:
        upgrade = connection_upgrade = False
        for name, value in self.headers:
            lower = name.lower()
            if lower == _HOST:
                if self.host_header is not None:
                    raise RequestError(400)  # "client sent duplicate host header"
                self.host_header = value
            elif lower == _CONTENT_LENGTH:
                # llhttp has checked it is a number and not repeated
                self.content_length = int(value)
            elif lower == _TRANSFER_ENCODING:
                self._check_transfer_encoding(value)
            elif lower == _EXPECT:
                self.expect_continue = value.lower() == b"100-continue" and self.version == "1.1"
            elif lower == _UPGRADE:
                upgrade = True
            elif lower == _CONNECTION:
                connection_upgrade = connection_upgrade or b"upgrade" in value.lower()
        self.upgrade = upgrade and connection_upgrade and self.version == "1.1"
        if self.version == "1.1" and self.host_header is None:
            raise RequestError(400)
        try:
            self.target = parse_target(self.raw_target)
        except BadTargetError as exc:
            raise RequestError(400) from exc
        self.host = self._host()

    def _check_transfer_encoding(self, value: bytes) -> None:
        if self.version == "1.0":
            raise RequestError(400)  # nginx: "client sent HTTP/1.0 request with Transfer-Encoding"
        if value.strip().lower() != b"chunked":
            raise RequestError(501)  # nginx: "client sent unknown Transfer-Encoding"
        self.chunked = True

    def _host(self) -> str:
        """$host without the server's name: the request line's host, else the Host header; lower case,
        without port or trailing dot. nginx answers 400 to a malformed one."""
        from_line = authority(self.raw_target) if not self.raw_target.startswith(b"/") else None
        raw = from_line if from_line is not None else (self.host_header or b"").decode("latin-1")
        return validate_host(raw)

    @classmethod
    def unparsed(cls, started: float) -> Request:
        """What stands for a request refused before its head was read whole (for its log line)."""
        request = cls.__new__(cls)
        request.method = request.raw_target = b""
        request.version = "1.1"
        request.headers = []
        request.keep_alive = False
        request.head_length = 0
        request.started = started
        request.host_header = request.content_length = None
        request.chunked = request.expect_continue = request.upgrade = False
        request.host = ""
        request.target = _ROOT
        request._by_variable = None
        return request

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.content_length)

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT

    def header_values(self, variable: str) -> list[bytes]:
        """The values of the headers `$http_<variable>` names (`user_agent` for User-Agent)."""
        if self._by_variable is None:
            by_variable: dict[str, list[bytes]] = {}
            for name, value in self.headers:
                key = name.decode("latin-1").lower().replace("-", "_")
                by_variable.setdefault(key, []).append(value)
            self._by_variable = by_variable
        return self._by_variable.get(variable, [])


_ROOT = Target("/", None, "/")


@lru_cache(maxsize=256)
def validate_host(raw: str) -> str:
    """ngx_http_validate_host: lower case, the port and a trailing dot dropped; `/`, `\\`, NUL, `..`
    or an unclosed `[` make it invalid (400). Cached: a server sees the same few hosts."""
    host = raw.lower()
    if not host:
        return ""
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            raise RequestError(400)
        return host[: end + 1]
    if "/" in host or "\\" in host or "\x00" in host or ".." in host:
        raise RequestError(400)
    host = host.partition(":")[0]
    return host[:-1] if host.endswith(".") else host
