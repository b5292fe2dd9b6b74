import re
import signal
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hapair.config.keepalived.host import FileStatus, Interface, StaticHost
from hapair.config.keepalived.load import load
from hapair.config.keepalived.model.vrrp import (
    NOT_TRACK_IF,
    TrackedScript,
    TrackingObj,
    TrackType,
    VrrpData,
    VrrpInstance,
    VrrpScript,
    VrrpSyncGroup,
)
from hapair.vrrp.tracking import (
    Fault,
    FaultKind,
    InitState,
    InstanceTracking,
    ScriptOutcome,
    ScriptReport,
    ScriptState,
)
from tests.reference import EVIDENCE

OK = ScriptOutcome.exited(0)
FAIL = ScriptOutcome.exited(1)


def feed(state: ScriptState, *outcomes: ScriptOutcome) -> list[str]:
    return [line for outcome in outcomes for line in state.record(outcome).log]


# ----- ScriptState


def test_a_script_has_no_status_until_it_first_reports() -> None:
    state = ScriptState(VrrpScript("chk"))
    assert state.ok is None
    assert state.init_state is InitState.INIT


def test_a_first_success_logs_succeeded_but_no_change_of_return_value() -> None:
    state = ScriptState(VrrpScript("chk_ok"))
    report = state.record(OK)
    assert report.became_ok is True
    assert report.log == ("VRRP_Script(chk_ok) succeeded",)
    assert state.ok is True


def test_at_start_one_success_is_enough_whatever_rise_is() -> None:
    state = ScriptState(VrrpScript("chk", rise=3, fall=2))
    assert state.record(OK).became_ok is True


def test_at_start_the_first_failure_counts_whatever_fall_is() -> None:
    state = ScriptState(VrrpScript("chk_fail", rise=2, fall=2))
    report = state.record(FAIL)
    assert report.became_ok is False
    assert report.log == (
        "Script `chk_fail` now returning 1",
        "VRRP_Script(chk_fail) failed (exited with status 1)",
    )


def test_a_script_that_never_reported_is_still_waiting_after_a_reload() -> None:
    old = ScriptState(VrrpScript("chk", rise=2))
    new = ScriptState(VrrpScript("chk", rise=3))
    assert new.carry_over(old) is None
    assert (new.ok, new.result) == (None, 2)


def test_a_good_script_stays_good_across_a_reload_with_other_rise_and_fall() -> None:
    old = ScriptState(VrrpScript("chk", rise=2, fall=2))
    feed(old, OK)
    new = ScriptState(VrrpScript("chk", rise=3, fall=4))
    assert new.carry_over(old) == "VRRP_Script(chk) considered successful on reload"
    assert (new.ok, new.result) == (True, 6)
    assert new.record(FAIL).became_ok is None  # one failure of four


def test_a_failed_script_stays_failed_across_a_reload() -> None:
    old = ScriptState(VrrpScript("chk"))
    feed(old, FAIL)
    new = ScriptState(VrrpScript("chk", rise=2))
    assert new.carry_over(old) == "VRRP_Script(chk) considered unsuccessful on reload"
    assert (new.ok, new.result) == (False, 0)


def test_a_good_script_fails_after_fall_consecutive_failures() -> None:
    state = ScriptState(VrrpScript("chk", rise=2, fall=3))
    state.record(OK)
    reports = [state.record(FAIL) for _ in range(3)]
    assert [r.became_ok for r in reports] == [None, None, False]
    assert reports[0].log == ("Script `chk` now returning 1",)
    assert reports[1].log == ()
    assert reports[2].log == ("VRRP_Script(chk) failed (exited with status 1)",)


def test_a_failed_script_recovers_after_rise_consecutive_successes() -> None:
    state = ScriptState(VrrpScript("chk", rise=3, fall=1))
    state.record(FAIL)
    reports = [state.record(OK) for _ in range(3)]
    assert [r.became_ok for r in reports] == [None, None, True]
    assert reports[0].log == ("Script `chk` now returning 0",)
    assert reports[2].log == ("VRRP_Script(chk) succeeded",)


def test_a_success_between_failures_restarts_the_fall_count() -> None:
    state = ScriptState(VrrpScript("chk", fall=2))
    state.record(OK)
    assert [state.record(o).became_ok for o in (FAIL, OK, FAIL)] == [None, None, None]
    assert state.ok is True
    assert state.record(FAIL).became_ok is False


def test_init_fail_starts_failed_and_needs_rise_successes() -> None:
    state = ScriptState(VrrpScript("chk", rise=2, init_fail=True))
    assert state.ok is False
    assert state.init_state is InitState.FAILED
    assert state.record(OK).became_ok is None
    assert state.record(OK).became_ok is True


def test_init_fail_first_failure_changes_nothing() -> None:
    state = ScriptState(VrrpScript("chk", init_fail=True))
    report = state.record(FAIL)
    assert report.became_ok is None
    assert report.log == ("Script `chk` now returning 1",)


def test_a_timed_out_run_logs_timed_out_without_a_return_value() -> None:
    state = ScriptState(VrrpScript("chk"))
    state.record(OK)
    report = state.record(ScriptOutcome.killed(signal.SIGTERM, timed_out=True))
    assert report.became_ok is False
    assert report.log == ("VRRP_Script(chk) timed_out",)


def test_a_run_killed_by_a_signal_fails_due_to_that_signal() -> None:
    state = ScriptState(VrrpScript("chk"))
    report = state.record(ScriptOutcome.killed(signal.SIGKILL))
    assert report.log == ("VRRP_Script(chk) failed (due to signal 9)",)


def test_a_signal_does_not_reset_the_last_return_value() -> None:
    state = ScriptState(VrrpScript("chk"))
    lines = feed(state, FAIL, ScriptOutcome.killed(signal.SIGKILL), OK, ScriptOutcome.exited(2))
    assert [line for line in lines if "now returning" in line] == [
        "Script `chk` now returning 1",
        "Script `chk` now returning 0",
        "Script `chk` now returning 2",
    ]


def test_a_changed_failure_status_is_logged_though_the_state_stays_failed() -> None:
    state = ScriptState(VrrpScript("chk"))
    state.record(FAIL)
    report = state.record(ScriptOutcome.exited(3))
    assert report == ScriptReport(None, ("Script `chk` now returning 3",))


outcomes = st.lists(st.sampled_from([OK, FAIL, ScriptOutcome.killed(9)]), max_size=40)


@given(
    rise=st.integers(1, 4),
    fall=st.integers(1, 4),
    init_fail=st.booleans(),
    history=outcomes,
)
def test_reported_changes_are_exactly_the_status_flips(rise, fall, init_fail, history) -> None:
    state = ScriptState(VrrpScript("chk", rise=rise, fall=fall, init_fail=init_fail))
    for outcome in history:
        before = state.ok
        report = state.record(outcome)
        assert report.became_ok == (state.ok if state.ok != before else None)


@given(rise=st.integers(1, 4), fall=st.integers(1, 4), init_fail=st.booleans(), history=outcomes)
def test_rise_successes_make_it_good_and_fall_failures_bad(rise, fall, init_fail, history) -> None:
    state = ScriptState(VrrpScript("chk", rise=rise, fall=fall, init_fail=init_fail))
    feed(state, *history, *[OK] * rise)
    assert state.ok is True
    feed(state, *[FAIL] * fall)
    assert state.ok is False


# ----- InstanceTracking


def data_with(
    *links: tuple[str, int, bool],
    interfaces: dict[str, tuple[int, bool]] | None = None,
    base_priority: int = 100,
) -> tuple[VrrpInstance, VrrpData]:
    """An instance VI_1 tracking scripts (name, weight, reverse) and interfaces {name: (weight, reverse)}."""
    instance = VrrpInstance("VI_1", interface="eth0", base_priority=base_priority)
    data = VrrpData(instances=[instance])
    for name, weight, reverse in links:
        script = VrrpScript(name, tracking=[TrackingObj("VI_1", weight, reverse)])
        data.scripts.append(script)
        instance.track.scripts.append(TrackedScript(script, weight, reverse))
    for name, (weight, reverse) in (interfaces or {}).items():
        data.interface_tracking[name] = [TrackingObj("VI_1", weight, reverse, TrackType.IF)]
    return instance, data


def evaluate(instance, data, scripts=None, interfaces=None):
    return InstanceTracking(instance, data).evaluate(scripts or {}, interfaces or {})


def test_a_failed_unweighted_script_is_a_fault() -> None:
    result = evaluate(*data_with(("chk", 0, False)), {"chk": False})
    assert result.faults == (Fault(FaultKind.SCRIPT, "chk"),)
    assert result.total_priority == 100


def test_a_succeeding_unweighted_script_is_no_fault() -> None:
    assert evaluate(*data_with(("chk", 0, False)), {"chk": True}).faults == ()


def test_an_unweighted_script_without_a_result_keeps_the_instance_waiting() -> None:
    result = evaluate(*data_with(("chk", 0, False), ("other", 5, False)), {"chk": None})
    assert result.waiting == ("chk",)
    assert result.faults == ()


def test_a_reversed_unweighted_script_is_a_fault_while_it_succeeds() -> None:
    instance, data = data_with(("chk", 0, True))
    assert evaluate(instance, data, {"chk": True}).faults == (Fault(FaultKind.SCRIPT, "chk"),)
    assert evaluate(instance, data, {"chk": False}).faults == ()


@pytest.mark.parametrize(
    ("weight", "reverse", "ok", "total"),
    [
        (10, False, True, 110),
        (10, False, False, 100),
        (-20, False, True, 100),
        (-20, False, False, 80),
        (10, True, True, 90),
        (10, True, False, 100),
        (-20, True, True, 100),
        (-20, True, False, 120),
    ],
)
def test_script_weights_move_the_total_priority(weight, reverse, ok, total) -> None:
    assert evaluate(*data_with(("chk", weight, reverse)), {"chk": ok}).total_priority == total


def test_a_weighted_script_without_a_result_counts_neither_way() -> None:
    result = evaluate(*data_with(("up", 10, False), ("down", -20, False)))
    assert result.total_priority == 100
    assert result.waiting == ()


def test_the_total_priority_is_not_clamped() -> None:
    high = evaluate(*data_with(("chk", 10, False), base_priority=250), {"chk": True})
    low = evaluate(*data_with(("chk", -20, False), base_priority=5), {"chk": False})
    assert (high.total_priority, low.total_priority) == (260, -15)


def test_the_own_interface_down_is_a_fault() -> None:
    instance, data = data_with(interfaces={"eth0": (0, False)})
    assert evaluate(instance, data, interfaces={"eth0": True}).faults == ()
    assert evaluate(instance, data, interfaces={"eth0": False}).faults == (
        Fault(FaultKind.INTERFACE, "eth0"),
    )


def test_an_interface_that_does_not_exist_is_down() -> None:
    result = evaluate(*data_with(interfaces={"eth9": (0, False)}))
    assert result.faults == (Fault(FaultKind.INTERFACE, "eth9"),)


def test_dont_track_primary_ignores_the_own_interface() -> None:
    result = evaluate(*data_with(interfaces={"eth0": (NOT_TRACK_IF, False)}), interfaces={"eth0": False})
    assert result.faults == ()
    assert result.total_priority == 100


@pytest.mark.parametrize(
    ("weight", "up", "total"), [(5, True, 105), (5, False, 100), (-5, True, 100), (-5, False, 95)]
)
def test_weighted_interfaces_move_the_total_priority(weight, up, total) -> None:
    result = evaluate(*data_with(interfaces={"eth1": (weight, False)}), interfaces={"eth1": up})
    assert result.total_priority == total
    assert result.faults == ()


def test_faults_list_interfaces_before_scripts() -> None:
    instance, data = data_with(("chk", 0, False), interfaces={"eth0": (0, False)})
    faults = evaluate(instance, data, {"chk": False}).faults
    assert [fault.kind for fault in faults] == [FaultKind.INTERFACE, FaultKind.SCRIPT]


def test_sync_group_scripts_count_once_with_the_weight_of_their_link() -> None:
    instance, data = data_with(("own", 0, False))
    shared = VrrpScript("shared", tracking=[TrackingObj("VI_1", -30, False)])
    data.scripts.append(shared)
    group = VrrpSyncGroup("G1", instances=["VI_1"])
    group.track.scripts = [TrackedScript(shared, -30), TrackedScript(data.scripts[0], 0)]
    data.sync_groups.append(group)
    instance.sync_group = "G1"
    tracking = InstanceTracking(instance, data)
    assert [link.name for link in tracking.scripts] == ["own", "shared"]
    assert tracking.evaluate({"own": True, "shared": False}, {}).total_priority == 70


def test_startup_fault_lines_are_keepalived_s() -> None:
    assert (
        Fault(FaultKind.SCRIPT, "chk").startup_log("VI_1") == "(VI_1): entering FAULT state due to script chk"
    )
    assert (
        Fault(FaultKind.INTERFACE, "eth0").startup_log("VI_1")
        == "(VI_1): entering FAULT state (interface eth0 down)"
    )


# ----- against the real run (keepalived-evidence run7)


def run7_data() -> VrrpData:
    executable = FileStatus(stat.S_IFREG | 0o755, 0, 0)
    host = StaticHost(
        interface_map={"eth0": Interface("eth0", 2, ipv4=("10.77.0.1/24",))},
        files={
            "/bin/true": executable,
            "/bin/false": executable,
            "/etc/keepalived/lab/run7/s/notify.sh": executable,
        },
    )
    return load(str(EVIDENCE / "run7_track_script.conf"), host).config.vrrp


def test_run7_script_results_log_and_move_the_priority_as_keepalived_did() -> None:
    data = run7_data()
    states = {script.name: ScriptState(script) for script in data.scripts}
    tracking = InstanceTracking(data.instances[0], data)
    lines = []
    priority = tracking.evaluate({}, {"eth0": True}).total_priority
    for name, outcome in (("chk_fail", FAIL), ("chk_ok", OK)):
        lines += states[name].record(outcome).log
        ok = {n: s.ok for n, s in states.items()}
        new = tracking.evaluate(ok, {"eth0": True}).total_priority
        lines.append(f"(VI_S) Changing effective priority from {priority} to {new}")
        priority = new
    log = (EVIDENCE / "run7_track_script_weights.log").read_text()
    first_run = log.split("Stopping")[0]
    expected = re.findall(r"^.*?2026: ((?:Script|VRRP_Script|\(VI_S\) Changing).*)$", first_run, re.M)
    assert lines == expected
