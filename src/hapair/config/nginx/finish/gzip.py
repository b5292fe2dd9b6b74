"""The gzip filter's merge (ngx_http_gzip_merge_conf, and the core module's part of it): each value in
force at a level, else nginx's default."""

from __future__ import annotations

from ..fields import (
    GZIP,
    GZIP_BUFFERS,
    GZIP_COMP_LEVEL,
    GZIP_DISABLE,
    GZIP_DISABLE_MSIE6,
    GZIP_HASH,
    GZIP_HTTP_VERSION,
    GZIP_MIN_LENGTH,
    GZIP_NO_BUFFER,
    GZIP_PROXIED,
    GZIP_TYPES,
    GZIP_VARY,
    GZIP_WINDOW,
    POSTPONE_GZIPPING,
)
from ..model.gzip import DISABLED, Gzip
from ..settings import Level


def gzip_settings(level: Level) -> Gzip:
    found = level.find(GZIP_TYPES)
    types = DISABLED.types if found is None else None if found.value is None else frozenset(found.value)
    return Gzip(
        enable=level.value(GZIP, DISABLED.enable),
        buffers=level.value(GZIP_BUFFERS, DISABLED.buffers),
        types=types,
        level=level.value(GZIP_COMP_LEVEL, DISABLED.level),
        window_bits=level.value(GZIP_WINDOW, DISABLED.window_bits),
        memory_level=level.value(GZIP_HASH, DISABLED.memory_level),
        postpone=level.value(POSTPONE_GZIPPING, DISABLED.postpone),
        no_buffer=level.value(GZIP_NO_BUFFER, DISABLED.no_buffer),
        min_length=level.value(GZIP_MIN_LENGTH, DISABLED.min_length),
        vary=level.value(GZIP_VARY, DISABLED.vary),
        http_version=level.value(GZIP_HTTP_VERSION, DISABLED.http_version),
        proxied=level.value(GZIP_PROXIED, DISABLED.proxied),
        disable=level.value(GZIP_DISABLE, DISABLED.disable),
        disable_msie6=level.value(GZIP_DISABLE_MSIE6, DISABLED.disable_msie6),
    )
