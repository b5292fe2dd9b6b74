"""The gzip filter's settings at one level (ngx_http_gzip_filter_module's, and the core module's
`gzip_vary`, `gzip_http_version`, `gzip_proxied` and `gzip_disable`), with nginx's defaults."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_GZIP_TYPES = frozenset({"text/html"})
# what `gzip_proxied` allows a request with a `Via` header: "off", "any", "expired", "no-cache"...
DEFAULT_GZIP_PROXIED = frozenset({"off"})


@dataclass(frozen=True, slots=True)
class Gzip:
    enable: bool  # `gzip`
    buffers: tuple[int, int]  # number and size of the output buffers
    types: frozenset[str] | None  # lower-case MIME types compressed (text/html always); None: any
    level: int  # `gzip_comp_level`, 1-9
    window_bits: int  # zlib's, from `gzip_window` (15: 32k)
    memory_level: int  # zlib's, from `gzip_hash` (8: 64k)
    postpone: int  # `postpone_gzipping`: bytes gathered before compressing starts
    no_buffer: bool  # `gzip_no_buffer`
    min_length: int  # a response announcing a shorter Content-Length is not compressed
    vary: bool  # `gzip_vary`: `Vary: Accept-Encoding` on the responses the filter looked at
    http_version: str  # "1.0" or "1.1": requests of older versions are not compressed
    proxied: frozenset[str]  # `gzip_proxied` for requests with a `Via` header
    disable: tuple[re.Pattern[str], ...]  # `gzip_disable`'s regular expressions, on User-Agent
    disable_msie6: bool  # `gzip_disable msie6`


DISABLED = Gzip(
    enable=False,
    buffers=(32, 4096),
    types=DEFAULT_GZIP_TYPES,
    level=1,
    window_bits=15,
    memory_level=8,
    postpone=0,
    no_buffer=False,
    min_length=20,
    vary=False,
    http_version="1.1",
    proxied=DEFAULT_GZIP_PROXIED,
    disable=(),
    disable_msie6=False,
)
"""nginx's defaults (Debian's build on 4k pages: `gzip_buffers 32 4k`)."""
