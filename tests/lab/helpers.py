"""Running `hapair lab` as a user would (the CLI in a subprocess), and checking what a lab leaves behind."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from hapair.lab import cpu
from hapair.lab.layout import STATE_ROOT, Layout
from hapair.lab.state import LabState
from hapair.lab.status import NodeStatus, gather
from tests.netns import missing_requirements
from tests.topology import HAPAIR, wait_until

_names = itertools.count()


def unique_name(tag: str) -> str:
    """A lab name no other test run uses."""
    return f"{tag}{os.getpid()}-{next(_names)}"


def lab(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HAPAIR, "lab", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def lab_ok(*args: str) -> str:
    result = lab(*args)
    assert result.returncode == 0, (
        f"hapair lab {' '.join(args)}: {result.returncode}\n{result.stdout}{result.stderr}"
    )
    return result.stdout


def statuses(name: str) -> dict[int, NodeStatus]:
    return {row.node: row for row in gather(LabState.load(Layout.named(name)))}


def wait_for(
    name: str, description: str, check: Callable[[dict[int, NodeStatus]], bool], timeout: float = 15
) -> dict[int, NodeStatus]:
    """Poll the lab's status until `check(statuses)` is true."""

    def holds() -> dict[int, NodeStatus] | None:
        rows = statuses(name)
        return rows if check(rows) else None

    return wait_until(holds, timeout, description, interval=0.1)  # type: ignore[return-value]


def master_is(node: int, name: str, timeout: float = 15) -> dict[int, NodeStatus]:
    """Wait until `node` is MASTER holding the VIP, and the other node BACKUP without it."""
    other = 3 - node

    def check(rows: dict[int, NodeStatus]) -> bool:
        return (
            rows[node].state == "MASTER"
            and rows[node].vips == ("10.101.1.10",)
            and rows[other].state == "BACKUP"
            and rows[other].vips == ()
        )

    return wait_for(name, f"node {node} master", check, timeout)


def leftovers(name: str) -> list[str]:
    """What lab `name` left: namespaces, its state directory, processes naming it."""
    prefix = f"hapair-{name}-"
    found = (
        [f"namespace {n}" for n in os.listdir("/run/netns") if n.startswith(prefix)]
        if Path("/run/netns").exists()
        else []
    )
    if (STATE_ROOT / name).exists():
        found.append(f"state directory {STATE_ROOT / name}")
    groups = cpu.hierarchy()
    if groups is not None:
        found += [f"CPU control group {g}" for g in groups[0].glob(f"{prefix}node*")]
    marks = (f"{STATE_ROOT}/{name}/".encode(), prefix.encode())
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if any(mark in cmdline for mark in marks):
                command = cmdline.replace(b"\0", b" ").decode(errors="replace")
                found.append(f"process {entry.name}: {command}")
    return found


def skip_reason() -> str | None:
    return missing_requirements("unshare", "nsenter")
