"""DNS over a UDP stream (`listen ... udp`), nginx and hapair on the same file in a network namespace: `dig`
asks through each proxy, which balances its sessions over two small DNS servers answering with an
address of their own, so an answer tells which server it reached. The answers, the access-log lines
(`$protocol`, `$status`, `$bytes_*`, `$upstream_*`) and the error-log lines are compared: sessions
ended by `proxy_responses`, by `proxy_requests` with `proxy_responses`, by `proxy_timeout`, an upstream
that refuses (ICMP port unreachable) and one that never answers."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator

import dns.message
import dns.rcode
import pytest

from tests.dns_server import Record
from tests.netns import missing_requirements

from .stream_harness import HOST, StreamPair, StreamSide, dns_pair
from .suite import ORACLE

pytestmark = [
    *ORACLE,
    pytest.mark.netns,
    pytest.mark.skipif(missing_requirements() is not None, reason=missing_requirements() or ""),
    pytest.mark.skipif(shutil.which("dig") is None, reason="needs dig (dnsutils)"),
]

LOG = "$remote_addr $protocol $status $bytes_sent $bytes_received [$upstream_addr]"
LOG += " $upstream_bytes_sent $upstream_bytes_received"
BODY = """
    upstream dns { server @HOST@:9053; server @HOST@:9054; }
    upstream flaky { server @HOST@:9056; server @HOST@:9053; }
    server { listen @HOST@:8443; proxy_pass @HOST@:9001; }
    server { listen @HOST@:5353 udp; proxy_pass dns; proxy_responses 1; proxy_timeout 2s; }
    server { listen @HOST@:5354 udp; proxy_pass flaky; proxy_responses 1; proxy_timeout 2s; }
    server { listen @HOST@:5355 udp; proxy_pass @HOST@:9055; proxy_responses 1; proxy_timeout 300ms; }
    server {
        listen @HOST@:5356 udp;
        proxy_pass dns;
        proxy_requests 2;
        proxy_responses 1;
        proxy_timeout 2s;
    }
    server { listen @HOST@:5357 udp; proxy_pass @HOST@:9053; proxy_timeout 300ms; }
"""
ANSWERS = {9053: "10.0.0.1", 9054: "10.0.0.2"}
SILENT = 9055


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamPair]:
    records = {port: Record(v4=(answer,)) for port, answer in ANSWERS.items()} | {SILENT: Record(silent=True)}
    with dns_pair(tmp_path_factory.mktemp("udp"), "hpudp", BODY, LOG, records) as running:
        yield running


def dig(side: StreamSide, port: int, timeout: int = 2, *, raw: bool = False) -> str:
    """The answer `dig +short` prints for a.example asked through the side's proxy ("" for none), or with
    `raw` all it prints (its complaints too)."""
    command = ["dig", "+short", "+tries=1", f"+timeout={timeout}", "-b", side.host, f"@{side.host}"]
    ran = subprocess.run(
        [*command, "-p", str(port), "a.example"],
        capture_output=True,
        text=True,
        timeout=timeout * 3 + 5,
        check=False,
    )
    if raw:
        return ran.stdout
    return "\n".join(line for line in ran.stdout.splitlines() if not line.startswith(";;"))


def both(pair: StreamPair, port: int, queries: int, *, lines: int | None = None) -> list[tuple]:
    """Each side: the answers to `queries` digs, then its access-log and error-log lines."""
    results = []
    for side in pair.sides:
        answers = tuple(dig(side, port) for _ in range(queries))
        results.append((answers, side.new_access(queries if lines is None else lines), side.new_errors()))
    return results


def test_queries_are_balanced_over_both_dns_servers(pair: StreamPair) -> None:
    nginx, hapair = both(pair, 5353, 4)
    assert nginx[0] == ("10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.2")
    assert nginx[1] == tuple(
        f"{HOST} UDP 200 54 50 [{HOST}:{port}] 50 54" for port in (9053, 9054, 9053, 9054)
    )
    assert hapair == nginx


def test_an_upstream_that_refuses_is_logged_and_skipped_by_the_next_sessions(pair: StreamPair) -> None:
    """The refusal counts as the answer (200 without bytes) and as the peer's failure; nginx also sends
    the client an empty datagram then (dig: "short message received"), hapair nothing
    (docs/nginx-differences.md)."""
    results = []
    for side in pair.sides:
        first = dig(side, 5354, timeout=1, raw=True)
        answers = (dig(side, 5354), dig(side, 5354))
        results.append(((answers, side.new_access(3), side.new_errors()), "short" in first))
    (nginx, nginx_empty_datagram), (hapair, hapair_empty_datagram) = results
    assert nginx[0] == ("10.0.0.1", "10.0.0.1")
    assert nginx[1] == (
        f"{HOST} UDP 200 0 50 [{HOST}:9056] 50 0",
        f"{HOST} UDP 200 54 50 [{HOST}:9053] 50 54",
        f"{HOST} UDP 200 54 50 [{HOST}:9053] 50 54",
    )
    assert nginx[2] == (
        "[error] recv() failed (111: Connection refused) while proxying and reading from upstream,"
        f' udp client: {HOST}, server: {HOST}:5354, upstream: "{HOST}:9056",'
        " bytes from/to client:50/0, bytes from/to upstream:0/50",
    )
    assert (nginx_empty_datagram, hapair_empty_datagram) == (True, False)
    assert hapair == nginx


def test_an_upstream_that_never_answers_times_out_with_502(pair: StreamPair) -> None:
    nginx, hapair = both(pair, 5355, 1)
    assert nginx[0] == ("",)
    assert nginx[1] == (f"{HOST} UDP 502 0 50 [{HOST}:{SILENT}] 50 0",)
    assert nginx[2] == (
        "[error] upstream timed out (110: Connection timed out) while proxying connection,"
        f' udp client: {HOST}, server: {HOST}:5355, upstream: "{HOST}:{SILENT}",'
        " bytes from/to client:50/0, bytes from/to upstream:0/50",
    )
    assert hapair == nginx


def query(name: str, ident: int) -> bytes:
    message = dns.message.make_query(name, "A")
    message.id = ident
    return message.to_wire()


def converse(side: StreamSide, port: int, count: int) -> list[tuple[int, str]]:
    """`count` queries from one socket, each after the answer to the one before: (id, address) each."""
    answers = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.bind((side.host, 0))
        client.settimeout(3)
        for ident in range(1, count + 1):
            client.sendto(query("a.example", ident), (side.host, port))
            response = dns.message.from_wire(client.recv(65535))
            assert response.rcode() == dns.rcode.NOERROR
            answers.append((response.id, response.answer[0][0].to_text()))
    return answers


def test_one_client_address_is_one_session_for_proxy_requests_datagrams(pair: StreamPair) -> None:
    """With `proxy_requests 2` both queries of one socket go to the same server in one session; the
    third begins the next session, on the next server."""
    results = []
    for side in pair.sides:
        answers = converse(side, 5356, 3)
        results.append((answers, side.new_access(1), side.new_errors()))
    nginx, hapair = results
    assert nginx[0] == [(1, "10.0.0.1"), (2, "10.0.0.1"), (3, "10.0.0.2")]
    assert nginx[1] == (f"{HOST} UDP 200 86 54 [{HOST}:9053] 54 86",)
    assert hapair[:2] == nginx[:2]
    assert (hapair[2], nginx[2]) == ((), ())
    for side in pair.sides:  # the third query's session: ended by its two-datagram rule's timeout
        assert side.new_access(1) == (f"{HOST} UDP 200 43 27 [{HOST}:9054] 27 43",)


def test_without_proxy_responses_a_session_lasts_until_proxy_timeout(pair: StreamPair) -> None:
    """Both queries of one socket are one session, logged once it has been idle for proxy_timeout."""
    results = []
    for side in pair.sides:
        answers = converse(side, 5357, 2)
        results.append((answers, side.new_access(1), side.new_errors()))
    nginx, hapair = results
    assert nginx[0] == [(1, "10.0.0.1"), (2, "10.0.0.1")]
    assert nginx[1] == (f"{HOST} UDP 200 86 54 [{HOST}:9053] 54 86",)
    assert hapair == nginx
