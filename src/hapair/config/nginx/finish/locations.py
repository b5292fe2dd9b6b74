"""The check nginx makes while it builds a server's location tree (ngx_http_init_locations,
ngx_http_init_static_location_trees): two prefix locations, or two exact ones, with the same name."""

from __future__ import annotations

from functools import cmp_to_key

from ..errors import ConfigError
from ..model.http import LocationMatch
from ..state import LocationState

_NOT_STATIC = (
    LocationMatch.REGEX,
    LocationMatch.REGEX_CASELESS,
    LocationMatch.NAMED,
    LocationMatch.IF,
    LocationMatch.LIMIT_EXCEPT,
)


def _name(location: LocationState) -> bytes:
    return location.name.encode("utf-8", "surrogateescape")


def _compare(first: LocationState, second: LocationState) -> int:
    """ngx_http_cmp_locations for static locations: by name, an exact one before a prefix one."""
    one, two = _name(first), _name(second)
    order = (one > two) - (one < two)
    if order == 0 and first.match is not LocationMatch.EXACT and second.match is LocationMatch.EXACT:
        return 1
    return order


def check_duplicate_locations(locations: list[LocationState]) -> None:
    """Nested locations first, then this level, in nginx's sorted order."""
    static = sorted((loc for loc in locations if loc.match not in _NOT_STATIC), key=cmp_to_key(_compare))
    for location in static:
        check_duplicate_locations(location.locations)
    kept: LocationState | None = None
    kept_exact = kept_inclusive = False
    for location in static:
        exact = location.match is LocationMatch.EXACT
        if kept is not None and _name(kept) == _name(location):
            if (kept_exact and exact) or (kept_inclusive and not exact):
                raise ConfigError.after_reading(f'duplicate location "{location.name}"', location.place)
            kept_inclusive = kept_inclusive or not exact
            continue
        kept, kept_exact, kept_inclusive = location, exact, not exact
