"""`upstream` blocks and what goes in them, in http and stream (ngx_http_upstream.c, the least_conn,
ip_hash, hash, random, zone and keepalive modules, ngx_stream_upstream.c and its twins); and the groups
nginx makes for a `proxy_pass` that names a host (ngx_http_upstream_add).

A balancing method directive replaces the one before it (`load balancing method redefined`, also after
`keepalive`, which it then disables) and decides which `server` parameters the lines after it may have:
`ip_hash`, `hash` and `random` refuse `backup` ("balancing method does not support parameter"), while a
`backup` server written before them is kept, as nginx keeps it. `ip_hash` exists in http only.
"""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..errors import ConfigError
from ..fields import KEEPALIVE_REQUESTS, KEEPALIVE_TIME, KEEPALIVE_TIMEOUT
from ..flags import HTTP_UPS_CONF, STREAM_UPS_CONF, ModuleKind
from ..model.place import Place
from ..model.upstream import Balancing, UpstreamServer
from ..numbers import atoi, parse_size, parse_time
from ..settings import Placed
from ..state import UpstreamState
from ..urls import Url, UrlError, UrlRules, parse_url
from ..variables import compile_template
from ..zones import MIN_ZONE_SIZE, shared_memory_add
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
    """`server ADDRESS [weight=N] [max_conns=N] [max_fails=N] [fail_timeout=T] [backup] [down]`."""
    group = block.upstream
    assert group is not None and group.servers is not None
    weight, max_conns, max_fails, fail_timeout, backup, down = 1, 0, 1, 10, False, False
    for arg in directive.args[1:]:
        if arg.startswith("weight="):
            weight = atoi(arg[7:]) or 0
            if not weight:
                raise directive.error(f'invalid parameter "{arg}"')
        elif arg.startswith("max_conns="):
            max_conns = _valid(directive, arg, atoi(arg[10:]))
        elif arg.startswith("max_fails="):
            max_fails = _valid(directive, arg, atoi(arg[10:]))
        elif arg.startswith("fail_timeout="):
            fail_timeout = _valid(directive, arg, parse_time(arg[13:], seconds=True))
        elif arg == "backup":
            if not group.backup_allowed:
                raise directive.error(f'balancing method does not support parameter "{arg}"')
            backup = True
        elif arg == "down":
            down = True
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
        max_conns,
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


def _method(group: UpstreamState, directive: Directive, reading: Reading, balancing: Balancing) -> None:
    """What every balancing method directive does first: the warning when one was set before (or
    `keepalive`, whose wrapper it replaces: no connection is kept then), and the method's flags."""
    if group.method_set:
        reading.warn("load balancing method redefined", directive.place)
    group.balancing = balancing
    group.method_set = True
    group.keepalive_active = False
    group.backup_allowed = balancing is Balancing.LEAST_CONN
    group.hash_key = None


def _group(block: Block) -> UpstreamState:
    group = block.upstream
    assert group is not None
    return group


def least_conn(block: Block, directive: Directive, reading: Reading) -> None:
    _method(_group(block), directive, reading, Balancing.LEAST_CONN)


def ip_hash(block: Block, directive: Directive, reading: Reading) -> None:
    _method(_group(block), directive, reading, Balancing.IP_HASH)


def hash_method(block: Block, directive: Directive, reading: Reading) -> None:
    """`hash KEY [consistent]`: the key is compiled first (its errors come before the warning), the
    second parameter checked last."""
    group = _group(block)
    kind = block.stream if block.stream is not None else block.http
    assert kind is not None
    key = compile_template(directive.args[0], kind.variables, directive.place, directive.place)
    consistent = len(directive.args) == 2
    _method(group, directive, reading, Balancing.CONSISTENT_HASH if consistent else Balancing.HASH)
    if consistent and directive.args[1] != "consistent":
        raise directive.error(f'invalid parameter "{directive.args[1]}"')
    group.hash_key = key


def random_method(block: Block, directive: Directive, reading: Reading) -> None:
    """`random [two [least_conn]]`: `least_conn` is the only (and the default) way to choose of two."""
    group = _group(block)
    two = bool(directive.args)
    _method(group, directive, reading, Balancing.RANDOM_TWO if two else Balancing.RANDOM)
    for arg, allowed in zip(directive.args, ("two", "least_conn"), strict=False):
        if arg != allowed:
            raise directive.error(f'invalid parameter "{arg}"')


def _zone(block: Block, directive: Directive, tag: str) -> None:
    """`zone NAME [SIZE]`: the group's shared memory zone (the size may come from another group's)."""
    group = _group(block)
    name = directive.args[0]
    if not name:
        raise directive.error(f'invalid zone name "{name}"')
    size = 0
    if len(directive.args) == 2:
        parsed = parse_size(directive.args[1])
        if parsed is None:
            raise directive.error(f'invalid zone size "{directive.args[1]}"')
        if parsed < MIN_ZONE_SIZE:
            raise directive.error(f'zone "{name}" is too small')
        size = parsed
    shared_memory_add(block.main, name, size, tag, directive.place)
    group.zone = name


def http_zone(block: Block, directive: Directive, reading: Reading) -> None:
    _zone(block, directive, "ngx_http_upstream_module")


def stream_zone(block: Block, directive: Directive, reading: Reading) -> None:
    _zone(block, directive, "ngx_stream_upstream_module")


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
    ("ngx_http_upstream_ip_hash_module", "ip_hash"): ip_hash,
    ("ngx_http_upstream_hash_module", "hash"): hash_method,
    ("ngx_http_upstream_random_module", "random"): random_method,
    ("ngx_http_upstream_zone_module", "zone"): http_zone,
    ("ngx_http_upstream_keepalive_module", "keepalive"): keepalive,
    ("ngx_http_upstream_keepalive_module", "keepalive_timeout"): setters.msec(KEEPALIVE_TIMEOUT),
    ("ngx_http_upstream_keepalive_module", "keepalive_requests"): setters.number(KEEPALIVE_REQUESTS),
    ("ngx_http_upstream_keepalive_module", "keepalive_time"): setters.msec(KEEPALIVE_TIME),
    ("ngx_stream_upstream_module", "upstream"): stream_upstream,
    ("ngx_stream_upstream_module", "server"): stream_server,
    ("ngx_stream_upstream_least_conn_module", "least_conn"): least_conn,
    ("ngx_stream_upstream_hash_module", "hash"): hash_method,
    ("ngx_stream_upstream_random_module", "random"): random_method,
    ("ngx_stream_upstream_zone_module", "zone"): stream_zone,
}
