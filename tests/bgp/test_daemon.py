"""hapair bgp's daemon with a recording speaker: real probes (a pid file, a listener on the loopback),
the control socket's commands, the drain sequence, and the ExaBGP edge's lines."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hapair.bgp.announcer import Action
from hapair.bgp.config import BgpConfig, Vip
from hapair.bgp.daemon import FAST_STOP_WAIT_S, BgpDaemon, PidFileProxy, run
from hapair.bgp.speakers import ExaBgpSpeaker


class Recorder:
    def __init__(self) -> None:
        self.actions: list[Action] = []

    def apply(self, action: Action) -> None:
        self.actions.append(action)


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield server.getsockname()[1]


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """A stand-in proxy: a process whose pid file the daemon follows, ended by SIGQUIT as nginx's is."""
    yield from followed(subprocess.Popen(["sleep", "600"]), tmp_path)


def followed(
    process: subprocess.Popen[bytes], tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """`process` with a pid file naming it, as a proxy's; killed at the end."""
    pid_file = tmp_path / "proxy.pid"
    pid_file.write_text(f"{process.pid}\n")
    try:
        yield process, pid_file
    finally:
        process.kill()
        process.wait()


def make(
    tmp_path: Path,
    pid_file: Path,
    port: int,
    follow: tuple[str, ...] = (),
    backends: tuple[tuple[str, int], ...] = (),
) -> tuple[BgpDaemon, Any]:
    config = BgpConfig(
        backends=backends,
        path="test",
        speaker="exabgp",
        proxy_pid=str(pid_file),
        rise=2,
        fall=1,
        drain_settle=0.0,
        control=str(tmp_path / "control.sock"),
        vips=[Vip("127.0.0.1", (port,), follow)],
    )
    recorder = Recorder()
    return BgpDaemon(config, recorder), recorder


async def ask(daemon: BgpDaemon, line: str) -> list[str]:
    reader, writer = await asyncio.open_unix_connection(daemon.config.control)
    writer.write(line.encode() + b"\n")
    answer = (await reader.read()).decode().splitlines()
    writer.close()
    return answer


def test_probes_announce_a_healthy_proxy_and_withdraw_a_dead_one(tmp_path, proxy, listener) -> None:
    process, pid_file = proxy
    daemon, recorder = make(tmp_path, pid_file, listener)

    async def scenario() -> None:
        await daemon.probe_once()
        assert recorder.actions == []  # rise 2
        await daemon.probe_once()
        process.kill()
        process.wait()
        await daemon.probe_once()

    asyncio.run(scenario())
    assert [(a.announce, a.why) for a in recorder.actions] == [
        (True, f"all sources up (last: listener 127.0.0.1:{listener} up: accepts connections)"),
        (False, f"proxy down: process {process.pid} is gone"),
    ]


def test_a_listener_that_refuses_is_withdrawn(tmp_path, proxy) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, not listening: connections are refused
        daemon, recorder = make(tmp_path, proxy[1], port)
        asyncio.run(daemon.probe_once())
    assert daemon.announcers["127.0.0.1"].source_states()[f"listener 127.0.0.1:{port}"] == (
        False,
        "Connection refused",
    )
    assert recorder.actions == []


def test_backends_follow_whether_any_is_reachable(tmp_path, proxy, listener) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = ("127.0.0.1", unused.getsockname()[1])  # bound, not listening: refused
        daemon, recorder = make(tmp_path, proxy[1], listener, backends=(closed, ("127.0.0.1", listener)))
        asyncio.run(daemon.probe_once())
        asyncio.run(daemon.probe_once())
        assert daemon.announcers["127.0.0.1"].source_states()["backends"] == (
            True,
            "1 of 2 backends reachable",
        )
        assert recorder.actions[-1].announce
        daemon.config.backends = (closed,)
        asyncio.run(daemon.probe_once())
    assert (recorder.actions[-1].announce, recorder.actions[-1].why) == (
        False,
        "backends down: none of 1 backends reachable in 100 ms",
    )


def test_control_status_observe_drain_undrain(tmp_path, proxy, listener) -> None:
    process, pid_file = proxy
    daemon, recorder = make(tmp_path, pid_file, listener, follow=("node",))

    async def scenario() -> dict[str, list[str]]:
        server = await daemon.serve_control()
        answers = {}
        await daemon.probe_once()
        await daemon.probe_once()
        answers["unknown source"] = await ask(daemon, "observe other up")
        answers["observe 1"] = await ask(daemon, "observe node up native tracking")
        answers["status before"] = await ask(daemon, "status")
        answers["observe 2"] = await ask(daemon, "observe node up native tracking")
        answers["drain"] = await ask(daemon, "drain")
        await daemon.probe_once()  # the proxy is gone
        answers["undrain"] = await ask(daemon, "undrain")
        answers["nonsense"] = await ask(daemon, "reboot")
        server.close()
        return answers

    answers = asyncio.run(scenario())
    assert answers["unknown source"] == ["error: no vip follows 'other'"]
    assert answers["observe 1"] == ["ok"]
    assert "withdrawn since" in answers["status before"][0]  # `node` has not risen yet (rise 2)
    assert [(a.announce, a.why) for a in recorder.actions[:2]] == [
        (True, "all sources up (last: node up: native tracking)"),
        (False, "drained by the administrator"),
    ]
    drain = answers["drain"]
    assert drain[0].startswith("127.0.0.1 withdrawn at ")
    assert drain[1].startswith(f"proxy {process.pid} asked to stop at ")
    assert drain[2].startswith(f"proxy {process.pid} stopped at ")
    assert process.returncode is not None or process.wait(5) == -3  # SIGQUIT
    assert answers["undrain"][0].startswith("127.0.0.1 withdrawn since")
    assert answers["undrain"][0].endswith(f"proxy down: process {process.pid} is gone")
    assert answers["nonsense"] == ["error: unknown command 'reboot' (status, drain, undrain, observe)"]


def test_exabgp_speaker_writes_the_text_api_commands() -> None:
    output = io.StringIO()
    speaker = ExaBgpSpeaker(output)
    speaker.apply(Action("10.0.0.10", True, "up", 1))
    speaker.apply(Action("10.0.0.10", False, "down", 2))
    assert output.getvalue() == (
        "announce route 10.0.0.10/32 next-hop self\nwithdraw route 10.0.0.10/32 next-hop self\n"
    )


class FakeClock:
    """The drain's monotonic clock, moved by the test: the waits end when the test says, not later."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stubborn(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """A proxy whose graceful stop never ends: it ignores SIGQUIT (and, with the parameter "TERM", SIGTERM
    too), which it says once it does."""
    ignored = " ".join(["QUIT", *getattr(request, "param", ())])
    script = f'trap "" {ignored}; echo ready; exec sleep 600'
    process = subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    yield from followed(process, tmp_path)


def stubborn_daemon(tmp_path: Path, pid_file: Path, clock: FakeClock) -> BgpDaemon:
    daemon, _ = make(tmp_path, pid_file, 1)
    daemon.proxy = PidFileProxy(str(pid_file), time.time, timeout=30.0, monotonic=clock)
    return daemon


async def drain_lines(daemon: BgpDaemon) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, list[str]]:
    """A drain asked on the control socket, its answer read up to the proxy's SIGQUIT."""
    reader, writer = await asyncio.open_unix_connection(daemon.config.control)
    writer.write(b"drain\n")
    lines = [(await reader.readline()).decode() for _ in range(2)]
    return reader, writer, lines


def drain_answer(daemon: BgpDaemon, clock: FakeClock, *moves: float) -> list[str]:
    """The whole answer to a drain asked on the control socket (its lines without their ends), the clock
    moved by each of `moves` in turn: the first once the SIGQUIT is told, each next one once the line the
    move before it brought has come."""

    async def scenario() -> list[str]:
        server = await daemon.serve_control()
        reader, writer, lines = await drain_lines(daemon)
        *stepped, last = moves
        for move in stepped:
            clock.now += move
            lines.append((await reader.readline()).decode())
        clock.now += last
        lines += (await reader.read()).decode().splitlines(keepends=True)
        writer.close()
        server.close()
        return lines

    return [line.rstrip("\n") for line in asyncio.run(asyncio.wait_for(scenario(), 60))]


async def ended(process: subprocess.Popen[bytes]) -> None:
    """Until `process` has ended (its pidfd readable)."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    pidfd = os.pidfd_open(process.pid)
    loop.add_reader(pidfd, done.set_result, None)
    try:
        await done
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)


def test_a_proxy_that_ignores_sigquit_gets_sigterm_after_drain_timeout(tmp_path, stubborn, caplog) -> None:
    process, pid_file = stubborn
    clock = FakeClock()
    lines = drain_answer(stubborn_daemon(tmp_path, pid_file, clock), clock, 30.0)  # drain_timeout
    assert process.wait() == -signal.SIGTERM
    assert lines[1].startswith(f"proxy {process.pid} asked to stop at ")
    assert lines[2].startswith(f"proxy {process.pid} still running at ")
    assert lines[2].endswith(
        ", drain_timeout (30 s) after SIGQUIT: SIGTERM (its fast stop: the connections left are closed)"
    )
    assert lines[3].startswith(f"proxy {process.pid} stopped at ")
    assert len(lines) == 4
    assert [r.levelname for r in caplog.records if "SIGTERM" in r.message] == ["WARNING"]


@pytest.mark.parametrize("stubborn", [("TERM",)], indirect=True)
def test_a_proxy_that_outlives_its_sigterm_is_reported_running_and_the_drain_ends(
    tmp_path, stubborn, caplog
) -> None:
    process, pid_file = stubborn
    clock = FakeClock()
    lines = drain_answer(stubborn_daemon(tmp_path, pid_file, clock), clock, 30.0, FAST_STOP_WAIT_S)
    assert process.poll() is None
    assert lines[2].endswith("after SIGQUIT: SIGTERM (its fast stop: the connections left are closed)")
    assert lines[3].startswith(f"error: proxy {process.pid} still running at ")
    assert lines[3].endswith(", 5 s after SIGTERM: left as it is (it is not hapair bgp's child)")
    assert len(lines) == 4
    [error] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert error.message.startswith(f"drain: proxy {process.pid} still running at ")


def test_the_sigterm_is_sent_when_the_drains_client_has_gone(tmp_path, stubborn) -> None:
    process, pid_file = stubborn
    clock = FakeClock()
    daemon = stubborn_daemon(tmp_path, pid_file, clock)

    async def scenario() -> int:
        server = await daemon.serve_control()
        _, writer, _ = await drain_lines(daemon)
        writer.close()  # `hapair bgp drain` interrupted while it waits
        clock.now += 30.0
        await ended(process)
        server.close()
        return process.wait()

    assert asyncio.run(asyncio.wait_for(scenario(), 60)) == -signal.SIGTERM


def test_a_daemon_stopped_during_a_drain_ends_without_an_error(tmp_path, stubborn, caplog) -> None:
    """SIGTERM while a drain waits for the proxy: the drain's connection ends with the daemon, and asyncio
    logs no error (Python 3.11's streams took a connection handler cancelled at the loop's end for one
    that failed, and logged its CancelledError with a traceback)."""
    _, pid_file = stubborn
    daemon = stubborn_daemon(tmp_path, pid_file, FakeClock())

    async def scenario() -> None:
        running = asyncio.create_task(run(daemon))
        while not os.path.exists(daemon.config.control):
            await asyncio.sleep(0)
        await drain_lines(daemon)
        os.kill(os.getpid(), signal.SIGTERM)  # run()'s handler: the daemon stops
        await running

    asyncio.run(asyncio.wait_for(scenario(), 60))
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
