"""The L4 relay in a thread of its own (_native_relay.c): for a worker's plain TCP sessions, the bytes are
moved by a C thread with its own epoll loop, outside the interpreter, and the event loop hears of a session
only when it ends (docs/request-cost.md, "L4: the relay in a thread of its own").

A worker starts the thread at its first session that can use it (`start`), never before: a worker or a
configuration without one creates nothing. The extension is imported with this module, which the master
imports before it forks its workers when the configuration has a `stream {}` (proxy/preload.py): a
worker running as `user` may be unable to import it, or what deciding takes (the source's hash), and
keeps only the environment `env` names (HAPAIR_PURE_PYTHON among what it loses). It is used only when built
from the .c beside it (hapair.compiled.native_is_current: not with HAPAIR_PURE_PYTHON=1, nor from a
wheel, which has no C); without it, sessions go through relay.py as before.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Any, Protocol

from hapair.compiled import native_extension

MODULE = "hapair.proxy.stream._native_relay"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a natively relayed session ended, and what the thread counted."""

    status: int  # 200, or 500 when a shutdown() failed; 0: removed while relaying
    client_received: int
    client_sent: int
    upstream_received: int
    upstream_sent: int  # with the bytes handed over to send first
    first_byte_s: float | None  # from the handover to the upstream's first byte
    shutdown_errno: int  # a failed shutdown(SHUT_WR)'s errno, else 0


class RelayOwner(Protocol):
    """The session a native relay reports to."""

    def relay_ended(self, outcome: Outcome) -> None: ...


def _outcome(result: tuple[Any, ...]) -> Outcome:
    _, status, client_received, client_sent, upstream_received, upstream_sent, first_byte, errno = result
    return Outcome(
        status,
        client_received,
        client_sent,
        upstream_received,
        upstream_sent,
        None if first_byte < 0 else first_byte,
        errno,
    )


class NativeRelay:
    """The worker's relay thread, and the sessions it relays; the loop watches its notify fd."""

    def __init__(self, loop: asyncio.AbstractEventLoop, relay: Any) -> None:
        self._loop = loop
        self._relay = relay
        self._owners: dict[int, RelayOwner] = {}
        loop.add_reader(relay.notify_fd, self._collect)

    def add(
        self,
        owner: RelayOwner,
        client: socket.socket,
        upstream: socket.socket,
        *,
        idle_timeout_s: float,
        half_close: bool,
        first: bytes,
    ) -> int:
        """Relay a connected session (`first`: to send the upstream before anything the client sends);
        OSError when the thread cannot take it. The sockets stay the caller's, to close once it ended."""
        timeout_ms = max(0, round(idle_timeout_s * 1000))
        handle: int = self._relay.add(client.fileno(), upstream.fileno(), timeout_ms, half_close, first)
        self._owners[handle] = owner
        return handle

    @property
    def pipes_made(self) -> int:
        """How many pipes the thread made for bulk transfers to splice through."""
        made: int = self._relay.pipes_made
        return made

    def remove(self, handle: int) -> Outcome:
        """End a session now: when this returns the thread no longer touches its sockets. Its status is 0
        unless it had ended in the thread already (and was not collected yet)."""
        del self._owners[handle]
        return _outcome(self._relay.remove(handle))

    def close(self) -> None:
        """Stop the thread (the service is closed: no session is left)."""
        self._loop.remove_reader(self._relay.notify_fd)
        self._relay.close()

    def _collect(self) -> None:
        for result in self._relay.finished():
            owner = self._owners.pop(result[0], None)
            if owner is not None:
                owner.relay_ended(_outcome(result))


EXTENSION = native_extension(MODULE)


def start(loop: asyncio.AbstractEventLoop) -> NativeRelay | None:
    """The worker's relay thread, started; None when the extension is not there (or stale, or pure Python
    is asked) or the thread cannot start: the sessions then use relay.py."""
    if EXTENSION is None:
        return None
    try:
        return NativeRelay(loop, EXTENSION.Relay())
    except OSError:
        return None
