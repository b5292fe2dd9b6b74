"""N active nodes behind one VIP over BGP (issue 17): throughput with 1, 2 and 3 nodes, and what a client
sees when a node fails, in one run of the BGP lab with each kind of health.

    sudo .venv/bin/python bench/bgp.py [--workers 8] [--seconds 5] [--drains 5] [--name bgpbench]
                                       [--node-cpu 0.2] [--connections 32] [--no-resilient]

`hapair lab up --bgp --nodes 3` (a BIRD router with ECMP on the 5-tuple's hash, BFD at 100 ms x 3, hold
time 3 s, each flow pinned to the node it started on).
- Scaling, in a lab of its own built with `--node-cpu` (each node's processes capped at that many CPUs, as
  nodes of that size would be; uncapped, they would all share this machine's 2 cores and a node more would
  add nothing), hapair proxy + hapair bgp on each node: requests per second through the VIP over
  `--seconds` with 3 nodes, then node 3 drained (2), then node 2 (1), from wrk (`--connections`, each
  request on a connection of its own, so each is a new flow for the router's hash), and the CPU each node
  used meanwhile as a share of its cap (a node at its cap is what limits the rate).
Then first with hapair proxy + hapair bgp on each node (its own probes every 100 ms, rise 3, fall 2), then
with `--health native` (hapair node --bgp: the node's trackers, health exchange every 100 ms, fall 3;
backends every 300 ms, fall 3), uncapped, with the lab's client (lab/load.py: `--workers` concurrent
clients, a new connection per request, each answer's node read from the test page):
- faults on node 1, each under load: 2 s steady, the fault, 3 s more, then healed and all three next-hops
  back: the time from the fault to the router's route without node 1 (polled every 5 ms), the longest
  time the client got no answer at all, and the share of its requests that failed in the 5 s. The proxy
  killed (SIGKILL of master and workers; hapair node restarts it itself), hung (SIGSTOP; hapair bgp's
  probes cannot see it, so only with native health), its backends unreachable, its link cut, a drain;
- `--drains` more drains, flows pinned (the lab's router);
- (second lab) `--drains` drains without the router's flow pinning (its nftables table deleted), and
  where their failed requests come from: for each, the next-hop the router's hash gave its flow (`ip
  route get ... sport PORT`, every client port asked just before the drain, the failed ones again while
  node 1 is withdrawn): node 1's flows in flight at the route change, and other nodes' flows that the
  change moved to another node (hash-threshold moves the boundaries of every next-hop's share);
- (unless --no-resilient) the same unpinned drains with the router's route through a Linux resilient
  nexthop group (nexthop objects, which BIRD 2.0 does not program): BIRD exports the merged route into a
  table of its own, and the bench mirrors its next-hops into the group (`ip nexthop replace`), the main
  table's route pointing at it (`--drains` drains again).
A run during which one of the router's BGP sessions with nodes 2 and 3 went down (BFD expiring on a loaded
machine, which resets flows whatever the fault) says so on its row.
Needs root, BIRD (bird2), unshare and nsenter. The labs are removed at the end, also after Ctrl-C."""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/, for harness
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import harness
from pyroute2 import IPRoute

from hapair.lab import bgp, cpu, faults, lab, load, network
from hapair.lab.processes import signals_ignored
from hapair.lab.state import LabState
from proxy import WrkResult, parse_wrk

STEADY_S = 2.0
AFTER_S = 3.0
HOPS_TIMEOUT_S = 30.0
POLL_S = 0.005
MIRROR_TABLE = 100
FLAPPED = "a router's BGP session with another node went down meanwhile"
GROUP_ID = 100
BUCKETS = 64
HEALTH = {"script": "hapair proxy + hapair bgp", "native": "hapair node --bgp (native health)"}
FAULTS = {
    "proxy-kill": "proxy killed (SIGKILL)",
    "proxy-hang": "proxy hung (SIGSTOP)",
    "backends": "backends unreachable",
    "link": "link cut (BFD)",
    "drain": "graceful drain",
}


Hops = Callable[[LabState], list[str]]


def route_hops(state: LabState) -> list[str]:
    return network.nexthops(state.layout.namespace("router"), bgp.VIP)


def wait_hops(state: LabState, count: int, hops: Hops = route_hops) -> None:
    deadline = time.monotonic() + HOPS_TIMEOUT_S
    while len(hops(state)) != count:
        if time.monotonic() > deadline:
            raise SystemExit(f"the router did not get {count} next-hops in {HOPS_TIMEOUT_S} s: {hops(state)}")
        time.sleep(0.05)


def node_cpu_s(state: LabState, number: int) -> float:
    """The CPU time the processes of node `number`'s CPU group have used so far (lab/cpu.py)."""
    groups = cpu.hierarchy()
    assert groups is not None, "the scaling lab runs with --node-cpu"
    procs = groups[0] / state.node_cgroup(number) / "cgroup.procs"
    return sum(harness.cpu_time_s(int(pid)) or 0.0 for pid in procs.read_text().split())


def wrk_through_the_vip(state: LabState, connections: int, seconds: float) -> WrkResult:
    """wrk from the client, every request on a connection of its own (each a new flow for the router's
    hash), for `seconds`."""
    command = ["ip", "netns", "exec", state.layout.namespace("client"), "wrk", "-t2", f"-c{connections}"]
    command += [f"-d{seconds:g}s", "--latency", "-H", "Connection: close", f"http://{bgp.VIP}:8080/test.php"]
    ran = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return parse_wrk(ran.stdout)


@dataclass
class ScalingRow:
    nodes: int
    result: WrkResult
    shares: list[float]  # each node's CPU over the run, as a share of its cap
    withdrawn: bool  # a node left the router's route meanwhile

    def line(self) -> str:
        shares = ", ".join(f"{share:.0%}" for share in self.shares)
        notes = [n for n in (self.result.problems, "a node was withdrawn meanwhile" * self.withdrawn) if n]
        rate, p99 = self.result.requests_per_second, self.result.p99_ms
        return f"| {self.nodes} | {rate:.0f} | {p99:.1f} | {shares} | {'; '.join(notes) or '-'} |"


def scaling_row(state: LabState, count: int, connections: int, seconds: float) -> ScalingRow:
    before = {n: node_cpu_s(state, n) for n in state.nodes}
    result = wrk_through_the_vip(state, connections, seconds)
    cap = (state.node_cpu or 1.0) * seconds
    shares = [(node_cpu_s(state, n) - before[n]) / cap for n in sorted(state.nodes)]
    return ScalingRow(count, result, shares, len(route_hops(state)) != count)


def scaling_table(name: str, connections: int, seconds: float, node_cpu: float) -> None:
    """Requests per second through the VIP with 3 nodes, then node 3 drained (2), then node 2 (1)."""
    state = bgp.up(name, 3, 7, lambda line: None, node_cpu=node_cpu)
    try:
        wait_hops(state, 3)
        time.sleep(1.0)
        print(f"\nscaling: each node capped at {node_cpu:g} CPU (hapair proxy + hapair bgp + BIRD), wrk")
        print(f"-c{connections} with a connection per request:\n")
        print("| nodes | requests/s | p99 ms | each node's CPU, share of its cap | |")
        print("|---|---|---|---|---|")
        print(scaling_row(state, 3, connections, seconds).line(), flush=True)
        for node, left in ((3, 2), (2, 1)):
            faults.fail(state, node, "drain")
            wait_hops(state, left)
            print(scaling_row(state, left, connections, seconds).line(), flush=True)
    finally:
        with signals_ignored():
            lab.down_state(state)


def next_hops_of(state: LabState, ports: list[int]) -> dict[int, str]:
    """The next-hop the router's hash gives each client port's flow to VIP:8080, as routed now (the
    error, for a flow the router has no route for)."""
    if not ports:
        return {}
    commands = "".join(
        f"route get {bgp.VIP} from {bgp.CLIENT} iif client ipproto tcp sport {port} dport 8080\n"
        for port in ports
    )
    result = subprocess.run(
        ["ip", "-n", state.layout.namespace("router"), "-batch", "-"],
        input=commands,
        capture_output=True,
        text=True,
        check=False,
    )
    found = [line.split(" via ")[1].split()[0] for line in result.stdout.splitlines() if " via " in line]
    if result.returncode == 0:
        return dict(zip(ports, found, strict=True))
    if len(ports) == 1:
        return {ports[0]: result.stderr.strip().splitlines()[-1]}
    return {port: hop for p in ports for port, hop in next_hops_of(state, [p]).items()}


def other_sessions(state: LabState) -> dict[str, str]:
    """The router's BGP sessions with nodes 2 and 3: since when each is in its state (`birdc show
    protocols`). One that changes during a run went down for a reason of its own: BFD at 100 ms x 3
    expiring when the loaded machine leaves BIRD without a CPU for 300 ms (docs/bgp.md), which resets the
    flows of every node it hits; such a run's row says so."""
    control = state.directory / "router" / "bird.ctl"
    shown = subprocess.run(
        ["birdc", "-s", str(control), "show", "protocols"], capture_output=True, text=True, check=True
    ).stdout
    rows = [line.split() for line in shown.splitlines()]
    return {words[0]: words[4] for words in rows if words[1:2] == ["BGP"] and words[0] != "node1"}


def client_ports(state: LabState) -> list[int]:
    low, high = network.run_in(
        state.layout.namespace("client"),
        lambda: Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split(),
    )
    return list(range(int(low), int(high) + 1))


class FaultRun:
    """One fault on node 1 under load, and for the drain, the failed flows' next-hops with two nodes."""

    def __init__(self, state: LabState, workers: int, how: str, hops: Hops = route_hops) -> None:
        self.state = state
        self.workers = workers
        self.how = how
        self.hops = hops
        self.withdrawn_after = 0.0
        self.flapped = False  # a router's session with another node went down during the run
        self.summary: load.Summary | None = None
        self.failed: dict[int, str] = {}  # the failed requests' client ports and errors
        self.before: dict[int, str] = {}  # every client port's next-hop just before the drain
        self.during: dict[int, str] = {}  # the failed flows' next-hops while node 1 is withdrawn

    def run(self) -> None:
        state = self.state
        address = bgp.node_address(1)
        sessions = other_sessions(state)
        client = load.Background(state.layout.namespace("client"), bgp.VIP, 8080, self.workers).start()
        time.sleep(STEADY_S)
        if self.how == "drain":
            self.before = next_hops_of(state, client_ports(state))
        injecting = threading.Thread(target=lambda: faults.fail(state, 1, self.how))  # a drain waits
        started = time.monotonic()
        injecting.start()
        while address in self.hops(state):
            time.sleep(POLL_S)
        self.withdrawn_after = time.monotonic() - started
        injecting.join()
        time.sleep(max(0.0, AFTER_S - (time.monotonic() - started)))
        outcomes = client.finish()
        self.flapped = other_sessions(state) != sessions
        self.summary = load.summarize(outcomes)
        self.failed = {o.port: o.error for o in outcomes if o.error is not None and o.port is not None}
        if self.how == "drain":
            self.during = next_hops_of(state, list(self.failed))
        faults.heal(state, 1)
        wait_hops(state, 3, self.hops)
        time.sleep(1.0)

    def row(self, title: str) -> str:
        s = self.summary
        assert s is not None
        flapped = f" ({FLAPPED})" if self.flapped else ""
        return (
            f"| {title} | {self.withdrawn_after * 1000:.0f} ms | {s.longest_gap * 1000:.0f} ms | "
            f"{s.failed} of {s.requests} ({100 * s.failed_share:.2f} %){flapped} |"
        )

    def drain_losses(self) -> Counter[str]:
        """Where the drain's failed requests were: by the next-hop of their flow with three nodes (just
        before the drain) and with two (during it), and their error."""
        assert self.summary is not None
        node1 = bgp.node_address(1)
        kinds: Counter[str] = Counter(
            f"{_loss_kind(self.before[port], now, node1)} ({self.failed[port]})"
            for port, now in self.during.items()
        )
        unknown = self.summary.failed - len(self.during)
        if unknown:
            kinds["without a connection"] += unknown
        return kinds


def _loss_kind(before: str, during: str, node1: str) -> str:
    if " " in during:
        return f"no route during the drain: {during}"
    if before == node1:
        return "node 1's flows in flight"
    return "other nodes' flows moved" if before != during else "other nodes' flows not moved"


def drain_series(state: LabState, workers: int, count: int, hops: Hops = route_hops, *, pinned: bool) -> None:
    """`count` drains of node 1 under load; their rows and where their failed requests were (by the main
    table's hash: for `pinned` flows, only their errors, as the hash is not their route)."""
    runs = []
    for _ in range(count):
        run = FaultRun(state, workers, "drain", hops)
        run.run()
        print(run.row("graceful drain"), flush=True)
        runs.append(run)
    if pinned:
        losses = Counter(error for run in runs for error in run.failed.values())
    else:
        losses = sum((run.drain_losses() for run in runs), Counter())
    failed = sum(run.summary.failed for run in runs if run.summary is not None)
    requests = sum(run.summary.requests for run in runs if run.summary is not None)
    where = ", ".join(f"{n} {kind}" for kind, n in sorted(losses.items())) or "none"
    flapped = sum(run.flapped for run in runs)
    also = f"; {flapped} of the runs: {FLAPPED}" if flapped else ""
    print(f"\n{count} drains: {failed} of {requests} requests failed: {where}{also}", flush=True)


def unpin(state: LabState) -> None:
    """The router without its flow pinning (lab/bgp.py): every packet follows the ECMP route's hash."""
    router = state.layout.namespace("router")
    subprocess.run(
        ["nsenter", f"--net=/run/netns/{router}", "nft", "delete", "table", "ip", "hapair_pinning"],
        check=True,
    )


TABLE_HEAD = (
    "| node 1's fault | withdrawn at the router after | longest gap | failed requests |\n|---|---|---|---|"
)


def fault_table(state: LabState, workers: int, native: bool) -> None:
    print(f"\n{TABLE_HEAD}")
    for how, title in FAULTS.items():
        if how == "proxy-hang" and not native:
            print(f"| {title} | not seen by hapair bgp's probes (refused by the lab) | | |", flush=True)
            continue
        run = FaultRun(state, workers, how)
        run.run()
        print(run.row(title), flush=True)


class Mirror:
    """The router's VIP route through a resilient nexthop group: BIRD exports to table MIRROR_TABLE, this
    thread copies the route's next-hops into the group every POLL_S."""

    def __init__(self, state: LabState) -> None:
        self.state = state
        self.namespace = state.layout.namespace("router")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="mirror", daemon=True)
        self.members: list[str] = []

    def ip(self, *args: str) -> None:
        subprocess.run(["ip", "-n", self.namespace, *args], check=True, capture_output=True, text=True)

    def start(self) -> None:
        conf = self.state.directory / "router" / "bird.conf"
        text = conf.read_text()
        conf.write_text(
            text.replace("protocol kernel {", f"protocol kernel {{\n    kernel table {MIRROR_TABLE};")
        )
        control = str(self.state.directory / "router" / "bird.ctl")
        subprocess.run(["birdc", "-s", control, "configure"], check=True, capture_output=True)
        for number in self.state.nodes:
            self.ip(
                "nexthop", "replace", "id", str(number), "via", bgp.node_address(number), "dev", "enp1s0f0"
            )
        self._sync()
        self.thread.start()

    def _table_hops(self) -> list[str]:
        with IPRoute(netns=self.namespace) as ipr:
            routes = ipr.get_routes(family=2, table=MIRROR_TABLE)
        found = []
        for route in routes:
            if route.get("dst") == bgp.VIP:
                found += [h.get_attr("RTA_GATEWAY") for h in route.get("RTA_MULTIPATH") or []]
                if route.get("RTA_GATEWAY"):
                    found.append(route.get("RTA_GATEWAY"))
        return sorted(found)

    def _sync(self) -> None:
        members = self._table_hops()
        if members == self.members or not members:
            return
        ids = "/".join(str(int(a.rsplit(".", 1)[1]) - 10) for a in members)
        self.ip("nexthop", "replace", "id", str(GROUP_ID), "group", ids, "type", "resilient", "buckets",
                str(BUCKETS), "idle_timer", "1", "unbalanced_timer", "3")  # fmt: skip
        if not self.members:
            self.ip("route", "replace", f"{bgp.VIP}/32", "nhid", str(GROUP_ID))
        self.members = members

    def _run(self) -> None:
        while not self.stop.is_set():
            self._sync()
            time.sleep(POLL_S)


def group_hops(state: LabState) -> list[str]:
    """The resilient group's members that hold buckets (the route's next-hops as the bench sees them)."""
    result = subprocess.run(
        ["ip", "-n", state.layout.namespace("router"), "nexthop", "bucket", "list", "id", str(GROUP_ID)],
        capture_output=True,
        text=True,
        check=True,
    )
    ids = {int(line.split(" nhid ")[1].split()[0]) for line in result.stdout.splitlines() if " nhid " in line}
    return sorted(bgp.node_address(n) for n in ids)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--name", default="bgpbench")
    parser.add_argument("--drains", type=int, default=5, help="drains measured for where their losses are")
    parser.add_argument("--node-cpu", type=float, default=0.2, help="each node's CPUs for the scaling")
    parser.add_argument("--connections", type=int, default=32, help="wrk's connections for the scaling")
    parser.add_argument("--no-resilient", action="store_true")
    args = parser.parse_args()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"\n{stamp}, {args.workers} clients, a new connection per request")
    scaling_table(f"{args.name}c", args.connections, args.seconds, args.node_cpu)
    for health in ("script", "native"):
        state = bgp.up(f"{args.name}{health[0]}", 3, 7, lambda line: None, health=health)
        try:
            wait_hops(state, 3)
            time.sleep(1.0)
            print(f"\n{HEALTH[health]}:")
            fault_table(state, args.workers, health == "native")
            print(f"\nmore drains ({HEALTH[health]}, flows pinned at the router):\n\n{TABLE_HEAD}")
            drain_series(state, args.workers, args.drains, pinned=True)
            if health == "native":
                unpin(state)
                print(f"\nwithout the router's flow pinning (hash-threshold ECMP only):\n\n{TABLE_HEAD}")
                drain_series(state, args.workers, args.drains, pinned=False)
                if not args.no_resilient:
                    resilient(state, args.workers, args.drains)
        finally:
            with signals_ignored():
                lab.down_state(state)
    return 0


def resilient(state: LabState, workers: int, drains: int) -> None:
    mirror = Mirror(state)
    mirror.start()
    try:
        wait_hops(state, 3, group_hops)
        time.sleep(2.0)
        title = f"with a resilient nexthop group ({BUCKETS} buckets) at the router, no flow pinning"
        print(f"\n{title}:\n\n{TABLE_HEAD}")
        drain_series(state, workers, drains, group_hops, pinned=False)
    finally:
        mirror.stop.set()
        mirror.thread.join()


if __name__ == "__main__":
    sys.exit(main())
