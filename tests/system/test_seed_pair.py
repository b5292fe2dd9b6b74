"""The seed's two load-balancer nodes run by hapair, as the tutorial sets them up, on a LAN with a client:
who holds the VIP, what the client's ARP table says, and how the pair hands the VIP over when a cable is
pulled, a daemon stops, nginx dies or the master reloads."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from tests.seed import CLIENT_ADDRESS, NODE_ADDRESSES, VIP, kill_nginx, start_seed_node
from tests.topology import Daemon, Host, Lan, wait_until

pytestmark = pytest.mark.netns

ADVERT_INT_S = 1.0  # the seed's advert_int
# Node 2 (priority 250) declares the master down after 3 adverts plus its skew, (256 - 250) / 256 s.
NODE2_MASTER_DOWN_S = 3 * ADVERT_INT_S + (256 - 250) / 256
CHECK_INTERVAL_S = 3.0  # check_nginx's interval
START_TIMEOUT_S = 15
MONITOR_READY = "127.0.0.2"  # an address whose changes show that an address monitor listens


@dataclass(frozen=True)
class SeedPair:
    """Both seed nodes running on the LAN, node 1 master, node 2 backup, and a client."""

    host1: Host
    host2: Host
    client: Host
    node1: Daemon
    node2: Daemon


@pytest.fixture
def pair(lan: Lan) -> SeedPair:
    host1 = lan.host("node1", NODE_ADDRESSES[1])
    host2 = lan.host("node2", NODE_ADDRESSES[2])
    client = lan.host("client", CLIENT_ADDRESS)
    node1 = start_seed_node(host1, 1)
    node2 = start_seed_node(host2, 2)
    node1.wait_for("(VRRP_1) Entering MASTER STATE", START_TIMEOUT_S)
    node2.wait_for("(VRRP_1) Entering BACKUP STATE", START_TIMEOUT_S)
    wait_until(lambda: holds_vip(host1), START_TIMEOUT_S, "node 1 to hold the VIP")
    return SeedPair(host1, host2, client, node1, node2)


def holds_vip(host: Host) -> bool:
    return VIP in host.addresses()


def reaches_vip(client: Host) -> bool:
    return client.run(["ping", "-n", "-q", "-c", "1", "-W", "2", VIP]).returncode == 0


def keeps(condition: Callable[[], bool], duration: float, what: str) -> None:
    """Watch that `condition` stays true for `duration` s (showing that something does not happen)."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        assert condition(), f"{what} stopped holding"
        time.sleep(0.05)


@contextmanager
def address_changes(host: Host) -> Iterator[Callable[[], list[str]]]:
    """`ip monitor address` in `host` for the duration of the block, listening before the block starts;
    yields a function giving the changes seen so far, one line each."""
    path = host.lan.directory / f"{host.name}-addresses.txt"
    with open(path, "wb") as output:
        monitor = subprocess.Popen(
            ["ip", "-n", host.namespace.name, "monitor", "address"], stdout=output, stderr=subprocess.STDOUT
        )

    def heard() -> bool:
        """Make an address change; whether the monitor has reported one (it may not listen yet)."""
        for change in ("add", "del"):
            host.namespace.ip("addr", change, f"{MONITOR_READY}/8", "dev", "lo")
        return MONITOR_READY in path.read_text()

    try:
        wait_until(heard, 5, f"the address monitor in {host.name} to listen")
        yield lambda: [line for line in path.read_text().splitlines() if "inet" in line]
    finally:
        monitor.terminate()
        monitor.wait()


def logged_after(daemon: Daemon, mark: int, text: str) -> list[str]:
    return [line for line in daemon.lines()[mark:] if text in line]


def client_caches_vip_mac(pair: SeedPair, host: Host) -> None:
    """The client pings the VIP and its ARP table then maps the VIP to `host`'s MAC."""
    assert reaches_vip(pair.client)
    assert pair.client.neighbour_mac(VIP) == host.mac()


def cut_node1_until_node2_takes_over(pair: SeedPair) -> None:
    client_caches_vip_mac(pair, pair.host1)
    pair.host1.cut()
    wait_until(lambda: holds_vip(pair.host2), NODE2_MASTER_DOWN_S + 3, "node 2 to take the VIP")


def test_node1_is_master_with_the_vip_node2_stays_backup_and_the_client_reaches_node1(pair: SeedPair) -> None:
    keeps(
        lambda: holds_vip(pair.host1) and not holds_vip(pair.host2),
        NODE2_MASTER_DOWN_S + 0.5,
        "the VIP on node 1 only",
    )
    assert not logged_after(pair.node2, 0, "Entering MASTER STATE")
    client_caches_vip_mac(pair, pair.host1)


def test_cutting_node1s_link_faults_it_and_moves_the_vip_and_the_clients_arp_entry_to_node2(
    pair: SeedPair,
) -> None:
    # arp_accept 0 (the default) lets ARP only update entries that exist: the client's entry for the VIP,
    # made by its ping to node 1, can change to node 2's MAC only through node 2's gratuitous ARPs.
    assert pair.client.run(["sysctl", "-n", "net.ipv4.conf.eth0.arp_accept"]).stdout.strip() == "0"
    mark = len(pair.node1.lines())
    cut_node1_until_node2_takes_over(pair)
    pair.node1.wait_for("Netlink reports eth0 down", after=mark)
    pair.node1.wait_for("(VRRP_1) Entering FAULT STATE", after=mark)
    wait_until(lambda: not holds_vip(pair.host1), 5, "node 1 to drop the VIP")
    wait_until(
        lambda: pair.client.neighbour_mac(VIP) == pair.host2.mac(), 5, "the client's ARP entry on node 2"
    )
    assert reaches_vip(pair.client)


def test_restoring_node1s_link_gives_it_the_vip_back_and_node2_steps_down(pair: SeedPair) -> None:
    cut_node1_until_node2_takes_over(pair)
    wait_until(
        lambda: pair.client.neighbour_mac(VIP) == pair.host2.mac(), 5, "the client's ARP entry on node 2"
    )
    mark = len(pair.node2.lines())
    pair.host1.restore()
    higher = pair.node2.wait_for(
        "(VRRP_1) Master received advert from 10.101.1.11 with higher priority 255, ours 250",
        NODE2_MASTER_DOWN_S + 5,
        after=mark,
    )
    pair.node2.wait_for("(VRRP_1) Entering BACKUP STATE", after=higher)
    wait_until(lambda: holds_vip(pair.host1), 5, "node 1 to hold the VIP again")
    wait_until(lambda: not holds_vip(pair.host2), 5, "node 2 to drop the VIP")
    wait_until(
        lambda: pair.client.neighbour_mac(VIP) == pair.host1.mac(), 5, "the client's ARP entry back on node 1"
    )
    assert reaches_vip(pair.client)


def test_sigterm_on_the_master_hands_over_at_once_through_priority_0(pair: SeedPair) -> None:
    mark = len(pair.node2.lines())
    stopped_at = time.monotonic()
    pair.node1.signal(signal.SIGTERM)
    wait_until(lambda: holds_vip(pair.host2), NODE2_MASTER_DOWN_S + 3, "node 2 to take the VIP")
    took = time.monotonic() - stopped_at
    # Node 1's last advert was at most one interval before the SIGTERM, so without its priority 0 advert
    # node 2 could not have taken over before NODE2_MASTER_DOWN_S - ADVERT_INT_S (about 2 s).
    assert took < 1.0, f"node 2 took {took:.2f} s: it waited for the master-down timer"
    zero = pair.node2.wait_for("(VRRP_1) Backup received priority 0 advertisement", 1, after=mark)
    pair.node2.wait_for("(VRRP_1) Entering MASTER STATE", 1, after=zero)
    assert pair.node1.stop() == 0, pair.node1.log()
    # sent once: from the signal handler, and not again by the stop sequence
    zeros = [line for line in pair.node2.lines()[mark:] if "received priority 0 advertisement" in line]
    assert len(zeros) == 1, zeros
    assert logged_after(pair.node1, 0, "(VRRP_1) sent 0 priority")
    assert logged_after(pair.node1, 0, "Stopped")
    assert not holds_vip(pair.host1)


def test_a_failing_check_nginx_faults_node1_and_moves_the_vip_to_node2(pair: SeedPair) -> None:
    mark = len(pair.node1.lines())
    kill_nginx(pair.node1)
    timeout = CHECK_INTERVAL_S + 3
    failed = pair.node1.wait_for(
        "VRRP_Script(check_nginx) failed (exited with status 1)", timeout, after=mark
    )
    pair.node1.wait_for("(VRRP_1) Entering FAULT STATE", 1, after=failed)
    wait_until(lambda: holds_vip(pair.host2), 3, "node 2 to take the VIP")
    wait_until(lambda: not holds_vip(pair.host1), 3, "node 1 to drop the VIP")


def test_sighup_on_the_master_keeps_the_vip_on_node1_without_the_client_noticing(pair: SeedPair) -> None:
    client_caches_vip_mac(pair, pair.host1)
    marks = len(pair.node1.lines()), len(pair.node2.lines())
    # 14 pings 0.25 s apart span the reload and node 2's whole master-down interval after it.
    count = 14
    with address_changes(pair.host1) as changes:
        pinging = pair.client.namespace.start(
            ["ping", "-n", "-q", "-c", str(count), "-i", "0.25", "-W", "1", VIP]
        )
        pair.node1.signal(signal.SIGHUP)
        keeps(
            lambda: holds_vip(pair.host1) and not holds_vip(pair.host2),
            NODE2_MASTER_DOWN_S + 0.5,
            "the VIP on node 1 only",
        )
        output, _ = pinging.communicate(timeout=10)
        # Polling could miss a removal quickly undone; netlink reports every one.
        assert not [line for line in changes() if line.startswith("Deleted") and f" {VIP}/" in line]
    received = re.search(r"(\d+) received", output)
    assert received is not None and int(received.group(1)) == count, output
    reloading = pair.node1.wait_for("Reloading", 1, after=marks[0])
    pair.node1.wait_for("Reload complete", 1, after=reloading)
    assert not logged_after(pair.node1, marks[0], "Entering")
    assert not logged_after(pair.node2, marks[1], "Entering")
    assert pair.client.neighbour_mac(VIP) == pair.host1.mac()
