"""keepalived's notify FIFOs (hapair.vrrp.notify_fifo): the line format, the FIFO made as keepalived makes
it (mode after the umask, kept if it exists, removed at close only if made), its reader script started
first, and keepalived's lines when it cannot be made; priority changes told with notify_priority_changes."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

from hapair.config.keepalived.model.global_defs import GlobalDefs, NotifyFifo
from hapair.config.keepalived.model.scripts import SC_EXECABLE, NotifyScript
from hapair.vrrp.actions import Notify, NotifyEvent
from hapair.vrrp.commands import ScriptRunner
from hapair.vrrp.notify_fifo import fifo_line, open_fifos

from .fakelan import FakeLan, read_instance


def test_lines_are_keepalived_s():
    assert fifo_line(group=False, name="VI_1", event=NotifyEvent.MASTER, priority=100) == (
        b'INSTANCE "VI_1" MASTER 100\n'
    )
    assert fifo_line(group=True, name="G1", event=NotifyEvent.BACKUP, priority=0) == b'GROUP "G1" BACKUP 0\n'
    assert fifo_line(group=False, name="VI_1", event=NotifyEvent.MASTER_PRIORITY, priority=90) == (
        b'INSTANCE "VI_1" MASTER_PRIORITY 90\n'
    )


def opened(defs: GlobalDefs, umask: int = 0o177) -> tuple[list[str], list[bytes]]:
    """Open the FIFOs of `defs`, write a line, read back what the FIFO holds, close them; the log."""
    logged: list[str] = []
    read: list[bytes] = []

    async def run() -> None:
        runner = ScriptRunner(logged.append)
        fifos = open_fifos(defs, runner, logged.append, umask=umask)
        for fifo in fifos:
            fifo.write(b"line\n")
            reader = os.open(fifo.path, os.O_RDONLY | os.O_NONBLOCK)
            read.append(os.read(reader, 100))
            os.close(reader)
            fifo.close()
        runner.terminate_all()
        await runner.wait_all()

    asyncio.run(run())
    return logged, read


def test_a_fifo_is_made_with_keepalived_s_mode_and_removed_at_close(tmp_path: Path):
    path = tmp_path / "notify.fifo"
    logged, read = opened(GlobalDefs(vrrp_notify_fifo=NotifyFifo(str(path), os.getuid(), os.getgid())))
    assert (logged, read) == ([], [b"line\n"])
    assert not path.exists()


def test_the_mode_follows_the_umask(tmp_path: Path):
    path = tmp_path / "notify.fifo"
    defs = GlobalDefs(notify_fifo=NotifyFifo(str(path), os.getuid(), os.getgid()))

    async def run() -> int:
        fifos = open_fifos(defs, ScriptRunner(print), print, umask=0o177)
        mode = stat.S_IMODE(path.stat().st_mode)
        fifos[0].close()
        return mode

    assert asyncio.run(run()) == 0o600


def test_an_existing_fifo_is_used_and_left_in_place(tmp_path: Path):
    path = tmp_path / "notify.fifo"
    os.mkfifo(path)
    logged, read = opened(GlobalDefs(vrrp_notify_fifo=NotifyFifo(str(path), os.getuid(), os.getgid())))
    assert (logged, read) == ([], [b"line\n"])
    assert stat.S_ISFIFO(path.stat().st_mode)


def test_a_fifo_that_cannot_be_made_is_logged_and_left_out(tmp_path: Path):
    path = tmp_path / "missing-directory" / "notify.fifo"
    logged, read = opened(GlobalDefs(vrrp_notify_fifo=NotifyFifo(str(path), os.getuid(), os.getgid())))
    assert logged == [f"Unable to create vrrp_notify fifo {path}"]
    assert read == []


def run_reader(tmp_path: Path, body: str, *, stop: bool) -> list[str]:
    """Open a FIFO whose reader script runs `body`; wait until it has started (it touches a file), then
    stop the runner (`stop`) or let the reader end; the log."""
    path, started = tmp_path / "notify.fifo", tmp_path / "started"
    reader = tmp_path / "reader.sh"
    reader.write_text(f"#!/bin/sh\ntouch {started}\n{body}\n")
    reader.chmod(0o755)
    script = NotifyScript([str(reader)], os.getuid(), os.getgid(), flags=SC_EXECABLE)
    defs = GlobalDefs(vrrp_notify_fifo=NotifyFifo(str(path), os.getuid(), os.getgid(), script))
    logged: list[str] = []

    async def run() -> None:
        runner = ScriptRunner(logged.append)
        fifos = open_fifos(defs, runner, logged.append, umask=0o177)
        while not started.exists():
            await asyncio.sleep(0.01)
        if stop:
            runner.terminate_all()
        # every task over, the reader's with its done callbacks
        await asyncio.gather(*(task for task in asyncio.all_tasks() if task is not asyncio.current_task()))
        fifos[0].close()

    asyncio.run(run())
    return logged


def test_a_reader_script_ending_on_its_own_is_logged(tmp_path: Path):
    assert run_reader(tmp_path, "exit 0", stop=False) == ["vrrp notify fifo script terminated"]


def test_a_reader_script_ended_at_the_stop_is_not(tmp_path: Path):
    assert run_reader(tmp_path, "exec sleep 60", stop=True) == []


def test_notify_priority_changes_tells_the_new_priority(tmp_path: Path):
    instance = read_instance(
        """
        vrrp_instance VI_1 {
            interface eth0
            virtual_router_id 51
            priority 100
            notify_priority_changes
            virtual_ipaddress {
                10.77.0.100/24
            }
        }
        """,
        "10.77.0.1",
        tmp_path,
    )
    lan = FakeLan()
    node = lan.add("a", instance, "10.77.0.1")
    lan.start(node)
    assert Notify(NotifyEvent.BACKUP_PRIORITY, 90) in node.router.set_total_priority(lan.now, 90)
    assert not any(isinstance(a, Notify) for a in node.router.set_total_priority(lan.now, 90))
