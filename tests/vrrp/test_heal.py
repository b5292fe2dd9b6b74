"""A split brain healing, on the fake LAN: VRRP between the two nodes is lost for a while (ARP still passes,
as with a firewall dropping protocol 112), both become master, then VRRP passes again. Whichever advert
crosses first, the client's neighbour entry for the VIP must end on the winner: either the loser
advertises once before stepping down, so that the winner forces a new election and re-announces
("forcing new election", as keepalived 2.2.7's winner), or, when the loser steps down silently (strict
mode here, keepalived without higher_prio_send_advert on a real LAN), the winner, which saw the loser
claim the VIP, finds it released by probing and re-announces it."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from hapair.config.keepalived.model.vrrp import VrrpState
from hapair.vrrp.actions import ProbeAddresses, SendGratuitousArps
from hapair.vrrp.router import CLAIM_PROBE_DELAY_US, CLAIM_PROBE_WAIT_US

from .fakelan import LATENCY, SECOND, FakeLan, Node, read_instance
from .test_router import A, B, config

VIP = IPv4Address("10.77.0.100")
BLOCKED_S = 10  # long enough for the loser to time out and take over (3 adverts and its skew)


@pytest.fixture
def lan() -> FakeLan:
    return FakeLan()


@pytest.fixture
def pair(lan: FakeLan, tmp_path: Path):
    """The winner (priority 150) and the loser (100), elected: the winner is master."""

    def make(*, winner_extra: str = "", loser_extra: str = "", version: int = 2) -> tuple[Node, Node]:
        nodes = []
        for address, priority, extra in ((A, 150, winner_extra), (B, 100, loser_extra)):
            text = config(priority=priority, version=version, extra=extra)
            made = lan.add(address, read_instance(text, address, tmp_path), address)
            lan.start(made)
            nodes.append(made)
        lan.run_for(10 * SECOND)
        winner, loser = nodes
        assert lan.masters() == [winner]
        assert lan.client_entry == winner.name
        return winner, loser

    return make


def split(lan: FakeLan, winner: Node, loser: Node) -> None:
    """Lose VRRP to and from the loser until both are master and the client follows the loser."""
    loser.hears_vrrp = False
    lan.run_for(BLOCKED_S * SECOND)
    assert lan.masters() == [winner, loser]
    assert lan.client_entry == loser.name


def heal_before_advert_of(lan: FakeLan, first: Node, second: Node) -> int:
    """Let VRRP pass again just before `first`'s next advert, so that it is the first to cross (the
    other's next advert comes after it has arrived). The time of the heal."""
    assert first.router.sands is not None
    lan.run_until(first.router.sands - 1)
    for node in (first, second):
        node.hears_vrrp = True
    assert second.router.sands is not None and second.router.sands > first.router.sands + LATENCY
    return lan.now


def sent_since(node: Node, since: int) -> list[tuple[int, int]]:
    return [(at, priority) for at, priority in node.sent if at >= since]


def announced_since(node: Node, since: int) -> list[int]:
    return [at for at, _repeat in node.garp_rounds if at >= since]


def test_a_loser_hearing_the_winner_first_advertises_once_before_stepping_down(lan, pair):
    winner, loser = pair()
    split(lan, winner, loser)
    healed = heal_before_advert_of(lan, winner, loser)
    lan.run_for(SECOND)

    yielded = lan.when(loser, "Entering BACKUP STATE", after=healed)
    assert yielded is not None
    assert (
        lan.when(loser, "Master received advert from 10.77.0.1 with higher priority 150, ours 100") == yielded
    )
    assert sent_since(loser, healed) == [(yielded, 100)]
    assert not loser.holds_vips
    forced = lan.when(
        winner,
        "Received advert from 10.77.0.2 with lower priority 100, ours 150, forcing new election",
        after=healed,
    )
    assert forced == yielded + LATENCY
    assert announced_since(winner, healed) == [forced]
    assert lan.client_entry == winner.name


def test_a_loser_heard_first_is_answered_by_the_winner_forcing_a_new_election(lan, pair):
    winner, loser = pair()
    split(lan, winner, loser)
    healed = heal_before_advert_of(lan, loser, winner)
    lan.run_for(SECOND)

    forced = lan.when(
        winner,
        "Received advert from 10.77.0.2 with lower priority 100, ours 150, forcing new election",
        after=healed,
    )
    assert forced == healed + 1 + LATENCY
    assert announced_since(winner, healed)[0] == forced
    assert (forced, 150) in winner.sent
    assert lan.masters() == [winner]
    assert lan.client_entry == winner.name


def test_a_strict_loser_yields_without_advertising(lan, pair):
    winner, loser = pair(loser_extra="strict_mode on", version=3)
    split(lan, winner, loser)
    healed = heal_before_advert_of(lan, winner, loser)
    lan.run_for(SECOND)

    assert lan.when(loser, "Entering BACKUP STATE", after=healed) is not None
    assert sent_since(loser, healed) == []
    assert lan.when(winner, "forcing new election", after=healed) is None


def test_the_winner_probes_for_an_address_the_loser_claimed_and_announces_it_once_released(lan, pair):
    winner, loser = pair(loser_extra="strict_mode on", version=3)
    split(lan, winner, loser)
    claimed = lan.when(
        winner, "(VI_1) 10.77.0.100 is also held by 10.77.0.2 - probing for it until it is released"
    )
    assert claimed is not None
    adverts = [at for at, _priority in sent_since(winner, claimed)]
    assert winner.probes == [at + CLAIM_PROBE_DELAY_US for at in adverts]
    assert announced_since(winner, claimed) == []  # no claiming back while the loser holds the address

    healed = heal_before_advert_of(lan, winner, loser)
    lan.run_for(SECOND)

    yielded = lan.when(loser, "Entering BACKUP STATE", after=healed)
    assert yielded == healed + 1 + LATENCY
    released = lan.when(winner, "(VI_1) 10.77.0.100 released by 10.77.0.2 - sending gratuitous ARPs")
    assert released == healed + 1 + CLAIM_PROBE_DELAY_US + CLAIM_PROBE_WAIT_US
    assert announced_since(winner, healed) == [released]
    assert lan.client_entry == winner.name
    assert released - healed < SECOND  # within one advert interval of the heal


def test_two_masters_of_a_split_brain_do_not_announce_in_turn(lan, pair):
    winner, loser = pair()
    loser.hears_vrrp = False
    cut = lan.now
    lan.run_for(3 * BLOCKED_S * SECOND)

    assert lan.masters() == [winner, loser]
    assert announced_since(winner, cut) == []
    assert len(announced_since(loser, cut)) == 2  # its take-over's burst and garp_master_delay's
    assert winner.probes and not loser.probes
    assert lan.client_entry == loser.name


def test_the_winners_announcement_after_a_lower_priority_advert_ends_its_watch(lan, pair):
    winner, loser = pair()
    split(lan, winner, loser)
    assert winner.router.claims == {VIP: loser.name}
    heal_before_advert_of(lan, loser, winner)
    lan.run_for(SECOND)

    assert winner.router.claims == {}
    assert lan.when(winner, "released by") is None


@pytest.mark.parametrize("state", [VrrpState.BACKUP, VrrpState.MASTER], ids=["backup", "master"])
def test_claims_count_only_for_a_master_and_for_its_own_addresses(lan, pair, state):
    winner, loser = pair()
    node = winner if state == VrrpState.MASTER else loser
    other = IPv4Address("10.77.0.200")
    address = other if state == VrrpState.MASTER else VIP

    actions = node.router.address_claimed(lan.now, address, "02:00:00:00:00:09")

    assert actions == []
    assert node.router.claims == {}


def test_a_master_without_lower_priority_announcements_does_not_watch(lan, pair):
    winner, _loser = pair(winner_extra="garp_lower_prio_repeat 0")
    actions = winner.router.address_claimed(lan.now, VIP, "02:00:00:00:00:09")
    assert actions == []
    lan.run_for(3 * SECOND)
    assert winner.probes == []


def test_a_claim_goes_with_the_master_state(lan, pair):
    winner, loser = pair()
    split(lan, winner, loser)
    actions = winner.router.stop(lan.now)
    winner.apply(actions)
    assert not any(isinstance(action, (ProbeAddresses, SendGratuitousArps)) for action in actions)
    assert winner.router.claims == {}
    assert winner.router.deadline() is None
