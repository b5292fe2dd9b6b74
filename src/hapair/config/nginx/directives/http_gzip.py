"""The gzip filter: `gzip`, `gzip_types`, `gzip_comp_level`, `gzip_min_length`, `gzip_buffers`,
`gzip_window`, `gzip_hash`, `postpone_gzipping`, `gzip_no_buffer` (ngx_http_gzip_filter_module.c), and
the core module's `gzip_vary`, `gzip_http_version`, `gzip_proxied`, `gzip_disable`
(ngx_http_core_module.c), which nginx shares with gzip_static.

`gzip_static` and `gunzip` are refused by name: hapair serves no files, and does not decompress."""

from __future__ import annotations

import re

from ..context import Block, Directive, Handler, Reading
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
from ..numbers import atoi, parse_size
from ..settings import Slot
from . import setters
from .regex import compile_regex

GZIP_PROXIED_VALUES = (
    "off",
    "expired",
    "no-cache",
    "no-store",
    "private",
    "no_last_modified",
    "no_etag",
    "auth",
    "any",
)
HTML = "text/html"  # always in gzip_types (ngx_http_html_default_types)
MAX_WINDOW = 32 * 1024
MAX_HASH = 128 * 1024


def gzip_types(block: Block, directive: Directive, reading: Reading) -> None:
    """ngx_http_types_slot: text/html first, the types in lower case, a repeated one with nginx's
    warning; `*` is any type, and a later `gzip_types` at the same level is then ignored."""
    level = block.level()
    here = level.here(GZIP_TYPES)
    if here is not None and here.value is None:
        return
    types = list(here.value) if here is not None and here.value is not None else [HTML]
    for arg in directive.args:
        if arg == "*":
            level.set(GZIP_TYPES, None, directive.place)
            return
        lower = arg.lower()
        if lower in types:
            reading.warn(f'duplicate MIME type "{lower}"', directive.place)
            continue
        types.append(lower)
    level.set(GZIP_TYPES, tuple(types), here.place if here is not None else directive.place)


def gzip_comp_level(block: Block, directive: Directive, reading: Reading) -> None:
    """ngx_conf_set_num_slot with bounds 1-9."""
    level = block.level()
    if level.here(GZIP_COMP_LEVEL) is not None:
        raise directive.invalid("is duplicate")
    value = atoi(directive.args[0])
    if value is None:
        raise directive.invalid("invalid number")
    if not 1 <= value <= 9:
        raise directive.error("value must be between 1 and 9")
    level.set(GZIP_COMP_LEVEL, value, directive.place)


def _power_of_two(slot: Slot[int], largest: int, highest_bits: int, reason: str) -> Handler:
    """`gzip_window` and `gzip_hash`: a size among the powers of two from 512 to `largest`, kept as
    zlib's parameter (window bits, memory level), `highest_bits` for `largest`."""

    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        level = block.level()
        if level.here(slot) is not None:
            raise directive.invalid("is duplicate")
        size = parse_size(directive.args[0])
        if size is None:
            raise directive.invalid("invalid value")
        bits, candidate = highest_bits, largest
        while candidate > 256:
            if candidate == size:
                level.set(slot, bits, directive.place)
                return
            candidate >>= 1
            bits -= 1
        raise directive.invalid(reason)

    return handle


def gzip_disable(block: Block, directive: Directive, reading: Reading) -> None:
    """Regular expressions on User-Agent, without regard to case; `msie6` is nginx's built-in test of
    MSIE 4-6. Every `gzip_disable` makes its level's list its own, even one with only `msie6`."""
    level = block.level()
    here = level.here(GZIP_DISABLE)
    patterns: list[re.Pattern[str]] = list(here.value) if here is not None else []
    for arg in directive.args:
        if arg == "msie6":
            level.set(GZIP_DISABLE_MSIE6, True, directive.place)
            continue
        patterns.append(compile_regex(arg, caseless=True, place=directive.place))
    level.set(GZIP_DISABLE, tuple(patterns), here.place if here is not None else directive.place)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_gzip_filter_module", "gzip"): setters.flag(GZIP),
    ("ngx_http_gzip_filter_module", "gzip_buffers"): setters.bufs(GZIP_BUFFERS),
    ("ngx_http_gzip_filter_module", "gzip_types"): gzip_types,
    ("ngx_http_gzip_filter_module", "gzip_comp_level"): gzip_comp_level,
    ("ngx_http_gzip_filter_module", "gzip_window"): _power_of_two(
        GZIP_WINDOW, MAX_WINDOW, 15, "must be 512, 1k, 2k, 4k, 8k, 16k, or 32k"
    ),
    ("ngx_http_gzip_filter_module", "gzip_hash"): _power_of_two(
        GZIP_HASH, MAX_HASH, 9, "must be 512, 1k, 2k, 4k, 8k, 16k, 32k, 64k, or 128k"
    ),
    ("ngx_http_gzip_filter_module", "postpone_gzipping"): setters.size(POSTPONE_GZIPPING),
    ("ngx_http_gzip_filter_module", "gzip_no_buffer"): setters.flag(GZIP_NO_BUFFER),
    ("ngx_http_gzip_filter_module", "gzip_min_length"): setters.size(GZIP_MIN_LENGTH),
    ("ngx_http_core_module", "gzip_vary"): setters.flag(GZIP_VARY),
    ("ngx_http_core_module", "gzip_http_version"): setters.choice(GZIP_HTTP_VERSION, ("1.0", "1.1")),
    ("ngx_http_core_module", "gzip_proxied"): setters.bitmask(GZIP_PROXIED, GZIP_PROXIED_VALUES),
    ("ngx_http_core_module", "gzip_disable"): gzip_disable,
}
