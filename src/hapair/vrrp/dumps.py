"""The text of keepalived 2.2.7's VRRP dumps, from the configuration and the running instances' state.

`data_text` is `keepalived.data` (SIGUSR1: vrrp_print.c, vrrp_data.c, global_data.c, vrrp_if.c, vrrp_track.c),
`stats_text` is `keepalived.stats` (SIGUSR2: `vrrp_print_stats`) and `json_text` is `keepalived.json`
(SIGRTMIN+2: vrrp_json.c with lib/json_writer.c), as Debian's 2.2.7 build writes them (VRRP auth, JSON,
nftables, LVS, SNMP, D-Bus, VMAC, track_process, BFD compiled in). keepalived's quirks are kept: a BACKUP
that has heard no master shows the last address its dump formatted as "Master router", and the JSON writer
escapes a backslash as `\\n`. Times are shown in the local time zone, as keepalived does.

What keepalived writes and these dumps leave out, because it describes keepalived internals hapair does not
have:
- whole sections: `Gratuitous ARP delays` (its GARP timers), `Static Addresses`, `Static Routes`,
  `Static Rules`, `Static Track groups`, `VRRP Sockpool`, `VRRP Track files`, `VRRP Track processes`,
  `VRRP Track BFDs`;
- global definitions: `Reload scheduled for ...` / `No reload scheduled`;
- instances: `fd_in N, fd_out N` / `No sockets allocated`, `Virtual Routes :` and `Virtual Rules :` with
  their entries, and every VMAC/IPVLAN line (`Use VMAC ...`, `MAC = ...`, `Use VMAC for VIPs ...`,
  `Use IPVLAN ...`, `Interface = X, vmac on Y`, `Configured interface`, `Duplicate VRID`,
  `Gratuitous ARP for each secondary ...`, `Next gratuitous ARP for such secondary`): `Interface = `
  always names the configured interface; a VIP never shows `nftable_set`;
- interfaces: `Delayed state change running`, the VMAC/IPVLAN and VRF lines, `I/f created by keepalived`,
  `Interface type/base can be changed`, `Done VRID check`, the linkbeat polling lines (an interface keepalived
  polls shows none; one it watches over netlink shows `NIC netlink status update`), `Reset ARP config
  counter`, `Original arp_ignore`, `Original arp_filter`, `rp_filter`, `Original promote_secondaries`,
  `Reset promote_secondaries counter`, `IPv6 forwarding. Last checked`;
- JSON: `vroutes` and `vrules`.
Scope names are iproute2's defaults (keepalived would prefer names from /etc/iproute2/rt_scopes).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum, auto
from ipaddress import IPv4Address, IPv6Address
from typing import Protocol

from hapair.config.keepalived.keywords.vrrp import cmd_str
from hapair.config.keepalived.model import KeepalivedConfig
from hapair.config.keepalived.model.addresses import INFINITY_LIFE_TIME, IpAddress
from hapair.config.keepalived.model.global_defs import (
    GlobalDefs,
    LvsFlushOnStop,
    NotifyFifo,
    ProcessScheduling,
    RxBufsPolicy,
)
from hapair.config.keepalived.model.scripts import NotifyScript
from hapair.config.keepalived.model.vrrp import (
    AuthType,
    ChecksumCompat,
    NotifyScripts,
    Trackers,
    TrackingObj,
    TrackType,
    VrrpInstance,
    VrrpScript,
    VrrpState,
    VrrpSyncGroup,
)
from hapair.config.keepalived.numbers import TIMER_HZ

from .stats import Stats
from .tracking import InitState

DEFAULT_INTERFACE = "eth0"  # keepalived's DFLT_INT
DEFAULT_UMASK = 0o177  # S_IXUSR | S_IRWXG | S_IRWXO
LIBNFTNL_VERSION = "1.2.3"  # what Debian's keepalived 2.2.7 was built against
SNMP_DEFAULT_SOCKET = "default (unix:/var/agentx/master)"

IFF_UP = 0x1
IFF_BROADCAST = 0x2
IFF_LOOPBACK = 0x8
IFF_POINTOPOINT = 0x10
IFF_RUNNING = 0x40
IFF_NOARP = 0x80
IFF_MULTICAST = 0x1000
ARPHRD_ETHER = 1
ARPHRD_INFINIBAND = 32
ARPHRD_LOOPBACK = 772

_SCOPE_NAMES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
_STATE_NAMES = {
    VrrpState.INIT: "INIT",
    VrrpState.BACKUP: "BACKUP",
    VrrpState.MASTER: "MASTER",
    VrrpState.FAULT: "FAULT",
}
_CHECKSUM_COMPAT_NAMES = {
    ChecksumCompat.NONE: "no",
    ChecksumCompat.NEVER: "never",
    ChecksumCompat.CONFIG: "config",
    ChecksumCompat.AUTO: "auto",
}


class ScriptState(Enum):
    """Whether a vrrp_script's command is running (keepalived's SCRIPT_STATE_*)."""

    IDLE = auto()
    RUNNING = auto()
    REQUESTING_TERMINATION = auto()
    FORCING_TERMINATION = auto()


_INIT_STATE_NAMES = {
    InitState.INIT: "INIT",
    InitState.FAILED: "INIT/FAILED",
    InitState.DONE: "unknown",
}
_SCRIPT_STATE_NAMES = {
    ScriptState.IDLE: "idle",
    ScriptState.RUNNING: "running",
    ScriptState.REQUESTING_TERMINATION: "requested termination",
    ScriptState.FORCING_TERMINATION: "forcing termination",
}


class RouterView(Protocol):
    """What a running instance shows. Times are epoch seconds."""

    instance: VrrpInstance
    state: VrrpState
    wantstate: VrrpState  # the state it is going to (keepalived's wantstate)
    effective_priority: int
    total_priority: int  # base priority plus the tracking weights, before clamping to 1..254
    master_priority: int
    master_advert_int_us: int
    master_address: IPv4Address | None  # None: no master heard yet
    last_transition: float
    read_timeout: float | None  # when the instance's timer fires next; None: disabled
    master_down_timer_us: int
    num_script_if_fault: int  # tracked interfaces and scripts that hold it in FAULT
    num_script_init: int  # tracked scripts that have not given a result yet
    vips_set: bool
    stats: Stats


class ScriptView(Protocol):
    """A vrrp_script's state. `result` counts as keepalived's does: GOOD from `rise` up to rise+fall-1."""

    result: int
    init_state: InitState
    state: ScriptState


class SyncGroupView(Protocol):
    state: VrrpState
    num_member_fault: int
    num_member_init: int


class InterfaceView(Protocol):
    """A network interface as netlink describes it. `ipv4`/`ipv6` list all its addresses in the kernel's
    order (the dump, like keepalived, skips the instances' VIPs and eVIPs on it and IPv6 addresses that are
    not link-local; the first left is the primary); `mac`/`broadcast` are hardware addresses as
    "aa:bb:..." ("" if none); `seen_up` says whether it has been UP and RUNNING since it appeared."""

    name: str
    index: int
    flags: int  # IFF_*
    mtu: int
    hw_type: int  # ARPHRD_*
    mac: str
    broadcast: str
    ipv4: Sequence[IPv4Address]
    ipv6: Sequence[IPv6Address]
    seen_up: bool


# -- keepalived.stats ----------------------------------------------------------------------------------------


def stats_text(routers: Sequence[RouterView]) -> str:
    """keepalived.stats: each instance's counters."""
    return "".join(_join(_stats_lines(router.instance.name, router.stats)) for router in routers)


def _stats_lines(name: str, stats: Stats) -> list[str]:
    return [
        f"VRRP Instance: {name}",
        "  Advertisements:",
        f"    Received: {stats.advert_rcvd}",
        f"    Sent: {stats.advert_sent}",
        f"  Became master: {stats.become_master}",
        f"  Released master: {stats.release_master}",
        "  Packet Errors:",
        f"    Length: {stats.packet_len_err}",
        f"    TTL: {stats.ip_ttl_err}",
        f"    Invalid Type: {stats.invalid_type_rcvd}",
        f"    Advertisement Interval: {stats.advert_interval_err}",
        f"    Address List: {stats.addr_list_err}",
        "  Authentication Errors:",
        f"    Invalid Type: {stats.invalid_authtype}",
        f"    Type Mismatch: {stats.authtype_mismatch}",
        f"    Failure: {stats.auth_failure}",
        "  Priority Zero:",
        f"    Received: {stats.pri_zero_rcvd}",
        f"    Sent: {stats.pri_zero_sent}",
    ]


# -- keepalived.json -----------------------------------------------------------------------------------------


def json_text(routers: Sequence[RouterView]) -> str:
    """keepalived.json: one `{"data":{...},"stats":{...}}` per instance, compact, ending in a newline.
    (keepalived writes no file at all when there are no instances.)"""
    return "[" + ",".join(_json_router(router) for router in routers) + "]\n"


def _json_router(router: RouterView) -> str:
    return _json_object([("data", _json_object(_json_data(router))), ("stats", _json_stats(router.stats))])


def _json_data(router: RouterView) -> list[tuple[str, str]]:
    instance = router.instance
    fields: list[tuple[str, str]] = [
        ("iname", _json_string(instance.name)),
        ("dont_track_primary", _json_uint(instance.dont_track_primary)),
        ("skip_check_adv_addr", _json_uint(instance.skip_check_adv_addr)),
        ("strict_mode", _json_uint(bool(instance.strict_mode))),
        ("vmac_ifname", _json_string(instance.vmac_interface)),
    ]
    if instance.interface is not None:
        fields.append(("ifp_ifname", _json_string(instance.interface)))
    fields += [
        ("master_priority", _json_uint(router.master_priority)),
        ("last_transition", f"{router.last_transition:f}"),
        ("garp_delay", _c_g(instance.garp_delay_us / TIMER_HZ)),
        ("garp_refresh", _json_uint(instance.garp_refresh_us // TIMER_HZ)),
        ("garp_rep", _json_uint(instance.garp_rep)),
        ("garp_refresh_rep", _json_uint(instance.garp_refresh_rep)),
        ("garp_lower_prio_delay", _json_uint(_lower_prio_delay_us(instance) // TIMER_HZ)),
        ("garp_lower_prio_rep", _json_uint(_lower_prio_rep(instance))),
        ("lower_prio_no_advert", _json_uint(bool(instance.lower_prio_no_advert))),
        ("higher_prio_send_advert", _json_uint(bool(instance.higher_prio_send_advert))),
        ("vrid", _json_uint(instance.vrid)),
        ("base_priority", _json_uint(instance.base_priority)),
        ("effective_priority", _json_uint(router.effective_priority)),
        ("vipset", _json_bool(router.vips_set)),
        ("promote_secondaries", _json_bool(instance.promote_secondaries)),
        ("adver_int", _c_g(instance.advert_int_us / TIMER_HZ)),
        ("master_adver_int", _c_g(router.master_advert_int_us / TIMER_HZ)),
        ("accept", _json_uint(bool(instance.accept))),
        ("nopreempt", _json_bool(instance.nopreempt)),
        ("preempt_delay", _json_uint(instance.preempt_delay_us // TIMER_HZ)),
        ("state", _json_uint(router.state)),
        ("wantstate", _json_uint(router.wantstate)),
        ("version", _json_uint(instance.version)),
        ("smtp_alert", _json_bool(bool(instance.smtp_alert))),
        ("notify_deleted", _json_bool(instance.notify_deleted)),
    ]
    fields += [(key, _json_string(cmd_str(script))) for key, script in _json_notify_scripts(instance.notify)]
    fields += _json_array("vips", [_address_text(ip, instance, router.vips_set) for ip in instance.vips])
    fields += _json_array("evips", [_address_text(ip, instance, router.vips_set) for ip in instance.evips])
    fields += _json_array("track_ifp", [tracked.interface for tracked in instance.track.interfaces])
    fields += _json_array(
        "track_script", [cmd_str(tracked.script.script) for tracked in instance.track.scripts]
    )
    fields.append(("auth_type", _json_uint(instance.auth_type)))
    if instance.auth_type != AuthType.NONE:
        fields.append(("auth_data", _json_string(_password(instance.auth_data))))
    return fields


def _json_notify_scripts(notify: NotifyScripts) -> list[tuple[str, NotifyScript]]:
    scripts = [
        ("script_backup", notify.backup),
        ("script_master", notify.master),
        ("script_fault", notify.fault),
        ("script_stop", notify.stop),
        ("script_deleted", notify.deleted),
        ("script", notify.notify),
        ("script_master_rx_lower_pri", notify.master_rx_lower_pri),
    ]
    return [(key, script) for key, script in scripts if script is not None]


_JSON_STATS = (
    "advert_rcvd",
    "advert_sent",
    "become_master",
    "release_master",
    "packet_len_err",
    "advert_interval_err",
    "ip_ttl_err",
    "invalid_type_rcvd",
    "addr_list_err",
    "invalid_authtype",
    "authtype_mismatch",
    "auth_failure",
    "pri_zero_rcvd",
    "pri_zero_sent",
)


def _json_stats(stats: Stats) -> str:
    return _json_object([(name, _json_uint(getattr(stats, name))) for name in _JSON_STATS])


def _json_array(key: str, values: list[str]) -> list[tuple[str, str]]:
    """keepalived leaves out an empty list's key altogether."""
    if not values:
        return []
    return [(key, "[" + ",".join(_json_string(value) for value in values) + "]")]


def _json_object(fields: Iterable[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{_json_string(key)}:{value}" for key, value in fields) + "}"


_JSON_ESCAPES = {
    "\t": "\\t",
    "\n": "\\n",
    "\r": "\\r",
    "\f": "\\f",
    "\b": "\\b",
    "\\": "\\n",  # sic: json_writer.c's jsonw_puts
    '"': '\\"',
    "/": "\\/",
}


def _json_string(value: str) -> str:
    return '"' + "".join(_JSON_ESCAPES.get(char, char) for char in value) + '"'


def _json_uint(value: int) -> str:
    return str(int(value))


def _json_bool(value: bool) -> str:
    return "true" if value else "false"


# -- keepalived.data -----------------------------------------------------------------------------------------


def data_text(
    config: KeepalivedConfig,
    routers: Sequence[RouterView],
    *,
    scripts: Mapping[str, ScriptView] | None = None,
    sync_groups: Mapping[str, SyncGroupView] | None = None,
    interfaces: Sequence[InterfaceView] = (),
    default_script_ids: tuple[int, int] | None = (0, 0),
    realtime: tuple[int, int] = (0, 0),
) -> str:
    """keepalived.data. `routers` are the instances in configuration order; `scripts` the vrrp_scripts'
    states by name (a script missing from it shows its start-up state); `sync_groups` the state of every
    sync group in the configuration, by name; `interfaces` every interface, in netlink's order;
    `default_script_ids` the default script user's uid and gid (None if none could be set); `realtime`
    the process's real-time priority and RLIMIT_RTTIME in microseconds now, 0 for each not set."""
    shown = _AddressBuffer()
    lines = _global_lines(config.global_defs, default_script_ids, shown)
    lines += _current_realtime_lines(*realtime)
    indexes = {interface.name: interface.index for interface in interfaces}
    if routers:
        lines.append("------< VRRP Topology >------")
        for router in routers:
            lines += _instance_lines(router, shown, indexes)
    if config.vrrp.sync_groups:
        lines.append("------< VRRP Sync groups >------")
        for group in config.vrrp.sync_groups:
            lines += _sync_group_lines(group, (sync_groups or {})[group.name])
    if config.vrrp.scripts:
        lines.append("------< VRRP Scripts >------")
        for script in config.vrrp.scripts:
            lines += _script_lines(script, (scripts or {}).get(script.name))
    if interfaces:
        lines.append("------< Interfaces >------")
        for interface in interfaces:
            lines += _interface_lines(interface, config)
    return _join(lines)


class _AddressBuffer:
    """keepalived's `inet_sockaddrtos` formats into one static buffer, and leaves it unchanged for an
    address of no family: so "Master router" of a BACKUP that has heard no master shows whatever address was
    formatted last."""

    def __init__(self) -> None:
        self.text = ""

    def show(self, address: IPv4Address | IPv6Address | None) -> str:
        if address is not None:
            self.text = str(address)
        return self.text


# -- global definitions


def _global_lines(defs: GlobalDefs, script_ids: tuple[int, int] | None, shown: _AddressBuffer) -> list[str]:
    return [
        "------< Global definitions >------",
        *_global_identity_lines(defs, shown),
        *_global_reload_lines(defs),
        *_global_interfaces_and_lvs_timeouts_lines(defs),
        *_global_lvs_lines(defs, shown),
        *_global_fifo_lines(defs),
        *_global_vrrp_lines(defs, shown),
        *_global_nftables_lines(defs),
        *_global_vrrp_check_lines(defs),
        *_global_process_lines(defs),
        *_global_snmp_dbus_lines(defs),
        *_global_misc_lines(defs, script_ids),
    ]


def _global_identity_lines(defs: GlobalDefs, shown: _AddressBuffer) -> list[str]:
    lines = []
    if defs.config_save_dir:
        lines.append(f" Config save dir = {defs.config_save_dir}")
    lines.append(f" Network namespace = {defs.network_namespace or '(default)'}")
    ipvs = defs.network_namespace_ipvs
    lines.append(f" Network namespace ipvs = {'(main namespace)' if ipvs is None else ipvs or '(default)'}")
    names = (
        ("Instance name", defs.instance_name),
        ("Parent process name", defs.process_name),
        ("VRRP process name", defs.vrrp_process.name),
        ("LVS process name", defs.checker_process.name),
        ("BFD process name", defs.bfd_process.name),
        ("Router ID", defs.router_id),
    )
    lines += [f" {label} = {value}" for label, value in names if value]
    if defs.smtp_server is not None:
        lines.append(f" Smtp server = {shown.show(defs.smtp_server)}")
        lines.append(f" Smtp server port = {defs.smtp_port}")
    if defs.smtp_helo_name:
        lines.append(f" Smtp HELO name = {defs.smtp_helo_name}")
    if defs.smtp_connection_timeout_us:
        lines.append(f" Smtp server connection timeout = {defs.smtp_connection_timeout_us // TIMER_HZ}")
    if defs.email_from:
        lines.append(f" Email notification from = {defs.email_from}")
        lines.append(" Email notification to:")
        lines += [f"   {address}" for address in defs.email]
    lines.append(f" Default smtp_alert = {_on_off_unset(defs.smtp_alert)}")
    lines.append(f" Default smtp_alert_vrrp = {_on_off_unset(defs.smtp_alert_vrrp)}")
    lines.append(f" Default smtp_alert_checker = {_on_off_unset(defs.smtp_alert_checker)}")
    lines.append(f" Checkers log all failures = {_true_false(defs.checker_log_all_failures)}")
    return lines


def _global_reload_lines(defs: GlobalDefs) -> list[str]:
    lines = []
    if defs.reload_check_config:
        lines.append(f" Test config before reload, log to {defs.reload_check_config}")
    else:
        lines.append(" No test config before reload")
    if defs.reload_time_file:
        lines.append(
            f" Reload time file = {defs.reload_time_file}{' (repeat)' if defs.reload_repeat else ''}"
        )
    if defs.reload_file:
        lines.append(f" Reload_file = {defs.reload_file}")
    if defs.tmp_config_directory:
        lines.append(f" config save directory = {defs.tmp_config_directory}")
    if defs.data_use_instance:
        lines.append(" Use instance name in data dumps")
    if defs.startup_script is not None:
        script = defs.startup_script
        timeout = defs.startup_script_timeout_us // TIMER_HZ
        lines.append(
            f" Startup script = {cmd_str(script)}, uid:gid {script.uid}:{script.gid}, timeout {timeout}"
        )
    if defs.shutdown_script is not None:
        script = defs.shutdown_script
        timeout = defs.shutdown_script_timeout_us // TIMER_HZ
        lines.append(
            f" Shutdown script = {cmd_str(script)}, uid:gid {script.uid}:{script.gid} timeout {timeout}"
        )
    return lines


def _global_interfaces_and_lvs_timeouts_lines(defs: GlobalDefs) -> list[str]:
    lines = [f" Dynamic interfaces = {_true_false(defs.dynamic_interfaces)}"]
    if defs.dynamic_interfaces:
        lines.append(f" Allow interface changes = {_true_false(defs.allow_if_changes)}")
    if defs.no_email_faults:
        lines.append(" Send emails for fault transitions = off")
    timeouts = defs.lvs_timeouts
    # sic: keepalived labels the UDP timeout as TCP
    for label, value in (
        ("TCP", timeouts.tcp_us),
        ("TCP FIN", timeouts.tcp_fin_us),
        ("TCP", timeouts.udp_us),
    ):
        if value:
            lines.append(f" LVS {label} timeout = {value // TIMER_HZ}")
    lines.append(f" Default interface = {defs.default_interface or DEFAULT_INTERFACE}")
    lines.append(f" Disable local IGMP = {'yes' if defs.disable_local_igmp else 'no'}")
    return lines


def _global_lvs_lines(defs: GlobalDefs, shown: _AddressBuffer) -> list[str]:
    lines = []
    syncd = defs.lvs_syncd
    if syncd.interface:
        if syncd.vrrp_instance:
            lines.append(f" LVS syncd vrrp instance = {syncd.vrrp_instance}")
        lines.append(f" LVS syncd interface = {syncd.interface}")
        lines.append(f" LVS syncd syncid = {syncd.sync_id or 0}")
        if syncd.max_length:
            lines.append(f" LVS syncd maxlen = {syncd.max_length}")
        if syncd.multicast_group is not None:
            lines.append(f" LVS mcast group {shown.show(syncd.multicast_group)}")
        if syncd.multicast_port:
            lines.append(f" LVS syncd mcast port = {syncd.multicast_port}")
        if syncd.multicast_ttl:
            lines.append(f" LVS syncd mcast ttl = {syncd.multicast_ttl}")
    lines.append(f" LVS flush = {_true_false(defs.lvs_flush)}")
    flush_on_stop = {LvsFlushOnStop.FULL: "full", LvsFlushOnStop.VS: "VS"}.get(
        defs.lvs_flush_on_stop, "disabled"
    )
    lines.append(f" LVS flush on stop = {flush_on_stop}")
    return lines


def _global_fifo_lines(defs: GlobalDefs) -> list[str]:
    return [
        *_fifo_lines("Global notify fifo", defs.notify_fifo),
        *_fifo_lines("VRRP notify fifo", defs.vrrp_notify_fifo),
        *_fifo_lines("LVS notify fifo", defs.lvs_notify_fifo),
    ]


def _fifo_lines(label: str, fifo: NotifyFifo) -> list[str]:
    if not fifo.name:
        return []
    lines = [f" {label} = {fifo.name}, uid:gid {fifo.uid}:{fifo.gid}"]
    if fifo.script is not None:
        lines.append(f" {label} script = {cmd_str(fifo.script)}, uid:gid {fifo.script.uid}:{fifo.script.gid}")
    return lines


def _global_vrrp_lines(defs: GlobalDefs, shown: _AddressBuffer) -> list[str]:
    lower_prio_delay = defs.vrrp_garp_lower_prio_delay_us
    lower_prio_rep = defs.vrrp_garp_lower_prio_rep
    extra_if = "i/f" if defs.vrrp_garp_extra_if_all else "VMAC"
    send_lower = _true_false(not defs.vrrp_lower_prio_no_advert)
    send_higher = _true_false(defs.vrrp_higher_prio_send_advert)
    return [
        f" FIFO write vrrp states on reload = {_true_false(defs.fifo_write_vrrp_states_on_reload)}",
        f" VRRP notify priority changes = {_true_false(defs.vrrp_notify_priority_changes)}",
        f" VRRP IPv4 mcast group = {shown.show(defs.vrrp_mcast_group4)}",
        f" VRRP IPv6 mcast group = {shown.show(defs.vrrp_mcast_group6)}",
        f" Gratuitous ARP delay = {defs.vrrp_garp_delay_us // TIMER_HZ}",
        f" Gratuitous ARP repeat = {defs.vrrp_garp_rep}",
        f" Gratuitous ARP refresh timer = {defs.vrrp_garp_refresh_us // TIMER_HZ}",
        f" Gratuitous ARP refresh repeat = {defs.vrrp_garp_refresh_rep}",
        " Gratuitous ARP lower priority delay = "
        f"{(defs.vrrp_garp_delay_us if lower_prio_delay is None else lower_prio_delay) // TIMER_HZ}",
        " Gratuitous ARP lower priority repeat = "
        f"{defs.vrrp_garp_rep if lower_prio_rep is None else lower_prio_rep}",
        f" Num adverts before down = {defs.vrrp_down_timer_adverts}",
        f" Gratuitous ARP for each secondary {extra_if} = {defs.vrrp_garp_extra_if_interval_us // TIMER_HZ}s",
        f" Send advert after receive lower priority advert = {send_lower}",
        f" Send advert after receive higher priority advert = {send_higher}",
        f" Gratuitous ARP interval = {defs.vrrp_garp_interval_us / TIMER_HZ:f}",
        f" Gratuitous NA interval = {defs.vrrp_gna_interval_us / TIMER_HZ:f}",
        f" VRRP default protocol version = {defs.vrrp_version}",
    ]


def _global_nftables_lines(defs: GlobalDefs) -> list[str]:
    lines = []
    if defs.vrrp_nf_table_name:
        lines.append(f" nftables table name = {defs.vrrp_nf_table_name}")
        lines.append(f" nftables base chain priority = {defs.vrrp_nf_chain_priority}")
        ifindex = "" if defs.vrrp_nf_ifindex else "don't "
        lines.append(f" nftables {ifindex}force use ifindex for link local IPv6")
    if defs.ipvs_nf_table_name:
        lines.append(f" ipvs nftables table name = {defs.ipvs_nf_table_name}")
        lines.append(f" ipvs nftables base chain priority = {defs.ipvs_nf_chain_priority}")
        lines.append(f" ipvs nftables start fwmark = {defs.ipvs_nftables_start_fwmark}")
    lines.append(f" nftables with{'' if defs.nf_counters else 'out'} counters")
    lines.append(f" libnftnl version {LIBNFTNL_VERSION}")
    return lines


def _global_vrrp_check_lines(defs: GlobalDefs) -> list[str]:
    return [
        f" VRRP check unicast_src = {_true_false(defs.vrrp_check_unicast_src)}",
        f" VRRP skip check advert addresses = {_true_false(defs.vrrp_skip_check_adv_addr)}",
        f" VRRP strict mode = {_true_false(defs.vrrp_strict)}",
    ]


def _global_process_lines(defs: GlobalDefs) -> list[str]:
    auto_priority = "Disabled" if defs.max_auto_priority == -1 else str(defs.max_auto_priority)
    return [
        f" Max auto priority = {auto_priority}",
        f" Min auto priority delay = {defs.min_auto_priority_delay_us} usecs",
        *_process_lines("VRRP", defs.vrrp_process),
        *_process_lines("Checker", defs.checker_process),
        *_process_lines("BFD", defs.bfd_process),
    ]


def _process_lines(label: str, process: ProcessScheduling) -> list[str]:
    lines = [
        f" {label} process priority = {process.priority}",
        f" {label} don't swap = {_true_false(process.no_swap)}",
        f" {label} realtime priority = {process.realtime_priority}",
    ]
    if process.cpu_affinity:
        cpus = "".join(f"{cpu} " for cpu in sorted(set(process.cpu_affinity)))
        lines.append(f" {label} CPU Affinity = {cpus}")
    lines.append(f" {label} realtime limit = {process.rlimit_rttime_us}")
    return lines


def _global_snmp_dbus_lines(defs: GlobalDefs) -> list[str]:
    return [
        f" SNMP vrrp {_enabled(defs.enable_snmp_vrrp)}",
        f" SNMP checker {_enabled(defs.enable_snmp_checker)}",
        f" SNMP RFCv2 {_enabled(defs.enable_snmp_rfcv2)}",
        f" SNMP RFCv3 {_enabled(defs.enable_snmp_rfcv3)}",
        f" SNMP traps {_enabled(defs.enable_traps)}",
        f" SNMP socket = {defs.snmp_socket or SNMP_DEFAULT_SOCKET}",
        f" DBus {_enabled(defs.enable_dbus)}",
        f" DBus service name = {defs.dbus_service_name or ''}",
    ]


def _global_misc_lines(defs: GlobalDefs, script_ids: tuple[int, int] | None) -> list[str]:
    lines = [f" Script security {_enabled(defs.script_security)}"]
    if script_ids is not None:
        lines.append(f" Default script uid:gid {script_ids[0]}:{script_ids[1]}")
    buffers = (
        ("vrrp_netlink_cmd_rcv_bufs", defs.vrrp_netlink_cmd_rcv_bufs),
        ("vrrp_netlink_cmd_rcv_bufs_force", defs.vrrp_netlink_cmd_rcv_bufs_force),
        ("vrrp_netlink_monitor_rcv_bufs", defs.vrrp_netlink_monitor_rcv_bufs),
        ("vrrp_netlink_monitor_rcv_bufs_force", defs.vrrp_netlink_monitor_rcv_bufs_force),
        ("process_monitor_rcv_bufs", defs.process_monitor_rcv_bufs),
        ("process_monitor_rcv_bufs_force", defs.process_monitor_rcv_bufs_force),
        ("lvs_netlink_cmd_rcv_bufs", defs.lvs_netlink_cmd_rcv_bufs),
        ("lvs_netlink_cmd_rcv_bufs_force", defs.lvs_netlink_cmd_rcv_bufs_force),
        ("lvs_netlink_monitor_rcv_bufs", defs.lvs_netlink_monitor_rcv_bufs),
        ("lvs_netlink_monitor_rcv_bufs_force", defs.lvs_netlink_monitor_rcv_bufs_force),
        ("rs_init_notifies", defs.rs_init_notifies),
        ("no_checker_emails", defs.no_checker_emails),
    )
    lines += [f" {name} = {int(value)}" for name, value in buffers]
    if defs.vrrp_rx_bufs_policy == RxBufsPolicy.MTU:
        lines.append(" rx_bufs_policy = MTU")
    elif defs.vrrp_rx_bufs_policy == RxBufsPolicy.ADVERT:
        lines.append(" rx_bufs_policy = ADVERT")
    elif defs.vrrp_rx_bufs_policy == RxBufsPolicy.SIZE:
        lines.append(f" rx_bufs_size = {defs.vrrp_rx_bufs_size}")
    lines.append(f" rx_bufs_multiples = {defs.vrrp_rx_bufs_multiplier}")
    lines.append(f" umask = 0{DEFAULT_UMASK if defs.umask is None else defs.umask:o}")
    if defs.vrrp_startup_delay_us:
        lines.append(f" vrrp_startup_delay = {_c_g(defs.vrrp_startup_delay_us / TIMER_HZ)}")
    if defs.log_unknown_vrids:
        lines.append(" log_unknown_vrids")
    if defs.vmac_prefix:
        lines.append(f" VMAC prefix = {defs.vmac_prefix}")
    if defs.vmac_addr_prefix:
        lines.append(f" VMAC address prefix = {defs.vmac_addr_prefix}")
    return lines


def _current_realtime_lines(priority: int, limit_us: int) -> list[str]:
    lines = [f" current realtime priority = {priority}"] if priority else []
    return lines + ([f" current realtime time limit = {limit_us}"] if limit_us else [])


# -- instances


def _instance_lines(router: RouterView, shown: _AddressBuffer, indexes: Mapping[str, int]) -> list[str]:
    instance = router.instance
    return [
        *_instance_state_lines(router, shown),
        *_instance_address_lines(instance, shown, indexes),
        *_instance_election_lines(router),
        *_instance_ip_lines(instance, router.vips_set, shown),
        *_tracker_lines(instance.track, process_label="Tracked processes :"),
        f"   Using smtp notification = {_yes_no(instance.smtp_alert)}",
        f"   Notify deleted = {'Deleted' if instance.notify_deleted else 'Fault'}",
        *_notify_lines(instance.notify, with_deleted=True),
        f"   Notify priority changes = {_true_false(bool(instance.notify_priority_changes))}",
    ]


def _instance_state_lines(router: RouterView, shown: _AddressBuffer) -> list[str]:
    instance = router.instance
    lines = [f" VRRP Instance = {instance.name}", f"   VRRP Version = {instance.version}"]
    if instance.sync_group:
        lines.append(f"   Sync group = {instance.sync_group}")
    if instance.family == 6:
        lines.append("   Using Native IPv6")
    lines.append(f"   State = {_STATE_NAMES[router.state]}")
    if router.state == VrrpState.BACKUP:
        lines.append(f"   Master router = {shown.show(router.master_address)}")
        lines.append(f"   Master priority = {router.master_priority}")
        if instance.version == 3:
            lines.append(f"   Master advert int = {router.master_advert_int_us / TIMER_HZ:.2f} sec")
    lines += _flags_lines(instance)
    lines += [
        f"   Wantstate = {_STATE_NAMES[router.wantstate]}",
        f"   Number of config faults = {instance.num_config_faults}",
        f"   Number of interface and track script faults = {router.num_script_if_fault}",
        f"   Number of track scripts init = {router.num_script_init}",
        f"   Last transition = {_timeval_text(router.last_transition)}",
    ]
    read_timeout = "DISABLED" if router.read_timeout is None else _timeval_text(router.read_timeout)
    lines.append(f"   Read timeout = {read_timeout}")
    lines.append(f"   Master down timer = {router.master_down_timer_us} usecs")
    return lines


def _flags_lines(instance: VrrpInstance) -> list[str]:
    """keepalived lists only the unicast flags, but any flag of the instance makes it say `Flags:`."""
    if not _has_flags(instance):
        return ["   Flags: none"]
    lines = ["   Flags:"]
    if instance.unicast:
        lines.append(
            f"     Using unicast{' with VRID duplication' if instance.unicast_duplicate_vrid else ''}"
        )
    elif instance.unicast_configured:
        lines.append("     Unicast config option specified but using multicast")
    if instance.unicast_fault_no_peer:
        lines.append("     If unicast go to fault state if no peers")
    return lines


def _has_flags(instance: VrrpInstance) -> bool:
    return any(
        (
            instance.unicast_configured,
            instance.unicast,
            instance.unicast_duplicate_vrid,
            instance.unicast_fault_no_peer,
            instance.dont_track_primary,
            instance.linkbeat_use_polling,
            instance.skip_check_adv_addr,
            instance.source_from_config,
            instance.track_source_address,
            instance.check_unicast_src,
            instance.promote_secondaries,
            instance.evip_other_family,
            instance.nopreempt,
            instance.use_vmac,
            instance.vmac_xmit_base,
            instance.use_vmac_addr,
            instance.use_ipvlan,
            instance.vmac_mac is not None,
            instance.garp_extra_if_all,
        )
    )


def _instance_address_lines(
    instance: VrrpInstance, shown: _AddressBuffer, indexes: Mapping[str, int]
) -> list[str]:
    lines = [f"   Interface = {instance.interface or 'not configured'}"]
    if instance.vrf_interface:
        lines.append(f"   VRF = {instance.vrf_interface}")
    if instance.dont_track_primary:
        lines.append("   VRRP interface tracking disabled")
    if instance.skip_check_adv_addr:
        lines.append("   Skip checking advert IP addresses")
    if instance.strict_mode:
        lines.append("   Enforcing strict VRRP compliance")
    source = "(none)" if instance.source_address is None else shown.show(instance.source_address)
    lines.append(
        f"   Using src_ip = {source}{' (from configuration)' if instance.source_from_config else ''}"
    )
    if not instance.unicast:
        group = shown.show(instance.mcast_dst)
        if instance.family == 4:
            lines.append(f"   Multicast address {group}")
        else:
            index = indexes.get(instance.interface or "", 0)
            lines.append(f"   Multicast address {group}, ifindex {index}")
    send_lower = _true_false(not instance.lower_prio_no_advert)
    send_higher = _true_false(bool(instance.higher_prio_send_advert))
    lines += [
        f"   Gratuitous ARP delay = {instance.garp_delay_us // TIMER_HZ}",
        f"   Gratuitous ARP repeat = {instance.garp_rep}",
        f"   Gratuitous ARP refresh = {instance.garp_refresh_us // TIMER_HZ}",
        f"   Gratuitous ARP refresh repeat = {instance.garp_refresh_rep}",
        f"   Gratuitous ARP lower priority delay = {_lower_prio_delay_us(instance) // TIMER_HZ}",
        f"   Gratuitous ARP lower priority repeat = {_lower_prio_rep(instance)}",
        f"   Down timer adverts = {instance.down_timer_adverts}",
        f"   Send advert after receive lower priority advert = {send_lower}",
        f"   Send advert after receive higher priority advert = {send_higher}",
    ]
    return lines


def _instance_election_lines(router: RouterView) -> list[str]:
    instance = router.instance
    backup_v3 = router.state == VrrpState.BACKUP and instance.version == 3
    if instance.version == 2:
        interval = f"{instance.advert_int_us // TIMER_HZ} sec"
    else:
        interval = f"{instance.advert_int_us // 1000} milli-sec"
    lines = [
        f"   Virtual Router ID = {instance.vrid}",
        f"   Priority = {instance.base_priority}",
        f"   Effective priority = {router.effective_priority}",
        f"   Total priority = {router.total_priority}",
        f"   Advert interval = {interval}",
    ]
    if backup_v3:
        lines.append(f"   Master advert interval = {router.master_advert_int_us // 1000} milli-sec")
    lines.append(f"   Accept = {_enabled(bool(instance.accept))}")
    lines.append(f"   Preempt = {_enabled(not instance.nopreempt)}")
    if instance.preempt_delay_us:
        lines.append(f"   Preempt delay = {_c_g(instance.preempt_delay_us / TIMER_HZ)} secs")
    lines.append(f"   Promote_secondaries = {_enabled(instance.promote_secondaries)}")
    if instance.auth_type != AuthType.NONE:
        kind = "IPSEC_AH" if instance.auth_type == AuthType.AH else "SIMPLE_PASSWORD"
        lines.append(f"   Authentication type = {kind}")
        if instance.auth_type != AuthType.AH:
            lines.append(f"   Password = {_password(instance.auth_data)}")
    elif instance.version == 2:
        lines.append("   Authentication type = none")
    if instance.kernel_rx_buf_size:
        lines.append(f"   Kernel rx buffer size = {instance.kernel_rx_buf_size}")
    if instance.debug:
        lines.append(f"   Debug level = {instance.debug}")
    return lines


def _instance_ip_lines(instance: VrrpInstance, vips_set: bool, shown: _AddressBuffer) -> list[str]:
    lines = []
    if instance.vips:
        lines.append(f"   Virtual IP ({len(instance.vips)}):")
        lines += [f"     {_address_text(ip, instance, vips_set)}" for ip in instance.vips]
    if instance.evips:
        lines.append("   Virtual IP Excluded :")
        lines += [f"     {_address_text(ip, instance, vips_set)}" for ip in instance.evips]
    if instance.unicast:
        if instance.ttl != -1:
            lines.append(f"   Unicast TTL = {instance.ttl}")
        lines.append(f"   Check unicast src : {'yes' if instance.check_unicast_src else 'no'}")
        lines.append("   Unicast Peer :")
        lines += [
            f"     {shown.show(peer.address)} min_ttl {peer.min_ttl} max_ttl {peer.max_ttl}"
            for peer in instance.unicast_peers
        ]
        lines.append(
            f"   Unicast checksum compatibility = {_CHECKSUM_COMPAT_NAMES[instance.unicast_checksum_compat]}"
        )
    return lines


def _tracker_lines(track: Trackers, *, process_label: str) -> list[str]:
    lines = []
    if track.interfaces:
        lines.append("   Tracked interfaces :")
        lines += [f"     {t.interface} weight {t.weight}{_reverse(t.reverse)}" for t in track.interfaces]
    if track.scripts:
        lines.append("   Tracked scripts :")
        lines += [f"     {t.script.name} weight {t.weight}{_reverse(t.reverse)}" for t in track.scripts]
    if track.files:
        lines.append("   Tracked files :")
        lines += [f"     {t.file.name}, weight {t.weight}{_reverse(t.reverse)}" for t in track.files]
    if track.processes:
        lines.append(f"   {process_label}")
        lines += [f"     {t.process.name}, weight {t.weight}{_reverse(t.reverse)}" for t in track.processes]
    if track.bfds:
        lines.append("   Tracked BFDs :")
        lines += [f"     {t.bfd.name}: weight {t.weight}{_reverse(t.reverse)}" for t in track.bfds]
    return lines


def _notify_lines(notify: NotifyScripts, *, with_deleted: bool) -> list[str]:
    scripts = [
        ("Backup", notify.backup),
        ("Master", notify.master),
        ("Fault", notify.fault),
        ("Stop", notify.stop),
        *([("Deleted", notify.deleted)] if with_deleted else []),
        ("Generic", notify.notify),
        *([("Master rx lower pri", notify.master_rx_lower_pri)] if with_deleted else []),
    ]
    return [
        f"   {label} state transition script = {cmd_str(script)}, uid:gid {script.uid}:{script.gid}"
        for label, script in scripts
        if script is not None
    ]


def _address_text(ip: IpAddress, instance: VrrpInstance, is_set: bool) -> str:
    """keepalived's `format_ipaddress`."""
    interface = ip.address
    text = str(interface.ip)
    if interface.network.prefixlen != interface.max_prefixlen:
        text += f"/{interface.network.prefixlen}"
    if ip.family == 4 and ip.broadcast is not None and int(ip.broadcast):
        text += f" brd {ip.broadcast}"
    text += f" dev {ip.ifname or instance.interface}"
    if ip.use_vmac:
        text += " use_vmac"
    text += f" scope {_SCOPE_NAMES.get(ip.scope, str(ip.scope))}"
    if ip.label:
        text += f" label {ip.label}"
    if ip.peer is not None:
        text += f" peer {ip.peer}/{interface.network.prefixlen}"
    flags = (
        (ip.home, " home"),
        (ip.dad, " -nodad"),
        (ip.mngtmpaddr, " mngtmpaddr"),
        (ip.noprefixroute, " noprefixroute"),
        (ip.autojoin, " autojoin"),
        (ip.dont_track, " no_track"),
    )
    text += "".join(word for present, word in flags if present)
    if ip.track_group:
        text += f" track_group {ip.track_group}"
    if ip.family == 6:
        if ip.preferred_lft == 0:
            text += " deprecated"
        elif ip.preferred_lft == INFINITY_LIFE_TIME:
            text += " preferred_lft forever"
        else:
            text += f" preferred_lft {ip.preferred_lft}"
    if is_set:
        text += " set"
    return text


# -- sync groups and scripts


def _sync_group_lines(group: VrrpSyncGroup, view: SyncGroupView) -> list[str]:
    lines = [
        f" VRRP Sync Group = {group.name}, {_STATE_NAMES[view.state]}",
        f"   Num member fault {view.num_member_fault}, num member init {view.num_member_init}",
    ]
    if group.instances:
        lines.append("   VRRP member instances :")
        lines += [f"     {name}" for name in group.instances]
    if group.tracking_weight:
        lines.append("   sync group tracking weight set")
    lines.append(f"   Using smtp notification = {_yes_no(group.smtp_alert)}")
    if group.notify_priority_changes is not None:
        lines.append(f"   Notify priority changes = {'yes' if group.notify_priority_changes else 'no'}")
    lines += _tracker_lines(group.track, process_label="Tracked process :")
    lines += _notify_lines(group.notify, with_deleted=False)
    return lines


def _script_lines(script: VrrpScript, view: ScriptView | None) -> list[str]:
    if view is None:
        result = 0 if script.init_fail else script.rise - 1
        init_state = InitState.FAILED if script.init_fail else InitState.INIT
        state = ScriptState.IDLE
    else:
        result, init_state, state = view.result, view.init_state, view.state
    lines = [
        f" VRRP Script = {script.name}",
        f"   Command = {cmd_str(script.script)}",
        f"   Interval = {script.interval_us // TIMER_HZ} sec",
        f"   Timeout = {script.timeout_us // TIMER_HZ} sec",
        f"   Weight = {script.weight}{_reverse(script.weight_reverse)}",
        f"   Rise = {script.rise}",
        f"   Fall = {script.fall}",
        f"   Result = {result}",
        f"   Insecure = {'yes' if script.insecure else 'no'}",
        f"   Init state = {_INIT_STATE_NAMES[init_state]}",
        f"   Status = {'GOOD' if result >= script.rise else 'BAD'}",
        f"   Script uid:gid = {script.script.uid}:{script.script.gid}",
        "   VRRP instances :",
        *_tracking_lines("   Tracking instances :", script.tracking),
        f"   State = {_SCRIPT_STATE_NAMES[state]}",
    ]
    return lines


def _tracking_lines(heading: str, tracking: Sequence[TrackingObj]) -> list[str]:
    if not tracking:
        return []
    return [heading, *(_tracking_line(top) for top in tracking)]


def _tracking_line(top: TrackingObj) -> str:
    dynamic = " (dynamic)" if top.type & TrackType.VRRP_DYNAMIC else ""
    return f"     {top.instance}, weight {top.weight}{_reverse(top.reverse)}{dynamic}"


# -- interfaces


def _interface_lines(interface: InterfaceView, config: KeepalivedConfig) -> list[str]:
    tracking = config.vrrp.interface_tracking.get(interface.name, [])
    ours = _addresses_of_instances(interface.name, tracking, config)
    ipv4 = [address for address in interface.ipv4 if address not in ours]
    ipv6 = [address for address in interface.ipv6 if address.is_link_local and address not in ours]
    lines = [
        f" Name = {interface.name}",
        f"   index = {interface.index}{'' if interface.index else ' (deleted)'}",
        f"   IPv4 address = {ipv4[0] if ipv4 else '(none)'}",
    ]
    if ipv4[1:]:
        lines.append("   Additional IPv4 addresses :")
        lines += [f"     {address}" for address in ipv4[1:]]
    lines.append(f"   IPv6 address = {ipv6[0] if ipv6 else '(none)'}")
    if ipv6[1:]:
        lines.append("   Additional IPv6 addresses :")
        lines += [f"     {address}" for address in ipv6[1:]]
    if _hardware_address(interface.mac):
        lines.append(f"   MAC = {interface.mac.lower()}")
        lines.append(f"   MAC broadcast = {interface.broadcast.lower()}")
    delays = config.vrrp.interface_delays.get(interface.name)
    lines += [
        f"   State = {_link_state(interface.flags)}",
        f"   Seen up = {int(interface.seen_up)}",
        f"   Up debounce timer = {delays.up_us if delays else 0}us",
        f"   Down debounce timer = {delays.down_us if delays else 0}us",
        f"   MTU = {interface.mtu}",
        *_hardware_type_lines(interface.hw_type),
    ]
    if not (tracking and interface.name in config.vrrp.linkbeat_interfaces):
        lines.append("   NIC netlink status update")
    lines += _garp_delay_lines(interface.name, config)
    lines += _tracking_lines("   Tracking VRRP instances :", tracking)
    return lines


def _addresses_of_instances(
    name: str, tracking: Sequence[TrackingObj], config: KeepalivedConfig
) -> set[IPv4Address | IPv6Address]:
    """The VIPs and eVIPs on this interface of the instances it affects, which keepalived does not count as
    the interface's own addresses."""
    ours: set[IPv4Address | IPv6Address] = set()
    for top in tracking:
        instance = config.vrrp.instance(top.instance)
        if instance is None:
            continue
        for ip in (*instance.vips, *instance.evips):
            if (ip.ifname or instance.interface) == name:
                ours.add(ip.address.ip)
    return ours


def _hardware_address(mac: str) -> bool:
    """keepalived keeps no hardware address that is all zeros."""
    return any(int(part, 16) for part in mac.split(":") if part)


def _link_state(flags: int) -> str:
    qualifiers = (
        (not flags & IFF_BROADCAST, ", no broadcast"),
        (flags & IFF_LOOPBACK, ", loopback"),
        (flags & IFF_POINTOPOINT, ", point to point"),
        (flags & IFF_NOARP, ", no arp"),
        (not flags & IFF_MULTICAST, ", no multicast"),
    )
    up = "" if flags & IFF_UP else "not "
    running = "" if flags & IFF_RUNNING else "not "
    return f"{up}UP, {running}RUNNING" + "".join(text for present, text in qualifiers if present)


def _hardware_type_lines(hw_type: int) -> list[str]:
    if hw_type == ARPHRD_LOOPBACK:
        return ["   HW Type = LOOPBACK"]
    if hw_type == ARPHRD_ETHER:
        return ["   HW Type = ETHERNET"]
    if hw_type == ARPHRD_INFINIBAND:
        return []  # keepalived logs this one instead of writing it
    return [f"   HW Type = UNKNOWN ({hw_type})"]


def _garp_delay_lines(name: str, config: KeepalivedConfig) -> list[str]:
    """The interface's `garp_group` (the last naming it), else the global intervals for an interface an
    instance or one of its addresses uses."""
    groups = [group for group in config.vrrp.garp_groups if name in group.interfaces]
    if groups:
        group = groups[-1]
        garp_us, gna_us, aggregation = group.garp_interval_us, group.gna_interval_us, group.aggregation_group
    else:
        defs = config.global_defs
        if not (defs.vrrp_garp_interval_us or defs.vrrp_gna_interval_us) or not _used_by_instance(
            name, config
        ):
            return []
        garp_us = defs.vrrp_garp_interval_us or None
        gna_us = defs.vrrp_gna_interval_us or None
        aggregation = 0
    lines = []
    if garp_us is not None:
        lines.append(f"   Gratuitous ARP interval {garp_us // 1000}ms")
    if gna_us is not None:
        lines.append(f"   Gratuitous NA interval {gna_us // 1000}ms")
    if aggregation:
        lines.append(f"   Gratuitous ARP aggregation group {aggregation}")
    return lines


def _used_by_instance(name: str, config: KeepalivedConfig) -> bool:
    for instance in config.vrrp.instances:
        if instance.interface == name:
            return True
        if any((ip.ifname or instance.interface) == name for ip in (*instance.vips, *instance.evips)):
            return True
    return False


# -- formatting helpers


def _lower_prio_delay_us(instance: VrrpInstance) -> int:
    delay = instance.garp_lower_prio_delay_us
    return instance.garp_delay_us if delay is None else delay


def _lower_prio_rep(instance: VrrpInstance) -> int:
    repeat = instance.garp_lower_prio_rep
    return instance.garp_rep if repeat is None else repeat


def _password(auth_data: bytes) -> str:
    """The 8-byte password field as C prints it: up to its first NUL."""
    return auth_data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _timeval_text(epoch: float) -> str:
    """`%ld.%6.6ld (%s)` with keepalived's `ctime_us_r`: "Thu Nov 26 02:24:43.944564 2026"."""
    seconds, micros = divmod(round(epoch * 1_000_000), 1_000_000)
    local = time.localtime(seconds)
    return f"{seconds}.{micros:06d} ({time.asctime(local)[:19]}.{micros:06d} {local.tm_year})"


def _c_g(value: float) -> str:
    """C's `%g`."""
    return f"{value:g}"


def _on_off_unset(value: bool | None) -> str:
    return "unset" if value is None else "on" if value else "off"


def _true_false(value: bool) -> str:
    return "true" if value else "false"


def _enabled(value: bool) -> str:
    return "enabled" if value else "disabled"


def _yes_no(value: bool | None) -> str:
    """An unset value is keepalived's -1, which C takes as true."""
    return "no" if value is False else "yes"


def _reverse(reverse: bool) -> str:
    return " reverse" if reverse else ""


def _join(lines: Iterable[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


__all__ = [
    "InterfaceView",
    "RouterView",
    "ScriptState",
    "ScriptView",
    "SyncGroupView",
    "data_text",
    "json_text",
    "stats_text",
]
