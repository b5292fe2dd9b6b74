"""The balancing methods besides round-robin (`ip_hash`, `hash`, `hash consistent`, `random`, `random two`)
and what all methods share (`max_conns`, `down`, failures, backup peers, the 20 tries before round-robin),
on the pure balancer. Which peer a key reaches is checked against the real nginx in
test_balancing_oracle.py; here, the rules around it."""

from __future__ import annotations

import ipaddress
import zlib
from collections import Counter
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hapair.config.nginx.model.addresses import InetAddress
from hapair.config.nginx.model.place import Place
from hapair.config.nginx.model.upstream import Balancing, Upstream, UpstreamServer
from hapair.proxy.balancer import Balancer, Peer, Selection
from hapair.proxy.balancing.hash import POINTS_PER_WEIGHT, ring, server_point_seed
from hapair.proxy.balancing.ip_hash import address_key
from hapair.proxy.balancing.peers import MAX_TRIES, PeerState

PLACE = Place("test.conf", 1)
KEYED = [Balancing.IP_HASH, Balancing.HASH, Balancing.CONSISTENT_HASH]
ALL = [Balancing.ROUND_ROBIN, Balancing.LEAST_CONN, *KEYED, Balancing.RANDOM, Balancing.RANDOM_TWO]


def server(
    name: str,
    weight: int = 1,
    *,
    max_conns: int = 0,
    max_fails: int = 1,
    fail_timeout: int = 10,
    backup: bool = False,
    down: bool = False,
    addresses: int = 1,
) -> UpstreamServer:
    """A `server` line named `name` (its port from the name) with `addresses` addresses."""
    port = 1000 + sum(map(ord, name))
    resolved = tuple(InetAddress(ipaddress.ip_address(f"127.0.0.{i + 1}"), port) for i in range(addresses))
    return UpstreamServer(
        f"{name}:{port}", resolved, weight, max_fails, fail_timeout, backup, down, PLACE, max_conns
    )


def group(balancing: Balancing, *servers: UpstreamServer, random: Random | None = None) -> Balancer:
    return Balancer(Upstream("u", servers, balancing, None, False, PLACE), random or Random(1))


def key_for(balancing: Balancing, i: int) -> bytes:
    """The i-th test key: a client address for ip_hash (one per /24), a text otherwise."""
    if balancing is Balancing.IP_HASH:
        return bytes([10, i // 256, i % 256, 7])
    return b"key-%d" % i


def first(balancer: Balancer, key: bytes = b"", now: float = 0.0) -> Peer | None:
    return balancer.pick(now, balancer.selection(key))


def names(peers: list[Peer | None]) -> list[str | None]:
    return [None if peer is None else peer.server.partition(":")[0] for peer in peers]


class Scripted(Random):
    """A Random whose draws are given in advance (the balancer only calls randrange)."""

    def __init__(self, draws: list[int]) -> None:
        super().__init__(0)
        self.draws = list(draws)

    def randrange(self, *args: object, **kwargs: object) -> int:  # type: ignore[override]
        return self.draws.pop(0)


# -- ip_hash


def test_ip_hash_hashes_the_first_three_bytes_of_an_ipv4_address() -> None:
    # 89 -> (89*113+127) % 6271 = 3913 -> 3913*113 % 6271 = 3199 -> 3199*113 % 6271 = 4040; 4040 % 3 = 2
    balancer = group(Balancing.IP_HASH, server("a"), server("b"), server("c"))
    picks = {first(balancer, bytes([127, 0, 0, last])) for last in range(256)}
    assert names(list(picks)) == ["c"]


def test_ip_hash_hashes_all_sixteen_bytes_of_an_ipv6_address() -> None:
    balancer = group(Balancing.IP_HASH, server("a"), server("b"), server("c"))
    base = ipaddress.ip_address("2001:db8::").packed
    picks = {first(balancer, base[:15] + bytes([last])) for last in range(256)}
    assert (address_key(base), len(picks)) == (base, 3)


def test_ip_hash_gives_a_client_without_an_address_the_key_of_zeros() -> None:
    assert (address_key(b""), address_key(b"\x7f\x00\x00\x01"), address_key(b"abc")) == (
        b"\0\0\0",
        b"\x7f\x00\x00",
        b"\0\0\0",
    )


def test_ip_hash_counts_down_peers_in_the_weights_and_hashes_again_past_them() -> None:
    # 127.0.0: 4040 % 5 = 0, a's point; with a down the hash goes on from 4040: 5135, 3323, 5510, and
    # 5510 % 5 = 0 is a's again; then 1928, 4650, 4957, and 4957 % 5 = 2 is one of b's points
    up = group(Balancing.IP_HASH, server("a"), server("b", 3), server("d"))
    down = group(Balancing.IP_HASH, server("a", down=True), server("b", 3), server("d"))
    key = bytes([127, 0, 0, 1])
    assert names([first(up, key), first(down, key)]) == ["a", "b"]


def test_a_request_s_retries_reach_each_peer_once_then_none() -> None:
    balancer = group(Balancing.IP_HASH, server("a"), server("b"), server("c"), server("d"))
    key = bytes([192, 0, 2, 1])
    selection = balancer.selection(key)
    tried = [balancer.pick(0.0, selection) for _ in range(4)]
    assert (len(set(tried)), balancer.pick(0.0, selection)) == (4, None)


# -- hash


def test_hash_sends_a_key_to_the_same_peer_and_keys_by_weight() -> None:
    balancer = group(Balancing.HASH, server("a"), server("b", 3))
    keys = [b"key-%d" % i for i in range(4000)]
    again = [first(balancer, key) for key in keys[:50]]
    shares = Counter(names([first(balancer, key) for key in keys]))
    assert (again == [first(balancer, key) for key in keys[:50]], round(shares["b"] / shares["a"])) == (
        True,
        3,
    )


def test_hash_is_cache_memcached_s_crc32_of_the_key() -> None:
    key = b"user-42"
    point = (zlib.crc32(key) >> 16) & 0x7FFF
    balancer = group(Balancing.HASH, *(server(name) for name in "abcdefg"))
    assert names([first(balancer, key)]) == [list("abcdefg")[point % 7]]


def test_hash_rehashes_past_a_down_peer_with_the_rehash_count_before_the_key() -> None:
    key = b"user-42"
    servers = [server(name) for name in "abcdefg"]
    index = ((zlib.crc32(key) >> 16) & 0x7FFF) % 7
    servers[index] = server("abcdefg"[index], down=True)
    total = ((zlib.crc32(key) >> 16) & 0x7FFF) + ((zlib.crc32(b"1" + key) >> 16) & 0x7FFF)
    expected = "abcdefg"[total % 7]
    assert expected != "abcdefg"[index]
    assert names([first(group(Balancing.HASH, *servers), key)]) == [expected]


def test_an_empty_key_is_round_robin() -> None:
    balancer = group(Balancing.HASH, server("a", 2), server("b"))
    assert names([first(balancer, b"") for _ in range(6)]) == list("abaaba")


@pytest.mark.parametrize("balancing", [Balancing.HASH, Balancing.CONSISTENT_HASH])
def test_a_failed_peer_s_keys_go_elsewhere_until_fail_timeout_then_come_back(balancing: Balancing) -> None:
    balancer = group(balancing, server("a"), server("b"), server("c"))
    key = b"session-7"
    home = first(balancer, key)
    assert home is not None
    balancer.failed(home, 100.0)
    elsewhere = first(balancer, key, 105.0)
    assert (elsewhere is not None and elsewhere is not home, first(balancer, key, 111.0)) == (True, home)


# -- hash consistent


@pytest.mark.parametrize(
    ("server_name", "seed"),
    [
        ("127.0.0.1:8080", b"127.0.0.1\x008080"),
        ("backend.example", b"backend.example\x00"),
        ("[::1]:80", b"[::1]\x0080"),
        ("[::1]", b"[::1]\x00"),
        ("UNIX:/run/app.sock", b"/run/app.sock\x00"),
        ("host:8o", b"host:8o\x00"),
    ],
)
def test_a_server_s_points_hash_its_host_and_port_as_nginx_splits_them(server_name: str, seed: bytes) -> None:
    assert server_point_seed(server_name) == seed


def test_the_ring_has_160_points_per_weight_chained_from_the_host_and_port() -> None:
    balancer_states = [
        PeerState(peer) for peer in group(Balancing.ROUND_ROBIN, server("a"), server("b", 3)).peers
    ]
    points = ring(balancer_states)
    first_point = zlib.crc32(b"\0\0\0\0", zlib.crc32(server_point_seed(balancer_states[0].peer.server)))
    assert (len(points), POINTS_PER_WEIGHT, (first_point, "a:1097") in points) == (640, 160, True)


def test_the_addresses_of_one_server_line_share_its_points_and_take_turns() -> None:
    balancer = group(Balancing.CONSISTENT_HASH, server("a", addresses=2), server("b"), server("c"))
    key = next(k for k in (b"key-%d" % i for i in range(100)) if names([first(balancer, k)]) == ["a"])
    assert len({first(balancer, key) for _ in range(4)}) == 2


def test_consistent_retry_takes_the_next_point_s_server() -> None:
    balancer = group(Balancing.CONSISTENT_HASH, *(server(name) for name in "abcde"))
    selection = balancer.selection(b"user-1")
    tried = [balancer.pick(0.0, selection) for _ in range(5)]
    assert (len(set(tried)), balancer.pick(0.0, selection)) == (5, None)


SERVER_NAMES = st.lists(st.sampled_from("abcdefghij"), min_size=2, max_size=8, unique=True)


@settings(max_examples=60, deadline=None)
@given(server_names=SERVER_NAMES, removed=st.integers(0, 7))
def test_a_down_peer_s_keys_go_where_they_would_without_it_and_no_other_key_moves(
    server_names: list[str], removed: int
) -> None:
    gone = server_names[removed % len(server_names)]
    keys = [b"k%d" % i for i in range(300)]
    full = group(Balancing.CONSISTENT_HASH, *(server(name) for name in server_names))
    down = group(Balancing.CONSISTENT_HASH, *(server(name, down=name == gone) for name in server_names))
    without = group(Balancing.CONSISTENT_HASH, *(server(name) for name in server_names if name != gone))
    before, after, other = ([names([first(b, key)])[0] for key in keys] for b in (full, down, without))
    moved = {key for key, was, now in zip(keys, before, after, strict=True) if was != now}
    assert (after, moved) == (other, {key for key, was in zip(keys, before, strict=True) if was == gone})


# -- random


def test_random_draws_by_weight_and_skips_down_and_tried_peers() -> None:
    balancer = group(
        Balancing.RANDOM, server("a"), server("x", 2, down=True), server("b", 3), random=Random(7)
    )
    shares = Counter(names([first(balancer) for _ in range(4000)]))
    a, b = balancer.peers[0], balancer.peers[2]
    selection = balancer.selection()
    selection.tried.add(b)
    assert (round(shares["b"] / shares["a"]), "x" in shares, balancer.pick(0.0, selection)) == (3, False, a)


def test_random_two_keeps_the_less_loaded_of_two_different_draws_and_the_second_on_a_tie() -> None:
    # points of weights a=1, b=1, c=2: 0 is a's, 1 is b's, 2 and 3 are c's
    draws = Scripted([2, 0, 1, 1, 0])
    balancer = group(Balancing.RANDOM_TWO, server("a"), server("b"), server("c", 2), random=draws)
    a, _, c = balancer.peers
    balancer.connected(a)
    loaded = first(balancer)  # c, then a: a has a connection, c none
    balancer.released(a)
    tie = first(balancer)  # b, b again (passed over), a: no connections either, the second is kept
    assert (loaded, tie, draws.draws) == (c, a, [])


def test_after_twenty_draws_random_gives_way_to_round_robin_for_the_rest_of_the_request() -> None:
    draws = Scripted([0] * 21)
    balancer = group(Balancing.RANDOM, server("x", down=True), server("b"), server("c"), random=draws)
    selection = balancer.selection()
    picks = [balancer.pick(0.0, selection) for _ in range(3)]  # the 2nd and 3rd without drawing
    assert (names(picks), selection.tries, draws.draws) == (["b", "c", None], MAX_TRIES + 1, [])


# -- shared by every method


@pytest.mark.parametrize("balancing", ALL)
def test_a_peer_at_max_conns_is_skipped_until_a_connection_ends(balancing: Balancing) -> None:
    balancer = group(balancing, server("a", max_conns=1), server("b"), server("c"))
    a = balancer.peers[0]
    balancer.connected(a)
    busy = {first(balancer, key_for(balancing, i)) for i in range(60)}
    balancer.released(a)
    free = {first(balancer, key_for(balancing, i)) for i in range(60)}
    assert (a in busy, a in free) == (False, True)


@pytest.mark.parametrize("balancing", ALL)
def test_a_single_peer_is_used_unless_down_or_full(balancing: Balancing) -> None:
    balancer = group(balancing, server("a", max_conns=1))
    (a,) = balancer.peers
    picked = first(balancer, b"key")
    balancer.failed(a, 0.0)  # not counted for a single peer
    again = first(balancer, b"key")
    balancer.connected(a)
    assert (picked, again, first(balancer, b"key")) == (a, a, None)


@pytest.mark.parametrize("balancing", KEYED)
def test_keyed_methods_reach_a_backup_declared_before_them_through_round_robin(balancing: Balancing) -> None:
    balancer = group(balancing, server("a", down=True), server("b", down=True), server("z", backup=True))
    selection = balancer.selection(key_for(balancing, 3))
    assert (names([balancer.pick(0.0, selection)]), selection.tries > MAX_TRIES) == (["z"], True)


def test_round_robin_stays_with_the_backup_peers_once_it_moved_to_them() -> None:
    balancer = group(Balancing.ROUND_ROBIN, server("a", max_conns=1), server("z", backup=True))
    a, z = balancer.peers
    balancer.connected(a)
    selection = balancer.selection()
    moved = balancer.pick(0.0, selection)
    balancer.released(a)  # a is free again, but this request is on the backup peers now
    assert (moved, balancer.pick(0.0, selection), first(balancer)) == (z, None, a)


@settings(max_examples=300, deadline=None)
@given(
    balancing=st.sampled_from(ALL),
    states=st.lists(
        st.tuples(st.integers(1, 5), st.sampled_from(["up", "down", "failed", "full", "tried"])),
        min_size=1,
        max_size=6,
    ),
    backup=st.sampled_from(["none", "up", "down"]),
    key=st.integers(0, 1000),
)
def test_every_method_picks_an_available_peer_and_none_only_when_there_is_none(
    balancing: Balancing, states: list[tuple[int, str]], backup: str, key: int
) -> None:
    servers = [
        server(f"s{i}", weight, max_conns=1 if state == "full" else 0, down=state == "down")
        for i, (weight, state) in enumerate(states)
    ]
    if backup != "none":
        servers.append(server("z", backup=True, down=backup == "down"))
    balancer = group(balancing, *servers)
    selection: Selection = balancer.selection(key_for(balancing, key))
    for peer, (_, state) in zip(balancer.peers, states, strict=False):
        if state == "failed":
            balancer.failed(peer, 0.0)
        elif state == "full":
            balancer.connected(peer)
        elif state == "tried":
            selection.tried.add(peer)
    single = len(states) == 1 and backup == "none"
    available = {
        peer
        for peer in balancer.peers
        if not peer.down
        and not balancer.is_failed(peer, 1.0)
        and not (peer.max_conns and balancer.connections(peer) >= peer.max_conns)
        and peer not in selection.tried
    }
    if single and states[0][1] == "failed":
        available = set(balancer.peers)  # a single peer's failures are not counted
    picked = balancer.pick(1.0, selection)
    assert picked in available if available else picked is None
