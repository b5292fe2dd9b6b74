"""PreciseTimer: fires once at its time, re-arming moves it, disarming stops it; a wait for it blocks
until it fires or something else is readable."""

from __future__ import annotations

import asyncio
import os

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


def test_awaiting_expiry_blocks_until_the_time_then_calls_back_at_once():
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

    at, fired = asyncio.run(scenario())
    assert len(fired) == 1 and fired[0] >= at


def test_awaiting_expiry_gives_way_to_a_readable_descriptor_and_the_timer_still_fires_later():
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

    during, fired = asyncio.run(scenario())
    assert during == []  # it returned before the timer's time, without calling back
    assert len(fired) == 1
