"""Idle upstream connections kept for reuse, per peer (and TLS setting).

hapair keeps idle connections to every upstream by default, where nginx opens a connection per request
unless the upstream has `keepalive` (and the location `proxy_http_version 1.1` and an empty
`Connection`). With `keepalive N`, N idle connections are kept per peer (nginx counts N per upstream
group), and its `keepalive_timeout`, `keepalive_requests` and `keepalive_time` apply; without it,
`Limits.idle_per_peer` and `Limits.idle_timeout` do, with nginx's defaults for the other two. Only idle
connections are counted: a request never waits for a connection, it opens one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import partial
from time import monotonic
from typing import Final

from hapair.config.nginx.model.upstream import Upstream
from hapair.proxy.balancer import Peer

from .limits import Limits
from .timers import IdleTimer
from .tls import UpstreamContext
from .upstream import UpstreamConnection

_DEFAULT_REQUESTS: Final = 1000
_DEFAULT_TIME: Final = 3600.0


@dataclass(frozen=True, slots=True)
class PoolKey:
    """Connections that can serve each other's requests: same peer, same TLS context and name. Hashed
    once, when made: the pool looks a key up twice a request (take and put), and the dataclass's own
    hash made and hashed a tuple of the three each time."""

    peer: Peer
    tls: UpstreamContext | None
    server_hostname: str | None
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.peer, self.tls, self.server_hostname)))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        """The dataclass's comparison (of the three, each by identity first, as a tuple's), compiled: the
        dataclass's own is interpreted, and made two tuples to compare."""
        if not isinstance(other, PoolKey):
            return NotImplemented
        return (
            (self.peer is other.peer or self.peer == other.peer)
            and (self.tls is other.tls or self.tls == other.tls)
            and self.server_hostname == other.server_hostname
        )


@dataclass(frozen=True, slots=True)
class KeepPolicy:
    """How many idle connections a peer keeps, for how long, and how long one may live."""

    idle: int
    idle_timeout: float
    requests: int
    lifetime: float

    @classmethod
    def of(cls, upstream: Upstream, limits: Limits) -> KeepPolicy:
        keepalive = upstream.keepalive
        if keepalive is None:
            return cls(limits.idle_per_peer, limits.idle_timeout, _DEFAULT_REQUESTS, _DEFAULT_TIME)
        return cls(keepalive.connections, keepalive.timeout / 1000, keepalive.requests, keepalive.time / 1000)


class ConnectionPool:
    """Idle connections by key, most recently used first out. Each connection's idle timer is made
    once and costs a timer handle per idle period, not one per request."""

    __slots__ = ("_born", "_idle", "_loop", "_timers")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._idle: dict[PoolKey, list[UpstreamConnection]] = {}
        self._timers: dict[UpstreamConnection, IdleTimer] = {}  # running while the connection is idle
        self._born: dict[UpstreamConnection, float] = {}

    def take(self, key: PoolKey) -> UpstreamConnection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            self._timers[connection].stop()
            if not connection.closed:
                connection.reused = True
                return connection
        return None

    def born(self, connection: UpstreamConnection) -> None:
        """A new connection: its lifetime (`keepalive_time`) starts."""
        self._born[connection] = monotonic()

    def put(self, connection: UpstreamConnection, policy: KeepPolicy) -> None:
        """Keep `connection` idle, or close it when the peer has enough or it has served enough."""
        if (
            connection.closed
            or connection.requests >= policy.requests
            or monotonic() - self._born.get(connection, 0.0) >= policy.lifetime
        ):
            self._close(connection)
            return
        idle = self._idle.get(connection.key)
        if idle is None:  # setdefault would make a list each time
            idle = self._idle[connection.key] = []
        if len(idle) >= policy.idle:
            self._close(idle.pop(0))
        idle.append(connection)
        timer = self._timers.get(connection)
        if timer is None:
            timer = self._timers[connection] = IdleTimer(self._loop, partial(self._expire, connection))
        timer.start(policy.idle_timeout)

    def forget(self, connection: UpstreamConnection) -> None:
        """`connection` is closed: it is no longer kept."""
        self._born.pop(connection, None)
        timer = self._timers.pop(connection, None)
        if timer is None:
            return
        was_idle = timer.running
        timer.cancel()
        if not was_idle:
            return
        idle = self._idle.get(connection.key)
        if idle is not None and connection in idle:
            idle.remove(connection)

    def close(self) -> None:
        for idle in list(self._idle.values()):
            for connection in list(idle):
                self._close(connection)
        self._idle.clear()

    def _expire(self, connection: UpstreamConnection) -> None:
        idle = self._idle.get(connection.key)
        if idle is not None and connection in idle:
            idle.remove(connection)
        self._close(connection)

    def _close(self, connection: UpstreamConnection) -> None:
        self.forget(connection)
        connection.close()
