"""The control socket (hapair/control) on a real unix socket in this process: a status request gets the
document, an unknown one an error, a follower the current states first and then each notification in
order; the socket is the owner's alone; `hapair status` refuses cleanly where no daemon answers and where
the caller may not connect."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hapair.control.protocol import FOLLOW, STATUS, request_line
from hapair.control.server import ControlServer

HAPAIR = str(Path(sys.executable).with_name("hapair"))
DOCUMENT = {
    "daemon": "vrrp",
    "pid": 1,
    "config": "k.conf",
    "instances": [{"name": "VI_1", "state": "BACKUP", "effective_priority": 100}],
}


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 10))


async def ask(path: Path, data: bytes) -> bytes:
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(data)
    answer = await reader.read()
    writer.close()
    return answer


def test_status_answers_the_document_and_an_unknown_request_an_error(tmp_path: Path) -> None:
    async def scenario() -> tuple[bytes, bytes, int]:
        server = ControlServer(tmp_path / "c.sock", lambda: DOCUMENT)
        await server.start()
        mode = stat.S_IMODE((tmp_path / "c.sock").stat().st_mode)
        answers = await ask(server.path, request_line(STATUS)), await ask(server.path, b'{"command": "x"}\n')
        await server.close()
        return *answers, mode

    document, error, mode = run(scenario())
    assert json.loads(document) == DOCUMENT
    assert "unknown command 'x'" in json.loads(error)["error"]
    assert mode == 0o600


def test_a_follower_gets_the_current_states_then_each_notification_in_order(tmp_path: Path) -> None:
    async def scenario() -> list[dict[str, Any]]:
        server = ControlServer(tmp_path / "c.sock", lambda: DOCUMENT)
        await server.start()
        reader, writer = await asyncio.open_unix_connection(str(server.path))
        writer.write(request_line(FOLLOW))
        first = json.loads(await reader.readline())
        for line in (b'INSTANCE "VI_1" MASTER 100\n', b"not a notification\n", b'GROUP "G" FAULT 0\n'):
            server.notification(line)
        events = [first, json.loads(await reader.readline()), json.loads(await reader.readline())]
        await server.close()
        assert await reader.read() == b""  # the stream ends with the daemon
        writer.close()
        return events

    events = run(scenario())
    assert [(e["kind"], e["name"], e["state"], e["priority"]) for e in events] == [
        ("instance", "VI_1", "BACKUP", 100),
        ("instance", "VI_1", "MASTER", 100),
        ("group", "G", "FAULT", 0),
    ]
    assert events[0]["current"] is True and "current" not in events[1]


def test_status_refuses_cleanly_where_no_daemon_runs(tmp_path: Path) -> None:
    ran = subprocess.run(
        [HAPAIR, "status", "--socket", str(tmp_path / "none.sock")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 1
    assert ran.stderr == f"hapair status: {tmp_path / 'none.sock'}: no daemon runs there (no such socket)\n"


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_status_refuses_cleanly_a_caller_without_permission(tmp_path: Path) -> None:
    async def scenario() -> subprocess.CompletedProcess[str]:
        server = ControlServer(tmp_path / "c.sock", lambda: DOCUMENT)
        await server.start()
        tmp_path.chmod(0o755)  # nobody may reach the socket, not use it
        unprivileged = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        process = await asyncio.create_subprocess_exec(
            *unprivileged, HAPAIR, "status", "--socket", str(server.path), stderr=asyncio.subprocess.PIPE
        )
        _, stderr = await process.communicate()
        await server.close()
        return subprocess.CompletedProcess([], process.returncode or 0, "", stderr.decode())

    ran = run(scenario())
    assert ran.returncode == 1
    assert (
        ran.stderr
        == f"hapair status: {tmp_path / 'c.sock'}: permission denied (the daemons' sockets are root's)\n"
    )
