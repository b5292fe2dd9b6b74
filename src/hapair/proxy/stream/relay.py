"""Moving a TCP session's bytes one way, from one socket to another, on the event loop.

`SpliceDirection` moves them with splice(2) through a pipe: socket -> pipe -> socket, so they never enter
Python; until a read fills the worker's scratch buffer it copies them through that buffer instead (recv,
then send at once), which for a small message costs the kernel less than two splices and a pipe page, so
a session of small messages never takes a pipe and a bulk transfer splices all but its first reads.
`CopyDirection` reads them into a buffer and sends them on (for sockets splice cannot serve, such
as TLS ones: an SSLSocket's "want read/write" is a socket's EAGAIN, and records it has decrypted but not
given yet are read before the loop waits on the socket again). Both share one loop (`Direction._run`):

- the buffer (pipe or bytearray) is always emptied into the destination before the source is read
  again, so at most one buffer's worth is in flight and a read meeting EAGAIN can only mean the source
  is empty (a pipe's EAGAIN could also mean "full" otherwise, and its capacity counts pages, not bytes);
- back-pressure: while the destination cannot take more, the source is not watched at all, so the peer
  sending fills its socket buffers and TCP slows it down;
- the loop waits on exactly one event at a time: the source readable (buffer empty) or the destination
  writable (bytes left in the buffer); the file descriptors are watched directly (`add_reader` /
  `add_writer`), level-triggered;
- a small read (under `SMALL_READ`, splice only) has drained the source: once its bytes are sent, the
  loop waits for the next readiness rather than spend a read on the EAGAIN that would almost surely
  follow (level-triggered, so bytes that came meanwhile wake it at once); for small messages that is
  one system call in three, while bulk transfers, whose reads are large, read on as before (a TLS
  source gives a record at a time, however much is waiting, so it always reads on);
- after `ROUNDS` moves it yields to the other connections and comes back on the next event.

A direction ends when its source reports EOF (or a read error, which nginx treats as EOF) and everything
read has been sent; it breaks when sending fails. The session decides what follows (`DirectionOwner`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import ssl
from abc import ABC, abstractmethod
from typing import Protocol

SPLICE_FLAGS = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
PIPE_SIZE = 1 << 20
COPY_BUFFER_SIZE = 1 << 18
ROUNDS = 16  # moves per event before other connections get their turn
SMALL_READ = 1 << 16  # a splice read under this has drained its socket (a bulk transfer's reads are larger)
POOLED_PIPES = 64


class Pipe:
    """A non-blocking kernel pipe, splice's buffer; `capacity` bytes (F_SETPIPE_SZ, else the default)."""

    __slots__ = ("capacity", "read_fd", "write_fd")

    def __init__(self, size: int = PIPE_SIZE) -> None:
        self.read_fd, self.write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        # over /proc/sys/fs/pipe-max-size or the user's pipe quota, the default size still works
        with contextlib.suppress(OSError):
            fcntl.fcntl(self.write_fd, fcntl.F_SETPIPE_SZ, size)
        self.capacity: int = fcntl.fcntl(self.write_fd, fcntl.F_GETPIPE_SZ)

    def close(self) -> None:
        os.close(self.read_fd)
        os.close(self.write_fd)


class PipePool:
    """Empty pipes kept for the next sessions, to spare two syscalls and an fcntl per direction; and the
    scratch buffer the worker's splice directions copy small messages through (one at a time: what a send
    leaves of it is copied out before the loop runs anything else)."""

    __slots__ = ("_free", "_limit", "_size", "scratch")

    def __init__(self, size: int = PIPE_SIZE, limit: int = POOLED_PIPES) -> None:
        self._free: list[Pipe] = []
        self._size = size
        self._limit = limit
        self.scratch = memoryview(bytearray(SMALL_READ))

    def take(self) -> Pipe:
        return self._free.pop() if self._free else Pipe(self._size)

    def give_back(self, pipe: Pipe, *, empty: bool) -> None:
        """Keep `pipe` if nothing is left in it and the pool has room, else close it."""
        if empty and len(self._free) < self._limit:
            self._free.append(pipe)
        else:
            pipe.close()

    def close(self) -> None:
        while self._free:
            self._free.pop().close()


class DirectionOwner(Protocol):
    """The session a direction reports to."""

    def direction_ended(self, direction: Direction) -> None:
        """The source said EOF and every byte read was sent."""

    def direction_broken(self, direction: Direction, error: OSError) -> None:
        """Sending to the destination failed."""


class Direction(ABC):
    """Bytes from `src` to `dst`: counts, state, and the event loop plumbing shared by both ways of
    moving them (`_read` fills the buffer, `_write` empties some of it)."""

    __slots__ = (
        "_loop",
        "_owner",
        "_reading",
        "_writing",
        "active_at",
        "dst",
        "dst_fd",
        "eof",
        "first_byte_at",
        "pending",
        "received",
        "sent",
        "src",
        "src_fd",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        src: socket.socket,
        dst: socket.socket,
        owner: DirectionOwner,
    ) -> None:
        self._loop = loop
        self._owner = owner
        self.src = src
        self.dst = dst
        self.src_fd = src.fileno()
        self.dst_fd = dst.fileno()
        self._reading = False
        self._writing = False
        self.pending = 0  # bytes read and not yet sent
        self.received = 0
        self.sent = 0
        self.eof = False
        self.active_at = loop.time()
        self.first_byte_at: float | None = None

    def start(self) -> None:
        self._run()

    def stop(self) -> None:
        """Stop watching both sockets (the session is closing them)."""
        if self._reading:
            self._loop.remove_reader(self.src_fd)
            self._reading = False
        if self._writing:
            self._loop.remove_writer(self.dst_fd)
            self._writing = False

    @abstractmethod
    def release(self) -> None:
        """Give back what the direction holds beside the sockets; called once, after `stop`."""

    @abstractmethod
    def _read(self) -> int:
        """Fill the (empty) buffer from the source: the count read, 0 at EOF; BlockingIOError: nothing yet."""

    @abstractmethod
    def _write(self) -> int:
        """Send some of the `pending` bytes: the count sent; BlockingIOError: the destination is full."""

    def _run(self) -> None:
        self.active_at = self._loop.time()
        drained = False
        for _ in range(ROUNDS):
            if self.pending:
                try:
                    moved = self._write()
                except BlockingIOError:
                    self._wait_writable()
                    return
                except OSError as error:
                    self.stop()
                    self._owner.direction_broken(self, error)
                    return
                self.pending -= moved
                self.sent += moved
                if drained and not self.pending:
                    break
                continue
            if self.eof:
                self.stop()
                self._owner.direction_ended(self)
                return
            try:
                moved = self._read()
            except BlockingIOError:
                self._wait_readable()
                return
            except OSError:
                moved = 0  # a reset or other read error ends this direction as EOF does (nginx)
            if moved:
                if not self.received:
                    self.first_byte_at = self.active_at
                self.pending = moved
                self.received += moved
                drained = self._drained(moved)
            else:
                self.eof = True
        if self.pending:
            self._wait_writable()
        elif self._buffered():
            self._stop_reading()
            self._loop.call_soon(self._run)
        else:
            self._wait_readable()

    def _buffered(self) -> bool:
        """Bytes the source holds beside its socket (TLS records already decrypted)."""
        return False

    def _drained(self, moved: int) -> bool:
        """Whether a read of `moved` bytes has most likely emptied the source."""
        return False

    def _stop_reading(self) -> None:
        if self._reading:
            self._loop.remove_reader(self.src_fd)
            self._reading = False

    def _wait_readable(self) -> None:
        if self._writing:
            self._loop.remove_writer(self.dst_fd)
            self._writing = False
        if not self._reading:
            self._loop.add_reader(self.src_fd, self._run)
            self._reading = True

    def _wait_writable(self) -> None:
        if self._reading:
            self._loop.remove_reader(self.src_fd)
            self._reading = False
        if not self._writing:
            self._loop.add_writer(self.dst_fd, self._run)
            self._writing = True


class SpliceDirection(Direction):
    """socket -> pipe -> socket with splice(2): the bytes stay in the kernel. Until a read fills the pool's
    scratch buffer (a bulk transfer), each read is copied through it instead, and sent at once."""

    __slots__ = ("_held", "_pipe", "_pool")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        src: socket.socket,
        dst: socket.socket,
        owner: DirectionOwner,
        pool: PipePool,
    ) -> None:
        super().__init__(loop, src, dst, owner)
        self._pool = pool
        self._pipe: Pipe | None = None  # taken at the first full read
        self._held: memoryview | None = None  # the pending bytes, when they were copied and not spliced

    def release(self) -> None:
        if self._pipe is not None:
            self._pool.give_back(self._pipe, empty=self._held is not None or not self.pending)

    def _read(self) -> int:
        if self._pipe is not None:
            return os.splice(self.src_fd, self._pipe.write_fd, self._pipe.capacity, flags=SPLICE_FLAGS)
        scratch = self._pool.scratch
        count = self.src.recv_into(scratch)
        if count:
            self._held = scratch[:count]
            if count == len(scratch):
                self._pipe = self._pool.take()
        return count

    def _write(self) -> int:
        held = self._held
        if held is None:
            assert self._pipe is not None
            return os.splice(self._pipe.read_fd, self.dst_fd, self.pending, flags=SPLICE_FLAGS)
        try:
            sent = self.dst.send(held)
        except BlockingIOError:
            self._held = memoryview(held.tobytes())  # out of the scratch buffer before the loop runs on
            raise
        self._held = None if sent == len(held) else memoryview(held[sent:].tobytes())
        return sent

    def _drained(self, moved: int) -> bool:
        return moved < SMALL_READ


class CopyDirection(Direction):
    """recv into a buffer, send from it: for sockets splice cannot move bytes between."""

    __slots__ = ("_buffer", "_filled")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        src: socket.socket,
        dst: socket.socket,
        owner: DirectionOwner,
        buffer_size: int = COPY_BUFFER_SIZE,
    ) -> None:
        super().__init__(loop, src, dst, owner)
        self._buffer = memoryview(bytearray(buffer_size))
        self._filled = 0

    def release(self) -> None:
        self._buffer.release()

    def _read(self) -> int:
        try:
            self._filled = self.src.recv_into(self._buffer)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise BlockingIOError from None
        return self._filled

    def _write(self) -> int:
        try:
            return self.dst.send(self._buffer[self._filled - self.pending : self._filled])
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise BlockingIOError from None

    def _buffered(self) -> bool:
        return isinstance(self.src, ssl.SSLSocket) and self.src.pending() > 0
