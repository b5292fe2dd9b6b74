"""The status board behind `stub_status` (proxy/status.py): slots summed, a retired worker's totals kept and
its gauges dropped; and the HTTP/2 connections' place in the counters, served in this process (the
HTTP/1 counters are compared with nginx's in tests/differential/test_stub_status.py)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from hapair.proxy.status import ACCEPTED, ACTIVE, REQUESTS, WAITING, StatusBoard
from tests.proxy.http.harness import Backend, Received, free_port, proxy, request, run
from tests.proxy.http2.client import H2Client


def test_the_board_sums_the_slots_and_keeps_a_retired_worker_s_totals_only() -> None:
    board = StatusBoard(slots=3)
    first, second = board.claim(), board.claim()
    assert first is not None and second is not None and first != second
    one, two = board.worker(first), board.worker(second)
    for cells, accepted in ((one.cells, 3), (two.cells, 2)):
        cells[ACCEPTED] += accepted
        cells[REQUESTS] += accepted
        cells[ACTIVE] += 1
        cells[WAITING] += 1
    assert board.totals() == (5, 0, 5, 2, 0, 0, 2)
    board.retire(first)
    assert board.totals() == (5, 0, 5, 1, 0, 0, 1)
    assert board.claim() == first
    assert board.claim() is None  # slot 0 is the retired workers'
    board.close()


PAGE = re.compile(
    rb"Active connections: (\d+) \n.*\n (\d+) (\d+) (\d+) \nReading: (\d+) Writing: (\d+) Waiting: (\d+)"
)


def config(plain: int, h2c: int, backend: int) -> str:
    return f"""
        http {{
            access_log off;
            upstream backend {{ server 127.0.0.1:{backend}; }}
            server {{ listen 127.0.0.1:{plain}; location / {{ stub_status; }} }}
            server {{ listen 127.0.0.1:{h2c} http2; location / {{ proxy_pass http://backend; }} }}
        }}
    """


async def page(port: int) -> tuple[int, ...]:
    """Active, accepts, handled, requests, reading, writing, waiting."""
    response = await request(port, b"GET / HTTP/1.0\r\n\r\n")
    found = PAGE.search(response.body)
    assert found is not None, response.body
    return tuple(int(number) for number in found.groups())


def test_an_http2_connection_waits_while_idle_and_each_stream_is_a_request_being_written(
    tmp_path: Path,
) -> None:
    async def scenario() -> list[tuple[int, ...]]:
        release, both = asyncio.Event(), asyncio.Event()
        held_requests = 0

        async def held(
            received: Received, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> bytes:
            nonlocal held_requests
            held_requests += 1
            if held_requests == 2:
                both.set()
            await release.wait()
            return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

        backend = await Backend(held).start()
        plain, h2c = free_port(), free_port()
        pages = []
        async with proxy(tmp_path, config(plain, h2c, backend.port)):
            client = await H2Client.connect(h2c)
            client.send("/a")
            client.send("/b")
            await both.wait()
            pages.append(await page(plain))  # two streams under way
            release.set()
            for response in client.responses.values():
                await asyncio.wait_for(response.done.wait(), 5)
            pages.append(await page(plain))  # the connection idle
            await client.close()
        backend.stop()
        return pages

    under_way, idle = run(scenario())
    # each page counts its own request (writing) and connection; the HTTP/2 connection is active
    assert under_way == (2, 2, 2, 3, 0, 3, 0)
    assert idle == (2, 3, 3, 4, 0, 1, 1)
