"""Mixed pairs over IPv6: one node on hapair, the other on the real keepalived 2.2.7, speaking VRRPv3 over
IPv6 (multicast to ff02::12 from the nodes' link-local addresses, or unicast between unicast_src_ip and
unicast_peer), each implementation taking each role. The higher priority wins without a complaint from
either side; on SIGTERM the priority-0 advert hands over within Skew_Time; the client's neighbour cache
follows the virtual address to the new master's MAC (unsolicited neighbour advertisements)."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator

import pytest

from tests.system.mixed import (
    HIGH_PRIORITY,
    INIT,
    INSTANCE,
    KEEPALIVED,
    LOW_PRIORITY,
    MASTER,
    V3,
    VRID,
    Implementation,
    Node,
    end_all,
    start_together,
)
from tests.topology import Host, Lan, wait_until

pytestmark = [pytest.mark.netns, pytest.mark.oracle]

VIP6 = "fd00:101::10"
ADDRESSES6 = ("fd00:101::11", "fd00:101::12")
CLIENT6 = "fd00:101::100"
MARGIN_S = 0.3
ROLES = pytest.mark.parametrize("hapair_first", [True, False], ids=["hapair-high", "keepalived-high"])
CASTS = pytest.mark.parametrize("unicast", [False, True], ids=["multicast", "unicast"])


@pytest.fixture
def lan(lan: Lan) -> Iterator[Lan]:
    yield lan
    end_all(lan.daemons)


@pytest.fixture(autouse=True)
def _keepalived_installed() -> None:
    if shutil.which(KEEPALIVED) is None:
        pytest.skip(f"needs {KEEPALIVED}")


def ipv6_conf(priority: int, own: str | None, peer: str | None) -> str:
    """An IPv6 VRRPv3 instance on eth0 holding VIP6; unicast from `own` to `peer` when given."""
    unicast = f"    unicast_src_ip {own}\n    unicast_peer {{\n        {peer}\n    }}\n" if own else ""
    return (
        f"vrrp_instance {INSTANCE} {{\n"
        "    state BACKUP\n"
        "    interface eth0\n"
        f"    virtual_router_id {VRID}\n"
        f"    priority {priority}\n"
        f"    advert_int {V3.advert_int:g}\n"
        "    native_ipv6\n"
        f"{unicast}"
        f"    virtual_ipaddress {{\n        {VIP6}\n    }}\n"
        "}\n"
    )


def ipv6_host(lan: Lan, name: str, ipv4: str, ipv6: str) -> Host:
    host = lan.host(name, ipv4)
    host.namespace.ip("-6", "addr", "add", f"{ipv6}/64", "dev", "eth0", "nodad")
    return host


def dad_done(hosts: list[Host]) -> None:
    """Wait until every host's link-local address has passed duplicate address detection."""

    def settled() -> bool:
        return all(
            not host.namespace.ip("-6", "addr", "show", "dev", "eth0", "tentative").stdout.strip()
            and "fe80::" in host.namespace.ip("-6", "addr", "show", "dev", "eth0").stdout
            for host in hosts
        )

    wait_until(settled, 10, "link-local addresses past DAD")


def ipv6_pair(lan: Lan, *, hapair_first: bool, unicast: bool) -> tuple[Node, Node, Host]:
    """The higher-priority node (hapair when `hapair_first`), the lower one and a client, on the LAN."""
    implementations = (Implementation.HAPAIR, Implementation.KEEPALIVED)
    if not hapair_first:
        implementations = implementations[::-1]
    hosts = [ipv6_host(lan, f"n{i + 1}", f"10.101.1.{11 + i}", ADDRESSES6[i]) for i in range(2)]
    client = ipv6_host(lan, "client", "10.101.1.100", CLIENT6)
    dad_done([*hosts, client])
    nodes = []
    for index, priority in enumerate((HIGH_PRIORITY, LOW_PRIORITY)):
        own, peer = (ADDRESSES6[index], ADDRESSES6[1 - index]) if unicast else (None, None)
        nodes.append(Node(hosts[index], implementations[index], ipv6_conf(priority, own, peer), priority))
    return nodes[0], nodes[1], client


def holds_vip6(node: Node) -> bool:
    return VIP6 in node.host.namespace.ip("-6", "addr", "show", "dev", "eth0").stdout


def master_down(priority: int) -> float:
    return V3.master_down(priority)


@CASTS
@ROLES
def test_ipv6_higher_priority_wins_then_hands_over_on_sigterm_and_the_client_follows(
    lan: Lan, hapair_first: bool, unicast: bool
) -> None:
    high, low, client = ipv6_pair(lan, hapair_first=hapair_first, unicast=unicast)
    start_together([high, low])
    high.wait_for(MASTER, master_down(high.priority) + V3.advert_int + 2)
    wait_until(lambda: holds_vip6(high), 2, f"{VIP6} on {high.name}")
    assert MASTER not in low.lines()

    # the client learns the master's MAC for the VIP, then an unsolicited NA must move it
    assert client.run(["ping", "-6", "-c", "1", "-W", "2", VIP6]).returncode == 0
    assert client.neighbour_mac(VIP6) == high.host.mac()

    high.daemon.signal(signal.SIGTERM)
    low.wait_for(f"({INSTANCE}) Backup received priority 0 advertisement", 1 + MARGIN_S)
    low.wait_for(MASTER, V3.skew(low.priority) + MARGIN_S)
    high.daemon.process.wait(10)
    wait_until(lambda: holds_vip6(low) and not holds_vip6(high), 2, f"{VIP6} moved to {low.name}")
    wait_until(
        lambda: client.neighbour_mac(VIP6) == low.host.mac(), 2, "the client's entry on the new master"
    )
    assert INIT in low.lines()
    assert high.complaints() + low.complaints() == []
