"""The BGP lab with `--health native`: `hapair node --bgp` on each node, its native trackers deciding the
announcement. Each proxy fault is withdrawn by the tracker that sees it (the node's status names it), the
node restarts a killed proxy itself, and the lab's other faults and `heal` work as with hapair bgp."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from hapair.lab import bgp, faults

from .helpers import lab, lab_ok, leftovers, skip_reason, unique_name
from .test_bgp import hops_become

pytestmark = pytest.mark.netns

NODES = ["10.101.1.11", "10.101.1.12"]


@pytest.fixture(scope="module")
def native_bgp_lab() -> Iterator[str]:
    reason = skip_reason() or (None if shutil.which("bird") else "needs BIRD (apt-get install bird2)")
    if reason:
        pytest.skip(reason)
    name = unique_name("bn")
    try:
        said = lab_ok("up", "--bgp", "--nodes", "2", "--health", "native", "--name", name)
        assert said.count("hapair node --bgp (the proxy its child, native health) started") == 2
        yield name
    finally:
        lab("down", "--name", name)
    assert leftovers(name) == []


def announcement(name: str, node: int) -> str:
    return lab_ok("status", "--name", name).splitlines()[node]


def test_a_killed_proxy_is_withdrawn_and_the_node_restarts_it(native_bgp_lab: str) -> None:
    hops_become(native_bgp_lab, NODES)
    lab_ok("fail", "2", "--how", "proxy-kill", "--name", native_bgp_lab)
    hops_become(native_bgp_lab, NODES[:1])
    hops_become(native_bgp_lab, NODES)  # no heal: hapair node restarted its proxy
    assert "all sources up (last: proxy up: proxy master running" in announcement(native_bgp_lab, 2)
    lab_ok("heal", "2", "--name", native_bgp_lab)


@pytest.mark.parametrize(
    ("how", "why"),
    [
        ("proxy-hang", "proxy_serving down: a worker or listener does not answer"),
        ("backends", "backends down: no backend reachable"),
        ("drain", "drained by the administrator"),
    ],
)
def test_a_fault_is_withdrawn_by_its_tracker_and_healed(native_bgp_lab: str, how: str, why: str) -> None:
    hops_become(native_bgp_lab, NODES)
    lab_ok("fail", "2", "--how", how, "--name", native_bgp_lab)
    hops_become(native_bgp_lab, NODES[:1])
    assert "withdrawn since " in announcement(native_bgp_lab, 2)
    assert f": {why}  " in announcement(native_bgp_lab, 2)
    lab_ok("heal", "2", "--name", native_bgp_lab)
    hops_become(native_bgp_lab, NODES)


@pytest.mark.parametrize("how", ["stop", "kill", "link"])
def test_the_node_and_speaker_faults_are_withdrawn_and_healed(native_bgp_lab: str, how: str) -> None:
    hops_become(native_bgp_lab, NODES)
    assert (
        lab_ok("fail", "2", "--how", how, "--name", native_bgp_lab) == f"node 2: {faults.BGP_FAULTS[how]}\n"
    )
    hops_become(native_bgp_lab, NODES[:1])
    said = lab_ok("heal", "2", "--name", native_bgp_lab)
    if how == "stop":
        assert said == "node 2: hapair node --bgp started\n"
    hops_become(native_bgp_lab, NODES)
    assert bgp.VIP in lab_ok("status", "--name", native_bgp_lab).splitlines()[-1]
