"""Keywords: the VRRP process (keepalived/vrrp/vrrp_parser.c `init_vrrp_keywords`, vrrp_data.c, vrrp_track.c).

Handlers fill `parser.config.vrrp`: each sub-keyword works on the last instance, sync group, script or
process read, as keepalived's `list_last_entry`. Addresses, routes and rules are parsed by
`keywords.addresses`; the instance-level checks on them are here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from ..diagnostics import Severity
from ..engine import Keyword, KeywordTable, Parser, Words
from ..model.addresses import IpAddress
from ..model.scripts import NotifyScript
from ..model.vrrp import (
    IFNAMSIZ,
    PRIORITY_DEFAULT,
    PRIORITY_OWNER,
    RFC_MAC_PREFIX,
    AuthType,
    ChecksumCompat,
    GarpGroup,
    InterfaceDelays,
    IpAddressValue,
    IpvlanMode,
    LinkbeatType,
    ParamMatch,
    StaticTrackGroup,
    TrackedBfd,
    TrackedFile,
    TrackedInterface,
    TrackedProcess,
    TrackedScript,
    Trackers,
    TrackFile,
    TrackProcess,
    UnicastPeer,
    VrrpData,
    VrrpInstance,
    VrrpScript,
    VrrpState,
    VrrpSyncGroup,
    VrrpTrackedBfd,
)
from ..numbers import INT_MAX, TIMER_HZ, UINT_MAX, strtol
from ..scripts import command_args, read_notify_script, resolve_user
from . import addresses
from .addresses import find_interface

Handler = Callable[[Parser, Words], None]
TIMER_MAX_SEC = 1000
ETH_ALEN = 6


# -- shared helpers ------------------------------------------------------------------------------------


def existing_interface(parser: Parser, name: str) -> str | None:
    """keepalived's `if_get_by_ifname(name, IF_NO_CREATE)`: a known interface, else None (not reported)."""
    if name in parser.host.interfaces() or name in parser.config.vrrp.created_interfaces:
        return name
    return None


def _configured_interface(parser: Parser, name: str) -> str | None:
    """How linkbeat_interfaces and interface_up_down_delays look interfaces up: created when missing only
    with `dynamic_interfaces`, and otherwise not counted as a non-existent interface."""
    if parser.config.global_defs.dynamic_interfaces:
        return find_interface(parser, name)
    return existing_interface(parser, name)


def is_loopback(parser: Parser, name: str) -> bool:
    interface = parser.host.interfaces().get(name)
    return interface is not None and interface.loopback


def socket_address(text: str) -> IpAddressValue | None:
    """keepalived's `inet_stosockaddr`: IPv6 if the text has a `:`, anything from a `-` (else a `/`) on
    is ignored, and the rest must be what inet_pton accepts."""
    cut = text.find("-")
    if cut < 0:
        cut = text.find("/")
    host = text if cut < 0 else text[:cut]
    try:
        if ":" in text:
            return None if "%" in host else ipaddress.IPv6Address(host)
        return ipaddress.IPv4Address(host)
    except ValueError:
        return None


def _c_int(value: int) -> int:
    """C's `(int)` of a long, as keepalived stores a number it has just rejected."""
    value &= 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value


def cmd_str(script: NotifyScript) -> str:
    """keepalived's `cmd_str`: the arguments each in single quotes (not a leading `<`/`>` redirection)."""
    words = [arg if i == 0 and arg[:1] in ("<", ">") else f"'{arg}'" for i, arg in enumerate(script.args)]
    text = " ".join(words)
    return text if sum(len(arg) + 3 for arg in script.args) <= 1024 else "(null)"


def _data(parser: Parser) -> VrrpData:
    return parser.config.vrrp


def _instance(parser: Parser) -> VrrpInstance:
    return parser.config.vrrp.instances[-1]


def _group(parser: Parser) -> VrrpSyncGroup:
    return parser.config.vrrp.sync_groups[-1]


def _static_track_group(parser: Parser) -> StaticTrackGroup:
    return parser.config.vrrp.track_groups[-1]


def _script(parser: Parser) -> VrrpScript:
    return parser.config.vrrp.scripts[-1]


def _process(parser: Parser) -> TrackProcess:
    return parser.config.vrrp.track_processes[-1]


def _table(*keywords: Keyword) -> KeywordTable:
    table = KeywordTable()
    for keyword in keywords:
        table.add(keyword)
    return table


def _named_block(
    parser: Parser, words: Words, unnamed: str, exists: Callable[[str], bool], duplicate: str
) -> str | None:
    """The name of a `KIND NAME {` block, or None (reported, block skipped) if it has none or a used one."""
    if len(words) != 2:
        parser.error(unnamed)
        parser.skip_block()
        return None
    name = words.arg(1)
    if exists(name):
        parser.error(duplicate.format(name=name))
        parser.skip_block()
        return None
    return name


def _optional_bool(words: Words) -> bool | None:
    """An optional on/off parameter: absent is True; None when it is not a boolean."""
    if len(words) < 2:
        return True
    return Parser.true_false(words.arg(1))


# -- tracked objects (track_interface/script/file/process/bfd of instances and sync groups) -------------


@dataclass(frozen=True)
class TrackerKind:
    """How one kind of `track_*` block reads its entries; messages use {name} {tracked} {option} {value}."""

    not_found: str
    duplicate: str
    unknown_option: str
    no_value: str
    bad_weight: str
    bad_reverse: str
    weight_range: tuple[int, int] = (-254, 254)
    clamp_254: bool = False  # ±254 is accepted but becomes ±253
    noreverse: bool = True  # `noreverse` is accepted
    bad_reverse_drops: bool = False  # an unknown weight option drops the entry


TRACK_INTERFACE = TrackerKind(
    not_found="({name}) tracked interface {tracked} doesn't exist",
    duplicate="({name}) duplicate track_interface {tracked} - ignoring",
    unknown_option="({name}) unknown track_interface {tracked} option {option} - ignoring",
    no_value="({name}) weight without value specified for track_interface {tracked} - ignoring",
    bad_weight="({name}) weight {value} for {tracked} must be between [-253..253] inclusive. Ignoring...",
    bad_reverse="({name}) unknown track_interace {tracked} weight option {option} - ignoring",
    clamp_254=True,
    noreverse=False,
)
TRACK_SCRIPT = TrackerKind(
    not_found="({name}) track script {tracked} not found, ignoring...",
    duplicate="({name}) duplicate track_script {tracked} - ignoring",
    unknown_option="({name}) unknown track script option {option} - ignoring",
    no_value="({name}) weight without value specified for track script {tracked} - ignoring",
    bad_weight="({name}) track script {tracked}: weight must be between [-253..253] inclusive, ignoring...",
    bad_reverse="({name}) unknown track_script {tracked} weight option {option} - ignoring",
    clamp_254=True,
)
TRACK_FILE = TrackerKind(
    not_found="({name}) track file {tracked} not found, ignoring...",
    duplicate="({name}) duplicate track_file {tracked} - ignoring",
    unknown_option="({name}) unknown track file option {option} - ignoring",
    no_value="({name}) weight without value specified for track file {tracked} - ignoring",
    bad_weight="({name}) weight for track file {tracked} must be in [-254..254] inclusive. Ignoring...",
    bad_reverse="({name}) unknown track file {tracked} weight option {option} - ignoring",
    bad_reverse_drops=True,
)
TRACK_PROCESS = TrackerKind(
    not_found="({name}) track process {tracked} not found, ignoring...",
    duplicate="({name}) duplicate track_process {tracked} - ignoring",
    unknown_option="({name}) unknown track process option {option} - ignoring",
    no_value="({name}) weight without value specified for track process {tracked} - ignoring",
    bad_weight="({name}) weight for track process {tracked} must be in [-254..254] inclusive. Ignoring...",
    bad_reverse="({name}) unknown track_process {tracked} weight option {option} - ignoring",
)
TRACK_BFD = TrackerKind(
    not_found="({name}) track bfd {tracked} not found, ignoring...",
    duplicate="({name}) duplicate track_bfd {tracked} - ignoring",
    unknown_option="({name}) unknown track bfd {tracked} option {option} - ignoring",
    no_value="({name}) weight without value specified for track bfd {tracked} - ignoring",
    bad_weight="({name}) weight for track bfd {tracked} must be in [-253..253] inclusive. Ignoring...",
    bad_reverse="({name}) unknown track bfd {tracked} weight option {option} - ignoring",
    weight_range=(-253, 253),
    bad_reverse_drops=True,
)


def _tracker_weight(
    parser: Parser, words: Words, kind: TrackerKind, name: str, *, weight: int = 0, reverse: bool = False
) -> tuple[int, bool] | None:
    """The `weight W [reverse|noreverse]` options of a track_* entry, or None if it is to be ignored."""
    tracked = words[0]

    def report(message: str, option: str = "", value: str = "") -> None:
        parser.error(message.format(name=name, tracked=tracked, option=option, value=value))

    if len(words) < 2:
        return weight, reverse
    if words[1] != "weight":
        report(kind.unknown_option, option=words[1])
        return None
    if len(words) == 2:
        report(kind.no_value)
        return None
    low, high = kind.weight_range
    value = parser.read_int(words.arg(2), low, high, lenient=True)
    if value is None:
        report(kind.bad_weight, value=words[2])
    elif kind.clamp_254 and abs(value) == 254:
        parser.error(f"({name}) weight for {tracked} cannot be +/-254. Setting to +/-253")
        weight = 253 if value > 0 else -253
    else:
        weight = value
    if len(words) >= 4:
        if words[3] == "reverse":
            reverse = True
        elif words[3] == "noreverse" and kind.noreverse:
            reverse = False
        else:
            report(kind.bad_reverse, option=words[3])
            if kind.bad_reverse_drops:
                return None
    return weight, reverse


def _track_interface(parser: Parser, name: str, trackers: Trackers, words: Words) -> None:
    tracked = words[0]
    interface = find_interface(parser, tracked)
    if interface is None:
        parser.error(TRACK_INTERFACE.not_found.format(name=name, tracked=tracked))
        return
    if any(t.interface == interface for t in trackers.interfaces):
        parser.error(TRACK_INTERFACE.duplicate.format(name=name, tracked=tracked))
        return
    options = _tracker_weight(parser, words, TRACK_INTERFACE, name)
    if options is not None:
        trackers.interfaces.append(TrackedInterface(interface, *options))


TrackEntry = Callable[[Parser, str, Trackers, Words], None]
_Trackable = TypeVar("_Trackable", VrrpScript, TrackFile, TrackProcess, VrrpTrackedBfd)
_Tracked = TypeVar("_Tracked", TrackedScript, TrackedFile, TrackedProcess, TrackedBfd)


def _track_object(
    kind: TrackerKind,
    known: Callable[[VrrpData], list[_Trackable]],
    entries: Callable[[Trackers], list[_Tracked]],
    entry: Callable[[_Trackable, int, bool], _Tracked],
    tracked: Callable[[_Tracked], _Trackable],
) -> TrackEntry:
    """A track_script/file/process/bfd entry: a `known` object, tracked once, with its own weight and
    reverse as the defaults of the entry's options."""

    def track(parser: Parser, name: str, trackers: Trackers, words: Words) -> None:
        target = next((t for t in known(_data(parser)) if t.name == words[0]), None)
        if target is None:
            parser.error(kind.not_found.format(name=name, tracked=words[0]))
        elif any(tracked(t) is target for t in entries(trackers)):
            parser.error(kind.duplicate.format(name=name, tracked=words[0]))
        elif options := _tracker_weight(
            parser, words, kind, name, weight=target.weight, reverse=target.weight_reverse
        ):
            entries(trackers).append(entry(target, *options))

    return track


TRACK_KEYWORDS: dict[str, TrackEntry] = {
    "track_interface": _track_interface,
    "track_script": _track_object(
        TRACK_SCRIPT,
        known=lambda data: data.scripts,
        entries=lambda track: track.scripts,
        entry=TrackedScript,
        tracked=lambda t: t.script,
    ),
    "track_file": _track_object(
        TRACK_FILE,
        known=lambda data: data.track_files,
        entries=lambda track: track.files,
        entry=TrackedFile,
        tracked=lambda t: t.file,
    ),
    "track_process": _track_object(
        TRACK_PROCESS,
        known=lambda data: data.track_processes,
        entries=lambda track: track.processes,
        entry=TrackedProcess,
        tracked=lambda t: t.process,
    ),
    "track_bfd": _track_object(
        TRACK_BFD,
        known=lambda data: data.tracked_bfds,
        entries=lambda track: track.bfds,
        entry=TrackedBfd,
        tracked=lambda t: t.bfd,
    ),
}


def _track_blocks(owner: Callable[[Parser], VrrpInstance | VrrpSyncGroup]) -> list[Keyword]:
    """track_interface, track_script, … of an instance or a sync group: one entry per line."""

    def block(entry: TrackEntry) -> Handler:
        def handler(parser: Parser, words: Words) -> None:
            target = owner(parser)
            parser.value_block(words, lambda item: entry(parser, target.name, target.track, item))

        return handler

    return [Keyword(name, block(entry)) for name, entry in TRACK_KEYWORDS.items()]


# -- notify scripts (instances and sync groups) -----------------------------------------------------------


def _notify(attribute: str, keyword: str, owner: Callable[[Parser], VrrpInstance | VrrpSyncGroup]) -> Keyword:
    def handler(parser: Parser, words: Words) -> None:
        target = owner(parser)
        command = words.arg(1)  # keepalived stops reading here if the command is missing
        if getattr(target.notify, attribute) is not None:
            prefix = f"({target.name})" if isinstance(target, VrrpInstance) else f"vrrp group {target.name}:"
            parser.error(f"{prefix} {keyword} script already specified - ignoring {command}")
            return
        setattr(target.notify, attribute, read_notify_script(parser, "notify"))
        target.notify_exec = True

    return Keyword(keyword, handler)


def _notify_keywords(owner: Callable[[Parser], VrrpInstance | VrrpSyncGroup], *kinds: str) -> list[Keyword]:
    return [_notify(kind, "notify" if kind == "notify" else f"notify_{kind}", owner) for kind in kinds]


def _smtp_alert(owner: Callable[[Parser], VrrpInstance | VrrpSyncGroup], block: str) -> Handler:
    """`smtp_alert [on|off]` of an instance or a sync group (`block` names it in the message)."""

    def handler(parser: Parser, words: Words) -> None:
        value = _optional_bool(words)
        if value is None:
            parser.error(f"Invalid {block} smtp_alert parameter {words.arg(1)}")
            return
        owner(parser).smtp_alert = value
        _data(parser).smtp_alert_count += 1

    return handler


# -- static items, track groups, linkbeat, garp groups, up/down delays ----------------------------------


def _track_group_root(parser: Parser, words: Words) -> None:
    data = _data(parser)
    name = _named_block(
        parser,
        words,
        "track_group must have a name - skipping",
        lambda n: data.track_group(n) is not None,
        "track_group {name} already defined",
    )
    if name is not None:
        data.track_groups.append(StaticTrackGroup(name))


def _group_members(owner: Callable[[Parser], StaticTrackGroup | VrrpSyncGroup], kind: str) -> Handler:
    """The `group { INSTANCE … }` block of a track group or a sync group (`kind` "track" or "sync")."""

    def handler(parser: Parser, words: Words) -> None:
        group = owner(parser)
        if group.instance_names is not None:
            parser.error(f"Group list already specified for sync group {group.name}")
            parser.skip_block()
            return
        names = parser.value_list(words)
        group.instance_names = names or None
        if not names:
            parser.error(f"Warning - {kind} group {group.name} has empty group block")

    return handler


Item = TypeVar("Item")


def _item_block(
    target: Callable[[Parser], list[Item]], parse: Callable[[Parser, Words], Item | None]
) -> Handler:
    """A block of addresses, routes or rules: each line parsed, and kept unless keepalived drops it."""

    def handler(parser: Parser, words: Words) -> None:
        items = target(parser)

        def item(entry: Words) -> None:
            parsed = parse(parser, entry)
            if parsed is not None:
                items.append(parsed)

        parser.value_block(words, item)

    return handler


def _linkbeat_interfaces(parser: Parser, words: Words) -> None:
    def item(entry: Words) -> None:
        name = entry[0]
        interface = _configured_interface(parser, name)
        if interface is None:
            parser.report(Severity.FATAL, f"unknown interface {name} specified for linkbeat interface")
            return
        kind = LinkbeatType(0)
        if len(entry) > 1:
            kind = {
                "MII": LinkbeatType.MII,
                "ETHTOOL": LinkbeatType.ETHTOOL,
                "IOCTL": LinkbeatType.IOCTL,
            }.get(entry[1], LinkbeatType(0))
            if not kind or len(entry) > 2:
                parser.error(f"extra characters {entry[1]} in linkbeat interface")
        _data(parser).linkbeat_interfaces[interface] = kind

    parser.value_block(words, item)


def _interface_up_down_delays(parser: Parser, words: Words) -> None:
    def item(entry: Words) -> None:
        name = entry[0]
        interface = _configured_interface(parser, name)
        if interface is None:
            parser.report(Severity.FATAL, f"unknown interface {name} specified for up/down delay")
            return
        if len(entry) < 2:
            parser.log(f"No timeouts specified for {interface} up/down delays")
            return
        if len(entry) > 3:
            parser.log(f"Too many parameters for {interface} up/down delays")
        down = parser.read_timer(entry[1], 0, 255 * TIMER_HZ, lenient=True)
        if down is None:
            parser.log(f"Invalid down delay {entry[1]} for {interface}")
            return
        up = 0
        if len(entry) > 2:
            read = parser.read_timer(entry[2], 0, 255 * TIMER_HZ, lenient=True)
            if read is None:
                parser.log(f"Invalid up delay {entry[2]} for {interface}")
                return
            up = read
        _data(parser).interface_delays[interface] = InterfaceDelays(down, up)

    parser.value_block(words, item)


def _garp_group(parser: Parser) -> GarpGroup:
    return _data(parser).garp_groups[-1]


def _garp_interval(attribute: str, label: str) -> Keyword:
    def handler(parser: Parser, words: Words) -> None:
        value = parser.read_decimal(words.arg(1), 0, INT_MAX, 6, lenient=True)
        if value is None:
            parser.error(f"garp_group {label} '{words.arg(1)}' invalid")
            return
        setattr(_garp_group(parser), attribute, value)
        if value >= TIMER_HZ:
            parser.log(f"The {label} is very large - {words.arg(1)} seconds")

    return Keyword(label, handler)


def _garp_interface(parser: Parser, words: Words) -> None:
    name = words.arg(1)
    interface = find_interface(parser, name)
    if interface is None:
        parser.error(f"WARNING - interface {name} specified for garp_group doesn't exist")
        return
    if any(interface in group.interfaces for group in _data(parser).garp_groups):
        parser.error(f"garp_group already specified for {name} - ignoring")
        return
    _garp_group(parser).interfaces.append(interface)


def _garp_interfaces(parser: Parser, words: Words) -> None:
    group = _garp_group(parser)
    names = Words(parser.value_list(words))
    if not names:
        parser.error("Warning - empty garp_group interfaces block")
        return
    group.aggregation_group = 1 + sum(
        1 for other in _data(parser).garp_groups if other.aggregation_group and other is not group
    )
    for name in names:
        interface = find_interface(parser, name)
        if interface is None:
            message = f"WARNING - interface {name} specified for garp_group doesn't exist"
            if parser.config.global_defs.dynamic_interfaces:
                parser.log(message)
            else:
                parser.error(message)
            continue
        if any(interface in other.interfaces for other in _data(parser).garp_groups):
            # keepalived names the block's second interface here, whichever is the duplicate
            parser.error(f"garp_group already specified for {names.arg(1)} - ignoring")
            continue
        group.interfaces.append(interface)


def _garp_group_end(parser: Parser) -> None:
    group = _garp_group(parser)
    if group.garp_interval_us is None and group.gna_interval_us is None:
        parser.error(f"garp group {group.aggregation_group} does not have any delay set - removing")
        _data(parser).garp_groups.pop()


# -- sync groups -----------------------------------------------------------------------------------------


def _sync_group_root(parser: Parser, words: Words) -> None:
    data = _data(parser)
    name = _named_block(
        parser,
        words,
        "vrrp_sync_group must have a name - skipping",
        lambda n: data.sync_group(n) is not None,
        "vrrp sync group {name} already defined",
    )
    if name is not None:
        data.sync_groups.append(VrrpSyncGroup(name, defined_at=parser.place()))


def _sync_group_global_tracking(parser: Parser, words: Words) -> None:
    group = _group(parser)
    parser.error(
        f"({group.name}) global_tracking is deprecated. Use track_interface/script/file on the sync group"
    )
    group.tracking_weight = True


def _sync_group_tracking_weight(parser: Parser, words: Words) -> None:
    _group(parser).tracking_weight = True


def _sync_group_notify_priority_changes(parser: Parser, words: Words) -> None:
    group = _group(parser)
    value = _optional_bool(words)
    if value is None:
        parser.error(
            f"({group.name}) Invalid value '{words.arg(1)}' for sync group notify_priority_changes specified"
        )
        return
    group.notify_priority_changes = value


# -- vrrp_instance ---------------------------------------------------------------------------------------


def _instance_root(parser: Parser, words: Words) -> None:
    data = _data(parser)
    name = _named_block(
        parser,
        words,
        "vrrp_instance must have a name",
        lambda n: data.instance(n) is not None,
        "vrrp instance {name} already defined",
    )
    if name is None:
        return
    defaults = parser.config.global_defs
    data.instances.append(
        VrrpInstance(
            name,
            defined_at=parser.place(),
            garp_rep=defaults.vrrp_garp_rep,
            garp_refresh_us=defaults.vrrp_garp_refresh_us,
            garp_refresh_rep=defaults.vrrp_garp_refresh_rep,
            garp_delay_us=defaults.vrrp_garp_delay_us,
            down_timer_adverts=defaults.vrrp_down_timer_adverts,
            skip_check_adv_addr=defaults.vrrp_skip_check_adv_addr,
        )
    )


def _instance_end(parser: Parser) -> None:
    instance = _instance(parser)
    if instance.unicast_configured and (instance.use_vmac or instance.use_ipvlan):
        if instance.interface is None:
            parser.error(
                f"({instance.name}): Cannot use VMAC/ipvlan with unicast and no interface - clearing use_vmac"
            )
            instance.use_vmac = instance.use_ipvlan = False
            instance.vmac_interface = ""
        elif not instance.vmac_xmit_base:
            parser.error(f"({instance.name}) unicast with use_vmac requires vmac_xmit_base - setting")
            instance.vmac_xmit_base = True
    if not instance.unicast_peers and instance.ttl != -1:
        parser.error(f"({instance.name}): Cannot use unicast_ttl without unicast peers - resetting")
        instance.ttl = 0
    if instance.interface is None:
        instance.linkbeat_use_polling = False


def _set(**values: object) -> Handler:
    """A keyword that sets fields of the instance."""

    def handler(parser: Parser, words: Words) -> None:
        for attribute, value in values.items():
            setattr(_instance(parser), attribute, value)

    return handler


def _instance_bool(attribute: str, message: str) -> Handler:
    """`KEYWORD [on|off]`: absent means on; `message` ({name} {value}) for anything else."""

    def handler(parser: Parser, words: Words) -> None:
        instance = _instance(parser)
        value = _optional_bool(words)
        if value is None:
            parser.error(message.format(name=instance.name, value=words.arg(1)))
            return
        setattr(instance, attribute, value)

    return handler


def _instance_unsigned(
    attribute: str,
    low: int,
    high: int,
    message: str,
    *,
    lenient: bool = True,
    scale: int = 1,
    reset: int | None = None,
    zero: str | None = None,
) -> Handler:
    """An unsigned instance setting; `message` ({name} {value}) when invalid, then `reset` is stored if
    given; `zero` is reported for 0, which then becomes 1."""

    def handler(parser: Parser, words: Words) -> None:
        instance = _instance(parser)
        value = parser.read_unsigned(words.arg(1), low, high, lenient=lenient)
        if value is None:
            parser.error(message.format(name=instance.name, value=words.arg(1)))
            if reset is None:
                return
            value = reset
        elif value == 0 and zero is not None:
            parser.error(zero.format(name=instance.name))
            value = 1
        setattr(instance, attribute, value * scale)

    return handler


def _use_vmac(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    instance.use_vmac = True
    for word in words[1:3]:
        if ":" in word:
            _vmac_mac(parser, instance, word)
            continue
        if instance.vmac_interface:
            parser.error("VMAC interface name already specified")
            continue
        if not _dev_name_valid(word):
            parser.error(f"VMAC interface name '{word}' too long or invalid characters - ignoring")
            continue
        _vmac_interface_name(parser, instance, word, "a private macvlan", "vmac")


def _vmac_mac(parser: Parser, instance: VrrpInstance, text: str) -> None:
    if instance.vmac_mac is not None:
        parser.error("VMAC interface address already specified")
        return
    if text.lstrip("0123456789ABCDEFabcdef:"):
        parser.error(f"VMAC invalid MAC address {text}")
        return
    mac = _parse_vmac(text)
    if mac is None:
        parser.error(f"VMAC invalid MAC address {text} - ignored")
    elif mac[0] & 0x01:
        parser.error(f"VMAC MAC address is multicast {text} - ignoring")
    elif mac[:4] == RFC_MAC_PREFIX and mac[4] in (0x01, 0x02):
        parser.error(f"VMAC MAC address not allowed to be RFC5798 address ({text}) - ignoring")
    else:
        instance.vmac_mac = mac


def _parse_vmac(text: str) -> bytes | None:
    """keepalived's MAC reading for `use_vmac`: 6 octets, or 5 (with or without a trailing `:`) after which
    the VRID is appended. A bad address is None."""
    octets: list[int] = []
    rest = text
    while len(octets) < ETH_ALEN:
        digits = len(rest) - len(rest.lstrip("0123456789abcdefABCDEF"))
        if digits == 0 or digits > 2:
            return None
        octets.append(int(rest[:digits], 16))
        rest = rest[digits:]
        if rest[:1] != ":" and (rest or len(octets) < ETH_ALEN - 1):
            return None
        if len(octets) == ETH_ALEN - 1 and rest in ("", ":"):
            return bytes(octets)
        rest = rest[1:]
        if not rest and len(octets) < ETH_ALEN:
            return None
    return bytes(octets)


def _dev_name_valid(name: str) -> bool:
    """The kernel's `dev_name_valid`."""
    if not name or len(name.encode("utf-8", "surrogateescape")) >= IFNAMSIZ or name in (".", ".."):
        return False
    return not any(char in "/:" or char.isspace() for char in name)


def _vmac_interface_name(parser: Parser, instance: VrrpInstance, name: str, usable: str, kind: str) -> None:
    """The name of the VMAC or ipvlan interface to create: not another instance's, nor an existing
    interface other than a private macvlan for a VMAC (no existing one is taken to be a usable ipvlan)."""
    other = next((o for o in _data(parser).instances if o.vmac_interface == name), None)
    if other is not None:
        parser.error(f"({instance.name}) VRRP instance {other.name} is already using {name} - ignoring name")
        return
    instance.vmac_interface = name
    existing = parser.host.interfaces().get(name)
    if kind == "vmac" and existing is not None and existing.private_macvlan_of:
        return
    if existing_interface(parser, name) is not None:
        parser.error(
            f"({instance.name}) interface {name} already exists and is not {usable}; ignoring {kind} if_name"
        )
        instance.vmac_interface = ""


def _use_ipvlan(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    if instance.use_ipvlan:
        parser.error(f"({instance.name}) use_ipvlan already specified")
        return
    instance.use_ipvlan = True
    had_type = False
    for word in words[1:]:
        mode = {"bridge": IpvlanMode.BRIDGE, "private": IpvlanMode.PRIVATE, "vepa": IpvlanMode.VEPA}.get(word)
        if mode is not None:
            if had_type:
                parser.error(f"({instance.name}) ipvlan type already specified - ignoring '{word}'")
            else:
                instance.ipvlan_type = mode
                had_type = True
            continue
        address = addresses.parse_ipaddress(word, allow_subnet_mask=True)
        if address is not None:
            _ipvlan_address(parser, instance, address, word)
            continue
        if instance.vmac_interface:
            parser.error(f"({instance.name}) IPVLAN interface already specified - ignoring '{word}'")
            continue
        if len(word.encode("utf-8", "surrogateescape")) >= IFNAMSIZ:
            parser.error(f"({instance.name}) IPVLAN interface name '{word}' too long - ignoring")
            continue
        _vmac_interface_name(parser, instance, word, "an l2 ipvlan", "ipvlan")


def _ipvlan_address(parser: Parser, instance: VrrpInstance, address: IpAddress, word: str) -> None:
    if instance.ipvlan_address is not None:
        parser.error(f"({instance.name}) ipvlan address already specified - ignoring '{word}'")
        return
    if not instance.family:
        instance.family = address.family
    elif address.family != instance.family:
        parser.error(
            f"({instance.name}) ipvlan address[{word}] MUST match vrrp instance family !!! Skipping..."
        )
        return
    instance.ipvlan_address = address
    if instance.source_address is None:
        instance.source_address = address.address.ip
        instance.source_from_config = True


def _unicast_peers(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    instance.unicast_configured = True
    parser.value_block(words, lambda entry: _unicast_peer(parser, instance, entry))


def _unicast_peer(parser: Parser, instance: VrrpInstance, words: Words) -> None:
    address = socket_address(words[0])
    if address is None:
        parser.error(
            f"Configuration error: VRRP instance[{instance.name}] malformed unicast peer "
            f"address[{words[0]}]. Skipping..."
        )
        return
    if not instance.family:
        instance.family = address.version
    elif address.version != instance.family:
        parser.error(
            f"Configuration error: VRRP instance[{instance.name}] and unicast peer "
            f"address[{words[0]}] MUST be of the same family !!! Skipping..."
        )
        return
    peer = UnicastPeer(address)
    for index in range(1, len(words), 2):
        if index + 1 >= len(words):
            parser.error(f"({instance.name}) {words[index]} is missing a value")
            break
        ttl = parser.read_unsigned(words[index + 1], 0, 255)
        if ttl is None:
            continue
        if words[index] == "min_ttl":
            peer.min_ttl = ttl
        elif words[index] == "max_ttl":
            peer.max_ttl = ttl
        else:
            parser.error(f"({instance.name}) unknown unicast_peer option {words[index]}")
            break
        instance.check_unicast_src = True
    if peer.min_ttl > peer.max_ttl:
        parser.error(
            f"({instance.name}) min_ttl {peer.min_ttl} > max_ttl {peer.max_ttl} - "
            "all packets will be discarded"
        )
    instance.unicast_peers.append(peer)


def _old_unicast_checksum(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    instance.unicast_configured = True
    if len(words) < 2:
        instance.unicast_checksum_compat = ChecksumCompat.CONFIG
    elif words[1] == "never":
        instance.unicast_checksum_compat = ChecksumCompat.NEVER
    else:
        parser.error(f"({instance.name}) Unknown old_unicast_chksum mode {words[1]} - ignoring")


def _native_ipv6(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    if instance.family == 4:
        parser.error(f"({instance.name}) Cannot specify native_ipv6 with IPv4 addresses")
        return
    instance.family = 6
    instance.version = 3


def _state(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    state = words.arg(1)
    if state == "MASTER":
        instance.wantstate = VrrpState.MASTER
    elif state == "BACKUP":
        if instance.wantstate == VrrpState.MASTER:
            parser.error(f"({instance.name}) state previously set as MASTER - ignoring BACKUP")
        else:
            instance.wantstate = VrrpState.BACKUP
    else:
        parser.error(f"({instance.name}) unknown state '{state}', defaulting to BACKUP")
        instance.wantstate = VrrpState.BACKUP


def _too_long(name: str) -> bool:
    return len(name.encode("utf-8", "surrogateescape")) >= IFNAMSIZ


def _interface(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    name = words.arg(1)
    if _too_long(name):
        parser.error(f"Interface name '{name}' too long - ignoring")
        return
    instance.interface = find_interface(parser, name)
    if instance.interface is None:
        parser.error(f"WARNING - interface {name} for vrrp_instance {instance.name} doesn't exist")
    elif is_loopback(parser, instance.interface):
        parser.error(f"({instance.name}) cannot use a loopback interface ({name}) for vrrp - ignoring")
        instance.interface = None


def _vrf(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    name = words.arg(1)
    if _too_long(name):
        parser.error(f"({instance.name}) VRF interface name '{name}' too long - ignoring")
    elif instance.interface is not None:
        parser.error(f"({instance.name}) Cannot specify VRF interface and interface - ignoring")
    elif instance.vrf_interface is not None:
        parser.error(
            f"({instance.name}) VRF interface already specified as '{instance.vrf_interface}' - ignoring"
        )
    else:
        instance.vrf_interface = find_interface(parser, name)
        if instance.vrf_interface is None:
            parser.error(f"({instance.name}) WARNING - VRF interface {name} doesn't exist")
        elif is_loopback(parser, name):
            parser.error(f"({instance.name}) cannot use a loopback interface ({name}) for VRF - ignoring")
            instance.vrf_interface = None


def _linkbeat_use_polling(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    instance.linkbeat_use_polling = True
    parser.error(
        f"({instance.name}) 'linkbeat_use_polling' in vrrp instance deprecated - "
        "use linkbeat_interfaces block"
    )


def _source_ip(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    text = words.arg(1)
    address = socket_address(text)
    instance.source_address = address  # keepalived's parse clears a previous address on failure
    if address is None:
        parser.error(
            f"Configuration error: VRRP instance[{instance.name}] malformed src address[{text}]. Skipping..."
        )
        return
    instance.source_from_config = True
    if not instance.family:
        instance.family = address.version
    elif address.version != instance.family:
        parser.error(
            f"Configuration error: VRRP instance[{instance.name}] and src address[{text}] "
            "MUST be of the same family !!! Skipping..."
        )
        instance.source_address = None
        instance.source_from_config = False


def _unicast_source_ip(parser: Parser, words: Words) -> None:
    _instance(parser).unicast_configured = True
    _source_ip(parser, words)


def _mcast_dst_ip(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    text = words.arg(1)
    address = socket_address(text)
    instance.mcast_dst = address
    if address is None:
        parser.error(f"({instance.name}) malformed mcast dest address {text}. Skipping...")
        return
    if not instance.family:
        instance.family = address.version
    elif address.version != instance.family:
        parser.error(
            f"({instance.name}) mcast dest address {text} MUST match VRRP instance family. Skipping..."
        )
        instance.mcast_dst = None
        return
    link_local_multicast = address.packed[0] == 0xFF and address.packed[1] & 0x0F == 0x02
    if not (address.is_multicast if address.version == 4 else link_local_multicast):
        parser.error(
            f"({instance.name}) mcast_dst_ip {text} not{' link-local' if address.version == 6 else ''} "
            "multicast. Skipping..."
        )
        instance.mcast_dst = None


def _advert_int(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    value = parser.read_decimal(words.arg(1), TIMER_HZ // 100, 255 * TIMER_HZ, 6, lenient=True)
    if not value:
        parser.error(f"({instance.name}) Advert interval ({words.arg(1)}) not valid! Must be > 0 - ignoring")
        return
    instance.advert_int_us = value


def _version(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    version = parser.read_int(words.arg(1), 2, 3, lenient=True)
    if version is None:
        parser.error(f"({instance.name}): Version must be either 2 or 3")
        return
    if (instance.version and instance.version != version) or (version == 2 and instance.family == 6):
        parser.error(
            f"({instance.name}) vrrp_version {version} conflicts with configured or deduced version "
            f"{instance.version}; ignoring."
        )
        return
    instance.version = version


def _preempt_delay(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    value = parser.read_decimal(words.arg(1), 0, TIMER_MAX_SEC * TIMER_HZ, 6, lenient=True)
    if value is None:
        parser.error(f"({instance.name}) Preempt_delay not valid! must be between 0-{TIMER_MAX_SEC}")
        value = 0
    instance.preempt_delay_us = value


def _vips(parser: Parser, words: Words) -> None:
    instance = _instance(parser)

    def item(entry: Words) -> None:
        address = addresses.alloc_ipaddress(parser, entry, static_addr=False)
        if address is None:
            return
        if not instance.family:
            instance.family = address.family
        elif address.family != instance.family:
            parser.error(
                f"({instance.name}): address family must match VRRP instance [{entry[0]}] - ignoring"
            )
            return
        instance.vips.append(address)

    parser.value_block(words, item)


def _notify_deleted(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    if instance.notify_deleted:
        parser.error(
            f"({instance.name}) notify_deleted already specified - ignoring "
            f"{words[1] if len(words) > 1 else ''}"
        )
        return
    if len(words) > 1:
        instance.notify.deleted = read_notify_script(parser, "notify")
        instance.notify_exec = True
    instance.notify_deleted = True


def _lvs_sync_daemon_interface(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    parser.error(f"({instance.name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.")
    width = len(instance.name) - 2
    padding = "".rjust(width) if width >= 0 else "".ljust(-width)
    parser.error(f"      {padding}Please use global lvs_sync_daemon")
    syncd = parser.config.global_defs.lvs_syncd
    if syncd.interface is not None:
        parser.error(
            f"({instance.name}) lvs_sync_daemon_interface has already been specified as {syncd.interface} - "
            "ignoring"
        )
        return
    syncd.interface = words.arg(1)
    syncd.vrrp_instance = instance.name
    if syncd.sync_id is None:
        syncd.sync_id = 0  # keepalived only defaults the sync id to the VRID for global lvs_sync_daemon


def _garp_master_refresh(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    value = parser.read_unsigned(words.arg(1), 0, UINT_MAX, lenient=True)
    if value is None:
        parser.error(f"({instance.name}): Invalid garp_master_refresh '{words.arg(1)}' - ignoring")
        value = 0
    instance.garp_refresh_us = value * TIMER_HZ


def _garp_extra_if(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    keyword = words[0]
    if keyword == "vmac_garp_intvl":
        parser.report(
            Severity.DEPRECATED, 'Keyword "vmac_garp_intvl" is deprecated - please use "garp_extra_if"'
        )
    delay: int | None = None
    for word in words[1:]:
        if word == "all":
            instance.garp_extra_if_all = True
            continue
        delay = parser.read_unsigned(word, 0, 86400, lenient=True)
        if delay is None:
            parser.error(f"({instance.name}): {keyword} '{word}' invalid - ignoring")
            return
    if delay is None:
        parser.error(f"({instance.name}): {keyword} specified without time - ignoring")
        return
    instance.garp_extra_if_us = delay * TIMER_HZ


def _kernel_rx_buf_size(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    if len(words) == 2 and (size := parser.read_unsigned(words[1], 0, UINT_MAX)) is not None:
        instance.kernel_rx_buf_size = size
        return
    parser.error(f"({instance.name}) invalid kernel_rx_buf_size specified")


def _auth_type(parser: Parser, words: Words) -> None:
    instance = _instance(parser)
    kind = words.arg(1)
    if kind == "AH":
        instance.auth_type = AuthType.AH
    elif kind == "PASS":
        instance.auth_type = AuthType.PASS
    else:
        parser.error(f"({instance.name}) unknown authentication type '{kind}'")


def _auth_pass(parser: Parser, words: Words) -> None:
    password = words.arg(1).encode("utf-8", "surrogateescape")
    size = len(_instance(parser).auth_data)
    if len(password) > size:
        parser.error(f"Truncating auth_pass to {size} characters")
    _instance(parser).auth_data = password[:size].ljust(size, b"\0")


def _instance_table() -> KeywordTable:
    bool_message = "({name}) invalid {keyword} {value} specified"
    return _table(
        Keyword("use_vmac", _use_vmac),
        Keyword("use_vmac_addr", _set(use_vmac_addr=True)),
        Keyword("vmac_xmit_base", _set(vmac_xmit_base=True)),
        Keyword("use_ipvlan", _use_ipvlan),
        Keyword("unicast_peer", _unicast_peers),
        Keyword("unicast_fault_no_peer", _set(unicast_configured=True, unicast_fault_no_peer=True)),
        Keyword("check_unicast_src", _set(unicast_configured=True, check_unicast_src=True)),
        Keyword("old_unicast_checksum", _old_unicast_checksum),
        Keyword("native_ipv6", _native_ipv6),
        Keyword("state", _state),
        Keyword("interface", _interface),
        Keyword("vrf", _vrf),
        Keyword("dont_track_primary", _set(dont_track_primary=True)),
        *_track_blocks(_instance),
        Keyword("mcast_src_ip", _source_ip),
        Keyword("unicast_src_ip", _unicast_source_ip),
        Keyword("mcast_dst_ip", _mcast_dst_ip),
        Keyword("track_src_ip", _set(track_source_address=True)),
        Keyword(
            "virtual_router_id",
            _instance_unsigned(
                "vrid", 1, 255, "({name}): VRID '{value}' not valid - must be between 1 & 255", lenient=False
            ),
        ),
        Keyword(
            "unicast_ttl",
            _instance_unsigned(
                "ttl", 0, 255, "({name}): TTL '{value}' not valid - must be between 0 & 255", lenient=False
            ),
        ),
        Keyword("version", _version),
        Keyword(
            "priority",
            _instance_unsigned(
                "base_priority",
                1,
                PRIORITY_OWNER,
                f"({{name}}) Priority not valid! must be between 1 & {PRIORITY_OWNER}. Using default "
                f"{PRIORITY_DEFAULT}",
                lenient=False,
                reset=PRIORITY_DEFAULT,
            ),
        ),
        Keyword("advert_int", _advert_int),
        Keyword("virtual_ipaddress", _vips),
        Keyword(
            "virtual_ipaddress_excluded",
            _item_block(
                lambda parser: _instance(parser).evips, partial(addresses.alloc_ipaddress, static_addr=False)
            ),
        ),
        Keyword("promote_secondaries", _set(promote_secondaries=True)),
        Keyword("linkbeat_use_polling", _linkbeat_use_polling),
        Keyword(
            "virtual_routes",
            _item_block(
                lambda parser: _instance(parser).vroutes,
                partial(addresses.alloc_route, allow_track_group=False),
            ),
        ),
        Keyword(
            "virtual_rules",
            _item_block(
                lambda parser: _instance(parser).vrules,
                partial(addresses.alloc_rule, allow_track_group=False),
            ),
        ),
        Keyword("accept", _set(accept=True)),
        Keyword("no_accept", _set(accept=False)),
        Keyword(
            "skip_check_adv_addr",
            _instance_bool("skip_check_adv_addr", bool_message.replace("{keyword}", "skip_check_adv_addr")),
        ),
        Keyword(
            "strict_mode", _instance_bool("strict_mode", bool_message.replace("{keyword}", "strict_mode"))
        ),
        Keyword("preempt", _set(nopreempt=False)),
        Keyword("nopreempt", _set(nopreempt=True)),
        Keyword("preempt_delay", _preempt_delay),
        Keyword(
            "debug",
            _instance_unsigned(
                "debug", 0, 4, "({name}) Debug value '{value}' not valid; must be between 0-4"
            ),
        ),
        *_notify_keywords(_instance, "backup", "master", "fault", "stop"),
        Keyword("notify_deleted", _notify_deleted),
        *_notify_keywords(_instance, "notify", "master_rx_lower_pri"),
        Keyword("smtp_alert", _smtp_alert(_instance, "vrrp_instance")),
        Keyword(
            "notify_priority_changes",
            _instance_bool(
                "notify_priority_changes",
                "({name}) Invalid value '{value}' for notify_priority_changes specified",
            ),
        ),
        Keyword("lvs_sync_daemon_interface", _lvs_sync_daemon_interface),
        Keyword(
            "garp_master_delay",
            _instance_unsigned(
                "garp_delay_us",
                0,
                UINT_MAX // TIMER_HZ,
                "({name}): garp_master_delay '{value}' invalid - ignoring",
                scale=TIMER_HZ,
            ),
        ),
        Keyword("garp_master_refresh", _garp_master_refresh),
        Keyword(
            "garp_master_repeat",
            _instance_unsigned(
                "garp_rep",
                0,
                UINT_MAX,
                "({name}): garp_master_repeat '{value}' invalid - ignoring",
                zero="({name}): garp_master_repeat must be greater than 0, setting to 1",
            ),
        ),
        Keyword(
            "garp_master_refresh_repeat",
            _instance_unsigned(
                "garp_refresh_rep",
                0,
                UINT_MAX,
                "({name}): garp_master_refresh_repeat '{value}' invalid - ignoring",
                zero="({name}): garp_master_refresh_repeat must be greater than 0, setting to 1",
            ),
        ),
        Keyword(
            "garp_lower_prio_delay",
            _instance_unsigned(
                "garp_lower_prio_delay_us",
                0,
                UINT_MAX // TIMER_HZ,
                "({name}): garp_lower_prio_delay '{value}' invalid - ignoring",
                scale=TIMER_HZ,
            ),
        ),
        Keyword(
            "garp_lower_prio_repeat",
            _instance_unsigned(
                "garp_lower_prio_rep", 0, INT_MAX, "({name}): Invalid garp_lower_prio_repeat '{value}'"
            ),
        ),
        Keyword(
            "down_timer_adverts",
            _instance_unsigned(
                "down_timer_adverts", 1, 100, "({name}): Invalid down_timer_adverts [1:100] '{value}'"
            ),
        ),
        Keyword("garp_extra_if", _garp_extra_if),
        Keyword("vmac_garp_intvl", _garp_extra_if),  # deprecated after v2.2.2
        Keyword(
            "lower_prio_no_advert",
            _instance_bool("lower_prio_no_advert", bool_message.replace("{keyword}", "lower_prio_no_advert")),
        ),
        Keyword(
            "higher_prio_send_advert",
            _instance_bool(
                "higher_prio_send_advert", bool_message.replace("{keyword}", "higher_prio_send_advert")
            ),
        ),
        Keyword("kernel_rx_buf_size", _kernel_rx_buf_size),
        Keyword(
            "authentication",
            sub=_table(Keyword("auth_type", _auth_type), Keyword("auth_pass", _auth_pass)),
        ),
    )


# -- vrrp_script -----------------------------------------------------------------------------------------


@dataclass
class _ScriptBlock:
    """What keepalived keeps in static variables while it reads one vrrp_script block."""

    user_set: bool = False
    remove: bool = False


def _script_keywords() -> Keyword:
    block = _ScriptBlock()

    def root(parser: Parser, words: Words) -> None:
        _data(parser).scripts.append(VrrpScript(words.arg(1), defined_at=parser.place()))
        block.user_set = block.remove = False

    def script(parser: Parser, words: Words) -> None:
        line = parser.command_words()
        if line is not None and len(line) >= 2 and (args := command_args(parser, line[1])) is not None:
            _script(parser).script.args = args

    def seconds(label: str, invalid: str) -> Handler:
        def handler(parser: Parser, words: Words) -> None:
            vscript = _script(parser)
            value = parser.read_unsigned(words.arg(1), 0, UINT_MAX // TIMER_HZ, lenient=True)
            if value is None:
                parser.error(invalid.format(name=vscript.name, value=words.arg(1)))
                return
            if value == 0:
                parser.error(f"({vscript.name}): vrrp script {label} must be greater than 0, setting to 1")
                value = 1
            setattr(vscript, f"{label}_us", value * TIMER_HZ)

        return handler

    def weight(parser: Parser, words: Words) -> None:
        vscript = _script(parser)
        text = words.arg(1)
        value = parser.read_int(text, -253, 253, lenient=True)
        if value is None:
            parser.error(f"vrrp_script {vscript.name} weight {text} must be in [-253, 253]")
            value = _c_int(strtol(text).value)  # keepalived keeps the rejected number
        vscript.weight = value
        if len(words) >= 3:
            if words[2] == "reverse":
                vscript.weight_reverse = True
            else:
                parser.error(f"vrrp_script {vscript.name} unknown weight option {words[2]}")

    def count(label: str) -> Handler:
        def handler(parser: Parser, words: Words) -> None:
            vscript = _script(parser)
            value = parser.read_unsigned(words.arg(1), 1, INT_MAX, lenient=True)
            if value is None:
                parser.error(
                    f"({vscript.name}): vrrp script {label} value '{words.arg(1)}' invalid, defaulting to 1"
                )
                value = 1
            setattr(vscript, label, value)

        return handler

    def user(parser: Parser, words: Words) -> None:
        vscript = _script(parser)
        ids = resolve_user(parser, words.arg(1), words[2] if len(words) > 2 else None)
        if ids is None:
            parser.error(f"Unable to set uid/gid for script {cmd_str(vscript.script)}")
            block.remove = True
            return
        vscript.script.uid, vscript.script.gid = ids
        block.remove = False
        block.user_set = True

    def init_fail(parser: Parser, words: Words) -> None:
        _script(parser).init_fail = True

    def end(parser: Parser) -> None:
        vscript = _script(parser)
        if not vscript.script.args:
            parser.error(f"No script set for vrrp_script {vscript.name} - removing")
            block.remove = True
        elif not block.remove and not block.user_set:
            ids = parser.session.script_users.default(parser)
            if ids is None:
                parser.error(f"Unable to set default user for vrrp script {vscript.name} - removing")
                block.remove = True
            else:
                vscript.script.uid, vscript.script.gid = ids
        if block.remove:
            _data(parser).scripts.pop()

    return Keyword(
        "vrrp_script",
        root,
        sub=_table(
            Keyword("script", script),
            Keyword(
                "interval",
                seconds(
                    "interval",
                    "({name}): vrrp script interval '{value}' must be between 1 and "
                    f"{UINT_MAX // TIMER_HZ} - ignoring",
                ),
            ),
            Keyword(
                "timeout", seconds("timeout", "({name}): vrrp script timeout '{value}' invalid - ignoring")
            ),
            Keyword("weight", weight),
            Keyword("rise", count("rise")),
            Keyword("fall", count("fall")),
            Keyword("user", user),
            Keyword("init_fail", init_fail),
        ),
        close=end,
    )


# -- vrrp_track_process ----------------------------------------------------------------------------------


def _process_root(parser: Parser, words: Words) -> None:
    _data(parser).track_processes.append(TrackProcess(words.arg(1), defined_at=parser.place()))


def _process_process(parser: Parser, words: Words) -> None:
    process = _process(parser)
    if process.path is not None:
        parser.error(f"Process already set for track process {process.name} - ignoring {words.arg(1)}")
        return
    process.path = words.arg(1)
    process.params = list(words[2:])
    if process.params:
        if process.param_match == ParamMatch.NONE:
            process.param_match = ParamMatch.EXACT
        process.full_command = True
    length = sum(len(word) + 1 for word in words[1:])
    data = _data(parser)
    data.max_process_name_len = max(data.max_process_name_len, length)


def _process_param_match(parser: Parser, words: Words) -> None:
    process = _process(parser)
    match = (
        ParamMatch.EXACT
        if len(words) == 1
        else {"initial": ParamMatch.INITIAL, "partial": ParamMatch.PARTIAL}.get(words[1])
    )
    if match is None:
        parser.error(f"Invalid param_match type {words[1]} - ignoring")
        return
    process.param_match = match
    process.full_command = True


def _process_weight(parser: Parser, words: Words) -> None:
    process = _process(parser)
    if len(words) < 2:
        parser.error(f"No weight specified for track process {process.name} - ignoring")
        return
    if process.weight:
        parser.error(f"Weight already set for track process {process.name} - ignoring {words[1]}")
        return
    weight = parser.read_int(words[1], -254, 254, lenient=True)
    if weight is None:
        parser.error(
            f"Weight ({words[1]}) for vrrp_track_process {process.name} must be between "
            "[-254..254] inclusive. Ignoring..."
        )
        return
    if len(words) >= 3:
        if words[2] == "reverse":
            process.weight_reverse = True
        else:
            parser.error(f"vrrp_track_process {process.name} unknown weight option {words[2]}")
    process.weight = weight


def _process_quorum(parser: Parser, words: Words) -> None:
    process = _process(parser)
    quorum = parser.read_unsigned(words.arg(1), 1, 65535, lenient=True)
    if quorum is None:
        parser.error(
            f"Quorum ({words.arg(1)}) for vrrp_track_process {process.name} must be between [1..65535] "
            "inclusive. Ignoring..."
        )
    elif quorum > process.quorum_max:
        parser.error("Quorum is greater than quorum_max - ignoring")
    else:
        process.quorum = quorum


def _process_quorum_max(parser: Parser, words: Words) -> None:
    process = _process(parser)
    quorum_max = parser.read_unsigned(words.arg(1), 0, 65535, lenient=True)
    if quorum_max is None:
        parser.error(
            f"quorum_max ({words.arg(1)}) for vrrp_track_process {process.name} must be between [0..65535] "
            "inclusive. Ignoring..."
        )
        return
    if (quorum_max or process.quorum > 1) and quorum_max < process.quorum:
        parser.error("quorum_max is less than quorum - ignoring")
        return
    process.quorum_max = quorum_max
    if quorum_max == 0:
        process.quorum = 0
    elif not process.quorum:
        process.quorum = 1


def _process_delay(prefix: str, fork: bool, terminate: bool) -> Handler:
    def handler(parser: Parser, words: Words) -> None:
        process = _process(parser)
        delay = parser.read_decimal(words.arg(1), 1, 3600 * TIMER_HZ, 6, lenient=True)
        if delay is None:
            parser.error(
                f"{prefix}delay ({words.arg(1)}) for vrrp_track_process {process.name} must be between "
                "[0.000001..3600] inclusive. Ignoring..."
            )
            return
        if terminate:
            process.terminate_delay_us = delay
        if fork:
            process.fork_delay_us = delay

    return handler


def _process_full_command(parser: Parser, words: Words) -> None:
    _process(parser).full_command = True


def _process_end(parser: Parser) -> None:
    process = _process(parser)
    data = _data(parser)
    if process.path is None:
        parser.error(f"track process '{process.name}' process name not specified")
        data.track_processes.pop()
    elif process.full_command:
        data.use_process_cmdline = True
    else:
        data.use_process_comm = True


# -- the roots -------------------------------------------------------------------------------------------


def _sync_group_table() -> KeywordTable:
    return _table(
        Keyword("group", _group_members(_group, "sync")),
        *_track_blocks(_group),
        *_notify_keywords(_group, "backup", "master", "fault", "stop", "notify"),
        Keyword("smtp_alert", _smtp_alert(_group, "vrrp_group")),
        Keyword("global_tracking", _sync_group_global_tracking),
        Keyword("sync_group_tracking_weight", _sync_group_tracking_weight),
        Keyword("notify_priority_changes", _sync_group_notify_priority_changes),
    )


def roots() -> list[Keyword]:
    return [
        Keyword(
            "track_group",
            _track_group_root,
            sub=_table(Keyword("group", _group_members(_static_track_group, "track"))),
        ),
        Keyword(
            "static_ipaddress",
            _item_block(
                lambda parser: _data(parser).static_addresses,
                partial(addresses.alloc_ipaddress, static_addr=True),
            ),
        ),
        Keyword(
            "static_routes",
            _item_block(
                lambda parser: _data(parser).static_routes,
                partial(addresses.alloc_route, allow_track_group=True),
            ),
        ),
        Keyword(
            "static_rules",
            _item_block(
                lambda parser: _data(parser).static_rules,
                partial(addresses.alloc_rule, allow_track_group=True),
            ),
        ),
        Keyword("vrrp_sync_group", _sync_group_root, sub=_sync_group_table()),
        Keyword(
            "garp_group",
            lambda parser, words: _data(parser).garp_groups.append(GarpGroup()),
            sub=_table(
                _garp_interval("garp_interval_us", "garp_interval"),
                _garp_interval("gna_interval_us", "gna_interval"),
                Keyword("interface", _garp_interface),
                Keyword("interfaces", _garp_interfaces),
            ),
            close=_garp_group_end,
        ),
        Keyword("linkbeat_interfaces", _linkbeat_interfaces),
        Keyword("vrrp_instance", _instance_root, sub=_instance_table(), close=_instance_end),
        _script_keywords(),
        Keyword(
            "vrrp_track_process",
            _process_root,
            sub=_table(
                Keyword("process", _process_process),
                Keyword("param_match", _process_param_match),
                Keyword("weight", _process_weight),
                Keyword("quorum", _process_quorum),
                Keyword("quorum_max", _process_quorum_max),
                Keyword("delay", _process_delay("", fork=True, terminate=True)),
                Keyword("terminate_delay", _process_delay("terminate_", fork=False, terminate=True)),
                Keyword("fork_delay", _process_delay("fork_", fork=True, terminate=False)),
                Keyword("full_command", _process_full_command),
            ),
            close=_process_end,
        ),
        Keyword("interface_up_down_delays", _interface_up_down_delays),
    ]


__all__ = ["cmd_str", "existing_interface", "roots", "socket_address"]
