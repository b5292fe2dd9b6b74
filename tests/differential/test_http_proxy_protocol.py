"""The PROXY protocol in http (`listen ... proxy_protocol`, plain and `ssl`), nginx and hapair on the same
file in a network namespace: the `$proxy_protocol_*` variables, `real_ip_header proxy_protocol` with
`set_real_ip_from`, broken headers (the connection closed with nginx's error line), and HAProxy 2.6 as the
sender in front (`send-proxy`, `send-proxy-v2`). The answers (made by `return` from the variables), the
access-log and the error-log lines are compared."""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator

import pytest

from hapair.proxy.proxy_protocol import ProxyAddresses, write_v1, write_v2
from tests.certificates import Authority
from tests.netns import missing_requirements, namespace, unique_name

from .stream_harness import HOST, StreamPair, StreamSide, inside, stream_text
from .suite import ORACLE

HAPROXY = "/usr/sbin/haproxy"
pytestmark = [
    *ORACLE,
    pytest.mark.netns,
    pytest.mark.skipif(missing_requirements() is not None, reason=missing_requirements() or ""),
]

ANSWER = "$proxy_protocol_addr|$proxy_protocol_port|$proxy_protocol_server_addr|$proxy_protocol_server_port"
ANSWER += "|$remote_addr|$remote_port|$realip_remote_addr"
HTTP = """
http {
    log_format pp '$remote_addr $status "$request" [$proxy_protocol_addr] $realip_remote_addr';
    access_log http.log pp;
    server {
        listen @HOST@:8480 proxy_protocol;
        location / { return 200 "@ANSWER@\\n"; }
    }
    server {
        listen @HOST@:8481 proxy_protocol;
        set_real_ip_from @HOST@;
        real_ip_header proxy_protocol;
        location / { return 200 "@ANSWER@\\n"; }
    }
    server {
        listen @HOST@:8482 ssl proxy_protocol;
        ssl_certificate @CERTIFICATE@;
        ssl_certificate_key @KEY@;
        location / { return 200 "@ANSWER@\\n"; }
    }
}
"""
HAPROXY_CONFIG = """global
    maxconn 100
defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend v1
    bind @HOST@:7101
    default_backend v1
backend v1
    server proxy @HOST@:8480 send-proxy source @HOST@
frontend v2
    bind @HOST@:7102
    default_backend v2
backend v2
    server proxy @HOST@:8481 send-proxy-v2 source @HOST@
"""
V1 = write_v1(ProxyAddresses("192.0.2.7", 4000, "198.51.100.1", 443))
V2 = write_v2(ProxyAddresses("2001:db8::7", 4001, "2001:db8::1", 8443), tlvs=b"\x04\x00\x02ab")
REQUEST = b"GET /x HTTP/1.0\r\n\r\n"


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return Authority(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, authority: Authority) -> Iterator[StreamPair]:
    certificate, key = authority.issue("pp.example")
    http = (
        HTTP.replace("@ANSWER@", ANSWER).replace("@CERTIFICATE@", str(certificate)).replace("@KEY@", str(key))
    )
    text = stream_text("server { listen @HOST@:8443; proxy_pass @HOST@:9001; }", log_format="$status") + http
    with namespace(unique_name("hphpp")) as space, inside(space):
        running = StreamPair(tmp_path_factory.mktemp("httppp"), text, {9001: "one"})
        try:
            yield running
        finally:
            running.close()


class HttpLog:
    """The lines of a side's http access log written since the last look."""

    def __init__(self, side: StreamSide) -> None:
        self.side = side
        self.path = side.directory / "http.log"
        self.seen = 0

    def new(self, count: int) -> tuple[str, ...]:
        lines = self.side.wait_lines(self.path, count, self.seen) if count else []
        self.seen = self.path.stat().st_size if self.path.exists() else 0
        return tuple(line.replace(self.side.host, HOST) for line in lines)


@pytest.fixture(scope="module")
def logs(pair: StreamPair) -> dict[str, HttpLog]:
    return {side.name: HttpLog(side) for side in pair.sides}


def ask(side: StreamSide, port: int, data: bytes, context: ssl.SSLContext | None = None) -> bytes:
    """What the side answers `data` sent to `port` (the PROXY header before the TLS handshake), "" when it
    closes the connection."""
    with side.connect(port) as raw:
        if context is None:
            raw.sendall(data)
            return receive(raw).replace(side.host.encode(), HOST.encode())
        header, request = data.split(b"GET", 1)
        raw.sendall(header)
        try:
            with context.wrap_socket(raw, server_hostname="pp.example") as tls:
                tls.sendall(b"GET" + request)
                return receive(tls).replace(side.host.encode(), HOST.encode())
        except (ssl.SSLError, ConnectionError):
            return b""


def receive(sock: socket.socket) -> bytes:
    answer = b""
    try:
        while data := sock.recv(65536):
            answer += data
    except ConnectionResetError:
        pass
    return answer.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in answer else answer


def both(
    pair: StreamPair,
    logs: dict[str, HttpLog],
    port: int,
    data: bytes,
    *,
    lines: int = 1,
    tls: ssl.SSLContext | None = None,
) -> list[tuple[bytes, tuple[str, ...], tuple[str, ...]]]:
    results = []
    for side in pair.sides:
        answer = ask(side, port, data, tls)
        results.append((answer, logs[side.name].new(lines), side.new_errors()))
    return results


@pytest.mark.parametrize(
    ("header", "answer", "logged"),
    [
        (V1, "192.0.2.7|4000|198.51.100.1|443", "192.0.2.7"),
        (V2, "2001:db8::7|4001|2001:db8::1|8443", "2001:db8::7"),
        (b"PROXY UNKNOWN\r\n", "|||", "-"),
    ],
    ids=["v1", "v2", "UNKNOWN"],
)
def test_the_headers_addresses_are_the_variables(
    pair: StreamPair, logs: dict[str, HttpLog], header: bytes, answer: str, logged: str
) -> None:
    nginx, hapair = both(pair, logs, 8480, header + REQUEST)
    assert re.fullmatch(rf"{re.escape(answer)}\|{HOST}\|\d+\|{HOST}\n", nginx[0].decode()), nginx[0]
    assert nginx[1] == (f'{HOST} 200 "GET /x HTTP/1.0" [{logged}] {HOST}',)
    assert (hapair[0].rsplit(b"|", 2)[0], hapair[1:]) == (nginx[0].rsplit(b"|", 2)[0], nginx[1:])


def test_real_ip_header_proxy_protocol_makes_the_headers_address_the_clients(
    pair: StreamPair, logs: dict[str, HttpLog]
) -> None:
    nginx, hapair = both(pair, logs, 8481, V1 + REQUEST)
    assert re.fullmatch(
        rf"192\.0\.2\.7\|4000\|198\.51\.100\.1\|443\|192\.0\.2\.7\|4000\|{HOST}\n", nginx[0].decode()
    )
    assert nginx[1] == (f'192.0.2.7 200 "GET /x HTTP/1.0" [192.0.2.7] {HOST}',)
    assert hapair == nginx


@pytest.mark.parametrize(
    "data",
    [REQUEST, b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n" + REQUEST, V2[:12] + b"\x11" + V2[13:] + REQUEST],
    ids=["no header", "a port missing", "v2 version 1"],
)
def test_a_broken_header_closes_the_connection_with_nginxs_line(
    pair: StreamPair, logs: dict[str, HttpLog], data: bytes
) -> None:
    nginx, hapair = both(pair, logs, 8480, data, lines=0)
    assert nginx[:2] == (b"", ())
    assert len(nginx[2]) == 1 and nginx[2][0].startswith("[error] ")
    assert hapair == nginx


@pytest.fixture(scope="module")
def client_tls(authority: Authority) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(authority.certificate))


def test_the_header_comes_before_the_tls_handshake(
    pair: StreamPair, logs: dict[str, HttpLog], client_tls: ssl.SSLContext
) -> None:
    nginx, hapair = both(pair, logs, 8482, V1 + REQUEST, tls=client_tls)
    assert nginx[0].startswith(b"192.0.2.7|4000|198.51.100.1|443|"), nginx[0]
    assert (hapair[0].rsplit(b"|", 2)[0], hapair[1:]) == (nginx[0].rsplit(b"|", 2)[0], nginx[1:])


def test_a_tls_connection_without_a_header_is_closed(
    pair: StreamPair, logs: dict[str, HttpLog], client_tls: ssl.SSLContext
) -> None:
    """nginx reads the ClientHello as the header: broken, and the handshake fails."""
    results = []
    for side in pair.sides:
        with side.connect(8482) as raw, pytest.raises((ssl.SSLError, ConnectionError)):
            client_tls.wrap_socket(raw, server_hostname="pp.example").close()
        results.append((logs[side.name].new(0), [line[:27] for line in side.new_errors()]))
    nginx, hapair = results
    assert nginx == ((), ['[error] broken header: "\x16\x03\x01'])
    assert hapair == nginx


@pytest.fixture(scope="module")
def haproxies(pair: StreamPair, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    if shutil.which(HAPROXY) is None:
        pytest.skip("needs HAProxy")
    directory = tmp_path_factory.mktemp("haproxy")
    started: list[subprocess.Popen[bytes]] = []
    try:
        for side in pair.sides:
            config = directory / f"{side.name}.cfg"
            config.write_text(HAPROXY_CONFIG.replace(HOST, side.host))
            started.append(subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stderr=subprocess.DEVNULL))
            wait_listening(side.host, 7102, started[-1])
        yield
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=10)


def wait_listening(host: str, port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    with socket.socket() as probe:  # bound, not connected: nothing reaches the proxies
        while True:
            assert process.poll() is None, "haproxy exited"
            if probe.connect_ex((host, port)) == 0:
                return
            assert time.monotonic() < deadline, "haproxy does not listen"
            time.sleep(0.02)


@pytest.mark.parametrize(("port", "logged"), [(7101, f"[{HOST}] {HOST}"), (7102, f"[{HOST}] {HOST}")])
def test_haproxy_as_the_sender_in_front(
    pair: StreamPair, logs: dict[str, HttpLog], haproxies: None, port: int, logged: str
) -> None:
    """HAProxy's `send-proxy` (to a plain server) and `send-proxy-v2` (to one with real_ip_header
    proxy_protocol) tell each proxy the client's address and the one it came to."""
    nginx, hapair = both(pair, logs, port, REQUEST)
    assert re.fullmatch(rf"{HOST}\|\d+\|{HOST}\|{port}\|{HOST}\|\d+\|{HOST}\n", nginx[0].decode()), nginx[0]
    assert re.fullmatch(rf"{HOST}\|\d+\|{HOST}\|{port}\|{HOST}\|\d+\|{HOST}\n", hapair[0].decode()), hapair[0]
    assert nginx[1] == (f'{HOST} 200 "GET /x HTTP/1.0" {logged}',)
    assert hapair[1:] == nginx[1:]
