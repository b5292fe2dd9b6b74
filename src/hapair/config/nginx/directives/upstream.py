"""`upstream` blocks and what goes in them, in http and stream (ngx_http_upstream.c, the least_conn and
keepalive modules, ngx_stream_upstream.c); and the groups nginx makes for a `proxy_pass` that names a host
(ngx_http_upstream_add)."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..errors import ConfigError
from ..fields import KEEPALIVE_REQUESTS, KEEPALIVE_TIME, KEEPALIVE_TIMEOUT
from ..flags import HTTP_UPS_CONF, STREAM_UPS_CONF, ModuleKind
from ..model.place import Place
from ..model.upstream import Balancing, UpstreamServer
from ..numbers import atoi, parse_time
from ..settings import Placed
from ..state import UpstreamState
from ..urls import Url, UrlError, UrlRules, parse_url
from . import setters


def upstream_add(
    upstreams: list[UpstreamState], url: Url, place: Place, *, explicit: bool, stream: bool = False
) -> UpstreamState:
    """The group named `url.host`, made if there is none yet (ngx_http_upstream_add,
    ngx_stream_upstream_add). Names compare without case; an implicit group is told apart by its port."""
    for found in upstreams:
        if found.name.lower() != url.host.lower():
            continue
        if explicit and found.explicit:
            raise ConfigError(f'duplicate upstream "{url.host}"', place)
        if found.explicit and not url.no_port:
            raise ConfigError(f'upstream "{url.host}" may not have port {url.port}', place)
        if explicit and not found.no_port:
            raise ConfigError.after_reading(
                f'upstream "{url.host}" may not have port {found.port}', found.place
            )
        if _other_port(found, url, stream):
            continue
        if explicit:
            found.explicit = True
            if not stream:
                found.port = 0
        return found
    made = UpstreamState(name=url.host, place=place, explicit=explicit, port=url.port, no_port=url.no_port)
    if len(url.addresses) == 1 and (url.port or url.unix):
        made.servers = [_implicit_server(url, place)]
    upstreams.append(made)
    return made


def _other_port(found: UpstreamState, url: Url, stream: bool) -> bool:
    if stream:
        return found.port != url.port
    return bool(found.port and url.port and found.port != url.port)


def _implicit_server(url: Url, place: Place) -> UpstreamServer:
    """nginx's one-address implicit group: a single peer whose failures are not counted."""
    address = url.addresses[0]
    return UpstreamServer(address.text, (address,), 1, 0, 0, False, False, place)


def _upstream_block(block: Block, directive: Directive, reading: Reading, *, stream: bool) -> None:
    upstreams = _upstreams(block, stream)
    url = Url(host=directive.args[0], no_port=True)
    group = upstream_add(upstreams, url, directive.place, explicit=True, stream=stream)
    group.servers = []
    kind, cmd_type = (ModuleKind.STREAM, STREAM_UPS_CONF) if stream else (ModuleKind.HTTP, HTTP_UPS_CONF)
    reading.parse_block(block.inner(kind, cmd_type, upstream=group))
    if not group.servers:
        raise ConfigError("no servers are inside upstream", reading.here())


def _upstreams(block: Block, stream: bool) -> list[UpstreamState]:
    if stream:
        assert block.stream is not None
        return block.stream.upstreams
    assert block.http is not None
    return block.http.upstreams


def http_upstream(block: Block, directive: Directive, reading: Reading) -> None:
    _upstream_block(block, directive, reading, stream=False)


def stream_upstream(block: Block, directive: Directive, reading: Reading) -> None:
    _upstream_block(block, directive, reading, stream=True)


def _server(block: Block, directive: Directive, *, stream: bool) -> None:
    """`server ADDRESS [weight=N] [max_fails=N] [fail_timeout=T] [backup] [down]`."""
    group = block.upstream
    assert group is not None and group.servers is not None
    weight, max_fails, fail_timeout, backup, down = 1, 1, 10, False, False
    for arg in directive.args[1:]:
        if arg.startswith("weight="):
            weight = atoi(arg[7:]) or 0
            if not weight:
                raise directive.error(f'invalid parameter "{arg}"')
        elif arg.startswith("max_conns="):
            raise directive.unsupported('the "max_conns=" parameter')
        elif arg.startswith("max_fails="):
            max_fails = _valid(directive, arg, atoi(arg[10:]))
        elif arg.startswith("fail_timeout="):
            fail_timeout = _valid(directive, arg, parse_time(arg[13:], seconds=True))
        elif arg in ("backup", "down"):
            backup, down = backup or arg == "backup", down or arg == "down"
        else:
            raise directive.error(f'invalid parameter "{arg}"')
    rules = UrlRules(default_port=0 if stream else 80)
    try:
        url = parse_url(directive.args[0], rules, block.main.system)
    except UrlError as exc:
        raise directive.error(f'{exc} in upstream "{directive.args[0]}"') from exc
    if stream and url.no_port:
        raise directive.error(f'no port in upstream "{directive.args[0]}"')
    server = UpstreamServer(
        directive.args[0],
        tuple(url.addresses),
        weight,
        max_fails,
        fail_timeout,
        backup,
        down,
        directive.place,
    )
    group.servers.append(server)


def _valid(directive: Directive, arg: str, value: int | None) -> int:
    if value is None:
        raise directive.error(f'invalid parameter "{arg}"')
    return value


def http_server(block: Block, directive: Directive, reading: Reading) -> None:
    _server(block, directive, stream=False)


def stream_server(block: Block, directive: Directive, reading: Reading) -> None:
    _server(block, directive, stream=True)


def least_conn(block: Block, directive: Directive, reading: Reading) -> None:
    group = block.upstream
    assert group is not None
    if group.method_set:
        reading.warn("load balancing method redefined", directive.place)
    group.balancing = Balancing.LEAST_CONN
    group.method_set = True
    group.keepalive_active = False  # nginx's keepalive wrapper is replaced: no connection is kept


def keepalive(block: Block, directive: Directive, reading: Reading) -> None:
    group = block.upstream
    assert group is not None
    if group.keepalive is not None:
        raise directive.invalid("is duplicate")
    count = atoi(directive.args[0])
    if not count:
        raise directive.error(f'invalid value "{directive.args[0]}" in "{directive.name}" directive')
    group.keepalive = Placed(count, directive.place)
    group.keepalive_active = True
    group.method_set = True


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_upstream_module", "upstream"): http_upstream,
    ("ngx_http_upstream_module", "server"): http_server,
    ("ngx_http_upstream_least_conn_module", "least_conn"): least_conn,
    ("ngx_http_upstream_keepalive_module", "keepalive"): keepalive,
    ("ngx_http_upstream_keepalive_module", "keepalive_timeout"): setters.msec(KEEPALIVE_TIMEOUT),
    ("ngx_http_upstream_keepalive_module", "keepalive_requests"): setters.number(KEEPALIVE_REQUESTS),
    ("ngx_http_upstream_keepalive_module", "keepalive_time"): setters.msec(KEEPALIVE_TIME),
    ("ngx_stream_upstream_module", "upstream"): stream_upstream,
    ("ngx_stream_upstream_module", "server"): stream_server,
    ("ngx_stream_upstream_least_conn_module", "least_conn"): least_conn,
}
