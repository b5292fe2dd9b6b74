"""Stream health checks with real processes: a TCP connect check finds a peer that is gone, a
`send`/`expect` check one that answers wrongly; either is taken out of the client connections."""

from __future__ import annotations

import os
import socket
import socketserver
import threading

import pytest

from tests.proxy.processes import TIMEOUT_S, Backend, Instance, open_directory, running
from tests.topology import wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the workers run as nobody: needs root")


class PingBackend:
    """Answers its name to a client that says nothing, and PONG (or NOPE once `wrong` is set) to PING."""

    def __init__(self, name: bytes) -> None:
        self.wrong = threading.Event()
        self.pings = 0
        backend = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(0.2)
                try:
                    data = self.request.recv(64)
                except TimeoutError:
                    data = b""
                if data.startswith(b"PING"):
                    backend.pings += 1
                    self.request.sendall(b"NOPE\n" if backend.wrong.is_set() else b"PONG\n")
                else:
                    self.request.sendall(name)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _ask(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), TIMEOUT_S) as sock:
        sock.settimeout(TIMEOUT_S)
        return sock.recv(64)


def _configure(instance: Instance, first: int, second: int, match: str, check: str) -> None:
    instance.conf.write_text(
        f"worker_processes {instance.workers};\nerror_log logs/error.log notice;\npid logs/proxy.pid;\n"
        "events {}\nstream {\n"
        f"  upstream t {{ zone t 64k; server 127.0.0.1:{first}; server 127.0.0.1:{second}; }}\n"
        f"  {match}\n"
        f"  server {{ listen 127.0.0.1:{instance.port}; proxy_pass t; {check} }}\n"
        "}\n"
    )


def _serving(instance: Instance) -> None:
    wait_until(
        lambda: instance.pid_file.exists() and len(instance.worker_pids()) == instance.count, TIMEOUT_S, "up"
    )


@pytest.mark.parametrize("kind", ["connect", "send-expect"])
def test_a_peer_failing_its_stream_check_gets_no_connection(kind: str) -> None:
    first, second = PingBackend(b"a"), PingBackend(b"b")
    placeholder = Backend("unused")
    instance = Instance("hapair", open_directory(), placeholder, workers=2, main="user root;")
    match = r'match hi { send "PING\r\n"; expect ~ "^PONG"; }' if kind == "send-expect" else ""
    check = (
        "health_check interval=100ms match=hi;" if kind == "send-expect" else "health_check interval=100ms;"
    )
    _configure(instance, first.port, second.port, match, check)
    try:
        with running(instance):
            instance.start_foreground()
            _serving(instance)
            peer = f'of peer 127.0.0.1:{second.port} in upstream "t"'
            if kind == "send-expect":
                wait_until(lambda: second.pings >= 1, TIMEOUT_S, "checks")
                second.wrong.set()
                doing = "checking response"
            else:
                second.close()
                doing = "connecting to upstream"
            wait_until(lambda: f"peer is unhealthy while {doing}" in instance.error_log(), TIMEOUT_S, "down")
            assert peer in instance.error_log()
            assert all(_ask(instance.port) == b"a" for _ in range(6))
            if kind == "send-expect":
                second.wrong.clear()
                wait_until(
                    lambda: "peer is healthy while checking response" in instance.error_log(), TIMEOUT_S, "up"
                )
                assert b"b" in {_ask(instance.port) for _ in range(4)}
    finally:
        first.close()
        if kind == "send-expect":
            second.close()
        placeholder.close()
