"""The error log lines of failed upstreams, over real sockets, in nginx 1.22.1's words and context (recorded
from nginx: `*3 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1,
server: example.test, request: "GET /b HTTP/1.1", upstream: "http://127.0.0.1:9/b", host: "…"`), written
to the location's `error_log`, or to the main error log when the location has none."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest

from .harness import Backend, free_port, proxy, request, run

STAMP = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[error\] \d+#\d+: \*\d+ "


def conf(port: int, backend: int, directory: Path, *, error_log: str = "", extra: str = "") -> str:
    return f"""
server {{
    listen 127.0.0.1:{port};
    server_name example.test;
    location / {{
      access_log off;
      {error_log.format(directory=directory)}
      proxy_pass http://127.0.0.1:{backend};
      {extra}
    }}
}}
"""


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def context(port: int, target: str, host: str) -> str:
    return (
        f', client: 127\\.0\\.0\\.1, server: example\\.test, request: "GET {re.escape(target)} HTTP/1\\.1",'
        f' upstream: "http://127\\.0\\.0\\.1:{port}{re.escape(target)}", host: "{re.escape(host)}"$'
    )


def test_a_refused_connection_is_logged_as_nginx_logs_it(tmp_path: Path) -> None:
    log = tmp_path / "loc.log"

    async def scenario() -> None:
        port, dead = free_port(), free_port()
        text = conf(port, dead, tmp_path, error_log="error_log {directory}/loc.log;")
        async with proxy(tmp_path, text):
            response = await request(port, b"GET /a?x=1 HTTP/1.1\r\nHost: example.test\r\n\r\n")
            assert response.status == 502
        [line] = lines(log)
        pattern = STAMP + r"connect\(\) failed \(111: Connection refused\) while connecting to upstream"
        assert re.fullmatch(pattern + context(dead, "/a?x=1", "example.test"), line), line

    run(scenario())


def test_a_silent_upstream_is_logged_as_timed_out_while_reading_the_response_header(tmp_path: Path) -> None:
    log = tmp_path / "loc.log"

    async def silent(received, reader, writer) -> None:
        await asyncio.sleep(5)

    async def scenario() -> None:
        backend = await Backend(silent).start()
        port = free_port()
        text = conf(
            port,
            backend.port,
            tmp_path,
            error_log="error_log {directory}/loc.log;",
            extra="proxy_read_timeout 300ms;",
        )
        async with proxy(tmp_path, text):
            assert (await request(port, b"GET /slow HTTP/1.1\r\nHost: h:1\r\n\r\n")).status == 504
        backend.stop()
        [line] = lines(log)
        pattern = (
            STAMP
            + r"upstream timed out \(110: Connection timed out\) while reading response header from upstream"
        )
        assert re.fullmatch(pattern + context(backend.port, "/slow", "h:1"), line), line

    run(scenario())


def test_an_upstream_closing_before_its_answer_is_logged_as_premature(tmp_path: Path) -> None:
    log = tmp_path / "loc.log"

    async def hang_up(received, reader, writer) -> None:
        writer.close()

    async def scenario() -> None:
        backend = await Backend(hang_up).start()
        port = free_port()
        text = conf(port, backend.port, tmp_path, error_log="error_log {directory}/loc.log;")
        async with proxy(tmp_path, text):
            assert (await request(port, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")).status == 502
        backend.stop()
        [line] = lines(log)
        pattern = STAMP + "upstream prematurely closed connection while reading response header from upstream"
        assert re.fullmatch(pattern + context(backend.port, "/", "h"), line), line

    run(scenario())


def test_an_error_below_the_log_level_is_not_written(tmp_path: Path) -> None:
    log = tmp_path / "loc.log"

    async def scenario() -> None:
        port = free_port()
        async with proxy(
            tmp_path, conf(port, free_port(), tmp_path, error_log="error_log {directory}/loc.log crit;")
        ):
            assert (await request(port, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")).status == 502
        assert log.exists() and lines(log) == []

    run(scenario())


def test_without_a_location_error_log_the_line_goes_to_the_main_error_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> int:
        port, dead = free_port(), free_port()
        async with proxy(tmp_path, conf(port, dead, tmp_path)):
            assert (await request(port, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")).status == 502
        return dead

    with caplog.at_level(logging.ERROR, logger="hapair.proxy"):
        dead = run(scenario())
    [record] = [r for r in caplog.records if "connect() failed" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert f'upstream: "http://127.0.0.1:{dead}/"' in record.getMessage()


def test_reopening_the_logs_sends_later_lines_to_the_new_file(tmp_path: Path) -> None:
    log = tmp_path / "loc.log"
    rotated = tmp_path / "loc.log.1"

    async def scenario() -> None:
        port = free_port()
        async with proxy(
            tmp_path, conf(port, free_port(), tmp_path, error_log="error_log {directory}/loc.log;")
        ) as service:
            await request(port, b"GET /first HTTP/1.1\r\nHost: h\r\n\r\n")
            log.rename(rotated)
            service.reopen_logs()
            await request(port, b"GET /second HTTP/1.1\r\nHost: h\r\n\r\n")
        assert ['"GET /first HTTP/1.1"' in line for line in lines(rotated)] == [True]
        assert ['"GET /second HTTP/1.1"' in line for line in lines(log)] == [True]

    run(scenario())
