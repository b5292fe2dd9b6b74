"""Real `hapair proxy` or nginx processes on 127.0.0.1, in a directory of their own, in front of HTTP
backends served by threads of the test: started as a daemon (the default) or in the foreground, driven
by signals or by the command's own `-s`, and looked at through /proc and their files."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from hapair.lab.processes import ProcessId, wait_gone
from tests.topology import wait_until

HAPAIR = str(Path(sys.executable).with_name("hapair"))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TIMEOUT_S = 30  # generous: the waits end as soon as what they wait for happens; a loaded CI machine is slow
LOCATION = "location / { proxy_pass http://backend; }"


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


_OPENED: list[Path] = []  # removed at the end of the session (tests/proxy/conftest.py)


def open_directory() -> Path:
    """A new directory that every user may enter (mode 0755, under /tmp): the workers run as nobody."""
    path = Path(tempfile.mkdtemp(prefix="hapair-proxy-test-"))
    path.chmod(0o755)
    (path / "logs").mkdir()
    _OPENED.append(path)
    return path


def remove_opened_directories() -> None:
    """Every directory open_directory made, with what the instances left in it."""
    while _OPENED:
        shutil.rmtree(_OPENED.pop(), ignore_errors=True)


def get(port: int, path: str = "/") -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def answers(port: int) -> bool:
    try:
        return get(port)[0] == 200
    except OSError:
        return False


def status_ids(pid: int) -> dict[str, list[int]]:
    """The Uid, Gid and Groups lines of /proc/PID/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("Uid", "Gid", "Groups"):
            fields[name] = [int(number) for number in value.split()]
    return fields


class Instance:
    """`program` ("hapair" or "nginx") on a configuration written in `directory`: `main` is put before
    `events {}` (worker_processes, user...), the http block proxies to `backend`."""

    def __init__(
        self, program: str, directory: Path, backend: Backend, *, workers: int | str = 2, main: str = ""
    ) -> None:
        self.program = program
        self.directory = directory
        self.workers = workers
        self.main = main
        self.port = free_port()
        self.conf = directory / "nginx.conf"
        self.write_config(backend)
        self.foreground: subprocess.Popen[bytes] | None = None
        self.master: ProcessId | None = None

    @property
    def executable(self) -> list[str]:
        return [HAPAIR, "proxy"] if self.program == "hapair" else [NGINX]

    @property
    def pid_file(self) -> Path:
        return self.directory / "logs" / "proxy.pid"

    @property
    def count(self) -> int:
        return (os.cpu_count() or 1) if self.workers == "auto" else int(self.workers)

    def write_config(self, backend: Backend, port: int | None = None) -> None:
        self.conf.write_text(
            f"{self.main}\nworker_processes {self.workers};\nerror_log logs/error.log notice;\n"
            "pid logs/proxy.pid;\nevents {}\nhttp {\n  access_log logs/access.log;\n"
            f"  upstream backend {{ server 127.0.0.1:{backend.port}; }}\n"
            f"  server {{ listen 127.0.0.1:{port or self.port}; {LOCATION} }}\n}}\n"
        )

    def add_server(self, directives: str) -> None:
        """Another server block, proxying to the backend too."""
        head = self.conf.read_text().rstrip().removesuffix("}")
        self.conf.write_text(f"{head}  server {{ {directives} {LOCATION} }}\n}}\n")

    def command(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """The program with this instance's prefix and configuration, and `args` (`-s reload`...)."""
        return subprocess.run(
            [*self.executable, "-p", f"{self.directory}/", "-c", str(self.conf), *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S * 2,
            check=False,
            env=env,
        )

    def start(self, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """As a daemon: the command's result; the master is the pid file's."""
        done = self.command(env=env)
        if done.returncode == 0:
            self.master = ProcessId.of(int(self.pid_file.read_text()))
        return done

    def start_foreground(self) -> None:
        console = open(self.directory / "console.txt", "wb")  # noqa: SIM115 - the child holds it
        with console:
            self.foreground = subprocess.Popen(
                [*self.executable, "-p", f"{self.directory}/", "-c", str(self.conf), "-g", "daemon off;"],
                stdout=console,
                stderr=subprocess.STDOUT,
            )
        self.master = ProcessId.of(self.foreground.pid)

    def wait_serving(self) -> None:
        """Until the pid file says every worker is ready (set up, its user taken) and the port answers: one
        worker's socket may answer while another is still starting as root."""
        wait_until(
            lambda: self.pid_file.exists() and len(self.worker_pids()) == self.count and answers(self.port),
            TIMEOUT_S,
            "workers",
        )

    def worker_pids(self) -> set[int]:
        if self.master is None:
            return set()
        pid = self.master.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        return {int(child) for child in children.read_text().split()} if children.exists() else set()

    def error_log(self) -> str:
        path = self.directory / "logs" / "error.log"
        return path.read_text() if path.exists() else ""

    def signal(self, signum: int) -> None:
        assert self.master is not None
        self.master.signal(signum)

    def gone(self) -> bool:
        """Whether the master has ended (its exit reaped, when it is the test's child)."""
        if self.foreground is not None and self.foreground.poll() is None:
            return False
        return self.master is None or not self.master.running()

    def stop(self) -> None:
        if self.master is None:
            return
        workers = [ProcessId.of(pid) for pid in self.worker_pids()]
        self.master.signal(signal.SIGTERM)
        if self.foreground is not None:
            try:
                self.foreground.wait(TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.foreground.kill()
                self.foreground.wait()
        if not wait_gone([self.master, *workers], TIMEOUT_S):
            for process in (self.master, *workers):
                process.signal(signal.SIGKILL)


def slow_request(port: int, backend: Backend, pool: ThreadPoolExecutor) -> Future[tuple[int, str]]:
    future = pool.submit(get, port, "/slow")
    assert backend.slow_started.wait(TIMEOUT_S)
    return future


@contextlib.contextmanager
def running(instance: Instance) -> Iterator[Instance]:
    """The instance for a block's time, stopped and its directory removed after."""
    try:
        yield instance
    finally:
        instance.stop()
        shutil.rmtree(instance.directory, ignore_errors=True)
