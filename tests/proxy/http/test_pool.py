"""The pool of idle upstream connections: reuse, and closing after the idle timeout."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from hapair.proxy.http.upstream import UpstreamConnection
from tests.python_source import source_module

# as Python: the pool is handed fake connections (tests/python_source.py)
pool_module = source_module("hapair.proxy.http.pool")
ConnectionPool = pool_module.ConnectionPool
KeepPolicy = pool_module.KeepPolicy

SHORT = KeepPolicy(idle=4, idle_timeout=0.05, requests=100, lifetime=3600.0)


class FakeConnection:
    """What the pool uses of an upstream connection."""

    def __init__(self, key: object) -> None:
        self.key = key
        self.closed = False
        self.reused = False
        self.requests = 1

    def close(self) -> None:
        self.closed = True


def _connection(pool: ConnectionPool, key: object = "peer") -> Any:
    connection = cast(UpstreamConnection, FakeConnection(key))
    pool.born(connection)
    return connection


async def _until(condition: Any, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_connection_put_back_is_taken_again_as_reused() -> None:
    async def scenario() -> None:
        pool = ConnectionPool(asyncio.get_running_loop())
        connection = _connection(pool)
        pool.put(connection, SHORT)
        assert pool.take("peer") is connection
        assert connection.reused
        assert pool.take("peer") is None
        pool.close()

    asyncio.run(scenario())


def test_idle_connection_is_closed_and_dropped_after_idle_timeout() -> None:
    async def scenario() -> None:
        pool = ConnectionPool(asyncio.get_running_loop())
        connection = _connection(pool)
        pool.put(connection, SHORT)
        await _until(lambda: connection.closed)
        assert pool.take("peer") is None

    asyncio.run(scenario())


def test_connection_in_use_is_not_closed_by_its_idle_timer() -> None:
    async def scenario() -> None:
        pool = ConnectionPool(asyncio.get_running_loop())
        connection, other = _connection(pool), _connection(pool, "other")
        pool.put(connection, SHORT)
        pool.put(other, SHORT)
        assert pool.take("peer") is connection
        await _until(lambda: other.closed)  # the idle one expired; the one in use did not
        await asyncio.sleep(SHORT.idle_timeout)
        assert not connection.closed
        pool.put(connection, SHORT)
        await _until(lambda: connection.closed)

    asyncio.run(scenario())
