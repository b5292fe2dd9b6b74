"""Model: the addresses, routes and rules keepalived installs (virtual_*, static_* blocks).

Kernel values keep the kernel's numbering (scopes, tables, route types, protocols) so that names from
/etc/iproute2 and plain numbers read the same; the well-known ones are in the IntEnums below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface

IpInterface = IPv4Interface | IPv6Interface
IpAddr = IPv4Address | IPv6Address

INFINITY_LIFE_TIME = 0xFFFFFFFF
RTPROT_KEEPALIVED = 18
RULE_START_PRIORITY = 16384


class Scope(IntEnum):
    """Address and route scopes (rtnetlink RT_SCOPE_*)."""

    UNIVERSE = 0
    SITE = 200
    LINK = 253
    HOST = 254
    NOWHERE = 255


class RouteTable(IntEnum):
    UNSPEC = 0
    DEFAULT = 253
    MAIN = 254
    LOCAL = 255


class RouteType(IntEnum):
    """Route types (rtnetlink RTN_*); a route may also name any other number up to 255."""

    UNSPEC = 0
    UNICAST = 1
    LOCAL = 2
    BROADCAST = 3
    ANYCAST = 4
    MULTICAST = 5
    BLACKHOLE = 6
    UNREACHABLE = 7
    PROHIBIT = 8
    THROW = 9
    NAT = 10
    XRESOLVE = 11


class RouteInstall(Enum):
    """How a route is added: keepalived's default prepends (NLM_F_CREATE only)."""

    PREPEND = "prepend"
    ADD = "add"
    APPEND = "append"


class EncapType(IntEnum):
    """Lightweight tunnel encapsulations (LWTUNNEL_ENCAP_*)."""

    MPLS = 1
    IP = 2
    ILA = 3
    IP6 = 4


class RuleAction(IntEnum):
    """Rule actions (FR_ACT_*)."""

    UNSPEC = 0
    TO_TBL = 1
    GOTO = 2
    NOP = 3
    BLACKHOLE = 6
    UNREACHABLE = 7
    PROHIBIT = 8


@dataclass
class IpAddress:
    """An address keepalived adds to an interface. `ifname` None: the VRRP instance's interface.

    `preferred_lft` is in seconds (INFINITY_LIFE_TIME: forever; for IPv6 keepalived defaults to 0, i.e.
    deprecated, for a /128 and to forever otherwise). `dad` is `-nodad`: keepalived normally adds IPv6
    addresses with IFA_F_NODAD, this lets the kernel run duplicate address detection.
    """

    address: IpInterface
    ifname: str | None = None
    broadcast: IPv4Address | None = None
    scope: int = Scope.UNIVERSE
    label: str | None = None
    peer: IpAddr | None = None
    home: bool = False
    dad: bool = False
    mngtmpaddr: bool = False
    noprefixroute: bool = False
    autojoin: bool = False
    preferred_lft: int = 0
    use_vmac: bool = False
    dont_track: bool = False
    track_group: str | None = None

    @property
    def family(self) -> int:
        return self.address.version


@dataclass
class Encap:
    """A route's lightweight tunnel encapsulation. `ip` and `ip6` use id/dst/src/tos/ttl/flags (for
    ip6 `tos` is the traffic class and `ttl` the hop limit); `mpls` the label stack; `ila` the locator."""

    type: EncapType
    id: int | None = None
    dst: IpAddr | None = None
    src: IpAddr | None = None
    tos: int | None = None
    ttl: int | None = None
    flags: int | None = None
    labels: list[int] = field(default_factory=list)
    locator: int | None = None


@dataclass
class Nexthop:
    """One path of a multipath route; `weight` as configured (1..256)."""

    via: IpAddr | None = None
    dev: str | None = None
    weight: int | None = None
    onlink: bool = False
    realms: int = 0
    encap: Encap | None = None


@dataclass
class Route:
    """A route keepalived installs. Optional values are None when not configured (the kernel default).

    `dst` is the destination prefix (`default` is 0.0.0.0/0 or ::/0), `src` the IPv6 source prefix
    (`from`), `pref_src` the preferred source address (`src`). `type` None is a unicast route that did
    not name its type. Times are in the kernel's units: `rtt` 1/8 ms, `rttvar` 1/4 ms, `rto_min` ms;
    `expires` seconds. `locked` names the metrics given with `lock`. `realms` is FROM<<16 | TO.
    """

    family: int = 4
    dst: IpInterface = field(default_factory=lambda: IPv4Interface("0.0.0.0/0"))
    src: IpInterface | None = None
    pref_src: IpAddr | None = None
    via: IpAddr | None = None
    oif: str | None = None
    table: int = RouteTable.MAIN
    type: int | None = None
    scope: int | None = None
    protocol: int | None = None
    tos: int | None = None
    metric: int | None = None
    onlink: bool = False
    encap: Encap | None = None
    expires: int | None = None
    mtu: int | None = None
    hoplimit: int | None = None
    advmss: int | None = None
    rtt: int | None = None
    rttvar: int | None = None
    reordering: int | None = None
    window: int | None = None
    cwnd: int | None = None
    ssthresh: int | None = None
    rto_min: int | None = None
    initcwnd: int | None = None
    initrwnd: int | None = None
    locked: set[str] = field(default_factory=set)
    features_ecn: bool = False
    quickack: int | None = None
    congctl: str | None = None
    pref: int | None = None
    ttl_propagate: bool | None = None
    fastopen_no_cookie: bool | None = None
    realms: int = 0
    install: RouteInstall = RouteInstall.PREPEND
    nexthops: list[Nexthop] = field(default_factory=list)
    dont_track: bool = False
    track_group: str | None = None


@dataclass
class Rule:
    """A routing policy rule keepalived installs. `priority` is always set (keepalived assigns one
    counting down from 16384 per family when the configuration gives none). `fwmask`, `sport`, `dport`,
    `uid_range`, `ip_proto`, `protocol`, `suppress_group` are None when not configured."""

    family: int = 4
    action: RuleAction = RuleAction.UNSPEC
    priority: int = 0
    from_addr: IpInterface | None = None
    to_addr: IpInterface | None = None
    invert: bool = False
    table: int = RouteTable.UNSPEC
    goto_target: int = 0
    tos: int = 0
    fwmark: int | None = None
    fwmask: int | None = None
    realms: int = 0
    suppress_prefix_len: int = -1
    suppress_group: int | None = None
    iif: str | None = None
    oif: str | None = None
    tunnel_id: int = 0
    uid_range: tuple[int, int] | None = None
    l3mdev: bool = False
    protocol: int | None = None
    ip_proto: int | None = None
    sport: tuple[int, int] | None = None
    dport: tuple[int, int] | None = None
    dont_track: bool = False
    track_group: str | None = None
