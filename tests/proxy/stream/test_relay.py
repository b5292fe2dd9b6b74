"""One direction of a relay between real loopback TCP sockets: splice and buffered copy."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import socket
import struct
import termios

import pytest

from hapair.proxy.stream import relay
from hapair.proxy.stream.relay import CopyDirection, Direction, Pipe, PipePool, SpliceDirection

from .helpers import poll, run


class Owner:
    """Records what the direction reports."""

    def __init__(self) -> None:
        self.ended = asyncio.get_running_loop().create_future()
        self.broken = asyncio.get_running_loop().create_future()

    def direction_ended(self, direction: Direction) -> None:
        self.ended.set_result(direction)

    def direction_broken(self, direction: Direction, error: OSError) -> None:
        self.broken.set_result(error)


def tcp_pair() -> tuple[socket.socket, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        near = socket.create_connection(server.getsockname())
        far, _ = server.accept()
    for sock in (near, far):
        sock.setblocking(False)
    return near, far


class Wires:
    """sender -> src ==direction==> dst -> receiver."""

    def __init__(self) -> None:
        self.sender, self.src = tcp_pair()
        self.dst, self.receiver = tcp_pair()

    def close(self) -> None:
        for sock in (self.sender, self.src, self.dst, self.receiver):
            sock.close()


def make(kind: str, wires: Wires, owner: Owner, pool: PipePool) -> Direction:
    loop = asyncio.get_running_loop()
    if kind == "splice":
        return SpliceDirection(loop, wires.src, wires.dst, owner, pool)
    return CopyDirection(loop, wires.src, wires.dst, owner)


async def send_all(sock: socket.socket, payload: bytes, *, eof: bool = True) -> None:
    await asyncio.get_running_loop().sock_sendall(sock, payload)
    if eof:
        sock.shutdown(socket.SHUT_WR)


async def receive_all(sock: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    chunks = []
    while chunk := await loop.sock_recv(sock, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("kind", ["splice", "copy"])
def test_bytes_arrive_exactly_and_eof_ends_the_direction(kind: str, splices: list[int]) -> None:
    payload = os.urandom(6 << 20)

    async def scenario() -> tuple[bytes, Direction]:
        wires, owner, pool = Wires(), Owner(), PipePool()
        direction = make(kind, wires, owner, pool)
        direction.start()
        sending = asyncio.create_task(send_all(wires.sender, payload))
        received = await receive_all_after(owner, wires)
        await sending
        direction.release()
        pool.close()
        wires.close()
        return received, direction

    async def receive_all_after(owner: Owner, wires: Wires) -> bytes:
        receiving = asyncio.create_task(receive_all(wires.receiver))
        await owner.ended
        wires.dst.shutdown(socket.SHUT_WR)
        return await receiving

    received, direction = run(scenario())
    assert hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()
    assert direction.received == direction.sent == len(payload)
    if kind == "splice":  # once a read filled the scratch buffer, bytes went socket -> pipe -> socket
        assert 0 < sum(splices) <= 2 * len(payload)
    else:
        assert splices == []


@pytest.mark.parametrize("kind", ["splice", "copy"])
def test_a_receiver_that_does_not_read_holds_the_sender_back(kind: str) -> None:
    async def scenario() -> tuple[int, int, int, bytes]:
        wires, owner, pool = Wires(), Owner(), PipePool()
        direction = make(kind, wires, owner, pool)
        direction.start()
        payload = os.urandom(48 << 20)
        sending = asyncio.create_task(send_all(wires.sender, payload))
        await poll(lambda: direction.received > 0)
        await asyncio.sleep(0.2)  # let it fill every buffer on the way
        in_flight = direction.received - direction.sent
        stuck = not sending.done()
        received = await receive_all_until(wires, owner)
        await sending
        direction.release()
        pool.close()
        wires.close()
        return (
            in_flight,
            stuck,
            capacity(direction),
            hashlib.sha256(received).digest() == hashlib.sha256(payload).digest(),
        )

    async def receive_all_until(wires: Wires, owner: Owner) -> bytes:
        receiving = asyncio.create_task(receive_all(wires.receiver))
        await owner.ended
        wires.dst.shutdown(socket.SHUT_WR)
        return await receiving

    in_flight, stuck, limit, intact = run(scenario())
    assert stuck
    assert 0 <= in_flight <= limit
    assert intact


def capacity(direction: Direction) -> int:
    if isinstance(direction, SpliceDirection) and direction._pipe is not None:
        return direction._pipe.capacity
    return relay.COPY_BUFFER_SIZE


@pytest.mark.parametrize("kind", ["splice", "copy"])
def test_a_reset_source_ends_the_direction_as_eof_does(kind: str) -> None:
    async def scenario() -> Direction:
        wires, owner, pool = Wires(), Owner(), PipePool()
        direction = make(kind, wires, owner, pool)
        direction.start()
        wires.sender.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        wires.sender.close()  # RST
        ended = await owner.ended
        direction.release()
        pool.close()
        wires.close()
        return ended

    direction = run(scenario())
    assert direction.eof


@pytest.mark.parametrize("kind", ["splice", "copy"])
def test_a_failed_send_breaks_the_direction(kind: str) -> None:
    async def scenario() -> OSError:
        wires, owner, pool = Wires(), Owner(), PipePool()
        direction = make(kind, wires, owner, pool)
        direction.start()
        wires.receiver.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        wires.receiver.close()  # RST to dst
        sending = asyncio.create_task(send_all(wires.sender, os.urandom(4 << 20), eof=False))
        error = await owner.broken
        sending.cancel()
        direction.release()
        pool.close()
        wires.close()
        return error

    error = run(scenario())
    assert isinstance(error, (BrokenPipeError, ConnectionResetError))


def test_pipe_gets_the_size_asked_for_within_the_system_limit() -> None:
    pipe = Pipe(1 << 20)
    with open("/proc/sys/fs/pipe-max-size") as limit:
        allowed = int(limit.read())
    assert pipe.capacity == 1 << 20 or (allowed < 1 << 20 and pipe.capacity >= 4096)
    pipe.close()


def test_pool_keeps_empty_pipes_up_to_its_limit_and_closes_the_rest() -> None:
    pool = PipePool(size=65536, limit=1)
    first, second, third = pool.take(), pool.take(), pool.take()
    pool.give_back(first, empty=True)
    pool.give_back(second, empty=True)  # over the limit: closed
    pool.give_back(third, empty=False)  # bytes left in it: closed
    assert pool.take() is first
    for closed in (second, third):
        with pytest.raises(OSError):
            os.fstat(closed.read_fd)
    first.close()


def test_small_messages_are_copied_without_a_pipe(splices: list[int]) -> None:
    """A read that does not fill the scratch buffer is sent from it at once: no splice, no pipe taken."""

    async def scenario() -> Direction:
        loop = asyncio.get_running_loop()
        wires, owner, pool = Wires(), Owner(), PipePool()
        direction = make("splice", wires, owner, pool)
        direction.start()
        for message in (b"GET / HTTP/1.1\r\n\r\n", b"x" * 1000, b"y"):
            await loop.sock_sendall(wires.sender, message)
            assert await loop.sock_recv(wires.receiver, 4096) == message
        direction.stop()
        direction.release()
        pool.close()
        wires.close()
        return direction

    direction = run(scenario())
    assert splices == []
    assert direction._pipe is None  # type: ignore[attr-defined]
    assert direction.received == direction.sent == 1019


def test_a_read_that_fills_the_scratch_buffer_moves_the_rest_by_splice(splices: list[int]) -> None:
    payload = os.urandom(4 * relay.SMALL_READ)

    async def scenario() -> bytes:
        wires, owner, pool = Wires(), Owner(), PipePool()
        await asyncio.get_running_loop().sock_sendall(wires.sender, payload[: 2 * relay.SMALL_READ])
        await poll(lambda: waiting(wires.src) >= relay.SMALL_READ)
        direction = make("splice", wires, owner, pool)
        direction.start()  # its first read fills the scratch buffer
        sending = asyncio.create_task(send_all(wires.sender, payload[2 * relay.SMALL_READ :]))
        receiving = asyncio.create_task(receive_all(wires.receiver))
        await owner.ended
        wires.dst.shutdown(socket.SHUT_WR)
        received = await receiving
        await sending
        direction.release()
        pool.close()
        wires.close()
        return received

    assert run(scenario()) == payload
    assert sum(splices) == 2 * (len(payload) - relay.SMALL_READ)  # all but the first read, in and out


def waiting(sock: socket.socket) -> int:
    """The bytes a socket holds unread (FIONREAD)."""
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def test_bytes_a_full_destination_holds_back_survive_another_direction_using_the_scratch_buffer() -> None:
    async def scenario() -> tuple[bytes, bytes]:
        loop = asyncio.get_running_loop()
        pool = PipePool()
        held, other = Wires(), Wires()
        filler = fill(held.dst)  # held's destination takes nothing more
        blocked = make("splice", held, Owner(), pool)
        blocked.start()
        await loop.sock_sendall(held.sender, b"A" * 100)
        await poll(lambda: blocked.received == 100)  # read, then held back by the full destination
        passing = make("splice", other, Owner(), pool)
        passing.start()
        await loop.sock_sendall(other.sender, b"B" * 100)
        passed = await loop.sock_recv(other.receiver, 4096)
        held.sender.shutdown(socket.SHUT_WR)
        arrived = await receive_all_then_close(held, blocked, filler)
        for direction, wires in ((blocked, held), (passing, other)):
            direction.stop()
            direction.release()
            wires.close()
        pool.close()
        return arrived, passed

    arrived, passed = run(scenario())
    assert passed == b"B" * 100
    assert arrived.endswith(b"A" * 100)


def fill(sock: socket.socket) -> int:
    """Send zeros on `sock` until its buffers (and its peer's) are full: the count sent."""
    sent = 0
    while True:
        try:
            sent += sock.send(bytes(1 << 16))
        except BlockingIOError:
            return sent


async def receive_all_then_close(wires: Wires, direction: Direction, filler: int) -> bytes:
    """Everything the receiver gets once it reads again: the filler's zeros, then what was held back."""
    loop = asyncio.get_running_loop()
    chunks: list[bytes] = []
    expected = filler + 100
    while sum(map(len, chunks)) < expected:
        chunks.append(await loop.sock_recv(wires.receiver, 1 << 20))
    await poll(lambda: direction.sent == 100)
    return b"".join(chunks)
