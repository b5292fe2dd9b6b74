"""The gzip filter's pieces on their own: nginx's readings of Accept-Encoding, Cache-Control, HTTP dates,
Content-Type and User-Agent, and the body filter (zlib's parameters, nginx's buffers, flushes, the
ratio). The filter as a whole is checked beside the real nginx in tests/differential/test_gzip.py."""

from __future__ import annotations

import calendar
import random
import zlib
from dataclasses import replace

import pytest

from hapair.config.nginx.model.gzip import DISABLED
from hapair.proxy.http.gzip import Deflate, accepts_gzip, has_token, is_msie6, type_key
from hapair.proxy.http.httptime import INVALID, parse_http_time

ON = replace(DISABLED, enable=True)
TEXT = b"".join(b"line %d of a text that compresses\n" % n for n in range(3000))
_RANDOM = random.Random(5)
_VOCABULARY = [
    bytes(_RANDOM.choices(b"abcdefghijklmnopqrstuvwxyz", k=_RANDOM.randint(2, 8))) for _ in range(200)
]
WORDS = b" ".join(_RANDOM.choice(_VOCABULARY) for _ in range(3000))[:3000]


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        (b"gzip", True),
        (b"GZip", True),
        (b"deflate, gzip", True),
        (b"deflate,gzip", True),
        (b"gzip ,br", True),
        (b"x-gzip", False),
        (b"x-gzipgzip", True),  # nginx looks for the next "gzip" right after the one it refused
        (b"gzipx", False),
        (b"gzip;", True),
        (b"gzip; q=1", True),
        (b"gzip;q=0", False),
        (b"gzip;q=0.000", False),
        (b"gzip;q=0.001", True),
        (b"gzip;q=0.5, br", True),
        (b"gzip;q=1.000", True),
        (b"gzip;q=1.001", False),
        (b"gzip;q=0.0001", False),
        (b"gzip;q=", False),
        (b"gzip;q=2", False),
        (b"gzip;level=1", False),
    ],
)
def test_accept_encoding_is_read_as_nginx_reads_it(value: bytes, accepted: bool) -> None:
    assert accepts_gzip(value) is accepted


@pytest.mark.parametrize(
    ("values", "token", "found"),
    [
        ([b"no-cache"], b"no-cache", True),
        ([b"max-age=0, No-Cache"], b"no-cache", True),
        ([b"max-age=0", b"private"], b"private", True),
        ([b"no-cache  , private"], b"no-cache", True),
        ([b'no-cache="Set-Cookie"'], b"no-cache", False),
        ([b"no-cache;x"], b"no-cache", False),
        ([b"public"], b"private", False),
        ([b"x-private"], b"private", False),
        ([b"a;private"], b"private", True),
    ],
)
def test_cache_control_tokens_are_found_as_nginx_finds_them(
    values: list[bytes], token: bytes, found: bool
) -> None:
    assert has_token(values, token) is found


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"Sun, 06 Nov 1994 08:49:37 GMT", (1994, 11, 6, 8, 49, 37)),
        (b"Sunday, 06-Nov-94 08:49:37 GMT", (1994, 11, 6, 8, 49, 37)),
        (b"Sunday, 06-Nov-69 08:49:37 GMT", (2069, 11, 6, 8, 49, 37)),
        (b"Sun Nov  6 08:49:37 1994", (1994, 11, 6, 8, 49, 37)),
        (b"Sun Nov 16 08:49:37 1994", (1994, 11, 16, 8, 49, 37)),
        (b"Thu, 29 Feb 2024 00:00:00 GMT", (2024, 2, 29, 0, 0, 0)),
        (b"Thu, 29 Feb 2023 00:00:00 GMT", None),
        (b"Sun, 31 Jun 1994 08:49:37 GMT", None),
        (b"Sun, 06 Nov 1994 24:00:00 GMT", None),
        (b"Sun, 06 Nov 1994 08:49:37", (1994, 11, 6, 8, 49, 37)),
        (b"0", None),
        (b"", None),
        (b"Sun, 06 Xov 1994 08:49:37 GMT", None),
    ],
)
def test_http_dates_are_read_as_nginx_reads_them(value: bytes, expected: tuple[int, ...] | None) -> None:
    wanted = INVALID if expected is None else calendar.timegm((*expected, 0, 0, 0))
    assert parse_http_time(value) == wanted


@pytest.mark.parametrize(
    ("content_type", "key"),
    [
        (b"text/html", "text/html"),
        (b"Text/HTML; charset=UTF-8", "text/html"),
        (b"text/html;charset=x", "text/html"),
        (b"text/html; format=flowed", "text/html; format=flowed"),
        (b"text/html; q=1; charset=x", "text/html; q=1"),
        (b"text/html;", "text/html;"),
    ],
)
def test_types_are_looked_up_without_their_charset(content_type: bytes, key: str) -> None:
    assert type_key(content_type) == key


@pytest.mark.parametrize(
    ("agent", "msie6"),
    [
        (b"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)", True),
        (b"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", False),
        (b"Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)", True),
        (b"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)", False),
        (b"Mozilla/4.0 (compatible; MSIE 5.0; Opera 7)", False),
        (b"MSIE 6.0", True),
        (b"MSIE 6.", False),
        (b"curl/8.1", False),
    ],
)
def test_msie6_is_nginx_s(agent: bytes, msie6: bool) -> None:
    assert is_msie6(agent) is msie6


def _whole(deflate: Deflate, pieces: list[bytes]) -> list[bytes]:
    return [deflate.data(piece) for piece in pieces] + [deflate.end()]


def test_the_body_is_compressed_as_zlib_with_nginx_s_parameters_compresses_it() -> None:
    settings = replace(ON, level=6)
    out = _whole(Deflate(settings, -1, sync=False), [TEXT[:1000], TEXT[1000:]])
    expected = zlib.compressobj(6, zlib.DEFLATED, 31, 8)
    assert b"".join(out) == expected.compress(TEXT) + expected.flush()


def test_a_short_response_gets_a_smaller_window_and_memory_level() -> None:
    """ngx_http_gzip_filter_memory: a 3000-byte response needs a 4k window (12 bits) and memory level 5
    (this text compresses differently with zlib's defaults)."""
    out = b"".join(_whole(Deflate(ON, len(WORDS), sync=False), [WORDS]))
    expected = zlib.compressobj(1, zlib.DEFLATED, 12 + 16, 5)
    assert out == expected.compress(WORDS) + expected.flush()
    default = zlib.compressobj(1, zlib.DEFLATED, 15 + 16, 8)
    assert out != default.compress(WORDS) + default.flush()


def test_output_is_passed_on_in_whole_buffers_until_the_end() -> None:
    settings = replace(ON, buffers=(4, 1024))
    out = _whole(Deflate(settings, -1, sync=False), [TEXT[n : n + 4096] for n in range(0, len(TEXT), 4096)])
    assert all(len(piece) % 1024 == 0 for piece in out[:-1])
    assert zlib.decompress(b"".join(out), 31) == TEXT


def test_each_piece_is_flushed_when_the_proxy_does_not_buffer() -> None:
    deflate = Deflate(ON, -1, sync=True)
    first = deflate.data(b"first piece")
    assert first.endswith(b"\x00\x00\xff\xff")
    assert zlib.decompressobj(31).decompress(first) == b"first piece"


def test_postponed_input_is_compressed_once_past_the_threshold() -> None:
    deflate = Deflate(replace(ON, postpone=100), -1, sync=False)
    assert deflate.data(b"x" * 60) == b""
    assert deflate.zin == 0
    deflate.data(b"y" * 60)
    assert deflate.zin == 120
    assert zlib.decompress(deflate.end(), 31) == b"x" * 60 + b"y" * 60


@pytest.mark.parametrize(
    ("zin", "zout", "ratio"),
    [(2125, 1000, "2.13"), (2124, 1000, "2.12"), (1999, 1000, "2.00"), (5, 3, "1.67")],
)
def test_ratio_is_rounded_as_nginx_rounds_it(zin: int, zout: int, ratio: str) -> None:
    deflate = Deflate(ON, -1, sync=False)
    deflate.end()
    deflate.zin, deflate.zout = zin, zout
    assert deflate.ratio() == ratio


def test_no_ratio_before_the_end() -> None:
    deflate = Deflate(ON, -1, sync=False)
    deflate.data(TEXT)
    assert deflate.ratio() is None
