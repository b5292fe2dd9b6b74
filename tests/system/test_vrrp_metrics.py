"""`hapair vrrp --metrics` on the seed's pair (each node serving its metrics on its own loopback), parsed
with prometheus-client's parser: node 2's state, priorities and counters as a backup, then after node 1's
SIGTERM (its priority-0 advert received, one transition to MASTER); and a start that fails on an address
in use."""

from __future__ import annotations

import re
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.reference import REPO
from tests.seed import NODE_ADDRESSES, start_seed_node
from tests.topology import Host, Lan, wait_until

pytestmark = pytest.mark.netns

DASHBOARD = REPO / "src" / "hapair" / "dashboards" / "hapair-vrrp.json"

METRICS = "127.0.0.1:9100"
START_TIMEOUT_S = 15
URL = f"http://{METRICS}/metrics"
SCRAPE = f"import urllib.request; print(urllib.request.urlopen({URL!r}, timeout=5).read().decode())"


def scrape(host: Host) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    ran = host.run([sys.executable, "-c", SCRAPE])
    assert ran.returncode == 0, ran.stderr
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(ran.stdout)
        for sample in family.samples
    }


def of_instance(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(
        sorted({"vrrp_instance": "VRRP_1", "interface": "eth0", "vrid": "70", **labels}.items())
    )


def test_the_metrics_follow_a_failover(lan: Lan) -> None:
    host1, host2 = lan.host("node1", NODE_ADDRESSES[1]), lan.host("node2", NODE_ADDRESSES[2])
    node1 = start_seed_node(host1, 1, extra=["--metrics", METRICS])
    node2 = start_seed_node(host2, 2, extra=["--metrics", METRICS])
    node1.wait_for("(VRRP_1) Entering MASTER STATE", START_TIMEOUT_S)
    node2.wait_for("(VRRP_1) Entering BACKUP STATE", START_TIMEOUT_S)
    backup = wait_until(
        lambda: (m := scrape(host2))[of_instance("hapair_vrrp_adverts_received_total")] and m,
        START_TIMEOUT_S,
        "node 2 to count node 1's adverts",
    )
    assert backup[of_instance("hapair_vrrp_instance_state", state="BACKUP")] == 1
    assert backup[of_instance("hapair_vrrp_instance_state", state="MASTER")] == 0
    assert backup[of_instance("hapair_vrrp_instance_base_priority")] == 250
    assert backup[of_instance("hapair_vrrp_instance_master_priority")] == 255
    assert backup[of_instance("hapair_vrrp_became_master_total")] == 0
    assert backup[("hapair_vrrp_script_ok", (("script", "check_nginx"),))] == 1
    node1.stop()
    node2.wait_for("(VRRP_1) Entering MASTER STATE", START_TIMEOUT_S)
    master = scrape(host2)
    assert master[of_instance("hapair_vrrp_instance_state", state="MASTER")] == 1
    assert master[of_instance("hapair_vrrp_became_master_total")] == 1
    assert master[of_instance("hapair_vrrp_priority_zero_received_total")] == 1
    assert master[of_instance("hapair_vrrp_adverts_sent_total")] >= 1
    assert master[of_instance("hapair_vrrp_received_dropped_total", reason="auth_failure")] == 0
    queried = set(re.findall(r"hapair_vrrp_\w+", DASHBOARD.read_text()))
    assert queried <= {name for name, _ in master}, "the dashboard queries names the daemon does not expose"


def test_an_address_in_use_fails_the_start(lan: Lan) -> None:
    host = lan.host("node1", NODE_ADDRESSES[1])
    holder = start_seed_node(host, 1, extra=["--metrics", METRICS])
    holder.wait_for("Startup complete", START_TIMEOUT_S)
    second = start_seed_node(host, 2, extra=["--metrics", METRICS, "--control", "none"])
    assert second.process.wait(START_TIMEOUT_S) == 1
    assert f"Cannot serve metrics on {METRICS}: Address already in use - exiting" in second.log()
