"""The health channel, both sides in one event loop: a worker that answers, one that does not, one that
leaves."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket

from hapair.node.channel import Channel, join


def test_workers_join_answer_and_leave() -> None:
    async def scenario() -> None:
        counts: list[int] = []
        changed = asyncio.Event()

        def on_count(count: int) -> None:
            counts.append(count)
            changed.set()

        channel = Channel(f"hapair-test-{secrets.token_hex(4)}", on_count)
        worker = join(channel.name)
        await asyncio.wait_for(changed.wait(), 5)
        assert counts == [1]
        assert channel.ping() == []  # joined during the first round: not judged yet
        await asyncio.sleep(0.05)
        assert channel.ping() == []  # answered
        worker.cancel()  # closes its socket, as a worker that dies
        changed.clear()
        await asyncio.wait_for(changed.wait(), 5)
        assert counts == [1, 0]
        channel.close()

    asyncio.run(scenario())


def test_a_worker_that_does_not_answer_is_late() -> None:
    async def scenario() -> None:
        channel = Channel(f"hapair-test-{secrets.token_hex(4)}", lambda count: None)
        silent = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        silent.connect("\0" + channel.name)
        await asyncio.sleep(0.05)
        assert channel.ping() == []
        await asyncio.sleep(0.05)
        assert channel.ping() == [os.getpid()]
        silent.close()
        channel.close()

    asyncio.run(scenario())
