"""`hash KEY` and `hash KEY consistent` (ngx_http_upstream_hash_module.c and its stream twin): the
request's key chooses the peer. The key is the template's value for the request, evaluated once; an
empty key makes the request round-robin's, and so does a "single" group.

`hash KEY` (compatible with Cache::Memcached): the candidate is the primary peer owning point `hash %
total_weight` of the weights laid end to end (`down` peers included), where `hash` is a running sum, per
request, of `(crc32(KEY) >> 16) & 0x7fff` and then, for the n-th rehash, of the same taken of the CRC-32
of n's decimal digits followed by the key. A candidate that is tried, down, full or failed is passed over
by rehashing; after 20 passed-over candidates in a request, round-robin chooses instead. The sum and the
rehash count are the request's: a retry goes on from them.

`hash KEY consistent` (ketama, compatible with Cache::Memcached::Fast): each primary peer puts `160 *
weight` points on a ring of 32-bit values: the CRC-32 of its `server` line's host, a zero byte, its port
(the digits after the last colon, if only digits follow it; none for `unix:` paths) and the previous
point's value as four little-endian bytes (0 for the first). Equal points keep the first peer's. A
request starts at the first point at or after crc32(KEY), wrapping around; the peers of that point's
`server` line that are candidates are chosen among by smooth weighted round-robin, and when there is none
the next point is taken, up to 20 times (then round-robin). The request keeps its point: a retry starts
there again, where the peer it tried is no longer a candidate.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left

from .peers import MAX_TRIES, Group, PeerState, Selection
from .round_robin import round_robin, smooth_weighted

POINTS_PER_WEIGHT = 160
_DIGITS = b"0123456789"


class Hash:
    __slots__ = ("_group",)

    def __init__(self, group: Group) -> None:
        self._group = group

    def start(self, selection: Selection) -> None:
        """The key as the data plane gives it; the sum and the rehash count start at 0."""

    def choose(self, selection: Selection, now: float) -> PeerState | None:
        group = self._group
        if selection.tries > MAX_TRIES or group.single or not selection.key:
            return round_robin(group, selection, now)
        while True:
            seed = zlib.crc32(b"%d" % selection.rehash) if selection.rehash else 0
            selection.hash = (
                selection.hash + ((zlib.crc32(selection.key, seed) >> 16) & 0x7FFF)
            ) & 0xFFFFFFFF
            selection.rehash += 1
            state = group.weighted(selection.hash % group.total_weight)
            if state.peer not in selection.tried and state.available(now):
                return state
            selection.tries += 1
            if selection.tries > MAX_TRIES:
                return round_robin(group, selection, now)


def server_point_seed(server: str) -> bytes:
    """What a `server` line's points hash before the previous point: host, a zero byte, port."""
    raw = server.encode("utf-8", "surrogateescape")
    if raw[:5].lower() == b"unix:":
        return raw[5:] + b"\0"
    host, colon, port = raw.rpartition(b":")
    if colon and not port.translate(None, _DIGITS):
        return host + b"\0" + port
    return raw + b"\0"


def ring(states: list[PeerState]) -> list[tuple[int, str]]:
    """The consistent hash's points, sorted, each with its `server` line's name."""
    points: list[tuple[int, str]] = []
    for state in states:
        server = state.peer.server
        base = zlib.crc32(server_point_seed(server))
        point = 0
        for _ in range(state.peer.weight * POINTS_PER_WEIGHT):
            point = zlib.crc32(point.to_bytes(4, "little"), base)
            points.append((point, server))
    points.sort(key=lambda item: item[0])  # stable, as glibc's qsort (a merge sort) is for nginx
    unique: list[tuple[int, str]] = []
    for item in points:
        if not unique or unique[-1][0] != item[0]:
            unique.append(item)
    return unique


class ConsistentHash:
    __slots__ = ("_by_server", "_group", "_hashes", "_servers")

    def __init__(self, group: Group) -> None:
        self._group = group
        points = ring(group.primary)
        self._hashes = [value for value, _ in points]
        self._servers = [server for _, server in points]
        self._by_server: dict[str, list[PeerState]] = {}
        for state in group.primary:
            self._by_server.setdefault(state.peer.server, []).append(state)

    def start(self, selection: Selection) -> None:
        selection.hash = bisect_left(self._hashes, zlib.crc32(selection.key))

    def choose(self, selection: Selection, now: float) -> PeerState | None:
        group = self._group
        if selection.tries > MAX_TRIES or group.single or not selection.key:
            return round_robin(group, selection, now)
        while True:
            server = self._servers[selection.hash % len(self._servers)]
            best = smooth_weighted(self._by_server[server], now, selection.tried)
            if best is not None:
                return best
            selection.hash += 1
            selection.tries += 1
            if selection.tries > MAX_TRIES:
                return round_robin(group, selection, now)
