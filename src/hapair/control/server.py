"""A daemon's control socket: an asyncio unix-socket server answering `status` with the document its
`status` callable makes, and streaming events to each `follow` client (control/followers.py).

The socket is made with mode 0600 (root-only for a root daemon), in a directory made 0755 if missing; a
stale socket left by a daemon that died is replaced. Its path is a string, handled with `os` (pathlib and
the urllib it imports are 0.3 MB of each daemon's memory: issue 15)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import time
from collections.abc import Callable
from typing import Any

from .followers import Followers
from .protocol import FOLLOW, MAX_REQUEST, RequestError, current_events, event_of, json_line, read_request


class ControlServer:
    """Serves `path`; `status()` gives the status document."""

    def __init__(self, path: str | os.PathLike[str], status: Callable[[], dict[str, Any]]) -> None:
        self.path = os.fspath(path)
        self._status = status
        self._server: asyncio.AbstractServer | None = None
        self._followers = Followers()

    async def start(self) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", mode=0o755, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(os.lstat(self.path).st_mode):
                os.unlink(self.path)
        previous = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=self.path)
        finally:
            os.umask(previous)

    def listening_fds(self) -> list[int]:
        """The descriptors of the listening socket (a forked child closes its copies)."""
        return [sock.fileno() for sock in self._server.sockets] if self._server is not None else []

    def notification(self, line: bytes) -> None:
        """A notification line (keepalived's form) for the followers."""
        event = event_of(line, time.time())
        if event is not None:
            self._followers.publish(event)

    async def close(self) -> None:
        await self._followers.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            if len(line) > MAX_REQUEST:
                raise RequestError("request too long")
            command = read_request(line)
            if command == FOLLOW:
                await self._followers.serve(reader, writer, current_events(self._status(), time.time()))
            else:
                writer.write(json_line(self._status()))
                await writer.drain()
        except RequestError as error:
            writer.write(json_line({"error": str(error)}))
        except (ConnectionError, ValueError):
            pass
        except Exception as error:  # a daemon-side fault answers as an error, never ends the server
            writer.write(json_line({"error": f"the daemon could not answer: {error!r}"}))
        finally:
            with contextlib.suppress(ConnectionError):
                writer.close()
