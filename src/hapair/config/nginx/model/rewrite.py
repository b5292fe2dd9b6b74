"""The rewrite module's directives as a program (ngx_http_rewrite_module): what a server's or location's
`rewrite`, `return`, `set`, `break` and `if` do, in their order. An `if` in a location has settings of its
own (it is a location without a name in nginx), used from the moment its condition holds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from .place import Place
from .templates import Template

if TYPE_CHECKING:
    from .http import Location


class RewriteFlag(Enum):
    NONE = ""  # the URI changes and the next directives run; the location is chosen again after them
    LAST = "last"  # stop here and choose the location again
    BREAK = "break"  # stop here and stay in this location with the new URI
    REDIRECT = "redirect"  # 302
    PERMANENT = "permanent"  # 301


@dataclass(frozen=True, slots=True)
class Rewrite:
    pattern: re.Pattern[str]
    source: str  # the regular expression as written (for rewrite_log)
    replacement: Template  # without the `?` that drops the request's arguments
    flag: RewriteFlag
    redirect: int  # 301 or 302 for a redirect (a flag or a replacement starting with http://...), else 0
    add_args: bool  # the request's arguments are added to the new URI
    place: Place


@dataclass(frozen=True, slots=True)
class Return:
    status: int
    text: Template | None  # the body, or the URL of a redirect
    place: Place


@dataclass(frozen=True, slots=True)
class SetVariable:
    name: str  # lower case, without `$`
    value: Template
    place: Place


@dataclass(frozen=True, slots=True)
class Break:
    place: Place


@dataclass(frozen=True, slots=True)
class IsTrue:
    """`($var)`: the value is neither empty nor "0"."""

    value: Template


class Comparison(Enum):
    EQUAL = "="
    NOT_EQUAL = "!="


@dataclass(frozen=True, slots=True)
class Compare:
    value: Template
    comparison: Comparison
    other: Template


@dataclass(frozen=True, slots=True)
class Matches:
    """`($var ~ regex)`, `~*` without case, `!~` and `!~*` negated; a match sets the captures."""

    value: Template
    pattern: re.Pattern[str]
    source: str
    negative: bool


class FileTest(Enum):
    PLAIN = "f"
    DIRECTORY = "d"
    EXISTS = "e"
    EXECUTABLE = "x"


@dataclass(frozen=True, slots=True)
class TestFile:
    """`(-f path)` and its companions; `!-f` negated."""

    path: Template
    test: FileTest
    negative: bool


Condition = IsTrue | Compare | Matches | TestFile


@dataclass(frozen=True, slots=True)
class If:
    condition: Condition
    body: tuple[Statement, ...]
    location: Location | None  # the settings in force once the condition holds; None for a server's `if`
    place: Place


Statement = Rewrite | Return | SetVariable | Break | If
