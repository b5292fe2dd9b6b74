"""The PROXY protocol in stream, nginx and hapair on the same file in a network namespace: headers read on a
`listen ... proxy_protocol` (v1, v2, UNKNOWN, broken ones, none in time), the `$proxy_protocol_*`
variables, `set_real_ip_from` taking the header's address as the client's, and `proxy_protocol on`
sending one to the upstream; then HAProxy 2.6 as the sender in front of each (`send-proxy`,
`send-proxy-v2`) and as the receiver behind each (`accept-proxy`). What each backend received, the
access-log and the error-log lines are compared."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hapair.proxy.proxy_protocol import ProxyAddresses, write_v1, write_v2
from tests.netns import missing_requirements, namespace, unique_name

from .stream_harness import HOST, Exchange, SideResult, StreamPair, inside, stream_text
from .suite import ORACLE

HAPROXY = "/usr/sbin/haproxy"
pytestmark = [
    *ORACLE,
    pytest.mark.netns,
    pytest.mark.skipif(missing_requirements() is not None, reason=missing_requirements() or ""),
]

LOG = "$remote_addr $status [$proxy_protocol_addr] [$proxy_protocol_port] [$proxy_protocol_server_addr]"
LOG += " [$proxy_protocol_server_port] $realip_remote_addr $bytes_received $upstream_bytes_sent"
BODY = """
    server { listen @HOST@:8443; proxy_pass @HOST@:9001; }
    server { listen @HOST@:8444 proxy_protocol; proxy_pass @HOST@:9001; proxy_protocol_timeout 300ms; }
    server {
        listen @HOST@:8445 proxy_protocol;
        set_real_ip_from @HOST@;
        proxy_pass @HOST@:9002;
        proxy_protocol on;
    }
    server { listen @HOST@:8446; proxy_pass @HOST@:9100; proxy_protocol on; }
"""
HAPROXY_CONFIG = """global
    maxconn 100
defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend v1
    bind @HOST@:7001
    default_backend v1
backend v1
    server proxy @HOST@:8444 send-proxy source @HOST@
frontend v2
    bind @HOST@:7002
    default_backend v2
backend v2
    server proxy @HOST@:8444 send-proxy-v2 source @HOST@
frontend receiver
    mode http
    bind @HOST@:9100 accept-proxy
    http-request return status 200 content-type text/plain lf-string "%[src] %[dst]:%[dst_port]\\n"
"""
V1 = write_v1(ProxyAddresses("192.0.2.7", 4000, "198.51.100.1", 443))
V2 = write_v2(ProxyAddresses("2001:db8::7", 4001, "2001:db8::1", 8443), tlvs=b"\x04\x00\x02ab")


class HaProxy:
    """HAProxy on `text` (its addresses written @HOST@), in the foreground, stopped by its pid."""

    def __init__(self, directory: Path, text: str, host: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        config = directory / "haproxy.cfg"
        config.write_text(text.replace(HOST, host))
        self.process = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection((host, 9100), timeout=1).close()  # reaches no proxy
                break
            except OSError:
                assert self.process.poll() is None, self.process.stderr.read() if self.process.stderr else ""
                assert time.monotonic() < deadline, "haproxy does not listen"
                time.sleep(0.02)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamPair]:
    directory = tmp_path_factory.mktemp("pp")
    with namespace(unique_name("hppp")) as space, inside(space):
        running = StreamPair(directory, stream_text(BODY, log_format=LOG), {9001: "one", 9002: "two"})
        try:
            yield running
        finally:
            running.close()


def run(pair: StreamPair, exchange: Exchange, port: int) -> tuple[SideResult, SideResult]:
    nginx, hapair = (side.run(exchange, port) for side in pair.sides)
    return nginx, hapair


@pytest.mark.parametrize(
    ("header", "logged"),
    [
        (V1, "[192.0.2.7] [4000] [198.51.100.1] [443]"),
        (V2, "[2001:db8::7] [4001] [2001:db8::1] [8443]"),
        (b"PROXY UNKNOWN 1.2.3.4\r\n", "[-] [-] [-] [-]"),
        (write_v2(None), "[-] [-] [-] [-]"),
    ],
    ids=["v1", "v2 with a TLV", "v1 UNKNOWN", "v2 LOCAL"],
)
def test_a_header_is_read_and_what_follows_goes_to_the_upstream(
    pair: StreamPair, header: bytes, logged: str
) -> None:
    nginx, hapair = run(pair, Exchange(header + b"payload"), 8444)
    assert (nginx.answer, nginx.backends) == (b"one", {"one": (b"payload",)})
    assert nginx.access == (f"{HOST} 200 {logged} {HOST} 7 7",)
    assert (hapair.answer, hapair.backends, hapair.access, hapair.errors) == (
        nginx.answer,
        nginx.backends,
        nginx.access,
        nginx.errors,
    )


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"GET / HTTP/1.0\r\n\r\n", 'broken header: "GET / HTTP/1.0'),
        (b"PROXY TCP4 192.0.2.7 198.51.100.1 70000 443\r\nx", "broken header: "),
        (V2[:12] + b"\x31" + V2[13:], "unknown PROXY protocol version: 3"),
        (V2[:-4], "header is too large"),
    ],
    ids=["no header", "a port too large", "v2 version 3", "v2 cut short"],
)
def test_a_broken_header_ends_the_session_with_400_and_nginxs_line(
    pair: StreamPair, data: bytes, error: str
) -> None:
    nginx, hapair = run(pair, Exchange(data, until="close"), 8444)
    assert (nginx.answer, nginx.backends) == (b"", {})
    assert nginx.access == (f"{HOST} 400 [-] [-] [-] [-] {HOST} 0 -",)
    assert len(nginx.errors) == 1 and nginx.errors[0].startswith(f"[error] {error}")
    if b"\n" not in data:  # the line's end (nginx writes what came as it came, newlines too)
        assert nginx.errors[0].endswith(f" while reading PROXY protocol, client: {HOST}, server: {HOST}:8444")
    assert (hapair.answer, hapair.backends, hapair.access, hapair.errors) == (
        nginx.answer,
        nginx.backends,
        nginx.access,
        nginx.errors,
    )


def test_a_header_that_does_not_come_in_time_ends_the_session(pair: StreamPair) -> None:
    nginx, hapair = run(pair, Exchange(b"", until="close"), 8444)
    assert (nginx.answer, nginx.backends, nginx.errors) == (b"", {}, ())
    assert nginx.access == (f"{HOST} 200 [-] [-] [-] [-] {HOST} 0 -",)
    assert (hapair.answer, hapair.backends, hapair.access) == (nginx.answer, nginx.backends, nginx.access)


def test_real_ip_takes_the_headers_address_and_proxy_protocol_passes_it_on(pair: StreamPair) -> None:
    nginx, hapair = run(pair, Exchange(V1 + b"payload"), 8445)
    assert written(nginx.backends, nginx) == {
        "two": (f"PROXY TCP4 192.0.2.7 {HOST} 4000 8445\r\npayload".encode(),)
    }
    assert nginx.access == (f"192.0.2.7 200 [192.0.2.7] [4000] [198.51.100.1] [443] {HOST} 7 49",)
    assert (hapair.answer, hapair.access, hapair.errors) == (nginx.answer, nginx.access, nginx.errors)
    assert written(hapair.backends, hapair) == written(nginx.backends, nginx)


def written(backends: dict[str, tuple[bytes, ...]], side: SideResult) -> dict[str, tuple[bytes, ...]]:
    """What the backends received, each side's own address written @HOST@."""
    host = {"nginx": b"127.0.0.1", "hapair": b"127.0.0.2"}[side.name]
    return {
        name: tuple(data.replace(host, HOST.encode()) for data in received)
        for name, received in backends.items()
    }


@pytest.fixture(scope="module")
def haproxies(pair: StreamPair, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[HaProxy]]:
    if shutil.which(HAPROXY) is None:
        pytest.skip("needs HAProxy")
    directory = tmp_path_factory.mktemp("haproxy")
    started: list[HaProxy] = []
    try:
        for side in pair.sides:
            started.append(HaProxy(directory / side.name, HAPROXY_CONFIG, side.host))
        yield started
    finally:
        for haproxy in started:
            haproxy.close()


@pytest.mark.parametrize("port", [7001, 7002], ids=["send-proxy", "send-proxy-v2"])
def test_haproxy_as_the_sender_in_front(pair: StreamPair, haproxies: list[HaProxy], port: int) -> None:
    """HAProxy passes the client's address to the proxy, which logs it as `$proxy_protocol_addr`."""
    results = []
    for side in pair.sides:
        results.append(side.run(Exchange(b"payload"), port))
    nginx, hapair = results
    pattern = rf"{HOST} 200 \[{HOST}\] \[\d+\] \[{HOST}\] \[{port}\] {HOST} 7 7"
    assert re.fullmatch(pattern, nginx.access[0]), nginx.access
    assert (nginx.answer, nginx.backends) == (b"one", {"one": (b"payload",)})
    assert re.fullmatch(pattern, hapair.access[0]), hapair.access
    assert (hapair.answer, hapair.backends, hapair.errors) == (nginx.answer, nginx.backends, nginx.errors)


def test_haproxy_as_the_receiver_behind(pair: StreamPair, haproxies: list[HaProxy]) -> None:
    """`proxy_protocol on` tells HAProxy (`accept-proxy`) the client's address and the one it came to."""
    answers = []
    for side in pair.sides:
        with side.connect(8446) as client:
            client.sendall(b"GET / HTTP/1.0\r\n\r\n")
            answer = b""
            while data := client.recv(65536):
                answer += data
        side.new_access()
        answers.append(answer.split(b"\r\n\r\n", 1)[1].replace(side.host.encode(), HOST.encode()))
    assert answers == [f"{HOST} {HOST}:8446\n".encode()] * 2
