"""nginx's reading of the dates in request headers (ngx_parse_http_time): RFC 1123, RFC 850 and asctime
forms, leniently as nginx reads them; -1 for a date it cannot read."""

from __future__ import annotations

_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
INVALID = -1


class _Text:
    """The value with nginx's view of its end: reading past it gives NUL."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __getitem__(self, index: int) -> int:
        return self.data[index] if index < len(self.data) else 0


def _digit(ch: int) -> bool:
    return 0x30 <= ch <= 0x39


def _two(text: _Text, p: int) -> int | None:
    if not (_digit(text[p]) and _digit(text[p + 1])):
        return None
    return (text[p] - 0x30) * 10 + text[p + 1] - 0x30


def _four(text: _Text, p: int) -> int | None:
    high, low = _two(text, p), _two(text, p + 2)
    return None if high is None or low is None else high * 100 + low


def _month(text: _Text, p: int) -> int | None:
    first = chr(text[p])
    if first == "J":
        return 0 if text[p + 1] == ord("a") else 5 if text[p + 2] == ord("n") else 6
    if first == "M":
        return 2 if text[p + 2] == ord("r") else 4
    if first == "A":
        return 3 if text[p + 1] == ord("p") else 7
    return {"F": 1, "S": 8, "O": 9, "N": 10, "D": 11}.get(first)


def parse_http_time(value: bytes) -> int:
    """Seconds since the epoch, or INVALID."""
    found = _parse(_Text(value), len(value))
    return INVALID if found is None else found


def _parse(text: _Text, end: int) -> int | None:
    isoc = False
    p = 0
    while p < end:
        if text[p] == ord(","):
            break
        if text[p] == ord(" "):
            isoc = True
            break
        p += 1
    p += 1
    while p < end and text[p] == ord(" "):
        p += 1
    if end - p < 18:
        return None
    rfc822 = False
    day = 0
    if not isoc:
        found = _two(text, p)
        if found is None:
            return None
        day = found
        p += 2
        if text[p] == ord(" "):
            if end - p < 18:
                return None
            rfc822 = True
        elif text[p] != ord("-"):
            return None
        p += 1
    month = _month(text, p)
    if month is None:
        return None
    p += 3
    if not isoc and text[p] != (ord(" ") if rfc822 else ord("-")):
        return None
    p += 1
    year = 0
    if rfc822:
        found = _four(text, p)
        if found is None:
            return None
        year, p = found, p + 4
    elif not isoc:
        found = _two(text, p)
        if found is None:
            return None
        year, p = found + (2000 if found < 70 else 1900), p + 2
    else:
        if text[p] == ord(" "):
            p += 1
        if not _digit(text[p]):
            return None
        day = text[p] - 0x30
        p += 1
        if text[p] != ord(" "):
            if not _digit(text[p]):
                return None
            day, p = day * 10 + text[p] - 0x30, p + 1
        if end - p < 14:
            return None
    if text[p] != ord(" "):
        return None
    hour = _two(text, p + 1)
    if hour is None or text[p + 3] != ord(":"):
        return None
    minute = _two(text, p + 4)
    if minute is None or text[p + 6] != ord(":"):
        return None
    second = _two(text, p + 7)
    if second is None:
        return None
    if isoc:
        if text[p + 9] != ord(" "):
            return None
        found = _four(text, p + 10)
        if found is None:
            return None
        year = found
    return _seconds((year, month, day), hour * 3600 + minute * 60 + second, (hour, minute, second))


def _seconds(date: tuple[int, int, int], of_day: int, clock: tuple[int, int, int]) -> int | None:
    """Gauss' formula for the days since the epoch, once the date and time are checked."""
    year, month, day = date
    hour, minute, second = clock
    if hour > 23 or minute > 59 or second > 59:
        return None
    if day == 29 and month == 1:
        if (year & 3) or (year % 100 == 0 and year % 400 != 0):
            return None
    elif day > _MONTH_DAYS[month]:
        return None
    month -= 1  # Gauss' formula counts from March
    if month <= 0:
        month += 12
        year -= 1
    days = 365 * year + year // 4 - year // 100 + year // 400 + 367 * month // 12 - 30 + day - 1
    return (days - 719527 + 31 + 28) * 86400 + of_day
