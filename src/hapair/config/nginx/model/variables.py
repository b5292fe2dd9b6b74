"""Variables the configuration makes: `map` (ngx_http_map_module) and `split_clients`
(ngx_http_split_clients_module). The data plane evaluates them when a request first asks for them.

Keys and literal texts are kept as the bytes nginx compares, one character per byte (latin-1), as the
request's values are."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .place import Place
from .templates import Template


@dataclass(frozen=True, slots=True)
class MapRegex:
    """A `~regex value` line (`~*`: without case): the first that matches, in order, gives its value;
    its groups are the request's captures (`$1`...) and its named groups variables from then on."""

    pattern: re.Pattern[str]
    source: str
    value: Template


@dataclass(frozen=True, slots=True)
class HeadWildcard:
    """`*.example.com` (a subdomain only) or `.example.com` (the domain itself too), in a `hostnames` map."""

    value: Template
    with_domain: bool


@dataclass(frozen=True, slots=True)
class Map:
    """`map SOURCE $variable { ... }`: the source's value, compared without case to the exact keys, then
    (with `hostnames`) to the wildcards, the most specific first, then matched against the regular
    expressions in order; else `default` (empty when not given)."""

    variable: str  # lower case, without `$`
    source: Template
    exact: Mapping[str, Template]  # lower case
    head: Mapping[str, HeadWildcard]  # by domain, lower case: "example.com"
    tail: Mapping[str, Template]  # `www.example.*` by "www.example", lower case
    regexes: tuple[MapRegex, ...]
    default: Template
    hostnames: bool  # a final dot of the source's value is not compared
    volatile: bool  # evaluated at each use, not once per request
    place: Place


@dataclass(frozen=True, slots=True)
class Split:
    """One line of `split_clients`: the hashes below `bound` take its value (its percentage and the
    ones before it, as a share of 2^32 - 1); `bound` 0 (`*`) takes every hash left."""

    bound: int
    value: str  # as written: nginx does not read variables in it


@dataclass(frozen=True, slots=True)
class SplitClients:
    """`split_clients SOURCE $variable { ... }`: MurmurHash2 of the source's value picks the first line
    whose bound it is below; none when the percentages do not reach 100% and the hash falls past them
    (the variable is then empty)."""

    variable: str
    source: Template
    splits: tuple[Split, ...]
    place: Place


MadeVariable = Map | SplitClients
