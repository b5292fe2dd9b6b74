"""What one simple GET costs the HTTP data plane in Python, without sockets: the client protocol and an
upstream connection fed directly over fake transports, so that only hapair's own work is timed (parsing,
phases, the request sent upstream, the response relayed, the access-log line made).

    PYTHONPATH=src python bench/request_path.py [--requests 20000] [--rounds 5]

Cases, each a keep-alive connection sending the same request again and again (the best of the rounds,
in microseconds of this process's CPU time per request, so that other processes on the machine count
little):
- `return`: `location / { return 200 ok; }`, the request answered by the rewrite module;
- `proxy`: `location / { proxy_pass http://backend; }`, the upstream connection taken from the pool and
  answering `HTTP/1.1 200 OK` with a 2-byte body at once;
- `proxy, seed headers`: the same with the seed's `proxy_set_header` lines and a browser-like request of
  ten header lines;
- `seed location, wrk`: the seed's L7 location as bench/proxy.py runs it (its `proxy_set_header` lines,
  `proxy_read_timeout`), wrk's request (`GET /ok` and a Host header) and nginx's answer to it (five header
  lines): what docs/request-cost.md, "After the compiled cuts", counts the instructions of;
- `h2, seed 8443, h2load`: bench/proxy.py's h2 column over fake transports (h2c, no TLS): h2load's
  GETs, 100 streams a read, through the seed's 8443 location, each stream over one of 100 pooled
  upstream connections answering as nginx does, the responses' frames written at the loop's next
  turn (docs/request-cost.md, "HTTP/2 streams, third pass"); per stream.
Access logs go to /dev/null in the combined format; `keepalive_requests` is raised on both sides so
that the one client connection and the one upstream connection serve every request.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import uvloop

from hapair.config.nginx.load import load
from hapair.config.nginx.model.http import HttpConfig
from hapair.proxy.http.client import ClientConnection
from hapair.proxy.http.limits import DEFAULT_LIMITS
from hapair.proxy.http.pool import PoolKey
from hapair.proxy.http.service import ListenerRoutes, Service
from hapair.proxy.http.upstream import UpstreamConnection
from hapair.proxy.http.zones import LimitZones
from hapair.proxy.shm import SharedZones

SIMPLE = (
    b"GET /api/v1/items?id=7 HTTP/1.1\r\nHost: lb.example\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
)
BROWSER = (
    b"GET /api/v1/items?id=7 HTTP/1.1\r\nHost: lb.example\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
    b"Connection: keep-alive\r\nCookie: session=0123456789abcdef; theme=dark\r\n"
    b"Upgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\n\r\n"
)
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
WRK = b"GET /ok HTTP/1.1\r\nHost: 10.101.0.2:8080\r\n\r\n"
NGINX_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 06 Dec 2026 23:40:00 GMT\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n"
)
SEED_LOCATION = """proxy_pass http://backend;
            proxy_set_header Host $http_host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
            proxy_read_timeout 90;"""
SEED_HEADERS = """
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;"""


def config(location: str) -> str:
    return f"""events {{}}
http {{
    access_log /dev/null combined;
    upstream backend {{ server 127.0.0.1:9; keepalive 1; keepalive_requests 1000000; }}
    server {{
        listen 127.0.0.1:8080;
        keepalive_requests 1000000;
        location / {{ {location} }}
    }}
}}
"""


class FakeTransport:
    """What the protocols use of a transport; writes are counted, not kept."""

    def __init__(self, peer: tuple[str, int]) -> None:
        self.peer = peer
        self.written = 0

    def write(self, data: bytes) -> None:
        self.written += 1

    def close(self) -> None:
        pass

    abort = close

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": self.peer, "sockname": ("127.0.0.1", 8080)}.get(name, default)


def read_config(directory: Path, text: str) -> HttpConfig:
    path = directory / "nginx.conf"
    path.write_text(text)
    result = load(str(path), f"{directory}/")
    assert result.error is None and result.config is not None and result.config.http is not None
    return result.config.http


async def measure(http: HttpConfig, request: bytes, requests: int, response: bytes | None) -> float:
    """Seconds per request, `requests` in a row on one connection."""
    loop = asyncio.get_running_loop()
    service = Service(loop, DEFAULT_LIMITS, LimitZones(SharedZones(), ()))
    routes = ListenerRoutes(service, http.listeners[0])
    client = ClientConnection(service, lambda _: routes)
    client.connection_made(FakeTransport(("127.0.0.1", 50000)))  # type: ignore[arg-type]
    upstream = None
    if response is not None:
        target = routes.default.find("/").value.target  # type: ignore[union-attr]
        assert target is not None
        [peer] = target.balancer.peers
        key = PoolKey(peer, None, None)  # plain HTTP: no TLS context, no server name
        upstream = UpstreamConnection(loop, peer, key, service.pool)
        upstream.connection_made(FakeTransport(("127.0.0.1", 9)))  # type: ignore[arg-type]
        service.pool.born(upstream)
        service.pool.put(upstream, target.keep_policy)
    started = time.process_time()
    for _ in range(requests):
        client.data_received(request)
        if upstream is not None:
            upstream.data_received(response)
    elapsed = time.process_time() - started
    client.connection_lost(None)
    service.pool.close()
    service.logs.close()
    return elapsed / requests


H2_STREAMS = 100  # h2load -m100: the streams of each read
H2_REQUEST = [
    (b":method", b"GET"),
    (b":path", b"/ok"),
    (b":scheme", b"https"),
    (b":authority", b"10.101.0.2:8443"),
    (b"user-agent", b"h2load nghttp2/1.52.0"),
]
H2_WINDOW = 2**31 - 1


def h2_config() -> str:
    """bench/proxy.py's h2 server (the seed's 8443 one with `http2`), as h2c: no TLS over fake transports."""
    return f"""events {{}}
http {{
    upstream backend {{ server 127.0.0.1:9; }}
    server {{
        listen 127.0.0.1:8443 http2;
        keepalive_requests 1000000;
        location / {{
            access_log /dev/null;{SEED_HEADERS.replace("$host", "$http_host").replace("$scheme", "https")}
            proxy_pass http://backend;
            proxy_read_timeout 90;
        }}
    }}
}}
"""


def h2_client_reads(streams: int) -> list[bytes]:
    """h2load's bytes, made by h2 as a client: the preface, then `H2_STREAMS` GETs a read. The
    answers come from a plain h2 server, so that the client's streams close as they would."""
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
    client.initiate_connection()
    client.increment_flow_control_window(H2_WINDOW - 65535)
    server.initiate_connection()
    reads = [client.data_to_send()]
    server.receive_data(reads[0])
    client.receive_data(server.data_to_send())
    stream_id = 1
    for _ in range(streams // H2_STREAMS):
        pending = client.data_to_send()  # the SETTINGS ACK and WINDOW_UPDATEs go with the next requests
        for _ in range(H2_STREAMS):
            client.send_headers(stream_id, H2_REQUEST, end_stream=True)
            stream_id += 2
        reads.append(pending + client.data_to_send())
        for event in server.receive_data(reads[-1]):
            if isinstance(event, h2.events.RequestReceived):
                server.send_headers(event.stream_id, [(b":status", b"200"), (b"content-length", b"3")])
                server.send_data(event.stream_id, b"ok\n", end_stream=True)
        client.receive_data(server.data_to_send())
    return reads


async def measure_h2(http: HttpConfig, reads: list[bytes], response: bytes) -> float:
    """Seconds per stream: each read's streams proxied over `H2_STREAMS` pooled upstream connections,
    each answering at once, then the loop's turn that writes the responses' frames."""
    from hapair.proxy.http.h2.connection import Http2Connection  # noqa: PLC0415  (HTTP/2's group)

    loop = asyncio.get_running_loop()
    service = Service(loop, DEFAULT_LIMITS, LimitZones(SharedZones(), ()))
    routes = ListenerRoutes(service, http.listeners[0])
    client = Http2Connection(service, lambda _: routes)
    client.connection_made(FakeTransport(("127.0.0.1", 50000)))  # type: ignore[arg-type]
    target = routes.default.find("/").value.target  # type: ignore[union-attr]
    assert target is not None
    [peer] = target.balancer.peers
    upstreams = []
    for _ in range(H2_STREAMS):
        upstream = UpstreamConnection(loop, peer, PoolKey(peer, None, None), service.pool)
        transport = FakeTransport(("127.0.0.1", 9))
        upstream.connection_made(transport)  # type: ignore[arg-type]
        service.pool.born(upstream)
        service.pool.put(upstream, target.keep_policy)
        upstreams.append((upstream, transport))
    client.data_received(reads[0])
    started = time.process_time()
    for read in reads[1:]:
        client.data_received(read)
        for upstream, transport in upstreams:
            if transport.written:
                transport.written = 0
                upstream.data_received(response)
        await asyncio.sleep(0)
    elapsed = time.process_time() - started
    client.connection_lost(None)
    service.pool.close()
    service.logs.close()
    return elapsed / ((len(reads) - 1) * H2_STREAMS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cases = [
        ("return", "return 200 ok;", SIMPLE, None),
        ("proxy", "proxy_pass http://backend;", SIMPLE, RESPONSE),
        ("proxy, seed headers", "proxy_pass http://backend;" + SEED_HEADERS, BROWSER, RESPONSE),
        ("seed location, wrk", SEED_LOCATION, WRK, NGINX_RESPONSE),
    ]
    with tempfile.TemporaryDirectory() as directory:
        for name, location, request, response in cases:
            http = read_config(Path(directory), config(location))
            runs = [uvloop.run(measure(http, request, args.requests, response)) for _ in range(args.rounds)]
            best = min(runs)
            print(f"{name:22} {best * 1e6:6.1f} us/request")
        http = read_config(Path(directory), h2_config())
        reads = h2_client_reads(args.requests)
        best = min(uvloop.run(measure_h2(http, reads, NGINX_RESPONSE)) for _ in range(args.rounds))
        print(f"{'h2, seed 8443, h2load':22} {best * 1e6:6.1f} us/stream")


if __name__ == "__main__":
    main()
