"""The http core: `http`, `server`, `listen`, `server_name`, `location`, `client_max_body_size`,
`error_log`, the client's timeouts, buffers and header rules (ngx_http.c, ngx_http_core_module.c), and
Debian's `max_headers` (its ngx_http_header_count_module)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace

from ..context import Block, Directive, Handler, Reading
from ..errors import ConfigError
from ..fields import (
    ABSOLUTE_REDIRECT,
    CHUNKED_TRANSFER_ENCODING,
    CLIENT_BODY_BUFFER_SIZE,
    CLIENT_BODY_TEMP_PATH,
    CLIENT_BODY_TIMEOUT,
    CLIENT_HEADER_BUFFER_SIZE,
    CLIENT_HEADER_TIMEOUT,
    CLIENT_MAX_BODY_SIZE,
    DEFAULT_TYPE,
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
    RECURSIVE_ERROR_PAGES,
    RESET_TIMEDOUT_CONNECTION,
    SCGI_TEMP_PATH,
    SEND_TIMEOUT,
    SERVER_NAME_IN_REDIRECT,
    SERVER_NAMES_HASH_BUCKET_SIZE,
    SERVER_NAMES_HASH_MAX_SIZE,
    SERVER_TOKENS,
    TYPES,
    TYPES_HASH_BUCKET_SIZE,
    TYPES_HASH_MAX_SIZE,
    UNDERSCORES_IN_HEADERS,
    UWSGI_TEMP_PATH,
    VARIABLES_HASH_BUCKET_SIZE,
    VARIABLES_HASH_MAX_SIZE,
)
from ..finish.http import COMBINED, finish_http
from ..flags import HTTP_LOC_CONF, HTTP_MAIN_CONF, HTTP_SRV_CONF, ModuleKind
from ..listen_options import socket_parameter
from ..model.addresses import InetAddress, SocketAddress, UnixAddress
from ..model.http import ErrorPage, LocationMatch
from ..model.place import Place
from ..numbers import atoi, parse_time
from ..settings import Level
from ..state import AddressState, HttpState, ListenOptions, LocationState, PortState, ServerState
from ..urls import UrlError, UrlRules, parse_url
from ..variables import HTTP_CATALOG, VariableUses, compile_template
from . import setters
from .logs import level_error_log
from .regex import compile_regex

_LOCATION_MODIFIERS = {
    "=": LocationMatch.EXACT,
    "^~": LocationMatch.PREFIX_NO_REGEX,
    "~": LocationMatch.REGEX,
    "~*": LocationMatch.REGEX_CASELESS,
}
_REGEX_MATCHES = (LocationMatch.REGEX, LocationMatch.REGEX_CASELESS)


def http(block: Block, directive: Directive, reading: Reading) -> None:
    if block.main.http is not None:
        raise directive.invalid("is duplicate")
    inner = open_http(block, directive.place)
    reading.parse_block(inner)
    close_http(inner, reading.here(), reading)


def open_http(block: Block, place: Place) -> Block:
    """The start of the http block (ngx_http_block before its directives): the block to read them in."""
    main = block.main
    main.modules_used = True
    state = HttpState(
        place=place,
        level=Level(),
        variables=VariableUses(HTTP_CATALOG),
        log_formats={COMBINED.name: COMBINED},
    )
    main.http = state
    return block.inner(ModuleKind.HTTP, HTTP_MAIN_CONF, http=state)


def close_http(block: Block, end: Place, reading: Reading) -> None:
    """The end of the http block, `end` being where nginx then is in the files."""
    assert block.http is not None
    block.main.http_config = finish_http(block.http, block.main, end, reading)


def server(block: Block, directive: Directive, reading: Reading) -> None:
    http_state = block.http
    assert http_state is not None
    state = ServerState(place=directive.place, level=Level(http_state.level))
    http_state.servers.append(state)
    reading.parse_block(block.inner(ModuleKind.HTTP, HTTP_SRV_CONF, server=state))
    if not state.names:
        state.names.append("")  # nginx's name for a server without server_name
    if not state.listens:
        port = 80 if block.main.system.is_root() else 8000
        default = ListenOptions(InetAddress(ipaddress.IPv4Address(0), port), place=None)
        state.listens.append(default)
        add_listen(http_state, state, default, reading.here())


def listen(block: Block, directive: Directive, reading: Reading) -> None:
    http_state, server_state = block.http, block.server
    assert http_state is not None and server_state is not None
    text = directive.args[0]
    try:
        url = parse_url(text, UrlRules(listen=True, default_port=80), block.main.system)
    except UrlError as exc:
        raise directive.error(f'{exc} in "{text}" of the "listen" directive') from exc
    options = ListenOptions(url.addresses[0], directive.place)
    for arg in directive.args[1:]:
        _listen_parameter(directive, options, arg)
    for address in url.addresses:
        declared = replace(options, address=address)
        server_state.listens.append(declared)
        add_listen(http_state, server_state, declared, directive.place)


def _listen_parameter(directive: Directive, options: ListenOptions, arg: str) -> None:
    if arg in ("default_server", "default"):
        options.default_server = True
    elif arg == "bind":
        options.set = options.bind = True
    elif arg == "reuseport":
        options.reuseport = options.set = options.bind = True
    elif arg.startswith("backlog="):
        backlog = atoi(arg[8:])
        if not backlog:
            raise directive.error(f'invalid backlog "{arg}"')
        options.backlog = backlog
        options.set = options.bind = True
    elif arg.startswith("ipv6only=o"):
        if arg[10:] not in ("n", "ff"):
            raise directive.error(f'invalid ipv6only flags "{arg[9:]}"')
        options.ipv6only = arg[10:] == "n"
        options.set = options.bind = True
    elif arg == "ssl":
        options.ssl = True
    elif arg == "http2":
        options.http2 = True
    elif arg == "proxy_protocol":
        options.proxy_protocol = True
    elif arg == "deferred":
        options.deferred = options.set = options.bind = True
    elif (socket_options := socket_parameter(directive, arg, options.socket)) is not None:
        options.socket = socket_options
        options.set = options.bind = True
    elif arg in _UNSUPPORTED_LISTEN or arg.split("=", 1)[0] + "=" in _UNSUPPORTED_LISTEN:
        raise directive.unsupported(f'the "{arg.split("=", 1)[0]}" parameter')
    else:
        raise directive.error(f'invalid parameter "{arg}"')


_UNSUPPORTED_LISTEN = frozenset(
    {
        "accept_filter=",
    }
)


def _same_address(one: SocketAddress, two: SocketAddress) -> bool:
    """ngx_cmp_sockaddr without the port."""
    if isinstance(one, UnixAddress) or isinstance(two, UnixAddress):
        return one == two
    return one.ip == two.ip


def _port_of(address: SocketAddress) -> int:
    return address.port if isinstance(address, InetAddress) else 0


def add_listen(
    http_state: HttpState, server_state: ServerState, options: ListenOptions, place: Place
) -> None:
    """ngx_http_add_listen: the servers of each address:port, and the one `listen` that sets the
    socket's options."""
    port = _port_of(options.address)
    found = next((p for p in http_state.ports if p.port == port and p.family == options.address.family), None)
    if found is None:
        found = PortState(options.address.family, port)
        http_state.ports.append(found)
    for address in found.addresses:
        if _same_address(address.options.address, options.address):
            _add_to_address(address, server_state, options, place)
            return
    found.addresses.append(AddressState(replace(options), [server_state], server_state))


def _add_to_address(
    address: AddressState, server_state: ServerState, options: ListenOptions, place: Place
) -> None:
    if server_state in address.servers:
        raise ConfigError(f"a duplicate listen {address.options.address.text}", place)
    address.servers.append(server_state)
    default_server = address.options.default_server
    ssl = options.ssl or address.options.ssl
    http2 = options.http2 or address.options.http2
    proxy_protocol = options.proxy_protocol or address.options.proxy_protocol
    if options.set:
        if address.options.set:
            raise ConfigError(f"duplicate listen options for {address.options.address.text}", place)
        address.options = replace(options)
    if options.default_server:
        if default_server:
            raise ConfigError(f"a duplicate default server for {address.options.address.text}", place)
        default_server = True
        address.default_server = server_state
    address.options.default_server = default_server
    address.options.ssl = ssl
    address.options.http2 = http2
    address.options.proxy_protocol = proxy_protocol


def server_name(block: Block, directive: Directive, reading: Reading) -> None:
    server_state, http_state = block.server, block.http
    assert server_state is not None and http_state is not None
    for name in directive.args:
        if (name.startswith("*") and (len(name) < 3 or name[1] != ".")) or (
            name.startswith(".") and len(name) < 2
        ):
            raise directive.error(f'server name "{name}" is invalid')
        if "/" in name:
            reading.warn(f'server name "{name}" has suspicious symbols', directive.place)
        if name.lower() == "$hostname":
            server_state.names.append(block.main.system.hostname().lower())
        elif not name.startswith("~"):
            server_state.names.append(name.lower())
        else:
            if len(name) == 1:
                raise directive.error(f'empty regex in server name "{name}"')
            caseless = any("A" <= ch <= "Z" for ch in name[1:])
            pattern = compile_regex(name[1:], caseless=caseless, place=directive.place)
            for group in pattern.groupindex:
                http_state.variables.define(group)
            server_state.captures = server_state.captures or pattern.groups > 0
            server_state.names.append(name)


def location(block: Block, directive: Directive, reading: Reading) -> None:
    http_state = block.http
    assert http_state is not None
    match, name = _location_match(directive)
    pattern: re.Pattern[str] | None = None
    if match in _REGEX_MATCHES:
        pattern = compile_regex(name, caseless=match is LocationMatch.REGEX_CASELESS, place=directive.place)
        for group in pattern.groupindex:
            http_state.variables.define(group)
    parent = block.location
    if parent is not None:
        _check_nesting(directive, parent, match, name)
    enclosing = parent if parent is not None else block.server
    assert enclosing is not None
    state = LocationState(directive.place, match, name, pattern, Level(enclosing.level))
    enclosing.locations.append(state)
    reading.parse_block(block.inner(ModuleKind.HTTP, HTTP_LOC_CONF, location=state))


def _location_match(directive: Directive) -> tuple[LocationMatch, str]:
    args = directive.args
    if len(args) == 2:
        match = _LOCATION_MODIFIERS.get(args[0])
        if match is None:
            raise directive.error(f'invalid location modifier "{args[0]}"')
        return match, args[1]
    name = args[0]
    for modifier in ("=", "^~", "~*", "~"):
        if name.startswith(modifier):
            return _LOCATION_MODIFIERS[modifier], name[len(modifier) :]
    if name.startswith("@"):
        return LocationMatch.NAMED, name
    return LocationMatch.PREFIX, name


def _check_nesting(directive: Directive, parent: LocationState, match: LocationMatch, name: str) -> None:
    if parent.match is LocationMatch.EXACT:
        raise directive.error(f'location "{name}" cannot be inside the exact location "{parent.name}"')
    if parent.match is LocationMatch.NAMED:
        raise directive.error(f'location "{name}" cannot be inside the named location "{parent.name}"')
    if match is LocationMatch.NAMED:
        raise directive.error(f'named location "{name}" can be on the server level only')
    if match not in _REGEX_MATCHES and not name.startswith(parent.name):
        raise directive.error(f'location "{name}" is outside location "{parent.name}"')


def types(block: Block, directive: Directive, reading: Reading) -> None:
    """`types { type ext...; }`: extensions in lower case, a repeated one with nginx's warning; a second
    `types` in the same block adds to the first."""
    level = block.level()
    here = level.here(TYPES)
    table = here.value if here is not None else {}
    if here is None:
        level.set(TYPES, table, directive.place)

    def line(words: list[str], place: Place) -> None:
        if words[0] == "include":
            if len(words) != 2:
                raise ConfigError('invalid number of arguments in "include" directive', place)
            reading.include(words[1], line)
            return
        content_type = words[0]
        for extension in (word.lower() for word in words[1:]):
            old = table.get(extension)
            if old is not None:
                reading.warn(
                    f'duplicate extension "{extension}", content type: "{content_type}", '
                    f'previous content type: "{old}"',
                    place,
                )
            table[extension] = content_type

    reading.parse_lines(line)


def error_page(block: Block, directive: Directive, reading: Reading) -> None:
    """`error_page code ... [=[response]] uri` (ngx_http_core_error_page)."""
    args = directive.args
    overwrite, codes_end = -1, len(args) - 1
    if args[-2].startswith("="):
        if len(args) == 2:
            raise directive.error(f'invalid value "{args[-2]}"')
        overwrite = 0
        if len(args[-2]) > 1:
            found = atoi(args[-2][1:])
            if found is None:
                raise directive.error(f'invalid value "{args[-2]}"')
            overwrite = found
        codes_end = len(args) - 2
    target_text = args[-1]
    assert block.http is not None
    target = compile_template(target_text, block.http.variables, directive.place, directive.place)
    query: str | None = None
    if target.constant_text is not None and target_text.startswith("/") and "?" in target_text:
        uri, _, query = target_text.partition("?")
        target = compile_template(uri, block.http.variables, directive.place, directive.place)
    level = block.level()
    here = level.here(ERROR_PAGES)
    pages = list(here.value) if here is not None else []
    for code in args[:codes_end]:
        status = atoi(code)
        if status is None or status == 499:
            raise directive.error(f'invalid value "{code}"')
        if not 300 <= status <= 599:
            raise directive.error(f'value "{code}" must be between 300 and 599')
        replaced = overwrite
        if overwrite == -1 and status in _ANSWERED_AS_400:
            replaced = 400
        pages.append(ErrorPage(status, replaced, target, query, directive.place))
    level.set(ERROR_PAGES, tuple(pages), here.place if here is not None else directive.place)


_ANSWERED_AS_400 = frozenset({494, 495, 496, 497})


def internal(block: Block, directive: Directive, reading: Reading) -> None:
    block.level().set(INTERNAL, True, directive.place)


def msie_refresh(block: Block, directive: Directive, reading: Reading) -> None:
    """Off is nginx's default and hapair's only way: it sends no refresh page to MSIE."""
    value = directive.args[0].lower()
    if value not in ("on", "off"):
        raise directive.error(
            f'invalid value "{directive.args[0]}" in "{directive.name}" directive, it must be "on" or "off"'
        )
    if value == "on":
        raise directive.unsupported('"on"')


def keepalive_timeout(block: Block, directive: Directive, reading: Reading) -> None:
    """`keepalive_timeout timeout [header_timeout]` (ngx_http_core_keepalive)."""
    level = block.level()
    if level.here(KEEPALIVE_TIMEOUT) is not None:
        raise directive.invalid("is duplicate")
    timeout = parse_time(directive.args[0], seconds=False)
    if timeout is None:
        raise directive.invalid("invalid value")
    level.set(KEEPALIVE_TIMEOUT, timeout, directive.place)
    if len(directive.args) == 1:
        return
    header = parse_time(directive.args[1], seconds=True)
    if header is None:
        raise directive.invalid("invalid value")
    level.set(KEEPALIVE_HEADER, header, directive.place)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_module", "http"): http,
    ("ngx_http_core_module", "server"): server,
    ("ngx_http_core_module", "listen"): listen,
    ("ngx_http_core_module", "server_name"): server_name,
    ("ngx_http_core_module", "location"): location,
    ("ngx_http_core_module", "client_max_body_size"): setters.offset(CLIENT_MAX_BODY_SIZE),
    ("ngx_http_core_module", "client_header_timeout"): setters.msec(CLIENT_HEADER_TIMEOUT),
    ("ngx_http_core_module", "client_body_timeout"): setters.msec(CLIENT_BODY_TIMEOUT),
    ("ngx_http_core_module", "client_body_buffer_size"): setters.size(CLIENT_BODY_BUFFER_SIZE),
    ("ngx_http_core_module", "client_body_temp_path"): setters.path(CLIENT_BODY_TEMP_PATH),
    ("ngx_http_fastcgi_module", "fastcgi_temp_path"): setters.path(FASTCGI_TEMP_PATH),
    ("ngx_http_uwsgi_module", "uwsgi_temp_path"): setters.path(UWSGI_TEMP_PATH),
    ("ngx_http_scgi_module", "scgi_temp_path"): setters.path(SCGI_TEMP_PATH),
    ("ngx_http_core_module", "send_timeout"): setters.msec(SEND_TIMEOUT),
    ("ngx_http_core_module", "keepalive_timeout"): keepalive_timeout,
    ("ngx_http_core_module", "keepalive_requests"): setters.number(KEEPALIVE_REQUESTS),
    ("ngx_http_core_module", "error_log"): level_error_log,
    ("ngx_http_core_module", "types"): types,
    ("ngx_http_core_module", "default_type"): setters.string(DEFAULT_TYPE),
    ("ngx_http_core_module", "types_hash_max_size"): setters.number(TYPES_HASH_MAX_SIZE),
    ("ngx_http_core_module", "server_names_hash_max_size"): setters.number(SERVER_NAMES_HASH_MAX_SIZE),
    ("ngx_http_core_module", "server_names_hash_bucket_size"): setters.number(SERVER_NAMES_HASH_BUCKET_SIZE),
    ("ngx_http_core_module", "variables_hash_max_size"): setters.number(VARIABLES_HASH_MAX_SIZE),
    ("ngx_http_core_module", "variables_hash_bucket_size"): setters.number(VARIABLES_HASH_BUCKET_SIZE),
    ("ngx_http_core_module", "types_hash_bucket_size"): setters.number(TYPES_HASH_BUCKET_SIZE),
    ("ngx_http_core_module", "error_page"): error_page,
    ("ngx_http_core_module", "recursive_error_pages"): setters.flag(RECURSIVE_ERROR_PAGES),
    ("ngx_http_core_module", "internal"): internal,
    ("ngx_http_core_module", "absolute_redirect"): setters.flag(ABSOLUTE_REDIRECT),
    ("ngx_http_core_module", "port_in_redirect"): setters.flag(PORT_IN_REDIRECT),
    ("ngx_http_core_module", "server_name_in_redirect"): setters.flag(SERVER_NAME_IN_REDIRECT),
    ("ngx_http_core_module", "msie_padding"): setters.flag(MSIE_PADDING),
    ("ngx_http_core_module", "chunked_transfer_encoding"): setters.flag(CHUNKED_TRANSFER_ENCODING),
    ("ngx_http_core_module", "msie_refresh"): msie_refresh,
    ("ngx_http_core_module", "server_tokens"): setters.choice(SERVER_TOKENS, ("off", "on", "build")),
    ("ngx_http_core_module", "client_header_buffer_size"): setters.size(CLIENT_HEADER_BUFFER_SIZE),
    ("ngx_http_core_module", "large_client_header_buffers"): setters.bufs(LARGE_CLIENT_HEADER_BUFFERS),
    ("ngx_http_core_module", "underscores_in_headers"): setters.flag(UNDERSCORES_IN_HEADERS),
    ("ngx_http_core_module", "ignore_invalid_headers"): setters.flag(IGNORE_INVALID_HEADERS),
    ("ngx_http_core_module", "lingering_close"): setters.choice(LINGERING_CLOSE, ("off", "on", "always")),
    ("ngx_http_core_module", "lingering_time"): setters.msec(LINGERING_TIME),
    ("ngx_http_core_module", "lingering_timeout"): setters.msec(LINGERING_TIMEOUT),
    ("ngx_http_core_module", "reset_timedout_connection"): setters.flag(RESET_TIMEDOUT_CONNECTION),
    ("ngx_http_header_count_module", "max_headers"): setters.number(MAX_HEADERS),
}
