"""The VRRP process's scheduling as keepalived 2.2.7's lib/process.c sets it, with the system calls
recorded instead of made: SCHED_RR for `vrrp_rt_priority` under RLIMIT_RTTIME (never below hapair's
floor), `max_auto_priority` raising it one step per late timer, and the reset a reload's reading runs
under."""

from __future__ import annotations

import errno
import os
import resource
import signal
from dataclasses import dataclass, field

import pytest

from hapair.config.keepalived.model.global_defs import GlobalDefs
from hapair.vrrp import scheduling
from hapair.vrrp.scheduling import MIN_RLIMIT_RTTIME_US, ProcessScheduler

REALTIME = os.SCHED_RR | os.SCHED_RESET_ON_FORK
UNLIMITED = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
FLOOR = (MIN_RLIMIT_RTTIME_US // 2, MIN_RLIMIT_RTTIME_US)


@dataclass
class FakeSystem:
    """The process's scheduling as the fake system calls leave it."""

    policy: int = os.SCHED_OTHER
    priority: int = 0
    rlimit: tuple[int, int] = UNLIMITED
    nice: int = 0
    refuse_realtime: bool = False
    signal_handlers: dict[int, object] = field(default_factory=dict)

    def sched_setscheduler(self, pid: int, policy: int, param: os.sched_param) -> None:
        assert pid == 0
        if self.refuse_realtime and policy != os.SCHED_OTHER:
            raise PermissionError(errno.EPERM, "Operation not permitted")
        self.policy, self.priority = policy, param.sched_priority

    def getrlimit(self, which: int) -> tuple[int, int]:
        assert which == resource.RLIMIT_RTTIME
        return self.rlimit

    def setrlimit(self, which: int, limits: tuple[int, int]) -> None:
        assert which == resource.RLIMIT_RTTIME
        self.rlimit = limits

    def getpriority(self, which: int, who: int) -> int:
        return self.nice

    def setpriority(self, which: int, who: int, value: int) -> None:
        self.nice = value


class FakeLoop:
    def __init__(self, system: FakeSystem) -> None:
        self.system = system

    def add_signal_handler(self, signum: int, callback: object) -> None:
        self.system.signal_handlers[signum] = callback


@pytest.fixture
def system(monkeypatch: pytest.MonkeyPatch) -> FakeSystem:
    fake = FakeSystem()
    for name in ("sched_setscheduler", "getpriority", "setpriority"):
        monkeypatch.setattr(scheduling.os, name, getattr(fake, name))
    for name in ("getrlimit", "setrlimit"):
        monkeypatch.setattr(scheduling.resource, name, getattr(fake, name))
    monkeypatch.setattr(scheduling.asyncio, "get_running_loop", lambda: FakeLoop(fake))
    return fake


@pytest.fixture
def logs() -> list[str]:
    return []


def defs(
    *, realtime: int = 0, nice: int = 0, rlimit: int = 10_000, max_auto: int = 0, min_late: int = 1_000_000
) -> GlobalDefs:
    made = GlobalDefs()
    made.vrrp_process.realtime_priority = realtime
    made.vrrp_process.priority = nice
    made.vrrp_process.rlimit_rttime_us = rlimit
    made.max_auto_priority = max_auto
    made.min_auto_priority_delay_us = min_late
    return made


def test_vrrp_rt_priority_runs_the_process_round_robin_under_the_real_time_limit(system, logs):
    scheduler = ProcessScheduler(logs.append)
    scheduler.apply(defs(realtime=10, nice=-5, rlimit=400_000))

    assert (system.policy, system.priority) == (REALTIME, 10)
    assert system.rlimit == (200_000, 400_000)  # the soft limit warns (SIGXCPU) half-way to the kill
    assert system.nice == 0  # keepalived sets the nice value only without real-time scheduling
    assert (scheduler.realtime_priority, scheduler.rlimit_rttime_us) == (10, 400_000)
    assert logs == []


def test_a_real_time_limit_below_hapair_s_floor_is_raised_to_it(system, logs):
    scheduler = ProcessScheduler(logs.append)
    scheduler.apply(defs(realtime=10, rlimit=10_000))  # keepalived's default

    assert MIN_RLIMIT_RTTIME_US == 100_000
    assert system.rlimit == FLOOR
    assert scheduler.rlimit_rttime_us == MIN_RLIMIT_RTTIME_US


def test_a_real_time_limit_of_0_sets_none(system, logs):
    ProcessScheduler(logs.append).apply(defs(realtime=10, rlimit=0))

    assert (system.policy, system.rlimit) == (REALTIME, UNLIMITED)


def test_the_warning_signal_is_logged_in_keepalived_words(system, logs):
    ProcessScheduler(logs.append).apply(defs(realtime=10))

    system.signal_handlers[signal.SIGXCPU]()

    assert logs == ["VRRP process has used too much CPU time, vrrp_rlimit_rttime may need to be increased"]


def test_without_real_time_scheduling_the_nice_value_is_set(system, logs):
    ProcessScheduler(logs.append).apply(defs(nice=-5))

    assert (system.policy, system.nice, system.rlimit) == (os.SCHED_OTHER, -5, UNLIMITED)


def test_late_timers_raise_the_real_time_priority_one_step_each_up_to_max_auto_priority(system, logs):
    scheduler = ProcessScheduler(logs.append)
    scheduler.apply(defs(max_auto=2))
    assert system.policy == os.SCHED_OTHER

    for _ in range(3):
        scheduler.timer_late(1_500_000)

    assert logs == [
        "A thread timer expired 1.500000 seconds ago",
        "Set realtime priority 1",
        "A thread timer expired 1.500000 seconds ago",
        "Set realtime priority 2",
        "A thread timer expired 1.500000 seconds ago",
    ]
    assert (system.policy, system.priority, system.rlimit) == (REALTIME, 2, FLOOR)


def test_a_timer_late_by_min_auto_priority_delay_or_less_changes_nothing(system, logs):
    scheduler = ProcessScheduler(logs.append)
    scheduler.apply(defs(max_auto=99, min_late=200_000))

    scheduler.timer_late(200_000)
    assert (logs, system.policy) == ([], os.SCHED_OTHER)
    scheduler.timer_late(200_001)
    assert logs == ["A thread timer expired 0.200001 seconds ago", "Set realtime priority 1"]


def test_max_auto_priority_minus_one_only_reports_late_timers(system, logs):
    scheduler = ProcessScheduler(logs.append)
    scheduler.apply(defs(max_auto=-1))

    scheduler.timer_late(2_000_000)

    assert logs == ["A thread timer expired 2.000000 seconds ago"]
    assert system.policy == os.SCHED_OTHER


def test_a_reload_reads_with_standard_scheduling_and_gets_the_new_settings_after(system, logs):
    scheduler = ProcessScheduler(logs.append)
    scheduler.apply(defs(realtime=10))

    scheduler.reset()
    assert (system.policy, system.priority) == (os.SCHED_OTHER, 0)
    assert system.rlimit == FLOOR  # left: it binds only a real-time process
    assert (scheduler.realtime_priority, scheduler.rlimit_rttime_us) == (0, 0)

    scheduler.apply(defs(realtime=20, rlimit=400_000))
    assert (system.policy, system.priority, system.rlimit) == (REALTIME, 20, (200_000, 400_000))
    assert logs == []


def test_after_a_reload_an_automatic_priority_starts_again_from_the_lowest(system, logs):
    scheduler = ProcessScheduler(logs.append)
    scheduler.apply(defs(max_auto=99))
    scheduler.timer_late(1_500_000)
    scheduler.timer_late(1_500_000)
    assert system.priority == 2

    scheduler.reset()
    scheduler.apply(defs(max_auto=99))
    assert system.policy == os.SCHED_OTHER
    scheduler.timer_late(1_500_000)
    assert (system.policy, system.priority) == (REALTIME, 1)
    assert scheduler.rlimit_rttime_us == MIN_RLIMIT_RTTIME_US  # set again


def test_a_refused_real_time_priority_is_logged_and_the_daemon_goes_on(system, logs):
    system.refuse_realtime = True
    scheduler = ProcessScheduler(logs.append)

    scheduler.apply(defs(realtime=10))

    assert logs == ["child process: cannot raise priority"]
    assert (system.policy, system.rlimit) == (os.SCHED_OTHER, UNLIMITED)


def test_scripts_get_the_original_nice_value_back_while_vrrp_priority_holds(system, logs):
    """keepalived's reset_process_priorities in a script's child: the original nice value while the
    daemon runs at `vrrp_priority`'s; none once a reload's reset put the original back."""
    scheduler = ProcessScheduler(logs.append)
    assert scheduler.script_nice is None
    scheduler.apply(defs(nice=-10))
    assert (system.nice, scheduler.script_nice) == (-10, 0)
    scheduler.reset()
    assert (system.nice, scheduler.script_nice) == (0, None)
