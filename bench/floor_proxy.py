"""The least a load balancer on hapair's stack (asyncio Protocols on uvloop, httptools) costs per request
on this machine: bench/proxy.py's "floor" row, what hapair's figures can be held against. It is not a
load balancer: no logging, timeouts, retries, limits, error answers or back-pressure.

    floor_proxy.py l7|l7-close|l4|udp LISTEN_ADDRESS PORT BACKEND:PORT [BACKEND:PORT ...] [--workers N]
        [--registration epoll|loop]

- l7: each client connection gets one kept-alive upstream connection (backends taken in turn); each
  request is parsed with httptools and its head rebuilt with the seed's proxy headers (Host, X-Real-IP,
  X-Forwarded-For, X-Forwarded-Proto), each response parsed and its head rebuilt, bodies relayed as they
  come;
- l7-close: the same with an upstream connection of its own for each request (HTTP/1.0, `Connection:
  close`, which the backend closes after its response), as nginx does without `keepalive` in the
  upstream (the seed's);
- l4: bytes relayed both ways as they come (transport.write; hapair's relay uses splice instead).
- udp: the system calls nginx makes for a UDP session of one query and one answer (`proxy_responses 1`),
  on a wildcard socket as bench/proxy.py's `listen 8080 udp` is: recvmsg with IP_PKTINFO from the
  listening socket; a non-blocking socket (socket with SOCK_NONBLOCK), connect, send to the backend (taken
  in turn); the upstream socket watched (`--registration epoll`, the default: one epoll_ctl into an epoll
  set of the worker's own, itself watched by the event loop, and the socket's close takes it out, as
  nginx's epoll module; `loop`: the event loop's add_reader and remove_reader, what libuv does for a
  socket); one recv of the answer, its sendmsg to the client from the address it wrote to, close.
  Without session state or timers: a lost answer leaves its socket open for the worker's life.

Workers (default: one per core) each listen with SO_REUSEPORT, as hapair's and nginx's do.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import select
import signal
import socket
import struct
from collections.abc import Callable, Iterator
from functools import partial
from typing import cast

import httptools
import uvloop

Backend = tuple[str, int]


class Upstream(asyncio.Protocol):
    """The upstream side of an l7 connection: responses parsed, heads rebuilt, bodies passed on."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.head: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.client.upstream_ready(self.transport)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.client.upstream_lost(self.transport)

    def on_message_begin(self) -> None:
        self.head = [b"HTTP/1.1 ", b"", b"\r\n"]

    def on_status(self, reason: bytes) -> None:
        self.head[1] += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() not in (b"connection", b"keep-alive"):
            self.head += (name, b": ", value, b"\r\n")

    def on_headers_complete(self) -> None:
        self.head[1] = b"%d %b" % (self.parser.get_status_code(), self.head[1])
        self.head.append(
            b"Connection: close\r\n\r\n" if self.client.closing else b"Connection: keep-alive\r\n\r\n"
        )
        self.client.send(b"".join(self.head))

    def on_body(self, body: bytes) -> None:
        self.client.send(body)

    def on_message_complete(self) -> None:
        self.client.unanswered -= 1
        if self.client.closing:
            self.client.close()


class Client(asyncio.Protocol):
    """A client connection of l7: requests parsed, heads rebuilt and written upstream."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, backends: Iterator[Backend], keep_upstream: bool
    ) -> None:
        self.loop = loop
        self.backends = backends
        self.keep_upstream = keep_upstream
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.upstream: asyncio.Transport | None = None
        self.waiting: list[bytes] = []  # written before the upstream connection is made
        self.connecting = False
        self.unanswered = 0  # requests sent upstream whose response has not ended
        self.closing = False  # the client asked for `Connection: close`: closed after the response
        self.peer = b""
        self.url = b""
        self.headers: list[bytes] = []
        self.host = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.peer = transport.get_extra_info("peername")[0].encode()

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upstream is not None:
            self.upstream.close()

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.host = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        lower = name.lower()
        if lower == b"host":
            self.host = value
        elif lower == b"connection" and value.lower() == b"close":
            self.closing = True
        elif lower not in (b"connection", b"keep-alive"):
            self.headers += (name, b": ", value, b"\r\n")

    def on_headers_complete(self) -> None:
        head = b"%b %b HTTP/1.%b\r\nHost: %b\r\nX-Real-IP: %b\r\nX-Forwarded-For: %b\r\n" % (
            self.parser.get_method(),
            self.url,
            b"1" if self.keep_upstream else b"0\r\nConnection: close",
            self.host,
            self.peer,
            self.peer,
        )
        self.unanswered += 1
        if not self.keep_upstream:
            self.upstream = None  # the previous request's, which its backend closes
        self.forward(head + b"X-Forwarded-Proto: https\r\n" + b"".join(self.headers) + b"\r\n")

    def on_body(self, body: bytes) -> None:
        self.forward(body)

    def forward(self, data: bytes) -> None:
        if self.upstream is not None and not self.upstream.is_closing():
            self.upstream.write(data)
            return
        self.upstream = None
        self.waiting.append(data)
        if not self.connecting:
            self.connecting = True
            host, port = next(self.backends)
            self.loop.create_task(self.loop.create_connection(lambda: Upstream(self), host, port))

    def upstream_ready(self, upstream: asyncio.Transport) -> None:
        self.upstream = upstream
        self.connecting = False
        upstream.write(b"".join(self.waiting))
        self.waiting.clear()

    def upstream_lost(self, upstream: asyncio.Transport) -> None:
        """The upstream closed: between responses (the backend's keepalive_requests), the next request
        opens another connection; in the middle of one, the client connection closes."""
        if upstream is not self.upstream:
            return  # an earlier connection, already replaced
        self.upstream = None
        self.connecting = False
        if self.unanswered:
            self.close()

    def send(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Relay(asyncio.Protocol):
    """One side of an l4 session; `other` is the side its bytes go to."""

    def __init__(self, other: Relay | None = None) -> None:
        self.other = other
        self.transport: asyncio.Transport | None = None
        self.waiting: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        other = self.other
        if other is not None:  # the upstream side, made after the client's
            other.other = self
            if other.waiting:
                self.transport.write(b"".join(other.waiting))
                other.waiting.clear()

    def data_received(self, data: bytes) -> None:
        other = self.other
        if other is None or other.transport is None:
            self.waiting.append(data)
        else:
            other.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.other is not None and self.other.transport is not None:
            self.other.transport.close()


def relay_factory(loop: asyncio.AbstractEventLoop, backends: Iterator[Backend]) -> Relay:
    client = Relay()

    async def connect() -> None:
        host, port = next(backends)
        await loop.create_connection(lambda: Relay(client), host, port)

    loop.create_task(connect())
    return client


IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
IN_PKTINFO = struct.Struct("=i4s4s")  # ipi_ifindex, ipi_spec_dst, ipi_addr
ANCILLARY = socket.CMSG_SPACE(IN_PKTINFO.size)
NONBLOCKING_DATAGRAM = socket.SOCK_DGRAM | socket.SOCK_NONBLOCK
DATAGRAM_MAX = 65535
BATCH = 64


class LoopWatch:
    """Upstream sockets watched by the event loop itself."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def add(self, fd: int, callback: Callable[[], None]) -> None:
        self.loop.add_reader(fd, callback)

    def remove(self, fd: int) -> None:
        self.loop.remove_reader(fd)


class EpollWatch:
    """Upstream sockets in an epoll set of the worker's own, itself watched by the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.poller = select.epoll()
        self.callbacks: dict[int, Callable[[], None]] = {}
        loop.add_reader(self.poller.fileno(), self.poll)

    def add(self, fd: int, callback: Callable[[], None]) -> None:
        self.callbacks[fd] = callback
        self.poller.register(fd, select.EPOLLIN)

    def remove(self, fd: int) -> None:
        del self.callbacks[fd]  # the socket's close takes it out of the set

    def poll(self) -> None:
        callbacks = self.callbacks
        for fd, _ in self.poller.poll(0, BATCH):
            callbacks[fd]()


class DatagramRelay:
    """udp: each datagram of a client relayed through a socket of its own, its answer sent back."""

    def __init__(
        self, sock: socket.socket, backends: Iterator[Backend], watch: LoopWatch | EpollWatch
    ) -> None:
        self.sock = sock
        self.backends = backends
        self.watch = watch

    def receive(self) -> None:
        for _ in range(BATCH):
            try:
                data, ancillary, _, client = self.sock.recvmsg(DATAGRAM_MAX, ANCILLARY)
            except BlockingIOError:
                return
            upstream = socket.socket(socket.AF_INET, NONBLOCKING_DATAGRAM)
            upstream.connect(next(self.backends))
            upstream.send(data)
            local = IN_PKTINFO.pack(0, IN_PKTINFO.unpack(ancillary[0][2])[2], b"")
            self.watch.add(upstream.fileno(), partial(self.answer, upstream, client, local))

    def answer(self, upstream: socket.socket, client: tuple[str, int], local: bytes) -> None:
        try:
            data = upstream.recv(DATAGRAM_MAX)
        except BlockingIOError:
            return
        self.sock.sendmsg([data], [(socket.IPPROTO_IP, IP_PKTINFO, local)], 0, client)
        self.watch.remove(upstream.fileno())
        upstream.close()


def listening_datagram(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, NONBLOCKING_DATAGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    sock.bind((address, port))
    return sock


def listening(address: str, port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((address, port))
    sock.listen(4096)
    return sock


def serve(mode: str, address: str, port: int, backends: list[Backend], registration: str) -> None:
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    turns = itertools.cycle(backends)
    if mode == "udp":
        watch = EpollWatch(loop) if registration == "epoll" else LoopWatch(loop)
        relay = DatagramRelay(listening_datagram(address, port), turns, watch)
        loop.add_reader(relay.sock.fileno(), relay.receive)
        loop.add_signal_handler(signal.SIGTERM, loop.stop)
        loop.run_forever()
        return
    if mode in ("l7", "l7-close"):
        keep = mode == "l7"
        server = loop.create_server(lambda: Client(loop, turns, keep), sock=listening(address, port))
    else:
        server = loop.create_server(lambda: relay_factory(loop, turns), sock=listening(address, port))
    loop.run_until_complete(server)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.run_forever()


def backend(text: str) -> Backend:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("l7", "l7-close", "l4", "udp"))
    parser.add_argument("address")
    parser.add_argument("port", type=int)
    parser.add_argument("backends", type=backend, nargs="+")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--registration", choices=("epoll", "loop"), default="epoll")
    options = parser.parse_args()
    workers = []
    for _ in range(options.workers):
        pid = os.fork()
        if pid == 0:
            serve(options.mode, options.address, options.port, options.backends, options.registration)
            os._exit(0)
        workers.append(pid)
    signal.signal(signal.SIGTERM, lambda signum, frame: [os.kill(pid, signal.SIGTERM) for pid in workers])
    for pid in workers:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
