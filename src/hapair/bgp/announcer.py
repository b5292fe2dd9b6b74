"""The announcer: whether a VIP is announced, from health observations (no I/O, time as an argument).

Each VIP follows named health sources (the proxy's process, each of its listeners, and later `hapair
node`'s native tracking). A source is believed up after `rise` healthy observations in a row and down
after `fall` failed ones, so that one lost probe does not move traffic and a flapping proxy is not put
back at once; before its first verdict it counts as down, so a VIP is announced only once all its
sources have risen. An administrative drain withdraws whatever the health says, until undrained.

Every change is an `Action` (announce or withdraw, why, since when) for the speaker edge to carry out;
`status()` says the same without a change, for `hapair bgp status`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DRAINED = "drained by the administrator"


@dataclass(frozen=True)
class Action:
    """Announce (or withdraw) `vip`: why, and the time of the observation that decided it."""

    vip: str
    announce: bool
    why: str
    since: float


@dataclass
class _Source:
    """One health source's verdict and the run of agreeing observations behind a pending change."""

    up: bool = False
    decided: bool = False
    pending: bool | None = None  # the verdict the current run of observations points to
    run: int = 0
    detail: str = "no observation yet"


class Announcer:
    """The announcement of one VIP, from its sources' observations and the drain switch."""

    def __init__(self, vip: str, sources: Iterable[str], *, rise: int, fall: int, now: float) -> None:
        if rise < 1 or fall < 1:
            raise ValueError("rise and fall must be at least 1")
        self.vip = vip
        self.rise = rise
        self.fall = fall
        self.sources = {name: _Source() for name in sources}
        if not self.sources:
            raise ValueError(f"{vip}: no health source to follow")
        self.drained = False
        self.announced = False
        self.why = "starting: no health source has risen yet"
        self.since = now

    def observe(self, source: str, healthy: bool, detail: str, now: float) -> Action | None:
        """Record one observation of `source`; the action it leads to, if the announcement changes."""
        state = self.sources[source]
        state.detail = detail
        if healthy == state.up and state.decided:
            state.pending, state.run = None, 0
            return None
        state.run = state.run + 1 if state.pending == healthy else 1
        state.pending = healthy
        if state.run < (self.rise if healthy else self.fall):
            return None
        state.up, state.decided, state.pending, state.run = healthy, True, None, 0
        return self._settle(now, f"{source} {'up' if healthy else 'down'}: {detail}")

    def drain(self, now: float) -> Action | None:
        """Withdraw, whatever the health, until `undrain`."""
        self.drained = True
        action = self._settle(now, DRAINED)
        if action is None and self.why != DRAINED:
            self.why, self.since = DRAINED, now  # was withdrawn already: now for the drain
        return action

    def undrain(self, now: float) -> Action | None:
        """Follow the health again (announced at once if every source is up)."""
        self.drained = False
        action = self._settle(now, "undrained by the administrator")
        if action is None and self.why == DRAINED:
            self.why, self.since = self._down_reason(), now  # still withdrawn, now for its health
        return action

    def status(self) -> Action:
        return Action(self.vip, self.announced, self.why, self.since)

    def source_states(self) -> dict[str, tuple[bool | None, str]]:
        """Each source: up (None before its first verdict) and its last observation's detail."""
        return {name: (s.up if s.decided else None, s.detail) for name, s in self.sources.items()}

    def _settle(self, now: float, event: str) -> Action | None:
        wanted = not self.drained and all(s.up for s in self.sources.values())
        if wanted == self.announced:
            return None
        self.announced, self.why, self.since = wanted, self._reason(wanted, event), now
        return self.status()

    def _down_reason(self) -> str:
        name, state = next((n, s) for n, s in self.sources.items() if not s.up)
        return f"{name} {'down' if state.decided else 'not risen yet'}: {state.detail}"

    def _reason(self, announce: bool, event: str) -> str:
        if self.drained:
            return DRAINED
        if announce:
            return f"all sources up (last: {event})"
        return event
