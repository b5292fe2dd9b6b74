"""Model: the checker process's LVS virtual servers and their health checkers (keepalived's
`virtual_server_t`, `real_server_t` and `checker_t` with each checker's data); their container,
`check_data_t`, is check_data.py's `CheckData`.

Values a real server or checker inherits are None until the completion checks fill them in, as keepalived
does in `validate_check_config`: a checker from its real server, a real server from its virtual server.
Durations are in microseconds (`_us`); ports are numbers, 0 when none is given. Servers, groups,
checkers and urls are entities: they compare by identity, addresses and settings by value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntFlag
from ipaddress import IPv4Address, IPv6Address
from typing import ClassVar

from ..numbers import TIMER_HZ
from .place import Place
from .scripts import NotifyScript

IPAddress = IPv4Address | IPv6Address

DEFAULT_SCHEDULER = "wlc"
SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos")
PERSISTENT_TIMEOUT = 6 * 60  # seconds, when persistence is asked for without a timeout
HTTP_STATUS_MIN, HTTP_STATUS_MAX = 100, 599
HTTP_DEFAULT_STATUS_CODES = frozenset(range(200, 300))
SMTP_DEFAULT_HELO = "smtpchecker.keepalived.org"
DNS_TYPES = ("A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "RRSIG", "DNSKEY")
IPVS_WEIGHT_MAX = 2**31 - 1


def ip_text(address: IPAddress) -> str:
    """An address as glibc's `inet_ntop` writes it (IPv4-mapped and -compatible IPv6 in dotted form)."""
    if address.version == 4:
        return str(address)
    packed = address.packed
    words = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, 16, 2)]
    if words[:5] == [0] * 5 and (words[5] == 0xFFFF or (words[5] == 0 and words[6])):
        prefix = "::ffff:" if words[5] else "::"
        return prefix + str(IPv4Address(packed[12:]))
    return str(address)


@dataclass(frozen=True, slots=True)
class SocketAddress:
    """An IP address and port (keepalived's `sockaddr_t`)."""

    address: IPAddress
    port: int = 0

    @property
    def family(self) -> int:
        return self.address.version

    def trio(self, protocol: Protocol | None) -> str:
        """keepalived's `inet_sockaddrtotrio`: `[address]:protocol:port`."""
        return f"[{ip_text(self.address)}]:{protocol.value if protocol else 'none'}:{self.port}"


class Protocol(Enum):
    """The service's transport protocol (`protocol`); the value is how keepalived prints it."""

    TCP = "tcp"
    UDP = "udp"
    SCTP = "sctp"


class ServiceFlag(IntFlag):
    """IPVS service flags set by `ops` and the scheduler flag keywords (kernel IP_VS_SVC_F_*)."""

    ONE_PACKET = 0x0004
    SCHED1 = 0x0008  # also sh-fallback and mh-fallback
    SCHED2 = 0x0010  # also sh-port and mh-port
    SCHED3 = 0x0020


@dataclass(frozen=True, slots=True)
class Forwarding:
    """How IPVS forwards to a server (`lvs_method`): NAT, DR or TUN with its tunnel options."""

    method: str  # "NAT", "DR" or "TUN"
    tunnel_type: str = "ipip"  # "ipip", "gue" or "gre"
    tunnel_port: int = 0  # gue only
    tunnel_checksum: str = "nocsum"  # "nocsum", "csum" or "remcsum"


@dataclass
class AddressRange:
    """A `virtual_server_group` address entry: `start` to `end` (the same for a single address)."""

    start: IPAddress
    end: IPAddress
    port: int = 0

    @property
    def family(self) -> int:
        return self.start.version


@dataclass
class FwmarkEntry:
    """A `virtual_server_group` entry `fwmark N [inet|inet6]`; `family` None when not given."""

    fwmark: int
    family: int | None = None


@dataclass(eq=False)
class VirtualServerGroup:
    """`virtual_server_group NAME { … }`: addresses (ranges) and firewall marks served as one."""

    name: str
    ranges: list[AddressRange] = field(default_factory=list)
    fwmarks: list[FwmarkEntry] = field(default_factory=list)
    defined_at: Place | None = field(default=None, compare=False, repr=False)  # where the block starts

    @property
    def have_ipv4(self) -> bool:
        return any(r.family == 4 for r in self.ranges) or any(f.family == 4 for f in self.fwmarks)

    @property
    def have_ipv6(self) -> bool:
        return any(r.family == 6 for r in self.ranges) or any(f.family == 6 for f in self.fwmarks)

    @property
    def fwmark_no_family(self) -> bool:
        return any(f.family is None for f in self.fwmarks)


@dataclass
class Connection:
    """Where a checker connects from and to (keepalived's `conn_opts_t`).

    It starts as the real server's address and port; `address` None means no address (SMTP_CHECK: not
    configured yet; otherwise a `connect_ip` that clashed with `bindto`). `timeout_us` None: the real
    server's `connect_timeout`.
    """

    address: IPAddress | None
    port: int = 0
    bind_address: IPAddress | None = None
    bind_port: int = 0
    bind_interface: str = ""
    timeout_us: int | None = None
    fwmark: int = 0


@dataclass(eq=False)
class Checker:
    """What every health checker of a real server has (keepalived's `checker_t`).

    None values are inherited at completion: `alpha`, `delay_loop_us` and the retry settings from the real
    server, falling back to the checker kind's defaults below.
    """

    connection: Connection | None = None
    alpha: bool | None = None
    delay_loop_us: int | None = None
    warmup_us: int | None = None
    retry: int | None = None
    delay_before_retry_us: int | None = None
    log_all_failures: bool = False

    default_retry: ClassVar[int] = 1
    default_delay_before_retry_us: ClassVar[int] = TIMER_HZ  # 0: the delay loop
    runs_checks: ClassVar[bool] = True  # False: driven by another process (BFD)


@dataclass(eq=False)
class TcpCheck(Checker):
    """`TCP_CHECK`: a TCP connection succeeds."""


@dataclass
class Regex:
    """A regular expression a page must (or, with `no_match`, must not) contain; PCRE2 option names."""

    pattern: str
    options: frozenset[str] = frozenset()


@dataclass(eq=False)
class Url:
    """One `url { … }` of an HTTP_GET/SSL_GET checker; `status_codes` default to 200-299."""

    path: str | None = None
    digest: bytes | None = None  # MD5 of the page
    status_codes: set[int] = field(default_factory=set)
    virtualhost: str | None = None
    regex: Regex | None = None
    regex_no_match: bool = False
    regex_min_offset: int = 0
    regex_max_offset: int = 0  # one beyond the last offset a match may start at; 0: no limit
    regex_use_stack: bool = False


@dataclass(eq=False)
class HttpCheck(Checker):
    """`HTTP_GET` / `SSL_GET`: GET each url, check status code, digest and regex."""

    ssl: bool = False
    urls: list[Url] = field(default_factory=list)
    http_protocol: str = "1.0"  # "1.0", "1.0C" (1.0 with Connection: close) or "1.1"
    virtualhost: str | None = None
    enable_sni: bool = False
    fast_recovery: bool = False

    default_delay_before_retry_us: ClassVar[int] = 3 * TIMER_HZ


@dataclass(eq=False)
class MiscCheck(Checker):
    """`MISC_CHECK`: run a script; `timeout_us` 0 means the virtual server's delay loop. With `dynamic`,
    an exit status of 2..255 sets the real server's weight to status - 2."""

    script: NotifyScript | None = None
    timeout_us: int = 0
    dynamic: bool = False

    default_retry: ClassVar[int] = 0


@dataclass(eq=False)
class SmtpCheck(Checker):
    """`SMTP_CHECK`: the server answers HELO. Each deprecated `host { … }` block becomes a checker of its
    own with that connection."""

    helo_name: str = SMTP_DEFAULT_HELO


@dataclass(eq=False)
class DnsCheck(Checker):
    """`DNS_CHECK`: the server answers a query for `name` (the root when empty) of `type`."""

    type: str = "SOA"
    name: str = ""

    default_retry: ClassVar[int] = 3
    default_delay_before_retry_us: ClassVar[int] = 0


@dataclass(eq=False)
class UdpCheck(Checker):
    """`UDP_CHECK`: send `payload`; with `require_reply`, a reply of an allowed length matching `reply`
    (where `reply_mask` has 0xf nibbles the reply may hold anything) must come back."""

    payload: bytes | None = None
    require_reply: bool = False
    reply: bytes | None = None
    reply_mask: bytes | None = None
    min_reply_length: int = 0
    max_reply_length: int = 255


@dataclass(eq=False)
class PingCheck(Checker):
    """`PING_CHECK`: the server answers an ICMP echo."""


@dataclass(eq=False)
class BfdCheck(Checker):
    """`BFD_CHECK`: the real server is up while the BFD session `bfd` is up."""

    bfd: str = ""

    runs_checks: ClassVar[bool] = False


@dataclass
class FileCheck:
    """`FILE_CHECK`: the real server's weight follows the value in the tracked file `track_file`, times
    `weight` (the track file's weight and direction unless the block gives one)."""

    track_file: str
    weight: int | None = None
    reverse: bool = False


@dataclass(eq=False)
class RealServer:
    """A `real_server` (or the `sorry_server`) of a virtual server.

    None values are inherited from the virtual server at completion (`smtp_alert` from the global
    settings). `weight` is the initial IPVS weight.
    """

    address: SocketAddress
    weight: int | None = None
    forwarding: Forwarding | None = None
    upper_threshold: int = 0
    lower_threshold: int = 0
    inhibit_on_failure: bool | None = None
    notify_up: NotifyScript | None = None
    notify_down: NotifyScript | None = None
    alpha: bool | None = None
    connect_timeout_us: int | None = None
    delay_loop_us: int | None = None
    warmup_us: int | None = None
    retry: int | None = None
    delay_before_retry_us: int | None = None
    smtp_alert: bool | None = None
    virtualhost: str | None = None
    snmp_name: str | None = None
    checkers: list[Checker] = field(default_factory=list)
    file_checks: list[FileCheck] = field(default_factory=list)
    defined_at: Place | None = field(default=None, compare=False, repr=False)  # where the block starts


@dataclass(eq=False)
class VirtualServer:
    """A `virtual_server`: an address and port, a firewall mark, or a `virtual_server_group`.

    `family` is 4 or 6 (None while unknown); for a group, `group` is linked at completion and
    `group_sequence` numbers the group's virtual servers. `scheduler`, `protocol` (not for fwmarks),
    `forwarding` and `smtp_alert` get their defaults at completion.
    """

    address: SocketAddress | None = None
    fwmark: int = 0
    group_name: str | None = None
    group: VirtualServerGroup | None = None
    group_sequence: int = 0
    family: int | None = None
    protocol: Protocol | None = None
    scheduler: str | None = None
    flags: ServiceFlag = field(default_factory=lambda: ServiceFlag(0))
    forwarding: Forwarding | None = None
    persistence_timeout: int = 0  # seconds, 0: not persistent
    persistence_engine: str | None = None
    persistence_granularity: IPv4Address | int | None = None  # IPv4 netmask or IPv6 prefix length
    ha_suspend: bool = False
    virtualhost: str | None = None
    snmp_name: str | None = None
    weight: int = 1  # of real servers that set none
    alpha: bool = False
    omega: bool = False
    inhibit_on_failure: bool = False
    quorum: int = 1
    hysteresis: int = 0
    quorum_up: NotifyScript | None = None
    quorum_down: NotifyScript | None = None
    connect_timeout_us: int = 5 * TIMER_HZ
    delay_loop_us: int = 60 * TIMER_HZ
    warmup_us: int | None = None
    retry: int | None = None
    delay_before_retry_us: int | None = None
    smtp_alert: bool | None = None
    sorry_server: RealServer | None = None
    sorry_server_is_real_server: bool = False  # the sorry server is also one of the real servers
    real_servers: list[RealServer] = field(default_factory=list)
    defined_at: Place | None = field(default=None, compare=False, repr=False)  # where the block starts

    @property
    def name(self) -> str:
        """How keepalived names the virtual server in messages (`FMT_VS`)."""
        if self.group_name is not None:
            return f"[{self.group_name}]:{self.group_sequence}"
        if self.fwmark or self.address is None:
            return f"FWM {self.fwmark}"
        return self.address.trio(self.protocol)

    def server_name(self, server: RealServer) -> str:
        """How keepalived names one of its real servers in messages (`FMT_RS`)."""
        return server.address.trio(self.protocol)
