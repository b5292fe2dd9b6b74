"""Request targets: the path and query of a request line, nginx's normalized `$uri`
(ngx_http_parse_complex_uri: `%XX` decoded, `//` merged, `.` and `..` segments resolved), and the URI
sent upstream when `proxy_pass` names one (the matched part of `$uri` replaced, the rest escaped as
ngx_escape_uri's NGX_ESCAPE_URI does).

Paths are `str` holding one character per byte (latin-1), as everywhere in the data plane.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from .memo import keep

_PERCENT: Final = re.compile(r"%([0-9A-Fa-f]{2})")
_BAD_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")  # nginx refuses `%` without two hex digits: 400
# NGX_ESCAPE_URI: controls, space, `"`, `#`, `%`, `<`, `>`, `?`, `\`, `^`, `` ` ``, `{`, `|`, `}`, DEL and
# every byte from 0x80
_URI_ESCAPED: Final = frozenset([*range(0x21), *b'"#%<>?\\^`{|}', *range(0x7F, 0x100)])
_URI_TABLE: Final = {code: f"%{code:02X}" for code in _URI_ESCAPED}


class BadTargetError(ValueError):
    """nginx answers 400: `..` above the root, or a NUL once decoded."""


@dataclass(frozen=True, slots=True)
class Target:
    """`path` and `query` as the client sent them (no `?`: query None), `uri` the normalized path."""

    path: str
    query: str | None
    uri: str


_CACHED_TARGET: Final = 256  # longer targets are parsed each time: the cache stays small
# targets parsed lately (emptied when full): a dictionary's lookup, where an lru_cache's call cost four
_PARSED: Final[dict[bytes, Target]] = {}
_PARSED_KEPT: Final = 1024


def parse_target(raw: bytes) -> Target:
    """A request line's target from its path on (`/a?b`; `?b` for `http://host?b`, whose path is `/`).
    Short targets are cached: the same few come again and again, and a `Target` is immutable."""
    if len(raw) > _CACHED_TARGET:
        return _parse(raw)
    target = _PARSED.get(raw)
    if target is None:
        target = _parse(raw)
        keep(_PARSED, raw, target, _PARSED_KEPT)
    return target


def _parse(raw: bytes) -> Target:
    text = raw.decode("latin-1")
    path, mark, query = text.partition("?")
    path = path or "/"
    path, _, _ = path.partition("#")
    return Target(path, query if mark else None, normalize(path))


def normalize(path: str) -> str:
    """nginx's `$uri` of a path; raises BadTargetError for `..` above the root, a `%` that is not an
    escape, or a decoded NUL."""
    if "%" in path:
        if _BAD_PERCENT.search(path):
            raise BadTargetError(path)
        path = _PERCENT.sub(lambda match: chr(int(match.group(1), 16)), path)
        if "\x00" in path:
            raise BadTargetError(path)
    if "//" not in path and "/." not in path:
        return path
    segments: list[str] = []
    parts = path.split("/")
    for index, segment in enumerate(parts[1:], start=1):
        last = index == len(parts) - 1
        if segment == "..":
            if not segments:
                raise BadTargetError(path)
            segments.pop()
            if last:
                segments.append("")
        elif segment == ".":
            if last:
                segments.append("")
        elif segment or last:
            segments.append(segment)
    return "/" + "/".join(segments)


def escape_uri(text: str) -> str:
    """ngx_escape_uri with NGX_ESCAPE_URI."""
    return text.translate(_URI_TABLE)


def replace_prefix(uri: str, matched: int, replacement: str, query: str | None) -> str:
    """The URI sent upstream for `proxy_pass http://up/replacement`: the first `matched` characters of
    `uri` (the location's name) replaced, the rest escaped, the query kept."""
    out = replacement + escape_uri(uri[matched:])
    return out if query is None else f"{out}?{query}"
