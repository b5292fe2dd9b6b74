"""HTTP/2 on the client side, as nginx 1.22's `listen ... http2`: with `ssl`, a connection whose TLS
handshake chose `h2` by ALPN speaks HTTP/2 and any other HTTP/1.x; without `ssl`, every connection
speaks HTTP/2 with prior knowledge (nginx 1.22 has no `Upgrade: h2c`).

`connection` is the connection (h2's sans-I/O state machine under an asyncio Protocol, with nginx's
settings, timeouts and flood checks), `stream` a stream as the client side of one request's `Exchange`
(which runs the same phases as for HTTP/1.x), `request` nginx's reading of a request's header list,
`encoding` the response heads in HPACK as nginx encodes them. `protocol_factory` gives the listeners'
protocol factory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from ..client import ClientConnection
from .connection import Http2Connection

if TYPE_CHECKING:
    from ..service import ListenerRoutes, Service

ALPN_HTTP2 = "h2"

__all__ = ["ALPN_HTTP2", "Http2Connection", "protocol_factory"]


class _Chosen(asyncio.Protocol):
    """Stands for the connection until it has begun (after the TLS handshake, when there is one):
    then it hands the transport to the protocol the address and the handshake chose."""

    __slots__ = ("_routes_for", "_service")

    def __init__(self, service: Service, routes_for: Callable[[object], ListenerRoutes]) -> None:
        self._service = service
        self._routes_for = routes_for

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        routes = self._routes_for(transport.get_extra_info("sockname"))
        chosen: asyncio.Protocol
        if routes.http2 and _speaks_http2(transport):
            chosen = Http2Connection(self._service, self._routes_for)
        else:
            chosen = ClientConnection(self._service, self._routes_for)
        transport.set_protocol(chosen)
        chosen.connection_made(transport)


def _speaks_http2(transport: asyncio.BaseTransport) -> bool:
    ssl_object = transport.get_extra_info("ssl_object")
    return ssl_object is None or ssl_object.selected_alpn_protocol() == ALPN_HTTP2


def protocol_factory(
    service: Service, routes_for: Callable[[object], ListenerRoutes], *, http2: bool
) -> Callable[[], asyncio.Protocol]:
    """The protocol of a listener's connections: HTTP/1.x, or with `http2` the one each connection's
    address and ALPN choose."""
    if not http2:
        return lambda: ClientConnection(service, routes_for)
    return lambda: cast(asyncio.Protocol, _Chosen(service, routes_for))
