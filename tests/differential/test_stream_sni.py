"""A TLS client routed by SNI to the backend of its name, through `ssl_preread` and a `map`, by nginx and
by hapair on the same file: the TLS connection is the client's with the backend (the proxy terminates
nothing), so the handshake succeeds only where the backend has the certificate of the name asked for.
Python's TLS client and `openssl s_client` as clients; the access-log lines compared."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.certificates import Authority
from tests.netns import missing_requirements, namespace, unique_name

from .stream_harness import HOST, LISTEN_PORT, StreamPair, StreamSide, inside, stream_text
from .suite import ORACLE

pytestmark = [
    *ORACLE,
    pytest.mark.netns,
    pytest.mark.skipif(missing_requirements() is not None, reason=missing_requirements() or ""),
]

LOG = "[$ssl_preread_server_name] [$ssl_preread_protocol] [$ssl_preread_alpn_protocols] $status"
LOG += " [$upstream_addr]"
BODY = """
    map $ssl_preread_server_name $route {
        a.example  @HOST@:9001;
        b.example  @HOST@:9002;
    }
    server { listen @HOST@:8443; ssl_preread on; proxy_pass $route; }
"""
NAMES = {9001: "a.example", 9002: "b.example"}


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return Authority(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, authority: Authority) -> Iterator[StreamPair]:
    def backend_tls(name: str) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*authority.issue(name))
        context.set_alpn_protocols(["h2", "http/1.1"])
        return context

    with namespace(unique_name("hptls")) as space, inside(space):
        running = StreamPair(
            tmp_path_factory.mktemp("sni"), stream_text(BODY, log_format=LOG), NAMES, backend_tls
        )
        try:
            yield running
        finally:
            running.close()


def tls_client(side: StreamSide, authority: Authority, name: str) -> tuple[str, str | None, bytes]:
    """A verified TLS connection through the proxy: the certificate's name, the protocol the backend
    chose, and what it sent."""
    context = ssl.create_default_context(cafile=str(authority.certificate))
    context.set_alpn_protocols(["h2", "http/1.1"])
    with side.connect() as raw, context.wrap_socket(raw, server_hostname=name) as tls:
        certificate = tls.getpeercert()
        assert certificate is not None
        common_name = dict(field[0] for field in certificate["subject"])["commonName"]
        return common_name, tls.selected_alpn_protocol(), tls.recv(100)


@pytest.mark.parametrize("name", ["a.example", "b.example"])
def test_a_tls_client_reaches_the_backend_of_its_server_name(
    pair: StreamPair, authority: Authority, name: str
) -> None:
    results = []
    for side in pair.sides:
        answer = tls_client(side, authority, name)
        results.append((answer, side.new_access()))
    (nginx, nginx_log), (hapair, hapair_log) = results
    assert nginx == (name, "h2", name.encode())
    assert (hapair, hapair_log) == (nginx, nginx_log)
    assert hapair_log == (
        f"[{name}] [TLSv1.3] [h2,http/1.1] 200 [{HOST}:{9001 if name == 'a.example' else 9002}]",
    )


def test_a_name_without_a_route_gets_no_upstream(pair: StreamPair, authority: Authority) -> None:
    """The map has no default: `proxy_pass` gets an empty value, which nginx cannot use (500)."""
    results = []
    for side in pair.sides:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            tls_client(side, authority, "c.example")
        results.append((side.new_access(), side.new_errors()))
    nginx, hapair = results
    assert nginx[0] == ("[c.example] [TLSv1.3] [h2,http/1.1] 500 [-]",)
    assert hapair == nginx


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_openssl_s_client_is_routed_and_verifies_the_backends_certificate(
    pair: StreamPair, authority: Authority, tmp_path: Path
) -> None:
    outputs = []
    for side in pair.sides:
        command = [
            "openssl",
            "s_client",
            "-connect",
            f"{side.host}:{LISTEN_PORT}",
            "-servername",
            "b.example",
        ]
        command += [
            "-CAfile",
            str(authority.certificate),
            "-verify_return_error",
            "-alpn",
            "http/1.1",
            "-brief",
        ]
        ran = subprocess.run(
            command,
            input=b"",
            capture_output=True,
            timeout=10,
            check=False,
        )
        outputs.append((ran.returncode, side.new_access()))
        assert b"Verification: OK" in ran.stderr, ran.stderr
        assert b"CN=b.example" in ran.stderr or b"CN = b.example" in ran.stderr, ran.stderr
    nginx, hapair = outputs
    assert nginx == (0, (f"[b.example] [TLSv1.3] [http/1.1] 200 [{HOST}:9002]",))
    assert hapair == nginx
