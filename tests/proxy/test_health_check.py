"""Active health checks (`health_check`, hapair's extension) with real processes: two workers in front
of two backends that count the checks they get; one starts failing its checks, is taken out, comes
back. The checks run once per node: the backends see as many checks as the shared board counts."""

from __future__ import annotations

import http.server
import mmap
import os
import struct
import threading
from pathlib import Path

import pytest

from tests.proxy.processes import TIMEOUT_S, Backend, Instance, get, open_directory, running
from tests.topology import wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the workers run as nobody: needs root")


class CheckedBackend:
    """An HTTP server answering its name on `/`, and on `/health` 200 or, once `failing` is set, 503;
    it counts the health requests it answers, and whether each passed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failing = threading.Event()
        self.checks: list[bool] = []
        self.lock = threading.Lock()
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                status, body = 200, backend.name.encode()
                if self.path == "/health":
                    passed = not backend.failing.is_set()
                    status = 200 if passed else 503
                    with backend.lock:
                        backend.checks.append(passed)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def count(self) -> int:
        with self.lock:
            return len(self.checks)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _configure(instance: Instance, first: CheckedBackend, second: CheckedBackend, check: str) -> None:
    instance.conf.write_text(
        f"worker_processes {instance.workers};\nerror_log logs/error.log notice;\npid logs/proxy.pid;\n"
        "events {}\nhttp {\n  access_log off;\n"
        f"  upstream backend {{ zone backend 64k; server 127.0.0.1:{first.port}; "
        f"server 127.0.0.1:{second.port}; }}\n"
        '  match ok { status 200; header Content-Type = text/plain; body ~ "^[ab]$"; }\n'
        f"  server {{ listen 127.0.0.1:{instance.port};\n"
        f"    location / {{ proxy_pass http://backend; {check} }} }}\n"
        "}\n"
    )


def _board_checks(master: int, slot: int) -> int:
    """The `checks` counter of a slot of the master's health zone (a memfd, mapped through /proc)."""
    for fd in Path(f"/proc/{master}/fd").iterdir():
        if "hapair-zone:hapair-health:http" in os.readlink(fd):
            with open(fd, "rb") as file, mmap.mmap(file.fileno(), 0, prot=mmap.PROT_READ) as memory:
                return int(struct.unpack_from("=q", memory, slot * 32 + 24)[0])
    raise AssertionError("no health zone in the master")


def _lines(instance: Instance, text: str) -> list[str]:
    return [line for line in instance.error_log().splitlines() if text in line]


def test_a_failing_peer_is_taken_out_and_comes_back_checked_once_per_node() -> None:
    first, second = CheckedBackend("a"), CheckedBackend("b")
    placeholder = Backend("unused")
    instance = Instance("hapair", open_directory(), placeholder, workers=2, main="user root;")
    _configure(instance, first, second, "health_check interval=100ms fails=2 passes=3 uri=/health match=ok;")
    try:
        with running(instance):
            instance.start_foreground()
            instance.wait_serving()
            wait_until(lambda: first.count() >= 3 and second.count() >= 3, TIMEOUT_S, "first checks")
            assert {get(instance.port)[1] for _ in range(4)} == {"a", "b"}

            second.failing.set()
            peer = f'peer 127.0.0.1:{second.port} in upstream "backend"'
            wait_until(
                lambda: _lines(
                    instance, f'peer is unhealthy while checking status code, health check "ok" of {peer}'
                ),
                TIMEOUT_S,
                "unhealthy",
            )
            with second.lock:
                failed = second.checks[second.checks.index(False) :]
            # taken out at the `fails`-th failed check (a third may be under way when the line is read)
            assert 2 <= len(failed) <= 3
            assert all(get(instance.port)[1] == "a" for _ in range(10))

            second.failing.clear()
            wait_until(
                lambda: _lines(
                    instance, f'peer is healthy while checking status code, health check "ok" of {peer}'
                ),
                TIMEOUT_S,
                "healthy",
            )
            with second.lock:
                passed = len(second.checks) - 1 - second.checks[::-1].index(False)
                assert 3 <= len(second.checks) - passed <= 4
            assert "b" in {get(instance.port)[1] for _ in range(4)}

            # one process checks: the backends saw what the board counts (one check may be in flight)
            assert instance.master is not None
            for backend, slot in ((first, 0), (second, 1)):
                counted = _board_checks(instance.master.pid, slot)
                assert counted <= backend.count() <= counted + 1
    finally:
        first.close()
        second.close()
        placeholder.close()
