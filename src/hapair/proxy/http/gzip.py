"""The gzip filter (ngx_http_gzip_filter_module.c, with ngx_http_gzip_ok of ngx_http_core_module.c): a
response is compressed with zlib as it goes out, when its status is 200, 403 or 404, it is not encoded
already, its Content-Length (when it has one) is at least `gzip_min_length`, its type is in
`gzip_types`, and the request accepts gzip (`Accept-Encoding`, `gzip_http_version`, `gzip_disable`, and
`gzip_proxied` for a request with a `Via` header). The head then gets `Content-Encoding: gzip`, loses its
Content-Length and Accept-Ranges, and its ETag is made weak; `Vary: Accept-Encoding` (`gzip_vary`) is
added to every response the filter looked at past the status, encoding, length and type, whether it
compresses it or not, as nginx does.

The body is compressed piece by piece (`Deflate`), never held whole: nginx's zlib parameters (level,
window and memory level, made smaller for a short Content-Length as nginx makes them), its output held
until a `gzip_buffers` buffer is full unless `gzip_no_buffer`, `postpone_gzipping` bytes gathered before
compressing starts. A response the proxy does not buffer (`proxy_buffering off`) is flushed after each
read from the upstream (zlib's Z_SYNC_FLUSH), as nginx flushes each of its buffers.
"""

from __future__ import annotations

import time
import zlib
from typing import TYPE_CHECKING

from .httptime import INVALID, parse_http_time
from .memo import keep
from .parse import HTTP_10, HTTP_11

if TYPE_CHECKING:
    from hapair.config.nginx.model.gzip import Gzip

    from .exchange import Exchange
    from .response import ResponseHead

_COMPRESSED_STATUSES = frozenset({200, 403, 404})
_CONTENT_ENCODING = b"content-encoding"
_ACCEPT_RANGES = b"accept-ranges"
_ETAG = b"etag"
_EXPIRES = b"expires"
_DATE = b"date"
_CACHE_CONTROL = b"cache-control"
_LAST_MODIFIED = b"last-modified"
_CACHE_CONTROL_TOKENS = (("no-cache", b"no-cache"), ("no-store", b"no-store"), ("private", b"private"))
_TYPES_KEPT = 64
_ZLIB_WINDOW_SLACK = 262  # zlib's window is this much smaller than its size


class GzipFilter:
    """The header filter of a location with `gzip on`."""

    __slots__ = ("_settings", "_typed")

    def __init__(self, settings: Gzip) -> None:
        self._settings = settings
        # whether `gzip_types` has a Content-Type, for those seen lately (emptied when full): the type is
        # tested first, as most responses of most locations are not of a compressed type, and its test
        # (a decode, a lower case, a search for `;`) cost more than the others together
        self._typed: dict[bytes | None, bool] = {}

    def __call__(self, ex: Exchange, head: ResponseHead) -> Deflate | None:
        settings = self._settings
        length = head.content_length
        if (
            not self._type_matches(head.content_type)
            or head.status not in _COMPRESSED_STATUSES
            or 0 <= length < settings.min_length
            or _last_value(head, _CONTENT_ENCODING)
        ):
            return None
        head.gzip_vary = settings.vary
        if not gzip_ok(ex, head, settings):
            return None
        head.add(b"Content-Encoding", b"gzip")
        head.content_length = -1
        ranges = _last_index(head, _ACCEPT_RANGES)
        if ranges >= 0:
            _drop(head, ranges)
        _weaken_etag(head)
        content = ex.content
        return Deflate(settings, length, sync=content is not None and not content.buffering)

    def _type_matches(self, content_type: bytes | None) -> bool:
        typed = self._typed
        matches = typed.get(content_type)
        if matches is None:
            matches = _type_matches(self._settings, content_type)
            keep(typed, content_type, matches, _TYPES_KEPT)
        return matches


def _type_matches(settings: Gzip, content_type: bytes | None) -> bool:
    """ngx_http_test_content_type: the type without its `charset=` parameter, in lower case."""
    if settings.types is None:
        return True
    if not content_type:
        return False
    return type_key(content_type) in settings.types


def type_key(content_type: bytes) -> str:
    """The part of a Content-Type nginx looks types up by (ngx_http_upstream_copy_content_type): up to
    the `;` of a `charset=` parameter, the whole value without one."""
    start = 0
    while (semicolon := content_type.find(b";", start)) >= 0:
        rest = content_type[semicolon + 1 :].lstrip(b" ")
        if not rest:
            break
        if rest[:8].lower() == b"charset=":
            return content_type[:semicolon].decode("latin-1").lower()
        start = semicolon + 1
    return content_type.decode("latin-1").lower()


def _last_index(head: ResponseHead, lower_name: bytes) -> int:
    """Where the last header of this name is (-1: none): the one nginx's headers_out points at."""
    headers = head.headers
    for index in range(len(headers) - 1, -1, -1):
        if headers[index][0].lower() == lower_name:
            return index
    return -1


def _last_value(head: ResponseHead, lower_name: bytes) -> bytes | None:
    index = _last_index(head, lower_name)
    return None if index < 0 else head.headers[index][1]


def _drop(head: ResponseHead, index: int) -> None:
    del head.headers[index]
    if head.location > index:
        head.location -= 1


def _weaken_etag(head: ResponseHead) -> None:
    """ngx_http_weak_etag: `"x"` becomes `W/"x"`; an ETag that is neither weak nor quoted is dropped."""
    index = _last_index(head, _ETAG)
    if index < 0:
        return
    name, value = head.headers[index]
    if len(value) > 2 and value.startswith(b"W/"):
        return
    if value.startswith(b'"'):
        head.headers[index] = (name, b"W/" + value)
    else:
        _drop(head, index)


def gzip_ok(ex: Exchange, head: ResponseHead, settings: Gzip) -> bool:
    """ngx_http_gzip_ok: whether this request gets a compressed response."""
    request = ex.request
    encodings = request.header_values("accept_encoding")
    if not encodings or len(encodings[0]) < 4:
        return False
    if not encodings[0].startswith(b"gzip,") and not accepts_gzip(encodings[0]):
        return False
    agents = request.header_values("user_agent")
    agent = agents[0] if agents else None
    if settings.disable_msie6 and agent is not None and is_msie6(agent):
        return False
    if request.http_version < (HTTP_11 if settings.http_version == "1.1" else HTTP_10):
        return False
    if request.header_values("via") and not _proxied_ok(ex, head, settings.proxied):
        return False
    if agent is not None and settings.disable:
        text = agent.decode("latin-1")
        if any(pattern.search(text) for pattern in settings.disable):
            return False
    return True


def _proxied_ok(ex: Exchange, head: ResponseHead, proxied: frozenset[str]) -> bool:
    """`gzip_proxied` for a request that came through a proxy."""
    if "off" in proxied:
        return False
    if "any" in proxied:
        return True
    if "auth" in proxied and ex.request.header_values("authorization"):
        return True
    expires = _last_value(head, _EXPIRES)
    if expires is not None:
        if "expired" not in proxied:
            return False
        expires_time = parse_http_time(expires)
        if expires_time == INVALID:
            return False
        date = _last_value(head, _DATE)
        date_time = int(time.time()) if date is None else parse_http_time(date)
        return date_time != INVALID and expires_time < date_time
    cache_control = [value for name, value in head.headers if name.lower() == _CACHE_CONTROL]
    if cache_control:
        return any(
            name in proxied and has_token(cache_control, token) for name, token in _CACHE_CONTROL_TOKENS
        )
    if "no_last_modified" in proxied and (
        head.last_modified is not None or _last_value(head, _LAST_MODIFIED) is not None
    ):
        return False
    return not ("no_etag" in proxied and _last_value(head, _ETAG) is not None)


def has_token(values: list[bytes], token: bytes) -> bool:
    """ngx_http_parse_multi_header_lines without a value: `token` as an item of a `,` or `;` separated
    list in one of `values`, in any case, followed only by spaces."""
    for value in values:
        if len(token) > len(value):
            continue
        start, end = 0, len(value)
        while start < end:
            if value[start : start + len(token)].lower() == token:
                after = start + len(token)
                while after < end and value[after] == 0x20:
                    after += 1
                if after == end or value[after] == 0x2C:
                    return True
            while start < end:
                start += 1
                if value[start - 1] in b";,":
                    break
            while start < end and value[start] == 0x20:
                start += 1
    return False


def accepts_gzip(value: bytes) -> bool:
    """ngx_http_gzip_accept_encoding: `gzip` as a whole item, with a quality above 0 if it has one."""
    lower = value.lower()
    start = 0
    while True:
        found = lower.find(b"gzip", start)
        if found < 0:
            return False
        if found == start or value[found - 1] in b", ":
            break
        start = found + 4
    p = found + 4
    end = len(value)
    while p < end:
        char = value[p]
        p += 1
        if char == 0x2C:
            return True
        if char == 0x3B:
            return _quality_follows(value, p)
        if char != 0x20:
            return False
    return True


def _quality_follows(value: bytes, p: int) -> bool:
    end = len(value)
    while p < end:
        char = value[p]
        p += 1
        if char in b"qQ":
            if p + 2 > end or value[p] != 0x3D:
                return False
            return _quality(value, p + 1) > 0
        if char != 0x20:
            return False
    return True


def _quality(value: bytes, p: int) -> int:
    """ngx_http_gzip_quantity: a quality in thousandths up to 1, 0 for an invalid one."""
    end = len(value)
    first = value[p]
    p += 1
    if first not in b"01":
        return 0
    quality = (first - 0x30) * 100
    if p == end:
        return quality
    char = value[p]
    p += 1
    if char in b", ":
        return quality
    if char != 0x2E:
        return 0
    decimals = 0
    while p < end:
        char = value[p]
        p += 1
        if char in b", ":
            break
        if 0x30 <= char <= 0x39:
            quality += char - 0x30
            decimals += 1
            continue
        return 0
    if quality > 100 or decimals > 3:
        return 0
    return quality


def is_msie6(agent: bytes) -> bool:
    """nginx's MSIE 4-6 test of a User-Agent (ngx_http_process_user_agent): `MSIE 4.`, `MSIE 5.`, or
    `MSIE 6.` without `SV1`, and not Opera."""
    msie = agent.find(b"MSIE ")
    if msie < 0 or msie + 7 >= len(agent) or b"Opera" in agent:
        return False
    if agent[msie + 6] != 0x2E:
        return False
    version = agent[msie + 5]
    if version in b"45":
        return True
    return version == 0x36 and b"SV1" not in agent[msie + 8 :]


class Deflate:
    """The body filter of one compressed response."""

    __slots__ = (
        "_ended",
        "_held",
        "_held_size",
        "_out",
        "_out_size",
        "_postponed",
        "_sync",
        "_zip",
        "zin",
        "zout",
    )

    def __init__(self, settings: Gzip, content_length: int, *, sync: bool) -> None:
        window_bits, memory_level = settings.window_bits, settings.memory_level
        if content_length > 0:
            # ngx_http_gzip_filter_memory: no larger window than the response needs
            while content_length < (1 << (window_bits - 1)) - _ZLIB_WINDOW_SLACK:
                window_bits -= 1
                memory_level -= 1
            memory_level = max(memory_level, 1)
        self._zip = zlib.compressobj(settings.level, zlib.DEFLATED, window_bits + 16, memory_level)
        self._sync = sync
        self._postponed = settings.postpone if settings.postpone and not sync else 0
        self._held: list[bytes] = []  # input gathered while compressing is postponed
        self._held_size = 0
        self._out = bytearray()  # output not yet passed on: less than a buffer
        self._out_size = 1 if settings.no_buffer else settings.buffers[1]
        self.zin = 0
        self.zout = 0
        self._ended = False

    def data(self, chunk: bytes) -> bytes:
        if self._postponed:
            self._held.append(chunk)
            self._held_size += len(chunk)
            if self._held_size <= self._postponed:
                return b""
            self._postponed = 0
            chunk = b"".join(self._held)
            self._held.clear()
        self.zin += len(chunk)
        out = self._out
        out += self._zip.compress(chunk)
        if self._sync:
            out += self._zip.flush(zlib.Z_SYNC_FLUSH)
            return self._take(len(out))
        return self._take(len(out) - len(out) % self._out_size)

    def end(self) -> bytes:
        if self._held:
            chunk = b"".join(self._held)
            self._held.clear()
            self.zin += len(chunk)
            self._out += self._zip.compress(chunk)
        self._out += self._zip.flush(zlib.Z_FINISH)
        self._ended = True
        return self._take(len(self._out))

    def _take(self, size: int) -> bytes:
        """The first `size` bytes of the output (nginx passes on its full buffers, and all at the end)."""
        if not size:
            return b""
        data = bytes(self._out[:size])
        del self._out[:size]
        self.zout += size
        return data

    def ratio(self) -> str | None:
        """`$gzip_ratio` once the response is compressed whole: the original size over the compressed one,
        to two decimals as nginx rounds them."""
        if not self._ended or not self.zout:
            return None
        whole, hundredths = divmod(self.zin * 100 // self.zout, 100)
        if self.zin * 1000 // self.zout % 10 > 4:
            hundredths += 1
            if hundredths > 99:
                whole, hundredths = whole + 1, 0
        return f"{whole}.{hundredths:02d}"


def gzip_ratio(ex: Exchange) -> str | None:
    """`$gzip_ratio`: "not found" for a response not compressed (or not whole)."""
    for body_filter in ex.body_filters:
        if isinstance(body_filter, Deflate):
            return body_filter.ratio()
    return None
