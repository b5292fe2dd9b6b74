"""nginx's not_modified filter (ngx_http_not_modified_filter_module.c): a 200 of nginx's own (a file, an
index page, `return 200`) is answered 412 when `If-Unmodified-Since` or `If-Match` fail, and becomes a
304 without a body when `If-Modified-Since` (as `if_modified_since` says) or `If-None-Match` tell that
the client's copy is current. An upstream's response passes untouched (nginx's proxy without a cache)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hapair.config.nginx.model.files import IfModifiedSince

from .httptime import INVALID, parse_http_time

if TYPE_CHECKING:
    from .exchange import BodyFilter, Exchange
    from .response import ResponseHead

_BLANKS = b" \t"


def not_modified(ex: Exchange, head: ResponseHead) -> BodyFilter | None:
    if head.status != 200 or head.status_text is not None:
        return None
    last_modified = head.last_modified if head.last_modified is not None else INVALID
    unmodified_since = _first(ex, "if_unmodified_since")
    if unmodified_since is not None and not _unmodified(unmodified_since, last_modified):
        ex.finalize(412)
        return None
    if_match = _first(ex, "if_match")
    if if_match is not None and not _matches(if_match, head, weak=False):
        ex.finalize(412)
        return None
    modified_since = _first(ex, "if_modified_since")
    none_match = _first(ex, "if_none_match")
    if modified_since is None and none_match is None:
        return None
    if modified_since is not None and _modified(ex, modified_since, last_modified):
        return None
    if none_match is not None and not _matches(none_match, head, weak=True):
        return None
    head.status, head.status_text = 304, None
    head.content_type = None
    head.content_length = -1
    head.remove(b"accept-ranges")
    head.remove(b"content-encoding")
    return None


def _first(ex: Exchange, name: str) -> bytes | None:
    values = ex.request.header_values(name)
    return values[0] if values else None


def _unmodified(value: bytes, last_modified: int) -> bool:
    return last_modified != INVALID and parse_http_time(value) >= last_modified


def _modified(ex: Exchange, value: bytes, last_modified: int) -> bool:
    rule = ex.route.files.settings.if_modified_since
    if last_modified == INVALID or rule is IfModifiedSince.OFF:
        return True
    since = parse_http_time(value)
    if since == last_modified:
        return False
    return rule is IfModifiedSince.EXACT or since < last_modified


def _matches(value: bytes, head: ResponseHead, *, weak: bool) -> bool:
    """ngx_http_test_if_match: `*`, or the response's ETag in the list (weakly: `W/` ignored)."""
    if value == b"*":
        return True
    etag = head.find(b"etag")
    if etag is None:
        return False
    if weak and len(etag) > 2 and etag.startswith(b"W/"):
        etag = etag[2:]
    start, end = 0, len(value)
    while start < end:
        if weak and end - start > 2 and value.startswith(b"W/", start):
            start += 2
        if len(etag) > end - start:
            return False
        if value.startswith(etag, start):
            start += len(etag)
            while start < end and value[start] in _BLANKS:
                start += 1
            if start == end or value[start] == ord(","):
                return True
        while start < end and value[start] != ord(","):
            start += 1
        while start < end and value[start] in b" \t,":
            start += 1
    return False
