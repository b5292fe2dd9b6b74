"""The pure core of the health checks: a peer's state after each check, and which answers pass."""

from __future__ import annotations

from hapair.config.nginx.model.health import HealthCheck, Match, StatusCondition
from hapair.config.nginx.model.place import Place
from hapair.config.nginx.model.upstream import Balancing, Upstream
from hapair.proxy.health.board import CHECKING, HEALTHY, UNHEALTHY
from hapair.proxy.health.core import HttpAnswer, PeerRecord, http_failure, recorded

PLACE = Place("nginx.conf", 1)
UPSTREAM = Upstream("u", (), Balancing.ROUND_ROBIN, None, False, PLACE, zone="u")


def _states(check: HealthCheck, start: int, outcomes: str) -> list[int]:
    record = PeerRecord(start, 0, 0, 0)
    states = []
    for outcome in outcomes:
        record = recorded(record, check, outcome == "+")
        states.append(record.state)
    return states


def test_fails_in_a_row_take_a_peer_out_and_passes_in_a_row_bring_it_back() -> None:
    check = HealthCheck(UPSTREAM, PLACE, False, fails=2, passes=3)
    assert _states(check, HEALTHY, "-+--++-+++") == [
        HEALTHY,
        HEALTHY,
        HEALTHY,
        UNHEALTHY,
        UNHEALTHY,
        UNHEALTHY,
        UNHEALTHY,
        UNHEALTHY,
        UNHEALTHY,
        HEALTHY,
    ]


def test_a_mandatory_peer_is_decided_by_its_first_check() -> None:
    check = HealthCheck(UPSTREAM, PLACE, False, fails=3, passes=3, mandatory=True)
    assert _states(check, CHECKING, "+") == [HEALTHY]
    assert _states(check, CHECKING, "-") == [UNHEALTHY]


def test_without_match_2xx_and_3xx_pass_and_a_match_decides_otherwise() -> None:
    assert http_failure(None, HttpAnswer(302, [], b"")) is None
    assert http_failure(None, HttpAnswer(404, [], b"")) == "checking status code"
    only_404 = Match("m", PLACE, statuses=(StatusCondition(((404, 404),), False),))
    assert http_failure(only_404, HttpAnswer(404, [], b"")) is None
    assert http_failure(only_404, HttpAnswer(200, [], b"")) == "checking status code"
