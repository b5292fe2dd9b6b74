"""A pair of load-balancer nodes on a `tests.topology` LAN for the `hapair node` tests: two nodes (hapair
node on both, or hapair node on the first and keepalived + nginx on the second), a backend answering its
name on 8080 (tests/system/proxy_backend.py) and a client. The nodes' proxy listens on the wildcard
address, port 8080, and forwards to the backend; their keepalived.conf holds one instance with the VIP."""

from __future__ import annotations

import itertools
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.certificates import Authority
from tests.system.mixed import KEEPALIVED
from tests.topology import HAPAIR, Daemon, Host, Lan, wait_until

VIP = "10.101.1.10"
NODE_ADDRESSES = ("10.101.1.11", "10.101.1.12")
BACKEND = "10.101.1.104"
CLIENT = "10.101.1.100"
PRIORITIES = (150, 120)  # node 1 below node 2 once the backends weight (-50) counts
INSTANCE = "VI_1"
MASTER = f"({INSTANCE}) Entering MASTER STATE"
BACKUP = f"({INSTANCE}) Entering BACKUP STATE"
FAULT = f"({INSTANCE}) Entering FAULT STATE"
NGINX = "/usr/sbin/nginx"
BACKEND_SCRIPT = str(Path(__file__).with_name("proxy_backend.py"))
PROBER = str(Path(__file__).with_name("vip_prober.py"))
PROBE_INTERVAL_S = 0.02
START_TIMEOUT_S = 40  # a loaded machine: the proxy first, then VRRP, then 3 adverts


def keepalived_conf(priority: int, *, check_script: str | None = None) -> str:
    tracking = ""
    if check_script is not None:
        tracking = (
            f'vrrp_script check_proxy {{\n    script "{check_script}"\n    interval 1\n    fall 1\n}}\n'
        )
    track = "    track_script {\n        check_proxy\n    }\n" if check_script else ""
    return (
        "global_defs {\n    script_user root\n}\n"
        f"{tracking}"
        f"vrrp_instance {INSTANCE} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 61\n"
        f"    priority {priority}\n    advert_int 1\n"
        f"    virtual_ipaddress {{\n        {VIP}/24\n    }}\n{track}}}\n"
    )


def nginx_conf(directory: Path, name: str) -> str:
    return (
        f"pid {directory}/{name}-nginx.pid;\nerror_log {directory}/{name}-error.log notice;\n"
        "worker_processes 2;\nevents {}\n"
        "http {\n"
        f"    access_log {directory}/{name}-access.log;\n"
        f"    upstream backends {{\n        server {BACKEND}:8080 max_fails=1;\n    }}\n"
        "    server {\n        listen 8080;\n        location / {\n            proxy_pass http://backends;\n"
        "            proxy_connect_timeout 1s;\n        }\n    }\n"
        "}\n"
    )


@dataclass
class NodeHost:
    host: Host
    number: int
    daemons: list[Daemon]

    @property
    def daemon(self) -> Daemon:
        return self.daemons[0]


class Pair:
    """The LAN's hosts and the nodes' daemons."""

    def __init__(self, lan: Lan, directory: Path) -> None:
        self.lan = lan
        self.directory = directory
        self.client = lan.host("client", CLIENT)
        self.backend_host = lan.host("web", BACKEND)
        authority = Authority(directory)
        cert, key = authority.issue("backend")
        self.backend = self.backend_host.start(
            [sys.executable, BACKEND_SCRIPT, "web", str(cert), str(key), str(authority.certificate)],
            log_name="web.log",
        )
        self.hosts = [lan.host(f"n{i + 1}", address) for i, address in enumerate(NODE_ADDRESSES)]
        self.nodes: dict[int, NodeHost] = {}

    def start_hapair(self, number: int, *extra: str) -> Daemon:
        """`hapair node` on node `number` (1 or 2)."""
        name = f"n{number}"
        conf = self.directory / f"{name}-keepalived.conf"
        conf.write_text(keepalived_conf(PRIORITIES[number - 1]))
        nginx = self.directory / f"{name}-nginx.conf"
        nginx.write_text(nginx_conf(self.directory, name))
        command = [HAPAIR, "node", "-n", "-l", "-G", "-f", str(conf), "-c", str(nginx),
                   "--pid", str(self.directory / f"{name}.pid"), *extra]  # fmt: skip
        daemon = self.hosts[number - 1].start(command, log_name=f"{name}-node.log")
        self.nodes[number] = NodeHost(self.hosts[number - 1], number, [daemon])
        return daemon

    def start_keepalived_nginx(self, number: int) -> Daemon:
        """keepalived 2.2.7 and nginx 1.22 on node `number`, the VRRP side tracking nginx with a script."""
        name = f"n{number}"
        check = self.directory / f"{name}-check.sh"
        check.write_text("#!/bin/bash\nexec 3<>/dev/tcp/127.0.0.1/8080\n")  # keepalived has its own PIDs
        check.chmod(0o755)
        conf = self.directory / f"{name}-keepalived.conf"
        conf.write_text(keepalived_conf(PRIORITIES[number - 1], check_script=str(check)))
        nginx = self.directory / f"{name}-nginx.conf"
        nginx.write_text(nginx_conf(self.directory, name))
        host = self.hosts[number - 1]
        proxy = host.start([NGINX, "-c", str(nginx), "-g", "daemon off;"], log_name=f"{name}-nginx.log")
        args = [KEEPALIVED, "-n", "-l", "-D", "-G", "-P", "-f", str(conf)]
        for flag in "prcb":
            args += [f"-{flag}", str(self.directory / f"{name}{flag}.pid")]
        vrrp = host.start(args, log_name=f"{name}-keepalived.log", isolated=True)
        self.nodes[number] = NodeHost(host, number, [vrrp, proxy])
        return vrrp

    def holder(self) -> int | None:
        """The node that has the VIP (None: neither, or both for the moment of a hand-over: a preempting
        master adds it before the old one, hearing its advert, removes it)."""
        held = [n for n, host in enumerate(self.hosts, 1) if VIP in host.addresses()]
        return held[0] if len(held) == 1 else None

    def wait_holder(self, number: int, timeout: float = START_TIMEOUT_S) -> None:
        wait_until(lambda: self.holder() == number, timeout, f"node {number} to hold the VIP")

    def get(self) -> str | None:
        """The client's request to the VIP: the backend's answer, or None."""
        result = self.client.run(["curl", "-sS", "-m", "2", f"http://{VIP}:8080/"])
        return result.stdout.strip() if result.returncode == 0 else None

    def proxy_pids(self, number: int) -> list[int]:
        """The pids of node `number`'s proxy processes (`hapair node`'s child and its children)."""
        master = self.proxy_master(number)
        if master is None:
            return []
        return [master, *_children(master)]

    def proxy_master(self, number: int) -> int | None:
        node = self.nodes[number].daemon
        children = _children(node.pid)
        return children[0] if children else None

    def signal_proxy(self, number: int, signum: signal.Signals) -> list[int]:
        pids = self.proxy_pids(number)
        for pid in pids:
            os.kill(pid, signum)
        return pids

    def cut_backends(self, number: int) -> None:
        """Node `number` can no longer reach the backend (an unreachable route: connections fail)."""
        self.hosts[number - 1].namespace.ip("route", "add", "unreachable", f"{BACKEND}/32")

    def restore_backends(self, number: int) -> None:
        self.hosts[number - 1].namespace.ip("route", "del", "unreachable", f"{BACKEND}/32")


@dataclass(frozen=True)
class Request:
    sent: float
    received: float
    ok: bool


class Prober:
    """tests/system/vip_prober.py on the client: a request to the VIP every 20 ms."""

    def __init__(self, pair: Pair, timeout: float) -> None:
        self.daemon = pair.client.start(
            [sys.executable, PROBER, VIP, "8080", str(PROBE_INTERVAL_S), str(timeout)], log_name="prober.log"
        )
        self.started = time.monotonic()

    def requests(self) -> list[Request]:
        found = []
        for line in self.daemon.lines():
            words = line.split()
            if len(words) >= 3 and words[2] in ("ok", "fail"):
                found.append(Request(float(words[0]), float(words[1]), words[2] == "ok"))
        return sorted(found, key=lambda r: r.sent)

    def wait_answered(self, after: float, timeout: float = 10) -> None:
        """Until a request sent after `after` was answered."""
        wait_until(lambda: any(r.ok and r.sent > after for r in self.requests()), timeout, "an answer")

    def stop(self) -> None:
        self.daemon.signal(signal.SIGKILL)
        self.daemon.process.wait(10)


def longest_gap(requests: list[Request], start: float, end: float) -> float:
    """The longest time between two requests answered (by their send times) from `start` to `end`."""
    times = [start, *(r.sent for r in requests if r.ok and start < r.sent < end), end]
    return max(b - a for a, b in itertools.pairwise(times))


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found
