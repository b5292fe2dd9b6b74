"""Model: keepalived's process-wide settings: `global_defs` and the top-level keywords (its `data_t`).

Every field starts at keepalived's default (`alloc_global_data`); the few defaults keepalived derives once the
configuration is read (router id, SMTP sender and HELO name, reload file) are filled in by the completion
checks (`init_global_data`). Durations are in microseconds (`_us`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Address, IPv6Address

from ..numbers import TIMER_HZ
from .scripts import NotifyScript

IPAddress = IPv4Address | IPv6Address

RT_RLIMIT_DEFAULT = 10_000  # µs of real-time CPU before SIGXCPU (RLIMIT_RTTIME)
DEFAULT_NFTABLES_TABLE = "keepalived"
DEFAULT_NFTABLES_IPVS_TABLE = "keepalived_ipvs"
DEFAULT_IPVS_NF_START_FWMARK = 1000
DEFAULT_SMTP_CONNECTION_TIMEOUT_US = 30 * TIMER_HZ
DEFAULT_SCRIPT_TIMEOUT_US = 10 * TIMER_HZ  # start-up/shutdown scripts
DEFAULT_RELOAD_FILE = ""  # `reload_file` without a name: completion derives it from instance and pid dir


class LvsFlushOnStop(Enum):
    NO = "no"
    FULL = "full"  # every IPVS service
    VS = "vs"  # only the virtual servers keepalived configured


class RxBufsPolicy(Enum):
    """How the VRRP receive buffers are sized (`vrrp_rx_bufs_policy`)."""

    DEFAULT = "default"
    MTU = "mtu"  # from the largest interface MTU
    ADVERT = "advert"  # from the largest advert size
    SIZE = "size"  # a fixed size (`vrrp_rx_bufs_size`)


@dataclass
class ProcessScheduling:
    """Name and scheduling of one of keepalived's processes (VRRP, checker, BFD)."""

    name: str | None = None  # the process name to set (`*_process_name`, `process_names`)
    priority: int = 0  # nice value, -20..19
    no_swap: bool = False  # mlockall()
    realtime_priority: int = 0  # SCHED_RR priority, 0 = not real-time
    cpu_affinity: list[int] = field(default_factory=list)  # empty: any CPU
    rlimit_rttime_us: int = RT_RLIMIT_DEFAULT


@dataclass
class NotifyFifo:
    """A FIFO keepalived writes state changes to, and the script that reads it (`*notify_fifo*`)."""

    name: str | None = None
    uid: int = 0  # owner of the FIFO if keepalived creates it
    gid: int = 0
    script: NotifyScript | None = None


@dataclass
class LvsTimeouts:
    """IPVS connection timeouts (`lvs_timeouts`); 0 leaves the kernel's value."""

    tcp_us: int = 0
    tcp_fin_us: int = 0
    udp_us: int = 0


@dataclass
class LvsSyncDaemon:
    """The IPVS connection-sync daemon run alongside a VRRP instance (`lvs_sync_daemon`)."""

    interface: str | None = None
    vrrp_instance: str | None = None
    sync_id: int | None = None  # None: the VRRP instance's VRID
    max_length: int = 0  # 0: the kernel's default
    multicast_group: IPAddress | None = None
    multicast_port: int = 0
    multicast_ttl: int = 0


@dataclass
class GlobalDefs:
    """Everything `global_defs` and the process-wide top-level keywords set."""

    # -- top-level process settings
    network_namespace: str | None = None
    network_namespace_ipvs: str | None = None  # "" = the default namespace
    namespace_with_ipsets: bool = False
    instance_name: str | None = None
    use_pid_dir: bool = False  # pid files in /run/keepalived/ (also set by instance and net_namespace)
    child_wait_time_us: int = 0  # how long to wait for children at shutdown
    linkbeat_use_polling: bool = False

    # -- identification and SMTP alerts
    process_name: str | None = None  # of the parent process
    local_name: str | None = None  # the host's canonical name, when a default needs it
    router_id: str | None = None
    email_from: str | None = None
    email: list[str] = field(default_factory=list)
    smtp_server: IPAddress | None = None
    smtp_port: int = 25
    smtp_helo_name: str | None = None
    smtp_connection_timeout_us: int = 0
    smtp_alert: bool | None = None  # None: not configured
    smtp_alert_vrrp: bool | None = None
    smtp_alert_checker: bool | None = None
    no_email_faults: bool = False
    no_checker_emails: bool = False
    checker_log_all_failures: bool = False

    # -- start-up and shutdown scripts
    startup_script: NotifyScript | None = None
    startup_script_timeout_us: int = 0
    shutdown_script: NotifyScript | None = None
    shutdown_script_timeout_us: int = 0

    # -- VRRP defaults
    dynamic_interfaces: bool = False
    allow_if_changes: bool = False
    default_interface: str | None = None
    disable_local_igmp: bool = False
    vrrp_mcast_group4: IPv4Address = field(default_factory=lambda: IPv4Address("224.0.0.18"))
    vrrp_mcast_group6: IPv6Address = field(default_factory=lambda: IPv6Address("ff02::12"))
    vrrp_garp_delay_us: int = 5 * TIMER_HZ
    vrrp_garp_rep: int = 5
    vrrp_garp_refresh_us: int = 0
    vrrp_garp_refresh_rep: int = 1
    vrrp_garp_lower_prio_delay_us: int | None = None  # None: vrrp_garp_delay_us
    vrrp_garp_lower_prio_rep: int | None = None  # None: vrrp_garp_rep
    vrrp_garp_interval_us: int = 0
    vrrp_gna_interval_us: int = 0
    vrrp_down_timer_adverts: int = 3
    vrrp_garp_extra_if_interval_us: int = 0  # vrrp_garp_extra_if: periodic GARP on VMAC base interfaces
    vrrp_garp_extra_if_all: bool = False
    vrrp_lower_prio_no_advert: bool = False
    vrrp_higher_prio_send_advert: bool = False
    vrrp_version: int = 2
    vrrp_check_unicast_src: bool = False
    vrrp_skip_check_adv_addr: bool = False
    vrrp_strict: bool = False
    vrrp_notify_priority_changes: bool = False
    fifo_write_vrrp_states_on_reload: bool = False
    vrrp_startup_delay_us: int = 0
    log_unknown_vrids: bool = False
    vmac_prefix: str | None = None
    vmac_addr_prefix: str | None = None
    vrrp_rx_bufs_policy: RxBufsPolicy = RxBufsPolicy.DEFAULT
    vrrp_rx_bufs_size: int = 0
    vrrp_rx_bufs_multiplier: int = 3
    vrrp_netlink_cmd_rcv_bufs: int = 0  # 0: the kernel's default
    vrrp_netlink_cmd_rcv_bufs_force: bool = False
    vrrp_netlink_monitor_rcv_bufs: int = 0
    vrrp_netlink_monitor_rcv_bufs_force: bool = False
    process_monitor_rcv_bufs: int = 0
    process_monitor_rcv_bufs_force: bool = False

    # -- nftables
    vrrp_nf_table_name: str | None = None  # None: no nftables rules for VRRP
    vrrp_nf_chain_priority: int = -1
    vrrp_nf_ifindex: bool = False
    ipvs_nf_table_name: str | None = None
    ipvs_nf_chain_priority: int = 0
    ipvs_nftables_start_fwmark: int = 0
    nf_counters: bool = False

    # -- LVS
    lvs_timeouts: LvsTimeouts = field(default_factory=LvsTimeouts)
    lvs_syncd: LvsSyncDaemon = field(default_factory=LvsSyncDaemon)
    lvs_flush: bool = False
    lvs_flush_on_stop: LvsFlushOnStop = LvsFlushOnStop.NO
    lvs_netlink_cmd_rcv_bufs: int = 0
    lvs_netlink_cmd_rcv_bufs_force: bool = False
    lvs_netlink_monitor_rcv_bufs: int = 0
    lvs_netlink_monitor_rcv_bufs_force: bool = False
    rs_init_notifies: bool = False

    # -- processes
    max_auto_priority: int = 0  # 0: off, -1: off without the start-up notice
    min_auto_priority_delay_us: int = TIMER_HZ
    vrrp_process: ProcessScheduling = field(default_factory=ProcessScheduling)
    checker_process: ProcessScheduling = field(default_factory=ProcessScheduling)
    bfd_process: ProcessScheduling = field(default_factory=ProcessScheduling)

    # -- notify FIFOs
    notify_fifo: NotifyFifo = field(default_factory=NotifyFifo)
    vrrp_notify_fifo: NotifyFifo = field(default_factory=NotifyFifo)
    lvs_notify_fifo: NotifyFifo = field(default_factory=NotifyFifo)

    # -- SNMP and D-Bus
    snmp_socket: str | None = None
    enable_traps: bool = False
    enable_snmp_vrrp: bool = False
    enable_snmp_rfcv2: bool = False
    enable_snmp_rfcv3: bool = False
    enable_snmp_checker: bool = False
    enable_dbus: bool = False
    dbus_service_name: str | None = None

    # -- scripts, files and reloads
    script_security: bool = False  # enable_script_security
    umask: int | None = None  # None: keepalived's built-in umask
    config_save_dir: str | None = None
    tmp_config_directory: str | None = None
    data_use_instance: bool = False
    reload_check_config: str | None = None  # file to log a pre-reload configuration check to
    reload_time_file: str | None = None
    reload_repeat: bool = False
    reload_file: str | None = None  # DEFAULT_RELOAD_FILE until completion names the default file
