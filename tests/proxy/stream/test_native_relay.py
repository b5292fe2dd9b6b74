"""The native relay's thread (_native_relay.c) by itself, between loopback sockets: what it moves, how a
session ends, what it counts, and remove()."""

from __future__ import annotations

import hashlib
import os
import select
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from hapair.proxy.stream.native import EXTENSION

pytestmark = pytest.mark.skipif(EXTENSION is None, reason="the native relay is not built")
WAIT_S = 10.0  # for what must come: a failure, not a pause, when it does not
SMALL = b"GET / HTTP/1.1\r\n\r\n"


@pytest.fixture
def relay() -> Iterator[Any]:
    assert EXTENSION is not None
    relay = EXTENSION.Relay()
    yield relay
    relay.close()


def tcp_pair() -> tuple[socket.socket, socket.socket]:
    """(the peer's end, the relay's end, non-blocking)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        peer = socket.create_connection(server.getsockname())
        near, _ = server.accept()
    near.setblocking(False)
    peer.settimeout(WAIT_S)
    return peer, near


class Session:
    """client peer -> [client end ==relay== upstream end] -> upstream peer."""

    def __init__(self, *, unix: bool = False) -> None:
        if unix:
            self.client, self.client_end = socket.socketpair()
            self.upstream, self.upstream_end = socket.socketpair()
            for end in (self.client_end, self.upstream_end):
                end.setblocking(False)
            for peer in (self.client, self.upstream):
                peer.settimeout(WAIT_S)
        else:
            self.client, self.client_end = tcp_pair()
            self.upstream, self.upstream_end = tcp_pair()

    def add(
        self,
        relay: Any,
        timeout_ms: int = 60_000,
        *,
        half_close: bool = False,
        first: bytes = b"",
    ) -> int:
        ends = self.client_end.fileno(), self.upstream_end.fileno()
        handle: int = relay.add(*ends, timeout_ms, half_close, first)
        return handle

    def close(self) -> None:
        for sock in (self.client, self.client_end, self.upstream, self.upstream_end):
            sock.close()


@pytest.fixture
def session() -> Iterator[Session]:
    session = Session()
    yield session
    session.close()


def receive(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        assert chunk, f"EOF after {len(data)} of {count} bytes"
        data += chunk
    return data


def finished(relay: Any, count: int = 1) -> list[tuple[int, ...]]:
    """The next `count` sessions to end, awaited on the notify fd."""
    ended: list[tuple[int, ...]] = []
    while len(ended) < count:
        readable, _, _ = select.select([relay.notify_fd], [], [], WAIT_S)
        assert readable, f"{len(ended)} of {count} sessions ended"
        ended += relay.finished()
    return ended


def test_small_messages_go_both_ways_and_are_counted(relay: Any, session: Session) -> None:
    handle = session.add(relay)
    for _ in range(100):
        session.client.sendall(SMALL)
        assert receive(session.upstream, len(SMALL)) == SMALL
        session.upstream.sendall(b"OK")
        assert receive(session.client, 2) == b"OK"
    session.client.shutdown(socket.SHUT_WR)
    [(ended, status, client_in, client_out, upstream_in, upstream_out, first_byte, errno)] = finished(relay)
    assert (ended, status, errno) == (handle, 200, 0)
    sent = 100 * len(SMALL)
    assert (client_in, client_out, upstream_in, upstream_out) == (sent, 200, 200, sent)
    assert 0 < first_byte < WAIT_S


def test_the_bytes_after_urgent_data_are_relayed_without_more_coming(relay: Any, session: Session) -> None:
    session.client.sendall(b"abc")
    session.client.send(b"!", socket.MSG_OOB)  # a read stops short before it: the source is not drained
    session.client.sendall(b"def")
    session.add(relay)
    assert receive(session.upstream, 6) == b"abcdef"  # the urgent byte is not inline: nginx skips it too
    session.client.shutdown(socket.SHUT_WR)
    [result] = finished(relay)
    assert result[2] == result[5] == 6


def test_the_bytes_handed_over_go_first_and_count_as_sent(relay: Any, session: Session) -> None:
    session.add(relay, first=b"PROXY UNKNOWN\r\n")
    session.client.sendall(SMALL)
    expected = b"PROXY UNKNOWN\r\n" + SMALL
    assert receive(session.upstream, len(expected)) == expected
    session.client.shutdown(socket.SHUT_WR)
    [result] = finished(relay)
    assert result[2:6] == (len(SMALL), 0, 0, len(expected))
    assert result[6] == -1.0  # nothing came from the upstream


@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
def test_a_bulk_transfer_is_spliced_and_arrives_whole(relay: Any, unix: bool) -> None:
    session = Session(unix=unix)
    payload = os.urandom(16 << 20)
    received = hashlib.sha256()
    count = 0

    def drain() -> None:
        nonlocal count
        while chunk := session.upstream.recv(1 << 20):
            received.update(chunk)
            count += len(chunk)

    try:
        session.add(relay, half_close=True)
        reader = threading.Thread(target=drain)
        reader.start()
        session.client.sendall(payload)
        session.client.shutdown(socket.SHUT_WR)
        reader.join(WAIT_S)  # the relay passes the EOF on once all is sent
        assert not reader.is_alive()
        session.upstream.shutdown(socket.SHUT_WR)
        [result] = finished(relay)
    finally:
        session.close()
    assert (count, received.digest()) == (len(payload), hashlib.sha256(payload).digest())
    assert result[1] == 200
    assert result[2] == result[5] == len(payload)
    assert relay.pipes_made == 1


def test_without_half_close_the_first_eof_ends_the_session(relay: Any, session: Session) -> None:
    handle = session.add(relay)
    session.upstream.sendall(b"bye")
    session.upstream.shutdown(socket.SHUT_WR)
    assert receive(session.client, 3) == b"bye"
    [result] = finished(relay)
    assert result[:2] == (handle, 200)
    assert result[4] == 3


def test_with_half_close_the_eof_is_passed_on_and_the_session_ends_with_both(
    relay: Any, session: Session
) -> None:
    session.add(relay, half_close=True)
    session.client.sendall(SMALL)
    session.client.shutdown(socket.SHUT_WR)
    assert receive(session.upstream, len(SMALL)) == SMALL
    assert session.upstream.recv(1) == b""  # the client's EOF, passed on
    assert relay.finished() == []  # the other way is still open
    session.upstream.sendall(b"answer")
    session.upstream.shutdown(socket.SHUT_WR)
    assert receive(session.client, 6) == b"answer"
    [result] = finished(relay)  # the second EOF ends it: closing the sockets passes that one on
    assert result[1:6] == (200, len(SMALL), 6, 6, len(SMALL))


def test_a_session_idle_for_its_timeout_ends(relay: Any, session: Session) -> None:
    quiet = Session()
    try:
        lasting = quiet.add(relay, timeout_ms=60_000)
        handle = session.add(relay, timeout_ms=50)
        session.client.sendall(SMALL)
        assert receive(session.upstream, len(SMALL)) == SMALL
        [result] = finished(relay)
        assert result[:2] == (handle, 200)
        assert result[2] == len(SMALL)
        assert relay.remove(lasting)[1] == 0  # the other session was still relaying
    finally:
        quiet.close()


def test_a_reset_from_the_upstream_ends_the_session_as_an_eof(relay: Any, session: Session) -> None:
    session.add(relay)
    session.upstream.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    session.upstream.close()
    [result] = finished(relay)
    assert result[1:6] == (200, 0, 0, 0, 0)


def test_a_failed_send_ends_the_session(relay: Any, session: Session) -> None:
    session.add(relay)
    session.upstream.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    session.upstream.close()  # the relay's end is reset: sending the client's bytes fails
    session.client.sendall(SMALL)
    [result] = finished(relay)
    assert result[1] == 200
    assert result[5] == 0


def test_remove_while_relaying_lets_go_of_the_sockets(relay: Any, session: Session) -> None:
    handle = session.add(relay)
    session.client.sendall(SMALL)
    assert receive(session.upstream, len(SMALL)) == SMALL
    result = relay.remove(handle)
    assert result[:6] == (handle, 0, len(SMALL), 0, 0, len(SMALL))  # 0: ended by remove()
    session.client.sendall(b"after")
    readable, _, _ = select.select([session.client_end], [], [], WAIT_S)
    assert readable
    assert session.client_end.recv(10) == b"after"  # left where it came: the relay no longer reads it
    assert relay.finished() == []
    with pytest.raises(KeyError):
        relay.remove(handle)


def test_remove_of_a_session_that_ended_takes_it_from_the_finished_ones(relay: Any, session: Session) -> None:
    handle = session.add(relay)
    session.client.shutdown(socket.SHUT_WR)
    readable, _, _ = select.select([relay.notify_fd], [], [], WAIT_S)
    assert readable
    assert relay.remove(handle)[:2] == (handle, 200)
    assert relay.finished() == []
    assert relay.sessions == 0


def test_a_thousand_sessions_at_once(relay: Any) -> None:
    sessions = [Session(unix=True) for _ in range(1000)]
    try:
        handles = {session.add(relay) for session in sessions}
        for session in sessions:
            session.client.sendall(SMALL)
        for session in sessions:
            assert receive(session.upstream, len(SMALL)) == SMALL
            session.upstream.sendall(b"OK")
        for session in sessions:
            assert receive(session.client, 2) == b"OK"
            session.client.shutdown(socket.SHUT_WR)
        results = finished(relay, 1000)
    finally:
        for session in sessions:
            session.close()
    assert {result[0] for result in results} == handles
    assert {result[1:6] for result in results} == {(200, len(SMALL), 2, 2, len(SMALL))}
    assert relay.sessions == 0


def test_a_closed_relay_refuses_sessions(relay: Any, session: Session) -> None:
    relay.close()
    with pytest.raises(ValueError, match="closed"):
        session.add(relay)
