"""A daemon's control socket: an asyncio unix-socket server answering `status` with the document its
`status` callable makes, and streaming events to each `follow` client (a client too slow to read them
is dropped rather than let the daemon's memory grow).

The socket is made with mode 0600 (root-only for a root daemon), in a directory made 0755 if missing; a
stale socket left by a daemon that died is replaced."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .protocol import FOLLOW, MAX_REQUEST, RequestError, current_events, event_of, json_line, read_request

FOLLOW_QUEUE = 1000  # events waiting for a follower before it is dropped


class ControlServer:
    """Serves `path`; `status()` gives the status document."""

    def __init__(self, path: Path, status: Callable[[], dict[str, Any]]) -> None:
        self.path = path
        self._status = status
        self._server: asyncio.AbstractServer | None = None
        self._followers: set[asyncio.Queue[bytes | None]] = set()

    async def start(self) -> None:
        self.path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(self.path.lstat().st_mode):
                self.path.unlink()
        previous = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        finally:
            os.umask(previous)

    def notification(self, line: bytes) -> None:
        """A notification line (keepalived's form) for the followers."""
        event = event_of(line, time.time())
        if event is None:
            return
        data = json_line(event)
        for queue in list(self._followers):
            if queue.qsize() >= FOLLOW_QUEUE:
                self._followers.discard(queue)
                queue.put_nowait(None)
            else:
                queue.put_nowait(data)

    async def close(self) -> None:
        for queue in list(self._followers):
            queue.put_nowait(None)
        self._followers.clear()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            if len(line) > MAX_REQUEST:
                raise RequestError("request too long")
            command = read_request(line)
            if command == FOLLOW:
                await self._follow(reader, writer)
            else:
                writer.write(json_line(self._status()))
                await writer.drain()
        except RequestError as error:
            writer.write(json_line({"error": str(error)}))
        except (ConnectionError, ValueError):
            pass
        finally:
            with contextlib.suppress(ConnectionError):
                writer.close()

    async def _follow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Events until the client goes (its end of the socket reads EOF) or the daemon stops."""
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        for event in current_events(self._status(), time.time()):
            queue.put_nowait(json_line(event))
        self._followers.add(queue)
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
            self._followers.discard(queue)
