"""Numbers as keepalived 2.2.7 reads them (lib/parser.c `read_*_func`): values, exact messages, and the
difference between `-t` (every malformed number rejected) and the lenient run-time reading."""

from __future__ import annotations

import pytest

from hapair.config.keepalived.diagnostics import Severity
from hapair.config.keepalived.numbers import (
    TIMER_MAXIMUM,
    UINT_MAX,
    ULONG_MAX,
    check_true_false,
    read_decimal,
    read_int,
    read_timer,
    read_unsigned,
    read_unsigned64,
    strtol,
)


class Messages(list[tuple[Severity, str]]):
    def __call__(self, severity: Severity, message: str) -> None:
        self.append((severity, message))

    @property
    def texts(self) -> list[str]:
        assert all(severity == Severity.INVALID_NUMBER for severity, _ in self)
        return [message for _, message in self]


# -- strtol --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "base", "value", "rest"),
    [
        ("42", 10, 42, ""),
        ("  -7x", 10, -7, "x"),
        ("+5", 10, 5, ""),
        ("0x1f", 0, 31, ""),
        ("0X1F", 16, 31, ""),
        ("1f", 16, 31, ""),
        ("010", 0, 8, ""),
        ("09", 0, 0, "9"),
        ("0x", 0, 0, "x"),
        ("0xg", 16, 0, "xg"),
        ("0x10", 10, 0, "x10"),
        ("", 10, 0, ""),
        ("abc", 10, 0, "abc"),
        ("-", 10, 0, "-"),
        ("12 ", 10, 12, " "),
    ],
)
def test_strtol(text: str, base: int, value: int, rest: str) -> None:
    parsed = strtol(text, base)
    assert (parsed.value, parsed.rest, parsed.overflow) == (value, rest, False)


def test_strtol_overflow_saturates() -> None:
    assert strtol("99999999999999999999").overflow
    assert strtol("99999999999999999999").value == 2**63 - 1
    assert strtol("-99999999999999999999").value == -(2**63)
    assert strtol("18446744073709551616", unsigned=True).overflow
    assert strtol("18446744073709551615", unsigned=True) == strtol("0xffffffffffffffff", 0, unsigned=True)


def test_strtoul_negates_like_c() -> None:
    assert strtol("-1", unsigned=True).value == ULONG_MAX


# -- read_int --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("255", 255), ("-3", -3), (" 12", 12), ("", 0)])
def test_read_int_accepts(text: str, value: int) -> None:
    messages = Messages()
    assert read_int(text, -10, 255, messages) == value
    assert messages == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1x", "invalid number '1x'"),
        ("x", "invalid number 'x'"),
        ("1\\", "invalid number '1\\'"),
        ("1.5", "invalid number '1.5'"),
        ("0x10", "invalid number '0x10'"),
        ("12 ", "invalid number '12 '"),
        ("2147483648", "number '2147483648' outside integer range"),
        ("-2147483649", "number '-2147483649' outside integer range"),
        ("99999999999999999999", "number '99999999999999999999' outside integer range"),
        ("300", "number '300' outside range [1, 255]"),
        ("0", "number '0' outside range [1, 255]"),
    ],
)
def test_read_int_rejects(text: str, message: str) -> None:
    messages = Messages()
    assert read_int(text, 1, 255, messages) is None
    assert messages.texts == [message]


def test_read_int_base() -> None:
    messages = Messages()
    assert read_int("0x10", 0, 100, messages, base=0) == 16
    assert read_int("ff", 0, 300, messages, base=16) == 255
    assert messages == []


@pytest.mark.parametrize(
    ("text", "message", "value"),
    [
        ("5x", "WARNING - invalid number '5x'", 5),
        ("300x", "WARNING - invalid number '300x'", None),
        ("2147483648", "WARNING - number '2147483648' outside integer range", None),
        # keepalived prints no WARNING prefix for an integer outside the keyword's range
        ("300", "number '300' outside range [1, 255]", None),
    ],
)
def test_read_int_lenient_at_run_time(text: str, message: str, value: int | None) -> None:
    messages = Messages()
    assert read_int(text, 1, 255, messages, lenient=True, config_test=False) == value
    assert messages.texts == [message]


def test_read_int_lenient_under_config_test_rejects_without_warning_prefix() -> None:
    messages = Messages()
    assert read_int("5x", 1, 255, messages, lenient=True, config_test=True) is None
    assert messages.texts == ["invalid number '5x'"]


# -- read_unsigned ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("4294967295", UINT_MAX), ("+7", 7), (" 9", 9), ("  -0", None)],
)
def test_read_unsigned_values(text: str, value: int | None) -> None:
    assert read_unsigned(text, 0, UINT_MAX, Messages()) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-1", "negative number '-1'"),
        ("  -100", "negative number '  -100'"),
        ("-x", "negative number '-x'"),
        ("1x", "invalid number '1x'"),
        ("4294967296", "number '4294967296' outside unsigned integer range"),
        ("99999999999999999999", "number '99999999999999999999' outside unsigned integer range"),
        ("11", "number '11' outside range [1, 10]"),
    ],
)
def test_read_unsigned_rejects(text: str, message: str) -> None:
    messages = Messages()
    assert read_unsigned(text, 1, 10, messages) is None
    assert messages.texts == [message]


@pytest.mark.parametrize(
    ("text", "message", "value"),
    [
        ("3x", "WARNING - invalid number '3x'", 3),
        ("-3", "WARNING - negative number '-3'", None),
        # unlike read_int, the range message carries the prefix too
        ("11", "WARNING - number '11' outside range [1, 10]", None),
    ],
)
def test_read_unsigned_lenient_at_run_time(text: str, message: str, value: int | None) -> None:
    messages = Messages()
    assert read_unsigned(text, 1, 10, messages, lenient=True, config_test=False) == value
    assert messages.texts == [message]


def test_read_unsigned_lenient_under_config_test() -> None:
    messages = Messages()
    assert read_unsigned("3x", 1, 10, messages, lenient=True) is None
    assert read_unsigned("11", 1, 10, messages, lenient=True) is None
    assert messages.texts == ["invalid number '3x'", "number '11' outside range [1, 10]"]


# -- read_unsigned64 -----------------------------------------------------------------------------------


def test_read_unsigned64() -> None:
    messages = Messages()
    assert read_unsigned64("18446744073709551615", 0, ULONG_MAX, messages) == ULONG_MAX
    assert read_unsigned64("18446744073709551616", 0, ULONG_MAX, messages) is None
    assert read_unsigned64("-5", 0, ULONG_MAX, messages) is None
    assert read_unsigned64("5y", 0, ULONG_MAX, messages) is None
    assert read_unsigned64("50", 1, 10, messages) is None
    assert messages.texts == [
        "number '18446744073709551616' outside unsigned 64 bit range",
        "negative number '-5'",
        "invalid number '5y'",
        "number '50' outside range [1, 10]",
    ]


def test_read_unsigned64_lenient_at_run_time() -> None:
    messages = Messages()
    assert read_unsigned64("5y", 1, 10, messages, lenient=True, config_test=False) == 5
    assert read_unsigned64("50", 1, 10, messages, lenient=True, config_test=False) is None
    assert messages.texts == ["WARNING - invalid number '5y'", "number '50' outside range [1, 10]"]


# -- read_decimal / read_timer ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1_000_000),
        ("0.92", 920_000),
        ("4.5", 4_500_000),
        (".5", 500_000),
        ("3.", 3_000_000),
        ("0.000001", 1),
        ("255", 255_000_000),
    ],
)
def test_read_timer_accepts(text: str, value: int) -> None:
    messages = Messages()
    assert read_timer(text, 0, 0, messages) == value
    assert messages == []


@pytest.mark.parametrize(
    ("text", "value", "message"),
    [
        # too many places: the message, then the value rounded at the 6th place
        ("0.0000014", 1, "number '0.0000014' has too many decimal places"),
        ("0.0000015", 2, "number '0.0000015' has too many decimal places"),
        ("1.2345678", 1_234_568, "number '1.2345678' has too many decimal places"),
    ],
)
def test_read_timer_too_many_decimal_places_rounds(text: str, value: int, message: str) -> None:
    messages = Messages()
    assert read_timer(text, 0, 0, messages) == value
    assert messages.texts == [message]


@pytest.mark.parametrize(
    ("text", "messages_expected"),
    [
        ("-1", ["negative number '-1'"]),
        ("1\\", ["invalid number '1\\'"]),
        ("1x", ["invalid number '1x'"]),
        ("1.2.3", ["invalid number '1.2.3'"]),
        ("abc", ["invalid number 'abc'"]),
        ("0", ["number '0' outside range [0.000001, 4294.967295]"]),
        ("4294.967296", ["number '4294.967296' outside range [0.000001, 4294.967295]"]),
        ("99999999999999999", ["number '99999999999999999' outside unsigned decimal range"]),
    ],
)
def test_read_timer_rejects(text: str, messages_expected: list[str]) -> None:
    """Distro default config: `vrrp_garp_interval 0` -> `number '0' outside range [0.000001, 4294.967295]`."""
    messages = Messages()
    assert read_timer(text, 1, UINT_MAX, messages) is None
    assert messages.texts == messages_expected


def test_read_timer_default_maximum() -> None:
    messages = Messages()
    assert read_timer("18446744073709.551614", 0, 0, messages) == TIMER_MAXIMUM
    assert read_timer("18446744073709.551615", 1, 0, messages) is None
    maximum = "18446744073709.551614"
    assert messages.texts == [f"number '18446744073709.551615' outside range [0.000001, {maximum}]"]


def test_read_decimal_other_shift() -> None:
    """bfd's intervals are milliseconds with 3 decimals."""
    messages = Messages()
    assert read_decimal("10.5", 1, 100_000, 3, messages) == 10_500
    assert read_decimal("0", 1, 100_000, 3, messages) is None
    assert messages.texts == ["number '0' outside range [0.001, 100.000]"]


def test_read_decimal_lenient_keeps_in_range_prefix_even_under_config_test() -> None:
    """keepalived's decimal reader, unlike the integer ones, does not check -t before accepting a prefix:
    `1x` is read as `1x000000` -> 1 (microsecond)."""
    messages = Messages()
    assert read_timer("1x", 1, 0, messages, lenient=True, config_test=True) == 1
    assert read_timer("1x", 10, 0, messages, lenient=True, config_test=True) is None
    assert messages.texts == ["invalid number '1x'", "invalid number '1x'"]


def test_read_decimal_lenient_at_run_time_prefixes_warning() -> None:
    """lex2_run.log: `advert_int 1 \\` -> `WARNING - invalid number '1\\'` (then advert_int rejects 1 µs)."""
    messages = Messages()
    read_timer("1\\", 10_000, 255_000_000, messages, lenient=True, config_test=False)
    read_timer("-1", 10_000, 255_000_000, messages, lenient=True, config_test=False)
    read_timer("1.0000001", 10_000, 255_000_000, messages, lenient=True, config_test=False)
    read_timer("0", 10_000, 255_000_000, messages, lenient=True, config_test=False)
    assert messages.texts == [
        "WARNING - invalid number '1\\'",
        "WARNING - negative number '-1'",
        "WARNING - number '1.0000001' has too many decimal places",
        "WARNING - number '0' outside range [0.010000, 255.000000]",
    ]


# -- booleans --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("on", True),
        ("true", True),
        ("yes", True),
        ("off", False),
        ("false", False),
        ("no", False),
        ("On", None),
        ("1", None),
        ("", None),
        ("yes ", None),
    ],
)
def test_check_true_false(text: str, value: bool | None) -> None:
    assert check_true_false(text) is value
