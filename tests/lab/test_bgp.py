"""Namespace tests of the BGP lab (issue 17's Done when): three nodes give the router three next-hops; a
node whose proxy is killed is withdrawn and comes back once healed; `drain` withdraws before the proxy
stops, and no request the client starts after the withdraw fails (it opens a new connection per request
throughout). Requests in flight at the instant the router drops the next-hop can be reset: the kernel's
hash-threshold ECMP moves some flows to another node, which has no socket for them (docs/bgp.md).
Each of the lab's other faults takes the node's next-hop away and `heal` brings it back; proxy-hang is
refused here (hapair proxy and hapair bgp's own probes: tests/lab/test_bgp_native.py has it)."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from hapair.lab import bgp, faults, load, network
from hapair.lab.layout import Layout
from hapair.lab.state import LabState
from tests.topology import wait_until

from .helpers import lab, lab_ok, leftovers, skip_reason, unique_name

NODES = ["10.101.1.11", "10.101.1.12", "10.101.1.13"]
_MOMENT = re.compile(r"at ([0-9T:.-]+)")


def router_hops(name: str) -> list[str]:
    return network.nexthops(Layout(name).namespace("router"), bgp.VIP)


def hops_become(name: str, expected: list[str], timeout: float = 15) -> None:
    wait_until(lambda: router_hops(name) == expected or None, timeout, f"next-hops {expected}", interval=0.02)


@pytest.fixture(scope="module")
def bgp_lab() -> Iterator[str]:
    reason = skip_reason() or (None if shutil.which("bird") else "needs BIRD (apt-get install bird2)")
    if reason:
        pytest.skip(reason)
    name = unique_name("b")
    try:
        lab_ok("up", "--bgp", "--nodes", "3", "--name", name)
        yield name
    finally:
        lab("down", "--name", name)
    assert leftovers(name) == []


def test_three_nodes_give_the_router_three_next_hops(bgp_lab: str) -> None:
    hops_become(bgp_lab, NODES)
    status = lab_ok("status", "--name", bgp_lab)
    assert f"router: {bgp.VIP}/32 via {', '.join(NODES)}" in status
    assert status.count(" announced since ") == 3
    assert status.count("Established") == 3


def test_a_killed_proxy_is_withdrawn_and_returns_after_healing(bgp_lab: str) -> None:
    hops_become(bgp_lab, NODES)
    lab_ok("fail", "2", "--how", "proxy-kill", "--name", bgp_lab)
    hops_become(bgp_lab, [NODES[0], NODES[2]])
    assert "withdrawn since" in lab_ok("status", "--name", bgp_lab).splitlines()[2]
    lab_ok("heal", "2", "--name", bgp_lab)
    hops_become(bgp_lab, NODES)


@pytest.mark.parametrize("how", ["stop", "kill", "link", "backends"])
def test_each_fault_withdraws_the_node_and_heal_brings_it_back(bgp_lab: str, how: str) -> None:
    hops_become(bgp_lab, NODES)
    said = lab_ok("fail", "2", "--how", how, "--name", bgp_lab)
    assert said == f"node 2: {faults.BGP_FAULTS[how]}\n"
    hops_become(bgp_lab, [NODES[0], NODES[2]])
    row = lab_ok("status", "--name", bgp_lab).splitlines()[2]
    assert row.endswith(f"  {how}")
    lab_ok("heal", "2", "--name", bgp_lab)
    hops_become(bgp_lab, NODES)
    assert lab_ok("status", "--name", bgp_lab).splitlines()[2].endswith("  -")


def test_a_proxy_hang_is_refused_without_native_health(bgp_lab: str) -> None:
    result = lab("fail", "2", "--how", "proxy-hang", "--name", bgp_lab)
    assert (result.returncode, result.stderr) == (1, f"hapair lab: {faults.HANG_NEEDS_NATIVE}\n")
    assert LabState.load(Layout(bgp_lab)).node(2).fault is None


def test_drain_withdraws_before_the_proxy_stops_and_no_request_fails(bgp_lab: str) -> None:
    hops_become(bgp_lab, NODES)
    client = load.Background(Layout(bgp_lab).namespace("client"), bgp.VIP, 8080, workers=4).start()
    try:
        wait_until(lambda: len(client.outcomes) > 50 or None, 15, "the client's first answers")
        said = lab_ok("fail", "3", "--how", "drain", "--name", bgp_lab)
        drained = time.monotonic()
        assert router_hops(bgp_lab) == NODES[:2]
        count = len(client.outcomes)
        wait_until(
            lambda: len(client.outcomes) > count + 50 or None, 15, "answers after the drain", interval=0.02
        )
    finally:
        outcomes = client.finish()
    withdrawn, asked, stopped = (datetime.fromisoformat(m) for m in _MOMENT.findall(said))
    assert withdrawn < asked < stopped
    record = LabState.load(Layout(bgp_lab)).node(3)
    assert record.proxy is None
    assert [o for o in outcomes if o.error and o.started > drained] == []
    after = load.summarize([o for o in outcomes if o.started > drained])
    assert set(after.by_node) == set(NODES[:2])
    assert set(load.summarize(outcomes).by_node) == set(NODES)
    lab_ok("heal", "3", "--name", bgp_lab)
    hops_become(bgp_lab, NODES)
