"""Model: what the VRRP process reads (keepalived's vrrp_data_t, vrrp_t, vrrp_sgroup_t, vrrp_script_t …).

Objects are filled while the configuration is read, then completed (defaults, derived values, tracking
links) the way keepalived's `vrrp_complete_init` does before it starts the instances. Interfaces are
referred to by name; `VrrpData.interface_tracking` says which instances each interface affects.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

from ..numbers import TIMER_HZ, UINT_MAX
from .addresses import IpAddress, Route, Rule
from .place import Place
from .scripts import NotifyScript

IpAddressValue = ipaddress.IPv4Address | ipaddress.IPv6Address

PRIORITY_OWNER = 255  # the address owner's priority (VRRP_PRIO_OWNER)
PRIORITY_DEFAULT = 100
ADVERT_INT_DEFAULT_US = TIMER_HZ
DOWN_TIMER_ADVERTS_DEFAULT = 3
IP_TTL = 255
# the weight of an interface an instance is attached to but does not track (dont_track_primary)
NOT_TRACK_IF = 255
IFNAMSIZ = 16  # the kernel's buffer for an interface name, with its NUL
RFC_MAC_PREFIX = bytes((0x00, 0x00, 0x5E, 0x00))  # 00:00:5e:00:01:VRID / 00:00:5e:00:02:VRID


class VrrpState(IntEnum):
    INIT = 0
    BACKUP = 1
    MASTER = 2
    FAULT = 3


class AuthType(IntEnum):
    NONE = 0
    PASS = 1
    AH = 2


class ChecksumCompat(IntEnum):
    """Whether VRRPv3 unicast adverts use the pre-1.3.6 checksum (`old_unicast_checksum`)."""

    NONE = 0  # new checksum, switch to the old one if a peer uses it
    NEVER = 1
    CONFIG = 3
    AUTO = 4


class IpvlanMode(IntEnum):
    """`use_ipvlan` mode flags (the kernel's IPVLAN_F_*)."""

    BRIDGE = 0
    PRIVATE = 1
    VEPA = 2


class ParamMatch(IntEnum):
    """How a tracked process's parameters must match its command line."""

    NONE = 0
    EXACT = 1
    INITIAL = 2
    PARTIAL = 3


class LinkbeatType(IntFlag):
    """How link state is polled on a `linkbeat_interfaces` interface (0: keepalived's choice)."""

    IOCTL = 0x1
    MII = 0x2
    ETHTOOL = 0x4


class TrackFileInit(IntEnum):
    """What `init_file` asks for: nothing, create the file if missing, or (`overwrite`) always write it."""

    NONE = 0
    CREATE = 1
    OVERWRITE = 2


class TrackType(IntFlag):
    """Why an instance is attached to an interface (keepalived's track_t)."""

    VRRP = 0x01  # the instance's own interface
    IF = 0x02  # track_interface
    SG = 0x04  # the sync group's track_interface
    ADDR = 0x08  # an interface a VIP/eVIP is on
    ROUTE = 0x10
    RULE = 0x20
    SADDR = 0x40  # static address of a track_group
    SROUTE = 0x80
    SRULE = 0x100
    VRRP_DYNAMIC = 0x200  # the parent of a VMAC the instance was configured on


@dataclass
class TrackingObj:
    """An instance a tracked object affects: `weight` 0 puts it in FAULT, otherwise its priority moves by
    `weight` (in the opposite direction if `reverse`)."""

    instance: str
    weight: int = 0
    reverse: bool = False
    type: TrackType = TrackType.VRRP


@dataclass
class TrackedInterface:
    """A `track_interface` entry."""

    interface: str
    weight: int = 0
    reverse: bool = False


@dataclass
class VrrpScript:
    """A `vrrp_script` block: a command run every `interval_us`; an empty `script.args` means none was set."""

    name: str
    script: NotifyScript = field(default_factory=lambda: NotifyScript([], 0, 0))
    interval_us: int = TIMER_HZ
    timeout_us: int = 0
    weight: int = 0
    weight_reverse: bool = False
    rise: int = 1
    fall: int = 1
    init_fail: bool = False  # `init_fail`: treated as failed until it first succeeds
    insecure: bool = False  # must not be run (script security)
    tracking: list[TrackingObj] = field(default_factory=list)
    defined_at: Place | None = field(default=None, compare=False, repr=False)  # where the block starts


@dataclass
class TrackFile:
    """A `track_file` block: a file holding an integer that moves the priority of the trackers. After
    reading, `init` says what is left to do at start: write `init_value` to the file (CREATE: it did not
    exist; OVERWRITE: rewrite it) or nothing."""

    name: str
    path: str | None = None
    weight: int = 1
    weight_reverse: bool = False
    init: TrackFileInit = TrackFileInit.NONE
    init_value: int = 0
    tracking: list[TrackingObj] = field(default_factory=list)
    defined_at: Place | None = field(default=None, compare=False, repr=False)  # where the block starts


@dataclass
class TrackProcess:
    """A `vrrp_track_process` block: the instances are up while `quorum`..`quorum_max` copies run."""

    name: str
    path: str | None = None
    params: list[str] = field(default_factory=list)
    param_match: ParamMatch = ParamMatch.NONE
    weight: int = 0
    weight_reverse: bool = False
    quorum: int = 1
    quorum_max: int = UINT_MAX
    fork_delay_us: int = 0
    terminate_delay_us: int = 0
    full_command: bool = False
    tracking: list[TrackingObj] = field(default_factory=list)
    defined_at: Place | None = field(default=None, compare=False, repr=False)  # where the block starts


@dataclass
class VrrpTrackedBfd:
    """A `bfd_instance` as the VRRP process sees it (filled by the bfd keywords)."""

    name: str
    weight: int = 0
    weight_reverse: bool = False
    tracking: list[TrackingObj] = field(default_factory=list)


@dataclass
class TrackedScript:
    script: VrrpScript
    weight: int = 0
    reverse: bool = False


@dataclass
class TrackedFile:
    file: TrackFile
    weight: int = 1
    reverse: bool = False


@dataclass
class TrackedProcess:
    process: TrackProcess
    weight: int = 0
    reverse: bool = False


@dataclass
class TrackedBfd:
    bfd: VrrpTrackedBfd
    weight: int = 0
    reverse: bool = False


@dataclass
class UnicastPeer:
    """A `unicast_peer` entry; `min_ttl`/`max_ttl` bound the TTL of adverts accepted from it."""

    address: IpAddressValue
    min_ttl: int = 0
    max_ttl: int = 255


@dataclass
class Trackers:
    """What an instance or a sync group tracks."""

    interfaces: list[TrackedInterface] = field(default_factory=list)
    scripts: list[TrackedScript] = field(default_factory=list)
    files: list[TrackedFile] = field(default_factory=list)
    processes: list[TrackedProcess] = field(default_factory=list)
    bfds: list[TrackedBfd] = field(default_factory=list)


@dataclass
class NotifyScripts:
    """State change commands; `notify` gets `TYPE NAME STATE PRIORITY` appended when run."""

    backup: NotifyScript | None = None
    master: NotifyScript | None = None
    fault: NotifyScript | None = None
    stop: NotifyScript | None = None
    deleted: NotifyScript | None = None
    master_rx_lower_pri: NotifyScript | None = None
    notify: NotifyScript | None = None


@dataclass
class VrrpInstance:
    """A `vrrp_instance` (keepalived's vrrp_t). Before completion 0/None mean "not configured"; after it
    every field holds what the instance runs with."""

    name: str
    wantstate: VrrpState = VrrpState.INIT
    interface: str | None = None
    vrf_interface: str | None = None
    vrid: int = 0
    base_priority: int = 0
    effective_priority: int = 0
    total_priority: int = 0  # base priority plus the weights currently applied
    advert_int_us: int = 0
    master_advert_int_us: int = 0
    version: int = 0
    family: int = 0  # 4 or 6; 0 until an address sets it
    auth_type: AuthType = AuthType.NONE
    auth_data: bytes = bytes(8)
    vips: list[IpAddress] = field(default_factory=list)
    evips: list[IpAddress] = field(default_factory=list)
    vroutes: list[Route] = field(default_factory=list)
    vrules: list[Rule] = field(default_factory=list)
    # sending
    source_address: IpAddressValue | None = None
    source_from_config: bool = False
    track_source_address: bool = False
    mcast_dst: IpAddressValue | None = None
    unicast_peers: list[UnicastPeer] = field(default_factory=list)
    unicast_configured: bool = False  # some unicast keyword was given
    unicast: bool = False  # adverts are unicast (unicast_configured and peers)
    unicast_fault_no_peer: bool = False
    check_unicast_src: bool = False
    unicast_checksum_compat: ChecksumCompat = ChecksumCompat.NONE
    unicast_duplicate_vrid: bool = False
    ttl: int = -1  # unicast_ttl; -1 unset (IPv6: the kernel's hop limit)
    kernel_rx_buf_size: int = 0
    # election
    nopreempt: bool = False
    preempt_delay_us: int = 0
    accept: bool | None = None
    strict_mode: bool | None = None
    skip_check_adv_addr: bool = False
    lower_prio_no_advert: bool | None = None
    higher_prio_send_advert: bool | None = None
    down_timer_adverts: int = DOWN_TIMER_ADVERTS_DEFAULT
    # gratuitous ARP / NA
    garp_delay_us: int = 5 * TIMER_HZ
    garp_rep: int = 5
    garp_refresh_us: int = 0
    garp_refresh_rep: int = 1
    garp_lower_prio_delay_us: int | None = None
    garp_lower_prio_rep: int | None = None
    garp_extra_if_us: int | None = None  # garp_extra_if: interval of GARPs on other interfaces
    garp_extra_if_all: bool = False
    # interfaces
    dont_track_primary: bool = False
    promote_secondaries: bool = False
    linkbeat_use_polling: bool = False
    use_vmac: bool = False
    vmac_interface: str = ""
    vmac_mac: bytes | None = None  # use_vmac MAC; 5 bytes when the VRID is to be appended
    use_vmac_addr: bool = False
    vmac_xmit_base: bool = False
    use_ipvlan: bool = False
    ipvlan_address: IpAddress | None = None
    ipvlan_type: IpvlanMode = IpvlanMode.BRIDGE
    evip_other_family: bool = False
    # notifications
    notify: NotifyScripts = field(default_factory=NotifyScripts)
    notify_exec: bool = False
    notify_deleted: bool = False
    smtp_alert: bool | None = None
    notify_priority_changes: bool | None = None
    debug: int = 0
    track: Trackers = field(default_factory=Trackers)
    sync_group: str | None = None
    num_config_faults: int = 0  # configuration problems that keep the instance in FAULT
    defined_at: Place | None = field(default=None, compare=False, repr=False)  # where the block starts

    @property
    def owner(self) -> bool:
        return self.base_priority == PRIORITY_OWNER


def effective_priority(base_priority: int, total_priority: int) -> int:
    """keepalived's `vrrp_set_effective_priority`: the owner keeps 255, others are clamped to 1..254."""
    if base_priority == PRIORITY_OWNER:
        return PRIORITY_OWNER
    return max(1, min(PRIORITY_OWNER - 1, total_priority))


@dataclass
class VrrpSyncGroup:
    """A `vrrp_sync_group`: instances that change state together."""

    name: str
    instance_names: list[str] | None = None  # the `group` block as read
    instances: list[str] = field(default_factory=list)  # the members found at completion
    track: Trackers = field(default_factory=Trackers)
    notify: NotifyScripts = field(default_factory=NotifyScripts)
    notify_exec: bool = False
    smtp_alert: bool | None = None
    tracking_weight: bool = False  # sync_group_tracking_weight: members keep their weights
    notify_priority_changes: bool | None = None
    state: VrrpState = VrrpState.INIT
    defined_at: Place | None = field(default=None, compare=False, repr=False)  # where the block starts


@dataclass
class StaticTrackGroup:
    """A `track_group`: instances whose interfaces static addresses, routes and rules follow."""

    name: str
    instance_names: list[str] | None = None
    instances: list[str] = field(default_factory=list)


@dataclass
class GarpGroup:
    """A `garp_group`: minimum gaps between gratuitous ARPs / NAs on its interfaces."""

    garp_interval_us: int | None = None
    gna_interval_us: int | None = None
    interfaces: list[str] = field(default_factory=list)
    aggregation_group: int = 0


@dataclass
class InterfaceDelays:
    """`interface_up_down_delays` for one interface."""

    down_us: int = 0
    up_us: int = 0


@dataclass
class VrrpData:
    """Everything the VRRP process reads (keepalived's vrrp_data_t), plus the facts the completion needs."""

    instances: list[VrrpInstance] = field(default_factory=list)
    sync_groups: list[VrrpSyncGroup] = field(default_factory=list)
    scripts: list[VrrpScript] = field(default_factory=list)
    track_files: list[TrackFile] = field(default_factory=list)
    track_processes: list[TrackProcess] = field(default_factory=list)
    tracked_bfds: list[VrrpTrackedBfd] = field(default_factory=list)
    static_addresses: list[IpAddress] = field(default_factory=list)
    static_routes: list[Route] = field(default_factory=list)
    static_rules: list[Rule] = field(default_factory=list)
    track_groups: list[StaticTrackGroup] = field(default_factory=list)
    garp_groups: list[GarpGroup] = field(default_factory=list)
    linkbeat_interfaces: dict[str, LinkbeatType] = field(default_factory=dict)
    interface_delays: dict[str, InterfaceDelays] = field(default_factory=dict)
    smtp_alert_count: int = 0
    max_process_name_len: int = 0
    use_process_cmdline: bool = False
    use_process_comm: bool = False
    # facts of the reading
    runnable: bool = True  # False: keepalived's VRRP process would exit (vrrp_complete_init failed)
    nonexistent_interface: bool = False  # an interface that does not exist was named
    created_interfaces: list[str] = field(default_factory=list)  # missing ones kept (dynamic_interfaces)
    # built by the completion: which instances each interface affects
    interface_tracking: dict[str, list[TrackingObj]] = field(default_factory=dict)

    def instance(self, name: str) -> VrrpInstance | None:
        return next((i for i in self.instances if i.name == name), None)

    def sync_group(self, name: str) -> VrrpSyncGroup | None:
        return next((g for g in self.sync_groups if g.name == name), None)

    def track_group(self, name: str) -> StaticTrackGroup | None:
        return next((g for g in self.track_groups if g.name == name), None)
