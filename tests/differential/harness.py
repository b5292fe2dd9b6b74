"""The differential harness: nginx and hapair run the same configuration text, each in front of its own
recording backend (backend.py); a case sends the same bytes to both (client.py) and returns, per side,
what the client received, what the backend received, the access-log lines and the error-log text the case
produced (`Outcome`). compare.py says whether the two sides agree.

A case ends with a barrier: a plain request on a new connection (`GET /__barrier__/N`), answered by the
backend; once its access-log line is written, the lines before it are the case's, and the backend has
seen whatever the proxy sent it for the case. The configuration must send `location /` to the backend.
"""

from __future__ import annotations

import itertools
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .backend import BARRIER_PREFIX, BackendConnection, RecordingBackend, Reply, ok
from .client import Answer, Conversation, converse
from .servers import IMPLEMENTATIONS, Implementation, Process
from .wire import Message, parse_requests

START_TIMEOUT_S = 15.0
BARRIER_TIMEOUT_S = 5.0
LOG_FORMAT = '$status $body_bytes_sent $bytes_sent $request_length "$request" "$http_host" $upstream_status'
LISTEN, BACKEND = "@LISTEN@", "@BACKEND@"  # placeholders in a configuration text, replaced by ports
START_TRIES = 3


def http_config(*, location: str = "", server: str = "", http: str = "", main: str = "") -> str:
    """A whole configuration: one worker, the error log at `info`, the access log in LOG_FORMAT (flushed
    every millisecond, so that a case need not wait for it), upstream `backend`, and a server whose
    `location /` proxies to it; the arguments add directives at each level."""
    return f"""worker_processes 1;
error_log error.log info;
{main}
events {{}}
http {{
    log_format diff '{LOG_FORMAT}';
    access_log access.log diff buffer=4k flush=1ms;
    {http}
    upstream backend {{ server 127.0.0.1:{BACKEND}; }}
    server {{
        listen 127.0.0.1:{LISTEN};
        {server}
        location / {{
            proxy_pass http://backend;
            {location}
        }}
    }}
}}
"""


def file_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def read_from(path: Path, offset: int) -> str:
    """A log file's text from `offset` on ("" while it does not exist)."""
    if not path.exists():
        return ""
    with open(path, "rb") as file:
        file.seek(offset)
        return file.read().decode("latin-1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Case:
    """A wire case: what the client sends, what the backend answers, and what nginx was seen to answer
    (its statuses, checked on every run so that a change of the oracle or of the harness shows). `differs`
    and `log_differs` say what nginx does where hapair does something else today: the case's tests are then
    expected to fail (strict xfail), until hapair is fixed and the reason removed."""

    name: str
    send: bytes | Conversation
    nginx: tuple[int, ...]
    reply: Reply = field(default_factory=ok)
    differs: str | None = None
    log_differs: str | None = None
    compare_log: bool = True  # False where the log line may come after the barrier (a client that timed out)

    @property
    def conversation(self) -> Conversation:
        return self.send if isinstance(self.send, Conversation) else Conversation([self.send])


@dataclass(frozen=True)
class SideResult:
    """One side's part of a case."""

    name: str
    port: int  # where this side listens: absolute redirects name it
    answer: Answer
    upstream: tuple[tuple[BackendConnection, bytes], ...]  # each backend connection and what it brought
    access: tuple[str, ...]  # the access-log lines of the case
    errors: str  # the error-log text the case added
    workers_before: frozenset[int]
    workers_after: frozenset[int]

    @property
    def requests(self) -> list[Message]:
        """What the backend received, read as requests (the last of a connection possibly cut short)."""
        return [request for _, data in self.upstream for request in parse_requests(data)]


@dataclass(frozen=True)
class Outcome:
    nginx: SideResult
    hapair: SideResult

    def sides(self) -> tuple[SideResult, SideResult]:
        return self.nginx, self.hapair


class Side:
    """One implementation, its backend and its files; `exchange` runs a case through them."""

    def __init__(self, implementation: Implementation, directory: Path, text: str) -> None:
        self.implementation = implementation
        self.directory = directory
        self.backend = RecordingBackend()
        self._barriers = itertools.count(1)
        text = text.replace(BACKEND, str(self.backend.port))
        try:
            self._start(text)
        except BaseException:
            self.backend.stop()
            raise

    def _start(self, text: str) -> None:
        """The implementation on a free port, ready. A port free when it was picked may be taken before the
        implementation binds it (an ephemeral port of another connection on the machine, seen in a clean
        clone's run): then again on another."""
        for attempt in range(1, START_TRIES + 1):
            self.port = free_port()
            self.process = Process(self.implementation, self.directory, text.replace(LISTEN, str(self.port)))
            try:
                self._wait_ready()
                return
            except BaseException as error:
                self.process.stop()
                taken = "Address already in use" in self.process.console()
                if not isinstance(error, AssertionError) or not taken or attempt == START_TRIES:
                    raise

    @property
    def name(self) -> str:
        return self.implementation.name

    @property
    def access_path(self) -> Path:
        return self.directory / "access.log"

    @property
    def error_path(self) -> Path:
        return self.directory / "error.log"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if not self.process.running():
                raise AssertionError(f"{self.name} exited at start:\n{self.process.console()}")
            try:
                self.barrier(timeout=1.0)
                return
            except (OSError, AssertionError):
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.02)

    def barrier(self, timeout: float = BARRIER_TIMEOUT_S) -> None:
        """A request through the proxy, answered by the backend and logged: what came before it is done."""
        target = BARRIER_PREFIX + str(next(self._barriers)).encode()
        request = b"GET %b HTTP/1.0\r\nHost: barrier\r\n\r\n" % target
        answer = converse(self.port, Conversation([request], timeout=timeout))
        assert answer.statuses == [200], f"{self.name}: barrier answered {answer.raw!r}"
        marker = f" {target.decode()} "
        deadline = time.monotonic() + timeout
        while marker not in read_from(self.access_path, 0):
            assert time.monotonic() < deadline, f"{self.name}: the barrier was not logged"
            time.sleep(0.002)

    def exchange(self, conversation: Conversation, reply: Reply | Callable[[Message], Reply]) -> SideResult:
        self.backend.script = reply if callable(reply) else (lambda _: reply)
        mark = self.backend.mark()
        access_offset = file_size(self.access_path)
        error_offset = file_size(self.error_path)
        workers_before = frozenset(self.process.worker_pids())
        answer = converse(self.port, conversation)
        self.barrier()
        lines = read_from(self.access_path, access_offset).splitlines()
        case_lines = list(itertools.takewhile(lambda line: f" {BARRIER_PREFIX.decode()}" not in line, lines))
        return SideResult(
            name=self.name,
            port=self.port,
            answer=answer,
            upstream=tuple(self.backend.bytes_since(mark)),
            access=tuple(case_lines),
            errors=read_from(self.error_path, error_offset),
            workers_before=workers_before,
            workers_after=frozenset(self.process.worker_pids()),
        )

    def close(self) -> None:
        self.process.stop()
        self.backend.stop()


class Pair:
    """nginx and hapair on one configuration text (with LISTEN and BACKEND placeholders)."""

    def __init__(self, directory: Path, text: str) -> None:
        self._outcomes: dict[str, Outcome] = {}
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="side")
        sides: list[Side] = []
        try:
            for implementation in IMPLEMENTATIONS:
                sides.append(Side(implementation, directory / implementation.name, text))
        except BaseException:
            for side in sides:
                side.close()
            self._pool.shutdown()
            raise
        self.nginx, self.hapair = sides

    def exchange(
        self, data: bytes | Conversation, reply: Reply | Callable[[Message], Reply] | None = None
    ) -> Outcome:
        """Run one case through both sides at once."""
        conversation = data if isinstance(data, Conversation) else Conversation([data])
        script = reply if reply is not None else ok()
        nginx = self._pool.submit(self.nginx.exchange, conversation, script)
        hapair = self._pool.submit(self.hapair.exchange, conversation, script)
        return Outcome(nginx.result(), hapair.result())

    def run(self, case: Case) -> Outcome:
        """The case's outcome, run once per pair: the tests of its answer and of its log share it."""
        if case.name not in self._outcomes:
            self._outcomes[case.name] = self.exchange(case.conversation, case.reply)
        return self._outcomes[case.name]

    def close(self) -> None:
        for side in (self.nginx, self.hapair):
            side.close()
        self._pool.shutdown()
