"""One VRRP instance's state machine (keepalived 2.2.7's vrrp_t and the functions of vrrp.c and
vrrp_scheduler.c that change it). Pure: every entry point takes the time (`now`, integer microseconds on a
monotonic clock) and returns the actions to carry out; nothing here reads a clock or touches the system.

Every state change happens in this module. The entry points are the events the daemon sees:
`start`, `receive` (an advert for our VRID), `wake` (the armed timer fired), `tracker_down` / `tracker_up`
/ `tracker_ready` (a tracked interface or script changed), `address_claimed` (another node's ARP says it
holds one of our addresses), `set_total_priority` and `stop`.
"""

from __future__ import annotations

import copy
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING

from ..config.keepalived.model.addresses import IpAddress
from ..config.keepalived.model.vrrp import (
    PRIORITY_OWNER,
    AuthType,
    ChecksumCompat,
    VrrpInstance,
    VrrpState,
    effective_priority,
)
from ..config.keepalived.numbers import TIMER_HZ
from .actions import (
    Action,
    AnnounceSource,
    ArmTimer,
    Log,
    Notify,
    NotifyEvent,
    ProbeAddresses,
    RemoveVips,
    SendAdvert,
    SendGratuitousArps,
    SetVips,
    VirtualRouting,
)
from .checks import (
    OLD_CHECKSUM_NOTICE,
    Expectation,
    Peer,
    adopts_old_checksum,
    authenticated_sequence,
    check_advert,
)
from .ipsec_ah import SequenceCounter, read_header
from .packet import VRRP_GROUP, Advertisement, ReceivedPacket
from .stats import Stats

if TYPE_CHECKING:
    from .sync_group import SyncGroup

PRIORITY_STOP = 0
TIMER_CENTI_HZ = TIMER_HZ // 100
# A master that has seen another node claim one of its addresses probes for it this long after each of its
# adverts (time for a peer that steps down on the advert to let the address go), and takes the address as
# released when no claim has come this long after the probe. Each is at most a quarter of the interval.
CLAIM_PROBE_DELAY_US = 20_000
CLAIM_PROBE_WAIT_US = 100_000

_NOTIFY_EVENTS = {
    VrrpState.BACKUP: NotifyEvent.BACKUP,
    VrrpState.MASTER: NotifyEvent.MASTER,
    VrrpState.FAULT: NotifyEvent.FAULT,
}


class VirtualRouter:
    """A VRRP instance running: its state, priorities, timers and counters."""

    def __init__(
        self,
        instance: VrrpInstance,
        source: IPv4Address | IPv6Address,
        *,
        group: IPv4Address | IPv6Address = VRRP_GROUP,
        check_unicast_src: bool = False,
    ) -> None:
        """`group` and `check_unicast_src` are global_defs' vrrp_mcast_group4 (vrrp_mcast_group6 for an
        IPv6 instance) and vrrp_check_unicast_src."""
        self.instance = instance
        self.name = instance.name
        self.source = source  # our address in adverts and in the tie-break
        self.mcast_group = instance.mcast_dst if instance.mcast_dst is not None else group
        self.check_unicast_src = check_unicast_src or instance.check_unicast_src
        self.unicast_checksum_compat = instance.unicast_checksum_compat
        self.state = VrrpState.INIT
        self.wantstate = instance.wantstate
        self.base_priority = instance.base_priority
        self.total_priority = instance.total_priority
        self.effective_priority = instance.effective_priority
        self.master_priority = 0
        self.master_advert_int_us = instance.advert_int_us
        self.master_address: IPv4Address | IPv6Address | None = None
        self.vips_set = False
        self.stats = Stats()
        self.ah_counter = SequenceCounter()  # auth_type AH's sequence numbers
        # vrrp_startup_delay's end (keepalived's vrrp_delayed_start_time): a backup's timer counts from it
        self.startup_delay_end_us = 0
        self.last_transition_us = 0
        self.down_timer_us = 0  # keepalived's ms_down_timer
        self.sands: int | None = None  # the instance timer: next advert (MASTER) or master down (BACKUP)
        self.garp_at: int | None = None  # the delayed second gratuitous ARP burst
        self.lower_prio_garp_at: int | None = None
        self.garp_refresh_at: int | None = None
        self.preempt_at: int | None = None  # end of preempt_delay once it has started
        self.claims: dict[IPv4Address, str] = {}  # our addresses another node holds too, and its MAC
        self.last_claim_at: int | None = None
        self.probe_at: int | None = None  # the next probe for the claimed addresses
        self.probed_at: int | None = None  # the last probe, whose answer is awaited until verdict_at
        self.verdict_at: int | None = None
        self.faults: set[str] = set()  # trackers holding the instance in FAULT
        self.waiting: set[str] = set()  # weight-0 scripts that have not reported yet
        self.group: SyncGroup | None = None  # its vrrp_sync_group, which sets this
        self._notified = False  # keepalived's notifies_sent
        self._actions: list[Action] = []
        self._armed: int | None = None
        self._adverts: dict[int, Advertisement] = {}

    # ----- derived values

    @property
    def advert_int_us(self) -> int:
        return self.instance.advert_int_us

    @property
    def addresses(self) -> tuple[IpAddress, ...]:
        """The addresses the instance holds as master: its VIPs then its eVIPs."""
        return (*self.instance.vips, *self.instance.evips)

    @property
    def family(self) -> int:
        """4 or 6: the instance's address family, that of its adverts and VIPs."""
        return self.instance.family or 4

    @property
    def vips(self) -> tuple[IPv4Address, ...] | tuple[IPv6Address, ...]:
        """The VIPs an advert carries: those of the instance's family."""
        return tuple(vip.address.ip for vip in self.instance.vips if vip.address.version == self.family)

    @property
    def _ipv4_addresses(self) -> tuple[IPv4Address, ...]:
        """The IPv4 addresses the instance holds as master, VIPs and eVIPs (those ARP announces)."""
        return tuple(a.address.ip for a in self.addresses if isinstance(a.address.ip, IPv4Address))

    def skew_us(self, priority: int | None = None) -> int:
        """Skew_Time for `256 - priority` (keepalived's VRRP_TIMER_SKEW_CALC)."""
        value = 256 - (self.effective_priority if priority is None else priority)
        if self.instance.version == 3:
            return value * (self.master_advert_int_us // TIMER_CENTI_HZ) * 625 // 16
        return value * TIMER_HZ // 256

    def master_down_us(self) -> int:
        return self.instance.down_timer_adverts * self.master_advert_int_us + self.skew_us()

    def deadline(self) -> int | None:
        timers = (self.sands, self.garp_at, self.lower_prio_garp_at, self.probe_at, self.verdict_at)
        return min((t for t in timers if t is not None), default=None)

    # ----- events

    def start(
        self,
        now: int,
        *,
        faults: set[str] | None = None,
        waiting: set[str] | None = None,
        fresh_interface: bool = False,
    ) -> list[Action]:
        """Begin: remove addresses left from an earlier run (none can be on an interface just made for the
        instance, its VMAC), then BACKUP (init), FAULT, or straight to MASTER for an address owner that
        wants it (keepalived's vrrp_init_state). `faults` are the trackers down at start (the caller has
        logged why), `waiting` the weight-0 scripts not yet run."""
        self.faults = set(faults or ())
        self.waiting = set(waiting or ())
        if not fresh_interface:
            self._remove_routing(force=True)
            self._remove_vips(force=True)
        group_fault = self.group is not None and self.group.state == VrrpState.FAULT
        is_up = not self.faults and not group_fault
        waiting = bool(self.waiting) or (self.group is not None and self.group.num_member_init > 0)
        if (
            is_up
            and not waiting
            and self.base_priority == PRIORITY_OWNER
            and self.wantstate == VrrpState.MASTER
        ):
            self.state = VrrpState.BACKUP
            self.down_timer_us = 1
        else:
            # keepalived waits one advert only for a sync group member wanting MASTER in a BACKUP group;
            # a lone instance with state MASTER waits the whole Master_Down_Interval (run1_nodeA: 3 s)
            self.down_timer_us = self.master_down_us()
            self._remove_routing(force=False)
            if is_up and not waiting:
                self.state = VrrpState.BACKUP
                self._log(f"({self.name}) Entering BACKUP STATE (init)")
            else:
                self.state = VrrpState.FAULT
            self.last_transition_us = now
            if self.state != VrrpState.FAULT or self.faults or group_fault:
                self._notify()
        self._init_sands(now)
        return self._flush()

    def receive(self, packet: ReceivedPacket, now: int) -> list[Action]:
        """An advert for our VRID arrived (keepalived's vrrp_dispatcher_read for one packet)."""
        if self.state in (VrrpState.FAULT, VrrpState.INIT):
            return self._flush()
        if self.state == VrrpState.BACKUP:
            self._backup_receive(packet, now)
        elif self._master_receive(packet, now):
            self._leave_master(now, send_priority_zero=False)
        if self.state != VrrpState.MASTER or not self._lower_prio_no_advert:
            self._init_sands(now)
        return self._flush()

    def wake(self, now: int) -> list[Action]:
        """The armed timer fired: run whatever is due."""
        if self.garp_at is not None and self.garp_at <= now:
            self.garp_at = None
            self._send_link_update(self.instance.garp_rep)
        if self.lower_prio_garp_at is not None and self.lower_prio_garp_at <= now:
            self.lower_prio_garp_at = None
            self._send_link_update(self._garp_lower_prio_rep)
        if self.sands is not None and self.sands <= now:
            if self.state == VrrpState.BACKUP:
                self._log(f"({self.name}) Receive advertisement timeout", detail=True)
                self.wantstate = VrrpState.MASTER
                self._goto_master(now)
            elif self.state == VrrpState.MASTER:
                self._master_transmit(now)
            self._init_sands(now)
        if self.probe_at is not None and self.probe_at <= now:
            self._probe_claims(now)
        if self.verdict_at is not None and self.verdict_at <= now:
            self._judge_claims(now)
        return self._flush()

    def rehearse_deadline(self) -> tuple[int, list[Action]] | None:
        """What `wake` at the armed deadline would do if nothing happens before it, worked out on a copy:
        this router is left as it is. None when no timer is armed."""
        deadline = self.deadline()
        if deadline is None:
            return None
        rehearsal = copy.deepcopy(self, {id(self.instance): self.instance, id(self.group): self.group})
        return deadline, rehearsal.wake(deadline)

    def tracker_down(self, now: int, reason: str) -> list[Action]:
        """A weight-0 tracker failed (keepalived's down_instance); `reason` names it in logs."""
        first = not self.faults
        self.faults.add(reason)
        if first or self.state == VrrpState.INIT:
            self.wantstate = VrrpState.FAULT
            if self.state == VrrpState.MASTER:
                self._leave_master(now, send_priority_zero=True)
            else:
                self._leave_fault(now)
        return self._flush()

    def tracker_up(self, now: int, reason: str) -> list[Action]:
        """A weight-0 tracker recovered (keepalived's try_up_instance)."""
        if reason not in self.faults:
            return self._flush()
        self.faults.discard(reason)
        if self.faults or self.waiting:
            if not self.faults:
                self.wantstate = VrrpState.BACKUP
            return self._flush()
        self._come_up(now)
        return self._flush()

    def tracker_ready(self, now: int, reason: str, ok: bool) -> list[Action]:
        """A weight-0 script reported for the first time: the instance may leave its initial wait."""
        if reason not in self.waiting:
            return self.tracker_up(now, reason) if ok else self.tracker_down(now, reason)
        self.waiting.discard(reason)
        if not ok:
            return self.tracker_down(now, reason)
        if not self.waiting and not self.faults:
            self._come_up(now)
        return self._flush()

    def address_deleted(self, now: int) -> list[Action]:
        """One of a master's tracked addresses was taken away from outside (keepalived's set_vrrp_backup):
        back to BACKUP with a priority-0 advert and its other addresses removed, its master-down timer
        cut to the skew time, so that the election is held again at once and the new master adds them
        all back."""
        if self.state == VrrpState.MASTER:
            self.wantstate = VrrpState.BACKUP
            self._leave_master(now, send_priority_zero=True)
            self.down_timer_us = self.skew_us()
            self._init_sands(now)
        return self._flush()

    def address_claimed(self, now: int, address: IPv4Address, owner: str) -> list[Action]:
        """Another node's ARP (a gratuitous ARP, or an answer to our probe) says that `owner`, a MAC
        address, holds `address`. A master holding it does not claim it back while the other holds it,
        which would set two masters of a split brain re-announcing in turn: it probes for the address
        after each of its adverts, and once a probe goes unanswered (the other has stepped down, maybe
        silently, on hearing us) it announces the address as after a lower-priority advert. keepalived
        does not watch ARP; this heals a split brain whose loser steps down without advertising
        (docs/keepalived-differences.md)."""
        if (
            self.state != VrrpState.MASTER
            or not self.vips_set
            or not self._garp_lower_prio_rep
            or address not in self._ipv4_addresses
        ):
            return self._flush()
        if address not in self.claims:
            self._log(
                f"({self.name}) {address} is also held by {owner} - probing for it until it is released"
            )
            if not self.claims and self.sands is not None:
                self.probe_at = self.sands + self._claim_probe_delay_us
        self.claims[address] = owner
        self.last_claim_at = now
        return self._flush()

    def tracked_address(self, ifname: str, address: IPv4Address) -> IpAddress | None:
        """The master's address that taking `address` off `ifname` takes away, if it is one whose loss
        counts (keepalived's address_is_ours: a VIP or eVIP without no_track)."""
        if self.state != VrrpState.MASTER:
            return None
        interface = self.instance.interface
        for vip in self.addresses:
            if vip.address.ip == address and (vip.ifname or interface) == ifname:
                return None if vip.dont_track else vip
        return None

    def assume_total_priority(self, total: int) -> None:
        """Before `start` or `resume`: the priority the trackers give the instance to begin with (no log,
        no timer to move)."""
        self.total_priority = total
        self.effective_priority = effective_priority(self.base_priority, total)

    def set_total_priority(self, now: int, total: int) -> list[Action]:
        """Weighted trackers moved the priority (keepalived's vrrp_set_effective_priority)."""
        self.total_priority = total
        if self.base_priority == PRIORITY_OWNER:
            return self._flush()
        new = effective_priority(self.base_priority, total)
        if new != self.effective_priority:
            self._log(f"({self.name}) Changing effective priority from {self.effective_priority} to {new}")
            self.effective_priority = new
            old_down_timer = self.down_timer_us
            self.down_timer_us = self.master_down_us()
            if self.state == VrrpState.BACKUP and self.sands is not None:
                self.sands += self.down_timer_us - old_down_timer
            if self.instance.notify_priority_changes:
                master = self.state == VrrpState.MASTER
                event = NotifyEvent.MASTER_PRIORITY if master else NotifyEvent.BACKUP_PRIORITY
                self._actions.append(Notify(event, new))
        return self._flush()

    def advertise_before_reload(self) -> list[Action]:
        """A master tells the LAN it is alive before re-reading its configuration."""
        if self.state == VrrpState.MASTER:
            self._send_advert(self.effective_priority)
        return self._flush()

    def resume(self, old: VirtualRouter, now: int, *, faults: set[str], waiting: set[str]) -> list[Action]:
        """Take over from `old`, the same instance before a reload (keepalived's restore_vrrp_state and
        vrrp_init_state for a matched instance): its state, addresses and counters carry on; addresses it no
        longer has are removed, new ones added and announced; a master advertises at once."""
        self.stats = old.stats
        self.ah_counter = old.ah_counter
        self.faults, self.waiting = set(faults), set(waiting)
        if old.state == VrrpState.FAULT or self.faults or self.waiting:
            return self.start(now, faults=self.faults, waiting=self.waiting)
        self.state = self.wantstate = old.state
        self.master_address, self.master_priority = old.master_address, old.master_priority
        self.last_transition_us = old.last_transition_us
        self.vips_set = old.vips_set
        if self.vips_set:
            self._log(f"({self.name}) setting VIPs.", detail=True)
            gone = tuple(a for a in old.addresses if a not in self.addresses)
            if gone:
                self._actions.append(RemoveVips(gone))
            self._actions.append(SetVips(self.addresses))
            self._set_routing()
            if set(self.vips) - set(old.vips):
                self._send_link_update(self.instance.garp_rep)
            if self.instance.garp_refresh_us:
                self.garp_refresh_at = now + self.instance.garp_refresh_us
        if self.state == VrrpState.MASTER:
            self.sands = now
        else:
            self.down_timer_us = self.master_down_us()
            self._init_sands(now)
        return self._flush()

    def retire(self, now: int) -> list[Action]:
        """The instance is gone from a reloaded configuration (keepalived's clear_diff_vrrp)."""
        if self.state == VrrpState.MASTER:
            self._restore_interface(send_priority_zero=True)
        if self.instance.notify_deleted:
            self._actions.append(Notify(NotifyEvent.DELETED, self.effective_priority))
        elif self.state != VrrpState.FAULT:
            self._actions.append(Notify(NotifyEvent.FAULT, self.effective_priority))
        self.sands = self.garp_at = self.lower_prio_garp_at = None
        self._forget_claims()
        return self._flush()

    def stop(self, now: int) -> list[Action]:
        """Shut down: a master says priority 0 and drops its addresses; then notify STOP."""
        if self.state == VrrpState.MASTER:
            self._restore_interface(send_priority_zero=True)
        self.sands = self.garp_at = self.lower_prio_garp_at = None
        self._forget_claims()
        self._actions.append(Notify(NotifyEvent.STOP, self.effective_priority))
        self.last_transition_us = now
        return self._flush()

    # ----- taken along by its sync group (keepalived's vrrp_sync_master/backup/fault for another member)

    def sync_to_master(self, now: int) -> list[Action]:
        if self.state != VrrpState.MASTER:
            self.wantstate = VrrpState.MASTER
            self._goto_master(now)
        return self._flush()

    def sync_to_backup(self, now: int) -> list[Action]:
        if self.state != VrrpState.BACKUP:
            self.wantstate = VrrpState.BACKUP
            if self.state in (VrrpState.FAULT, VrrpState.INIT):
                self._leave_fault(now)
            else:
                self._leave_master(now, send_priority_zero=False)
        return self._flush()

    def sync_to_fault(self, now: int) -> list[Action]:
        if self.state != VrrpState.FAULT:
            self.wantstate = VrrpState.FAULT
            if self.state == VrrpState.MASTER:
                self._leave_master(now, send_priority_zero=False)
            else:
                self.state = VrrpState.FAULT
                self._leave_fault(now)
        return self._flush()

    def announce_for_group(self, now: int) -> list[Action]:
        """Another member answered a lower-priority master: a master announces its addresses as if it had
        (garp_lower_prio_repeat, again garp_lower_prio_delay later)."""
        repeat = self._garp_lower_prio_rep
        if repeat:
            self._send_link_update(repeat)
            if self._garp_lower_prio_delay_us and self.vips_set:
                self.lower_prio_garp_at = now + self._garp_lower_prio_delay_us
        return self._flush()

    # ----- receiving

    def _expectation(self, check_addresses: bool) -> Expectation:
        instance = self.instance
        return Expectation(
            version=instance.version,
            auth_type=int(instance.auth_type),
            auth_data=instance.auth_data,
            advert_int_us=instance.advert_int_us,
            vips=self.vips,
            check_addresses=check_addresses,
            unicast=instance.unicast,
            unicast_peers=tuple(
                Peer(p.address, p.min_ttl, p.max_ttl)
                for p in instance.unicast_peers
                if p.address.version == self.family
            ),
            check_unicast_src=self.check_unicast_src,
            unicast_checksum_compat=self.unicast_checksum_compat,
            group=self.mcast_group,
            accept_rfc9568_checksum=True,
            family=self.family,
            ah_sequence=self.ah_counter.number,
        )

    def _accepts(self, packet: ReceivedPacket, check_addresses: bool) -> bool:
        expectation = self._expectation(check_addresses)
        if adopts_old_checksum(packet, expectation):
            self._log(f"({self.name}) {OLD_CHECKSUM_NOTICE}")
            self.unicast_checksum_compat = ChecksumCompat.AUTO
        sequence = authenticated_sequence(packet, expectation)
        rejection = check_advert(packet, expectation)
        if sequence is not None:
            self.ah_counter.take(sequence)
            if self.state == VrrpState.BACKUP:
                self.ah_counter.cycle = False
        if rejection is None:
            self.stats.advert_rcvd += 1
            if packet.priority == PRIORITY_STOP:
                self.stats.pri_zero_rcvd += 1
            return True
        if rejection.advert_counted:
            self.stats.advert_rcvd += 1
        if rejection.counter is not None:
            self.stats.count(rejection.counter)
        if rejection.message is not None:
            prefix = f"({self.name}) " if rejection.names_instance else ""
            self._log(f"{prefix}{rejection.message}")
        return False

    @property
    def uses_old_unicast_checksum(self) -> bool:
        """Whether our VRRPv3 unicast adverts carry keepalived 1.3.5's checksum (group in pseudo-header)."""
        return self.instance.unicast and self.unicast_checksum_compat >= ChecksumCompat.CONFIG

    def _backup_receive(self, packet: ReceivedPacket, now: int) -> None:
        source = packet.source
        check_addresses = not self.instance.skip_check_adv_addr or source != self.master_address
        ignore = False
        if not self._accepts(packet, check_addresses):
            ignore = True
        elif packet.priority == PRIORITY_STOP:
            self._log(f"({self.name}) Backup received priority 0 advertisement", detail=True)
            self.down_timer_us = self.skew_us()
        elif (
            self.instance.nopreempt
            or packet.priority >= self.effective_priority
            or (self.instance.preempt_delay_us and (self.preempt_at is None or self.preempt_at > now))
        ):
            self._adopt_master_interval(packet)
            self.down_timer_us = self.master_down_us()
            self.master_address = source
            self.master_priority = packet.priority
            self._track_preempt_delay(packet, now)
            self.wantstate = VrrpState.BACKUP
        else:
            self._log(
                f"({self.name}) received lower priority ({packet.priority}) advert from {source} - discarding"
            )
            ignore = True
            self.master_address = source
        if ignore and self.sands is not None:
            self.down_timer_us = max(0, self.sands - now)

    def _track_preempt_delay(self, packet: ReceivedPacket, now: int) -> None:
        delay = self.instance.preempt_delay_us
        if not delay:
            return
        if packet.priority >= self.effective_priority:
            if self.preempt_at is not None:
                self._log(f"({self.name}) stop preempt delay", detail=True)
                self.preempt_at = None
        elif self.preempt_at is None:
            seconds, micros = divmod(delay, TIMER_HZ)
            self._log(f"({self.name}) start preempt delay ({seconds}.{micros:06d})", detail=True)
            self.preempt_at = now + delay

    def _adopt_master_interval(self, packet: ReceivedPacket) -> None:
        """VRRPv3: a backup times the master with the master's advertised interval (RFC 5798)."""
        if self.instance.version != 3 or packet.advert_int_us == self.master_advert_int_us:
            return
        self._log(
            f"({self.name}) advertisement interval updated from {self.master_advert_int_us // 1000}ms"
            f" to {packet.advert_int_us // 1000}ms by master",
            detail=True,
        )
        self.master_advert_int_us = packet.advert_int_us

    def _master_receive(self, packet: ReceivedPacket, now: int) -> bool:
        """keepalived's vrrp_state_master_rx: True when we must leave MASTER."""
        if self.wantstate == VrrpState.FAULT:
            self.master_advert_int_us = self.advert_int_us
            self.down_timer_us = self.master_down_us()
            self.state = VrrpState.FAULT
            self._notify()
            self.last_transition_us = now
            return True
        if not self._accepts(packet, check_addresses=True):
            return False
        source = packet.source
        ours = self.effective_priority
        address_order = (int(source) > int(self.source)) - (int(source) < int(self.source))
        higher = packet.priority > ours or (packet.priority == ours and address_order > 0)
        if packet.priority == PRIORITY_STOP or (self._advertise_before_yielding and higher):
            self._send_advert(self.effective_priority)
            if packet.priority == PRIORITY_STOP:
                self._log(f"({self.name}) Master received priority 0 message", detail=True)
                return False
        if packet.priority == ours:
            if address_order == 0:
                self._log(
                    f"({self.name}) WARNING - equal priority advert received from remote host"
                    " with our IP address."
                )
            elif ours == PRIORITY_OWNER:
                self._log(
                    f"({self.name}) CONFIGURATION ERROR: local instance and a remote instance are both"
                    " configured as address owner, please fix - reducing local priority"
                )
                self.effective_priority = self.base_priority = PRIORITY_OWNER - 1
                ours = self.effective_priority
                higher = packet.priority > ours
        if packet.priority < ours or (packet.priority == ours and address_order < 0):
            self._answer_lower_priority(packet, now)
            return False
        if higher:
            if packet.priority > ours:
                self._log(
                    f"({self.name}) Master received advert from {source} with higher priority"
                    f" {packet.priority}, ours {ours}"
                )
            else:
                self._log(
                    f"({self.name}) Master received advert from {source} with same priority"
                    f" {packet.priority} but higher IP address than ours"
                )
            self.ah_counter.cycle = False
            self._adopt_master_interval(packet)
            self.down_timer_us = self.master_down_us()
            self.master_priority = packet.priority
            self.wantstate = self.state = VrrpState.BACKUP
            return True
        return False

    def _answer_lower_priority(self, packet: ReceivedPacket, now: int) -> None:
        """Another master with a lower priority: stay, re-advertise and re-announce our addresses."""
        election = "" if self._lower_prio_no_advert else ", forcing new election"
        self._log(
            f"({self.name}) Received advert from {packet.source} with lower priority {packet.priority},"
            f" ours {self.effective_priority}{election}"
        )
        if self.instance.auth_type == AuthType.AH:
            self._log(f"({self.name}) IPSEC-AH : Syncing seq_num - Increment seq")
            self.ah_counter.sync_above(read_header(packet).sequence)
        if not self._lower_prio_no_advert:
            self._send_advert(self.effective_priority)
        self._announce_to_lower_priority(now)
        self._actions.append(Notify(NotifyEvent.MASTER_RX_LOWER_PRI, self.effective_priority))

    def _announce_to_lower_priority(self, now: int) -> None:
        """`garp_lower_prio_repeat` gratuitous ARPs, again `garp_lower_prio_delay` later. They answer any
        claim seen so far: a node that claims an address again after them starts a new watch."""
        repeat = self._garp_lower_prio_rep
        if repeat:
            self._send_link_update(repeat)
            if self._garp_lower_prio_delay_us:
                self.lower_prio_garp_at = now + self._garp_lower_prio_delay_us
            self._forget_claims()

    # ----- addresses another node claims

    def _probe_claims(self, now: int) -> None:
        self.probe_at = None
        self._actions.append(ProbeAddresses(tuple(self.claims)))
        self.probed_at = now
        self.verdict_at = now + self._claim_probe_wait_us

    def _judge_claims(self, now: int) -> None:
        """The probe's answers are in: still claimed, probe again after the next advert; otherwise the
        other node has let the addresses go, and we announce them."""
        self.verdict_at = None
        probed_at, last_claim_at = self.probed_at, self.last_claim_at
        if probed_at is not None and last_claim_at is not None and last_claim_at >= probed_at:
            if self.sands is not None:
                self.probe_at = self.sands + self._claim_probe_delay_us
            return
        for address, owner in self.claims.items():
            self._log(f"({self.name}) {address} released by {owner} - sending gratuitous ARPs")
        self._announce_to_lower_priority(now)

    def _forget_claims(self) -> None:
        self.claims.clear()
        self.last_claim_at = self.probed_at = self.probe_at = self.verdict_at = None

    @property
    def _claim_probe_delay_us(self) -> int:
        return min(CLAIM_PROBE_DELAY_US, self.advert_int_us // 4)

    @property
    def _claim_probe_wait_us(self) -> int:
        return min(CLAIM_PROBE_WAIT_US, self.advert_int_us // 4)

    # ----- transitions

    def _goto_master(self, now: int) -> None:
        if self.group is not None and not self.group.can_goto_master(self):
            # held in BACKUP until the other members want MASTER too; times out again meanwhile
            self.wantstate = VrrpState.MASTER
            self.down_timer_us = self.master_down_us()
            self._init_sands(now)
            return
        self.ah_counter.restart_if_cycled()
        self.state = VrrpState.MASTER
        self._init_sands(now)
        self._master_transmit(now)

    def _master_transmit(self, now: int) -> None:
        """keepalived's vrrp_state_master_tx: advertise; the first time, take the addresses."""
        self._send_advert(self.effective_priority)
        if not self.vips_set:
            self._log(f"({self.name}) Entering MASTER STATE")
            self._become_master(now)
            if self.instance.garp_delay_us:
                self.garp_at = now + self.instance.garp_delay_us
        elif (
            self.instance.garp_refresh_us and self.garp_refresh_at is not None and now > self.garp_refresh_at
        ):
            self._send_link_update(self.instance.garp_refresh_rep)
            self.garp_refresh_at = now + self.instance.garp_refresh_us

    def _become_master(self, now: int) -> None:
        self.stats.become_master += 1
        if self.instance.version == 3 and self.master_advert_int_us != self.advert_int_us:
            self._log(
                f"({self.name}) changing advert interval from {self.master_advert_int_us // 1000}ms"
                f" to locally configured {self.advert_int_us // 1000}ms",
                detail=True,
            )
            self.master_advert_int_us = self.advert_int_us
        self._log(f"({self.name}) setting VIPs.", detail=True)
        if self.instance.evips:
            self._log(f"({self.name}) setting E-VIPs.", detail=True)
        self._actions.append(SetVips(self.addresses))
        self.vips_set = True
        self._set_routing()
        self._send_link_update(self.instance.garp_rep)
        if self.instance.garp_refresh_us:
            self.garp_refresh_at = now + self.instance.garp_refresh_us
        self._notify()
        self.last_transition_us = now

    def _leave_master(self, now: int, *, send_priority_zero: bool) -> None:
        """keepalived's vrrp_state_leave_master, towards `wantstate` (BACKUP or FAULT)."""
        if self.wantstate == VrrpState.BACKUP:
            self._log(f"({self.name}) Entering BACKUP STATE")
            self.preempt_at = None
        else:
            self._log(f"({self.name}) Entering FAULT STATE")
            self._send_advert(PRIORITY_STOP)
        self._restore_interface(send_priority_zero=send_priority_zero)
        self.state = self.wantstate
        self._notify()
        self.down_timer_us = self.master_down_us()
        self._init_sands(now)
        self.stats.release_master += 1
        self.last_transition_us = now

    def _leave_fault(self, now: int) -> None:
        """keepalived's vrrp_state_leave_fault, towards `wantstate`."""
        if self.wantstate == VrrpState.MASTER:
            self._goto_master(now)
        else:
            if self.state != self.wantstate:
                word = "BACKUP" if self.wantstate == VrrpState.BACKUP else "FAULT"
                self._log(f"({self.name}) Entering {word} STATE")
            if self.wantstate == VrrpState.FAULT and self.state == VrrpState.MASTER:
                self._send_advert(PRIORITY_STOP)
                self._restore_interface(send_priority_zero=False)
            self.state = self.wantstate
            self._notify()
            if self.state == VrrpState.BACKUP:
                self.preempt_at = None
        self.master_advert_int_us = self.advert_int_us
        self.down_timer_us = self.master_down_us()
        self._init_sands(now)
        self.last_transition_us = now

    def _come_up(self, now: int) -> None:
        """Every fault cleared (keepalived's try_up_instance). A sync group member stays in FAULT while
        another member has a fault or waits for a script."""
        if self.group is not None and self.group.holds_down(self):
            self.wantstate = VrrpState.BACKUP
            return
        wantstate = self.wantstate
        if not (self.wantstate == VrrpState.MASTER and self.base_priority == PRIORITY_OWNER):
            self.wantstate = VrrpState.BACKUP
        self.master_advert_int_us = self.advert_int_us
        if self.wantstate == VrrpState.MASTER and self.base_priority == PRIORITY_OWNER:
            self.down_timer_us = self.master_advert_int_us + self.skew_us()
        else:
            self.down_timer_us = self.master_down_us()
        self._leave_fault(now)
        if self.instance.unicast:
            kind = "ARP" if self.family == 4 else "NA"
            self._log(f"{self.name}: sending gratuitous {kind} for {self.source}", detail=True)
            self._actions.append(AnnounceSource())
        self.wantstate = wantstate

    def _restore_interface(self, *, send_priority_zero: bool) -> None:
        if send_priority_zero:
            self._send_advert(PRIORITY_STOP)
            self.stats.pri_zero_sent += 1
            self._log(f"({self.name}) sent 0 priority", detail=True)
        self._remove_routing(force=False)
        self.garp_at = self.lower_prio_garp_at = None
        self._forget_claims()
        if self.vips_set:
            self._remove_vips(force=False)

    def _set_routing(self) -> None:
        if self.instance.vroutes:
            self._log(f"({self.name}) setting Virtual Routes", detail=True)
        if self.instance.vrules:
            self._log(f"({self.name}) setting Virtual Rules", detail=True)
        if self.instance.vroutes or self.instance.vrules:
            self._actions.append(VirtualRouting(add=True))

    def _remove_routing(self, *, force: bool) -> None:
        """keepalived's vrrp_restore_interface removes the rules, then the routes, whatever the state."""
        if self.instance.vrules:
            self._log(f"({self.name}) removing Virtual Rules", detail=True)
        if self.instance.vroutes:
            self._log(f"({self.name}) removing Virtual Routes", detail=True)
        if self.instance.vroutes or self.instance.vrules:
            self._actions.append(VirtualRouting(add=False, force=force))

    def _remove_vips(self, *, force: bool) -> None:
        if self.instance.vips:
            self._log(f"({self.name}) removing VIPs.", detail=True)
        if self.instance.evips:
            self._log(f"({self.name}) removing E-VIPs.", detail=True)
        self._actions.append(RemoveVips(self.addresses, force=force))
        self.vips_set = False

    # ----- output

    def advert(self, priority: int) -> Advertisement:
        """The instance's advertisement at `priority` (kept: the same object each time)."""
        advert = self._adverts.get(priority)
        if advert is None:
            advert = self._adverts[priority] = self._build_advert(priority)
        return advert

    def _build_advert(self, priority: int) -> Advertisement:
        instance = self.instance
        v2 = instance.version == 2
        return Advertisement(
            version=instance.version,
            vrid=instance.vrid,
            priority=priority,
            addresses=self.vips,
            advert_int_us=instance.advert_int_us,
            auth_type=int(instance.auth_type) if v2 else int(AuthType.NONE),
            auth_data=instance.auth_data if v2 and instance.auth_type == AuthType.PASS else bytes(8),
        )

    def _send_advert(self, priority: int) -> None:
        if self.instance.auth_type == AuthType.AH:
            self._actions.append(SendAdvert(self.advert(priority), self.ah_counter.next_to_send()))
        else:
            self._actions.append(SendAdvert(self.advert(priority)))
        self.stats.advert_sent += 1

    def _send_link_update(self, repeat: int) -> None:
        if self.vips_set and repeat:
            self._actions.append(SendGratuitousArps(repeat))

    def _notify(self) -> None:
        if self.group is not None and self._notified and self.state == self.group.state:
            return  # in its group's state already, which the group notified
        event = _NOTIFY_EVENTS.get(self.state)
        if event is not None:
            self._notified = True
            self._actions.append(Notify(event, self.effective_priority))

    def _log(self, text: str, *, detail: bool = False) -> None:
        self._actions.append(Log(text, detail))

    def _init_sands(self, now: int) -> None:
        """keepalived's vrrp_init_instance_sands: re-arm the instance timer for the current state."""
        if self.state == VrrpState.MASTER:
            self.sands = now + self.advert_int_us
        elif self.state == VrrpState.BACKUP:
            self.sands = max(now, self.startup_delay_end_us) + self.down_timer_us
        else:
            self.sands = None

    def _flush(self) -> list[Action]:
        deadline = self.deadline()
        if deadline != self._armed:
            self._armed = deadline
            self._actions.append(ArmTimer(deadline))
        actions, self._actions = self._actions, []
        return actions

    # ----- instance options with global defaults applied at completion

    @property
    def _lower_prio_no_advert(self) -> bool:
        return bool(self.instance.lower_prio_no_advert)

    @property
    def _advertise_before_yielding(self) -> bool:
        """Whether a master that yields to a higher priority advertises once first (keepalived's
        `higher_prio_send_advert`): hapair does so unless strict mode forbids it, so that the winner of a
        healed split brain hears a lower-priority advert and re-announces the addresses, as keepalived's
        winner does ("forcing new election"), even when its advert reached us first
        (docs/keepalived-differences.md)."""
        return bool(self.instance.higher_prio_send_advert) or not self.instance.strict_mode

    @property
    def _garp_lower_prio_rep(self) -> int:
        rep = self.instance.garp_lower_prio_rep
        return self.instance.garp_rep if rep is None else rep

    @property
    def _garp_lower_prio_delay_us(self) -> int:
        delay = self.instance.garp_lower_prio_delay_us
        return self.instance.garp_delay_us if delay is None else delay
