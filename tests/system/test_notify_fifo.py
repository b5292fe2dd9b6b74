"""vrrp_notify_fifo (issue 13, point 6): hapair and keepalived 2.2.7 on the same configuration (a sync
group of two instances, a weighted tracked interface, notify_priority_changes) write the same lines, in
the same order, to the FIFO their reader script reads: the group's and the instances' state changes and
the priority changes, through start-up, a priority change, a fault and the take-over back."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.mixed import KEEPALIVED, Implementation, Node, end_all
from tests.system.segments import second_segment
from tests.topology import Lan, wait_until

pytestmark = [pytest.mark.netns, pytest.mark.oracle]

START_S = 15
TAKE_OVER_S = 8
MASTER = "VRRP_Group(G1) Syncing instances to MASTER state"
EXPECTED = [
    'GROUP "G1" BACKUP 0',
    'INSTANCE "VI_1" BACKUP 100',
    'INSTANCE "VI_2" BACKUP 100',
    'INSTANCE "VI_2" MASTER 100',
    'INSTANCE "VI_1" MASTER 100',
    'GROUP "G1" MASTER 0',
    'INSTANCE "VI_1" MASTER_PRIORITY 90',
    'INSTANCE "VI_1" MASTER_PRIORITY 100',
    'INSTANCE "VI_2" FAULT 100',
    'INSTANCE "VI_1" FAULT 100',
    'GROUP "G1" FAULT 0',
    'INSTANCE "VI_2" BACKUP 100',
    'INSTANCE "VI_1" BACKUP 100',
    'GROUP "G1" BACKUP 0',
]


@pytest.fixture
def lan(lan: Lan) -> Iterator[Lan]:
    yield lan
    end_all(lan.daemons)


@pytest.fixture(autouse=True)
def _keepalived_installed() -> None:
    if shutil.which(KEEPALIVED) is None:
        pytest.skip(f"needs {KEEPALIVED}")


def config(fifo: Path, reader: Path) -> str:
    def instance(name: str, interface: str, vrid: int, vip: str, extra: str = "") -> str:
        return (
            f"vrrp_instance {name} {{\n    state BACKUP\n    interface {interface}\n"
            f"    virtual_router_id {vrid}\n    priority 100\n    advert_int 1\n{extra}"
            f"    virtual_ipaddress {{\n        {vip}/32\n    }}\n}}\n"
        )

    return (
        "global_defs {\n"
        f"    vrrp_notify_fifo {fifo}\n"
        f"    vrrp_notify_fifo_script {reader}\n"
        "    vrrp_notify_priority_changes\n"
        "    enable_script_security\n"
        "    script_user root\n"
        "}\n"
        "vrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_2\n    }\n}\n"
        + instance(
            "VI_1", "eth0", 51, "10.101.1.10", "    track_interface {\n        eth2 weight -10\n    }\n"
        )
        + instance("VI_2", "eth1", 52, "10.102.1.10")
    )


def fifo_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize("implementation", list(Implementation), ids=lambda i: i.value)
def test_the_fifo_gets_keepalived_s_lines_in_keepalived_s_order(
    lan: Lan, implementation: Implementation
) -> None:
    host = lan.host("n1", "10.101.1.11")
    port = second_segment(lan, host, "10.102.1.11")
    host.namespace.add_veth("eth2", "eth2p")
    fifo, out, reader = lan.directory / "notify.fifo", lan.directory / "fifo.out", lan.directory / "reader.sh"
    reader.write_text(f'#!/bin/sh\nwhile read line; do echo "$line" >> {out}; done < {fifo}\n')
    reader.chmod(0o755)
    node = Node(host, implementation, config(fifo, reader), 100)
    node.start()
    line = node.wait_for(MASTER, START_S + TAKE_OVER_S)

    host.namespace.ip("link", "set", "eth2p", "down")
    line = node.wait_for("(VI_1) Changing effective priority from 100 to 90", START_S, after=line)
    host.namespace.ip("link", "set", "eth2p", "up")
    line = node.wait_for("(VI_1) Changing effective priority from 90 to 100", START_S, after=line)
    lan.bridge.ip("link", "set", port, "down")
    line = node.wait_for("VRRP_Group(G1) Syncing instances to FAULT state", START_S, after=line)
    lan.bridge.ip("link", "set", port, "up")
    line = node.wait_for("VRRP_Group(G1) Syncing instances to BACKUP state", START_S, after=line)

    wait_until(lambda: len(fifo_lines(out)) >= len(EXPECTED), START_S, f"{len(EXPECTED)} lines from the FIFO")
    assert fifo_lines(out)[: len(EXPECTED)] == EXPECTED
    node.daemon.stop()
    assert not fifo.exists()  # made by the daemon, removed by it
