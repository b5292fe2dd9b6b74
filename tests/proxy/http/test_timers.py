"""Inactivity timeouts on a shared wheel: a timer fires no earlier than its timeout, touching pushes it
back, a shorter restart brings it forward, stopping or cancelling keeps it from firing, and many timers
cost the loop one timer handle."""

from __future__ import annotations

import asyncio

from hapair.proxy.http.timers import RESOLUTION, IdleTimer, _wheel

from .harness import run

ROUNDING = 1e-6  # what a difference of two readings of the loop's clock may be off by


async def _fired_after(start: float, timeout: float, *, touch_at: float | None = None) -> float:
    """How long after it started a timer of `timeout` fires (touched once, `touch_at` seconds in)."""
    loop = asyncio.get_running_loop()
    fired = loop.create_future()
    timer = IdleTimer(loop, lambda: fired.set_result(loop.time()))
    began = loop.time()
    timer.start(timeout)
    if touch_at is not None:
        await asyncio.sleep(touch_at)
        timer.touch()
    return await fired - began


def test_a_timer_fires_no_earlier_than_its_timeout() -> None:
    async def scenario() -> None:
        elapsed = await _fired_after(0.0, 0.05)
        assert elapsed >= 0.05 - ROUNDING

    run(scenario())


def test_touching_pushes_the_timeout_back() -> None:
    async def scenario() -> None:
        elapsed = await _fired_after(0.0, 0.05, touch_at=0.03)
        assert elapsed >= 0.08 - ROUNDING

    run(scenario())


def test_a_stopped_or_cancelled_timer_does_not_fire() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        fired: list[str] = []
        stopped = IdleTimer(loop, lambda: fired.append("stopped"))
        cancelled = IdleTimer(loop, lambda: fired.append("cancelled"))
        witness_done = loop.create_future()
        witness = IdleTimer(loop, lambda: witness_done.set_result(None))
        for timer in (stopped, cancelled):
            timer.start(0.02)
        witness.start(0.05)
        stopped.stop()
        cancelled.cancel()
        await witness_done
        assert fired == []

    run(scenario())


def test_a_restart_with_a_shorter_timeout_fires_sooner() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        fired = loop.create_future()
        timer = IdleTimer(loop, lambda: fired.set_result(loop.time()))
        timer.start(60.0)
        began = loop.time()
        timer.start(0.02)
        assert await fired - began < 60.0

    run(scenario())


class _Handle:
    def cancel(self) -> None:
        pass


class _Clock:
    """A loop whose clock the test sets; the wheel's loop timer is called by hand."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.handles = 0  # how many loop timers the wheel set

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: object) -> _Handle:
        self.handles += 1
        return _Handle()


def test_many_timers_share_one_loop_timer() -> None:
    """1,000 timers over one slot's span: the wheel sets one loop timer, for the earliest slot (the
    clock stands still, so the spread is exactly what the test gives)."""
    clock = _Clock(1000.0)
    timers = [IdleTimer(clock, lambda: None) for _ in range(1000)]  # type: ignore[arg-type]
    for index, timer in enumerate(timers):
        timer.start(60.0 + index * RESOLUTION / 1000)
    wheel = _wheel(clock)  # type: ignore[arg-type]
    assert clock.handles == 1
    assert len(wheel._slots) <= 2  # the timers of a slot share it


def test_a_timer_fires_when_the_clock_reads_its_slots_time_a_rounding_short() -> None:
    """The loop's clock reads a slot's time (a multiple of RESOLUTION) as a float a hair off it: the
    timers of that slot fire then, rather than the loop waking again and again until it reads more."""
    clock = _Clock(1.0)
    fired: list[bool] = []
    timer = IdleTimer(clock, lambda: fired.append(True))  # type: ignore[arg-type]
    timer.start(0.05)
    clock.now = 1.05 - 1e-9
    _wheel(clock)._tick()  # type: ignore[arg-type]
    assert fired == [True]
