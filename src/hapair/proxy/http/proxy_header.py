"""`listen ... proxy_protocol` in http: each connection starts with a PROXY protocol header, read before the
HTTP reader (or the TLS handshake) sees the connection.

`HeaderFirstServer` accepts the connections of such a socket itself. It peeks at what a connection sends
first, as nginx reads it: the first `client_header_buffer_size` bytes of a plain connection (nginx's first
read into its header buffer), the first 107 of a TLS one (nginx peeks before the handshake); the header
must be whole in them. The header's bytes are then read off the socket and the connection goes to its
`ClientConnection`, or its HTTP/2 connection on an `http2` listener (through the TLS handshake on an
`ssl` listener), with what the header said, for
`$proxy_protocol_*` and `real_ip_header proxy_protocol`. A broken header closes the connection with
nginx's error line (`broken header: "..." while reading PROXY protocol, client: ..., server: ...`), in the
default server's error log; nothing within `client_header_timeout` closes it silently, as nginx's
"client timed out" at info; a plain connection closed before sending anything is not logged, a TLS one
is a broken empty header, as in nginx.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import socket
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

from hapair.config.nginx.model.addresses import InetAddress, ipv6_text
from hapair.config.nginx.model.logging import ErrorLevel
from hapair.proxy.proxy_protocol import MAX_HEADER, HeaderError, read_header

if TYPE_CHECKING:
    from hapair.proxy.proxy_protocol import ProxyAddresses

    from .service import ListenerRoutes

ACCEPT_BATCH = 64
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class Accepted(Protocol):
    """The protocol a connection goes to once its header is read (a `ClientConnection`, or the one that
    chooses between HTTP/1.x and HTTP/2 on an `http2` listener): its number for the error lines, and
    where the header's addresses go."""

    number: int
    proxy_header: ProxyAddresses | None


class HeaderFirstServer(asyncio.AbstractServer):
    """A listening socket of http servers whose connections start with a PROXY protocol header.
    `expects(sockname)`: whether the address a connection came to says `proxy_protocol` (a wildcard
    socket serves addresses that may not)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        factory: Callable[[], Accepted],
        tls: Any,
        *,
        routes: Callable[[object], ListenerRoutes],
        expects: Callable[[object], bool],
    ) -> None:
        self.loop = loop
        self._sock = sock
        self.factory = factory
        self.tls = tls
        self._routes = routes
        self._expects = expects
        self._waiting: set[_Waiting] = set()
        self._serving = True
        self.name = _address_text(sock.getsockname())  # for the error lines
        loop.add_reader(sock.fileno(), self._accept)

    def close(self) -> None:
        if not self._serving:
            return
        self._serving = False
        self.loop.remove_reader(self._sock.fileno())
        self._sock.close()
        for waiting in list(self._waiting):
            waiting.end()

    async def wait_closed(self) -> None:
        return

    def is_serving(self) -> bool:
        return self._serving

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self.loop

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                client, _ = self._sock.accept()
            except BlockingIOError:
                return
            except OSError as error:
                if error.errno in _OUT_OF_RESOURCES:
                    return
                continue
            client.setblocking(False)
            sockname = client.getsockname()
            if self._expects(sockname):
                self._waiting.add(_Waiting(self, client, self._routes(sockname)))
            else:
                self.hand_over(client, self.factory())

    def hand_over(self, client: socket.socket, connection: Accepted) -> None:
        """The connection (its header read) to its protocol, through the TLS handshake if any."""
        protocol = cast(asyncio.Protocol, connection)
        task = self.loop.create_task(
            self.loop.connect_accepted_socket(lambda: protocol, client, ssl=self.tls)
        )
        task.add_done_callback(_handshake_done)

    def forget(self, waiting: _Waiting) -> None:
        self._waiting.discard(waiting)


def _handshake_done(task: asyncio.Task[Any]) -> None:
    """A failed handshake has closed its socket (nginx logs it at info)."""
    if not task.cancelled():
        with contextlib.suppress(OSError, ssl.SSLError):
            task.result()


class _Waiting:
    """A connection whose header has not come yet."""

    __slots__ = ("_client", "_connection", "_routes", "_server", "_timer")

    def __init__(self, server: HeaderFirstServer, client: socket.socket, routes: ListenerRoutes) -> None:
        self._server = server
        self._client = client
        self._routes = routes
        self._connection = server.factory()
        loop = server.loop
        loop.add_reader(client.fileno(), self._readable)
        self._timer = loop.call_later(routes.default.fallback.client_header_timeout, self.end)

    def end(self) -> None:
        """Close it: timed out, broken, or the server closes."""
        self._stop()
        self._client.close()

    def _stop(self) -> None:
        self._server.loop.remove_reader(self._client.fileno())
        self._timer.cancel()
        self._server.forget(self)

    def _readable(self) -> None:
        tls = self._server.tls is not None
        try:
            size = MAX_HEADER if tls else self._routes.default.head_limits.buffer_size
            data = self._client.recv(size, socket.MSG_PEEK)
        except BlockingIOError:
            return
        except OSError:
            self.end()
            return
        if not data and not tls:
            self.end()  # "client closed connection", at info
            return
        try:
            header = read_header(data)
        except HeaderError as error:
            if str(error):
                self._log(str(error))
            self.end()
            return
        self._stop()
        self._client.recv(header.length)
        self._connection.proxy_header = header.addresses
        self._server.hand_over(self._client, self._connection)

    def _log(self, text: str) -> None:
        self._routes.default.fallback.error_log(
            ErrorLevel.ERROR,
            f"*{self._connection.number} {text} while reading PROXY protocol,"
            f" client: {_host_text(self._client.getpeername())}, server: {self._server.name}",
        )


def _address_text(address: object) -> str:
    """A socket address as nginx prints a listening one (`0.0.0.0:80`, `[::]:80`, `unix:/path`)."""
    if isinstance(address, str):
        return f"unix:{address}"
    assert isinstance(address, tuple)
    return InetAddress(ipaddress.ip_address(address[0].partition("%")[0]), address[1]).text


def _host_text(address: object) -> str:
    """A client's address as nginx prints it (no port)."""
    if not isinstance(address, tuple):
        return "unix:"
    ip = ipaddress.ip_address(address[0].partition("%")[0])
    return ipv6_text(ip) if isinstance(ip, ipaddress.IPv6Address) else str(ip)
