"""A recording backend: a raw TCP server that keeps the exact bytes every connection brought, reads them as
requests, and answers each request with a scripted raw reply (`Reply`): any bytes, in pieces, followed or
not by a close, or no answer at all. After a reply that switches protocols, what the connection brings is
recorded as it is, not read as requests.

One thread accepts, one thread serves each connection; `wait_until` waits on a condition that every
recorded event notifies.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .wire import Message, parse_request

BARRIER_PREFIX = b"/__barrier__/"


@dataclass(frozen=True)
class Reply:
    """What the backend does with a request: write `pieces` (waiting `gap` seconds between two, so that
    the proxy reads them apart, and, with `wait_for`, writing the pieces after the first only once the
    connection brought those bytes), then close the connection if `close`; `answer=False` writes nothing
    and leaves the connection open. A reply whose first piece is a 101 head turns the connection into a
    raw tunnel."""

    pieces: tuple[bytes, ...] = ()
    gap: float = 0.0
    close: bool = False
    answer: bool = True
    wait_for: bytes = b""

    @property
    def switches(self) -> bool:
        return bool(self.pieces) and self.pieces[0].startswith(b"HTTP/1.1 101")


def ok(body: bytes = b"ok", *, headers: bytes = b"") -> Reply:
    """A 200 with a Content-Length, on a connection the backend keeps open."""
    return Reply((b"HTTP/1.1 200 OK\r\n%bContent-Length: %d\r\n\r\n%b" % (headers, len(body), body),))


def raw(*pieces: bytes, gap: float = 0.0, close: bool = False, wait_for: bytes = b"") -> Reply:
    return Reply(pieces, gap=gap, close=close, wait_for=wait_for)


CLOSE_WITHOUT_ANSWER = Reply(close=True)
NO_ANSWER = Reply(answer=False)


@dataclass
class BackendConnection:
    """One connection the proxy opened: every byte it sent, and when it opened and closed."""

    number: int
    opened: float
    received: bytearray = field(default_factory=bytearray)
    closed: float | None = None
    closed_unanswered: bool = False  # the backend closed it on a request, without answering

    @property
    def open_for(self) -> float | None:
        """How long the connection stayed open (None while it is open)."""
        return None if self.closed is None else self.closed - self.opened


@dataclass(frozen=True)
class Received:
    """A request as the backend read it, and the connection it came on."""

    connection: int
    message: Message

    @property
    def barrier(self) -> bool:
        return self.message.target.startswith(BARRIER_PREFIX)


@dataclass(frozen=True)
class Mark:
    """Where the records stood at a moment: what came after it belongs to what was done after it."""

    requests: int
    chunks: int


class RecordingBackend:
    """The server; `script` chooses each request's reply (barrier requests always get `ok()`)."""

    def __init__(self) -> None:
        self.script: Callable[[Message], Reply] = lambda _: ok()
        self.connections: list[BackendConnection] = []
        self.requests: list[Received] = []
        self.chunks: list[tuple[int, bytes]] = []  # (connection number, bytes), in arrival order
        self._changed = threading.Condition()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stopping = False
        threading.Thread(target=self._accept, daemon=True, name=f"backend-{self.port}").start()

    def stop(self) -> None:
        self._stopping = True
        self._listener.close()
        with self._changed:
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    # -- what tests read

    def mark(self) -> Mark:
        with self._changed:
            return Mark(len(self.requests), len(self.chunks))

    def bytes_since(self, mark: Mark) -> list[tuple[BackendConnection, bytes]]:
        """What each connection brought since `mark`, barrier requests left out, the connections in the
        order their first byte came."""
        with self._changed:
            chunks = self.chunks[mark.chunks :]
            barriers = [
                received.message.raw for received in self.requests[mark.requests :] if received.barrier
            ]
        gathered: dict[int, bytearray] = {}
        for number, data in chunks:
            gathered.setdefault(number, bytearray()).extend(data)
        result = []
        for number, data in gathered.items():
            text = bytes(data)
            for barrier in barriers:
                text = text.replace(barrier, b"")
            if text:
                result.append((self.connections[number], text))
        return result

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
                self._changed.wait(left)

    # -- serving

    def _accept(self) -> None:
        while not self._stopping:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._changed:
                connection = BackendConnection(len(self.connections), time.monotonic())
                self.connections.append(connection)
                self._sockets.append(sock)
            threading.Thread(target=self._serve, args=(sock, connection), daemon=True).start()

    def _serve(self, sock: socket.socket, connection: BackendConnection) -> None:
        buffer = b""
        tunnel = False
        try:
            while data := self._receive(sock, connection):
                if tunnel:
                    continue
                buffer += data
                while (message := parse_request(buffer)) is not None and message.complete:
                    buffer = buffer[len(message.raw) :]
                    reply = self._record(connection, message)
                    buffer = self._send(sock, connection, reply, buffer)
                    if reply.close:
                        connection.closed_unanswered = not reply.pieces
                        return
                    tunnel = reply.switches
                    if tunnel:
                        break
        except OSError:
            pass
        finally:
            _shut(sock)
            with self._changed:
                connection.closed = time.monotonic()
                self._changed.notify_all()

    def _receive(self, sock: socket.socket, connection: BackendConnection) -> bytes:
        data = sock.recv(65536)
        with self._changed:
            connection.received += data
            if data:
                self.chunks.append((connection.number, data))
            self._changed.notify_all()
        return data

    def _record(self, connection: BackendConnection, message: Message) -> Reply:
        received = Received(connection.number, message)
        with self._changed:
            self.requests.append(received)
            self._changed.notify_all()
        return ok() if received.barrier else self.script(message)

    def _send(self, sock: socket.socket, connection: BackendConnection, reply: Reply, after: bytes) -> bytes:
        """Write the reply; `after` is what came after the request, and what is returned is what came
        after the request by the end of the reply."""
        if not reply.answer:
            return after
        for index, piece in enumerate(reply.pieces):
            if index == 1:
                while reply.wait_for not in after:
                    data = self._receive(sock, connection)
                    if not data:
                        raise ConnectionError("closed before the bytes the reply waits for")
                    after += data
            if index and reply.gap:
                time.sleep(reply.gap)  # shapes the wire: the proxy reads the pieces apart
            sock.sendall(piece)
        return after


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
