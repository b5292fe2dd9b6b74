"""Access log lines as nginx writes them (ngx_http_log_module / ngx_stream_log_module): pure.

A `LineFormat` is a log format made ready to render: its template's literal text is kept as is, and each
variable is looked up by name through a function the data plane gives, returning the value or None when
nginx's variable would be "not found" (a header the request did not have, `$args` of a request without
a query, `$upstream_addr` of a request that reached no upstream...). Values are `str` holding one
character per byte (bytes decoded as latin-1), so that escaping works on bytes as nginx's does.

Escaping, by `log_format ... escape=`:

- `default`: `"`, `\\`, bytes below 0x20 and from 0x7f up become `\\xHH` (upper-case hex); a value not found
  is written `-`;
- `json`: `"` and `\\` are preceded by `\\`; `\\n \\r \\t \\b \\f` for those controls, `\\u00HH`
  (upper-case hex) for the other bytes below 0x20; a value not found is written as nothing;
- `none`: values as they are; not found is nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Generic, TypeVar

from hapair.config.nginx.model.logging import LogEscape
from hapair.config.nginx.model.templates import Literal, Template, Variable

Lookup = Callable[[str], str | None]
S = TypeVar("S")
Getter = Callable[[S], str | None]

_DEFAULT_ESCAPED: Final = frozenset([*range(0x20), 0x22, 0x5C, *range(0x7F, 0x100)])
_DEFAULT_TABLE: Final = {code: f"\\x{code:02X}" for code in _DEFAULT_ESCAPED}
_JSON_SHORT: Final = {
    0x22: '\\"',
    0x5C: "\\\\",
    0x0A: "\\n",
    0x0D: "\\r",
    0x09: "\\t",
    0x08: "\\b",
    0x0C: "\\f",
}
_JSON_TABLE: Final = {code: _JSON_SHORT.get(code, f"\\u00{code:02X}") for code in [*range(0x20), 0x22, 0x5C]}
_NEEDS_DEFAULT_ESCAPE: Final = frozenset(chr(code) for code in _DEFAULT_ESCAPED)
_NEEDS_JSON_ESCAPE: Final = frozenset(chr(code) for code in _JSON_TABLE)
# a byte that needs no escape becomes a space, any other an `x`: a value needs none when its translation
# is all spaces (two C loops over it, where testing each byte in a set looks each one up)
_PLAIN_AS_SPACE: Final = bytes(
    0x20 if 0x20 <= code < 0x7F and code not in b'"\\' else 0x78 for code in range(256)
)


def _bytes_of(value: str) -> str:
    """A value with characters above U+00FF (not from the wire) as their UTF-8 bytes, one per char."""
    if value.isascii() or max(value) <= "\xff":
        return value
    return value.encode("utf-8", "replace").decode("latin-1")


def _plain(value: str) -> bool:
    """Whether no escaping changes `value` (printable ASCII without `"` and `\\`: most values), found by
    C loops over it; the sets' tests look each character up."""
    return value.isascii() and value.isprintable() and '"' not in value and "\\" not in value


def plain_bytes(value: bytes) -> bool:
    """Whether the default escape (and so any) leaves `value` as it is: printable ASCII but `"` and `\\`."""
    return not value or value.translate(_PLAIN_AS_SPACE).isspace()


def escape_default(value: str) -> str:
    """ngx_http_log_escape."""
    if _plain(value) or _NEEDS_DEFAULT_ESCAPE.isdisjoint(value):
        return value
    return _bytes_of(value).translate(_DEFAULT_TABLE)


def escape_json(value: str) -> str:
    """ngx_escape_json."""
    if _NEEDS_JSON_ESCAPE.isdisjoint(value):
        return value
    return value.translate(_JSON_TABLE)


def _escape_none(value: str) -> str:
    return value


_ESCAPES: Final[dict[LogEscape, tuple[Callable[[str], str], str]]] = {
    LogEscape.DEFAULT: (escape_default, "-"),
    LogEscape.JSON: (escape_json, ""),
    LogEscape.NONE: (_escape_none, ""),
}


class LineFormat:
    """A log format ready to render lines: `parts` are its literal texts and its variables' names (True
    for a name), `escape` escapes a value and `missing` stands for one not found; `variables` are the names
    it looks up."""

    __slots__ = ("escape", "missing", "parts", "variables")

    def __init__(self, template: Template, escape: LogEscape = LogEscape.DEFAULT) -> None:
        self.escape, self.missing = _ESCAPES[escape]
        parts: list[tuple[bool, str]] = []
        for part in template.parts:
            if isinstance(part, Literal):
                parts.append((False, part.text))
            elif isinstance(part, Variable):
                parts.append((True, part.name))
            else:  # a capture cannot be in a log format: the reader only makes names there
                raise ValueError(f"a log format cannot use ${part.number}")
        self.parts = tuple(parts)
        self.variables = tuple(text for is_variable, text in parts if is_variable)

    def render(self, lookup: Lookup) -> str:
        """The line, without its newline."""
        out: list[str] = []
        escape, missing = self.escape, self.missing
        for is_variable, text in self.parts:
            if not is_variable:
                out.append(text)
                continue
            value = lookup(text)
            out.append(missing if value is None else escape(_bytes_of(value)))
        return "".join(out)

    def render_bytes(self, lookup: Lookup) -> bytes:
        """The line and its newline, as written to the file."""
        return (self.render(lookup) + "\n").encode("latin-1")

    def bind(self, resolve: Callable[[str], Getter[S]]) -> BoundFormat[S]:
        """The format with each variable's name resolved once to a getter of its value from a source
        (what a data plane renders per request, without looking names up each time)."""
        return BoundFormat(self, resolve)


class BoundFormat(Generic[S]):
    """A `LineFormat` whose variables are getters: renders lines from a source object."""

    __slots__ = ("_escape", "_missing", "_parts")

    def __init__(self, line_format: LineFormat, resolve: Callable[[str], Getter[S]]) -> None:
        self._escape, self._missing = line_format.escape, line_format.missing
        self._parts: tuple[str | Getter[S], ...] = tuple(
            resolve(text) if is_variable else text for is_variable, text in line_format.parts
        )

    def render_bytes(self, source: S) -> bytes:
        """The line and its newline, as written to the file. The values are escaped one by one only
        when one of them needs it: whether any does is found in one pass over them all."""
        out: list[str] = []
        values: list[str] = []
        where: list[int] = []  # the values' places in `out`
        missing = self._missing
        for part in self._parts:
            if type(part) is str:
                out.append(part)
                continue
            value = part(source)  # type: ignore[operator]
            if value is None:
                out.append(missing)
            else:
                values.append(value)
                where.append(len(out))
                out.append(value)
        if values and not _plain("".join(values)):
            escape = self._escape
            for index in where:
                out[index] = escape(_bytes_of(out[index]))
        out.append("\n")
        return "".join(out).encode("latin-1")


class ByteValue(Generic[S]):
    """A variable's value from a source (an HTTP exchange, a stream session) as the bytes a line writes,
    or None where nginx's variable is "not found". The common variables have a class of their own that
    makes the bytes without a text made and encoded again, and the compiled modules call `of` as a native
    method where a getter is called through Python's protocol. `plain`: no value of it needs a log
    format's escape."""

    plain = False

    def of(self, source: S) -> bytes | None:
        raise NotImplementedError


class TextValue(ByteValue[S]):
    """Any other variable: its text, a byte per character, and characters above U+00FF (none comes from
    the wire) as their UTF-8 bytes, as an access log line writes them."""

    def __init__(self, getter: Getter[S]) -> None:
        self._getter = getter

    def of(self, source: S) -> bytes | None:
        value = self._getter(source)
        if value is None:
            return None
        if value.isascii() or max(value) <= "\xff":
            return value.encode("latin-1")
        return value.encode("utf-8", "replace")


class ByteFormat(Generic[S]):
    """A `LineFormat` rendered straight into bytes from a source (`LineFormat.render_bytes`' line): its
    literal texts encoded once, its variables' values as bytes (`ByteValue`)."""

    __slots__ = ("_escape", "_missing", "_parts")

    def __init__(self, line_format: LineFormat, log_value: Callable[[str], ByteValue[S]]) -> None:
        """Raises UnicodeEncodeError for a literal text that is not one byte per character."""
        self._escape = line_format.escape
        self._missing = line_format.missing.encode("latin-1")
        self._parts: tuple[bytes | ByteValue[S], ...] = tuple(
            log_value(text) if is_variable else text.encode("latin-1")
            for is_variable, text in line_format.parts
        )

    def render_bytes(self, source: S) -> bytes:
        """The line and its newline. The values are escaped one by one only when one of them needs it:
        whether any does is found in one pass over those that may."""
        out: list[bytes] = []
        unsure: list[bytes] = []  # the values that may need escaping
        missing = self._missing
        for part in self._parts:
            if isinstance(part, bytes):
                out.append(part)
                continue
            value = part.of(source)
            if value is None:
                out.append(missing)
                continue
            if not part.plain:
                unsure.append(value)
            out.append(value)
        if unsure and not plain_bytes(unsure[0] if len(unsure) == 1 else b"".join(unsure)):
            self._escape_values(out)
        out.append(b"\n")
        return b"".join(out)

    def _escape_values(self, out: list[bytes]) -> None:
        """Each variable's place in `out` escaped (a missing value's stand-in is the same escaped)."""
        escape = self._escape
        for index, part in enumerate(self._parts):
            if not isinstance(part, bytes):
                out[index] = escape(out[index].decode("latin-1")).encode("latin-1")


def ready_format(
    line_format: LineFormat, log_value: Callable[[str], ByteValue[S]], resolve: Callable[[str], Getter[S]]
) -> ByteFormat[S] | BoundFormat[S]:
    """A log format made ready: into bytes, or through text where a literal text of it is not a byte per
    character (that line's encoding fails as it did)."""
    try:
        return ByteFormat(line_format, log_value)
    except UnicodeEncodeError:
        return line_format.bind(resolve)
