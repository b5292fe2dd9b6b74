"""The known HTTP/2 attacks against a real `hapair proxy` worker: each flood is sent until the worker ends
the connection or the client has sent its whole flood. Each test shows the connection closed (with the
GOAWAY code nginx would send, where it sends one) long before the flood's end, and the worker's CPU time
and memory staying within bounds while it lasted.

- rapid reset (CVE-2023-44487): streams opened and reset at once;
- a CONTINUATION flood: a header block that never ends;
- an HPACK bomb: a header block small on the wire that decodes to megabytes;
- streams beyond `http2_max_concurrent_streams`, sent at once: refused, and never more than that many
  reach the upstream;
- PING, SETTINGS and PRIORITY floods.
"""

from __future__ import annotations

import asyncio
import http.server
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.proxy.processes import Backend, Instance, free_port, open_directory, running
from tests.topology import wait_until

from .client import PREFACE, H2Client, frame, goaway_code

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the worker runs as nobody: the test starts it as root"
)

HEADERS, PRIORITY, RST_STREAM, SETTINGS, PING, GOAWAY, CONTINUATION = 0x1, 0x2, 0x3, 0x4, 0x6, 0x7, 0x9
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
NO_ERROR, PROTOCOL_ERROR, REFUSED_STREAM, CANCEL, ENHANCE_YOUR_CALM = 0x0, 0x1, 0x7, 0x8, 0xB
# :method GET, :scheme http, :path /, :authority "x" (a literal, not indexed)
REQUEST = b"\x82\x86\x84\x01\x01x"
MB = 1024 * 1024
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Worker:
    pid: int

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the proxy opens a connection per stream, all at once


class Upstream:
    """The proxy's backend: `/big` answers 16 MiB; `/slow` answers only at the end, and counts how many
    such requests came."""

    def __init__(self) -> None:
        self.slow = 0
        self.release = threading.Event()
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path == "/slow":
                    upstream.slow += 1
                    upstream.release.wait(60)
                body = b"b" * (16 * MB) if self.path == "/big" else b"ok"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class Proxy:
    port: int  # the HTTP/2 listener (prior knowledge)
    worker: Worker
    upstream: Upstream


@pytest.fixture(scope="module")
def proxy() -> Iterator[Proxy]:
    upstream = Upstream()
    backend = Backend("backend")
    instance = Instance("hapair", open_directory(), backend, workers=1)
    h2_port = free_port()
    upstream_location = f"location ~ ^/(slow|big)$ {{ proxy_pass http://127.0.0.1:{upstream.port}; }}"
    instance.add_server(f"listen 127.0.0.1:{h2_port} http2; {upstream_location}")
    with running(instance):
        instance.start_foreground()
        instance.wait_serving()
        (pid,) = instance.worker_pids()
        yield Proxy(h2_port, Worker(pid), upstream)
    upstream.close()
    backend.close()


@dataclass(frozen=True)
class Flood:
    """What a flood came to: how much of it the client could send before the connection ended, what the
    server sent back, and what the worker spent meanwhile."""

    sent: int
    closed: bool
    frames: list[tuple[int, int, int, bytes]]
    cpu_seconds: float
    rss_growth: int

    @property
    def goaway(self) -> int | None:
        return goaway_code(self.frames)

    def acknowledged(self, kind: int) -> int:
        """How many frames of `kind` the server acknowledged (PING, SETTINGS): how many it processed."""
        return sum(1 for frame_kind, flags, _, _ in self.frames if frame_kind == kind and flags & ACK)

    @property
    def last_stream(self) -> int:
        """The GOAWAY's last stream: the last the server read before it stopped."""
        return next(
            int.from_bytes(p[:4], "big") & 0x7FFFFFFF for kind, _, _, p in self.frames if kind == GOAWAY
        )


def flood(proxy: Proxy, opening: bytes, batches: Iterator[bytes], *, read: bool = True) -> Flood:
    """`opening`, then each batch, until the server closes the connection or the batches run out; the
    server's frames read as they come (or not at all, without `read`, until the end)."""
    worker = proxy.worker
    cpu, rss = worker.cpu_seconds(), worker.rss_bytes()
    peak = rss
    sent = 0
    closed = False
    received = bytearray()
    with socket.create_connection(("127.0.0.1", proxy.port)) as sock:
        sock.sendall(PREFACE + frame(SETTINGS, 0, 0, b"") + opening)
        sock.settimeout(10)
        for batch in batches:
            try:
                sock.sendall(batch)
            except OSError:
                closed = True
                break
            sent += len(batch)
            peak = max(peak, worker.rss_bytes())
            if read:
                closed = _drain(sock, received)
                if closed or goaway_code(_frames(bytes(received))) is not None:
                    break
        if not closed:
            sock.shutdown(socket.SHUT_WR)
        closed = _read_to_end(sock, received) or closed
    frames = _frames(bytes(received))
    return Flood(sent, closed, frames, worker.cpu_seconds() - cpu, peak - rss)


def _drain(sock: socket.socket, into: bytearray) -> bool:
    """What the server has sent so far, without waiting; True once it has closed."""
    sock.setblocking(False)
    try:
        while chunk := sock.recv(1 << 20):
            into += chunk
        return True
    except BlockingIOError:
        return False
    except ConnectionError:
        return True
    finally:
        sock.setblocking(True)


def _read_to_end(sock: socket.socket, into: bytearray) -> bool:
    try:
        while chunk := sock.recv(1 << 20):
            into += chunk
    except TimeoutError:
        return False
    except ConnectionError:
        pass
    return True


def _frames(data: bytes) -> list[tuple[int, int, int, bytes]]:
    out = []
    while len(data) >= 9:
        length = int.from_bytes(data[:3], "big")
        out.append((data[3], data[4], int.from_bytes(data[5:9], "big") & 0x7FFFFFFF, data[9 : 9 + length]))
        data = data[9 + length :]
    return out


def _streams(first: int, count: int, *, flags: int = END_STREAM | END_HEADERS, reset: bool = False) -> bytes:
    """`count` requests on new streams, each reset at once with `reset`."""
    out = bytearray()
    for stream_id in range(first, first + 2 * count, 2):
        out += frame(HEADERS, flags, stream_id, REQUEST)
        if reset:
            out += frame(RST_STREAM, 0, stream_id, CANCEL.to_bytes(4, "big"))
    return bytes(out)


def test_rapid_reset_ends_the_connection(proxy: Proxy) -> None:
    batches = (_streams(1 + 200 * n, 100, reset=True) for n in range(1000))  # 100,000 streams in all
    result = flood(proxy, b"", batches)
    assert result.goaway == ENHANCE_YOUR_CALM
    assert result.last_stream < 40000  # it stopped within the first fifth of the flood
    assert result.cpu_seconds < 2.0 and result.rss_growth < 16 * MB


def test_a_continuation_flood_ends_the_connection(proxy: Proxy) -> None:
    opening = frame(HEADERS, 0, 1, REQUEST)
    piece = frame(CONTINUATION, 0, 1, b"\x00\x01a\x7f\x81\x7f" + b"a" * (16384 - 6))
    batches = (piece * 16 for _ in range(1000))  # 256 MiB of a header block that never ends
    result = flood(proxy, opening, batches)
    # "http2 flood detected" (NO_ERROR) after 512 KiB of frames without payload, or h2's limit of 64
    # CONTINUATION frames (PROTOCOL_ERROR): nginx would answer ENHANCE_YOUR_CALM past 32k of headers
    assert result.goaway in (NO_ERROR, PROTOCOL_ERROR)
    assert result.sent < 16 * MB
    assert result.cpu_seconds < 2.0 and result.rss_growth < 16 * MB


def test_an_hpack_bomb_ends_the_connection(proxy: Proxy) -> None:
    # a 4000-byte header kept in the dynamic table, then blocks of 16,000 one-byte references to it:
    # each block decodes to 64 MB
    value = b"v" * 4000
    table = frame(HEADERS, END_STREAM | END_HEADERS, 1, REQUEST + b"\x40\x01b\x7f\xa1\x1e" + value)
    bombs = (
        frame(HEADERS, END_STREAM | END_HEADERS, 3 + 2 * n, REQUEST + b"\xbe" * 16000) for n in range(1000)
    )
    result = flood(proxy, table, bombs)
    assert result.goaway == ENHANCE_YOUR_CALM
    assert result.last_stream < 100  # it stopped at the first bombs: each is 64 MB once decoded
    assert result.cpu_seconds < 2.0 and result.rss_growth < 16 * MB


def test_streams_beyond_the_concurrent_ones_never_reach_the_upstream(proxy: Proxy) -> None:
    before = proxy.upstream.slow
    slow = b"\x82\x86\x04\x05/slow\x01\x01x"  # GET /slow, which the upstream answers only at the end
    worker = proxy.worker
    cpu, rss = worker.cpu_seconds(), worker.rss_bytes()
    received = bytearray()
    refusal = REFUSED_STREAM.to_bytes(4, "big")

    def refused() -> int:
        _drain(sock, received)
        return sum(
            1 for kind, _, _, payload in _frames(bytes(received)) if kind == RST_STREAM and payload == refusal
        )

    with socket.create_connection(("127.0.0.1", proxy.port)) as sock:
        opening = b"".join(frame(HEADERS, END_STREAM | END_HEADERS, 1 + 2 * n, slow) for n in range(1000))
        sock.sendall(PREFACE + frame(SETTINGS, 0, 0, b"") + opening)
        wait_until(lambda: refused() == 1000 - 128, 10, "the refusals")
        # every stream was read (and refused, or begun) before the upstream got its first request
        wait_until(lambda: proxy.upstream.slow - before == 128, 10, "the streams begun")
    assert proxy.upstream.slow - before == 128
    assert worker.cpu_seconds() - cpu < 2.0 and worker.rss_bytes() - rss < 16 * MB


def test_a_ping_flood_ends_the_connection(proxy: Proxy) -> None:
    ping = frame(PING, 0, 0, b"12345678")
    result = flood(proxy, b"", (ping * 4096 for _ in range(1000)))  # 4 million pings, 68 MB
    assert result.goaway == NO_ERROR
    assert result.acknowledged(PING) < 64 * 1024  # 512 KiB of pings, and a read's worth beyond
    assert result.cpu_seconds < 2.0 and result.rss_growth < 16 * MB


def test_a_ping_flood_that_reads_nothing_ends_the_connection(proxy: Proxy) -> None:
    """The client reads neither a large response nor the PING acknowledgements (they wait in the
    sockets' buffers): the response's first DATA frames count as payload, the pings past a share of it
    are a flood all the same."""
    ping = frame(PING, 0, 0, b"12345678")
    big = frame(HEADERS, END_STREAM | END_HEADERS, 1, b"\x82\x86\x04\x04/big\x01\x01x")
    result = flood(proxy, big, (ping * 4096 for _ in range(1000)), read=False)
    assert result.goaway == NO_ERROR
    assert result.acknowledged(PING) < 128 * 1024
    assert result.cpu_seconds < 2.0 and result.rss_growth < 16 * MB


def test_a_settings_flood_ends_the_connection(proxy: Proxy) -> None:
    settings = frame(SETTINGS, 0, 0, b"\x00\x04\x00\x01\x00\x00")  # SETTINGS_INITIAL_WINDOW_SIZE 65536
    result = flood(proxy, b"", (settings * 4096 for _ in range(1000)))
    assert result.goaway == NO_ERROR
    assert result.acknowledged(SETTINGS) < 64 * 1024
    assert result.cpu_seconds < 2.0 and result.rss_growth < 16 * MB


def test_a_priority_flood_ends_the_connection(proxy: Proxy) -> None:
    priority = b"".join(frame(PRIORITY, 0, 1 + 2 * n, b"\x00\x00\x00\x00\x10") for n in range(1000))
    result = flood(proxy, b"", (priority for _ in range(100)))
    assert result.goaway == ENHANCE_YOUR_CALM  # nginx's "client sent too many PRIORITY frames"
    assert result.cpu_seconds < 2.0 and result.rss_growth < 16 * MB


def test_the_worker_still_serves_after_the_floods(proxy: Proxy) -> None:
    async def ask() -> int:
        client = await H2Client.connect(proxy.port)
        response = await client.get("/")
        await client.close()
        return response.status

    assert asyncio.run(ask()) == 200
