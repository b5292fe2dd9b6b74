"""`use_vmac` on IPv6 instances in a mixed pair (issue 13): each node puts its VIP on the IPv6 VRRP MAC
00:00:5e:00:02:VRID (a private macvlan `vrrp.VRID` on eth0) with the link-local address keepalived 2.2.7
gives it (eth0's, without DAD and deprecated), and sends its adverts from there, or with `vmac_xmit_base`
from eth0. A take-over leaves the client's neighbour cache as it was, with hapair and keepalived 2.2.7
each taking each role, and a stopped node leaves no VMAC behind."""

from __future__ import annotations

import json
import shutil
import signal
from collections.abc import Iterator

import pytest

from tests.system.mixed import (
    HIGH_PRIORITY,
    INIT,
    KEEPALIVED,
    LOW_PRIORITY,
    MASTER,
    V3,
    VRID,
    Implementation,
    Node,
    Sniffer,
    end_all,
)
from tests.system.test_mixed_pairs_ipv6 import ADDRESSES6, CLIENT6, VIP6, dad_done, ipv6_conf, ipv6_host
from tests.system.test_vmac import bridge_port_of
from tests.topology import Host, Lan, wait_until

pytestmark = [pytest.mark.netns, pytest.mark.oracle]

START_S = 15
VMAC = f"vrrp.{VRID}"
VMAC_MAC = f"00:00:5e:00:02:{VRID:02x}"
ROLES = pytest.mark.parametrize("hapair_first", [True, False], ids=["hapair-high", "keepalived-high"])


@pytest.fixture
def lan(lan: Lan) -> Iterator[Lan]:
    yield lan
    end_all(lan.daemons)


@pytest.fixture(autouse=True)
def _keepalived_installed() -> None:
    if shutil.which(KEEPALIVED) is None:
        pytest.skip(f"needs {KEEPALIVED}")


def vmac_conf6(priority: int, *, xmit_base: bool = False) -> str:
    vmac = "    use_vmac\n" + ("    vmac_xmit_base\n" if xmit_base else "")
    return ipv6_conf(priority, None, None).replace("    interface eth0\n", f"    interface eth0\n{vmac}")


def vmac_addresses(host: Host) -> set[tuple[str, bool, bool]] | None:
    """The VMAC's IPv6 addresses with whether each is without DAD and deprecated (None: no VMAC)."""
    if VMAC not in host.namespace.interfaces():
        return None
    shown = host.namespace.ip("-j", "-6", "addr", "show", "dev", VMAC)
    addresses = json.loads(shown.stdout)[0].get("addr_info", [])
    return {
        (f"{a['local']}/{a['prefixlen']}", a.get("nodad", False), a.get("deprecated", False))
        for a in addresses
    }


def expected_vmac_addresses(host: Host, *, master: bool) -> set[tuple[str, bool, bool]]:
    """What keepalived 2.2.7 puts on an IPv6 VMAC: eth0's link-local address, and the VIP on a master."""
    return {(f"{host.link_local()}/64", True, True), *([(f"{VIP6}/128", True, True)] if master else [])}


def client_reaches_vip6(client: Host) -> str | None:
    """Ping the VIP once from the client; the MAC its neighbour cache then has for the VIP."""
    if client.run(["ping", "-6", "-c", "1", "-W", "1", VIP6]).returncode != 0:
        return None
    return client.neighbour_mac(VIP6)


def vmac_pair(lan: Lan, *, hapair_first: bool) -> tuple[Node, Node, Host]:
    kinds = (Implementation.HAPAIR, Implementation.KEEPALIVED)
    high_kind, low_kind = kinds if hapair_first else kinds[::-1]
    hosts = [ipv6_host(lan, f"n{i + 1}", f"10.101.1.{11 + i}", ADDRESSES6[i]) for i in range(2)]
    client = ipv6_host(lan, "client", "10.101.1.100", CLIENT6)
    dad_done([*hosts, client])
    high = Node(hosts[0], high_kind, vmac_conf6(HIGH_PRIORITY), HIGH_PRIORITY)
    low = Node(hosts[1], low_kind, vmac_conf6(LOW_PRIORITY), LOW_PRIORITY)
    return high, low, client


@ROLES
def test_the_ipv6_vip_moves_with_the_vmac_and_the_client_keeps_its_neighbour_entry(
    lan: Lan, hapair_first: bool
) -> None:
    high, low, client = vmac_pair(lan, hapair_first=hapair_first)
    for node in sorted((high, low), key=lambda n: n.implementation is not Implementation.HAPAIR):
        node.start()
        node.wait_for(INIT, START_S)
    for node in (high, low):
        assert f"(VI_1): Success creating VMAC interface {VMAC}" in node.lines()
    high.wait_for(MASTER, V3.master_down(HIGH_PRIORITY) + V3.advert_int + 2)
    wait_until(
        lambda: vmac_addresses(high.host) == expected_vmac_addresses(high.host, master=True),
        2,
        f"{VIP6} on {high.name}'s {VMAC}",
    )
    assert vmac_addresses(low.host) == expected_vmac_addresses(low.host, master=False)
    assert wait_until(lambda: client_reaches_vip6(client), 5, f"{VIP6} from the client") == VMAC_MAC
    on_high = f"{VMAC_MAC} on {high.name}'s port"
    wait_until(lambda: bridge_port_of(lan, VMAC_MAC) == high.host.port, 2, on_high)

    high.daemon.signal(signal.SIGTERM)
    low.wait_for(MASTER, V3.skew(LOW_PRIORITY) + 1)
    assert high.daemon.process.wait(10) == 0
    assert f"(VI_1) Success removing VMAC interface {VMAC}" in high.lines()
    assert vmac_addresses(high.host) is None
    wait_until(
        lambda: vmac_addresses(low.host) == expected_vmac_addresses(low.host, master=True),
        2,
        f"{VIP6} on {low.name}'s {VMAC}",
    )
    # the adverts and neighbour advertisements came from the VMAC on the new master's port; the client's
    # entry did not change
    wait_until(lambda: bridge_port_of(lan, VMAC_MAC) == low.host.port, 2, f"{VMAC_MAC} on {low.name}'s port")
    assert client.neighbour_mac(VIP6) == VMAC_MAC
    assert client_reaches_vip6(client) == VMAC_MAC
    assert high.complaints() + low.complaints() == []


@pytest.mark.parametrize("implementation", list(Implementation), ids=lambda i: i.value)
@pytest.mark.parametrize("xmit_base", [False, True], ids=["from-vmac", "vmac_xmit_base"])
def test_ipv6_adverts_come_from_the_vmac_or_with_vmac_xmit_base_from_the_interface(
    lan: Lan, implementation: Implementation, xmit_base: bool
) -> None:
    host = ipv6_host(lan, "n1", "10.101.1.11", ADDRESSES6[0])
    client = ipv6_host(lan, "client", "10.101.1.100", CLIENT6)
    dad_done([host, client])
    node = Node(host, implementation, vmac_conf6(HIGH_PRIORITY, xmit_base=xmit_base), HIGH_PRIORITY)
    sniffer = Sniffer(client, family=6)
    node.start()
    node.wait_for(MASTER, V3.master_down(HIGH_PRIORITY) + V3.advert_int + START_S)
    wait_until(lambda: len(sniffer.adverts()) >= 2, 3 * V3.advert_int + 1, "two adverts")
    expected = host.mac() if xmit_base else VMAC_MAC
    assert {(a.source, a.priority, a.mac) for a in sniffer.adverts()} == {
        (host.link_local(), HIGH_PRIORITY, expected)
    }
    wanted = expected_vmac_addresses(host, master=True)
    if xmit_base:  # nothing sends from the VMAC: no link-local address on it
        wanted = {(f"{VIP6}/128", True, True)}
    assert vmac_addresses(host) == wanted
    assert client_reaches_vip6(client) == VMAC_MAC
