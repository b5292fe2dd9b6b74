"""PreciseTimer: fires once at its time, re-arming moves it, disarming stops it; a wait for it blocks
until it fires or something else is readable; on asyncio's own loop and on run_precisely's, whose
selector waits with the loop's timeout to the microsecond."""

from __future__ import annotations

import asyncio
import os
import select
import selectors
import signal
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any

import pytest

from hapair.vrrp.timer import SELECTOR_WAITS, MicrosecondSelector, PreciseTimer, run_precisely

Runner = Callable[[Coroutine[Any, Any, Any]], Any]


@pytest.fixture(params=[asyncio.run, run_precisely], ids=["asyncio", "precise"])
def run(request: pytest.FixtureRequest) -> Runner:
    return request.param  # type: ignore[no-any-return]


def now_us(loop: asyncio.AbstractEventLoop) -> int:
    return int(loop.time() * 1_000_000)


async def fired_at(arming: list[int | None], wait_s: float) -> list[int]:
    loop = asyncio.get_running_loop()
    fired: list[int] = []
    timer = PreciseTimer(loop, lambda: fired.append(now_us(loop)))
    try:
        for at in arming:
            timer.arm(at)
        await asyncio.sleep(wait_s)
    finally:
        timer.close()
    return fired


def test_the_timer_fires_once_not_before_its_time(run: Runner) -> None:
    async def scenario() -> tuple[int, list[int]]:
        at = now_us(asyncio.get_running_loop()) + 20_000
        return at, await fired_at([at], 0.1)

    at, fired = run(scenario())
    assert len(fired) == 1
    assert fired[0] >= at


def test_re_arming_moves_the_timer_and_disarming_stops_it(run: Runner) -> None:
    async def scenario() -> tuple[int, list[int], list[int]]:
        now = now_us(asyncio.get_running_loop())
        moved = await fired_at([now + 10_000, now + 40_000], 0.1)
        stopped = await fired_at([now + 10_000, None], 0.05)
        return now, moved, stopped

    now, moved, stopped = run(scenario())
    assert len(moved) == 1 and moved[0] >= now + 40_000
    assert stopped == []


def test_a_time_already_past_fires_at_once(run: Runner) -> None:
    async def scenario() -> list[int]:
        return await fired_at([now_us(asyncio.get_running_loop()) - 1_000], 0.02)

    assert len(run(scenario())) == 1


def test_awaiting_expiry_blocks_until_the_time_then_calls_back_at_once(run: Runner) -> None:
    async def scenario() -> tuple[int, list[int]]:
        loop = asyncio.get_running_loop()
        fired: list[int] = []
        timer = PreciseTimer(loop, lambda: fired.append(now_us(loop)))
        try:
            at = now_us(loop) + 5_000
            timer.arm(at)
            timer.await_expiry([], 1.0)
            return at, list(fired)
        finally:
            timer.close()

    at, fired = run(scenario())
    assert len(fired) == 1 and fired[0] >= at


def test_awaiting_expiry_gives_way_to_a_readable_descriptor_and_the_timer_still_fires_later(
    run: Runner,
) -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        loop = asyncio.get_running_loop()
        fired: list[int] = []
        timer = PreciseTimer(loop, lambda: fired.append(now_us(loop)))
        reader, writer = os.pipe()
        try:
            os.write(writer, b"x")
            timer.arm(now_us(loop) + 50_000)
            timer.await_expiry([reader], 1.0)
            during = list(fired)
            await asyncio.sleep(0.1)
            return during, fired
        finally:
            timer.close()
            os.close(reader)
            os.close(writer)

    during, fired = run(scenario())
    assert during == []  # it returned before the timer's time, without calling back
    assert len(fired) == 1


def test_the_selector_waits_with_the_timeout_to_the_microsecond(monkeypatch: pytest.MonkeyPatch) -> None:
    """epoll's own wait rounds a timeout up to the millisecond: the selector waits in select() for the
    epoll descriptor with the timeout as given, then collects the events without waiting."""
    waits: list[float | None] = []
    real_select = select.select

    def recorded(
        readers: list[int], writers: list[int], errors: list[int], timeout: float | None = None
    ) -> Any:
        waits.append(timeout)
        return real_select(readers, writers, errors, timeout)

    reader, writer = os.pipe()
    with MicrosecondSelector() as selector:
        selector.register(reader, selectors.EVENT_READ)
        monkeypatch.setattr(select, "select", recorded)
        assert selector.select(0.000_250) == []
        os.write(writer, b"x")
        ready = selector.select(5.0)
        selector.unregister(reader)
    os.close(reader)
    os.close(writer)
    assert waits == [0.000_250, 5.0]
    assert [(key.fd, events) for key, events in ready] == [(reader, selectors.EVENT_READ)]


def test_the_loop_waits_in_the_frames_the_stop_signal_looks_for() -> None:
    """The VRRP daemon stops at once when SIGTERM interrupts its loop's wait (vrrp/daemon.py): the frame
    the signal handler gets is one of SELECTOR_WAITS, whether a timer is pending or not. (The signal comes
    from an interval timer, 50 ms on: by then the loop, with nothing else to do, waits.)"""
    codes: list[object] = []

    async def interrupted(armed: bool) -> None:
        loop = asyncio.get_running_loop()
        delivered = loop.create_future()

        def handler(_signum: int, frame: FrameType | None) -> None:
            codes.append(frame and frame.f_code)
            loop.call_soon_threadsafe(delivered.set_result, None)

        signal.signal(signal.SIGALRM, handler)
        timer = PreciseTimer(loop, lambda: None)
        timer.arm(int(loop.time() * 1_000_000) + 60_000_000 if armed else None)
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        await delivered
        timer.close()

    previous = signal.getsignal(signal.SIGALRM)
    try:
        for armed in (True, False):
            run_precisely(interrupted(armed))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert len(codes) == 2
    assert all(code in SELECTOR_WAITS for code in codes)
