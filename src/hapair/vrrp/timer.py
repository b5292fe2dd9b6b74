"""A one-shot timer on Linux's timerfd, read by the event loop. asyncio's own timers wake up to a
millisecond late (epoll's timeout is in whole milliseconds, rounded up); a timerfd wakes the loop when it
expires, to the microsecond, which is what keepalived's timers do and what a take-over is timed by."""

from __future__ import annotations

import asyncio
import ctypes
import os
import select
from collections.abc import Callable

CLOCK_MONOTONIC = 1  # the clock of asyncio's loop.time() and of time.monotonic()
TFD_NONBLOCK = os.O_NONBLOCK
TFD_CLOEXEC = os.O_CLOEXEC
TFD_TIMER_ABSTIME = 1
NANOSECONDS = 1_000_000_000

_libc = ctypes.CDLL(None, use_errno=True)


class _Timespec(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))


class _Itimerspec(ctypes.Structure):
    _fields_ = (("it_interval", _Timespec), ("it_value", _Timespec))


class PreciseTimer:
    """Calls `callback` once when the time given to `arm` (microseconds on the monotonic clock) comes."""

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
        fd = _libc.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)
        if fd < 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error))
        self._fd = fd
        self._loop = loop
        self._callback = callback
        loop.add_reader(fd, self._expired)

    def arm(self, at_us: int | None) -> None:
        """Fire at `at_us`, instead of any earlier setting; None disarms it."""
        nanoseconds = 0 if at_us is None else max(1, at_us * 1000)  # 0 would disarm
        value = _Timespec(nanoseconds // NANOSECONDS, nanoseconds % NANOSECONDS)
        setting = _Itimerspec(_Timespec(0, 0), value)
        if _libc.timerfd_settime(self._fd, TFD_TIMER_ABSTIME, ctypes.byref(setting), None) < 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error))

    def await_expiry(self, interruptions: list[int], limit_s: float) -> None:
        """Block until the timer expires (and call back at once), one of the `interruptions` descriptors is
        readable, or `limit_s` seconds have passed; the event loop waits meanwhile."""
        readable, _, _ = select.select([self._fd, *interruptions], [], [], max(0.0, limit_s))
        if self._fd in readable:
            self._expired()

    def _expired(self) -> None:
        try:
            os.read(self._fd, 8)
        except BlockingIOError:  # re-armed after it had expired: not due any more
            return
        self._callback()

    def close(self) -> None:
        self._loop.remove_reader(self._fd)
        os.close(self._fd)
