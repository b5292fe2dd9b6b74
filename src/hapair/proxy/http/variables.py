"""The values of nginx's variables for one proxied request, and templates (`proxy_set_header` values,
`access_log ... if=`) made ready to evaluate.

`resolver(name)` gives the getter of a variable's value from an exchange (found once per name): the value,
or None where nginx's variable is "not found" (a header the request did not have, `$args` without a
query, `$upstream_*` of a request no upstream saw...).
Values are `str` with one character per byte (latin-1). Where hapair's value differs from nginx's:
`$nginx_version` is nginx's version that hapair follows; `$sent_http_NAME` looks at the upstream
response's headers and the ones hapair adds (`Server`, `Date`, `Connection`, `Transfer-Encoding`);
`$request_id` is 32 random hex digits as nginx's, made when first asked for.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Callable
from time import time
from typing import TYPE_CHECKING, Final

from hapair.config.nginx.model.templates import Capture, Literal, Template, Variable
from hapair.config.nginx.model.upstream import Balancing

from ..logformat import ByteValue as LogValue
from ..logformat import TextValue
from .clock import ssi_date, time_iso8601, time_local
from .credentials import basic_credentials
from .gzip import gzip_ratio
from .limit_statuses import LIMIT_CONN_STATUSES, LIMIT_REQ_STATUSES

if TYPE_CHECKING:
    from .exchange import Exchange

NGINX_VERSION: Final = "1.22.1"
_HOSTNAME = socket.gethostname()


def _header(ex: Exchange, variable: str) -> str | None:
    values = ex.request.header_values(variable)
    if not values:
        return None
    if variable == "cookie":
        return b"; ".join(values).decode("latin-1")
    if variable == "x_forwarded_for":
        return b", ".join(values).decode("latin-1")
    return values[0].decode("latin-1")


def _http_host(ex: Exchange) -> str | None:
    """`$http_host` without looking through the headers: the request keeps its (single) Host."""
    host = ex.request.host_header
    return None if host is None else host.decode("latin-1")


def _remote_addr(ex: Exchange) -> str | None:
    return ex.remote_addr


def _status(status: int) -> str:
    """`$status` in three digits ("000" for none): formatting with `03d` parses the format each time."""
    return str(status) if status >= 100 else f"{status:03d}"


def _port(port: int) -> str:
    """A port as `$remote_port` gives it: empty for none (a unix socket, an address from realip
    without one)."""
    return str(port) if 0 < port < 65536 else ""


def _proxy_add_x_forwarded_for(ex: Exchange) -> str | None:
    forwarded = _header(ex, "x_forwarded_for")
    address = ex.remote_addr
    return address if forwarded is None else f"{forwarded}, {address}"


def _host(ex: Exchange) -> str | None:
    return ex.request.host or ex.server_name


def request_line(ex: Exchange) -> str | None:
    """$request: the request line as sent (as far as it was read, for a request refused before)."""
    line = ex.request.line
    return line.decode("latin-1") if line else None


def _args(ex: Exchange) -> str | None:
    return ex.args or None


def _remote_user(ex: Exchange) -> str | None:
    """The user of a Basic `Authorization` header, as nginx decodes it."""
    if not ex.request.values_of(b"authorization"):
        return None  # found here, without a call to credentials.py's code (not compiled) per log line
    credentials = basic_credentials(ex.request)
    return None if credentials is None else credentials[0].decode("latin-1")


def _argument(ex: Exchange, name: str) -> str | None:
    query = ex.args
    if not query:
        return None
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key.lower() == name:
            return value
    return None


def _cookie(ex: Exchange, name: str) -> str | None:
    for value in ex.request.header_values("cookie"):
        for pair in value.decode("latin-1").split(";"):
            key, _, found = pair.strip().partition("=")
            if key.lower() == name:
                return found
    return None


def _response_header(headers: list[tuple[bytes, bytes]], name: str) -> str | None:
    for key, value in headers:
        if key.decode("latin-1").lower().replace("-", "_") == name:
            return value.decode("latin-1")
    return None


def _upstream_list(field: Callable[..., str]) -> Callable[[Exchange], str | None]:
    """`$upstream_*`: one value per upstream tried, joined by `, ` as nginx does, and by ` : ` where an
    internal redirect (X-Accel-Redirect, error_page) led to another upstream."""

    def value(ex: Exchange) -> str | None:
        attempts = ex.attempts
        if not attempts:
            return None
        text = field(attempts[0])
        for attempt in attempts[1:]:
            text += (" : " if attempt.redirected else ", ") + field(attempt)
        return text

    return value


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _proxied(field: Callable[..., str]) -> Callable[[Exchange], str | None]:
    """A `$proxy_protocol_*` value: "not found" without a header, or with one that named no addresses."""

    def value(ex: Exchange) -> str | None:
        header = ex.client.proxy_header
        return None if header is None else field(header)

    return value


def _ssl(field: Callable[..., str | None]) -> Callable[[Exchange], str | None]:
    def value(ex: Exchange) -> str | None:
        ssl_object = ex.client.ssl_object
        return None if ssl_object is None else field(ssl_object)

    return value


_SIMPLE: Final[dict[str, Callable[[Exchange], str | None]]] = {
    "remote_addr": _remote_addr,
    "remote_port": lambda ex: _port(ex.remote_port),
    "binary_remote_addr": lambda ex: ex.binary_remote_addr or ex.remote_addr,  # "unix:" for a unix socket
    "realip_remote_addr": lambda ex: ex.client.remote_addr,
    "realip_remote_port": lambda ex: _port(ex.client.remote_port),
    "proxy_protocol_addr": _proxied(lambda header: header.source),
    "proxy_protocol_port": _proxied(lambda header: _port(header.source_port)),
    "proxy_protocol_server_addr": _proxied(lambda header: header.destination),
    "proxy_protocol_server_port": _proxied(lambda header: _port(header.destination_port)),
    "limit_req_status": lambda ex: LIMIT_REQ_STATUSES[ex.limit_req_status],
    "limit_conn_status": lambda ex: LIMIT_CONN_STATUSES[ex.limit_conn_status],
    "server_addr": lambda ex: ex.client.server_addr,
    "server_port": lambda ex: str(ex.client.server_port),
    "server_name": lambda ex: ex.server_name,
    "server_protocol": lambda ex: ex.request.protocol.decode("latin-1"),
    "scheme": lambda ex: ex.client.scheme,
    "https": lambda ex: "on" if ex.client.ssl_object is not None else "",
    "http2": lambda ex: ex.client.http2,
    "host": _host,
    "http_host": _http_host,
    "hostname": lambda ex: _HOSTNAME,
    "request": request_line,
    "request_method": lambda ex: ex.method.decode("latin-1"),
    "request_uri": lambda ex: ex.request.raw_target.decode("latin-1"),
    "uri": lambda ex: ex.uri,
    "document_uri": lambda ex: ex.uri,
    "args": _args,
    "query_string": _args,
    "is_args": lambda ex: "?" if ex.args else "",
    "content_length": lambda ex: _header(ex, "content_length"),
    "content_type": lambda ex: _header(ex, "content_type"),
    "remote_user": _remote_user,
    "proxy_add_x_forwarded_for": _proxy_add_x_forwarded_for,
    "proxy_host": lambda ex: ex.route.proxy_host if ex.target is None else ex.target.host,
    "proxy_port": lambda ex: ex.route.proxy_port if ex.target is None else ex.target.port,
    "status": lambda ex: _status(ex.status),
    "bytes_sent": lambda ex: str(ex.bytes_sent),
    "body_bytes_sent": lambda ex: str(ex.body_bytes_sent),
    "request_length": lambda ex: str(ex.request_length),
    "request_time": lambda ex: f"{max(0.0, time() - ex.request.started):.3f}",
    "msec": lambda ex: f"{time():.3f}",
    "date_gmt": lambda ex: ssi_date(int(time()), gmt=True),
    "date_local": lambda ex: ssi_date(int(time()), gmt=False),
    # nginx's value without a cache: hapair has none (`proxy_cache` is refused)
    "upstream_cache_status": lambda ex: None,
    "time_local": lambda ex: time_local(int(time())),
    "time_iso8601": lambda ex: time_iso8601(int(time())),
    "connection": lambda ex: str(ex.client.number),
    "connection_requests": lambda ex: str(ex.client.requests),
    "pipe": lambda ex: "p" if ex.pipelined else ".",
    "pid": lambda ex: str(os.getpid()),
    "nginx_version": lambda ex: NGINX_VERSION,
    "request_id": lambda ex: ex.request_id(),
    "ssl_protocol": _ssl(lambda s: s.version()),
    "ssl_cipher": _ssl(lambda s: s.cipher()[0] if s.cipher() else None),
    "ssl_server_name": lambda ex: ex.client.server_name_indication,
    "ssl_session_reused": _ssl(lambda s: "r" if s.session_reused else "."),
    "upstream_addr": _upstream_list(lambda a: a.address),
    "upstream_status": _upstream_list(lambda a: str(a.status) if a.status else "-"),
    "upstream_connect_time": _upstream_list(lambda a: _seconds(a.connect_time)),
    "upstream_header_time": _upstream_list(lambda a: _seconds(a.header_time)),
    "upstream_response_time": _upstream_list(lambda a: _seconds(a.response_time)),
    "upstream_bytes_sent": _upstream_list(lambda a: str(a.bytes_sent)),
    "upstream_bytes_received": _upstream_list(lambda a: str(a.bytes_received)),
    "upstream_response_length": _upstream_list(lambda a: str(a.response_length)),
    "gzip_ratio": gzip_ratio,
    # nginx's internal variables of the default proxy headers: hapair frames bodies itself
    "proxy_internal_body_length": lambda ex: None,
    "proxy_internal_chunked": lambda ex: None,
    "document_root": lambda ex: ex.route.files.document_root(ex),
    "realpath_root": lambda ex: ex.route.files.realpath_root(ex),
    "request_filename": lambda ex: ex.route.files.request_filename(ex),
}
# nginx's ssl module's $ssl_client_*: their getters from client_certificates.py, imported when a template
# or log format names one (as proxy/preload.py does)
CLIENT_CERTIFICATE_PREFIX: Final = "ssl_client_"


def _client_certificate_variable(name: str) -> Callable[[Exchange], str | None] | None:
    from .client_certificates import VARIABLES  # noqa: PLC0415

    return VARIABLES.get(name)


_PREFIXED: Final[tuple[tuple[str, Callable[[Exchange, str], str | None]], ...]] = (
    ("http_", _header),
    ("arg_", _argument),
    ("cookie_", _cookie),
    ("upstream_http_", lambda ex, name: _response_header(ex.response_headers, name)),
    ("sent_http_", lambda ex, name: _response_header(ex.sent_headers(), name)),
)


def _configured(name: str) -> Callable[[Exchange], str | None]:
    """A variable the configuration makes: the request's value (`set`, a named group of a regular
    expression, a `map` already evaluated), else the server's maker of it (`map`, `split_clients`:
    see `configured`), else None."""

    def value(ex: Exchange) -> str | None:
        variables = ex.variables
        if variables is not None:
            found = variables.get(name)
            if found is not None:
                return found
        maker = ex.server.variables.get(name)
        return None if maker is None else maker(ex)

    return value


def _by_suffix(
    by_name: Callable[[Exchange, str], str | None], suffix: str
) -> Callable[[Exchange], str | None]:
    return lambda ex: by_name(ex, suffix)


@functools.lru_cache(maxsize=1024)
def resolver(name: str) -> Callable[[Exchange], str | None]:
    """The getter of variable `name`'s value, found once (templates and log formats keep it)."""
    simple = _SIMPLE.get(name)
    if simple is not None:
        return simple
    if name.startswith(CLIENT_CERTIFICATE_PREFIX):
        certificate = _client_certificate_variable(name)
        if certificate is not None:
            return certificate
    for prefix, by_name in _PREFIXED:
        if name.startswith(prefix):
            return _by_suffix(by_name, name[len(prefix) :])
    return _configured(name)


class ByteValue(LogValue["Exchange"]):
    """A variable's value from an exchange as the bytes it is written as (an access log line, a
    `proxy_set_header` value): the common variables' classes read the exchange's bytes
    (`logformat.ByteValue`)."""


class _RemoteAddr(ByteValue):
    def of(self, ex: Exchange) -> bytes | None:
        return ex.remote_addr.encode("latin-1")


class _RequestLine(ByteValue):
    def of(self, ex: Exchange) -> bytes | None:
        line = ex.request.line
        return line if line else None


class _Status(ByteValue):
    plain = True

    def of(self, ex: Exchange) -> bytes | None:
        status = ex.status
        text = _STATUS_TEXTS.get(status)
        if text is None:
            text = _STATUS_TEXTS[status] = _status(status).encode("latin-1")
        return text


_STATUS_TEXTS: Final[dict[int, bytes]] = {}  # $status of each status met


class _BodyBytesSent(ByteValue):
    plain = True

    def of(self, ex: Exchange) -> bytes | None:
        return str(ex.body_bytes_sent).encode("latin-1")


class _TimeLocal(ByteValue):
    """$time_local, made again when the second changes."""

    plain = True

    def __init__(self) -> None:
        self._second = -1
        self._text = b""

    def of(self, ex: Exchange) -> bytes | None:
        second = int(time())
        if second != self._second:
            self._text = time_local(second).encode("latin-1")
            self._second = second
        return self._text


class _HttpHost(ByteValue):
    def of(self, ex: Exchange) -> bytes | None:
        return ex.request.host_header


class _Header(ByteValue):
    """$http_NAME (`_header`): the first header of the name, or all of them joined for two names."""

    def __init__(self, variable: str) -> None:
        self._key = variable.encode("latin-1")
        self._separator = _SEPARATORS.get(variable)

    def of(self, ex: Exchange) -> bytes | None:
        values = ex.request.values_of(self._key)
        if not values:
            return None
        separator = self._separator
        return values[0] if separator is None else separator.join(values)


_SEPARATORS: Final = {"cookie": b"; ", "x_forwarded_for": b", "}


class _ForwardedFor(ByteValue):
    """$proxy_add_x_forwarded_for."""

    def of(self, ex: Exchange) -> bytes | None:
        address = ex.remote_addr.encode("latin-1")
        values = ex.request.values_of(b"x_forwarded_for")
        if not values:
            return address
        return b", ".join(values) + b", " + address


class _RemoteUser(ByteValue):
    def of(self, ex: Exchange) -> bytes | None:
        if not ex.request.values_of(b"authorization"):
            return None
        credentials = basic_credentials(ex.request)
        return None if credentials is None else credentials[0]


_BYTE_VALUES: Final[dict[str, Callable[[], ByteValue]]] = {
    "remote_addr": _RemoteAddr,
    "request": _RequestLine,
    "status": _Status,
    "body_bytes_sent": _BodyBytesSent,
    "time_local": _TimeLocal,
    "http_host": _HttpHost,
    "proxy_add_x_forwarded_for": _ForwardedFor,
    "remote_user": _RemoteUser,
}


def byte_value(name: str) -> ByteValue | None:
    """The ByteValue of its own of variable `name`, None for one read as text."""
    make = _BYTE_VALUES.get(name)
    if make is not None:
        return make()
    if name.startswith("http_") and name not in _SIMPLE:
        return _Header(name[len("http_") :])
    return None


def log_value(name: str) -> LogValue[Exchange]:
    """What an access log line writes of variable `name`."""
    return byte_value(name) or TextValue(resolver(name))


class CompiledTemplate:
    """A template made ready to evaluate: `constant` is its text when it has no variables.

    nginx evaluates a value in two passes, the lengths then the text, and its variables in the first: a
    capture (`$1`) anywhere in a value with variables reads the captures as those variables left them (a
    `map`'s regular expression sets them). `_late` marks such a template."""

    __slots__ = ("_late", "_parts", "_value", "constant")

    def __init__(self, template: Template) -> None:
        parts: list[str | Callable[[Exchange], str | None] | int] = []
        for part in template.parts:
            if isinstance(part, Literal):
                parts.append(part.text)
            elif isinstance(part, Variable):
                parts.append(resolver(part.name))
            elif isinstance(part, Capture):
                parts.append(part.number)
        self._parts = tuple(parts)
        only = template.parts[0] if len(template.parts) == 1 else None
        # a template of one variable that has a ByteValue: its bytes read directly
        self._value = byte_value(only.name) if isinstance(only, Variable) else None
        self._late = any(type(part) is int for part in parts) and any(callable(part) for part in parts)
        literal = all(type(part) is str for part in parts)
        self.constant: str | None = "".join(parts) if literal else None  # type: ignore[arg-type]

    def evaluate(self, ex: Exchange) -> str:
        if self.constant is not None:
            return self.constant
        parts = self._parts
        if len(parts) == 1:
            part = parts[0]
            if type(part) is int:
                return _capture(ex, part)
            return part(ex) or ""  # type: ignore[operator]
        if self._late:
            return self._evaluate_variables_first(ex)
        out: list[str] = []
        for part in parts:
            if type(part) is str:
                out.append(part)
            elif type(part) is int:
                out.append(_capture(ex, part))
            else:
                out.append(part(ex) or "")  # type: ignore[operator]
        return "".join(out)

    def evaluate_bytes(self, ex: Exchange) -> bytes:
        """The value encoded a byte per character (raises UnicodeEncodeError for a character above U+00FF,
        as encoding `evaluate`'s value does)."""
        value = self._value
        if value is not None:
            return value.of(ex) or b""
        return self.evaluate(ex).encode("latin-1")

    def _evaluate_variables_first(self, ex: Exchange) -> str:
        values = [part(ex) or "" if callable(part) else part for part in self._parts]
        return "".join(_capture(ex, part) if type(part) is int else part for part in values)  # type: ignore[misc]


def _capture(ex: Exchange, number: int) -> str:
    match = ex.match
    if match is None or number > (match.re.groups or 0):
        return ""
    return match.group(number) or ""


@functools.lru_cache(maxsize=64)
def _key_template(template: Template) -> CompiledTemplate:
    """A `hash` key made ready, its literal text as the bytes nginx hashes (UTF-8), one character each."""
    parts = tuple(
        Literal(part.text.encode("utf-8", "surrogateescape").decode("latin-1"))
        if isinstance(part, Literal)
        else part
        for part in template.parts
    )
    return CompiledTemplate(Template(template.source, parts))


def balancing_key(ex: Exchange) -> bytes:
    """What the request's upstream balances on, evaluated once per request as nginx does: the `hash`
    template's value, or for `ip_hash` the client's packed address (empty for a unix socket)."""
    target = ex.target
    assert target is not None
    if not target.balancer.keyed:
        return b""
    upstream = target.balancer.upstream
    if upstream.balancing is Balancing.IP_HASH:
        return ex.binary_remote_addr.encode("latin-1")
    if upstream.hash_key is None:
        return b""
    value = _key_template(upstream.hash_key).evaluate(ex)
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:  # a value not from the wire ($hostname): its UTF-8 bytes
        return value.encode("utf-8", "surrogateescape")
