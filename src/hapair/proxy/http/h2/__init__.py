"""HTTP/2 on the client side, as nginx 1.22's `listen ... http2`: with `ssl`, a connection whose TLS
handshake chose `h2` by ALPN speaks HTTP/2 and any other HTTP/1.x; without `ssl`, every connection
speaks HTTP/2 with prior knowledge (nginx 1.22 has no `Upgrade: h2c`).

`connection` is the connection (h2's sans-I/O state machine, `machine`, under an asyncio Protocol, with
nginx's settings, timeouts and flood checks), `stream` a stream as the client side of one request's `Exchange`
(which runs the same phases as for HTTP/1.x), `request` nginx's reading of a request's header list,
`encoding` the response heads in HPACK as nginx encodes them. `protocol_factory` gives the listeners'
protocol factory.

The connection (and the h2 library under it, 4 MB) is imported by the first HTTP/2 connection, or by the
master before it forks the workers of a configuration with `http2` listeners (`preload`, called by
hapair.proxy.preload): a configuration without HTTP/2 does not hold it in every worker (issue 15).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..client import CONNECTION_NUMBERS, ClientConnection

if TYPE_CHECKING:
    from hapair.config.nginx.model.config import NginxConfig
    from hapair.proxy.proxy_protocol import ProxyAddresses

    from ..service import ListenerRoutes, Service
    from .connection import Http2Connection

ALPN_HTTP2 = "h2"
HTTP_ALPN = ("http/1.1",)
HTTP2_ALPN = (ALPN_HTTP2, "http/1.1")  # nginx's order: HTTP/2 when the client offers it

__all__ = ["ALPN_HTTP2", "HTTP2_ALPN", "HTTP_ALPN", "preload", "protocol_factory"]


def preload(config: NginxConfig) -> None:
    """Import the HTTP/2 connection if the configuration listens for HTTP/2: in the master, so that its
    workers share it."""
    if config.http is not None and any(listener.http2 for listener in config.http.listeners):
        from . import connection  # noqa: F401, PLC0415


class _Chosen(asyncio.Protocol):
    """Stands for the connection until it has begun (after the TLS handshake, when there is one):
    then it hands the transport to the protocol the address and the handshake chose, with the
    connection's number and what a PROXY protocol header said (proxy_header.py sets it)."""

    __slots__ = ("_admitted", "_routes_for", "_service", "number", "proxy_header")

    def __init__(
        self, service: Service, routes_for: Callable[[object], ListenerRoutes], *, admitted: bool = False
    ) -> None:
        self._service = service
        self._routes_for = routes_for
        self._admitted = admitted
        self.number = next(CONNECTION_NUMBERS)
        self.proxy_header: ProxyAddresses | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        routes = self._routes_for(transport.get_extra_info("sockname"))
        chosen: ClientConnection | Http2Connection
        if routes.http2 and _speaks_http2(transport):
            from .connection import Http2Connection  # noqa: PLC0415  (see the module's docstring)

            chosen = Http2Connection(self._service, self._routes_for)
        else:
            chosen = ClientConnection(self._service, self._routes_for, admitted=self._admitted)
        chosen.number = self.number
        chosen.proxy_header = self.proxy_header
        transport.set_protocol(chosen)
        chosen.connection_made(transport)


def _speaks_http2(transport: asyncio.BaseTransport) -> bool:
    ssl_object = transport.get_extra_info("ssl_object")
    return ssl_object is None or ssl_object.selected_alpn_protocol() == ALPN_HTTP2


def protocol_factory(
    service: Service, routes_for: Callable[[object], ListenerRoutes], *, http2: bool, admitted: bool = False
) -> Callable[[], ClientConnection | _Chosen]:
    """The protocol of a listener's connections: HTTP/1.x, or with `http2` the one each connection's
    address and ALPN choose; `admitted`: connections whose round came already (a Drain's), which an
    HTTP/1.x connection does not wait for again."""
    if not http2:
        return lambda: ClientConnection(service, routes_for, admitted=admitted)
    return lambda: _Chosen(service, routes_for, admitted=admitted)
