"""Source addresses that are not there yet (issue 13, point 9), beside keepalived 2.2.7: an instance whose
interface has no IPv4 address, or whose `unicast_src_ip` is not on it, starts in FAULT with keepalived's
lines; it begins sending once the address is assigned (keepalived only for the first case: a configured
unicast source that appears late leaves keepalived in FAULT until restarted, which hapair does not copy,
docs/keepalived-differences.md) and goes back to FAULT when the address goes. A `mcast_src_ip` need not
be on the interface at all, in either."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.system.mixed import KEEPALIVED, MASTER, Implementation, Node, end_all
from tests.topology import Host, Lan, wait_until

pytestmark = [pytest.mark.netns, pytest.mark.oracle]

VIP = "10.101.1.10"
LATE = "10.101.1.21"  # the address that comes late to node 1
PEER = "10.101.1.12"
START_S = 15
TAKE_OVER_S = 8  # a backup's master-down interval (3.6 s at priority 100) and then some
IMPLEMENTATIONS = pytest.mark.parametrize("implementation", list(Implementation), ids=lambda i: i.value)


@pytest.fixture
def lan(lan: Lan) -> Iterator[Lan]:
    yield lan
    end_all(lan.daemons)


@pytest.fixture(autouse=True)
def _keepalived_installed() -> None:
    if shutil.which(KEEPALIVED) is None:
        pytest.skip(f"needs {KEEPALIVED}")


def instance(priority: int, source: str = "", peer: str | None = None) -> str:
    unicast = f"    unicast_peer {{\n        {peer}\n    }}\n" if peer else ""
    return (
        "vrrp_instance VI_1 {\n"
        "    state BACKUP\n"
        "    interface eth0\n"
        "    virtual_router_id 51\n"
        f"    priority {priority}\n"
        "    advert_int 1\n"
        f"{source}"
        f"{unicast}"
        f"    virtual_ipaddress {{\n        {VIP}/32\n    }}\n"
        "}\n"
    )


def without_address(host: Host) -> Host:
    host.namespace.ip("addr", "flush", "dev", "eth0")
    return host


def holds_vip(node: Node) -> bool:
    return VIP in node.host.addresses()


def assign(host: Host, address: str) -> None:
    host.namespace.ip("addr", "add", f"{address}/24", "dev", "eth0")


def deassign(host: Host, address: str) -> None:
    host.namespace.ip("addr", "del", f"{address}/24", "dev", "eth0")


# keepalived's parent process logs it while its VRRP child logs the rest: it falls between them anywhere
PARENT_LINES = ("Startup complete",)


def assert_followed_by(node: Node, line: int, *texts: str) -> None:
    """The lines after line `line` are `texts`, once the daemon has written them (keepalived's parent's
    lines, which interleave with its VRRP child's, left out)."""
    node.wait_for(texts[-1], 3, after=line + 1)
    following = [text for text in node.lines()[line + 1 :] if text not in PARENT_LINES]
    assert following[: len(texts)] == list(texts)


@IMPLEMENTATIONS
def test_an_interface_without_ipv4_holds_the_instance_in_fault_until_an_address_is_assigned(
    lan: Lan, implementation: Implementation
) -> None:
    node = Node(without_address(lan.host("n1", "10.101.1.11")), implementation, instance(100), 100)
    node.start()
    line = node.wait_for("(VI_1) entering FAULT state (no IPv4 address for interface)", START_S)
    assert_followed_by(node, line, "(VI_1) entering FAULT state")

    assign(node.host, LATE)
    line = node.wait_for("(VI_1) Entering BACKUP STATE", START_S, after=line)
    assert node.lines()[line - 1] == f"Assigned address {LATE} for interface eth0"
    line = node.wait_for(MASTER, TAKE_OVER_S, after=line)
    wait_until(lambda: holds_vip(node), 2, f"{VIP} on {node.name}")

    deassign(node.host, LATE)
    line = node.wait_for("(VI_1) Entering FAULT STATE", START_S, after=line)
    assert node.lines()[line - 1] == f"Deassigned address {LATE} from interface eth0"
    assert "(VI_1) sent 0 priority" in node.lines()[line:]
    wait_until(lambda: not holds_vip(node), 2, f"{VIP} gone from {node.name}")


@IMPLEMENTATIONS
def test_a_missing_unicast_source_fails_the_bind_and_starts_in_fault(
    lan: Lan, implementation: Implementation
) -> None:
    config = instance(150, f"    unicast_src_ip {LATE}\n", PEER)
    node = Node(lan.host("n1", "10.101.1.11"), implementation, config, 150)
    node.start()
    line = node.wait_for(f"bind unicast_src {LATE} failed 99 - Cannot assign requested address", START_S)
    assert_followed_by(
        node, line, "(VI_1): entering FAULT state (src address not configured)", "(VI_1) Entering FAULT STATE"
    )
    assert not any("Entering BACKUP STATE" in text for text in node.lines())


def test_hapair_begins_sending_once_its_unicast_source_is_assigned_and_stops_when_it_goes(lan: Lan) -> None:
    own = instance(150, f"    unicast_src_ip {LATE}\n", PEER)
    node = Node(lan.host("n1", "10.101.1.11"), Implementation.HAPAIR, own, 150)
    peer_config = instance(100, f"    unicast_src_ip {PEER}\n", LATE)
    peer = Node(lan.host("n2", PEER), Implementation.KEEPALIVED, peer_config, 100)
    node.start()
    node.wait_for("(VI_1) Entering FAULT STATE", START_S)
    peer.start()
    peer.wait_for(MASTER, START_S + TAKE_OVER_S)

    assign(node.host, LATE)
    line = node.wait_for("(VI_1) Entering BACKUP STATE", START_S)
    assert_followed_by(node, line, f"VI_1: sending gratuitous ARP for {LATE}")
    discarding = f"(VI_1) received lower priority (100) advert from {PEER} - discarding"
    node.wait_for(discarding, TAKE_OVER_S, after=line)
    line = node.wait_for(MASTER, TAKE_OVER_S, after=line)
    peer.wait_for(f"(VI_1) Master received advert from {LATE} with higher priority 150, ours 100", 3)
    wait_until(lambda: holds_vip(node) and not holds_vip(peer), 3, f"{VIP} on {node.name} alone")

    deassign(node.host, LATE)
    line = node.wait_for("(VI_1): entering FAULT state (src address not configured)", START_S, after=line)
    assert_followed_by(node, line, "(VI_1) Entering FAULT STATE")
    wait_until(lambda: holds_vip(peer) and not holds_vip(node), TAKE_OVER_S, f"{VIP} back on {peer.name}")


@IMPLEMENTATIONS
def test_a_multicast_source_that_is_not_on_the_interface_is_sent_all_the_same(
    lan: Lan, implementation: Implementation
) -> None:
    config = instance(150, f"    mcast_src_ip {LATE}\n")
    node = Node(lan.host("n1", "10.101.1.11"), implementation, config, 150)
    peer = Node(lan.host("n2", PEER), Implementation.KEEPALIVED, instance(200), 200)
    node.start()
    node.wait_for(MASTER, START_S + TAKE_OVER_S)
    peer.start()
    peer.wait_for(f"(VI_1) received lower priority (150) advert from {LATE} - discarding", START_S)
    peer.wait_for(MASTER, TAKE_OVER_S)
