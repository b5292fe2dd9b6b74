"""The stream differential harness: nginx and hapair run the same stream configuration text side by side,
in a network namespace of their own (so fixed ports are free and nothing else on the machine connects),
each in front of its own backends, and a case sends the same bytes to both and returns, per side, what
the client received, what each backend received, the access-log lines and the error-log lines.

The two sides differ only by their loopback address: nginx's listens and backends are on 127.0.0.1,
hapair's on 127.0.0.2 (`@HOST@` in the text); the client connects from its proxy's address, so
the access-log lines, whose `$remote_addr` and `$upstream_addr` name that address, compare once it is
written `@HOST@`. Error-log lines compare without their time, process ids and connection numbers (nginx
counts the upstream connections among its connections, hapair does not: docs/nginx-differences.md).

The test process's main thread enters the namespace (setns(2)) for the module's tests, so that the
sockets it makes and the processes it starts are there; it leaves it when the module's tests are done.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.dns_server import DnsServer, Record
from tests.netns import Namespace, namespace, unique_name

from .harness import file_size, read_from
from .servers import IMPLEMENTATIONS, Process

STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
HOST = "@HOST@"
HOSTS = {"nginx": "127.0.0.1", "hapair": "127.0.0.2"}
LISTEN_PORT = 8443
START_TIMEOUT_S = 15.0
WAIT_S = 5.0
_CLONE_NEWNET = 0x40000000
_LIBC = ctypes.CDLL(None, use_errno=True)
_ERROR_LINE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)$")


def _setns(fd: int) -> None:
    if _LIBC.setns(fd, _CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


@contextlib.contextmanager
def inside(namespace: Namespace) -> Iterator[None]:
    """This thread in `namespace` for the block (and the processes it starts), then back where it was."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{namespace.name}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


@dataclass
class Received:
    """What one backend connection received, complete once `done` is set."""

    data: bytearray = field(default_factory=bytearray)
    done: threading.Event = field(default_factory=threading.Event)


class Backend:
    """A TCP server on (host, port) that sends `greeting` to each connection (over TLS with `tls`), then
    records what the connection brings until its end."""

    def __init__(self, host: str, port: int, greeting: bytes, tls: ssl.SSLContext | None = None) -> None:
        self.greeting = greeting
        self._tls = tls
        self.connections: list[Received] = []
        self._sock = socket.create_server((host, port))
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            received = Received()
            self.connections.append(received)
            threading.Thread(target=self._connection, args=(conn, received), daemon=True).start()

    def _connection(self, conn: socket.socket, received: Received) -> None:
        conn.settimeout(WAIT_S * 2)
        try:
            with conn:
                peer = self._tls.wrap_socket(conn, server_side=True) if self._tls is not None else conn
                peer.sendall(self.greeting)
                while data := peer.recv(65536):
                    received.data += data
        except (OSError, ssl.SSLError):
            pass
        finally:
            received.done.set()

    def close(self) -> None:
        self._sock.close()


@dataclass(frozen=True)
class Exchange:
    """What the client does: send `data` (in these pieces), then, as `until` says, read the first bytes
    back and close (`"answer"`), or say EOF and read until the proxy closes (`"eof"`), or just read until
    it closes (`"close"`)."""

    data: bytes | tuple[bytes, ...]
    until: str = "answer"

    @property
    def pieces(self) -> tuple[bytes, ...]:
        return self.data if isinstance(self.data, tuple) else (self.data,)


@dataclass(frozen=True)
class SideResult:
    name: str
    answer: bytes
    backends: dict[str, tuple[bytes, ...]]  # by backend name: what each new connection received
    access: tuple[str, ...]
    errors: tuple[str, ...]  # `[level] text`, the address written @HOST@


class StreamSide:
    """One implementation on the text, with its backends (port: name; greeting: the name)."""

    def __init__(
        self,
        name: str,
        directory: Path,
        text: str,
        backends: dict[int, str],
        tls: Callable[[str], ssl.SSLContext | None],
    ) -> None:
        self.name = name
        self.host = HOSTS[name]
        self.directory = directory
        self.backends = {
            port: Backend(self.host, port, label.encode(), tls(label)) for port, label in backends.items()
        }
        implementation = next(i for i in IMPLEMENTATIONS if i.name == name)
        self.process = Process(implementation, directory, text.replace(HOST, self.host))
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if not self.process.running():
                raise AssertionError(f"{self.name} exited at start:\n{self.process.console()}")
            try:
                self.connect(LISTEN_PORT, timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"{self.name} does not listen"
                time.sleep(0.02)
        # that connection is a session of its own: let it be logged before the cases
        self.wait_lines(self.access_path, 1)
        self._access_seen = file_size(self.access_path)
        self._errors_seen = file_size(self.error_path)

    @property
    def access_path(self) -> Path:
        return self.directory / "access.log"

    @property
    def error_path(self) -> Path:
        return self.directory / "error.log"

    def run(self, exchange: Exchange, port: int = LISTEN_PORT, lines: int = 1) -> SideResult:
        marks = {label: len(backend.connections) for label, backend in self._labelled()}
        answer = self.converse(exchange, port)
        access = self.new_access(lines)
        received: dict[str, tuple[bytes, ...]] = {}
        for label, backend in self._labelled():
            fresh = backend.connections[marks[label] :]
            for connection in fresh:
                assert connection.done.wait(WAIT_S), f"{self.name}: backend {label} still connected"
            if fresh:
                received[label] = tuple(bytes(connection.data) for connection in fresh)
        return SideResult(self.name, answer, received, access, self.new_errors())

    def new_access(self, count: int = 1) -> tuple[str, ...]:
        """The next `count` access-log lines (waited for), the address written @HOST@; a line still being
        written is left for the next look."""
        lines = self.wait_lines(self.access_path, count, self._access_seen)
        self._access_seen += sum(len(line.encode("latin-1")) + 1 for line in lines)
        return self._written(lines)

    def new_errors(self) -> tuple[str, ...]:
        """The error-log lines written since the last look."""
        text = read_from(self.error_path, self._errors_seen)
        self._errors_seen += len(text.encode("latin-1"))
        return self._error_lines(text)

    def connect(self, port: int = LISTEN_PORT, timeout: float = WAIT_S) -> socket.socket:
        """A client connection from this side's address (the loopback route's source would be
        127.0.0.1 for both)."""
        return socket.create_connection((self.host, port), timeout=timeout, source_address=(self.host, 0))

    def converse(self, exchange: Exchange, port: int = LISTEN_PORT) -> bytes:
        with self.connect(port) as client:
            for piece in exchange.pieces:
                client.sendall(piece)
            if exchange.until == "eof":
                client.shutdown(socket.SHUT_WR)
            answer = b""
            with contextlib.suppress(ConnectionResetError):  # a close with bytes unread sends a reset
                while data := client.recv(65536):
                    answer += data
                    if exchange.until == "answer":
                        break
            return answer

    def _labelled(self) -> list[tuple[str, Backend]]:
        return [(backend.greeting.decode(), backend) for backend in self.backends.values()]

    def _written(self, lines: list[str]) -> tuple[str, ...]:
        return tuple(line.replace(self.host, HOST) for line in lines)

    def _error_lines(self, text: str) -> tuple[str, ...]:
        lines = []
        for line in text.splitlines():
            match = _ERROR_LINE.match(line)
            if match is not None:
                lines.append(f"[{match[1]}] {match[2].replace(self.host, HOST)}")
        return tuple(lines)

    def wait_lines(self, path: Path, count: int, offset: int = 0) -> list[str]:
        """The whole lines after `offset` once there are at least `count` (a line without its newline yet
        is not one)."""
        deadline = time.monotonic() + WAIT_S
        while True:
            lines = read_from(path, offset).split("\n")[:-1]
            if len(lines) >= count:
                return lines
            assert time.monotonic() < deadline, f"{self.name}: {len(lines)} of {count} lines in {path.name}"
            time.sleep(0.002)

    def close(self) -> None:
        self.process.stop()
        for backend in self.backends.values():
            backend.close()


class StreamPair:
    """nginx and hapair on one stream text; `run(exchange)` runs a case through both, one after the
    other, and returns their results."""

    def __init__(
        self,
        directory: Path,
        text: str,
        backends: dict[int, str],
        tls: Callable[[str], ssl.SSLContext | None] = lambda _: None,
    ) -> None:
        self.sides: list[StreamSide] = []
        try:
            for name in HOSTS:
                self.sides.append(StreamSide(name, directory / name, text, backends, tls))
        except BaseException:
            self.close()
            raise

    def run(self, exchange: Exchange, *, lines: int = 1) -> tuple[SideResult, SideResult]:
        nginx, hapair = (side.run(exchange, lines=lines) for side in self.sides)
        return nginx, hapair

    def close(self) -> None:
        for side in self.sides:
            side.close()


def stream_text(body: str, *, log_format: str) -> str:
    """A whole configuration: one worker, the error log at `error`, the stream access log in
    `log_format`, and `body` inside `stream {}`."""
    return f"""load_module {STREAM_MODULE};
worker_processes 1;
error_log error.log error;
events {{}}
stream {{
    log_format diff '{log_format}';
    access_log access.log diff;
    {body}
}}
"""


@contextlib.contextmanager
def dns_pair(
    directory: Path, prefix: str, body: str, log_format: str, records: dict[int, Record]
) -> Iterator[StreamPair]:
    """nginx and hapair on `body` in a network namespace of their own (named from `prefix`), beside a DNS
    server on 127.0.0.1 and on 127.0.0.2 at each port of `records`, answering a.example with its record."""
    with namespace(unique_name(prefix)) as space, inside(space), contextlib.ExitStack() as servers:
        for host in ("127.0.0.1", "127.0.0.2"):
            for port, record in records.items():
                server = DnsServer(host, port)
                server.records["a.example"] = record
                servers.enter_context(server)
        running = StreamPair(directory, stream_text(body, log_format=log_format), {9001: "tcp"})
        try:
            yield running
        finally:
            running.close()
