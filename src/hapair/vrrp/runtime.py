"""One loaded keepalived.conf, running: its routers wired to sockets, addresses, gratuitous ARP, scripts,
notify commands, link state and the event loop's timers. The daemon makes one at start and one per reload;
this module carries out the routers' actions and feeds them what happens."""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING

from ..config.keepalived.model import KeepalivedConfig
from ..config.keepalived.model.addresses import IpAddress
from ..config.keepalived.model.scripts import NotifyScript
from ..config.keepalived.model.vmac import advert_interface
from ..config.keepalived.model.vrrp import AuthType, VrrpInstance, VrrpScript, VrrpState
from ..net.addresses import AddressManager
from ..net.arp import ArpSender, ArpWatcher
from ..net.links import AddressEvent, LinkEvent, ipv4_addresses, ipv6_addresses, link_is_up
from ..net.routes import RouteSet, Routing, RoutingRemoved, keep_after_reload
from ..net.vmac import VmacLinks
from ..net.vrrp_socket import ReadyPacket, Received, VrrpSocket
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
from .alerts import AlertPolicy, Mail, Sender, alert_for
from .commands import ScriptRunner
from .ipsec_ah import sign
from .notify_fifo import FifoWriter, fifo_line
from .packet import (
    AH_PROTOCOL,
    VRRP_PROTOCOL,
    Advertisement,
    PacketTooShort,
    ReceivedPacket,
    decode_ipv4,
    encode_ipv4,
    with_ident,
)
from .packet6 import decode_ipv6, encode_ipv6
from .router import PRIORITY_STOP, VirtualRouter
from .scheduling import ProcessScheduler
from .sources import SourceChoice, SourceFault, choose_source
from .sync_group import SyncGroup, Target
from .timer import PreciseTimer
from .track_file import FileState, LinkChange
from .tracking import (
    Fault,
    FaultKind,
    InstanceTracking,
    ScriptOutcome,
    ScriptState,
    TrackerLink,
    TrackingResult,
    apply_file_change,
)

if TYPE_CHECKING:
    from ..net.ndisc import NeighbourAdvertiser
    from ..net.vrrp_socket6 import ReadyPacket6, Received6, VrrpSocket6
    from .process_watch import ProcessWatch
    from .track_process import QuorumChange
    from .trackers import FileWatch

SECOND_US = 1_000_000
# A backup's take-over is rehearsed this long before its master-down deadline (the shorter lead when the
# deadline is nearer than the longer one: a skew time), and the daemon waits for the deadline itself from
# VIGIL_LEAD_US before it (see `_rehearse` and `_keep_vigil`).
REHEARSAL_LEAD_US = 30_000
SHORT_REHEARSAL_LEAD_US = 10_000
VIGIL_LEAD_US = 2_000
VIGIL_SLACK_S = 0.001  # how long past the deadline the vigil gives the timer before it leaves it to the loop
ON_TIME_US = 10_000  # a timer this late or less counts as on time (see `wake_time`)
STOP_NOTIFY_KILL_S = 1.0  # keepalived kills STOP notifies still running after a second
STATE_EVENTS = (
    NotifyEvent.BACKUP,
    NotifyEvent.MASTER,
    NotifyEvent.FAULT,
    NotifyEvent.STOP,
    NotifyEvent.DELETED,
)
STATE_NOTIFIES = {
    VrrpState.BACKUP: NotifyEvent.BACKUP,
    VrrpState.MASTER: NotifyEvent.MASTER,
    VrrpState.FAULT: NotifyEvent.FAULT,
}
NO_SOURCE = IPv4Address(0)  # a router's source until its interface has an address it can send from
NO_SOURCE6 = IPv6Address(0)
IpAddr = IPv4Address | IPv6Address


class StartError(Exception):
    """The configuration cannot run here; the message says why."""


def next_ident(ident: int) -> int:
    """The IP ID of an instance's next advert: 1 to 65535, round and round."""
    return ident % 0xFFFF + 1


def wake_time(now: int, deadline: int | None) -> int:
    """The time a router's timer wakes it at. A wake-up less than ON_TIME_US late is taken as on time, so
    that a master's adverts keep to the advert interval: keepalived times the next one from when it woke
    up too, but wakes up within tens of microseconds, where a Python process can take milliseconds."""
    if deadline is None:
        return now
    return deadline if now - deadline < ON_TIME_US else now


def _is_stop_advert(action: Action) -> bool:
    return isinstance(action, SendAdvert) and action.advert.priority == PRIORITY_STOP


def script_reason(name: str) -> str:
    """How a router names a weight-0 script it waits for: as the fault the script would be."""
    return Fault(FaultKind.SCRIPT, name).reason


@dataclass(frozen=True)
class SocketKey:
    """Instances share a socket when they share an interface, a unicast source (None: multicast) and an IP
    protocol (AH instances have their own, as in keepalived's socket pool)."""

    interface: str
    unicast_source: IpAddr | None
    family: int = 4
    protocol: int = VRRP_PROTOCOL


class Runtime:
    """The running form of one configuration."""

    def __init__(
        self,
        config: KeepalivedConfig,
        *,
        log: Callable[[str], None],
        detail: bool,
        runner: ScriptRunner,
        addresses: AddressManager,
        scheduler: ProcessScheduler,
        fifos: Sequence[FifoWriter] = (),
        vmacs: VmacLinks | None = None,
        on_notification: Callable[[bytes], None] | None = None,
        natives: Mapping[str, Sequence[TrackerLink]] | None = None,
    ) -> None:
        """`fifos` are the notify FIFOs and `vmacs` the VMAC interfaces, which the daemon keeps across
        reloads; `on_notification` gets each of the FIFOs' lines too (the control socket's followers);
        `natives` the links of `hapair node`'s trackers, per instance name (their states: `natives_ok`)."""
        self.config = config
        self.natives = natives or {}
        self.natives_ok: dict[str, bool] = {}
        self._vmacs = vmacs
        self._fresh_vmacs: set[str] = set()  # the instances whose VMAC this start made
        self._routing: Routing | None = None  # opened for the first instance with virtual routes or rules
        self._route_sets: dict[str, RouteSet] = {}
        self._fifos = fifos
        self._on_notification = on_notification
        self._write_log = log
        self._deferred: list[str] | None = None  # log lines held back while a batch of actions runs
        self._packets: dict[tuple[str, int, bool], list[tuple[IpAddr, bytes]]] = {}
        self.detail = detail
        self.runner = runner
        self.addresses = addresses
        self.loop = asyncio.get_running_loop()
        self.routers: dict[str, VirtualRouter] = {}
        self.groups: dict[str, SyncGroup] = {}
        self.trackings: dict[str, InstanceTracking] = {}
        self.scripts = {script.name: ScriptState(script) for script in config.vrrp.scripts}
        self.interfaces_up: dict[str, bool] = {}
        self.startup_delay_end_us = 0
        self._sockets: dict[SocketKey, VrrpSocket | VrrpSocket6] = {}
        self._by_vrid: dict[SocketKey, dict[int, VirtualRouter]] = {}
        self._socket_of: dict[str, SocketKey] = {}
        self._arp: dict[str, ArpSender] = {}
        self._ndisc: dict[str, NeighbourAdvertiser] = {}
        self._watchers: dict[str, ArpWatcher] = {}  # other nodes' claims to our addresses, per interface
        self._timers: dict[str, PreciseTimer] = {}
        self._rehearsals: dict[str, asyncio.TimerHandle] = {}  # a backup's rehearsal or vigil, pending
        self._ident: dict[str, int] = {}
        self._stop_adverts: dict[
            str, list[ReadyPacket | ReadyPacket6]
        ] = {}  # each master's priority 0, IP ID next
        self._stop_adverts_sent: set[str] = set()
        self._script_tasks: list[asyncio.Task[None]] = []
        self._stopped = False
        self.scheduler = scheduler
        self._virtual = {vip.address.ip for i in config.vrrp.instances for vip in (*i.vips, *i.evips)}
        self._source_faults: dict[str, SourceFault] = {}  # the instances that have no source to send from
        self._alerts = AlertPolicy(no_email_faults=config.global_defs.no_email_faults)
        self._mails: set[asyncio.Task[None]] = set()  # SMTP alerts on their way
        self.files: FileWatch | None = None
        self.processes: ProcessWatch | None = None

    # ----- life cycle

    def now(self) -> int:
        return int(self.loop.time() * SECOND_US)

    def prepare(self) -> None:
        """Resolve interfaces and sources, open sockets; StartError if the configuration cannot run. An
        instance without a source to send from is set up without its socket and starts in FAULT."""
        self._set_up_vmacs()
        for instance in self.config.vrrp.instances:
            choice = self._choose_source(instance)
            self.routers[instance.name] = VirtualRouter(
                instance,
                choice.address or (NO_SOURCE6 if instance.family == 6 else NO_SOURCE),
                group=self._group(instance),
                check_unicast_src=self.config.global_defs.vrrp_check_unicast_src,
            )
            if choice.fault is not None:
                self._source_faults[instance.name] = choice.fault
            natives = self.natives.get(instance.name, ())
            self.trackings[instance.name] = InstanceTracking(instance, self.config.vrrp, natives)
        for group in self.config.vrrp.sync_groups:
            members = [self.routers[name] for name in group.instances if name in self.routers]
            self.groups[group.name] = SyncGroup(group, members)
        for interface in self.config.vrrp.interface_tracking:
            self.interfaces_up[interface] = link_is_up(interface)
        try:
            for router in self.routers.values():
                if router.name not in self._source_faults:
                    self._open_socket(router)
                self._prepare_addresses(router)
            self._watch_claims()
        except OSError as error:
            self.close()
            raise StartError(f"cannot set up the VRRP sockets and addresses: {error.strerror}") from error

    def _set_up_vmacs(self) -> None:
        """The instances' VMAC interfaces, before anything looks at their state."""
        for instance in self.config.vrrp.instances:
            if not instance.use_vmac:
                continue
            if self._vmacs is None:
                raise StartError(f"({instance.name}) use_vmac needs the daemon's VMAC interfaces")
            try:
                if self._vmacs.set_up(instance, self._configured_interfaces()):
                    self._fresh_vmacs.add(instance.name)
            except OSError as error:
                message = f"cannot set up the VMAC interface {instance.vmac_interface}: {error.strerror}"
                raise StartError(message) from error

    def _configured_interfaces(self) -> list[str]:
        """The interfaces the configuration names or attaches instances to."""
        vrrp = self.config.vrrp
        names = set(vrrp.interface_tracking)
        for instance in vrrp.instances:
            names.update(a.ifname for a in (*instance.vips, *instance.evips) if a.ifname)
            names.update(i for i in (instance.interface,) if i)
        return sorted(names)

    def start(self, previous: Runtime | None = None) -> None:
        """Start every router (taking over the matching ones of `previous` after a reload) and the scripts.
        As keepalived, the faults found at start are logged for every instance (and their sync groups
        settled) before the first instance starts."""
        if previous is not None:
            self._carry_over_scripts(previous)
        self._start_trackers(reload=previous is not None)
        now = self.now()
        self._delay_startup(previous, now)
        fresh: list[VirtualRouter] = []
        for name, router in self.routers.items():
            result = self._evaluate(name)
            source_fault = self._source_faults.get(name)
            faults = {f.reason for f in result.faults} | ({source_fault.value} if source_fault else set())
            waiting = {script_reason(s) for s in result.waiting}
            configured = router.effective_priority
            router.assume_total_priority(result.total_priority)
            old = previous.matching(router.instance) if previous else None
            if old is not None and previous is not None:
                self._take_routing(previous, old, router)
                self._carry_out(router, router.resume(old, now, faults=faults, waiting=waiting))
                continue
            for fault in result.faults:
                self._log(fault.startup_log(name))
            if source_fault is not None and source_fault.missing_address:
                self._log(source_fault.startup_log(name))
            if router.effective_priority != configured:  # moved by a tracked file or process
                moved = f"from {configured} to {router.effective_priority}"
                self._log(f"({name}) Changing effective priority {moved}")
            router.faults, router.waiting = faults, waiting  # for its sync group, before any member starts
            fresh.append(router)
        for group in self.groups.values():
            if previous is None:
                self._carry_out_steps(group.start())
            else:
                group.resume_state()
        for router in fresh:
            if self._starts_in_fault(router):
                self._log(f"({router.name}) entering FAULT state")
        if previous is None:
            for group in self.groups.values():
                self._carry_out_steps(group.start_notifies())
        for router in fresh:
            self._carry_out(router, self._start_router(router, now))
        for script in self.config.vrrp.scripts:
            self._script_tasks.append(asyncio.ensure_future(self._run_script(script)))

    def _delay_startup(self, previous: Runtime | None, now: int) -> None:
        """global_defs' vrrp_startup_delay: for that long after the daemon's start (a reload does not start
        it again), the backups' master-down timers count from its end."""
        if previous is not None:
            self.startup_delay_end_us = previous.startup_delay_end_us
        elif delay := self.config.global_defs.vrrp_startup_delay_us:
            self.startup_delay_end_us = now + delay
            self._log(f"Delaying startup for {delay / SECOND_US:g} seconds")
        for router in self.routers.values():
            router.startup_delay_end_us = self.startup_delay_end_us

    def _starts_in_fault(self, router: VirtualRouter) -> bool:
        """Whether keepalived says `entering FAULT state` for the instance at start: it has a fault found
        before its socket is opened, or its sync group is in FAULT."""
        source = self._source_faults.get(router.name)
        late = {source.value} if source is SourceFault.NOT_CONFIGURED else set()
        in_faulty_group = router.group is not None and router.group.state == VrrpState.FAULT
        return bool(router.faults - late) or in_faulty_group

    def _start_router(self, router: VirtualRouter, now: int) -> list[Action]:
        """A router's start. keepalived finds a missing configured source when it binds the instance's
        socket, once the instance has started: its lines come after the start's, as an entry into FAULT."""
        name = router.name
        source = self._source_faults.get(name)
        faults, waiting = router.faults, router.waiting
        fresh = name in self._fresh_vmacs
        actions = router.start(now, faults=faults, waiting=waiting, fresh_interface=fresh)
        if source is SourceFault.NOT_CONFIGURED:
            if router.instance.unicast:
                reason = f"{errno.EADDRNOTAVAIL} - {os.strerror(errno.EADDRNOTAVAIL)}"
                actions.append(Log(f"bind unicast_src {router.source} failed {reason}"))
            if faults == {source.value}:
                actions += [Log(source.startup_log(name)), Log(f"({name}) Entering FAULT STATE")]
        return actions

    def _carry_over_scripts(self, previous: Runtime) -> None:
        """Scripts kept across a reload keep their results, so that their instances keep their state."""
        for name, state in self.scripts.items():
            old = previous.scripts.get(name)
            line = state.carry_over(old) if old is not None else None
            if line is not None:
                self._log(line)

    def matching(self, instance: VrrpInstance) -> VirtualRouter | None:
        """The router that a reloaded `instance` continues (keepalived's vrrp_exist: same VRID, family,
        interface, unicast or not, unicast source, multicast group), taken out of this runtime."""
        for name, router in self.routers.items():
            old = router.instance
            same = (
                old.vrid == instance.vrid
                and old.family == instance.family
                and old.interface == instance.interface
                and old.unicast == instance.unicast
                and (
                    old.source_address == instance.source_address
                    if old.unicast
                    else old.mcast_dst == instance.mcast_dst
                )
                and old.use_vmac == instance.use_vmac
            )
            if same:
                del self.routers[name]
                return router
        return None

    def advertise_before_reload(self) -> None:
        for router in self.routers.values():
            self._carry_out(router, router.advertise_before_reload())

    def retire_unmatched(self) -> None:
        """After a reload: the routers no new instance continued are gone from the configuration."""
        now = self.now()
        for router in self.routers.values():
            self._carry_out(router, router.retire(now))

    def send_stop_adverts(self) -> None:
        """SIGTERM's first act, from the signal handler: each master's priority-0 advert, from the bytes
        made ready at its last advert. Python code that has not run for a while runs slowly on a virtual
        machine (its memory gone cold: a millisecond or more for what takes tens of microseconds warm), so
        the hand-over must not wait for the stop sequence. `stop` then leaves these adverts out."""
        for name, ready in self._stop_adverts.items():
            router = self.routers.get(name)
            if router is None or router.state != VrrpState.MASTER or name in self._stop_adverts_sent:
                continue
            try:
                for packet in ready:
                    packet.send()
            except OSError:
                continue  # the stop sequence sends it again and says why it failed
            self._ident[name] = next_ident(self._ident.get(name, 0))
            self._stop_adverts_sent.add(name)

    def stop(self) -> None:
        """SIGTERM: `Stopping`; masters hand over with priority 0 and drop their addresses; notify STOP."""
        self._stopped = True
        now = self.now()
        self._deferred = ["Stopping"]
        try:
            for name, router in self.routers.items():
                actions = router.stop(now)
                if name in self._stop_adverts_sent:
                    actions = [a for a in actions if not _is_stop_advert(a)]
                self._carry_out(router, actions)
            for group in self.groups.values():
                self._carry_out_steps(group.stop())
        finally:
            self._write_deferred()
        self.runner.terminate_all()

    def close(self) -> None:
        """Let go of sockets, timers, script loops and file and process watches (the routers' state is left
        as it is)."""
        for task in self._script_tasks:
            task.cancel()
        for watch in (self.files, self.processes):
            if watch is not None:
                watch.close()
        for timer in self._timers.values():
            timer.close()
        self._timers.clear()
        for handle in self._rehearsals.values():
            handle.cancel()
        self._rehearsals.clear()
        for key, sock in self._sockets.items():
            self.loop.remove_reader(sock.fileno())
            sock.close()
            self._by_vrid.pop(key, None)
        self._sockets.clear()
        for sender in self._arp.values():
            sender.close()
        self._arp.clear()
        for advertiser in self._ndisc.values():
            advertiser.close()
        self._ndisc.clear()
        for watcher in self._watchers.values():
            self.loop.remove_reader(watcher.fileno())
            watcher.close()
        self._watchers.clear()
        if self._routing is not None:
            self._routing.close()

    # ----- what happens outside

    def link_changed(self, event: LinkEvent | AddressEvent) -> None:
        if isinstance(event, AddressEvent):
            if not event.added:
                self._address_removed(event.ifname, event.address.ip)
            self._source_event(event)
            return
        if event.ifname not in self.interfaces_up:
            return
        if self.interfaces_up[event.ifname] == event.up:
            return
        self.interfaces_up[event.ifname] = event.up
        self._log(f"Netlink reports {event.ifname} {'up' if event.up else 'down'}")
        for name in self._tracking_interface(event.ifname):
            self._update_tracking(self.routers[name])

    def _address_removed(self, ifname: str, ip: IpAddr) -> None:
        """An address left an interface. If a master's VIP was taken away from outside, it steps down (our
        own removals come when the router is no longer master; an address back by the time the event is
        read is left alone)."""
        for router in self.routers.values():
            address = router.tracked_address(ifname, ip)
            if address is None or self.addresses.present(address, ifname):
                continue
            if self.detail:
                self._log(f"Netlink reflector reports IP {ip} removed from {ifname}")
            now = self.now()
            steps: list[tuple[Target, list[Action]]] = [(router, router.address_deleted(now))]
            if router.group is not None:
                steps += router.group.address_taken(router, now)
            self._carry_out_steps(steps)
            return

    def routing_removed(self, event: RoutingRemoved) -> None:
        """A route or rule left the kernel: a master whose tracked virtual route or rule it was steps down
        as when its VIP is taken away (keepalived's route and rule monitor)."""
        for name, routes in self._route_sets.items():
            router = self.routers.get(name)
            if not routes.take_removed(event) or router is None or router.state != VrrpState.MASTER:
                continue
            now = self.now()
            steps: list[tuple[Target, list[Action]]] = [(router, router.address_deleted(now))]
            if router.group is not None:
                steps += router.group.address_taken(router, now)
            self._carry_out_steps(steps)
            return

    def script_reported(self, name: str, outcome: ScriptOutcome) -> None:
        state = self.scripts[name]
        report = state.record(outcome)
        for line in report.log:
            self._log(line)
        if report.became_ok is None:
            return
        for router in self.routers.values():
            if any(link.name == name for link in self.trackings[router.name].scripts):
                self._update_tracking(router)

    def native_reported(self, name: str, ok: bool) -> None:
        """One of `hapair node`'s trackers changed state: the instances linked to it follow."""
        if self.natives_ok.get(name, True) == ok:
            return
        self.natives_ok[name] = ok
        for router in self.routers.values():
            if any(link.name == name for link in self.trackings[router.name].natives):
                self._update_tracking(router)

    def _tracking_interface(self, interface: str) -> list[str]:
        return [name for name, t in self.trackings.items() if any(i.name == interface for i in t.interfaces)]

    def _update_tracking(self, router: VirtualRouter) -> None:
        now = self.now()
        before = router.state
        result = self._evaluate(router.name)
        faults = {f.reason for f in result.faults}
        source_fault = self._source_faults.get(router.name)
        if source_fault is not None:
            faults.add(source_fault.value)
        waiting = {script_reason(s) for s in result.waiting}
        actions: list[Action] = []
        for reason in sorted(router.waiting - waiting):
            actions += router.tracker_ready(now, reason, ok=reason not in faults)
        for reason in sorted(faults - router.faults):
            actions += router.tracker_down(now, reason)
        for reason in sorted(router.faults - faults):
            actions += router.tracker_up(now, reason)
        actions += router.set_total_priority(now, result.total_priority)
        self._carry_out_steps([(router, actions), *self._follow(router, before, actions, now)])

    def _scripts_ok(self) -> dict[str, bool | None]:
        return {name: state.ok for name, state in self.scripts.items()}

    def _evaluate(self, name: str) -> TrackingResult:
        return self.trackings[name].evaluate(
            self._scripts_ok(),
            self.interfaces_up,
            files=self.files.values if self.files is not None else {},
            quorums=self.processes.table.quorums if self.processes is not None else {},
            natives_ok=self.natives_ok,
        )

    # ----- track_file and vrrp_track_process (trackers.py)

    def _start_trackers(self, *, reload: bool) -> None:
        """Write the `init_file`s, then read the tracked files and count the tracked processes: the values
        the instances start with."""
        vrrp = self.config.vrrp
        if vrrp.track_files:
            from .trackers import FileWatch, write_init_files  # noqa: PLC0415 (only for track_file)

            write_init_files(vrrp.track_files, self._log, reload=reload)
            self.files = FileWatch(vrrp.track_files, self._log, self.file_changed)
            self.files.start(self.loop)
        if vrrp.track_processes:
            from .process_watch import ProcessWatch  # noqa: PLC0415 (only for tracked processes)

            self.processes = ProcessWatch(
                vrrp.track_processes,
                self.config.global_defs,
                vrrp.max_process_name_len,
                log=self._log,
                detail=self.detail,
                changed=self.quorums_changed,
            )
            self.processes.start()

    def file_changed(self, state: FileState, changes: list[LinkChange]) -> None:
        """A tracked file's new value moved these links: each instance in turn, as keepalived goes."""
        now = self.now()
        for change in changes:
            router = self.routers.get(change.link.instance)
            if router is None:
                continue
            before = router.state
            actions = apply_file_change(router, state.name, change, now)
            self._carry_out_steps([(router, actions), *self._follow(router, before, actions, now)])

    def quorums_changed(self, changes: list[QuorumChange]) -> None:
        for change in changes:
            self._log(change.log)
            for router in self.routers.values():
                if any(link.name == change.name for link in self.trackings[router.name].processes):
                    self._update_tracking(router)

    async def _run_script(self, script: VrrpScript) -> None:
        """Run a vrrp_script every `interval`, counted from the start of each run."""
        interval = script.interval_us / SECOND_US
        while not self._stopped:
            started = self.loop.time()
            outcome = await self.runner.run_check(script)
            if self._stopped:
                return
            self.script_reported(script.name, outcome)
            await asyncio.sleep(max(0.0, started + interval - self.loop.time()))

    # ----- sockets

    def _choose_source(self, instance: VrrpInstance) -> SourceChoice:
        assert instance.interface is not None  # the configuration refuses an instance without one
        if instance.family == 6:
            return choose_source(instance, ipv6_addresses(instance.interface), self._virtual)
        return choose_source(instance, ipv4_addresses(instance.interface), self._virtual)

    def _source_event(self, event: AddressEvent) -> None:
        """An address came to or left an interface: the instances there may gain, change or lose the
        address they send from (keepalived's netlink_if_address_filter)."""
        if event.address.ip in self._virtual:
            return
        for name, router in self.routers.items():
            if router.instance.interface != event.ifname:
                continue
            choice = self._choose_source(router.instance)
            if choice.address is not None and choice.address != router.source:
                self._change_source(router, choice.address)
            fault = choice.fault
            if fault is None and name not in self._socket_of and not self._reopen_socket(router):
                fault = SourceFault.NOT_CONFIGURED
            old_fault = self._source_faults.pop(name, None)
            if fault is not None:
                self._source_faults[name] = fault
            if fault is not old_fault:
                self._log_source_change(event, name, fault)
                self._update_tracking(router)

    def _reopen_socket(self, router: VirtualRouter) -> bool:
        """Open the socket of a router that now has its source; False if the kernel refuses it."""
        try:
            self._open_socket(router)
        except OSError as error:
            self._log(f"bind unicast_src {router.source} failed {error.errno} - {error.strerror}")
            return False
        return True

    def _log_source_change(self, event: AddressEvent, name: str, fault: SourceFault | None) -> None:
        ip, ifname = event.address.ip, event.ifname
        if fault is None:
            self._log_detail(f"Assigned address {ip} for interface {ifname}")
        elif fault.missing_address:
            self._log_detail(f"Deassigned address {ip} from interface {ifname}")
        else:
            self._log(fault.startup_log(name))

    def _change_source(self, router: VirtualRouter, source: IpAddr) -> None:
        """Send from `source` from now on: the adverts made for the old one go, and a unicast socket
        bound to the old one is left for one bound to the new one."""
        router.source = source
        for key in [key for key in self._packets if key[0] == router.name]:
            del self._packets[key]
        self._stop_adverts.pop(router.name, None)
        if router.instance.unicast and router.name in self._socket_of:
            self._close_socket(router)

    def _open_socket(self, router: VirtualRouter) -> None:
        instance = router.instance
        protocol = AH_PROTOCOL if instance.auth_type == AuthType.AH else VRRP_PROTOCOL
        unicast_source = router.source if instance.unicast else None
        key = SocketKey(advert_interface(instance), unicast_source, router.family, protocol)
        if key not in self._sockets:
            sock: VrrpSocket | VrrpSocket6
            if router.family == 6:
                from ..net.vrrp_socket6 import VrrpSocket6  # noqa: PLC0415 (IPv6 instances only)

                group = self._group(instance)
                assert isinstance(group, IPv6Address)
                sock = VrrpSocket6(
                    key.interface,
                    group=group,
                    unicast_source=key.unicast_source,
                    unicast_ttl=instance.ttl,
                )
            else:
                sock = VrrpSocket(
                    key.interface,
                    group=self._group(instance),
                    unicast_source=key.unicast_source,
                    protocol=protocol,
                )
            self._sockets[key] = sock
            self._by_vrid[key] = {}
            self.loop.add_reader(sock.fileno(), self._readable, key)
        self._by_vrid[key][instance.vrid] = router
        self._socket_of[router.name] = key

    def _close_socket(self, router: VirtualRouter) -> None:
        """Take the router off its socket, closing the socket if no other router uses it."""
        key = self._socket_of.pop(router.name)
        users = self._by_vrid[key]
        users.pop(router.instance.vrid, None)
        if not users:
            sock = self._sockets.pop(key)
            self.loop.remove_reader(sock.fileno())
            sock.close()
            del self._by_vrid[key]

    def _prepare_addresses(self, router: VirtualRouter) -> None:
        """Build the address requests now, and the adverts of the instance's priorities so far (once it
        has a source)."""
        for address in router.addresses:
            self.addresses.prepare(address, self._interface_of(router, address))
            if address.family == 6:
                self._neighbour_advertiser(self._interface_of(router, address))
        if not router.source.is_unspecified:
            for priority in {router.effective_priority, 0}:
                self._packets_for(router, router.advert(priority))

    def _watch_claims(self) -> None:
        """Watch each interface carrying IPv4 addresses of ours for other nodes claiming them."""
        by_interface: dict[str, set[IPv4Address]] = {}
        for router in self.routers.values():
            for address in router.addresses:
                ip = address.address.ip
                if isinstance(ip, IPv4Address):
                    by_interface.setdefault(self._interface_of(router, address), set()).add(ip)
        for interface, addresses in by_interface.items():
            watcher = self._watchers[interface] = ArpWatcher(interface, addresses)
            self.loop.add_reader(watcher.fileno(), self._claims_arrived, interface)

    def _claims_arrived(self, interface: str) -> None:
        watcher = self._watchers.get(interface)
        while watcher is not None and (claim := watcher.receive()) is not None:
            owner = claim.mac.hex(":")
            for router in self.routers.values():
                if any(
                    address.address.ip == claim.address and self._interface_of(router, address) == interface
                    for address in router.addresses
                ):
                    self._carry_out(router, router.address_claimed(self.now(), claim.address, owner))

    def _readable(self, key: SocketKey) -> None:
        """Adverts arrived; each one is timed by its arrival in the kernel."""
        sock = self._sockets.get(key)
        while sock is not None and (received := sock.receive()) is not None:
            try:
                packet = _decode(received)
            except PacketTooShort as error:
                self._log(str(error))
                continue
            router = self._by_vrid[key].get(packet.vrid)
            if router is None:
                if self.config.global_defs.log_unknown_vrids:
                    self._log(
                        f"Unknown VRID({packet.vrid}) received on interface({key.interface}). ignoring..."
                    )
                continue
            if key.family == 6 and self._discards(router, packet):
                continue
            before = router.state
            actions = router.receive(packet, received.at_us)
            self._carry_out_steps([(router, actions), *self._follow(router, before, actions, received.at_us)])

    # ----- carrying out actions

    def _log(self, text: str) -> None:
        if self._deferred is not None:
            self._deferred.append(text)
        else:
            self._write_log(text)

    def _log_detail(self, text: str) -> None:
        if self.detail:
            self._log(text)

    def _carry_out(self, router: VirtualRouter, actions: Iterable[Action]) -> None:
        """Carry out the actions in order. Their log lines are written after them, in order, so that the
        adverts and addresses of a take-over or a stop are not held up by writing logs."""
        outermost = self._deferred is None
        if outermost:
            self._deferred = []
        try:
            for action in actions:
                self._carry_out_one(router, action)
        finally:
            if outermost:
                self._write_deferred()

    def _follow(
        self, router: VirtualRouter, before: VrrpState, actions: list[Action], now: int
    ) -> list[tuple[Target, list[Action]]]:
        """What the router's sync group does after the router's event (nothing without a group)."""
        group = router.group
        if group is None:
            return []
        steps = group.follow(router, before, now)
        if any(isinstance(a, Notify) and a.event is NotifyEvent.MASTER_RX_LOWER_PRI for a in actions):
            steps += group.lower_priority_seen(router, now)
        return steps

    def _carry_out_steps(self, steps: Iterable[tuple[Target, list[Action]]]) -> None:
        """Carry out the actions of routers and sync groups in order, their log lines after them all."""
        outermost = self._deferred is None
        if outermost:
            self._deferred = []
        try:
            for target, actions in steps:
                if isinstance(target, SyncGroup):
                    for action in actions:
                        self._carry_out_group_action(target, action)
                else:
                    self._carry_out(target, actions)
        finally:
            if outermost:
                self._write_deferred()

    def _carry_out_group_action(self, group: SyncGroup, action: Action) -> None:
        match action:
            case Log(text, detail):
                if self.detail or not detail:
                    self._log(text)
            case Notify(event, _priority):
                self._notify_group(group, event)

    def _notify_group(self, group: SyncGroup, event: NotifyEvent) -> None:
        """The group's notify commands for `event` (`notify` gets `GROUP G STATE 0`) and its SMTP alert."""
        scripts = group.config.notify
        specific: NotifyScript | None = {
            NotifyEvent.BACKUP: scripts.backup,
            NotifyEvent.MASTER: scripts.master,
            NotifyEvent.FAULT: scripts.fault,
            NotifyEvent.STOP: scripts.stop,
        }.get(event)
        if specific is not None:
            self.runner.notify(specific, [])
        if scripts.notify is not None:
            self.runner.notify(scripts.notify, ["GROUP", group.name, event.value, "0"])
        self._write_fifos(fifo_line(group=True, name=group.name, event=event, priority=0))
        if group.config.smtp_alert:
            self._send_alert(Sender.GROUP, group.name, event)

    def _write_deferred(self) -> None:
        lines, self._deferred = self._deferred or [], None
        for line in lines:
            self._write_log(line)

    def _carry_out_one(self, router: VirtualRouter, action: Action) -> None:
        match action:
            case SendAdvert(advert, ah_sequence):
                self._send(router, advert, ah_sequence)
            case SetVips(addresses):
                self._set_addresses(router, addresses)
            case RemoveVips(addresses, _force):
                self._remove_addresses(router, addresses)
            case VirtualRouting(add, force):
                self._virtual_routing(router, add=add, force=force)
            case AnnounceSource():
                self._announce_source(router)
            case SendGratuitousArps(repeat):
                self._send_gratuitous_arps(router, repeat)
            case ProbeAddresses(addresses):
                self._probe(router, addresses)
            case Notify(event, priority):
                self._notify(router, event, priority)
            case Log(text, detail):
                if self.detail or not detail:
                    self._log(text)
            case ArmTimer(at):
                self._arm(router, at)

    def _send(self, router: VirtualRouter, advert: Advertisement, ah_sequence: int | None) -> None:
        instance = router.instance
        key = self._socket_of.get(router.name)
        sock = self._sockets.get(key) if key is not None else None
        if sock is None:
            return
        ident = next_ident(self._ident.get(router.name, 0))
        self._ident[router.name] = ident
        for destination, encoded in self._packets_for(router, advert):
            try:
                if isinstance(sock, VrrpSocket):
                    assert isinstance(destination, IPv4Address)
                    sock.send(self._on_wire(router, encoded, ident, ah_sequence), destination)
                else:
                    assert isinstance(destination, IPv6Address) and isinstance(router.source, IPv6Address)
                    sock.send(encoded, destination, router.source)
            except OSError as error:
                if error.errno == errno.ENETUNREACH and not self.interfaces_up.get(
                    instance.interface or "", True
                ):
                    continue
                if instance.unicast:
                    self._log(f"({router.name}) Cant send advert to {destination} ({error.strerror})")
                else:
                    self._log(f"({router.name}): send advert error {error.errno} ({error.strerror})")
        if advert.priority != PRIORITY_STOP:
            self._ready_stop_advert(router, sock, next_ident(ident))

    def _ready_stop_advert(self, router: VirtualRouter, sock: VrrpSocket | VrrpSocket6, ident: int) -> None:
        """Make the priority-0 advert that SIGTERM would send after this one (see send_stop_adverts)."""
        stop = self._packets_for(router, router.advert(PRIORITY_STOP))
        sequence = router.ah_counter.peek() if router.instance.auth_type == AuthType.AH else None
        ready: list[ReadyPacket | ReadyPacket6] = []
        for destination, encoded in stop:
            if isinstance(sock, VrrpSocket):
                assert isinstance(destination, IPv4Address)
                ready.append(sock.ready(self._on_wire(router, encoded, ident, sequence), destination))
            else:
                assert isinstance(destination, IPv6Address) and isinstance(router.source, IPv6Address)
                ready.append(sock.ready(encoded, destination, router.source))
        self._stop_adverts[router.name] = ready

    @staticmethod
    def _on_wire(router: VirtualRouter, encoded: bytes, ident: int, ah_sequence: int | None) -> bytes:
        """An encoded IPv4 advert as it goes out this time: with its IP ID, and signed if it carries AH."""
        if ah_sequence is None:
            return with_ident(encoded, ident)
        key, unicast = router.instance.auth_data, router.instance.unicast
        return sign(encoded, ident=ident, sequence=ah_sequence, key=key, unicast=unicast)

    def _destinations(self, router: VirtualRouter) -> list[IpAddr]:
        instance = router.instance
        if not instance.unicast:
            return [self._group(instance)]
        return [peer.address for peer in instance.unicast_peers if peer.address.version == router.family]

    def _discards(self, router: VirtualRouter, packet: ReceivedPacket) -> bool:
        """keepalived's dispatcher drops an IPv6 multicast packet on a unicast instance and the reverse
        before the instance's checks (a socket gets the other kind too), with a line in detail mode."""
        multicast = packet.destination.is_multicast
        if multicast != router.instance.unicast or router.state in (VrrpState.FAULT, VrrpState.INIT):
            return False
        if self.detail:
            received, instance = ("mult", "un") if multicast else ("un", "mult")
            self._log(f"({router.name}) discarding {received}icast packet on {instance}icast instance")
        return True

    def _packets_for(self, router: VirtualRouter, advert: Advertisement) -> list[tuple[IpAddr, bytes]]:
        """The advert as packets to each destination, encoded once and kept: encoding is slow in Python,
        and the first advert of a take-over must go out at once. An instance's advert at a priority never
        changes, so the priority (and the checksum form) names it."""
        key = (router.name, advert.priority, router.uses_old_unicast_checksum)
        packets = self._packets.get(key)
        if packets is None:
            instance = router.instance
            ttl = instance.ttl if instance.unicast and instance.ttl >= 0 else 255
            checksum_destination = self._group(instance) if router.uses_old_unicast_checksum else None
            source = router.source
            packets = self._packets[key] = [
                (
                    destination,
                    encode_ipv6(advert, source=source, destination=destination)
                    if isinstance(source, IPv6Address) and isinstance(destination, IPv6Address)
                    else encode_ipv4(
                        advert,
                        source=source,
                        destination=destination,
                        ttl=ttl,
                        checksum_destination=checksum_destination,
                    ),
                )
                for destination in self._destinations(router)
            ]
        return packets

    def _group(self, instance: VrrpInstance) -> IpAddr:
        if instance.mcast_dst is not None:
            return instance.mcast_dst
        defs = self.config.global_defs
        return defs.vrrp_mcast_group6 if instance.family == 6 else defs.vrrp_mcast_group4

    def _interface_of(self, router: VirtualRouter, address: IpAddress) -> str:
        interface = address.ifname or router.instance.interface
        assert interface is not None
        return interface

    def _set_addresses(self, router: VirtualRouter, addresses: tuple[IpAddress, ...]) -> None:
        for address in addresses:
            try:
                self.addresses.add(address, self._interface_of(router, address))
            except OSError as error:
                self._log(f"({router.name}) cannot add {address.address}: {error.strerror}")

    def _remove_addresses(self, router: VirtualRouter, addresses: tuple[IpAddress, ...]) -> None:
        for address in addresses:
            try:
                self.addresses.remove(address, self._interface_of(router, address))
            except OSError as error:
                self._log(f"({router.name}) cannot remove {address.address}: {error.strerror}")

    def _virtual_routing(self, router: VirtualRouter, *, add: bool, force: bool) -> None:
        routes = self._routes_of(router)
        if add:
            routes.add()
        else:
            routes.remove(force_rules=force)

    def _take_routing(self, previous: Runtime, old: VirtualRouter, router: VirtualRouter) -> None:
        """A reload: the virtual routes and rules `old` installed that its instance, as reloaded, no longer
        has go; the others are the new router's (keepalived's clear_diff_vrules / clear_diff_vroutes)."""
        routes = previous._route_sets.get(old.name)
        if routes is None:
            return
        instance = router.instance
        kept = keep_after_reload(routes, instance.vroutes, instance.vrules, self._log, detail=self.detail)
        self._routes_of(router).mark_installed(*kept)

    def _routes_of(self, router: VirtualRouter) -> RouteSet:
        routes = self._route_sets.get(router.name)
        if routes is None:
            if self._routing is None:
                self._routing = Routing(self._log)
            instance = router.instance
            routes = RouteSet(self._routing, instance.vroutes, instance.vrules)
            self._route_sets[router.name] = routes
        return routes

    def _send_gratuitous_arps(self, router: VirtualRouter, repeat: int) -> None:
        """`repeat` rounds of a gratuitous ARP for each IPv4 address and an unsolicited neighbour
        advertisement for each IPv6 one, in the addresses' order, as keepalived's vrrp_send_link_update."""
        for round_number in range(repeat):
            for address in router.addresses:
                ip = address.address.ip
                if isinstance(ip, IPv6Address):
                    self._advertise_neighbour(router, address, ip, first=round_number == 0)
                    continue
                interface = self._interface_of(router, address)
                if round_number == 0 and self.detail:
                    self._log(f"({router.name}) Sending/queueing gratuitous ARPs on {interface} for {ip}")
                if self._arp_sender(interface).send(ip) and self.detail:
                    self._log(f"Sending gratuitous ARP on {interface} for {ip}")

    def _advertise_neighbour(
        self, router: VirtualRouter, address: IpAddress, ip: IPv6Address, *, first: bool
    ) -> None:
        interface = self._interface_of(router, address)
        if first:
            self._log_detail(
                f"({router.name}) Sending/queueing Unsolicited Neighbour Adverts on {interface} for {ip}"
            )
        self._send_neighbour_advert(interface, ip)

    def _send_neighbour_advert(self, interface: str, ip: IPv6Address) -> None:
        try:
            if self._neighbour_advertiser(interface).send(ip):
                self._log_detail(f"Sending unsolicited Neighbour Advert on {interface} for {ip}")
        except OSError as error:
            self._log(
                f"Error {error.errno} sending ndisc unsolicited neighbour advert on {interface} for {ip}"
            )

    def _neighbour_advertiser(self, interface: str) -> NeighbourAdvertiser:
        advertiser = self._ndisc.get(interface)
        if advertiser is None:
            from ..net.ndisc import NeighbourAdvertiser  # noqa: PLC0415 (IPv6 addresses only)

            advertiser = self._ndisc[interface] = NeighbourAdvertiser(interface)
            self._log_detail("Registering gratuitous NDISC shared channel")
        return advertiser

    def _probe(self, router: VirtualRouter, addresses: tuple[IPv4Address, ...]) -> None:
        for address in router.addresses:
            ip = address.address.ip
            if ip not in addresses:
                continue
            interface = self._interface_of(router, address)
            try:
                self._arp_sender(interface).probe(ip)
            except OSError as error:  # no answer then: the address counts as released, as it will be
                self._log(f"({router.name}) cannot probe for {ip} on {interface}: {error.strerror}")

    def _announce_source(self, router: VirtualRouter) -> None:
        interface = router.instance.interface
        assert interface is not None
        source = router.source
        if isinstance(source, IPv6Address):
            self._send_neighbour_advert(interface, source)
            return
        try:
            if self._arp_sender(interface).send(source):
                self._log_detail(f"Sending gratuitous ARP on {interface} for {source}")
        except OSError as error:
            self._log(
                f"Error {error.errno} ({error.strerror}) sending gratuitous ARP on {interface} for {source}"
            )

    def _arp_sender(self, interface: str) -> ArpSender:
        sender = self._arp.get(interface)
        if sender is None:
            sender = self._arp[interface] = ArpSender(interface)
        return sender

    def _notify(self, router: VirtualRouter, event: NotifyEvent, priority: int) -> None:
        scripts = router.instance.notify
        specific: NotifyScript | None = {
            NotifyEvent.BACKUP: scripts.backup,
            NotifyEvent.MASTER: scripts.master,
            NotifyEvent.FAULT: scripts.fault,
            NotifyEvent.STOP: scripts.stop,
            NotifyEvent.DELETED: scripts.deleted,
            NotifyEvent.MASTER_RX_LOWER_PRI: scripts.master_rx_lower_pri,
        }.get(event)
        kill_after = STOP_NOTIFY_KILL_S if event is NotifyEvent.STOP else None
        if specific is not None:
            self.runner.notify(specific, [], kill_after_s=kill_after)
        if scripts.notify is not None and event in STATE_EVENTS:
            arguments = ["INSTANCE", router.name, event.value, str(priority)]
            self.runner.notify(scripts.notify, arguments, kill_after_s=kill_after)
        self._write_fifos(fifo_line(group=False, name=router.name, event=event, priority=priority))
        if router.instance.smtp_alert:
            self._send_alert(Sender.INSTANCE, router.name, event)

    def _write_fifos(self, line: bytes) -> None:
        for fifo in self._fifos:
            fifo.write(line)
        if self._on_notification is not None:
            self._on_notification(line)

    def write_states_to_fifos(self) -> None:
        """After a reload with `fifo_write_vrrp_states_on_reload`: every group's and instance's state."""
        for group in self.groups.values():
            event = STATE_NOTIFIES.get(group.state)
            if event is not None:
                self._write_fifos(fifo_line(group=True, name=group.name, event=event, priority=0))
        for router in self.routers.values():
            event = STATE_NOTIFIES.get(router.state)
            if event is not None:
                line = fifo_line(
                    group=False, name=router.name, event=event, priority=router.effective_priority
                )
                self._write_fifos(line)

    def _send_alert(self, sender: Sender, name: str, event: NotifyEvent) -> None:
        """Mail the state change in the background (keepalived's smtp_alert), if a mail is due and there
        is a server and someone to send it to."""
        defs = self.config.global_defs
        alert = alert_for(sender, name, event, defs.router_id)
        if alert is None or not defs.email or defs.smtp_server is None:
            return
        if not self._alerts.due(sender, name, event):
            return
        from ..net.smtp import SmtpServer, deliver  # noqa: PLC0415 (only when a mail is sent)

        server = SmtpServer(defs.smtp_server, defs.smtp_port, defs.smtp_connection_timeout_us / SECOND_US)
        task = asyncio.ensure_future(deliver(Mail.of(defs, alert), server, self._log, detail=self.detail))
        self._mails.add(task)
        task.add_done_callback(self._mails.discard)

    async def mails_delivered(self, timeout_s: float) -> None:
        """Give the alerts on their way (the STOP ones at shutdown) up to `timeout_s` to be delivered;
        those still going then are given up."""
        if not self._mails:
            return
        _done, pending = await asyncio.wait(set(self._mails), timeout=timeout_s)
        for task in pending:
            task.cancel()

    def _arm(self, router: VirtualRouter, at: int | None) -> None:
        timer = self._timers.get(router.name)
        if timer is None:
            timer = self._timers[router.name] = PreciseTimer(self.loop, lambda: self._wake(router))
        timer.arm(at)
        self._schedule_rehearsal(router, at)

    # ----- the way to a take-over, kept warm

    def _schedule_rehearsal(self, router: VirtualRouter, at: int | None) -> None:
        """A backup's master-down deadline: rehearse the take-over shortly before it, and keep vigil."""
        pending = self._rehearsals.pop(router.name, None)
        if pending is not None:
            pending.cancel()
        if at is None or router.state != VrrpState.BACKUP or at != router.sands:
            return
        # a deadline closer than the lead (a skew time, after a priority-0 advert) gets a later rehearsal
        lead = REHEARSAL_LEAD_US if at - self.now() > REHEARSAL_LEAD_US else SHORT_REHEARSAL_LEAD_US
        start = (at - lead) / SECOND_US
        self._rehearsals[router.name] = self.loop.call_at(start, self._rehearse, router)

    def _rehearse(self, router: VirtualRouter) -> None:
        """Work out the take-over on a copy of the router and go through the making of its packets, sending
        nothing. Python code that has not run for a while runs slowly at first on a virtual machine (see
        `send_stop_adverts`; here 80 µs of rehearsal take 12 ms after half a second idle): after three
        seconds of a master's silence, a take-over whose code had not just run would start milliseconds
        late."""
        self._rehearsals.pop(router.name, None)
        rehearsed = router.rehearse_deadline()
        if rehearsed is None:
            return
        deadline, actions = rehearsed
        for action in actions:
            match action:
                case SendAdvert(advert, ah_sequence):
                    ident = next_ident(self._ident.get(router.name, 0))
                    for _destination, encoded in self._packets_for(router, advert):
                        if router.family == 4:
                            self._on_wire(router, encoded, ident, ah_sequence)
                case SendGratuitousArps():
                    for address in router.addresses:
                        interface = self._interface_of(router, address)
                        if address.family == 6:
                            self._neighbour_advertiser(interface)
                        else:
                            self._arp_sender(interface)
        self._schedule_vigil(router, deadline)

    def _schedule_vigil(self, router: VirtualRouter, deadline: int) -> None:
        vigil = (deadline - VIGIL_LEAD_US) / SECOND_US
        self._rehearsals[router.name] = self.loop.call_at(vigil, self._keep_vigil, router, deadline)

    def _keep_vigil(self, router: VirtualRouter, deadline: int) -> None:
        """Wait for the deadline here rather than in the event loop, so that the take-over starts in code
        that is running: unless an advert arrives first (any VRRP socket readable), the timer's callback
        runs from here."""
        self._rehearsals.pop(router.name, None)
        timer = self._timers.get(router.name)
        if timer is None or router.deadline() != deadline:
            return
        sockets = [sock.fileno() for sock in self._sockets.values()]
        timer.await_expiry(sockets, (deadline - self.now()) / SECOND_US + VIGIL_SLACK_S)

    def _wake(self, router: VirtualRouter) -> None:
        # the timer fired, so its time has come, even if the clock reads a microsecond short of it
        deadline = router.deadline()
        now = self.now()
        if deadline is not None:
            self.scheduler.timer_late(now - deadline)
        before, at = router.state, wake_time(now, deadline)
        actions = router.wake(at)
        self._carry_out_steps([(router, actions), *self._follow(router, before, actions, at)])


def _decode(received: Received6 | Received) -> ReceivedPacket:
    """A received packet read by its family: an IPv4 packet whole, an IPv6 one's VRRP message with what
    the kernel said of it."""
    if not isinstance(received, Received):
        return decode_ipv6(
            received.data,
            source=received.source,
            destination=received.destination,
            hop_limit=received.hop_limit,
        )
    return decode_ipv4(received.data)
