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

import re
from typing import TYPE_CHECKING

from hapair.config.nginx.model.variables import Map

from .variables import CompiledTemplate

if TYPE_CHECKING:
    from .exchange import Exchange

_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class MapVariable:
    """One `map`, made ready: calling it gives the request's value."""

    __slots__ = (
        "_default",
        "_exact",
        "_head",
        "_hostnames",
        "_regexes",
        "_source",
        "_tail",
        "name",
        "volatile",
    )

    def __init__(self, made: Map) -> None:
        compiled: dict[object, CompiledTemplate] = {}

        def ready(template: object) -> CompiledTemplate:
            found = compiled.get(template)
            if found is None:
                found = compiled[template] = CompiledTemplate(template)  # type: ignore[arg-type]
            return found

        self.name = made.variable
        self.volatile = made.volatile
        self._source = CompiledTemplate(made.source)
        self._hostnames = made.hostnames
        self._exact = {key: ready(value) for key, value in made.exact.items()}
        self._head = {key: (ready(wild.value), wild.with_domain) for key, wild in made.head.items()}
        self._tail = {key: ready(value) for key, value in made.tail.items()}
        self._regexes: tuple[tuple[re.Pattern[str], CompiledTemplate], ...] = tuple(
            (regex.pattern, ready(regex.value)) for regex in made.regexes
        )
        self._default = ready(made.default)

    def __call__(self, ex: Exchange) -> str:
        text = self._source.evaluate(ex)
        if self._hostnames and text.endswith("."):
            text = text[:-1]
        value = self._find(ex, text).evaluate(ex)
        if not self.volatile:
            ex.set_variable(self.name, value)
        return value

    def _find(self, ex: Exchange, text: str) -> CompiledTemplate:
        lower = text.translate(_LOWER)
        found = self._exact.get(lower)
        if found is not None:
            return found
        if self._head:
            found = self._head_wildcard(lower)
            if found is not None:
                return found
        if self._tail:
            found = self._tail_wildcard(lower)
            if found is not None:
                return found
        if text:
            for pattern, value in self._regexes:
                match = pattern.search(text)
                if match is not None:
                    ex.match = match
                    if pattern.groupindex:
                        ex.capture_names(match)
                    return value
        return self._default

    def _head_wildcard(self, host: str) -> CompiledTemplate | None:
        """`.example.com` matches the domain itself; both forms match its subdomains, the longest first."""
        entry = self._head.get(host)
        if entry is not None and entry[1]:
            return entry[0]
        dot = host.find(".")
        while dot >= 0:
            entry = self._head.get(host[dot + 1 :])
            if entry is not None:
                return entry[0]
            dot = host.find(".", dot + 1)
        return None

    def _tail_wildcard(self, host: str) -> CompiledTemplate | None:
        dot = host.rfind(".")
        while dot > 0:
            found = self._tail.get(host[:dot])
            if found is not None:
                return found
            dot = host.rfind(".", 0, dot)
        return None
