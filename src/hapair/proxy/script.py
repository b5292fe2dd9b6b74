"""nginx's values with variables and its `map` lookup, for any data plane (pure).

What an HTTP request and a stream session share: `ValueTemplate` is a complex value (ngx_*_complex_value)
made ready to evaluate against a source (the session...), each variable resolved once to a getter of its
value from that source; `MapLookup` finds which value of a `map` a text selects (ngx_*_map_find over
nginx's hash tables of exact and wildcard keys, then the regular expressions in order); `split_value` is
`split_clients`' choice. The data plane says how a variable's value is found and where captures go.

Values are `str` with one character per byte (latin-1), as the sources' values are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from hapair.config.nginx.model.templates import Capture, Literal, Template, Variable
from hapair.config.nginx.model.variables import Map, SplitClients


class HasCaptures(Protocol):
    """A source of values whose last regular expression match gives `$1`..."""

    match: re.Match[str] | None


S = TypeVar("S", bound=HasCaptures)
T = TypeVar("T")
Getter = Callable[[S], str | None]

_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class ValueTemplate(Generic[S]):
    """A template made ready to evaluate: `constant` is its text when it has no variables.

    nginx evaluates a value in two passes, the lengths then the text, and its variables in the first: a
    capture (`$1`) anywhere in a value with variables reads the captures as those variables left them (a
    `map`'s regular expression sets them). `_late` marks such a template."""

    __slots__ = ("_late", "_parts", "constant")

    def __init__(self, template: Template, resolve: Callable[[str], Getter[S]]) -> None:
        parts: list[str | Getter[S] | int] = []
        for part in template.parts:
            if isinstance(part, Literal):
                parts.append(part.text)
            elif isinstance(part, Variable):
                parts.append(resolve(part.name))
            elif isinstance(part, Capture):
                parts.append(part.number)
        self._parts = tuple(parts)
        self._late = any(type(part) is int for part in parts) and any(callable(part) for part in parts)
        texts = [part for part in parts if type(part) is str]
        self.constant: str | None = "".join(texts) if len(texts) == len(parts) else None

    def evaluate(self, source: S) -> str:
        if self.constant is not None:
            return self.constant
        if self._late:
            values = [part(source) or "" if callable(part) else part for part in self._parts]
            return "".join(_capture(source, part) if type(part) is int else part for part in values)  # type: ignore[misc]
        out: list[str] = []
        for part in self._parts:
            if type(part) is str:
                out.append(part)
            elif type(part) is int:
                out.append(_capture(source, part))
            else:
                out.append(part(source) or "")  # type: ignore[operator]
        return "".join(out)


def _capture(source: HasCaptures, number: int) -> str:
    match = source.match
    if match is None or number > (match.re.groups or 0):
        return ""
    return match.group(number) or ""


class MapLookup(Generic[T]):
    """One `map`'s keys, each value made ready by `ready` (once per distinct template)."""

    __slots__ = ("_exact", "_head", "_regexes", "_tail", "default", "hostnames")

    def __init__(self, made: Map, ready: Callable[[Template], T]) -> None:
        prepared: dict[Template, T] = {}

        def value(template: Template) -> T:
            found = prepared.get(template)
            if found is None:
                found = prepared[template] = ready(template)
            return found

        self.hostnames = made.hostnames
        self._exact = {key: value(template) for key, template in made.exact.items()}
        self._head = {key: (value(wild.value), wild.with_domain) for key, wild in made.head.items()}
        self._tail = {key: value(template) for key, template in made.tail.items()}
        self._regexes = tuple((regex.pattern, value(regex.value)) for regex in made.regexes)
        self.default = value(made.default)

    def find(self, text: str) -> tuple[T, re.Match[str] | None]:
        """The value `text` selects, and the match of the regular expression that selected it (its groups
        are the source's captures from then on, its named groups variables), if one did. Without case
        among the exact keys, then (`hostnames`) the wildcards, the most specific first; then the regular
        expressions in order (an empty text matches none); else the default."""
        if self.hostnames and text.endswith("."):
            text = text[:-1]
        lower = text.translate(_LOWER)
        found = self._exact.get(lower)
        if found is None and self._head:
            found = self._head_wildcard(lower)
        if found is None and self._tail:
            found = self._tail_wildcard(lower)
        if found is not None:
            return found, None
        if text:
            for pattern, value in self._regexes:
                match = pattern.search(text)
                if match is not None:
                    return value, match
        return self.default, None

    def _head_wildcard(self, host: str) -> T | None:
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

    def _tail_wildcard(self, host: str) -> T | None:
        dot = host.rfind(".")
        while dot > 0:
            found = self._tail.get(host[:dot])
            if found is not None:
                return found
            dot = host.rfind(".", 0, dot)
        return None


def split_value(made: SplitClients, hashed: int) -> str:
    """The value of the first line whose bound the source's MurmurHash2 is below (a `*` line takes what
    is left); "" when the percentages do not reach 100% and the hash falls past them."""
    for split in made.splits:
        if hashed < split.bound or split.bound == 0:
            return split.value
    return ""
