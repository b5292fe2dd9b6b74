"""The stream modules: `stream`, `server`, `listen`, `error_log`, `resolver`, `resolver_timeout`,
`tcp_nodelay`, `preread_buffer_size`, `preread_timeout` (ngx_stream.c, ngx_stream_core_module.c);
`proxy_pass` (an address, a group, or a value with variables), `proxy_connect_timeout`, `proxy_timeout`,
`proxy_next_upstream`, `proxy_next_upstream_tries`, `proxy_next_upstream_timeout`
(ngx_stream_proxy_module.c); `log_format`, `access_log` (ngx_stream_log_module.c); `allow`, `deny`
(ngx_stream_access_module.c); `ssl_preread` (ngx_stream_ssl_preread_module.c); `set_real_ip_from`
(ngx_stream_realip_module.c); `proxy_protocol`, `proxy_protocol_timeout`, `proxy_responses`,
`proxy_requests`. The modules making
variables are in stream_variables.py."""

from __future__ import annotations

from dataclasses import replace

from ..context import Block, Directive, Handler, Reading
from ..errors import ConfigError
from ..fields import RESOLVER_TIMEOUT, STREAM_PROXY_CONNECT_TIMEOUT, STREAM_PROXY_TIMEOUT
from ..finish.stream import finish_stream
from ..flags import STREAM_MAIN_CONF, STREAM_SRV_CONF, ModuleKind
from ..listen_options import socket_parameter
from ..model.addresses import UnixAddress
from ..numbers import atoi
from ..settings import Level, Placed
from ..state import StreamListenState, StreamServerState, StreamState
from ..stream_fields import (
    NEXT_UPSTREAM,
    NEXT_UPSTREAM_TIMEOUT,
    NEXT_UPSTREAM_TRIES,
    PREREAD_BUFFER_SIZE,
    PREREAD_TIMEOUT,
    PROXY_PROTOCOL,
    PROXY_PROTOCOL_TIMEOUT,
    PROXY_REQUESTS,
    PROXY_RESPONSES,
    SSL_PREREAD,
    TCP_NODELAY,
)
from ..urls import UrlError, UrlRules, parse_url
from ..variables import STREAM_CATALOG, VariableUses, compile_template, has_variables
from . import setters
from .http_access import access_rule
from .http_realip import set_real_ip_from
from .logs import access_log, level_error_log, log_format
from .resolver import resolver
from .upstream import upstream_add


def stream(block: Block, directive: Directive, reading: Reading) -> None:
    main = block.main
    if main.stream is not None:
        raise directive.invalid("is duplicate")
    main.modules_used = True
    state = StreamState(place=directive.place, level=Level(), variables=VariableUses(STREAM_CATALOG))
    main.stream = state
    reading.parse_block(block.inner(ModuleKind.STREAM, STREAM_MAIN_CONF, stream=state))
    main.stream_config = finish_stream(state, main)


def server(block: Block, directive: Directive, reading: Reading) -> None:
    stream_state = block.stream
    assert stream_state is not None
    state = StreamServerState(place=directive.place, level=Level(stream_state.level))
    stream_state.servers.append(state)
    reading.parse_block(block.inner(ModuleKind.STREAM, STREAM_SRV_CONF, stream_server=state))
    if not state.listens:
        raise ConfigError.after_reading('no "listen" is defined for server', state.place)


def listen(block: Block, directive: Directive, reading: Reading) -> None:
    stream_state, server_state = block.stream, block.stream_server
    assert stream_state is not None and server_state is not None
    text = directive.args[0]
    try:
        url = parse_url(text, UrlRules(listen=True), block.main.system)
    except UrlError as exc:
        raise directive.error(f'{exc} in "{text}" of the "listen" directive') from exc
    options = StreamListenState(url.addresses[0], directive.place)
    for arg in directive.args[1:]:
        _listen_parameter(directive, options, arg)
    if options.udp:
        _check_udp(directive, options)
    if options.ssl:
        server_state.ssl_listen = directive.place
    for address in url.addresses:
        if any(other.address == address and other.udp == options.udp for other in stream_state.listens):
            raise directive.error(f'duplicate "{address.text}" address and port pair')
        declared = replace(options, address=address)
        stream_state.listens.append(declared)
        server_state.listens.append(declared)


def _listen_parameter(directive: Directive, options: StreamListenState, arg: str) -> None:
    socket_options = socket_parameter(directive, arg, options.socket)
    if socket_options is not None:
        options.socket = socket_options
        options.bind = True
    elif arg == "udp":
        options.udp = True
    elif arg == "bind":
        options.bind = True
    elif arg == "reuseport":
        options.reuseport = options.bind = True
    elif arg.startswith("backlog="):
        backlog = atoi(arg[8:])
        if not backlog:
            raise directive.error(f'invalid backlog "{arg}"')
        options.backlog = backlog
        options.backlog_given = options.bind = True
    elif arg.startswith("ipv6only=o"):
        if arg[10:] not in ("n", "ff"):
            raise directive.error(f'invalid ipv6only flags "{arg[9:]}"')
        options.ipv6only = arg[10:] == "n"
        options.bind = True
    elif arg == "proxy_protocol":
        options.proxy_protocol = True
    elif arg == "ssl":
        options.ssl = True
    else:
        raise directive.error(f'the invalid "{arg}" parameter')


def _check_udp(directive: Directive, options: StreamListenState) -> None:
    """The parameters a datagram socket cannot have, in nginx's order."""
    incompatible = (
        ("backlog", options.backlog_given),
        ("ssl", options.ssl),
        ("so_keepalive", options.socket.keepalive is not None),
        ("proxy_protocol", options.proxy_protocol),
        ("fastopen", options.socket.fastopen is not None),
    )
    for name, given in incompatible:
        if given:
            raise directive.invalid(f'"{name}" parameter is incompatible with "udp"')
    if isinstance(options.address, UnixAddress):
        raise directive.unsupported('"udp" on a unix socket')


def proxy_pass(block: Block, directive: Directive, reading: Reading) -> None:
    stream_state, server_state = block.stream, block.stream_server
    assert stream_state is not None and server_state is not None
    if server_state.proxy_pass is not None:
        raise directive.invalid("is duplicate")
    text = directive.args[0]
    if has_variables(text):
        template = compile_template(text, stream_state.variables, directive.place, directive.place)
        server_state.proxy_pass = Placed(template, directive.place)
        return
    try:
        url = parse_url(text, UrlRules(no_resolve=True), block.main.system)
    except UrlError as exc:
        raise directive.error(f'{exc} in upstream "{text}"') from exc
    group = upstream_add(stream_state.upstreams, url, directive.place, explicit=False, stream=True)
    server_state.proxy_pass = Placed(group, directive.place)


def stream_log_format(block: Block, directive: Directive, reading: Reading) -> None:
    assert block.stream is not None
    log_format(block.stream.log_formats, block.stream.variables, directive)


def stream_access_log(block: Block, directive: Directive, reading: Reading) -> None:
    assert block.stream is not None
    access_log(block, directive, block.stream.log_formats, block.stream.variables, default_format=False)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_stream_module", "stream"): stream,
    ("ngx_stream_core_module", "server"): server,
    ("ngx_stream_core_module", "listen"): listen,
    ("ngx_stream_core_module", "error_log"): level_error_log,
    ("ngx_stream_core_module", "resolver"): resolver,
    ("ngx_stream_core_module", "resolver_timeout"): setters.msec(RESOLVER_TIMEOUT),
    ("ngx_stream_core_module", "tcp_nodelay"): setters.flag(TCP_NODELAY),
    ("ngx_stream_core_module", "preread_buffer_size"): setters.size(PREREAD_BUFFER_SIZE),
    ("ngx_stream_core_module", "preread_timeout"): setters.msec(PREREAD_TIMEOUT),
    ("ngx_stream_proxy_module", "proxy_pass"): proxy_pass,
    ("ngx_stream_proxy_module", "proxy_connect_timeout"): setters.msec(STREAM_PROXY_CONNECT_TIMEOUT),
    ("ngx_stream_proxy_module", "proxy_timeout"): setters.msec(STREAM_PROXY_TIMEOUT),
    ("ngx_stream_proxy_module", "proxy_next_upstream"): setters.flag(NEXT_UPSTREAM),
    ("ngx_stream_proxy_module", "proxy_next_upstream_tries"): setters.number(NEXT_UPSTREAM_TRIES),
    ("ngx_stream_proxy_module", "proxy_next_upstream_timeout"): setters.msec(NEXT_UPSTREAM_TIMEOUT),
    ("ngx_stream_proxy_module", "proxy_responses"): setters.number(PROXY_RESPONSES),
    ("ngx_stream_proxy_module", "proxy_protocol"): setters.flag(PROXY_PROTOCOL),
    ("ngx_stream_core_module", "proxy_protocol_timeout"): setters.msec(PROXY_PROTOCOL_TIMEOUT),
    ("ngx_stream_realip_module", "set_real_ip_from"): set_real_ip_from,
    ("ngx_stream_proxy_module", "proxy_requests"): setters.number(PROXY_REQUESTS),
    ("ngx_stream_log_module", "log_format"): stream_log_format,
    ("ngx_stream_log_module", "access_log"): stream_access_log,
    ("ngx_stream_access_module", "allow"): access_rule,
    ("ngx_stream_access_module", "deny"): access_rule,
    ("ngx_stream_ssl_preread_module", "ssl_preread"): setters.flag(SSL_PREREAD),
}
