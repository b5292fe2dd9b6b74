"""The wall-clock texts nginx writes (ngx_times.c), rebuilt at most once a second."""

from __future__ import annotations

import time
from functools import lru_cache
from time import time as _now  # a module's attribute is looked up at each call
from typing import Final

_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


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


_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


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
        now = _now()
        second = int(now)
        if second != self._second:
            self._second = second
            self.date = http_date(second).encode()
            self.server_date = self._server + b"Date: " + self.date + b"\r\n"
        return now
