"""nginx's headers filter (ngx_http_headers_filter_module.c): `expires` (the `Expires` and `Cache-Control`
headers), `add_header` and `add_trailer`, on the 2xx and 3xx responses nginx lists (every response for
those marked `always`), proxied ones and nginx's own pages alike.

`Cache-Control`, `Link`, `Last-Modified` and `ETag` are nginx's special names: `expires` takes over the
response's first `Cache-Control` (the others are dropped) and its `Expires`; `add_header Last-Modified`
and `add_header ETag` replace the response's own (an empty value removes it). Trailers make an HTTP/1.1
response chunked; their values are read once the body is sent."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

from hapair.config.nginx.model.headers import ExpiresKind, HeadersFilter, parse_expires

from .clock import http_date
from .files import wire_template
from .httptime import INVALID, parse_http_time

if TYPE_CHECKING:
    from .exchange import BodyFilter, Exchange
    from .response import ResponseHead
    from .variables import CompiledTemplate

SAFE_STATUSES: Final = frozenset({200, 201, 204, 206, 301, 302, 303, 304, 307, 308})
_EPOCH: Final = b"Thu, 01 Jan 1970 00:00:01 GMT"
_MAX: Final = b"Thu, 31 Dec 2037 23:55:55 GMT"
_MAX_AGE: Final = b"max-age=315360000"


def _name(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


class _Added:
    __slots__ = ("always", "lower", "name", "value")

    def __init__(self, name: str, value: CompiledTemplate, always: bool) -> None:
        self.name = _name(name)
        self.lower = self.name.lower()
        self.value = value
        self.always = always


class Headers:
    """The header filter of one location's `expires`, `add_header` and `add_trailer`."""

    __slots__ = ("_expires", "_expires_value", "_headers", "_trailers")

    def __init__(self, settings: HeadersFilter) -> None:
        self._expires = settings.expires
        value = settings.expires.value
        self._expires_value = wire_template(value) if value is not None else None
        self._headers = tuple(_Added(h.name, wire_template(h.value), h.always) for h in settings.headers)
        self._trailers = tuple(_Added(h.name, wire_template(h.value), h.always) for h in settings.trailers)

    def __call__(self, ex: Exchange, head: ResponseHead) -> BodyFilter | None:
        safe = head.status in SAFE_STATUSES
        if safe and self._expires.kind is not ExpiresKind.OFF:
            self._set_expires(ex, head)
        for added in self._headers:
            if safe or added.always:
                _add(head, added.name, added.lower, added.value.evaluate(ex).encode("latin-1"))
        if any(safe or trailer.always for trailer in self._trailers):
            ex.trailers = []
            return _Trailers(ex, head, self._trailers)
        return None

    def _set_expires(self, ex: Exchange, head: ResponseHead) -> None:
        """ngx_http_set_expires."""
        setting = self._expires
        kind, seconds = setting.kind, setting.time
        if self._expires_value is not None:
            parsed = parse_expires(self._expires_value.evaluate(ex), kind)
            if isinstance(parsed, str) or parsed[0] is ExpiresKind.OFF:
                return
            kind, seconds = parsed
        date = _server_date(ex)
        if kind is ExpiresKind.EPOCH:
            _set_cache_headers(head, _EPOCH, b"no-cache")
            return
        if kind is ExpiresKind.MAX:
            _set_cache_headers(head, _MAX, _MAX_AGE)
            return
        if seconds == 0 and kind is not ExpiresKind.DAILY:
            _set_cache_headers(head, date, b"max-age=0")
            return
        now = parse_http_time(date)
        if kind is ExpiresKind.DAILY:
            expires_at = _next_time(seconds, now)
            max_age = expires_at - now
        elif kind is ExpiresKind.ACCESS or (modified := _modified_time(head)) is None:
            expires_at, max_age = now + seconds, seconds
        else:
            expires_at = modified + seconds
            max_age = expires_at - now
        control = b"no-cache" if setting.time < 0 or max_age < 0 else b"max-age=%d" % max_age
        _set_cache_headers(head, http_date(expires_at).encode(), control)


class _Trailers:
    """The trailers filter: at the end of the body, the trailers' values (the empty ones left out)."""

    __slots__ = ("_ex", "_head", "_trailers")

    def __init__(self, ex: Exchange, head: ResponseHead, trailers: tuple[_Added, ...]) -> None:
        self._ex, self._head, self._trailers = ex, head, trailers

    def data(self, chunk: bytes) -> bytes:
        return chunk

    def end(self) -> bytes:
        safe = self._head.status in SAFE_STATUSES
        found = []
        for trailer in self._trailers:
            if safe or trailer.always:
                value = trailer.value.evaluate(self._ex).encode("latin-1")
                if value:
                    found.append((trailer.name, value))
        self._ex.trailers = found
        return b""


def _server_date(ex: Exchange) -> bytes:
    """The response's `Date` (nginx's cached time of the second)."""
    lines = ex.client.server_date()
    start = lines.index(b"Date: ") + 6
    return lines[start : lines.index(b"\r\n", start)]


def _modified_time(head: ResponseHead) -> int | None:
    """r->headers_out.last_modified_time: a file's, or the time an upstream's `Last-Modified` says."""
    if head.last_modified is not None:
        return head.last_modified
    value = head.find(b"last-modified")
    found = parse_http_time(value) if value is not None else INVALID
    return None if found == INVALID else found


def _next_time(seconds: int, now: int) -> int:
    """ngx_next_time: the next moment, in local time, at `seconds` after midnight."""
    today = time.localtime(now)
    hour, rest = divmod(seconds, 3600)
    minute, second = divmod(rest, 60)
    moment = (today.tm_year, today.tm_mon, today.tm_mday, hour, minute, second, 0, 0, today.tm_isdst)
    at = int(time.mktime(moment))
    if at - now > 0:
        return at
    tomorrow = (today.tm_year, today.tm_mon, today.tm_mday + 1, hour, minute, second, 0, 0, today.tm_isdst)
    return int(time.mktime(tomorrow))


def _add(head: ResponseHead, name: bytes, lower: bytes, value: bytes) -> None:
    """One `add_header`, with nginx's handler for its name."""
    if lower in (b"last-modified", b"etag"):
        _set_single(head, name, lower, value)
        if lower == b"last-modified":
            head.last_modified = None
    elif value:
        head.add(name, value)


def _set_single(head: ResponseHead, name: bytes, lower: bytes, value: bytes) -> None:
    """ngx_http_set_response_header: the response's header of that name takes the value (and the name
    as written), or is removed by an empty one."""
    headers = head.headers
    for index, (other, _) in enumerate(headers):
        if other.lower() == lower:
            if value:
                headers[index] = (name, value)
            else:
                _drop(head, index)
            return
    if value:
        head.add(name, value)


def _set_cache_headers(head: ResponseHead, expires: bytes, control: bytes) -> None:
    """`Expires` takes the response's own place or comes last; the first `Cache-Control` takes the value,
    the others go."""
    headers = head.headers
    expires_at = next((i for i, (name, _) in enumerate(headers) if name.lower() == b"expires"), -1)
    if expires_at >= 0:
        headers[expires_at] = (headers[expires_at][0], expires)
    else:
        head.add(b"Expires", expires)
    controls = [i for i, (name, _) in enumerate(headers) if name.lower() == b"cache-control"]
    if not controls:
        head.add(b"Cache-Control", control)
        return
    headers[controls[0]] = (headers[controls[0]][0], control)
    for index in reversed(controls[1:]):
        _drop(head, index)


def _drop(head: ResponseHead, index: int) -> None:
    """Remove one header, keeping the index of `Location`."""
    del head.headers[index]
    if head.location > index:
        head.location -= 1
