"""`hapair status` on a running `hapair proxy` (two workers): the master answers on the control socket
beside its pid file (the workers hold no copy of it), with its workers, listening addresses, each upstream
group's peers as configured, and nginx's connection counters where a `stub_status` makes the workers count;
the socket goes with the master."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.proxy.processes import HAPAIR, TIMEOUT_S, Backend, Instance, free_port, get, open_directory
from tests.topology import wait_until


@pytest.fixture
def proxy() -> Iterator[Instance]:
    directory = open_directory()
    backend = Backend("b")
    instance = Instance("hapair", directory, backend)
    status_port = free_port()
    head = instance.conf.read_text().rstrip().removesuffix("}")
    servers = f"server 127.0.0.1:{backend.port}; server 127.0.0.2:9 down; server 127.0.0.3:9 backup;"
    instance.conf.write_text(
        head
        + f"  upstream pair {{ {servers} }}\n"
        + f"  server {{ listen 127.0.0.1:{status_port}; location / {{ stub_status; }} }}\n}}\n"
    )
    instance.start_foreground()
    instance.wait_serving()
    yield instance
    instance.signal(15)
    assert instance.foreground is not None
    instance.foreground.wait(TIMEOUT_S)
    backend.close()


def status(socket: Path) -> dict[str, object]:
    ran = subprocess.run(
        [HAPAIR, "status", "--json", "--socket", str(socket)], capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stderr
    return dict(json.loads(ran.stdout))


def test_the_master_reports_its_workers_listeners_peers_and_counters(proxy: Instance) -> None:
    socket = proxy.pid_file.with_suffix(".sock")
    assert get(proxy.port)[0] == 200
    document = status(socket)
    assert document["daemon"] == "proxy" and document["pid"] == proxy.foreground.pid  # type: ignore[union-attr]
    assert set(document["workers"]) == proxy.worker_pids()  # type: ignore[arg-type]
    assert f"127.0.0.1:{proxy.port}" in document["listening"]  # type: ignore[operator]
    (pair,) = [group for group in document["upstreams"] if group["name"] == "pair"]  # type: ignore[union-attr]
    assert [(p["address"], p["down"], p["backup"], p["health"]) for p in pair["peers"]][1:] == [
        ("127.0.0.2:9", True, False, None),
        ("127.0.0.3:9", False, True, None),
    ]
    connections = document["connections"]
    assert isinstance(connections, dict) and connections["requests"] >= 1 and connections["accepted"] >= 1
    listening = f"socket:[{listening_inode(socket)}]"
    assert listening in held_files(proxy.foreground.pid)  # type: ignore[union-attr]
    first = proxy.worker_pids()
    proxy.signal(signal.SIGHUP)  # workers forked while the control thread runs
    wait_until(lambda: len(proxy.worker_pids() - first) == proxy.count, TIMEOUT_S, "the new workers")
    # a worker closes its copy first thing after the fork, which a loaded machine may not have run yet
    new = proxy.worker_pids() - first

    def copies_closed() -> bool:
        return not any(listening in held_files(worker) for worker in new)

    wait_until(copies_closed, TIMEOUT_S, "the new workers' copies of the control socket closed")


def listening_inode(path: Path) -> str:
    """The inode of the unix socket listening at `path`, from /proc/net/unix."""
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) == 8 and fields[7] == str(path):
            return fields[6]
    raise AssertionError(f"nothing listens at {path}")


def held_files(pid: int) -> set[str]:
    """What the process's descriptors point at (one it closes while they are listed is left out)."""
    held = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(FileNotFoundError):
            held.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return held


def test_the_socket_goes_with_the_master(proxy: Instance) -> None:
    socket = proxy.pid_file.with_suffix(".sock")
    assert socket.exists()
    proxy.signal(15)
    assert proxy.foreground is not None
    proxy.foreground.wait(TIMEOUT_S)
    wait_until(lambda: not socket.exists(), TIMEOUT_S, "the socket to go")
