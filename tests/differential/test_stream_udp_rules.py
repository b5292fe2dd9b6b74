"""A UDP stream server's rules and variables, nginx and hapair on the same file in a network namespace: the
variables a log_format may use for a UDP session (`$server_addr`, `$server_port`, the `$upstream_*` of
each try, a `set` value, `map` and `split_clients` values, the times), `hash` balancing, `deny`, `proxy_pass`
with a variable, a peer that cannot be reached (the next one tried, its failure counted for the next
sessions; or, with `proxy_next_upstream off`, 502), `proxy_next_upstream_tries`, and a group whose
servers are all down. Each query is a DNS query from a socket of its own (a session each); the DNS
servers answer with an address of their own, so an answer tells which server it reached."""

from __future__ import annotations

import re
import shutil
import socket
from collections.abc import Iterator

import dns.message
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

TIMES = "$session_time/$upstream_first_byte_time/$upstream_session_time"
LOG = "$remote_addr $server_addr:$server_port $protocol $status $bytes_sent $bytes_received"
LOG += " [$upstream_addr] [$upstream_bytes_sent] [$upstream_bytes_received] [$upstream_connect_time]"
LOG += f" $mark $half | {TIMES}"
BODY = """
    upstream dns { server @HOST@:9053; server @HOST@:9054; }
    upstream hashed { hash $protocol-$server_port; server @HOST@:9053; server @HOST@:9054; }
    upstream unreachable { server 192.0.2.1:9053; server @HOST@:9053; }
    upstream unreachable_alone { server 192.0.2.1:9053; server @HOST@:9054; }
    upstream twice_unreachable { server 192.0.2.1:9053; server 192.0.2.2:9053; server @HOST@:9053; }
    upstream all_down { server @HOST@:9053 down; server @HOST@:9054 down; }
    map $server_port $chosen { 5363 hashed; default dns; }
    split_clients "$protocol$server_port" $half { 50% first; * second; }
    server { listen @HOST@:8443; proxy_pass @HOST@:9001; }
    server { listen @HOST@:5360 udp; proxy_pass dns; proxy_responses 1; }
    server { listen @HOST@:5361 udp; proxy_pass hashed; proxy_responses 1; }
    server { listen @HOST@:5362 udp; deny @HOST@; proxy_pass dns; proxy_responses 1; }
    server { listen @HOST@:5363 udp; set $mark "m-$server_port"; proxy_pass $chosen; proxy_responses 1; }
    server { listen @HOST@:5364 udp; proxy_pass unreachable; proxy_responses 1; }
    server {
        listen @HOST@:5365 udp;
        proxy_pass unreachable_alone;
        proxy_responses 1;
        proxy_next_upstream off;
    }
    server { listen @HOST@:5366 udp; proxy_pass all_down; proxy_responses 1; }
    server {
        listen @HOST@:5368 udp;
        proxy_pass twice_unreachable;
        proxy_responses 1;
        proxy_next_upstream_tries 2;
    }
    server { listen @HOST@:5367 udp; proxy_pass @HOST@:9053; proxy_timeout 300ms; }
"""
ANSWERS = {9053: "10.0.0.1", 9054: "10.0.0.2"}
_TIME = re.compile(r"\d+\.\d{3}")


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamPair]:
    records = {port: Record(v4=(answer,)) for port, answer in ANSWERS.items()}
    with dns_pair(tmp_path_factory.mktemp("udp"), "hpudr", BODY, LOG, records) as running:
        yield running


def ask(side: StreamSide, port: int, *, answered: bool = True) -> str:
    """One query from a socket of its own: the address of the answer, or "" without waiting for one when
    none is `answered` (the log line the caller waits for ends the case)."""
    query = dns.message.make_query("a.example", "A")
    query.id = 7
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.bind((side.host, 0))
        client.settimeout(3)
        client.sendto(query.to_wire(), (side.host, port))
        if not answered:
            return ""
        return str(dns.message.from_wire(client.recv(65535)).answer[0][0])


def split_times(line: str) -> tuple[str, list[str]]:
    """A log line without its times, and the times: `$session_time`, then the last try's first byte and
    session times (each `-` or seconds with milliseconds)."""
    fixed, _, times = line.partition(" | ")
    values = [value.split(", ")[-1] for value in times.split("/")]
    assert len(values) == 3 and all(value == "-" or _TIME.fullmatch(value) for value in values), line
    return fixed, values


def run(pair: StreamPair, port: int, sessions: int, *, answered: bool = True) -> list[tuple]:
    """Each side: the answers of `sessions` queries, their log lines without times, the error lines."""
    results = []
    for side in pair.sides:
        answers = tuple(ask(side, port, answered=answered) for _ in range(sessions))
        lines = tuple(split_times(line)[0] for line in side.new_access(sessions))
        results.append((answers, lines, side.new_errors()))
    return results


def test_a_sessions_variables_are_nginx_s(pair: StreamPair) -> None:
    nginx, hapair = run(pair, 5360, 2)
    assert nginx[0] == ("10.0.0.1", "10.0.0.2")
    assert nginx[1] == tuple(
        f"{HOST} {HOST}:5360 UDP 200 43 27 [{HOST}:{port}] [27] [43] [0.000]  second" for port in (9053, 9054)
    )
    assert hapair == nginx


def test_hash_balances_by_the_key_of_each_session(pair: StreamPair) -> None:
    nginx, hapair = run(pair, 5361, 3)
    assert len(set(nginx[0])) == 1  # one key, one peer
    assert hapair == nginx


def test_a_denied_client_is_logged_with_403(pair: StreamPair) -> None:
    nginx, hapair = run(pair, 5362, 1, answered=False)
    assert nginx[1] == (f"{HOST} {HOST}:5362 UDP 403 0 27 [-] [-] [-] [-]  first",)
    assert nginx[2] == (
        "[error] access forbidden by rule while initializing session,"
        f" udp client: {HOST}, server: {HOST}:5362",
    )
    assert hapair == nginx


def test_set_map_and_proxy_pass_with_a_variable(pair: StreamPair) -> None:
    nginx, hapair = run(pair, 5363, 2)
    assert nginx[1][0].startswith(f"{HOST} {HOST}:5363 UDP 200 43 27 [{HOST}:905")
    assert nginx[1][0].endswith("m-5363 first")
    assert hapair == nginx


def test_an_unreachable_peer_is_skipped_and_counted_as_failed(pair: StreamPair) -> None:
    """The first session tries the next peer; the next ones skip the failed one (max_fails 1), which
    round-robin would give the third."""
    nginx, hapair = run(pair, 5364, 3)
    assert nginx[0] == ("10.0.0.1", "10.0.0.1", "10.0.0.1")
    assert nginx[1] == (
        f"{HOST} {HOST}:5364 UDP 200 43 27 [192.0.2.1:9053, {HOST}:9053] [0, 27] [0, 43] [-, 0.000]  second",
        *[f"{HOST} {HOST}:5364 UDP 200 43 27 [{HOST}:9053] [27] [43] [0.000]  second"] * 2,
    )
    assert nginx[2] == (
        "[error] connect() to 192.0.2.1:9053 failed (101: Network is unreachable) while connecting to"
        f' upstream, udp client: {HOST}, server: {HOST}:5364, upstream: "192.0.2.1:9053",'
        " bytes from/to client:27/0, bytes from/to upstream:0/0",
    )
    assert hapair == nginx


def test_without_proxy_next_upstream_an_unreachable_peer_ends_the_session_with_502(pair: StreamPair) -> None:
    nginx, hapair = run(pair, 5365, 1, answered=False)
    assert nginx[1] == (f"{HOST} {HOST}:5365 UDP 502 0 27 [192.0.2.1:9053] [0] [0] [-]  second",)
    assert len(nginx[2]) == 1
    assert hapair == nginx


def test_proxy_next_upstream_tries_caps_the_peers_a_session_tries(pair: StreamPair) -> None:
    nginx, hapair = run(pair, 5368, 1, answered=False)
    assert nginx[1] == (
        f"{HOST} {HOST}:5368 UDP 502 0 27 [192.0.2.1:9053, 192.0.2.2:9053] [0, 0] [0, 0] [-, -]  second",
    )
    assert len(nginx[2]) == 2
    assert hapair == nginx


def test_a_group_whose_servers_are_all_down_has_no_live_upstreams(pair: StreamPair) -> None:
    nginx, hapair = run(pair, 5366, 1, answered=False)
    assert nginx[1] == (f"{HOST} {HOST}:5366 UDP 502 0 27 [all_down] [0] [0] [-]  first",)
    assert hapair == nginx


def test_the_times_of_a_session_ended_by_proxy_timeout(pair: StreamPair) -> None:
    """`$session_time` and `$upstream_session_time` count the idle `proxy_timeout` (300 ms) before the end;
    the answer's first byte came before it."""
    results = []
    for side in pair.sides:
        answer = ask(side, 5367)
        fixed, times = split_times(side.new_access(1)[0])
        session, first_byte, upstream = (float(value) for value in times)
        results.append((answer, fixed, session >= 0.3, upstream >= 0.3, first_byte < 0.3, side.new_errors()))
    nginx, hapair = results
    line = f"{HOST} {HOST}:5367 UDP 200 43 27 [{HOST}:9053] [27] [43] [0.000]  second"
    assert nginx == ("10.0.0.1", line, True, True, True, ())
    assert hapair == nginx
