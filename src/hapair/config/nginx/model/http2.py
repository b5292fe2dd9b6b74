"""What the http2 module's directives give a server or location (ngx_http_v2_srv_conf_t and
ngx_http_v2_loc_conf_t), with nginx's defaults."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_WINDOW = 65535  # the initial flow-control window of RFC 9113 (NGX_HTTP_V2_DEFAULT_WINDOW)
MAX_WINDOW = (1 << 31) - 1  # NGX_HTTP_V2_MAX_WINDOW
MAX_FRAME_SIZE = (1 << 24) - 1  # NGX_HTTP_V2_MAX_FRAME_SIZE


@dataclass(frozen=True, slots=True)
class Http2:
    """`max_concurrent_streams` and `body_preread_size` are the server's (a connection takes them from the
    default server of its address, as nginx's); `chunk_size` the location's: the largest DATA frame of a
    response."""

    max_concurrent_streams: int = 128
    body_preread_size: int = 65536  # the stream window announced (SETTINGS_INITIAL_WINDOW_SIZE)
    chunk_size: int = 8 * 1024
