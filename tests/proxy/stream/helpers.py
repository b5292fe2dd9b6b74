"""Stream configurations built directly from the model (any port, port 0 included), backends on loopback,
and a uvloop runner with a deadline."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvloop

from hapair.config.nginx.model.addresses import InetAddress
from hapair.config.nginx.model.logging import AccessLog, ErrorLevel, ErrorLog, LogEscape, LogFormat
from hapair.config.nginx.model.place import Place
from hapair.config.nginx.model.stream import StreamConfig, StreamListen, StreamProxy, StreamServer
from hapair.config.nginx.model.templates import Literal, Template, Variable
from hapair.config.nginx.model.upstream import Balancing, Upstream, UpstreamServer
from hapair.proxy.proxy_protocol import ProxyAddresses
from hapair.proxy.stream.clienthello import Hello
from hapair.proxy.stream.variables import UpstreamAttempt

PLACE = Place("test.conf", 1)
DEADLINE = 15.0
LOGGED_AT = 1700000000.25  # 2023-11-14 22:13:20.250 UTC


@dataclass
class FakeSession:
    """What the stream variables read of a session (variables.SessionView), set by hand."""

    connection: int = 7
    protocol: str = "TCP"
    remote_addr: str = "127.0.0.1"
    remote_port: str = "40000"
    binary_remote_addr: str = "\x7f\x00\x00\x01"
    server_addr: str = "127.0.0.1"
    server_port: str = "8080"
    status: int = 200
    bytes_sent: int = 12
    bytes_received: int = 34
    elapsed_ms: int = 1234
    logged_at: float = LOGGED_AT
    attempts: list[UpstreamAttempt] = field(
        default_factory=lambda: [UpstreamAttempt("127.0.0.1:9000", 1, 3, 1230, 34, 12)]
    )
    hello: Hello | None = None
    proxy_header: ProxyAddresses | None = None
    tls: dict[str, str | None] | None = None
    realip_remote_addr: str = "127.0.0.1"
    realip_remote_port: str = "40000"
    values: dict[str, str | None] | None = None
    match: re.Match[str] | None = None

    def session_ms(self) -> int:
        return self.elapsed_ms

    def wall_time(self) -> float:
        return self.logged_at


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run on uvloop, as the proxy does, failing after DEADLINE seconds."""
    return uvloop.run(asyncio.wait_for(coroutine, DEADLINE))


def inet(port: int, host: str = "127.0.0.1") -> InetAddress:
    return InetAddress(ipaddress.ip_address(host), port)


def upstream_server(
    port: int, weight: int = 1, *, max_fails: int = 1, fail_timeout: int = 10
) -> UpstreamServer:
    address = inet(port)
    return UpstreamServer(address.text, (address,), weight, max_fails, fail_timeout, False, False, PLACE)


def template(source: str) -> Template:
    """`$name` variables and literal text (enough for test formats)."""
    parts: list[Literal | Variable] = []
    for i, piece in enumerate(source.split("$")):
        if i == 0:
            if piece:
                parts.append(Literal(piece))
            continue
        name = ""
        while piece and (piece[0].isalnum() or piece[0] == "_"):
            name, piece = name + piece[0], piece[1:]
        parts.append(Variable(name))
        if piece:
            parts.append(Literal(piece))
    return Template(source, tuple(parts))


def access_log(path: Path, source: str, escape: LogEscape = LogEscape.DEFAULT) -> AccessLog:
    return AccessLog(str(path), LogFormat("test", escape, template(source), PLACE), 0, 0, None, PLACE)


def error_log(path: Path, level: ErrorLevel = ErrorLevel.ERROR) -> ErrorLog:
    return ErrorLog(str(path), level, (), PLACE)


def listen(address: InetAddress, *, own_socket: bool = True) -> StreamListen:
    return StreamListen(address, False, 511, False, True, own_socket, PLACE)


def stream_server(
    backends: list[UpstreamServer],
    *,
    address: InetAddress | None = None,
    listens: tuple[StreamListen, ...] = (),
    connect_timeout: int = 2000,
    timeout: int = 10000,
    logs: tuple[AccessLog, ...] = (),
    error_logs: tuple[ErrorLog, ...] = (),
    balancing: Balancing = Balancing.ROUND_ROBIN,
) -> StreamServer:
    upstream = Upstream("backends", tuple(backends), balancing, None, False, PLACE)
    proxy = StreamProxy(upstream, connect_timeout, timeout, PLACE)
    listens = listens or (listen(address or inet(0)),)
    return StreamServer(listens, proxy, logs, error_logs, {}, PLACE)


def config(*servers: StreamServer) -> StreamConfig:
    upstreams = tuple(server.proxy.upstream for server in servers)
    return StreamConfig(tuple(servers), upstreams, (), PLACE)


def free_listener(host: str = "127.0.0.1") -> socket.socket:
    """A listening socket on an ephemeral port, to hand to the service with the port in the config."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def dead_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Backend:
    """An upstream server on 127.0.0.1 running `handler` for each connection."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._server: asyncio.Server | None = None
        self.port = 0
        self.connections = 0

    async def __aenter__(self) -> Backend:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self._handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1 << 20):
        writer.write(data)
        await writer.drain()
    writer.write_eof()


def says(name: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(name)
        await writer.drain()
        await reader.read()

    return handler


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()


def listening_port(service: Any, index: int = 0) -> int:
    return service.sockets[index].getsockname()[1]


async def poll(condition: Callable[[], bool], deadline: float = 5.0) -> None:
    """Wait until `condition()` holds, checking every millisecond or so."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not condition():
        if loop.time() > end:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.001)
