"""What a `listen` sets on its socket beside the address (ngx_listening_t's options), for the http and the
stream servers alike, and what `proxy_bind` and `proxy_socket_keepalive` set on an upstream socket."""

from __future__ import annotations

from dataclasses import dataclass

from .addresses import SocketAddress
from .templates import Template


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """`so_keepalive=on|off|[idle]:[interval]:[count]`: SO_KEEPALIVE on or off, and the TCP_KEEPIDLE,
    TCP_KEEPINTVL and TCP_KEEPCNT values given (0: the system's)."""

    on: bool
    idle: int = 0  # seconds
    interval: int = 0  # seconds
    count: int = 0


@dataclass(frozen=True, slots=True)
class SocketOptions:
    """The options a listening socket is given once bound; None (or False) leaves the system's. Accepted
    connections inherit them, as in nginx."""

    rcvbuf: int | None = None  # SO_RCVBUF
    sndbuf: int | None = None  # SO_SNDBUF
    keepalive: KeepAlive | None = None  # SO_KEEPALIVE (and the TCP_KEEP* values)
    fastopen: int | None = None  # TCP_FASTOPEN: the queue of connections not yet accepted
    deferred: int | None = None  # TCP_DEFER_ACCEPT: seconds to wait for the first data


NO_OPTIONS = SocketOptions()


@dataclass(frozen=True, slots=True)
class LocalAddress:
    """`proxy_bind`: the local address upstream connections are made from, an address (`addr[:port]`)
    or a value with variables made per session; `transparent` makes it the client's own address
    (IP_TRANSPARENT)."""

    address: SocketAddress | None  # None: `value` gives it per session
    value: Template | None = None
    text: str = ""  # the address as written (nginx's error lines name it so)
    transparent: bool = False
