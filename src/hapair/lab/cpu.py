"""Nodes of a given size on one machine (`hapair lab up --node-cpu CPUS`): each node's processes run in a
control group of the kernel's CPU controller capped at CPUS processors, so that N nodes have N times one
node's capacity, as N machines would, where without it they all share this machine's cores.

The cap is CFS bandwidth over a 10 ms period (cgroup v2's `cpu.max`, or v1's `cpu.cfs_quota_us`): a node
that spent its quota waits at most the rest of 10 ms, far inside BFD's and VRRP's timers. A node's
programs join its group from a shell that writes its own PID into `cgroup.procs` and then execs them, so
that nothing they fork can start outside it."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .errors import LabError

CGROUP_ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 10_000
MIN_QUOTA_US = 1_000  # the kernel's smallest quota


def check(cpus: float) -> None:
    """Raise LabError if `cpus` cannot be a node's size here."""
    most = os.cpu_count() or 1
    if not MIN_QUOTA_US / PERIOD_US <= cpus <= most:
        raise LabError(
            f"--node-cpu {cpus:g}: from {MIN_QUOTA_US / PERIOD_US:g} to {most} (this machine's CPUs)"
        )
    _required_hierarchy()


def create(name: str, cpus: float) -> Path:
    """The group `name`, capped at `cpus` processors; its `cgroup.procs`, which `joined` writes into."""
    root, version = _required_hierarchy()
    if version == 2:
        _enable_for_children(root)
    group = root / name
    group.mkdir(exist_ok=True)
    quota = round(cpus * PERIOD_US)
    if version == 2:
        (group / "cpu.max").write_text(f"{quota} {PERIOD_US}\n")
    else:
        (group / "cpu.cfs_period_us").write_text(f"{PERIOD_US}\n")
        (group / "cpu.cfs_quota_us").write_text(f"{quota}\n")
    return group / "cgroup.procs"


def joined(procs: Path, command: list[str]) -> list[str]:
    """`command`, run in the group whose `cgroup.procs` is `procs` from its first instruction on."""
    return ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(procs), *command]


def remove(name: str) -> None:
    """Remove the group `name` once its processes are gone (nothing if there is none)."""
    found = hierarchy()
    if found is not None:
        with contextlib.suppress(FileNotFoundError):
            (found[0] / name).rmdir()


def _required_hierarchy() -> tuple[Path, int]:
    found = hierarchy()
    if found is None:
        raise LabError(f"--node-cpu needs the kernel's cgroup CPU controller, mounted under {CGROUP_ROOT}")
    return found


def hierarchy() -> tuple[Path, int] | None:
    """Where groups of the CPU controller are made, and the cgroup version: the unified hierarchy if it has
    the controller, else v1's cpu hierarchy; None if neither is there or writable (a container's read-only
    /sys/fs/cgroup)."""
    controllers = CGROUP_ROOT / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split() and os.access(CGROUP_ROOT, os.W_OK):
        return CGROUP_ROOT, 2
    for name in ("cpu", "cpu,cpuacct"):
        if (CGROUP_ROOT / name / "cpu.cfs_quota_us").exists() and os.access(CGROUP_ROOT / name, os.W_OK):
            return CGROUP_ROOT / name, 1
    return None


def _enable_for_children(root: Path) -> None:
    """cgroup v2: the CPU controller for the groups made under `root` (its files appear in them then)."""
    subtree = root / "cgroup.subtree_control"
    if "cpu" not in subtree.read_text().split():
        subtree.write_text("+cpu\n")
