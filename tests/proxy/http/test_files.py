"""Files sent by the data plane (filebody.py): with sendfile only where it may write to the socket (plain
TCP, the transport holding nothing), through the transport otherwise (sendfile off, TLS, a filter on the
body), with bounded memory whatever the client's pace, the file closed whatever becomes of the client,
and TCP_CORK held from the head to the end of the body with `tcp_nopush on`.

The invariants are checked inside the system calls' path (os.sendfile and os.pread wrapped): no byte of
the file is read or sent while the transport holds more than the service's high-water mark, and
sendfile never writes while the transport holds anything (its bytes would overtake them)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hapair.proxy.http import HttpService
from hapair.proxy.http.client import ClientConnection

from .harness import FAST, eventually, free_port, make_pki, proxy, read_response, run

MB = 1024 * 1024
SIZE = 8 * MB + 123


def conf(port: int, root: Path, location: str, listen: str = "") -> str:
    return f"""
server {{
    listen 127.0.0.1:{port} {listen};
    access_log off;
    root {root};
    location / {{ {location} }}
}}
"""


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "www" / "big.bin"
    path.parent.mkdir()
    path.write_bytes(os.urandom(SIZE))
    return path


@dataclass
class Watch:
    """os.sendfile and os.pread as the data plane calls them, with the transport's state at each call."""

    service: HttpService | None = None
    sendfile_calls: int = 0
    sendfile_bytes: int = 0
    reads: int = 0
    threads: set[str] = field(default_factory=set)  # the threads that read or sent
    corked: list[int] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def _buffered(self) -> int:
        assert self.service is not None
        connections: set[ClientConnection] = self.service._service.connections
        return max((c.transport.get_write_buffer_size() for c in connections if c.transport), default=0)

    def sendfile(self, real: Callable[..., int]) -> Callable[..., int]:
        def wrapped(out_fd: int, in_fd: int, offset: int, count: int) -> int:
            if self._buffered():
                self.violations.append(f"sendfile with {self._buffered()} bytes in the transport")
            with socket.socket(fileno=os.dup(out_fd)) as sock:
                self.corked.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK))
            sent = real(out_fd, in_fd, offset, count)
            self.threads.add(threading.current_thread().name)
            self.sendfile_calls += 1
            self.sendfile_bytes += sent
            return sent

        return wrapped

    def pread(self, real: Callable[..., bytes], high_water: int) -> Callable[..., bytes]:
        def wrapped(fd: int, size: int, offset: int) -> bytes:
            if self._buffered() > high_water:
                self.violations.append(f"read with {self._buffered()} bytes in the transport")
            self.reads += 1
            self.threads.add(threading.current_thread().name)
            return real(fd, size, offset)

        return wrapped


@pytest.fixture
def watch(monkeypatch: pytest.MonkeyPatch) -> Watch:
    watched = Watch()
    monkeypatch.setattr(os, "sendfile", watched.sendfile(os.sendfile))
    monkeypatch.setattr(os, "pread", watched.pread(os.pread, FAST.high_water))
    return watched


async def slow_download(port: int, path: bytes, *, ssl_context: Any = None) -> tuple[bytes, bytes]:
    """GET `path` on a connection with a small receive buffer, read in small pieces, giving the loop a
    turn after each: the server finds the socket full again and again. The head and the body."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    hostname = "localhost" if ssl_context is not None else None
    reader, writer = await asyncio.open_connection(
        sock=sock, ssl=ssl_context, server_hostname=hostname, limit=8192
    )
    writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    body = bytearray()
    while chunk := await reader.read(8192):
        body += chunk
        await asyncio.sleep(0)
    writer.close()
    return head, bytes(body)


@pytest.mark.parametrize("sendfile", ["on", "off"])
def test_a_file_goes_out_whole_to_a_slow_client_with_bounded_memory(
    tmp_path: Path, big_file: Path, watch: Watch, sendfile: str
) -> None:
    """sendfile on: sendfile while the socket takes the bytes, a piece through the transport when it is
    full (so pread is called, and sendfile never with the transport holding anything); off: reads only,
    never while the transport is above its high-water mark."""

    async def scenario() -> None:
        port = free_port()
        async with proxy(tmp_path, conf(port, big_file.parent, f"sendfile {sendfile};")) as service:
            watch.service = service
            head, body = await slow_download(port, b"/big.bin")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert hashlib.sha256(body).digest() == hashlib.sha256(big_file.read_bytes()).digest()

    run(scenario())
    assert watch.violations == []
    assert watch.reads > 0
    assert watch.threads == {"MainThread"}
    if sendfile == "on":
        assert watch.sendfile_calls > 0 and watch.sendfile_bytes > SIZE // 2
    else:
        assert watch.sendfile_calls == 0


@pytest.mark.parametrize("sendfile", ["on", "off"])
def test_aio_threads_reads_and_sends_in_the_pool(
    tmp_path: Path, big_file: Path, watch: Watch, sendfile: str
) -> None:
    """`aio threads=files`: every pread and sendfile runs in a thread of the pool, none in the loop, and
    the same invariants hold (bounded memory, sendfile only with the transport empty)."""
    port = free_port()
    server = conf(port, big_file.parent, f"sendfile {sendfile}; aio threads=files;")
    text = f"thread_pool files threads=2; events {{}} http {{ {server} }}"

    async def scenario() -> None:
        async with proxy(tmp_path, text) as service:
            watch.service = service
            head, body = await slow_download(port, b"/big.bin")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert hashlib.sha256(body).digest() == hashlib.sha256(big_file.read_bytes()).digest()

    run(scenario())
    assert watch.violations == []
    assert watch.threads and all(name.startswith("hapair-files_") for name in watch.threads), watch.threads
    if sendfile == "on":
        assert watch.sendfile_calls > 0 and watch.sendfile_bytes > SIZE // 2
    else:
        assert watch.reads > 0 and watch.sendfile_calls == 0


def test_tls_clients_get_the_file_through_the_transport(tmp_path: Path, big_file: Path, watch: Watch) -> None:
    pki = make_pki(tmp_path)
    port = free_port()
    certificate, key = pki.server
    text = conf(port, big_file.parent, "sendfile on;", listen="ssl").replace(
        "access_log off;", f"access_log off; ssl_certificate {certificate}; ssl_certificate_key {key};"
    )

    async def scenario() -> None:
        async with proxy(tmp_path, text) as service:
            watch.service = service
            head, body = await slow_download(port, b"/big.bin", ssl_context=pki.client_context())
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert body == big_file.read_bytes()

    run(scenario())
    assert watch.sendfile_calls == 0 and watch.violations == []


@pytest.mark.parametrize("nopush", ["on", "off"])
def test_tcp_nopush_corks_the_socket_while_the_file_goes(
    tmp_path: Path, big_file: Path, watch: Watch, nopush: str
) -> None:
    """TCP_CORK at every sendfile with tcp_nopush on (none with off), and off again once the file is sent
    on a connection that stays open."""

    async def scenario() -> int:
        port = free_port()
        async with proxy(
            tmp_path, conf(port, big_file.parent, f"sendfile on; tcp_nopush {nopush};")
        ) as service:
            watch.service = service
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            response = await read_response(reader)
            assert len(response.body) == SIZE
            (connection,) = service._service.connections
            assert connection.transport is not None
            sock = connection.transport.get_extra_info("socket")
            corked = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK)
            writer.close()
            return corked

    assert run(scenario()) == 0
    assert watch.sendfile_calls > 0
    assert set(watch.corked) == ({1} if nopush == "on" else {0})


def _open_descriptors_of(path: Path) -> int:
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == str(path))


@pytest.mark.parametrize("sendfile", ["on", "off"])
def test_a_client_that_leaves_mid_file_frees_it(tmp_path: Path, big_file: Path, sendfile: str) -> None:
    async def scenario() -> None:
        port = free_port()
        async with proxy(tmp_path, conf(port, big_file.parent, f"sendfile {sendfile};")) as service:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            await reader.readexactly(100_000)
            assert _open_descriptors_of(big_file) == 1
            writer.transport.abort()
            await eventually(lambda: service.connections == 0)
            assert _open_descriptors_of(big_file) == 0

    run(scenario())


def test_a_client_that_stops_reading_is_cut_at_send_timeout(tmp_path: Path, big_file: Path) -> None:
    """send_timeout (FAST: 2 s) while the socket stays full: the connection is closed and the file with
    it."""

    async def scenario() -> None:
        port = free_port()
        async with proxy(tmp_path, conf(port, big_file.parent, "sendfile on;")) as service:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", port))
            sock.setblocking(False)
            reader, writer = await asyncio.open_connection(sock=sock)
            writer.write(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            await reader.readuntil(b"\r\n\r\n")
            await eventually(lambda: service.connections == 0, timeout=FAST.send_timeout + 3)
            assert _open_descriptors_of(big_file) == 0
            writer.close()

    run(scenario())


def test_a_connection_closed_while_a_thread_reads_frees_the_file_once_the_thread_is_done(
    tmp_path: Path, big_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `aio threads`, a read held in the pool's thread while the connection is closed (as a timeout
    or a shutdown closes it): the file stays open until the thread is done with it, then is closed; no
    descriptor number can be reused under the thread."""
    real_pread = os.pread
    held = threading.Event()
    release = threading.Event()

    def slow_pread(fd: int, size: int, offset: int) -> bytes:
        if offset > 0 and threading.current_thread().name.startswith("hapair-"):
            held.set()
            release.wait(10)
        return real_pread(fd, size, offset)

    monkeypatch.setattr(os, "pread", slow_pread)
    port = free_port()
    server = conf(port, big_file.parent, "sendfile off; aio threads;")

    async def scenario() -> None:
        async with proxy(tmp_path, f"events {{}} http {{ {server} }}") as service:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.get_running_loop().run_in_executor(None, held.wait, 10)
            (connection,) = service._service.connections
            connection.close()
            await eventually(lambda: service.connections == 0)
            assert _open_descriptors_of(big_file) == 1
            release.set()
            await eventually(lambda: _open_descriptors_of(big_file) == 0)

    try:
        run(scenario())
    finally:
        release.set()
