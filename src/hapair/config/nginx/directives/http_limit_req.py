"""The limit_req module: `limit_req_zone`, `limit_req`, `limit_req_log_level`, `limit_req_status`,
`limit_req_dry_run` (ngx_http_limit_req_module.c), with nginx's checks and messages."""

from __future__ import annotations

from ..access_fields import LIMIT_REQ, LIMIT_REQ_DRY_RUN, LIMIT_REQ_LOG_LEVEL, LIMIT_REQ_STATUS
from ..context import Block, Directive, Handler, Reading
from ..model.access import LimitReq, LimitZone, ZoneKind
from ..numbers import MAX_INT, atoi
from ..variables import compile_template
from . import setters
from .limits import bind_zone, log_level, status, use_zone, zone_parameter

TAG = ZoneKind.LIMIT_REQ.value
_NODELAY = MAX_INT // 1000  # nginx's delay for `nodelay`: never reached


def limit_req_zone(block: Block, directive: Directive, reading: Reading) -> None:
    """`limit_req_zone KEY zone=NAME:SIZE rate=N(r/s|r/m)`, parameters in any order."""
    assert block.http is not None
    key = compile_template(directive.args[0], block.http.variables, directive.place, directive.place)
    name, size, rate, scale = "", 0, 1, 1
    for arg in directive.args[1:]:
        if arg.startswith("zone="):
            name, size = zone_parameter(directive, arg)
        elif arg.startswith("rate="):
            rate, scale = _rate(directive, arg)
        else:
            raise directive.error(f'invalid parameter "{arg}"')
    if not name:
        raise directive.error(f'"{directive.name}" must have "zone" parameter')
    zone = LimitZone(name, ZoneKind.LIMIT_REQ, size, key, rate * 1000 // scale, directive.place)
    bind_zone(block, directive, zone)


def _rate(directive: Directive, arg: str) -> tuple[int, int]:
    """`rate=N`, `rate=Nr/s` or `rate=Nr/m`: the number and the seconds it is counted over."""
    number, scale = arg[5:], 1
    if arg.endswith("r/s"):
        number = arg[5:-3]
    elif arg.endswith("r/m"):
        number, scale = arg[5:-3], 60
    rate = atoi(number)
    if not rate:
        raise directive.error(f'invalid rate "{arg}"')
    return rate, scale


def limit_req(block: Block, directive: Directive, reading: Reading) -> None:
    """`limit_req zone=NAME [burst=N] [nodelay | delay=N]`, added to the level's limits."""
    zone: str | None = None
    burst = delay = 0
    for arg in directive.args:
        if arg.startswith("zone="):
            zone = arg[5:]
            use_zone(block, directive, zone, TAG)
        elif arg.startswith("burst="):
            burst = _positive(directive, arg, "burst")
        elif arg.startswith("delay="):
            delay = _positive(directive, arg, "delay")
        elif arg == "nodelay":
            delay = _NODELAY
        else:
            raise directive.error(f'invalid parameter "{arg}"')
    if zone is None:
        raise directive.error(f'"{directive.name}" must have "zone" parameter')
    level = block.level()
    here = level.here(LIMIT_REQ)
    before = here.value if here is not None else ()
    if any(limit.zone == zone for limit in before):
        raise directive.invalid("is duplicate")
    limit = LimitReq(zone, burst * 1000, delay * 1000)
    level.set(LIMIT_REQ, (*before, limit), here.place if here is not None else directive.place)


def _positive(directive: Directive, arg: str, what: str) -> int:
    value = atoi(arg[len(what) + 1 :])
    if not value:
        raise directive.error(f'invalid {what} value "{arg}"')
    return value


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_limit_req_module", "limit_req_zone"): limit_req_zone,
    ("ngx_http_limit_req_module", "limit_req"): limit_req,
    ("ngx_http_limit_req_module", "limit_req_log_level"): log_level(LIMIT_REQ_LOG_LEVEL),
    ("ngx_http_limit_req_module", "limit_req_status"): status(LIMIT_REQ_STATUS),
    ("ngx_http_limit_req_module", "limit_req_dry_run"): setters.flag(LIMIT_REQ_DRY_RUN),
}
