"""Fixtures for the network edge tests: namespaces joined by a veth pair, and child Python processes that
run the code under test inside a namespace (a function of a test module, called with string arguments)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.netns import Namespace, missing_requirements, unique_name

REPO = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT = 10.0
A_ADDRESS = "192.0.2.1"
B_ADDRESS = "192.0.2.2"
KEEPALIVED_REASON = missing_requirements("keepalived")
KEEPALIVED_MASTER = """
global_defs {
    vrrp_garp_master_delay 0
}
vrrp_instance VI_1 {
    state MASTER
    interface vb
    virtual_router_id 51
    priority 255
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
"""


@dataclass
class Pair:
    """Namespace `a` with `va` (192.0.2.1/24) and namespace `b` with its peer `vb` (192.0.2.2/24)."""

    a: Namespace
    b: Namespace


class Child:
    """A function of a test module running in a Python child inside a namespace; it talks by lines on
    its standard output and must end by itself (each child function has its own deadline)."""

    def __init__(self, namespace: Namespace, function: Callable[..., None], args: tuple[str, ...]) -> None:
        code = f"import sys; from {function.__module__} import {function.__name__} as run; run(*sys.argv[1:])"
        self.process = namespace.start([sys.executable, "-c", code, *args], cwd=REPO)

    def line(self) -> str:
        """The next line the child prints (fails if the child ends first)."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.fail("ended without printing the expected line")
        return line.rstrip("\n")

    def finish(self) -> list[str]:
        """Wait for the child to succeed; the lines it printed since the last `line()`."""
        try:
            stdout, stderr = self.process.communicate(timeout=CHILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        if self.process.returncode != 0:
            pytest.fail(f"child failed with status {self.process.returncode}:\n{stderr}")
        return stdout.splitlines()

    def fail(self, why: str) -> None:
        self.process.kill()
        _, stderr = self.process.communicate(timeout=CHILD_TIMEOUT)
        pytest.fail(f"child {why}:\n{stderr}")


def skip_without_namespaces() -> None:
    reason = missing_requirements()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture
def spawn() -> Iterator[Callable[..., Child]]:
    """Start a child: spawn(namespace, function, *args). Children still running at the end are killed."""
    children: list[Child] = []

    def start(namespace: Namespace, function: Callable[..., None], *args: str) -> Child:
        child = Child(namespace, function, args)
        children.append(child)
        return child

    yield start
    for child in children:
        if child.process.poll() is None:
            child.process.kill()
        child.process.communicate(timeout=CHILD_TIMEOUT)


@pytest.fixture
def keepalived_master(tmp_path: Path) -> Iterator[Callable[[Namespace], None]]:
    """Start the real keepalived 2.2.7 in a namespace once its vb is running: VRID 51 on vb, priority 255
    (master at once), VIP 192.0.2.100/24. It is stopped (SIGTERM, by its PID) at the end."""
    processes: list[subprocess.Popen[str]] = []

    def start(namespace: Namespace) -> None:
        # Started before the kernel has vb running, keepalived would begin in FAULT, then wait as backup.
        assert wait_for(lambda: operstate(namespace, "vb") == "UP")
        config = tmp_path / "keepalived.conf"
        config.write_text(KEEPALIVED_MASTER)
        pids = ["-p", str(tmp_path / "keepalived.pid"), "-r", str(tmp_path / "vrrp.pid")]
        processes.append(namespace.start(["keepalived", "-n", "-l", "-P", "-f", str(config), *pids]))

    yield start
    for process in processes:
        process.terminate()
        process.communicate(timeout=CHILD_TIMEOUT)


@pytest.fixture
def pair() -> Iterator[Pair]:
    skip_without_namespaces()
    a = Namespace.create(unique_name("hne"))
    try:
        b = Namespace.create(unique_name("hne"))
        try:
            a.add_veth(
                "va",
                "vb",
                addresses=[f"{A_ADDRESS}/24"],
                peer_namespace=b,
                peer_addresses=[f"{B_ADDRESS}/24"],
            )
            yield Pair(a, b)
        finally:
            b.delete()
    finally:
        a.delete()


def operstate(namespace: Namespace, ifname: str) -> str:
    return json.loads(namespace.ip("-j", "link", "show", "dev", ifname).stdout)[0]["operstate"]


def addresses(namespace: Namespace, ifname: str) -> list[dict[str, Any]]:
    """The interface's addresses as `ip -j addr` reports them."""
    return json.loads(namespace.ip("-j", "addr", "show", "dev", ifname).stdout)[0]["addr_info"]


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Poll until the condition holds or the deadline passes; whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
