"""The value of a `map` variable for one request (ngx_http_map_variable, ngx_http_map_find).

The source's value (without a final dot in a `hostnames` map) is looked up without case among the exact
keys, then the wildcards (`.example.com` and `*.example.com`, the longest domain first, then
`www.example.*`, the longest prefix first), then matched against the regular expressions in order (an
empty value matches none); the first found gives the value, else `default`. A regular expression that
matches sets the request's captures (`$1`... in the value and in what is evaluated after) and its named
groups as variables, as nginx's does. The value is kept for the rest of the request (nginx's cached
variable), unless the map is `volatile`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hapair.config.nginx.model.variables import Map
from hapair.proxy.script import MapLookup

from .variables import CompiledTemplate

if TYPE_CHECKING:
    from .exchange import Exchange


class MapVariable:
    """One `map`, made ready: calling it gives the request's value (the keys are searched by the lookup
    the stream module's maps share, script.MapLookup)."""

    __slots__ = ("_lookup", "_source", "name", "volatile")

    def __init__(self, made: Map) -> None:
        self.name = made.variable
        self.volatile = made.volatile
        self._source = CompiledTemplate(made.source)
        self._lookup = MapLookup(made, CompiledTemplate)

    def __call__(self, ex: Exchange) -> str:
        found, match = self._lookup.find(self._source.evaluate(ex))
        if match is not None:
            ex.match = match
            if match.re.groupindex:
                ex.capture_names(match)
        value = found.evaluate(ex)
        if not self.volatile:
            ex.set_variable(self.name, value)
        return value
