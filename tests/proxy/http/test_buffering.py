"""`proxy_buffering on` (nginx's default): a response is read from the upstream as fast as it comes, what
a slow client cannot take yet held in memory (`proxy_buffers`) then in a temporary file in
`proxy_temp_path` (up to `proxy_max_temp_file_size`), so that the upstream is done with early; the
client still gets the whole response, in order. `X-Accel-Buffering: no` from the upstream, or
`proxy_max_temp_file_size 0` once memory is full, hold the upstream back instead."""

from __future__ import annotations

import asyncio
import os
import zlib
from pathlib import Path

from .harness import Backend, Received, eventually, free_port, proxy, read_response, run

MB = 1024 * 1024
TOTAL = 64 * MB  # more than the kernel buffers of the two loopback connections hold
BODY = bytes(range(256)) * (TOTAL // 256)


def conf(port: int, backend: int, extra: str) -> str:
    return f"""
server {{
    listen 127.0.0.1:{port};
    location / {{
        access_log off;
        proxy_pass http://127.0.0.1:{backend};
        {extra}
    }}
}}
"""


class Streamer:
    """A backend sending TOTAL bytes in 64k writes, each once the proxy took the one before; `done` is
    set once the whole response is written."""

    def __init__(self, headers: bytes = b"", body: bytes = BODY) -> None:
        self.sent = 0
        self.done = asyncio.Event()
        self._headers = headers
        self._body = body

    async def __call__(
        self, received: Received, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\n%bContent-Length: %d\r\n\r\n" % (self._headers, len(self._body)))
        for start in range(0, len(self._body), 65536):
            writer.write(self._body[start : start + 65536])
            await writer.drain()
            self.sent = start + 65536
        self.done.set()


async def _stalled(streamer: Streamer) -> int:
    """What the backend had sent once it stopped making progress (the proxy no longer reads it)."""
    while True:
        before = streamer.sent
        await asyncio.sleep(0.3)
        if streamer.sent == before:
            return before


async def _open(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=65536)
    writer.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    return reader, writer


def test_a_slow_client_does_not_hold_the_upstream_back(tmp_path: Path) -> None:
    temp = tmp_path / "proxy_temp"

    async def scenario() -> None:
        streamer = Streamer()
        backend = await Backend(streamer).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend.port, f"proxy_temp_path {temp};")):
            reader, writer = await _open(port)
            await asyncio.wait_for(streamer.done.wait(), 10)  # the client has read nothing yet
            assert len(list(temp.iterdir())) == 1  # the response waits in a temporary file
            response = await read_response(reader)
            assert response.body == BODY
            await eventually(lambda: not list(temp.iterdir()))  # removed once the response is sent
            writer.close()
        backend.stop()

    run(scenario())


def test_without_a_temporary_file_the_upstream_waits_once_memory_is_full(tmp_path: Path) -> None:
    temp = tmp_path / "proxy_temp"

    async def scenario() -> None:
        streamer = Streamer()
        backend = await Backend(streamer).start()
        port = free_port()
        extra = f"proxy_temp_path {temp}; proxy_max_temp_file_size 0;"
        async with proxy(tmp_path, conf(port, backend.port, extra)):
            reader, writer = await _open(port)
            stalled_at = await _stalled(streamer)
            assert stalled_at < 32 * MB  # memory, the transports' and the kernel's buffers only
            assert not temp.exists() or not list(temp.iterdir())
            response = await read_response(reader)
            assert response.body == BODY
            writer.close()
        backend.stop()

    run(scenario())


def test_a_temporary_file_stops_growing_at_proxy_max_temp_file_size(tmp_path: Path) -> None:
    temp = tmp_path / "proxy_temp"

    async def scenario() -> None:
        streamer = Streamer()
        backend = await Backend(streamer).start()
        port = free_port()
        extra = f"proxy_temp_path {temp}; proxy_max_temp_file_size 2m;"
        async with proxy(tmp_path, conf(port, backend.port, extra)):
            reader, writer = await _open(port)
            stalled_at = await _stalled(streamer)
            (spooled,) = list(temp.iterdir())
            assert spooled.stat().st_size == 2 * MB
            assert 2 * MB < stalled_at < 34 * MB
            response = await read_response(reader)
            assert response.body == BODY
            writer.close()
        backend.stop()

    run(scenario())


def test_x_accel_buffering_no_from_the_upstream_turns_buffering_off(tmp_path: Path) -> None:
    temp = tmp_path / "proxy_temp"

    async def scenario() -> None:
        streamer = Streamer(b"X-Accel-Buffering: no\r\n")
        backend = await Backend(streamer).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend.port, f"proxy_temp_path {temp};")):
            reader, writer = await _open(port)
            assert await _stalled(streamer) < 32 * MB
            assert not temp.exists() or not list(temp.iterdir())
            response = await read_response(reader)
            assert response.body == BODY and response.header("x-accel-buffering") is None
            writer.close()
        backend.stop()

    run(scenario())


def test_x_accel_buffering_yes_turns_buffering_on(tmp_path: Path) -> None:
    temp = tmp_path / "proxy_temp"

    async def scenario() -> None:
        streamer = Streamer(b"X-Accel-Buffering: YES\r\n")
        backend = await Backend(streamer).start()
        port = free_port()
        extra = f"proxy_temp_path {temp}; proxy_buffering off;"
        async with proxy(tmp_path, conf(port, backend.port, extra)):
            reader, writer = await _open(port)
            await asyncio.wait_for(streamer.done.wait(), 10)
            response = await read_response(reader)
            assert response.body == BODY
            writer.close()
        backend.stop()

    run(scenario())


def test_x_accel_buffering_is_not_looked_at_when_ignored(tmp_path: Path) -> None:
    temp = tmp_path / "proxy_temp"

    async def scenario() -> None:
        streamer = Streamer(b"X-Accel-Buffering: no\r\n")
        backend = await Backend(streamer).start()
        port = free_port()
        extra = f"proxy_temp_path {temp}; proxy_ignore_headers X-Accel-Buffering;"
        async with proxy(tmp_path, conf(port, backend.port, extra)):
            reader, writer = await _open(port)
            await asyncio.wait_for(streamer.done.wait(), 10)
            response = await read_response(reader)
            assert response.body == BODY
            writer.close()
        backend.stop()

    run(scenario())


def test_a_temporary_file_that_cannot_be_made_ends_the_response(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    log = tmp_path / "error.log"

    async def scenario() -> None:
        streamer = Streamer()
        backend = await Backend(streamer).start()
        port = free_port()
        extra = f"proxy_temp_path {tmp_path}/a-file/temp; error_log {log} warn;"
        async with proxy(tmp_path, conf(port, backend.port, extra)):
            reader, writer = await _open(port)
            received = await reader.read()  # until the proxy closes
            assert 0 < len(received) < TOTAL
            writer.close()
        backend.stop()

    run(scenario())
    text = log.read_text()
    assert "[crit] " in text and f'"{tmp_path}/a-file/temp' in text and "while reading upstream" in text


def test_a_held_response_is_compressed_as_the_client_takes_it(tmp_path: Path) -> None:
    temp = tmp_path / "proxy_temp"

    body = os.urandom(TOTAL)  # compressed, as long as it is: the client cannot take it at once

    async def scenario() -> None:
        streamer = Streamer(b"Content-Type: text/plain\r\n", body)
        backend = await Backend(streamer).start()
        port = free_port()
        async with proxy(
            tmp_path, conf(port, backend.port, f"proxy_temp_path {temp}; gzip on; gzip_types *;")
        ):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=65536)
            writer.write(b"GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n")
            await asyncio.wait_for(streamer.done.wait(), 10)
            assert len(list(temp.iterdir())) == 1  # held uncompressed, as nginx's pipe holds it
            response = await read_response(reader)
            assert response.header("content-encoding") == "gzip"
            assert zlib.decompress(response.body, 31) == body
            writer.close()
        backend.stop()

    run(scenario())
