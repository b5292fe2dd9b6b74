"""The clients that follow a daemon's events on its control socket (`hapair status --follow`): each gets
the daemon's state now, then every event in order until it goes or the daemon stops; a client too slow
to read them is dropped rather than let the daemon's memory grow."""

from __future__ import annotations

import asyncio
from typing import Any

from .protocol import json_line

FOLLOW_QUEUE = 1000  # events waiting for a follower before it is dropped
FLUSH_S = 1.0  # how long a stopping daemon gives its followers to receive their last events


class Followers:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[bytes | None]] = set()
        self._serving: set[asyncio.Task[None]] = set()

    def publish(self, event: dict[str, Any]) -> None:
        if not self._queues:  # (no JSON made, nor json imported, for nobody: protocol.py)
            return
        data = json_line(event)
        for queue in list(self._queues):
            if queue.qsize() >= FOLLOW_QUEUE:
                self._queues.discard(queue)
                queue.put_nowait(None)
            else:
                queue.put_nowait(data)

    async def close(self) -> None:
        """End every follower's stream once it has the events published so far (the daemon stops)."""
        for queue in list(self._queues):
            queue.put_nowait(None)
        self._queues.clear()
        if self._serving:
            await asyncio.wait(self._serving, timeout=FLUSH_S)

    async def serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, first: list[dict[str, Any]]
    ) -> None:
        """`first` (the state now), then the events, until the client goes (its end reads EOF) or the
        stream ends."""
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        for event in first:
            queue.put_nowait(json_line(event))
        self._queues.add(queue)
        task = asyncio.current_task()
        assert task is not None
        self._serving.add(task)
        gone = asyncio.ensure_future(reader.read())
        try:
            while True:
                next_event = asyncio.ensure_future(queue.get())
                await asyncio.wait({next_event, gone}, return_when=asyncio.FIRST_COMPLETED)
                if not next_event.done():
                    next_event.cancel()
                    return
                data = next_event.result()
                if data is None:
                    return
                writer.write(data)
                await writer.drain()
        finally:
            gone.cancel()
            self._queues.discard(queue)
            self._serving.discard(task)
