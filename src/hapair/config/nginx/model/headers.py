"""What the header filters of a server or location add to its responses: the headers module's `expires`,
`add_header`, `add_trailer` (ngx_http_headers_filter_module.c) and the charset module's `charset`,
`source_charset`, `override_charset`, `charset_types` (ngx_http_charset_filter_module.c)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..numbers import parse_time
from .templates import Template


class ExpiresKind(Enum):
    OFF = "off"
    EPOCH = "epoch"
    MAX = "max"
    ACCESS = "access"  # `expires time`: from the time of the response
    MODIFIED = "modified"  # `expires modified time`: from the file's modification time
    DAILY = "daily"  # `expires @time`: the next time of day


@dataclass(frozen=True, slots=True)
class Expires:
    """`expires`: a value with variables (`value`) is read per response as nginx reads the directive's,
    `kind` then being ACCESS or MODIFIED as the directive says; `time` in seconds."""

    kind: ExpiresKind
    time: int
    value: Template | None


NO_EXPIRES = Expires(ExpiresKind.OFF, 0, None)


@dataclass(frozen=True, slots=True)
class AddedHeader:
    """One `add_header` or `add_trailer`; `always`: also on responses other than 2xx and 3xx."""

    name: str
    value: Template
    always: bool


@dataclass(frozen=True, slots=True)
class HeadersFilter:
    """The nearest level's `add_header` list and `add_trailer` list (a level with any of its own does not
    inherit its parent's), and the nearest `expires`."""

    expires: Expires
    headers: tuple[AddedHeader, ...]
    trailers: tuple[AddedHeader, ...]


@dataclass(frozen=True, slots=True)
class CharsetName:
    """A `charset` or `source_charset` value: a name (as first written in the http block: nginx keeps one
    spelling per name), or a variable whose value names one."""

    name: str
    variable: str | None


@dataclass(frozen=True, slots=True)
class CharsetFilter:
    """`charset` (None: off), `source_charset` (None: off), `override_charset`, and `charset_types`
    (lower case; None: `*`, every type). `known` holds the names the http block's directives gave, lower
    case: a variable's value that is not one of them is a charset nginx knows nothing of."""

    charset: CharsetName | None
    source: CharsetName | None
    override: bool
    types: frozenset[str] | None
    known: frozenset[str]


_DAY = 24 * 60 * 60


def parse_expires(value: str, kind: ExpiresKind) -> tuple[ExpiresKind, int] | str:
    """ngx_http_parse_expires: `epoch`, `max`, `off`, `[@|+|-]time`, read for a directive whose kind is
    `kind` (ACCESS, or MODIFIED, which takes neither the words nor `@`); or nginx's reason to refuse it."""
    if kind is not ExpiresKind.MODIFIED and value in ("epoch", "max", "off"):
        return ExpiresKind(value), 0
    minus = False
    if value.startswith("@"):
        if kind is ExpiresKind.MODIFIED:
            return 'daily time cannot be used with "modified" parameter'
        kind, value = ExpiresKind.DAILY, value[1:]
    elif value.startswith(("+", "-")):
        minus, value = value[0] == "-", value[1:]
    seconds = parse_time(value, seconds=True)
    if seconds is None:
        return "invalid value"
    if kind is ExpiresKind.DAILY and seconds > _DAY:
        return "daily time value must be less than 24 hours"
    return kind, -seconds if minus else seconds
