"""The pure parts of serving files: nginx's reading of request dates (httptime.py) and of `Range`
(ranges.py), and its UTF-8 counting for the autoindex names (escapes.py). Their behaviour on the wire is
compared with nginx's in tests/differential/test_static.py; here, their arithmetic and their bounds."""

from __future__ import annotations

import calendar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hapair.proxy.http.clock import http_date
from hapair.proxy.http.escapes import escape_json, utf8_length, utf8_prefix
from hapair.proxy.http.httptime import INVALID, parse_http_time
from hapair.proxy.http.ranges import _DeclinedError, _NotSatisfiableError, _parse

EPOCH_1994 = calendar.timegm((1994, 11, 6, 8, 49, 37))


@pytest.mark.parametrize(
    "value",
    [
        b"Sun, 06 Nov 1994 08:49:37 GMT",
        b"Sunday, 06-Nov-94 08:49:37 GMT",
        b"Sun Nov  6 08:49:37 1994",
        b"Sun, 06 Nov 1994 08:49:37",
        b"Sun,   06 Nov 1994 08:49:37 GMT",
    ],
)
def test_the_three_forms_of_a_date(value: bytes) -> None:
    assert parse_http_time(value) == EPOCH_1994


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"yesterday",
        b"Sun, 06 Nov 1994",
        b"Tue, 29 Feb 1900 00:00:00 GMT",
        b"Sun, 06 Nov 1994 24:00:00 GMT",
    ],
)
def test_dates_nginx_cannot_read(value: bytes) -> None:
    assert parse_http_time(value) == INVALID


@given(st.integers(0, 2**33))
def test_every_date_written_reads_back(seconds: int) -> None:
    assert parse_http_time(http_date(seconds).encode()) == seconds


@given(
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200) | st.none()), min_size=1, max_size=5),
    st.integers(0, 150),
    st.integers(0, 4),
)
def test_ranges_stay_within_the_body(pairs: list[tuple[int, int | None]], length: int, limit: int) -> None:
    spec = b",".join(b"%d-%b" % (start, b"" if end is None else b"%d" % end) for start, end in pairs)
    try:
        found = _parse(spec, length, limit)
    except (_DeclinedError, _NotSatisfiableError):
        return
    assert 0 < len(found) <= limit
    assert all(0 <= start < end <= length for start, end in found)
    assert sum(end - start for start, end in found) <= length


def test_suffix_ranges_count_from_the_end() -> None:
    assert _parse(b"-5", 37, 10) == [(32, 37)]
    assert _parse(b"-100", 37, 10) == [(0, 37)]


def test_utf8_is_counted_as_nginx_counts_it() -> None:
    assert utf8_length("é".encode() * 3) == 3
    assert utf8_length(b"\xc3") == 1  # not UTF-8: its bytes
    assert utf8_prefix(b"ab" + "é".encode() * 3, 3) == "abé".encode()
    assert utf8_prefix(b"ab\xffcd", 4) == b"ab"


def test_json_escapes_quotes_backslashes_and_controls() -> None:
    assert escape_json(b'a"b\\c\n\x01') == b'a\\"b\\\\c\\n\\u0001'
