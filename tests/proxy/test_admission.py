"""New connections a round at a time, and listening queues taken whole when connections keep coming
(proxy/admission.py), on a real loop and real sockets."""

from __future__ import annotations

import asyncio
import itertools
import socket
from typing import TypeVar

import uvloop

from hapair.proxy.admission import Admission, Drain

T = TypeVar("T")


class Connection:
    """What the admission holds and releases."""

    def __init__(self, name: int, log: list[int]) -> None:
        self.name = name
        self.log = log

    def release(self) -> None:
        self.log.append(self.name)

    def close(self) -> None:
        self.log.append(-self.name)


def _rounds(loop: asyncio.AbstractEventLoop, released: list[T], count: int) -> asyncio.Future[list[list[T]]]:
    """What was released by the end of each of the next `count` loop iterations (a callback in each,
    after the admission's)."""
    done: asyncio.Future[list[list[T]]] = loop.create_future()
    seen: list[list[T]] = []

    def look() -> None:
        seen.append(list(released))
        if len(seen) < count:
            loop.call_soon(look)
        else:
            done.set_result(seen)

    loop.call_soon(look)
    return done


def test_connections_past_a_rounds_share_wait_for_the_next_rounds_in_order() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        admission = Admission(loop, per_round=2)
        released: list[int] = []
        started = [admission.enter(Connection(name, released)) for name in range(1, 6)]
        assert started == [True, True, False, False, False]
        assert await _rounds(loop, released, 3) == [[3, 4], [3, 4, 5], [3, 4, 5]]
        assert admission.waiting == 0

    uvloop.run(scenario())


def test_a_waiting_connection_that_closes_leaves_the_line() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        admission = Admission(loop, per_round=1)
        released: list[int] = []
        connections = [Connection(name, released) for name in range(1, 4)]
        for connection in connections:
            admission.enter(connection)
        admission.leave(connections[1])
        assert (await _rounds(loop, released, 2))[-1] == [3]

    uvloop.run(scenario())


def test_closing_closes_the_waiting_connections() -> None:
    async def scenario() -> None:
        admission = Admission(asyncio.get_running_loop(), per_round=1)
        log: list[int] = []
        for name in range(1, 4):
            admission.enter(Connection(name, log))
        admission.close()
        assert log == [-2, -3]

    uvloop.run(scenario())


class Recorder(asyncio.Protocol):
    """Keeps the transports of the connections made."""

    made: list[asyncio.BaseTransport]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        Recorder.made.append(transport)


def _queue_of(count: int) -> tuple[socket.socket, list[socket.socket]]:
    """A listening socket with `count` connections in its queue, and their client ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(511)
    listener.setblocking(False)
    return listener, [socket.create_connection(listener.getsockname()) for _ in range(count)]


def _queued(listener: socket.socket) -> int:
    """How many connections are left in `listener`'s queue (they are taken off it)."""
    taken = 0
    while True:
        try:
            client, _ = listener.accept()
        except BlockingIOError:
            return taken
        client.close()
        taken += 1


def test_one_connection_an_iteration_leaves_the_queue_to_uvloop() -> None:
    """uvloop takes one connection per iteration (here nothing does: the test says when one came): while
    they do not come in two iterations in a row, the drain takes nothing."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        listener, clients = _queue_of(10)
        Recorder.made = []
        admission = Admission(loop, per_round=4)
        admission.came_from(Drain(loop, listener, Recorder, None))
        await _rounds(loop, [], 4)
        assert (Recorder.made, _queued(listener)) == ([], 10)
        for client in clients:
            client.close()
        listener.close()

    uvloop.run(scenario())


def test_connections_in_two_iterations_in_a_row_take_the_queue_whole_then_start_a_round_at_a_time() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        listener, clients = _queue_of(10)
        Recorder.made = []
        admission = Admission(loop, per_round=4)
        drain = Drain(loop, listener, Recorder, None)
        admission.came_from(drain)  # an iteration brought a connection
        loop.call_soon(admission.came_from, drain)  # and the next one: the one after takes the queue
        made_by_iteration = [len(seen) for seen in await _rounds(loop, Recorder.made, 50)]
        assert made_by_iteration[-1] == 10
        assert _queued(listener) == 0
        per_iteration = [after - before for before, after in itertools.pairwise(made_by_iteration)]
        assert max(per_iteration) == 4, made_by_iteration
        for transport in Recorder.made:
            transport.close()
        for client in clients:
            client.close()
        listener.close()

    uvloop.run(scenario())
