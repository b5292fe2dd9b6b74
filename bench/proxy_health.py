"""Proxy faults and the VIP: the longest gap a client probing the VIP every 20 ms sees when node 1's
proxy is killed, hung, or cut from the backends, for the seed's three ways of running a node, in one run
on `hapair lab`'s namespaces (the seed's files, the seed's timers):

    keepalived+nginx   keepalived 2.2.7 + check_nginx.sh (pidof nginx every 3 s) + nginx 1.22 on both nodes
    hapair script      hapair vrrp + the same check_nginx.sh + hapair proxy (`hapair lab up --health script`)
    hapair native      hapair node on both nodes (`hapair lab up --health native`)

    sudo .venv/bin/python bench/proxy_health.py [--faults proxy-kill,proxy-hang,backends] [--give-up 15]

The faults are `hapair lab fail 1 --how ...`'s: proxy-kill (SIGKILL of the master and its workers),
proxy-hang (SIGSTOP of them), backends (an unreachable route to the backend on node 1). A run starts with
node 1 holding the VIP and answering, injects the fault, and ends once node 2 answers through the VIP or
after --give-up seconds (a fault the node never notices: the VIP stays on a node that does not serve).
The gap is the longest time between two answered requests (by send time) from the fault on. The fault is
then healed (`hapair lab heal 1`) and the bench waits for node 1 to hold the VIP again. The client is
tests/system/vip_prober.py in the lab's client namespace (this script puts the repository root on
sys.path for it). Every lab is removed at the end, also after Ctrl-C."""

from __future__ import annotations

import argparse
import datetime
import itertools
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
os.environ["PYTHONPATH"] = str(REPO / "src")  # the lab's daemons run this tree's hapair too

from hapair.lab import faults, lab, network  # noqa: E402
from hapair.lab.layout import HTTP_PORT, VIP, node_role  # noqa: E402
from hapair.lab.state import LabState  # noqa: E402

PROBER = REPO / "tests" / "system" / "vip_prober.py"
INTERVAL_S = 0.02
REQUEST_TIMEOUT_S = 1.0
READY_TIMEOUT_S = 60.0
SETUPS = {
    "keepalived+nginx": lab.LabOptions(
        name="bench-k", keepalived_nodes=frozenset({1, 2}), nginx_nodes=frozenset({1, 2})
    ),
    "hapair script": lab.LabOptions(name="bench-s"),
    "hapair native": lab.LabOptions(name="bench-n", health="native"),
}
FAULTS = ("proxy-kill", "proxy-hang", "backends")


@dataclass(frozen=True)
class Request:
    sent: float
    ok: bool


class Prober:
    def __init__(self, state: LabState, log: Path) -> None:
        self.log = log
        namespace = state.layout.namespace("client")
        command = ["ip", "netns", "exec", namespace, sys.executable, str(PROBER), VIP, str(HTTP_PORT)]
        with open(log, "wb") as output:
            self.process = subprocess.Popen(
                [*command, str(INTERVAL_S), str(REQUEST_TIMEOUT_S)], stdout=output, stderr=subprocess.STDOUT
            )

    def requests(self) -> list[Request]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            words = line.split()
            if len(words) >= 3 and words[2] in ("ok", "fail"):
                found.append(Request(float(words[0]), words[2] == "ok"))
        return sorted(found, key=lambda r: r.sent)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def holder(state: LabState) -> int | None:
    for number in (1, 2):
        if VIP in network.addresses(state.layout.namespace(node_role(number))):
            return number
    return None


def wait(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def answered_since(prober: Prober, since: float) -> bool:
    return any(r.ok and r.sent > since for r in prober.requests())


def longest_gap(requests: list[Request], start: float, end: float) -> float:
    times = [start, *(r.sent for r in requests if r.ok and start < r.sent < end), end]
    return max(b - a for a, b in itertools.pairwise(times))


def measure(state: LabState, prober: Prober, fault: str, give_up: float) -> tuple[float, bool]:
    """(the longest gap, whether node 2 took the VIP) for one injection of `fault` on node 1."""
    if not wait(
        lambda: holder(state) == 1 and answered_since(prober, time.monotonic() - 0.5), READY_TIMEOUT_S
    ):
        raise RuntimeError("node 1 does not hold and serve the VIP")
    time.sleep(1.0)
    start = time.monotonic()
    faults.fail(state, 1, fault)
    moved = wait(lambda: holder(state) == 2, give_up)
    if moved:
        moved_at = time.monotonic()
        wait(lambda: answered_since(prober, moved_at), 10)
    end = time.monotonic()
    time.sleep(REQUEST_TIMEOUT_S + 0.2)  # the requests sent before `end` have ended
    gap = longest_gap(prober.requests(), start, end)
    faults.heal(LabState.load(state.layout), 1)
    return gap, moved


def run(setups: list[str], fault_names: list[str], give_up: float, logs: Path) -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for name in setups:
        options = SETUPS[name]
        lab.down(options.name)
        state = lab.up(options, lambda line: None)
        prober: Prober | None = None
        try:
            if not wait(lambda: holder(state) == 1, READY_TIMEOUT_S):  # noqa: B023 (called at once)
                raise RuntimeError("node 1 did not take the VIP")
            prober = Prober(state, logs / f"{options.name}-prober.log")
            row = table.setdefault(name, {})
            for fault in fault_names:
                gap, moved = measure(LabState.load(state.layout), prober, fault, give_up)
                row[fault] = f"{gap:.2f} s" if moved else f"> {give_up:g} s (VIP stayed)"
                print(f"{name:18} {fault:12} {row[fault]}", flush=True)
        finally:
            if prober is not None:
                prober.stop()
            lab.down(options.name)
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--setups", default=",".join(SETUPS))
    parser.add_argument("--give-up", type=float, default=15.0)
    parser.add_argument("--logs", default="/tmp/hapair-proxy-health")
    args = parser.parse_args()
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    fault_names = args.faults.split(",")
    table = run(args.setups.split(","), fault_names, args.give_up, logs)
    print("\n" + "\n".join(table_lines(table, fault_names)))
    return 0


def table_lines(table: dict[str, dict[str, str]], names: list[str]) -> list[str]:
    today = datetime.date.today()
    return [
        f"{today}: proxy faults, the longest gap seen by a client probing the VIP every 20 ms",
        "| setup | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
        *(f"| {name} | " + " | ".join(row.get(f, "-") for f in names) + " |" for name, row in table.items()),
    ]


if __name__ == "__main__":
    sys.exit(main())
