"""`use_vmac` in a mixed pair (issue 13): each node puts its VIP on the VRRP MAC 00:00:5e:00:01:VRID (a
private macvlan `vrrp.VRID` on eth0), so that a take-over leaves the client's neighbour cache as it was,
with hapair and keepalived 2.2.7 each taking each role; both log keepalived's lines for making and
removing the interface, and a stopped node leaves no VMAC behind."""

from __future__ import annotations

import json
import shutil
import signal
from collections.abc import Iterator

import pytest

from tests.system.mixed import (
    CLIENT_ADDRESS,
    HIGH_PRIORITY,
    INIT,
    KEEPALIVED,
    LOW_PRIORITY,
    MASTER,
    V3,
    VIP,
    VRID,
    Implementation,
    Node,
    Sniffer,
    end_all,
    keepalived_conf,
)
from tests.topology import Host, Lan, wait_until

pytestmark = [pytest.mark.netns, pytest.mark.oracle]

START_S = 15
VMAC = f"vrrp.{VRID}"
VMAC_MAC = f"00:00:5e:00:01:{VRID:02x}"
ROLES = pytest.mark.parametrize("hapair_first", [True, False], ids=["hapair-high", "keepalived-high"])


@pytest.fixture
def lan(lan: Lan) -> Iterator[Lan]:
    yield lan
    end_all(lan.daemons)


@pytest.fixture(autouse=True)
def _keepalived_installed() -> None:
    if shutil.which(KEEPALIVED) is None:
        pytest.skip(f"needs {KEEPALIVED}")


def vmac_conf(priority: int) -> str:
    return keepalived_conf(V3, priority).replace("    interface eth0\n", "    interface eth0\n    use_vmac\n")


def vmac_addresses(host: Host) -> list[str] | None:
    """The VMAC's IPv4 addresses (None: the host has no VMAC)."""
    interface = host.namespace.interfaces().get(VMAC)
    return None if interface is None else [a.split("/")[0] for a in interface.ipv4]


def bridge_port_of(lan: Lan, mac: str) -> str | None:
    """The bridge port the LAN last saw `mac` come from."""
    entries = json.loads(lan.bridge.run(["bridge", "-j", "fdb", "show", "br", "br0"]).stdout or "[]")
    return next(
        (e.get("ifname") for e in entries if e.get("mac") == mac and "permanent" not in e.get("state", "")),
        None,
    )


def client_reaches_vip(client: Host) -> str | None:
    """Ping the VIP once from the client; the MAC its neighbour cache then has for the VIP."""
    if client.run(["ping", "-c", "1", "-W", "1", VIP]).returncode != 0:
        return None
    return client.neighbour_mac(VIP)


def arp_settings(host: Host) -> list[str]:
    names = ("arp_ignore", "arp_filter")
    return [host.run(["cat", f"/proc/sys/net/ipv4/conf/eth0/{name}"]).stdout.strip() for name in names]


@ROLES
def test_the_vip_moves_with_the_vmac_and_the_client_keeps_its_neighbour_entry(
    lan: Lan, hapair_first: bool
) -> None:
    kinds = (Implementation.HAPAIR, Implementation.KEEPALIVED)
    high_kind, low_kind = kinds if hapair_first else kinds[::-1]
    high = Node(lan.host("n1", "10.101.1.11"), high_kind, vmac_conf(HIGH_PRIORITY), HIGH_PRIORITY)
    low = Node(lan.host("n2", "10.101.1.12"), low_kind, vmac_conf(LOW_PRIORITY), LOW_PRIORITY)
    client = lan.host("client", CLIENT_ADDRESS)
    # The nodes learn the client's MAC first: a master answering the client's first ping would otherwise
    # ask for it from eth0, with the VIP as sender, and the client would take eth0's MAC for the VIP (so
    # it goes with keepalived too: it leaves arp_announce as it is).
    for node in (high, low):
        assert client.run(["ping", "-c", "1", "-W", "1", node.host.address]).returncode == 0
    for node in sorted((high, low), key=lambda n: n.implementation is not Implementation.HAPAIR):
        node.start()
        node.wait_for(INIT, START_S)
    for node in (high, low):
        assert f"(VI_1): Success creating VMAC interface {VMAC}" in node.lines()
    high.wait_for(MASTER, V3.master_down(HIGH_PRIORITY) + V3.advert_int + 2)
    wait_until(lambda: vmac_addresses(high.host) == [VIP], 2, f"{VIP} on {high.name}'s {VMAC}")
    assert vmac_addresses(low.host) == []
    assert wait_until(lambda: client_reaches_vip(client), 5, f"{VIP} from the client") == VMAC_MAC
    assert bridge_port_of(lan, VMAC_MAC) == high.host.port

    high.daemon.signal(signal.SIGTERM)
    low.wait_for(MASTER, V3.skew(LOW_PRIORITY) + 1)
    assert high.daemon.process.wait(10) == 0
    assert f"(VI_1) Success removing VMAC interface {VMAC}" in high.lines()
    assert vmac_addresses(high.host) is None
    wait_until(lambda: vmac_addresses(low.host) == [VIP], 2, f"{VIP} on {low.name}'s {VMAC}")
    # the gratuitous ARPs came from the VMAC on the new master's port; the client's entry did not change
    wait_until(lambda: bridge_port_of(lan, VMAC_MAC) == low.host.port, 2, f"{VMAC_MAC} on {low.name}'s port")
    assert client.neighbour_mac(VIP) == VMAC_MAC
    assert client_reaches_vip(client) == VMAC_MAC
    if high.implementation is Implementation.HAPAIR:
        assert arp_settings(high.host) == ["0", "0"]  # keepalived 2.2.7 leaves them at 1
    assert high.complaints() + low.complaints() == []


@pytest.mark.parametrize("implementation", list(Implementation), ids=lambda i: i.value)
@pytest.mark.parametrize("xmit_base", [False, True], ids=["from-vmac", "vmac_xmit_base"])
def test_adverts_come_from_the_vmac_or_with_vmac_xmit_base_from_the_interface(
    lan: Lan, implementation: Implementation, xmit_base: bool
) -> None:
    config = vmac_conf(HIGH_PRIORITY)
    if xmit_base:
        config = config.replace("    use_vmac\n", "    use_vmac\n    vmac_xmit_base\n")
    node = Node(lan.host("n1", "10.101.1.11"), implementation, config, HIGH_PRIORITY)
    sniffer = Sniffer(lan.host("client", CLIENT_ADDRESS))
    node.start()
    node.wait_for(MASTER, V3.master_down(HIGH_PRIORITY) + V3.advert_int + START_S)
    wait_until(lambda: len(sniffer.adverts()) >= 2, 3 * V3.advert_int + 1, "two adverts")
    expected = node.host.mac() if xmit_base else VMAC_MAC
    assert {(a.source, a.priority, a.mac) for a in sniffer.adverts()} == {
        (node.host.address, HIGH_PRIORITY, expected)
    }
    assert vmac_addresses(node.host) == [VIP]
