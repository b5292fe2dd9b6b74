"""Keywords: `global_defs` and the process-wide top-level keywords (keepalived/core/global_parser.c).

Only keepalived's parent process reads these (its children get the result), so they are active in the first
reading only. Handlers keep keepalived's messages word for word, typos included ("smtp_conect_timeout",
"date_use_instance").
"""

from __future__ import annotations

import os
import socket
import stat
from ipaddress import IPv4Address, IPv6Address, ip_address

from ..diagnostics import Severity
from ..engine import Handler, Keyword, KeywordTable, Parser, Words
from ..model.check_data import LVS_MAX_TIMEOUT
from ..model.global_defs import (
    DEFAULT_IPVS_NF_START_FWMARK,
    DEFAULT_NFTABLES_IPVS_TABLE,
    DEFAULT_NFTABLES_TABLE,
    DEFAULT_RELOAD_FILE,
    DEFAULT_SCRIPT_TIMEOUT_US,
    TIMER_HZ,
    GlobalDefs,
    IPAddress,
    LvsFlushOnStop,
    ProcessScheduling,
    RxBufsPolicy,
)
from ..numbers import INT_MAX, INT_MIN, UINT_MAX, strtol
from ..reader import INCLUDE_ALL, INCLUDE_B, INCLUDE_M, INCLUDE_R, INCLUDE_W
from ..scripts import read_notify_script, resolve_user

TASK_COMM_LEN = 16  # the kernel's limit on a process name, with its NUL
SCHED_RR_MIN, SCHED_RR_MAX = 1, 99  # sched_get_priority_min/max(SCHED_RR) on Linux
IP_VS_IFNAME_MAXLEN = 16
NFT_TABLE_MAXNAMELEN = 256  # NFT_NAME_MAXLEN of the kernel headers keepalived was built with
PATH_MAX = 4096
IGMP_LINK_LOCAL_MCAST_REPORTS = "/proc/sys/net/ipv4/igmp_link_local_mcast_reports"
SMTP_PORT = "25"
_INCLUDE_CHECKS = {
    "read": INCLUDE_R,
    "match": INCLUDE_M,
    "wildcard_match": INCLUDE_W,
    "brace_match": INCLUDE_B,
}
_UMASK_BITS = {
    f"I{perm}{who}": bit << shift
    for who, shift in (("USR", 6), ("GRP", 3), ("OTH", 0))
    for perm, bit in (("R", 4), ("W", 2), ("X", 1))
}


def _defs(parser: Parser) -> GlobalDefs:
    return parser.config.global_defs


def _set(parser: Parser, path: str, value: object) -> None:
    """Set a field of global_defs named by a dotted path (`vrrp_process.no_swap`)."""
    target: object = _defs(parser)
    *parents, name = path.split(".")
    for parent in parents:
        target = getattr(target, parent)
    setattr(target, name, value)


def _int32(text: str) -> int:
    """What `(int)strtol(text)` gives, for messages that print the value keepalived failed to read."""
    return (strtol(text).value + 2**31) % 2**32 - 2**31


def inet_address(text: str) -> IPAddress | None:
    """keepalived's `inet_stosockaddr` without a port: IPv6 if the text has a `:`, read up to any `-` (else
    any `/`) by `inet_pton`."""
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    cut = text.find("-")
    if cut < 0:
        cut = text.find("/")
    try:
        return ip_address(socket.inet_pton(family, text if cut < 0 else text[:cut]))
    except (OSError, ValueError):
        return None


# -- handler factories ------------------------------------------------------------------------------------
def _flag(*paths: str) -> Handler:
    """A keyword without parameters that switches something on."""

    def handler(parser: Parser, words: Words) -> None:
        for path in paths:
            _set(parser, path, True)

    return handler


def _boolean(path: str, invalid: str) -> Handler:
    """`KEYWORD [true|false]`; `invalid` is formatted with the word that is neither."""

    def handler(parser: Parser, words: Words) -> None:
        value: bool | None = True
        if len(words) >= 2:
            value = parser.true_false(words[1])
            if value is None:
                parser.error(invalid.format(words[1]))
                return
        _set(parser, path, value)

    return handler


def _text(path: str, missing: str | None) -> Handler:
    """`KEYWORD VALUE`; without VALUE, report `missing` (or say nothing if it is None)."""

    def handler(parser: Parser, words: Words) -> None:
        if len(words) < 2:
            if missing is not None:
                parser.error(missing)
            return
        _set(parser, path, words[1])

    return handler


def _unsigned(
    path: str,
    low: int,
    high: int,
    invalid: str,
    *,
    lenient: bool = True,
    scale: int = 1,
    zero_is_one: str | None = None,
) -> Handler:
    """`KEYWORD N` in [low, high], stored times `scale`; `zero_is_one` is reported when 0 is raised to 1."""

    def handler(parser: Parser, words: Words) -> None:
        value = parser.read_unsigned(words.arg(1), low, high, lenient=lenient)
        if value is None:
            parser.error(invalid.format(words[1]))
            return
        if value == 0 and zero_is_one is not None:
            parser.error(zero_is_one)
            value = 1
        _set(parser, path, value * scale)

    return handler


def _interval(path: str, low: int, very_large_us: int, name: str) -> Handler:
    """`KEYWORD SECONDS` with microsecond resolution; logs when it is `very_large_us` or more."""

    def handler(parser: Parser, words: Words) -> None:
        value = parser.read_decimal(words.arg(1), low, UINT_MAX, 6, lenient=True)
        if value is None:
            parser.error(f"{name} '{words[1]}' is invalid")
        else:
            _set(parser, path, value)
        if getattr(_defs(parser), path) >= very_large_us:
            parser.log(f"The {name} is very large - {words[1]} seconds")

    return handler


def _rcv_bufs(path: str, kind: str) -> Handler:
    """A netlink socket receive buffer size; 0 keeps the kernel's."""

    def handler(parser: Parser, words: Words) -> None:
        if len(words) < 2:
            parser.error(f"{kind}_rcv_bufs size missing")
            return
        value = parser.read_unsigned(words[1], 0, UINT_MAX)
        if value is None:
            parser.error(f"{kind}_rcv_bufs size ({words[1]}) invalid")
        elif value:
            _set(parser, path, value)

    return handler


# -- process names and scheduling ---------------------------------------------------------------------------
def _process(parser: Parser, process: str) -> ProcessScheduling:
    scheduling: ProcessScheduling = getattr(_defs(parser), f"{process}_process")
    return scheduling


def _process_name(parser: Parser, name: str) -> str:
    if len(name) >= TASK_COMM_LEN:
        parser.error(f"Process name {name} more than {TASK_COMM_LEN - 1} characters, truncating")
    return name[: TASK_COMM_LEN - 1]


def _process_names(parser: Parser, words: Words) -> None:
    for process, name in (
        ("vrrp", "keepalived_vrrp"),
        ("checker", "keepalived_lvs"),
        ("bfd", "keepalived_bfd"),
    ):
        _process(parser, process).name = name


def _parent_process_name(parser: Parser, words: Words) -> None:
    _defs(parser).process_name = _process_name(parser, words.arg(1))


def _child_process_name(process: str, deprecated: bool = False) -> Handler:
    def handler(parser: Parser, words: Words) -> None:
        if deprecated:
            parser.log("'lvs_process_name' is deprecated - please use 'checker_process_name'")
        _process(parser, process).name = _process_name(parser, words.arg(1))

    return handler


def _priority(process: str) -> Handler:
    def handler(parser: Parser, words: Words) -> None:
        priority = 0
        if len(words) < 2:
            parser.error(f"No {process} process priority specified")
        else:
            value = parser.read_int(words[1], -20, 19, lenient=True)
            if value is None:
                parser.error(f"Invalid {process} process priority specified")
            else:
                priority = value
        _process(parser, process).priority = priority

    return handler


def _realtime_priority(process: str) -> Handler:
    def handler(parser: Parser, words: Words) -> None:
        if len(words) < 2:
            parser.error(f"No {process} process real-time priority specified")
            return
        priority = parser.read_int(words[1], INT_MIN, INT_MAX, lenient=True)
        if priority is None:
            parser.error(f"{process} process real-time priority '{words[1]}' invalid")
            return
        if priority < SCHED_RR_MIN:
            parser.error(
                f"{process} process real-time priority {priority} less than minimum {SCHED_RR_MIN}"
                " - setting to minimum"
            )
            priority = SCHED_RR_MIN
        elif priority > SCHED_RR_MAX:
            parser.error(
                f"{process} process real-time priority {priority} greater than maximum {SCHED_RR_MAX}"
                " - setting to maximum"
            )
            priority = SCHED_RR_MAX
        _process(parser, process).realtime_priority = priority

    return handler


def _cpu_affinity(process: str) -> Handler:
    def handler(parser: Parser, words: Words) -> None:
        if len(words) < 2:
            parser.error(f"No {process} cpu_id set specified")
            return
        scheduling = _process(parser, process)
        scheduling.cpu_affinity = []
        last_cpu = parser.host.cpu_count() - 1
        for word in words[1:]:
            cpu = parser.read_int(word, 0, last_cpu, lenient=True)
            if cpu is None:
                parser.error(f"Invalid cpu_id:{_int32(word)} specified for {process} process")
                scheduling.cpu_affinity = []
                return
            if cpu not in scheduling.cpu_affinity:
                scheduling.cpu_affinity.append(cpu)

    return handler


def _rlimit_rttime(process: str) -> Handler:
    def handler(parser: Parser, words: Words) -> None:
        keyword = words[0]
        if keyword.endswith("_rtime"):  # deprecated spelling
            parser.log(f"Keyword '{keyword}' is deprecated - please use '{keyword[:-5]}rttime'")
        limit = parser.read_unsigned(words.arg(1), 1, UINT_MAX, lenient=True)
        if limit is None:
            parser.error(f"Invalid {process} real-time limit - {words[1]}")
            limit = 0
        # halved elsewhere, and the result must not be 0
        _process(parser, process).rlimit_rttime_us = 2 if limit == 1 else limit

    return handler


def _max_auto_priority(parser: Parser, words: Words) -> None:
    if len(words) < 2:
        _defs(parser).max_auto_priority = SCHED_RR_MAX
        return
    priority = parser.read_int(words[1], -1, SCHED_RR_MAX, lenient=True)
    if priority is None:
        parser.error(
            f"max_auto_priority '{words[1]}' must be in [0, {SCHED_RR_MAX}] (or -1 to disable) - ignoring"
        )
        return
    _defs(parser).max_auto_priority = priority


def _min_auto_priority_delay(parser: Parser, words: Words) -> None:
    if len(words) < 2:
        parser.error("min_auto_priority_delay requires delay time")
        return
    delay = parser.read_int(words[1], 1, 10_000_000, lenient=True)
    if delay is None:
        parser.error(f"min_auto_priority_delay '{words[1]}' must be in [1, 10000000] - ignoring")
        return
    _defs(parser).min_auto_priority_delay_us = delay


# -- top-level keywords -------------------------------------------------------------------------------
def _pid_dir_name(attr: str, keyword: str) -> Handler:
    """`net_namespace` and `instance`: a name, given once, that also puts the pid files in a directory."""

    def handler(parser: Parser, words: Words) -> None:
        if len(words) < 2:
            parser.error(f"{keyword} name missing - ignoring")
            return
        defs = _defs(parser)
        if getattr(defs, attr) is None:
            setattr(defs, attr, words[1])
            defs.use_pid_dir = True
        else:
            parser.error(f"Duplicate {keyword} definition {words[1]} - ignoring")

    return handler


def _net_namespace_ipvs(parser: Parser, words: Words) -> None:
    defs = _defs(parser)
    if defs.network_namespace_ipvs is not None:
        parser.error(f"Duplicate net_namespace_ipvs definition {words.arg(1)} - ignoring")
        return
    defs.network_namespace_ipvs = words[1] if len(words) >= 2 else ""


# -- SMTP ---------------------------------------------------------------------------------------------------
def _port(parser: Parser, text: str) -> int | None:
    return parser.read_unsigned(text, 1, 65535, lenient=True)


def _smtp_server(parser: Parser, words: Words) -> None:
    server = words.arg(1)
    port_text = words[2] if len(words) >= 3 else SMTP_PORT
    address: IPAddress | None = None
    port: int | None = None
    # It can't be an IP address if it contains '-' or '/'
    if not any(c in server for c in "-/"):
        port = _port(parser, port_text)
        address = inet_address(server) if port is not None else None
    if address is None:
        port = _port(parser, port_text)
        resolved = parser.host.resolve(server) if port is not None else None
        address = ip_address(resolved) if resolved is not None else None
    defs = _defs(parser)
    defs.smtp_server = address
    if address is None or port is None:
        parser.error(f"Invalid smtp server {server} {port_text}")
    else:
        defs.smtp_port = port


def _notification_email(parser: Parser, words: Words) -> None:
    addresses = parser.value_list(words)
    if not addresses:
        parser.error("Warning - empty notification_email block")
        return
    _defs(parser).email.extend(addresses)


# -- start-up and shutdown scripts ----------------------------------------------------------------------
def _startup_shutdown_script(kind: str) -> Handler:
    def handler(parser: Parser, words: Words) -> None:
        defs = _defs(parser)
        if getattr(defs, f"{kind}_script") is not None:
            parser.error(f"{kind} script already specified")
            return
        if len(words) < 2:
            parser.error(f"{kind} script missing")
            return
        script = read_notify_script(parser, kind)
        if script is None:
            parser.error(f"Invalid {kind} script")
            return
        setattr(defs, f"{kind}_script", script)
        if not getattr(defs, f"{kind}_script_timeout_us"):
            setattr(defs, f"{kind}_script_timeout_us", DEFAULT_SCRIPT_TIMEOUT_US)

    return handler


def _script_timeout(kind: str) -> Handler:
    def handler(parser: Parser, words: Words) -> None:
        if len(words) < 2:
            parser.error(f"{kind}_script_timeout requires value")
            return
        delay = parser.read_unsigned(words[1], 1, 1000, lenient=True)
        if delay is None:
            parser.error(f"{kind}_script_timeout '{words[1]}' must be in [1, 1000] - ignoring")
            return
        setattr(_defs(parser), f"{kind}_script_timeout_us", delay * TIMER_HZ)

    return handler


# -- VRRP ---------------------------------------------------------------------------------------------------
def _dynamic_interfaces(parser: Parser, words: Words) -> None:
    defs = _defs(parser)
    defs.dynamic_interfaces = True
    if len(words) >= 2:
        if words[1] == "allow_if_changes":
            defs.allow_if_changes = True
        else:
            parser.error(f"Unknown dynamic_interfaces option '{words[1]}'")


def _disable_local_igmp(parser: Parser, words: Words) -> None:
    if parser.host.stat(IGMP_LINK_LOCAL_MCAST_REPORTS) is None:
        parser.error(f"kernel does not support {IGMP_LINK_LOCAL_MCAST_REPORTS}")
        return
    _defs(parser).disable_local_igmp = True


def _mcast_group(version: int) -> Handler:
    name = f"vrrp_mcast_group{version}"

    def handler(parser: Parser, words: Words) -> None:
        text = words.arg(1)
        address = inet_address(text)
        if address is None:
            parser.error(f"Can't parse {name} [{text}]. Skipping")
        elif address.version != version:
            parser.error(f"{name} [{text}] is not IPv{version}. Skipping")
        elif not address.is_multicast:
            parser.error(f"{name} [{text}] is not multicast. Skipping")
        elif isinstance(address, IPv6Address):
            if address.packed[1] & 0x0F != 2:
                parser.warn(f"{name} [{text}] should be link-local multicast.")
            _defs(parser).vrrp_mcast_group6 = address
        else:
            assert isinstance(address, IPv4Address)
            _defs(parser).vrrp_mcast_group4 = address

    return handler


def _garp_refresh(parser: Parser, words: Words) -> None:
    refresh = parser.read_unsigned(words.arg(1), 0, UINT_MAX, lenient=True)
    if refresh is None:
        parser.error(f"Invalid vrrp_garp_master_refresh '{words[1]}' - ignoring")
        refresh = 0
    _defs(parser).vrrp_garp_refresh_us = refresh * TIMER_HZ


def _min_garp(parser: Parser, words: Words) -> None:
    if len(words) >= 2:
        wanted = parser.true_false(words[1])
        if wanted is None:
            parser.error("Invalid value for vrrp_min_garp specified")
            return
        if not wanted:
            return
    # one gratuitous ARP/NA and no repeats, without overriding what was already set
    defs = _defs(parser)
    if defs.vrrp_garp_rep == 5:
        defs.vrrp_garp_rep = 1
    if defs.vrrp_garp_refresh_rep == 1:
        defs.vrrp_garp_refresh_rep = 0
    if defs.vrrp_garp_delay_us == 5 * TIMER_HZ:
        defs.vrrp_garp_delay_us = 0


def _garp_extra_if(parser: Parser, words: Words) -> None:
    name = words[0]
    if name == "vrrp_vmac_garp_intvl":
        parser.report(
            Severity.DEPRECATED,
            'Keyword "vrrp_vmac_garp_intvl" is deprecated - please use "vrrp_garp_extra_if"',
        )
    defs = _defs(parser)
    delay = 0
    for word in words[1:]:
        if word == "all":
            defs.vrrp_garp_extra_if_all = True
            continue
        value = parser.read_unsigned(word, 1, 86400, lenient=True)
        if value is None:
            parser.error(f"{name} '{word}' invalid - ignoring")
            return
        delay = value
    if not delay:
        parser.error(f"{name} specified without time - ignoring")
        return
    defs.vrrp_garp_extra_if_interval_us = delay * TIMER_HZ


def _vrrp_version(parser: Parser, words: Words) -> None:
    version = parser.read_int(words.arg(1), 2, 3, lenient=True)
    if version is None:
        parser.error("VRRP Error: Version must be either 2 or 3")
        return
    _defs(parser).vrrp_version = version


def _vrrp_iptables(parser: Parser, words: Words) -> None:
    # keepalived is built without iptables: the legacy keyword selects nftables
    parser.error(
        "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' "
        "with 'nftables' config option"
    )
    defs = _defs(parser)
    defs.vrrp_nf_table_name = DEFAULT_NFTABLES_TABLE
    defs.vrrp_nf_chain_priority = -1


def _nftables(ipvs: bool) -> Handler:
    what = "ipvs nftables" if ipvs else "nftables"

    def handler(parser: Parser, words: Words) -> None:
        defs = _defs(parser)
        if (defs.ipvs_nf_table_name if ipvs else defs.vrrp_nf_table_name) is not None:
            parser.error(f"{what} already specified - ignoring")
            return
        name = DEFAULT_NFTABLES_IPVS_TABLE if ipvs else DEFAULT_NFTABLES_TABLE
        if len(words) >= 2:
            if len(words[1]) >= NFT_TABLE_MAXNAMELEN:
                parser.error(f"{what} table name too long - ignoring")
                return
            name = words[1]
        if ipvs:
            defs.ipvs_nf_table_name = name
            defs.ipvs_nf_chain_priority = -1
            defs.ipvs_nftables_start_fwmark = DEFAULT_IPVS_NF_START_FWMARK
        else:
            defs.vrrp_nf_table_name = name
            defs.vrrp_nf_chain_priority = -1

    return handler


def _nftables_priority(path: str, what: str) -> Handler:
    def handler(parser: Parser, words: Words) -> None:
        priority = parser.read_int(words.arg(1), INT_MIN, INT_MAX)
        if priority is None:
            parser.report(Severity.INVALID_NUMBER, f"invalid {what} chain priority '{words[1]}'")
            return
        _set(parser, path, priority)

    return handler


def _nftables_start_fwmark(parser: Parser, words: Words) -> None:
    fwmark = parser.read_unsigned(words.arg(1), 1, UINT_MAX)
    if fwmark is None:
        parser.report(Severity.INVALID_NUMBER, f"invalid ipvs nftables start_fwmark priority '{words[1]}'")
        return
    _defs(parser).ipvs_nftables_start_fwmark = fwmark


def _rx_bufs_policy(parser: Parser, words: Words) -> None:
    if len(words) < 2:
        parser.error("vrrp_rx_bufs_policy missing")
        return
    defs = _defs(parser)
    policies = {defs.vrrp_rx_bufs_policy} - {RxBufsPolicy.DEFAULT}
    for word in words[1:]:
        named = word.lower() if word.isascii() else ""
        if named == "mtu":
            policies.add(RxBufsPolicy.MTU)
        elif named == "advert":
            policies.add(RxBufsPolicy.ADVERT)
        else:
            # keepalived 2.2.7 reads the first word here whichever word it is at; hapair reads this one
            size = parser.read_unsigned(word, 0, UINT_MAX)
            if size is None:
                parser.error(f"Invalid vrrp_rx_bufs_policy {word}")
            else:
                defs.vrrp_rx_bufs_size = size
                policies.add(RxBufsPolicy.SIZE)
    if RxBufsPolicy.SIZE in policies and policies & {RxBufsPolicy.MTU, RxBufsPolicy.ADVERT}:
        parser.error("Cannot set vrrp_rx_bufs_policy size and policy, ignoring policy")
        policies = {RxBufsPolicy.SIZE}
    elif {RxBufsPolicy.MTU, RxBufsPolicy.ADVERT} <= policies:
        parser.error("Cannot set both vrrp_rx_bufs_policy MTU and ADVERT, ignoring ADVERT")
        policies = {RxBufsPolicy.MTU}
    defs.vrrp_rx_bufs_policy = next(iter(policies), RxBufsPolicy.DEFAULT)


def _rx_bufs_multiplier(parser: Parser, words: Words) -> None:
    if len(words) != 2:
        parser.error("Invalid vrrp_rx_bufs_multiplier")
        return
    multiplier = parser.read_unsigned(words[1], 1, UINT_MAX)
    if multiplier is None:
        parser.error(f"Invalid vrrp_rx_bufs_multiplier {words[1]}")
        return
    _defs(parser).vrrp_rx_bufs_multiplier = multiplier


def _vmac_prefix(path: str, what: str) -> Handler:
    def handler(parser: Parser, words: Words) -> None:
        prefix = words.arg(1)
        if getattr(_defs(parser), path) is not None:
            parser.error(f"{what} has already been specified - ignoring {prefix}")
            return
        _set(parser, path, prefix)

    return handler


# -- notify FIFOs -----------------------------------------------------------------------------------------
def _notify_fifo(prefix: str) -> Handler:
    def handler(parser: Parser, words: Words) -> None:
        fifo = getattr(_defs(parser), f"{prefix}notify_fifo")
        if len(words) < 2:
            parser.error(f"No {prefix}notify_fifo name specified")
            return
        if fifo.name is not None:
            parser.error(f"{prefix}notify_fifo already specified - ignoring {words[1]}")
            return
        # keepalived 2.2.7 names the FIFO "(null)" in these two messages: it is not recorded yet
        if len(words) > 2:
            ids = resolve_user(parser, words[2], words[3] if len(words) > 3 else None)
            if ids is None:
                parser.log(f"Invalid user/group for {prefix} fifo {words[1]} - ignoring")
                return
        else:
            ids = parser.session.script_users.default(parser)
            if ids is None:
                parser.log(f"Failed to set default user for {prefix} fifo {words[1]} - ignoring")
                return
        fifo.uid, fifo.gid = ids
        fifo.name = words[1]

    return handler


def _notify_fifo_script(prefix: str) -> Handler:
    def handler(parser: Parser, words: Words) -> None:
        fifo = getattr(_defs(parser), f"{prefix}notify_fifo")
        if len(words) < 2:
            parser.error(f"No {prefix}notify_fifo_script specified")
            return
        if fifo.script is not None:
            parser.error(f"{prefix}notify_fifo_script already specified - ignoring {words[1]}")
            return
        fifo.script = read_notify_script(parser, f"{prefix}notify_fifo")

    return handler


# -- LVS ----------------------------------------------------------------------------------------------------
def _lvs_timeouts(parser: Parser, words: Words) -> None:
    if len(words) < 3:
        parser.error("lvs_timeouts requires at least one option")
        return
    timeouts = _defs(parser).lvs_timeouts
    fields = {"tcp": "tcp_us", "tcpfin": "tcp_fin_us", "udp": "udp_us"}
    i = 1
    while i < len(words):
        option = words[i]
        if option not in fields:
            parser.error(f"Unknown option {option} specified for lvs_timeouts")
            i += 1
            continue
        if i == len(words) - 1:
            parser.error(f"No value specified for lvs_timeout {option} - ignoring")
            i += 1
            continue
        value = parser.read_unsigned(words[i + 1], 0, LVS_MAX_TIMEOUT)
        if value is None:
            parser.error(f"Invalid lvs_timeout {option} ({words[i + 1]}) - ignoring")
        else:
            setattr(timeouts, fields[option], value * TIMER_HZ)
        i += 2


# option -> (field, low, high, what a missing value does, what an invalid one does)
_SYNCD_NUMBERS = {
    "id": ("sync_id", 0, 255, ", defaulting to vrid", "Invalid syncid ({}) - defaulting to vrid"),
    "maxlen": (
        "max_length",
        1,
        65535 - 20 - 8,
        " - ignoring",
        "Invalid lvs_sync_daemon maxlen ({}) - ignoring",
    ),
    "port": ("multicast_port", 1, 65535, " - ignoring", "Invalid lvs_sync_daemon port ({}) - ignoring"),
    "ttl": ("multicast_ttl", 1, 255, " - ignoring", "Invalid lvs_sync_daemon ttl ({}) - ignoring"),
}


def _lvs_sync_daemon(parser: Parser, words: Words) -> None:
    syncd = _defs(parser).lvs_syncd
    if syncd.interface is not None:
        parser.error(
            f"lvs_sync_daemon has already been specified as {syncd.interface} {syncd.vrrp_instance or ''}"
            " - ignoring"
        )
        return
    if len(words) < 2:
        parser.error("lvs_sync_daemon requires interface")
        return
    if len(words[1]) >= IP_VS_IFNAME_MAXLEN:
        parser.error(f"lvs_sync_daemon interface name '{words[1]}' too long - ignoring")
        return
    syncd.interface = words[1]
    i = 2
    while i < len(words):
        option = words[i]
        if option == "inst":
            if syncd.vrrp_instance is not None:
                parser.error(
                    f"lvs_sync_daemon vrrp instance has already been specified as {syncd.vrrp_instance}"
                    " - ignoring"
                )
            else:
                syncd.vrrp_instance = words.arg(i + 1)
            i += 2
        elif option in _SYNCD_NUMBERS or option == "group":
            if i == len(words) - 1:
                missing = _SYNCD_NUMBERS[option][3] if option in _SYNCD_NUMBERS else " - ignoring"
                parser.error(f"No value specified for lvs_sync_daemon {option}{missing}")
                i += 1
                continue
            if option == "group":
                _syncd_group(parser, words[i + 1])
            else:
                field, low, high, _, invalid = _SYNCD_NUMBERS[option]
                value = parser.read_unsigned(words[i + 1], low, high)
                if value is None:
                    parser.error(invalid.format(words[i + 1]))
                else:
                    setattr(syncd, field, value)
            i += 2
        elif i == 2:  # the old form: lvs_sync_daemon IF VRRP_INSTANCE [SYNC_ID]
            syncd.vrrp_instance = option
            i += 1
        elif i == 3:
            sync_id = parser.read_unsigned(option, 0, 255)
            if sync_id is None:
                parser.error(f"Invalid syncid ({option}) - defaulting to vrid")
            else:
                parser.error('Please use keyword "id" before lvs_sync_daemon SYNCID')
                syncd.sync_id = sync_id
            i += 1
        else:
            parser.error(f"Unknown option {option} specified for lvs_sync_daemon")
            i += 1


def _syncd_group(parser: Parser, text: str) -> None:
    syncd = _defs(parser).lvs_syncd
    syncd.multicast_group = inet_address(text)
    if syncd.multicast_group is None:
        parser.error(f"Invalid lvs_sync_daemon group ({text}) - ignoring")
    elif not syncd.multicast_group.is_multicast:
        parser.error(f"lvs_sync_daemon group address {text} is not multicast - ignoring")
        syncd.multicast_group = None


def _lvs_flush_on_stop(parser: Parser, words: Words) -> None:
    if len(words) == 1:
        _defs(parser).lvs_flush_on_stop = LvsFlushOnStop.FULL
    elif words[1] == "VS":
        _defs(parser).lvs_flush_on_stop = LvsFlushOnStop.VS
    else:
        parser.error(f"Unknown lvs_flush_on_stop type {words[1]}")


# -- SNMP ---------------------------------------------------------------------------------------------------
def _snmp_socket(parser: Parser, words: Words) -> None:
    defs = _defs(parser)
    if len(words) > 2:
        parser.error("Too many parameters specified for snmp_socket - ignoring")
    elif len(words) < 2:
        parser.error("SNMP error : snmp socket name missing")
    elif len(words[1]) > PATH_MAX - 1:
        parser.error("SNMP error : snmp socket name too long - ignored")
    elif defs.snmp_socket is not None:
        parser.error(f"SNMP socket already set to {defs.snmp_socket} - ignoring")
    else:
        defs.snmp_socket = words[1]


# -- scripts ------------------------------------------------------------------------------------------------
def _script_user(parser: Parser, words: Words) -> None:
    if len(words) < 2:
        parser.error("No script username specified")
        return
    if parser.session.script_users.set_default(parser, words[1], words[2] if len(words) > 2 else None):
        parser.error("Error setting global script uid/gid")


def _script_security(parser: Parser, words: Words) -> None:
    parser.session.script_users.security = True
    _defs(parser).script_security = True


# -- files, umask, reloads ----------------------------------------------------------------------------------
def _umask(parser: Parser, words: Words) -> None:
    mask = words.arg(1)
    if mask[:1].isdigit() and mask[0].isascii():
        if len(words) != 2:
            parser.error("Extra parameter(s) to umask option")
            return
        parsed = strtol(mask, 0)
        if parsed.rest or parsed.value < 0 or parsed.value & ~0o777:
            parser.error(f"invalid umask value {mask}")
            return
        bits = parsed.value
    else:
        bits = 0
        need_or = False
        for word in words[1:]:
            pos = 0
            while pos < len(word):
                if need_or:
                    if word[pos] != "|":
                        parser.error(f"Invalid umask syntax {word}")
                        return
                    need_or = False
                    pos += 1
                    continue
                bit = _UMASK_BITS.get(word[pos : pos + 5])
                if bit is None:
                    parser.error(f"Unknown umask bit {word[pos:]}")
                    return
                bits |= bit
                pos += 5
                need_or = True
        if not need_or:
            parser.error("umask missing bit value")
            return
    _defs(parser).umask = bits


def _random_seed(parser: Parser, words: Words) -> None:
    seed = parser.read_unsigned(words.arg(1), 0, UINT_MAX)
    if seed is None:
        parser.error(f"random_seed {words[1]} invalid")
        return
    parser.reader.seed(seed)


def _include_check(parser: Parser, words: Words) -> None:
    """Which `include` problems are errors (keepalived's `include_check_set`); it lasts to the end of the
    file it is in."""
    source = parser.reader.source
    if len(words) <= 1:
        source.include_check = INCLUDE_ALL
        return
    for i, word in enumerate(words[1:], start=1):
        sign = word[:1] if word[:1] in ("+", "-") else ""
        if not sign:
            if i > 1:
                parser.error(f"Duplicate include_check '{word}' specified - ignoring")
                continue
            source.include_check = 0
        name = word[len(sign) :]
        check = _INCLUDE_CHECKS.get(name, 0)
        if not check:
            parser.error(f"Unknown include_check type '{name}' - ignoring")
        elif sign == "+":
            source.include_check |= check
        elif sign == "-":
            source.include_check &= ~check
        else:
            source.include_check = INCLUDE_R | check


def _config_save_dir(parser: Parser, words: Words) -> None:
    """keepalived's parent creates a missing directory here; hapair only checks it could, and leaves the
    creating to the daemon."""
    directory = words.arg(1)
    status = parser.host.stat(directory)
    if status is not None and not stat.S_ISDIR(status.mode):
        parser.error(f"config_save_dir {directory} exists and is not a directory")
        return
    if status is None:
        parent = parser.host.stat(os.path.dirname(directory.rstrip("/")) or ".")
        if parent is None or not stat.S_ISDIR(parent.mode):
            code = 2 if parent is None else 20
            parser.error(f"Unable to create config_save_dir {directory} (error {code} - {os.strerror(code)})")
            return
    _defs(parser).config_save_dir = directory[:-1] if directory.endswith("/") else directory


def _tmp_config_directory(parser: Parser, words: Words) -> None:
    defs = _defs(parser)
    if defs.tmp_config_directory is not None:
        parser.error(f"{words[0]} already specified - ignoring")
    elif len(words) >= 2:
        defs.tmp_config_directory = words[1]
    else:
        parser.error(f"{words[0]} missing directory name")


def _reload_check_config(parser: Parser, words: Words) -> None:
    _defs(parser).reload_check_config = words[1] if len(words) >= 2 else "/dev/null"


def _reload_time_file(parser: Parser, words: Words) -> None:
    if len(words) != 2:
        parser.error("reload_time_file invalid")
        return
    _defs(parser).reload_time_file = words[1]


def _reload_file(parser: Parser, words: Words) -> None:
    _defs(parser).reload_file = words[1] if len(words) >= 2 else DEFAULT_RELOAD_FILE


# -- the tables ---------------------------------------------------------------------------------------------
def _bool_msg(name: str) -> str:
    return f"Invalid value '{{}}' for global {name} specified"


def _global_defs_keywords() -> list[tuple[str, Handler]]:
    """global_defs' keywords in keepalived's install order (Debian's build: VRRP, LVS, BFD, SNMP, D-Bus,
    nftables without iptables/ipsets)."""
    keywords: list[tuple[str, Handler]] = [
        ("process_names", _process_names),
        ("process_name", _parent_process_name),
        ("vrrp_process_name", _child_process_name("vrrp")),
        ("checker_process_name", _child_process_name("checker")),
        ("lvs_process_name", _child_process_name("checker", deprecated=True)),
        ("bfd_process_name", _child_process_name("bfd")),
        ("router_id", _text("router_id", "routerid name missing - ignoring")),
        ("notification_email_from", _text("email_from", "emailfrom missing - ignoring")),
        ("smtp_server", _smtp_server),
        ("smtp_helo_name", _text("smtp_helo_name", None)),
        (
            "smtp_connect_timeout",
            _unsigned(
                "smtp_connection_timeout_us",
                0,
                UINT_MAX // TIMER_HZ,
                f"smtp_connect_timeout '{{}}' must be in [0, {UINT_MAX // TIMER_HZ}] - ignoring",
                scale=TIMER_HZ,
                zero_is_one="smtp_conect_timeout must be greater than 0, setting to 1",
            ),
        ),
        ("notification_email", _notification_email),
        ("smtp_alert", _boolean("smtp_alert", _bool_msg("smtp_alert"))),
        ("startup_script", _startup_shutdown_script("startup")),
        ("startup_script_timeout", _script_timeout("startup")),
        ("shutdown_script", _startup_shutdown_script("shutdown")),
        ("shutdown_script_timeout", _script_timeout("shutdown")),
        ("max_auto_priority", _max_auto_priority),
        ("min_auto_priority_delay", _min_auto_priority_delay),
        ("smtp_alert_vrrp", _boolean("smtp_alert_vrrp", _bool_msg("smtp_alert_vrrp"))),
        ("smtp_alert_checker", _boolean("smtp_alert_checker", _bool_msg("smtp_alert_checker"))),
        (
            "checker_log_all_failures",
            _boolean("checker_log_all_failures", "Invalid value for checker_log_all_failures specified"),
        ),
        ("dynamic_interfaces", _dynamic_interfaces),
        ("no_email_faults", _flag("no_email_faults")),
        ("default_interface", _text("default_interface", "default_interface requires interface name")),
        ("disable_local_igmp", _disable_local_igmp),
        ("lvs_timeouts", _lvs_timeouts),
        ("lvs_flush", _flag("lvs_flush")),
        ("lvs_flush_on_stop", _lvs_flush_on_stop),
        ("lvs_flush_onstop", _lvs_flush_on_stop),
        ("lvs_sync_daemon", _lvs_sync_daemon),
        ("vrrp_mcast_group4", _mcast_group(4)),
        ("vrrp_mcast_group6", _mcast_group(6)),
        (
            "vrrp_garp_master_delay",
            _unsigned(
                "vrrp_garp_delay_us",
                0,
                UINT_MAX // TIMER_HZ,
                "vrrp_garp_master_delay '{}' invalid - ignoring",
                scale=TIMER_HZ,
            ),
        ),
        (
            "vrrp_garp_master_repeat",
            _unsigned(
                "vrrp_garp_rep",
                0,
                UINT_MAX,
                "vrrp_garp_master_repeat '{}' invalid - ignoring",
                zero_is_one="vrrp_garp_master_repeat must be greater than 0, setting to 1",
            ),
        ),
        ("vrrp_garp_master_refresh", _garp_refresh),
        (
            "vrrp_garp_master_refresh_repeat",
            _unsigned(
                "vrrp_garp_refresh_rep",
                0,
                UINT_MAX,
                "vrrp_garp_master_refresh_repeat '{}' invalid - ignoring",
                zero_is_one="vrrp_garp_master_refresh_repeat must be greater than 0, setting to 1",
            ),
        ),
        (
            "vrrp_garp_lower_prio_delay",
            _unsigned(
                "vrrp_garp_lower_prio_delay_us",
                0,
                UINT_MAX // TIMER_HZ,
                "vrrp_garp_lower_prio_delay '{}' invalid - ignoring",
                scale=TIMER_HZ,
            ),
        ),
        (
            "vrrp_garp_lower_prio_repeat",
            _unsigned("vrrp_garp_lower_prio_rep", 0, INT_MAX, "Invalid vrrp_garp_lower_prio_repeat '{}'"),
        ),
        (
            "vrrp_down_timer_adverts",
            _unsigned("vrrp_down_timer_adverts", 1, 100, "Invalid vrrp_down_timer_adverts [1:100] '{}'"),
        ),
        ("vrrp_garp_interval", _interval("vrrp_garp_interval_us", 1, TIMER_HZ, "vrrp_garp_interval")),
        ("vrrp_gna_interval", _interval("vrrp_gna_interval_us", 1, TIMER_HZ, "vrrp_gna_interval")),
        ("vrrp_min_garp", _min_garp),
        ("vrrp_garp_extra_if", _garp_extra_if),
        ("vrrp_vmac_garp_intvl", _garp_extra_if),
        (
            "vrrp_lower_prio_no_advert",
            _boolean("vrrp_lower_prio_no_advert", "Invalid value for vrrp_lower_prio_no_advert specified"),
        ),
        (
            "vrrp_higher_prio_send_advert",
            _boolean(
                "vrrp_higher_prio_send_advert", "Invalid value for vrrp_higher_prio_send_advert specified"
            ),
        ),
        ("vrrp_version", _vrrp_version),
        ("vrrp_iptables", _vrrp_iptables),
        ("nftables", _nftables(ipvs=False)),
        ("nftables_priority", _nftables_priority("vrrp_nf_chain_priority", "nftables")),
        ("nftables_ifindex", _flag("vrrp_nf_ifindex")),
        ("nftables_ipvs", _nftables(ipvs=True)),
        ("nftables_ipvs_priority", _nftables_priority("ipvs_nf_chain_priority", "ipvs nftables")),
        ("nftables_ipvs_start_fwmark", _nftables_start_fwmark),
        ("nftables_counters", _flag("nf_counters")),
        ("vrrp_check_unicast_src", _flag("vrrp_check_unicast_src")),
        ("vrrp_skip_check_adv_addr", _flag("vrrp_skip_check_adv_addr")),
        ("vrrp_strict", _flag("vrrp_strict")),
    ]
    keywords += _process_keywords("vrrp")
    keywords += [
        ("notify_fifo", _notify_fifo("")),
        ("notify_fifo_script", _notify_fifo_script("")),
        ("vrrp_notify_fifo", _notify_fifo("vrrp_")),
        ("vrrp_notify_fifo_script", _notify_fifo_script("vrrp_")),
        (
            "vrrp_notify_priority_changes",
            _boolean("vrrp_notify_priority_changes", _bool_msg("vrrp_notify_priority_changes")),
        ),
        ("fifo_write_vrrp_states_on_reload", _flag("fifo_write_vrrp_states_on_reload")),
        ("lvs_notify_fifo", _notify_fifo("lvs_")),
        ("lvs_notify_fifo_script", _notify_fifo_script("lvs_")),
    ]
    keywords += _process_keywords("checker")
    keywords += _process_keywords("bfd")
    keywords += [
        ("snmp_socket", _snmp_socket),
        ("enable_traps", _flag("enable_traps")),
        ("enable_snmp_vrrp", _flag("enable_snmp_vrrp")),
        ("enable_snmp_keepalived", _flag("enable_snmp_vrrp")),  # deprecated since v2.0.0
        ("enable_snmp_rfc", _flag("enable_snmp_rfcv2", "enable_snmp_rfcv3")),
        ("enable_snmp_rfcv2", _flag("enable_snmp_rfcv2")),
        ("enable_snmp_rfcv3", _flag("enable_snmp_rfcv3")),
        ("enable_snmp_checker", _flag("enable_snmp_checker")),
        ("enable_dbus", _flag("enable_dbus")),
        ("dbus_service_name", _text("dbus_service_name", "dbus_service_name missing - ignoring")),
        ("script_user", _script_user),
        ("enable_script_security", _script_security),
    ]
    for kind in ("vrrp_netlink_cmd", "vrrp_netlink_monitor", "process_monitor"):
        keywords += [
            (f"{kind}_rcv_bufs", _rcv_bufs(f"{kind}_rcv_bufs", kind)),
            (
                f"{kind}_rcv_bufs_force",
                _boolean(f"{kind}_rcv_bufs_force", _bool_msg(f"{kind}_rcv_bufs_force")),
            ),
        ]
    for kind in ("lvs_netlink_cmd", "lvs_netlink_monitor"):
        keywords += [
            (f"{kind}_rcv_bufs", _rcv_bufs(f"{kind}_rcv_bufs", kind)),
            (
                f"{kind}_rcv_bufs_force",
                _boolean(f"{kind}_rcv_bufs_force", _bool_msg(f"{kind}_rcv_bufs_force")),
            ),
        ]
    keywords += [
        ("rs_init_notifies", _boolean("rs_init_notifies", _bool_msg("rs_init_notifies"))),
        ("no_checker_emails", _boolean("no_checker_emails", _bool_msg("no_checker_emails"))),
        ("vrrp_rx_bufs_policy", _rx_bufs_policy),
        ("vrrp_rx_bufs_multiplier", _rx_bufs_multiplier),
        ("vrrp_startup_delay", _interval("vrrp_startup_delay_us", 1000, 60 * TIMER_HZ, "vrrp_startup_delay")),
        ("log_unknown_vrids", _flag("log_unknown_vrids")),
        ("vmac_prefix", _vmac_prefix("vmac_prefix", "vmac prefix")),
        ("vmac_addr_prefix", _vmac_prefix("vmac_addr_prefix", "vmac_addr prefix")),
        ("umask", _umask),
        ("random_seed", _random_seed),
        ("reload_check_config", _reload_check_config),
        ("reload_time_file", _reload_time_file),
        ("reload_repeat", _flag("reload_repeat")),
        ("reload_file", _reload_file),
        ("include_check", _include_check),
        ("config_save_dir", _config_save_dir),
        ("tmp_config_directory", _tmp_config_directory),
        ("data_use_instance", _boolean("data_use_instance", _bool_msg("date_use_instance"))),
    ]
    return keywords


def _process_keywords(process: str) -> list[tuple[str, Handler]]:
    """The scheduling keywords of one process: `vrrp_priority`, `checker_no_swap`, `bfd_rlimit_rttime`…"""
    return [
        (f"{process}_priority", _priority(process)),
        (f"{process}_no_swap", _flag(f"{process}_process.no_swap")),
        (f"{process}_rt_priority", _realtime_priority(process)),
        (f"{process}_cpu_affinity", _cpu_affinity(process)),
        (f"{process}_rlimit_rttime", _rlimit_rttime(process)),
        (f"{process}_rlimit_rtime", _rlimit_rttime(process)),  # deprecated since 02/02/2020
    ]


def _table(keywords: list[tuple[str, Handler]]) -> KeywordTable:
    table = KeywordTable()
    for name, handler in keywords:
        table.add(Keyword(name, handler))
    return table


def roots() -> list[Keyword]:
    """The parent process's root keywords, in keepalived's install order."""
    child_wait_time = _unsigned(
        "child_wait_time_us", 0, UINT_MAX, "Invalid child_wait_time {}", lenient=False, scale=TIMER_HZ
    )
    return [
        Keyword("linkbeat_use_polling", _flag("linkbeat_use_polling")),
        Keyword("net_namespace", _pid_dir_name("network_namespace", "net_namespace")),
        Keyword("net_namespace_ipvs", _net_namespace_ipvs),
        Keyword("namespace_with_ipsets", _flag("namespace_with_ipsets")),
        Keyword("use_pid_dir", _flag("use_pid_dir")),
        Keyword("instance", _pid_dir_name("instance_name", "instance")),
        Keyword("child_wait_time", child_wait_time),
        Keyword("global_defs", sub=_table(_global_defs_keywords())),
    ]
