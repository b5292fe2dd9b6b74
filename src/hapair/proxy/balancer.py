"""Picking a peer of an upstream group, as nginx 1.22 does (pure: the caller passes the time in).

The methods are nginx's (`hapair.proxy.balancing`, one module per nginx module): weighted round-robin,
`least_conn`, `ip_hash`, `hash KEY`, `hash KEY consistent`, `random` and `random two [least_conn]`.
What they share:

- A `down` server is never picked, nor one with `max_conns` connections already (0: no limit).
  `backup` servers are tried only when round-robin (the default, `least_conn`, and the fallback of the
  others) can pick no primary peer; from then on the request stays with the backup peers.
- Passive health: a failure adds to `fails` and lowers `effective_weight` by `weight // max_fails` (it
  recovers by one each time round-robin considers the peer); a peer with `fails >= max_fails` is skipped
  for `fail_timeout_s` after its last failure (`max_fails` 0: failures are not counted). Once the timeout
  is over one connection is let through; its success (`succeeded`) clears the failures, its failure
  restarts the timeout.
- A group of one peer and no backup ("single" in nginx) never counts failures and is tried once.
- Active health checks (`health_check`, hapair's extension from NGINX Plus): a peer its checks find
  unhealthy, or that a `mandatory` check has not passed yet, is not picked (the `health` argument).
- When nothing can be picked, `pick` returns None: nginx logs "no live upstreams" and answers 502. nginx
  1.22 does not reset failed peers then (older versions did): they come back when `fail_timeout` ends.

Usage, one `Balancer` per upstream per worker process; for each client request or stream session:

    selection = balancer.selection(key)   # once; key: the `hash` template's value, or for ip_hash the
                                          # client's packed address (b"" for a unix socket); else b""
    while tries_left and (peer := balancer.pick(now, selection)) is not None:   # marks peer tried
        balancer.connected(peer)          # counts for least_conn and max_conns from the moment it is chosen
        ... connect; on failure: balancer.failed(peer, now); balancer.released(peer)
        ... on success: balancer.succeeded(peer, now); relay; balancer.released(peer); break

A `recorder` (the metrics of --metrics; None by default) is told of each failure counted and of the
failures forgotten. Besides those: `tries` (how many peers one request may try: nginx's peer.tries, the
peers not `down`), `peers` (primary ones first, then backup ones, in configuration order), `upstream`,
`is_failed(peer, now)` and `connections(peer)` (for tests and status).

Where hapair differs from nginx:

- Peer state (failures, connections, round-robin weights) is per worker process even when the group has
  a `zone`: nginx then shares it among its workers through shared memory. With several workers, a
  failed peer is found out by each worker (up to workers times max_fails failures before all skip it),
  `max_conns` caps each worker's connections (up to workers times max_conns in all; nginx without `zone`
  does the same) and round-robin takes turns per worker. The methods' choices are otherwise the same: a
  key reaches the same peer in every worker. With one worker (nginx's default) nothing differs.
- Times are float seconds (nginx's are whole seconds).
- `pick` skips peers already tried even for a single-peer group (nginx sets the tries left to zero after
  its failure instead).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from hapair.config.nginx.model.upstream import Balancing, Upstream

from .balancing import Group, Method, Peer, PeerState, Selection, method_for
from .balancing.peers import CheckedPeerState, PeerHealthView
from .balancing.round_robin import RoundRobin

if TYPE_CHECKING:
    from random import Random

__all__ = ["Balancer", "Peer", "PeerRecorder", "Selection"]


class PeerRecorder(Protocol):
    """Who is told of the failures the balancer counts (the metrics' counters; None: nobody)."""

    def cell(self, peer: Peer) -> int:
        """Where the peer's own counters are, for the caller's counts (-1: nowhere)."""

    def failed(self, peer: Peer, *, skipped: bool) -> None:
        """A failure counted; `skipped`: the peer is skipped for `fail_timeout` from now."""

    def recovered(self, peer: Peer) -> None:
        """Its failures are forgotten."""


class Balancer:
    """The peers of one upstream group, their health and its method, as one nginx worker sees them."""

    __slots__ = ("_group", "_method", "_states", "keyed", "peers", "recorder", "tries", "upstream")

    def __init__(
        self,
        upstream: Upstream,
        random: Random | None = None,
        health: PeerHealthView | None = None,
        recorder: PeerRecorder | None = None,
    ) -> None:
        """`health`: the active health checks' verdict on `peers` (by position), when `health_check`
        covers the group; `recorder`: who is told of the failures counted (--metrics)."""
        self.upstream = upstream
        self.recorder = recorder
        self.peers: tuple[Peer, ...] = tuple(_peers(upstream, backup=False)) + tuple(
            _peers(upstream, backup=True)
        )
        self._states = {
            peer: PeerState(peer) if health is None else CheckedPeerState(peer, health, index)
            for index, peer in enumerate(self.peers)
        }
        self._group = Group(
            [self._states[p] for p in self.peers if not p.backup],
            [self._states[p] for p in self.peers if p.backup],
        )
        # a union for the compiled code: round robin's methods called directly, the others' by name
        self._method: RoundRobin | Method = method_for(upstream.balancing, self._group, random)
        # nginx's peer.tries: how many peers one request may try (`down` ones do not count)
        self.tries: int = sum(not p.down for p in self.peers)
        # whether a request's selection has a key (`hash`, `ip_hash`): without, none is made per request
        self.keyed = upstream.balancing is Balancing.IP_HASH or upstream.hash_key is not None

    def selection(self, key: bytes = b"") -> Selection:
        """A request's or session's selection (see the module's documentation for `key`)."""
        selection = Selection(key)
        self._method.start(selection)
        return selection

    def pick(self, now: float, selection: Selection) -> Peer | None:
        """The peer to use next for `selection`, now marked tried in it; None: no live upstreams."""
        state = self._method.choose(selection, now)
        if state is None:
            return None
        peer = state.peer
        selection.tried.add(peer)
        if not self._group.single and now - state.checked > peer.fail_timeout_s:
            state.checked = now
        return peer

    def failed(self, peer: Peer, now: float) -> None:
        """A connection to `peer` failed (refused, timed out, reset before use)."""
        if self._group.single:
            return
        state = self._states[peer]
        state.fails += 1
        state.accessed = now
        state.checked = now
        if peer.max_fails:
            state.effective_weight = max(0, state.effective_weight - peer.weight // peer.max_fails)
        if self.recorder is not None:
            self.recorder.failed(peer, skipped=bool(peer.max_fails) and state.fails >= peer.max_fails)

    def succeeded(self, peer: Peer, now: float) -> None:
        """A connection to `peer` worked: its failures are forgotten if it was checked since the last one."""
        if self._group.single:
            return
        state = self._states[peer]
        if state.accessed < state.checked:
            if state.fails and self.recorder is not None:
                self.recorder.recovered(peer)
            state.fails = 0

    def connected(self, peer: Peer) -> None:
        """A connection to `peer` begins (least_conn, random two and max_conns count these)."""
        self._states[peer].conns += 1

    def released(self, peer: Peer) -> None:
        """A connection to `peer` (counted by `connected`) is over, whatever its outcome."""
        self._states[peer].conns -= 1

    def is_failed(self, peer: Peer, now: float) -> bool:
        """Whether `peer` is skipped now for its failures (not for being `down` or full)."""
        state = self._states[peer]
        if peer.down or not peer.max_fails or state.fails < peer.max_fails:
            return False
        return now - state.checked <= peer.fail_timeout_s

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
                max_conns=server.max_conns,
            )
