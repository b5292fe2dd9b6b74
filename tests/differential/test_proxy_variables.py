"""`proxy_pass` with variables through nginx and hapair: a URL naming an `upstream` group, an address, or a
name resolved per request by the `resolver` (a DNS server of the test's on 127.0.0.1), nginx's URI rules
(a URI part replaces the whole URI), its errors (no resolver, a name not found, a server failure, a
refusal, a timeout: 502; a URL it cannot read: 500) and the answers it keeps for their TTL. The statuses
in each case are what nginx 1.22.1 was seen to answer."""

from __future__ import annotations

import re
from collections.abc import Iterator

import dns.rcode
import pytest

from tests.dns_server import DnsServer, Record

from .harness import BACKEND, Case, Pair, http_config
from .suite import ORACLE, answer_params, check_answer, check_log, log_params

pytestmark = ORACLE

RECORDS = {
    "good.test": Record(v4=("127.0.0.1",)),
    "both.test": Record(v4=("127.0.0.1",), v6=("::1",)),
    "nodata.test": Record(),
    "fail.test": Record(rcode=dns.rcode.SERVFAIL),
    "refused.test": Record(rcode=dns.rcode.REFUSED),
    "silent.test": Record(silent=True),
    "kept.test": Record(v4=("127.0.0.1",), ttl=300),
}


def _locations(dns_address: str) -> str:
    # the Host header names no port (each side's backend has its own)
    resolver = f"resolver {dns_address}; resolver_timeout 1s; proxy_set_header Host x;"
    return f"""
        location /dns/ {{ {resolver} proxy_pass http://$http_x_name:{BACKEND}; }}
        location /dns-uri/ {{ {resolver} proxy_pass http://$http_x_name:{BACKEND}/fixed$is_args$args; }}
        location /no-resolver/ {{ proxy_pass http://$http_x_name:{BACKEND}; }}
        location /group/ {{ proxy_pass http://$http_x_group; }}
        location /group-port/ {{ proxy_pass http://$http_x_group:{BACKEND}; }}
        location /literal/ {{ proxy_set_header Host x; proxy_pass http://127.0.0.1:{BACKEND}$request_uri; }}
        location /literal-uri/ {{ proxy_set_header Host x; proxy_pass http://127.0.0.1:{BACKEND}/o/$arg_p; }}
        location /literal-host/ {{ proxy_pass http://127.0.0.1:{BACKEND}$request_uri; }}
        location /query/ {{ proxy_pass http://backend?x=$arg_p; }}
        location /rewritten/ {{ rewrite ^/rewritten/(.*)$ /new/$1 break; proxy_pass http://$http_x_group; }}
        location ~ ^/captured/(.*)$ {{ proxy_pass http://backend/c/$1; }}
        location /url/ {{ proxy_pass $http_x_url; }}
        location = /host {{ proxy_pass http://backend$request_uri; }}
    """


def _get(path: str, **headers: str) -> bytes:
    lines = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{lines}Connection: close\r\n\r\n".encode()


CASES = [
    Case("a resolved name", _get("/dns/a?b=c", X_Name="good.test"), (200,)),
    Case("a name with A and AAAA records", _get("/dns/a", X_Name="both.test"), (200,)),
    Case("a resolved name and a URI part", _get("/dns-uri/a?b=c", X_Name="good.test"), (200,)),
    Case("a name without addresses", _get("/dns/a", X_Name="nodata.test"), (502,)),
    Case("a name not found", _get("/dns/a", X_Name="nosuch.test"), (502,)),
    Case("a server failure", _get("/dns/a", X_Name="fail.test"), (502,)),
    Case("a refusal", _get("/dns/a", X_Name="refused.test"), (502,)),
    Case("no answer within resolver_timeout", _get("/dns/a", X_Name="silent.test"), (502,)),
    Case("no resolver", _get("/no-resolver/a", X_Name="good.test"), (502,)),
    Case("an upstream group by name", _get("/group/a%20b?q=1", X_Group="backend"), (200,)),
    Case("an upstream group's name in another case", _get("/group/a", X_Group="BackEnd"), (200,)),
    Case("an upstream block is not found with a port", _get("/group-port/a", X_Group="backend"), (502,)),
    Case("an address", _get("/literal/a%2Fb?q=1"), (200,)),
    Case("an address and a URI part", _get("/literal-uri/a?p=x%20y"), (200,)),
    Case("a URI part that is a query", _get("/query/a?p=1"), (200,)),
    Case("a rewritten URI", _get("/rewritten/a%20b?q=1", X_Group="backend"), (200,)),
    Case("a capture in the URI part", _get("/captured/a%20b?q=1"), (200,)),
    Case("a URL without a scheme", _get("/url/a", X_Url="ftp://backend"), (500,)),
    Case("a URL without a host", _get("/url/a", X_Url="http://"), (500,)),
    Case("a URL with an invalid port", _get("/url/a", X_Url="http://backend:99999/"), (500,)),
]


@pytest.fixture(scope="module")
def dns_server() -> Iterator[DnsServer]:
    with DnsServer("127.0.0.1") as server:
        server.records.update(RECORDS)
        yield server


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, dns_server: DnsServer) -> Iterator[Pair]:
    running = Pair(tmp_path_factory.mktemp("pair"), http_config(server=_locations(dns_server.address)))
    yield running
    running.close()


@pytest.mark.parametrize("case", answer_params(CASES))
def test_answer_and_upstream(pair: Pair, case: Case) -> None:
    check_answer(pair, case)


@pytest.mark.parametrize("case", log_params(CASES))
def test_access_log(pair: Pair, case: Case) -> None:
    check_log(pair, case)


_ERROR_LINE = re.compile(r"\[(\w+)\] \d+#\d+: \*\d+ (.*)$")


def _errors(text: str) -> list[str]:
    """The case's error-log lines without their time, pid and connection number."""
    return [f"[{m.group(1)}] {m.group(2)}" for m in map(_ERROR_LINE.search, text.splitlines()) if m]


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("no resolver", "no resolver defined to resolve good.test"),
        ("a name not found", "nosuch.test could not be resolved (3: Host not found)"),
        ("a name without addresses", "nodata.test could not be resolved (3: Host not found)"),
        ("a server failure", "fail.test could not be resolved (2: Server failure)"),
        ("a refusal", "refused.test could not be resolved (5: Operation refused)"),
        ("no answer within resolver_timeout", "silent.test could not be resolved (110: Operation timed out)"),
        ("a URL without a scheme", 'invalid URL prefix in "ftp://backend"'),
        ("a URL with an invalid port", 'invalid port in upstream "backend:99999/"'),
    ],
)
def test_the_error_log_says_what_nginx_says(pair: Pair, name: str, line: str) -> None:
    [case] = [case for case in CASES if case.name == name]
    outcome = pair.run(case)
    assert _errors(outcome.hapair.errors) == _errors(outcome.nginx.errors)
    assert _errors(outcome.nginx.errors)[0].startswith(f"[error] {line}, client: 127.0.0.1")


def test_proxy_host_is_the_url_s_host_and_port(pair: Pair) -> None:
    """`$proxy_host` (the Host sent by default) of a URL with variables: its host and port, as written."""
    outcome = pair.exchange(_get("/literal-host/a"))
    for side in outcome.sides():
        [request] = side.requests
        host = request.header("host")
        assert host is not None and re.fullmatch(rb"127\.0\.0\.1:\d+", host), (side.name, host)


def test_an_answer_is_kept_for_its_ttl(pair: Pair, dns_server: DnsServer) -> None:
    """Once resolved, a name is not asked again while its TTL lasts (each side asked once), and it works
    after its records are gone."""
    for _ in range(2):
        outcome = pair.exchange(_get("/dns/a", X_Name="kept.test"))
        assert [side.answer.statuses for side in outcome.sides()] == [[200], [200]]
    assert dns_server.queries[("kept.test", "A")] == 2
    dns_server.records["kept.test"] = Record(rcode=dns.rcode.NXDOMAIN)
    outcome = pair.exchange(_get("/dns/a", X_Name="kept.test"))
    assert [side.answer.statuses for side in outcome.sides()] == [[200], [200]]
    assert dns_server.queries[("kept.test", "A")] == 2
