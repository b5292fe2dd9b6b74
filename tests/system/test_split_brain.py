"""A split brain healed beside the real keepalived 2.2.7: VRRP between the nodes is dropped (ARP still
passes) until both are master and the client's neighbour entry for the VIP names the loser, then VRRP
passes again just after one of the loser's adverts, so that the winner's advert is the first to cross:
the loser steps down on it, and the case where neither keepalived nor a hapair without its heal would
re-announce the VIP. The client must end on the winner's MAC, hapair being the loser (it advertises
once before stepping down, keepalived's winner forces a new election and sends gratuitous ARPs) or the
winner (keepalived's loser steps down silently; hapair, which saw it claim the VIP, probes for it and
announces it once released)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import pytest

from tests.system.mixed import (
    BACKUP,
    CLIENT_ADDRESS,
    HIGH_ADDRESS,
    KEEPALIVED,
    LOW_ADDRESS,
    MASTER,
    V2_PASS,
    VIP,
    Implementation,
    Node,
    Sniffer,
    allow_vrrp,
    block_vrrp,
    end_all,
    pair,
    start_together,
)
from tests.topology import Host, Lan, wait_until

pytestmark = [pytest.mark.netns, pytest.mark.oracle]

PROTOCOL = V2_PASS
# The loser takes over its skew time into the winner's interval (0.61 s at priority 100), so the winner's
# next advert comes 0.39 s after each of the loser's: VRRP passes again within HEAL_WITHIN_S of one.
HEAL_WITHIN_S = 0.15
HEAL_TRIES = 10  # adverts of the loser waited for, at most, until one is heard of in time
SETTLE_S = 5.0  # for the client's entry to follow a change: a few adverts, not a neighbour entry's timeout
GARP_MASTER_DELAY_S = 5.0  # a new master's second burst of gratuitous ARPs comes this long after the first
BURST = f"(VI_1) Sending/queueing gratuitous ARPs on eth0 for {VIP}"  # -D: once per burst


@pytest.fixture
def lan(lan: Lan) -> Iterator[Lan]:
    yield lan
    end_all(lan.daemons)


@pytest.fixture(autouse=True)
def _keepalived_installed() -> None:
    if shutil.which(KEEPALIVED) is None:
        pytest.skip(f"needs {KEEPALIVED}")


def entry_names(client: Host, node: Node) -> bool:
    return client.neighbour_mac(VIP) == node.host.mac()


def heal_after_an_advert_of(sniffer: Sniffer, loser: Node, nodes: list[Node]) -> float:
    """Let VRRP through again right after one of the loser's adverts, the first this test sees in time
    (on a loaded machine it may hear of one too late: then it waits for the next); the time of the heal."""
    for _ in range(HEAL_TRIES):
        advertised = next_advert_of(sniffer, loser)
        if time.monotonic() - advertised < HEAL_WITHIN_S / 2:
            break
    allow_vrrp([node.host for node in nodes])
    healed = time.monotonic()
    assert healed - advertised < HEAL_WITHIN_S, "VRRP passed too late to know which advert crosses first"
    return healed


def next_advert_of(sniffer: Sniffer, loser: Node) -> float:
    """When the loser's next advert was captured."""
    seen = len(sniffer.adverts())

    def loser_advertised() -> float | None:
        fresh = [a for a in sniffer.adverts()[seen:] if a.source == loser.host.address]
        return fresh[0].at if fresh else None

    advertised = wait_until(loser_advertised, 3 * PROTOCOL.advert_int, "an advert of the loser", 0.005)
    assert isinstance(advertised, float)
    return advertised


@pytest.mark.parametrize("hapair_wins", [True, False], ids=["hapair-winner", "hapair-loser"])
def test_after_a_split_brain_heals_the_client_ends_on_the_winner(lan: Lan, hapair_wins: bool) -> None:
    winner, loser = pair(lan, PROTOCOL, hapair_first=hapair_wins)
    client = lan.host("c", CLIENT_ADDRESS)
    sniffer = Sniffer(client)
    start_together([winner, loser])
    line = winner.wait_for(MASTER, PROTOCOL.master_down(winner.priority) + 2)
    # the winner's second burst, before the split: after the heal it would put the client right by itself
    winner.wait_for(BURST, GARP_MASTER_DELAY_S + 2, after=winner.wait_for(BURST, 2, after=line) + 1)
    assert client.run(["ping", "-c1", "-W1", VIP]).returncode == 0
    assert entry_names(client, winner)

    block_vrrp([winner.host, loser.host])
    loser.wait_for(MASTER, PROTOCOL.master_down(loser.priority) + 2)
    wait_until(lambda: entry_names(client, loser), SETTLE_S, "the client to follow the loser's ARPs")
    mark = len(loser.lines())
    healed = heal_after_an_advert_of(sniffer, loser, [winner, loser])

    first = wait_until(
        lambda: next((a for a in sniffer.adverts() if a.at > healed), None), SETTLE_S, "an advert"
    )
    assert first.source == winner.host.address  # the case under test: the winner's advert crossed first
    line = loser.wait_for(BACKUP, SETTLE_S, after=mark)
    assert loser.lines()[line - 1] == (
        f"(VI_1) Master received advert from {LOW_ADDRESS} with higher priority {winner.priority},"
        f" ours {loser.priority}"
    )
    wait_until(lambda: entry_names(client, winner), SETTLE_S, "the client to follow the winner again")
    if winner.implementation is Implementation.KEEPALIVED:
        winner.wait_for(
            f"(VI_1) Received advert from {HIGH_ADDRESS} with lower priority {loser.priority},"
            f" ours {winner.priority}, forcing new election",
            1,
        )
    else:
        winner.wait_for(f"(VI_1) {VIP} released by {loser.host.mac()} - sending gratuitous ARPs", 1)
    assert VIP in winner.host.addresses() and VIP not in loser.host.addresses()
