"""Numbers, sizes and times as nginx parses them (ngx_atoi, ngx_parse_size, ngx_parse_offset,
ngx_parse_time). Each returns None where nginx returns NGX_ERROR."""

from __future__ import annotations

MAX_INT = 2**63 - 1  # NGX_MAX_INT_T_VALUE, NGX_MAX_SIZE_T_VALUE and NGX_MAX_OFF_T_VALUE on 64-bit Linux

KILO = 1024
_SIZE_UNITS = {"k": KILO, "m": KILO**2}
_OFFSET_UNITS = {"k": KILO, "m": KILO**2, "g": KILO**3}


def atoi(text: str) -> int | None:
    """A non-negative decimal integer, digits only."""
    if not text:
        return None
    value = 0
    for ch in text:
        if not "0" <= ch <= "9":
            return None
        value = value * 10 + ord(ch) - ord("0")
        if value > MAX_INT:
            return None
    return value


def _scaled(text: str, units: dict[str, int]) -> int | None:
    if not text:
        return None
    scale = units.get(text[-1].lower(), 1)
    digits = text[:-1] if scale != 1 else text
    value = atoi(digits)
    if value is None or value > MAX_INT // scale:
        return None
    return value * scale


def parse_size(text: str) -> int | None:
    """Bytes: `1024`, `8k`, `1m` (ngx_parse_size)."""
    return _scaled(text, _SIZE_UNITS)


def parse_offset(text: str) -> int | None:
    """Bytes, with `g` too: `1g` (ngx_parse_offset)."""
    return _scaled(text, _OFFSET_UNITS)


SECOND = 1
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
# ngx_parse_time's units, in the order they must come: (letter, seconds)
_TIME_UNITS = (("y", 365 * DAY), ("M", 30 * DAY), ("w", 7 * DAY), ("d", DAY), ("h", HOUR), ("m", MINUTE))
_STEP_SEC = len(_TIME_UNITS)
_STEP_MSEC = _STEP_SEC + 1
_STEP_LAST = _STEP_SEC + 2


def parse_time(text: str, *, seconds: bool) -> int | None:
    """A duration such as `90`, `1h 30m`, `500ms`: in seconds when `seconds`, else in milliseconds; a bare
    number is in seconds either way (ngx_parse_time)."""
    step = -1 if seconds else 1  # a millisecond value cannot take years or months
    value = total = 0
    valid = False
    i = 0
    while i < len(text):
        ch = text[i]
        i += 1
        if "0" <= ch <= "9":
            value = value * 10 + ord(ch) - ord("0")
            if value > MAX_INT:
                return None
            valid = True
            continue
        unit = _time_unit(ch, text, i, step, seconds)
        if unit is None:
            return None
        step, scale, i = unit
        if step != _STEP_MSEC and not seconds:
            scale *= 1000
        if value > MAX_INT // scale or total > MAX_INT - value * scale:
            return None
        total += value * scale
        value = 0
        while i < len(text) and text[i] == " ":
            i += 1
    if not valid:
        return None
    if not seconds:
        if value > MAX_INT // 1000:
            return None
        value *= 1000
    if total > MAX_INT - value:
        return None
    return total + value


def _time_unit(ch: str, text: str, i: int, step: int, seconds: bool) -> tuple[int, int, int] | None:
    """(new step, seconds per unit, next index) for the unit letter `ch`, or None when it is not allowed."""
    if ch == "m" and i < len(text) and text[i] == "s":
        if seconds or step >= _STEP_MSEC:
            return None
        return _STEP_MSEC, 1, i + 1
    for index, (letter, scale) in enumerate(_TIME_UNITS):
        if ch == letter:
            if step >= index:
                return None
            return index, scale, i
    if ch == "s":
        return None if step >= _STEP_SEC else (_STEP_SEC, 1, i)
    if ch == " ":
        return None if step >= _STEP_SEC else (_STEP_LAST, 1, i)
    return None
