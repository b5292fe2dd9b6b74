"""`map`, `map_hash_max_size` and `map_hash_bucket_size` (ngx_http_map_module.c, and in stream
ngx_stream_map_module.c, which is the same), with nginx's checks and messages.

A `map` block is read line by line (nginx's cf->handler): `hostnames`, `volatile`, `include FILE`,
`default VALUE`, `~regex VALUE`, `~*regex VALUE`, and `KEY VALUE` (`\\` before a key that would read as
one of those). Values may have variables; keys are compared without case, so `A` and `a` conflict, and
with `hostnames` the keys after it may be wildcards. Where nginx reports an error: a line's own problems
(its number of words, a duplicate default, a conflicting key) at its line; a value's variables and a
regular expression at the line of the `include` it came through, if any (nginx compiles them with the
block's context). The hash sizes are read when the first `map` starts: nginx then stores its defaults,
so a `map_hash_*` directive after a `map` is a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from ..context import Block, Directive, Handler, Reading
from ..errors import ConfigError
from ..hashes import HashSizes, align
from ..model.place import Place
from ..model.templates import Literal, Template
from ..model.variables import HeadWildcard, Map, MapRegex
from ..settings import Level, Slot
from ..state import HttpState, StreamState
from ..variables import VariableUses, compile_template, configured_variable
from . import setters
from .regex import compile_regex

MAP_HASH_MAX_SIZE = Slot[int]("map_hash_max_size")
MAP_HASH_BUCKET_SIZE = Slot[int]("map_hash_bucket_size")
DEFAULT_MAX_SIZE = 2048
EMPTY = Template("", ())
_V = TypeVar("_V")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def wire_text(text: str) -> str:
    """Configuration text as the bytes nginx compares and sends, one character per byte."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def wire_template(template: Template) -> Template:
    parts = template.parts
    return Template(
        template.source, tuple(Literal(wire_text(p.text)) if isinstance(p, Literal) else p for p in parts)
    )


def ascii_lower(text: str) -> str:
    """ngx_strlow: only ASCII letters change."""
    return text.translate(_LOWER)


class _KeyConflictError(Exception):
    """ngx_hash_add_key's NGX_BUSY."""


class _InvalidWildcardError(Exception):
    """ngx_hash_add_key's NGX_DECLINED."""


@dataclass
class _Keys:
    """ngx_hash_keys_arrays_t as a map fills it: the keys (lower case, as written in the configuration),
    and the names taken, to find conflicts."""

    exact: dict[str, Template] = field(default_factory=dict)
    head: dict[str, HeadWildcard] = field(default_factory=dict)
    tail: dict[str, Template] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)  # exact keys and `.example.com`'s domain

    def add(self, key: str, value: Template, *, wildcard: bool) -> str:
        """Add `key` (`wildcard`: a key read after `hostnames`); returns it as nginx then prints it."""
        if wildcard:
            if key.count("*") > 1 or ".." in key or "\0" in key:
                raise _InvalidWildcardError
            if len(key) > 1 and key.startswith("."):
                return self._add_head(key, 1, value)
            if len(key) > 2 and key.startswith("*."):
                return self._add_head(key, 2, value)
            if len(key) > 2 and key.endswith(".*"):
                return self._add_tail(key, value)
            if "*" in key:
                raise _InvalidWildcardError
        lower = ascii_lower(key)
        if lower in self.taken:
            raise _KeyConflictError(lower)
        self.taken.add(lower)
        self.exact[lower] = value
        return lower

    def _add_head(self, key: str, skip: int, value: Template) -> str:
        domain = ascii_lower(key[skip:])
        written = key[:skip] + domain
        if skip == 1:
            if domain in self.taken:
                raise _KeyConflictError(written)
            self.taken.add(domain)
        if domain in self.head:
            raise _KeyConflictError(written)
        self.head[domain] = HeadWildcard(value, with_domain=skip == 1)
        return written

    def _add_tail(self, key: str, value: Template) -> str:
        prefix = ascii_lower(key[:-2])
        if prefix in self.tail:
            raise _KeyConflictError(prefix + ".*")
        self.tail[prefix] = value
        return prefix + ".*"

    def check_sizes(self, sizes: HashSizes) -> None:
        """nginx's hash tables of the keys: the exact ones, then the wildcards as it stores them
        (`com.example.` for `*.example.com`, `com.example` for `.example.com`, `www.example`)."""
        if self.exact:
            sizes.check([_bytes(key) for key in self.exact])
        if self.head:
            stored = []
            for domain, wildcard in self.head.items():
                reverse = ".".join(reversed(domain.split(".")))
                stored.append(_bytes(reverse if wildcard.with_domain else reverse + "."))
            sizes.check_wildcards(stored)
        if self.tail:
            sizes.check_wildcards([_bytes(prefix) for prefix in self.tail])


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _wire_keys(keys: dict[str, _V]) -> dict[str, _V]:
    return {wire_text(key): value for key, value in keys.items()}


class _MapReader:
    """The lines of one `map` block (ngx_http_map)."""

    def __init__(self, uses: VariableUses, reading: Reading) -> None:
        self._uses = uses
        self._reading = reading
        self.keys = _Keys()
        self.regexes: list[MapRegex] = []
        self.default: Template | None = None
        self.hostnames = False
        self.volatile = False
        self._include_place: Place | None = None  # the outermost `include` being read

    def line(self, words: list[str], place: Place) -> None:
        if words == ["hostnames"]:
            self.hostnames = True
            return
        if words == ["volatile"]:
            self.volatile = True
            return
        if len(words) != 2:
            raise ConfigError("invalid number of the map parameters", place)
        key, text = words
        if key == "include":
            self._include(text, place)
            return
        value_place = self._include_place or place
        value = wire_template(compile_template(text, self._uses, place, value_place))
        if key == "default":
            if self.default is not None:
                raise ConfigError("duplicate default map parameter", place)
            self.default = value
            return
        if key.startswith("~"):
            self._regex(key[1:], value, value_place)
            return
        if key.startswith("\\"):
            key = key[1:]
        try:
            self.keys.add(key, value, wildcard=self.hostnames)
        except _InvalidWildcardError:
            raise ConfigError(f'invalid hostname or wildcard "{key}"', place) from None
        except _KeyConflictError as conflict:
            raise ConfigError(f'conflicting parameter "{conflict.args[0]}"', place) from None

    def _include(self, pattern: str, place: Place) -> None:
        outer = self._include_place
        if outer is None:
            self._include_place = place
        try:
            self._reading.include(pattern, self.line)
        finally:
            self._include_place = outer

    def _regex(self, source: str, value: Template, place: Place) -> None:
        caseless = source.startswith("*")
        if caseless:
            source = source[1:]
        pattern = compile_regex(source, caseless=caseless, place=place)
        for group in pattern.groupindex:
            self._uses.define(group)
        self.regexes.append(MapRegex(pattern, source, value))


def _hash_sizes(level: Level, directive: Directive, reading: Reading) -> HashSizes:
    """The sizes in force, stored back as nginx stores its defaults and the aligned bucket size."""
    max_size = level.here(MAP_HASH_MAX_SIZE)
    if max_size is None:
        level.set(MAP_HASH_MAX_SIZE, DEFAULT_MAX_SIZE, directive.place)
    bucket = level.here(MAP_HASH_BUCKET_SIZE)
    bucket_size = align(bucket.value) if bucket is not None else align(1)
    level.set(MAP_HASH_BUCKET_SIZE, bucket_size, bucket.place if bucket is not None else directive.place)
    return HashSizes(
        "map_hash",
        max_size.value if max_size is not None else DEFAULT_MAX_SIZE,
        bucket_size,
        directive.place,
        lambda text: reading.warn(text, None),
    )


def made_variables_owner(block: Block) -> HttpState | StreamState:
    """The http or stream block whose variables a `map` or `split_clients` makes (the two modules are
    the same in both)."""
    owner = block.http if block.http is not None else block.stream
    assert owner is not None
    return owner


def map_block(block: Block, directive: Directive, reading: Reading) -> None:
    owner = made_variables_owner(block)
    uses = owner.variables
    sizes = _hash_sizes(owner.level, directive, reading)
    source = compile_template(directive.args[0], uses, directive.place, directive.place)
    name = configured_variable(directive, directive.args[1], uses)
    reader = _MapReader(uses, reading)
    reading.parse_lines(reader.line)
    keys = reader.keys
    keys.check_sizes(sizes)
    owner.made_variables.append(
        Map(
            variable=name,
            source=source,
            exact=_wire_keys(keys.exact),
            head=_wire_keys(keys.head),
            tail=_wire_keys(keys.tail),
            regexes=tuple(reader.regexes),
            default=reader.default or EMPTY,
            hostnames=reader.hostnames,
            volatile=reader.volatile,
            place=directive.place,
        )
    )


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_map_module", "map"): map_block,
    ("ngx_http_map_module", "map_hash_max_size"): setters.number(MAP_HASH_MAX_SIZE),
    ("ngx_http_map_module", "map_hash_bucket_size"): setters.number(MAP_HASH_BUCKET_SIZE),
}
