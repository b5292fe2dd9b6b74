"""The http2 module (ngx_http_v2_module.c): its directives with nginx's checks and messages.

Read and used: `http2_max_concurrent_streams`, `http2_body_preread_size` (the stream window announced),
`http2_chunk_size`. Read and checked, with nothing for them to change in hapair: `http2_recv_buffer_size`
(nginx's one read buffer per worker; hapair's transports read what the socket has),
`http2_pool_size` and `http2_streams_index_size` (the sizes of nginx's per-connection memory pool and
stream hash), `http2_max_concurrent_pushes`, `http2_push off` and `http2_push_preload off` (hapair never
pushes). Obsolete since nginx 1.19.7, and only warned about as nginx does (their replacements apply):
`http2_recv_timeout`, `http2_idle_timeout`, `http2_max_requests`, `http2_max_field_size`,
`http2_max_header_size`.

Refused by name: `http2_push URI` and `http2_push_preload on`. Server push is gone from the browsers
(Chrome removed it in 2022) and from nginx itself (1.25.1); a pushed response would also have to go
through a second request's phases that no client asked for.
"""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..fields_http2 import (
    HTTP2_BODY_PREREAD_SIZE,
    HTTP2_CHUNK_SIZE,
    HTTP2_MAX_CONCURRENT_PUSHES,
    HTTP2_MAX_CONCURRENT_STREAMS,
    HTTP2_POOL_SIZE,
    HTTP2_PUSH,
    HTTP2_PUSH_PRELOAD,
    HTTP2_RECV_BUFFER_SIZE,
    HTTP2_STREAMS_INDEX_SIZE,
)
from ..model.http2 import MAX_FRAME_SIZE, MAX_WINDOW
from ..numbers import atoi, parse_size
from ..settings import Slot
from ..variables import compile_template
from . import setters

STATE_BUFFER_SIZE = 16  # NGX_HTTP_V2_STATE_BUFFER_SIZE
MIN_POOL_SIZE = 112  # NGX_MIN_POOL_SIZE on 64-bit Linux: a pool header and two large-block links, aligned
POOL_ALIGNMENT = 16  # NGX_POOL_ALIGNMENT

# the directives nginx 1.19.7 made obsolete, and the ones that took their place
_OBSOLETE = {
    "http2_recv_timeout": "client_header_timeout",
    "http2_idle_timeout": "keepalive_timeout",
    "http2_max_requests": "keepalive_requests",
    "http2_max_field_size": "large_client_header_buffers",
    "http2_max_header_size": "large_client_header_buffers",
}


def _size(slot: Slot[int], directive: Directive, block: Block) -> int:
    """ngx_conf_set_size_slot: the value set, before the directive's own check."""
    level = block.level()
    if level.here(slot) is not None:
        raise directive.invalid("is duplicate")
    value = parse_size(directive.args[0])
    if value is None:
        raise directive.invalid("invalid value")
    return value


def recv_buffer_size(block: Block, directive: Directive, reading: Reading) -> None:
    value = _size(HTTP2_RECV_BUFFER_SIZE, directive, block)
    if value <= 2 * STATE_BUFFER_SIZE:
        raise directive.invalid("value is too small")
    block.level().set(HTTP2_RECV_BUFFER_SIZE, value, directive.place)


def pool_size(block: Block, directive: Directive, reading: Reading) -> None:
    value = _size(HTTP2_POOL_SIZE, directive, block)
    if value < MIN_POOL_SIZE:
        raise directive.error(f"the pool size must be no less than {MIN_POOL_SIZE}")
    if value % POOL_ALIGNMENT:
        raise directive.error(f"the pool size must be a multiple of {POOL_ALIGNMENT}")
    block.level().set(HTTP2_POOL_SIZE, value, directive.place)


def body_preread_size(block: Block, directive: Directive, reading: Reading) -> None:
    value = _size(HTTP2_BODY_PREREAD_SIZE, directive, block)
    if value > MAX_WINDOW:
        raise directive.error(f"the maximum body preread buffer size is {MAX_WINDOW}")
    block.level().set(HTTP2_BODY_PREREAD_SIZE, value, directive.place)


def chunk_size(block: Block, directive: Directive, reading: Reading) -> None:
    """A chunk larger than the largest frame is that frame's size, as nginx cuts it."""
    value = _size(HTTP2_CHUNK_SIZE, directive, block)
    if value == 0:
        raise directive.error("the http2 chunk size cannot be zero")
    block.level().set(HTTP2_CHUNK_SIZE, min(value, MAX_FRAME_SIZE), directive.place)


def streams_index_size(block: Block, directive: Directive, reading: Reading) -> None:
    level = block.level()
    if level.here(HTTP2_STREAMS_INDEX_SIZE) is not None:
        raise directive.invalid("is duplicate")
    value = atoi(directive.args[0])
    if value is None:
        raise directive.invalid("invalid number")
    if value == 0 or value & (value - 1):
        raise directive.invalid("must be a power of two")
    level.set(HTTP2_STREAMS_INDEX_SIZE, value, directive.place)


def push(block: Block, directive: Directive, reading: Reading) -> None:
    """`http2_push off` (ngx_http_v2_push's checks); a URI to push is refused once nginx would have
    compiled it."""
    level = block.level()
    here = level.here(HTTP2_PUSH)
    if directive.args[0] == "off":
        if here is not None:
            raise directive.invalid("is duplicate")
        level.set(HTTP2_PUSH, False, directive.place)
        return
    if here is not None:
        raise directive.invalid('URI cannot be used with "off" parameter')
    assert block.http is not None
    compile_template(directive.args[0], block.http.variables, directive.place, directive.place)
    raise directive.unsupported("server push (a URI)")


def push_preload(block: Block, directive: Directive, reading: Reading) -> None:
    setters.flag(HTTP2_PUSH_PRELOAD)(block, directive, reading)
    if block.level().value(HTTP2_PUSH_PRELOAD, False):
        raise directive.unsupported('"on"')


def obsolete(block: Block, directive: Directive, reading: Reading) -> None:
    """ngx_http_v2_obsolete: a warning, and nothing set."""
    replacement = _OBSOLETE[directive.name]
    text = f'the "{directive.name}" directive is obsolete, use the "{replacement}" directive instead'
    reading.warn(text, directive.place)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_v2_module", "http2_recv_buffer_size"): recv_buffer_size,
    ("ngx_http_v2_module", "http2_pool_size"): pool_size,
    ("ngx_http_v2_module", "http2_max_concurrent_streams"): setters.number(HTTP2_MAX_CONCURRENT_STREAMS),
    ("ngx_http_v2_module", "http2_max_concurrent_pushes"): setters.number(HTTP2_MAX_CONCURRENT_PUSHES),
    ("ngx_http_v2_module", "http2_body_preread_size"): body_preread_size,
    ("ngx_http_v2_module", "http2_streams_index_size"): streams_index_size,
    ("ngx_http_v2_module", "http2_chunk_size"): chunk_size,
    ("ngx_http_v2_module", "http2_push"): push,
    ("ngx_http_v2_module", "http2_push_preload"): push_preload,
    **{("ngx_http_v2_module", name): obsolete for name in _OBSOLETE},
}
