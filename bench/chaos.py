"""Chaos: hapair beside keepalived under the faults that trouble a VRRP pair, in one run on network
namespaces, printing one table.

    sudo .venv/bin/python bench/chaos.py [--loss-seconds 40] [--reloads 50] [--restarts 20] [--heals 20]
                                         [--hog-seconds 20] [--phases loss,reloads,restarts,heals,hogs]
                                         [--seed 1] [--logs DIR]

Four pairs run side by side, each on its own LAN of tests/topology.py (a bridge, the two nodes, a client),
named winner/loser: keepalived/keepalived, hapair/hapair, hapair/keepalived (hapair wins) and
keepalived/hapair (hapair loses). The winner has priority 250 at 10.101.1.11, the loser 100 at
10.101.1.12, one instance holding 10.101.1.10 as tests/system/mixed.py writes it, under the seed's
`global_defs { max_auto_priority }`; VRRPv2 with PASS and a 1 s advert interval unless said otherwise.
Every phase starts the pairs afresh and waits until the winner is master and the loser backup. The
client hears every advert (tests/system/vrrp_sniffer.py). The client's sniffer and probe and the relays
run at SCHED_FIFO 90: they spend microseconds per packet, and what they see, and when, is then the
daemons' doing rather than their own lag on a busy machine or under the hogs. This script puts the
repository root on sys.path to import `tests`; it needs root, iproute2, unshare, ping and keepalived.

The phases, each on the four pairs at once:

    loss      The winner's adverts reach the loser through bench/lossy_relay.py, which loses each advert
              interval with probability 10, 30 and 50 % (the bridge drops VRRP to the loser, the relay
              sends what it keeps past that: this kernel has no netem), for --loss-seconds each, with
              VRRPv2 timers (1 s) and VRRPv3 timers (0.1 s). A loser that misses three adverts in a row
              takes over (its master-down interval is three adverts and its skew), so the expected number
              of spurious take-overs is N(1-p)p^3 for N intervals. The relay's draws are seeded, the n-th
              interval is lost alike in every pair, and each cell compares the take-overs with the
              silences the loser actually had: the gaps between the adverts the relay let through that
              were longer than its master-down interval.
    reloads   --reloads SIGHUPs to both nodes, 0.4 s apart, while the client sends an ARP request for
              the VIP every 10 ms (bench/arp_probe.py): state changes, the longest time without an answer
              from the winner, answers from the loser.
    restarts  The loser stopped (SIGTERM) and started again --restarts times, each run left 4 s, longer
              than its master-down interval: the same counts.
    heals     --heals split brains: VRRP dropped between the nodes for 5 s (ARP still passes), both become
              master, then VRRP passes again at a random point of the advert interval (the same points for
              every pair). The client pings the VIP every 0.2 s, which keeps its neighbour entry in use;
              3 s after the heal, is that entry the winner's MAC? A wrong entry is deleted before the next
              heal. Beside it, in how many heals the winner's advert crossed first (the case where neither
              keepalived nor an earlier hapair re-announced the VIP), and in how many the client's entry
              named the loser during the split (the heal had something to undo).
    hogs      bench/rt_hog.py on every CPU (SCHED_RR priority 1, spinning, --hog-seconds): every other
              process runs only in what real-time throttling leaves (50 ms a second), until
              max_auto_priority makes the daemons real-time too (at priority 1 they take turns with the
              hogs, above it they come first). State changes, the longest gap between the winner's
              adverts at the client, the highest `Set realtime priority` of each node, and whether both
              daemons are still running ("DIED" otherwise). Twice: with the seed's settings, under which
              a timer counts as late after 1 s (min_auto_priority_delay) and the throttled daemons'
              timers, at most 0.95 s late, never do; then with min_auto_priority_delay 0.2 s, so that
              max_auto_priority acts.

Everything runs in namespaces and a temporary directory (--logs keeps the daemons', the relays', the
probes' and sniffers' logs), all removed at the end, also after Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import failover  # noqa: E402  (bench/, the script's own directory: the ARP probe's reader, the machine)
import harness  # noqa: E402
from tests.system.mixed import (  # noqa: E402
    BACKUP,
    CLIENT_ADDRESS,
    HIGH_ADDRESS,
    HIGH_PRIORITY,
    INIT,
    LOW_ADDRESS,
    LOW_PRIORITY,
    MASTER,
    VIP,
    Implementation,
    Node,
    Protocol,
    Sniffer,
    allow_vrrp,
    block_vrrp,
    keepalived_conf,
)
from tests.topology import Daemon, Host, Lan, wait_until  # noqa: E402

HERE = Path(__file__).resolve().parent
RELAY = HERE / "lossy_relay.py"
HOG = HERE / "rt_hog.py"
V2 = Protocol(version=2, advert_int=1.0, password="chaos-pw")
V3 = Protocol(version=3, advert_int=0.1)
GLOBAL_DEFS = "global_defs {\n    max_auto_priority\n}\n"  # the seed's
# the same, with a late timer counted from 0.2 s rather than 1 s: real-time throttling leaves a process
# that real-time hogs hold off at most 0.95 s late, which the seed's setting never counts
EAGER_DEFS = "global_defs {\n    max_auto_priority\n    min_auto_priority_delay 200000\n}\n"
HOG_RUNS = {"hogs": GLOBAL_DEFS, "hogs-eager": EAGER_DEFS}
PAIRS = (
    (Implementation.KEEPALIVED, Implementation.KEEPALIVED),
    (Implementation.HAPAIR, Implementation.HAPAIR),
    (Implementation.HAPAIR, Implementation.KEEPALIVED),
    (Implementation.KEEPALIVED, Implementation.HAPAIR),
)
PHASES = ("loss", "reloads", "restarts", "heals", "hogs")
LOSS_RATES = (0.1, 0.3, 0.5)
PROBE_INTERVAL_S = 0.01
RELOAD_SPACING_S = 0.4
AFTER_S = 2.0  # a phase's window runs on this long after its last fault
RESTART_RUN_S = 4.0  # longer than the loser's master-down interval (3 s + 0.61 s)
SPLIT_S = 5.0
HEAL_CHECK_S = 3.0
HOG_PRIORITY = 1
WITNESS_PRIORITY = 90  # SCHED_FIFO for the sniffer, the probe and the relay (see `witness`)
STEADY_TIMEOUT_S = 30.0
STARTUP_TIMEOUT_S = 30.0
REALTIME_SET = re.compile(r"Set realtime priority (\d+)")
ABORT = threading.Event()  # set on Ctrl-C or SIGTERM: every pair's phase ends at its next pause


class AbortedError(Exception):
    pass


def pause(seconds: float) -> None:
    if ABORT.wait(max(0.0, seconds)):
        raise AbortedError


@dataclass
class Pair:
    """One LAN: the winner, the loser and the client, with what runs there."""

    lan: Lan
    winner: Node
    loser: Node
    client: Host
    sniffer: Sniffer

    @property
    def label(self) -> str:
        return f"{self.winner.implementation.value}/{self.loser.implementation.value}"

    @property
    def nodes(self) -> tuple[Node, Node]:
        return self.winner, self.loser

    def start(self, protocol: Protocol, global_defs: str = GLOBAL_DEFS) -> None:
        """Start both daemons (hapair first, as it is slower to start) and wait until the pair is steady."""
        for node in sorted(self.nodes, key=lambda n: n.implementation is not Implementation.HAPAIR):
            node.config = global_defs + keepalived_conf(protocol, node.priority)
            node.start()
            node.wait_for(INIT, STARTUP_TIMEOUT_S)
        self.wait_steady()

    def stop(self) -> None:
        for node in (self.loser, self.winner):
            if node.runs:
                node.daemon.stop()

    def wait_steady(self) -> None:
        """Until the winner's log is in MASTER, the loser's in BACKUP, and the VIP is on the winner only."""

        def steady() -> bool:
            states = (failover.last_state(self.winner.daemon), failover.last_state(self.loser.daemon))
            return (
                states == ("MASTER", "BACKUP")
                and VIP in self.winner.host.addresses()
                and VIP not in self.loser.host.addresses()
            )

        wait_until(steady, STEADY_TIMEOUT_S, f"{self.label} to be steady", 0.05)

    def marks(self) -> tuple[int, int]:
        return len(self.winner.lines()), len(self.loser.lines())

    def state_changes(self, marks: tuple[int, int]) -> int:
        """Times since `marks` the loser became master or the winner stopped being master."""
        winner, loser = marks
        left = sum(line.startswith(BACKUP) for line in self.winner.lines()[winner:])
        return left + self.loser.lines()[loser:].count(MASTER)

    def probe(self) -> failover.Probe:
        prober = self.client.start(
            [sys.executable, str(failover.PROBER), "eth0", CLIENT_ADDRESS, VIP, str(PROBE_INTERVAL_S)],
            log_name=f"probe-{len(self.lan.daemons)}.log",
        )
        witness(prober.process.pid)
        probe = failover.Probe(prober)
        mac = self.winner.host.mac()

        def answered() -> bool:
            probe.poll()
            return probe.first_answer(mac, 0.0) is not None

        wait_until(answered, 10, f"{self.label}'s winner to answer the probe")
        return probe


@dataclass(frozen=True)
class Loss:
    adverts: int
    silences: int  # gaps between the adverts let through longer than the loser's master-down interval
    takeovers: int


@dataclass(frozen=True)
class Disruption:
    state_changes: int
    longest_gap_s: float
    loser_answers: int


@dataclass(frozen=True)
class Heals:
    right: int
    winner_first: int
    on_loser: int


@dataclass(frozen=True)
class Hogged:
    state_changes: int
    longest_gap_s: float
    priorities: tuple[int, int]
    running: bool


# ----- loss


def loss_seed(seed: int, protocol: Protocol, rate: float) -> int:
    return seed * 10_000 + protocol.version * 1_000 + round(rate * 100)


def lossy(pair: Pair, protocol: Protocol, rate: float, seconds: float, seed: int) -> Loss:
    """The winner's adverts reach the loser through the relay, losing `rate` of them, for `seconds`."""
    pair.wait_steady()
    log = pair.lan.directory / f"relay-v{protocol.version}-{round(rate * 100)}.log"
    ports = [pair.winner.host.port, pair.loser.host.port]
    args = [sys.executable, str(RELAY), *ports, str(rate), str(seed), str(protocol.advert_int)]
    with open(log, "wb") as output:
        relay = subprocess.Popen(
            ["ip", "netns", "exec", pair.lan.bridge.name, *args], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        witness(relay.pid)  # `ip netns exec` becomes the relay: the same process
        wait_until(lambda: outcomes_in(log), 10, "the relay's first advert")  # it runs: block now
        block_vrrp([pair.loser.host])
        marks, start = pair.marks(), time.monotonic()
        pause(seconds)
        end = time.monotonic()
        takeovers = pair.state_changes(marks)
    finally:
        relay.kill()
        relay.wait()
        with contextlib.suppress(AssertionError):
            allow_vrrp([pair.loser.host])
    outcomes = [(verdict, at) for verdict, at in outcomes_in(log) if start <= at <= end]
    heard = [start, *(at for verdict, at in outcomes if verdict == "F"), end]
    master_down = protocol.master_down(pair.loser.priority)
    silences = sum(later - earlier > master_down for earlier, later in itertools.pairwise(heard))
    return Loss(len(outcomes), silences, takeovers)


def outcomes_in(log: Path) -> list[tuple[str, float]]:
    """The relay's verdicts so far, in order: `D` (dropped) or `F` (forwarded), and when."""
    lines = (line.split() for line in log.read_text().splitlines() if line[:2] in ("D ", "F "))
    return [(words[0], float(words[1])) for words in lines]


def loss_phase(pair: Pair, options: argparse.Namespace, report: Callable[[str], None]) -> dict[str, Loss]:
    results = {}
    for protocol in (V2, V3):
        pair.start(protocol)
        try:
            for rate in LOSS_RATES:
                seed = loss_seed(options.seed, protocol, rate)
                result = lossy(pair, protocol, rate, options.loss_seconds, seed)
                results[loss_key(protocol, rate)] = result
                report(f"{pair.label:21} loss {rate:.0%} v{protocol.version}: {result}")
        finally:
            pair.stop()
    return results


def loss_key(protocol: Protocol, rate: float) -> str:
    return f"loss-v{protocol.version}-{round(rate * 100)}"


# ----- reloads and restarts, under the client's ARP probe


def longest_gap(probe: failover.Probe, mac: str, start: float, end: float) -> float:
    times = [start, *(a.at for a in probe.answers if a.mac == mac and start <= a.at <= end), end]
    return max(later - earlier for earlier, later in itertools.pairwise(times))


def disruption(pair: Pair, probe: failover.Probe, changes: int, start: float) -> Disruption:
    """What the client saw from `start` to AFTER_S from now; `changes` as the phase counted them."""
    pause(AFTER_S)
    end = time.monotonic()
    probe.poll()
    loser_mac = pair.loser.host.mac()
    wrong = sum(a.mac == loser_mac and start <= a.at <= end for a in probe.answers)
    gap = longest_gap(probe, pair.winner.host.mac(), start, end)
    probe.daemon.stop()
    return Disruption(changes, gap, wrong)


def reload_phase(pair: Pair, options: argparse.Namespace, report: Callable[[str], None]) -> Disruption:
    pair.start(V2)
    try:
        probe = pair.probe()
        marks, start = pair.marks(), time.monotonic()
        for _ in range(options.reloads):
            for node in pair.nodes:
                node.daemon.signal(signal.SIGHUP)
            pause(RELOAD_SPACING_S)
        result = disruption(pair, probe, pair.state_changes(marks), start)
    finally:
        pair.stop()
    report(f"{pair.label:21} reloads: {result}")
    return result


def restart_phase(pair: Pair, options: argparse.Namespace, report: Callable[[str], None]) -> Disruption:
    pair.start(V2)
    try:
        probe = pair.probe()
        marks, start = pair.marks(), time.monotonic()
        earlier_runs = 0  # the loser's take-overs in the runs stopped since
        for _ in range(options.restarts):
            earlier_runs += pair.loser.lines()[marks[1] :].count(MASTER)
            pair.loser.daemon.stop()
            pair.loser.start()
            pair.loser.wait_for(INIT, STARTUP_TIMEOUT_S)
            marks = (marks[0], 0)
            pause(RESTART_RUN_S)
        result = disruption(pair, probe, earlier_runs + pair.state_changes(marks), start)
    finally:
        pair.stop()
    report(f"{pair.label:21} restarts: {result}")
    return result


# ----- split brains healed


def client_entry(pair: Pair) -> str | None:
    return pair.client.neighbour_mac(VIP)


def heal_once(pair: Pair, phase: float, ping: Daemon) -> tuple[bool, bool, bool]:
    """One split brain and its heal: whether the client's entry named the loser during the split, whether
    the winner's advert crossed first, and whether the entry names the winner HEAL_CHECK_S after."""
    winner_mac, loser_mac = pair.winner.host.mac(), pair.loser.host.mac()
    pair.wait_steady()
    if client_entry(pair) != winner_mac:  # a heal before this one left it wrong
        pair.client.namespace.ip("neigh", "del", VIP, "dev", "eth0")
        wait_until(lambda: client_entry(pair) == winner_mac, 10, f"{pair.label}'s client on the winner")
    pause(phase)
    hosts = [pair.winner.host, pair.loser.host]
    mark = len(pair.loser.lines())
    block_vrrp(hosts)
    blocked = time.monotonic()
    try:
        pair.loser.wait_for(MASTER, SPLIT_S + 2, after=mark)
        pause(blocked + SPLIT_S - time.monotonic())
        on_loser = client_entry(pair) == loser_mac
    finally:
        allow_vrrp(hosts)
    healed = time.monotonic()
    pause(HEAL_CHECK_S)
    right = client_entry(pair) == winner_mac
    first = next((a for a in pair.sniffer.adverts() if a.at > healed), None)
    winner_first = first is not None and first.source == pair.winner.host.address
    if ping.process.poll() is not None:
        raise AssertionError(f"{pair.label}: the client's ping stopped")
    return on_loser, winner_first, right


def heal_phase(pair: Pair, options: argparse.Namespace, report: Callable[[str], None]) -> Heals:
    draws = random.Random(options.seed)
    phases = [draws.uniform(0, V2.advert_int) for _ in range(options.heals)]
    pair.start(V2)
    ping = pair.client.start(["ping", "-q", "-i", "0.2", VIP], log_name="ping.log")
    try:
        outcomes = [heal_once(pair, phase, ping) for phase in phases]
    finally:
        ping.stop()
        pair.stop()
    result = Heals(
        right=sum(right for _, _, right in outcomes),
        winner_first=sum(first for _, first, _ in outcomes),
        on_loser=sum(on_loser for on_loser, _, _ in outcomes),
    )
    report(f"{pair.label:21} heals: {result}")
    return result


# ----- real-time hogs, on every pair at once


def advert_gap(pair: Pair, start: float, end: float) -> float:
    times = [a.at for a in pair.sniffer.adverts() if a.source == pair.winner.host.address]
    window = [start, *(t for t in times if start <= t <= end), end]
    return max(later - earlier for earlier, later in itertools.pairwise(window))


def highest_realtime_priority(node: Node, mark: int) -> int:
    found = [int(m.group(1)) for line in node.lines()[mark:] if (m := REALTIME_SET.search(line))]
    return max(found, default=0)


def hog_phase(
    pairs: list[Pair], options: argparse.Namespace, report: Callable[[str], None], global_defs: str
) -> list[Hogged]:
    with ThreadPoolExecutor(len(pairs)) as pool:
        list(pool.map(lambda pair: pair.start(V2, global_defs), pairs))
    try:
        marks = [pair.marks() for pair in pairs]
        start = time.monotonic()
        run_hogs(options.hog_seconds)
        end = time.monotonic()
        time.sleep(AFTER_S)
        results = []
        for pair, mark in zip(pairs, marks, strict=True):
            running = all(node.daemon.process.poll() is None for node in pair.nodes)
            priorities = (
                highest_realtime_priority(pair.winner, mark[0]),
                highest_realtime_priority(pair.loser, mark[1]),
            )
            result = Hogged(pair.state_changes(mark), advert_gap(pair, start, end), priorities, running)
            report(f"{pair.label:21} hogs{' (eager)' if global_defs == EAGER_DEFS else ''}: {result}")
            results.append(result)
        return results
    finally:
        for pair in pairs:
            pair.stop()


def run_hogs(seconds: float) -> None:
    """One hog per CPU, for `seconds`: they end by themselves, or are killed by PID if the wait ends."""
    started = [
        subprocess.Popen([sys.executable, str(HOG), str(cpu), str(HOG_PRIORITY), str(seconds)])
        for cpu in sorted(os.sched_getaffinity(0))
    ]
    try:
        for hog in started:
            hog.wait(timeout=seconds + 60)
    finally:
        for hog in started:
            if hog.poll() is None:
                hog.kill()
                hog.wait()


# ----- the table


def cell(value: object) -> str:
    match value:
        case Loss(adverts, silences, takeovers):
            return f"{takeovers} of {silences} ({adverts} adverts)"
        case Disruption(changes, gap, wrong):
            return f"{changes} / {gap * 1000:.0f} ms / {wrong}"
        case Heals(right, winner_first, on_loser):
            return f"{right} ({winner_first}; {on_loser})"
        case Hogged(changes, gap, (winner_priority, loser_priority), running):
            alive = "" if running else " DIED"
            return f"{changes} / {gap:.2f} s / {winner_priority}, {loser_priority}{alive}"
        case Exception() as error:
            return f"error: {error}".replace("\n", " ")[:60]
    return str(value)


def rows(options: argparse.Namespace) -> list[tuple[str, str, str]]:
    """(key, what the row measures, what to expect)."""
    listed = []
    if "loss" in options.phases:
        for protocol in (V2, V3):
            adverts = options.loss_seconds / protocol.advert_int
            for rate in LOSS_RATES:
                expected = adverts * (1 - rate) * rate**3
                what = (
                    f"advert loss {rate:.0%}, v{protocol.version} ({protocol.advert_int:g} s):"
                    " take-overs of silences"
                )
                listed.append((loss_key(protocol, rate), what, f"{expected:.2f}"))
    if "reloads" in options.phases:
        what = f"{options.reloads} SIGHUPs to both: changes / VIP gap / loser's answers"
        listed.append(("reloads", what, "0 / - / 0"))
    if "restarts" in options.phases:
        what = f"{options.restarts} loser restarts: changes / VIP gap / loser's answers"
        listed.append(("restarts", what, "0 / - / 0"))
    if "heals" in options.phases:
        what = f"{options.heals} heals: client on the winner 3 s after (winner first; on loser)"
        listed.append(("heals", what, str(options.heals)))
    if "hogs" in options.phases:
        what = f"RT hogs {options.hog_seconds:g} s: changes / advert gap / RT prio winner, loser"
        listed.append(("hogs", what, "0 / - / -"))
        what = "the same, min_auto_priority_delay 0.2 s"
        listed.append(("hogs-eager", what, "0 / - / -"))
    return listed


def table(pairs: list[Pair], results: dict[str, dict[str, object]], options: argparse.Namespace) -> list[str]:
    header = ("measure", "expected", *(pair.label for pair in pairs))
    lines = [header]
    for key, what, expected in rows(options):
        lines.append((what, expected, *(cell(results[pair.label].get(key, "-")) for pair in pairs)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines]


# ----- the run


def witness(pid: int) -> None:
    """Real-time scheduling for a process that watches or carries the pairs' traffic, so that what it
    sees and when is the daemons' doing, not its own lag on a busy machine (or under the hogs): each
    spends a few microseconds per packet and otherwise waits."""
    os.sched_setscheduler(pid, os.SCHED_FIFO, os.sched_param(WITNESS_PRIORITY))


def make_pair(lan: Lan, implementations: tuple[Implementation, Implementation]) -> Pair:
    winner_host = lan.host("w", LOW_ADDRESS)
    loser_host = lan.host("l", HIGH_ADDRESS)
    client = lan.host("c", CLIENT_ADDRESS)
    sniffer = Sniffer(client)
    witness(sniffer.daemon.process.pid)
    return Pair(
        lan=lan,
        winner=Node(winner_host, implementations[0], "", HIGH_PRIORITY),
        loser=Node(loser_host, implementations[1], "", LOW_PRIORITY),
        client=client,
        sniffer=sniffer,
    )


def each_pair(
    pairs: list[Pair],
    phase: Callable[[Pair, argparse.Namespace, Callable[[str], None]], object],
    options: argparse.Namespace,
    report: Callable[[str], None],
) -> list[object]:
    """`phase` on every pair at once; a pair's failure becomes its result, after its daemons are stopped.
    Ctrl-C or SIGTERM (KeyboardInterrupt here) ends every pair's phase at its next pause."""

    def one(pair: Pair) -> object:
        try:
            return phase(pair, options, report)
        except AssertionError as error:
            report(f"{pair.label:21} failed: {error}")
            with contextlib.suppress(AssertionError):
                pair.stop()
            return error

    with ThreadPoolExecutor(len(pairs)) as pool:
        futures = [pool.submit(one, pair) for pair in pairs]
        try:
            return [future.result() for future in futures]
        except KeyboardInterrupt:
            ABORT.set()
            for future in futures:
                with contextlib.suppress(AbortedError, AssertionError):
                    future.exception()
            raise


def bench(options: argparse.Namespace, report: Callable[[str], None]) -> list[str]:
    load_before = os.getloadavg()
    started = time.monotonic()
    with failover.log_directory(options.logs) as directory, contextlib.ExitStack() as stack:
        pairs = []
        for implementations in PAIRS:
            path = directory / "-".join(i.value for i in implementations)
            path.mkdir(parents=True, exist_ok=True)
            pairs.append(make_pair(stack.enter_context(harness.laboratory(path)), implementations))
        results: dict[str, dict[str, object]] = {pair.label: {} for pair in pairs}
        if "loss" in options.phases:
            for pair, outcome in zip(pairs, each_pair(pairs, loss_phase, options, report), strict=True):
                if isinstance(outcome, dict):
                    results[pair.label].update(outcome)
                else:
                    results[pair.label].update({key: outcome for key, _, _ in rows(options) if "loss" in key})
        for name, phase in (("reloads", reload_phase), ("restarts", restart_phase), ("heals", heal_phase)):
            if name in options.phases:
                for pair, outcome in zip(pairs, each_pair(pairs, phase, options, report), strict=True):
                    results[pair.label][name] = outcome
        for key, global_defs in HOG_RUNS.items():
            if "hogs" not in options.phases:
                break
            try:
                for pair, outcome in zip(pairs, hog_phase(pairs, options, report, global_defs), strict=True):
                    results[pair.label][key] = outcome
            except AssertionError as error:
                report(f"{key} failed: {error}")
                for pair in pairs:
                    results[pair.label][key] = error
    minutes = (time.monotonic() - started) / 60
    load = f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after"
    return [*failover.machine(), f"run: {minutes:.1f} min, {load}", "", *table(pairs, results, options)]


def missing() -> str | None:
    return failover.missing()


def phase_list(text: str) -> list[str]:
    phases = [name.strip() for name in text.split(",") if name.strip()]
    if not phases or any(name not in PHASES for name in phases):
        raise argparse.ArgumentTypeError(f"phases are among {', '.join(PHASES)}")
    return phases


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="hapair beside keepalived under faults, in one table.")
    parser.add_argument("--loss-seconds", type=float, default=40.0, help="per loss rate and timer (40)")
    parser.add_argument("--reloads", type=failover.positive, default=50, help="SIGHUPs to each node (50)")
    parser.add_argument("--restarts", type=failover.positive, default=20, help="loser restarts (20)")
    parser.add_argument("--heals", type=failover.positive, default=20, help="split brains healed (20)")
    parser.add_argument("--hog-seconds", type=float, default=20.0, help="real-time hogs' run (20)")
    parser.add_argument("--phases", type=phase_list, default=list(PHASES), help=f"among {','.join(PHASES)}")
    parser.add_argument("--seed", type=int, default=1, help="seed of the losses and heal points (1)")
    parser.add_argument("--logs", type=Path, help="keep the logs in this directory")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    return harness.run("chaos", parse(argv), bench, missing, (AssertionError,))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
