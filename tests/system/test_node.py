"""`hapair node` on a LAN (tests/system/node_pair.py): each native tracking path moves the VIP away from
a node whose proxy fails and back once it is healthy, with hapair node on both nodes and with keepalived
+ nginx on the second; the supervisor restarts a killed proxy; a planned stop loses no request."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.mixed import KEEPALIVED
from tests.system.node_pair import FAULT, NGINX, START_TIMEOUT_S, VIP, Pair, Prober
from tests.topology import Lan, wait_until

pytestmark = pytest.mark.netns

MOVE_TIMEOUT_S = 10
RETURN_TIMEOUT_S = 40
IN_FLIGHT_S = 1.0  # far more than a request through the VIP takes, even on a loaded machine


@pytest.fixture
def pair(lan: Lan, tmp_path: Path) -> Iterator[Pair]:
    yield Pair(lan, tmp_path)


def start_both_hapair(pair: Pair) -> None:
    pair.start_hapair(1)
    pair.start_hapair(2)
    pair.wait_holder(1)
    pair.nodes[2].daemon.wait_for("Entering BACKUP STATE", START_TIMEOUT_S)


def start_with_keepalived(pair: Pair) -> None:
    if not (os.access(KEEPALIVED, os.X_OK) and os.access(NGINX, os.X_OK)):
        pytest.skip("needs keepalived and nginx installed")
    pair.start_hapair(1)
    pair.start_keepalived_nginx(2)
    pair.wait_holder(1)
    pair.nodes[2].daemon.wait_for("Entering BACKUP STATE", START_TIMEOUT_S)


@pytest.fixture(params=["hapair", "keepalived"])
def started(request: pytest.FixtureRequest, pair: Pair) -> Pair:
    """Node 1 (hapair node) holds the VIP; node 2 runs hapair node, or keepalived and nginx."""
    if request.param == "hapair":
        start_both_hapair(pair)
    else:
        start_with_keepalived(pair)
    return pair


def test_proxy_killed_moves_the_vip_and_the_restarted_proxy_takes_it_back(started: Pair) -> None:
    node = started.nodes[1].daemon
    mark = len(node.lines())
    killed = started.signal_proxy(1, signal.SIGKILL)
    assert len(killed) >= 2  # the master and its workers
    node.wait_for("hapair tracker proxy is down", MOVE_TIMEOUT_S, after=mark)
    node.wait_for(FAULT, MOVE_TIMEOUT_S, after=mark)
    started.wait_holder(2, MOVE_TIMEOUT_S)
    assert started.get() == "web"
    node.wait_for("Proxy master restarted", RETURN_TIMEOUT_S, after=mark)
    node.wait_for("hapair tracker proxy is up", RETURN_TIMEOUT_S, after=mark)
    started.wait_holder(1, RETURN_TIMEOUT_S)
    assert started.get() == "web"


def test_proxy_hung_moves_the_vip_until_it_serves_again(started: Pair) -> None:
    node = started.nodes[1].daemon
    mark = len(node.lines())
    stopped = started.signal_proxy(1, signal.SIGSTOP)
    try:
        node.wait_for("hapair tracker proxy_serving is down", MOVE_TIMEOUT_S, after=mark)
        why = node.wait_for("proxy_serving: its last failed round: ", MOVE_TIMEOUT_S, after=mark)
        assert "did not answer the health exchange" in node.lines()[why]  # the stopped workers
        started.wait_holder(2, MOVE_TIMEOUT_S)
        assert started.get() == "web"
        assert not any("tracker proxy is down" in line for line in node.lines()[mark:])  # still running
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
    node.wait_for("hapair tracker proxy_serving is up", RETURN_TIMEOUT_S, after=mark)
    started.wait_holder(1, RETURN_TIMEOUT_S)


def test_backends_unreachable_lower_the_priority_until_they_are_back(started: Pair) -> None:
    node = started.nodes[1].daemon
    mark = len(node.lines())
    started.cut_backends(1)
    node.wait_for("hapair tracker backends is down", MOVE_TIMEOUT_S, after=mark)
    node.wait_for("Changing effective priority from 150 to 100", MOVE_TIMEOUT_S, after=mark)
    started.wait_holder(2, MOVE_TIMEOUT_S)
    assert started.get() == "web"
    started.restore_backends(1)
    node.wait_for("hapair tracker backends is up", RETURN_TIMEOUT_S, after=mark)
    started.wait_holder(1, RETURN_TIMEOUT_S)


def test_a_proxy_killed_ten_times_in_a_minute_is_restarted_with_back_off(pair: Pair) -> None:
    """Each time: the VIP moves to node 2, every request sent while node 2 holds it, once the client's
    neighbour entry has followed it there, is answered (but for those whose connection was open on node 2
    when node 1 took the VIP back: L3 fail-over keeps no connection state), and the VIP comes back once
    the restarted proxy serves."""
    start_both_hapair(pair)
    node = pair.nodes[1].daemon
    prober = Prober(pair, timeout=5)
    try:
        prober.wait_answered(time.monotonic())
        for _ in range(10):
            mark = len(node.lines())
            pair.signal_proxy(1, signal.SIGKILL)
            pair.wait_holder(2, MOVE_TIMEOUT_S)
            wait_until(lambda: client_follows(pair, 2), MOVE_TIMEOUT_S, "the client to follow node 2")
            moved = time.monotonic()
            node.wait_for("Proxy master restarted", RETURN_TIMEOUT_S, after=mark)
            last_on_2, returned = wait_handback(pair)
            prober.wait_answered(returned)
            on_node_2 = [r for r in prober.requests() if moved < r.sent < returned]
            failed = [r for r in on_node_2 if not r.ok]
            assert len(on_node_2) > len(failed), on_node_2
            in_flight = [r for r in failed if r.sent > last_on_2 - IN_FLIGHT_S and r.received > last_on_2]
            assert failed == in_flight, (failed, last_on_2, returned)
        delays = [line for line in node.lines() if line.startswith("Restarting the proxy in")]
        assert len(delays) == 10
        assert delays[-1] != delays[0]  # backed off
    finally:
        prober.stop()


def client_follows(pair: Pair, number: int) -> bool:
    """Whether the client's neighbour entry for the VIP names node `number`'s MAC (the failover bench
    times the gap before it; a loaded machine can delay the gratuitous ARP behind the VIP's address)."""
    return pair.client.neighbour_mac(VIP) == pair.hosts[number - 1].mac()


def wait_handback(pair: Pair) -> tuple[float, float]:
    """Until node 1 holds the VIP again: (when node 2 was last seen holding it, when node 1 was first),
    the two times between which the hand-back happened."""
    last_on_2 = time.monotonic()
    deadline = last_on_2 + RETURN_TIMEOUT_S
    while time.monotonic() < deadline:
        looked = time.monotonic()
        holder = pair.holder()
        if holder == 1:
            return last_on_2, time.monotonic()
        if holder == 2:
            last_on_2 = looked
        time.sleep(0.02)
    raise AssertionError(f"timed out after {RETURN_TIMEOUT_S} s waiting for node 1 to hold the VIP again")


def test_sigterm_hands_the_vip_over_before_the_proxy_stops(pair: Pair) -> None:
    """The VRRP stop (priority-0 advert, VIPs removed) comes before the proxy's graceful stop, and the
    client loses at most the one request whose connection was open on node 1 when node 2 took the VIP
    (its next packet goes to node 2, which resets it: L3 fail-over keeps no connection state)."""
    start_both_hapair(pair)
    prober = Prober(pair, timeout=5)
    try:
        prober.wait_answered(time.monotonic())
        stopped_at = time.monotonic()
        node = pair.nodes[1].daemon
        node.signal(signal.SIGTERM)
        pair.wait_holder(2, MOVE_TIMEOUT_S)
        assert node.process.wait(30) == 0
        lines = node.lines()
        stop = next(i for i, line in enumerate(lines) if line == "Stopping")
        proxy_end = next(i for i, line in enumerate(lines) if "Proxy master (PID" in line)
        assert stop < proxy_end
        done = time.monotonic()
        prober.wait_answered(done + 5)  # every request sent before `done` has ended by then
        during = [r for r in prober.requests() if stopped_at < r.sent < done]
        assert len(during) > 10
        assert len([r for r in during if not r.ok]) <= 1
    finally:
        prober.stop()


def test_sighup_reloads_the_vrrp_side_and_the_proxy(pair: Pair) -> None:
    start_both_hapair(pair)
    node = pair.nodes[1].daemon
    mark = len(node.lines())
    node.signal(signal.SIGHUP)
    node.wait_for("Reload complete", MOVE_TIMEOUT_S, after=mark)
    error_log = pair.directory / "n1-error.log"
    wait_until(lambda: "reconfiguring" in error_log.read_text(), MOVE_TIMEOUT_S, "the proxy's reload")
    assert pair.holder() == 1
    assert pair.get() == "web"


def test_no_native_tracking_leaves_the_vip_on_a_node_whose_proxy_is_killed(pair: Pair) -> None:
    """--no-native: the supervisor restarts the proxy, and no tracker moves the VIP."""
    pair.start_hapair(1, "--no-native")
    pair.wait_holder(1)
    node = pair.nodes[1].daemon
    mark = len(node.lines())
    pair.signal_proxy(1, signal.SIGKILL)
    node.wait_for("Proxy master restarted", RETURN_TIMEOUT_S, after=mark)
    assert pair.holder() == 1
    assert not any("tracker" in line for line in node.lines())
