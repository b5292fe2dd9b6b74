"""Routes, rules and static addresses (issue 13): the same keepalived.conf (tests/data/routes) run by
keepalived 2.2.7 and by hapair, one after the other on the same host, leaves the kernel with the same
IPv4 and IPv6 routes of every table, the same rules and the same addresses (the link-local ones the
kernel makes as interfaces come up aside): at start (the instance in BACKUP: the
static ones only), once the instance is MASTER (its virtual ones too), and after the stop (nothing of
either). Both log the same lines for the instance's routes and rules, and the same kernel refusals."""

from __future__ import annotations

import json
import re
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.mixed import KEEPALIVED, Implementation, Node, end_all
from tests.system.segments import second_segment
from tests.topology import Daemon, Host, Lan

pytestmark = [pytest.mark.netns, pytest.mark.oracle]

CONFIG = Path(__file__).resolve().parents[1] / "data" / "routes" / "keepalived.conf"
START_S = 15
MASTER_S = 3 * 2 + 2 + 5  # the instance's Master_Down_Interval (advert_int 2), and some
# What the run logs about the instance's addresses, routes and rules, in order
INSTANCE_LINES = re.compile(r"^\(VI_1\) (setting|removing) (Virtual R|VIPs)|^\(VI_1\) Entering ")
KERNEL_REFUSAL = re.compile(r"^(Netlink: error: .*), seq=\d+, pid=0$")


@pytest.fixture
def lan(lan: Lan) -> Iterator[Lan]:
    yield lan
    end_all(lan.daemons)


@pytest.fixture(autouse=True)
def _keepalived_installed() -> None:
    if shutil.which(KEEPALIVED) is None:
        pytest.skip(f"needs {KEEPALIVED}")


def kernel_state(host: Host) -> dict[str, object]:
    """The host's IPv4 and IPv6 routes (every table), rules and addresses as `ip` shows them, without the
    IPv6 link-local ones (the kernel makes them a moment after an interface comes up)."""
    routes, rules = [], []
    for family in ("-4", "-6"):
        shown_routes = host.run(["ip", family, "route", "show", "table", "all"]).stdout.splitlines()
        routes += [route for route in shown_routes if "fe80:" not in route]
        rules += host.run(["ip", family, "rule", "show"]).stdout.splitlines()
    shown = json.loads(host.run(["ip", "-j", "addr", "show"]).stdout)
    addresses = sorted(
        (link["ifname"], a["local"], a["prefixlen"], a.get("label", ""), a["scope"])
        for link in shown
        for a in link["addr_info"]
        if not a["local"].startswith("fe80:")
    )
    return {"routes": routes, "rules": rules, "addresses": addresses}


def run(
    host: Host, implementation: Implementation, runs: list[Daemon]
) -> tuple[list[dict[str, object]], list[str]]:
    """Run the configuration: the kernel's state in BACKUP, in MASTER and after the stop, and the log."""
    node = Node(host, implementation, CONFIG.read_text(), 100, runs)
    daemon = node.start()
    node.wait_for("(VI_1) Entering BACKUP STATE (init)", START_S)
    backup = kernel_state(host)
    assert "(VI_1) Entering MASTER STATE" not in node.lines()  # the state was taken in BACKUP
    line = node.wait_for("(VI_1) Entering MASTER STATE", MASTER_S)
    node.wait_for("(VI_1) setting Virtual Rules", 2, after=line)
    master = kernel_state(host)
    assert daemon.stop() == 0
    return [backup, master, kernel_state(host)], node.lines()


def test_keepalived_and_hapair_leave_the_same_routes_rules_and_addresses(lan: Lan) -> None:
    host = lan.host("n1", "192.168.200.241")
    host.namespace.ip("addr", "add", "2001:db8:200::241/64", "dev", "eth0", "nodad")
    second_segment(lan, host, "192.168.201.241")
    for name in ("eth2", "eth3"):
        host.namespace.add_veth(name, f"{name}p")
    before = kernel_state(host)
    states, logs = {}, {}
    runs: list[Daemon] = []  # one list, so that each run has a log file of its own
    for implementation in Implementation:
        states[implementation], logs[implementation] = run(host, implementation, runs)
        assert states[implementation][2] == before, implementation
    keepalived, hapair = states[Implementation.KEEPALIVED], states[Implementation.HAPAIR]
    for name, seen_by_keepalived, seen_by_hapair in zip(
        ("backup", "master", "stopped"), keepalived, hapair, strict=True
    ):
        assert seen_by_hapair == seen_by_keepalived, name
    static, virtual = keepalived[0], keepalived[1]
    assert "unreachable 10.62.0.0/16 table 102 proto keepalived " in static["routes"]
    ipv6 = "2001:db8:62::/48 dev eth2 table 105 proto keepalived metric 1024 pref high"
    assert ipv6 in [route.strip() for route in static["routes"]]
    assert "blackhole 10.81.0.0/16 proto keepalived " in virtual["routes"]
    assert "blackhole 10.81.0.0/16 proto keepalived " not in static["routes"]
    assert len(virtual["rules"]) == len(static["rules"]) + 5

    def instance_lines(lines: list[str]) -> list[str]:
        return [line for line in lines if INSTANCE_LINES.match(line)]

    def refusals(lines: list[str]) -> list[str]:
        return [m.group(1) for line in lines if (m := KERNEL_REFUSAL.match(line))]

    keepalived_log, hapair_log = logs[Implementation.KEEPALIVED], logs[Implementation.HAPAIR]
    assert instance_lines(hapair_log) == instance_lines(keepalived_log)
    assert "(VI_1) setting Virtual Routes" in instance_lines(hapair_log)
    assert refusals(hapair_log) == refusals(keepalived_log)
    assert refusals(hapair_log) == ["Netlink: error: Network is unreachable(101), type=RTM_NEWROUTE(24)"]


def step_down_and_back(node: Node, command: list[str]) -> None:
    """Run `command` on the master's host: it enters BACKUP, then MASTER again."""
    mark = len(node.lines())
    assert node.host.run(command).returncode == 0
    line = node.wait_for("(VI_1) Entering BACKUP STATE", 5, after=mark)
    node.wait_for("(VI_1) Entering MASTER STATE", 5, after=line)
    node.wait_for("(VI_1) setting Virtual Rules", 2, after=line)


def test_a_master_whose_tracked_route_or_rule_is_taken_away_steps_down_as_keepalived(lan: Lan) -> None:
    host = lan.host("n1", "192.168.200.241")
    config = (CONFIG.parent / "tracked.conf").read_text()
    logs = {}
    runs: list[Daemon] = []  # one list, so that each run has a log file of its own
    for implementation in Implementation:
        node = Node(host, implementation, config, 255, runs)
        daemon = node.start()
        node.wait_for("(VI_1) setting Virtual Rules", START_S)
        step_down_and_back(node, ["ip", "route", "del", "10.50.0.0/16"])
        step_down_and_back(node, ["ip", "rule", "del", "priority", "100"])
        assert "10.50.0.0/16 via 192.168.200.254 dev eth0 proto keepalived " in kernel_state(host)["routes"]
        assert daemon.stop() == 0
        logs[implementation] = [line for line in node.lines() if INSTANCE_LINES.match(line)]
    assert logs[Implementation.HAPAIR] == logs[Implementation.KEEPALIVED]
    assert logs[Implementation.HAPAIR].count("(VI_1) Entering BACKUP STATE") == 2


# What a reload logs about what it takes away (keepalived names no instance for a static address: "((null)) ")
RELOAD_LINES = re.compile(
    r"^(\(.*\) )?(ip rule from .* removed|Removing route .*|ip address .* no longer exist)$"
)


def test_a_reload_takes_away_what_the_configuration_dropped_as_keepalived(lan: Lan) -> None:
    host = lan.host("n1", "192.168.200.241")
    second_segment(lan, host, "192.168.201.241")
    for name in ("eth2", "eth3"):
        host.namespace.add_veth(name, f"{name}p")
    before, after = ((CONFIG.parent / f"reload-{when}.conf").read_text() for when in ("before", "after"))
    states, logs = {}, {}
    runs: list[Daemon] = []
    for implementation in Implementation:
        node = Node(host, implementation, before, 255, runs)
        daemon = node.start()
        node.wait_for("(VI_1) setting Virtual Rules", START_S)
        (lan.directory / f"{host.name}-{len(runs) - 1}.conf").write_text(after)
        mark = len(node.lines())
        daemon.signal(signal.SIGHUP)
        line = node.wait_for("Reloading", 5, after=mark)
        node.wait_for("(VI_1) setting Virtual Rules", 5, after=line)
        states[implementation] = kernel_state(host)
        assert daemon.stop() == 0
        logs[implementation] = [m.group(2) for entry in node.lines() if (m := RELOAD_LINES.match(entry))]
    assert states[Implementation.HAPAIR] == states[Implementation.KEEPALIVED]
    added = "10.42.0.0/16 via 192.168.200.254 dev eth0 proto keepalived "
    assert added in states[Implementation.HAPAIR]["routes"]
    assert (
        logs[Implementation.HAPAIR]
        == logs[Implementation.KEEPALIVED]
        == [
            "ip rule from 10.45.0.0/16 removed",
            "Removing route 10.41.0.0/16",
            "ip address 10.47.0.1/16 dev eth2, no longer exist",
            "ip rule from 10.53.0.0/16 removed",
            "Removing route 10.51.0.0/16",
        ]
    )
