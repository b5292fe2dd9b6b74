"""A pair of `hapair node`s whose master's proxy is saturated by wrk, for `--seconds` (600 by default, issue
14's ten minutes): does the VIP stay where it is? A tracker that mistook a busy proxy for a dead or hung
one would move it, and moving it under load is the worst time.

    sudo .venv/bin/python bench/saturation.py [--seconds 600]

The LAN is tests/system/node_pair.py's (the VIP 10.101.1.10, node 1 at priority 150 and master, node 2 at
120, native tracking at its defaults), with nginx as the backend answering `return 200` (so that the proxy,
not the backend, is what saturates) and wrk on the client (`-t2 -c200`) through the VIP. Printed: the
requests wrk got through, the CPU the node's proxy used (its master and workers, from /proc, as a share of
the run's wall time on the machine's cores), and every VRRP state change either node logged during the
run: none means the VIP never moved.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import harness  # noqa: E402  (bench/, the script's own directory)
from tests.system.node_pair import (  # noqa: E402
    BACKEND,
    CLIENT,
    MASTER,
    NGINX,
    NODE_ADDRESSES,
    PRIORITIES,
    VIP,
    keepalived_conf,
    nginx_conf,
)
from tests.topology import HAPAIR, Daemon, Host, Lan, missing_lab_requirements, wait_until  # noqa: E402

STATE_LINES = ("Entering MASTER STATE", "Entering BACKUP STATE", "Entering FAULT STATE")
START_TIMEOUT_S = 60


def backend_conf(directory: Path) -> str:
    return (
        f"pid {directory}/web.pid;\nerror_log {directory}/web-error.log;\nworker_processes 1;\nevents {{}}\n"
        f"http {{ access_log off; server {{ listen {BACKEND}:8080; location / {{ return 200 ok; }} }} }}\n"
    )


def start_node(lan: Lan, host: Host, number: int) -> Daemon:
    directory = lan.directory
    name = f"n{number}"
    conf = directory / f"{name}-keepalived.conf"
    conf.write_text(keepalived_conf(PRIORITIES[number - 1]))
    nginx = directory / f"{name}-nginx.conf"
    nginx.write_text(nginx_conf(directory, name))
    command = [HAPAIR, "node", "-n", "-l", "-G", "-f", str(conf), "-c", str(nginx),
               "--pid", str(directory / f"{name}.pid")]  # fmt: skip
    return host.start(command, log_name=f"{name}-node.log")


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes and their reaped children, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(field) for field in fields[11:15])  # utime, stime, cutime, cstime
    return total / ticks


def proxy_pids(node: Daemon) -> list[int]:
    """The node's proxy master (its child) and the master's workers."""
    pids: list[int] = []
    for child in _children(node.pid):
        pids += [child, *_children(child)]
    return pids


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def state_changes(daemon: Daemon, after: int) -> list[str]:
    return [line for line in daemon.lines()[after:] if any(state in line for state in STATE_LINES)]


def bench(options: argparse.Namespace, report: Callable[[str], None]) -> list[str]:
    with (
        tempfile.TemporaryDirectory(prefix="hapair-saturation-") as temporary,
        harness.laboratory(Path(temporary)) as lan,
    ):
        client, web = lan.host("client", CLIENT), lan.host("web", BACKEND)
        (lan.directory / "web.conf").write_text(backend_conf(lan.directory))
        web.start([NGINX, "-c", str(lan.directory / "web.conf"), "-g", "daemon off;"], log_name="web.log")
        hosts = [lan.host(f"n{i + 1}", address) for i, address in enumerate(NODE_ADDRESSES)]
        nodes = [start_node(lan, host, number) for number, host in enumerate(hosts, 1)]
        nodes[0].wait_for(MASTER, START_TIMEOUT_S)
        wait_until(lambda: VIP in hosts[0].addresses(), START_TIMEOUT_S, "node 1 to hold the VIP")
        marks = [len(node.lines()) for node in nodes]
        proxy = proxy_pids(nodes[0])
        cpu_before, started = cpu_seconds(proxy), time.monotonic()
        report(f"wrk through the VIP for {options.seconds} s")
        ran = client.run(["wrk", "-t2", "-c200", f"-d{options.seconds}s", f"http://{VIP}:8080/"],
                         timeout=options.seconds + 120)  # fmt: skip
        elapsed = time.monotonic() - started
        used = cpu_seconds(proxy_pids(nodes[0])) - cpu_before
        changes = [
            f"node {n}: {line}"
            for n, node in enumerate(nodes, 1)
            for line in state_changes(node, marks[n - 1])
        ]
        holder = 1 if VIP in hosts[0].addresses() else 2 if VIP in hosts[1].addresses() else None
        summary = [
            line.strip()
            for line in ran.stdout.splitlines()
            if "Requests/sec" in line or "requests in" in line
        ]
        share = used / (elapsed * (os.cpu_count() or 1))
        now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        return [
            f"{options.seconds} s of wrk -t2 -c200 through the VIP on node 1's proxy ({now})",
            *summary,
            f"node 1's proxy: {used:.0f} s of CPU in {elapsed:.0f} s, {share:.0%} of {os.cpu_count()} cores",
            f"VRRP state changes during the run: {len(changes)}",
            *changes,
            f"the VIP is on node {holder} at the end",
        ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=600)
    return harness.run(
        "saturation", parser.parse_args(argv), bench, missing_lab_requirements, (AssertionError, OSError)
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
