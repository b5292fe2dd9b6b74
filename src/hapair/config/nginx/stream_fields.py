"""The values the stream directives beyond the proxy's timeouts set in a level (the core's preread and
`tcp_nodelay`, ssl_preread, the proxy's next-upstream rules), shared by their handlers
(directives/stream*.py) and the stream block's merge (finish/stream.py)."""

from __future__ import annotations

from .model.sockets import LocalAddress
from .settings import Slot

SSL_PREREAD = Slot[bool]("ssl_preread")
PREREAD_BUFFER_SIZE = Slot[int]("preread_buffer_size")
PREREAD_TIMEOUT = Slot[int]("preread_timeout")
TCP_NODELAY = Slot[bool]("tcp_nodelay")
NEXT_UPSTREAM = Slot[bool]("proxy_next_upstream")
NEXT_UPSTREAM_TRIES = Slot[int]("proxy_next_upstream_tries")
NEXT_UPSTREAM_TIMEOUT = Slot[int]("proxy_next_upstream_timeout")
PROXY_RESPONSES = Slot[int]("proxy_responses")
PROXY_PROTOCOL = Slot[bool]("proxy_protocol")
PROXY_PROTOCOL_TIMEOUT = Slot[int]("proxy_protocol_timeout")
PROXY_REQUESTS = Slot[int]("proxy_requests")
SSL_HANDSHAKE_TIMEOUT = Slot[int]("ssl_handshake_timeout")
PROXY_SSL = Slot[bool]("proxy_ssl")
PROXY_SSL_NAME_TEXT = Slot[str]("proxy_ssl_name")
PROXY_BIND = Slot[LocalAddress | None]("proxy_bind")
PROXY_SOCKET_KEEPALIVE = Slot[bool]("proxy_socket_keepalive")
