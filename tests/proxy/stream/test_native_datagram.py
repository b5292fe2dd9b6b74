"""UDP sessions' socket work in C (_native_datagram.c): the extension by itself between loopback sockets
(answers, `proxy_responses`, timeouts, a refusing peer, remove, descriptors), then the service both ways,
through the extension and through datagram.py's own sockets (the fallback), with the same log lines."""

from __future__ import annotations

import asyncio
import errno
import select
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hapair.proxy.stream import native_datagram, serve_stream
from hapair.proxy.stream.datagram import Ended

from .helpers import poll, run
from .test_datagram import QUERY, Answering, Client, open_descriptors
from .test_phases import loaded

WAIT_S = 10.0  # for what must come: a failure, not a pause, when it does not
needs_extension = pytest.mark.skipif(native_datagram.EXTENSION is None, reason="the extension is not built")


@pytest.fixture
def sessions() -> Iterator[Any]:
    assert native_datagram.EXTENSION is not None
    made = native_datagram.EXTENSION.Datagrams()
    yield made
    made.close()


def udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(WAIT_S)
    return sock


class Ends:
    """The client, the listening socket its answers come from, and the peer, on loopback."""

    def __init__(self) -> None:
        self.client, self.listening, self.peer = udp(), udp(), udp()
        self.peer_address = self.peer.getsockname()
        self.session: tuple[str, int] | None = None  # the session's socket, as the peer sees it

    def add(self, sessions: Any, *, responses: int = 1, timeout_ms: int = 60_000) -> int:
        handle: int = sessions.add(
            self.listening.fileno(),
            socket.AF_INET,
            self.peer_address,
            self.client.getsockname(),
            b"",
            timeout_ms,
            responses,
            QUERY,
        )
        return handle

    def query(self) -> None:
        """A query at the peer, from the session's socket."""
        query, self.session = self.peer.recvfrom(100)
        assert query == QUERY

    def answer(self, *answers: bytes) -> None:
        assert self.session is not None
        for data in answers:
            self.peer.sendto(data, self.session)

    def answers(self, count: int) -> list[tuple[bytes, Any]]:
        return [self.client.recvfrom(100) for _ in range(count)]

    def close(self) -> None:
        for sock in (self.client, self.listening, self.peer):
            sock.close()


@pytest.fixture
def ends() -> Iterator[Ends]:
    made = Ends()
    yield made
    made.close()


def pump(sessions: Any, done: Callable[[list[Ended]], bool]) -> list[Ended]:
    """poll() whenever the epoll set is readable, until `done` says so of the sessions ended."""
    ended: list[Ended] = []
    deadline = time.monotonic() + WAIT_S
    while not done(ended):
        assert time.monotonic() < deadline, "pump: not done in time"
        select.select([sessions.fileno()], [], [], 0.05)
        ended.extend(sessions.poll())
    return ended


def one_ended(ended: list[Ended]) -> bool:
    return len(ended) == 1


def client_got(ends: Ends, count: int, got: list[bytes]) -> Callable[[list[Ended]], bool]:
    """Done once the client has received `count` datagrams (into `got`): they are sent on in poll()."""

    def done(_: list[Ended]) -> bool:
        while len(got) < count and select.select([ends.client], [], [], 0)[0]:
            got.append(ends.client.recv(100))
        return len(got) >= count

    return done


@needs_extension
def test_what_an_ended_session_counted_is_read_by_the_names_and_places_datagram_py_reads() -> None:
    assert native_datagram.EXTENSION is not None
    made = native_datagram.EXTENSION.Ended(range(len(Ended._fields)))
    assert isinstance(made, tuple)
    assert made.__match_args__ == Ended._fields
    assert [getattr(made, name) for name in Ended._fields] == list(range(len(Ended._fields)))


@needs_extension
def test_an_answer_goes_to_the_client_from_the_listening_socket_and_ends_the_session(
    sessions: Any, ends: Ends
) -> None:
    handle = ends.add(sessions)
    ends.query()
    ends.answer(b"answer", b"a copy")
    [ended] = pump(sessions, one_ended)
    assert type(ended) is native_datagram.EXTENSION.Ended
    assert ended[:7] == (handle, 200, 0, 1, 50, 6, 6)  # status, failed, responses, bytes to/from peer, sent
    assert 0 <= ended.first_byte_s <= ended.ended_s
    assert ended[9:] == (0, 0, 0, 0, 0)
    assert ends.answers(1) == [(b"answer", ends.listening.getsockname())]
    assert sessions.sessions == 0


@needs_extension
def test_with_proxy_responses_2_a_session_ends_at_the_second_answer_of_each_datagram(
    sessions: Any, ends: Ends
) -> None:
    handle = ends.add(sessions, responses=2)
    ends.query()
    assert sessions.send(handle, QUERY) == 50
    ends.query()
    ends.answer(b"1", b"2", b"3")
    got: list[bytes] = []
    assert pump(sessions, client_got(ends, 3, got)) == []  # 3 answers of the 4 awaited: going on
    assert got == [b"1", b"2", b"3"]
    ends.answer(b"4")
    [ended] = pump(sessions, one_ended)
    assert ended[1:7] == (200, 0, 4, 100, 4, 4)
    assert ends.answers(1) == [(b"4", ends.listening.getsockname())]


@needs_extension
@pytest.mark.parametrize(
    ("responses", "answers", "outcome"),
    [(1, 0, (502, 1, 0)), (-1, 1, (200, 0, 1)), (2, 1, (502, 1, 1))],
    ids=["unanswered", "no-proxy_responses", "answered-once-of-two"],
)
def test_a_session_idle_for_its_timeout_ends_with_502_unless_answered(
    sessions: Any, ends: Ends, responses: int, answers: int, outcome: tuple[int, int, int]
) -> None:
    ends.add(sessions, responses=responses, timeout_ms=50)
    ends.query()
    ends.answer(*[b"answer"] * answers)
    [ended] = pump(sessions, one_ended)
    assert ended[1:4] == outcome  # status, failed, responses
    assert ended.ended_s >= 0.05


def refusing(ends: Ends) -> None:
    """The peer's port unreachable: ICMP, then ECONNREFUSED on the session's socket."""
    ends.peer.close()


@needs_extension
def test_a_refusing_peer_counts_as_an_answer_and_a_failure(sessions: Any, ends: Ends) -> None:
    refusing(ends)
    ends.add(sessions)
    [ended] = pump(sessions, one_ended)
    assert ended[1:7] == (200, 1, 1, 50, 0, 0)
    assert ended[9:] == (0, errno.ECONNREFUSED, 50, 0, 0)  # no sendmsg error; refused, with the counts then


@needs_extension
def test_a_refused_session_expecting_more_answers_goes_on_until_its_timeout(
    sessions: Any, ends: Ends
) -> None:
    refusing(ends)
    ends.add(sessions, responses=2, timeout_ms=100)
    [ended] = pump(sessions, one_ended)
    assert ended[1:4] == (502, 1, 1)
    assert ended.refused_errno == errno.ECONNREFUSED


@needs_extension
def test_remove_ends_a_session_at_once_and_closes_its_socket(sessions: Any, ends: Ends) -> None:
    before = open_descriptors()
    handle = ends.add(sessions)
    assert open_descriptors() == before + 1
    ended = sessions.remove(handle)
    assert ended[:4] == (handle, 0, 0, 0)
    assert open_descriptors() == before
    assert sessions.sessions == 0
    with pytest.raises(KeyError):
        sessions.remove(handle)


@needs_extension
def test_a_failed_connect_is_the_callers_and_leaves_no_descriptor(sessions: Any, ends: Ends) -> None:
    before = open_descriptors()
    with pytest.raises(OSError) as raised:  # a broadcast address without SO_BROADCAST
        sessions.add(
            ends.listening.fileno(),
            socket.AF_INET,
            ("255.255.255.255", 9),
            ("127.0.0.1", 9),
            b"",
            1000,
            1,
            QUERY,
        )
    assert raised.value.filename == "connect"
    assert open_descriptors() == before
    assert sessions.sessions == 0


@needs_extension
def test_two_hundred_sessions_at_once_each_get_their_answer(sessions: Any, ends: Ends) -> None:
    handles = {ends.add(sessions) for _ in range(200)}  # within the peer's receive buffer
    for _ in range(200):
        query, source = ends.peer.recvfrom(100)
        ends.peer.sendto(query, source)
    ended = pump(sessions, lambda ended: len(ended) == 200)
    assert {one[0] for one in ended} == handles
    assert {one[1:7] for one in ended} == {(200, 0, 1, 50, 50, 50)}


# -- the service, through the extension and through datagram.py's sockets (the fallback)


@pytest.fixture(params=["native", "python"])
def native(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    if request.param == "python":
        monkeypatch.setattr(native_datagram, "EXTENSION", None)
    elif native_datagram.EXTENSION is None:
        pytest.skip("the extension is not built")
    return request.param == "native"


def through(
    tmp_path: Path, lines: str, *, copies: int = 1, queries: int = 1, peer: bool = True
) -> tuple[str, str]:
    """A client's `queries` through a UDP server with `lines` to a peer answering each `copies` times (or
    to a port no one listens on): the access log and the error log, once the session has ended."""
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as free:  # a port no one uses now
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        backend, _ = await loop.create_datagram_endpoint(
            lambda: Answering(copies), local_addr=("127.0.0.1", 0)
        )
        upstream_port = backend.get_extra_info("sockname")[1]
        if not peer:
            backend.close()
        stream = loaded(
            tmp_path,
            f"error_log {errors} info;\n"
            "log_format counts '$status $bytes_sent $bytes_received $upstream_bytes_sent "
            "$upstream_bytes_received';\n"
            f"server {{ listen 127.0.0.1:{port} udp; proxy_pass 127.0.0.1:{upstream_port}; {lines}\n"
            f"    access_log {access} counts; }}",
        )
        service = await serve_stream(stream)
        _, asking = await loop.create_datagram_endpoint(Client, local_addr=("127.0.0.1", 0))
        assert asking.transport is not None
        for _ in range(queries):
            asking.transport.sendto(QUERY, ("127.0.0.1", port))
        await poll(lambda: access.exists() and access.stat().st_size > 0)
        assert (service.native_choice.native() is not None) == (native_datagram.EXTENSION is not None)
        asking.transport.close()
        service.close()
        await service.wait_closed()
        backend.close()

    run(scenario())
    lines_written = (
        [line.partition(" [")[2] for line in errors.read_text().splitlines()] if errors.exists() else []
    )
    return access.read_text(), "\n".join(line for line in lines_written if "udp client" in line)


def test_a_session_of_two_queries_answered_once_each_times_out_expecting_two_each(
    tmp_path: Path, native: bool
) -> None:
    access, errors = through(tmp_path, "proxy_responses 2; proxy_timeout 100ms;", queries=2)
    assert access == "502 100 100 100 100\n"
    assert "upstream timed out (110: Connection timed out) while proxying connection, udp client:" in errors
    assert errors.endswith("bytes from/to client:100/100, bytes from/to upstream:100/100")


def test_a_session_without_proxy_responses_lasts_until_proxy_timeout(tmp_path: Path, native: bool) -> None:
    access, errors = through(tmp_path, "proxy_timeout 100ms;", queries=2)
    assert (access, errors) == ("200 100 100 100 100\n", "")


def test_an_unanswered_session_times_out_with_502_and_nginx_error_line(tmp_path: Path, native: bool) -> None:
    access, errors = through(tmp_path, "proxy_responses 1; proxy_timeout 100ms;", copies=0)
    assert access == "502 0 50 50 0\n"
    assert "upstream timed out (110: Connection timed out) while proxying connection, udp client:" in errors
    assert errors.endswith("bytes from/to client:50/0, bytes from/to upstream:0/50")


def test_a_refusing_peer_is_logged_as_nginx_does(tmp_path: Path, native: bool) -> None:
    access, errors = through(tmp_path, "proxy_responses 1;", peer=False)
    assert access == "200 0 50 50 0\n"
    assert (
        "recv() failed (111: Connection refused) while proxying and reading from upstream, udp client:"
        in errors
    )
    assert errors.endswith("bytes from/to client:50/0, bytes from/to upstream:0/50")
