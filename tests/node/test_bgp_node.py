"""`hapair node --bgp`: the node's native trackers drive hapair bgp's announcers in the same process.
One node in a namespace of its own, with ExaBGP's text API as the speaker (the announce and withdraw
lines on its standard output), its proxy listening on the loopback in front of a backend there.

Each fault is withdrawn through the tracker that sees it, which the reason logged with the withdraw
names: a killed master from its exit (pidfd), a stopped proxy from the worker health exchange,
unreachable backends from their connections; the drain and the stop withdraw before the proxy stops."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.netns import Namespace, missing_requirements
from tests.topology import HAPAIR, wait_until

VIP = "10.9.9.9"
ANNOUNCE = f"announce route {VIP}/32 next-hop self"
WITHDRAW = f"withdraw route {VIP}/32 next-hop self"
BACKEND = (  # answers every request, /slow after SLOW_S (saying so on its standard output when it starts)
    "import http.server, socketserver, sys, time\n"
    "class Handler(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        if self.path == '/slow':\n"
    "            print('slow request', flush=True); time.sleep(%s)\n"
    "        self.send_response(200); self.send_header('Content-Length', '2'); self.end_headers()\n"
    "        self.wfile.write(b'ok')\n"
    "    def log_message(self, *args): pass\n"
    "socketserver.ThreadingTCPServer.allow_reuse_address = True\n"
    "socketserver.ThreadingTCPServer(('127.0.0.1', 8081), Handler).serve_forever()\n"
)
SLOW_S = 1.0
METRICS_PORT = 9477


@dataclass
class Node:
    namespace: Namespace
    directory: Path
    process: subprocess.Popen[bytes]
    backend: subprocess.Popen[bytes] | None = None

    def stdout(self) -> list[str]:
        return (self.directory / "stdout").read_text().splitlines()

    def log(self) -> list[str]:
        text = (self.directory / "stderr").read_text(errors="replace")
        return [line.split(": ", 1)[-1] for line in text.splitlines()]

    def wait_log(self, text: str, after: int = 0, timeout: float = 30) -> int:
        def found() -> int | None:
            lines = self.log()
            return next((i + 1 for i in range(after, len(lines)) if text in lines[i]), None)

        return int(wait_until(found, timeout, f"{text!r} in the node's log", interval=0.05)) - 1

    def announced(self) -> bool:
        lines = self.stdout()
        return bool(lines) and lines[-1] == ANNOUNCE

    def wait_announced(self) -> None:
        wait_until(lambda: self.announced() or None, 30, "the VIP announced", interval=0.05)

    def proxy_pids(self) -> list[int]:
        """The proxy master (the node's child running `hapair proxy`, not one reading a configuration) and
        its workers."""
        masters = [pid for pid in _children(self.process.pid) if _runs_the_proxy(pid)]
        return [*masters, *(pid for master in masters for pid in _children(master))]

    def bgp(self, action: str) -> list[str]:
        result = subprocess.run(
            [HAPAIR, "bgp", "-c", str(self.directory / "bgp.conf"), action],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout.splitlines()

    def status(self) -> dict[str, Any]:
        """The VIP's entry in `hapair status --json` on the node's control socket."""
        socket = str(self.directory / "bgp.sock")
        result = subprocess.run(
            [HAPAIR, "status", "--json", "--socket", socket], capture_output=True, text=True, check=True
        )
        [vip] = json.loads(result.stdout)["vips"]
        return dict(vip)

    def metrics(self) -> dict[str, float]:
        """The node's /metrics: each sample's name with its labels' values (in the labels' name order), and
        its value."""
        url = f"http://127.0.0.1:{METRICS_PORT}/metrics"
        command = ["ip", "netns", "exec", self.namespace.name, "curl", "-sf", url]
        text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        return {
            ",".join([sample.name, *sample.labels.values()]): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def start_backend(self) -> None:
        command = [sys.executable, "-c", BACKEND % SLOW_S]
        self.backend = _in(self.namespace, command, self.directory / "backend.log")


def _runs_the_proxy(pid: int) -> bool:
    try:
        return b"\0proxy\0" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _in(
    namespace: Namespace, command: list[str], log: Path, stdout: Path | None = None
) -> subprocess.Popen[bytes]:
    with open(log, "ab") as errors, open(stdout or log, "ab") as output:
        return subprocess.Popen(
            ["ip", "netns", "exec", namespace.name, *command],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=errors,
        )


def nginx_conf(directory: Path) -> str:
    return (
        f"pid {directory}/nginx.pid;\nerror_log {directory}/error.log notice;\n"
        "worker_processes 2;\nevents {}\n"
        "http {\n    access_log off;\n    upstream backends { server 127.0.0.1:8081; }\n"
        "    server { listen 127.0.0.1:8080; location / { proxy_pass http://backends; } }\n}\n"
    )


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("bgpnode")
    directory.chmod(0o755)  # the workers (nobody) open nothing here, but the master's pid file is
    (directory / "nginx.conf").write_text(nginx_conf(directory))
    (directory / "bgp.conf").write_text(
        f"speaker exabgp\ncontrol {directory}/bgp.sock\ndrain_settle 100ms\nvip {VIP}\n"
    )
    namespace = Namespace.create()
    try:
        command = [HAPAIR, "node", "--bgp", str(directory / "bgp.conf"), "-n", "-l", "-G"]
        command += ["-c", str(directory / "nginx.conf"), "--pid", str(directory / "node.pid")]
        command += ["--metrics", f"127.0.0.1:{METRICS_PORT}"]
        node = Node(namespace, directory, _in(namespace, command, directory / "stderr", directory / "stdout"))
        node.start_backend()
        node.wait_announced()
        yield node
        node.process.send_signal(signal.SIGTERM)
        node.process.wait(30)
    finally:
        namespace.kill_processes()
        namespace.delete()


def test_a_killed_proxy_is_withdrawn_from_its_exit_then_announced_again(node: Node) -> None:
    """The master's exit (pidfd) or its workers' channels closing, whichever the node sees first, takes
    the `proxy` tracker down and withdraws in the same callback: no probe period in between."""
    after = len(node.log())
    for pid in node.proxy_pids():
        os.kill(pid, signal.SIGKILL)
    withdrawn = node.wait_log(f"withdraw {VIP}: proxy down: ", after)
    assert node.log()[withdrawn - 1] == "hapair tracker proxy is down"
    assert node.log()[withdrawn].split(": ")[-1] in ("proxy master gone", "no worker connected")
    assert WITHDRAW in node.stdout()
    node.wait_announced()  # restarted by the node, announced once its workers join


def test_a_stopped_proxy_is_withdrawn_by_the_health_exchange(node: Node) -> None:
    after = len(node.log())
    pids = node.proxy_pids()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        node.wait_log(f"withdraw {VIP}: proxy_serving down: a worker or listener does not answer", after)
        assert node.stdout()[-1] == WITHDRAW
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    node.wait_announced()


def test_unreachable_backends_are_withdrawn(node: Node) -> None:
    assert node.backend is not None
    after = len(node.log())
    node.backend.kill()
    node.backend.wait()
    node.wait_log(f"withdraw {VIP}: backends down: no backend reachable", after)
    node.start_backend()
    node.wait_log(f"announce {VIP}: all sources up (last: backends up: a backend is reachable)", after)


def test_drain_withdraws_then_stops_the_proxy_and_undrain_starts_it(node: Node) -> None:
    node.wait_announced()
    master = node.proxy_pids()[0]
    said = node.bgp("drain")
    assert said[0].startswith(f"{VIP} withdrawn at ")
    assert said[1].startswith(f"proxy {master} asked to stop at ")
    assert said[2].startswith(f"proxy {master} stopped at ")
    assert node.stdout()[-1] == WITHDRAW
    assert node.proxy_pids() == []
    assert node.bgp("status")[0].endswith(": drained by the administrator")
    node.bgp("undrain")
    node.wait_announced()
    assert node.proxy_pids()[0] != master


def test_drain_waits_for_a_request_in_flight(node: Node) -> None:
    """The proxy's graceful stop lets a request under way finish: the drain's stop comes after it."""
    node.wait_announced()
    log = node.directory / "backend.log"
    before = log.read_text().count("slow request")
    curl = subprocess.Popen(
        ["ip", "netns", "exec", node.namespace.name, "curl", "-s", "-m", "30", "http://127.0.0.1:8080/slow"],
        stdout=subprocess.PIPE,
    )
    wait_until(lambda: log.read_text().count("slow request") > before or None, 30, "the slow request")
    said = node.bgp("drain")
    answer, _ = curl.communicate(timeout=30)
    assert (curl.returncode, answer) == (0, b"ok")
    assert said[2].startswith("proxy ") and " stopped at " in said[2]
    node.bgp("undrain")
    node.wait_announced()


def test_status_and_metrics_say_why_as_the_cause_changes(node: Node) -> None:
    """Withdrawn for a stopped proxy, then (the proxy continued) for the backends, then announced:
    `hapair status --json` and /metrics follow each cause."""
    assert node.backend is not None
    node.wait_announced()
    assert node.status()["announced"] is True
    assert node.metrics()[f"hapair_bgp_vip_announced,{VIP}"] == 1
    after = len(node.log())
    pids = node.proxy_pids()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        node.wait_log(f"withdraw {VIP}: proxy_serving down", after)
        stopped = node.status()
        assert (stopped["announced"], stopped["cause"]) == (False, "proxy_serving")
        assert stopped["why"] == "proxy_serving down: a worker or listener does not answer"
        assert node.metrics()[f"hapair_bgp_vip_withdrawn_by,proxy_serving,{VIP}"] == 1
        node.backend.kill()
        node.backend.wait()
        node.wait_log("hapair tracker backends is down", after)
        assert node.status()["why"] == stopped["why"]  # still the cause
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    node.wait_log("hapair tracker proxy_serving is up", after)
    unreachable = node.status()
    assert (unreachable["announced"], unreachable["cause"]) == (False, "backends")
    assert unreachable["why"] == "backends down: no backend reachable"
    assert unreachable["since"] > stopped["since"]
    seen = node.metrics()
    assert seen[f"hapair_bgp_vip_withdrawn_by,backends,{VIP}"] == 1
    assert f"hapair_bgp_vip_withdrawn_by,proxy_serving,{VIP}" not in seen
    assert seen[f"hapair_bgp_source_up,proxy_serving,{VIP}"] == 1
    assert seen[f"hapair_bgp_vip_since_seconds,{VIP}"] == unreachable["since"]
    node.start_backend()
    node.wait_announced()
    announced = node.status()
    assert (announced["announced"], announced["cause"]) == (True, None)
    assert announced["why"] == "all sources up (last: backends up: a backend is reachable)"
    assert node.metrics()[f"hapair_bgp_vip_announced,{VIP}"] == 1


def test_sigterm_withdraws_before_the_proxy_stops(node: Node) -> None:
    """Last: the node stops; `hapair status --follow` sees the VIP announced, then its withdrawal, then the
    end."""
    node.wait_announced()
    follower = subprocess.Popen(
        [HAPAIR, "status", "--follow", "--socket", str(node.directory / "bgp.sock")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert follower.stdout is not None
    first = json.loads(follower.stdout.readline())
    after = len(node.log())
    node.process.send_signal(signal.SIGTERM)
    assert node.process.wait(30) == 0
    output, _ = follower.communicate(timeout=30)
    assert follower.returncode == 0
    assert (first["kind"], first["name"], first["state"], first["current"]) == ("vip", VIP, "announced", True)
    assert [(e["state"], e["why"]) for e in map(json.loads, output.splitlines())] == [
        ("withdrawn", "hapair bgp stopping")
    ]
    lines = node.log()[after:]
    withdrawn = lines.index(f"withdraw {VIP}: hapair bgp stopping")
    stopped = next(i for i, line in enumerate(lines) if line.startswith("Proxy master (PID"))
    assert withdrawn < stopped
    assert node.stdout()[-1] == WITHDRAW
