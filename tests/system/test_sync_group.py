"""vrrp_sync_group in a mixed pair (issue 13, point 1): two nodes, each with two instances on two
interfaces (two LAN segments) in a sync group, one node on hapair and the other on keepalived 2.2.7, each
implementation taking each role. The higher-priority node holds both VIPs; a link cut on its second
segment takes its whole group to FAULT and the other node's group takes both over; the link back, it takes
both back. The lines are keepalived's, on either node."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.system.mixed import KEEPALIVED, Implementation, Node, end_all
from tests.system.segments import second_segment
from tests.topology import Lan, wait_until

pytestmark = [pytest.mark.netns, pytest.mark.oracle]

START_S = 15
MASTER_DOWN_S = 3.7  # 3 adverts and the skew of priority 100
MARGIN_S = 2.0
VIPS = ("10.101.1.10", "10.102.1.10")
ROLES = pytest.mark.parametrize("hapair_high", [True, False], ids=["hapair-high", "keepalived-high"])


@pytest.fixture
def lan(lan: Lan) -> Iterator[Lan]:
    yield lan
    end_all(lan.daemons)


@pytest.fixture(autouse=True)
def _keepalived_installed() -> None:
    if shutil.which(KEEPALIVED) is None:
        pytest.skip(f"needs {KEEPALIVED}")


def config(priority: int) -> str:
    def instance(name: str, interface: str, vrid: int, vip: str) -> str:
        return (
            f"vrrp_instance {name} {{\n"
            "    state BACKUP\n"
            f"    interface {interface}\n"
            f"    virtual_router_id {vrid}\n"
            f"    priority {priority}\n"
            "    advert_int 1\n"
            f"    virtual_ipaddress {{\n        {vip}/32\n    }}\n"
            "}\n"
        )

    return (
        "vrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_2\n    }\n}\n"
        + instance("VI_1", "eth0", 51, VIPS[0])
        + instance("VI_2", "eth1", 52, VIPS[1])
    )


def vips(node: Node) -> set[str]:
    interfaces = node.host.namespace.interfaces()
    held = {a.split("/")[0] for name in ("eth0", "eth1") for a in interfaces[name].ipv4}
    return held & set(VIPS)


def assert_followed_by(node: Node, line: int, *texts: str) -> None:
    """The lines after line `line` are `texts`, once the daemon has written them."""
    node.wait_for(texts[-1], 3, after=line + 1)
    assert node.lines()[line + 1 : line + 1 + len(texts)] == list(texts)


@ROLES
def test_the_group_moves_together_between_hapair_and_keepalived(lan: Lan, hapair_high: bool) -> None:
    kinds = (Implementation.HAPAIR, Implementation.KEEPALIVED)
    high_kind, low_kind = kinds if hapair_high else kinds[::-1]
    high = Node(lan.host("n1", "10.101.1.11"), high_kind, config(150), 150)
    low = Node(lan.host("n2", "10.101.1.12"), low_kind, config(100), 100)
    high_port = second_segment(lan, high.host, "10.102.1.11")
    second_segment(lan, low.host, "10.102.1.12")

    for node in (high, low):
        node.start()
        node.wait_for("(VI_2) Entering BACKUP STATE (init)", START_S)
    high.wait_for("VRRP_Group(G1) Syncing instances to MASTER state", MASTER_DOWN_S + MARGIN_S)
    for name in ("VI_1", "VI_2"):
        high.wait_for(f"({name}) Entering MASTER STATE", 1)
    wait_until(lambda: vips(high) == set(VIPS), 3, f"both VIPs on {high.name}")
    assert "Entering MASTER STATE" not in "\n".join(low.lines())

    lan.bridge.ip("link", "set", high_port, "down")  # the high node's second segment is cut
    line = high.wait_for("VRRP_Group(G1) Syncing instances to FAULT state", START_S)
    assert_followed_by(high, line, "(VI_1) Entering FAULT STATE")
    low_line = low.wait_for("VRRP_Group(G1) Syncing instances to MASTER state", MASTER_DOWN_S + MARGIN_S)
    wait_until(lambda: vips(low) == set(VIPS) and not vips(high), 3, f"both VIPs on {low.name} alone")

    lan.bridge.ip("link", "set", high_port, "up")
    line = high.wait_for("VRRP_Group(G1) Syncing instances to BACKUP state", START_S, after=line)
    assert high.lines()[line - 1] == "(VI_2) Entering BACKUP STATE"
    high.wait_for("VRRP_Group(G1) Syncing instances to MASTER state", MASTER_DOWN_S + MARGIN_S, after=line)
    low.wait_for("VRRP_Group(G1) Syncing instances to BACKUP state", 3, after=low_line)
    wait_until(lambda: vips(high) == set(VIPS) and not vips(low), 3, f"both VIPs back on {high.name}")
