"""Addresses, routes and rules as keepalived 2.2.7 reads them (vrrp_ipaddress.c, vrrp_iproute.c,
vrrp_iprule.c, vrrp_ip_rule_route_parser.c and lib/rttables.c).

Each line of `virtual_ipaddress`, `static_routes`, `virtual_rules`… is one item: `alloc_ipaddress`,
`alloc_route` and `alloc_rule` read its words, report what keepalived reports, and return the item, or
None when keepalived drops it. Routing table, scope, protocol… names come from the host's /etc/iproute2
files, completed by keepalived's built-in names.

keepalived quirks kept on purpose (they change what a configuration means): `inet`/`inet6` in a route or
rule also swallow the word after them; a route `nexthop` that fails to parse is dropped but the route is
kept; a broken `encap` leaves the route with a partial encapsulation; a rule `sport`/`dport` with a single
port is reported invalid; `tc` errors name the keyword instead of the value.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING, NoReturn

from .. import numbers
from ..diagnostics import Severity
from ..model.addresses import (
    INFINITY_LIFE_TIME,
    RTPROT_KEEPALIVED,
    RULE_START_PRIORITY,
    Encap,
    EncapType,
    IpAddr,
    IpAddress,
    IpInterface,
    Nexthop,
    Route,
    RouteInstall,
    RouteType,
    Rule,
    RuleAction,
)
from ..model.vrrp import IFNAMSIZ
from ..words import WHITE_SPACE, UnmatchedQuoteError, split_words

if TYPE_CHECKING:
    from ..engine import Parser, Words

UINT8_MAX, UINT16_MAX, UINT32_MAX, UINT64_MAX = 0xFF, 0xFFFF, 0xFFFFFFFF, 2**64 - 1
INT32_MAX = 2**31 - 1
DEFAULT_INTERFACE = "eth0"  # keepalived's DFLT_INT


# -- per-read state ---------------------------------------------------------------------------------


@dataclass
class _ReadState:
    """What keepalived's VRRP process keeps in static variables while it reads (`Parser.reading_state`)."""

    next_rule_priority: dict[int, int] = field(
        default_factory=lambda: {4: RULE_START_PRIORITY, 6: RULE_START_PRIORITY}
    )
    names: dict[str, dict[str, int]] = field(default_factory=dict)  # iproute2 file -> name -> id


# -- interfaces and track groups --------------------------------------------------------------------


def find_interface(parser: Parser, name: str) -> str | None:
    """keepalived's `if_get_by_ifname(name, IF_CREATE_IF_DYNAMIC)`: the interface's name, or None when it
    does not exist (remembered: keepalived then stops with "Non-existent interface specified in
    configuration"). With `dynamic_interfaces` a missing interface is kept, to be used if it appears."""
    vrrp = parser.config.vrrp
    if name in parser.host.interfaces() or name in vrrp.created_interfaces:
        return name
    if not parser.config.global_defs.dynamic_interfaces:
        vrrp.nonexistent_interface = True
        return None
    vrrp.created_interfaces.append(name)
    parser.log(
        f"Configuration specifies interface {name} which doesn't currently exist - will use if created"
    )
    return name


def _default_interface(parser: Parser) -> str | None:
    """keepalived's `get_default_if`: `default_interface`, else eth0."""
    return find_interface(parser, parser.config.global_defs.default_interface or DEFAULT_INTERFACE)


def _track_group(parser: Parser, name: str) -> str | None:
    """keepalived's `static_track_group_find`: the group must be defined before it is used."""
    if parser.config.vrrp.track_group(name) is None:
        parser.error(f"track_group {name} not found")
        return None
    return name


# -- iproute2 names (lib/rttables.c) ----------------------------------------------------------------

IPROUTE2_DIR = "/etc/iproute2/"
_RT_LINE_MAX = 127  # keepalived reads these files with fgets into 128 bytes


@dataclass(frozen=True)
class _NameFile:
    """An iproute2 name file, the largest id it may give, and keepalived's names for ids it lacks."""

    name: str
    max_id: int
    defaults: tuple[tuple[int, str], ...] = ()


TABLES = _NameFile("rt_tables", UINT32_MAX, ((253, "default"), (254, "main"), (255, "local")))
DSFIELDS = _NameFile("rt_dsfield", 255)
GROUPS = _NameFile("group", INT32_MAX)
REALMS = _NameFile("rt_realms", 255)
PROTOCOLS = _NameFile(
    "rt_protos",
    255,
    (
        (0, "none"),
        (1, "redirect"),
        (2, "kernel"),
        (3, "boot"),
        (4, "static"),
        (8, "gated"),
        (9, "ra"),
        (10, "mrt"),
        (11, "zebra"),
        (12, "bird"),
        (42, "babel"),
        (13, "dnrouted"),
        (14, "xorp"),
        (15, "ntk"),
        (16, "dhcp"),
    ),
)
SCOPES = _NameFile(
    "rt_scopes", 255, ((0, "global"), (255, "nowhere"), (254, "host"), (253, "link"), (200, "site"))
)

ROUTE_TYPES = {
    "local": RouteType.LOCAL,
    "nat": RouteType.NAT,
    "broadcast": RouteType.BROADCAST,
    "brd": RouteType.BROADCAST,
    "anycast": RouteType.ANYCAST,
    "multicast": RouteType.MULTICAST,
    "prohibit": RouteType.PROHIBIT,
    "unreachable": RouteType.UNREACHABLE,
    "blackhole": RouteType.BLACKHOLE,
    "xresolve": RouteType.XRESOLVE,
    "unicast": RouteType.UNICAST,
    "throw": RouteType.THROW,
}


def _file_lines(text: str) -> list[str]:
    """The pieces `fgets` returns: lines, cut every 127 characters."""
    pieces = []
    pos = 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end + 1
        end = min(end, pos + _RT_LINE_MAX)
        pieces.append(text[pos:end])
        pos = end
    return pieces


def _read_names(parser: Parser, names: _NameFile) -> dict[str, int]:
    """`NUMBER NAME` lines of the file (other lines ignored), then the defaults for ids not listed."""
    entries: list[tuple[int, str]] = []
    for line in _file_lines(parser.host.read_text(IPROUTE2_DIR + names.name) or ""):
        try:
            words = split_words(line)
        except UnmatchedQuoteError as err:
            words = err.args[1]
        if len(words) != 2:
            continue
        text = words[0].lstrip(" \t")
        parsed = numbers.strtol(text, 0, unsigned=True)
        if text and not text.startswith("-") and not parsed.rest and parsed.value <= names.max_id:
            entries.append((parsed.value, words[1]))
    listed = {number for number, _ in entries}
    entries.extend((number, name) for number, name in names.defaults if number not in listed)
    by_name: dict[str, int] = {}
    for number, name in entries:
        by_name.setdefault(name, number)
    return by_name


def find_name(parser: Parser, names: _NameFile, text: str) -> int | None:
    """keepalived's `find_rttables_*`: a number (C `strtoul` base 0, kept to 32 bits) up to the file's
    largest id, or a name from the file."""
    parsed = numbers.strtol(text, 0, unsigned=True)
    if text and not parsed.rest:
        value = parsed.value & UINT32_MAX
        return value if value <= names.max_id else None
    cache = parser.reading_state(_ReadState).names
    if names.name not in cache:
        cache[names.name] = _read_names(parser, names)
    return cache[names.name].get(text)


def _route_type(text: str) -> int | None:
    """keepalived's `find_rttables_rtntype`: a type name or a number up to 255 (even an empty one)."""
    if text in ROUTE_TYPES:
        return ROUTE_TYPES[text]
    parsed = numbers.strtol(text, 0, unsigned=True)
    if parsed.rest or parsed.value > 255 or text.startswith("-"):
        return None
    return parsed.value


def _realms(parser: Parser, text: str) -> int | None:
    """keepalived's `get_realms`: REALM or FROM/TO, as FROM << 16 | TO."""
    first, slash, second = text.partition("/")
    realm = find_name(parser, REALMS, first)
    if realm is None or not slash:
        return realm
    to_realm = find_name(parser, REALMS, second)
    return None if to_realm is None else (realm << 16 | to_realm) & UINT32_MAX


def _protocol_number(parser: Parser, text: str) -> int | None:
    """keepalived's `inet_proto_a2n`: a number up to 127, or a name from /etc/protocols."""
    text = text.lstrip(WHITE_SPACE)
    if not text or text.startswith("-"):
        return None
    parsed = numbers.strtol(text, 10, unsigned=True)
    if parsed.value > 127:
        return None
    if not parsed.rest:
        return parsed.value
    for line in (parser.host.read_text("/etc/protocols") or "").splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and text in (fields[0], *fields[2:]) and fields[1].isdigit():
            return int(fields[1])
    return None


# -- numbers ----------------------------------------------------------------------------------------


def _get_unsigned(parser: Parser, text: str, high: int, message: str) -> int | None:
    """keepalived's `get_u8/u16/u32`: a strict unsigned number, else `message % text` is reported too."""
    value = parser.read_unsigned(text, 0, high)
    if value is None:
        parser.error(message % text)
    return value


def _get_unsigned64(parser: Parser, text: str, message: str) -> int | None:
    value = parser.read_unsigned64(text, 0, UINT64_MAX)
    if value is None:
        parser.error(message % text)
    return value


RTT_MIN_MS, RTT_MAX_MS = 200, 120_000


def _time_rtt(parser: Parser, text: str, unit: int) -> int | None:
    """keepalived's `get_time_rtt`: N (kernel units of 1/`unit` ms), Nms or Ns, kept within 200ms..120s."""
    text = text.lstrip(WHITE_SPACE)
    raw, shift = True, 0
    number = text
    units = re.search("[sS]", text)
    if units:
        start = units.start()
        if text[start:].lower() not in ("s", "sec", "secs"):
            return None
        raw = False
        if start and text[start - 1] in "mM":
            start -= 1
        else:
            shift = 3
        if not start:
            return None
        number = text[:start]
    if "e" in number or "E" in number:
        parser.log(f"rtt value exponential form {text} no longer supported")
        return None
    value = parser.read_decimal(number, 0, RTT_MAX_MS * unit, shift)
    if value is None:
        return None
    if not raw:
        value *= unit
    if value > RTT_MAX_MS * unit:
        parser.log(f"rtt value {text} exceeds maximum {RTT_MAX_MS // 1000}s, resetting")
        return RTT_MAX_MS * unit
    if value < RTT_MIN_MS * unit:
        parser.log(f"rtt value {text} below minimum {RTT_MIN_MS}ms, resetting")
        return RTT_MIN_MS * unit
    return value


_SCANF_UNSIGNED = re.compile(r"[ \t\n\v\f\r]*[+-]?[0-9]+")


def _scan_range(text: str, bits: int) -> list[int]:
    """What `sscanf(text, "%u-%u")` converts (with `%hu` for 16 bits): zero, one or two numbers."""
    values: list[int] = []
    rest = text
    while len(values) < 2:
        match = _SCANF_UNSIGNED.match(rest)
        if match is None:
            break
        values.append(numbers.strtol(match.group(), 10, unsigned=True).value & ((1 << bits) - 1))
        rest = rest[match.end() :]
        if not rest.startswith("-"):
            break
        rest = rest[1:]
    return values


def _addr64(text: str) -> int | None:
    """keepalived's `get_addr64`: an ILA locator, four hex groups `x:x:x:x`."""
    text = text.lstrip(WHITE_SPACE)
    value = 0
    for group in range(4):
        if not text or text[0] not in "0123456789abcdefABCDEF":
            return None
        parsed = numbers.strtol(text, 16, unsigned=True)
        if parsed.value > 0xFFFF:
            return None
        value = value << 16 | parsed.value
        if not parsed.rest:
            return value if group == 3 else None
        if group == 3 or parsed.rest[0] != ":":
            return None
        text = parsed.rest[1:]
    return None


MAX_MPLS_LABELS = 2
MPLS_LABEL_MAX = 0xFFFFF


def _mpls_labels(text: str) -> list[int] | None:
    """keepalived's `parse_mpls_address`: up to two labels `L[/L]`."""
    text = text.lstrip(WHITE_SPACE)
    labels: list[int] = []
    for _ in range(MAX_MPLS_LABELS):
        if text.startswith("-") or text[:1] in tuple(WHITE_SPACE):
            return None
        parsed = numbers.strtol(text, 0, unsigned=True)
        if parsed.rest == text or parsed.value > MPLS_LABEL_MAX:
            return None
        labels.append(parsed.value)
        if not parsed.rest:
            return labels
        if parsed.rest[0] != "/":
            return None
        text = parsed.rest[1:]
    return None


# -- addresses (vrrp_ipaddress.c) -------------------------------------------------------------------


def _c_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def _inet_pton(version: int, text: str) -> IpAddr | None:
    if "%" in text:  # Python takes an IPv6 scope, inet_pton does not
        return None
    try:
        return IPv4Address(text) if version == 4 else IPv6Address(text)
    except ValueError:
        return None


def _parse_ip(
    text: str, allow_subnet_mask: bool, report: numbers.Reporter, config_test: bool
) -> IpInterface | None:
    """keepalived's `parse_ipaddress`: ADDRESS[/PREFIX]; a ':' makes it IPv6. A bad prefix is reported and
    the full length used; a bad address is reported and gives None."""
    version = 6 if ":" in text else 4
    prefixlen = full = 128 if version == 6 else 32
    address_text = text
    if allow_subnet_mask and "/" in text:
        address_text, _, prefix_text = text.partition("/")
        value = numbers.read_unsigned(prefix_text, 0, full, report, lenient=True, config_test=config_test)
        if value is None:
            report(
                Severity.GENERAL_ERROR,
                f"Invalid address prefix len {prefix_text} for address {text} - using {full}",
            )
        else:
            prefixlen = value
    address = _inet_pton(version, address_text)
    if address is None:
        report(Severity.GENERAL_ERROR, f"VRRP parsed invalid IP {text}. skipping IP...")
        return None
    return ipaddress.ip_interface((address, prefixlen))


def _ignore(severity: Severity, message: str) -> None:
    pass


def parse_ipaddress(text: str, *, allow_subnet_mask: bool) -> IpAddress | None:
    """keepalived's `parse_ipaddress` without its messages: None when the address itself is invalid (an
    invalid prefix gives the full length, as keepalived)."""
    address = _parse_ip(text, allow_subnet_mask, _ignore, True)
    return None if address is None else IpAddress(address)


def _parse_address(parser: Parser, text: str, *, allow_subnet_mask: bool) -> IpInterface | None:
    return _parse_ip(text, allow_subnet_mask, parser.report, parser.config_test)


def _parse_host(parser: Parser, text: str) -> IpAddr | None:
    address = _parse_address(parser, text, allow_subnet_mask=False)
    return None if address is None else address.ip


@dataclass(frozen=True)
class _Prefix:
    """keepalived's `parse_route` result: a prefix, or `default` whose family the route decides."""

    family: int  # 0: any family
    address: IpInterface | None = None

    def resolve(self, family: int) -> IpInterface:
        if self.address is not None:
            return self.address
        return ipaddress.ip_interface(("::" if family == 6 else "0.0.0.0", 0))


def _parse_route(parser: Parser, text: str) -> _Prefix | None:
    if text in ("default", "any", "all"):
        return _Prefix(0)
    if text == "default6":  # kept by keepalived for configurations from v2.0.7 and earlier
        parser.log("'default6' is deprecated - please replace with 'inet6 default'")
        return _Prefix(6)
    address = _parse_address(parser, text, allow_subnet_mask=True)
    return None if address is None else _Prefix(address.version, address)


_ADDRESS_FLAGS = {
    "home": "home",
    "-nodad": "dad",
    "mngtmpaddr": "mngtmpaddr",
    "noprefixroute": "noprefixroute",
    "autojoin": "autojoin",
    "no_track": "dont_track",
}


def _broadcast(base: IPv4Address, prefixlen: int, high: bool) -> IPv4Address | None:
    host_bits = UINT32_MAX >> prefixlen
    value = int(base) | host_bits if high else int(base) & ~host_bits
    return IPv4Address(value) if value else None


def alloc_ipaddress(parser: Parser, words: Words, *, static_addr: bool) -> IpAddress | None:
    """One `virtual_ipaddress`/`virtual_ipaddress_excluded`/`static_ipaddress` line (`alloc_ipaddress`)."""
    address = _parse_address(parser, words.arg(0), allow_subnet_mask=True)
    if address is None:
        return None
    new = IpAddress(address)
    name = words[0]
    with_parameter = {"dev", "scope", "broadcast", "brd", "label", "peer", "preferred_lft"}
    if static_addr:
        with_parameter.add("track_group")
    broadcast_from = ""  # "+" or "-": computed from the prefix
    have_broadcast = preferred_lft_set = False
    i = 1
    while i < len(words):
        word = words[i]
        if word in with_parameter and i + 1 >= len(words):
            parser.error(f"No {word} parameter specified for {name}")
            return None
        if word == "dev":
            if new.ifname is not None:
                parser.error(f"Cannot specify ipaddress device more than once for {name}")
                return None
            i += 1
            if find_interface(parser, words[i]) is None:
                parser.error(f"WARNING - interface {words[i]} for ip address {name} doesn't exist")
                return None
            new.ifname = words[i]
        elif word == "scope":
            i += 1
            scope = find_name(parser, SCOPES, words[i])
            if scope is None:
                parser.error(f"Invalid scope '{words[i]}' specified for {name} - ignoring")
            else:
                new.scope = scope
        elif word in ("broadcast", "brd"):
            if new.family == 6:
                parser.error(
                    f"VRRP is trying to assign a broadcast {word} to the IPv6 address {name} !!?? "
                    "WTF... skipping VIP..."
                )
                return None
            have_broadcast = True
            i += 1
            if words[i] in ("+", "-"):
                broadcast_from = words[i]
            else:
                broadcast = _inet_pton(4, words[i])
                if not isinstance(broadcast, IPv4Address):
                    parser.error(f"VRRP is trying to assign invalid broadcast {words[i]}. skipping VIP...")
                    return None
                new.broadcast = broadcast if int(broadcast) else None
        elif word == "label":
            i += 1
            if _c_len(words[i]) >= IFNAMSIZ:
                parser.error(
                    f"Address label {words[i]} is longer than maximum length {IFNAMSIZ - 1} "
                    "- removing address"
                )
                return None
            new.label = words[i]
        elif word == "peer":
            i += 1
            if new.peer is not None:
                parser.error(f"Peer {words[i]} - another peer has already been specified")
                continue  # keepalived then reads the peer's address as an option
            peer = _parse_address(parser, words[i], allow_subnet_mask=False)
            if peer is None:
                parser.error(f"Invalid peer address {words[i]}")
            elif peer.version != new.family:
                parser.error(f"Peer address {words[i]} does not match address family")
            else:
                if new.address.network.prefixlen != new.address.max_prefixlen:
                    parser.error("Cannot specify address prefix when specifying peer address - ignoring")
                new.peer = peer.ip
                new.address = ipaddress.ip_interface((new.address.ip, peer.network.prefixlen))
        elif word in _ADDRESS_FLAGS:
            setattr(new, _ADDRESS_FLAGS[word], True)
        elif word == "preferred_lft":
            i += 1
            if words[i] == "forever":
                new.preferred_lft, preferred_lft_set = INFINITY_LIFE_TIME, True
            elif (lifetime := parser.read_unsigned(words[i], 0, UINT32_MAX, lenient=True)) is not None:
                new.preferred_lft, preferred_lft_set = lifetime, True
            else:
                parser.error(f"preferred_lft {words[i]} is invalid")
        elif static_addr and word == "track_group":
            i += 1
            if new.track_group is not None:
                parser.error(f"track_group {words[i]} is a duplicate")
                break
            new.track_group = _track_group(parser, words[i])
        elif not static_addr and word == "use_vmac":
            new.use_vmac = True
        else:
            parser.error(f"Unknown configuration entry '{word}' for ip address - ignoring")
        i += 1

    prefixlen = new.address.network.prefixlen
    if have_broadcast and new.peer is not None:
        parser.error("Cannot specify broadcast and peer addresses - ignoring broadcast address")
        new.broadcast = None
    elif broadcast_from and prefixlen <= 30:
        assert isinstance(new.address.ip, IPv4Address)  # a broadcast was refused for IPv6
        new.broadcast = _broadcast(new.address.ip, prefixlen, broadcast_from == "+")
    elif broadcast_from:
        parser.error(f"Address prefix length {prefixlen} too long for broadcast")

    if static_addr and new.ifname is None:
        new.ifname = _default_interface(parser)
        if new.ifname is None:
            parser.report(
                Severity.FATAL,
                f"Static address {name} requires either an interface or default interface must exist",
            )
            return None

    if new.family == 6:
        if new.scope:
            parser.error(f"Cannot specify scope for IPv6 addresses ({name}) - ignoring scope")
            new.scope = 0
        if new.label is not None:
            parser.error(f"Cannot specify label for IPv6 addresses ({name}) - ignoring label")
            new.label = None
        if not preferred_lft_set:
            new.preferred_lft = 0 if prefixlen == 128 else INFINITY_LIFE_TIME
    return new


# -- routes (vrrp_iproute.c) ------------------------------------------------------------------------


class _DiscardError(Exception):
    """The item is dropped (keepalived's `goto err`); its message has been reported."""


@dataclass(frozen=True)
class _RouteMetric:
    """A route option with one number: `get_u*`, or `get_time_rtt` when `rtt_unit` is set."""

    field: str
    message: str
    high: int = UINT32_MAX
    lockable: bool = False
    rtt_unit: int = 0


_ROUTE_METRICS = {
    "metric": _RouteMetric("metric", "Invalid metric %s specified for route"),
    "priority": _RouteMetric("metric", "Invalid metric %s specified for route"),
    "preference": _RouteMetric("metric", "Invalid metric %s specified for route"),
    "mtu": _RouteMetric("mtu", "Invalid MTU %s specified for route", lockable=True),
    "hoplimit": _RouteMetric("hoplimit", "Invalid hoplimit %s specified for route", high=UINT8_MAX),
    "advmss": _RouteMetric("advmss", "Invalid advmss %s specified for route", lockable=True),
    "rtt": _RouteMetric("rtt", "Invalid rtt %s for route", lockable=True, rtt_unit=8),
    "rttvar": _RouteMetric("rttvar", "Invalid rttvar %s for route", lockable=True, rtt_unit=4),
    "reordering": _RouteMetric(
        "reordering", "Invalid reordering value %s specified for route", lockable=True
    ),
    "window": _RouteMetric("window", "Invalid window value %s specified for route"),
    "cwnd": _RouteMetric("cwnd", "Invalid cwnd value %s specified for route", lockable=True),
    "ssthresh": _RouteMetric("ssthresh", "Invalid ssthresh value %s specified for route", lockable=True),
    "rto_min": _RouteMetric(
        "rto_min", "Invalid rto_min value %s specified for route", lockable=True, rtt_unit=1
    ),
    "initcwnd": _RouteMetric("initcwnd", "Invalid initcwnd value %s specified for route"),
    "initrwnd": _RouteMetric("initrwnd", "Invalid initrwnd value %s specified for route"),
    "quickack": _RouteMetric("quickack", "Invalid quickack value %s specified for route", high=1),
}

ICMPV6_ROUTER_PREF = {"low": 3, "medium": 0, "high": 1}
_INSTALL = {"add": RouteInstall.ADD, "prepend": RouteInstall.PREPEND, "append": RouteInstall.APPEND}


@dataclass(frozen=True)
class _IpEncapSyntax:
    """The words and messages of `encap ip` and `encap ip6` (same fields, different names)."""

    type: EncapType
    version: int
    tos_word: str
    ttl_word: str
    id_error: str
    dst_error: str
    src_error: str
    family_error: str
    tos_error: str
    ttl_error: str
    flags_error: str
    missing: str


_ENCAP_IP = _IpEncapSyntax(
    EncapType.IP,
    4,
    "tos",
    "ttl",
    "encap id %s value is invalid",
    "Invalid encap ip dst %s",
    "Invalid encap ip src %s",
    "IPv6 address %s not valid for ip encapsulation",
    "dsfield %s not valid for ip encapsulation",
    "ttl %s is not valid for ip encapsulation",
    "flags %s is not valid for ip encapsulation",
    "address or id missing for ip encapsulation",
)
_ENCAP_IP6 = _IpEncapSyntax(
    EncapType.IP6,
    6,
    "tc",
    "hoplimit",
    "id %s value invalid for IPv6 encapsulation",
    "Invalid encap ip6 dst %s",
    "Invalid encap ip6 src %s",
    "IPv4 address %s not valid for ip6 encapsulation",
    "tc value %s is invalid for ip6 encapsulation",
    "Invalid hoplimit %s specified for ip6 encapsulation",
    "flags %s is not valid for ip6 encapsulation",
    "address or id missing for ip6 encapsulation",
)


class _WordReader:
    """The words of one line and keepalived's index into them."""

    def __init__(self, parser: Parser, words: Words) -> None:
        self.parser = parser
        self.words = words
        self.i = 0

    def next(self) -> str:
        """keepalived's `strvec_slot(strvec, ++i)`: a missing word stops the read (exit status 2)."""
        self.i += 1
        return self.words.arg(self.i)

    def fail(self, message: str) -> NoReturn:
        self.parser.error(message)
        raise _DiscardError

    def interface(self, message: str) -> str:
        name = self.next()
        if find_interface(self.parser, name) is None:
            self.fail(message % name)
        return name


class _RouteReader(_WordReader):
    """`alloc_route`: reads one route line into `route`, raising _DiscardError when keepalived drops it."""

    def __init__(self, parser: Parser, words: Words, allow_track_group: bool) -> None:
        super().__init__(parser, words)
        self.allow_track_group = allow_track_group
        self.route = Route()
        self.family = 0
        self.dst: _Prefix | None = None
        self.src: _Prefix | None = None
        self.dest = ""  # the destination as written
        self.nexthop_family = 0  # keepalived never resets it between nexthops

    def set_family(self, family: int, message: str) -> None:
        if not self.family:
            self.family = family
        elif family != self.family:
            self.fail(message)

    def read(self) -> Route:
        route = self.route
        do_nexthop = False
        while self.i < len(self.words):
            word = self.words[self.i]
            if word in ("inet", "inet6"):
                other = "IPv6" if word == "inet" else "IPv4"
                self.set_family(4 if word == "inet" else 6, f"{word} specified for {other} route")
                self.i += 1  # and the loop's own step: keepalived skips the next word
            elif word == "src":
                pref_src = _parse_host(self.parser, self.next())
                if pref_src is None:
                    self.fail(f"invalid route src address {self.words[self.i]}")
                route.pref_src = pref_src
                self.set_family(pref_src.version, "Cannot mix IPv4 and IPv6 addresses for route")
            elif word == "as":
                if self.next() == "to":
                    self.i += 1
                self.parser.error('"as to" for MPLS only - ignoring')
            elif word in ("via", "gw"):
                self.via(word)
            elif word == "from":
                src = _parse_route(self.parser, self.next())
                if src is None:
                    self.fail(f"invalid route from address {self.words[self.i]}")
                if src.family != 6:
                    self.fail(f"route from address only supported with IPv6 ({self.words[self.i]})")
                self.src = src
                self.set_family(6, "Cannot mix IPv4 and IPv6 addresses for route")
            elif word in ("tos", "dsfield"):
                route.tos = self.named(DSFIELDS, "TOS value %s is invalid")
            elif word == "table":
                route.table = self.named(TABLES, "Routing table %s not found for route")
            elif word == "protocol":
                route.protocol = self.named(PROTOCOLS, "Protocol %s not found or invalid for route")
            elif word == "scope":
                route.scope = self.named(SCOPES, "Scope %s not found or invalid for route")
            elif word in _ROUTE_METRICS:
                self.metric(_ROUTE_METRICS[word])
            elif word in ("dev", "oif"):
                route.oif = self.interface("WARNING - interface %s for VROUTE nexthop doesn't exist")
            elif word == "onlink":
                route.onlink = True
            elif word == "encap":
                route.encap = self.encap(route.encap)
            elif word == "expires":
                self.i += 1
                if self.family == 4:
                    self.fail("expires is only valid for IPv6")
                self.family = 6
                route.expires = self.number(
                    self.words.arg(self.i), UINT32_MAX, "Invalid expires time %s specified for route"
                )
            elif word == "realms":
                realms = _realms(self.parser, self.next())
                if realms is None:
                    self.fail(f"Invalid realms {self.words[self.i]} for route")
                if self.family == 6:
                    self.fail("realms are only valid for IPv4")
                self.family = 4
                route.realms = realms
            elif word == "features":
                if self.next() == "ecn":
                    route.features_ecn = True
                else:
                    self.parser.error(f"feature {self.words[self.i]} not supported")
            elif word == "congctl":
                self.i += 1
                if self.words.arg(self.i) == "lock":
                    route.locked.add("congctl")
                    self.i += 1
                route.congctl = self.words.arg(self.i)
            elif word == "pref":
                self.pref()
            elif word == "ttl-propagate":
                setting = self.next()
                if setting in ("enabled", "disabled"):
                    route.ttl_propagate = setting == "enabled"
                else:
                    self.parser.error(f"ttl-propagate value {setting} not recognised")
                    route.ttl_propagate = bool(route.ttl_propagate)
            elif word == "fastopen_no_cookie":
                self.i += 1
                value = self.number(
                    self.words.arg(self.i), 1, "Invalid fastopen_no_cookie value %s specified for route"
                )
                route.fastopen_no_cookie = bool(value)
            elif word in _INSTALL:
                route.install = _INSTALL[word]
            elif word == "or":
                self.parser.error('"or" for routes is deprecated. Please use "nexthop"')
                if route.nexthops:
                    self.parser.error('"or" route already specified - ignoring subsequent')
                    self.i += 2
                    continue
                route.nexthops.append(Nexthop(via=route.via))
                route.via = None
                alternative = _parse_host(self.parser, self.next())
                if alternative is None:
                    self.fail(f'Invalid "or" address {self.words[self.i]}')
                route.nexthops.append(Nexthop(via=alternative))
            elif word == "nexthop":
                if route.nexthops:
                    self.parser.error('Cannot specify nexthops with "or" route')
                else:
                    do_nexthop = True
                break
            elif word == "no_track":
                route.dont_track = True
            elif self.allow_track_group and word == "track_group":
                group = self.next()
                if route.track_group is not None:
                    self.parser.error(f"track_group {group} is a duplicate")
                    break
                route.track_group = _track_group(self.parser, group)
            elif word == "vrf":
                self.vrf()
            else:
                self.destination(word)
            self.i += 1

        if do_nexthop:
            self.nexthops()
        elif self.i < len(self.words):
            self.fail(f"Route has trailing nonsense - {self.words[self.i]}")
        return self.finish()

    def finish(self) -> Route:
        """keepalived's checks of the whole route once its line is read."""
        route = self.route
        if self.dst is None:
            self.fail("Route must have a destination")
        if not route.dont_track:
            if route.protocol is not None and route.protocol != RTPROT_KEEPALIVED:
                self.parser.error(
                    "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED"
                    f"({RTPROT_KEEPALIVED}), resetting protocol"
                )
            route.protocol = RTPROT_KEEPALIVED
            if route.oif is None:
                self.parser.error(
                    f"Warning - cannot track route {self.dest} with no interface specified, not tracking"
                )
                route.dont_track = True
        if route.track_group is not None and route.oif is None:
            self.parser.error("Static route cannot have track group if no oif specified")
            route.track_group = None
        route.family = self.family or 4
        route.dst = self.dst.resolve(route.family)
        route.src = None if self.src is None else self.src.resolve(route.family)
        return route

    def named(self, names: _NameFile, message: str) -> int:
        value = find_name(self.parser, names, self.next())
        if value is None:
            self.fail(message % self.words[self.i])
        return value

    def number(self, text: str, high: int, message: str) -> int:
        value = _get_unsigned(self.parser, text, high, message)
        if value is None:
            raise _DiscardError
        return value

    def metric(self, metric: _RouteMetric) -> None:
        self.i += 1
        if metric.lockable and self.words.arg(self.i) == "lock":
            self.route.locked.add(metric.field)
            self.i += 1
        text = self.words.arg(self.i)
        if metric.rtt_unit:
            value = _time_rtt(self.parser, text, metric.rtt_unit)
            if value is None:
                self.fail(metric.message % text)
        else:
            value = self.number(text, metric.high, metric.message)
        setattr(self.route, metric.field, value)

    def via(self, word: str) -> None:
        if word == "gw":  # kept by keepalived for old configurations
            self.parser.error('"gw" for routes is deprecated. Please use "via"')
        text = self.next()
        family = self.family
        if text in ("inet", "inet6"):
            family = 4 if text == "inet" else 6
            text = self.next()
        self.set_family(family, "Cannot mix IPv4 and IPv6 addresses for route")
        via = _parse_host(self.parser, text)
        if via is None:
            self.fail(f"invalid route via address {text}")
        self.route.via = via
        self.set_family(via.version, "Cannot mix IPv4 and IPv6 addresses for route")

    def pref(self) -> None:
        self.i += 1
        if self.family == 4:
            self.fail("pref is only valid for IPv6")
        self.family = 6
        text = self.words.arg(self.i)
        if text in ICMPV6_ROUTER_PREF:
            self.route.pref = ICMPV6_ROUTER_PREF[text]
        else:
            self.route.pref = self.number(text, UINT8_MAX, "Invalid pref value %s specified for route")

    def vrf(self) -> None:
        name = self.next()
        if (
            name not in self.parser.host.interfaces()
            and name not in self.parser.config.vrrp.created_interfaces
        ):
            self.fail(f"VRF {name} not found for route")
        table = self.parser.host.vrf_table(name)
        if table is None:
            self.fail(f"Route specified VRF {name} is not a VRF")
        self.route.table = table

    def destination(self, word: str) -> None:
        if word == "to":
            self.i += 1
        route_type = _route_type(word)
        if route_type is not None:
            self.route.type = route_type
            self.i += 1
        self.dest = self.words.arg(self.i)
        dst = _parse_route(self.parser, self.dest)
        if dst is None:
            self.fail(f"unknown route keyword {self.dest}")
        self.dst = dst
        if not self.family:
            self.family = dst.family
        elif dst.family != self.family:
            self.fail(f"Cannot mix IPv4 and IPv6 addresses for route ({self.dest})")

    # -- encapsulation (`parse_encap`); at entry `i` is at the word `encap` -----------------------------
    def encap(self, encap: Encap | None) -> Encap | None:
        self.i += 1
        if self.i >= len(self.words):
            self.parser.error("Missing encap type")
            return encap
        kind = self.words[self.i]
        self.i += 1
        syntax = {"ip": _ENCAP_IP, "ip6": _ENCAP_IP6}.get(kind)
        if syntax is not None:
            encap = self.encap_ip(encap, syntax)
        elif kind == "mpls":
            encap = self.encap_mpls(encap)
        elif kind == "ila":
            encap = self.encap_ila(encap)
        else:
            self.parser.error(f"Unknown encap type - {kind}")
            return encap  # keepalived then skips the word after the type too
        self.i -= 1
        return encap

    def encap_ip(self, encap: Encap | None, syntax: _IpEncapSyntax) -> Encap:
        if encap is None:
            encap = Encap(syntax.type)
        encap.type = syntax.type
        words, parser = self.words, self.parser
        try:
            while self.i + 1 < len(words):
                key, value = words[self.i], words[self.i + 1]
                if key == "id":
                    encap.id = _get_unsigned64(parser, value, syntax.id_error)
                    if encap.id is None:
                        raise _DiscardError
                elif key in ("dst", "src"):
                    address = _parse_host(parser, value)
                    if address is None:
                        self.fail((syntax.dst_error if key == "dst" else syntax.src_error) % value)
                    setattr(encap, key, address)
                    if address.version != syntax.version:
                        self.fail(syntax.family_error % value)
                elif key == syntax.tos_word:
                    tos = find_name(parser, DSFIELDS, value)
                    if tos is None:
                        # keepalived names the value for ip, the keyword for ip6
                        self.fail(syntax.tos_error % (value if syntax.version == 4 else key))
                    encap.tos = tos
                elif key == syntax.ttl_word:
                    encap.ttl = self.number(value, UINT8_MAX, syntax.ttl_error)
                elif key == "flags":
                    encap.flags = self.number(value, UINT16_MAX, syntax.flags_error)
                else:
                    break
                self.i += 2
            if encap.dst is None and encap.id is None:
                self.fail(syntax.missing)
        except _DiscardError:
            encap.dst = encap.src = None
        return encap

    def encap_mpls(self, encap: Encap | None) -> Encap:
        if encap is None:
            encap = Encap(EncapType.MPLS)
        encap.type = EncapType.MPLS
        if self.i >= len(self.words):
            self.parser.error("missing address for MPLS encapsulation")
            return encap
        text = self.words[self.i]
        self.i += 1
        labels = _mpls_labels(text)
        if labels is None:
            self.parser.error(f"invalid mpls address {text} for encapsulation")
        encap.labels = labels or []
        return encap

    def encap_ila(self, encap: Encap | None) -> Encap:
        if encap is None:
            encap = Encap(EncapType.ILA)
        encap.type = EncapType.ILA
        if self.i >= len(self.words):
            self.parser.error("missing locator for ILA encapsulation")
            return encap
        text = self.words[self.i]
        self.i += 1
        locator = _addr64(text)
        if locator is None:
            self.parser.error(f"invalid locator {text} for ila encapsulation")
        else:
            encap.locator = locator
        return encap

    # -- nexthops (`parse_nexthops`): an error drops the nexthop being read, and keeps the route ------
    def nexthops(self) -> None:
        words = self.words
        while self.i < len(words) and words[self.i] == "nexthop":
            self.i += 1
            nexthop = Nexthop()
            try:
                while self.i < len(words) and self.nexthop_option(nexthop, words[self.i]):
                    self.i += 1
            except _DiscardError:
                return
            self.route.nexthops.append(nexthop)
        if self.i < len(words):
            self.parser.error(f"Route has trailing nonsense after nexthops - {words[self.i]}")

    def nexthop_option(self, nexthop: Nexthop, word: str) -> bool:
        if word == "via":
            text = self.next()
            if text in ("inet", "inet6"):
                self.nexthop_family = 4 if text == "inet" else 6
                text = self.next()
            if self.nexthop_family:
                self.set_family(self.nexthop_family, "IPv4/6 mismatch for nexthop")
            via = _parse_host(self.parser, text)
            if via is None:
                self.fail(f"invalid nexthop address {text}")
            self.set_family(via.version, "Address family mismatch for next hop")
            nexthop.via = via
        elif word == "dev":
            nexthop.dev = self.interface("WARNING - interface %s for VROUTE nexthop doesn't exist")
        elif word == "weight":
            weight = self.number(self.next(), 256, "Invalid weight %s specified for route")
            if not weight:
                self.fail("Invalid weight 0 specified for route")
            nexthop.weight = weight
        elif word == "onlink":
            nexthop.onlink = True
        elif word == "encap":
            nexthop.encap = self.encap(nexthop.encap)
        elif word == "realms":
            realms = _realms(self.parser, self.next())
            if realms is None:
                self.fail(f"Invalid realms {self.words[self.i]} for route")
            self.set_family(4, "realms are only supported for IPv4")
            nexthop.realms = realms
        elif word == "as":
            if self.next() == "to":
                self.i += 1
            self.fail("'as [to]' (nat) not supported")
        else:
            return False
        return True


def alloc_route(parser: Parser, words: Words, *, allow_track_group: bool) -> Route | None:
    """One `virtual_routes`/`static_routes` line (`alloc_route`); `track_group` only for static routes."""
    try:
        return _RouteReader(parser, words, allow_track_group).read()
    except _DiscardError:
        return None


# -- rules (vrrp_iprule.c) --------------------------------------------------------------------------

_RULE_ACTIONS: dict[int, RuleAction] = {
    RouteType.BLACKHOLE: RuleAction.BLACKHOLE,
    RouteType.UNREACHABLE: RuleAction.UNREACHABLE,
    RouteType.PROHIBIT: RuleAction.PROHIBIT,
}
_C_SPACE = " \t\n\v\f\r"


def _fwmark(text: str) -> tuple[int, int | None] | None:
    """`fwmark MARK[/MASK]` (C `strtoul` base 0, at most 32 bits each)."""
    if text.startswith("-"):
        return None
    mark = numbers.strtol(text, 0, unsigned=True)
    if mark.value > UINT32_MAX:
        return None
    rest, mask = mark.rest, None
    if rest.startswith("/"):
        if rest[1:2] and rest[1] in _C_SPACE + "-":
            return None
        parsed = numbers.strtol(rest[1:], 0, unsigned=True)
        if parsed.value > UINT32_MAX:
            return None
        rest, mask = parsed.rest, parsed.value
    return None if rest else (mark.value, mask)


class _RuleReader(_WordReader):
    """`alloc_rule`: reads one rule line into `rule`, raising _DiscardError when keepalived drops it."""

    def __init__(self, parser: Parser, words: Words, allow_track_group: bool) -> None:
        super().__init__(parser, words)
        self.allow_track_group = allow_track_group
        self.rule = Rule()
        self.family = 0
        self.from_addr: _Prefix | None = None
        self.to_addr: _Prefix | None = None
        self.has_priority = False
        self.table_option = False  # realms and suppressors need a table action

    def address(self, message: str) -> _Prefix:
        prefix = _parse_route(self.parser, self.next())
        if prefix is None:
            self.fail(message % self.words[self.i])
        if not self.family:
            self.family = prefix.family
        elif prefix.family != self.family:
            self.fail("rule specification has mixed IPv4 and IPv6")
        return prefix

    def unsigned(self, high: int, message: str, *, base: int = 10) -> int:
        value = self.parser.read_unsigned(self.next(), 0, high, base=base)
        if value is None:
            self.fail(message)
        return value

    def read(self) -> Rule:
        rule, parser = self.rule, self.parser
        while self.i < len(self.words):
            word = self.words[self.i]
            if word in ("inet", "inet6"):
                family = 4 if word == "inet" else 6
                if not self.family:
                    self.family = family
                elif self.family != family:
                    self.fail(f"{word} specified for {'IPv6' if family == 4 else 'IPv4'} rule")
                self.i += 1  # and the loop's own step: keepalived skips the next word
            elif word == "from":
                self.from_addr = self.address("Invalid rule from address %s")
            elif word == "to":
                self.to_addr = self.address("Invalid rule to address %s")
            elif word in ("table", "lookup"):
                table = find_name(parser, TABLES, self.next())
                if table is None:
                    self.fail(f"Routing table {self.words[self.i]} not found for rule")
                if not table:
                    self.fail("Table 0 is not valid")
                rule.table = table
                if rule.action != RuleAction.UNSPEC:
                    self.fail(
                        "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable "
                        "for rule"
                    )
                rule.action = RuleAction.TO_TBL
            elif word == "not":
                rule.invert = True
            elif word in ("preference", "order", "priority"):
                rule.priority = self.unsigned(UINT32_MAX, f"Invalid rule preference {word} specified", base=0)
                self.has_priority = True
            elif word in ("tos", "dsfield"):
                tos = find_name(parser, DSFIELDS, self.next())
                if tos is None:
                    self.fail(f"TOS value {self.words[self.i]} is invalid")
                rule.tos = tos
            elif word == "fwmark":
                text = self.next().lstrip(WHITE_SPACE)
                fwmark = _fwmark(text)
                if fwmark is None:
                    self.fail(f"Invalid rule fwmark {text} specified")
                rule.fwmark, rule.fwmask = fwmark
            elif word == "realms":
                realms = _realms(parser, self.next())
                if realms is None:
                    self.fail(f"invalid realms {self.words[self.i]} for rule")
                rule.realms = realms
                self.table_option = True
                if not self.family:
                    self.family = 4
                elif self.family != 4:
                    self.fail("realms is only valid for IPv4")
            elif word in ("suppress_prefixlength", "sup_pl"):
                message = f"Invalid suppress_prefixlength {word} specified"
                rule.suppress_prefix_len = self.unsigned(INT32_MAX, message)
                self.table_option = True
            elif word in ("suppress_ifgroup", "sup_group"):
                group = find_name(parser, GROUPS, self.next())
                if group is None:
                    self.fail(f"suppress_group {self.words[self.i]} is invalid")
                rule.suppress_group = group
                self.table_option = True
            elif word in ("dev", "iif"):
                rule.iif = self.interface("WARNING - interface %s for rule doesn't exist")
            elif word == "oif":
                rule.oif = self.interface("WARNING - interface %s for rule doesn't exist")
            elif word == "tunnel-id":
                tunnel_id = parser.read_unsigned64(self.next(), 0, UINT64_MAX)
                if tunnel_id is None:
                    self.fail(f"Invalid tunnel-id {word} specified")
                rule.tunnel_id = tunnel_id
            elif word == "uidrange":
                uids = _scan_range(self.next(), 32)
                if len(uids) != 2:
                    self.fail(f"Invalid uidrange {word} specified")
                rule.uid_range = (uids[0], uids[1])
            elif word == "l3mdev":
                rule.l3mdev = True
                if rule.action != RuleAction.UNSPEC:
                    self.fail("Cannot specify l3mdev with other action")
                rule.action = RuleAction.TO_TBL
            elif word == "protocol":
                protocol = parser.read_unsigned(self.next(), 0, UINT8_MAX)
                if protocol is None:
                    parser.error(f"Invalid protocol {self.words[self.i]}")
                else:
                    rule.protocol = protocol
            elif word == "ipproto":
                ip_proto = _protocol_number(parser, self.next())
                if ip_proto is None or ip_proto > UINT8_MAX:
                    parser.error(f"Invalid ipproto {self.words[self.i]}")
                else:
                    rule.ip_proto = ip_proto
            elif word in ("sport", "dport"):
                ports = _scan_range(self.next(), 16)
                if len(ports) != 2:  # keepalived 2.2.7 refuses a single port too
                    parser.error(f"invalid {word} range {self.words[self.i]}")
                else:
                    setattr(rule, word, (ports[0], ports[1]))
            elif word == "no_track":
                rule.dont_track = True
            elif self.allow_track_group and word == "track_group":
                group_name = self.next()
                if rule.track_group is not None:
                    parser.error(f"track_group {group_name} is a duplicate")
                    break
                rule.track_group = _track_group(parser, group_name)
            else:
                self.action(word)
            self.i += 1
        return self.finish()

    def finish(self) -> Rule:
        """keepalived's checks of the whole rule once its line is read."""
        rule, parser = self.rule, self.parser
        if rule.action == RuleAction.GOTO:
            if not self.has_priority:
                self.fail(f"Invalid rule - goto target {rule.goto_target} specified without preference")
            if rule.priority >= rule.goto_target:
                self.fail(f"Invalid rule - preference {rule.priority} >= goto target {rule.goto_target}")
        if rule.action == RuleAction.UNSPEC:
            self.fail("No action specified for rule - ignoring")
        if rule.action != RuleAction.TO_TBL and self.table_option:
            self.fail("suppressor/realm specified for non table action - skipping")
        if not rule.dont_track:
            if rule.protocol is not None and rule.protocol != RTPROT_KEEPALIVED:
                parser.error(
                    f"Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED({RTPROT_KEEPALIVED}), "
                    "resetting protocol"
                )
            rule.protocol = RTPROT_KEEPALIVED
        if rule.track_group is not None and rule.iif is None:
            parser.error("Static rule cannot have track_group if dev/iif not specified")
            rule.track_group = None
        rule.family = self.family or 4
        rule.from_addr = None if self.from_addr is None else self.from_addr.resolve(rule.family)
        rule.to_addr = None if self.to_addr is None else self.to_addr.resolve(rule.family)
        if not self.has_priority:
            counters = parser.reading_state(_ReadState).next_rule_priority
            rule.priority = counters[rule.family]
            counters[rule.family] = (rule.priority - 1) & UINT32_MAX
            parser.error(
                f"Rule has no preference specified - setting to {rule.priority}. "
                "This is probably not what you want."
            )
        return rule

    def action(self, word: str) -> None:
        rule = self.rule
        if word == "type":
            word = self.next()
        if word == "goto":
            rule.goto_target = self.unsigned(UINT32_MAX, f"Invalid target {word} specified")
            action = RuleAction.GOTO
        elif word == "nop":
            action = RuleAction.NOP
        elif (route_type := _route_type(word)) is not None:
            if route_type not in _RULE_ACTIONS:
                self.fail(f"Invalid rule action {word}")
            action = _RULE_ACTIONS[route_type]
        else:
            self.fail(f"Unknown rule option {word}")
        if rule.action != RuleAction.UNSPEC:
            self.fail(
                "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev "
                "for rule"
            )
        rule.action = action


def alloc_rule(parser: Parser, words: Words, *, allow_track_group: bool) -> Rule | None:
    """One `virtual_rules`/`static_rules` line (`alloc_rule`); `track_group` only for static rules."""
    try:
        return _RuleReader(parser, words, allow_track_group).read()
    except _DiscardError:
        return None
