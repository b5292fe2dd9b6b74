"""Taking a burst of new connections without the kernel losing any: every pending connection is taken
off a listening socket's queue at each loop iteration, and new connections start a round at a time.

A listening socket's queue holds nginx's backlog (511) of connections the kernel has accepted for it;
when it is full, the kernel drops the next connection attempts (the clients try again a second later).
uvloop takes one connection off the queue per loop iteration (libuv accepts a single connection per
wake-up since its 1.45), which cannot keep up with a burst: a client opening connections at 50,000 a
second filled the queue and lost hundreds. So when two iterations in a row brought a connection from a
socket, `Drain` takes what is left in its queue too, as nginx's `multi_accept on` does, and hands those
to uvloop as accepted sockets.

Then at most `per_round` new connections start per iteration; the others are held, accepted but not set
up (what they send is kept, not read as requests yet), and start in the next iterations, `per_round`
at a time. An iteration then lasts no more than that many requests' work and a few microseconds per
held connection, the listening sockets are drained between two, and the queue does not fill: the burst
waits in hapair's memory, not in the kernel's queue. Without a burst nothing waits and nothing more is
done.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import ssl
from collections import deque
from collections.abc import Callable
from typing import Protocol

# accept() errors of the connection being accepted, not of the socket: the next one is taken
_CONNECTION_GONE = frozenset(
    {errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.ENETDOWN, errno.EHOSTUNREACH}
)


class Waiting(Protocol):
    """A connection held until its turn (it keeps what it receives meanwhile)."""

    def release(self) -> None: ...

    def close(self) -> None: ...


class Drain:
    """What is left in one listening socket's queue, taken off it at once; each connection is handed to
    uvloop as an accepted socket in its round (`start`), for the protocols `factory` makes, through
    TLS `context` if any."""

    __slots__ = ("_context", "_factory", "_kind", "_loop", "_sock", "closed")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        factory: Callable[[], asyncio.Protocol],
        context: ssl.SSLContext | None,
    ) -> None:
        self._loop = loop
        self._sock = sock
        self._factory = factory
        self._context = context
        self._kind = (int(sock.family), int(sock.type), sock.proto)  # the enums cost microseconds a read
        self.closed = False

    def take(self, into: deque[tuple[Drain, int]]) -> None:
        """Accept every connection in the queue (only that, as quickly as can be: its descriptor; it
        starts in its round)."""
        accept = self._sock._accept  # socket.accept() without the socket object it makes of the descriptor
        while not self.closed:
            try:
                client, _ = accept()
            except OSError as error:
                if error.errno in _CONNECTION_GONE:
                    continue
                return  # the queue is empty (or out of descriptors: uvloop's accept deals with that)
            into.append((self, client))

    def start(self, descriptor: int) -> None:
        client = socket.socket(*self._kind, fileno=descriptor)
        self._loop.create_task(self._start(client))

    async def _start(self, client: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._factory, client, ssl=self._context)
        except (TimeoutError, OSError, ValueError):  # ssl.SSLError is an OSError
            client.close()  # a TLS handshake that failed, a client gone: nothing to answer


class Admission:
    """The new connections of one worker's listeners."""

    __slots__ = (
        "_accepted",
        "_admitted",
        "_drains",
        "_loop",
        "_per_round",
        "_previous",
        "_scheduled",
        "_waiting",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, per_round: int) -> None:
        self._loop = loop
        self._per_round = per_round
        self._admitted = 0  # connections started in this round
        self._scheduled = False
        self._waiting: deque[Waiting] = deque()  # connections held
        self._accepted: deque[tuple[Drain, int]] = deque()  # connections taken off queues
        self._drains: set[Drain] = set()  # the sockets that gave a connection in this round
        self._previous: set[Drain] = set()  # and in the round before

    def came_from(self, drain: Drain) -> None:
        """A connection was taken off `drain`'s socket in this iteration: when one came in the one
        before too (connections come faster than one an iteration), what else is in its queue is taken
        in the next."""
        self._drains.add(drain)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._next_round)

    def enter(self, connection: Waiting) -> bool:
        """A new connection: True if it starts now, False if it waits (released in a later round)."""
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._next_round)
        if self._admitted < self._per_round and not self._waiting:
            self._admitted += 1
            return True
        self._waiting.append(connection)
        return False

    def leave(self, connection: Waiting) -> None:
        """A waiting connection closed."""
        with contextlib.suppress(ValueError):
            self._waiting.remove(connection)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def release_all(self) -> None:
        """Every waiting connection starts now (the service stops: what they sent is answered first)."""
        while self._waiting:
            self._waiting.popleft().release()
        while self._accepted:
            drain, client = self._accepted.popleft()
            drain.start(client)

    def close(self) -> None:
        """The service closes: the waiting connections are closed."""
        while self._waiting:
            self._waiting.popleft().close()
        while self._accepted:
            os.close(self._accepted.popleft()[1])

    def _next_round(self) -> None:
        """Once per loop iteration while connections come: the queues of the sockets that gave one are
        taken, and the next round's connections start."""
        drains, self._drains = self._drains, set()
        accepted = self._accepted
        for drain in drains & self._previous:
            drain.take(accepted)
        self._previous = drains
        self._admitted = 0
        waiting = self._waiting
        while waiting and self._admitted < self._per_round:
            self._admitted += 1
            waiting.popleft().release()
        while accepted and self._admitted < self._per_round:
            self._admitted += 1
            drain, client = accepted.popleft()
            drain.start(client)
        if waiting or accepted or drains:
            self._loop.call_soon(self._next_round)
        else:
            self._scheduled = False
