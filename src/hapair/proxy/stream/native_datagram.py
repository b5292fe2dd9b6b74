"""UDP sessions' socket work in C (_native_datagram.c), on the event loop's thread: once the phases have run
and the balancer has picked the peer, the extension makes the session's socket, connects it and sends the
query; when its epoll set is readable (the loop watches it as one descriptor) it reads the answers, sends
them to the client, and ends the sessions after `proxy_responses` answers, on `proxy_timeout` or when
sending to the client fails, and Python hears of each session when it ends. A later datagram of the client
goes to the extension (`send`). docs/request-cost.md, "UDP: sessions in the relay's thread".

As native.py's relay: made at the worker's first session that can use it, and used only when the extension
was built from the .c beside it (not with HAPAIR_PURE_PYTHON=1, nor from a wheel); without it, datagram.py's
sessions do the socket work themselves.
"""

from __future__ import annotations

import asyncio
import importlib
from types import ModuleType
from typing import Any, Protocol

from hapair.compiled import native_is_current

MODULE = "hapair.proxy.stream._native_datagram"

# what poll() and remove() give for a session: (handle, status, failed, responses, to_peer, up_received,
# sent, first_byte_s, ended_s, sendmsg_errno, refused_errno, refused_to_peer, refused_up_received,
# refused_sent); status 0: removed while going on
Ended = tuple[int, int, int, int, int, int, int, float, float, int, int, int, int, int]
# what add() takes: (the listening socket's fd, the peer's family, its address, the client's address, the
# IP_PKTINFO data answers are sent with (b"": none), proxy_timeout in ms, proxy_responses (-1: not set),
# the first datagram)
Beginning = tuple[int, int, Any, tuple[Any, ...], bytes, int, int, bytes]


class DatagramOwner(Protocol):
    """The session the extension reports to."""

    def datagrams_ended(self, ended: Ended) -> None: ...


class NativeDatagrams:
    """The worker's sessions in the extension; the loop watches its epoll set."""

    __slots__ = ("_loop", "_owners", "_sessions")

    def __init__(self, loop: asyncio.AbstractEventLoop, sessions: Any) -> None:
        self._loop = loop
        self._sessions = sessions
        self._owners: dict[int, DatagramOwner] = {}
        loop.add_reader(sessions.fileno(), self._poll)

    def add(self, owner: DatagramOwner, arguments: Beginning) -> int:
        """A session, its first datagram sent; OSError with the failed call's name as filename (socket,
        connect, send, add) when it cannot begin."""
        handle: int = self._sessions.add(*arguments)
        self._owners[handle] = owner
        return handle

    def send(self, handle: int, data: bytes) -> int:
        """Another datagram of the client: the bytes sent (0: lost to a full buffer); OSError when send()
        failed."""
        sent: int = self._sessions.send(handle, data)
        return sent

    def remove(self, handle: int) -> Ended:
        """End a session now (status 0)."""
        del self._owners[handle]
        ended: Ended = self._sessions.remove(handle)
        return ended

    def close(self) -> None:
        """The service is closed: no session is left."""
        self._loop.remove_reader(self._sessions.fileno())
        self._sessions.close()

    def _poll(self) -> None:
        owners = self._owners
        for ended in self._sessions.poll():
            owners.pop(ended[0]).datagrams_ended(ended)


def _extension() -> ModuleType | None:
    if not native_is_current(MODULE):
        return None
    try:
        return importlib.import_module(MODULE)
    except ImportError:
        return None


EXTENSION = _extension()


def start(loop: asyncio.AbstractEventLoop) -> NativeDatagrams | None:
    """The worker's sessions in the extension; None when it is not there (or stale, or pure Python is
    asked) or cannot start: the sessions then do their socket work themselves."""
    if EXTENSION is None:
        return None
    try:
        return NativeDatagrams(loop, EXTENSION.Datagrams())
    except OSError:
        return None
