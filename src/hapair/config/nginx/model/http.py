"""The `http` block: servers, their locations, and what a request handled at each of them gets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from .addresses import SocketAddress
from .logging import AccessLog, ErrorLog, LogFormat
from .place import Place
from .rewrite import Statement
from .templates import Template
from .tls import ServerTls, UpstreamTls
from .upstream import Upstream


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
class Proxy:
    """The proxy module's settings at one level (times in milliseconds)."""

    target: ProxyPass | None  # `proxy_pass`; not inherited by nested locations
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
    absolute_redirect: bool
    port_in_redirect: bool
    server_name_in_redirect: bool
    msie_padding: bool
    server_tokens: str  # "on", "off" or "build"
    defined: Mapping[str, Place]  # the directive that set each value not left at nginx's default


class LocationMatch(Enum):
    PREFIX = ""
    EXACT = "="
    PREFIX_NO_REGEX = "^~"  # a prefix that, when it is the longest match, skips regular expressions
    REGEX = "~"
    REGEX_CASELESS = "~*"
    NAMED = "@"
    IF = "if"  # the block of an `if`: nginx's location without a name, never chosen by a URI


@dataclass(frozen=True, slots=True)
class Location:
    match: LocationMatch
    path: str  # the prefix, the exact URI, the regular expression or the name
    pattern: re.Pattern[str] | None  # compiled for REGEX and REGEX_CASELESS
    settings: Settings
    locations: tuple[Location, ...]
    place: Place
    auto_redirect: bool = False  # `proxy_pass` in a location named `/x/`: a request for `/x` gets a 301


NGX_LISTEN_BACKLOG = 511


@dataclass(frozen=True, slots=True)
class Listen:
    """One address of a `listen` directive (a host name or a port range gives several)."""

    address: SocketAddress
    default_server: bool
    ssl: bool
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
    reuseport: bool
    backlog: int
    ipv6only: bool
    own_socket: bool  # False: served by the wildcard socket of the same port (no `bind`)


@dataclass(frozen=True, slots=True)
class HttpConfig:
    servers: tuple[Server, ...]
    listeners: tuple[Listener, ...]
    upstreams: tuple[Upstream, ...]
    log_formats: tuple[LogFormat, ...]
    place: Place
