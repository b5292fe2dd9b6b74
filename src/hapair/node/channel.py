"""The health exchange between `hapair node` and each proxy worker, over an abstract unix socket (no file,
no permission: the workers run as nobody; scoped to the network namespace). The node names the socket in
the proxy master's environment (CHANNEL_VARIABLE); each worker, once it listens, connects and answers
every ping from its event loop, so that an answer proves the loop turns. A connection that closes is a
worker gone; a ping unanswered by the next one is a worker that does not serve (stopped, blocked...).

Messages are SOCK_SEQPACKET records: the node sends a round number, the worker sends it back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

CHANNEL_VARIABLE = "HAPAIR_NODE_CHANNEL"
_ROUND = struct.Struct("!Q")
_PEERCRED = struct.Struct("3i")


def channel_name() -> str | None:
    """The channel this worker joins (read before the worker's environment is narrowed), or None."""
    return os.environ.get(CHANNEL_VARIABLE)


def join(name: str) -> asyncio.Task[None]:
    """The worker's side: a task answering the node's pings until either side closes."""
    return asyncio.get_running_loop().create_task(_answer(name))


async def _answer(name: str) -> None:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    sock.setblocking(False)
    with sock, contextlib.suppress(OSError):  # the node gone: the worker serves on without it
        await loop.sock_connect(sock, "\0" + name)
        while message := await loop.sock_recv(sock, _ROUND.size):
            await loop.sock_sendall(sock, message)


@dataclass
class WorkerLink:
    """One connected worker: its pid and the last round it answered."""

    sock: socket.socket
    pid: int
    joined: int  # the round under way when it connected
    answered: int


class Channel:
    """The node's side: accepts the workers' connections, pings them each round, and says how many are
    connected (`on_count`) whenever that changes."""

    def __init__(self, name: str, on_count: Callable[[int], None]) -> None:
        self.name = name
        self._on_count = on_count
        self._loop = asyncio.get_running_loop()
        self._round = 0
        self.workers: dict[int, WorkerLink] = {}  # by file descriptor
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        self._listener.setblocking(False)
        self._listener.bind("\0" + name)
        self._listener.listen(128)
        self._loop.add_reader(self._listener.fileno(), self._accept)

    def close(self) -> None:
        self._loop.remove_reader(self._listener.fileno())
        self._listener.close()
        for link in list(self.workers.values()):
            self._drop(link, report=False)

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            sock.setblocking(False)
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
            pid = _PEERCRED.unpack(creds)[0]
            link = WorkerLink(sock, pid, joined=self._round, answered=self._round)
            self.workers[sock.fileno()] = link
            self._loop.add_reader(sock.fileno(), self._read, link)
            self._on_count(len(self.workers))

    def _read(self, link: WorkerLink) -> None:
        try:
            data = link.sock.recv(_ROUND.size)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if len(data) != _ROUND.size:
            self._drop(link, report=True)
            return
        link.answered = max(link.answered, _ROUND.unpack(data)[0])

    def _drop(self, link: WorkerLink, *, report: bool) -> None:
        fd = link.sock.fileno()
        self._loop.remove_reader(fd)
        link.sock.close()
        del self.workers[fd]
        if report:
            self._on_count(len(self.workers))

    def ping(self) -> list[int]:
        """End the round under way and start the next: the pids of the workers that did not answer the
        round's ping (a worker that joined during it is not judged yet)."""
        late = [w.pid for w in self.workers.values() if w.joined < self._round and w.answered < self._round]
        self._round += 1
        message = _ROUND.pack(self._round)
        for link in list(self.workers.values()):
            try:
                link.sock.send(message)
            except (BlockingIOError, InterruptedError):
                pass  # its queue is full: a worker that has not read for a while, late anyway
            except OSError:
                self._drop(link, report=True)
        return late
