"""`hapair status` on the seed's pair run by hapair (each daemon's control socket beside its pid file):
the master, priorities and VIPs each node reports, the new master's report right after a failover, and
`--follow`'s events, in order, ending when the daemon stops."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.seed import NODE_ADDRESSES, VIP, start_seed_node
from tests.topology import HAPAIR, Lan, wait_until

pytestmark = pytest.mark.netns

START_TIMEOUT_S = 15
FAILOVER_TIMEOUT_S = 10


def status(socket: Path) -> dict[str, object]:
    ran = subprocess.run(
        [HAPAIR, "status", "--json", "--socket", str(socket)],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert ran.returncode == 0, ran.stderr
    return dict(json.loads(ran.stdout))


def instance(document: dict[str, object]) -> dict[str, object]:
    (only,) = document["instances"]  # type: ignore[misc]
    return dict(only)


def heard(document: dict[str, object]) -> dict[str, object] | None:
    return document if document["master"]["address"] is not None else None  # type: ignore[index]


def test_status_reports_the_pair_and_follows_its_failover(lan: Lan) -> None:
    host1, host2 = lan.host("node1", NODE_ADDRESSES[1]), lan.host("node2", NODE_ADDRESSES[2])
    node1, node2 = start_seed_node(host1, 1), start_seed_node(host2, 2)
    node1.wait_for("(VRRP_1) Entering MASTER STATE", START_TIMEOUT_S)
    node2.wait_for("(VRRP_1) Entering BACKUP STATE", START_TIMEOUT_S)
    socket1, socket2 = (lan.directory / f"{host.name}.sock" for host in (host1, host2))
    master = instance(status(socket1))
    # the backup knows its master once an advert came
    backup = wait_until(lambda: heard(instance(status(socket2))), START_TIMEOUT_S, "node 2 to hear node 1")
    assert (master["state"], master["vips_held"], master["vips"]) == ("MASTER", True, [f"{VIP}/24"])
    assert backup["state"] == "BACKUP" and backup["vips_held"] is False
    assert backup["master"] == {"address": NODE_ADDRESSES[1], "priority": master["effective_priority"]}
    assert (master["base_priority"], backup["base_priority"]) == (255, 250)
    follower = subprocess.Popen(
        [HAPAIR, "status", "--follow", "--socket", str(socket2)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert follower.stdout is not None
        first = json.loads(follower.stdout.readline())  # it follows from now on
        assert (first["name"], first["state"], first["current"]) == ("VRRP_1", "BACKUP", True)
        node1.stop()
        node2.wait_for("(VRRP_1) Entering MASTER STATE", FAILOVER_TIMEOUT_S)
        now = instance(status(socket2))
        assert (now["state"], now["vips_held"]) == ("MASTER", True)
        node2.stop()
        output, _ = follower.communicate(timeout=30)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    events = [json.loads(line) for line in output.splitlines()]
    assert [(event["kind"], event["name"], event["state"]) for event in events] == [
        ("instance", "VRRP_1", "MASTER"),
        ("instance", "VRRP_1", "STOP"),
    ]
