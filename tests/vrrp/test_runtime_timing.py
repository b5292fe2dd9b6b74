"""The time a woken router is given: a wake-up a few milliseconds late counts as on time, so that a master's
adverts keep to the advert interval; a timer late by more (a stopped process) gives the real time."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

from hapair.config.keepalived.model.vrrp import VrrpState
from hapair.vrrp.router import VirtualRouter
from hapair.vrrp.runtime import ON_TIME_US, wake_time

from .fakelan import SECOND, read_instance
from .test_router import A, config


def test_a_wake_up_a_little_late_or_a_microsecond_early_is_taken_as_on_time():
    assert wake_time(5_001_500, 5_000_000) == 5_000_000
    assert wake_time(4_999_999, 5_000_000) == 5_000_000


def test_a_timer_late_by_more_than_the_tolerance_gives_the_real_time():
    late = 5_000_000 + ON_TIME_US
    assert wake_time(late, 5_000_000) == late
    assert wake_time(7_500_000, 5_000_000) == 7_500_000


def test_without_a_deadline_the_time_is_the_clock():
    assert wake_time(1_234, None) == 1_234


def test_a_master_woken_late_keeps_its_advert_rhythm(tmp_path: Path):
    router = VirtualRouter(read_instance(config(priority=255, state="MASTER"), A, tmp_path), IPv4Address(A))
    router.start(0)
    router.wake(wake_time(0, router.deadline()))
    assert router.state == VrrpState.MASTER
    for _ in range(5):
        deadline = router.deadline()
        assert deadline is not None
        router.wake(wake_time(deadline + 2_000, deadline))  # each wake-up 2 ms late
        assert router.deadline() == deadline + SECOND
