"""vrrp_sync_group on the fake LAN: two hosts, each with two instances (VRID 51 on one segment, 52 on the
other) in a sync group, as keepalived 2.2.7 runs them (reference 2.4; the lines and notifies recorded from
the real binary in tests/system/test_sync_group.py): members become MASTER together once each has timed
out, one member's fault or step-down takes the others along, a member comes up only with the whole group."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from hapair.config.keepalived.host import Interface, StaticHost
from hapair.config.keepalived.load import load
from hapair.config.keepalived.model import KeepalivedConfig
from hapair.config.keepalived.model.vrrp import VrrpState
from hapair.vrrp.actions import Action, Log, Notify, NotifyEvent
from hapair.vrrp.packet import decode_ipv4
from hapair.vrrp.router import VirtualRouter
from hapair.vrrp.sync_group import SyncGroup, Target

from .fakelan import SECOND, FakeLan, Node

INTERFACE_FAULT = "(interface eth1 down)"


def config_text(priority: int, *, group_extra: str = "", state: str = "BACKUP") -> str:
    def instance(name: str, interface: str, vrid: int, vip: str) -> str:
        return f"""
            vrrp_instance {name} {{
                state {state}
                interface {interface}
                virtual_router_id {vrid}
                priority {priority}
                advert_int 1
                virtual_ipaddress {{
                    {vip}/32
                }}
            }}
            """

    return f"""
        vrrp_sync_group G1 {{
            group {{
                VI_1
                VI_2
            }}
            {group_extra}
        }}
        {instance("VI_1", "eth0", 51, "10.77.0.100")}
        {instance("VI_2", "eth1", 52, "10.78.0.100")}
        """


def read_config(text: str, host_number: int, tmp_path: Path) -> KeepalivedConfig:
    interfaces = {
        "lo": Interface("lo", 1, loopback=True, ipv4=("127.0.0.1/8",)),
        "eth0": Interface("eth0", 2, ipv4=(f"10.77.0.{host_number}/24",)),
        "eth1": Interface("eth1", 3, ipv4=(f"10.78.0.{host_number}/24",)),
    }
    path = tmp_path / f"keepalived-{host_number}.conf"
    path.write_text(textwrap.dedent(text))
    result = load(str(path), StaticHost(interface_map=interfaces, name="node.example"), config_test=False)
    return result.config


@dataclass
class Member(Node):
    """A host's instance: each of its events is followed by what its sync group does; its log lines also
    go to its host's log, in order with the group's."""

    host: Host | None = None

    def apply(self, actions: list[Action]) -> None:
        super().apply(actions)
        if self.host is not None:
            self.host.logs += [action.text for action in actions if isinstance(action, Log)]

    def receive(self, data: bytes) -> None:
        if not self.connected:
            return
        packet = decode_ipv4(data)
        if packet.vrid == self.router.instance.vrid:
            self.event(lambda: self.router.receive(packet, self.lan.now))

    def wake_if_due(self) -> None:
        if self.timer is not None and self.timer <= self.lan.now:
            self.event(lambda: self.router.wake(self.lan.now))

    def event(self, happen: Callable[[], list[Action]]) -> None:
        assert self.host is not None
        before = self.router.state
        actions = happen()
        self.apply(actions)
        group, now = self.host.group, self.lan.now
        self.host.carry_out(group.follow(self.router, before, now))
        if any(isinstance(a, Notify) and a.event is NotifyEvent.MASTER_RX_LOWER_PRI for a in actions):
            self.host.carry_out(group.lower_priority_seen(self.router, now))


@dataclass
class Host:
    """One keepalived process: its two instances and their sync group."""

    lan: FakeLan
    group: SyncGroup
    members: dict[str, Member] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)  # the members' lines and the group's, as they came
    group_notifies: list[str] = field(default_factory=list)

    def carry_out(self, steps: list[tuple[Target, list[Action]]]) -> None:
        for target, actions in steps:
            if isinstance(target, SyncGroup):
                self.logs += [action.text for action in actions if isinstance(action, Log)]
                self.group_notifies += [
                    action.event.value for action in actions if isinstance(action, Notify)
                ]
            else:
                self.members[target.name].apply(actions)

    def start(self, faults: dict[str, set[str]] | None = None) -> None:
        """As the runtime starts them: every member's faults known, the group settled, then each member."""
        for name, member in self.members.items():
            member.router.faults = set((faults or {}).get(name, ()))
        self.carry_out(self.group.start())
        self.carry_out(self.group.start_notifies())
        for member in self.members.values():
            member.apply(member.router.start(self.lan.now, faults=member.router.faults))

    def fault(self, name: str, reason: str = INTERFACE_FAULT) -> None:
        member = self.members[name]
        member.event(lambda: member.router.tracker_down(self.lan.now, reason))

    def recover(self, name: str, reason: str = INTERFACE_FAULT) -> None:
        member = self.members[name]
        member.event(lambda: member.router.tracker_up(self.lan.now, reason))

    @property
    def states(self) -> tuple[VrrpState, ...]:
        return tuple(member.state for member in self.members.values())

    def since(self, mark: int) -> list[str]:
        return self.logs[mark:]


def make_host(lan: FakeLan, number: int, text: str, tmp_path: Path) -> Host:
    config = read_config(text, number, tmp_path)
    routers = [
        VirtualRouter(instance, IPv4Address(f"10.{77 + index}.0.{number}"))
        for index, instance in enumerate(config.vrrp.instances)
    ]
    host = Host(lan, SyncGroup(config.vrrp.sync_groups[0], routers))
    for router in routers:
        member = Member(lan, f"h{number}/{router.name}", router.source, router, host=host)
        host.members[router.name] = member
        lan.nodes.append(member)
    return host


@pytest.fixture
def lan() -> FakeLan:
    return FakeLan()


MASTER, BACKUP, FAULT = VrrpState.MASTER, VrrpState.BACKUP, VrrpState.FAULT


def pair(lan: FakeLan, tmp_path: Path, high_extra: str = "") -> tuple[Host, Host]:
    high = make_host(lan, 1, config_text(150, group_extra=high_extra), tmp_path)
    low = make_host(lan, 2, config_text(100), tmp_path)
    return high, low


def test_members_become_master_together_when_the_last_one_times_out(lan, tmp_path):
    (host,) = [make_host(lan, 1, config_text(100), tmp_path)]
    host.start()
    assert host.group_notifies == ["BACKUP"]
    lan.run_for(10 * SECOND)
    assert host.states == (MASTER, MASTER)
    assert host.group.state == MASTER
    # both time out together; the first to time out is held until the other wants MASTER too
    assert host.logs[host.logs.index("(VI_1) Receive advertisement timeout") :][:7] == [
        "(VI_1) Receive advertisement timeout",
        "(VI_2) Receive advertisement timeout",
        "(VI_2) Entering MASTER STATE",
        "(VI_2) setting VIPs.",
        "VRRP_Group(G1) Syncing instances to MASTER state",
        "(VI_1) Entering MASTER STATE",
        "(VI_1) setting VIPs.",
    ]
    assert host.group_notifies == ["BACKUP", "MASTER"]
    assert [m.notifies for m in host.members.values()] == [[("BACKUP", 100), ("MASTER", 100)]] * 2


def test_a_member_that_still_hears_its_master_holds_the_group_in_backup(lan, tmp_path):
    high, low = pair(lan, tmp_path)
    for host in (high, low):
        host.start()
    lan.run_for(10 * SECOND)
    assert (high.states, low.states) == ((MASTER, MASTER), (BACKUP, BACKUP))
    low.members["VI_2"].connected = False  # its segment is cut: it hears no master any more
    lan.run_for(20 * SECOND)
    assert low.states == (BACKUP, BACKUP)
    assert low.members["VI_2"].router.wantstate == MASTER
    assert low.logs.count("(VI_2) Receive advertisement timeout") >= 4
    assert "VRRP_Group(G1) Syncing instances to MASTER state" not in low.logs


def test_a_members_fault_takes_the_group_to_fault_and_the_peer_takes_over_both(lan, tmp_path):
    high, low = pair(lan, tmp_path)
    for host in (high, low):
        host.start()
    lan.run_for(10 * SECOND)
    mark, vi_1 = len(high.logs), high.members["VI_1"]
    high.fault("VI_2")
    assert high.states == (FAULT, FAULT)
    assert high.since(mark) == [
        "(VI_2) Entering FAULT STATE",
        "(VI_2) sent 0 priority",
        "(VI_2) removing VIPs.",
        "VRRP_Group(G1) Syncing instances to FAULT state",
        "(VI_1) Entering FAULT STATE",
        "(VI_1) removing VIPs.",
    ]
    assert vi_1.sent[-1] == (lan.now, 0)  # leaving MASTER for FAULT, it says priority 0 too
    assert high.group_notifies[-1] == "FAULT"
    lan.run_for(2 * SECOND)  # the skew time of priority 100 after the priority-0 adverts
    assert low.states == (MASTER, MASTER)
    assert low.group.state == MASTER


def test_the_group_comes_up_with_its_last_faulty_member_and_preempts_back(lan, tmp_path):
    high, low = pair(lan, tmp_path)
    for host in (high, low):
        host.start()
    lan.run_for(10 * SECOND)
    high.fault("VI_2")
    high.fault("VI_1", "(interface eth0 down)")
    lan.run_for(5 * SECOND)
    mark = len(high.logs)
    high.recover("VI_1", "(interface eth0 down)")
    assert high.states == (FAULT, FAULT)  # VI_2 still down: VI_1 stays with its group
    assert high.since(mark) == []
    high.recover("VI_2")
    assert high.since(mark) == [
        "(VI_2) Entering BACKUP STATE",
        "VRRP_Group(G1) Syncing instances to BACKUP state",
        "(VI_1) Entering BACKUP STATE",
    ]
    assert high.group_notifies[-2:] == ["FAULT", "BACKUP"]
    mark = len(low.logs)
    lan.run_for(10 * SECOND)
    assert (high.states, low.states) == ((MASTER, MASTER), (BACKUP, BACKUP))
    assert "VRRP_Group(G1) Syncing instances to BACKUP state" in low.since(mark)


def test_a_member_synced_to_fault_does_not_notify_fault_again_for_its_own_fault(lan, tmp_path):
    (host,) = [make_host(lan, 1, config_text(100), tmp_path)]
    host.start()
    lan.run_for(10 * SECOND)
    host.fault("VI_2")
    vi_1 = host.members["VI_1"]
    assert vi_1.notifies[-1] == ("FAULT", 100)
    host.fault("VI_1", "(interface eth0 down)")
    assert vi_1.notifies.count(("FAULT", 100)) == 1


def test_a_faulty_member_at_start_puts_the_group_and_every_member_in_fault(lan, tmp_path):
    host = make_host(lan, 1, config_text(100), tmp_path)
    host.start(faults={"VI_2": {INTERFACE_FAULT}})
    assert host.logs[0] == "VRRP_Group(G1): Syncing VI_2 to FAULT state"
    assert host.states == (FAULT, FAULT)
    assert host.group_notifies == ["FAULT"]
    assert [m.notifies for m in host.members.values()] == [[("FAULT", 100)]] * 2
    host.recover("VI_2")
    assert host.states == (BACKUP, BACKUP)


def test_a_master_answering_a_lower_priority_master_re_announces_the_whole_group(lan, tmp_path):
    high, low = pair(lan, tmp_path)
    for host in (high, low):
        host.start()
    lan.run_for(10 * SECOND)
    for member in low.members.values():  # the low host cut off on both segments: a split brain
        member.connected = False
    lan.run_for(10 * SECOND)
    assert low.states == (MASTER, MASTER)
    before = [len(m.garp_rounds) for m in high.members.values()]
    mark = len(low.logs)
    low.members["VI_1"].connected = True  # back on segment 1 only
    lan.run_for(SECOND + SECOND // 10)
    forcing = "(VI_1) Received advert from 10.77.0.2 with lower priority 100, ours 150, forcing new election"
    assert forcing in high.logs
    # high's VI_2 heard nothing, but re-announces its address with VI_1 (garp_lower_prio_repeat), once per
    # forced election: low's VI_1 advertises once more at its own priority before it yields (the heal of a
    # split brain, docs/keepalived-differences.md), which forces a second one
    assert [len(m.garp_rounds) - b for m, b in zip(high.members.values(), before, strict=True)] == [2, 2]
    assert high.logs.count(forcing) == 2
    # and low's VI_1, hearing a higher priority, takes VI_2 along to BACKUP
    assert low.states == (BACKUP, BACKUP)
    assert low.since(mark)[:3] == [
        "(VI_1) Master received advert from 10.77.0.1 with higher priority 150, ours 100",
        "(VI_1) Entering BACKUP STATE",
        "(VI_1) removing VIPs.",
    ]
    assert "VRRP_Group(G1) Syncing instances to BACKUP state" in low.since(mark)


def test_a_vip_taken_from_a_member_sends_every_master_of_the_group_to_backup_with_priority_0(lan, tmp_path):
    (host,) = [make_host(lan, 1, config_text(100), tmp_path)]
    host.start()
    lan.run_for(10 * SECOND)
    vi_1 = host.members["VI_1"]
    steps: list[tuple[Target, list[Action]]] = [(vi_1.router, vi_1.router.address_deleted(lan.now))]
    host.carry_out(steps + host.group.address_taken(vi_1.router, lan.now))
    assert host.states == (BACKUP, BACKUP)
    assert all(m.sent[-1] == (lan.now, 0) for m in host.members.values())
    assert host.group.state == BACKUP
    lan.run_for(2 * SECOND)
    assert host.states == (MASTER, MASTER)


def test_the_group_notifies_stop_and_counts_its_faulty_and_waiting_members(lan, tmp_path):
    host = make_host(lan, 1, config_text(100), tmp_path)
    host.start(faults={"VI_1": {INTERFACE_FAULT}})
    assert (host.group.num_member_fault, host.group.num_member_init) == (1, 0)
    host.carry_out(host.group.stop())
    assert host.group_notifies[-1] == "STOP"


def test_a_group_of_address_owners_starting_master_goes_master_at_once(lan, tmp_path):
    text = config_text(255, state="MASTER")
    host = make_host(lan, 1, text, tmp_path)
    host.start()
    assert host.group.state == MASTER
    assert host.group_notifies == []  # keepalived's vrrp_sync_master finds it MASTER already
    lan.run_for(SECOND // 100)
    assert host.states == (MASTER, MASTER)


def test_a_rehearsal_of_the_last_members_time_out_foretells_the_groups_take_over(lan, tmp_path):
    host = make_host(lan, 1, config_text(100), tmp_path)
    host.start()
    vi_1, vi_2 = host.members["VI_1"], host.members["VI_2"]
    vi_2.apply(vi_2.router.set_total_priority(lan.now, 90))  # a longer skew: VI_2 times out later
    lan.run_until(vi_1.router.deadline())  # VI_1 times out first and is held, wanting MASTER
    assert (vi_1.state, vi_1.router.wantstate) == (BACKUP, MASTER)
    rehearsed = vi_2.router.rehearse_deadline()
    assert rehearsed is not None
    _deadline, actions = rehearsed
    assert Log("(VI_2) Entering MASTER STATE") in actions
    assert vi_2.state == BACKUP
