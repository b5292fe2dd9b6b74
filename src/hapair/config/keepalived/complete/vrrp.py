"""Completion checks: the VRRP process (keepalived/vrrp/vrrp_daemon.c `start_vrrp`, vrrp.c
`vrrp_complete_init`, vrrp_sync.c, vrrp_static_track.c).

Once the configuration is read keepalived stops if it named a non-existent interface, then checks script
security, completes every instance (defaults, strict mode, authentication, advert interval, accept mode,
VMAC names, what each instance tracks), refuses duplicate VRIDs and links sync groups and track groups.
`-t` stops there; otherwise the sync group start states, the lvs_sync_daemon instance, unused scripts and
the priorities the instances start with are settled too.

Interfaces are known by name: every existing interface other than the loopback is taken to be an Ethernet
interface that supports multicast (the host description says nothing more), and no existing interface is
taken to be a VMAC keepalived could reuse.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence

from ..diagnostics import Severity
from ..host import Interface
from ..model.addresses import IpAddress
from ..model.global_defs import DEFAULT_NFTABLES_TABLE
from ..model.scripts import SC_EXECUTABLE, SC_INHIBIT, SC_INSECURE, SC_ISSCRIPT, SC_NOTFOUND, SC_SYSTEM
from ..model.vmac import vmac_address
from ..model.vrrp import (
    ADVERT_INT_DEFAULT_US,
    DOWN_TIMER_ADVERTS_DEFAULT,
    IFNAMSIZ,
    IP_TTL,
    NOT_TRACK_IF,
    PRIORITY_DEFAULT,
    PRIORITY_OWNER,
    AuthType,
    IpAddressValue,
    LinkbeatType,
    NotifyScripts,
    TrackedBfd,
    TrackedFile,
    TrackedProcess,
    TrackedScript,
    Trackers,
    TrackingObj,
    TrackType,
    VrrpData,
    VrrpInstance,
    VrrpState,
    VrrpSyncGroup,
    effective_priority,
)
from ..numbers import TIMER_HZ
from .context import Completion
from .scripts import check_script_secure, script_allowed

Tracked = TrackedScript | TrackedFile | TrackedProcess | TrackedBfd
TIMER_CENTI_HZ = TIMER_HZ // 100
MAX_ADDRESSES = 255  # the advert's address count is 8 bits wide
# Header sizes: Ethernet, IPv4, IPv6, VRRP, VRRPv2 authentication data, IPsec AH
ETHER_HEADER, IP_HEADER, IP6_HEADER, VRRP_HEADER, AUTH_LEN, AH_HEADER = 14, 20, 40, 8, 8, 24
INSTANCE_NOTIFIES = ("backup", "master", "fault", "stop", "deleted", "notify", "master_rx_lower_pri")
GROUP_NOTIFIES = ("backup", "master", "fault", "stop", "notify")


def complete(completion: Completion) -> None:
    if completion.config.vrrp.nonexistent_interface:
        completion.report(Severity.BAD_IF, "Non-existent interface specified in configuration")
        return
    _VrrpCompletion(completion).run()


def address_text(address: IpAddress) -> str:
    """keepalived's `ipaddresstos`: the address, with its prefix length unless it is a host address."""
    interface = address.address
    if interface.network.prefixlen == interface.max_prefixlen:
        return str(interface.ip)
    return f"{interface.ip}/{interface.network.prefixlen}"


class _VrrpCompletion:
    """One run of keepalived's `vrrp_complete_init`, with the interfaces it creates on the way."""

    def __init__(self, completion: Completion) -> None:
        self.completion = completion
        self.data: VrrpData = completion.config.vrrp
        self.defaults = completion.config.global_defs
        self.host_interfaces = completion.host.interfaces()
        self.vmacs: set[str] = set()  # the VMAC interfaces keepalived would create

    # -- reporting -------------------------------------------------------------------------------------
    def error(self, message: str) -> None:
        self.completion.error(message)

    def log(self, message: str) -> None:
        self.completion.log(message)

    # -- the sequence ----------------------------------------------------------------------------------
    def run(self) -> None:
        self.check_script_security()
        self.data.runnable = self.complete_instances()
        if not self.data.runnable:
            return
        self.check_vmac_conflicts()
        self.set_source_addresses()
        self.link_track_groups()
        self.sync_group_tracking()
        if self.completion.session.config_test:
            return
        self.settle_sync_group_states()
        self.find_lvs_sync_daemon_instance()
        self.remove_unused_scripts()
        self.initial_priorities()

    # -- script security (check_vrrp_script_security) ----------------------------------------------------
    def check_script_security(self) -> None:
        if not self.data.instances:
            return
        flags = 0
        for script in self.completion.each(self.data.scripts):
            checked = check_script_secure(self.completion, script.script)
            flags |= checked
            if checked & SC_INHIBIT:
                self.error(f"Disabling track script {script.name} due to insecure")
                script.insecure = True
            elif checked & SC_NOTFOUND:
                self.error(f"Disabling track script {script.name} since not found/accessible")
                script.insecure = True
            elif not checked & (SC_EXECUTABLE | SC_SYSTEM):
                script.insecure = True
        for owner, kinds in [
            *((instance, INSTANCE_NOTIFIES) for instance in self.data.instances),
            *((group, GROUP_NOTIFIES) for group in self.data.sync_groups),
        ]:
            with self.completion.about(owner):
                for kind in kinds:
                    flags |= self.check_notify_script(owner.notify, kind)
            owner.track.scripts = [t for t in owner.track.scripts if not t.script.insecure]
        for fifo in (self.defaults.notify_fifo, self.defaults.vrrp_notify_fifo):
            if fifo.script is not None:
                checked = check_script_secure(self.completion, fifo.script)
                flags |= checked
                if not script_allowed(checked):
                    fifo.script = None
        if not self.defaults.script_security and flags & SC_ISSCRIPT:
            insecure = " There are insecure scripts." if flags & SC_INSECURE else ""
            self.completion.report(
                Severity.SECURITY_ERROR,
                f"SECURITY VIOLATION - scripts are being executed but script_security not enabled.{insecure}",
            )
        self.data.scripts = [script for script in self.data.scripts if not script.insecure]

    def check_notify_script(self, notify: NotifyScripts, kind: str) -> int:
        script = getattr(notify, kind)
        if script is None:
            return 0
        flags = check_script_secure(self.completion, script)
        if not script_allowed(flags):
            setattr(notify, kind, None)
        return flags

    def complete_instances(self) -> bool:
        """keepalived's vrrp_complete_init up to the VRID checks: False where the VRRP process exits."""
        instances = self.completion.each(self.data.instances)
        if not all(self.minimal_configuration(instance) for instance in instances):
            return False
        self.link_sync_groups()
        if not all(self.complete_instance(i) for i in self.completion.each(self.data.instances)):
            return False
        return not self.vrid_conflicts()

    # -- chk_min_cfg -----------------------------------------------------------------------------------
    def minimal_configuration(self, instance: VrrpInstance) -> bool:
        if instance.vrid == 0:
            self.error(f"({instance.name}) the virtual router id must be set")
            return False
        # keepalived 2.2.7 only learns that an instance is unicast in vrrp_complete_instance, so here every
        # instance needs an interface, unicast or not
        if instance.interface is None:
            self.error(f"({instance.name}) Unknown interface!")
            return False
        return True

    # -- sync groups (vrrp_sync_set_group) ---------------------------------------------------------------
    def link_sync_groups(self) -> None:
        for group in self.completion.each(list(self.data.sync_groups)):
            if group.instance_names is None:
                self.error(f"Sync group {group.name} has no virtual router(s). removing")
                self.data.sync_groups.remove(group)
            elif not self.link_sync_group(group):
                self.data.sync_groups.remove(group)

    def link_sync_group(self, group: VrrpSyncGroup) -> bool:
        for name in group.instance_names or []:
            instance = self.data.instance(name)
            if instance is None:
                self.error(
                    f"Virtual router {name} specified in sync group {group.name} doesn't exist - ignoring"
                )
                continue
            if instance.sync_group is not None:
                self.error(
                    f"Virtual router {name} cannot exist in more than one sync group; ignoring {group.name}"
                )
                continue
            group.instances.append(name)
            instance.sync_group = group.name
            if group.state == VrrpState.MASTER and instance.wantstate == VrrpState.BACKUP:
                self.error(
                    f"Sync group {group.name} has some member(s) as address owner and some not as address "
                    "owner. This won't work."
                )
            if group.state != VrrpState.BACKUP:
                owner_master = instance.wantstate == VrrpState.MASTER and instance.owner
                group.state = VrrpState.MASTER if owner_master else VrrpState.BACKUP
        if not group.instances:
            self.error(
                f"Sync group {group.name}, no matching virtual router found in group declaration - removing"
            )
            return False
        if len(group.instances) == 1:
            self.error(
                f"Sync group {group.name} has only 1 virtual router(s) - this probably isn't what you want"
            )
        return True

    # -- vrrp_complete_instance ------------------------------------------------------------------------
    def complete_instance(self, instance: VrrpInstance) -> bool:
        name = instance.name
        defaults = self.defaults
        if instance.strict_mode is None:
            instance.strict_mode = defaults.vrrp_strict
        strict = instance.strict_mode
        self.set_version(instance)
        if not instance.vips:
            if instance.version == 3 or strict:
                self.error(f"({name}) No VIP specified; at least one is required")
                return False
            self.error(f"({name}) No VIP specified; at least one is sensible")

        if not instance.base_priority:
            master = instance.wantstate == VrrpState.MASTER
            instance.base_priority = PRIORITY_OWNER if master else PRIORITY_DEFAULT
        if instance.wantstate == VrrpState.INIT:
            instance.wantstate = VrrpState.MASTER if instance.owner else VrrpState.BACKUP
        elif strict and (instance.wantstate == VrrpState.MASTER) != instance.owner:
            self.error(f"({name}) State MASTER must match being address owner")
            instance.wantstate = VrrpState.MASTER if instance.owner else VrrpState.BACKUP
        self.check_authentication(instance)

        self.set_unicast(instance)
        if strict and instance.vmac_mac is not None:
            self.error(f"({name}): cannot specify MAC address with strict mode - clearing")
            instance.vmac_mac = None
        if instance.use_vmac and instance.vmac_mac is not None and len(instance.vmac_mac) == 5:
            instance.vmac_mac += bytes((instance.vrid,))

        first_vip = instance.vips[0].address.ip if instance.vips else None
        if (
            instance.family == 6
            and not instance.unicast
            and first_vip is not None
            and not first_vip.is_link_local
        ):
            if strict:
                self.error(f"({name}) the first IPv6 VIP address must be link local")
            else:
                self.log(f"({name}) the first IPv6 VIP address should be link local")
        if instance.vrf_interface is not None and (instance.interface is not None or not instance.unicast):
            without = "out interface" if instance.interface is not None else " unicast"
            self.error(f"({name}) vrf can only be specified with{without} - clearing")
            instance.vrf_interface = None
        self.limit_vips(instance)

        self.check_preemption(instance)
        if instance.down_timer_adverts != DOWN_TIMER_ADVERTS_DEFAULT and strict:
            self.error(f"({name}) down_timer_adverts is incompatible with strict mode - resetting")
            instance.down_timer_adverts = DOWN_TIMER_ADVERTS_DEFAULT

        self.set_accept_mode(instance)
        if not instance.unicast and instance.mcast_dst is None:
            instance.mcast_dst = (
                defaults.vrrp_mcast_group4 if instance.family == 4 else defaults.vrrp_mcast_group6
            )
        elif instance.unicast and instance.mcast_dst is not None:
            self.error(f"({name}) multicast destination specified with unicast - ignoring")
            instance.mcast_dst = None
        self.set_strict_defaults(instance)
        if instance.smtp_alert is None:
            instance.smtp_alert = self.default_smtp_alert()
        if instance.notify_priority_changes is None:
            group = self.data.sync_group(instance.sync_group) if instance.sync_group else None
            if group is not None and group.notify_priority_changes is not None:
                instance.notify_priority_changes = group.notify_priority_changes
            else:
                instance.notify_priority_changes = defaults.vrrp_notify_priority_changes
        self.round_advert_interval(instance)
        if instance.interface is not None and (
            instance.linkbeat_use_polling or defaults.linkbeat_use_polling
        ):
            self.data.linkbeat_interfaces.setdefault(instance.interface, LinkbeatType(0))
        self.check_debounce_timers(instance)
        if not instance.source_from_config:
            instance.track_source_address = False

        if instance.use_vmac or instance.use_ipvlan:
            self.name_vmac(instance)
        if instance.use_ipvlan:
            self.check_ipvlan_address(instance)
        self.track_own_interfaces(instance)
        if instance.vmac_xmit_base and not instance.use_vmac:
            self.error(f"({name}) vmac_xmit_base is only valid with a vmac")
            instance.vmac_xmit_base = False
        if instance.use_vmac or instance.use_ipvlan:
            instance.evip_other_family = any(a.family != instance.family for a in instance.evips)
            self.add_tracking(
                instance, self.running_interface(instance), self.own_weight(instance), TrackType.VRRP
            )
        extra_interface, extra_vmac = self.place_vips(instance)
        if instance.garp_extra_if_us is None:
            instance.garp_extra_if_us = defaults.vrrp_garp_extra_if_interval_us
            instance.garp_extra_if_all = instance.garp_extra_if_all or defaults.vrrp_garp_extra_if_all
        if (
            instance.garp_extra_if_us
            and not extra_vmac
            and (not extra_interface or not instance.garp_extra_if_all)
        ):
            instance.garp_extra_if_us = 0

        if not instance.vips:
            if instance.version == 3 or instance.family == 6 or strict:
                self.error(f"({name}) No VIP specified; at least one is required")
                return False
            self.completion.report(Severity.WARNING, f"({name}) No VIP specified; at least one is sensible")
        self.drop_weights(instance)
        self.attach_trackers(instance)
        return True

    def set_version(self, instance: VrrpInstance) -> None:
        """The VRRP version and address family (IPv6 needs version 3), and the IPv4 TTL."""
        if instance.family == 6:
            if instance.version == 2 and instance.strict_mode:
                self.error(f"({instance.name}) cannot use IPv6 with VRRP version 2; setting version 3")
                instance.version = 3
            elif not instance.version:
                instance.version = 3
        if not instance.family:
            instance.family = 4
        if not instance.version:
            instance.version = self.defaults.vrrp_version
        if instance.family == 4 and instance.ttl == -1:
            instance.ttl = IP_TTL

    def set_unicast(self, instance: VrrpInstance) -> None:
        """Unicast adverts need peers. keepalived's refusal of unicast peers in strict mode tests the unicast
        flag before setting it here, so 2.2.7 never applies it; nor, after chk_min_cfg, can the interface
        be missing here."""
        if not instance.unicast_configured:
            return
        if instance.unicast_peers:
            instance.unicast = True
        elif instance.unicast_fault_no_peer:
            self.log(f"({instance.name}) Cannot use unicast without any peers - going to fault state")
            instance.num_config_faults += 1
        else:
            self.completion.report(
                Severity.DEPRECATED,
                f"({instance.name}) A unicast keyword has been specified without any unicast peers. "
                "Defaulting to multicast. This usage is deprecated - please update your configuration.",
            )

    def check_preemption(self, instance: VrrpInstance) -> None:
        """nopreempt and preempt_delay, which the address owner, an initial MASTER state and strict mode
        rule out; sets the starting priorities."""
        name = instance.name
        if instance.owner and instance.nopreempt:
            self.error(
                f"({name}) nopreempt is incompatible with priority {PRIORITY_OWNER}. resetting nopreempt"
            )
            instance.nopreempt = False
        instance.effective_priority = instance.total_priority = instance.base_priority
        if instance.wantstate == VrrpState.MASTER:
            if instance.nopreempt:
                self.error(f"({name}) Warning - nopreempt will not work with initial state MASTER - clearing")
                instance.nopreempt = False
            if instance.preempt_delay_us:
                self.error(
                    f"({name}) Warning - preempt delay will not work with initial state MASTER - clearing"
                )
                instance.preempt_delay_us = 0
        if instance.preempt_delay_us:
            if instance.strict_mode:
                self.error(f"({name}) preempt_delay is incompatible with strict mode - resetting")
                instance.preempt_delay_us = 0
            if instance.nopreempt:
                self.error(f"({name}) preempt_delay is incompatible with nopreempt mode - resetting")
                instance.preempt_delay_us = 0

    def check_ipvlan_address(self, instance: VrrpInstance) -> None:
        """An IPv4 ipvlan needs an address, and any ipvlan address the instance's family; else the instance
        is kept in FAULT."""
        name = instance.name
        if instance.family == 4 and instance.ipvlan_address is None:
            self.error(
                f"({name}) IPv4 ipvlan requires a source ip address to be configured. setting instance "
                "to fault state"
            )
            instance.num_config_faults += 1
        elif instance.ipvlan_address is not None and instance.ipvlan_address.family != instance.family:
            self.error(
                f"({name}) IPv4 ipvlan address family does not match instance. setting instance to "
                "fault state"
            )
            instance.num_config_faults += 1

    def check_authentication(self, instance: VrrpInstance) -> None:
        name = instance.name
        if instance.auth_type == AuthType.NONE:
            return
        if instance.strict_mode:
            self.error(f"({name}) Strict mode does not support authentication. Ignoring.")
        elif instance.version == 3:
            self.error(f"({name}) VRRP version 3 does not support authentication. Ignoring.")
        elif not instance.auth_data[0]:
            self.error(f"({name}) Authentication specified but no password given. Ignoring")
        elif instance.family == 6 and instance.auth_type == AuthType.AH:
            self.error(f"({name}) Cannot use AH authentication with IPv6. ignoring")
        else:
            if (
                instance.auth_type == AuthType.AH
                and instance.wantstate == VrrpState.MASTER
                and not instance.owner
            ):
                self.error(f"({name}) Initial state master is incompatible with AH authentication - clearing")
                instance.wantstate = VrrpState.BACKUP
            return
        instance.auth_type = AuthType.NONE

    def limit_vips(self, instance: VrrpInstance) -> None:
        """Move the VIPs that do not fit in an advert to the eVIPs."""
        if instance.family == 4:
            header = ETHER_HEADER + IP_HEADER + VRRP_HEADER
            if instance.version == 2:
                header += AUTH_LEN + (AH_HEADER if instance.auth_type == AuthType.AH else 0)
            size = 4
        else:
            header, size = ETHER_HEADER + IP6_HEADER + VRRP_HEADER, 16
        host_interface = self.host_interfaces.get(instance.interface or "")
        # a missing (dynamic) interface has MTU 0: keepalived's unsigned arithmetic then allows the maximum
        mtu = host_interface.mtu if host_interface is not None else 0
        room = (mtu - header) // size if mtu >= header else MAX_ADDRESSES
        limit = min(room, MAX_ADDRESSES)
        if len(instance.vips) > limit:
            self.error(
                f"({instance.name}) Number of VIPs ({len(instance.vips)}) exceeds maximum/space available in "
                f"packet (max {limit} addresses) - excess moved to eVIPs"
            )
            instance.evips += instance.vips[limit:]
            del instance.vips[limit:]

    def set_accept_mode(self, instance: VrrpInstance) -> None:
        if instance.accept is None:
            instance.accept = True if instance.owner else not instance.strict_mode
        if instance.accept and not instance.owner and instance.strict_mode and instance.version == 2:
            self.error(
                f"({instance.name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - "
                "resetting"
            )
            instance.accept = False
        if (not instance.accept or instance.use_vmac) and not self.defaults.vrrp_nf_table_name:
            self.log("use_vmac or no_accept/strict specified, but no firewall configured - using nftables")
            self.defaults.vrrp_nf_table_name = DEFAULT_NFTABLES_TABLE

    def set_strict_defaults(self, instance: VrrpInstance) -> None:
        """GARP and advert behaviour strict mode imposes, else the global defaults."""
        name, strict, defaults = instance.name, instance.strict_mode, self.defaults
        if instance.garp_lower_prio_rep is None:
            fallback = defaults.vrrp_garp_lower_prio_rep
            instance.garp_lower_prio_rep = (
                0 if strict else fallback if fallback is not None else defaults.vrrp_garp_rep
            )
        elif strict and instance.garp_lower_prio_rep:
            self.error(f"({name}) Strict mode requires no repeat garps. resetting")
            instance.garp_lower_prio_rep = 0
        if instance.garp_lower_prio_delay_us is None:
            fallback = defaults.vrrp_garp_lower_prio_delay_us
            instance.garp_lower_prio_delay_us = (
                0 if strict else fallback if fallback is not None else defaults.vrrp_garp_delay_us
            )
        elif strict and instance.garp_lower_prio_delay_us:
            self.error(f"({name}) Strict mode requires no repeat garp delay. resetting")
            instance.garp_lower_prio_delay_us = 0
        if instance.lower_prio_no_advert is None:
            instance.lower_prio_no_advert = True if strict else defaults.vrrp_lower_prio_no_advert
        elif strict and not instance.lower_prio_no_advert:
            self.error(f"({name}) Strict mode requires no lower priority advert. resetting")
            instance.lower_prio_no_advert = True
        if instance.higher_prio_send_advert is None:
            instance.higher_prio_send_advert = False if strict else defaults.vrrp_higher_prio_send_advert
        elif strict and instance.higher_prio_send_advert:
            self.error(f"({name}) strict mode requires higher_prio_send_advert to be clear. resetting")
            instance.higher_prio_send_advert = False

    def round_advert_interval(self, instance: VrrpInstance) -> None:
        name = instance.name
        if not instance.advert_int_us:
            instance.advert_int_us = ADVERT_INT_DEFAULT_US
        advert = instance.advert_int_us
        # VRRPv2's out of range interval (256 s or more) cannot be read: advert_int stops at 255 s
        if instance.version == 2 and advert % TIMER_HZ:
            self.error(
                f"({name}) VRRPv2 advertisement interval {advert / TIMER_HZ:f}s must be an integer. rounding"
            )
            advert += TIMER_HZ // 2
            instance.advert_int_us = advert - advert % TIMER_HZ or TIMER_HZ
        elif instance.version == 3 and advert >= (1 << 12) * TIMER_CENTI_HZ:
            self.error(
                f"({name}) VRRPv3 advertisement interval {advert / TIMER_HZ:.2f}s is out of range. Must be "
                f"less than {(1 << 12) / 100:.2f}s. Setting to {((1 << 12) - 1) / 100:.2f}s"
            )
            instance.advert_int_us = ((1 << 12) - 1) * TIMER_CENTI_HZ
        elif instance.version == 3 and advert % TIMER_CENTI_HZ:
            self.error(
                f"({name}) VRRPv3 advertisement interval {advert / TIMER_HZ:f}s must be in units of 10ms - "
                "rounding"
            )
            advert += TIMER_CENTI_HZ // 2
            instance.advert_int_us = advert - advert % TIMER_CENTI_HZ or TIMER_CENTI_HZ
        instance.master_advert_int_us = instance.advert_int_us

    def check_debounce_timers(self, instance: VrrpInstance) -> None:
        """Interface up/down delays must stay below (down_timer_adverts - 1) advert intervals."""
        delays = self.data.interface_delays.get(instance.interface or "")
        if delays is None:
            return
        if instance.down_timer_adverts == 1:
            if delays.up_us or delays.down_us:
                self.log(
                    f"{instance.name}: cannot use debounce timers with down_timer_adverts = 1 - resetting"
                )
                delays.up_us = delays.down_us = 0
            return
        advert = instance.advert_int_us
        limit = (instance.down_timer_adverts - 1) * advert
        if delays.up_us >= limit or delays.down_us >= limit:
            if delays.up_us >= limit:
                delays.up_us = limit - advert // 256
            if delays.down_us >= limit:
                delays.down_us = limit - advert // 256
            self.log(
                f"{instance.name}: interface {instance.interface} debounce timer(s) not less that "
                f"{instance.down_timer_adverts - 1} * advert_int - resetting"
            )

    # -- VMACs -----------------------------------------------------------------------------------------
    def known_interface(self, name: str) -> bool:
        return name in self.host_interfaces or name in self.data.created_interfaces or name in self.vmacs

    def create_vmac_name(self, prefix: str, vrid: int, family: int) -> str:
        """keepalived's `create_vmac_name`: PREFIX.VRID, else PREFIX1.VRID, PREFIX2.VRID … (IPv6 tries
        PREFIX6 first), cut to fit an interface name, and used by no instance or interface."""
        number = 0
        while True:
            suffix = f"{number if number else ''}.{vrid}"
            name = prefix[: IFNAMSIZ - 1 - len(suffix)] + suffix
            if not any(i.vmac_interface == name for i in self.data.instances) and not self.known_interface(
                name
            ):
                return name
            if family == 6:
                number = 6 if number == 0 else 1 if number == 6 else number + 1 + (number + 1 == 6)
            else:
                number += 1

    def name_vmac(self, instance: VrrpInstance) -> None:
        """The VMAC / ipvlan interface the instance runs on, as keepalived names it: an existing VMAC that
        matches it (one a run that was killed left behind), else the configured name, else a new one."""
        if instance.use_vmac:
            self.adopt_matching_vmac(instance)
        if not instance.vmac_interface:
            prefix = self.defaults.vmac_prefix or "vrrp"
            instance.vmac_interface = self.create_vmac_name(prefix, instance.vrid, instance.family)
        self.vmacs.add(instance.vmac_interface)
        if instance.use_vmac and instance.strict_mode and instance.vmac_xmit_base:
            self.error(f"({instance.name}) xmit_base is incompatible with strict mode - resetting")
            instance.vmac_xmit_base = False
        if instance.promote_secondaries:
            self.error(f"({instance.name}) promote_secondaries is automatically set for vmacs - ignoring")
            instance.promote_secondaries = False
        if instance.interface in self.data.interface_delays:
            self.data.interface_delays[instance.vmac_interface] = self.data.interface_delays[
                instance.interface
            ]

    def adopt_matching_vmac(self, instance: VrrpInstance) -> None:
        """keepalived's search for an existing private macvlan on the instance's interface with its VMAC's
        MAC: the instance takes it over, under its name."""
        base = self.host_interfaces.get(instance.interface or "")
        if base is None:
            return
        mac = vmac_address(instance).hex(":")
        for interface in self.host_interfaces.values():
            if interface.private_macvlan_of != base.index or interface.mac.lower() != mac:
                continue
            self.log(f"({instance.name}) Found matching interface {interface.name}")
            if instance.vmac_interface and instance.vmac_interface != interface.name:
                self.log(
                    f"({instance.name}) vmac name mismatch {instance.vmac_interface} <=> {interface.name}. "
                    f"changing to {interface.name}."
                )
            instance.vmac_interface = interface.name
            return

    def running_interface(self, instance: VrrpInstance) -> str:
        """The interface adverts go out on: the VMAC / ipvlan if there is one."""
        if (instance.use_vmac or instance.use_ipvlan) and instance.vmac_interface:
            return instance.vmac_interface
        return instance.interface or ""

    def place_vips(self, instance: VrrpInstance) -> tuple[bool, bool]:
        """Put every VIP/eVIP on its interface (VMACs included) and attach the instance to those
        interfaces; returns whether some are on other interfaces, and other VMACs."""
        extra_interface = extra_vmac = False
        running = self.running_interface(instance)
        for address in [*instance.vips, *instance.evips]:
            if address.use_vmac:
                address.use_vmac = False
                own = address.ifname is None or address.ifname == instance.interface
                if own and instance.use_vmac and address.family == instance.family:
                    self.error(
                        f"({instance.name}) use_vmac specified for VIP/eVIP {address_text(address)} and vrrp "
                        "instance"
                    )
                    address.ifname = running
                elif (not own or address.family != instance.family) and instance.use_vmac_addr:
                    self.error(
                        f"({instance.name}) use_vmac_addr specified and use_vmac specified for VIP/eVIP "
                        f"{address_text(address)}"
                    )
                else:
                    address.use_vmac = True
            if address.ifname is None or address.ifname == instance.interface:
                placed = True
                if instance.use_vmac and address.family == instance.family:
                    address.ifname = running
                else:
                    address.ifname = instance.interface
                    placed = not (
                        address.use_vmac or (instance.use_vmac_addr and address.family != instance.family)
                    )
            else:
                placed = not (address.use_vmac or instance.use_vmac_addr)
            if not placed:
                prefix = self.defaults.vmac_addr_prefix or self.defaults.vmac_prefix or "vrrp"
                vmac = self.create_vmac_name(prefix, instance.vrid, address.family)
                self.vmacs.add(vmac)
                if not address.dont_track:
                    self.add_tracking(instance, vmac, 0, TrackType.ADDR)
                address.ifname = vmac
            interface = address.ifname or ""
            if interface != running:
                if interface in self.vmacs:
                    extra_vmac = True
                else:
                    extra_interface = True
            own_interface = interface in (running, instance.interface)
            if not address.dont_track and (not instance.dont_track_primary or not own_interface):
                self.add_tracking(instance, interface, 0, TrackType.ADDR)
        return extra_interface, extra_vmac

    # -- tracking --------------------------------------------------------------------------------------
    def own_weight(self, instance: VrrpInstance) -> int:
        return NOT_TRACK_IF if instance.dont_track_primary else 0

    def add_tracking(
        self, instance: VrrpInstance, interface: str, weight: int, kind: TrackType, *, reverse: bool = False
    ) -> None:
        """keepalived's `add_vrrp_to_interface`."""
        tracking = self.data.interface_tracking.setdefault(interface, [])
        if kind != TrackType.VRRP_DYNAMIC:
            configured = TrackType.VRRP | TrackType.IF | TrackType.SG
            for entry in tracking:
                if entry.instance != instance.name:
                    continue
                if (
                    entry.type & configured
                    and kind & configured
                    and NOT_TRACK_IF not in (entry.weight, weight)
                ):
                    self.error(
                        f"({instance.name}) track_interface {interface} is configured on VRRP instance and "
                        "sync group. Remove vrrp instance or sync group config"
                    )
                if entry.weight and weight != NOT_TRACK_IF:
                    entry.weight, entry.reverse = weight, reverse
                entry.type |= kind
                return
        entry = TrackingObj(instance.name, weight, reverse, kind)
        if kind == TrackType.VRRP_DYNAMIC:
            tracking.insert(0, entry)
        else:
            tracking.append(entry)

    def track_own_interfaces(self, instance: VrrpInstance) -> None:
        """The tracked interfaces (not its own one) and the instance's own interface."""
        if instance.interface is None:
            return
        kept = []
        for tracked in instance.track.interfaces:
            if tracked.interface == instance.interface:
                self.error(
                    f"({instance.name}) Ignoring track_interface {tracked.interface} since own interface"
                )
                continue
            kept.append(tracked)
            self.add_tracking(
                instance, tracked.interface, tracked.weight, TrackType.IF, reverse=tracked.reverse
            )
        instance.track.interfaces = kept
        self.add_tracking(instance, instance.interface, self.own_weight(instance), TrackType.VRRP)

    def drop_weights(self, instance: VrrpInstance) -> None:
        """In a sync group (without sync_group_tracking_weight) and for the address owner, weights of the
        instance's own trackers are cleared or the trackers dropped. As in keepalived, the interfaces keep
        the weight of their link to the instance."""
        group = self.data.sync_group(instance.sync_group) if instance.sync_group else None
        in_group = group is not None and not group.tracking_weight
        if not in_group and not instance.owner:
            return
        name, track = instance.name, instance.track
        reason = "SYNC group" if in_group else "address owner"
        for tracked in [t for t in track.interfaces if t.weight]:
            self.error(
                f"({name}) ignoring {tracked.interface} tracked interface "
                f"{'weight ' if in_group else ''}due to {reason}"
            )
            if in_group:
                tracked.weight = 0
        track.interfaces = [t for t in track.interfaces if not t.weight]
        reason = "SYNC group" if in_group else "address_owner"
        for script in [t for t in track.scripts if t.weight]:
            self.error(f"({name}) ignoring tracked script {script.script.name} with weights due to {reason}")
        track.scripts = [t for t in track.scripts if not t.weight]
        kept_files = []
        for file in track.files:
            if file.weight == 1:
                self.error(
                    f"({name}) ignoring weight from tracked file {file.file.name} due to {reason}. "
                    "specify weight 0"
                )
                file.weight = 0
            elif file.weight:
                self.error(
                    f"({name}) ignoring tracked file {file.file.name} with weight {file.weight} due to "
                    f"{reason}"
                )
                continue
            kept_files.append(file)
        track.files = kept_files
        for bfd in [t for t in track.bfds if t.weight]:
            self.error(
                f"({name}) ignoring tracked bfd {bfd.bfd.name} with weight {bfd.weight} due to {reason}"
            )
        track.bfds = [t for t in track.bfds if not t.weight]

    def attach_trackers(self, instance: VrrpInstance) -> None:
        """Link the instance to the scripts, files, processes, BFDs and route/rule interfaces it tracks.
        (keepalived also refuses weighted scripts of the owner here, but they were dropped just before.)"""
        for kind, entries in self.tracked_objects(instance.track):
            for entry in entries:
                self.track(instance.name, entry, kind)
        for route in instance.vroutes:
            if not route.dont_track and route.oif is not None:
                self.add_tracking(instance, route.oif, 0, TrackType.ROUTE)
        for rule in instance.vrules:
            if not rule.dont_track:
                for interface in (rule.iif, rule.oif):
                    if interface is not None:
                        self.add_tracking(instance, interface, 0, TrackType.RULE)

    def track(self, instance: str, entry: Tracked, kind: str) -> None:
        """keepalived's add_vrrp_to_track_script/_file/_process/_bfd: a second link (instance and sync
        group) keeps one entry, with the sync group's weight unless the instance's is 0 (for processes,
        keepalived takes only the weight, not the direction)."""
        target = getattr(entry, kind)
        for existing in target.tracking:
            if existing.instance == instance:
                self.log(
                    f"({instance}) track_{kind} {target.name} is configured on VRRP instance and sync group. "
                    "Remove vrrp instance config"
                )
                if existing.weight:
                    existing.weight = entry.weight
                    if kind != "process":
                        existing.reverse = entry.reverse
                return
        target.tracking.append(TrackingObj(instance, entry.weight, entry.reverse))

    # -- check_vrid_conflicts --------------------------------------------------------------------------
    def vrid_conflicts(self) -> bool:
        had_error = False
        instances = self.data.instances
        for index, first in enumerate(instances):
            for second in self.completion.each(instances[index + 1 :]):
                if (
                    first.family != second.family
                    or first.vrid != second.vrid
                    or first.unicast != second.unicast
                ):
                    continue
                if first.unicast:
                    had_error |= self.unicast_conflict(first, second)
                    continue
                if first.interface != second.interface or first.mcast_dst != second.mcast_dst:
                    continue
                if first.interface in self.host_interfaces:
                    self.error(
                        f"{first.name} and {second.name} both use VRID {first.vrid} with IPv{first.family} "
                        f"on interface {first.interface}"
                    )
                    had_error = True
        return had_error

    def unicast_conflict(self, first: VrrpInstance, second: VrrpInstance) -> bool:
        if first.interface and second.interface and first.interface != second.interface:
            return False
        first_address, second_address = self.local_address(first), self.local_address(second)
        if first_address is None or second_address is None or first_address != second_address:
            return False
        first.unicast_duplicate_vrid = second.unicast_duplicate_vrid = True
        if not any(p.address == q.address for p in first.unicast_peers for q in second.unicast_peers):
            return False
        self.error(f"({first.name}) duplicate VRID conflict with {second.name} VRID {first.vrid}")
        return True

    def local_address(self, instance: VrrpInstance) -> IpAddressValue | None:
        """The address a unicast instance sends from, if it is known yet."""
        if instance.source_from_config:
            return instance.source_address
        return self.interface_address(instance.interface, instance.family, set())

    def interface_address(
        self, name: str | None, family: int, leaving: set[IpAddressValue]
    ) -> IpAddressValue | None:
        """The interface's primary IPv4 address or its IPv6 link-local one, not one of `leaving`."""
        interface: Interface | None = self.host_interfaces.get(name or "")
        if interface is None:
            return None
        texts = interface.ipv4 if family == 4 else interface.ipv6
        for text in texts:
            address = ipaddress.ip_interface(text).ip
            if address in leaving:
                continue
            if family == 4 or address.is_link_local:
                return address
        return None

    # -- check_vmac_conflicts --------------------------------------------------------------------------
    def check_vmac_conflicts(self) -> None:
        instances = self.data.instances
        for index, instance in enumerate(self.completion.each(instances)):
            for other in instances[:index]:
                if instance.vrid != other.vrid or (
                    instance.sync_group and instance.sync_group == other.sync_group
                ):
                    continue
                if (
                    instance.family != other.family
                    and not instance.evip_other_family
                    and not other.evip_other_family
                ):
                    continue
                self.vmac_vips_conflict(instance, other)
                self.vip_vmacs_conflict(instance, other)

    def vmac_vips_conflict(self, instance: VrrpInstance, other: VrrpInstance) -> None:
        if not instance.use_vmac or (instance.family != other.family and not other.evip_other_family):
            return
        addresses = [*other.vips, *other.evips] if instance.family == other.family else other.evips
        for address in addresses:
            if address.ifname == self.running_interface(instance):
                self.error(
                    f"({other.name}) VIP/eVIP {address_text(address)} uses same VMAC as VRRP instance "
                    f"{instance.name}, disabling {instance.name}"
                )
                instance.num_config_faults += 1

    def vip_vmacs_conflict(self, instance: VrrpInstance, other: VrrpInstance) -> None:
        for own_list, own_vips in ((instance.vips, True), (instance.evips, False)):
            for other_list, other_vips in ((other.vips, True), (other.evips, False)):
                if instance.family != other.family:
                    own_ok = not own_vips and instance.evip_other_family
                    other_ok = not other_vips and other.evip_other_family
                    if not (own_ok or other_ok) or (own_vips and other_vips):
                        continue
                    if (own_vips and not other_ok) or (other_vips and not own_ok):
                        continue
                for address in own_list:
                    for other_address in other_list:
                        if address.ifname in self.vmacs and address.ifname == other_address.ifname:
                            self.error(
                                f"({other.name}) VIP/eVIP {address_text(address)} uses same VMAC as VRRP "
                                f"instance {instance.name} VIP/eVIP {address_text(other_address)}, disabling "
                                f"{instance.name}"
                            )
                            instance.num_config_faults += 1

    # -- set_vrrp_src_addr -----------------------------------------------------------------------------
    def set_source_addresses(self) -> None:
        """The interface address each instance sends from, unless configured; VIPs and eVIPs left on an
        interface (keepalived crashed) are not used, as keepalived removes them at start."""
        for instance in self.data.instances:
            if instance.source_from_config or instance.interface not in self.host_interfaces:
                continue
            interface = instance.interface
            if instance.use_ipvlan and instance.family == 6:
                interface = instance.vmac_interface
            leaving = {
                a.address.ip
                for i in self.data.instances
                for a in [*i.vips, *i.evips]
                if a.ifname == interface
            }
            instance.source_address = self.interface_address(interface, instance.family, leaving)

    # -- static_track_group_init -----------------------------------------------------------------------
    def link_track_groups(self) -> None:
        for group in list(self.data.track_groups):
            if group.instance_names is None:
                self.log(f"Static track group {group.name} has no virtual router(s)")
            else:
                for name in group.instance_names:
                    if self.data.instance(name) is None:
                        self.log(
                            f"vrrp instance {name} specified in track group {group.name} doesn't exist - "
                            "ignoring"
                        )
                    else:
                        group.instances.append(name)
                if not group.instances:
                    self.log(f"Static track group {group.name} has no VRRP instance(s)")
            if not group.instances:
                self.log(f"Static track group {group.name} init fails - removing")
                self.data.track_groups.remove(group)
        for kind, items, interfaces in self.static_items():
            for item, interface in zip(items, interfaces, strict=True):
                item_group = self.data.track_group(item.track_group) if item.track_group else None
                if item_group is None:
                    # keepalived 2.2.7 goes on using a group it has just freed; hapair leaves it out
                    continue
                if item.dont_track:
                    self.log(f"Static {kind} has both track_group and no_track set - not tracking")
                    continue
                if interface is not None:
                    for name in item_group.instances:
                        member = self.data.instance(name)
                        if member is not None:
                            self.add_tracking(member, interface, 0, STATIC_TRACK[kind])

    def static_items(self) -> Iterator[tuple[str, list, list[str | None]]]:
        data = self.data
        yield "address", data.static_addresses, [a.ifname for a in data.static_addresses]
        yield "route", data.static_routes, [r.oif for r in data.static_routes]
        yield "rule", data.static_rules, [r.iif for r in data.static_rules]

    # -- sync_group_tracking_init ----------------------------------------------------------------------
    def sync_group_tracking(self) -> None:
        """Link the members of each sync group to what the group tracks; with an address owner among
        them, the group's weights are cleared."""
        for group in self.completion.each(self.data.sync_groups):
            members = [m for m in (self.data.instance(n) for n in group.instances) if m is not None]
            if not members:
                continue
            has_owner = any(member.owner for member in members)
            for kind, entries in self.tracked_objects(group.track):
                for entry in entries:
                    target = getattr(entry, kind)
                    if has_owner and entry.weight:
                        action = "clearing weight" if kind == "script" else "setting weight 0"
                        self.error(
                            f"({group.name}) Cannot have weighted track {kind} '{target.name}' with member "
                            f"having priority {PRIORITY_OWNER} - {action}"
                        )
                        entry.weight = 0
                    for member in members:
                        self.track(member.name, entry, kind)
            for interface in group.track.interfaces:
                if has_owner and interface.weight:
                    self.error(
                        f"({group.name}) Cannot have weighted track interface '{interface.interface}' with "
                        f"member having priority {PRIORITY_OWNER} - clearing weight"
                    )
                    interface.weight = 0
                for member in members:
                    self.add_tracking(
                        member, interface.interface, interface.weight, TrackType.SG, reverse=interface.reverse
                    )
            if group.smtp_alert is None:
                group.smtp_alert = self.default_smtp_alert()

    def default_smtp_alert(self) -> bool:
        defaults = self.defaults
        return next((v for v in (defaults.smtp_alert_vrrp, defaults.smtp_alert) if v is not None), False)

    @staticmethod
    def tracked_objects(track: Trackers) -> list[tuple[str, Sequence[Tracked]]]:
        """The scripts, files, processes and BFDs tracked, by the name of their target field."""
        return [
            ("script", track.scripts),
            ("file", track.files),
            ("process", track.processes),
            ("bfd", track.bfds),
        ]

    # -- after -t: what keepalived settles before it starts ----------------------------------------------
    def settle_sync_group_states(self) -> None:
        """If some members of a sync group cannot start as MASTER, none does."""
        for group in self.data.sync_groups:
            members = [m for m in (self.data.instance(n) for n in group.instances) if m is not None]
            wants_backup = any(m.wantstate == VrrpState.BACKUP or not m.owner for m in members)
            if wants_backup and any(m.wantstate == VrrpState.MASTER for m in members):
                for member in members:
                    if member.wantstate == VrrpState.MASTER:
                        member.wantstate = VrrpState.BACKUP

    def find_lvs_sync_daemon_instance(self) -> None:
        syncd = self.defaults.lvs_syncd
        if syncd.vrrp_instance is None:
            if syncd.sync_id is None:
                syncd.sync_id = 0
            return
        instance = self.data.instance(syncd.vrrp_instance)
        if instance is None:
            self.error(
                f"Unable to find vrrp instance {syncd.vrrp_instance} for lvs_syncd - clearing lvs_syncd "
                "config"
            )
            syncd.interface = None
            syncd.sync_id = None
        elif syncd.sync_id is None:
            syncd.sync_id = instance.vrid

    def remove_unused_scripts(self) -> None:
        for script in self.completion.each(list(self.data.scripts)):
            if not script.tracking:
                self.error(f"Warning - script {script.name} is not used")
                self.data.scripts.remove(script)

    def initial_priorities(self) -> None:
        """The priorities the instances start with (keepalived's initialise_tracking_priorities before any
        script, file, process or BFD has reported): weighted interfaces by their state, `init_fail` scripts
        and BFD sessions as down."""
        for interface, tracking in self.data.interface_tracking.items():
            host_interface = self.host_interfaces.get(interface)
            up = host_interface is not None and host_interface.up
            for entry in tracking:
                instance = self.data.instance(entry.instance)
                if instance is None or entry.weight in (0, NOT_TRACK_IF):
                    continue
                if (entry.weight > 0) == up:
                    instance.total_priority += entry.weight * (-1 if entry.reverse else 1)
        for instance in self.data.instances:
            group = self.data.sync_group(instance.sync_group) if instance.sync_group else None
            scripts = [*instance.track.scripts, *(group.track.scripts if group else [])]
            bfds = [*instance.track.bfds, *(group.track.bfds if group else [])]
            if not instance.owner:
                for script in scripts:
                    if script.weight < 0 and script.script.init_fail:
                        instance.total_priority += script.weight
            for bfd in bfds:
                if bfd.weight < 0:
                    instance.total_priority += bfd.weight * (-1 if bfd.reverse else 1)
            instance.effective_priority = effective_priority(instance.base_priority, instance.total_priority)


STATIC_TRACK = {"address": TrackType.SADDR, "route": TrackType.SROUTE, "rule": TrackType.SRULE}
