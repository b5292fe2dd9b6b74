"""The core's `limit_except METHOD ... { ... }` (ngx_http_core_limit_except): a location without a name
inside the location, whose settings (`allow`, `deny`, `auth_basic`, `proxy_pass`, `access_log`) a request
takes when its method is none of those named; GET names HEAD too."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..flags import HTTP_LMT_CONF, ModuleKind
from ..model.http import METHOD_BITS, LocationMatch
from ..settings import Level
from ..state import LocationState

_ALL_METHODS = 0xFFFFFFFF
_NAMEABLE = tuple(name for name in METHOD_BITS if name not in (b"TRACE", b"CONNECT"))


def limit_except(block: Block, directive: Directive, reading: Reading) -> None:
    location = block.location
    assert location is not None
    if location.limit_except:
        raise directive.invalid("is duplicate")
    limited = _ALL_METHODS
    for name in directive.args:
        method = name.encode("utf-8", "surrogateescape").upper()
        if method not in _NAMEABLE:
            raise directive.error(f'invalid method "{name}"')
        limited &= ~METHOD_BITS[method]
    if not limited & METHOD_BITS[b"GET"]:
        limited &= ~METHOD_BITS[b"HEAD"]
    location.limit_except = limited
    state = LocationState(
        directive.place, LocationMatch.LIMIT_EXCEPT, location.name, None, Level(location.level)
    )
    state.parent = location
    location.locations.append(state)
    reading.parse_block(block.inner(ModuleKind.HTTP, HTTP_LMT_CONF, location=state))


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_core_module", "limit_except"): limit_except,
}
