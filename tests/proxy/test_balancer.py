"""The balancer against sequences recorded from nginx 1.22.1 (stream module, one worker, sequential
connections, `$upstream_addr` logged) and against the properties of smooth weighted round-robin."""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from hapair.config.nginx.model.addresses import InetAddress
from hapair.config.nginx.model.place import Place
from hapair.config.nginx.model.upstream import Balancing, Upstream, UpstreamServer
from hapair.proxy.balancer import Balancer, Peer

PLACE = Place("test.conf", 1)


def server(
    name: str,
    weight: int = 1,
    *,
    max_fails: int = 1,
    fail_timeout: int = 10,
    backup: bool = False,
    down: bool = False,
    port: int = 0,
) -> UpstreamServer:
    address = InetAddress(ipaddress.ip_address("127.0.0.1"), port or 1000 + ord(name[0]))
    return UpstreamServer(name, (address,), weight, max_fails, fail_timeout, backup, down, PLACE)


def group(*servers: UpstreamServer, least_conn: bool = False) -> Balancer:
    balancing = Balancing.LEAST_CONN if least_conn else Balancing.ROUND_ROBIN
    return Balancer(Upstream("u", servers, balancing, None, False, PLACE))


def pick(balancer: Balancer, now: float, tried: Iterable[Peer] = ()) -> Peer | None:
    """A new request's first pick, with `tried` already tried."""
    selection = balancer.selection()
    selection.tried.update(tried)
    return balancer.pick(now, selection)


def connect(balancer: Balancer, dead: frozenset[str], now: float = 0.0, *, hold: bool = False) -> str:
    """One client connection as ngx_stream_proxy_module makes it: try peers until one answers or the
    tries run out; returns `$upstream_addr` with server names for addresses."""
    selection = balancer.selection()
    names: list[str] = []
    tries = balancer.tries
    while True:
        peer = balancer.pick(now, selection)
        if peer is None:
            names.append(balancer.upstream.name)
            return ", ".join(names) + " 502"
        balancer.connected(peer)
        names.append(peer.server)
        if peer.server not in dead:
            balancer.succeeded(peer, now)
            if not hold:
                balancer.released(peer)
            return ", ".join(names)
        balancer.failed(peer, now)
        balancer.released(peer)
        tries -= 1
        if tries == 0:
            return ", ".join(names) + " 502"


def sessions(
    balancer: Balancer, count: int, dead: frozenset[str] = frozenset(), *, hold: bool = False
) -> list[str]:
    return [connect(balancer, dead, hold=hold) for _ in range(count)]


def test_weights_5_1_1_give_nginx_sequence() -> None:
    balancer = group(server("a", 5), server("b"), server("c"))
    assert sessions(balancer, 14) == list("aabacaa" * 2)


def test_dead_peer_is_retried_until_max_fails_then_skipped_as_nginx() -> None:
    balancer = group(server("a"), server("x", max_fails=2, fail_timeout=30), server("c", 2))
    assert sessions(balancer, 12, frozenset({"x"})) == [
        "c", "a", "x, c", "c", "a", "c", "x, c", "a", "c", "c", "a", "c",
    ]  # fmt: skip


def test_backup_takes_over_when_every_primary_failed_as_nginx() -> None:
    balancer = group(server("x"), server("y"), server("c", backup=True), server("d", 2, backup=True))
    assert sessions(balancer, 6, frozenset({"x", "y"})) == ["x, y, d", "c", "d", "d", "c", "d"]


def test_every_peer_failed_gives_no_live_upstreams_as_nginx() -> None:
    balancer = group(server("x"), server("y"))
    assert sessions(balancer, 4, frozenset({"x", "y"})) == ["x, y 502", "u 502", "u 502", "u 502"]


def test_single_peer_is_never_marked_failed_as_nginx() -> None:
    balancer = group(server("x"))
    assert sessions(balancer, 3, frozenset({"x"})) == ["x 502"] * 3
    assert not balancer.is_failed(balancer.peers[0], 0.0)


def test_single_primary_with_backup_counts_failures() -> None:
    balancer = group(server("x"), server("b", backup=True))
    assert sessions(balancer, 3, frozenset({"x"})) == ["x, b", "b", "b"]


def test_down_server_is_never_used_as_nginx() -> None:
    balancer = group(server("a", 2), server("b", down=True), server("c"))
    assert sessions(balancer, 6) == list("acaaca")
    assert balancer.tries == 2


def test_single_down_server_gives_no_live_upstreams() -> None:
    balancer = group(server("a", down=True))
    assert pick(balancer, 0.0) is None


def test_least_conn_with_held_connections_as_nginx() -> None:
    balancer = group(server("a"), server("b", 2), server("c", 3), least_conn=True)
    assert sessions(balancer, 12, hold=True) == list("cbacbcabccbc")


def test_least_conn_prefers_fewest_connections_per_weight() -> None:
    balancer = group(server("a"), server("b"), least_conn=True)
    a, b = balancer.peers
    for _ in range(3):
        balancer.connected(a)
    assert [pick(balancer, 0.0) for _ in range(3)] == [b, b, b]
    balancer.released(a)
    balancer.released(a)
    balancer.released(a)
    assert balancer.connections(a) == 0
    assert {pick(balancer, 0.0), pick(balancer, 0.0)} == {a, b}


def test_failure_lowers_effective_weight_which_recovers_one_per_pick() -> None:
    balancer = group(server("a", 4, max_fails=2), server("b", 4))
    a, b = balancer.peers
    balancer.failed(a, 0.0)  # effective weight of a: 4 - 4 // 2 = 2, then 3, 4 at the next picks
    assert [pick(balancer, 0.0) for _ in range(4)] == [b, a, b, a]
    fresh = group(server("a", 4, max_fails=2), server("b", 4))
    assert [p.server for p in (pick(fresh, 0.0) for _ in range(4))] == ["a", "b", "a", "b"]


def test_failed_peer_comes_back_after_fail_timeout_and_a_success_clears_it() -> None:
    balancer = group(server("a", max_fails=1, fail_timeout=10), server("b"))
    a, b = balancer.peers
    balancer.failed(a, 0.0)
    assert balancer.is_failed(a, 10.0)
    assert {pick(balancer, 5.0) for _ in range(4)} == {b}
    assert not balancer.is_failed(a, 10.5)
    assert pick(balancer, 10.5, {b}) is a  # the trial connection after the timeout
    balancer.succeeded(a, 10.6)
    balancer.failed(a, 11.0)
    balancer.succeeded(a, 11.0)
    assert balancer.is_failed(a, 20.0)  # a failure after the trial: a new timeout from 11.0


def test_failures_count_within_fail_timeout_only() -> None:
    balancer = group(server("a", max_fails=2, fail_timeout=10), server("b"))
    a, _ = balancer.peers
    balancer.failed(a, 0.0)
    balancer.succeeded(a, 1.0)  # not checked since the failure: the failure still counts
    balancer.failed(a, 5.0)
    assert balancer.is_failed(a, 14.0)
    assert not balancer.is_failed(a, 15.5)
    assert pick(balancer, 20.0, {p for p in balancer.peers if p is not a}) is a
    balancer.succeeded(a, 20.0)  # checked at 20.0 after the last failure: failures forgotten
    balancer.failed(a, 21.0)
    assert not balancer.is_failed(a, 21.0)


def test_max_fails_zero_never_marks_a_peer_failed() -> None:
    balancer = group(server("a", max_fails=0), server("b"))
    a, _ = balancer.peers
    for second in range(10):
        balancer.failed(a, float(second))
    assert not balancer.is_failed(a, 10.0)
    assert a in {pick(balancer, 10.0) for _ in range(2)}


def test_tried_peers_are_skipped_then_nothing_is_left() -> None:
    balancer = group(server("a"), server("b"))
    a, b = balancer.peers
    assert pick(balancer, 0.0, {a}) is b
    assert pick(balancer, 0.0, {a, b}) is None


def test_peers_carry_the_servers_configuration() -> None:
    balancer = group(server("a", 3, max_fails=4, fail_timeout=7, port=8080), server("b", backup=True))
    a, b = balancer.peers
    assert (a.name, a.server, a.weight, a.max_fails, a.fail_timeout_s, a.backup) == (
        "127.0.0.1:8080", "a", 3, 4, 7.0, False,
    )  # fmt: skip
    assert b.backup
    assert a != Peer(a.address, a.name, a.server, a.weight, a.max_fails, a.fail_timeout_s, False, False)


weights = st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(weights=weights, down=st.lists(st.booleans(), min_size=6, max_size=6), rounds=st.integers(1, 3))
def test_each_live_peer_gets_its_weights_share(weights: list[int], down: list[bool], rounds: int) -> None:
    servers = [server(chr(97 + i), w, down=down[i] and i > 0) for i, w in enumerate(weights)]
    balancer = group(*servers)
    live = [s for s in servers if not s.down]
    total = sum(s.weight for s in live)
    counts = Counter(p.server for p in (pick(balancer, 0.0) for _ in range(total * rounds)))
    assert counts == {s.name: s.weight * rounds for s in live}


@settings(max_examples=200, deadline=None)
@given(
    weights=weights,
    failed=st.lists(st.booleans(), min_size=6, max_size=6),
    down=st.lists(st.booleans(), min_size=6, max_size=6),
    least_conn=st.booleans(),
)
def test_pick_never_returns_a_down_or_failed_peer_while_a_live_one_exists(
    weights: list[int], failed: list[bool], down: list[bool], least_conn: bool
) -> None:
    servers = [server(chr(97 + i), w, down=down[i]) for i, w in enumerate(weights)]
    balancer = group(*servers, least_conn=least_conn)
    for peer, is_failed in zip(balancer.peers, failed, strict=False):
        if is_failed:
            balancer.failed(peer, 0.0)
    live = {p for p in balancer.peers if not p.down and not balancer.is_failed(p, 1.0)}
    picks = {pick(balancer, 1.0) for _ in range(20)}
    assert picks <= live if live else picks == {None}
