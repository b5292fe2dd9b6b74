"""Pieces of what the proxy does with an upstream's response, on their own: where a response head ends
against `proxy_buffer_size` whatever the reads, nginx's reading of an X-Accel-Redirect URI. The whole
is checked beside the real nginx in tests/differential/test_proxy_response.py."""

from __future__ import annotations

import asyncio

import pytest

from hapair.proxy.http.upstream_response import unsafe_uri
from tests.python_source import source_module

from .harness import FakeTransport

# as Python: the connection is made without a peer and serves a fake proxying (tests/python_source.py)
upstream = source_module("hapair.proxy.http.upstream")
ConnectionPool = source_module("hapair.proxy.http.pool").ConnectionPool
Failure = upstream.Failure
UpstreamConnection = upstream.UpstreamConnection


HEAD = b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * 50 + b"\r\n\r\nbody"
HEAD_LENGTH = HEAD.index(b"\r\n\r\n") + 4


class _Proxying:
    """Whether the connection took the head (True) or failed it as too big (False)."""

    send_timeout = 60.0

    def __init__(self) -> None:
        self.outcome: bool | None = None

    def upstream_head(self, *_: object) -> None:
        self.outcome = True

    def upstream_failed(self, conn: UpstreamConnection, failure: Failure, text: str) -> None:
        assert (failure, text) == (Failure.INVALID_HEADER, _TOO_BIG)
        self.outcome = False

    def upstream_body(self, data: bytes) -> None:
        pass

    def upstream_done(self, conn: UpstreamConnection, *, reusable: bool) -> None:
        pass

    def flush(self) -> None:
        pass


_TOO_BIG = "upstream sent too big header while reading response header from upstream"


def _fits(pieces: list[bytes], limit: int) -> bool:
    """Whether a head read in `pieces` one after the other fits."""
    loop = asyncio.new_event_loop()
    try:
        conn = UpstreamConnection(loop, None, None, ConnectionPool(loop))  # type: ignore[arg-type]
        conn.connection_made(FakeTransport())  # type: ignore[arg-type]
        proxying = _Proxying()
        conn.bind(proxying, skip_body=False, upgrade=False, head_limit=limit)  # type: ignore[arg-type]
        for piece in pieces:
            conn.data_received(piece)
            if proxying.outcome is not None:
                return proxying.outcome
        raise AssertionError("the head was neither taken nor refused")
    finally:
        loop.close()


@pytest.mark.parametrize("limit", [HEAD_LENGTH - 1, HEAD_LENGTH, HEAD_LENGTH + 1])
@pytest.mark.parametrize("size", [1, 2, 3, 5, 40, len(HEAD)])
def test_a_head_fits_proxy_buffer_size_whatever_the_reads(limit: int, size: int) -> None:
    pieces = [HEAD[start : start + size] for start in range(0, len(HEAD), size)]
    assert _fits(pieces, limit) is (limit >= HEAD_LENGTH)


class _Recorder(_Proxying):
    """What the connection made of a head: the head passed on, or the failure's text."""

    def __init__(self) -> None:
        super().__init__()
        self.head: tuple[object, ...] | None = None
        self.failure: str | None = None

    def upstream_head(self, *args: object) -> None:
        self.head = args[1:]

    def upstream_failed(self, conn: UpstreamConnection, failure: Failure, text: str) -> None:
        self.failure = text


def _read(data: bytes) -> _Recorder:
    loop = asyncio.new_event_loop()
    try:
        conn = UpstreamConnection(loop, None, None, ConnectionPool(loop))  # type: ignore[arg-type]
        conn.connection_made(FakeTransport())  # type: ignore[arg-type]
        recorder = _Recorder()
        conn.bind(recorder, skip_body=False, upgrade=False, head_limit=4096)  # type: ignore[arg-type]
        conn.data_received(data)
        return recorder
    finally:
        loop.close()


def test_a_head_read_again_gives_each_connection_headers_of_its_own() -> None:
    data = b"HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 2\r\n\r\nok"
    first, second = _read(data).head, _read(data).head
    headers = [(b"Server", b"x"), (b"Content-Length", b"2")]
    assert first == second == (200, b"200 OK", headers, upstream.Framing.LENGTH)
    assert first is not None and second is not None and first[2] is not second[2]


def test_a_refused_head_is_refused_again() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"
    text = "upstream sent invalid header while reading response header from upstream"
    assert [_read(data).failure for _ in range(2)] == [text, text]


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("/a/b", ("/a/b", None)),
        ("/a?x=1&y", ("/a", "x=1&y")),
        ("/a?", ("/a", "")),
        ("/p%61th", ("/path", None)),
        ("/a/../b", None),
        ("/a/..", None),
        ("..", None),
        ("../a", None),
        ("/a/%2e%2e/b", None),
        ("/a/..b", ("/a/..b", None)),
        ("/a/b?../c", ("/a/b", "../c")),
        ("", None),
        ("?a", None),
        ("/a\0b", None),
    ],
)
def test_x_accel_redirect_uris_are_read_as_nginx_reads_them(
    value: str, parsed: tuple[str, str | None] | None
) -> None:
    assert unsafe_uri(value) == parsed
