"""`least_conn` (ngx_http_upstream_least_conn_module.c and its stream twin): the candidate with the fewest
connections relative to its weight (`conns * best.weight < best.conns * weight`); the peers tied with it
are then chosen among by smooth weighted round-robin, starting from the first of them. Backup peers, a
"single" group and the candidates are round-robin's (see `round_robin`).
"""

from __future__ import annotations

from .peers import Group, Peer, PeerState, Selection
from .round_robin import round_robin


def fewest_connections(states: list[PeerState], now: float, tried: set[Peer]) -> PeerState | None:
    """ngx_http_upstream_get_least_conn_peer's choice among `states`."""
    best: PeerState | None = None
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


class LeastConn:
    __slots__ = ("_group",)

    def __init__(self, group: Group) -> None:
        self._group = group

    def start(self, selection: Selection) -> None:
        """Nothing to prepare: least_conn has no key."""

    def choose(self, selection: Selection, now: float) -> PeerState | None:
        return round_robin(self._group, selection, now, fewest_connections)
