"""Requests proxied to real backends: bodies streamed both ways with bounded memory, chunked encoding,
upgrades, the proxy headers of the seed's configuration, 502/504, retries and passive health."""

from __future__ import annotations

import asyncio
from pathlib import Path

from .harness import (
    Backend,
    Received,
    Response,
    eventually,
    free_port,
    ok,
    proxy,
    read_response,
    request,
    run,
)

SEED_LOCATION = """
      proxy_set_header   Host              $http_host;
      proxy_set_header   X-Real-IP         $remote_addr;
      proxy_set_header   X-Forwarded-For   $proxy_add_x_forwarded_for;
      proxy_set_header   X-Forwarded-Proto https;
"""


def conf(port: int, *backends: int, extra: str = "", location: str = SEED_LOCATION) -> str:
    servers = "".join(f"server 127.0.0.1:{backend};\n" for backend in backends)
    return f"""
upstream be {{
    {servers}
}}
server {{
    listen 127.0.0.1:{port};
    client_max_body_size 0;
    location / {{
      access_log off;
      {location}
      proxy_pass http://be;
      {extra}
    }}
}}
"""


MB = 1024 * 1024


def echo_body(received: Received, reader, writer):
    async def answer() -> bytes:
        body = received.body
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)

    return answer()


def test_seed_proxy_headers_reach_the_backend(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend.port)):
            response = await request(
                port,
                b"GET /api/v1?watch=1 HTTP/1.1\r\nHost: k8sapi-vrrp.kloud.lan:8080\r\n"
                b"X-Forwarded-For: 10.0.0.9\r\n"
                b"Connection: keep-alive\r\nKeep-Alive: 5\r\nTE: trailers\r\nUser-Agent: t\r\n\r\n",
            )
            assert response.status == 200
        got = backend.received[0]
        assert got.request_line == b"GET /api/v1?watch=1 HTTP/1.0"
        assert got.header("host") == "k8sapi-vrrp.kloud.lan:8080"
        assert got.header("x-real-ip") == "127.0.0.1"
        assert got.header("x-forwarded-for") == "10.0.0.9, 127.0.0.1"
        assert got.header("x-forwarded-proto") == "https"
        assert got.header("user-agent") == "t"
        assert got.header("te") is None and got.header("keep-alive") is None
        assert got.header("connection") == "keep-alive"  # hapair's instead of nginx's close: reused
        backend.stop()

    run(scenario())


def test_default_host_header_is_proxy_host(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend.port, location="")):
            await request(port, b"GET / HTTP/1.1\r\nHost: client.example\r\n\r\n")
        assert backend.received[0].header("host") == "be"
        backend.stop()

    run(scenario())


def test_upstream_connections_are_reused(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend.port)):
            for _ in range(5):
                assert (await request(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")).status == 200
        assert backend.connections == 1 and len(backend.received) == 5
        backend.stop()

    run(scenario())


def test_big_bodies_stream_both_ways(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(echo_body).start()
        port = free_port()
        body = bytes(range(256)) * (12 * MB // 256)
        async with proxy(tmp_path, conf(port, backend.port)):
            head = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body)
            response = await request(port, head + body)
            assert response.status == 200 and response.body == body
        backend.stop()

    run(scenario())


def test_without_buffering_a_slow_reader_holds_the_upstream_back(tmp_path: Path) -> None:
    sent = {"bytes": 0}
    total = 64 * MB

    async def stream(received: Received, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
        piece = b"x" * 65536
        while sent["bytes"] < total:
            writer.write(piece)
            await writer.drain()
            sent["bytes"] += len(piece)

    async def scenario() -> None:
        backend = await Backend(stream).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend.port, extra="proxy_buffering off;")) as service:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=65536)
            writer.transport.set_write_buffer_limits(0)
            writer.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(0.5)  # the client reads nothing meanwhile
            stalled_at = sent["bytes"]
            await asyncio.sleep(0.3)
            assert sent["bytes"] == stalled_at < 32 * MB  # the backend is held back: kernel buffers only
            assert service.connections == 1
            received = 0
            while received < total:
                received += len(await reader.read(MB))
            assert received == total
            writer.close()
        backend.stop()

    run(scenario())


def test_chunked_bodies_both_ways(tmp_path: Path) -> None:
    async def chunked_echo(received: Received, reader, writer) -> bytes:
        body = received.body
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%b\r\n0\r\n\r\n" % (
            len(body),
            body,
        )

    async def scenario() -> None:
        backend = await Backend(chunked_echo).start()
        port = free_port()
        chunks = [b"a" * 10, b"b" * 70000, b"c"]
        encoded = b"".join(b"%x\r\n%b\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"
        head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        async with proxy(tmp_path, conf(port, backend.port)):
            response = await request(port, head + encoded)
            assert response.header("transfer-encoding") == "chunked" and response.body == b"".join(chunks)
        # proxy_http_version 1.0 (the default): the body is read whole and sent with its length
        assert backend.received[0].header("content-length") == str(70011)
        assert backend.received[0].body == b"".join(chunks)
        backend.stop()

    run(scenario())


def test_chunked_request_is_read_whole_and_sent_with_its_length(tmp_path: Path) -> None:
    """proxy_request_buffering on (nginx's default): the upstream gets the body whole, with its length,
    even on HTTP/1.1."""

    async def scenario() -> None:
        backend = await Backend(echo_body).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend.port, extra="proxy_http_version 1.1;")):
            head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            response = await request(port, head + b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            assert response.body == b"abcde"
        assert backend.received[0].header("transfer-encoding") is None
        assert backend.received[0].header("content-length") == "5"
        backend.stop()

    run(scenario())


def test_chunked_request_streams_to_an_http11_upstream_without_request_buffering(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(echo_body).start()
        port = free_port()
        extra = "proxy_http_version 1.1; proxy_request_buffering off;"
        async with proxy(tmp_path, conf(port, backend.port, extra=extra)):
            head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            response = await request(port, head + b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            assert response.body == b"abcde"
        assert backend.received[0].header("transfer-encoding") == "chunked"
        assert backend.received[0].request_line.endswith(b"HTTP/1.1")
        backend.stop()

    run(scenario())


def test_response_until_close_is_rechunked_for_http11_clients(tmp_path: Path) -> None:
    async def until_close(received: Received, reader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\nuntil close")
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        backend = await Backend(until_close).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend.port)):
            response = await request(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            assert response.header("transfer-encoding") == "chunked" and response.body == b"until close"
            response = await request(port, b"GET / HTTP/1.0\r\n\r\n")
            assert response.header("connection") == "close" and response.body == b"until close"
        backend.stop()

    run(scenario())


UPGRADE = (
    'proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";'
)


def test_websocket_upgrade_is_tunnelled_when_configured_as_nginx_wants(tmp_path: Path) -> None:
    async def websocket_echo(received: Received, reader: asyncio.StreamReader, writer) -> None:
        assert received.header("upgrade") == "websocket" and received.header("connection") == "upgrade"
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        while data := await reader.read(65536):
            writer.write(data.upper())

    async def scenario() -> None:
        backend = await Backend(websocket_echo).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend.port, extra=UPGRADE)):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: x\r\n\r\nearly "
            )
            response = await read_response(reader)
            assert response.status == 101 and response.header("upgrade") == "websocket"
            assert await reader.readexactly(6) == b"EARLY "
            writer.write(b"frame")
            assert await reader.readexactly(5) == b"FRAME"
            writer.write_eof()
            assert await reader.read() == b""
            writer.close()
        backend.stop()

    run(scenario())


def test_no_live_upstream_gets_502(tmp_path: Path) -> None:
    async def scenario() -> None:
        port = free_port()
        async with proxy(tmp_path, conf(port, free_port())):
            response = await request(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            assert response.status == 502 and b"<title>502 Bad Gateway</title>" in response.body
            assert response.header("connection") == "keep-alive"

    run(scenario())


def test_silent_upstream_gets_504(tmp_path: Path) -> None:
    async def silent(received, reader, writer) -> None:
        await asyncio.sleep(5)

    async def scenario() -> None:
        backend = await Backend(silent).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend.port, extra="proxy_read_timeout 300ms;")):
            response = await request(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            assert response.status == 504 and b"<title>504 Gateway Time-out</title>" in response.body
        backend.stop()

    run(scenario())


def test_refused_connection_is_retried_on_the_next_upstream_and_the_peer_marked_failed(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        backend = await Backend(ok(b"alive")).start()
        dead = free_port()
        port = free_port()
        text = conf(port, dead, backend.port).replace(f"127.0.0.1:{dead};", f"127.0.0.1:{dead} max_fails=1;")
        async with proxy(tmp_path, text):
            for _ in range(4):
                response = await request(port, b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
                assert (response.status, response.body) == (200, b"alive")
        # the dead peer was tried once, then skipped for fail_timeout: every request reached the backend
        assert len(backend.received) == 4 and all(got.body == b"hi" for got in backend.received)
        backend.stop()

    run(scenario())


def test_round_robin_alternates_between_backends(tmp_path: Path) -> None:
    async def scenario() -> None:
        first = await Backend(ok(b"1")).start()
        second = await Backend(ok(b"2")).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, first.port, second.port)):
            bodies = [(await request(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")).body for _ in range(6)]
        assert bodies == [b"1", b"2"] * 3
        first.stop()
        second.stop()

    run(scenario())


def test_killed_backend_costs_no_request_an_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        first = await Backend(ok(b"1")).start()
        second = await Backend(ok(b"2")).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, first.port, second.port)):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            for index in range(10):
                if index == 3:
                    first.stop()
                    assert first.server is not None
                    await first.server.wait_closed()
                writer.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                assert (await read_response(reader)).status == 200
            writer.close()
        second.stop()

    run(scenario())


def test_dead_or_slow_upstream_never_blocks_other_clients(tmp_path: Path) -> None:
    async def slow(received, reader, writer) -> None:
        await asyncio.sleep(5)

    async def scenario() -> None:
        stuck = await Backend(slow).start()
        healthy = await Backend(ok(b"fine")).start()
        port = free_port()
        text = f"""
server {{
    listen 127.0.0.1:{port};
    location /stuck {{ access_log off; proxy_pass http://127.0.0.1:{stuck.port}; }}
    location /dead {{ access_log off; proxy_pass http://127.0.0.1:{free_port()}; }}
    location / {{ access_log off; proxy_pass http://127.0.0.1:{healthy.port}; }}
}}
"""
        async with proxy(tmp_path, text):
            blocked = [
                asyncio.create_task(request(port, b"GET /stuck HTTP/1.1\r\nHost: a\r\n\r\n"))
                for _ in range(50)
            ]
            await eventually(lambda: len(stuck.received) == 50)
            assert (await request(port, b"GET /dead HTTP/1.1\r\nHost: a\r\n\r\n")).status == 502
            loop = asyncio.get_running_loop()
            started = loop.time()
            for _ in range(20):
                assert (await request(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")).body == b"fine"
            assert loop.time() - started < 1
            for task in blocked:
                task.cancel()
        stuck.stop()
        healthy.stop()

    run(scenario())


def test_passive_health_skips_a_failed_peer_for_fail_timeout(tmp_path: Path) -> None:
    async def hang_up(received, reader, writer: asyncio.StreamWriter) -> None:
        writer.transport.abort()

    async def scenario() -> None:
        broken = await Backend(hang_up).start()
        healthy = await Backend(ok(b"fine")).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, broken.port, healthy.port)):
            for _ in range(6):
                response = await request(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                assert (response.status, response.body) == (200, b"fine")
        assert broken.connections == 1  # max_fails=1: not tried again within fail_timeout (10 s)
        assert len(healthy.received) == 6
        broken.stop()
        healthy.stop()

    run(scenario())


def test_head_response_has_no_body_and_the_connection_is_reused(tmp_path: Path) -> None:
    async def head(received, reader, writer) -> bytes:
        return b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"

    async def scenario() -> None:
        backend = await Backend(head).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend.port)):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(2):
                writer.write(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
                response = await read_response(reader, head_request=True)
                assert response.status == 200 and response.header("content-length") == "1000"
            writer.close()
        assert backend.connections == 1
        backend.stop()

    run(scenario())


def test_drain_answers_the_request_under_way_then_closes(tmp_path: Path) -> None:
    async def slow(received, reader, writer) -> bytes:
        await asyncio.sleep(0.3)
        return b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate"

    async def scenario() -> None:
        backend = await Backend(slow).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend.port)) as service:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            await eventually(lambda: len(backend.received) == 1)
            draining = asyncio.create_task(service.drain(timeout=5))
            response = await read_response(reader)
            assert (response.body, response.header("connection")) == (b"late", "close")
            await draining
            assert service.connections == 0
            writer.close()
        backend.stop()

    run(scenario())


def test_drain_answers_a_connection_accepted_before_its_first_request_and_closes_an_idle_one(
    tmp_path: Path,
) -> None:
    """As nginx's graceful stop closes only its keepalive connections: one just accepted (its request
    may be in the socket's buffer already) is answered."""

    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend.port)) as service:
            idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
            idle_writer.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            await read_response(idle_reader)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await eventually(lambda: service.connections == 2)
            draining = asyncio.create_task(service.drain(timeout=5))
            assert await idle_reader.read() == b""
            writer.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            response = await read_response(reader)
            assert (response.status, response.header("connection")) == (200, "close")
            await draining
            assert service.connections == 0
            for opened in (idle_writer, writer):
                opened.close()
        backend.stop()

    run(scenario())


def test_a_body_larger_than_the_buffer_goes_through_a_temporary_file(tmp_path: Path) -> None:
    temp = tmp_path / "body"
    extra = f"client_body_buffer_size 1k; client_body_temp_path {temp} 1 2;"
    body = bytes(range(256)) * 400

    async def scenario() -> None:
        backend = await Backend(echo_body).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend.port, extra=extra)):
            head = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body)
            response = await request(port, head + body)
            assert response.body == body
        assert backend.received[0].header("content-length") == str(len(body))
        assert temp.is_dir() and not any(temp.iterdir())  # made when needed, and the file removed
        backend.stop()

    run(scenario())


def test_the_upstream_gets_nothing_of_a_body_the_client_abandons(tmp_path: Path) -> None:
    """proxy_request_buffering on: the request goes upstream only once its body is whole."""
    log = tmp_path / "access.log"

    async def scenario() -> None:
        backend = await Backend(echo_body).start()
        port = free_port()
        text = f"""
        log_format short '$status $request_length';
        server {{
            listen 127.0.0.1:{port};
            location / {{ access_log {log} short; proxy_pass http://127.0.0.1:{backend.port}; }}
        }}
        """
        async with proxy(tmp_path, text) as service:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            head = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n"
            writer.write(head + b"half")
            await writer.drain()
            await eventually(lambda: service.connections == 1)
            writer.close()
            await eventually(lambda: service.connections == 0)
        # the head and the 4 bytes of body were read before the client left: nginx logs 400 ("client
        # prematurely closed connection" while reading the body)
        assert log.read_text().split() == ["400", str(len(head) + 4)]
        assert backend.connections == 0
        backend.stop()

    run(scenario())


def test_a_location_proxy_redirect_rewrites_is_made_absolute_and_another_is_left_as_it_came(
    tmp_path: Path,
) -> None:
    """`proxy_redirect default`: the proxy_pass URL becomes `/`, and nginx then writes that Location in
    its place, absolute; one no rule changes is passed as the upstream wrote it, among the others."""

    def redirect(received: Received, reader, writer) -> bytes:
        async def answer() -> bytes:
            target = b"/next" if received.request_line.startswith(b"GET /relative") else b"http://be/next"
            return b"HTTP/1.1 302 Found\r\nLocation: %b\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n" % target

        return answer()

    async def scenario() -> None:
        backend = await Backend(redirect).start()
        port = free_port()
        async with proxy(tmp_path, conf(port, backend.port, location="")):
            rewritten = await request(port, b"GET / HTTP/1.1\r\nHost: Example.com:99\r\n\r\n")
            passed = await request(port, b"GET /relative HTTP/1.1\r\nHost: Example.com:99\r\n\r\n")
        backend.stop()
        # nginx's order: Content-Length, then its Location, then Connection, then the rest
        assert _names(rewritten) == [
            b"Server",
            b"Date",
            b"Content-Length",
            b"Location",
            b"Connection",
            b"X-A",
        ]
        assert rewritten.header("location") == f"http://example.com:{port}/next"
        assert _names(passed) == [b"Server", b"Date", b"Content-Length", b"Connection", b"Location", b"X-A"]
        assert passed.header("location") == "/next"

    run(scenario())


def _names(response: Response) -> list[bytes]:
    lines = response.head.split(b"\r\n")
    return [line.split(b":")[0] for line in lines[1:] if line]
