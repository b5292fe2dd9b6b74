"""vrrp_track_process (issue 13, point 7): hapair in a network namespace, where the kernel sends no process
events (its fallback: pidfds and /proc scans), beside keepalived 2.2.7 whose proc connector works (it
opens it in the machine's own namespace before entering the LAN's, as its `net_namespace` does). Both
track the same processes, started and killed by the test, and log the same state changes, quorum
changes and priority changes in the same order: FAULT at start for want of a quorum, a weighted tracker
moving the priority, the quorum gained, lost above quorum_max, and gained again."""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.mixed import KEEPALIVED, Implementation, Node, end_all
from tests.topology import Daemon, Lan

pytestmark = [pytest.mark.netns, pytest.mark.oracle]

START_S = 15
STEP_S = 10
KEPT = ("Entering", "effective priority", "entering FAULT", "Quorum")


@pytest.fixture
def lan(lan: Lan) -> Iterator[Lan]:
    yield lan
    end_all(lan.daemons)


@pytest.fixture(autouse=True)
def _keepalived_installed() -> None:
    if shutil.which(KEEPALIVED) is None:
        pytest.skip(f"needs {KEEPALIVED}")


class Programs:
    """Copies of sleep under names of their own (their comm), run and killed by PID."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.running: dict[str, list[subprocess.Popen[bytes]]] = {}

    def start(self, name: str) -> None:
        program = self.directory / name
        if not program.exists():
            shutil.copy(shutil.which("sleep") or "/bin/sleep", program)
        self.running.setdefault(name, []).append(subprocess.Popen([str(program), "600"]))

    def stop(self, name: str) -> None:
        process = self.running[name].pop()
        process.send_signal(signal.SIGTERM)
        process.wait()

    def stop_all(self) -> None:
        for processes in self.running.values():
            for process in processes:
                process.kill()
                process.wait()


@pytest.fixture
def programs(tmp_path: Path) -> Iterator[Programs]:
    running = Programs(tmp_path)
    yield running
    running.stop_all()


def config(vrid: int, vip: str, namespace: str | None = None) -> str:
    global_defs = f"global_defs {{\n    net_namespace {namespace}\n}}\n" if namespace else ""
    return (
        global_defs + "vrrp_track_process pair {\n    process trk-a\n    quorum 2\n    quorum_max 3\n}\n"
        "vrrp_track_process extra {\n    process trk-b\n    weight 10\n}\n"
        "vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n"
        f"    virtual_router_id {vrid}\n    priority 100\n    advert_int 1\n"
        "    track_process {\n        pair\n        extra\n    }\n"
        f"    virtual_ipaddress {{\n        {vip}/32\n    }}\n}}\n"
    )


def start_keepalived_outside(lan: Lan, node: Node) -> Daemon:
    """keepalived started in the machine's own network namespace, entering the host's by `net_namespace`
    (its proc connector opened first); its processes end with the host's namespace (Lan.close)."""
    directory = lan.directory
    conf = directory / "keepalived.conf"
    conf.write_text(node.config)
    args = [KEEPALIVED, "-n", "-l", "-D", "-G", "-P", "-f", str(conf)]
    for flag in "prcb":
        args += [f"-{flag}", str(directory / f"keepalived{flag}.pid")]
    log_path = directory / "keepalived.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    daemon = Daemon(node.host, process, log_path, "keepalived")
    lan.daemons.append(daemon)
    node.runs.append(daemon)
    return daemon


def kept(node: Node) -> list[str]:
    return [line for line in node.lines() if any(word in line for word in KEPT)]


def test_both_follow_the_same_processes_to_the_same_states(lan: Lan, programs: Programs) -> None:
    first, second = lan.host("n1", "10.101.1.11"), lan.host("n2", "10.101.1.12")
    hapair = Node(first, Implementation.HAPAIR, config(51, "10.101.1.20"), 100)
    keepalived = Node(
        second, Implementation.KEEPALIVED, config(52, "10.101.1.21", second.namespace.name), 100
    )
    hapair.start()
    start_keepalived_outside(lan, keepalived)
    nodes = (hapair, keepalived)
    marks = [node.wait_for("(VI_1) entering FAULT state (tracked process pair", START_S) for node in nodes]
    hapair.wait_for("tracking processes with pidfds and a scan of /proc", 1)
    steps: list[tuple[str, list[str], str]] = [
        # (start or stop, programs, the line both wait for)
        ("start", ["trk-b"], "Changing effective priority from 100 to 110"),
        ("start", ["trk-a", "trk-a"], "(VI_1) Entering MASTER STATE"),
        ("start", ["trk-a", "trk-a"], "(VI_1) Entering FAULT STATE"),
        ("stop", ["trk-a"], "(VI_1) Entering MASTER STATE"),
        ("stop", ["trk-b"], "Changing effective priority from 110 to 100"),
    ]
    for action, names, expected in steps:
        for name in names:
            programs.start(name) if action == "start" else programs.stop(name)
        marks = [node.wait_for(expected, STEP_S, mark + 1) for node, mark in zip(nodes, marks, strict=True)]
    assert kept(hapair) == kept(keepalived)
    assert "Failed to set/clear process event listen" not in keepalived.daemon.log()
