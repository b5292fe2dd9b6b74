"""Writing stream access log lines to files: at once, buffered, flushed, conditional, reopened."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

from hapair.config.nginx.model.logging import AccessLog
from hapair.proxy.stream.accesslog import AccessLogWriter, LogFiles
from hapair.proxy.stream.variables import StreamVariables

from .helpers import FakeSession, access_log, poll, run, template


def record(status: int = 200) -> FakeSession:
    return FakeSession(status=status, attempts=[])


def writer(log: AccessLog, files: LogFiles) -> AccessLogWriter:
    return AccessLogWriter(asyncio.get_running_loop(), log, files, StreamVariables(hostname="h", pid=1))


def test_a_line_is_written_at_once_without_a_buffer(tmp_path: Path) -> None:
    path = tmp_path / "a.log"

    async def scenario() -> str:
        files = LogFiles()
        writer(access_log(path, "$status"), files).write(record())
        text = path.read_text()
        files.close()
        return text

    assert run(scenario()) == "200\n"


def test_file_is_created_on_start_with_nginx_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.log"

    async def scenario() -> None:
        files = LogFiles()
        writer(access_log(path, "$status"), files)
        files.close()

    run(scenario())
    assert path.exists()
    assert path.stat().st_mode & 0o777 == 0o644 & ~current_umask()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_buffer_holds_lines_until_it_would_overflow(tmp_path: Path) -> None:
    path = tmp_path / "a.log"

    async def scenario() -> list[str]:
        files = LogFiles()
        log = writer(replace(access_log(path, "$status"), buffer=8), files)
        seen = []
        for status in (200, 502, 500):
            log.write(record(status))
            seen.append(path.read_text())
        log.flush()
        seen.append(path.read_text())
        files.close()
        return seen

    assert run(scenario()) == ["", "", "200\n502\n", "200\n502\n500\n"]


def test_flush_interval_writes_buffered_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.log"

    async def scenario() -> str:
        files = LogFiles()
        log = writer(replace(access_log(path, "$status"), buffer=4096, flush=50), files)
        log.write(record())
        assert path.read_text() == ""
        await poll(lambda: path.read_text() != "")
        text = path.read_text()
        files.close()
        return text

    assert run(scenario()) == "200\n"


def test_condition_skips_lines_it_does_not_hold_for(tmp_path: Path) -> None:
    path = tmp_path / "a.log"

    async def scenario() -> str:
        files = LogFiles()
        log = writer(replace(access_log(path, "$status"), condition=template("$upstream_addr")), files)
        log.write(record())  # no upstream tried: $upstream_addr is empty
        text = path.read_text()
        files.close()
        return text

    assert run(scenario()) == ""


def test_logs_of_one_path_share_a_file_and_reopen_follows_a_rename(tmp_path: Path) -> None:
    path, rotated = tmp_path / "a.log", tmp_path / "a.log.1"

    async def scenario() -> None:
        files = LogFiles()
        first, second = writer(access_log(path, "first"), files), writer(access_log(path, "second"), files)
        first.write(record())
        path.rename(rotated)
        second.write(record())
        files.reopen()
        first.write(record())
        files.close()

    run(scenario())
    assert rotated.read_text() == "first\nsecond\n"
    assert path.read_text() == "first\n"
