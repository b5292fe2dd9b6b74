"""The client side over real sockets: keep-alive, pipelining, and every bad input gets nginx's answer
(checked against nginx 1.22.1: statuses, pages, and whether the connection is closed)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hapair.proxy.http.client import ClientConnection
from hapair.proxy.http.service import ListenerRoutes

from .harness import (
    FAST,
    Backend,
    FakeTransport,
    eventually,
    feed_client,
    free_port,
    ok,
    proxy,
    raw_exchange,
    read_config,
    read_response,
    run,
    service_without_zones,
)

CONF = """
upstream be {{ server 127.0.0.1:{backend}; }}
server {{
    listen 127.0.0.1:{port};
    client_max_body_size 1k;
    location / {{ access_log off; proxy_pass http://be; }}
}}
"""


SHORT = replace(FAST, client_header_timeout=0.5, client_body_timeout=0.5, keepalive_timeout=0.5)


def conf(port: int, backend: Backend) -> str:
    return CONF.format(port=port, backend=backend.port)


def status_line(data: bytes) -> bytes:
    return data.split(b"\r\n", 1)[0]


def test_keep_alive_serves_several_requests_on_one_connection(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok(b"hello")).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend)):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(3):
                writer.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                response = await read_response(reader)
                assert (response.status, response.body) == (200, b"hello")
                assert response.header("connection") == "keep-alive"
            writer.write(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            assert (await read_response(reader)).header("connection") == "keep-alive"
            writer.write(b"GET / HTTP/1.0\r\n\r\n")
            response = await read_response(reader)
            assert response.header("connection") == "close"
            assert await reader.read() == b""
            writer.close()
        backend.stop()

    run(scenario())


def test_pipelined_requests_are_answered_in_order(tmp_path: Path) -> None:
    async def answer(received, reader, writer):
        path = received.request_line.split()[1]
        if path == b"/slow":
            await asyncio.sleep(0.2)
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(path), path)

    async def scenario() -> None:
        backend = await Backend(answer).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend)):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            paths = [b"/slow", b"/a", b"/post", b"/c"]
            requests = [b"GET %b HTTP/1.1\r\nHost: a\r\n\r\n" % path for path in paths]
            requests[2] = b"POST /post HTTP/1.1\r\nHost: a\r\nContent-Length: 600\r\n\r\n" + b"p" * 300
            writer.write(b"".join(requests[:3]))
            await asyncio.sleep(0.05)  # the rest of the POST body comes while /slow is under way
            writer.write(b"p" * 300 + requests[3])
            bodies = [(await read_response(reader)).body for _ in paths]
            assert bodies == paths
            assert backend.received[2].body == b"p" * 600
            writer.close()
        backend.stop()

    run(scenario())


def test_request_line_over_8k_gets_414_and_close(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend)):
            fits = b"GET /" + b"a" * (8192 - 16) + b" HTTP/1.1\r\n"
            assert len(fits) == 8192
            data, _ = await raw_exchange(port, fits + b"Host: a\r\nConnection: close\r\n\r\n")
            assert status_line(data) == b"HTTP/1.1 200 OK"
            data, closed = await raw_exchange(port, b"GET /" + b"a" * 8200 + b" HTTP/1.1\r\nHost: a\r\n\r\n")
            assert status_line(data) == b"HTTP/1.1 414 Request-URI Too Large"
            assert b"<title>414 Request-URI Too Large</title>" in data and closed
        backend.stop()

    run(scenario())


def test_headers_too_large_get_nginx_400_page_and_close(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend)):
            one_line = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
            many = b"GET / HTTP/1.1\r\nHost: a\r\n" + b"".join(
                b"X-H%d: %b\r\n" % (i, b"a" * 4000) for i in range(9)
            )
            never_ending = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 50000
            for data in (one_line, many + b"\r\n", never_ending):
                answer, closed = await raw_exchange(port, data)
                assert status_line(answer) == b"HTTP/1.1 400 Bad Request"
                assert b"<center>Request Header Or Cookie Too Large</center>" in answer and closed
        backend.stop()

    run(scenario())


def test_body_over_client_max_body_size_gets_413(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend)):
            data, closed = await raw_exchange(
                port, b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n"
            )
            assert status_line(data) == b"HTTP/1.1 413 Request Entity Too Large"
            assert b"Connection: close" in data and closed
            chunked = (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + b"400\r\n" + b"a" * 1024
            )
            data, closed = await raw_exchange(port, chunked + b"\r\n400\r\n" + b"a" * 1024 + b"\r\n0\r\n\r\n")
            assert status_line(data) == b"HTTP/1.1 413 Request Entity Too Large" and closed
        assert backend.received == []
        backend.stop()

    run(scenario())


def test_smuggling_attempts_get_400_and_close(tmp_path: Path) -> None:
    attempts = [
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
        b"GET /../etc HTTP/1.1\r\nHost: a\r\n\r\n",
    ]

    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend)):
            for attempt in attempts:
                data, closed = await raw_exchange(port, attempt + b"GET /second HTTP/1.1\r\nHost: a\r\n\r\n")
                assert status_line(data) == b"HTTP/1.1 400 Bad Request", attempt
                assert data.count(b"HTTP/1.1") == 1 and closed, attempt
        assert backend.received == []
        backend.stop()

    run(scenario())


def test_unknown_transfer_encoding_gets_501(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend)):
            head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
            request = head + b"5\r\nhello\r\n0\r\n\r\n"
            data, closed = await raw_exchange(port, request)
            assert status_line(data) == b"HTTP/1.1 501 Not Implemented" and closed
        backend.stop()

    run(scenario())


def test_bad_chunk_in_a_streamed_body_closes_without_passing_more(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend)):
            head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            data, closed = await raw_exchange(
                port, head + b"3\r\nabc\r\nXYZ\r\nGET /smuggled HTTP/1.1\r\n\r\n"
            )
            assert status_line(data) == b"HTTP/1.1 400 Bad Request" and closed
        assert all(b"/smuggled" not in received.head for received in backend.received)
        backend.stop()

    run(scenario())


def test_slow_clients_are_cut_off(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend), SHORT) as service:
            loop = asyncio.get_running_loop()
            started = loop.time()
            silent, partial_head, partial_body = await asyncio.gather(
                raw_exchange(port, b"", wait=3),
                raw_exchange(port, b"GET / HTTP/1.1\r\nHost: a\r\n", wait=3),
                raw_exchange(port, b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc", wait=3),
            )
            assert silent == (b"", True) and partial_head == (b"", True) and partial_body == (b"", True)
            assert loop.time() - started < 2  # cut after the 0.5 s timeouts, not left open
            await eventually(lambda: service.connections == 0)
        backend.stop()

    run(scenario())


def test_idle_keep_alive_connection_is_closed_after_keepalive_timeout(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend), SHORT):
            data, closed = await raw_exchange(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", wait=3)
            assert status_line(data) == b"HTTP/1.1 200 OK" and closed
        backend.stop()

    run(scenario())


def test_expect_continue_is_answered_before_the_body(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend)):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
            assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
            writer.write(b"abc")
            assert (await read_response(reader)).status == 200
            writer.close()
        assert backend.received[0].body == b"abc" and backend.received[0].header("expect") is None
        backend.stop()

    run(scenario())


REQUEST_START = st.sampled_from(
    [
        b"",
        b"GET / HTTP/1.1\r\nHost: a\r\n",
        b"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=REQUEST_START, data=st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=4))
def test_arbitrary_bytes_get_an_answer_or_a_close_never_an_error(
    tmp_path: Path, start: bytes, data: list[bytes]
) -> None:
    """Fed straight to the client protocol: nothing raises, and what is written is whole responses."""
    written, errors = feed_client(tmp_path, [start, *data])
    assert errors == []
    for response in written:
        assert response.startswith(b"HTTP/1.1 ")


LONG = replace(FAST, client_header_timeout=30, client_body_timeout=30, keepalive_timeout=30, send_timeout=30)


def conf_with(port: int, backend: Backend, *, server: str = "", location: str = "") -> str:
    return f"""
upstream be {{ server 127.0.0.1:{backend.port}; }}
server {{
    listen 127.0.0.1:{port};
    {server}
    location / {{ access_log off; proxy_pass http://be; {location} }}
}}
"""


def test_configured_client_timeouts_cut_slow_clients_off(tmp_path: Path) -> None:
    """The defaults are 30 s here: only the server's own timeouts can close these connections in time."""

    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        timeouts = "client_header_timeout 200ms; client_body_timeout 200ms;"
        async with proxy(tmp_path, conf_with(port, backend, server=timeouts), LONG):
            silent, partial_head, partial_body = await asyncio.gather(
                raw_exchange(port, b"", wait=3),
                raw_exchange(port, b"GET / HTTP/1.1\r\nHost: a\r\n", wait=3),
                raw_exchange(port, b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc", wait=3),
            )
            assert silent == (b"", True) and partial_head == (b"", True) and partial_body == (b"", True)
        backend.stop()

    run(scenario())


def test_a_locations_keepalive_timeout_closes_the_idle_connection_and_is_announced(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, conf_with(port, backend, location="keepalive_timeout 200ms 7;"), LONG):
            data, closed = await raw_exchange(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", wait=3)
            assert status_line(data) == b"HTTP/1.1 200 OK" and closed
            assert b"\r\nConnection: keep-alive\r\nKeep-Alive: timeout=7\r\n" in data
        backend.stop()

    run(scenario())


def test_keepalive_timeout_0_closes_after_each_answer(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, conf_with(port, backend, location="keepalive_timeout 0;"), LONG):
            data, closed = await raw_exchange(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", wait=3)
            assert status_line(data) == b"HTTP/1.1 200 OK" and closed
            assert b"\r\nConnection: close\r\n" in data
        backend.stop()

    run(scenario())


def test_keepalive_requests_ends_the_connection_after_that_many_requests(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, conf_with(port, backend, server="keepalive_requests 2;"), LONG):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            connection = []
            for _ in range(2):
                writer.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                connection.append((await read_response(reader)).header("connection"))
            assert connection == ["keep-alive", "close"]
            assert await reader.read() == b""
            writer.close()
        backend.stop()

    run(scenario())


class LingerTransport(FakeTransport):
    """Records how the connection is ended: closed at once, or its writing side shut first (lingering)."""

    def __init__(self) -> None:
        super().__init__()
        self.shut_writing = False

    def write_eof(self) -> None:
        self.shut_writing = True


def lingering(tmp_path: Path, directive: str, data: bytes) -> LingerTransport:
    """How the connection ends after `data`, with `directive` in the server (a request refused while its
    head is read is the server's, not a location's)."""
    config = read_config(
        tmp_path, f"server {{ listen 127.0.0.1:8080; {directive} location / {{ return 200; }} }}"
    )

    async def scenario() -> LingerTransport:
        loop = asyncio.get_running_loop()
        service = service_without_zones(loop)
        routes = ListenerRoutes(service, config.listeners[0])
        connection = ClientConnection(service, lambda _: routes)
        transport = LingerTransport()
        connection.connection_made(transport)  # type: ignore[arg-type]
        connection.data_received(data)
        connection.connection_lost(None)
        service.logs.close()
        return transport

    return run(scenario())


REFUSED_THEN_MORE = b"GET / HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n"  # no Host: 400
ANSWERED = b"GET / HTTP/1.0\r\n\r\n"


@pytest.mark.parametrize(
    ("directive", "data", "lingers"),
    [
        ("", REFUSED_THEN_MORE, True),  # on: the client sent more than was read
        ("", ANSWERED, False),  # on: nothing left unread, closed at once
        ("lingering_close always;", ANSWERED, True),
        ("lingering_close off;", REFUSED_THEN_MORE, False),
    ],
)
def test_lingering_close_as_nginx(tmp_path: Path, directive: str, data: bytes, lingers: bool) -> None:
    """nginx's lingering close: the writing side is shut and what comes is read for a while, so that
    the client sees the answer; `on` does it when the client may still be sending."""
    transport = lingering(tmp_path, directive, data)
    assert transport.written[0].startswith(b"HTTP/1.1 ")
    assert (transport.shut_writing, transport.closed) == (lingers, not lingers)


def test_connections_held_in_a_burst_read_what_they_sent_meanwhile_in_their_turn(tmp_path: Path) -> None:
    """One new connection a round (proxy/admission.py): the others wait for the next loop iterations,
    one each; a request and half-close come while one waited are answered in its turn, a head cut short
    by a half-close is closed without an answer as nginx closes it, and a connection that closes while
    it waits leaves the line."""
    config = read_config(tmp_path, "server { listen 127.0.0.1:8080; location / { return 200 ok; } }")

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        service = service_without_zones(loop, replace(FAST, admit_per_round=1))
        routes = ListenerRoutes(service, config.listeners[0])
        transports = [FakeTransport() for _ in range(4)]
        connections = [ClientConnection(service, lambda _: routes) for _ in transports]
        for connection, transport in zip(connections, transports, strict=True):
            connection.connection_made(transport)  # type: ignore[arg-type]
        answered, gone, cut_short = connections[1:]
        answered.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        cut_short.data_received(b"GET / HTTP/1.1\r\nHo")
        assert answered.eof_received() is cut_short.eof_received() is True  # kept open until their turn
        gone.connection_lost(None)
        assert (transports[1].written, service.admission.waiting) == ([], 2)
        await asyncio.sleep(0)  # the next iteration: the next round
        assert status_line(b"".join(transports[1].written)) == b"HTTP/1.1 200 OK"
        assert (transports[1].closed, transports[3].closed, service.admission.waiting) == (True, False, 1)
        await asyncio.sleep(0)
        assert (transports[3].written, transports[3].closed, service.admission.waiting) == ([], True, 0)
        service.logs.close()

    run(scenario())


def test_a_connection_that_begins_while_the_service_drains_closes_after_its_answer(tmp_path: Path) -> None:
    """A graceful stop starts the connections held or taken off a listening queue (proxy/admission.py):
    they are answered, then closed as the others are."""
    config = read_config(tmp_path, "server { listen 127.0.0.1:8080; location / { return 200 ok; } }")

    async def scenario() -> None:
        service = service_without_zones(asyncio.get_running_loop())
        service.draining = True
        routes = ListenerRoutes(service, config.listeners[0])
        connection = ClientConnection(service, lambda _: routes)
        transport = FakeTransport()
        connection.connection_made(transport)  # type: ignore[arg-type]
        connection.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        answer = b"".join(transport.written)
        assert status_line(answer) == b"HTTP/1.1 200 OK"
        assert b"\r\nConnection: close\r\n" in answer and transport.closed
        service.logs.close()

    run(scenario())
