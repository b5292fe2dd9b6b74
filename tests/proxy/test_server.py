"""The process model with real processes: `hapair proxy -c FILE -p PREFIX` on 127.0.0.1, in front of
backends served by threads of the test, stopped and reloaded by signals as nginx is."""

from __future__ import annotations

import http.client
import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.topology import wait_until

HAPAIR = str(Path(sys.executable).with_name("hapair"))
TIMEOUT_S = 10


class Backend:
    """An HTTP server answering its name; `/slow` answers only once `release` is set."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.release = threading.Event()
        self.slow_started = threading.Event()
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path == "/slow":
                    backend.slow_started.set()
                    backend.release.wait(TIMEOUT_S)
                body = backend.name.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proxy:
    """`hapair proxy` running on a configuration written in `prefix`."""

    def __init__(self, prefix: Path, backend: Backend, workers: int | str = 2) -> None:
        self.prefix = prefix
        self.port = free_port()
        self.workers = workers
        (prefix / "logs").mkdir()
        self.conf = prefix / "nginx.conf"
        self.write_config(backend)
        self.console = open(prefix / "console.txt", "wb")  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            [HAPAIR, "proxy", "-c", str(self.conf), "-p", f"{prefix}/"],
            stdout=self.console,
            stderr=subprocess.STDOUT,
        )
        self.count = os.cpu_count() if workers == "auto" else workers
        wait_until(lambda: len(self.worker_pids()) == self.count and self.answers(), TIMEOUT_S, "workers")

    def write_config(self, backend: Backend, port: int | None = None) -> None:
        port = port or self.port
        self.conf.write_text(
            f"worker_processes {self.workers};\nerror_log logs/error.log notice;\npid logs/proxy.pid;\n"
            "events {}\nhttp {\n  access_log logs/access.log;\n"
            f"  upstream backend {{ server 127.0.0.1:{backend.port}; }}\n"
            f"  server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://backend; }} }}\n}}\n"
        )

    @property
    def pid_file(self) -> Path:
        return self.prefix / "logs" / "proxy.pid"

    def error_log(self) -> str:
        path = self.prefix / "logs" / "error.log"
        return path.read_text() if path.exists() else ""

    def worker_pids(self) -> set[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in children.read_text().split()} if children.exists() else set()

    def get(self, path: str = "/") -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def answers(self) -> bool:
        try:
            return self.get()[0] == 200
        except OSError:
            return False

    def signal(self, signum: int) -> None:
        os.kill(self.process.pid, signum)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.console.close()


@pytest.fixture
def backends() -> Iterator[tuple[Backend, Backend]]:
    pair = Backend("alpha"), Backend("beta")
    yield pair
    for backend in pair:
        backend.close()


@pytest.fixture
def proxy(tmp_path: Path, backends: tuple[Backend, Backend]) -> Iterator[Proxy]:
    running = Proxy(tmp_path, backends[0])
    yield running
    running.stop()


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as executor:
        yield executor


def slow_request(proxy: Proxy, backend: Backend, pool: ThreadPoolExecutor) -> Future[tuple[int, str]]:
    future = pool.submit(proxy.get, "/slow")
    assert backend.slow_started.wait(TIMEOUT_S)
    return future


def test_workers_start_and_serve_with_a_pid_file(proxy: Proxy) -> None:
    assert proxy.get() == (200, "alpha")
    assert len(proxy.worker_pids()) == 2
    assert proxy.pid_file.read_text() == f"{proxy.process.pid}\n"
    assert proxy.error_log().count("start worker process ") == 2


def test_reload_takes_a_new_upstream_while_a_long_request_completes(
    proxy: Proxy, backends: tuple[Backend, Backend], pool: ThreadPoolExecutor
) -> None:
    alpha, beta = backends
    in_flight = slow_request(proxy, alpha, pool)
    old = proxy.worker_pids()
    proxy.write_config(beta)
    proxy.signal(signal.SIGHUP)
    wait_until(lambda: proxy.get() == (200, "beta"), TIMEOUT_S, "the new upstream")
    assert not in_flight.done()
    alpha.release.set()
    assert in_flight.result(TIMEOUT_S) == (200, "alpha")
    wait_until(lambda: not old & proxy.worker_pids(), TIMEOUT_S, "the old workers to exit")
    assert "reconfiguring" in proxy.error_log()


def test_reload_with_a_broken_config_keeps_serving(proxy: Proxy) -> None:
    workers = proxy.worker_pids()
    proxy.conf.write_text("events {}\nhttp { upstream backend { server; } }\n")
    proxy.signal(signal.SIGHUP)
    wait_until(lambda: "[emerg]" in proxy.error_log(), TIMEOUT_S, "the emerg line")
    assert proxy.get() == (200, "alpha")
    assert proxy.worker_pids() == workers
    assert proxy.process.poll() is None


def test_quit_lets_an_in_flight_request_finish(
    proxy: Proxy, backends: tuple[Backend, Backend], pool: ThreadPoolExecutor
) -> None:
    alpha = backends[0]
    in_flight = slow_request(proxy, alpha, pool)
    proxy.signal(signal.SIGQUIT)
    wait_until(lambda: proxy.error_log().count("gracefully shutting down") == 2, TIMEOUT_S, "the workers")
    assert not proxy.answers()
    assert proxy.process.poll() is None
    alpha.release.set()
    assert in_flight.result(TIMEOUT_S) == (200, "alpha")
    assert proxy.process.wait(TIMEOUT_S) == 0
    assert not proxy.pid_file.exists()


def test_a_killed_worker_is_replaced(proxy: Proxy) -> None:
    victim = min(proxy.worker_pids())
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: f"worker process {victim} exited on signal 9" in proxy.error_log(), TIMEOUT_S, "alert")
    wait_until(lambda: len(proxy.worker_pids() - {victim}) == 2, TIMEOUT_S, "a new worker")
    assert proxy.get() == (200, "alpha")


def test_sigterm_stops_at_once(
    proxy: Proxy, backends: tuple[Backend, Backend], pool: ThreadPoolExecutor
) -> None:
    in_flight = slow_request(proxy, backends[0], pool)
    proxy.signal(signal.SIGTERM)
    assert proxy.process.wait(TIMEOUT_S) == 0
    with pytest.raises((OSError, http.client.HTTPException)):
        in_flight.result(TIMEOUT_S)
    assert not proxy.pid_file.exists()


def test_usr1_reopens_the_error_log_and_keeps_the_workers(proxy: Proxy) -> None:
    workers = proxy.worker_pids()
    log = proxy.prefix / "logs" / "error.log"
    old = log.with_suffix(".old")
    log.rename(old)
    proxy.signal(signal.SIGUSR1)
    # as nginx's, the lines saying so go to the file being closed: two of the master's, one a worker
    wait_until(lambda: old.read_text().count("reopening logs") == 4, TIMEOUT_S, "master and workers")
    wait_until(log.exists, TIMEOUT_S, "the error log opened again")
    assert proxy.worker_pids() == workers
    assert proxy.get() == (200, "alpha")


def test_usr1_reopens_the_access_log_after_the_lines_waiting_went_to_the_old_file(proxy: Proxy) -> None:
    assert proxy.get() == (200, "alpha")
    log = proxy.prefix / "logs" / "access.log"
    old = log.with_suffix(".old")
    log.rename(old)
    reopened = proxy.error_log().count("reopening logs") + 2 + proxy.count  # two lines of the master's
    proxy.signal(signal.SIGUSR1)
    wait_until(lambda: proxy.error_log().count("reopening logs") == reopened, TIMEOUT_S, "every worker")
    assert proxy.get("/after") == (200, "alpha")
    wait_until(lambda: "GET /after " in log.read_text(), TIMEOUT_S, "the next request logged in the new file")
    assert "GET / " in old.read_text()
    assert "GET /after " not in old.read_text()


def test_auto_starts_a_worker_per_cpu(tmp_path: Path, backends: tuple[Backend, Backend]) -> None:
    running = Proxy(tmp_path, backends[0], workers="auto")
    try:
        assert len(running.worker_pids()) == os.cpu_count()
    finally:
        running.stop()


def test_reload_whose_workers_cannot_listen_keeps_the_old_workers(
    proxy: Proxy, backends: tuple[Backend, Backend]
) -> None:
    workers = proxy.worker_pids()
    with socket.socket() as taken:  # without SO_REUSEPORT: the new workers' bind() fails
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proxy.write_config(backends[1], port=taken.getsockname()[1])
        proxy.signal(signal.SIGHUP)
        wait_until(lambda: "keeping the old ones" in proxy.error_log(), TIMEOUT_S, "the reload to give up")
    assert "Address already in use" in proxy.error_log()
    assert proxy.get() == (200, "alpha")
    wait_until(lambda: proxy.worker_pids() == workers, TIMEOUT_S, "only the old workers")
