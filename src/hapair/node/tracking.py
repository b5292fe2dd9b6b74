"""`hapair node`'s native trackers, as the VRRP instances in front of the proxy see them. Pure: the
daemon feeds what it observes and hands each change to the VRRP runtime (`Runtime.native_reported`).

- `proxy`: the proxy master runs and at least one of its workers is connected to the health channel.
  Its change is immediate, from the master's pidfd or the last worker's channel closing.
- `proxy_serving`: every worker answered the last health exchange (and every listener the last loopback
  request); `fall` failed rounds in a row take it down, `rise` good ones bring it back; a round the
  node itself was late for is not counted (`Punctuality`).
- `backends`: at least one backend of the proxy was reachable in the last round of connections; `fall`
  and `rise` as above.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from hapair.config.keepalived.model.vrrp import PRIORITY_OWNER, VrrpInstance
from hapair.vrrp.tracking import TrackerLink

from .settings import NodeSettings

PROXY = "proxy"
SERVING = "proxy_serving"
BACKENDS = "backends"


class Hysteresis:
    """A state that flips only after `fall` failures (or `rise` successes) in a row; it starts up."""

    def __init__(self, rise: int, fall: int) -> None:
        self.rise = rise
        self.fall = fall
        self.ok = True
        self._streak = 0  # outcomes in a row against the current state

    def record(self, success: bool) -> bool:
        """Count one outcome; True when the state has just flipped."""
        if success == self.ok:
            self._streak = 0
            return False
        self._streak += 1
        if self._streak < (self.rise if success else self.fall):
            return False
        self.ok = success
        self._streak = 0
        return True


class Punctuality:
    """Whether a health round may be judged. The workers have an interval to answer a ping; when the node
    itself comes back more than LATE_FACTOR intervals after its last ping, the whole machine was most
    likely stalled (load, a paused VM), its workers with it, and a missing answer says nothing about
    them: that round is not counted (the next one, on time, is)."""

    LATE_FACTOR = 2.0

    def __init__(self, interval: float, now: float) -> None:
        self.interval = interval
        self._last = now

    def on_time(self, now: float) -> bool:
        """Record a round ending at `now`; False when the node itself was late for it."""
        late = now - self._last > self.interval * self.LATE_FACTOR
        self._last = now
        return not late


class ListenerChecks:
    """The loopback requests' verdict, for the `proxy_serving` rounds: the listeners count as failed once
    `fall` requests in a row went unanswered (and until `rise` in a row are answered), as the workers'
    health exchange counts; a request comes every `listener_interval` (1 s), ten rounds of the exchange,
    so that one unanswered request alone would otherwise take the tracker down."""

    def __init__(self, rise: int, fall: int) -> None:
        self._state = Hysteresis(rise, fall)
        self._reasons: list[str] = []  # why the listeners did not answer, last time they did not

    def record(self, unanswered: list[str]) -> None:
        """One round of loopback requests: why each listener that did not answer did not (empty: all did)."""
        self._state.record(not unanswered)
        if unanswered:
            self._reasons = unanswered

    def reset(self) -> None:
        """No request was made (no proxy to ask): nothing counts against the listeners."""
        self._state = Hysteresis(self._state.rise, self._state.fall)
        self._reasons = []

    @property
    def failures(self) -> list[str]:
        """Why the listeners count as failed; empty while they count as answering."""
        return [] if self._state.ok else self._reasons


class NativeTrackers:
    """The three trackers' states; `report(name, ok)` is called at each change."""

    def __init__(self, settings: NodeSettings, report: Callable[[str, bool], None]) -> None:
        self._report = report
        self.master_alive = False
        self.workers = 0
        self.serving = Hysteresis(settings.proxy.rise, settings.proxy.fall)
        self.backends = Hysteresis(settings.backends.rise, settings.backends.fall)
        self._proxy_up = False

    def states(self) -> dict[str, bool]:
        return {PROXY: self._proxy_up, SERVING: self.serving.ok, BACKENDS: self.backends.ok}

    def master_changed(self, alive: bool) -> None:
        self.master_alive = alive
        if not alive:
            self.workers = 0
        self._proxy_changed()

    def workers_changed(self, count: int) -> None:
        self.workers = count
        self._proxy_changed()

    def _proxy_changed(self) -> None:
        up = self.master_alive and self.workers > 0
        if up != self._proxy_up:
            self._proxy_up = up
            self._report(PROXY, up)

    def serving_round(self, success: bool) -> None:
        if self.serving.record(success):
            self._report(SERVING, self.serving.ok)

    def backends_round(self, success: bool) -> None:
        if self.backends.record(success):
            self._report(BACKENDS, self.backends.ok)


def instance_links(instance: VrrpInstance, settings: NodeSettings) -> list[TrackerLink]:
    """The links of a tracked instance to the trackers. An address owner (priority 255) keeps its
    priority whatever its weights (keepalived's rule), so its weighted links become unweighted: the
    tracker's failure is then a FAULT, the only way for it to let the VIP go."""
    owner = instance.base_priority == PRIORITY_OWNER
    proxy_weight = 0 if owner else settings.proxy.weight
    links = [TrackerLink(PROXY, proxy_weight), TrackerLink(SERVING, proxy_weight)]
    if settings.backends.enabled:
        links.append(TrackerLink(BACKENDS, 0 if owner else settings.backends.weight))
    return links


def tracked_links(
    instances: Iterable[VrrpInstance], tracked: set[str], settings: NodeSettings
) -> dict[str, list[TrackerLink]]:
    return {i.name: instance_links(i, settings) for i in instances if i.name in tracked}
