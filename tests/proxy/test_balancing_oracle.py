"""The balancing methods beside the real nginx 1.22.1, on real sockets: nginx and `hapair proxy` (one
worker each, nginx's default) read the same upstream configuration, in front of the same small backends
that answer their own name, one of them refusing connections and one `down`; each key must reach the
same backend through both, in the same order of requests. The key is a query argument (`hash $arg_k`,
`hash $arg_k consistent`), the client's address (`ip_hash`, clients bound to 200 addresses of 127/8 in
different /24s) or, in stream, `$remote_addr`. For `random` and `random two`, whose draws cannot match,
each backend's share of 2000 requests must agree within five standard deviations (a weight ignored, or
the wrong one of two kept, is three times that far)."""

from __future__ import annotations

import http.server
import math
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.config.nginx.test_oracle import MISSING, NGINX, STREAM_MODULE
from tests.topology import wait_until

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]

HAPAIR = str(Path(sys.executable).with_name("hapair"))
TIMEOUT_S = 10
KEYS = [f"user-{i * 7919 % 100_003}" for i in range(200)]
CLIENTS = [f"127.{1 + i // 100}.{i % 100}.{1 + i % 7}" for i in range(200)]  # 200 different /24s
WEIGHTS = {"alpha": 1, "bravo": 2, "charlie": 1, "delta": 3}


class Backends:
    """HTTP servers on loopback answering their name, and a port where nothing listens."""

    def __init__(self) -> None:
        self.servers: dict[str, http.server.ThreadingHTTPServer] = {}
        for name in WEIGHTS:
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(name))
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
            self.servers[name] = server
        self.refused = free_port()

    def port(self, name: str) -> int:
        return int(self.servers[name].server_address[1])

    def close(self) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()


def _handler(name: str) -> type[http.server.BaseHTTPRequestHandler]:
    body = name.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # the body is written apart from the head

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def backends() -> Iterator[Backends]:
    running = Backends()
    yield running
    running.close()


def servers(backends: Backends, *, dead: bool = True, down: bool = True) -> str:
    """The group's `server` lines: the backends with their weights, a server that refuses connections
    (failed for the whole test once it has failed) and a `down` one."""
    lines = [f"server 127.0.0.1:{backends.port(name)} weight={w};" for name, w in WEIGHTS.items()]
    if dead:
        lines.insert(2, f"server 127.0.0.1:{backends.refused} fail_timeout=600s;")
    if down:
        lines.insert(1, f"server 127.0.0.1:{backends.port('alpha')} weight=5 down;")
    return " ".join(lines)


Block = Callable[[int], str]  # the configuration's http or stream block, given its listening port


def http_block(method: str, group: str) -> Block:
    return lambda port: (
        f"http {{ access_log off; upstream u {{ {method} {group} }}\n"
        f"server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://u; }} }} }}\n"
    )


def stream_block(method: str, group: str) -> Block:
    return lambda port: (
        f"stream {{ upstream u {{ {method} {group} }}\n"
        f"server {{ listen 127.0.0.1:{port}; proxy_pass u; }} }}\n"
    )


class Running:
    """nginx or `hapair proxy` running a configuration whose listening port is `port`."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port
        wait_until(self._listens, TIMEOUT_S, f"{process.args[0]} to listen")

    def _listens(self) -> bool:
        assert self.process.poll() is None, f"{self.process.args[0]} exited"
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def answer(self, path: str = "/", client: str = "127.0.0.1") -> str:
        """The status and body of the answer to GET `path` sent from address `client`."""
        with socket.socket() as sock:
            # the port is chosen at connect(), so that thousands of requests do not run out of ports
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_BIND_ADDRESS_NO_PORT, 1)
            sock.bind((client, 0))
            sock.settimeout(TIMEOUT_S)
            sock.connect(("127.0.0.1", self.port))
            sock.sendall(f"GET {path} HTTP/1.0\r\nHost: test\r\n\r\n".encode())
            response = b""
            while chunk := sock.recv(65536):
                response += chunk
        head, _, body = response.partition(b"\r\n\r\n")
        return f"{head.split(b' ')[1].decode()} {body.decode()}"


def start_nginx(directory: Path, block: Block) -> Running:
    directory.mkdir()
    conf = directory / "nginx.conf"
    port = free_port()
    conf.write_text(f"load_module {STREAM_MODULE};\nevents {{}}\n{block(port)}")
    process = subprocess.Popen(
        [NGINX, "-p", f"{directory}/", "-c", str(conf), "-e", f"{directory}/error.log",
         "-g", f"daemon off; pid {directory}/nginx.pid;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return Running(process, port)


def start_hapair(directory: Path, block: Block) -> Running:
    directory.mkdir()
    conf = directory / "nginx.conf"
    port = free_port()
    conf.write_text(
        f"pid {directory}/hapair.pid;\nerror_log {directory}/error.log;\n"
        f"load_module {STREAM_MODULE};\nevents {{}}\n{block(port)}"
    )
    process = subprocess.Popen(
        [HAPAIR, "proxy", "-c", str(conf), "-p", f"{directory}/", "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    return Running(process, port)


def through_both(
    tmp_path: Path, block: Block, requests: list[tuple[str, str]]
) -> tuple[list[str], list[str]]:
    """The answers of nginx, then of hapair, to the same (path, client address) requests, in order."""
    answers = []
    for name, start in (("nginx", start_nginx), ("hapair", start_hapair)):
        running = start(tmp_path / name, block)
        try:
            answers.append([running.answer(path, client) for path, client in requests])
        finally:
            running.stop()
    return answers[0], answers[1]


def backends_reached(answers: list[str]) -> set[str]:
    return {answer for answer in answers if answer.startswith("200 ")}


@pytest.mark.parametrize(
    "method", ["hash $arg_k;", "hash $arg_k consistent;", "hash k$arg_k$uri consistent;"]
)
def test_hash_sends_each_key_to_the_backend_nginx_sends_it_to(
    tmp_path: Path, backends: Backends, method: str
) -> None:
    requests = [(f"/item?k={key}", "127.0.0.1") for key in KEYS]
    nginx, hapair = through_both(tmp_path, http_block(method, servers(backends)), requests)
    assert (hapair, len(backends_reached(nginx))) == (nginx, len(WEIGHTS))


def test_ip_hash_sends_each_client_to_the_backend_nginx_sends_it_to(
    tmp_path: Path, backends: Backends
) -> None:
    requests = [("/", client) for client in CLIENTS]
    nginx, hapair = through_both(tmp_path, http_block("ip_hash;", servers(backends)), requests)
    assert (hapair, len(backends_reached(nginx))) == (nginx, len(WEIGHTS))


@pytest.mark.parametrize("method", ["hash $remote_addr;", "hash $remote_addr consistent;"])
def test_stream_hash_sends_each_client_to_the_backend_nginx_sends_it_to(
    tmp_path: Path, backends: Backends, method: str
) -> None:
    requests = [("/", client) for client in CLIENTS]
    nginx, hapair = through_both(tmp_path, stream_block(method, servers(backends)), requests)
    assert (hapair, len(backends_reached(nginx))) == (nginx, len(WEIGHTS))


@pytest.mark.parametrize("method", ["random;", "random two least_conn;"])
def test_random_shares_match_nginx(tmp_path: Path, backends: Backends, method: str) -> None:
    count = 2000
    block = http_block(method, servers(backends, dead=False))
    nginx, hapair = through_both(tmp_path, block, [("/", "127.0.0.1")] * count)
    theirs, ours = Counter(nginx), Counter(hapair)
    far = {}
    for name in WEIGHTS:
        share = theirs[f"200 {name}"] / count
        margin = 5 * math.sqrt(2 * share * (1 - share) / count) + 1 / count
        if abs(ours[f"200 {name}"] / count - share) > margin:
            far[name] = (ours[f"200 {name}"], theirs[f"200 {name}"])
    assert (far, ours.total(), theirs.total()) == ({}, count, count)
