"""`hapair lab up --health native`: hapair node on both nodes; each proxy fault moves the VIP to node 2,
`status` shows the tracker that saw it, and the node (or `heal`) brings it back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hapair.lab.client import ask
from hapair.lab.layout import Layout
from hapair.lab.network import run_in

from .helpers import lab, lab_ok, leftovers, master_is, skip_reason, statuses, unique_name, wait_for

pytestmark = pytest.mark.netns


@pytest.fixture(scope="module")
def native_lab() -> Iterator[str]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    name = unique_name("n")
    try:
        assert "hapair node (VRRP and proxy, native health tracking)" in lab_ok(
            "up", "--health", "native", "--name", name
        )
        master_is(1, name, timeout=30)
        yield name
    finally:
        lab("down", "--name", name)
    assert leftovers(name) == []


@pytest.mark.parametrize(
    ("how", "health"),
    [
        ("proxy-kill", None),  # restarted by the node within the wait: no tracker left down
        ("proxy-hang", "proxy:up proxy_serving:down backends:up"),
        ("backends", "proxy:up proxy_serving:up backends:down"),
    ],
)
def test_a_proxy_fault_moves_the_vip_and_the_tracker_shows_it(native_lab: str, how: str, health: str) -> None:
    assert lab_ok("fail", "1", "--how", how, "--name", native_lab).startswith("node 1: ")
    wait_for(
        native_lab,
        f"node 2 master after {how}",
        lambda rows: rows[2].state == "MASTER" and "10.101.1.10" in rows[2].vips,
        timeout=15,
    )
    if health is not None:  # a status row is read node by node: node 1's may be older than node 2's
        wait_for(native_lab, f"node 1 in FAULT after {how}", lambda rows: rows[1].state == "FAULT", 15)
        assert statuses(native_lab)[1].health == health
    assert run_in(Layout.named(native_lab).namespace("client"), ask).node == 2
    lab_ok("heal", "1", "--name", native_lab)
    rows = master_is(1, native_lab, timeout=30)
    assert rows[1].health == "proxy:up proxy_serving:up backends:up"
