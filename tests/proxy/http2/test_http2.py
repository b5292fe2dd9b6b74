"""HTTP/2 on the client side, over real sockets with the `h2` library as the client: prior knowledge on a
plain `listen ... http2`, ALPN on an `ssl` one (and HTTP/1.1 for a client that does not offer h2),
requests through the same phases as HTTP/1.x (return, proxy_pass with the pooled upstream
connections, request bodies), streams multiplexed, `$http2` and `$server_protocol`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.proxy.http.harness import Backend, Received, free_port, make_pki, ok, proxy, request, run

from .client import H2Client, tls_context


def h2c_config(port: int, backend: int, *, server: str = "", http: str = "") -> str:
    return f"""
        http {{
            log_format h2 '$status $body_bytes_sent $bytes_sent $request_length "$request" $http2';
            access_log access.log h2;
            {http}
            upstream backend {{ server 127.0.0.1:{backend}; }}
            server {{
                listen 127.0.0.1:{port} http2;
                {server}
                location / {{ proxy_pass http://backend; }}
                location /here {{ return 200 "$http2 $server_protocol $request"; }}
            }}
        }}
    """


def test_prior_knowledge_serves_a_request_through_the_phases(tmp_path: Path) -> None:
    async def scenario() -> None:
        port = free_port()
        async with proxy(tmp_path, h2c_config(port, 9)):
            client = await H2Client.connect(port)
            response = await client.get("/here?a=1")
            await client.close()
            assert response.status == 200
            assert bytes(response.body) == b"h2c HTTP/2.0 GET /here?a=1 HTTP/2.0"
            assert response.header("server") == "hapair"
            assert response.header("content-type") == "text/plain"
            assert response.header("content-length") == str(len(response.body))
            assert [name for name, _ in response.headers] == [
                b":status",
                b"server",
                b"date",
                b"content-type",
                b"content-length",
            ]

    run(scenario())


def test_streams_are_multiplexed_to_pooled_upstream_connections(tmp_path: Path) -> None:
    answered = asyncio.Event()
    waiting: list[Received] = []

    async def slow(received: Received, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        waiting.append(received)
        if len(waiting) == 20:
            answered.set()
        await answered.wait()
        body = received.request_line.split()[1]
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)

    async def scenario() -> None:
        backend = await Backend(slow).start()
        port = free_port()
        async with proxy(tmp_path, h2c_config(port, backend.port)):
            client = await H2Client.connect(port)
            ids = [client.send(f"/item/{n}") for n in range(20)]
            responses = [await client.response(stream_id) for stream_id in ids]
            # every request was at the backend before any was answered: they were under way together
            assert [bytes(r.body) for r in responses] == [f"/item/{n}".encode() for n in range(20)]
            again = await client.get("/again")
            assert again.status == 200
            assert backend.connections == 20  # the 21st request reused one of the pooled connections
            await client.close()
        backend.stop()

    run(scenario())


def test_a_request_body_goes_upstream_with_its_length(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(ok(b"stored")).start()
        port = free_port()
        async with proxy(tmp_path, h2c_config(port, backend.port)):
            client = await H2Client.connect(port)
            body = bytes(range(256)) * 1000
            sized = await client.get(
                "/sized", method="POST", body=body, extra=((b"content-length", b"256000"),)
            )
            unsized = await client.get("/unsized", method="PUT", body=b"x" * 70000)
            await client.close()
            assert (sized.status, bytes(sized.body)) == (200, b"stored")
            assert unsized.status == 200
            first, second = backend.received
            assert first.request_line == b"POST /sized HTTP/1.0" and first.body == body
            assert first.header("content-length") == "256000"
            # no Content-Length and a body: nginx reads it whole and sends its length
            assert second.header("content-length") == "70000" and second.body == b"x" * 70000
        backend.stop()

    run(scenario())


def test_alpn_chooses_http2_and_leaves_http1_to_the_others(tmp_path: Path) -> None:
    async def scenario() -> None:
        pki = make_pki(tmp_path)
        port = free_port()
        text = f"""
            http {{
                server {{
                    listen 127.0.0.1:{port} ssl http2;
                    ssl_certificate {pki.server[0]};
                    ssl_certificate_key {pki.server[1]};
                    location / {{ return 200 "$http2 $server_protocol $https"; }}
                }}
            }}
        """
        async with proxy(tmp_path, text):
            client = await H2Client.connect(port, ssl_context=tls_context(alpn=["h2", "http/1.1"]))
            over_h2 = await client.get("/")
            await client.close()
            over_http1 = await request(
                port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", ssl_context=tls_context(alpn=["http/1.1"])
            )
            without_alpn = await request(
                port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", ssl_context=tls_context(alpn=[])
            )
        assert bytes(over_h2.body) == b"h2 HTTP/2.0 on"
        assert over_http1.body == b" HTTP/1.1 on" and without_alpn.body == b" HTTP/1.1 on"

    run(scenario())


def test_a_proxy_protocol_header_comes_before_http2(tmp_path: Path) -> None:
    async def scenario() -> None:
        port = free_port()
        said = "$proxy_protocol_addr:$proxy_protocol_port $remote_addr $http2"
        text = f"""
            http {{
                server {{
                    listen 127.0.0.1:{port} http2 proxy_protocol;
                    location / {{ return 200 "{said}"; }}
                }}
            }}
        """
        async with proxy(tmp_path, text):
            client = await H2Client.connect(port, preamble=b"PROXY TCP4 192.0.2.1 192.0.2.2 1111 80\r\n")
            response = await client.get("/")
            await client.close()
        assert bytes(response.body) == b"192.0.2.1:1111 127.0.0.1 h2c"

    run(scenario())
