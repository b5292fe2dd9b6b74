"""nginx's range filter (ngx_http_range_filter_module.c), for the responses whose content handler can send
any part of its body (a file: `ResponseHead.allow_ranges`): a `Range: bytes=...` on a 200 of known
length gives a 206 with one part (`Content-Range`) or several (`multipart/byteranges`, at most
`max_ranges`), a 416 when no range is satisfiable, or the whole body with `Accept-Ranges: bytes`.
`If-Range` (an entity tag or a date) must match for ranges to apply.

The filter only decides: `ResponseHead.ranges` says which parts of the body to send and what goes
between them; the content handler sends them (with sendfile when it can).

The boundaries of multipart responses count up from 1 in each worker process (nginx's temp number,
shared by its workers).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .httptime import parse_http_time

if TYPE_CHECKING:
    from .exchange import BodyFilter, Exchange
    from .response import ResponseHead

_MAX_OFFSET = 2**63 - 1  # NGX_MAX_OFF_T_VALUE
_CUTOFF, _CUTLIM = divmod(_MAX_OFFSET, 10)
_BOUNDARIES = itertools.count(1)
NOT_SATISFIABLE = 416


@dataclass(frozen=True, slots=True)
class BodyPart:
    """Bytes to write (a part's boundary and headers), then the body's bytes `start` to `end`."""

    before: bytes
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class BodyParts:
    parts: tuple[BodyPart, ...]
    after: bytes  # the closing boundary of a multipart body


class _DeclinedError(Exception):
    """The header asks for no usable ranges: the whole body is sent."""


class _NotSatisfiableError(Exception):
    pass


def ranges(ex: Exchange, head: ResponseHead) -> BodyFilter | None:
    """ngx_http_range_header_filter."""
    if not head.allow_ranges or head.status != 200 or head.content_length < 0:
        return None
    max_ranges = ex.route.files.settings.max_ranges
    if max_ranges == 0:
        return None
    values = ex.request.header_values("range")
    value = values[0] if values else b""
    if len(value) >= 7 and value[:6].lower() == b"bytes=" and _if_range_holds(ex, head):
        try:
            found = _parse(value[6:], head.content_length, max_ranges)
        except _NotSatisfiableError:
            _not_satisfiable(ex, head)
            return None
        except _DeclinedError:
            pass
        else:
            head.status, head.status_text = 206, None
            if len(found) == 1:
                _single_part(head, *found[0])
            else:
                _multipart(head, found)
            return None
    head.add(b"Accept-Ranges", b"bytes")
    return None


def _if_range_holds(ex: Exchange, head: ResponseHead) -> bool:
    values = ex.request.header_values("if_range")
    if not values:
        return True
    if_range = values[0]
    if len(if_range) >= 2 and if_range.endswith(b'"'):
        etag = head.find(b"etag")
        return etag is not None and if_range == etag
    if head.last_modified is None:
        return False
    return parse_http_time(if_range) == head.last_modified


def _parse(spec: bytes, length: int, limit: int) -> list[tuple[int, int]]:
    """ngx_http_range_parse: the (start, end) ranges, end excluded."""
    found: list[tuple[int, int]] = []
    size, p, n = 0, 0, len(spec)

    def at(index: int) -> int:
        return spec[index] if index < n else 0

    def number(index: int) -> tuple[int, int]:
        value = 0
        while 0x30 <= at(index) <= 0x39:
            digit = at(index) - 0x30
            if value >= _CUTOFF and (value > _CUTOFF or digit > _CUTLIM):
                raise _NotSatisfiableError
            value, index = value * 10 + digit, index + 1
        return value, index

    def skip_spaces(index: int) -> int:
        while at(index) == 0x20:
            index += 1
        return index

    while True:
        start = end = 0
        suffix = False
        p = skip_spaces(p)
        if at(p) != 0x2D:
            if not 0x30 <= at(p) <= 0x39:
                raise _NotSatisfiableError
            start, p = number(p)
            p = skip_spaces(p)
            if at(p) != 0x2D:
                raise _NotSatisfiableError
            p = skip_spaces(p + 1)
            open_ended = at(p) in (0x2C, 0)
        else:
            suffix, p, open_ended = True, p + 1, False
        if open_ended:
            end = length
        else:
            if not 0x30 <= at(p) <= 0x39:
                raise _NotSatisfiableError
            end, p = number(p)
            p = skip_spaces(p)
            if at(p) not in (0x2C, 0):
                raise _NotSatisfiableError
            if suffix:
                start, end = (length - end if end < length else 0), length - 1
            end = length if end >= length else end + 1
        if start < end:
            found.append((start, end))
            if size > _MAX_OFFSET - (end - start):
                raise _NotSatisfiableError
            size += end - start
            if limit == 0:
                raise _DeclinedError
            limit -= 1
        elif start == 0:
            raise _DeclinedError
        if at(p) != 0x2C:
            break
        p += 1
    if not found:
        raise _NotSatisfiableError
    if size > length:
        raise _DeclinedError
    return found


def _single_part(head: ResponseHead, start: int, end: int) -> None:
    head.add(b"Content-Range", b"bytes %d-%d/%d" % (start, end - 1, head.content_length))
    head.content_length = end - start
    head.ranges = BodyParts((BodyPart(b"", start, end),), b"")


def _multipart(head: ResponseHead, found: list[tuple[int, int]]) -> None:
    boundary = b"%020d" % next(_BOUNDARIES)
    part_head = b"\r\n--" + boundary + b"\r\n"
    if head.content_type:
        content_type = head.content_type + (b"; charset=" + head.charset if head.charset else b"")
        part_head += b"Content-Type: " + content_type + b"\r\n"
    part_head += b"Content-Range: bytes "
    total = head.content_length
    parts = tuple(
        BodyPart(part_head + b"%d-%d/%d\r\n\r\n" % (start, end - 1, total), start, end)
        for start, end in found
    )
    after = b"\r\n--" + boundary + b"--\r\n"
    head.content_type = b"multipart/byteranges; boundary=" + boundary
    head.charset = None
    head.content_length = sum(len(part.before) + part.end - part.start for part in parts) + len(after)
    head.ranges = BodyParts(parts, after)


def _not_satisfiable(ex: Exchange, head: ResponseHead) -> None:
    """ngx_http_range_not_satisfiable: the 416 page, with the head as the filters before made it."""
    head.add(b"Content-Range", b"bytes */%d" % head.content_length)
    head.content_length = -1
    ex.finalize(NOT_SATISFIABLE, head)
