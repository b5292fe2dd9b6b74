"""The values the stream directives beyond the proxy's timeouts set in a level (the core's preread and
`tcp_nodelay`, ssl_preread, the proxy's next-upstream rules), shared by their handlers
(directives/stream*.py) and the stream block's merge (finish/stream.py)."""

from __future__ import annotations

from .settings import Slot

SSL_PREREAD = Slot[bool]("ssl_preread")
PREREAD_BUFFER_SIZE = Slot[int]("preread_buffer_size")
PREREAD_TIMEOUT = Slot[int]("preread_timeout")
TCP_NODELAY = Slot[bool]("tcp_nodelay")
NEXT_UPSTREAM = Slot[bool]("proxy_next_upstream")
NEXT_UPSTREAM_TRIES = Slot[int]("proxy_next_upstream_tries")
NEXT_UPSTREAM_TIMEOUT = Slot[int]("proxy_next_upstream_timeout")
