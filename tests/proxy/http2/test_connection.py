"""The HTTP/2 connection without sockets: frames fed to it over a transport that never drains."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hapair.proxy.http.h2.connection import QUEUED_CONTROL_LIMIT, Http2Connection
from hapair.proxy.http.service import ListenerRoutes, Service
from hapair.proxy.http.zones import LimitZones
from hapair.proxy.shm import SharedZones
from tests.proxy.http.harness import FAST, FakeTransport, read_config, run

from .client import PREFACE, frame

PING = frame(0x6, 0, 0, b"12345678")


class StuckTransport(FakeTransport):
    """A client that reads nothing: all that is written stays."""

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def write(self, data: bytes) -> None:
        super().write(data)
        self.size += len(data)

    def get_write_buffer_size(self) -> int:
        return self.size


def test_acknowledgements_a_client_does_not_read_are_bounded(tmp_path: Path) -> None:
    config = read_config(tmp_path, "server { listen 127.0.0.1:8080 http2; location / { return 200; } }")

    async def scenario() -> StuckTransport:
        service = Service(asyncio.get_running_loop(), FAST, LimitZones(SharedZones(), ()))
        routes = ListenerRoutes(service, config.listeners[0])
        connection = Http2Connection(service, lambda _: routes)
        transport = StuckTransport()
        connection.connection_made(transport)  # type: ignore[arg-type]
        connection.data_received(PREFACE + frame(0x4, 0, 0, b""))
        connection.pause_writing()  # the socket is full
        for _ in range(10000):
            connection.data_received(PING * 10)
            if transport.closed:
                break
        return transport

    transport = run(scenario())
    # closed (nginx's "http2 flood detected" for its queue of 10000 frames) before 512 KiB of pings made
    # it a flood of bytes without payload, with no GOAWAY: there is no room for one
    assert transport.closed
    assert FAST.high_water + QUEUED_CONTROL_LIMIT < transport.get_write_buffer_size() < 512 * 1024
    assert b"\x00\x00\x08\x07" not in b"".join(transport.written)
