"""The http2 module's merge (ngx_http_v2_merge_srv_conf, ngx_http_v2_merge_loc_conf): a server or
location takes the nearest value, else nginx's default."""

from __future__ import annotations

from ..fields_http2 import HTTP2_BODY_PREREAD_SIZE, HTTP2_CHUNK_SIZE, HTTP2_MAX_CONCURRENT_STREAMS
from ..model.http2 import Http2
from ..settings import Level

_DEFAULT = Http2()


def http2_settings(level: Level) -> Http2:
    return Http2(
        max_concurrent_streams=level.value(HTTP2_MAX_CONCURRENT_STREAMS, _DEFAULT.max_concurrent_streams),
        body_preread_size=level.value(HTTP2_BODY_PREREAD_SIZE, _DEFAULT.body_preread_size),
        chunk_size=level.value(HTTP2_CHUNK_SIZE, _DEFAULT.chunk_size),
    )
