"""Access control for clients on a unix socket, where the differential harness (TCP only) cannot go: the
answers below are what nginx 1.22.1 gave on the same configuration (`curl --unix-socket`). A unix client
is `unix:` to `allow`, `deny` and `set_real_ip_from`, and to `$remote_addr` and `$binary_remote_addr`;
once realip gave it an IPv4 address, the IPv4 rules apply to it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from .harness import Backend, ok, proxy, read_response, run

CONF = """
server {{
    listen unix:{socket};
    access_log off;
    set_real_ip_from unix:;
    location /deny/ {{ deny unix:; proxy_pass http://127.0.0.1:{backend}; }}
    location /allow/ {{ allow unix:; deny all; proxy_pass http://127.0.0.1:{backend}; }}
    location /variables/ {{ return 200 "$remote_addr|$realip_remote_addr|$binary_remote_addr|$remote_port"; }}
}}
"""


async def get(socket_path: Path, path: str, *headers: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_unix_connection(str(socket_path))
    try:
        head = b"GET %b HTTP/1.1\r\nHost: x\r\n%b\r\n" % (
            path.encode(),
            b"".join(h + b"\r\n" for h in headers),
        )
        writer.write(head)
        response = await read_response(reader)
        return response.status, response.body
    finally:
        writer.close()


def test_unix_clients_as_nginx_sees_them(tmp_path: Path) -> None:
    socket_path = tmp_path / "s.sock"
    real_ip = b"X-Real-IP: 1.2.3.4"

    async def scenario() -> list[tuple[int, bytes]]:
        backend = await Backend(ok(b"backend")).start()
        async with proxy(tmp_path, CONF.format(socket=socket_path, backend=backend.port)):
            answers = [
                await get(socket_path, "/deny/"),
                await get(socket_path, "/deny/", real_ip),
                await get(socket_path, "/allow/"),
                await get(socket_path, "/allow/", real_ip),
                await get(socket_path, "/variables/"),
                await get(socket_path, "/variables/", real_ip),
            ]
        backend.stop()
        return answers

    statuses, bodies = zip(*run(scenario()), strict=True)
    assert statuses == (403, 200, 200, 403, 200, 200)
    assert bodies[4:] == (b"unix:|unix:|unix:|", b"1.2.3.4|unix:|\x01\x02\x03\x04|")
