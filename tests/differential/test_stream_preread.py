"""SNI routing without terminating TLS, beside nginx 1.22.1: `ssl_preread on` and a `map` of
`$ssl_preread_server_name` choosing the upstream of `proxy_pass $route`. The same bytes (OpenSSL's
ClientHellos, hand-made ones nginx reads in its own way, plain text, hellos cut short, too long or too
slow) go through nginx and hapair; each case compares what the client got back, which backend got what
bytes, the access-log line with the `$ssl_preread_*` variables, and the error-log lines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings

from tests.netns import missing_requirements, namespace, unique_name
from tests.proxy.stream.hellos import (
    alpn_extension,
    damaged_hellos,
    extension,
    hello_message,
    in_records,
    openssl_hello,
    server_name_extension,
    u16,
)

from .stream_harness import Exchange, SideResult, StreamPair, inside, stream_text
from .suite import ORACLE

pytestmark = [
    *ORACLE,
    pytest.mark.netns,
    pytest.mark.skipif(missing_requirements() is not None, reason=missing_requirements() or ""),
]

LOG = (
    "$remote_addr:$server_port [$ssl_preread_server_name] [$ssl_preread_protocol] "
    "[$ssl_preread_alpn_protocols] $status $bytes_sent $bytes_received [$upstream_addr] "
    "[$upstream_bytes_sent] [$upstream_bytes_received] [$route]"
)
BODY = """
    map $ssl_preread_server_name $route {
        a.example  @HOST@:9001;
        b.example  @HOST@:9002;
        default    @HOST@:9003;
    }
    server { listen @HOST@:8443; ssl_preread on; preread_timeout 300ms; proxy_pass $route; }
    server { listen @HOST@:8444; ssl_preread on; preread_buffer_size 128; proxy_pass $route; }
    server { listen @HOST@:8445; ssl_preread on; set $early $ssl_preread_server_name; proxy_pass $route; }
"""
BACKENDS = {9001: "A", 9002: "B", 9003: "C"}
A_HELLO = openssl_hello("a.example")


@dataclass(frozen=True)
class Case:
    name: str
    exchange: Exchange
    backend: str | None  # where nginx sends it (checked on every run), None: nowhere
    port: int = 8443


CASES = [
    Case("openssl a.example", Exchange(A_HELLO), "A"),
    Case("openssl b.example with ALPN", Exchange(openssl_hello("b.example", ["h2", "http/1.1"])), "B"),
    Case("openssl without SNI", Exchange(openssl_hello(None)), "C"),
    Case("openssl TLS 1.2 only", Exchange(openssl_hello("c.example", tls12=True)), "C"),
    Case("plain text is no ClientHello", Exchange(b"GET / HTTP/1.0\r\n\r\n"), "C"),
    Case("bytes after the ClientHello go too", Exchange(A_HELLO + b"early data"), "A"),
    Case("a ClientHello in two sends", Exchange((A_HELLO[:100], A_HELLO[100:])), "A"),
    Case(
        "a ClientHello in records of 7 bytes",
        Exchange(in_records(hello_message(server_name_extension(b"b.example")), [7] * 40)),
        "B",
    ),
    Case("a ClientHello cut short, then EOF", Exchange(A_HELLO[:200], until="eof"), None),
    Case("a ClientHello too slow for preread_timeout", Exchange(A_HELLO[:3], until="close"), None),
    Case(
        "a host name of another type",
        Exchange(in_records(hello_message(server_name_extension(b"a.example", kind=1)))),
        "C",
    ),
    Case(
        "the second name of the list does not count",
        Exchange(in_records(hello_message(server_name_extension(b"x", b"a.example")))),
        "C",
    ),
    Case(
        "a second server_name extension (Debian's validation)",
        Exchange(
            in_records(
                hello_message(server_name_extension(b"b.example") + server_name_extension(b"a.example"))
            )
        ),
        "C",
    ),
    Case(
        "a list longer than its extension (Debian's validation)",
        Exchange(
            in_records(
                hello_message(extension(16, u16(3) + b"\x02h2\x00") + server_name_extension(b"a.example"))
            )
        ),
        "C",
    ),
    Case("an empty ALPN protocol", Exchange(in_records(hello_message(alpn_extension(b"h2", b"")))), "C"),
    Case(
        "a server name with bytes to escape",
        Exchange(
            in_records(hello_message(server_name_extension(b'A.Example"\x00\xff') + alpn_extension(b"\x01")))
        ),
        "C",
    ),
    Case(
        "an upper-case server name",
        Exchange(in_records(hello_message(server_name_extension(b"A.EXAMPLE")))),
        "A",
    ),
    Case(
        "supported_versions makes it TLSv1.3",
        Exchange(
            in_records(hello_message(server_name_extension(b"a.example") + extension(43, b"\x02\x03\x03")))
        ),
        "A",
    ),
    Case("an SSLv2 ClientHello", Exchange(b"\x80\x2e\x01\x03\x01" + bytes(43)), "C"),
    Case(
        "a name longer than its list",
        Exchange(in_records(hello_message(extension(0, u16(3) + b"\x00" + u16(5) + b"abcde")))),
        "C",
    ),
    Case("preread_buffer_size smaller than the ClientHello", Exchange(A_HELLO), None, port=8444),
    Case(
        "a ClientHello within preread_buffer_size",
        Exchange(in_records(hello_message(server_name_extension(b"b.example"), suites=b""))),
        "B",
        port=8444,
    ),
    Case("set before the preread phase keeps the name not found", Exchange(A_HELLO), "C", port=8445),
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamPair]:
    with namespace(unique_name("hpsni")) as space, inside(space):
        running = StreamPair(tmp_path_factory.mktemp("stream"), stream_text(BODY, log_format=LOG), BACKENDS)
        try:
            yield running
        finally:
            running.close()


def run(pair: StreamPair, case: Case) -> tuple[SideResult, SideResult]:
    nginx, hapair = (side.run(case.exchange, port=case.port) for side in pair.sides)
    return nginx, hapair


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_same_bytes_reach_the_same_backend_and_are_logged_alike(pair: StreamPair, case: Case) -> None:
    nginx, hapair = run(pair, case)
    assert list(nginx.backends) == ([case.backend] if case.backend else []), nginx
    assert (hapair.answer, hapair.backends, hapair.access, hapair.errors) == (
        nginx.answer,
        nginx.backends,
        nginx.access,
        nginx.errors,
    )


@settings(max_examples=150, deadline=None)
@given(data=damaged_hellos())
def test_clienthellos_with_wrong_lengths_are_read_as_nginx_reads_them(pair: StreamPair, data: bytes) -> None:
    """Generated ClientHellos, their length fields mostly right and sometimes not, several server_name,
    ALPN and supported_versions extensions among others: the same backend, the same bytes, the same
    `$ssl_preread_*` values (declined, or what was read)."""
    nginx, hapair = (side.run(Exchange(data)) for side in pair.sides)
    assert (hapair.answer, hapair.backends, hapair.access) == (nginx.answer, nginx.backends, nginx.access)
