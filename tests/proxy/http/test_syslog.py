"""Access and error log lines sent to syslog over UDP, as nginx 1.22.1 sends them (recorded from nginx):
`<190>Dec  6 04:12:12 vm nginx: 127.0.0.1 - - [06/Dec/2026:04:12:12 +0000] "GET / HTTP/1.1" 200 2 "-"
"curl/7.88.1"` for an access log (local7.info), `<187>Dec  6 04:12:12 edge_1: 2026/12/06 04:12:12 [error]
26794#26794: *2 connect() failed (111: Connection refused) while connecting to upstream, ...` for an
error log with `nohostname,tag=edge_1` (the line's own severity, error)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from hapair.proxy.syslog import HOSTNAME

from .harness import free_port, proxy, request, run

HEADER = r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d"


class Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.datagrams.put_nowait(data)


async def collector() -> tuple[asyncio.DatagramTransport, Collector, int]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(Collector, local_addr=("127.0.0.1", 0))
    return transport, protocol, transport.get_extra_info("sockname")[1]


def test_access_and_error_lines_reach_syslog_with_nginx_headers(tmp_path: Path) -> None:
    async def scenario() -> None:
        transport, received, syslog_port = await collector()
        port, dead = free_port(), free_port()
        target = f"syslog:server=127.0.0.1:{syslog_port}"
        text = f"""
        server {{
            listen 127.0.0.1:{port};
            access_log {target} combined;
            error_log {target},nohostname,tag=edge_1,facility=local0 warn;
            location / {{ return 200 ok; }}
            location /up {{ proxy_pass http://127.0.0.1:{dead}; }}
        }}
        """
        try:
            async with proxy(tmp_path, text):
                assert (await request(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")).status == 200
                access = (await received.datagrams.get()).decode()
                assert (await request(port, b"GET /up HTTP/1.1\r\nHost: a\r\n\r\n")).status == 502
                error = (await received.datagrams.get()).decode()
                access_502 = (await received.datagrams.get()).decode()
        finally:
            transport.close()
        assert re.fullmatch(
            rf"<190>{HEADER} {re.escape(HOSTNAME)} nginx: "
            r'127\.0\.0\.1 - - \[[^]]+\] "GET / HTTP/1\.1" 200 2 "-" "-"',
            access,
        ), access
        assert re.fullmatch(
            rf"<131>{HEADER} edge_1: \d{{4}}/\d\d/\d\d \d\d:\d\d:\d\d \[error\] \d+#\d+: \*\d+ "
            r"connect\(\) failed "
            r"\(111: Connection refused\) while connecting to upstream, client: 127\.0\.0\.1, .*",
            error,
        ), error
        assert '"GET /up HTTP/1.1" 502 ' in access_502

    run(scenario())


def test_a_syslog_error_log_sends_only_lines_at_its_level(tmp_path: Path) -> None:
    async def scenario() -> None:
        transport, received, syslog_port = await collector()
        port, dead = free_port(), free_port()
        text = f"""
        server {{
            listen 127.0.0.1:{port};
            access_log syslog:server=127.0.0.1:{syslog_port} combined;
            error_log syslog:server=127.0.0.1:{syslog_port} crit;
            location / {{ proxy_pass http://127.0.0.1:{dead}; }}
        }}
        """
        try:
            async with proxy(tmp_path, text):
                assert (await request(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")).status == 502
                first = await received.datagrams.get()
        finally:
            transport.close()
        assert b'"GET / HTTP/1.1" 502 ' in first  # the access line: the error line (below crit) was not sent

    run(scenario())
