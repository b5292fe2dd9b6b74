"""The announcer core: rise/fall hysteresis per source, all sources needed, the drain switch, and what
each action says (why, since when)."""

from __future__ import annotations

import pytest

from hapair.bgp.announcer import Action, Announcer

VIP = "10.0.0.10"


def announcer(rise: int = 3, fall: int = 2, sources: tuple[str, ...] = ("proxy", "listener")) -> Announcer:
    return Announcer(VIP, sources, rise=rise, fall=fall, now=0.0)


def feed(a: Announcer, source: str, healthy: bool, times: int, start: float = 1.0) -> list[Action]:
    actions = []
    for i in range(times):
        action = a.observe(source, healthy, "probe", start + i)
        if action is not None:
            actions.append(action)
    return actions


def test_starts_withdrawn_and_announces_once_every_source_has_risen() -> None:
    a = announcer()
    assert a.status().announce is False
    assert feed(a, "proxy", True, 3) == []  # the listener has not risen yet
    assert feed(a, "listener", True, 2, start=10) == []
    [action] = feed(a, "listener", True, 1, start=20)
    assert action == Action(VIP, True, "all sources up (last: listener up: probe)", 20)


def test_one_failed_probe_below_fall_does_not_withdraw() -> None:
    a = announcer(fall=2)
    feed(a, "proxy", True, 3)
    feed(a, "listener", True, 3)
    assert a.observe("listener", False, "refused", 10) is None
    assert a.observe("listener", True, "accepts", 11) is None
    assert a.observe("listener", False, "refused", 12) is None
    assert a.status().announce is True


def test_fall_failures_in_a_row_withdraw_with_the_reason_and_time() -> None:
    a = announcer(fall=2)
    feed(a, "proxy", True, 3)
    feed(a, "listener", True, 3)
    assert a.observe("proxy", False, "process 7 is gone", 10) is None
    action = a.observe("proxy", False, "process 7 is gone", 10.1)
    assert action == Action(VIP, False, "proxy down: process 7 is gone", 10.1)
    assert a.status() == action


def test_rise_needs_consecutive_successes_after_a_failure() -> None:
    a = announcer(rise=3, fall=1)
    feed(a, "proxy", True, 3)
    feed(a, "listener", True, 3)
    assert a.observe("listener", False, "refused", 10) is not None
    assert feed(a, "listener", True, 2, start=11) == []
    assert a.observe("listener", False, "refused", 13) is None  # restarts the run
    assert feed(a, "listener", True, 2, start=14) == []
    assert a.observe("listener", True, "ok", 16).announce is True  # type: ignore[union-attr]


def test_unanimous_failures_before_any_verdict_do_not_announce() -> None:
    a = announcer(rise=1, fall=1, sources=("proxy",))
    assert a.observe("proxy", False, "no PID", 1) is None  # already withdrawn
    assert a.source_states() == {"proxy": (False, "no PID")}


def test_drain_withdraws_whatever_the_health_and_undrain_follows_it_again() -> None:
    a = announcer(rise=1, fall=1)
    feed(a, "proxy", True, 1)
    feed(a, "listener", True, 1)
    assert a.drain(5) == Action(VIP, False, "drained by the administrator", 5)
    assert a.observe("listener", False, "refused", 6) is None
    assert a.observe("listener", True, "ok", 7) is None  # healthy again, still drained
    assert a.undrain(8) == Action(VIP, True, "all sources up (last: undrained by the administrator)", 8)


def test_undrain_while_unhealthy_stays_withdrawn() -> None:
    a = announcer(rise=1, fall=1)
    a.drain(1)
    assert a.undrain(2) is None
    assert a.status() == Action(VIP, False, "proxy not risen yet: no observation yet", 2)


def test_a_vip_needs_a_source_and_sane_thresholds() -> None:
    with pytest.raises(ValueError, match="no health source"):
        Announcer(VIP, [], rise=1, fall=1, now=0)
    with pytest.raises(ValueError, match="at least 1"):
        Announcer(VIP, ["proxy"], rise=0, fall=1, now=0)


def test_a_run_counts_agreeing_observations_only_before_the_first_verdict() -> None:
    a = announcer(rise=3, fall=3, sources=("proxy",))
    assert a.observe("proxy", False, "no PID", 1) is None
    assert a.observe("proxy", False, "no PID", 2) is None
    assert a.observe("proxy", True, "alive", 3) is None  # one success, not the third of a run
    assert a.source_states() == {"proxy": (None, "alive")}


def test_a_withdrawn_vips_reason_follows_its_cause() -> None:
    """Withdrawn for the proxy, then for the backends once the proxy is back, then announced: each reason
    with the time it began, never one that no longer holds."""
    a = announcer(rise=1, fall=1, sources=("proxy", "backends"))
    a.observe("proxy", True, "running", 1)
    a.observe("backends", True, "reachable", 2)
    assert a.observe("proxy", False, "proxy master gone", 3) == Action(
        VIP, False, "proxy down: proxy master gone", 3
    )
    assert a.observe("backends", False, "none reachable", 4) is None
    assert a.status() == Action(VIP, False, "proxy down: proxy master gone", 3)  # the cause still holds
    assert a.observe("proxy", False, "no worker connected", 5) is None
    assert a.status() == Action(VIP, False, "proxy down: no worker connected", 5)
    assert a.observe("proxy", True, "running", 6) is None
    assert a.status() == Action(VIP, False, "backends down: none reachable", 6)
    assert a.observe("backends", True, "reachable", 7) == Action(
        VIP, True, "all sources up (last: backends up: reachable)", 7
    )


def test_a_withdrawn_vips_reason_says_a_source_is_rising_again() -> None:
    a = announcer(rise=2, fall=1, sources=("proxy",))
    feed(a, "proxy", True, 2)
    a.observe("proxy", False, "gone", 5)
    assert a.observe("proxy", True, "alive", 6) is None
    assert a.status() == Action(VIP, False, "proxy down, rising again: alive", 6)
    assert a.observe("proxy", True, "alive", 7) == Action(
        VIP, True, "all sources up (last: proxy up: alive)", 7
    )


def test_a_drain_of_a_withdrawn_vip_and_its_end_change_the_reason() -> None:
    a = announcer(rise=1, fall=1, sources=("proxy",))
    a.observe("proxy", False, "gone", 1)
    assert a.drain(2) is None
    assert a.status() == Action(VIP, False, "drained by the administrator", 2)
    assert a.observe("proxy", False, "still gone", 3) is None
    assert a.status().why == "drained by the administrator"
    assert a.undrain(4) is None
    assert a.status() == Action(VIP, False, "proxy down: still gone", 4)


def test_the_reason_before_the_first_verdict_names_the_source_not_risen() -> None:
    a = announcer(rise=2, fall=2, sources=("proxy",))
    assert a.observe("proxy", True, "alive", 1) is None
    assert a.status() == Action(VIP, False, "proxy not risen yet: alive", 1)
