"""A stream session's phases before proxying, on loopback without nginx: ssl_preread routing through a
map, what was preread reaching the upstream first (also when it is more than the upstream's socket
takes at once), a full preread buffer, `proxy_next_upstream_timeout`, and `tcp_nodelay`."""

from __future__ import annotations

import asyncio
import re
import socket
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from hapair.config.nginx.load import load
from hapair.config.nginx.model.stream import StreamConfig
from hapair.proxy.stream import serve_stream
from hapair.proxy.stream import session as session_module
from tests.config.nginx.conftest import LabSystem

from .hellos import extension, hello_message, in_records, openssl_hello, server_name_extension
from .helpers import Backend, echo, free_listener, inet, poll, run, says, silent
from .test_session import black_hole


async def answer(port: int, payload: bytes) -> bytes:
    """Send `payload` and read what comes back first (nothing if the proxy closes, or resets)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    try:
        return await reader.read(100)
    except ConnectionResetError:
        return b""
    finally:
        writer.close()


def loaded(tmp_path: Path, body: str) -> StreamConfig:
    (tmp_path / "logs").mkdir(exist_ok=True)
    (tmp_path / "nginx.conf").write_text(textwrap.dedent(f"events {{}}\nstream {{\n{body}\n}}\n"))
    result = load("nginx.conf", f"{tmp_path}/", LabSystem())
    assert result.error is None, result.error
    assert result.config is not None and result.config.stream is not None
    return result.config.stream


def test_a_clienthello_is_routed_by_its_name_and_reaches_the_backend_whole(tmp_path: Path) -> None:
    listener = free_listener()
    port = listener.getsockname()[1]
    hello_a, hello_b = openssl_hello("a.example"), openssl_hello("b.example", ["h2"])
    received: dict[bytes, bytes] = {}

    def recording(name: bytes) -> object:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(name)
            received[name] = await reader.read()

        return handler

    async def scenario() -> list[bytes]:
        async with Backend(recording(b"A")) as a, Backend(recording(b"B")) as b:  # type: ignore[arg-type]
            stream = loaded(
                tmp_path,
                f"""
                log_format sni '$ssl_preread_server_name $ssl_preread_alpn_protocols $status'
                               ' $bytes_received $upstream_bytes_sent';
                access_log {tmp_path}/access.log sni;
                map $ssl_preread_server_name $route {{
                    a.example 127.0.0.1:{a.port};
                    b.example 127.0.0.1:{b.port};
                }}
                server {{ listen 127.0.0.1:{port}; ssl_preread on; proxy_pass $route; }}
                """,
            )
            service = await serve_stream(stream, listening={inet(port): listener})
            answers = [await answer(port, hello_a + b"more"), await answer(port, hello_b)]
            await poll(lambda: len(received) == 2 and not service.sessions)
            service.close()
            await service.wait_closed()
            return answers

    try:
        answers = run(scenario())
    finally:
        listener.close()
    assert answers == [b"A", b"B"]
    assert received == {b"A": hello_a + b"more", b"B": hello_b}
    assert (tmp_path / "access.log").read_text().splitlines() == [
        f"a.example  200 0 {len(hello_a) + 4}",  # what came with the ClientHello was preread
        f"b.example h2 200 0 {len(hello_b)}",
    ]


def test_a_preread_larger_than_the_upstreams_socket_takes_reaches_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ClientHello of 125 kB (the largest fields a ClientHello has), preread whole, to an upstream
    connection whose socket buffers take 4 kB at a time (the session's own is made small here): the
    session waits for the upstream to take it all before relaying."""

    def small_socket(*args: int) -> socket.socket:
        made = socket.socket(*args)
        made.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        return made

    monkeypatch.setattr(session_module, "socket", SimpleNamespace(**{**vars(socket), "socket": small_socket}))
    listener, backend = free_listener(), socket.socket()
    port = listener.getsockname()[1]
    backend.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    backend.bind(("127.0.0.1", 0))
    backend.listen()
    backend.setblocking(False)
    extensions = server_name_extension(b"a.example") + extension(21, bytes(60000))
    hello = in_records(hello_message(extensions, suites=b"\x13\x01" * 32767), [16384] * 8)

    async def scenario() -> tuple[bytes, bytes]:
        loop = asyncio.get_running_loop()
        stream = loaded(
            tmp_path,
            f"""
            server {{
                listen 127.0.0.1:{port}; ssl_preread on; preread_buffer_size 256k;
                proxy_pass 127.0.0.1:{backend.getsockname()[1]};
            }}
            """,
        )
        service = await serve_stream(stream, listening={inet(port): listener})
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(hello)
        upstream, _ = await loop.sock_accept(backend)
        received = bytearray()
        while len(received) < len(hello):
            received += await loop.sock_recv(upstream, 4096)
        await loop.sock_sendall(upstream, b"A")
        first = await reader.read(1)
        writer.close()
        upstream.close()
        await poll(lambda: not service.sessions)
        service.close()
        await service.wait_closed()
        return first, bytes(received)

    try:
        assert run(scenario()) == (b"A", hello)
    finally:
        listener.close()
        backend.close()


def test_a_full_preread_buffer_ends_the_session_with_400_and_nginxs_line(tmp_path: Path) -> None:
    listener = free_listener()
    port = listener.getsockname()[1]

    async def scenario() -> tuple[bytes, int]:
        async with Backend(says(b"X")) as backend:
            stream = loaded(
                tmp_path,
                f"""
                log_format s '$status $upstream_addr';
                access_log {tmp_path}/access.log s;
                server {{
                    listen 127.0.0.1:{port}; ssl_preread on; preread_buffer_size 100;
                    error_log {tmp_path}/error.log;
                    proxy_pass 127.0.0.1:{backend.port};
                }}
                """,
            )
            service = await serve_stream(stream, listening={inet(port): listener})
            first = await answer(port, openssl_hello("a.example"))
            await poll(lambda: not service.sessions)
            service.close()
            await service.wait_closed()
            return first, backend.connections

    try:
        assert run(scenario()) == (b"", 0)
    finally:
        listener.close()
    assert (tmp_path / "access.log").read_text() == "400 -\n"
    (line,) = (tmp_path / "error.log").read_text().splitlines()
    text = f"*1 preread buffer full while prereading client data, client: 127.0.0.1, server: 127.0.0.1:{port}"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[error\] \d+#\d+: " + re.escape(text), line), line


def test_proxy_next_upstream_timeout_stops_the_tries(tmp_path: Path) -> None:
    listener = free_listener()
    port = listener.getsockname()[1]
    hole, filler = black_hole()
    dead = hole.getsockname()[1]

    async def scenario() -> bytes:
        async with Backend(says(b"X")) as live:
            stream = loaded(
                tmp_path,
                f"""
                log_format s '$status $upstream_addr';
                access_log {tmp_path}/access.log s;
                upstream u {{ server 127.0.0.1:{dead}; server 127.0.0.1:{live.port}; }}
                server {{
                    listen 127.0.0.1:{port}; proxy_pass u;
                    proxy_connect_timeout 100ms; proxy_next_upstream_timeout 50ms;
                }}
                """,
            )
            service = await serve_stream(stream, listening={inet(port): listener})
            first = await answer(port, b"x")
            await poll(lambda: not service.sessions)
            service.close()
            await service.wait_closed()
            return first

    try:
        assert run(scenario()) == b""
    finally:
        filler.close()
        hole.close()
        listener.close()
    assert (tmp_path / "access.log").read_text() == f"502 127.0.0.1:{dead}\n"


def test_tcp_nodelay_is_set_on_both_sockets_unless_off(tmp_path: Path) -> None:
    listeners = [free_listener(), free_listener()]
    ports = [listener.getsockname()[1] for listener in listeners]

    async def scenario() -> list[tuple[int, int]]:
        async with Backend(silent) as backend:
            stream = loaded(
                tmp_path,
                f"""
                server {{ listen 127.0.0.1:{ports[0]}; proxy_pass 127.0.0.1:{backend.port}; }}
                server {{
                    listen 127.0.0.1:{ports[1]}; tcp_nodelay off; proxy_pass 127.0.0.1:{backend.port};
                }}
                """,
            )
            listening = {inet(port): listener for port, listener in zip(ports, listeners, strict=True)}
            service = await serve_stream(stream, listening=listening)
            options = []
            for port in ports:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                await poll(lambda: backend.connections == ports.index(port) + 1)  # noqa: B023
                (session,) = service.sessions
                sockets = (session._client, session._upstream)
                options.append(tuple(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in sockets))
                writer.close()
                await poll(lambda: not service.sessions)
            service.close()
            await service.wait_closed()
            return options

    try:
        assert run(scenario()) == [(1, 1), (0, 0)]
    finally:
        for listener in listeners:
            listener.close()


def test_a_server_without_phases_goes_straight_to_proxying(tmp_path: Path) -> None:
    """The seed's kind of server: nothing to evaluate, nothing kept, no preread."""
    listener = free_listener()
    port = listener.getsockname()[1]

    async def scenario() -> bytes:
        async with Backend(echo) as backend:
            stream = loaded(
                tmp_path, f"server {{ listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{backend.port}; }}"
            )
            service = await serve_stream(stream, listening={inet(port): listener})
            settings = service._listeners[0].settings
            assert (settings.preread, settings.sets, settings.access, settings.target) == (
                None,
                (),
                None,
                None,
            )
            assert not settings.keeps_values
            first = await answer(port, b"ping")
            service.close()
            await service.wait_closed()
            return first

    try:
        assert run(scenario()) == b"ping"
    finally:
        listener.close()
