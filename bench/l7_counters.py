"""What one L7 request costs each load balancer's processes, counted by the kernel: bench/proxy.py's L7
set-up (the same namespaces, backends, seed file and `wrk -c50`), and for each round of wrk the growth of
the counters of every process in the load balancer's namespace divided by the requests answered
(docs/request-cost.md, "What the kernel counts per request").

    sudo .venv/bin/python bench/l7_counters.py [--only hapair,hapair-pure,floor,nginx,hapair-debian,...]
        [--rounds 3] [--duration 8] [--connections 50] [--pin] [--before 'COMMAND {pids}']
        [--during 'COMMAND {pids}'] [--logs DIR]

Per request: user and system CPU time (/proc/PID/stat's utime and stime, in microseconds), minor page
faults (minflt), voluntary and involuntary context switches (every thread's /proc/PID/task/TID/status),
and the load average (1 min) at the round's end. hapair-pure is hapair with HAPAIR_PURE_PYTHON=1 (its
compiled modules run as Python). The rates are printed too, but on shared cores they move with the other
processes; the counters per request much less. hapair-debian and nginx-debian run on Debian's packaged
/etc/nginx around the seed's file (bench/proxy.py's "Debian's nginx.conf" rows); a name may come again in
--only, to alternate (`--only hapair,hapair-debian,hapair,hapair-debian`).

--during runs COMMAND (split as a shell would) in the load balancer's namespace during one more measured
round, `{pids}` replaced by the workers' PIDs (comma-separated; the master is not among them), and prints
its output: `timeout -s INT 5 strace -c -f -p {pids}` for the system calls, `perf stat -e
raw_syscalls:sys_enter,sched:sched_waking,sched:sched_switch -p {pids} -- sleep 6`, `perf record -g -p
{pids} -o FILE -- sleep 5`. The command must end by itself. --before runs COMMAND once after the warm-up,
before the rounds. --pin puts the workers on CPU 0 and the backends and wrk on CPU 1, so that the
workers' peers no longer preempt them.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness
from tests.topology import Host

import proxy as bench_proxy
from proxy import (
    CLIENT_ADDRESS,
    LB_ADDRESS,
    OPEN_FILES,
    PORT,
    Lab,
    namespace_pids,
    parse_wrk,
    run_to_end,
)

IMPLEMENTATIONS = ("hapair", "hapair-pure", "floor", "nginx", "hapair-debian", "nginx-debian")
DEBIAN_SUFFIX = "-debian"  # on Debian's packaged /etc/nginx (bench/proxy.py's l7-debian)
COUNTERS = ("user_us", "system_us", "minflt", "voluntary", "involuntary")


@dataclass(frozen=True)
class Counters:
    """The sums over the processes: CPU in microseconds, faults and switches as counted."""

    user_us: float
    system_us: float
    minflt: int
    voluntary: int
    involuntary: int


def process_counters(pid: int) -> Counters | None:
    """The process's counters (its threads' switches summed); None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        voluntary = involuntary = 0
        for task in Path(f"/proc/{pid}/task").iterdir():
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    voluntary += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    involuntary += int(line.split()[1])
    except OSError:
        return None
    tick_us = 1e6 / harness.CLOCK_TICKS
    user, system = int(fields[11]) * tick_us, int(fields[12]) * tick_us
    return Counters(user, system, int(fields[7]), voluntary, involuntary)


def namespace_counters(lab: Lab) -> Counters:
    found = [c for c in map(process_counters, namespace_pids(lab.lb)) if c is not None]
    return Counters(*(sum(getattr(c, name) for c in found) for name in COUNTERS))


def workers(lab: Lab) -> list[int]:
    """The processes in the load balancer's namespace that have a parent there too (hapair's and nginx's
    workers), or all of them when none has (the floor's workers are the processes it forked, its first
    process one of them)."""
    pids = namespace_pids(lab.lb)
    children = [pid for pid in pids if parent(pid) in pids]
    return children or pids


def parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def wrk_round(lab: Lab) -> tuple[float, int]:
    """One wrk run: requests per second and requests answered."""
    url = f"http://{LB_ADDRESS}:{PORT}/ok"
    duration = lab.options.duration
    pinned = ["taskset", "-c", "1"] if lab.options.pin else []
    args = [*pinned, "wrk", "-t2", f"-c{lab.options.connections}", f"-d{duration}s", "--latency", url]
    result = parse_wrk(run_to_end(lab.client, args, timeout=duration + 60))
    return result.requests_per_second, round(result.requests_per_second * duration)


def measured_round(lab: Lab, name: str, label: str) -> str:
    """One wrk round and the counters' growth per request, as a line (also reported)."""
    before = namespace_counters(lab)
    rate, requests = wrk_round(lab)
    after = namespace_counters(lab)
    load = os.getloadavg()[0]
    per = [(getattr(after, field) - getattr(before, field)) / requests for field in COUNTERS]
    line = (
        f"{name:<7} {label}: {rate:9.0f} req/s  user {per[0]:6.1f} us  system {per[1]:6.1f} us"
        f"  minflt {per[2]:7.3f}  voluntary cs {per[3]:6.3f}  involuntary cs {per[4]:6.3f}  load {load:.2f}"
    )
    lab.report(line)
    return line


def command_for(lab: Lab, template: str) -> list[str]:
    """`template` split as a shell would, `{pids}` replaced by the workers', run in the load balancer's
    namespace."""
    pids = ",".join(map(str, workers(lab)))
    return ["ip", "netns", "exec", lab.lb.namespace.name, *shlex.split(template.replace("{pids}", pids))]


def during(lab: Lab, name: str, template: str) -> list[str]:
    """`template` run during one more measured round; the round's line and the command's output."""
    spy = subprocess.Popen(
        command_for(lab, template),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = measured_round(lab, name, f"during {template!r}")
        output, _ = spy.communicate(timeout=lab.options.duration + 120)
    finally:
        if spy.poll() is None:
            spy.kill()
            spy.wait()
    return [line, output]


def pin(lab: Lab, backends: list[Host]) -> None:
    """The load balancer's workers on CPU 0, the backends' processes on CPU 1 (wrk runs there too)."""
    placed = [(pid, "0") for pid in workers(lab)]
    placed += [(pid, "1") for host in backends for pid in namespace_pids(host)]
    for pid, cpu in placed:
        subprocess.run(["taskset", "-a", "-p", "-c", cpu, str(pid)], check=True, capture_output=True)


def measure(lab: Lab, name: str, backends: list[Host]) -> list[str]:
    options = lab.options
    bench_proxy.warm_up(lab, f"http://{LB_ADDRESS}:{PORT}/ok")
    if options.pin:
        pin(lab, backends)
    if options.before:
        ran = subprocess.run(command_for(lab, options.before), capture_output=True, text=True, check=False)
        lab.report(f"{name}: {options.before}: {ran.returncode} {ran.stdout.strip()} {ran.stderr.strip()}")
    lines = [measured_round(lab, name, f"round {number}") for number in range(1, options.rounds + 1)]
    return lines + during(lab, name, options.during) if options.during else lines


def implementation_and_test(name: str) -> tuple[str, str]:
    """hapair-debian: hapair on bench/proxy.py's l7-debian configuration; the others on its l7."""
    if name.endswith(DEBIAN_SUFFIX):
        return name.removesuffix(DEBIAN_SUFFIX), "l7-debian"
    return name, "l7"


def bench(options: argparse.Namespace, report: Callable[[str], None]) -> list[str]:
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))
    with bench_proxy.run_directory(options.logs) as directory, harness.laboratory(directory) as lan:
        client = lan.host("client", CLIENT_ADDRESS)
        bench_proxy.give_the_client_ports(client)
        lb = lan.host("lb", LB_ADDRESS)
        addresses = bench_proxy.BACKEND_ADDRESSES
        backends = [lan.host(f"backend{n}", address) for n, address in enumerate(addresses, 1)]
        lab = Lab(lan, directory, client, lb, bench_proxy.write_configs(directory), options, report)
        bench_proxy.start_backends(lab, backends)
        lines = []
        for implementation in options.only:
            with bench_proxy.proxy(lab, *implementation_and_test(implementation)) as reason:
                if reason:
                    lines.append(f"{implementation}: not available: {reason}")
                    continue
                lines += measure(lab, implementation, backends)
    return lines


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Kernel counters per L7 request, bench/proxy.py's set-up.")
    parser.add_argument(
        "--only",
        type=lambda text: [name for name in text.split(",") if name],
        default=list(IMPLEMENTATIONS),
        help="comma-separated among " + ", ".join(IMPLEMENTATIONS),
    )
    parser.add_argument("--rounds", type=bench_proxy.positive, default=3, help="wrk runs each (3)")
    parser.add_argument("--duration", type=bench_proxy.positive, default=8, help="seconds per round (8)")
    parser.add_argument("--connections", type=bench_proxy.positive, default=50, help="wrk connections (50)")
    parser.add_argument(
        "--pin", action="store_true", help="workers on CPU 0; backends and wrk on CPU 1 (2 cores or more)"
    )
    parser.add_argument("--before", default="", help="a command run before the rounds, {pids} replaced")
    parser.add_argument("--during", default="", help="a command run during one more round, {pids} replaced")
    parser.add_argument("--logs", type=Path, help="keep the configurations and logs in this directory")
    options = parser.parse_args(argv)
    if not set(options.only) <= set(IMPLEMENTATIONS):
        parser.error(f"--only: among {', '.join(IMPLEMENTATIONS)}")
    return options


def main(argv: list[str]) -> int:
    return harness.run("l7_counters", parse(argv), bench, bench_proxy.missing, (AssertionError, RuntimeError))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
