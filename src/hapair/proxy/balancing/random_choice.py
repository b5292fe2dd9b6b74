"""`random [two [least_conn]]` (ngx_http_upstream_random_module.c and its stream twin).

`random`: a candidate is drawn with a probability proportional to its weight among the primary peers
(`down` ones included); a candidate that is tried, down, full or failed is drawn again, up to 20 times in
a request, then round-robin chooses. `random two`: two different candidates are drawn that way, and the
one with fewer connections relative to its weight is picked (the second one on a tie); every draw counts
towards the 20. A "single" group is round-robin's. The random numbers come from the `Random` the
balancer is given, so that tests can fix them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .peers import MAX_TRIES, Group, PeerState, Selection
from .round_robin import round_robin

if TYPE_CHECKING:
    from random import Random


class RandomPeer:
    """`random`."""

    __slots__ = ("_group", "_random")

    def __init__(self, group: Group, random: Random) -> None:
        self._group = group
        self._random = random

    def start(self, selection: Selection) -> None:
        """Nothing to prepare: random has no key."""

    def _draw(self) -> PeerState:
        group = self._group
        return group.weighted(self._random.randrange(group.total_weight))

    def choose(self, selection: Selection, now: float) -> PeerState | None:
        group = self._group
        if selection.tries > MAX_TRIES or group.single:
            return round_robin(group, selection, now)
        while True:
            state = self._draw()
            if state.peer not in selection.tried and state.available(now):
                return state
            selection.tries += 1
            if selection.tries > MAX_TRIES:
                return round_robin(group, selection, now)


class RandomTwo(RandomPeer):
    """`random two [least_conn]`."""

    __slots__ = ()

    def choose(self, selection: Selection, now: float) -> PeerState | None:
        group = self._group
        if selection.tries > MAX_TRIES or group.single:
            return round_robin(group, selection, now)
        first: PeerState | None = None
        while True:
            state = self._draw()
            if state is not first and state.peer not in selection.tried and state.available(now):
                if first is not None:
                    return (
                        first if state.conns * first.peer.weight > first.conns * state.peer.weight else state
                    )
                first = state
            selection.tries += 1
            if selection.tries > MAX_TRIES:
                return round_robin(group, selection, now)
