"""TLS in stream, nginx and hapair on the same file in a network namespace: TLS terminated on a `listen ...
ssl` (Python's client and `openssl s_client`), client certificates (`ssl_verify_client on` with and
without one), and `proxy_ssl` to a TLS backend whose certificate is verified (`proxy_ssl_verify`,
`proxy_ssl_name`, `proxy_ssl_server_name`); what the client and the backends received and the access-log
lines (`$ssl_*` among them) are compared."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator

import pytest

from tests.certificates import Authority, KeyPair
from tests.netns import missing_requirements, namespace, unique_name

from .stream_harness import Exchange, StreamPair, StreamSide, inside, stream_text
from .suite import ORACLE

pytestmark = [
    *ORACLE,
    pytest.mark.netns,
    pytest.mark.skipif(missing_requirements() is not None, reason=missing_requirements() or ""),
]

LOG = (
    "$status [$ssl_protocol] [$ssl_server_name] [$ssl_client_verify] [$ssl_client_s_dn] [$ssl_session_reused]"
)
LOG += " $bytes_received $bytes_sent $upstream_bytes_sent $upstream_bytes_received"
BODY = """
    server { listen @HOST@:8443; proxy_pass @HOST@:9001; }
    server {
        listen @HOST@:8450 ssl;
        ssl_certificate @CERTIFICATE@;
        ssl_certificate_key @KEY@;
        ssl_handshake_timeout 2s;
        proxy_pass @HOST@:9001;
    }
    server {
        listen @HOST@:8451 ssl;
        ssl_certificate @CERTIFICATE@;
        ssl_certificate_key @KEY@;
        ssl_verify_client on;
        ssl_client_certificate @CA@;
        proxy_pass @HOST@:9001;
    }
    server {
        listen @HOST@:8452;
        proxy_pass @HOST@:9003;
        proxy_ssl on;
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate @CA@;
        proxy_ssl_name backend.example;
        proxy_ssl_server_name on;
    }
"""


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return Authority(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, authority: Authority) -> Iterator[StreamPair]:
    certificate, key = authority.issue("proxy.example")
    body = (
        BODY.replace("@CERTIFICATE@", str(certificate))
        .replace("@KEY@", str(key))
        .replace("@CA@", str(authority.certificate))
    )
    backend_pair = authority.issue("backend.example")

    def backend_tls(label: str) -> ssl.SSLContext | None:
        if label != "secure":
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*backend_pair)
        return context

    with namespace(unique_name("hptls4")) as space, inside(space):
        running = StreamPair(
            tmp_path_factory.mktemp("tls"),
            stream_text(body, log_format=LOG),
            {9001: "one", 9003: "secure"},
            backend_tls,
        )
        try:
            yield running
        finally:
            running.close()


def client_context(authority: Authority, pair: KeyPair | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(authority.certificate))
    if pair is not None:
        context.load_cert_chain(*pair)
    return context


def tls_exchange(side: StreamSide, port: int, context: ssl.SSLContext) -> bytes:
    """A TLS connection through the proxy: what it answers to `payload` before closing."""
    with side.connect(port) as raw, context.wrap_socket(raw, server_hostname="proxy.example") as tls:
        answer = tls.recv(100)
        tls.sendall(b"payload")
        return answer


def test_tls_is_terminated_and_the_plain_bytes_relayed(pair: StreamPair, authority: Authority) -> None:
    results = []
    for side in pair.sides:
        marks = len(side.backends[9001].connections)
        answer = tls_exchange(side, 8450, client_context(authority))
        received = side.backends[9001].connections[marks:]
        assert received and received[0].done.wait(5)
        results.append((answer, bytes(received[0].data), side.new_access(), side.new_errors()))
    nginx, hapair = results
    assert nginx[:2] == (b"one", b"payload")
    assert nginx[2] == ("200 [TLSv1.2] [proxy.example] [NONE] [-] [.] 7 3 7 3",)
    assert hapair == nginx


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_openssl_s_client_through_a_tls_listener(pair: StreamPair, authority: Authority) -> None:
    outputs = []
    for side in pair.sides:
        command = ["openssl", "s_client", "-connect", f"{side.host}:8450", "-servername", "proxy.example"]
        ran = subprocess.run(
            [*command, "-CAfile", str(authority.certificate), "-verify_return_error", "-brief"],
            input=b"hello",
            capture_output=True,
            timeout=10,
            check=False,
        )
        assert b"Verification: OK" in ran.stderr, ran.stderr
        assert b"Protocol version: TLSv1.2" in ran.stderr, ran.stderr
        outputs.append((ran.returncode, side.new_access()[0].split()[:6]))
    nginx, hapair = outputs
    assert nginx == (0, ["200", "[TLSv1.2]", "[proxy.example]", "[NONE]", "[-]", "[.]"])
    assert hapair == nginx


def test_a_client_certificate_is_asked_for_and_checked(pair: StreamPair, authority: Authority) -> None:
    client = authority.issue("client.example")
    results = []
    for side in pair.sides:
        answer = tls_exchange(side, 8451, client_context(authority, client))
        results.append((answer, side.new_access()))
    nginx, hapair = results
    assert nginx[0] == b"one"
    assert nginx[1][0].startswith("200 [TLSv1.2] [proxy.example] [SUCCESS] [CN=client.example,")
    assert hapair == nginx


def test_a_session_without_the_required_certificate_ends_with_500(
    pair: StreamPair, authority: Authority
) -> None:
    results = []
    for side in pair.sides:
        with (
            side.connect(8451) as raw,
            client_context(authority).wrap_socket(raw, server_hostname="proxy.example") as tls,
        ):
            answer = tls.recv(100)
        results.append((answer, side.new_access()))
    nginx, hapair = results
    assert nginx == (b"", ("500 [TLSv1.2] [proxy.example] [NONE] [-] [.] 0 0 - -",))
    assert hapair == nginx


def test_a_failed_handshake_ends_the_session_with_500(pair: StreamPair) -> None:
    """nginx's `$ssl_*` then say what OpenSSL's unfinished connection says (its highest version...);
    hapair's are not found, as without TLS (docs/nginx-differences.md)."""
    results = []
    for side in pair.sides:
        results.append(
            (side.converse(Exchange(b"GET / HTTP/1.0\r\n\r\n", until="close"), 8450), side.new_access())
        )
    nginx, hapair = results
    assert nginx[1] == ("500 [TLSv1.3] [-] [NONE] [-] [.] 0 0 - -",)
    assert hapair[1] == ("500 [-] [-] [-] [-] [-] 0 0 - -",)


def test_proxy_ssl_verifies_the_backend_and_relays_in_the_clear_for_the_client(pair: StreamPair) -> None:
    results = []
    for side in pair.sides:
        results.append(side.run(Exchange(b"payload"), 8452))
    nginx, hapair = results
    assert (nginx.answer, nginx.backends) == (b"secure", {"secure": (b"payload",)})
    assert nginx.access[0].startswith("200 [-] [-] [-] [-] [-] 7 6 ")
    assert (hapair.answer, hapair.backends, hapair.errors) == (nginx.answer, nginx.backends, nginx.errors)
    # the TLS bytes to and from the backend differ with each handshake: only the client's are compared
    assert hapair.access[0].split()[:-2] == nginx.access[0].split()[:-2]
