"""hapair.node's pure parts: the trackers' hysteresis, their states, the links an instance gets, the
settings file, and the VRRP side's NATIVE tracker kind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hapair.config.keepalived.model.vrrp import VrrpData, VrrpInstance
from hapair.node.settings import NodeSettings, SettingsError, read_settings
from hapair.node.tracking import (
    BACKENDS,
    PROXY,
    SERVING,
    Hysteresis,
    ListenerChecks,
    NativeTrackers,
    Punctuality,
    instance_links,
)
from hapair.vrrp.tracking import FaultKind, InstanceTracking, TrackerLink


def test_hysteresis_needs_fall_failures_then_rise_successes_in_a_row() -> None:
    state = Hysteresis(rise=2, fall=3)
    assert [state.record(False) for _ in range(2)] == [False, False]
    assert state.record(True) is False  # the failure streak is broken
    assert [state.record(False) for _ in range(3)] == [False, False, True]
    assert not state.ok
    assert [state.record(True), state.record(False), state.record(True), state.record(True)] == [
        False,
        False,
        False,
        True,
    ]
    assert state.ok


def test_listeners_fail_only_after_fall_unanswered_requests_in_a_row_and_say_why() -> None:
    checks = ListenerChecks(rise=2, fall=3)
    refused = ["127.0.0.1:8080: ConnectionRefusedError"]
    checks.record(refused)
    checks.record(refused)
    checks.record([])  # answered: the streak is broken
    checks.record(refused)
    checks.record(refused)
    assert checks.failures == []  # two in a row: not yet
    checks.record(["127.0.0.1:8080: no answer in 1 s"])
    assert checks.failures == ["127.0.0.1:8080: no answer in 1 s"]
    checks.record([])
    assert checks.failures == ["127.0.0.1:8080: no answer in 1 s"]  # rise is 2
    checks.record([])
    assert checks.failures == []


def test_listener_checks_start_again_when_there_was_no_proxy_to_ask() -> None:
    checks = ListenerChecks(rise=2, fall=1)
    checks.record(["127.0.0.1:8080: ConnectionRefusedError"])
    assert checks.failures
    checks.reset()
    assert checks.failures == []


def test_proxy_tracker_is_up_with_a_master_and_a_worker_and_reports_each_change() -> None:
    reports: list[tuple[str, bool]] = []
    trackers = NativeTrackers(NodeSettings(), lambda name, ok: reports.append((name, ok)))
    trackers.master_changed(True)
    trackers.workers_changed(2)
    trackers.workers_changed(1)
    trackers.workers_changed(0)
    trackers.workers_changed(1)
    trackers.master_changed(False)
    assert reports == [(PROXY, True), (PROXY, False), (PROXY, True), (PROXY, False)]


def test_serving_and_backends_follow_their_rounds() -> None:
    reports: list[tuple[str, bool]] = []
    trackers = NativeTrackers(NodeSettings(), lambda name, ok: reports.append((name, ok)))
    for _ in range(3):
        trackers.serving_round(False)
        trackers.backends_round(False)
    assert reports == [(SERVING, False), (BACKENDS, False)]
    assert trackers.states() == {PROXY: False, SERVING: False, BACKENDS: False}


def test_a_round_the_node_itself_was_late_for_is_not_judged() -> None:
    punctuality = Punctuality(0.1, now=10.0)
    assert punctuality.on_time(10.1)
    assert punctuality.on_time(10.29)  # late, but within two intervals
    assert not punctuality.on_time(12.3)  # the machine stalled for two seconds
    assert punctuality.on_time(12.4)  # the next round, on time, counts again


def instance(priority: int) -> VrrpInstance:
    return VrrpInstance(name="VI_1", base_priority=priority)


def test_an_address_owner_faults_where_others_lose_weight() -> None:
    settings = NodeSettings()
    assert instance_links(instance(100), settings) == [
        TrackerLink(PROXY, 0),
        TrackerLink(SERVING, 0),
        TrackerLink(BACKENDS, -50),
    ]
    assert instance_links(instance(255), settings)[-1] == TrackerLink(BACKENDS, 0)


def test_native_links_fault_or_weigh_the_instance() -> None:
    tracking = InstanceTracking(
        instance(100), VrrpData(), [TrackerLink(PROXY, 0), TrackerLink(BACKENDS, -50)]
    )
    result = tracking.evaluate({}, {}, natives_ok={PROXY: False, BACKENDS: False})
    assert result.total_priority == 50
    assert [(f.kind, f.reason) for f in result.faults] == [(FaultKind.NATIVE, "due to hapair tracker proxy")]
    assert tracking.evaluate({}, {}).faults == ()  # no state yet: up


def test_settings_file_over_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text("[proxy]\ninterval = 0.05\nfall = 4\n[backends]\nweight = -20\nenabled = false\n")
    settings = read_settings(str(path), required=True)
    assert (settings.proxy.interval, settings.proxy.fall, settings.proxy.rise) == (0.05, 4, 2)
    assert (settings.backends.weight, settings.backends.enabled) == (-20, False)
    assert read_settings(str(tmp_path / "none.toml"), required=False) == NodeSettings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[proxi]\n", "unknown section [proxi]"),
        ("[proxy]\nfal = 2\n", "unknown key fal"),
        ("[proxy]\nfall = 0\n", "fall must be 1 or more"),
        ("[proxy]\nfall = true\n", "is not an int"),
        ("[backends]\nweight = -300\n", "between -253 and 253"),
    ],
)
def test_settings_file_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "node.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=re.escape(message)):
        read_settings(str(path), required=True)
