"""nginx's weighted round-robin (ngx_http_upstream_round_robin.c, ngx_stream_upstream_round_robin.c): the
default method, and the one every other method falls back to.

Smooth weighted round-robin: every candidate's `current_weight` grows by its `effective_weight`, the
largest wins (the first one on a tie) and loses the sum of the effective weights. Weights 5, 1, 1 give
a a b a c a a. A candidate is a peer the request has not tried that is available (not `down`, below its
`max_conns`, not failed). A failure lowers `effective_weight`; it grows back by one each time the peer is
a candidate.

The backup peers are tried only when no primary one can be picked; from then on, the request stays with
them. A group of one peer and no backup ("single") picks it unless it is `down` or full, and counts no
failures for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .peers import Group, Peer, PeerState, Selection

Chooser = Callable[[list[PeerState], float, set[Peer]], "PeerState | None"]


def smooth_weighted(states: Iterable[PeerState], now: float, tried: set[Peer]) -> PeerState | None:
    """The smooth weighted round-robin's choice among `states` (ngx_http_upstream_get_peer)."""
    best: PeerState | None = None
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


def single(group: Group, selection: Selection) -> PeerState | None:
    """The one peer of a "single" group, unless it is down (or checked down), full or already tried."""
    state = group.primary[0]
    peer = state.peer
    if peer.down or peer in selection.tried or (peer.max_conns and state.conns >= peer.max_conns):
        return None
    if state.checked_down():
        return None
    return state


def round_robin(
    group: Group, selection: Selection, now: float, choose: Chooser = smooth_weighted
) -> PeerState | None:
    """`choose` among the primary peers, else among the backup ones
    (ngx_http_upstream_get_round_robin_peer)."""
    if group.single:
        return single(group, selection)
    if not selection.backup:
        state = choose(group.primary, now, selection.tried)
        if state is not None or not group.backup:
            return state
        selection.backup = True
    return choose(group.backup, now, selection.tried)


class RoundRobin:
    """The default method."""

    __slots__ = ("_group",)

    def __init__(self, group: Group) -> None:
        self._group = group

    def start(self, selection: Selection) -> None:
        """Nothing to prepare: round-robin has no key."""

    def choose(self, selection: Selection, now: float) -> PeerState | None:
        return round_robin(self._group, selection, now)
