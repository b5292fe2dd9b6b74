"""Pieces of what the proxy does with an upstream's response, on their own: where a response head ends
against `proxy_buffer_size` whatever the reads, nginx's reading of an X-Accel-Redirect URI. The whole
is checked beside the real nginx in tests/differential/test_proxy_response.py."""

from __future__ import annotations

import pytest

from hapair.proxy.http.upstream import HeadSize
from hapair.proxy.http.upstream_response import unsafe_uri

HEAD = b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * 50 + b"\r\n\r\nbody"
HEAD_LENGTH = HEAD.index(b"\r\n\r\n") + 4


def _fits(pieces: list[bytes], limit: int) -> bool:
    """Whether a head read in `pieces` one after the other fits."""
    size = HeadSize(limit)
    seen = b""
    for piece in pieces:
        if not size.fits(piece):
            return False
        seen += piece
        if b"\r\n\r\n" in seen:
            return True
    return True


@pytest.mark.parametrize("limit", [HEAD_LENGTH - 1, HEAD_LENGTH, HEAD_LENGTH + 1])
@pytest.mark.parametrize("size", [1, 2, 3, 5, 40, len(HEAD)])
def test_a_head_fits_proxy_buffer_size_whatever_the_reads(limit: int, size: int) -> None:
    pieces = [HEAD[start : start + size] for start in range(0, len(HEAD), size)]
    assert _fits(pieces, limit) is (limit >= HEAD_LENGTH)


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
