"""track_file (issue 13, point 7): hapair and keepalived 2.2.7, each alone on its own VRID, track files of
their own and get the same writes, moves and deletions; both log the same state changes, priority changes
and tracked-file lines, in the same order: a weighted file moving the priority, a value whose product is
below -254 (FAULT) and back, an unweighted file in a sync group's `track_file` taking both members to
FAULT, its removal bringing them back, an `init_file ... overwrite` at start, a hexadecimal value, and a
number too large for keepalived (ignored)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.mixed import KEEPALIVED, Implementation, Node, end_all
from tests.topology import Lan

pytestmark = [pytest.mark.netns, pytest.mark.oracle]

START_S = 15
STEP_S = 10
KEPT = ("Entering", "effective priority", "entering FAULT", "tracked file", "Invalid number", "Syncing")


@pytest.fixture
def lan(lan: Lan) -> Iterator[Lan]:
    yield lan
    end_all(lan.daemons)


@pytest.fixture(autouse=True)
def _keepalived_installed() -> None:
    if shutil.which(KEEPALIVED) is None:
        pytest.skip(f"needs {KEEPALIVED}")


def config(directory: Path, vrid: int, vip: str) -> str:
    return (
        "track_file weighted {\n"
        f"    file {directory}/weighted\n"
        "    weight -10\n"
        "    init_file 3 overwrite\n"
        "}\n"
        f"track_file unweighted {{\n    file {directory}/unweighted\n}}\n"
        "vrrp_sync_group G1 {\n    group {\n        VI_1\n    }\n    sync_group_tracking_weight\n"
        "    track_file {\n        unweighted weight 0\n    }\n}\n"
        "vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n"
        f"    virtual_router_id {vrid}\n    priority 100\n    advert_int 1\n"
        "    track_file {\n        weighted\n    }\n"
        f"    virtual_ipaddress {{\n        {vip}/32\n    }}\n}}\n"
    )


def kept(node: Node) -> list[str]:
    return [line for line in node.lines() if any(word in line for word in KEPT)]


def test_both_change_state_the_same_way_on_the_same_file_writes(lan: Lan) -> None:
    nodes: list[Node] = []
    directories: list[Path] = []
    for index, implementation in enumerate(Implementation):
        host = lan.host(f"n{index + 1}", f"10.101.1.{11 + index}")
        directory = lan.directory / implementation.value
        directory.mkdir()
        (directory / "weighted").write_text("7\n")  # overwritten with 3 by init_file at start
        directories.append(directory)
        nodes.append(Node(host, implementation, config(directory, 51 + index, f"10.101.1.{20 + index}"), 100))
    steps: list[tuple[str, str, str | None, str]] = [
        # (file, what to do, text written, the line both wait for)
        ("weighted", "write", "1\n", "Changing effective priority from 70 to 90"),
        ("weighted", "write", "0x1f\n", "Entering FAULT STATE"),
        ("weighted", "write", "2", "Entering MASTER STATE"),
        ("unweighted", "write", "5\n", "Syncing instances to FAULT state"),
        ("unweighted", "remove", None, "Entering MASTER STATE"),
        ("weighted", "write", "99999999999\n", "Invalid number 99999999999"),
        ("weighted", "move", "0\n", "Changing effective priority from 80 to 100"),
    ]
    for node in nodes:
        node.start()
    marks = [node.wait_for("(VI_1) Entering MASTER STATE", START_S) for node in nodes]
    for name, action, text, expected in steps:
        for directory in directories:
            path = directory / name
            if action == "write":
                path.write_text(text or "")
            elif action == "remove":
                path.unlink()
            else:
                staged = directory / f".{name}.new"
                staged.write_text(text or "")
                os.rename(staged, path)
        marks = [node.wait_for(expected, STEP_S, mark + 1) for node, mark in zip(nodes, marks, strict=True)]
    hapair, keepalived = (kept(node) for node in nodes)
    keepalived = [line.replace(str(directories[1]), str(directories[0])) for line in keepalived]
    assert hapair == keepalived
    assert (directories[0] / "weighted").read_text() == "0\n"
