"""A finished HTTP/2 stream's objects are freed by their reference counts as the stream closes, not left
to the garbage collector: while the request runs, the stream, its exchange and the proxying refer to one
another (proxy/http/h2/stream.py, Exchange.let_go)."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import h2.config
import h2.connection
import h2.events

from hapair.proxy.http.exchange import Exchange
from hapair.proxy.http.h2.stream import Http2Stream
from hapair.proxy.http.proxying import Proxying
from tests.proxy.http.harness import Backend, free_port, ok, proxy, run

STREAMS = 10


async def _get_all(port: int) -> int:
    """STREAMS GETs at once over one prior-knowledge connection; how many ended."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    client.initiate_connection()
    for index in range(STREAMS):
        request = [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":authority", b"x")]
        client.send_headers(1 + 2 * index, request, end_stream=True)
    writer.write(client.data_to_send())
    ended = 0
    while ended < STREAMS:
        data = await reader.read(65536)
        if not data:
            break
        ended += sum(isinstance(event, h2.events.StreamEnded) for event in client.receive_data(data))
        writer.write(client.data_to_send())
    writer.close()
    return ended


def _alive() -> int:
    return sum(isinstance(item, (Exchange, Http2Stream, Proxying)) for item in gc.get_objects())


def test_a_finished_streams_objects_are_freed_without_the_garbage_collector(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, int, int]:
        backend = await Backend(ok()).start()
        port = free_port()
        location = f"location / {{ proxy_pass http://127.0.0.1:{backend.port}; }}"
        text = f"server {{ listen 127.0.0.1:{port} http2; {location} }}"
        try:
            async with proxy(tmp_path, text):
                gc.collect()
                before = _alive()
                gc.disable()
                try:
                    ended = await _get_all(port)
                    return ended, before, _alive()
                finally:
                    gc.enable()
        finally:
            backend.stop()

    ended, before, after = run(scenario())
    assert ended == STREAMS
    assert after == before
