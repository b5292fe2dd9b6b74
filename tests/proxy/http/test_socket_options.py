"""`tcp_nodelay` on the client connections, seen on the proxy's own end of each connection (found among
the test process's descriptors, where the service runs): uvloop sets TCP_NODELAY on every connection; the
default server's `tcp_nodelay off` clears it at accept; a connection kept alive after a location with
`tcp_nodelay on` gets it back, as nginx sets it at keep-alive (ngx_http_set_keepalive) and never clears
it once set."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

from .harness import Backend, free_port, ok, proxy, read_response, run


def config(port: int, backend: Backend) -> str:
    return f"""
upstream be {{ server 127.0.0.1:{backend.port}; }}
server {{
    listen 127.0.0.1:{port};
    tcp_nodelay off;
    location / {{ access_log off; proxy_pass http://be; }}
    location /on {{ access_log off; tcp_nodelay on; proxy_pass http://be; }}
}}
"""


def proxy_end_nodelay(client: socket.socket) -> int:
    """TCP_NODELAY of the proxy's end of `client`'s connection: the descriptor of this process whose
    local address is the client's peer and whose peer is the client."""
    wanted = (client.getpeername(), client.getsockname())
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        with sock:
            try:
                if sock.type == socket.SOCK_STREAM and (sock.getsockname(), sock.getpeername()) == wanted:
                    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            except OSError:
                continue
    raise AssertionError("the proxy's end of the connection was not found")


async def request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> int:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
    return (await read_response(reader)).status


def test_tcp_nodelay_off_clears_it_and_a_location_with_it_on_sets_it_at_keep_alive(tmp_path: Path) -> None:
    async def scenario() -> list[int]:
        backend = await Backend(ok()).start()
        port = free_port()
        seen: list[int] = []
        async with proxy(tmp_path, config(port, backend)):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            client = writer.get_extra_info("socket")
            for path in ("/", "/on", "/"):
                assert await request(reader, writer, path) == 200
                seen.append(proxy_end_nodelay(client))
            writer.close()
        backend.stop()
        return seen

    assert run(scenario()) == [0, 1, 1]
