"""Mixed pairs: one node on hapair, the other on the real keepalived 2.2.7, must behave as two keepalived
do (evidence: ../shared/reference/keepalived-evidence/run1_*, run2_*, run3_*). Each test runs with hapair
as the higher-priority node and as the lower one (for the tie: at the lower and at the higher address),
over VRRPv2 with PASS authentication (advert_int 1) and VRRPv3 without (advert_int 0.5)."""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator

import pytest

from tests.system.mixed import (
    BACKUP,
    HIGH_ADDRESS,
    INIT,
    KEEPALIVED,
    LOW_ADDRESS,
    MASTER,
    V2_PASS,
    V3,
    VIP,
    Node,
    Protocol,
    disconnect,
    end_all,
    pair,
    reconnect,
    reconnect_deaf,
    start_together,
)
from tests.topology import Lan, wait_until

pytestmark = [pytest.mark.netns, pytest.mark.oracle]

START_S = 15  # a daemon's start-up, up to BACKUP (init)
# Added to a wait computed from the protocol: the log poll (20 ms), a daemon's reaction and log write, and
# the scheduling jitter of a loaded machine. Far below an advert interval, so a late reaction still fails.
MARGIN_S = 0.3
ROLES = pytest.mark.parametrize("hapair_first", [True, False], ids=["hapair-high", "keepalived-high"])
ADDRESSES = pytest.mark.parametrize("hapair_first", [True, False], ids=["hapair-at-.11", "hapair-at-.12"])
PROTOCOLS = pytest.mark.parametrize("protocol", [V2_PASS, V3], ids=lambda p: p.name)


@pytest.fixture
def lan(lan: Lan) -> Iterator[Lan]:
    """The system tests' LAN, whose daemons are killed as soon as the test is over (see end_all)."""
    yield lan
    end_all(lan.daemons)


@pytest.fixture(autouse=True)
def _keepalived_installed() -> None:
    if shutil.which(KEEPALIVED) is None:
        pytest.skip(f"needs {KEEPALIVED}")


def become_master(node: Node, protocol: Protocol) -> int:
    """Wait for `node` to log MASTER (a backup's Master_Down_Interval and then some); the line's index."""
    return node.wait_for(MASTER, protocol.master_down(node.priority) + protocol.advert_int + 2)


def assert_never_logs(node: Node, text: str, seconds: float, after: int) -> None:
    """`node` does not log `text` (from line `after` on) during the next `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        late = [line for line in node.lines()[after:] if text in line]
        assert not late, f"{node.name} logged {late[0]!r}"
        time.sleep(0.05)


def holds_vip(node: Node) -> bool:
    return VIP in node.host.addresses()


@PROTOCOLS
@ROLES
def test_higher_priority_wins_and_lower_stays_backup_without_complaints(
    lan: Lan, protocol: Protocol, hapair_first: bool
) -> None:
    high, low = pair(lan, protocol, hapair_first=hapair_first)
    start_together([high, low])
    become_master(high, protocol)
    wait_until(lambda: holds_vip(high), 2, f"{VIP} on {high.name}")
    # the loser would time out within its Master_Down_Interval if it did not accept the winner's adverts
    assert_never_logs(low, MASTER, protocol.master_down(low.priority) + MARGIN_S, after=0)
    assert not holds_vip(low)
    assert high.complaints() + low.complaints() == []


@PROTOCOLS
@ROLES
def test_failover_through_priority_zero_and_preemption_back(
    lan: Lan, protocol: Protocol, hapair_first: bool
) -> None:
    high, low = pair(lan, protocol, hapair_first=hapair_first, states=("MASTER", "BACKUP"))
    start_together([high, low])
    become_master(high, protocol)

    high.daemon.signal(signal.SIGTERM)
    low.wait_for("(VI_1) Backup received priority 0 advertisement", MARGIN_S)
    # priority 0 cuts the wait to Skew_Time (a silent master would cost 3 adverts more)
    low.wait_for(MASTER, protocol.skew(low.priority) + MARGIN_S)
    assert "(VI_1) sent 0 priority" in high.lines()
    high.daemon.process.wait(10)
    wait_until(lambda: holds_vip(low) and not holds_vip(high), 2, f"{VIP} moved to {low.name}")

    low_mark = len(low.lines())
    high.start()
    high.wait_for(INIT, START_S)
    line = become_master(high, protocol)
    # as keepalived in run2: a backup ignores a lower-priority master until its own timer runs out
    discarding = f"(VI_1) received lower priority ({low.priority}) advert from {HIGH_ADDRESS} - discarding"
    assert discarding in high.lines()[:line]
    line = low.wait_for(BACKUP, protocol.advert_int + MARGIN_S, after=low_mark)
    assert low.lines()[line - 1] == (
        f"(VI_1) Master received advert from {LOW_ADDRESS} with higher priority {high.priority},"
        f" ours {low.priority}"
    )
    wait_until(lambda: holds_vip(high) and not holds_vip(low), 2, f"{VIP} back on {high.name}")


@PROTOCOLS
@ADDRESSES
def test_equal_priorities_elect_the_higher_address(lan: Lan, protocol: Protocol, hapair_first: bool) -> None:
    # Both claim MASTER at start (the LAN cut until then), as two nodes started together do when their
    # first adverts cross; which one times out first would otherwise be a race of start-up times.
    lower, higher = pair(lan, protocol, hapair_first=hapair_first, priorities=(100, 100))
    disconnect(lower.host)
    start_together([lower, higher])
    for node in (lower, higher):
        become_master(node, protocol)
    mark = len(higher.lines())
    reconnect(lower.host)

    line = lower.wait_for(
        f"(VI_1) Master received advert from {HIGH_ADDRESS} with same priority 100 but higher IP address"
        " than ours",
        protocol.advert_int + MARGIN_S,
    )
    assert lower.lines()[line + 1] == BACKUP
    wait_until(lambda: holds_vip(higher) and not holds_vip(lower), 2, f"{VIP} only on {higher.name}")
    assert BACKUP not in higher.lines()[mark:]


@PROTOCOLS
@ROLES
def test_after_a_partition_heals_the_lower_priority_master_steps_down_within_an_interval(
    lan: Lan, protocol: Protocol, hapair_first: bool
) -> None:
    high, low = pair(lan, protocol, hapair_first=hapair_first, states=("MASTER", "BACKUP"))
    start_together([high, low])
    become_master(high, protocol)
    disconnect(low.host)
    become_master(low, protocol)
    assert BACKUP not in high.lines()  # two masters

    # Heal in two steps so that the winner surely hears the loser's advert first (in one step, whichever
    # advert crosses first decides who logs what: run3_split_b shows the winner's line, run3_splitneq_a not)
    reconnect_deaf(low.host)
    high.wait_for(
        f"(VI_1) Received advert from {HIGH_ADDRESS} with lower priority {low.priority},"
        f" ours {high.priority}, forcing new election",
        protocol.advert_int + MARGIN_S,
    )
    mark = len(low.lines())
    reconnect(low.host)
    healed_at = time.monotonic()
    # the winner advertises at least once an interval (and re-arms its timer on each advert it hears)
    line = low.wait_for(BACKUP, protocol.advert_int + MARGIN_S, after=mark)
    elapsed = time.monotonic() - healed_at
    assert elapsed <= protocol.advert_int + MARGIN_S
    assert low.lines()[line - 1] == (
        f"(VI_1) Master received advert from {LOW_ADDRESS} with higher priority {high.priority},"
        f" ours {low.priority}"
    )
    assert BACKUP not in high.lines()
    wait_until(lambda: holds_vip(high) and not holds_vip(low), 2, f"{VIP} only on {high.name}")


@ROLES
def test_password_mismatch_is_logged_by_both_and_both_become_master(lan: Lan, hapair_first: bool) -> None:
    nodes = pair(lan, V2_PASS, hapair_first=hapair_first, passwords=("pw-one", "pw-two"))
    start_together(nodes)
    for node in nodes:
        become_master(node, V2_PASS)
    for node in nodes:
        node.wait_for("(VI_1) received an invalid passwd!", 2 * V2_PASS.advert_int + MARGIN_S)
    assert all(BACKUP not in node.lines() for node in nodes)
    wait_until(lambda: all(holds_vip(node) for node in nodes), 2, f"{VIP} on both nodes")
