"""Variables in directive values.

nginx compiles a value with variables (ngx_http_script_compile, and its own loop for `log_format`), noting
each variable name; once a block is read it checks that every name noted is a variable it has
(ngx_http_variables_init_vars): `unknown "x" variable`, with no place. hapair does the same, and also
refuses, at the place it is used, a variable nginx has but hapair's data plane does not provide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import ConfigError
from .known import HTTP_VARIABLE_PREFIXES, HTTP_VARIABLES, STREAM_VARIABLES
from .model.logging import LogEscape
from .model.place import Place
from .model.templates import Capture, Literal, Part, Template, Variable

if TYPE_CHECKING:
    from .context import Directive


@dataclass(frozen=True, slots=True)
class VariableCatalog:
    """The variables of one kind of block: those nginx knows, and those hapair supports."""

    known: frozenset[str]
    known_prefixes: tuple[str, ...]
    supported: frozenset[str]
    supported_prefixes: tuple[str, ...]
    changeable: frozenset[str]  # those the configuration may give a value (NGX_*_VAR_CHANGEABLE)

    def knows(self, name: str) -> bool:
        return name in self.known or name.startswith(self.known_prefixes)

    def supports(self, name: str) -> bool:
        return name in self.supported or name.startswith(self.supported_prefixes)


# fmt: off
HTTP_SUPPORTED = frozenset({
    "args", "binary_remote_addr", "body_bytes_sent", "bytes_sent", "connection", "connection_requests",
    "content_length", "content_type", "document_uri", "host", "hostname", "https", "is_args",
    "limit_conn_status", "limit_req_status", "msec",
    "nginx_version", "pid", "pipe", "proxy_add_x_forwarded_for", "proxy_host", "proxy_internal_body_length",
    "proxy_internal_chunked", "proxy_port", "query_string", "realip_remote_addr", "realip_remote_port",
    "remote_addr", "remote_port", "remote_user",
    "request", "request_id", "request_length", "request_method", "request_time", "request_uri", "scheme",
    "server_addr", "server_name", "server_port", "server_protocol", "ssl_cipher", "ssl_protocol",
    "ssl_server_name", "ssl_session_reused", "status", "time_iso8601", "time_local", "upstream_addr",
    "upstream_bytes_received", "upstream_bytes_sent", "upstream_connect_time", "upstream_header_time",
    "upstream_response_length", "upstream_response_time", "upstream_status", "uri",
    "document_root", "realpath_root", "request_filename",
    "gzip_ratio",
    "date_gmt", "date_local", "upstream_cache_status",
    "ssl_client_verify", "ssl_client_s_dn", "ssl_client_i_dn", "ssl_client_s_dn_legacy",
    "ssl_client_i_dn_legacy", "ssl_client_serial", "ssl_client_v_start", "ssl_client_v_end",
    "ssl_client_v_remain", "ssl_client_fingerprint", "ssl_client_raw_cert", "ssl_client_cert",
    "ssl_client_escaped_cert",
    "proxy_protocol_addr", "proxy_protocol_port", "proxy_protocol_server_addr", "proxy_protocol_server_port",
})
STREAM_SUPPORTED = frozenset({
    "binary_remote_addr", "bytes_received", "bytes_sent", "connection", "hostname", "msec", "nginx_version",
    "pid", "protocol", "remote_addr", "remote_port", "server_addr", "server_port", "session_time", "status",
    "time_iso8601", "time_local", "upstream_addr", "upstream_bytes_received", "upstream_bytes_sent",
    "upstream_connect_time", "upstream_first_byte_time", "upstream_session_time",
    "ssl_preread_alpn_protocols", "ssl_preread_protocol", "ssl_preread_server_name",
    "proxy_protocol_addr", "proxy_protocol_port", "proxy_protocol_server_addr", "proxy_protocol_server_port",
    "realip_remote_addr", "realip_remote_port",
    "ssl_protocol", "ssl_cipher", "ssl_session_reused", "ssl_server_name", "ssl_client_verify",
    "ssl_client_s_dn", "ssl_client_i_dn", "ssl_client_serial", "ssl_client_v_start", "ssl_client_v_end",
    "ssl_client_v_remain", "ssl_client_fingerprint", "ssl_client_raw_cert", "ssl_client_cert",
    "ssl_client_escaped_cert",
})
# fmt: on

# the variables nginx lets the configuration give a value although it has them (NGX_HTTP_VAR_CHANGEABLE)
HTTP_CHANGEABLE = frozenset({"args", "limit_rate", "msie", "modern_browser", "ancient_browser"})
# the stream ones: the ssl module's (NGX_STREAM_VAR_CHANGEABLE)
STREAM_CHANGEABLE = frozenset(
    name for name in STREAM_VARIABLES if name.startswith("ssl_") and not name.startswith("ssl_preread_")
)

HTTP_CATALOG = VariableCatalog(
    known=HTTP_VARIABLES,
    known_prefixes=HTTP_VARIABLE_PREFIXES,
    supported=HTTP_SUPPORTED,
    supported_prefixes=("arg_", "cookie_", "http_", "sent_http_", "upstream_http_"),
    changeable=HTTP_CHANGEABLE,
)
STREAM_CATALOG = VariableCatalog(
    known=STREAM_VARIABLES,
    known_prefixes=(),
    supported=STREAM_SUPPORTED,
    supported_prefixes=(),
    changeable=STREAM_CHANGEABLE,
)


class VariableUses:
    """The variable names one http or stream block uses, in the order nginx notes them."""

    def __init__(self, catalog: VariableCatalog) -> None:
        self.catalog = catalog
        self._uses: dict[str, Place] = {}
        self._defined: set[str] = set()

    def use(self, name: str, origin: Place) -> None:
        self._uses.setdefault(name.lower(), origin)

    def define(self, name: str) -> None:
        """A variable the configuration makes (a named group of a location's regular expression)."""
        self._defined.add(name.lower())

    def check(self) -> None:
        for name, origin in self._uses.items():
            if name in self._defined:
                continue
            if not self.catalog.knows(name):
                raise ConfigError(f'unknown "{name}" variable', None, origin)
            if not self.catalog.supports(name):
                raise ConfigError(f'hapair does not support the "${name}" variable', origin)


def configured_variable(directive: Directive, written: str, uses: VariableUses) -> str:
    """The variable a `map` or `split_clients` makes (ngx_http_add_variable, NGX_HTTP_VAR_CHANGEABLE):
    `$name`, not one of nginx's own unless it is changeable. hapair's data plane takes its own variables
    and the prefixed ones (`$http_x`, `$arg_x`...) before the configuration's, so it refuses to make
    those, which nginx allows."""
    if not written.startswith("$"):
        raise directive.error(f'invalid variable name "{written}"')
    name = written[1:]
    if not name:
        raise directive.error('invalid variable name "$"')
    lower = name.lower()
    catalog = uses.catalog
    if lower in catalog.known and lower not in catalog.changeable:
        raise directive.error(f'the duplicate "{name}" variable')
    if lower in catalog.known or lower.startswith(catalog.known_prefixes):
        raise directive.unsupported(f'making the "${lower}" variable')
    uses.define(lower)
    return lower


def _is_name_char(ch: str) -> bool:
    return ch == "_" or ("0" <= ch <= "9") or ("a" <= ch <= "z") or ("A" <= ch <= "Z")


def _read_name(source: str, i: int) -> tuple[str, int, bool]:
    """The variable name starting at `i` (just after `$`, or after `${`), the index after it, and whether
    a `{` is still open."""
    bracket = source[i] == "{"
    if bracket:
        i += 1
    start = i
    while i < len(source):
        ch = source[i]
        if ch == "}" and bracket:
            return source[start:i], i + 1, False
        if not _is_name_char(ch):
            break
        i += 1
    return source[start:i], i, bracket


def compile_template(source: str, uses: VariableUses, origin: Place, error_place: Place) -> Template:
    """ngx_http_script_compile: literal text, `$name`, `${name}` and captures `$1`-`$9`. `error_place` is
    where nginx reports a malformed variable: the directive's line when it compiles while reading, the end
    of the block when it compiles while merging."""
    parts: list[Part] = []
    i = 0
    while i < len(source):
        if source[i] != "$":
            end = source.find("$", i)
            end = len(source) if end < 0 else end
            parts.append(Literal(source[i:end]))
            i = end
            continue
        i += 1
        if i == len(source) or (source[i] == "{" and i + 1 == len(source)):
            raise ConfigError("invalid variable name", error_place)
        if "1" <= source[i] <= "9":
            parts.append(Capture(ord(source[i]) - ord("0")))
            i += 1
            continue
        name, i, open_bracket = _read_name(source, i)
        if open_bracket:
            raise ConfigError(f'the closing bracket in "{name}" variable is missing', error_place)
        if not name:
            raise ConfigError("invalid variable name", error_place)
        uses.use(name, origin)
        parts.append(Variable(name.lower()))
    return Template(source, tuple(parts))


def has_variables(source: str) -> bool:
    """ngx_http_script_variables_count: nginx treats a value with a `$` as one with variables."""
    return "$" in source


def log_escape(args: Sequence[str], place: Place) -> tuple[LogEscape, Sequence[str]]:
    """A leading `escape=` parameter of `log_format`, and the format strings after it."""
    if not args or not args[0].startswith("escape="):
        return LogEscape.DEFAULT, args
    value = args[0][len("escape=") :]
    for escape in LogEscape:
        if value == escape.value:
            return escape, args[1:]
    raise ConfigError(f'unknown log format escaping "{value}"', place)


def compile_log_format(strings: Sequence[str], uses: VariableUses, place: Place) -> Template:
    """ngx_http_log_compile_format: the format strings, joined; `$name` and `${name}` only."""
    parts: list[Part] = []
    for text in strings:
        i = 0
        while i < len(text):
            if text[i] != "$":
                end = text.find("$", i)
                end = len(text) if end < 0 else end
                parts.append(Literal(text[i:end]))
                i = end
                continue
            start = i
            i += 1
            if i == len(text) or (text[i] == "{" and i + 1 == len(text)):
                raise ConfigError(f'invalid parameter "{text[start:]}"', place)
            name, i, open_bracket = _read_name(text, i)
            if open_bracket:
                raise ConfigError(f'the closing bracket in "{name}" variable is missing', place)
            if not name:
                raise ConfigError(f'invalid parameter "{text[start:]}"', place)
            uses.use(name, place)
            parts.append(Variable(name.lower()))
    return Template("".join(strings), tuple(_joined(parts)))


def _joined(parts: list[Part]) -> list[Part]:
    """Adjacent literal parts as one."""
    out: list[Part] = []
    for part in parts:
        if isinstance(part, Literal) and out and isinstance(out[-1], Literal):
            out[-1] = Literal(out[-1].text + part.text)
        else:
            out.append(part)
    return out
