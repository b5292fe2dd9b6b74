"""A proxied HTTP/1.1 request's objects are freed by their reference counts once it is answered, not left
to the garbage collector: while it runs, the exchange and its proxying refer to each other
(Exchange.let_go, called by the connection)."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from hapair.proxy.http.exchange import Exchange
from hapair.proxy.http.proxying import Proxying
from tests.proxy.http.harness import Backend, free_port, ok, proxy, read_response, run

REQUESTS = 10


def _alive() -> int:
    return sum(isinstance(item, (Exchange, Proxying)) for item in gc.get_objects())


async def _get_all(port: int) -> list[int]:
    """REQUESTS GETs one after the other on one kept-alive connection; their statuses."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    statuses = []
    for _ in range(REQUESTS):
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        statuses.append((await read_response(reader)).status)
    writer.close()
    return statuses


def test_an_answered_requests_objects_are_freed_without_the_garbage_collector(tmp_path: Path) -> None:
    async def scenario() -> tuple[list[int], int, int]:
        backend = await Backend(ok()).start()
        port = free_port()
        location = f"location / {{ proxy_pass http://127.0.0.1:{backend.port}; }}"
        try:
            async with proxy(tmp_path, f"server {{ listen 127.0.0.1:{port}; {location} }}"):
                gc.collect()
                before = _alive()
                gc.disable()
                try:
                    statuses = await _get_all(port)
                    # the last request's exchange is let go after its answer is written; the connection's
                    # next read (here: its end) comes after that
                    return statuses, before, _alive()
                finally:
                    gc.enable()
        finally:
            backend.stop()

    statuses, before, after = run(scenario())
    assert statuses == [200] * REQUESTS
    assert after == before
