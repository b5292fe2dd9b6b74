"""An HTTP/2 header list read as nginx reads it (proxy/http/h2/request.py), under the default server's
`underscores_in_headers` and `ignore_invalid_headers`: a name nginx does not expect is dropped, kept
where the settings say so; a name with a capital still resets the stream whatever they say."""

from __future__ import annotations

import pytest

from hapair.proxy.http.h2.request import Refusal, read_request
from hapair.proxy.http.request import Request

BASE = [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":authority", b"x")]


def names(underscores: bool, ignore_invalid: bool, *extra: tuple[bytes, bytes]) -> list[bytes]:
    read = read_request(
        [*BASE, *extra],
        stream_ended=True,
        length=0,
        started=0.0,
        underscores=underscores,
        ignore_invalid=ignore_invalid,
    )
    assert isinstance(read, Request)
    return [name.lower() for name, _ in read.headers]


@pytest.mark.parametrize(
    ("underscores", "ignore_invalid", "kept"),
    [
        (False, True, [b"host"]),
        (True, True, [b"host", b"x_a"]),
        (False, False, [b"host", b"x_a", b"x@b"]),
        (True, False, [b"host", b"x_a", b"x@b"]),
    ],
)
def test_unexpected_names_are_dropped_unless_the_settings_keep_them(
    underscores: bool, ignore_invalid: bool, kept: list[bytes]
) -> None:
    assert names(underscores, ignore_invalid, (b"x_a", b"1"), (b"x@b", b"2")) == kept


def test_a_capital_resets_the_stream_whatever_the_settings() -> None:
    read = read_request(
        [*BASE, (b"X-A", b"1")], stream_ended=True, length=0, started=0.0, ignore_invalid=False
    )
    assert isinstance(read, Refusal) and read.reset


@pytest.mark.parametrize("value", [b"a\x00b", b"a\rb", b"a\nb", b"\n"])
def test_a_nul_cr_or_lf_in_a_value_resets_the_stream_even_under_a_name_read_before(value: bytes) -> None:
    assert names(False, True, (b"x-seen", b"fine")) == [b"host", b"x-seen"]
    read = read_request([*BASE, (b"x-seen", value)], stream_ended=True, length=0, started=0.0)
    assert isinstance(read, Refusal) and read.reset
    assert read.reason.startswith('client sent header "x-seen" with invalid value')


def test_a_request_line_and_head_as_nginx_makes_them() -> None:
    read = read_request([*BASE, (b"content-length", b"0")], stream_ended=True, length=7, started=1.5)
    assert isinstance(read, Request)
    assert (read.line, read.protocol, read.raw_target, read.host) == (
        b"GET / HTTP/2.0",
        b"HTTP/2.0",
        b"/",
        "x",
    )
    assert (read.content_length, read.chunked, read.head_length, read.started) == (0, False, 7, 1.5)
