"""Client sessions through a running stream service on loopback: connecting with retries, relaying,
half-close, timeouts, and what each session logs."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import socket
from pathlib import Path

import pytest

from hapair.proxy.stream import native, serve_stream

from .helpers import (
    Backend,
    access_log,
    config,
    dead_port,
    echo,
    error_log,
    listening_port,
    poll,
    run,
    says,
    silent,
    stream_server,
    upstream_server,
)

UPSTREAM_FORMAT = (
    "$status $upstream_addr $upstream_connect_time $bytes_sent $bytes_received "
    "$upstream_bytes_sent $upstream_bytes_received $session_time"
)


async def exchange(port: int, payload: bytes = b"", *, eof: bool = True) -> bytes:
    """Connect, send `payload` (then EOF), and read until the proxy closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    if eof:
        writer.write_eof()
    data = await reader.read()
    writer.close()
    return data


def log_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def first_byte(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = await reader.readexactly(1)
    writer.close()
    return data


def test_round_robin_alternates_between_two_backends() -> None:
    async def scenario() -> list[bytes]:
        async with Backend(says(b"a")) as a, Backend(says(b"b")) as b:
            service = await serve_stream(
                config(stream_server([upstream_server(a.port), upstream_server(b.port)]))
            )
            answers = [await first_byte(listening_port(service)) for _ in range(4)]
            service.abort()
            await service.wait_closed()
            return answers

    assert run(scenario()) == [b"a", b"b", b"a", b"b"]


@pytest.mark.parametrize(
    ("splice", "native_relay"),
    [(True, True), (True, False), (False, False)],
    ids=["native", "splice", "copy"],
)
def test_megabytes_both_ways_arrive_intact(
    splice: bool, native_relay: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not native_relay:
        monkeypatch.setattr(native, "EXTENSION", None)
    payload = os.urandom(8 << 20)

    async def scenario() -> bytes:
        async with Backend(echo) as backend:
            service = await serve_stream(
                config(stream_server([upstream_server(backend.port)])), half_close=True, splice=splice
            )
            answer = await exchange(listening_port(service), payload)
            service.close()
            await service.wait_closed()
            return answer

    assert hashlib.sha256(run(scenario())).digest() == hashlib.sha256(payload).digest()


def test_splice_path_carries_the_bytes(python_relay: None, splices: list[int]) -> None:
    payload = os.urandom(2 << 20)

    async def scenario() -> bytes:
        async with Backend(echo) as backend:
            service = await serve_stream(
                config(stream_server([upstream_server(backend.port)])), half_close=True
            )
            answer = await exchange(listening_port(service), payload)
            service.close()
            await service.wait_closed()
            return answer

    assert run(scenario()) == payload
    assert 0 < sum(splices) <= 4 * len(payload)  # bulk: in and out of a pipe, each way


@pytest.mark.skipif(native.EXTENSION is None, reason="the native relay is not built")
def test_a_plain_session_goes_to_the_native_relay_which_splices_bulk(splices: list[int]) -> None:
    payload = os.urandom(2 << 20)

    async def scenario() -> tuple[bytes, int]:
        async with Backend(echo) as backend:
            service = await serve_stream(
                config(stream_server([upstream_server(backend.port)])), half_close=True
            )
            answer = await exchange(listening_port(service), payload)
            relay = service.native_relay()
            assert relay is not None
            pipes = relay.pipes_made
            service.close()
            await service.wait_closed()
            return answer, pipes

    answer, pipes = run(scenario())
    assert answer == payload
    assert pipes == 2  # one each way: the echo's bulk spliced by the thread
    assert splices == []  # not by relay.py


def test_copy_path_never_splices(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: int, **kwargs: int) -> int:
        raise AssertionError("splice used")

    monkeypatch.setattr(os, "splice", forbidden)
    payload = os.urandom(1 << 20)

    async def scenario() -> bytes:
        async with Backend(echo) as backend:
            service = await serve_stream(
                config(stream_server([upstream_server(backend.port)])), half_close=True, splice=False
            )
            answer = await exchange(listening_port(service), payload)
            service.close()
            await service.wait_closed()
            return answer

    assert run(scenario()) == payload


async def count_then_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read to EOF, then answer with the digest of what came."""
    digest = hashlib.sha256(await reader.read()).hexdigest().encode()
    writer.write(digest)
    await writer.drain()


def test_half_close_passes_the_clients_eof_and_the_answer_back() -> None:
    payload = os.urandom(3 << 20)

    async def scenario() -> bytes:
        async with Backend(count_then_answer) as backend:
            service = await serve_stream(
                config(stream_server([upstream_server(backend.port)])), half_close=True
            )
            answer = await exchange(listening_port(service), payload)
            service.close()
            await service.wait_closed()
            return answer

    assert run(scenario()) == hashlib.sha256(payload).hexdigest().encode()


def test_without_half_close_the_clients_eof_ends_the_session_as_nginx(tmp_path: Path) -> None:
    log = tmp_path / "access.log"

    async def scenario() -> bytes:
        async with Backend(count_then_answer) as backend:
            logs = (access_log(log, "$status $bytes_sent $bytes_received $upstream_bytes_sent"),)
            service = await serve_stream(config(stream_server([upstream_server(backend.port)], logs=logs)))
            answer = await exchange(listening_port(service), b"hello")
            service.close()
            await service.wait_closed()
            return answer

    assert run(scenario()) == b""
    assert log_lines(log) == ["200 0 5 5"]  # what nginx 1.22 logs for the same exchange


def test_dead_backend_is_skipped_without_a_client_error(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    dead = dead_port()
    fields = "$status|$upstream_addr|$upstream_connect_time|$bytes_received|$upstream_bytes_sent"

    async def scenario() -> tuple[list[bytes], int]:
        async with Backend(echo) as live:
            backends = [upstream_server(dead), upstream_server(live.port)]
            server = stream_server(backends, logs=(access_log(log, fields),))
            service = await serve_stream(config(server), half_close=True)
            answers = [await exchange(listening_port(service), b"ping %d" % i) for i in range(3)]
            service.close()
            await service.wait_closed()
            return answers, live.port

    answers, live = run(scenario())
    assert answers == [b"ping 0", b"ping 1", b"ping 2"]
    lines = [line.split("|") for line in log_lines(log)]
    assert [line[1] for line in lines] == [f"127.0.0.1:{dead}, 127.0.0.1:{live}"] + [f"127.0.0.1:{live}"] * 2
    assert re.fullmatch(r"-, \d+\.\d{3}", lines[0][2])  # no connect time for the refused try
    assert [line[3:] for line in lines] == [["6", "0, 6"], ["6", "6"], ["6", "6"]]
    assert {line[0] for line in lines} == {"200"}


def test_no_live_upstream_gives_502_and_names_the_upstream(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    dead_a, dead_b = dead_port(), dead_port()

    async def scenario() -> list[bytes]:
        backends = [upstream_server(dead_a), upstream_server(dead_b)]
        logs = (access_log(log, "$status $upstream_addr $upstream_connect_time"),)
        service = await serve_stream(config(stream_server(backends, logs=logs)))
        answers = [await exchange(listening_port(service), eof=False) for _ in range(2)]
        service.close()
        await service.wait_closed()
        return answers

    assert run(scenario()) == [b"", b""]
    assert log_lines(log) == [
        f"502 127.0.0.1:{dead_a}, 127.0.0.1:{dead_b} -, -",
        "502 backends -",
    ]


def test_a_refused_connection_is_logged_in_the_servers_error_log_as_nginx_logs_it(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    dead = dead_port()

    async def scenario() -> None:
        server = stream_server([upstream_server(dead)], error_logs=(error_log(log),))
        service = await serve_stream(config(server))
        await exchange(listening_port(service), eof=False)
        service.close()
        await service.wait_closed()

    run(scenario())
    [line] = log_lines(log)
    # recorded from nginx 1.22.1 (with its own ports): *1 connect() failed (111: Connection refused) while
    # connecting to upstream, client: 127.0.0.1, server: 127.0.0.1:29000, upstream: "127.0.0.1:9", bytes
    # from/to client:0/0, bytes from/to upstream:0/0
    text = (
        "connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1,"
        f' server: 127.0.0.1:0, upstream: "127.0.0.1:{dead}", bytes from/to client:0/0,'
        " bytes from/to upstream:0/0"
    )
    expected = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[error\] \d+#\d+: \*\d+ " + re.escape(text)
    assert re.fullmatch(expected, line), line


def black_hole() -> tuple[socket.socket, socket.socket]:
    """A listener whose accept queue is full: further connection attempts get no answer."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname())
    return listener, filler


def test_connect_timeout_moves_on_to_the_next_peer(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    listener, filler = black_hole()
    hole = listener.getsockname()[1]

    async def scenario() -> tuple[bytes, float, int]:
        async with Backend(echo) as live:
            backends = [upstream_server(hole), upstream_server(live.port)]
            server = stream_server(backends, connect_timeout=200, logs=(access_log(log, "$upstream_addr"),))
            service = await serve_stream(config(server), half_close=True)
            loop = asyncio.get_running_loop()
            started = loop.time()
            answer = await exchange(listening_port(service), b"hello")
            elapsed = loop.time() - started
            service.close()
            await service.wait_closed()
            return answer, elapsed, live.port

    try:
        answer, elapsed, live = run(scenario())
    finally:
        filler.close()
        listener.close()
    assert answer == b"hello"
    assert 0.19 <= elapsed < 1.5
    assert log_lines(log) == [f"127.0.0.1:{hole}, 127.0.0.1:{live}"]


def test_connect_timeout_of_the_only_peer_gives_502(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    listener, filler = black_hole()

    async def scenario() -> bytes:
        server = stream_server(
            [upstream_server(listener.getsockname()[1])],
            connect_timeout=100,
            logs=(access_log(log, "$status $upstream_connect_time"),),
        )
        service = await serve_stream(config(server))
        answer = await exchange(listening_port(service), eof=False)
        service.close()
        await service.wait_closed()
        return answer

    try:
        assert run(scenario()) == b""
    finally:
        filler.close()
        listener.close()
    assert log_lines(log) == ["502 -"]


def test_proxy_timeout_cuts_an_idle_session(tmp_path: Path) -> None:
    log = tmp_path / "access.log"

    async def scenario() -> tuple[bytes, float]:
        async with Backend(silent) as backend:
            logs = (access_log(log, "$status $session_time"),)
            service = await serve_stream(
                config(stream_server([upstream_server(backend.port)], timeout=200, logs=logs))
            )
            loop = asyncio.get_running_loop()
            started = loop.time()
            answer = await exchange(listening_port(service), eof=False)
            elapsed = loop.time() - started
            service.close()
            await service.wait_closed()
            return answer, elapsed

    answer, elapsed = run(scenario())
    assert answer == b""
    assert 0.19 <= elapsed < 1.0
    status, session_time = log_lines(log)[0].split()
    assert status == "200"
    assert 0.19 <= float(session_time) < 1.0


def test_proxy_timeout_counts_from_the_last_activity() -> None:
    async def talk_slowly(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(5):
            await asyncio.sleep(0.1)
            writer.write(b".")
            await writer.drain()

    async def scenario() -> bytes:
        async with Backend(talk_slowly) as backend:
            service = await serve_stream(config(stream_server([upstream_server(backend.port)], timeout=300)))
            answer = await exchange(listening_port(service), eof=False)
            service.close()
            await service.wait_closed()
            return answer

    assert run(scenario()) == b"....."  # 0.5 s in all, never 0.3 s idle


def test_upstream_variables_are_logged_as_nginx_prints_them(tmp_path: Path) -> None:
    log = tmp_path / "access.log"

    async def scenario() -> int:
        async with Backend(echo) as backend:
            logs = (access_log(log, UPSTREAM_FORMAT + " $upstream_first_byte_time $upstream_session_time"),)
            service = await serve_stream(
                config(stream_server([upstream_server(backend.port)], logs=logs)), half_close=True
            )
            await exchange(listening_port(service), b"0123456789")
            service.close()
            await service.wait_closed()
            return backend.port

    port = run(scenario())
    fields = log_lines(log)[0].split()
    assert fields[:2] == ["200", f"127.0.0.1:{port}"]
    assert fields[3:7] == ["10", "10", "10", "10"]
    for seconds in (fields[2], fields[7], fields[8], fields[9]):
        whole, _, millis = seconds.partition(".")
        assert whole.isdigit() and len(millis) == 3 and millis.isdigit()


def test_balancer_counts_connections_while_sessions_last() -> None:
    async def scenario() -> tuple[int, int]:
        async with Backend(silent) as backend:
            service = await serve_stream(config(stream_server([upstream_server(backend.port)])))
            _, writer = await asyncio.open_connection("127.0.0.1", listening_port(service))
            await poll(lambda: backend.connections == 1)
            (session,) = service.sessions
            balancer = session._settings.group.balancer
            during = balancer.connections(balancer.peers[0])
            writer.close()
            await poll(lambda: not service.sessions)
            after = balancer.connections(balancer.peers[0])
            service.close()
            await service.wait_closed()
            return during, after

    assert run(scenario()) == (1, 0)


@pytest.mark.parametrize("native_relay", [True, False], ids=["native", "relay.py"])
def test_an_aborted_session_logs_what_it_relayed(
    native_relay: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not native_relay:
        monkeypatch.setattr(native, "EXTENSION", None)
    log = tmp_path / "access.log"

    async def scenario() -> bytes:
        async with Backend(echo) as backend:
            logs = (access_log(log, "$status $bytes_sent $bytes_received $upstream_bytes_sent"),)
            service = await serve_stream(config(stream_server([upstream_server(backend.port)], logs=logs)))
            reader, writer = await asyncio.open_connection("127.0.0.1", listening_port(service))
            writer.write(b"hello")
            echoed = await reader.readexactly(5)
            service.abort()  # SIGTERM: the session ends while relaying
            await service.wait_closed()
            rest = await reader.read()
            writer.close()
            return echoed + rest

    assert run(scenario()) == b"hello"
    assert log_lines(log) == ["200 5 5 5"]
