"""The end of the `http` block (the rest of ngx_http_block): each module's merge in nginx's module order
(core, log, upstream, ssl, proxy), the location trees, the ssl module's `listen ... ssl` check, the
variables, the server names; then the model. Errors come in the order nginx finds them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from ..context import Reading
from ..errors import ConfigError
from ..fields import (
    ABSOLUTE_REDIRECT,
    ACCESS_LOGS,
    CHUNKED_TRANSFER_ENCODING,
    CLIENT_BODY_BUFFER_SIZE,
    CLIENT_BODY_TEMP_PATH,
    CLIENT_BODY_TIMEOUT,
    CLIENT_HEADER_BUFFER_SIZE,
    CLIENT_HEADER_TIMEOUT,
    CLIENT_MAX_BODY_SIZE,
    DEFAULT_TYPE,
    ERROR_LOGS,
    ERROR_PAGES,
    FASTCGI_TEMP_PATH,
    IGNORE_INVALID_HEADERS,
    INTERNAL,
    KEEPALIVE_HEADER,
    KEEPALIVE_REQUESTS,
    KEEPALIVE_TIMEOUT,
    LARGE_CLIENT_HEADER_BUFFERS,
    LINGERING_CLOSE,
    LINGERING_TIME,
    LINGERING_TIMEOUT,
    MAX_HEADERS,
    MSIE_PADDING,
    PORT_IN_REDIRECT,
    PROXY_BUFFERING,
    PROXY_CONNECT_TIMEOUT,
    PROXY_HTTP_VERSION,
    PROXY_METHOD,
    PROXY_NEXT_UPSTREAM,
    PROXY_NEXT_UPSTREAM_TIMEOUT,
    PROXY_NEXT_UPSTREAM_TRIES,
    PROXY_PASS_REQUEST_BODY,
    PROXY_PASS_REQUEST_HEADERS,
    PROXY_READ_TIMEOUT,
    PROXY_REQUEST_BUFFERING,
    PROXY_SEND_TIMEOUT,
    PROXY_SET_HEADER,
    RECURSIVE_ERROR_PAGES,
    RESET_TIMEDOUT_CONNECTION,
    RESOLVER,
    RESOLVER_TIMEOUT,
    REWRITE_LOG,
    SCGI_TEMP_PATH,
    SEND_TIMEOUT,
    SERVER_NAME_IN_REDIRECT,
    SERVER_TOKENS,
    SSL_CERTIFICATE,
    SSL_ENABLE,
    SSL_REJECT_HANDSHAKE,
    STUB_STATUS,
    TYPES,
    UNDERSCORES_IN_HEADERS,
    UWSGI_TEMP_PATH,
    AccessLogs,
    HeaderSetting,
)
from ..fields_content import TCP_NODELAY
from ..model.http import (
    DEFAULT_PROXY_HEADERS,
    Header,
    HttpConfig,
    Listen,
    Listener,
    Location,
    LocationMatch,
    Proxy,
    ProxyPass,
    ProxyPassTemplate,
    Server,
    Settings,
)
from ..model.logging import AccessLog, LogEscape, LogFormat
from ..model.place import Place
from ..model.resolver import DEFAULT_RESOLVER_TIMEOUT
from ..model.rewrite import Break, If, Return, Rewrite, SetVariable, Statement
from ..model.sockets import SocketOptions
from ..model.templates import Literal, Template, Variable
from ..model.tls import ServerTls
from ..model.upstream import Upstream
from ..settings import Level, Placed
from ..state import (
    HttpState,
    IfState,
    Listening,
    ListenOptions,
    LocationState,
    MainState,
    ProxyPassState,
    RewriteProgram,
    ServerState,
)
from ..variables import VariableUses, compile_template
from .access import access_settings, limit_zones
from .content import charset_filter, check_charset_maps, files, headers_filter
from .gzip import gzip_settings
from .health import build_health_checks
from .http2 import http2_settings
from .listeners import ArrangedAddress, arrange_addresses
from .locations import check_duplicate_locations
from .proxy import ResponseMerge
from .stapling import Warn, ocsp_staple
from .tls import server_tls, upstream_tls
from .upstreams import build_upstream

DEFAULT_ACCESS_LOG = "/var/log/nginx/access.log"  # Debian's --http-log-path
DEFAULT_TYPES = {"html": "text/html", "gif": "image/gif", "jpg": "image/jpeg"}  # without `types`
DEFAULT_CLIENT_MAX_BODY_SIZE = 1024 * 1024
DEFAULT_CLIENT_BODY_BUFFER_SIZE = 16 * 1024  # two memory pages on x86-64
DEFAULT_CLIENT_BODY_TEMP_PATH = "/var/lib/nginx/body"  # Debian's --http-client-body-temp-path
OTHER_TEMP_PATHS = (  # with Debian's --http-*-temp-path
    (FASTCGI_TEMP_PATH, "/var/lib/nginx/fastcgi"),
    (UWSGI_TEMP_PATH, "/var/lib/nginx/uwsgi"),
    (SCGI_TEMP_PATH, "/var/lib/nginx/scgi"),
)
DEFAULT_TIMEOUT = 60_000
LARGE_HEADER_BUFFERS = (4, 8192)  # large_client_header_buffers 4 8k
CONNECTION_POOL_SIZE = 512  # nginx's connection_pool_size on 64-bit systems
NEXT_UPSTREAM_DEFAULT = frozenset({"error", "timeout"})
COMBINED = LogFormat(
    "combined",
    LogEscape.DEFAULT,
    Template(
        '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
        '"$http_referer" "$http_user_agent"',
        (
            Variable("remote_addr"),
            Literal(" - "),
            Variable("remote_user"),
            Literal(" ["),
            Variable("time_local"),
            Literal('] "'),
            Variable("request"),
            Literal('" '),
            Variable("status"),
            Literal(" "),
            Variable("body_bytes_sent"),
            Literal(' "'),
            Variable("http_referer"),
            Literal('" "'),
            Variable("http_user_agent"),
            Literal('"'),
        ),
    ),
    None,
)


@dataclass(frozen=True, slots=True)
class _Scope:
    """A server's own level, or one of its locations: what nginx merges with its parent."""

    level: Level
    location: LocationState | None


def _scopes(state: HttpState) -> Iterator[_Scope]:
    """In nginx's merge order: each server, then its locations depth first."""
    for server in state.servers:
        yield _Scope(server.level, None)
        yield from _location_scopes(server.locations)


def _location_scopes(locations: list[LocationState]) -> Iterator[_Scope]:
    for location in locations:
        yield _Scope(location.level, location)
        yield from _location_scopes(location.locations)


@dataclass(frozen=True, slots=True)
class _Merged:
    """What each module's merge made, by level (keyed by `id`) or by server."""

    access_logs: dict[int, tuple[AccessLog, ...]]
    upstreams: dict[int, Upstream]
    tls: list[ServerTls | None]
    proxies: dict[int, Proxy]


def finish_http(state: HttpState, main: MainState, end: Place, reading: Reading) -> HttpConfig:
    """`end`: where nginx is in the files when it merges, and reports what it finds then."""
    merged = _merge(state, main, end, lambda text: reading.warn(text, None))
    for server in state.servers:
        check_duplicate_locations(server.locations)
    _check_ssl_listens(state)
    check_charset_maps(scope.level for scope in _scopes(state))
    state.variables.check()
    arranged = arrange_addresses(state, lambda text: reading.warn(text, None))
    main.listening.extend(
        Listening(item.address.options.address, item.address.options.ipv6only, item.address.options.place)
        for item in arranged
        if item.own_socket
    )
    checks = build_health_checks(state.health_checks, state.matches, merged.upstreams, stream=False)
    built = _Builder(merged, main.paths.prefix).http(state, arranged)
    return replace(built, zones=limit_zones(main), health_checks=checks)


def _merge(state: HttpState, main: MainState, end: Place, warn: Warn) -> _Merged:
    """The modules' merges, in nginx's module order: core, log, upstream, ssl, proxy."""
    for server in state.servers:
        _check_header_buffers(server.level, end)
    scopes = list(_scopes(state))
    access_logs = {id(scope.level): _access_logs(scope.level, main) for scope in scopes}
    upstreams = {id(group): build_upstream(group, main.system) for group in state.upstreams}
    tls = [_server_tls(server.level, main, warn) for server in state.servers]
    headers = _HeaderCompiler(state.variables, end)
    responses = ResponseMerge(end)
    proxies = {id(scope.level): _proxy(scope, upstreams, headers, responses, main) for scope in scopes}
    return _Merged(access_logs, upstreams, tls, proxies)


def _server_tls(level: Level, main: MainState, warn: Warn) -> ServerTls | None:
    tls = server_tls(level, main.paths)
    staple = ocsp_staple(level, tls, main.paths, warn)
    return replace(tls, ocsp_response=staple) if tls is not None and staple is not None else tls


def _check_header_buffers(level: Level, end: Place) -> None:
    """ngx_http_core_merge_srv_conf: a large header buffer holds at least what nginx's connection pool
    does."""
    _, size = level.value(LARGE_CLIENT_HEADER_BUFFERS, LARGE_HEADER_BUFFERS)
    if size < CONNECTION_POOL_SIZE:
        raise ConfigError(
            'the "large_client_header_buffers" size must be equal to or greater than "connection_pool_size"',
            end,
        )


class _Builder:
    """The model, from the merged levels."""

    def __init__(self, merged: _Merged, prefix: str) -> None:
        self._merged = merged
        self._prefix = prefix
        self._built: dict[int, Location] = {}  # the locations made, by their state's id

    def http(self, state: HttpState, arranged: list[ArrangedAddress]) -> HttpConfig:
        servers = {
            id(server): self._server(server, tls)
            for server, tls in zip(state.servers, self._merged.tls, strict=True)
        }
        return HttpConfig(
            servers=tuple(servers.values()),
            listeners=tuple(_listener(item, servers) for item in arranged),
            upstreams=tuple(self._merged.upstreams.values()),
            log_formats=tuple(state.log_formats.values()),
            place=state.place,
            variables=tuple(state.made_variables),
        )

    def _server(self, server: ServerState, tls: ServerTls | None) -> Server:
        return Server(
            names=tuple(server.names),
            listens=tuple(_listen(options) for options in server.listens),
            tls=tls,
            settings=self._settings(server.level, server.rewrite),
            locations=tuple(self._location(location) for location in server.locations),
            place=server.place,
        )

    def _location(self, location: LocationState) -> Location:
        nested = tuple(self._location(inner) for inner in location.locations)
        # an `if`'s directives run as part of its enclosing program, not on their own
        program = [] if location.match is LocationMatch.IF else location.rewrite
        settings = self._settings(location.level, program)
        auto_redirect = location.proxy_pass is not None and location.name.endswith("/")
        built = Location(
            location.match,
            location.name,
            location.pattern,
            settings,
            nested,
            location.place,
            auto_redirect,
            location.limit_except,
        )
        self._built[id(location)] = built
        return built

    def _program(self, program: RewriteProgram) -> tuple[Statement, ...]:
        return tuple(self._statement(item) for item in program)

    def _statement(self, item: Rewrite | Return | SetVariable | Break | IfState) -> Statement:
        if not isinstance(item, IfState):
            return item
        location = None if item.in_server else self._built[id(item.location)]
        return If(item.condition, self._program(item.location.rewrite), location, item.place)

    def _settings(self, level: Level, program: RewriteProgram) -> Settings:
        return Settings(
            client_max_body_size=level.value(CLIENT_MAX_BODY_SIZE, DEFAULT_CLIENT_MAX_BODY_SIZE),
            client_body_buffer_size=level.value(CLIENT_BODY_BUFFER_SIZE, DEFAULT_CLIENT_BODY_BUFFER_SIZE),
            client_body_temp_path=level.value(CLIENT_BODY_TEMP_PATH, DEFAULT_CLIENT_BODY_TEMP_PATH),
            other_temp_paths=tuple(level.value(slot, default) for slot, default in OTHER_TEMP_PATHS),
            client_header_timeout=level.value(CLIENT_HEADER_TIMEOUT, None),
            client_body_timeout=level.value(CLIENT_BODY_TIMEOUT, None),
            send_timeout=level.value(SEND_TIMEOUT, None),
            keepalive_timeout=level.value(KEEPALIVE_TIMEOUT, None),
            keepalive_header=level.value(KEEPALIVE_HEADER, None),
            keepalive_requests=level.value(KEEPALIVE_REQUESTS, None),
            lingering_close=level.value(LINGERING_CLOSE, "on"),
            lingering_time=level.value(LINGERING_TIME, None),
            lingering_timeout=level.value(LINGERING_TIMEOUT, None),
            reset_timedout_connection=level.value(RESET_TIMEDOUT_CONNECTION, False),
            tcp_nodelay=level.value(TCP_NODELAY, True),
            stub_status=level.here(STUB_STATUS) is not None,
            client_header_buffer_size=level.value(CLIENT_HEADER_BUFFER_SIZE, 1024),
            large_client_header_buffers=level.value(LARGE_CLIENT_HEADER_BUFFERS, LARGE_HEADER_BUFFERS),
            underscores_in_headers=level.value(UNDERSCORES_IN_HEADERS, False),
            ignore_invalid_headers=level.value(IGNORE_INVALID_HEADERS, True),
            max_headers=level.value(MAX_HEADERS, 1000),
            access_logs=self._merged.access_logs[id(level)],
            error_logs=level.value(ERROR_LOGS, ()),
            proxy=self._merged.proxies[id(level)],
            rewrite=self._program(program),
            rewrite_log=level.value(REWRITE_LOG, False),
            types=level.value(TYPES, DEFAULT_TYPES),
            default_type=level.value(DEFAULT_TYPE, "text/plain"),
            error_pages=level.value(ERROR_PAGES, ()),
            recursive_error_pages=level.value(RECURSIVE_ERROR_PAGES, False),
            internal=level.here(INTERNAL) is not None,
            access=access_settings(level),
            absolute_redirect=level.value(ABSOLUTE_REDIRECT, True),
            port_in_redirect=level.value(PORT_IN_REDIRECT, True),
            server_name_in_redirect=level.value(SERVER_NAME_IN_REDIRECT, False),
            msie_padding=level.value(MSIE_PADDING, True),
            chunked_transfer_encoding=level.value(CHUNKED_TRANSFER_ENCODING, True),
            server_tokens=level.value(SERVER_TOKENS, "on"),
            files=files(level, self._prefix),
            headers=headers_filter(level),
            charset=charset_filter(level),
            gzip=gzip_settings(level),
            http2=http2_settings(level),
            defined=level.defined(),
        )


def _listener(item: ArrangedAddress, servers: dict[int, Server]) -> Listener:
    options = item.address.options
    enabled = item.address.default_server.level.value(SSL_ENABLE, False)  # `ssl on` (deprecated)
    return Listener(
        address=options.address,
        servers=tuple(servers[id(server)] for server in item.address.servers),
        default_server=servers[id(item.address.default_server)],
        ssl=options.ssl or enabled,
        http2=options.http2,
        reuseport=options.reuseport,
        backlog=options.backlog,
        ipv6only=options.ipv6only,
        own_socket=item.own_socket,
        proxy_protocol=options.proxy_protocol,
        socket=_socket_options(options, servers[id(item.address.default_server)]),
    )


_DEFAULT_CLIENT_HEADER_TIMEOUT = 60_000


def _socket_options(options: ListenOptions, default_server: Server) -> SocketOptions:
    """The listen's socket options; `deferred` waits for data as long as the default server's
    client_header_timeout (ngx_http_add_listening's post_accept_timeout), in seconds, at least one."""
    if not options.deferred:
        return options.socket
    timeout = default_server.settings.client_header_timeout
    seconds = (timeout if timeout is not None else _DEFAULT_CLIENT_HEADER_TIMEOUT) // 1000
    return replace(options.socket, deferred=seconds or 1)


def _access_logs(level: Level, main: MainState) -> tuple[AccessLog, ...]:
    """The log module's merge: the nearest `access_log`, else nginx's default log in `combined`."""
    found = level.find(ACCESS_LOGS)
    logs = found.value if found is not None else AccessLogs(off=False, logs=())
    if logs.off:
        return ()
    if logs.logs:
        return logs.logs
    main.open_file(DEFAULT_ACCESS_LOG, None)
    return (AccessLog(DEFAULT_ACCESS_LOG, COMBINED, 0, 0, None, None),)


class _HeaderCompiler:
    """ngx_http_proxy_init_headers: each `proxy_set_header` list is compiled once, where it is first in
    force in merge order; malformed variables are reported at the end of the http block."""

    def __init__(self, uses: VariableUses, end: Place) -> None:
        self._uses = uses
        self._end = end
        self._compiled: dict[tuple[HeaderSetting, ...], tuple[Header, ...]] = {}

    def headers(self, configured: tuple[HeaderSetting, ...]) -> tuple[Header, ...]:
        if configured not in self._compiled:
            self._compiled[configured] = self._compile(configured)
        return self._compiled[configured]

    def _compile(self, configured: tuple[HeaderSetting, ...]) -> tuple[Header, ...]:
        named = {header.name.lower() for header in configured}
        merged = [(header.name, header.value, header.place) for header in configured]
        merged += [(name, value, None) for name, value in DEFAULT_PROXY_HEADERS if name.lower() not in named]
        out = []
        for name, value, place in merged:
            template = compile_template(value, self._uses, place or self._end, self._end)
            out.append(Header(name, template))
        return tuple(out)


_NAMELESS = (LocationMatch.IF, LocationMatch.LIMIT_EXCEPT)


def _proxy_target(location: LocationState | None) -> Placed[ProxyPassState] | None:
    """A location's `proxy_pass`; an `if` or `limit_except` block without one has its location's
    (nginx's merge of a location without a name)."""
    while location is not None:
        if location.proxy_pass is not None or location.match not in _NAMELESS:
            return location.proxy_pass
        location = location.parent
    return None


def _proxy(
    scope: _Scope,
    upstreams: dict[int, Upstream],
    headers: _HeaderCompiler,
    responses: ResponseMerge,
    main: MainState,
) -> Proxy:
    """The proxy module's merge of one level: the buffers and what is done with responses, TLS to
    upstream servers when `proxy_pass` is https, then the headers."""
    level = scope.level
    response = responses.response(level, scope.location)
    target = _proxy_target(scope.location)
    # nginx sets up TLS for a proxy_pass with variables whatever its scheme turns out to be
    tls = upstream_tls(level, main.paths, checked=target is not None and target.value.scheme in ("https", ""))
    found = level.find(PROXY_SET_HEADER)
    next_upstream = level.value(PROXY_NEXT_UPSTREAM, NEXT_UPSTREAM_DEFAULT)
    return Proxy(
        target=None if target is None else _proxy_pass(target, upstreams, level),
        headers=headers.headers(found.value if found is not None else ()),
        connect_timeout=level.value(PROXY_CONNECT_TIMEOUT, DEFAULT_TIMEOUT),
        read_timeout=level.value(PROXY_READ_TIMEOUT, DEFAULT_TIMEOUT),
        send_timeout=level.value(PROXY_SEND_TIMEOUT, DEFAULT_TIMEOUT),
        next_upstream=frozenset() if "off" in next_upstream else next_upstream,
        next_upstream_tries=level.value(PROXY_NEXT_UPSTREAM_TRIES, 0),
        next_upstream_timeout=level.value(PROXY_NEXT_UPSTREAM_TIMEOUT, 0),
        http_version=level.value(PROXY_HTTP_VERSION, "1.0"),
        request_buffering=level.value(PROXY_REQUEST_BUFFERING, True),
        buffering=level.value(PROXY_BUFFERING, True),
        tls=tls,
        response=response,
        method=level.value(PROXY_METHOD, None),
        pass_request_headers=level.value(PROXY_PASS_REQUEST_HEADERS, True),
        pass_request_body=level.value(PROXY_PASS_REQUEST_BODY, True),
    )


def _proxy_pass(
    target: Placed[ProxyPassState], upstreams: dict[int, Upstream], level: Level
) -> ProxyPass | ProxyPassTemplate:
    passing = target.value
    if passing.template is not None:
        resolver = level.find(RESOLVER)
        return ProxyPassTemplate(
            passing.template,
            None if resolver is None else resolver.value,
            level.value(RESOLVER_TIMEOUT, DEFAULT_RESOLVER_TIMEOUT),
            target.place,
        )
    assert passing.upstream is not None
    return ProxyPass(passing.url, passing.scheme, upstreams[id(passing.upstream)], passing.uri, target.place)


def _check_ssl_listens(state: HttpState) -> None:
    """The ssl module's postconfiguration: an address listened on with `ssl` needs a certificate in its
    default server; when that server only rejects handshakes, every server of the address needs one or
    rejects handshakes too."""
    for port in state.ports:
        for address in port.addresses:
            if not address.options.ssl:
                continue
            default: ServerState = address.default_server
            if default.level.find(SSL_CERTIFICATE) is not None:
                continue
            if not default.level.value(SSL_REJECT_HANDSHAKE, False):
                raise _no_listen_certificate(default)
            for server in address.servers:
                level = server.level
                if level.find(SSL_CERTIFICATE) is None and not level.value(SSL_REJECT_HANDSHAKE, False):
                    raise _no_listen_certificate(server)


def _no_listen_certificate(server: ServerState) -> ConfigError:
    return ConfigError.after_reading(
        'no "ssl_certificate" is defined for the "listen ... ssl" directive', server.place
    )


def _listen(options: ListenOptions) -> Listen:
    return Listen(
        address=options.address,
        default_server=options.default_server,
        ssl=options.ssl,
        http2=options.http2,
        reuseport=options.reuseport,
        backlog=options.backlog,
        bind=options.bind,
        ipv6only=options.ipv6only,
        place=options.place,
    )
