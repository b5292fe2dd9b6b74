"""What the HTTP data plane's tests share: configurations read from text, the service run on uvloop,
small backends, a raw client, and test certificates."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvloop

from hapair.config.nginx.load import load
from hapair.config.nginx.model.config import NginxConfig
from hapair.config.nginx.model.http import HttpConfig
from hapair.proxy.http import HttpService, Limits, serve_http
from hapair.proxy.http.client import ClientConnection
from hapair.proxy.http.service import ListenerRoutes, Service
from hapair.proxy.http.zones import LimitZones
from hapair.proxy.shm import SharedZones
from tests.certificates import Authority

FAST = Limits(
    client_header_timeout=1.0,
    client_body_timeout=1.0,
    keepalive_timeout=2.0,
    send_timeout=2.0,
    lingering_time=1.0,
    lingering_timeout=0.3,
)


def run(coroutine: Coroutine[Any, Any, Any], timeout: float = 15.0) -> Any:
    """Run a test's coroutine on a fresh uvloop loop, with a deadline."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(asyncio.wait_for(coroutine, timeout))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_whole_config(directory: Path, text: str) -> NginxConfig:
    path = directory / "nginx.conf"
    path.write_text(textwrap.dedent(text))
    result = load(str(path), f"{directory}/")
    assert result.error is None, result.error
    assert result.config is not None and result.config.http is not None
    return result.config


def read_config(directory: Path, text: str) -> HttpConfig:
    http = read_whole_config(directory, text).http
    assert http is not None
    return http


@contextlib.asynccontextmanager
async def proxy(directory: Path, text: str, limits: Limits = FAST) -> AsyncIterator[HttpService]:
    config = read_whole_config(directory, text)
    assert config.http is not None
    service = await serve_http(config.http, reuse_port=False, limits=limits, thread_pools=config.thread_pools)
    try:
        yield service
    finally:
        service.close()
        await service.wait_closed()


# -- backends


@dataclass
class Received:
    """A request as a backend read it."""

    head: bytes
    body: bytes

    @property
    def request_line(self) -> bytes:
        return self.head.split(b"\r\n", 1)[0]

    def header(self, name: str) -> str | None:
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name.lower().encode():
                return value.strip().decode("latin-1")
        return None


Handler = Callable[[Received, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bytes | None]]


def ok(body: bytes = b"ok") -> Handler:
    async def handle(received: Received, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)

    return handle


@dataclass
class Backend:
    """An HTTP/1.1 server answering each request with what `handler` returns (None: it wrote itself)."""

    handler: Handler
    port: int = 0
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    server: asyncio.AbstractServer | None = None

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> Backend:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=ssl_context)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                received = await read_request(reader)
                if received is None:
                    break
                self.received.append(received)
                answer = await self.handler(received, reader, writer)
                if answer is not None:
                    writer.write(answer)
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def read_request(reader: asyncio.StreamReader) -> Received | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    received = Received(head, b"")
    length = received.header("content-length")
    if length is not None:
        received.body = await reader.readexactly(int(length))
    elif (received.header("transfer-encoding") or "").lower() == "chunked":
        received.body = await read_chunked(reader)
    return received


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)


# -- the client side


@dataclass
class Response:
    status: int
    head: bytes
    body: bytes

    def header(self, name: str) -> str | None:
        return Received(self.head, b"").header(name)


async def read_response(reader: asyncio.StreamReader, *, head_request: bool = False) -> Response:
    head = await reader.readuntil(b"\r\n\r\n")
    response = Response(int(head.split(b" ", 2)[1]), head, b"")
    if head_request or response.status in (101, 204, 304):
        return response
    length = response.header("content-length")
    if length is not None:
        response.body = await reader.readexactly(int(length))
    elif (response.header("transfer-encoding") or "").lower() == "chunked":
        response.body = await read_chunked(reader)
    else:
        response.body = await reader.read()
    return response


async def request(port: int, data: bytes, *, ssl_context: ssl.SSLContext | None = None) -> Response:
    """One request on a new connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ssl_context)
    try:
        writer.write(data)
        return await read_response(reader)
    finally:
        writer.close()


async def raw_exchange(port: int, data: bytes, wait: float = 3.0) -> tuple[bytes, bool]:
    """Send `data`, read until the proxy closes (True) or `wait` seconds pass (False)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    received = bytearray()
    closed = False
    try:
        async with asyncio.timeout(wait):
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    closed = True
                    break
                received += chunk
    except TimeoutError:
        pass
    except ConnectionResetError:
        closed = True
    writer.close()
    return bytes(received), closed


async def eventually(check: Callable[[], bool], timeout: float = 3.0) -> None:
    """Poll `check` until it holds or `timeout` passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


# -- certificates


@dataclass(frozen=True)
class Pki:
    ca: Path
    server: tuple[Path, Path]  # what hapair presents to clients
    upstream: tuple[Path, Path]  # what the HTTPS backend presents
    client: tuple[Path, Path]  # what hapair presents to the backend

    def backend_context(self) -> ssl.SSLContext:
        """The backend's: it requires a client certificate from the CA."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*self.upstream)
        context.load_verify_locations(self.ca)
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        context.check_hostname = False
        return context


def make_pki(directory: Path) -> Pki:
    authority = Authority(directory)
    return Pki(
        ca=authority.certificate,
        server=authority.issue("k8sapi-vrrp.kloud.lan"),
        upstream=authority.issue("k8s-api-8443"),
        client=authority.issue("k8sapiclient"),
    )


# -- the client protocol without sockets


class FakeTransport:
    """What the client protocol uses of a transport, recording writes."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        self.closed = True

    abort = close

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8080)}.get(name, default)


FUZZ_CONF = """
server {
    listen 127.0.0.1:8080;
    client_max_body_size 100;
    location / { access_log off; }
    location /p { access_log off; proxy_pass http://127.0.0.1:1; proxy_connect_timeout 50ms; }
}
"""


def service_without_zones(loop: asyncio.AbstractEventLoop, limits: Limits = FAST) -> Service:
    """A worker's HTTP service for protocols fed by hand (no shared memory zones)."""
    return Service(loop, limits, LimitZones(SharedZones(), ()))


def feed_client(directory: Path, chunks: list[bytes]) -> tuple[list[bytes], list[str]]:
    """Feed `chunks` to a client protocol over a fake transport; the writes and any error the loop saw."""
    config = read_config(directory, FUZZ_CONF)
    errors: list[str] = []

    async def scenario() -> FakeTransport:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _, context: errors.append(str(context)))
        service = service_without_zones(loop)
        routes = ListenerRoutes(service, config.listeners[0])
        connection = ClientConnection(service, lambda _: routes)
        transport = FakeTransport()
        connection.connection_made(transport)  # type: ignore[arg-type]
        for chunk in chunks:
            if transport.closed:
                break
            if chunk:
                connection.data_received(chunk)
            await asyncio.sleep(0)
        await asyncio.sleep(0.02)  # a connection refused by port 1 is known by then
        connection.connection_lost(None)
        await asyncio.sleep(0)
        service.pool.close()
        service.logs.close()
        return transport

    try:
        transport = run(scenario())
    except Exception as exc:  # the property: no exception ever escapes
        errors.append(repr(exc))
        return [], errors
    return [piece for piece in transport.written if piece.startswith(b"HTTP/")], errors
