"""The wall-clock texts nginx writes (ngx_times.c), rebuilt at most once a second."""

from __future__ import annotations

import time
from functools import lru_cache

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(seconds: int) -> str:
    """`Thu, 26 Nov 2026 06:10:25 GMT`."""
    t = time.gmtime(seconds)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


def _offset(t: time.struct_time) -> tuple[str, int, int]:
    offset = t.tm_gmtoff // 60
    sign = "-" if offset < 0 else "+"
    return sign, abs(offset) // 60, abs(offset) % 60


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def ssi_date(seconds: int, *, gmt: bool) -> str:
    """`$date_gmt` and `$date_local`: the SSI module's default `timefmt`, `%A, %d-%b-%Y %H:%M:%S %Z`, in
    the C locale nginx runs in (GMT's zone written `GMT`, as glibc's gmtime gives it)."""
    t = time.gmtime(seconds) if gmt else time.localtime(seconds)
    zone = "GMT" if gmt else t.tm_zone
    return (
        f"{_WEEKDAYS[t.tm_wday]}, {t.tm_mday:02d}-{_MONTHS[t.tm_mon - 1]}-{t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {zone}"
    )


@lru_cache(maxsize=4)
def time_local(seconds: int) -> str:
    """`26/Nov/2026:06:10:25 +0000` ($time_local)."""
    t = time.localtime(seconds)
    sign, hours, minutes = _offset(t)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} "
        f"{sign}{hours:02d}{minutes:02d}"
    )


@lru_cache(maxsize=4)
def time_iso8601(seconds: int) -> str:
    """`2026-11-26T06:10:25+00:00` ($time_iso8601)."""
    t = time.localtime(seconds)
    sign, hours, minutes = _offset(t)
    return (
        f"{t.tm_year}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
        f"{sign}{hours:02d}:{minutes:02d}"
    )


class Clock:
    """`server_date` is the `Server` and `Date` header lines of a response at the current second, `date`
    the Date header's value."""

    __slots__ = ("_second", "_server", "date", "server_date")

    def __init__(self, server: bytes) -> None:
        self._server = b"Server: " + server + b"\r\n"
        self._second = -1
        self.server_date = self.date = b""
        self.now()

    def now(self) -> float:
        """The time, after bringing the texts up to date."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self.date = http_date(second).encode()
            self.server_date = self._server + b"Date: " + self.date + b"\r\n"
        return now


_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def parse_http_time(value: bytes) -> int | None:
    """The time of an HTTP date, as ngx_parse_http_time reads it (RFC 1123 `Tue, 10 Nov 2002 23:50:13`,
    RFC 850 `Tuesday, 10-Nov-02 23:50:13`, asctime `Tue Nov 10 23:50:13 2002`; what follows the time is
    not looked at); None where nginx finds it invalid."""
    try:
        return _parse_http_time(value)
    except (IndexError, ValueError):
        return None


def _two(value: bytes, at: int) -> int:
    digits = value[at : at + 2]
    if len(digits) != 2 or not digits.isdigit():
        raise ValueError
    return int(digits)


def _month(value: bytes, at: int) -> int:
    first = value[at : at + 1]
    if first == b"J":
        return 0 if value[at + 1 : at + 2] == b"a" else 5 if value[at + 2 : at + 3] == b"n" else 6
    if first == b"M":
        return 2 if value[at + 2 : at + 3] == b"r" else 4
    if first == b"A":
        return 3 if value[at + 1 : at + 2] == b"p" else 7
    found = {b"F": 1, b"S": 8, b"O": 9, b"N": 10, b"D": 11}.get(first)
    if found is None:
        raise ValueError
    return found


def _parse_http_time(value: bytes) -> int | None:
    end = len(value)
    comma, space = value.find(b","), value.find(b" ")
    isoc = space >= 0 and (comma < 0 or space < comma)
    p = (space if isoc else comma if comma >= 0 else end) + 1
    while p < end and value[p] == 0x20:
        p += 1
    if end - p < 18:
        return None
    day = year = 0
    rfc822 = False
    if not isoc:
        day = _two(value, p)
        p += 2
        separator = value[p]
        if separator == 0x20:
            if end - p < 18:
                return None
            rfc822 = True
        elif separator != 0x2D:
            return None
        p += 1
    month = _month(value, p)
    p += 3
    if not isoc and value[p] != (0x20 if rfc822 else 0x2D):
        return None
    p += 1
    if not isoc:
        if rfc822:
            year = _two(value, p) * 100 + _two(value, p + 2)
            p += 4
        else:
            year = _two(value, p)
            year += 2000 if year < 70 else 1900
            p += 2
    else:
        if value[p] == 0x20:
            p += 1
        if not 0x30 <= value[p] <= 0x39:
            return None
        day = value[p] - 0x30
        p += 1
        if value[p] != 0x20:
            if not 0x30 <= value[p] <= 0x39:
                return None
            day = day * 10 + value[p] - 0x30
            p += 1
        if end - p < 14:
            return None
    if value[p] != 0x20:
        return None
    hour = _two(value, p + 1)
    if value[p + 3] != 0x3A:
        return None
    minute = _two(value, p + 4)
    if value[p + 6] != 0x3A:
        return None
    second = _two(value, p + 7)
    if isoc:
        if value[p + 9] != 0x20:
            return None
        year = _two(value, p + 10) * 100 + _two(value, p + 12)
    if hour > 23 or minute > 59 or second > 59:
        return None
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if day > _MONTH_DAYS[month] or (month == 1 and day == 29 and not leap):
        return None
    return days_since_epoch(year, month + 1, day) * 86400 + hour * 3600 + minute * 60 + second


def days_since_epoch(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a date of the proleptic Gregorian calendar (`month` 1 to 12), as
    calendar.timegm counts them: calendar imports datetime, 0.3 MB in every worker (issue 15's budget)
    for this sum. Years start in March here, so that February's length only matters at a year's end."""
    year -= month <= 2
    era, year_of_era = divmod(year, 400)
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468
