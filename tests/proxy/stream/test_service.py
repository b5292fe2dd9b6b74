"""The stream service: the seed's tcpconf.d config end to end, listening sockets, routing by local
address, graceful close and abort."""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path

import pytest

from hapair.config.nginx.load import load
from hapair.proxy.stream import bind_listeners, serve_stream
from tests.config.nginx.seed_configs import SEED_STREAM

from .helpers import (
    Backend,
    config,
    echo,
    free_listener,
    inet,
    listen,
    listening_port,
    poll,
    run,
    says,
    silent,
    stream_server,
    upstream_server,
)


def test_seed_stream_config_relays_and_logs_its_format(tmp_path: Path) -> None:
    listener = free_listener()
    port = listener.getsockname()[1]

    async def scenario() -> tuple[bytes, int]:
        async with Backend(echo) as backend:
            text = (
                SEED_STREAM.replace("192.168.13.104:8080", f"127.0.0.1:{backend.port}")
                .replace("listen 8080;", f"listen 127.0.0.1:{port};")
                .replace("/var/log/nginx/", f"{tmp_path}/")
            )
            (tmp_path / "k8sapi.conf").write_text(text)
            loaded = load(str(tmp_path / "k8sapi.conf"), prefix=str(tmp_path))
            assert loaded.config is not None and loaded.config.stream is not None, loaded.error
            service = await serve_stream(loaded.config.stream, listening={inet(port): listener})
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            client_port = writer.get_extra_info("sockname")[1]
            writer.write(b"hello")
            answer = await reader.readexactly(5)
            writer.close()
            await poll(lambda: not service.sessions)
            service.close()
            await service.wait_closed()
            return answer, client_port

    try:
        answer, client_port = run(scenario())
    finally:
        listener.close()
    assert answer == b"hello"
    (line,) = (tmp_path / "keepalived.access.log").read_text().splitlines()
    pattern = (
        r"\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "
        rf"127\.0\.0\.1:{client_port} 127\.0\.0\.1:{port} TCP 200 5 5 \d+\.\d{{3}}"
    )
    assert re.fullmatch(pattern, line), line


def test_specific_address_without_own_socket_is_served_by_the_wildcard() -> None:
    wildcard = free_listener("0.0.0.0")
    port = wildcard.getsockname()[1]

    async def scenario() -> tuple[bytes, bytes]:
        async with Backend(says(b"a")) as a, Backend(says(b"b")) as b:
            general = stream_server([upstream_server(a.port)], address=inet(port, "0.0.0.0"))
            specific = stream_server(
                [upstream_server(b.port)], listens=(listen(inet(port, "127.0.0.2"), own_socket=False),)
            )
            service = await serve_stream(
                config(general, specific), listening={inet(port, "0.0.0.0"): wildcard}
            )
            answers = (await first_byte("127.0.0.1", port), await first_byte("127.0.0.2", port))
            service.abort()
            await service.wait_closed()
            return answers

    try:
        assert run(scenario()) == (b"a", b"b")
    finally:
        wildcard.close()


async def first_byte(host: str, port: int) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    data = await reader.readexactly(1)
    writer.close()
    return data


def test_close_stops_accepting_and_waits_for_sessions_in_progress() -> None:
    async def scenario() -> tuple[bool, bytes, bool]:
        async with Backend(echo) as backend:
            service = await serve_stream(config(stream_server([upstream_server(backend.port)])))
            port = listening_port(service)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await poll(lambda: backend.connections == 1)
            service.close()
            closing = asyncio.create_task(service.wait_closed())
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"still here")
            answer = await reader.readexactly(10)
            waited = not closing.done()
            writer.close()
            await closing
            return waited, answer, not service.sessions

    assert run(scenario()) == (True, b"still here", True)


def test_abort_ends_every_session() -> None:
    async def scenario() -> bytes:
        async with Backend(silent) as backend:
            service = await serve_stream(config(stream_server([upstream_server(backend.port)])))
            reader, writer = await asyncio.open_connection("127.0.0.1", listening_port(service))
            await poll(lambda: backend.connections == 1)
            service.abort()
            await service.wait_closed()
            data = await reader.read()
            writer.close()
            return data

    assert run(scenario()) == b""


def test_close_leaves_sockets_it_was_given_open() -> None:
    given = free_listener()
    port = given.getsockname()[1]

    async def scenario() -> tuple[int, int]:
        server = stream_server([upstream_server(1)], address=inet(port))
        service = await serve_stream(
            config(server, stream_server([upstream_server(1)])), listening={inet(port): given}
        )
        owned = next(sock for sock in service.sockets if sock is not given)
        service.close()
        await service.wait_closed()
        return given.fileno(), owned.fileno()

    try:
        given_fd, owned_fd = run(scenario())
    finally:
        given.close()
    assert given_fd >= 0
    assert owned_fd == -1


def test_bind_listeners_sets_reuse_port_and_skips_given_addresses() -> None:
    first, second = (
        stream_server([upstream_server(1)]),
        stream_server([upstream_server(1)], address=inet(0, "::1")),
    )
    sockets = bind_listeners(config(first, second), reuse_port=True, skip={inet(0, "::1")})
    try:
        assert list(sockets) == [inet(0)]
        (sock,) = sockets.values()
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
        assert sock.getblocking() is False
    finally:
        for sock in sockets.values():
            sock.close()
