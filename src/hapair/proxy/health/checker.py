"""The checks themselves: one asyncio task per `health_check` line, which checks every peer of its group
each `interval` (plus up to `jitter`), all peers at once, and writes each outcome to the board.

They run in one process per node (see the package's documentation). The error log gets NGINX Plus's
lines: the failure itself (`connect() failed (...) while connecting to upstream, health check "" of peer
... in upstream "..."`, error), `peer is unhealthy while ...` (warn) when a peer goes down, and hapair's
own `peer is healthy while checking ...` (notice) when it comes back.
"""

from __future__ import annotations

import asyncio
import errno
import os
from dataclasses import dataclass

from hapair.config.nginx.model.addresses import InetAddress, UnixAddress
from hapair.config.nginx.model.logging import ErrorLevel

from ..balancing import Peer
from ..errorlog import to_main_log
from .board import HEALTHY, UNHEALTHY, CheckSlots, HealthBoard
from .core import MAX_BODY, PeerRecord, expected, http_failure, parse_http_answer, recorded

_READ_LIMIT = MAX_BODY + 64 * 1024  # the head and the part of the body a check examines


@dataclass(frozen=True, slots=True)
class Outcome:
    """A check of one peer: None `failure` when it passed; else while doing what it failed (NGINX Plus's
    words) and the error line to log, if any."""

    failure: str | None
    error: str | None = None


class _CheckError(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.failure)
        self.outcome = outcome


class HealthChecker:
    """The checks of one board; `start()` on the running loop, `stop()` when the process stops serving."""

    def __init__(self, boards: list[HealthBoard]) -> None:
        self._boards = boards
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        for board in self._boards:
            for item in board.slots:
                self._tasks.append(loop.create_task(self._run(board, item)))

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    async def _run(self, board: HealthBoard, item: CheckSlots) -> None:
        check = item.check
        while True:
            await asyncio.gather(
                *(
                    self._check_peer(board, item, index)
                    for index, peer in enumerate(item.peers)
                    if not peer.down
                )
            )
            jitter = _jitter(check.jitter_ms) if check.jitter_ms else 0.0
            await asyncio.sleep((check.interval_ms + jitter) / 1000)

    async def _check_peer(self, board: HealthBoard, item: CheckSlots, index: int) -> None:
        peer = item.peers[index]
        check = item.check
        try:
            outcome = await asyncio.wait_for(self._probe(item, peer), check.timeout_ms / 1000)
        except TimeoutError:
            outcome = Outcome(
                "reading response from upstream",
                "upstream timed out (110: Connection timed out) while reading response from upstream",
            )
        slot = item.first + index
        fails, passes, checks = board.counters(slot)
        before = PeerRecord(board.state(slot), fails, passes, checks)
        after = recorded(before, check, outcome.failure is None)
        board.write(slot, after.state, after.fails, after.passes, after.checks)
        where = f', health check "{check.match_name}" of peer {peer.name} in upstream "{check.upstream.name}"'
        if outcome.error is not None:
            to_main_log(ErrorLevel.ERROR, outcome.error + where)
        if after.state == UNHEALTHY and before.state != UNHEALTHY:
            to_main_log(ErrorLevel.WARN, f"peer is unhealthy while {outcome.failure}{where}")
        elif after.state == HEALTHY and before.state != HEALTHY:
            doing = "checking response" if check.stream else "checking status code"
            to_main_log(ErrorLevel.NOTICE, f"peer is healthy while {doing}{where}")

    async def _probe(self, item: CheckSlots, peer: Peer) -> Outcome:
        check = item.check
        try:
            reader, writer = await _connect(peer, check.port)
        except OSError as error:
            code = error.errno or errno.ECONNREFUSED
            text = f"connect() failed ({code}: {os.strerror(code)}) while connecting to upstream"
            return Outcome("connecting to upstream", text)
        try:
            if check.stream:
                return await _stream_probe(item, reader, writer)
            return await _http_probe(item, reader, writer)
        except _CheckError as failed:
            return failed.outcome
        finally:
            writer.close()


async def _connect(peer: Peer, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    address = peer.address
    if isinstance(address, UnixAddress):
        return await asyncio.open_unix_connection(address.path)
    assert isinstance(address, InetAddress)
    return await asyncio.open_connection(str(address.ip), port or address.port)


async def _read_all(reader: asyncio.StreamReader) -> bytes:
    try:
        data = b""
        while len(data) < _READ_LIMIT:
            chunk = await reader.read(_READ_LIMIT - len(data))
            if not chunk:
                break
            data += chunk
        return data
    except OSError as error:
        code = error.errno or errno.ECONNRESET
        text = f"recv() failed ({code}: {os.strerror(code)}) while reading response from upstream"
        raise _CheckError(Outcome("reading response from upstream", text)) from error


async def _http_probe(
    item: CheckSlots, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> Outcome:
    check = item.check
    request = f"GET {check.uri} HTTP/1.0\r\nHost: {check.upstream.name}\r\nConnection: close\r\n\r\n"
    writer.write(request.encode("utf-8", "surrogateescape"))
    answer = parse_http_answer(await _read_all(reader))
    if answer is None:
        text = "upstream sent invalid response while reading response header from upstream"
        return Outcome("reading response header from upstream", text)
    return Outcome(http_failure(check.match, answer))


async def _stream_probe(
    item: CheckSlots, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> Outcome:
    match = item.check.match
    if match is None:
        return Outcome(None)
    if match.send:
        writer.write(match.send)
    if match.expect is None and match.expect_pattern is None:
        return Outcome(None)
    data = b""
    while not expected(match, data):
        chunk = await reader.read(_READ_LIMIT)
        if not chunk or len(data) >= _READ_LIMIT:
            return Outcome("checking response")
        data += chunk
    return Outcome(None)


def _jitter(most_ms: int) -> float:
    import random  # noqa: PLC0415 (imported by the master for the checks with a jitter: proxy/preload.py)

    return random.uniform(0, most_ms)
