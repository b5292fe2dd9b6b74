"""The VRRP state machine on a fake LAN: elections, preemption, timers, faults and shutdown as keepalived
2.2.7 behaves (reference sections 3.3-3.8; the timings are keepalived's formulas, in microseconds)."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from hapair.config.keepalived.model.vrrp import VrrpState
from hapair.vrrp.actions import (
    Action,
    ArmTimer,
    Log,
    Notify,
    NotifyEvent,
    RemoveVips,
    SendAdvert,
    SendGratuitousArps,
    VirtualRouting,
)
from hapair.vrrp.router import VirtualRouter

from .fakelan import SECOND, FakeLan, Node, read_instance

A, B, C = "10.77.0.1", "10.77.0.2", "10.77.0.3"


def config(
    *,
    priority: int | None = 100,
    state: str | None = "BACKUP",
    version: int = 2,
    advert_int: str = "1",
    password: str | None = "secret12",
    vips: tuple[str, ...] = ("10.77.0.100/24",),
    extra: str = "",
    global_defs: str = "",
) -> str:
    auth = (
        f"authentication {{\n auth_type PASS\n auth_pass {password}\n }}" if password and version == 2 else ""
    )
    lines = "\n".join(vips)
    return f"""
        global_defs {{
        {global_defs}
        }}
        vrrp_instance VI_1 {{
            {f"state {state}" if state else ""}
            interface eth0
            virtual_router_id 51
            {f"priority {priority}" if priority is not None else ""}
            advert_int {advert_int}
            version {version}
            {auth}
            virtual_ipaddress {{
                {lines}
            }}
            {extra}
        }}
        """


@pytest.fixture
def lan() -> FakeLan:
    return FakeLan()


@pytest.fixture
def node(lan: FakeLan, tmp_path: Path):
    def make(address: str, text: str, *, start: bool = True) -> Node:
        made = lan.add(address, read_instance(text, address, tmp_path), address)
        if start:
            lan.start(made)
        return made

    return make


def skew(priority: int) -> int:
    return (256 - priority) * SECOND // 256


def test_a_lone_backup_becomes_master_after_three_adverts_and_the_skew(lan, node):
    a = node(A, config(priority=100))
    assert a.logs == ["(VI_1) removing VIPs.", "(VI_1) Entering BACKUP STATE (init)"]
    assert a.notifies == [("BACKUP", 100)]
    lan.run_until(3 * SECOND + skew(100) - 1)
    assert a.state == VrrpState.BACKUP
    lan.run_for(1)
    assert a.state == VrrpState.MASTER
    assert a.holds_vips
    assert a.logs[-3:] == [
        "(VI_1) Receive advertisement timeout",
        "(VI_1) Entering MASTER STATE",
        "(VI_1) setting VIPs.",
    ]
    assert a.notifies[-1] == ("MASTER", 100)


def test_the_address_owner_with_state_master_takes_over_at_once(lan, node):
    a = node(A, config(priority=255, state="MASTER"))
    lan.run_for(1)
    assert a.state == VrrpState.MASTER
    assert "(VI_1) Entering BACKUP STATE (init)" not in a.logs


def test_a_rehearsal_foretells_the_take_over_and_leaves_the_router_as_it_was(lan, node):
    a = node(A, config(priority=100))
    counters = dataclasses.asdict(a.router.stats)
    rehearsed = a.router.rehearse_deadline()
    assert rehearsed is not None
    deadline, foretold = rehearsed
    assert deadline == a.router.deadline() == 3 * SECOND + skew(100)
    assert a.state == VrrpState.BACKUP
    assert dataclasses.asdict(a.router.stats) == counters
    real = a.router.wake(deadline)
    assert a.state == VrrpState.MASTER
    assert any(isinstance(action, SendAdvert) for action in real)
    assert real == foretold


def test_a_non_owner_with_state_master_still_waits_the_whole_master_down_interval(lan, node):
    a = node(A, config(priority=150, state="MASTER"))
    assert "(VI_1) Entering BACKUP STATE (init)" in a.logs
    lan.run_until(3 * SECOND + skew(150) - 1)
    assert a.state == VrrpState.BACKUP
    lan.run_for(1)
    assert a.state == VrrpState.MASTER


def test_the_higher_priority_wins_when_both_start_together(lan, node):
    a = node(A, config(priority=150))
    b = node(B, config(priority=100))
    lan.run_for(10 * SECOND)
    assert (a.state, b.state) == (VrrpState.MASTER, VrrpState.BACKUP)
    assert a.holds_vips and not b.holds_vips
    assert b.router.master_address == a.address
    assert b.router.master_priority == 150


def test_a_higher_priority_backup_discards_a_lower_master_then_preempts_after_master_down(lan, node):
    a = node(A, config(priority=100))
    lan.run_for(5 * SECOND)
    assert a.state == VrrpState.MASTER
    b = node(B, config(priority=150))
    joined = lan.now
    lan.run_for(10 * SECOND)
    assert (a.state, b.state) == (VrrpState.BACKUP, VrrpState.MASTER)
    discards = [line for line in b.logs if "discarding" in line]
    assert discards[0] == "(VI_1) received lower priority (100) advert from 10.77.0.1 - discarding"
    took_over = lan.when(b, "Entering MASTER STATE")
    assert took_over == joined + 3 * SECOND + skew(150)
    assert "(VI_1) Master received advert from 10.77.0.2 with higher priority 150, ours 100" in a.logs
    assert a.logs[-2:] == ["(VI_1) Entering BACKUP STATE", "(VI_1) removing VIPs."]
    assert not a.holds_vips and b.holds_vips
    assert a.notifies[-1] == ("BACKUP", 100)
    assert a.router.stats.release_master == 1


def test_nopreempt_accepts_a_lower_priority_master(lan, node):
    a = node(A, config(priority=100))
    lan.run_for(5 * SECOND)
    b = node(B, config(priority=150, extra="nopreempt"))
    lan.run_for(30 * SECOND)
    assert (a.state, b.state) == (VrrpState.MASTER, VrrpState.BACKUP)
    assert not any("discarding" in line for line in b.logs)


def test_preempt_delay_postpones_the_takeover_by_the_delay(lan, node):
    node(A, config(priority=100))
    lan.run_for(5 * SECOND)
    b = node(B, config(priority=150, extra="preempt_delay 10"))
    joined = lan.now
    lan.run_for(30 * SECOND)
    assert b.state == VrrpState.MASTER
    started = lan.when(b, "start preempt delay (10.000000)")
    assert started is not None and started - joined < SECOND
    took_over = lan.when(b, "Entering MASTER STATE")
    assert 10 * SECOND + 3 * SECOND <= took_over - joined <= 10 * SECOND + 3 * SECOND + 2 * SECOND


def test_priority_zero_from_a_stopping_master_hands_over_after_the_skew(lan, node):
    a = node(A, config(priority=150))
    b = node(B, config(priority=100))
    lan.run_for(10 * SECOND)
    stopped = lan.now
    a.apply(a.router.stop(lan.now))
    assert a.sent[-1] == (stopped, 0)
    assert not a.holds_vips
    assert a.notifies[-1] == ("STOP", 150)
    assert a.router.stats.pri_zero_sent == 1
    a.connected = False
    lan.run_for(2 * SECOND)
    assert b.state == VrrpState.MASTER
    assert "(VI_1) Backup received priority 0 advertisement" in b.logs
    assert lan.when(b, "Entering MASTER STATE") == stopped + 100 + skew(100)
    assert b.router.stats.pri_zero_rcvd == 1


def test_equal_priorities_are_decided_by_the_higher_address(lan, node):
    a = node(A, config(priority=100))
    b = node(B, config(priority=100))
    lan.run_for(10 * SECOND)
    assert (a.state, b.state) == (VrrpState.BACKUP, VrrpState.MASTER)
    assert (
        "(VI_1) Master received advert from 10.77.0.2 with same priority 100 but higher IP address than ours"
        in a.logs
    )
    assert (
        "(VI_1) Received advert from 10.77.0.1 with lower priority 100, ours 100, forcing new election"
        in b.logs
    )


def test_after_a_partition_heals_the_loser_steps_down_within_one_advert_interval(lan, node):
    a = node(A, config(priority=150))
    b = node(B, config(priority=100))
    lan.run_for(10 * SECOND)
    b.connected = False
    lan.run_for(10 * SECOND)
    assert lan.masters() == [a, b]
    b.connected = True
    healed = lan.now
    lan.run_for(SECOND + 1000)
    assert lan.masters() == [a]
    assert lan.when(b, "Entering BACKUP STATE") - healed <= SECOND + 1000
    assert not b.holds_vips


def test_the_winner_of_a_healed_partition_re_announces_its_addresses(lan, node):
    a = node(A, config(priority=150))
    b = node(B, config(priority=100))
    lan.run_for(10 * SECOND)
    b.connected = False
    lan.run_for(10 * SECOND)
    b.connected = True
    before = len(a.garp_rounds)
    lan.run_for(2 * SECOND)
    assert (
        "(VI_1) Received advert from 10.77.0.2 with lower priority 100, ours 150, forcing new election"
        in a.logs
    )
    assert len(a.garp_rounds) > before
    assert ("MASTER_RX_LOWER_PRI", 150) in a.notifies


def test_two_address_owners_report_a_configuration_error_and_one_reduces_its_priority(lan, node):
    a = node(A, config(priority=255, state="MASTER"))
    b = node(B, config(priority=255, state="MASTER"))
    lan.run_for(5 * SECOND)
    both = a.logs + b.logs
    assert any(
        "CONFIGURATION ERROR: local instance and a remote instance are both configured" in line
        for line in both
    )
    assert len(lan.masters()) == 1


def test_gratuitous_arps_go_out_in_two_bursts_garp_master_delay_apart(lan, node):
    a = node(A, config(priority=255, state="MASTER"))
    lan.run_for(10 * SECOND)
    assert [repeat for _, repeat in a.garp_rounds] == [5, 5]
    assert a.garp_rounds[1][0] - a.garp_rounds[0][0] == 5 * SECOND


def test_garp_master_refresh_goes_with_the_first_advert_after_the_refresh_time(lan, node):
    a = node(A, config(priority=255, state="MASTER", extra="garp_master_refresh 2\ngarp_master_delay 0"))
    lan.run_for(10 * SECOND + 1)
    # adverts every second from t=1us; a refresh is due strictly after 2 s: at 3 s, then 6 s, then 9 s
    assert [(t // SECOND, repeat) for t, repeat in a.garp_rounds] == [(0, 5), (3, 1), (6, 1), (9, 1)]


def test_a_tracker_failing_on_the_master_sends_priority_zero_and_the_backup_takes_over(lan, node):
    a = node(A, config(priority=150))
    b = node(B, config(priority=100))
    lan.run_for(10 * SECOND)
    failed = lan.now
    a.apply(a.router.tracker_down(lan.now, "due to script chk"))
    assert a.state == VrrpState.FAULT
    assert not a.holds_vips
    assert a.sent[-2:] == [(failed, 0), (failed, 0)]
    assert a.notifies[-1] == ("FAULT", 150)
    assert "(VI_1) Entering FAULT STATE" in a.logs
    lan.run_for(2 * SECOND)
    assert b.state == VrrpState.MASTER
    a.apply(a.router.tracker_up(lan.now, "due to script chk"))
    assert a.logs[-1] == "(VI_1) Entering BACKUP STATE"
    lan.run_for(10 * SECOND)
    assert a.state == VrrpState.MASTER


def test_an_instance_waiting_for_a_weight_zero_script_stays_silent_until_it_reports(lan, node):
    a = node(A, config(priority=100), start=False)
    lan.start(a, waiting={"due to script chk"})
    assert a.state == VrrpState.FAULT
    assert a.logs == ["(VI_1) removing VIPs."]
    assert a.notifies == []
    a.apply(a.router.tracker_ready(lan.now, "due to script chk", ok=False))
    assert a.state == VrrpState.FAULT
    assert a.notifies == [("FAULT", 100)]
    assert not any("Entering" in line for line in a.logs)


def test_an_instance_whose_weight_zero_script_succeeds_first_enters_backup(lan, node):
    a = node(A, config(priority=100), start=False)
    lan.start(a, waiting={"due to script chk"})
    a.apply(a.router.tracker_ready(lan.now, "due to script chk", ok=True))
    assert a.logs[-1] == "(VI_1) Entering BACKUP STATE"
    assert a.notifies == [("BACKUP", 100)]


def test_an_instance_faulted_at_start_notifies_fault_without_entering_a_state(lan, node):
    a = node(A, config(priority=100), start=False)
    lan.start(a, faults={"(interface eth0 down)"})
    assert a.state == VrrpState.FAULT
    assert a.logs == ["(VI_1) removing VIPs."]
    assert a.notifies == [("FAULT", 100)]


def test_effective_priority_follows_weights_and_is_clamped(lan, node):
    a = node(A, config(priority=100))
    actions = a.router.set_total_priority(lan.now, 80)
    assert Log("(VI_1) Changing effective priority from 100 to 80") in actions
    a.router.set_total_priority(lan.now, 400)
    assert a.router.effective_priority == 254
    a.router.set_total_priority(lan.now, -5)
    assert a.router.effective_priority == 1


def test_the_address_owner_ignores_weights(lan, node):
    a = node(A, config(priority=255, state="MASTER"))
    assert a.router.set_total_priority(lan.now, 100) == []
    assert a.router.effective_priority == 255


def test_a_lower_effective_priority_moves_a_running_backup_timer(lan, node):
    a = node(A, config(priority=200))
    deadline = a.router.sands
    a.apply(a.router.set_total_priority(lan.now, 100))
    assert a.router.sands == deadline + skew(100) - skew(200)
    assert a.timer == a.router.sands


def test_a_vrrpv3_backup_times_the_master_with_the_masters_interval(lan, node):
    a = node(A, config(priority=150, version=3, advert_int="0.5"))
    b = node(B, config(priority=100, version=3, advert_int="1"))
    lan.run_for(5 * SECOND)
    assert (a.state, b.state) == (VrrpState.MASTER, VrrpState.BACKUP)
    assert b.router.master_advert_int_us == SECOND // 2
    assert b.router.down_timer_us == 3 * SECOND // 2 + (156 * 50 * 625 // 16)
    a.connected = False
    gone = lan.now
    lan.run_for(3 * SECOND)
    assert lan.when(b, "Entering MASTER STATE") - gone <= 3 * SECOND // 2 + SECOND // 2


@pytest.mark.parametrize(
    ("other", "message"),
    [
        ({"advert_int": "2"}, "advertisement interval mismatch mine=2 sec rcv'd=1 sec"),
        ({"password": "other"}, "received an invalid passwd!"),
        (
            {"vips": ("10.77.0.100/24", "10.77.0.101/24")},
            "received an unexpected ip number count 1, expected 2!",
        ),
    ],
)
def test_a_mismatched_peer_is_rejected_so_both_become_master(lan, node, other, message):
    a = node(A, config(priority=150))
    b = node(B, config(priority=100, **other))
    lan.run_for(10 * SECOND)
    assert lan.masters() == [a, b]
    assert f"(VI_1) {message}" in b.logs


def test_stop_of_a_backup_sends_nothing_and_notifies_stop(lan, node):
    a = node(A, config(priority=100))
    actions = a.router.stop(lan.now)
    assert not any(isinstance(action, SendAdvert | RemoveVips) for action in actions)
    assert Notify(NotifyEvent.STOP, 100) in actions
    assert ArmTimer(None) in actions


def test_counters_follow_the_traffic(lan, node):
    a = node(A, config(priority=150))
    b = node(B, config(priority=100))
    lan.run_for(10 * SECOND)
    assert a.router.stats.become_master == 1
    assert a.router.stats.advert_sent == len(a.sent)
    assert b.router.stats.advert_rcvd == len([t for t, _ in a.sent if t >= 0])


def reload(lan: FakeLan, node: Node, text: str, tmp_path: Path) -> list[Action]:
    """Replace `node`'s router by one read from `text` that resumes from it, as a SIGHUP does."""
    old = node.router
    node.apply(old.advertise_before_reload())
    node.router = VirtualRouter(read_instance(text, str(node.address), tmp_path), node.address)
    actions = node.router.resume(old, lan.now, faults=set(), waiting=set())
    node.apply(actions)
    return actions


def test_a_reloaded_master_stays_master_with_its_addresses_and_advertises_at_once(lan, node, tmp_path):
    a = node(A, config(priority=150))
    b = node(B, config(priority=100))
    lan.run_for(10 * SECOND)
    sent = len(a.sent)
    actions = reload(lan, a, config(priority=150), tmp_path)
    assert not any(isinstance(action, RemoveVips) for action in actions)
    assert not any(isinstance(action, SendGratuitousArps) for action in actions)
    assert a.router.state == VrrpState.MASTER and a.holds_vips
    lan.run_for(1)
    assert len(a.sent) == sent + 2  # the advert before reading the configuration, and one at once after
    lan.run_for(10 * SECOND)
    assert (a.state, b.state) == (VrrpState.MASTER, VrrpState.BACKUP)
    assert a.router.stats.become_master == 1


def test_a_reload_removes_dropped_addresses_and_announces_new_ones(lan, node, tmp_path):
    a = node(A, config(priority=150, vips=("10.77.0.100/24", "10.77.0.101/24")))
    lan.run_for(5 * SECOND)
    actions = reload(lan, a, config(priority=150, vips=("10.77.0.100/24", "10.77.0.102/24")), tmp_path)
    removed = next(action for action in actions if isinstance(action, RemoveVips))
    assert [str(address.address) for address in removed.addresses] == ["10.77.0.101/24"]
    assert SendGratuitousArps(5) in actions


def test_a_reloaded_backup_stays_backup_without_a_new_init(lan, node, tmp_path):
    a = node(A, config(priority=150))
    b = node(B, config(priority=100))
    lan.run_for(10 * SECOND)
    reload(lan, b, config(priority=100), tmp_path)
    assert b.state == VrrpState.BACKUP
    assert b.logs.count("(VI_1) Entering BACKUP STATE (init)") == 1
    lan.run_for(10 * SECOND)
    assert (a.state, b.state) == (VrrpState.MASTER, VrrpState.BACKUP)


def test_an_instance_gone_from_the_configuration_hands_over_and_notifies_fault(lan, node):
    a = node(A, config(priority=150))
    lan.run_for(5 * SECOND)
    actions = a.router.retire(lan.now)
    assert any(isinstance(action, SendAdvert) and action.advert.priority == 0 for action in actions)
    assert any(isinstance(action, RemoveVips) for action in actions)
    assert Notify(NotifyEvent.FAULT, 150) in actions


def test_the_priority_the_trackers_give_at_start_is_taken_quietly(lan, node):
    a = node(A, config(priority=100), start=False)
    a.router.assume_total_priority(300)
    lan.start(a)
    assert a.router.effective_priority == 254
    assert not any("Changing effective priority" in line for line in a.logs)


def test_a_vip_deleted_from_outside_sends_the_master_to_backup_with_priority_0_and_it_takes_over_again(
    lan, node
):
    vips = ("10.77.0.100/24", "10.77.0.101/24")
    a = node(A, config(priority=150, vips=vips))
    b = node(B, config(priority=100, vips=vips))
    lan.run_for(10 * SECOND)
    assert a.router.tracked_address("eth0", IPv4Address("10.77.0.101")) is not None
    deleted = lan.now
    a.apply(a.router.address_deleted(lan.now))
    assert a.state == VrrpState.BACKUP
    assert a.sent[-1] == (deleted, 0)
    assert not a.holds_vips  # the addresses left are removed, to be added back with the next mastership
    assert a.logs[-3:] == ["(VI_1) Entering BACKUP STATE", "(VI_1) sent 0 priority", "(VI_1) removing VIPs."]
    assert a.notifies[-1] == ("BACKUP", 150)
    lan.run_for(2 * SECOND)
    # b's skew after a priority 0 is longer than a's own skew: a takes over again first
    assert (a.state, b.state) == (VrrpState.MASTER, VrrpState.BACKUP)
    assert lan.when(a, "Entering MASTER STATE", after=deleted) == deleted + skew(150)
    assert a.holds_vips


def test_only_a_masters_own_tracked_addresses_count_as_taken_away(lan, node):
    vips = ("10.77.0.100/24", "10.77.0.102/24 no_track")
    a = node(A, config(priority=150, vips=vips))
    b = node(B, config(priority=100, vips=vips))
    lan.run_for(10 * SECOND)
    vip = a.router.tracked_address("eth0", IPv4Address("10.77.0.100"))
    assert vip is not None and str(vip.address) == "10.77.0.100/24"
    assert a.router.tracked_address("eth0", IPv4Address("10.77.0.102")) is None  # no_track
    assert a.router.tracked_address("eth1", IPv4Address("10.77.0.100")) is None
    assert a.router.tracked_address("eth0", IPv4Address("10.77.0.1")) is None  # its own address
    assert b.router.tracked_address("eth0", IPv4Address("10.77.0.100")) is None  # a backup holds none
    assert b.router.address_deleted(lan.now) == []


def test_during_vrrp_startup_delay_a_backup_s_timer_counts_from_its_end(lan, node):
    a = node(A, config(priority=100), start=False)
    a.router.startup_delay_end_us = 5 * SECOND
    lan.start(a)
    lan.run_until(5 * SECOND + 3 * SECOND + skew(100) - 1)
    assert a.state == VrrpState.BACKUP
    lan.run_for(1)
    assert a.state == VrrpState.MASTER


ROUTING = """virtual_routes {
    10.9.0.0/16 via 10.77.0.254
}
virtual_rules {
    from 10.77.0.100 table 100 priority 100
}"""


def test_virtual_routes_and_rules_follow_the_vips_in_keepalived_order(lan, node):
    # keepalived 2.2.7 with -D (tests/system/test_routes.py runs both): at start the rules and routes an
    # earlier run left go with the VIPs, then again on entering BACKUP; routes go in after the VIPs, then
    # rules; at the stop rules, then routes, then the VIPs go
    a = node(A, config(priority=100, extra=ROUTING))
    removal = ["(VI_1) removing Virtual Rules", "(VI_1) removing Virtual Routes"]
    assert a.logs == [*removal, "(VI_1) removing VIPs.", *removal, "(VI_1) Entering BACKUP STATE (init)"]
    lan.run_until(3 * SECOND + skew(100))
    setting = ["(VI_1) setting VIPs.", "(VI_1) setting Virtual Routes", "(VI_1) setting Virtual Rules"]
    assert a.logs[-3:] == setting
    actions = a.router.stop(lan.now)
    removing = [action for action in actions if isinstance(action, VirtualRouting | RemoveVips)]
    assert removing == [VirtualRouting(add=False), RemoveVips(a.router.addresses)]


def test_the_start_removes_rules_left_by_an_earlier_run(lan, node):
    a = node(A, config(priority=100, extra=ROUTING), start=False)
    actions = a.router.start(lan.now)
    assert [a for a in actions if isinstance(a, VirtualRouting)] == [
        VirtualRouting(add=False, force=True),
        VirtualRouting(add=False),
    ]
