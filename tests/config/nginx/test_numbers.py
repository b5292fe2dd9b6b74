"""Numbers, sizes and times as nginx parses them."""

from __future__ import annotations

import pytest

from hapair.config.nginx.numbers import MAX_INT, atoi, parse_offset, parse_size, parse_time


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("042", 42), (str(MAX_INT), MAX_INT)])
def test_atoi_reads_decimal_digits(text: str, value: int) -> None:
    assert atoi(text) == value


@pytest.mark.parametrize("text", ["", "-1", "1.5", " 1", "1k", str(MAX_INT + 1)])
def test_atoi_refuses_anything_but_digits_and_overflow(text: str) -> None:
    assert atoi(text) is None


@pytest.mark.parametrize(("text", "value"), [("512", 512), ("1k", 1024), ("1K", 1024), ("10m", 10 * 1024**2)])
def test_sizes_take_k_and_m(text: str, value: int) -> None:
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "k", "1g", "1.5m", "-1", "1 k"])
def test_sizes_refuse_other_units(text: str) -> None:
    assert parse_size(text) is None


def test_offsets_also_take_g() -> None:
    assert parse_offset("2g") == 2 * 1024**3


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("90s", 90),
        ("2m", 120),
        ("1h 30m", 5400),
        ("1d2h", 93600),
        ("1w", 604800),
        ("1M", 2592000),
        ("1y", 31536000),
    ],
)
def test_times_in_seconds(text: str, seconds: int) -> None:
    assert parse_time(text, seconds=True) == seconds


@pytest.mark.parametrize(("text", "ms"), [("90", 90_000), ("500ms", 500), ("1s 500ms", 1500), ("1m", 60_000)])
def test_times_in_milliseconds_read_a_bare_number_as_seconds(text: str, ms: int) -> None:
    assert parse_time(text, seconds=False) == ms


@pytest.mark.parametrize("text", ["", "s", "1x", "2h1d", "1h1h", "-1"])
def test_times_refuse_bad_units_and_units_out_of_order(text: str) -> None:
    assert parse_time(text, seconds=True) is None


def test_seconds_refuse_milliseconds_and_milliseconds_refuse_years() -> None:
    assert (parse_time("500ms", seconds=True), parse_time("1y", seconds=False)) == (None, None)
