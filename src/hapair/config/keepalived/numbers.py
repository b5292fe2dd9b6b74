"""Numbers, timers and booleans as keepalived 2.2.7 reads them (lib/parser.c `read_*_func`).

Each reader reports through `report` with keepalived's exact wording and returns the value, or None when
keepalived would not use it. Under `-t` every malformed number is rejected; at run time keywords that read
leniently (`lenient=True`, keepalived's `ignore_error`) keep an in-range numeric prefix after a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .diagnostics import Severity
from .words import WHITE_SPACE

Reporter = Callable[[Severity, str], None]

LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
ULONG_MAX = 2**64 - 1
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
UINT_MAX = 2**32 - 1
TIMER_HZ = 1_000_000
TIMER_HZ_DIGITS = 6
TIMER_MAXIMUM = ULONG_MAX - 1


@dataclass(frozen=True, slots=True)
class Parsed:
    """What C's `strtol` family makes of a string: the value, where it stopped, and whether it overflowed."""

    value: int
    rest: str
    overflow: bool


def _digits_for(base: int) -> str:
    return "0123456789abcdefghijklmnopqrstuvwxyz"[:base]


def strtol(text: str, base: int = 10, *, unsigned: bool = False) -> Parsed:
    """C's strtol/strtoul: skip blanks, a sign, an optional 0x/0 prefix for base 0 or 16, then digits."""
    pos = 0
    while pos < len(text) and text[pos] in WHITE_SPACE:
        pos += 1
    negative = False
    if pos < len(text) and text[pos] in "+-":
        negative = text[pos] == "-"
        pos += 1
    lower = text.lower()
    if (
        base in (0, 16)
        and lower.startswith("0x", pos)
        and pos + 2 < len(text)
        and lower[pos + 2] in _digits_for(16)
    ):
        pos += 2
        base = 16
    elif base == 0:
        base = 8 if lower.startswith("0", pos) else 10
    digits = _digits_for(base)
    start = pos
    while pos < len(text) and lower[pos] in digits:
        pos += 1
    if pos == start:
        return Parsed(0, text, False)
    magnitude = int(text[start:pos], base)
    if unsigned:
        overflow = magnitude > ULONG_MAX
        value = ULONG_MAX if overflow else (-magnitude) % 2**64 if negative else magnitude
    else:
        value = -magnitude if negative else magnitude
        overflow = not LONG_MIN <= value <= LONG_MAX
        value = max(LONG_MIN, min(LONG_MAX, value))
    return Parsed(value, text[pos:], overflow)


def _warn_prefix(lenient: bool, config_test: bool) -> str:
    return "WARNING - " if lenient and not config_test else ""


@dataclass(frozen=True, slots=True)
class _WholeNumber:
    """What sets keepalived's `read_int_func`, `read_unsigned_func` and `read_unsigned64_func` apart."""

    unsigned: bool  # leading blanks skipped and a `-` refused before strtoul
    limits: tuple[int, int]  # the range of the C type read into
    limits_name: str  # "number '…' outside {limits_name} range"
    warn_outside_range: bool  # only read_unsigned_func prefixes the [low, high] message with the warning


_INT = _WholeNumber(
    unsigned=False, limits=(INT_MIN, INT_MAX), limits_name="integer", warn_outside_range=False
)
_UNSIGNED = _WholeNumber(
    unsigned=True, limits=(0, UINT_MAX), limits_name="unsigned integer", warn_outside_range=True
)
_UNSIGNED64 = _WholeNumber(
    unsigned=True, limits=(0, ULONG_MAX), limits_name="unsigned 64 bit", warn_outside_range=False
)


def _read_whole(
    kind: _WholeNumber,
    text: str,
    low: int,
    high: int,
    report: Reporter,
    *,
    lenient: bool,
    config_test: bool,
    base: int,
) -> int | None:
    warn = _warn_prefix(lenient, config_test)
    number = text.lstrip(WHITE_SPACE) if kind.unsigned else text
    parsed = strtol(number, base, unsigned=kind.unsigned)
    value = parsed.value
    low_limit, high_limit = kind.limits
    if kind.unsigned and number.startswith("-"):
        report(Severity.INVALID_NUMBER, f"{warn}negative number '{text}'")
    elif parsed.rest:
        report(Severity.INVALID_NUMBER, f"{warn}invalid number '{text}'")
    elif parsed.overflow or not low_limit <= value <= high_limit:
        report(Severity.INVALID_NUMBER, f"{warn}number '{text}' outside {kind.limits_name} range")
    elif not low <= value <= high:
        range_warn = warn if kind.warn_outside_range else ""
        report(Severity.INVALID_NUMBER, f"{range_warn}number '{text}' outside range [{low}, {high}]")
    else:
        return value
    if lenient and low <= value <= high and not config_test:
        return value
    return None


def read_int(
    text: str,
    low: int,
    high: int,
    report: Reporter,
    *,
    lenient: bool = False,
    config_test: bool = True,
    base: int = 10,
) -> int | None:
    return _read_whole(_INT, text, low, high, report, lenient=lenient, config_test=config_test, base=base)


def read_unsigned(
    text: str,
    low: int,
    high: int,
    report: Reporter,
    *,
    lenient: bool = False,
    config_test: bool = True,
    base: int = 10,
) -> int | None:
    return _read_whole(
        _UNSIGNED, text, low, high, report, lenient=lenient, config_test=config_test, base=base
    )


def read_unsigned64(
    text: str, low: int, high: int, report: Reporter, *, lenient: bool = False, config_test: bool = True
) -> int | None:
    return _read_whole(
        _UNSIGNED64, text, low, high, report, lenient=lenient, config_test=config_test, base=10
    )


def _fixed(value: int, shift: int) -> str:
    """C's `%lu.%*.*lu` of value / 10**shift and its remainder (no fraction digit when shift is 0)."""
    if not shift:
        return f"{value}."
    scale = 10**shift
    return f"{value // scale}.{value % scale:0{shift}d}"


def read_decimal(
    text: str,
    low: int,
    high: int,
    shift: int,
    report: Reporter,
    *,
    lenient: bool = False,
    config_test: bool = True,
) -> int | None:
    """A non-negative decimal with up to `shift` places, returned as an integer scaled by 10**shift."""
    warn = _warn_prefix(lenient, config_test)
    if text.startswith("-"):
        report(Severity.INVALID_NUMBER, f"{warn}negative number '{text}'")
        return None
    whole, dot, fraction = text.partition(".")
    round_up = False
    if dot and len(fraction) > shift:
        report(Severity.INVALID_NUMBER, f"{warn}number '{text}' has too many decimal places")
        round_up = fraction[shift] >= "5"
        fraction = fraction[:shift]
    digits = whole + fraction + "0" * (shift - len(fraction))
    parsed = strtol(digits, 10, unsigned=True)
    value = parsed.value + round_up
    if parsed.rest:
        report(Severity.INVALID_NUMBER, f"{warn}invalid number '{text}'")
    elif parsed.overflow:
        report(Severity.INVALID_NUMBER, f"{warn}number '{text}' outside unsigned decimal range")
        return None
    elif not low <= value <= high:
        report(
            Severity.INVALID_NUMBER,
            f"{warn}number '{text}' outside range [{_fixed(low, shift)}, {_fixed(high, shift)}]",
        )
    else:
        return value
    if lenient and low <= value <= high:
        return value
    return None


def read_timer(
    text: str, low: int, high: int, report: Reporter, *, lenient: bool = False, config_test: bool = True
) -> int | None:
    """A duration in seconds with microsecond resolution, returned in microseconds (`high` 0: no limit)."""
    return read_decimal(
        text, low, high or TIMER_MAXIMUM, TIMER_HZ_DIGITS, report, lenient=lenient, config_test=config_test
    )


def check_true_false(text: str) -> bool | None:
    """keepalived's booleans: on/true/yes and off/false/no; anything else is None."""
    if text in ("true", "on", "yes"):
        return True
    if text in ("false", "off", "no"):
        return False
    return None
