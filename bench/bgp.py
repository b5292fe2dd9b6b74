"""N active nodes behind one VIP over BGP (issue 17): throughput with 1, 2 and 3 nodes, and what a client
sees when a node's proxy is killed, its link is cut, or it is drained; in one run of the BGP lab.

    sudo .venv/bin/python bench/bgp.py [--workers 8] [--seconds 5] [--name bgpbench]

`hapair lab up --bgp --nodes 3` (a BIRD router with ECMP, L4 hash, BFD at 100 ms x 3, hold time 3 s;
three nodes with hapair proxy on the seed's L7 file, BIRD and hapair bgp at 100 ms probes, rise 3, fall
2), then, with the lab's client (lab/load.py: `--workers` concurrent clients, a new connection per
request, so every request is a new flow for the router's hash):
- scaling: requests per second over `--seconds` with 3 nodes, then node 3 drained (2), then node 2 (1);
- faults on node 1, each under load: 2 s steady, the fault, 3 s more, then healed (proxy restarted, cable
  plugged, undrained) and all three next-hops back: the time from the fault to the router's route
  without node 1 (polled every 5 ms), the longest time the client got no answer at all, and the share of
  its requests that failed in the 5 s.
Needs root, BIRD (bird2), unshare and nsenter. The lab is removed at the end, also after Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from hapair.lab import bgp, faults, lab, load, network
from hapair.lab.nodes import Node
from hapair.lab.processes import signals_ignored
from hapair.lab.state import LabState

STEADY_S = 2.0
AFTER_S = 3.0
HOPS_TIMEOUT_S = 30.0
POLL_S = 0.005


def hops(state: LabState) -> list[str]:
    return network.nexthops(state.layout.namespace("router"), bgp.VIP)


def wait_hops(state: LabState, count: int) -> None:
    deadline = time.monotonic() + HOPS_TIMEOUT_S
    while len(hops(state)) != count:
        if time.monotonic() > deadline:
            raise SystemExit(f"the router did not get {count} next-hops in {HOPS_TIMEOUT_S} s: {hops(state)}")
        time.sleep(0.05)


def measure(state: LabState, workers: int, seconds: float) -> load.Summary:
    client = load.Background(state.layout.namespace("client"), bgp.VIP, 8080, workers).start()
    time.sleep(seconds)
    return load.summarize(client.finish())


def scaling(state: LabState, workers: int, seconds: float) -> list[tuple[int, load.Summary]]:
    rows = [(3, measure(state, workers, seconds))]
    for node, left in ((3, 2), (2, 1)):
        faults.fail(state, node, "drain")
        wait_hops(state, left)
        rows.append((left, measure(state, workers, seconds)))
    for node in (2, 3):
        faults.heal(state, node)
    wait_hops(state, 3)
    return rows


def fault_run(state: LabState, workers: int, inject: Callable[[], None]) -> tuple[float, load.Summary]:
    """(seconds from the fault to the router's route without node 1, what the client saw)."""
    address = bgp.node_address(1)
    client = load.Background(state.layout.namespace("client"), bgp.VIP, 8080, workers).start()
    time.sleep(STEADY_S)
    injecting = threading.Thread(target=inject)  # a drain returns once the proxy has stopped
    started = time.monotonic()
    injecting.start()
    while address in hops(state):
        time.sleep(POLL_S)
    withdrawn = time.monotonic() - started
    injecting.join()
    time.sleep(max(0.0, AFTER_S - (time.monotonic() - started)))
    summary = load.summarize(client.finish())
    faults.heal(state, 1)
    wait_hops(state, 3)
    time.sleep(1.0)
    return withdrawn, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--name", default="bgpbench")
    args = parser.parse_args()
    state = bgp.up(args.name, 3, 7, print)
    try:
        wait_hops(state, 3)
        time.sleep(1.0)
        print(f"\n{time.strftime('%Y-%m-%d')}, {args.workers} clients, a new connection per request\n")
        print("| nodes | requests/s | answered by node |")
        print("|---|---|---|")
        for count, summary in scaling(state, args.workers, args.seconds):
            shares = ", ".join(f"{a}: {n}" for a, n in sorted(summary.by_node.items()))
            print(f"| {count} | {summary.per_second:.0f} | {shares} |", flush=True)
        injections: dict[str, Callable[[], None]] = {
            "proxy killed (SIGKILL)": lambda: Node(state, 1).kill_proxy(),
            "link cut (BFD)": lambda: faults.fail(state, 1, "link"),
            "graceful drain": lambda: faults.fail(state, 1, "drain"),
        }
        print("\n| node 1's fault | withdrawn at the router after | longest gap | failed requests |")
        print("|---|---|---|---|")
        for title, inject in injections.items():
            withdrawn, s = fault_run(state, args.workers, inject)
            print(
                f"| {title} | {withdrawn * 1000:.0f} ms | {s.longest_gap * 1000:.0f} ms | "
                f"{s.failed} of {s.requests} ({100 * s.failed_share:.2f} %) |",
                flush=True,
            )
    finally:
        with signals_ignored():
            lab.down_state(state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
