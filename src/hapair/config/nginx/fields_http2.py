"""The values the http2 module's directives set in a level (ngx_http_v2_module.c's configuration
structures), shared by their handlers (directives/http_v2.py) and the http block's merge (finish/http.py)."""

from __future__ import annotations

from .settings import Slot

HTTP2_RECV_BUFFER_SIZE = Slot[int]("http2_recv_buffer_size")
HTTP2_POOL_SIZE = Slot[int]("http2_pool_size")
HTTP2_MAX_CONCURRENT_STREAMS = Slot[int]("http2_max_concurrent_streams")
HTTP2_MAX_CONCURRENT_PUSHES = Slot[int]("http2_max_concurrent_pushes")
HTTP2_BODY_PREREAD_SIZE = Slot[int]("http2_body_preread_size")
HTTP2_STREAMS_INDEX_SIZE = Slot[int]("http2_streams_index_size")
HTTP2_CHUNK_SIZE = Slot[int]("http2_chunk_size")
HTTP2_PUSH_PRELOAD = Slot[bool]("http2_push_preload")
HTTP2_PUSH = Slot[bool]("http2_push")  # only `off` is kept: hapair refuses the URIs to push
