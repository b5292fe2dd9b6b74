"""The limit_conn module: `limit_conn_zone`, `limit_conn`, `limit_conn_log_level`, `limit_conn_status`,
`limit_conn_dry_run` (ngx_http_limit_conn_module.c), with nginx's checks and messages."""

from __future__ import annotations

from ..access_fields import LIMIT_CONN, LIMIT_CONN_DRY_RUN, LIMIT_CONN_LOG_LEVEL, LIMIT_CONN_STATUS
from ..context import Block, Directive, Handler, Reading
from ..model.access import LimitConn, LimitZone, ZoneKind
from ..numbers import atoi
from ..variables import compile_template
from . import setters
from .limits import bind_zone, log_level, status, use_zone, zone_parameter

TAG = ZoneKind.LIMIT_CONN.value
MAX_CONNECTIONS = 65535  # the counter of a key is 16 bits wide


def limit_conn_zone(block: Block, directive: Directive, reading: Reading) -> None:
    """`limit_conn_zone KEY zone=NAME:SIZE`."""
    assert block.http is not None
    key = compile_template(directive.args[0], block.http.variables, directive.place, directive.place)
    name, size = "", 0
    for arg in directive.args[1:]:
        if not arg.startswith("zone="):
            raise directive.error(f'invalid parameter "{arg}"')
        name, size = zone_parameter(directive, arg)
    if not name:
        raise directive.error(f'"{directive.name}" must have "zone" parameter')
    bind_zone(block, directive, LimitZone(name, ZoneKind.LIMIT_CONN, size, key, 0, directive.place))


def limit_conn(block: Block, directive: Directive, reading: Reading) -> None:
    """`limit_conn ZONE NUMBER`, added to the level's limits."""
    zone, number = directive.args
    use_zone(block, directive, zone, TAG)
    level = block.level()
    here = level.here(LIMIT_CONN)
    before = here.value if here is not None else ()
    if any(limit.zone == zone for limit in before):
        raise directive.invalid("is duplicate")
    connections = atoi(number)
    if not connections:
        raise directive.error(f'invalid number of connections "{number}"')
    if connections > MAX_CONNECTIONS:
        raise directive.error("connection limit must be less 65536")
    limit = LimitConn(zone, connections)
    level.set(LIMIT_CONN, (*before, limit), here.place if here is not None else directive.place)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_limit_conn_module", "limit_conn_zone"): limit_conn_zone,
    ("ngx_http_limit_conn_module", "limit_conn"): limit_conn,
    ("ngx_http_limit_conn_module", "limit_conn_log_level"): log_level(LIMIT_CONN_LOG_LEVEL),
    ("ngx_http_limit_conn_module", "limit_conn_status"): status(LIMIT_CONN_STATUS),
    ("ngx_http_limit_conn_module", "limit_conn_dry_run"): setters.flag(LIMIT_CONN_DRY_RUN),
}
