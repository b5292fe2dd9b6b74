"""A `vrrp_sync_group` running: instances that change state together (keepalived 2.2.7's vrrp_sync.c, the
transition matrix of vrrp_scheduler.c and the sync group parts of down_instance / try_up_instance). Pure,
as the routers: each call takes the time and returns what to carry out, for the members and for the group.

- A member whose master-down timer runs out becomes MASTER only once every other member wants MASTER too
  (has timed out as well); until then it stays BACKUP and times out again (vrrp_sync_can_goto_master).
  The last one to time out takes the others along: `VRRP_Group(G) Syncing instances to MASTER state`.
- A master yielding to a higher priority takes the others to BACKUP; a member's fault takes the others to
  FAULT (each `VRRP_Group(G) Syncing instances to ... state`); a member comes up from FAULT only when no
  member has a fault or waits for its first script result, and takes the others to BACKUP.
- The group's notify commands (`notify_master`... and `notify` with `GROUP G STATE 0`) and its SMTP
  alerts follow the group's state; a member whose new state is the group's, once it has notified, does
  not notify again (send_instance_notifies).
"""

from __future__ import annotations

from typing import TypeAlias

from ..config.keepalived.model.vrrp import VrrpState, VrrpSyncGroup
from .actions import Action, Log, Notify, NotifyEvent
from .router import VirtualRouter

_EVENTS = {
    VrrpState.MASTER: NotifyEvent.MASTER,
    VrrpState.BACKUP: NotifyEvent.BACKUP,
    VrrpState.FAULT: NotifyEvent.FAULT,
}

Target: TypeAlias = "VirtualRouter | SyncGroup"  # whose actions they are: a member's or the group's


class SyncGroup:
    """The group's state and its members' routers (which refer back to it)."""

    def __init__(self, config: VrrpSyncGroup, members: list[VirtualRouter]) -> None:
        self.config = config
        self.name = config.name
        self.members = members
        self.state = config.state
        for member in members:
            member.group = self

    # ----- what the members ask

    def can_goto_master(self, member: VirtualRouter) -> bool:
        """Whether `member` may become MASTER: the group is, or every other member wants to."""
        if self.state == VrrpState.MASTER:
            return True
        return all(other.wantstate == VrrpState.MASTER for other in self._others(member))

    def holds_down(self, member: VirtualRouter) -> bool:
        """Whether another member has a fault or waits for a script's first result, which keeps `member`
        from coming up."""
        return any(other.faults or other.waiting for other in self._others(member))

    @property
    def num_member_fault(self) -> int:
        return sum(1 for member in self.members if member.faults)

    @property
    def num_member_init(self) -> int:
        return sum(1 for member in self.members if member.waiting)

    # ----- what the group does

    def start(self) -> list[tuple[SyncGroup, list[Action]]]:
        """At start-up, once the members' faults are known: a group with a faulty member is in FAULT
        (`VRRP_Group(G): Syncing VI to FAULT state`, for the first one); a group in FAULT or BACKUP
        notifies (a MASTER one, of address owners, never does: keepalived's vrrp_sync_master finds it
        MASTER already)."""
        actions: list[Action] = []
        faulty = next((member for member in self.members if member.faults), None)
        if faulty is not None:
            self.state = VrrpState.FAULT
            actions.append(Log(f"VRRP_Group({self.name}): Syncing {faulty.name} to FAULT state"))
        return [(self, actions)]

    def resume_state(self) -> None:
        """After a reload, whose members carried on: the group's state is theirs."""
        states = {member.state for member in self.members}
        if VrrpState.FAULT in states:
            self.state = VrrpState.FAULT
        elif states == {VrrpState.MASTER}:
            self.state = VrrpState.MASTER
        else:
            self.state = VrrpState.BACKUP

    def start_notifies(self) -> list[tuple[SyncGroup, list[Action]]]:
        if self.state in (VrrpState.FAULT, VrrpState.BACKUP):
            return [(self, [Notify(_EVENTS[self.state], 0)])]
        return []

    def follow(self, member: VirtualRouter, before: VrrpState, now: int) -> list[tuple[Target, list[Action]]]:
        """`member` went from `before` to its state now (after an advert, a timer or a tracker): take
        the others along as keepalived does."""
        after = member.state
        if after == VrrpState.MASTER:
            return self._sync_master(member, now)
        if after == VrrpState.BACKUP and before in (VrrpState.MASTER, VrrpState.FAULT):
            return self._sync_backup(member, now)
        if after == VrrpState.FAULT and member.faults:
            return self._sync_fault(member, now)
        return []

    def address_taken(self, member: VirtualRouter, now: int) -> list[tuple[Target, list[Action]]]:
        """A VIP of `member` was taken away (keepalived's set_vrrp_backup): the other masters step down
        too, with priority 0, to be elected again at once; the group is BACKUP, without notifying."""
        steps: list[tuple[Target, list[Action]]] = [
            (other, other.address_deleted(now)) for other in self._others(member)
        ]
        self.state = VrrpState.BACKUP
        return steps

    def lower_priority_seen(self, member: VirtualRouter, now: int) -> list[tuple[Target, list[Action]]]:
        """`member`, a master, answered a lower-priority master: the others re-announce their addresses
        too (garp_lower_prio_repeat), as the lower-priority node may hold theirs."""
        return [(other, other.announce_for_group(now)) for other in self._others(member)]

    def stop(self) -> list[tuple[Target, list[Action]]]:
        return [(self, [Notify(NotifyEvent.STOP, 0)])]

    # ----- the transitions (vrrp_sync.c)

    def _sync_master(self, member: VirtualRouter, now: int) -> list[tuple[Target, list[Action]]]:
        if self.state == VrrpState.MASTER or not self.can_goto_master(member):
            return []
        steps: list[tuple[Target, list[Action]]] = [
            (self, [Log(f"VRRP_Group({self.name}) Syncing instances to MASTER state")])
        ]
        steps += [(other, other.sync_to_master(now)) for other in self._others(member)]
        return self._entered(VrrpState.MASTER, steps)

    def _sync_backup(self, member: VirtualRouter, now: int) -> list[tuple[Target, list[Action]]]:
        if self.state == VrrpState.BACKUP:
            return []
        steps: list[tuple[Target, list[Action]]] = [
            (self, [Log(f"VRRP_Group({self.name}) Syncing instances to BACKUP state")])
        ]
        steps += [(other, other.sync_to_backup(now)) for other in self._others(member)]
        return self._entered(VrrpState.BACKUP, steps)

    def _sync_fault(self, member: VirtualRouter, now: int) -> list[tuple[Target, list[Action]]]:
        if self.state == VrrpState.FAULT:
            return []
        steps: list[tuple[Target, list[Action]]] = [
            (self, [Log(f"VRRP_Group({self.name}) Syncing instances to FAULT state")])
        ]
        steps += [(other, other.sync_to_fault(now)) for other in self._others(member)]
        return self._entered(VrrpState.FAULT, steps)

    def _entered(
        self, state: VrrpState, steps: list[tuple[Target, list[Action]]]
    ) -> list[tuple[Target, list[Action]]]:
        self.state = state
        return [*steps, (self, [Notify(_EVENTS[state], 0)])]

    def _others(self, member: VirtualRouter) -> list[VirtualRouter]:
        """The other members (by name: a rehearsal's copy of a member is that member)."""
        return [other for other in self.members if other.name != member.name]
