"""The process edges: pidfds (anywhere) and the kernel's proc connector (in the machine's own network
namespace, where this test process runs; elsewhere it must be refused, which the track_process system test
shows), and the daemon's ProcessWatch on the connector."""

from __future__ import annotations

import asyncio
import errno
import shutil
import subprocess
from pathlib import Path

import pytest

from hapair.config.keepalived.model.global_defs import GlobalDefs
from hapair.config.keepalived.model.vrrp import TrackProcess
from hapair.net.processes import (
    Executed,
    Exited,
    PidWatcher,
    ProcConnector,
    ProcessEvent,
    ProcessInfo,
    read_process,
)
from hapair.vrrp.process_watch import ProcessWatch
from hapair.vrrp.track_process import QuorumChange
from tests.topology import wait_until

WAIT_S = 10


def sleeper(directory: Path, name: str) -> subprocess.Popen[bytes]:
    program = directory / name
    shutil.copy(shutil.which("sleep") or "/bin/sleep", program)
    return subprocess.Popen([str(program), "600"])


def test_read_process_gives_comm_parent_and_command_line(tmp_path: Path) -> None:
    process = sleeper(tmp_path, "hpt-read")
    try:
        # until the exec has set the command line up
        info = wait_until(
            lambda: (i := read_process(process.pid, cmdline_size=200)) and i.cmdline and i, 5, "exec"
        )
        assert isinstance(info, ProcessInfo)
        assert (info.comm, info.cmdline, info.zombie) == (
            "hpt-read",
            f"{tmp_path}/hpt-read\x00600\x00".encode(),
            False,
        )
    finally:
        process.kill()
        process.wait()
    assert read_process(process.pid) is None


def test_a_pid_watcher_reports_the_exit_of_a_watched_process(tmp_path: Path) -> None:
    async def run() -> tuple[list[int], bool]:
        exited: list[int] = []
        done = asyncio.Event()
        watcher = PidWatcher(asyncio.get_running_loop(), lambda pid: (exited.append(pid), done.set()))
        process = sleeper(tmp_path, "hpt-watched")
        assert watcher.watch(process.pid)
        process.kill()
        await asyncio.wait_for(done.wait(), WAIT_S)
        process.wait()
        gone = watcher.watch(process.pid)
        watcher.close()
        return exited, gone

    process_exits, watch_of_gone = asyncio.run(run())
    assert process_exits != [] and not watch_of_gone


def connector() -> ProcConnector:
    try:
        return ProcConnector.open()
    except OSError as error:
        if error.errno == errno.ECONNREFUSED:
            pytest.skip("no process events here (not the machine's own network namespace)")
        raise


def test_the_proc_connector_reports_exec_and_exit(tmp_path: Path) -> None:
    events: list[ProcessEvent] = []

    async def run() -> int:
        loop = asyncio.get_running_loop()
        sock = connector()
        seen = asyncio.Event()
        process = sleeper(tmp_path, "hpt-events")

        def readable() -> None:
            events.extend(sock.receive())
            if Exited(process.pid) in events:
                seen.set()

        loop.add_reader(sock.fileno(), readable)
        process.kill()
        process.wait()
        try:
            await asyncio.wait_for(seen.wait(), WAIT_S)
        finally:
            loop.remove_reader(sock.fileno())
            sock.close()
        return process.pid

    pid = asyncio.run(run())
    assert Executed(pid) in events


def test_process_watch_follows_processes_through_the_connector(tmp_path: Path) -> None:
    connector().close()
    lines: list[str] = []
    changes: list[QuorumChange] = []

    async def run() -> None:
        changed = asyncio.Event()
        watch = ProcessWatch(
            [TrackProcess("p", path="hpt-tracked")],
            GlobalDefs(),
            0,
            log=lines.append,
            detail=True,
            changed=lambda moved: (changes.extend(moved), changed.set()),
        )
        watch.start()
        process = sleeper(tmp_path, "hpt-tracked")
        try:
            await asyncio.wait_for(changed.wait(), WAIT_S)
            changed.clear()
        finally:
            process.kill()
            process.wait()
        await asyncio.wait_for(changed.wait(), WAIT_S)
        watch.close()

    asyncio.run(run())
    assert lines[0] == "Tracking processes with the kernel's process events (proc connector)"
    assert changes == [QuorumChange("p", True), QuorumChange("p", False)]
