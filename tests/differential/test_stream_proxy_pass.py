"""`proxy_pass` with variables in stream beside nginx 1.22.1: a value naming an `upstream` group, an
address, a name the `resolver` resolves (a test DNS server in the namespace), and the values nginx cannot
use (no port, no resolver, a name that does not resolve, no address at all), with their error-log lines;
and the companions of an L4 configuration: `split_clients` and `set` in stream, `allow`/`deny`,
`proxy_next_upstream off`, `proxy_next_upstream_tries`. Each case sends the same bytes through both and
compares the client's answer, the backends' bytes, the access-log line and the error-log lines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.dns_server import DnsServer, Record
from tests.netns import missing_requirements, namespace, unique_name
from tests.proxy.stream.hellos import openssl_hello

from .stream_harness import HOSTS, Exchange, StreamPair, inside, stream_text
from .suite import ORACLE

pytestmark = [
    *ORACLE,
    pytest.mark.netns,
    pytest.mark.skipif(missing_requirements() is not None, reason=missing_requirements() or ""),
]

LOG = "$server_port [$ssl_preread_server_name] $status $bytes_received [$upstream_addr] [$target] [$tag]"
BODY = """
    upstream group_a { server @HOST@:9001; }
    upstream first_dead_1 { server @HOST@:9009; server @HOST@:9002; }
    upstream first_dead_2 { server @HOST@:9009; server @HOST@:9002; }
    upstream first_dead_3 { server @HOST@:9009; server @HOST@:9002; }
    map $ssl_preread_server_name $target {
        group.example     group_a;
        address.example   @HOST@:9002;
        name.example      b-@HOST@.test:9003;
        nxdomain.example  nosuch.test:9003;
        noport.example    @HOST@;
        noport2.example   b-@HOST@.test;
        badport.example   @HOST@:x;
        unix.example      unix:@DIR@/nosuch.sock;
        default           "";
    }
    split_clients $ssl_preread_server_name $half { 50% @HOST@:9001; * @HOST@:9002; }
    server { listen @HOST@:8443; ssl_preread on; resolver @DNS@; proxy_pass $target; }
    server { listen @HOST@:8444; ssl_preread on; proxy_pass $target; }
    server { listen @HOST@:8445; ssl_preread on; set $tag "t-$ssl_preread_protocol"; proxy_pass $half; }
    server { listen @HOST@:8446; deny @HOST@; allow all; proxy_pass @HOST@:9001; }
    server { listen @HOST@:8447; allow 10.0.0.0/8; deny 127.0.0.0/8; proxy_pass @HOST@:9001; }
    server { listen @HOST@:8448; allow 10.0.0.0/8; proxy_pass @HOST@:9001; }
    server { listen @HOST@:8449; proxy_pass first_dead_1; }
    server { listen @HOST@:8450; proxy_next_upstream off; proxy_pass first_dead_2; }
    server { listen @HOST@:8451; proxy_next_upstream_tries 1; proxy_pass first_dead_3; }
"""
BACKENDS = {9001: "A", 9002: "B", 9003: "C"}


def hello(name: str) -> Exchange:
    return Exchange(openssl_hello(name))


@dataclass(frozen=True)
class Case:
    name: str
    exchange: Exchange
    port: int
    backend: str | None  # where nginx sends it (checked on every run), None: nowhere


CASES = [
    Case("a group's name", hello("group.example"), 8443, "A"),
    Case("an address", hello("address.example"), 8443, "B"),
    Case("a name the resolver resolves", hello("name.example"), 8443, "C"),
    Case("a name that does not resolve", hello("nxdomain.example"), 8443, None),
    Case("an address without a port", hello("noport.example"), 8443, None),
    Case("a name without a port", hello("noport2.example"), 8443, None),
    Case("an invalid port", hello("badport.example"), 8443, None),
    Case("a unix socket nothing listens on", hello("unix.example"), 8443, None),
    Case("an empty value", hello("other.example"), 8443, None),
    Case("a name without a resolver", hello("name.example"), 8444, None),
    Case("a group's name without a resolver", hello("group.example"), 8444, "A"),
    Case("split_clients on the server name (1)", hello("one.example"), 8445, None),
    Case("split_clients on the server name (2)", hello("two.example"), 8445, None),
    Case("split_clients on the server name (3)", hello("three.example"), 8445, None),
    Case("denied", Exchange(b"hello"), 8446, None),
    Case("denied by the second rule", Exchange(b"hello"), 8447, None),
    Case("no rule matches", Exchange(b"hello"), 8448, "A"),
    Case("the next upstream after a refused one", Exchange(b"hello"), 8449, "B"),
    Case("proxy_next_upstream off", Exchange(b"hello"), 8450, None),
    Case("proxy_next_upstream_tries 1", Exchange(b"hello"), 8451, None),
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamPair]:
    directory = tmp_path_factory.mktemp("dynamic")
    with namespace(unique_name("hpdyn")) as space, inside(space), DnsServer("127.0.0.53") as dns:
        for host in HOSTS.values():
            dns.records[f"b-{host}.test"] = Record(v4=(host,))
        text = (
            stream_text(BODY, log_format=LOG).replace("@DNS@", dns.address).replace("@DIR@", str(directory))
        )
        running = StreamPair(directory, text, BACKENDS)
        try:
            yield running
        finally:
            running.close()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_session_goes_where_nginx_sends_it_and_is_logged_alike(pair: StreamPair, case: Case) -> None:
    nginx, hapair = (side.run(case.exchange, port=case.port) for side in pair.sides)
    if not case.name.startswith("split_clients"):
        assert list(nginx.backends) == ([case.backend] if case.backend else []), nginx
    assert (hapair.answer, hapair.backends, hapair.access, hapair.errors) == (
        nginx.answer,
        nginx.backends,
        nginx.access,
        nginx.errors,
    )
