"""`hapair proxy --metrics`: a master and two workers scraped during proxied traffic (200s, a 404, a dead
peer among live ones, a stream session). Every counter must have moved exactly as the traffic did, which
the access logs tell ($status, $request_length, $bytes_sent, $upstream_addr and $upstream_status; the
stream's bytes), whichever worker served what; the totals must survive a worker killed with SIGKILL and a
reload that changes the servers; without --metrics, no board is made."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import socketserver
import subprocess
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from hapair.lab.processes import ProcessId, wait_gone
from tests.proxy.processes import HAPAIR, TIMEOUT_S, Backend, free_port, get, open_directory
from tests.topology import wait_until

Sample = tuple[str, tuple[tuple[str, str], ...]]
LOG_FORMAT = '$server_name $status $request_length $bytes_sent "$upstream_addr" "$upstream_status"'


class Echo(socketserver.ThreadingTCPServer):
    """A stream backend that sends back what it reads."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                while data := self.request.recv(4096):
                    self.request.sendall(data)

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()


class Proxy:
    """`hapair proxy -g 'daemon off;'` on a configuration of its own, with or without --metrics."""

    def __init__(self, directory: Path, *, metrics: bool = True, single: bool = False) -> None:
        self.directory = directory
        self.single = single  # `master_process off`
        self.conf = directory / "nginx.conf"
        self.port, self.stream_port, self.other_port = free_port(), free_port(), free_port()
        self.metrics_port = free_port() if metrics else None
        self.process: subprocess.Popen[bytes] | None = None

    def write(self, backends: list[int], dead: int, echo: int, *, other_server: bool = False) -> None:
        servers = "".join(f"server 127.0.0.1:{port};" for port in backends)
        other = (
            f"server {{ listen 127.0.0.1:{self.other_port}; server_name other.test; return 204; }}"
            if other_server
            else ""
        )
        self.conf.write_text(
            f"{'master_process off;' if self.single else ''}\n"
            "worker_processes 2; error_log logs/error.log notice; pid logs/proxy.pid; events {}\n"
            "http {\n"
            f"  log_format m '{LOG_FORMAT}';\n"
            "  access_log logs/access.log m;\n"
            f"  upstream app {{ server 127.0.0.1:{dead} max_fails=1 fail_timeout=60s; {servers} }}\n"
            f"  server {{ listen 127.0.0.1:{self.port}; server_name app.test;\n"
            "    location / { proxy_pass http://app; } location = /missing { return 404; } }\n"
            f"  {other}\n"
            "}\n"
            "stream {\n  log_format s '$bytes_received $bytes_sent';\n"
            f"  server {{ listen 127.0.0.1:{self.stream_port}; proxy_pass 127.0.0.1:{echo};"
            " access_log logs/stream.log s; }\n}\n"
        )

    def start(self) -> None:
        extra = ["--metrics", f"127.0.0.1:{self.metrics_port}"] if self.metrics_port is not None else []
        command = [HAPAIR, "proxy", "-p", f"{self.directory}/", "-c", str(self.conf), "-g", "daemon off;"]
        self.process = subprocess.Popen([*command, *extra], stderr=subprocess.DEVNULL)
        wait_until((self.directory / "logs" / "proxy.pid").exists, TIMEOUT_S, "the pid file")
        if not self.single:
            wait_until(lambda: len(self.workers()) == 2, TIMEOUT_S, "two workers")

    @property
    def master(self) -> int:
        assert self.process is not None
        return self.process.pid

    def workers(self) -> set[int]:
        children = Path(f"/proc/{self.master}/task/{self.master}/children")
        return {int(pid) for pid in children.read_text().split()} if children.exists() else set()

    def scrape(self) -> dict[Sample, float]:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            text = response.read().decode()
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def log_lines(self, name: str) -> list[str]:
        path = self.directory / "logs" / name
        return path.read_text().splitlines() if path.exists() else []

    def stop(self) -> None:
        if self.process is None:
            return
        workers = [ProcessId.of(pid) for pid in self.workers()]
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if not wait_gone(workers, TIMEOUT_S):
            for worker in workers:
                worker.signal(signal.SIGKILL)


@contextlib.contextmanager
def proxy_in_front(
    *, metrics: bool = True, single: bool = False
) -> Iterator[tuple[Proxy, list[Backend], Echo, int]]:
    directory = open_directory()
    backends = [Backend("one"), Backend("two")]
    echo = Echo()
    dead = free_port()  # nothing listens there
    instance = Proxy(directory, metrics=metrics, single=single)
    instance.write([backend.port for backend in backends], dead, echo.port)
    try:
        instance.start()
        yield instance, backends, echo, dead
    finally:
        instance.stop()
        for backend in backends:
            backend.close()
        echo.shutdown()
        echo.server_close()
        shutil.rmtree(directory, ignore_errors=True)


def stream_session(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
        sock.sendall(data)
        received = b""
        while len(received) < len(data):
            received += sock.recv(4096)
        assert received == data


def traffic(instance: Proxy, *, requests: int) -> None:
    """`requests` GETs of / (each on its own connection), one of /missing, one stream session; returns
    once every one is in the logs."""
    http_before = len(instance.log_lines("access.log"))
    stream_before = len(instance.log_lines("stream.log"))
    for _ in range(requests):
        assert get(instance.port)[0] == 200
    assert get(instance.port, "/missing")[0] == 404
    stream_session(instance.stream_port, b"hello, stream")
    wait_until(lambda: len(instance.log_lines("access.log")) == http_before + requests + 1, TIMEOUT_S, "log")
    wait_until(lambda: len(instance.log_lines("stream.log")) == stream_before + 1, TIMEOUT_S, "stream log")


def idle(instance: Proxy) -> dict[Sample, float]:
    """A scrape once no connection is open any more."""
    return wait_until(  # type: ignore[return-value]
        lambda: (
            (found := instance.scrape())[("hapair_proxy_connections", (("state", "active"),))] == 0 and found
        ),
        TIMEOUT_S,
        "no active connection",
    )


def expected(instance: Proxy) -> dict[Sample, float]:
    """What the access logs say the counters must be."""
    ports = {"app.test": instance.port, "other.test": instance.other_port}
    counts: Counter[Sample] = Counter()
    lines = instance.log_lines("access.log")
    for line in lines:
        name, status, length, sent, rest = line.split(" ", 4)
        server = (("listen", f"127.0.0.1:{ports[name]}"), ("server", name))
        counts[("hapair_proxy_http_request_duration_seconds_count", server)] += 1
        addresses, statuses = (part.strip('"') for part in rest.split('" "'))
        counts[("hapair_proxy_http_requests_total", (("code", f"{status[0]}xx"), *server))] += 1
        counts[("hapair_proxy_http_received_bytes_total", server)] += int(length)
        counts[("hapair_proxy_http_sent_bytes_total", server)] += int(sent)
        if addresses == "-":
            continue
        for address, upstream_status in zip(addresses.split(", "), statuses.split(", "), strict=True):
            peer = (("peer", address), ("upstream", "app"))
            counts[
                ("hapair_proxy_upstream_responses_total", (("code", f"{upstream_status[0]}xx"), *peer))
            ] += 1
            if upstream_status == "502":
                counts[("hapair_proxy_upstream_failures_total", peer)] += 1
    sessions = instance.log_lines("stream.log")
    stream = (("server", f"127.0.0.1:{instance.stream_port}"),)
    counts[("hapair_proxy_stream_sessions_total", stream)] = len(sessions)
    counts[("hapair_proxy_stream_received_bytes_total", stream)] = sum(int(s.split()[0]) for s in sessions)
    counts[("hapair_proxy_stream_sent_bytes_total", stream)] = sum(int(s.split()[1]) for s in sessions)
    connections = len(lines) + len(sessions)
    counts[("hapair_proxy_connections_accepted_total", ())] = connections
    counts[("hapair_proxy_connections_handled_total", ())] = connections
    return dict(counts)


def counters(scraped: dict[Sample, float]) -> dict[Sample, float]:
    """The samples that only grow (gauges left out)."""
    return {
        key: value
        for key, value in scraped.items()
        if key[0].endswith(("_total", "_bucket", "_count", "_sum")) and value
    }


def assert_moved_as_logged(instance: Proxy, scraped: dict[Sample, float]) -> None:
    wanted = expected(instance)
    got = {key: scraped.get(key, 0.0) for key in wanted}
    assert got == wanted
    moved = {key for key, value in counters(scraped).items() if not key[0].endswith(("_bucket", "_sum"))}
    assert moved <= set(wanted)  # nothing else counted


def test_the_counters_move_as_the_traffic_did_and_the_dead_peer_is_down() -> None:
    with proxy_in_front() as (instance, backends, _, dead):
        traffic(instance, requests=8)
        scraped = idle(instance)
        assert_moved_as_logged(instance, scraped)
        tried = scraped[
            ("hapair_proxy_upstream_failures_total", (("peer", f"127.0.0.1:{dead}"), ("upstream", "app")))
        ]
        assert tried >= 1  # each worker tries it first (round-robin), then skips it for 60 s
        up = {
            dict(labels)["peer"]: value
            for (name, labels), value in scraped.items()
            if name == "hapair_proxy_upstream_peer_up"
        }
        assert up == {f"127.0.0.1:{dead}": 0, **{f"127.0.0.1:{backend.port}": 1 for backend in backends}}
        server = (("listen", f"127.0.0.1:{instance.port}"), ("server", "app.test"))
        infinite = scraped[("hapair_proxy_http_request_duration_seconds_bucket", (("le", "+Inf"), *server))]
        assert infinite == 9


def test_the_totals_survive_a_killed_worker_and_a_reload_that_changes_the_servers() -> None:
    with proxy_in_front() as (instance, backends, echo, dead):
        traffic(instance, requests=4)
        before = counters(idle(instance))
        killed = min(instance.workers())
        ProcessId.of(killed).signal(signal.SIGKILL)
        wait_until(
            lambda: killed not in instance.workers() and len(instance.workers()) == 2, TIMEOUT_S, "respawn"
        )
        assert counters(idle(instance)) == before
        old = instance.workers()
        instance.write([backend.port for backend in backends], dead, echo.port, other_server=True)
        instance.process.send_signal(signal.SIGHUP)  # type: ignore[union-attr]
        wait_until(
            lambda: not (instance.workers() & old) and len(instance.workers()) == 2, TIMEOUT_S, "reload"
        )
        assert counters(idle(instance)) == before
        traffic(instance, requests=3)
        assert get(instance.other_port)[0] == 204
        wait_until(lambda: len(instance.log_lines("access.log")) == 10, TIMEOUT_S, "the other server's line")
        assert_moved_as_logged(instance, idle(instance))


def test_the_one_process_of_master_process_off_serves_its_metrics_too() -> None:
    with proxy_in_front(single=True) as (instance, *_):
        traffic(instance, requests=3)
        assert_moved_as_logged(instance, idle(instance))


def test_a_board_is_made_only_with_metrics() -> None:
    with proxy_in_front(metrics=False) as (instance, *_):
        for pid in (instance.master, *instance.workers()):
            maps = Path(f"/proc/{pid}/maps").read_text()
            assert "hapair-metrics" not in maps and "hapair-status" not in maps
    with proxy_in_front() as (instance, *_):
        for pid in (instance.master, *instance.workers()):
            maps = Path(f"/proc/{pid}/maps").read_text()
            assert "memfd:hapair-metrics" in maps and "memfd:hapair-status" in maps


def test_a_metrics_address_in_use_fails_the_start_as_a_listen_would(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        conf = tmp_path / "nginx.conf"
        (tmp_path / "logs").mkdir()
        conf.write_text(
            f"error_log logs/error.log; events {{}} http {{ server {{ listen 127.0.0.1:{free_port()}; }} }}"
        )
        done = subprocess.run(
            [HAPAIR, "proxy", "-p", f"{tmp_path}/", "-c", str(conf), "--metrics", f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S * 2,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr == f"nginx: [emerg] bind() to 127.0.0.1:{port} failed (98: Address already in use)\n"
