"""Pairs with `auth_type AH` (VRRPv2, advert_int 1): hapair beside the real keepalived 2.2.7, each taking
each role, and two keepalived as the reference the same assertions hold for. With AH each node keeps one
sequence counter for what it sends and what it accepts, so a take-over, a restart and a healed split brain
only work if each side numbers its adverts above what the other has seen."""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator

import pytest

from tests.system.mixed import (
    BACKUP,
    HIGH_ADDRESS,
    HIGH_PRIORITY,
    INIT,
    KEEPALIVED,
    LOW_ADDRESS,
    LOW_PRIORITY,
    MASTER,
    V2_AH,
    VIP,
    Implementation,
    Node,
    disconnect,
    end_all,
    keepalived_conf,
    reconnect,
    start_together,
)
from tests.topology import Lan, wait_until

pytestmark = [pytest.mark.netns, pytest.mark.oracle]

START_S = 15
MARGIN_S = 0.3  # see test_mixed_pairs.py
INVALID_ICV = "(VI_1) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !"
HAPAIR, KEEPALIVED_ = Implementation.HAPAIR, Implementation.KEEPALIVED
# (the higher-priority node at LOW_ADDRESS, the other at HIGH_ADDRESS)
PAIRS = pytest.mark.parametrize(
    "implementations",
    [(HAPAIR, KEEPALIVED_), (KEEPALIVED_, HAPAIR), (KEEPALIVED_, KEEPALIVED_)],
    ids=["hapair-high", "keepalived-high", "keepalived-both"],
)


@pytest.fixture
def lan(lan: Lan) -> Iterator[Lan]:
    yield lan
    end_all(lan.daemons)


@pytest.fixture(autouse=True)
def _keepalived_installed() -> None:
    if shutil.which(KEEPALIVED) is None:
        pytest.skip(f"needs {KEEPALIVED}")


def ah_pair(
    lan: Lan,
    implementations: tuple[Implementation, Implementation],
    passwords: tuple[str | None, str | None] = (None, None),
    *,
    unicast: bool = False,
) -> tuple[Node, Node]:
    """The higher-priority node at LOW_ADDRESS, the lower one at HIGH_ADDRESS (not started); `unicast`:
    each sends to the other from its own address."""
    addresses, priorities = (LOW_ADDRESS, HIGH_ADDRESS), (HIGH_PRIORITY, LOW_PRIORITY)
    nodes = []
    for index in range(2):
        config = keepalived_conf(V2_AH, priorities[index], passwords[index])
        if unicast:
            peer = addresses[1 - index]
            config = config.replace(
                "    interface eth0\n",
                f"    interface eth0\n    unicast_src_ip {addresses[index]}\n"
                f"    unicast_peer {{\n        {peer}\n    }}\n",
            )
        host = lan.host(f"n{index + 1}", addresses[index])
        nodes.append(Node(host, implementations[index], config, priorities[index]))
    return nodes[0], nodes[1]


def become_master(node: Node, after: int = 0) -> int:
    return node.wait_for(MASTER, V2_AH.master_down(node.priority) + V2_AH.advert_int + 2, after)


def holds_vip(node: Node) -> bool:
    return VIP in node.host.addresses()


def ah_refusals(node: Node) -> list[str]:
    """The adverts `node` refused for their ICV or SPI. (A sequence number already seen may be refused
    between two keepalived too: when the new master's first advert and one of the old master's cross,
    both carry the same number.)"""
    return [f"{node.name}: {line}" for run in node.runs for line in run.lines() if "invalid IPSEC" in line]


def assert_never_logs(node: Node, text: str, seconds: float, after: int) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        late = [line for line in node.lines()[after:] if text in line]
        assert not late, f"{node.name} logged {late[0]!r}"
        time.sleep(0.05)


@PAIRS
def test_the_higher_priority_wins_and_the_other_accepts_its_adverts(lan: Lan, implementations) -> None:
    high, low = ah_pair(lan, implementations)
    start_together([high, low])
    become_master(high)
    wait_until(lambda: holds_vip(high), 2, f"{VIP} on {high.name}")
    # the backup would time out within its Master_Down_Interval if it refused the master's adverts
    assert_never_logs(low, MASTER, V2_AH.master_down(low.priority) + MARGIN_S, after=0)
    assert not holds_vip(low)
    assert high.complaints() + low.complaints() == []


@PAIRS
def test_a_unicast_pair_elects_the_higher_priority_and_fails_over(lan: Lan, implementations) -> None:
    """Unicast adverts leave the TTL out of the ICV: a pair that got it wrong would refuse each other."""
    high, low = ah_pair(lan, implementations, unicast=True)
    start_together([high, low])
    become_master(high)
    assert_never_logs(low, MASTER, V2_AH.master_down(low.priority) + MARGIN_S, after=0)
    high.daemon.signal(signal.SIGTERM)
    low.wait_for("(VI_1) Backup received priority 0 advertisement", MARGIN_S + 1)
    low.wait_for(MASTER, V2_AH.skew(low.priority) + MARGIN_S)
    wait_until(lambda: holds_vip(low), 2, f"{VIP} on {low.name}")
    assert ah_refusals(high) + ah_refusals(low) == []


@PAIRS
def test_failover_through_priority_zero_and_preemption_by_a_restarted_node(lan: Lan, implementations) -> None:
    high, low = ah_pair(lan, implementations)
    start_together([high, low])
    become_master(high)

    high.daemon.signal(signal.SIGTERM)
    low.wait_for("(VI_1) Backup received priority 0 advertisement", MARGIN_S + 1)
    low.wait_for(MASTER, V2_AH.skew(low.priority) + MARGIN_S)
    high.daemon.process.wait(10)
    wait_until(lambda: holds_vip(low) and not holds_vip(high), 2, f"{VIP} moved to {low.name}")

    # restarted, the high node counts from 0 again: it must take the new master's numbers from its adverts
    # and number its own above them, or the new master refuses them as replays and stays
    low_mark = len(low.lines())
    high.start()
    high.wait_for(INIT, START_S)
    become_master(high)
    line = low.wait_for(BACKUP, V2_AH.advert_int + MARGIN_S, after=low_mark)
    assert low.lines()[line - 1] == (
        f"(VI_1) Master received advert from {LOW_ADDRESS} with higher priority {high.priority},"
        f" ours {low.priority}"
    )
    wait_until(lambda: holds_vip(high) and not holds_vip(low), 2, f"{VIP} back on {high.name}")
    assert ah_refusals(high) + ah_refusals(low) == []


@PAIRS
def test_a_wrong_password_is_refused_by_both_and_both_become_master(lan: Lan, implementations) -> None:
    nodes = ah_pair(lan, implementations, passwords=("ah-one", "ah-two"))
    start_together(nodes)
    for node in nodes:
        become_master(node)
    for node in nodes:
        node.wait_for(INVALID_ICV, 2 * V2_AH.advert_int + MARGIN_S)
    assert all(BACKUP not in node.lines() for node in nodes)
    wait_until(lambda: all(holds_vip(node) for node in nodes), 2, f"{VIP} on both nodes")


@PAIRS
def test_after_a_split_brain_the_lower_priority_master_steps_down(lan: Lan, implementations) -> None:
    high, low = ah_pair(lan, implementations)
    start_together([high, low])
    become_master(high)
    disconnect(low.host)
    become_master(low)
    # each master has numbered its adverts on its own: whichever counter is behind, the pair must agree
    time.sleep(3 * V2_AH.advert_int)
    mark = len(low.lines())
    reconnect(low.host)
    low.wait_for(BACKUP, 2 * V2_AH.advert_int + MARGIN_S, after=mark)
    assert BACKUP not in high.lines()
    wait_until(lambda: holds_vip(high) and not holds_vip(low), 2, f"{VIP} only on {high.name}")
