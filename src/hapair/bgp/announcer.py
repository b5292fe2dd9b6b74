"""The announcer: whether a VIP is announced, from health observations (no I/O, time as an argument).

Each VIP follows named health sources (the proxy's process, each of its listeners, and later `hapair
node`'s native tracking). A source is believed up after `rise` healthy observations in a row and down
after `fall` failed ones, so that one lost probe does not move traffic and a flapping proxy is not put
back at once; before its first verdict it counts as down, so a VIP is announced only once all its
sources have risen. An administrative drain withdraws whatever the health says, until undrained.

Every change is an `Action` (announce or withdraw, why, since when) for the speaker edge to carry out;
`status()` says the same without a change, for `hapair bgp status`. A withdrawn VIP's reason follows its
cause (the drain, or a source that is down, with its latest detail), and its time is when that reason
began: withdrawn for the proxy, then for the backends once the proxy is back, then announced."""

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
        self._cause: str | None = None  # the source the withdrawn VIP's reason names
        self.announcements = 0  # changes to announced, and to withdrawn (for the metrics)
        self.withdrawals = 0

    def observe(self, source: str, healthy: bool, detail: str, now: float) -> Action | None:
        """Record one observation of `source`; the action it leads to, if the announcement changes."""
        state = self.sources[source]
        state.detail = detail
        if healthy == state.up and state.decided:
            state.pending, state.run = None, 0
            self._refresh(now, source)
            return None
        state.run = state.run + 1 if state.pending == healthy else 1
        state.pending = healthy
        if state.run < (self.rise if healthy else self.fall):
            self._refresh(now, source)
            return None
        state.up, state.decided, state.pending, state.run = healthy, True, None, 0
        return self._settle(now, f"{source} {'up' if healthy else 'down'}: {detail}", source)

    def drain(self, now: float) -> Action | None:
        """Withdraw, whatever the health, until `undrain`."""
        self.drained = True
        return self._settle(now, DRAINED)

    def undrain(self, now: float) -> Action | None:
        """Follow the health again (announced at once if every source is up)."""
        self.drained = False
        return self._settle(now, "undrained by the administrator")

    def status(self) -> Action:
        return Action(self.vip, self.announced, self.why, self.since)

    @property
    def cause(self) -> str | None:
        """Why a withdrawn VIP is: "drained" or the name of the source its reason names (None: announced,
        or not yet decided at start)."""
        if self.announced:
            return None
        return "drained" if self.drained else self._cause

    def source_states(self) -> dict[str, tuple[bool | None, str]]:
        """Each source: up (None before its first verdict) and its last observation's detail."""
        return {name: (s.up if s.decided else None, s.detail) for name, s in self.sources.items()}

    def _settle(self, now: float, event: str, source: str | None = None) -> Action | None:
        wanted = not self.drained and all(s.up for s in self.sources.values())
        if wanted == self.announced:
            self._refresh(now, source)
            return None
        self.announced, self.since = wanted, now
        self.why = f"all sources up (last: {event})" if wanted else self._withdrawn_reason(source)
        if wanted:
            self.announcements += 1
        else:
            self.withdrawals += 1
        return self.status()

    def _refresh(self, now: float, source: str | None) -> None:
        """A withdrawn VIP's reason kept true: when its cause changes (another source is the one down, the
        drain ends, the source's detail changes), the new one, since `now`. An announced VIP's says which
        observation announced it, which stays true."""
        if self.announced:
            return
        why = self._withdrawn_reason(source)
        if why != self.why:
            self.why, self.since = why, now

    def _withdrawn_reason(self, source: str | None) -> str:
        """The drain, or a source that is down: the current cause while it lasts, else the source just
        observed, else the first."""
        if self.drained:
            return DRAINED
        # never empty: a VIP that is not drained is withdrawn only while a source is down
        down = [name for name, state in self.sources.items() if not state.up]
        self._cause = next((name for name in (self._cause, source) if name in down), down[0])
        return self._source_reason(self._cause)

    def _source_reason(self, name: str) -> str:
        state = self.sources[name]
        if not state.decided:
            return f"{name} not risen yet: {state.detail}"
        if state.pending:
            return f"{name} down, rising again: {state.detail}"
        return f"{name} down: {state.detail}"
