"""Picking a peer of an upstream group, as nginx 1.22 does (pure: the caller passes the time in).

Ported from ngx_http_upstream_round_robin.c / ngx_stream_upstream_round_robin.c and
ngx_http_upstream_least_conn_module.c:

- round-robin is nginx's smooth weighted round-robin: every live candidate's `current_weight` grows by its
  `effective_weight`, the largest wins (the first one on a tie) and loses the sum of the effective weights.
  Weights 5, 1, 1 give a a b a c a a.
- `least_conn` picks the fewest active connections relative to weight (`conns * best.weight <
  best.conns * weight`); peers tied with the best are then picked among by the same round-robin.
- A `down` server is never picked. `backup` servers are tried only when no primary peer can be picked
  (all down, failed or already tried by this connection).
- Passive health: a failure adds to `fails` and lowers `effective_weight` by `weight // max_fails` (it
  recovers by one at each pick pass); a peer with `fails >= max_fails` is skipped for `fail_timeout_s`
  after its last failure (`max_fails` 0: failures are not counted). Once the timeout is over one
  connection is let through; its success (`succeeded`) clears the failures, its failure restarts the
  timeout.
- A group of one peer and no backup ("single" in nginx) never counts failures and is tried once.
- When nothing can be picked, `pick` returns None: nginx logs "no live upstreams" and answers 502. nginx
  1.22 does not reset failed peers then (older versions did): they come back when `fail_timeout` ends.

Usage, one `Balancer` per upstream per worker process, for each client connection or request:

    tried = frozenset()
    while len(tried) < balancer.tries and (peer := balancer.pick(now, tried)) is not None:
        balancer.connected(peer)          # counts for least_conn from the moment it is chosen, as nginx
        ... connect; on failure: balancer.failed(peer, now); balancer.released(peer); tried |= {peer}
        ... on success: balancer.succeeded(peer, now); relay; balancer.released(peer); break

Besides `pick`, `failed`, `succeeded`, `connected` and `released`: `tries` (how many peers one connection
may try: nginx's peer.tries, the peers not `down`), `peers` (primary ones first, then backup ones, in
configuration order), `upstream`, `is_failed(peer, now)` and `connections(peer)` (for tests and status).

Differences from nginx: times are float seconds (nginx's are whole seconds), and `pick` skips peers in
`tried` even for a single-peer group (nginx sets the tries left to zero after its failure instead).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hapair.config.nginx.model.addresses import SocketAddress
from hapair.config.nginx.model.upstream import Balancing, Upstream


@dataclass(frozen=True, slots=True, eq=False)
class Peer:
    """One address of one `server` line; hashed by identity (two lines may name the same address)."""

    address: SocketAddress
    name: str  # the address as nginx writes it ($upstream_addr): "127.0.0.1:8080"
    server: str  # the `server` line's name as written
    weight: int
    max_fails: int  # 0: failures are not counted
    fail_timeout_s: float
    backup: bool
    down: bool


class _PeerState:
    """What nginx keeps per peer beside its configuration (ngx_http_upstream_rr_peer_t)."""

    __slots__ = ("accessed", "checked", "conns", "current_weight", "effective_weight", "fails", "peer")

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.current_weight = 0
        self.effective_weight = peer.weight
        self.conns = 0
        self.fails = 0
        self.accessed = 0.0  # time of the last failure
        self.checked = 0.0  # time of the last failure, or of the first pick after fail_timeout

    def available(self, now: float) -> bool:
        peer = self.peer
        if peer.down:
            return False
        if not peer.max_fails or self.fails < peer.max_fails:
            return True
        return now - self.checked > peer.fail_timeout_s


class Balancer:
    """The peers of one upstream group and their health, as one nginx worker sees them."""

    __slots__ = ("_backup", "_least_conn", "_primary", "_single", "_states", "peers", "tries", "upstream")

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.peers: tuple[Peer, ...] = tuple(_peers(upstream, backup=False)) + tuple(
            _peers(upstream, backup=True)
        )
        self._states = {peer: _PeerState(peer) for peer in self.peers}
        self._primary = [self._states[p] for p in self.peers if not p.backup]
        self._backup = [self._states[p] for p in self.peers if p.backup]
        self._single = len(self._primary) == 1 and not self._backup
        self._least_conn = upstream.balancing is Balancing.LEAST_CONN
        # nginx's peer.tries: how many peers one connection may try (`down` ones do not count)
        self.tries: int = sum(not p.down for p in self.peers)

    def pick(self, now: float, tried: frozenset[Peer] = frozenset()) -> Peer | None:
        """The peer to use next, skipping the ones in `tried`; None: no live upstreams."""
        if self._single:
            state = self._primary[0]
            peer = state.peer
            return None if peer.down or peer in tried else peer
        choose = _least_conn if self._least_conn else _round_robin
        state = choose(self._primary, now, tried)
        if state is None and self._backup:
            state = choose(self._backup, now, tried)
        if state is None:
            return None
        if now - state.checked > state.peer.fail_timeout_s:
            state.checked = now
        return state.peer

    def failed(self, peer: Peer, now: float) -> None:
        """A connection to `peer` failed (refused, timed out, reset before use)."""
        if self._single:
            return
        state = self._states[peer]
        state.fails += 1
        state.accessed = now
        state.checked = now
        if peer.max_fails:
            state.effective_weight = max(0, state.effective_weight - peer.weight // peer.max_fails)

    def succeeded(self, peer: Peer, now: float) -> None:
        """A connection to `peer` worked: its failures are forgotten if it was checked since the last one."""
        if self._single:
            return
        state = self._states[peer]
        if state.accessed < state.checked:
            state.fails = 0

    def connected(self, peer: Peer) -> None:
        """A connection to `peer` begins (least_conn counts these)."""
        self._states[peer].conns += 1

    def released(self, peer: Peer) -> None:
        """A connection to `peer` (counted by `connected`) is over, whatever its outcome."""
        self._states[peer].conns -= 1

    def is_failed(self, peer: Peer, now: float) -> bool:
        """Whether `peer` is skipped now for its failures (not for being `down`)."""
        state = self._states[peer]
        return not peer.down and not state.available(now)

    def connections(self, peer: Peer) -> int:
        return self._states[peer].conns


def _peers(upstream: Upstream, *, backup: bool) -> Iterable[Peer]:
    for server in upstream.servers:
        if server.backup != backup:
            continue
        for address in server.addresses:
            yield Peer(
                address=address,
                name=address.text,
                server=server.name,
                weight=server.weight,
                max_fails=server.max_fails,
                fail_timeout_s=float(server.fail_timeout),
                backup=server.backup,
                down=server.down,
            )


def _round_robin(states: list[_PeerState], now: float, tried: frozenset[Peer]) -> _PeerState | None:
    """ngx_http_upstream_get_peer: smooth weighted round-robin over the peers that can be picked."""
    best: _PeerState | None = None
    total = 0
    for state in states:
        if state.peer in tried or not state.available(now):
            continue
        state.current_weight += state.effective_weight
        total += state.effective_weight
        if state.effective_weight < state.peer.weight:
            state.effective_weight += 1
        if best is None or state.current_weight > best.current_weight:
            best = state
    if best is not None:
        best.current_weight -= total
    return best


def _least_conn(states: list[_PeerState], now: float, tried: frozenset[Peer]) -> _PeerState | None:
    """ngx_http_upstream_get_least_conn_peer: fewest connections per weight, ties by round-robin."""
    best: _PeerState | None = None
    first = 0
    many = False
    for index, state in enumerate(states):
        if state.peer in tried or not state.available(now):
            continue
        if best is None or state.conns * best.peer.weight < best.conns * state.peer.weight:
            best, first, many = state, index, False
        elif state.conns * best.peer.weight == best.conns * state.peer.weight:
            many = True
    if best is None:
        return None
    total = 0
    if many:
        lowest = best
        for state in states[first:]:
            if state.peer in tried or state.conns * lowest.peer.weight != lowest.conns * state.peer.weight:
                continue
            if not state.available(now):
                continue
            state.current_weight += state.effective_weight
            total += state.effective_weight
            if state.effective_weight < state.peer.weight:
                state.effective_weight += 1
            if state.current_weight > best.current_weight:
                best = state
    best.current_weight -= total
    return best
