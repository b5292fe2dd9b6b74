"""PreciseTimer: fires once at its time, re-arming moves it, disarming stops it."""

from __future__ import annotations

import asyncio

from hapair.vrrp.timer import PreciseTimer


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


def test_the_timer_fires_once_not_before_its_time():
    async def scenario() -> tuple[int, list[int]]:
        at = now_us(asyncio.get_running_loop()) + 20_000
        return at, await fired_at([at], 0.1)

    at, fired = asyncio.run(scenario())
    assert len(fired) == 1
    assert fired[0] >= at


def test_re_arming_moves_the_timer_and_disarming_stops_it():
    async def scenario() -> tuple[int, list[int], list[int]]:
        now = now_us(asyncio.get_running_loop())
        moved = await fired_at([now + 10_000, now + 40_000], 0.1)
        stopped = await fired_at([now + 10_000, None], 0.05)
        return now, moved, stopped

    now, moved, stopped = asyncio.run(scenario())
    assert len(moved) == 1 and moved[0] >= now + 40_000
    assert stopped == []


def test_a_time_already_past_fires_at_once():
    async def scenario() -> list[int]:
        return await fired_at([now_us(asyncio.get_running_loop()) - 1_000], 0.02)

    assert len(asyncio.run(scenario())) == 1
