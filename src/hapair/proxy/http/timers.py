"""Inactivity timeouts that cost one timer handle per period, not one per read or per restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class IdleTimer:
    """Calls `expired` once `timeout` seconds pass without `touch()`.

    Touching only stores the time; starting and stopping only change fields while the armed handle
    fires no earlier than needed: when it fires it looks at the state and re-arms for what is left,
    or does nothing if the timer was stopped."""

    __slots__ = ("_armed", "_expired", "_handle", "_last", "_loop", "_timeout", "running")

    def __init__(self, loop: asyncio.AbstractEventLoop, expired: Callable[[], object]) -> None:
        self._loop = loop
        self._expired = expired
        self._handle: asyncio.TimerHandle | None = None
        self._armed = 0.0  # when the handle fires
        self._last = 0.0
        self._timeout = 0.0
        self.running = False

    def start(self, timeout: float) -> None:
        """(Re)start counting `timeout` seconds from now."""
        now = self._loop.time()
        self._timeout = timeout
        self._last = now
        self.running = True
        deadline = now + timeout
        if self._handle is not None:
            if self._armed <= deadline:
                return
            self._handle.cancel()
        self._arm(deadline)

    def touch(self) -> None:
        self._last = self._loop.time()

    def stop(self) -> None:
        self.running = False

    def cancel(self) -> None:
        """Stop and drop the handle (when the owner goes away)."""
        self.running = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _arm(self, deadline: float) -> None:
        self._armed = deadline
        self._handle = self._loop.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._handle = None
        if not self.running:
            return
        deadline = self._last + self._timeout
        if deadline > self._loop.time():
            self._arm(deadline)
            return
        self.running = False
        self._expired()
