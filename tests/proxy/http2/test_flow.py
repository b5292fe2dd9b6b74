"""HTTP/2 flow control and the http2 directives, over real sockets: a stream the client does not read holds
its upstream back without holding the connection's other streams; a request body the upstream does not
take closes the client's window; `http2_max_concurrent_streams` (REFUSED_STREAM beyond it),
`http2_chunk_size`, `keepalive_requests` (GOAWAY, the streams under way finished) and the connection's
timeouts."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from hapair.proxy.http.h2.stream import Http2Stream
from tests.proxy.http.harness import Backend, Received, eventually, free_port, ok, proxy, run

from .client import H2Client

REFUSED_STREAM = 0x7
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
MB = 1024 * 1024


def config(port: int, backend: int, *, server: str = "", location: str = "") -> str:
    return f"""
        http {{
            access_log off;
            upstream backend {{ server 127.0.0.1:{backend}; }}
            server {{
                listen 127.0.0.1:{port} http2;
                {server}
                location / {{ proxy_pass http://backend; {location} }}
                location = /small {{ return 200 "small"; }}
            }}
        }}
    """


class Peak:
    """The most a method's object held once it returned, by `measure`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, cls: type, method: str, measure: object) -> None:
        self.most = 0
        original = getattr(cls, method)

        def measured(instance: object, *args: object) -> object:
            result = original(instance, *args)
            self.most = max(self.most, measure(instance))  # type: ignore[operator]
            return result

        monkeypatch.setattr(cls, method, measured)


class Streaming:
    """An upstream answering with `size` bytes, written as fast as its connection takes them; `written`
    is where it is, `blocked` whether it waits for the proxy to read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.written = 0
        self.blocked = False

    async def handle(
        self, received: Received, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % self.size)
        piece = b"z" * 65536
        while self.written < self.size:
            writer.write(piece[: self.size - self.written])
            self.written += min(len(piece), self.size - self.written)
            self.blocked = True
            await writer.drain()
            self.blocked = False


def test_a_stream_the_client_does_not_read_holds_its_upstream_back_and_no_other_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = Streaming(64 * MB)
    held = Peak(monkeypatch, Http2Stream, "write", lambda stream: len(stream.out))

    async def scenario() -> None:
        backend = await Backend(upstream.handle).start()
        port = free_port()
        async with proxy(tmp_path, config(port, backend.port, location="proxy_buffering off;")):
            client = await H2Client.connect(port, acknowledge=False)
            big = client.send("/big")
            small = await client.get("/small")
            assert (small.status, bytes(small.body)) == (200, b"small")
            # the client's window (64k, the connection's too) fills up; the proxy holds its high-water
            # mark; the rest waits in the sockets' buffers and at the upstream
            await eventually(lambda: upstream.blocked and len(client.responses[big].body) == 65535 - 5, 10)
            assert upstream.written < 16 * MB
            client.acknowledge = True
            client.open_window(big, 65535)
            response = await client.response(big, timeout=60)
            assert len(response.body) == 64 * MB and response.status == 200
            await client.close()
        backend.stop()

    run(scenario(), timeout=90)
    # the stream never held much more than its high-water mark (64k) and one read from the upstream
    assert held.most < 1 * MB


def test_a_request_body_the_upstream_does_not_take_closes_the_clients_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paused: list[Http2Stream] = []
    pause = Http2Stream.pause_reading_for_upstream

    def noted_pause(stream: Http2Stream) -> None:
        paused.append(stream)
        pause(stream)

    monkeypatch.setattr(Http2Stream, "pause_reading_for_upstream", noted_pause)
    took_head = asyncio.Event()
    read_body = asyncio.Event()
    received = bytearray()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        took_head.set()
        await read_body.wait()
        while len(received) < 32 * MB:
            received.extend(await reader.read(65536))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # no room for the body in the kernel
        listener.bind(("127.0.0.1", 0))
        server = await asyncio.start_server(serve, sock=listener)
        port = free_port()
        location = "proxy_request_buffering off; proxy_http_version 1.1; client_max_body_size 0;"
        async with proxy(tmp_path, config(port, listener.getsockname()[1], location=location)):
            client = await H2Client.connect(port)
            length = ((b"content-length", b"%d" % (32 * MB)),)
            stream_id = client.send("/upload", method="POST", end=False, extra=length)
            upload = asyncio.get_running_loop().create_task(client.upload(stream_id, b"u" * (32 * MB)))
            await took_head.wait()

            def held_back() -> bool:
                """The proxy holds what it received unacknowledged, and the client's window is shut."""
                window = client.conn.local_flow_control_window(stream_id)
                return window == 0 and any(stream._held for stream in paused)

            # without back-pressure the client would go on sending, into the proxy's memory
            await eventually(lambda: held_back() or client.uploaded > 16 * MB, 10)
            assert client.uploaded < 16 * MB and not upload.done()
            read_body.set()
            await upload
            response = await client.response(stream_id, timeout=60)
            assert bytes(response.body) == b"ok" and len(received) == 32 * MB
            await client.close()
        server.close()

    run(scenario(), timeout=90)


def test_streams_beyond_the_concurrent_ones_are_refused(tmp_path: Path) -> None:
    release = asyncio.Event()

    async def slow(received: Received, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        await release.wait()
        return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    async def scenario() -> None:
        backend = await Backend(slow).start()
        port = free_port()
        async with proxy(tmp_path, config(port, backend.port, server="http2_max_concurrent_streams 2;")):
            client = await H2Client.connect(port)
            first, second, third = (client.send(f"/{n}") for n in range(3))
            refused = await client.response(third)
            assert refused.reset == REFUSED_STREAM
            assert client.remote_settings[0x3] == 2  # SETTINGS_MAX_CONCURRENT_STREAMS
            release.set()
            answered = [await client.response(stream_id) for stream_id in (first, second)]
            assert [r.status for r in answered] == [200, 200]
            assert (await client.get("/again")).status == 200  # room again once they are done
            await client.close()
        backend.stop()

    run(scenario())


def test_chunk_size_bounds_the_data_frames(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok(b"x" * 5000)).start()
        port = free_port()
        async with proxy(tmp_path, config(port, backend.port, server="http2_chunk_size 1k;")):
            client = await H2Client.connect(port)
            response = await client.get("/five")
            await client.close()
        backend.stop()
        assert response.frames == [1024, 1024, 1024, 1024, 904]

    run(scenario())


def test_keepalive_requests_ends_the_connection_after_the_streams_under_way(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, config(port, backend.port, server="keepalive_requests 3;")):
            client = await H2Client.connect(port)
            ids = [client.send(f"/{n}") for n in range(3)]
            answered = [await client.response(stream_id) for stream_id in ids]
            await client.closed.wait()
            await client.close()
        assert [r.status for r in answered] == [200, 200, 200]
        assert client.goaway is not None and client.goaway.error_code == NO_ERROR
        assert client.goaway.last_stream_id == 5
        backend.stop()

    run(scenario())


def test_an_idle_connection_gets_goaway_at_keepalive_timeout(tmp_path: Path) -> None:
    async def scenario() -> None:
        port = free_port()
        async with proxy(tmp_path, config(port, 9, server="keepalive_timeout 200ms;")):
            client = await H2Client.connect(port)
            assert (await client.get("/small")).status == 200
            await asyncio.wait_for(client.closed.wait(), 5)
            await client.close()
        assert client.goaway is not None and client.goaway.error_code == NO_ERROR

    run(scenario())


def test_a_connection_without_a_request_gets_goaway_at_client_header_timeout(tmp_path: Path) -> None:
    async def scenario() -> None:
        port = free_port()
        async with proxy(tmp_path, config(port, 9, server="client_header_timeout 200ms;")):
            client = await H2Client.connect(port)
            await asyncio.wait_for(client.closed.wait(), 5)
            await client.close()
        assert client.goaway is not None and client.goaway.error_code == PROTOCOL_ERROR

    run(scenario())


def test_a_stream_the_client_never_lets_through_is_reset_at_send_timeout(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok(b"x" * 200_000)).start()
        port = free_port()
        async with proxy(tmp_path, config(port, backend.port, location="send_timeout 200ms;")):
            client = await H2Client.connect(port, acknowledge=False)
            stuck_id = client.send("/big")
            stuck = await client.response(stuck_id)
            assert stuck.reset == PROTOCOL_ERROR and len(stuck.body) == 65535
            client.acknowledge = True
            client.open_window(stuck_id, 65535)  # the connection's window, for the next stream
            assert (await client.get("/small")).status == 200
            await client.close()
        backend.stop()

    run(scenario())


def test_a_graceful_stop_lets_the_streams_under_way_finish(tmp_path: Path) -> None:
    release = asyncio.Event()
    arrived = asyncio.Event()

    async def slow(received: Received, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        arrived.set()
        await release.wait()
        return b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate"

    async def scenario() -> None:
        backend = await Backend(slow).start()
        port = free_port()
        async with proxy(tmp_path, config(port, backend.port)) as service:
            client = await H2Client.connect(port)
            stream_id = client.send("/slow")
            await arrived.wait()
            draining = asyncio.get_running_loop().create_task(service.drain(timeout=10))
            await eventually(lambda: client.goaway is not None)
            release.set()
            response = await client.response(stream_id)
            await draining
            await client.closed.wait()
            await client.close()
        assert client.goaway is not None and client.goaway.error_code == NO_ERROR
        assert client.goaway.last_stream_id == stream_id
        assert (response.status, bytes(response.body)) == (200, b"late")
        backend.stop()

    run(scenario())
