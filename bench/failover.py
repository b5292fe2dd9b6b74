"""Failover timing: how long after a fault the virtual IP answers on the other node, for hapair and for
keepalived, in one run on the same network namespaces, with the seed's configurations and timers.

    sudo .venv/bin/python bench/failover.py [--runs 5] [--faults link-cut,sigterm,track-script]
                                             [--families ipv4,ipv6] [--seed 1] [--logs DIR]
                                             [--proxy-faults proxy-kill,proxy-hang,backends]

The LAN is tests/topology.py's (a bridge namespace, the seed's two nodes and a client), each node run by
tests/seed.py's start_seed_node, with hapair or with the real keepalived (both nodes run the same one):
this script puts the repository root on sys.path to import `tests.topology` and `tests.seed`. Needs root,
iproute2, unshare, nsenter, ping and keepalived.

The client runs bench/arp_probe.py, which broadcasts an ARP request for the VIP every 2 ms and time-stamps
every reply (and every VRRP advert it hears) on the monotonic clock that this script reads as well. A
run's time is from just before the fault is injected to the first ARP reply for the VIP that comes from
node 2's MAC (so within 2 ms of the VIP being there).

Over IPv6 the nodes run the seed's instance as a native_ipv6 one (VRRPv3 adverts to ff02::12 from eth0's
link-local address; the same priorities, 1 s advert interval and check script; no authentication block,
which VRRPv3 does not have) holding fd00:101::10 instead of 10.101.1.10, and the client runs
bench/nd_probe.py: the same, with a neighbour solicitation for the VIP every 2 ms in place of the ARP
request, the answer being the first neighbour advertisement to the client for the VIP that gives node 2's
MAC. The IPv4 runs come first, each family with its own prober. The faults, on node 1 (the master):

    link-cut      its cable is pulled (its bridge port goes down); undone by plugging it back
    sigterm       its daemon gets SIGTERM; undone by starting it again
    track-script  its "nginx" is killed, so that the seed's check_nginx.sh fails at its next run (every
                  3 s); undone by starting "nginx" again

For each family and fault, hapair then keepalived: both nodes start, the fault is injected --runs times,
both stop. Before each run node 1 is master again (its log in MASTER and node 2's in BACKUP, the VIP on
node 1 only, only node 1 answering, the client's ARP or neighbour entry for the VIP pointing at node 1,
one more advert from node 1), then the fault comes 0.2 s plus a random part of 3 s (the same sequence for
both implementations, --seed) after the client heard that advert, so that it falls at a random point of
the check timer, and at the same point of node 1's advert interval for both implementations. The "after
cue" column takes that phase out: the time from the last thing node 2 could react to (node 1's last
advert before the cut; its priority-0 advert after SIGTERM or the failed check) to the answer. The "no
answer" column is the longest time, from the last answer before the fault to node 2's first, that the
client's probes went unanswered by either node (a stopping node 1 answers until it removes the VIP).

Then the proxy faults (--proxy-faults; empty for none), on `hapair lab`'s namespaces, by
bench/proxy_health.py (its docstring says how): node 1's proxy killed, hung, or cut from the backends,
each measured as the longest gap a client probing the VIP every 20 ms sees, for the seed's keepalived +
check_nginx.sh + nginx, hapair with the seed's files (`--health script`) and `hapair node` (`--health
native`), in a second table.

Everything runs in namespaces and a temporary directory (--logs keeps the daemons' logs, the prober's
output and faults.log, the raw times), all removed at the end, also after Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import datetime
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import harness  # noqa: E402  (bench/, the script's own directory)
import proxy_health  # noqa: E402
from tests.seed import CLIENT_ADDRESS, NODE_ADDRESSES, VIP, seed_config, start_seed_node  # noqa: E402
from tests.topology import Daemon, Host, Lan, missing_lab_requirements, wait_until  # noqa: E402

BENCH = Path(__file__).resolve().parent
VIP6 = "fd00:101::10"
NODE_ADDRESSES6 = {1: "fd00:101::11", 2: "fd00:101::12"}
CLIENT_ADDRESS6 = "fd00:101::100"
PROBE_INTERVAL_S = 0.002
CHECK_INTERVAL_S = 3.0  # the seed's check_nginx interval: also the span of the random phase
PHASE_START_S = 0.2  # the random phase counts from this long after node 1's advert that ends the wait
QUIET_S = 1.0  # before a run, no answer from node 2 for this long
ANSWER_TIMEOUT_S = 20.0
STEADY_TIMEOUT_S = 60.0
STARTUP_TIMEOUT_S = 30.0
PROXY_GIVE_UP_S = 15.0  # a proxy fault the node never notices leaves the VIP where it is
FAULTS = ("link-cut", "sigterm", "track-script")
FAMILIES = ("ipv4", "ipv6")
PRIORITY_STOP = 0
STATE_ENTERED = re.compile(r" Entering (MASTER|BACKUP|FAULT) STATE")
AUTHENTICATION = re.compile(r"  authentication \{[^}]*\}\n")


def seed_config6(node: int) -> str:
    """The seed's node over IPv6: its instance made native_ipv6 (VRRPv3, adverts to ff02::12 from eth0's
    link-local address) holding VIP6, without the authentication block VRRPv3 does not have; priorities,
    advert interval (1 s), check script and tracking as the seed's."""
    text = seed_config(node)
    edits = (
        (f"{VIP}/24", f"{VIP6}/64"),
        ("  advert_int 1\n", "  advert_int 1\n  native_ipv6\n"),
    )
    for old, new in edits:
        assert text.count(old) == 1, f"the seed's node {node} no longer has one {old!r}"
        text = text.replace(old, new)
    text, dropped = AUTHENTICATION.subn("", text)
    assert dropped == 1, f"the seed's node {node} no longer has one authentication block"
    return text


@dataclass(frozen=True)
class Family:
    """What differs between the IPv4 and the IPv6 runs: the VIP, the client's probe of it, the config."""

    name: str
    vip: str
    client_address: str
    prober: str
    ping: tuple[str, ...]
    config: Callable[[int], str]

    def holds_vip(self, host: Host) -> bool:
        eth0 = host.namespace.interfaces()["eth0"]
        return any(a.split("/")[0] == self.vip for a in (*eth0.ipv4, *eth0.ipv6))


IPV4 = Family("IPv4", VIP, CLIENT_ADDRESS, "arp_probe.py", ("ping",), seed_config)
IPV6 = Family("IPv6", VIP6, CLIENT_ADDRESS6, "nd_probe.py", ("ping", "-6"), seed_config6)
FAMILY = {"ipv4": IPV4, "ipv6": IPV6}


@dataclass(frozen=True)
class Answer:
    at: float
    mac: str


@dataclass(frozen=True)
class Advert:
    at: float
    source: str
    priority: int


class Probe:
    """What bench/arp_probe.py has seen so far, read from its output as it grows."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.answers: list[Answer] = []
        self.adverts: list[Advert] = []
        self._offset = 0
        self._partial = ""

    def poll(self) -> None:
        with open(self.daemon.log_path, "rb") as output:
            output.seek(self._offset)
            data = output.read()
        self._offset += len(data)
        lines = (self._partial + data.decode(errors="replace")).split("\n")
        self._partial = lines.pop()
        for line in lines:
            words = line.split()
            if len(words) == 3 and words[0] == "A":
                self.answers.append(Answer(float(words[1]), words[2]))
            elif len(words) == 5 and words[0] == "V":
                self.adverts.append(Advert(float(words[1]), words[2], int(words[4])))

    def first_answer(self, mac: str, after: float) -> Answer | None:
        start = bisect.bisect_right(self.answers, after, key=time_of)
        return next((a for a in self.answers[start:] if a.mac == mac), None)

    def last_answer(self) -> Answer | None:
        return self.answers[-1] if self.answers else None

    def longest_silence(self, since: float, until: float) -> float:
        """The longest time the client went without an answer (from any node) from the last answer before
        `since` to the answer at `until`."""
        start = max(bisect.bisect_left(self.answers, since, key=time_of) - 1, 0)
        end = bisect.bisect_left(self.answers, until, key=time_of)
        times = [answer.at for answer in self.answers[start:end]] + [until]
        return max((later - earlier for earlier, later in pairwise(times)), default=0.0)

    def answered_since(self, mac: str, since: float) -> bool:
        start = bisect.bisect_left(self.answers, since, key=time_of)
        return any(a.mac == mac for a in self.answers[start:])

    def last_advert_before(self, source: str, before: float) -> Advert | None:
        end = bisect.bisect_right(self.adverts, before, key=time_of)
        return next((a for a in reversed(self.adverts[:end]) if a.source == source), None)

    def first_advert_since(self, source: str, since: float) -> Advert | None:
        start = bisect.bisect_right(self.adverts, since, key=time_of)
        return next((a for a in self.adverts[start:] if a.source == source), None)

    def first_stop_advert(self, source: str, after: float) -> Advert | None:
        start = bisect.bisect_right(self.adverts, after, key=time_of)
        stops = (a for a in self.adverts[start:] if a.priority == PRIORITY_STOP)
        return next((a for a in stops if a.source == source), None)


def time_of(event: Answer | Advert) -> float:
    return event.at


@dataclass
class Lab:
    """The LAN and what runs on it for one implementation."""

    lan: Lan
    nodes: dict[int, Host]
    client: Host
    probe: Probe
    keepalived: bool
    family: Family
    sources: dict[int, str]  # each node's adverts' source address
    daemons: dict[int, Daemon] = field(default_factory=dict)
    archived: int = 0

    @property
    def implementation(self) -> str:
        return "keepalived" if self.keepalived else "hapair"

    def start(self, node: int) -> None:
        """Start node `node`'s daemon and wait until it has started (its signal handlers are in place)."""
        config = self.family.config(node)
        daemon = self.daemons[node] = start_seed_node(
            self.nodes[node], node, keepalived=self.keepalived, config=config
        )
        daemon.wait_for("Startup complete", timeout=STARTUP_TIMEOUT_S)

    def archive_log(self, node: int) -> None:
        """Keep a stopped daemon's log (start_seed_node writes the next one under the same name)."""
        log = self.daemons[node].log_path
        if log.exists():
            self.archived += 1
            name = f"{self.family.name}-{self.implementation}-{self.archived:02d}-{log.name}"
            log.rename(log.with_name(name))

    def stop(self) -> None:
        for node, daemon in self.daemons.items():
            daemon.stop()
            self.archive_log(node)
        self.daemons.clear()

    def journal(self, line: str) -> None:
        """Note a run's raw times (monotonic seconds, as in the prober's output) beside the logs."""
        with open(self.lan.directory / "faults.log", "a") as journal:
            journal.write(line + "\n")

    def nginx_pid(self) -> int:
        daemon = self.daemons[1]
        pid = daemon.host.pid_of("nginx", below=daemon.process.pid)
        assert pid is not None, "node 1's nginx is not running"
        return pid

    def restart_nginx(self) -> None:
        """Start node 1's "nginx" again inside its daemon's mount and PID namespaces, where the seed's
        check_nginx.sh looks for it (it ends up a child of the namespace's first process, the daemon)."""
        nginx = self.lan.directory / "bin" / "nginx"
        subprocess.run(
            ["nsenter", "--target", str(self.daemons[1].pid), "--mount", "--pid", "--",
             "sh", "-c", f"{nginx} infinity >/dev/null 2>&1 &"],
            check=True, timeout=10,
        )  # fmt: skip


@dataclass(frozen=True)
class Run:
    """One fault's outcome: seconds from the fault (and from node 2's cue) to node 2's first answer, and the
    longest time in between that the VIP answered no probe (node 1 may answer for a while after the fault)."""

    elapsed: float | None
    after_cue: float | None
    silence: float | None


# ----- faults: each prepares its injection (so that no look-up is timed) and undoes it


def prepare_link_cut(lab: Lab) -> Callable[[], None]:
    return lab.nodes[1].cut


def recover_link_cut(lab: Lab) -> None:
    lab.nodes[1].restore()


def prepare_sigterm(lab: Lab) -> Callable[[], None]:
    pid = lab.daemons[1].pid
    return lambda: os.kill(pid, signal.SIGTERM)


def recover_sigterm(lab: Lab) -> None:
    lab.daemons[1].process.wait(timeout=15)
    lab.archive_log(1)
    lab.start(1)


def prepare_track_script(lab: Lab) -> Callable[[], None]:
    pid = lab.nginx_pid()  # as tests/seed.py's kill_nginx, with the /proc walk before the clock starts
    return lambda: os.kill(pid, signal.SIGKILL)


def recover_track_script(lab: Lab) -> None:
    lab.restart_nginx()


INJECT: dict[str, Callable[[Lab], Callable[[], None]]] = {
    "link-cut": prepare_link_cut,
    "sigterm": prepare_sigterm,
    "track-script": prepare_track_script,
}
RECOVER: dict[str, Callable[[Lab], None]] = {
    "link-cut": recover_link_cut,
    "sigterm": recover_sigterm,
    "track-script": recover_track_script,
}


def cue(lab: Lab, fault: str, fault_at: float) -> float | None:
    """When node 2 could first know: node 1's last advert before a cut, else its priority-0 advert."""
    node1 = lab.sources[1]
    if fault == "link-cut":
        advert = lab.probe.last_advert_before(node1, fault_at)
    else:
        advert = lab.probe.first_stop_advert(node1, fault_at)
    return advert.at if advert is not None else None


# ----- runs


def last_state(daemon: Daemon) -> str | None:
    """The state the daemon's log last entered: MASTER, BACKUP or FAULT."""
    for line in reversed(daemon.lines()):
        entered = STATE_ENTERED.search(line)
        if entered:
            return entered.group(1)
    return None


def wait_steady(lab: Lab) -> float:
    """Until node 1 is master again: node 1's log in MASTER and node 2's in BACKUP, the VIP on node 1
    only, only node 1 answering for it (node 2 quiet for QUIET_S), the client's ARP (neighbour) entry for
    the VIP pointing at node 1; and, all that holding, one more advert from node 1, which node 2 has heard
    as a backup (its master-down timer runs from there). Returns when the client heard that advert."""
    node1, node2 = lab.nodes[1], lab.nodes[2]
    mac1, mac2 = node1.mac(), node2.mac()
    settled: list[float] = []

    def holds(now: float) -> bool:
        if last_state(lab.daemons[1]) != "MASTER" or last_state(lab.daemons[2]) != "BACKUP":
            return False
        last = lab.probe.last_answer()
        if last is None or last.mac != mac1 or now - last.at > 0.2:
            return False
        if lab.probe.answered_since(mac2, now - QUIET_S):
            return False
        vip = lab.family.vip
        if not lab.family.holds_vip(node1) or lab.family.holds_vip(node2):
            return False
        if lab.client.neighbour_mac(vip) != mac1:
            lab.client.run([*lab.family.ping, "-c1", "-W1", vip])  # makes or refreshes the client's entry
            return False
        return True

    def steady() -> Advert | None:
        lab.probe.poll()
        now = time.monotonic()
        if not holds(now):
            settled.clear()
            return None
        if not settled:
            settled.append(now)
        return lab.probe.first_advert_since(lab.sources[1], settled[0])

    what = f"node 1 ({lab.implementation}, {lab.family.name}) to be master again"
    advert = wait_until(steady, STEADY_TIMEOUT_S, what, 0.05)
    assert isinstance(advert, Advert)
    return advert.at


def run_once(lab: Lab, fault: str, phase: float) -> Run:
    advert_at = wait_steady(lab)
    time.sleep(max(0.0, advert_at + PHASE_START_S + phase - time.monotonic()))
    inject = INJECT[fault](lab)
    mac2 = lab.nodes[2].mac()
    fault_at = time.monotonic()
    inject()

    def answered() -> Answer | None:
        lab.probe.poll()
        return lab.probe.first_answer(mac2, fault_at)

    try:
        answer = wait_until(answered, ANSWER_TIMEOUT_S, "node 2 to answer for the VIP", interval=0.01)
    except AssertionError:
        answer = None
    finally:
        RECOVER[fault](lab)
    answered_at = answer.at if isinstance(answer, Answer) else None
    cued = cue(lab, fault, fault_at) if answered_at is not None else None
    lab.journal(
        f"{lab.family.name} {lab.implementation} {fault} fault {fault_at:.6f} cue {cued} answer {answered_at}"
    )
    if answered_at is None:
        return Run(None, None, None)
    after_cue = None if cued is None else answered_at - cued
    return Run(answered_at - fault_at, after_cue, lab.probe.longest_silence(fault_at, answered_at))


def bench_fault(lab: Lab, fault: str, phases: list[float], report: Callable[[str], None]) -> list[Run]:
    """Start both nodes with the lab's implementation, run the fault once per phase, stop them."""
    lab.start(1)
    lab.start(2)
    try:
        runs = []
        for number, phase in enumerate(phases, start=1):
            run = run_once(lab, fault, phase)
            runs.append(run)
            report(f"{lab.family.name} {lab.implementation:10} {fault:12} run {number}:"
                   f" {seconds(run.elapsed)} s (after cue {seconds(run.after_cue)} s,"
                   f" no answer for {seconds(run.silence)} s)")  # fmt: skip
        return runs
    finally:
        lab.stop()


def seconds(value: float | None) -> str:
    return "timeout" if value is None else f"{value:.3f}"


# ----- the machine and the table


def keepalived_version() -> str:
    """`keepalived -v`'s first line, and the Debian package's version when there is one."""
    output = subprocess.run(["keepalived", "-v"], capture_output=True, text=True, check=False)
    version = next(iter((output.stderr + output.stdout).splitlines()), "?").strip()
    package = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "keepalived"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return f"{version}, Debian package {package}" if package else version


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def machine() -> list[str]:
    return [
        f"date: {datetime.date.today().isoformat()}",
        f"machine: {os.cpu_count()} CPUs ({cpu_model()}), kernel {platform.release()},"
        f" Python {platform.python_version()}",
        f"keepalived: {keepalived_version()}",
    ]


Results = dict[tuple[str, str], dict[str, list[Run]]]  # (family, implementation) -> fault -> runs


def table(results: Results, faults: list[str]) -> list[str]:
    header = (
        "fault",
        "family",
        "implementation",
        "runs",
        "median s",
        "min s",
        "max s",
        "after cue (median) s",
        "no answer (median) s",
    )
    rows = [header]
    for family in dict.fromkeys(family for family, _ in results):
        for fault in faults:
            for implementation in (i for f, i in results if f == family):
                runs = results[family, implementation].get(fault, [])
                rows.append(table_row(fault, family, implementation, runs))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def table_row(fault: str, family: str, implementation: str, runs: list[Run]) -> tuple[str, ...]:
    times = [r.elapsed for r in runs if r.elapsed is not None]
    cues = [r.after_cue for r in runs if r.after_cue is not None]
    silences = [r.silence for r in runs if r.silence is not None]
    timeouts = len(runs) - len(times)
    count = f"{len(times)}" + (f" (+{timeouts} timed out)" if timeouts else "")
    if times:
        figures = [f"{statistics.median(times):.3f}", f"{min(times):.3f}", f"{max(times):.3f}"]
    else:
        figures = ["-", "-", "-"]
    medians = [f"{statistics.median(values):.3f}" if values else "-" for values in (cues, silences)]
    return (fault, family, implementation, count, *figures, *medians)


# ----- set-up and clean-up


@contextlib.contextmanager
def log_directory(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="hapair-bench-") as scratch:
        yield Path(scratch)


def missing() -> str | None:
    reason = missing_lab_requirements()
    if reason:
        return reason
    for program in ("nsenter", "keepalived", "ping"):
        if shutil.which(program) is None:
            return f"needs {program}"
    return None


def add_ipv6(hosts: dict[int, Host], client: Host) -> None:
    """Give the nodes and the client their IPv6 addresses, and wait until their link-local addresses,
    the source of VRRPv3 adverts, have passed duplicate address detection."""
    for host, address in [*((hosts[n], NODE_ADDRESSES6[n]) for n in hosts), (client, CLIENT_ADDRESS6)]:
        host.namespace.ip("-6", "addr", "add", f"{address}/64", "dev", "eth0", "nodad")

    def settled() -> bool:
        return all(
            host.link_local() is not None
            and not host.namespace.ip("-6", "addr", "show", "dev", "eth0", "tentative").stdout.strip()
            for host in [*hosts.values(), client]
        )

    wait_until(settled, STARTUP_TIMEOUT_S, "link-local addresses past duplicate address detection")


def advert_sources(family: Family, nodes: dict[int, Host]) -> dict[int, str]:
    """Where each node's adverts come from: its IPv4 address, or over IPv6 its link-local one."""
    if family is IPV4:
        return {node: host.address for node, host in nodes.items()}
    return {node: str(host.link_local()) for node, host in nodes.items()}


def bench(options: argparse.Namespace, report: Callable[[str], None]) -> list[str]:
    with log_directory(options.logs) as directory:
        results = vrrp_faults(options, directory, report)
        lines = [*machine(), "", *table(results, options.faults)]
        if options.proxy_faults:  # on hapair lab's namespaces, once the LAN of the VRRP faults is gone
            setups = list(proxy_health.SETUPS)
            gaps = proxy_health.run(setups, options.proxy_faults, PROXY_GIVE_UP_S, directory)
            lines += ["", *proxy_health.table_lines(gaps, options.proxy_faults)]
    return lines


def vrrp_faults(options: argparse.Namespace, directory: Path, report: Callable[[str], None]) -> Results:
    """The runs of each VRRP fault, by family and implementation, on a LAN of their own."""
    faults = options.faults
    rng = random.Random(options.seed)
    phases = [rng.uniform(0, CHECK_INTERVAL_S) for _ in range(options.runs)]
    results: Results = {}
    with harness.laboratory(directory) as lan:
        nodes = {node: lan.host(f"node{node}", address) for node, address in NODE_ADDRESSES.items()}
        client = lan.host("client", CLIENT_ADDRESS)
        if IPV6 in options.families:
            add_ipv6(nodes, client)
        for family in options.families:  # one prober at a time: the other's packets would load the LAN
            prober = client.start(
                [sys.executable, str(BENCH / family.prober), "eth0", family.client_address, family.vip,
                 str(PROBE_INTERVAL_S)],
                log_name=f"probe-{family.name}.log",
            )  # fmt: skip
            sources = advert_sources(family, nodes)
            labs = [
                Lab(lan=lan, nodes=nodes, client=client, probe=Probe(prober), keepalived=keepalived,
                    family=family, sources=sources)
                for keepalived in (False, True)
            ]  # fmt: skip
            for fault in faults:  # the implementations one after the other for each fault: alike conditions
                for lab in labs:
                    runs = bench_fault(lab, fault, phases, report)
                    results.setdefault((family.name, lab.implementation), {})[fault] = runs
            prober.stop()
    return results


def family_list(text: str) -> list[Family]:
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in FAMILY]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"families are among {', '.join(FAMILIES)}")
    return [FAMILY[name] for name in dict.fromkeys(names)]


def fault_list(text: str) -> list[str]:
    faults = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in faults if name not in FAULTS]
    if unknown or not faults:
        raise argparse.ArgumentTypeError(f"faults are among {', '.join(FAULTS)}")
    return faults


def proxy_fault_list(text: str) -> list[str]:
    faults = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in faults if name not in proxy_health.FAULTS]
    if unknown:
        raise argparse.ArgumentTypeError(f"proxy faults are among {', '.join(proxy_health.FAULTS)}")
    return faults


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time how long after a fault on node 1 the VIP answers on node 2, hapair and keepalived."
    )
    parser.add_argument("--runs", type=positive, default=5, help="runs per fault and implementation (5)")
    parser.add_argument(
        "--faults", type=fault_list, default=list(FAULTS), help=f"comma-separated, among {','.join(FAULTS)}"
    )
    parser.add_argument(
        "--families",
        type=family_list,
        default=[IPV4, IPV6],
        help=f"comma-separated, among {','.join(FAMILIES)}",
    )
    parser.add_argument(
        "--proxy-faults",
        type=proxy_fault_list,
        default=list(proxy_health.FAULTS),
        help=f"comma-separated, among {','.join(proxy_health.FAULTS)}; empty for none",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the random phases (1)")
    parser.add_argument("--logs", type=Path, help="keep the logs and raw times in this directory")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    return harness.run(
        "failover", parse(argv), bench, missing, (AssertionError, RuntimeError)
    )  # a wait that timed out, or a proxy fault's lab that never got where a run starts


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
