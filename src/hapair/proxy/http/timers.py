"""Inactivity timeouts that cost a few dictionary operations, not a loop timer each.

An event loop's timer handle costs microseconds to make (uvloop's allocates a libuv timer), and every
client and upstream connection has two timeouts that start and stop with each request. So the timers of
a loop share one wheel (`_Wheel`): they sit in slots of `RESOLUTION` seconds, and one loop timer wakes
the loop for the earliest slot. A timer fires no earlier than its time and at most `RESOLUTION` later.
"""

from __future__ import annotations

import asyncio
import heapq
import weakref
from collections.abc import Callable
from typing import Final

RESOLUTION: Final = 0.01  # seconds
# what float arithmetic may be off by: times are milliseconds (the loop's clock) divided by 1000, and a
# slot's time, a multiple of RESOLUTION, is read within this of it
_ROUNDING: Final = 1e-6


class IdleTimer:
    """Calls `expired` once `timeout` seconds pass without `touch()`.

    Touching only stores the time; starting and stopping only change fields while the timer sits in the
    wheel no earlier than needed: when its slot comes it looks at the state and goes to the slot of what
    is left, or does nothing if the timer was stopped."""

    __slots__ = ("_armed", "_expired", "_last", "_slot", "_timeout", "_wheel", "running")

    def __init__(self, loop: asyncio.AbstractEventLoop, expired: Callable[[], object]) -> None:
        self._wheel = _wheel(loop)
        self._expired = expired
        self._slot = 0  # the wheel's slot it sits in; 0: none
        self._armed = 0.0  # when that slot comes
        self._last = 0.0
        self._timeout = 0.0
        self.running = False

    def start(self, timeout: float) -> None:
        """(Re)start counting `timeout` seconds from now."""
        now = self._wheel.time()
        self._timeout = timeout
        self._last = now
        self.running = True
        deadline = now + timeout
        if self._slot:
            if self._armed <= deadline:
                return
            self._wheel.remove(self, self._slot)
        self._slot, self._armed = self._wheel.add(self, deadline)

    def touch(self) -> None:
        self._last = self._wheel.time()

    def stop(self) -> None:
        self.running = False

    def cancel(self) -> None:
        """Stop and leave the wheel (when the owner goes away)."""
        self.running = False
        if self._slot:
            self._wheel.remove(self, self._slot)
            self._slot = 0

    def fire(self, current: int) -> None:
        """Its slot came: `current` is the wheel's slot now (the wheel calls it)."""
        self._slot = 0
        if not self.running:
            return
        deadline = self._last + self._timeout
        if _slot_of(deadline) > current:
            self._slot, self._armed = self._wheel.add(self, deadline)
            return
        self.running = False
        self._expired()


def _slot_of(deadline: float) -> int:
    """The first slot at or after `deadline` (a slot is a time divided by RESOLUTION)."""
    return -int((_ROUNDING - deadline) // RESOLUTION)


def _current_slot(now: float) -> int:
    """The last slot at or before `now`."""
    return int((now + _ROUNDING) // RESOLUTION)


class _Wheel:
    """The timers of one event loop, by slot."""

    __slots__ = ("__weakref__", "_handle", "_next", "_order", "_slots", "loop", "time")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.time = loop.time  # bound once: the timers read the clock at each start and touch
        self._slots: dict[int, set[IdleTimer]] = {}
        self._order: list[int] = []  # the slots, a heap
        self._handle: asyncio.TimerHandle | None = None
        self._next = 0  # the slot the loop timer is set for; 0: none

    def add(self, timer: IdleTimer, deadline: float) -> tuple[int, float]:
        """Put `timer` in the first slot at or after `deadline`: that slot and its time."""
        slot = _slot_of(deadline)
        timers = self._slots.get(slot)
        if timers is None:
            timers = self._slots[slot] = set()
            heapq.heappush(self._order, slot)
            if not self._next or slot < self._next:
                self._wake_for(slot)
        timers.add(timer)
        return slot, slot * RESOLUTION

    def remove(self, timer: IdleTimer, slot: int) -> None:
        timers = self._slots.get(slot)
        if timers is not None:
            timers.discard(timer)

    def _wake_for(self, slot: int) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._next = slot
        self._handle = self.loop.call_at(slot * RESOLUTION, self._tick)

    def _tick(self) -> None:
        self._handle = None
        self._next = 0
        current = _current_slot(self.loop.time())
        order = self._order
        while order and order[0] <= current:
            for timer in self._slots.pop(heapq.heappop(order), ()):
                timer.fire(current)
        while order and not self._slots.get(order[0]):
            self._slots.pop(heapq.heappop(order), None)  # slots every timer left
        if order:
            self._wake_for(order[0])


_WHEELS: Final[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Wheel]] = weakref.WeakKeyDictionary()


def _wheel(loop: asyncio.AbstractEventLoop) -> _Wheel:
    wheel = _WHEELS.get(loop)
    if wheel is None:
        wheel = _WHEELS[loop] = _Wheel(loop)
    return wheel
