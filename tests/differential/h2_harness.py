"""The differential harness for HTTP/2: nginx and hapair on the same configuration text, an HTTP/2
client (tests/proxy/http2/client.py, the `h2` library) sending the same streams to both, and per side
what each stream got (status, headers, body, or its reset), the GOAWAY, the access-log lines, the error
log and what the backend received.

The configuration has `@H2@` where the HTTP/2 listener's port goes (replaced per side), and `@H2S@`
for an `ssl http2` one, beside the harness's `@LISTEN@` (plain HTTP/1.x, which the barrier uses) and
`@BACKEND@`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from hapair.proxy.http.h2.encoding import string
from tests.proxy.http2.client import H2Client, Response

from .backend import BARRIER_PREFIX, Reply, ok
from .client import Answer
from .compare import _LOG_LINE, SERVER_TOKENS, documented_upstream_differences
from .harness import Side, SideResult, file_size, free_port, read_from
from .servers import IMPLEMENTATIONS

T = TypeVar("T")
H2 = "@H2@"
H2S = "@H2S@"
Header = tuple[bytes, bytes]


@dataclass(frozen=True)
class Stream:
    """One request: its header list as sent (pseudo-headers included), its body, and whether the
    client resets the stream once it has sent it."""

    headers: tuple[Header, ...]
    body: bytes = b""
    reset: bool = False

    @classmethod
    def get(cls, path: str = "/", *more: Header, method: str = "GET", body: bytes = b"") -> Stream:
        pseudo = ((b":method", method.encode()), (b":scheme", b"http"), (b":path", path.encode()))
        return cls((*pseudo, (b":authority", b"h2.test"), *more), body)


@dataclass(frozen=True)
class H2Case:
    """Streams sent together on one connection, and what nginx was seen to answer on each (a status,
    or `-N` for a reset with code N)."""

    name: str
    streams: tuple[Stream, ...]
    nginx: tuple[int, ...]
    reply: Reply = field(default_factory=ok)
    differs: str | None = None
    log_differs: str | None = None


@dataclass(frozen=True)
class StreamResult:
    status: int  # -N: reset with code N
    headers: tuple[Header, ...]  # without server and date
    body: bytes
    trailers: tuple[Header, ...]
    sized: tuple[bytes, ...]  # the Server, Date and Location values, whose HPACK sizes $bytes_sent counts


@dataclass(frozen=True)
class H2SideResult:
    streams: tuple[StreamResult, ...]
    goaway: int | None
    side: SideResult  # the access-log lines, the error log, what the backend received

    @property
    def statuses(self) -> tuple[int, ...]:
        return tuple(stream.status for stream in self.streams)


class H2Side(Side):
    """One implementation with an HTTP/2 listener beside the plain one."""

    def __init__(self, implementation: object, directory: Path, text: str) -> None:
        self.h2_port, self.tls_port = free_port(), free_port()
        text = text.replace(H2, str(self.h2_port)).replace(H2S, str(self.tls_port))
        super().__init__(implementation, directory, text)  # type: ignore[arg-type]

    def observe(self, act: Callable[[H2Side], T]) -> tuple[T, SideResult]:
        """What `act` returns, and the case's access-log lines, error log and upstream requests."""
        mark = self.backend.mark()
        access_offset = file_size(self.access_path)
        error_offset = file_size(self.error_path)
        workers_before = frozenset(self.process.worker_pids())
        got = act(self)
        self.barrier()
        lines = read_from(self.access_path, access_offset).splitlines()
        case_lines = list(itertools.takewhile(lambda line: f" {BARRIER_PREFIX.decode()}" not in line, lines))
        side = SideResult(
            name=self.name,
            port=self.h2_port,
            answer=Answer(
                b"", (), b"", closed=False, reset=False, timed_out=False, elapsed=0.0, finished=0.0
            ),
            upstream=tuple(self.backend.bytes_since(mark)),
            access=tuple(case_lines),
            errors=read_from(self.error_path, error_offset),
            workers_before=workers_before,
            workers_after=frozenset(self.process.worker_pids()),
        )
        return got, side

    def h2_exchange(self, case: H2Case) -> H2SideResult:
        self.backend.script = lambda _: case.reply
        mark = self.backend.mark()
        access_offset = file_size(self.access_path)
        error_offset = file_size(self.error_path)
        workers_before = frozenset(self.process.worker_pids())
        streams, goaway = asyncio.run(self._converse(case))
        self.barrier()
        lines = read_from(self.access_path, access_offset).splitlines()
        case_lines = list(itertools.takewhile(lambda line: f" {BARRIER_PREFIX.decode()}" not in line, lines))
        side = SideResult(
            name=self.name,
            port=self.h2_port,
            answer=Answer(
                b"", (), b"", closed=False, reset=False, timed_out=False, elapsed=0.0, finished=0.0
            ),
            upstream=tuple(self.backend.bytes_since(mark)),
            access=tuple(case_lines),
            errors=read_from(self.error_path, error_offset),
            workers_before=workers_before,
            workers_after=frozenset(self.process.worker_pids()),
        )
        return H2SideResult(streams, goaway, side)

    async def _converse(self, case: H2Case) -> tuple[tuple[StreamResult, ...], int | None]:
        client = await H2Client.connect(self.h2_port)
        ids = []
        for stream in case.streams:
            stream_id = client.send_headers(list(stream.headers), end=not stream.body)
            if stream.body:
                await client.upload(stream_id, stream.body)
            if stream.reset:
                client.reset(stream_id)
            ids.append(stream_id)
        results = []
        for stream_id, stream in zip(ids, case.streams, strict=True):
            response = client.responses[stream_id] if stream.reset else await client.response(stream_id)
            results.append(_result(response))
        await client.close()
        goaway = client.goaway
        return tuple(results), (None if goaway is None else int(goaway.error_code or 0))


def _result(response: Response) -> StreamResult:
    if response.reset is not None or not response.headers:
        return StreamResult(-(response.reset or 0), (), b"", (), ())
    kept = tuple((name, value) for name, value in response.headers if name not in (b"server", b"date"))
    sized = tuple(value for name, value in response.headers if name in (b"server", b"date", b"location"))
    return StreamResult(response.status, kept, bytes(response.body), tuple(response.trailers), sized)


class H2Pair:
    """nginx and hapair on one configuration text with an HTTP/2 listener."""

    def __init__(self, directory: Path, text: str) -> None:
        self._outcomes: dict[str, tuple[H2SideResult, H2SideResult]] = {}
        sides: list[H2Side] = []
        try:
            for implementation in IMPLEMENTATIONS:
                sides.append(H2Side(implementation, directory / implementation.name, text))
        except BaseException:
            for side in sides:
                side.close()
            raise
        self.nginx, self.hapair = sides

    def run(self, case: H2Case) -> tuple[H2SideResult, H2SideResult]:
        if case.name not in self._outcomes:
            self._outcomes[case.name] = (self.nginx.h2_exchange(case), self.hapair.h2_exchange(case))
        return self._outcomes[case.name]

    @property
    def sides(self) -> tuple[H2Side, H2Side]:
        return self.nginx, self.hapair

    def close(self) -> None:
        self.nginx.close()
        self.hapair.close()


def answers(result: H2SideResult) -> tuple[object, ...]:
    """What the client got, without Server and Date (docs/nginx-differences.md: the Server token) and
    with the side's own port written as LISTEN in a Location."""
    token = SERVER_TOKENS[result.side.name]
    signature = b"<center>%b</center>" % token
    own = b":%d/" % result.side.port
    streams = []
    for stream in result.streams:
        signed = signature in stream.body
        headers = []
        for name, value in stream.headers:
            if name == b"content-length" and signed:
                value = b"%d" % (int(value) - len(token))
            headers.append((name, value.replace(own, b":LISTEN/") if name == b"location" else value))
        body = stream.body.replace(signature, b"<center>SERVER</center>")
        streams.append((stream.status, tuple(headers), body, stream.trailers))
    return tuple(streams), result.goaway


def log_lines(result: H2SideResult) -> tuple[list[tuple[str, ...]], int]:
    """The access-log lines in fields, in order, without what the Server, Date and Location headers'
    values add to `$bytes_sent` (the token differs on purpose, the date may fall on another second, a
    Location names the side's own port); `$body_bytes_sent` less the token in an error page's
    signature. Streams answered together may end in another order, and the first HEADERS block of the
    connection may carry a table size update: for several streams, the lines are sorted and their
    `$bytes_sent` summed."""
    answered = [stream for stream in result.streams if stream.status > 0]
    fields = []
    for index, line in enumerate(result.side.access):
        match = _LOG_LINE.match(line)
        assert match is not None, f"unexpected access-log line {line!r}"
        status, body_sent, sent, length, request, host, upstream = match.groups()
        if index < len(answered):
            stream = answered[index]
            token = SERVER_TOKENS[result.side.name]
            pages = stream.body.count(b"<center>%b</center>" % token) * len(token)
            sent = str(int(sent) - sum(len(string(value)) for value in stream.sized) - pages)
            body_sent = str(int(body_sent) - pages)
        fields.append((status, body_sent, sent, length, request, host, upstream))
    if len(fields) < 2:
        return fields, 0
    total = sum(int(line[2]) for line in fields)
    return sorted(line[:2] + line[3:] for line in fields), total


def upstream(result: H2SideResult) -> list[object]:
    return list(documented_upstream_differences(result.side))
