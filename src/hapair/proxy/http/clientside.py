"""What a request's exchange, its content handler and its variables ask of the client side: the
connection of an HTTP/1.x request (`client.ClientConnection`) or the stream of an HTTP/2 one
(`h2.stream.Http2Stream`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import asyncio
    import ssl

    from hapair.proxy.proxy_protocol import ProxyAddresses

    from .exchange import Exchange
    from .response import Framing, ResponseHead
    from .service import Route


class ClientSide(Protocol):
    number: int  # the connection's, as nginx's `*N` and $connection
    requests: int
    keep_alive: bool
    remote_addr: str
    remote_port: int
    binary_remote_addr: str
    server_addr: str
    server_port: int
    scheme: str
    ssl_object: ssl.SSLObject | None
    server_name_indication: str | None
    proxy_header: ProxyAddresses | None  # what a PROXY protocol header said
    transport: asyncio.Transport | None  # None: the response is not written to a socket of its own
    http2: str  # $http2: "h2", "h2c" or ""
    multiplexed: bool  # HTTP/2: the head goes out as frames of its own, the log waits for the last one

    def write(self, data: bytes) -> None: ...

    def server_date(self) -> bytes: ...

    def may_keep_alive(self, route: Route) -> bool: ...

    def pause_reading_for_upstream(self) -> None: ...

    def resume_reading_for_upstream(self) -> None: ...

    def start_tunnel(self, exchange: Exchange) -> None: ...

    def write_eof_or_close(self) -> None: ...

    def exchange_finished(self, exchange: Exchange) -> None: ...

    def close_without_answer(self, *, reset: bool = False) -> None: ...


class MultiplexedSide(ClientSide, Protocol):
    """The stream of an HTTP/2 request (`multiplexed`): its head goes out as a HEADERS frame."""

    def send_head(self, head: ResponseHead, framing: Framing, *, end_stream: bool) -> int: ...


class Connection(Protocol):
    """What a worker's HTTP service does with each of its client connections, HTTP/1.x or HTTP/2 (a
    protocol rather than the classes: the compiled HTTP/2 connection is loaded only by the configurations
    that listen for HTTP/2, hapair/compiled.py)."""

    def close(self) -> None: ...

    def drain(self) -> None: ...
