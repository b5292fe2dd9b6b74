"""The `http` block: servers, their locations, and what a request handled at each of them gets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from .access import Access, LimitZone
from .addresses import SocketAddress
from .files import Files
from .gzip import Gzip
from .headers import CharsetFilter, HeadersFilter
from .health import HealthCheck
from .http2 import Http2
from .logging import AccessLog, ErrorLog, LogFormat
from .place import Place
from .proxy import ProxyResponse
from .resolver import Resolver
from .rewrite import Statement
from .sockets import NO_OPTIONS, SocketOptions
from .templates import Template
from .tls import ServerTls, UpstreamTls
from .upstream import Upstream
from .variables import MadeVariable


@dataclass(frozen=True, slots=True)
class Header:
    """A request header sent upstream; an empty value means the header is not sent."""

    name: str
    value: Template


@dataclass(frozen=True, slots=True)
class ProxyPass:
    url: str  # as written
    scheme: str  # "http" or "https"
    upstream: Upstream
    uri: str | None  # replaces the part of the request URI the location matched; None: URI passed as is
    place: Place


@dataclass(frozen=True, slots=True)
class ProxyPassTemplate:
    """`proxy_pass` with variables: the URL is made per request; its host is an `upstream` group's name,
    an address, or a name the location's `resolver` resolves then."""

    url: Template
    resolver: Resolver | None  # None: no `resolver` in force
    resolver_timeout: int  # ms
    place: Place


# the headers nginx sends unless proxy_set_header names them (ngx_http_proxy_headers)
DEFAULT_PROXY_HEADERS = (
    ("Host", "$proxy_host"),
    ("Connection", "close"),
    ("Content-Length", "$proxy_internal_body_length"),
    ("Transfer-Encoding", "$proxy_internal_chunked"),
    ("TE", ""),
    ("Keep-Alive", ""),
    ("Expect", ""),
    ("Upgrade", ""),
)


@dataclass(frozen=True, slots=True)
class Proxy:
    """The proxy module's settings at one level (times in milliseconds)."""

    target: ProxyPass | ProxyPassTemplate | None  # `proxy_pass`; not inherited by nested locations
    headers: tuple[Header, ...]  # the `proxy_set_header` in force, then nginx's defaults not overridden
    connect_timeout: int
    read_timeout: int
    send_timeout: int
    next_upstream: frozenset[str]  # "error", "timeout", "http_502"...; empty for `off`
    next_upstream_tries: int  # 0: no limit
    next_upstream_timeout: int  # 0: no limit
    http_version: str  # "1.0" or "1.1"
    request_buffering: bool  # the request body is read whole before the upstream gets the request
    buffering: bool  # the response is read from the upstream as fast as it comes, whatever the client takes
    tls: UpstreamTls
    response: ProxyResponse  # what is done with the upstream's response
    method: Template | None  # `proxy_method`; None: the request's
    pass_request_headers: bool  # the client's headers go upstream (`proxy_pass_request_headers`)
    pass_request_body: bool  # the client's body goes upstream (`proxy_pass_request_body`)


@dataclass(frozen=True, slots=True)
class ErrorPage:
    """One status of an `error_page`: where the request goes (a URI, with its arguments apart when it
    has no variables; a `@name`; or a URL to redirect to), and the status it is answered with
    (`overwrite`: -1 the original status, 0 the one of the response it leads to)."""

    status: int
    overwrite: int
    target: Template
    args: str | None
    place: Place


@dataclass(frozen=True, slots=True)
class Settings:
    """What applies to a request handled at a server or location."""

    client_max_body_size: int  # bytes; 0: no limit
    client_body_buffer_size: int  # bytes of a request body kept in memory; more goes to a temporary file
    client_body_temp_path: str  # where those files go
    other_temp_paths: tuple[str, ...]  # FastCGI's, uwsgi's and SCGI's: made at start, used by nothing
    # the client side's timeouts (ms; keepalive_timeout 0: no keep-alive) and keep-alive request count;
    # None where the configuration does not set them: the data plane's defaults (nginx's) apply
    client_header_timeout: int | None  # http or server level only, as nginx allows
    client_body_timeout: int | None
    send_timeout: int | None
    keepalive_timeout: int | None
    keepalive_header: int | None  # seconds: `Keep-Alive: timeout=N` in responses
    keepalive_requests: int | None
    lingering_close: str  # "on", "off" or "always"
    lingering_time: int | None  # ms, as the timeouts above
    lingering_timeout: int | None
    reset_timedout_connection: bool  # a request that timed out or ended with 444 resets its connection
    tcp_nodelay: bool  # TCP_NODELAY on the client connection while this level serves it
    stub_status: bool  # the content handler is the status page (this level's own: not inherited)
    # how request heads are read (http or server level only, as nginx allows; the default server's
    # client_header_buffer_size applies, and the others once the head's Host chose a server)
    client_header_buffer_size: int  # bytes
    large_client_header_buffers: tuple[int, int]  # how many, and their size in bytes
    underscores_in_headers: bool
    ignore_invalid_headers: bool
    max_headers: int  # Debian's nginx: header lines past this many are refused (494)
    access_logs: tuple[AccessLog, ...]  # empty: `access_log off`
    error_logs: tuple[ErrorLog, ...]  # empty: the main context's (NginxConfig.error_logs)
    proxy: Proxy
    rewrite: tuple[Statement, ...]  # this level's own rewrite directives (not inherited)
    rewrite_log: bool
    types: Mapping[str, str]  # content type by lower-case file extension
    default_type: str
    error_pages: tuple[ErrorPage, ...]  # in their order: the first of a status wins
    recursive_error_pages: bool
    internal: bool  # only internal redirects reach the location
    access: Access  # realip, allow/deny, auth_basic, satisfy, limit_req, limit_conn
    absolute_redirect: bool
    port_in_redirect: bool
    server_name_in_redirect: bool
    msie_padding: bool
    chunked_transfer_encoding: bool  # off: a response of unknown length to HTTP/1.1 ends with the connection
    server_tokens: str  # "on", "off" or "build"
    files: Files  # root, index, try_files... (model/files.py)
    headers: HeadersFilter  # add_header, add_trailer, expires
    charset: CharsetFilter
    gzip: Gzip
    http2: Http2
    defined: Mapping[str, Place]  # the directive that set each value not left at nginx's default


class LocationMatch(Enum):
    PREFIX = ""
    EXACT = "="
    PREFIX_NO_REGEX = "^~"  # a prefix that, when it is the longest match, skips regular expressions
    REGEX = "~"
    REGEX_CASELESS = "~*"
    NAMED = "@"
    IF = "if"  # the block of an `if`: nginx's location without a name, never chosen by a URI
    LIMIT_EXCEPT = "limit_except"  # the block of a `limit_except`: another location without a name


@dataclass(frozen=True, slots=True)
class Location:
    match: LocationMatch
    path: str  # the prefix, the exact URI, the regular expression or the name
    pattern: re.Pattern[str] | None  # compiled for REGEX and REGEX_CASELESS
    settings: Settings
    locations: tuple[Location, ...]
    place: Place
    auto_redirect: bool = False  # `proxy_pass` in a location named `/x/`: a request for `/x` gets a 301
    limit_except: int = 0  # the methods (METHOD_BITS) that take the settings of its LIMIT_EXCEPT location


# nginx's method bits (NGX_HTTP_GET...): a method not named here is NGX_HTTP_UNKNOWN, 1
METHOD_BITS = {
    b"GET": 0x2,
    b"HEAD": 0x4,
    b"POST": 0x8,
    b"PUT": 0x10,
    b"DELETE": 0x20,
    b"MKCOL": 0x40,
    b"COPY": 0x80,
    b"MOVE": 0x100,
    b"OPTIONS": 0x200,
    b"PROPFIND": 0x400,
    b"PROPPATCH": 0x800,
    b"LOCK": 0x1000,
    b"UNLOCK": 0x2000,
    b"PATCH": 0x4000,
    b"TRACE": 0x8000,
    b"CONNECT": 0x10000,
}
UNKNOWN_METHOD = 0x1

NGX_LISTEN_BACKLOG = 511


@dataclass(frozen=True, slots=True)
class Listen:
    """One address of a `listen` directive (a host name or a port range gives several)."""

    address: SocketAddress
    default_server: bool
    ssl: bool
    http2: bool
    reuseport: bool
    backlog: int
    bind: bool
    ipv6only: bool
    place: Place | None  # None: the `listen *:80` nginx gives a server without one


@dataclass(frozen=True, slots=True)
class Server:
    names: tuple[str, ...]  # lower case; ("",) when none is given; regular expressions start with "~"
    listens: tuple[Listen, ...]
    tls: ServerTls | None  # None when no certificate is configured for the server
    settings: Settings  # for requests no location matches
    locations: tuple[Location, ...]
    place: Place


@dataclass(frozen=True, slots=True)
class Listener:
    """An address:port the http servers listen on, as nginx groups them: the servers whose `listen` names
    it, the default one (for requests with no matching server name), and the socket options (taken from
    the one `listen` of that address that sets options)."""

    address: SocketAddress
    servers: tuple[Server, ...]
    default_server: Server
    ssl: bool
    http2: bool  # HTTP/2: by ALPN with `ssl`, else with prior knowledge only (nginx 1.22's `http2`)
    reuseport: bool
    backlog: int
    ipv6only: bool
    own_socket: bool  # False: served by the wildcard socket of the same port (no `bind`)
    proxy_protocol: bool = False  # connections start with a PROXY protocol header
    socket: SocketOptions = NO_OPTIONS


@dataclass(frozen=True, slots=True)
class HttpConfig:
    servers: tuple[Server, ...]
    listeners: tuple[Listener, ...]
    upstreams: tuple[Upstream, ...]
    log_formats: tuple[LogFormat, ...]
    place: Place
    variables: tuple[MadeVariable, ...] = ()  # `map`, `split_clients`: a later one of a name wins
    zones: tuple[LimitZone, ...] = ()  # `limit_req_zone` and `limit_conn_zone`, in declaration order
    health_checks: tuple[HealthCheck, ...] = ()  # `health_check` lines (hapair's extension), in order

    def serves_status(self) -> bool:
        """Whether a server or location has `stub_status`: then the workers count connections and
        requests (nginx counts them always)."""
        return any(_has_status(server.settings, server.locations) for server in self.servers)


def _has_status(settings: Settings, locations: tuple[Location, ...]) -> bool:
    return settings.stub_status or any(
        _has_status(location.settings, location.locations) for location in locations
    )
