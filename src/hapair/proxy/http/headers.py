"""The request head sent upstream (ngx_http_proxy_create_request): the request line with `proxy_method`
and `proxy_http_version`, the `proxy_set_header` headers in force (a header whose value is empty is not
sent), then the client's headers that none of those names (unless `proxy_pass_request_headers off`).

nginx's default headers (the model's list ends with the ones `proxy_set_header` did not override) are
handled by hapair as follows, so that upstream connections can be kept and reused:

- `Host: $proxy_host` as nginx;
- `Connection: close` is replaced: nothing for HTTP/1.1 (keep-alive is HTTP/1.1's default),
  `Connection: keep-alive` for HTTP/1.0;
- the client's `Upgrade` and `Connection` are not sent, as nginx's (a WebSocket request is a plain GET
  upstream unless `proxy_set_header Upgrade $http_upgrade` and `Connection "upgrade"` are configured,
  with `proxy_http_version 1.1`);
- `Content-Length` and `Transfer-Encoding` frame the body as hapair sends it (a `proxy_set_header` of
  either is ignored: hapair frames bodies itself);
- `TE`, `Keep-Alive` and `Expect` are not sent (hapair answers `Expect: 100-continue` itself).

A `proxy_set_header` line identical to one of nginx's defaults and placed last cannot be told from the
default in the model; it is taken as the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Final

from hapair.config.nginx.model.http import DEFAULT_PROXY_HEADERS, Header, Proxy

from .parse import lower_name
from .variables import CompiledTemplate

if TYPE_CHECKING:
    from .exchange import Exchange

_DEFAULTS: Final = {(name.lower(), value) for name, value in DEFAULT_PROXY_HEADERS}
_FRAMING: Final = frozenset({b"content-length", b"transfer-encoding"})


class BodyFraming(Enum):
    """How the request body goes upstream."""

    NONE = "none"
    LENGTH = "content-length"  # the client's length, or the length of a chunked body read whole
    CHUNKED = "chunked"  # a chunked body streamed to an HTTP/1.1 upstream


@dataclass(frozen=True, slots=True)
class _SetHeader:
    """A `proxy_set_header` line: `line` is the whole line when its value has no variables, else
    `prefix` (`Name: `) comes before the evaluated value."""

    line: bytes | None
    prefix: bytes
    value: CompiledTemplate


def _set_header(header: Header) -> _SetHeader:
    name = header.name.encode("latin-1")
    value = CompiledTemplate(header.value)
    constant = value.constant
    line = None if constant is None else name + b": " + constant.encode("latin-1") + b"\r\n"
    return _SetHeader(line, name + b": ", value)


def split_defaults(headers: tuple[Header, ...]) -> tuple[tuple[Header, ...], frozenset[str]]:
    """The headers `proxy_set_header` set, and the lower-case names of nginx's defaults left in force."""
    end = len(headers)
    seen: set[str] = set()
    while end > 0:
        header = headers[end - 1]
        key = header.name.lower()
        if (key, header.value.source) not in _DEFAULTS or key in seen:
            break
        seen.add(key)
        end -= 1
    return headers[:end], frozenset(seen)


def _host_line(proxy_host: str) -> bytes:
    """The Host line nginx's default `proxy_set_header Host $proxy_host` sends."""
    return b"Host: " + proxy_host.encode("latin-1") + b"\r\n"


class RequestHead:
    """What one location sends upstream, made ready once."""

    __slots__ = (
        "_host",
        "_keep_alive",
        "_method",
        "_pass_headers",
        "_set",
        "_skip",
        "_version",
        "http11",
    )

    def __init__(
        self,
        http11: bool,
        *,
        set_headers: tuple[_SetHeader, ...],
        host: bytes,
        keep_alive: bytes,
        skip: frozenset[bytes],
        method: CompiledTemplate | None,
        pass_headers: bool,
    ) -> None:
        """The head's parts, made ready (`of` makes them from the settings)."""
        self.http11 = http11
        self._version = b" HTTP/1.1\r\n" if http11 else b" HTTP/1.0\r\n"
        self._set = set_headers
        self._host = host
        self._keep_alive = keep_alive
        self._skip = skip
        self._method = method
        self._pass_headers = pass_headers

    @classmethod
    def of(cls, proxy: Proxy, proxy_host: str) -> RequestHead:
        configured, defaults = split_defaults(proxy.headers)
        http11 = proxy.http_version == "1.1"
        set_headers = tuple(
            entry
            for entry in map(_set_header, configured)
            if entry.value.constant != ""  # an empty value: the header is not sent
            and entry.prefix[:-2].lower() not in _FRAMING
        )
        host = _host_line(proxy_host) if "host" in defaults else b""
        keep_alive = b"Connection: keep-alive\r\n" if "connection" in defaults and not http11 else b""
        names = {header.name.lower().encode("latin-1") for header in proxy.headers}
        skip = frozenset(names | _FRAMING | {b"host", b"connection", b"upgrade", b"te", b"keep-alive"})
        method = CompiledTemplate(proxy.method) if proxy.method is not None else None
        return cls(
            http11,
            set_headers=set_headers,
            host=host,
            keep_alive=keep_alive,
            skip=skip,
            method=method,
            pass_headers=proxy.pass_request_headers,
        )

    def for_host(self, proxy_host: str) -> RequestHead:
        """The same head with another `$proxy_host` (a `proxy_pass` with variables makes it per request)."""
        host = _host_line(proxy_host) if self._host else b""
        return RequestHead(
            self.http11,
            set_headers=self._set,
            host=host,
            keep_alive=self._keep_alive,
            skip=self._skip,
            method=self._method,
            pass_headers=self._pass_headers,
        )

    def method(self, ex: Exchange) -> bytes:
        """The method of the request line: `proxy_method`'s, else the request's."""
        if self._method is None:
            return ex.method
        return self._method.evaluate(ex).encode("latin-1")

    def build(self, ex: Exchange, method: bytes, uri: bytes, framing: BodyFraming, length: int) -> bytes:
        request = ex.request
        out = [method, b" ", uri, self._version, self._host]
        for header in self._set:
            line = header.line
            if line is not None:
                out.append(line)
                continue
            value = header.value.evaluate_bytes(ex)
            if value:
                # appended one by one: `out += (...)` makes a tuple and extends the list by it
                out.append(header.prefix)
                out.append(value)
                out.append(b"\r\n")
        out.append(self._keep_alive)
        if framing is BodyFraming.LENGTH:
            out.append(b"Content-Length: %d\r\n" % length)
        elif framing is BodyFraming.CHUNKED:
            out.append(b"Transfer-Encoding: chunked\r\n")
        if self._pass_headers:
            skip = self._skip
            for name, value in request.headers:
                if lower_name(name) not in skip:
                    out.append(name)
                    out.append(b": ")
                    out.append(value)
                    out.append(b"\r\n")
        out.append(b"\r\n")
        return b"".join(out)
