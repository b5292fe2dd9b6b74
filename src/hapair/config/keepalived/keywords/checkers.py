"""Keywords: `SSL`, `virtual_server_group` and `virtual_server` with its real servers and health checkers
(keepalived's check/check_parser.c, check_data.c's alloc_*, check_api.c and each check_*.c parser).

A reading keeps the virtual server, real server and checker being read (None once refused or dropped),
and what keepalived keeps in statics while it reads a checker block (SMTP_CHECK host blocks, the pending
regex of a url).

Differences from keepalived 2.2.7, all bugs there: `virtual_server group` / `fwmark` without a value is a
missing parameter, and `fwmark 0` is refused (keepalived crashes, or uses an uninitialised address); an
address with a `%` is printed as given; the settings on the lines of a refused virtual or real server that
has no `{`, and in the rest of a dropped checker block, are checked but not applied (keepalived applies them
to the previous server or checker, or crashes); an invalid `connect_ip` keeps the address it had; an
SMTP_CHECK `host` block's connection gets the real server's connect timeout, as the checker's own does
(keepalived leaves it 0); an HTTP checker without urls is dropped once (keepalived also drops the checker
before it); a url's regex settings never pass on to the next url, an invalid regex or `regex_max_offset` is
dropped (keepalived keeps a freed regex, and a max offset of 1); a DNS_CHECK name whose first label has one
character is accepted.
"""

from __future__ import annotations

import ctypes
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import TypeVar

from ..diagnostics import Severity
from ..engine import Handler, Keyword, KeywordTable, Parser, ReadingState, Words
from ..model.bfd import BFD_NAME_MAX
from ..model.check_data import LVS_MAX_TIMEOUT, SslContext
from ..model.checkers import (
    DNS_TYPES,
    HTTP_DEFAULT_STATUS_CODES,
    HTTP_STATUS_MAX,
    HTTP_STATUS_MIN,
    IPVS_WEIGHT_MAX,
    PERSISTENT_TIMEOUT,
    SCHEDULERS,
    AddressRange,
    BfdCheck,
    Checker,
    Connection,
    DnsCheck,
    FileCheck,
    Forwarding,
    FwmarkEntry,
    HttpCheck,
    MiscCheck,
    PingCheck,
    Protocol,
    RealServer,
    Regex,
    ServiceFlag,
    SmtpCheck,
    SocketAddress,
    TcpCheck,
    UdpCheck,
    Url,
    VirtualServer,
    VirtualServerGroup,
    ip_text,
)
from ..model.scripts import NotifyScript, script_text
from ..numbers import TIMER_HZ, UINT_MAX, strtol
from ..scripts import command_args, read_notify_script, resolve_user

IPAddress = IPv4Address | IPv6Address
T = TypeVar("T")

UINT16_MAX = 0xFFFF
PERSISTENCE_ENGINE_MAX = 16
INTERFACE_NAME_MAX = 15
MD5_HEX_LENGTH = 32

# PCRE2 compile options by name; the bit of each is 1 << its index (pcre2.h).
REGEX_OPTIONS = (
    "allow_empty_class", "alt_bsux", "auto_callout", "caseless", "dollar_endonly", "dotall", "dupnames",
    "extended", "firstline", "match_unset_backref", "multiline", "never_ucp", "never_utf",
    "no_auto_capture", "no_auto_possess", "no_dotstar_anchor", "no_start_optimize", "ucp", "ungreedy",
    "utf", "never_backslash_c", "alt_circumflex", "alt_verbnames", "use_offset_limit",
)  # fmt: skip


# -- addresses --------------------------------------------------------------------------------------------
def parse_ip(text: str) -> IPAddress | None:
    """keepalived's `inet_stosockaddr` on an address: IPv6 if the text has a `:`, anything from a `-` (or
    else a `/`) on ignored, strict `inet_pton` syntax (no scope id)."""
    cut = text.find("-")
    cut = cut if cut >= 0 else text.find("/")
    literal = text[:cut] if cut >= 0 else text
    if "%" in literal:
        return None
    try:
        address = ip_address(literal)
    except ValueError:
        return None
    return address if (address.version == 6) == (":" in text) else None


def port_text(port: str | None) -> str | None:
    """A port that is all zeros (or empty) counts as none, as keepalived has it since 2.0.7."""
    return port if port and port.lstrip("0") else None


def read_socket_address(parser: Parser, ip: str, port: str | None) -> SocketAddress | None:
    """keepalived's `inet_stosockaddr(ip, port)`: the port (1-65535) is checked first."""
    number = 0
    if port is not None:
        read = parser.read_unsigned(port, 1, 65535, lenient=True)
        if read is None:
            return None
        number = read
    address = parse_ip(ip)
    return None if address is None else SocketAddress(address, number)


def inet_aton(text: str) -> IPv4Address | None:
    """glibc's exact `inet_aton` (what `getaddrinfo(AI_NUMERICHOST)` accepts): 1 to 4 parts, each decimal,
    octal or hex, the last filling the remaining bytes."""
    parts = text.split(".")
    if len(parts) > 4:
        return None
    values = []
    for part in parts:
        if not part or not (part[0].isdigit()):
            return None
        parsed = strtol(part, 0, unsigned=True)
        if parsed.rest:
            return None
        values.append(parsed.value)
    *leading, last = values
    if any(v > 0xFF for v in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    value = last
    for i, v in enumerate(leading):
        value |= v << (8 * (3 - i))
    return IPv4Address(value)


def check_connection(parser: Parser, connection: Connection) -> bool:
    """keepalived's `check_conn_opts`: an IPv6 link-local destination needs `bind_if`."""
    address = connection.address
    if isinstance(address, IPv6Address) and address.is_link_local and not connection.bind_interface:
        parser.error(f"Checker link local address {ip_text(address)} requires a bind_if")
        return False
    return True


# -- hex strings and regexes --------------------------------------------------------------------------------
def _hex_value(char: str, wildcard: bool) -> int:
    """keepalived's `hex_val`: 0-15, 0xfe for an `X`/`x` wildcard (if allowed), 0xff otherwise."""
    code = ord(char)
    if 0x30 <= code <= 0x39:
        return code - 0x30
    if 0x61 <= code < 0x80:
        code -= 0x20
    if 0x41 <= code <= 0x46:
        return code - 0x41 + 10
    return 0xFE if wildcard and code == 0x58 else 0xFF


def read_hex_string(text: str, wildcard: bool) -> tuple[bytes, bytes | None] | None:
    """keepalived's `read_hex_str`: pairs of hex digits (a lone digit before a space is one byte); with
    `wildcard`, `X` nibbles match anything and the mask marks them. None if invalid or empty."""
    data, mask = bytearray(), bytearray()
    pos, value = 0, 0
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos >= len(text):
            break
        value = _hex_value(text[pos], wildcard)
        pos += 1
        if value == 0xFF:
            break
        nibble_mask = 0x0F if value == 0xFE else 0
        value = 0 if value == 0xFE else value
        if pos < len(text) and text[pos] != " ":
            high, nibble_mask = value << 4, nibble_mask << 4
            value = _hex_value(text[pos], wildcard)
            pos += 1
            if value == 0xFF:
                break
            if value == 0xFE:
                nibble_mask |= 0x0F
                value = 0
            value |= high
        data.append(value)
        mask.append(nibble_mask)
    if value == 0xFF or not data:
        return None
    return bytes(data), bytes(mask) if any(mask) else None


@cache
def _pcre2() -> ctypes.CDLL:
    """The system's PCRE2 library, which keepalived's HTTP checker uses (Debian: libpcre2-8-0)."""
    library = ctypes.CDLL("libpcre2-8.so.0")
    library.pcre2_compile_8.restype = ctypes.c_void_p
    library.pcre2_compile_8.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_uint32,
        ctypes.POINTER(ctypes.c_int),
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.c_void_p,
    ]
    library.pcre2_code_free_8.argtypes = [ctypes.c_void_p]
    library.pcre2_get_error_message_8.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
    return library


def regex_error(regex: Regex) -> tuple[int, str] | None:
    """Why PCRE2 rejects the regex (offset, message), or None if it compiles."""
    library = _pcre2()
    options = sum(1 << REGEX_OPTIONS.index(name) for name in regex.options)
    error, offset = ctypes.c_int(), ctypes.c_size_t()
    pattern = regex.pattern.encode(errors="surrogateescape")
    code = library.pcre2_compile_8(pattern, len(pattern), options, error, offset, None)
    if code:
        library.pcre2_code_free_8(code)
        return None
    buffer = ctypes.create_string_buffer(256)
    library.pcre2_get_error_message_8(error, buffer, len(buffer))
    return offset.value, buffer.value.decode(errors="replace")


def _range_end(parser: Parser, text: str, port: str | None, start: IPAddress) -> IPAddress | None:
    """The end of a group's address entry: `/MASK`, `-END_ADDRESS`, `-LAST` (last byte for IPv4, last
    16 bits in hex for IPv6) or a single address."""
    bits, value = start.max_prefixlen, int(start)
    if "/" in text:
        mask = strtol(text[text.index("/") + 1 :], 10, unsigned=True)
        if mask.rest or not 0 < mask.value <= bits:
            parser.error(f"Invalid netmask - {text} - skipping")
            return None
        host = (1 << (bits - mask.value)) - 1
        if value & host:
            parser.error(f"Address mask bits not empty - {text} - skipping")
            return None
        return type(start)(value | host)
    dash = text.find("-")
    if dash < 0:
        return start
    last = text[dash + 1 :]
    if ("." if start.version == 4 else ":") in last:
        end = read_socket_address(parser, last, port)
        if end is None:
            parser.error(f"Invalid range end {text} - skipping")
        elif end.family != start.version:
            parser.error(f"Range address families do not match {text} - skipping")
        elif int(end.address) < value:
            parser.error(f"Address range end is less than address range start - {text} - skipping")
        else:
            return end.address
        return None
    ipv6 = ":" in text  # keepalived's inet_stor decides on the whole text
    parsed = strtol(last, 16 if ipv6 else 10, unsigned=True)
    if parsed.rest:
        warn = "" if parser.config_test else "WARNING - "
        parser.report(
            Severity.INVALID_NUMBER,
            f"{warn}Virtual server group range '{text}' has extra characters at end '{parsed.rest}'",
        )
        if parser.config_test:
            return None
    elif parsed.overflow or parsed.value > (UINT16_MAX if ipv6 else 0xFF):
        parser.report(Severity.INVALID_NUMBER, f"Virtual server group range '{text}' end '{last}' too large")
        return None
    low_bits = UINT16_MAX if start.version == 6 else 0xFF
    if value & low_bits >= parsed.value:
        parser.error(f"Address range end is not greater than address range start - {text} - skipping")
        return None
    # keepalived ORs the IPv4 end into the address, but stores the IPv6 one in the last 16 bits
    end_bits = parsed.value & (UINT16_MAX if start.version == 6 else 0xFFFFFFFF)
    return type(start)((value & ~low_bits & ((1 << bits) - 1)) | end_bits)


def _tunnelled(server: RealServer) -> bool:
    """A tunnelled server may have another address family than its virtual server."""
    return server.forwarding is not None and server.forwarding.method == "TUN"


def _same_family(parser: Parser, vs: VirtualServer, server: RealServer, kind: str) -> bool:
    """A virtual server without an address family takes its `kind` ("real", "sorry") server's; False
    (reported) when they differ."""
    if vs.family is None:
        vs.family = server.address.family
    elif vs.family != server.address.family:
        parser.error(
            f"Address family of virtual server and {kind} server {ip_text(server.address.address)} don't "
            f"match - skipping {kind} server."
        )
        return False
    return True


# -- forwarding -------------------------------------------------------------------------------------------
def read_forwarding(
    parser: Parser, words: Words, current: Forwarding | None, server: str
) -> Forwarding | None:
    """keepalived's `svr_forwarding_handler`: `NAT|DR|TUN [type ipip|gue|gre] [port N] [csum options]`.
    The method changes as soon as it is valid; the tunnel options only if all of them are."""
    method = words.arg(1)
    if method not in ("NAT", "DR", "TUN"):
        parser.error(f"PARSER : unknown [{method}] routing method for {server} server.")
        return current
    base = current or Forwarding(method)
    changed = dataclasses.replace(base, method=method)
    tunnel_type, port, checksum = "ipip", 0, "nocsum"
    i = 2
    while i < len(words):
        option = words[i]
        if option == "type" and i + 1 == len(words):
            parser.error(f"Missing tunnel type for {server} server.")
            return changed
        if option == "port" and i + 1 == len(words):
            parser.error(f"Missing port for {server} server gue tunnel.")
            return changed
        if option == "type":
            tunnel_type = words[i + 1]
            if tunnel_type not in ("ipip", "gue", "gre"):
                parser.error(f"Unknown tunnel type {tunnel_type} for {server} server.")
                return changed
            i += 1
        elif option == "port":
            if (number := parser.read_unsigned(words[i + 1], 1, 65535)) is None:
                parser.error(f"Invalid gue tunnel port {words[i + 1]} for {server} server.")
                return changed
            port = number
            i += 1
        elif option in ("nocsum", "csum", "remcsum"):
            checksum = option
        else:
            parser.error(f"Invalid tunnel option {option} for {server} server.")
            return changed
        i += 1
    if (tunnel_type == "gue") != (port != 0):
        parser.error("gue tunnels require port, otherwise cannot have port.")
    elif tunnel_type == "ipip" and checksum != "nocsum":
        parser.error("ipip tunnels do not support checksum option.")
    elif tunnel_type == "gre" and checksum == "remcsum":
        parser.error("gre tunnels do not support remote checksum option.")
    else:
        return Forwarding(method, tunnel_type, port, checksum)
    return changed


SERVICE_FLAGS = {
    "ops": ServiceFlag.ONE_PACKET,
    "flag-1": ServiceFlag.SCHED1,
    "flag-2": ServiceFlag.SCHED2,
    "flag-3": ServiceFlag.SCHED3,
}
SCHEDULER_FLAGS = {"port": ServiceFlag.SCHED2, "fallback": ServiceFlag.SCHED1}  # sh-… and mh-…
SERVICE_FLAG_KEYWORDS = ("hashed", *SERVICE_FLAGS, "sh-port", "sh-fallback", "mh-port", "mh-fallback")


# -- the reading ------------------------------------------------------------------------------------------
@dataclass
class _CheckReading(ReadingState):
    """What keepalived keeps in statics while reading a checker block; the handlers that use it are its
    methods, bound to each reading's own object in `roots()`."""

    current_vs: VirtualServer | None = None  # None: the virtual server block was refused
    current_rs: RealServer | None = None
    checker: Checker | None = None
    smtp_hosts: list[Connection] = field(default_factory=list)
    smtp_own_connection: Connection | None = None
    regex_pattern: str | None = None
    regex_options: set[str] = field(default_factory=set)
    misc_user_set: bool = False
    file_check_block: FileCheck | None = None
    dns_named: bool = False

    # -- where keywords apply ----------------------------------------------------------------------------
    def vs(self, parser: Parser) -> VirtualServer | None:
        return self.current_vs

    def rs(self, parser: Parser) -> RealServer | None:
        return self.current_rs

    def connection(self, parser: Parser) -> Connection | None:
        return self.checker.connection if self.checker is not None else None

    @staticmethod
    def of(kind: type[T]) -> Callable[[_CheckReading, Parser], T | None]:
        """The checker being read, if it is of `kind`."""

        def target(reading: _CheckReading, parser: Parser) -> T | None:
            return reading.checker if isinstance(reading.checker, kind) else None

        return target

    def url(self, parser: Parser) -> Url | None:
        checker = self.checker
        return checker.urls[-1] if isinstance(checker, HttpCheck) and checker.urls else None

    # -- SSL ---------------------------------------------------------------------------------------------
    @staticmethod
    def ssl(parser: Parser, words: Words) -> None:
        if parser.config.checkers.ssl is not None:
            parser.error("SSL context already specified - replacing")
        parser.config.checkers.ssl = SslContext()

    @staticmethod
    def ssl_file(attr: str, label: str) -> Handler:
        def handler(parser: Parser, words: Words) -> None:
            ssl = parser.config.checkers.ssl
            if ssl is None:
                return
            if len(words) < 2:
                parser.error(f"SSL {label} missing")
                return
            if getattr(ssl, attr) is not None:
                parser.error(f"SSL {label} already specified - replacing")
            setattr(ssl, attr, words[1])

        return handler

    # -- virtual_server_group ----------------------------------------------------------------------------
    @staticmethod
    def group(parser: Parser, words: Words) -> None:
        group = VirtualServerGroup(words.arg(1), defined_at=parser.place())
        data = parser.config.checkers
        data.groups.append(group)
        parser.value_block(
            Words(["virtual_server_group", *words[2:]]),
            lambda entry: _CheckReading.group_entry(parser, group, entry),
            unnamed=True,
        )
        if not group.ranges and not group.fwmarks:
            parser.error(f"virtual server group {group.name} has no entries - removing")
            data.groups.remove(group)
        elif group.have_ipv4 and group.have_ipv6 and group.fwmark_no_family:
            parser.error(
                f"virtual server group {group.name} cannot have IPv4, IPv6 and fwmark without family "
                "- removing"
            )
            data.groups.remove(group)

    @staticmethod
    def group_entry(parser: Parser, group: VirtualServerGroup, words: Words) -> None:
        """keepalived's `alloc_vsg_entry`: `fwmark N [inet|inet6]`, or `ADDRESS[-END|/MASK] [PORT]`."""
        if words[0] == "fwmark":
            fwmark = parser.read_unsigned(words.arg(1), 0, UINT_MAX, lenient=True)
            if fwmark is None:
                parser.error(f"({group.name}): fwmark '{words[1]}' must be in [0, {UINT_MAX}] - ignoring")
                return
            family = None
            if len(words) > 2:
                family = {"inet": 4, "inet6": 6}.get(words[2])
                if family is None:
                    parser.error(f"({group.name}): fwmark '{fwmark}' family {words[2]} unknown - ignoring")
                    return
            group.fwmarks.append(FwmarkEntry(fwmark, family))
            return
        text = words[0]
        port = port_text(words[1]) if len(words) >= 2 else None
        start = read_socket_address(parser, text, port)
        if start is None:
            port_part = f"/port/{port}" if port else ""
            parser.error(f"Invalid virtual server group IP address {text} {port_part} - skipping")
            return
        end = _range_end(parser, text, port, start.address)
        if end is not None:
            group.ranges.append(AddressRange(start.address, end, start.port))

    # -- virtual_server ----------------------------------------------------------------------------------
    def virtual_server(self, parser: Parser, words: Words) -> None:
        first = words.arg(1)
        self.current_vs = self.current_rs = None
        vs = VirtualServer(defined_at=parser.place())
        if first == "group":
            vs.group_name = words.arg(2)
        elif first == "fwmark":
            fwmark = parser.read_unsigned(words.arg(2), 0, UINT_MAX, lenient=True)
            if not fwmark:  # keepalived takes 0, then uses an uninitialised address: refused here
                low = 0 if fwmark is None else 1
                parser.error(f"virtual server fwmark '{words[2]}' must be in [{low}, {UINT_MAX}] - ignoring")
                parser.skip_block()
                return
            vs.fwmark = fwmark
        else:
            port = port_text(words[2]) if len(words) >= 3 else None
            address = read_socket_address(parser, first, port)
            if address is None:
                port_part = ("/port", f"/{port}") if port else ("", "")
                parser.error(
                    f"Invalid virtual server IP address{port_part[0]} {first}{port_part[1]} - skipping"
                )
                parser.skip_block()
                return
            vs.address = address
            vs.family = address.family
        parser.config.checkers.virtual_servers.append(vs)
        self.current_vs = vs

    def virtual_server_end(self, parser: Parser) -> None:
        """keepalived's `vs_end_handler`: the family follows the sorry server and, for a firewall mark with
        only tunnelled servers, any server (IPv4 if they differ)."""
        if (vs := self.vs(parser)) is None:
            return
        sorry = vs.sorry_server
        if sorry is not None and not _tunnelled(sorry) and not _same_family(parser, vs, sorry, "sorry"):
            vs.sorry_server = None
        if vs.family is None and vs.group_name is None:
            families = {s.address.family for s in ([vs.sorry_server] if vs.sorry_server else [])}
            families |= {rs.address.family for rs in vs.real_servers}
            vs.family = families.pop() if len(families) == 1 else 4

    def ip_family(self, parser: Parser, words: Words) -> None:
        if (vs := self.vs(parser)) is None:
            return
        family = {"inet": 4, "inet6": 6}.get(words.arg(1))
        if family is None:
            parser.error(f"unknown address family {words[1]}")
        elif vs.family is not None and family != vs.family:
            parser.error(f"Virtual server specified family {words[1]} conflicts with server family")
        else:
            vs.family = family

    def scheduler(self, parser: Parser, words: Words) -> None:
        if (vs := self.vs(parser)) is None:
            return
        if words.arg(1) not in SCHEDULERS:
            parser.error(f"Invalid lvs_scheduler '{words[1]}' - ignoring")
            return
        vs.scheduler = words[1]

    def service_flag(self, parser: Parser, words: Words) -> None:
        """`ops`, `flag-1..3`, and the sh/mh scheduler flags (which only count with that scheduler)."""
        if (vs := self.vs(parser)) is None:
            return
        name = words[0]
        if name in SERVICE_FLAGS:
            vs.flags |= SERVICE_FLAGS[name]
        elif vs.scheduler in ("sh", "mh"):
            scheduler, _, flag = name.partition("-")
            if scheduler == vs.scheduler and flag in SCHEDULER_FLAGS:
                vs.flags |= SCHEDULER_FLAGS[flag]
        else:
            parser.error(f"{name} only applies to sh scheduler - ignoring")

    def vs_forwarding(self, parser: Parser, words: Words) -> None:
        if (vs := self.vs(parser)) is None:
            return
        vs.forwarding = read_forwarding(parser, words, vs.forwarding, "virtual")

    def persistence_timeout(self, parser: Parser, words: Words) -> None:
        if (vs := self.vs(parser)) is None:
            return
        if len(words) < 2:
            vs.persistence_timeout = PERSISTENT_TIMEOUT
            return
        timeout = parser.read_unsigned(words[1], 1, LVS_MAX_TIMEOUT)
        if timeout is None:
            parser.error("persistence_timeout invalid")
            return
        vs.persistence_timeout = timeout

    def persistence_engine(self, parser: Parser, words: Words) -> None:
        if (vs := self.vs(parser)) is None:
            return
        name = words.arg(1)
        if len(name) > PERSISTENCE_ENGINE_MAX:
            parser.error(f"persistence_name too long, truncating - {name}")
        vs.persistence_engine = name[:PERSISTENCE_ENGINE_MAX]

    def persistence_granularity(self, parser: Parser, words: Words) -> None:
        if (vs := self.vs(parser)) is None:
            return
        text = words.arg(1)
        family = vs.family or (4 if "." in text else 6)
        granularity: IPv4Address | int | None
        if family == 6:
            granularity = parser.read_unsigned(text, 1, 128)
            if granularity is None:
                parser.error(f"Invalid IPv6 persistence_granularity specified - {text}")
                return
        else:
            granularity = inet_aton(text)
            if granularity is None:
                parser.error(f"Invalid IPv4 persistence_granularity specified - {text}")
                return
        vs.persistence_granularity = granularity
        vs.family = vs.family or family
        vs.persistence_timeout = vs.persistence_timeout or PERSISTENT_TIMEOUT

    def protocol(self, parser: Parser, words: Words) -> None:
        if (vs := self.vs(parser)) is None:
            return
        name = words.arg(1)
        protocol = next((p for p in Protocol if p.value == name.lower()), None)
        if protocol is None:
            parser.error(f"Unknown protocol {name} - ignoring")
        else:
            vs.protocol = protocol

    @staticmethod
    def virtualhost(target: Target, message: str) -> Handler:
        def handler(parser: Parser, words: Words) -> None:
            if (obj := target(parser)) is None:
                return
            if len(words) < 2:
                parser.error(message)
                return
            obj.virtualhost = words[1]  # type: ignore[attr-defined]

        return handler

    @staticmethod
    def snmp_name(target: Target, server: str) -> Handler:
        def handler(parser: Parser, words: Words) -> None:
            if (obj := target(parser)) is None:
                return
            if len(words) != 2:
                parser.error(f"{server} server snmp_name missing or extra parameters")
                return
            obj.snmp_name = words[1]  # type: ignore[attr-defined]

        return handler

    @staticmethod
    def quorum_script(attr: str) -> _Method:
        def handler(reading: _CheckReading, parser: Parser, words: Words) -> None:
            if (vs := reading.vs(parser)) is None:
                return
            if getattr(vs, attr) is not None:
                parser.error(
                    f"({vs.group_name or '(null)'}) {attr} script already specified - ignoring {words.arg(1)}"
                )
                return
            setattr(vs, attr, read_notify_script(parser, "quorum"))

        return handler

    def quorum(self, parser: Parser, words: Words) -> None:
        if (vs := self.vs(parser)) is None:
            return
        quorum = parser.read_unsigned(words.arg(1), 1, UINT_MAX, lenient=True)
        if quorum is None:
            parser.error(f"Quorum {words[1]} must be in [1, {UINT_MAX}]. Setting to 1.")
            quorum = 1
        vs.quorum = quorum

    # -- sorry_server ------------------------------------------------------------------------------------
    def sorry_server(self, parser: Parser, words: Words) -> None:
        if (vs := self.vs(parser)) is None:
            return
        ip = words.arg(1)
        address = read_socket_address(parser, ip, port_text(words[2]) if len(words) >= 3 else None)
        if address is None:
            parser.error(f"Invalid sorry server IP address {ip} - skipping")
            return
        vs.sorry_server = RealServer(
            address, weight=1, forwarding=vs.forwarding, inhibit_on_failure=False, defined_at=parser.place()
        )

    def sorry_server_inhibit(self, parser: Parser, words: Words) -> None:
        if (vs := self.vs(parser)) is None:
            return
        if (sorry := vs.sorry_server) is None:
            parser.error("Ignoring sorry_server inhibit used before or without sorry_server")
        else:
            sorry.inhibit_on_failure = True

    def sorry_forwarding(self, parser: Parser, words: Words) -> None:
        if (vs := self.vs(parser)) is None:
            return
        if (sorry := vs.sorry_server) is None:
            parser.error("sorry_server forwarding used without sorry_server")
        else:
            sorry.forwarding = read_forwarding(parser, words, sorry.forwarding, "sorry")

    # -- real_server -------------------------------------------------------------------------------------
    def real_server(self, parser: Parser, words: Words) -> None:
        self.current_rs = None
        if (vs := self.vs(parser)) is None:
            return
        ip, port = words.arg(1), words[2] if len(words) >= 3 else None
        address = read_socket_address(parser, ip, port_text(port))
        if address is None:
            parser.error(
                f"Invalid real server ip address/port {ip}/{'(null)' if port is None else port} - skipping"
            )
            parser.skip_block()
            return
        self.current_rs = RealServer(address, forwarding=vs.forwarding, defined_at=parser.place())
        vs.real_servers.append(self.current_rs)

    def real_server_end(self, parser: Parser) -> None:
        vs, rs = self.vs(parser), self.rs(parser)
        if vs is None or rs is None or _tunnelled(rs):
            return
        if not _same_family(parser, vs, rs, "real"):
            vs.real_servers.remove(rs)

    def rs_forwarding(self, parser: Parser, words: Words) -> None:
        if (rs := self.rs(parser)) is None:
            return
        rs.forwarding = read_forwarding(parser, words, rs.forwarding, "real")

    @staticmethod
    def notify_script(attr: str) -> _Method:
        def handler(reading: _CheckReading, parser: Parser, words: Words) -> None:
            vs, rs = reading.vs(parser), reading.rs(parser)
            if vs is None or rs is None:
                return
            if getattr(rs, attr) is not None:
                parser.error(
                    f"({vs.group_name or '(null)'}) {attr} script already specified - ignoring {words.arg(1)}"
                )
                return
            setattr(rs, attr, read_notify_script(parser, "notify"))

        return handler

    # -- checkers ----------------------------------------------------------------------------------------
    def start_checker(self, checker: Checker, parser: Parser, *, connects: bool = True) -> None:
        """keepalived's `queue_checker`: the connection starts as the real server's address."""
        self.checker = None
        if (rs := self.rs(parser)) is None:
            return
        if connects:
            checker.connection = Connection(rs.address.address, rs.address.port)
        rs.checkers.append(checker)
        self.checker = checker

    def drop_checker(self, parser: Parser) -> None:
        """keepalived's `dequeue_new_checker`."""
        if self.checker is not None and (rs := self.rs(parser)) is not None:
            rs.checkers.remove(self.checker)
        self.checker = None

    @staticmethod
    def checker_block(kind: Callable[[], Checker], *, connects: bool = True) -> _Method:
        def handler(reading: _CheckReading, parser: Parser, words: Words) -> None:
            reading.start_checker(kind(), parser, connects=connects)

        return handler

    def end_connecting(self, parser: Parser) -> None:
        """TCP_CHECK, PING_CHECK: the connection must be usable."""
        if (connection := self.connection(parser)) is not None and not check_connection(parser, connection):
            self.drop_checker(parser)

    def connect_ip(self, parser: Parser, words: Words) -> None:
        address = parse_ip(words.arg(1))
        if (connection := self.connection(parser)) is None:
            return
        if address is None:
            parser.error(f"Invalid connect_ip address {words[1]} - ignoring")
        elif connection.bind_address is not None and connection.bind_address.version != address.version:
            parser.error(f"connect_ip address {words[1]} does not match address family of bindto - skipping")
            connection.address = None
        else:
            connection.address = address

    def bindto(self, parser: Parser, words: Words) -> None:
        address = parse_ip(words.arg(1))
        if (connection := self.connection(parser)) is None:
            return
        if address is None:
            parser.error(f"Invalid bindto address {words[1]} - ignoring")
        elif connection.address is not None and connection.address.version != address.version:
            parser.error(f"bindto address {words[1]} does not match address family of connect_ip - skipping")
            connection.bind_address = None
        else:
            connection.bind_address = address

    def bind_if(self, parser: Parser, words: Words) -> None:
        name = words.arg(1)
        if (connection := self.connection(parser)) is None:
            return
        if len(name) > INTERFACE_NAME_MAX:
            parser.error(f"Interface name {words[1]} is too long - ignoring")
        else:
            connection.bind_interface = words[1]

    # -- MISC_CHECK --------------------------------------------------------------------------------------
    def misc_check(self, parser: Parser, words: Words) -> None:
        self.start_checker(MiscCheck(), parser, connects=False)
        self.misc_user_set = False

    def misc_path(self, parser: Parser, words: Words) -> None:
        if not isinstance(misc := self.checker, MiscCheck):
            return
        command = parser.command_words()
        args = command_args(parser, command[1]) if command and len(command) >= 2 else None
        if args is not None:
            if misc.script is None:
                misc.script = NotifyScript(args, 0, 0)
            else:
                misc.script.args = args

    def misc_timeout(self, parser: Parser, words: Words) -> None:
        if not isinstance(misc := self.checker, MiscCheck):
            return
        timeout = parser.read_unsigned(words.arg(1), 0, UINT_MAX // TIMER_HZ, lenient=True)
        if timeout is None:
            parser.error(f"Invalid misc_timeout value '{words[1]}'")
        else:
            misc.timeout_us = timeout * TIMER_HZ

    def misc_user(self, parser: Parser, words: Words) -> None:
        if not isinstance(misc := self.checker, MiscCheck):
            return
        if len(words) < 2:
            parser.error(f"No user specified for misc checker script {script_text(misc.script)}")
            return
        ids = resolve_user(parser, words[1], words[2] if len(words) > 2 else None)
        if ids is None:
            parser.error(
                f"Failed to set uid/gid for misc checker script {script_text(misc.script)} - removing"
            )
            self.drop_checker(parser)
            return
        if misc.script is None:
            misc.script = NotifyScript([], *ids)
        else:
            misc.script.uid, misc.script.gid = ids
        self.misc_user_set = True

    def misc_end(self, parser: Parser) -> None:
        if not isinstance(misc := self.checker, MiscCheck):
            return
        if misc.script is None or not misc.script.args:
            parser.error("No script path has been specified for MISC_CHECKER - skipping")
            self.drop_checker(parser)
            return
        if not self.misc_user_set:
            ids = parser.session.script_users.default(parser)
            if ids is None:
                parser.error(
                    f"Unable to set default user for misc script {script_text(misc.script)} - removing"
                )
                self.drop_checker(parser)
                return
            misc.script.uid, misc.script.gid = ids

    # -- SMTP_CHECK --------------------------------------------------------------------------------------
    def smtp_check(self, parser: Parser, words: Words) -> None:
        self.start_checker(SmtpCheck(connection=Connection(None)), parser, connects=False)
        self.smtp_hosts = []

    def helo_name(self, parser: Parser, words: Words) -> None:
        if not isinstance(smtp := self.checker, SmtpCheck):
            return
        if len(words) < 2:
            parser.error("SMTP_CHECK helo name missing")
        else:
            smtp.helo_name = words[1]

    def smtp_host(self, parser: Parser, words: Words) -> None:
        if (smtp := self.checker) is None or (rs := self.rs(parser)) is None:
            return
        self.smtp_own_connection = smtp.connection
        smtp.connection = Connection(rs.address.address, rs.address.port)

    def smtp_host_end(self, parser: Parser) -> None:
        if (smtp := self.checker) is None or smtp.connection is None:
            return
        if check_connection(parser, smtp.connection):
            self.smtp_hosts.append(smtp.connection)
        smtp.connection = self.smtp_own_connection

    def smtp_end(self, parser: Parser) -> None:
        """keepalived's `smtp_check_end_handler`: the checker's own connection, unless only host blocks
        give one; then a checker for each (other) host."""
        if not isinstance(smtp := self.checker, SmtpCheck) or (own := smtp.connection) is None:
            return
        vs, rs = self.vs(parser), self.rs(parser)
        if vs is None or rs is None:
            return
        hosts, self.smtp_hosts = self.smtp_hosts, []
        if hosts:
            parser.log("The SMTP_CHECK host block is deprecated. Please define additional checkers.")
        if own != Connection(None) or not hosts:
            if own.address is None:
                own.address = rs.address.address
            own.port = own.port or rs.address.port
            if not check_connection(parser, own):
                self.drop_checker(parser)
                return
        else:
            smtp.connection = hosts.pop(0)
        timeout = rs.connect_timeout_us if rs.connect_timeout_us is not None else vs.connect_timeout_us
        for connection in (smtp.connection, *hosts):
            assert connection is not None
            if connection.timeout_us is None:
                connection.timeout_us = timeout
        rs.checkers.extend(dataclasses.replace(smtp, connection=host) for host in hosts)

    # -- HTTP_GET / SSL_GET ------------------------------------------------------------------------------
    def nb_get_retry(self, parser: Parser, words: Words) -> None:
        if (checker := self.checker) is None:
            return
        parser.error("nb_get_retry is deprecated - please use 'retry'")
        retry = parser.read_unsigned(words.arg(1), 0, UINT_MAX, lenient=True)
        if retry is None:
            parser.error(f"Invalid nb_get_retry value '{words[1]}'")
        else:
            checker.retry = retry

    def http_protocol(self, parser: Parser, words: Words) -> None:
        if not isinstance(http := self.checker, HttpCheck):
            return
        if len(words) < 2:
            parser.error("Missing http_protocol version")
            return
        versions = {"1.0": "1.0", "1.1": "1.1", "1.0C": "1.0C", "1.0c": "1.0C"}
        if words[1] not in versions:
            parser.error(f"Invalid http_protocol version {words[1]}")
        else:
            http.http_protocol = versions[words[1]]

    def http_end(self, parser: Parser) -> None:
        if not isinstance(http := self.checker, HttpCheck):
            return
        if not http.urls:
            parser.error("HTTP/SSL_GET checker has no urls specified - ignoring")
            self.drop_checker(parser)
        else:
            self.end_connecting(parser)

    def url_start(self, parser: Parser, words: Words) -> None:
        if isinstance(http := self.checker, HttpCheck):
            http.urls.append(Url())
        self.regex_pattern, self.regex_options = None, set()

    def path(self, parser: Parser, words: Words) -> None:
        if (url := self.url(parser)) is not None:
            url.path = words.arg(1)

    def digest(self, parser: Parser, words: Words) -> None:
        if (url := self.url(parser)) is None:
            return
        text = words.arg(1)
        if url.digest is not None:
            parser.error(f"Digest '{text}' is a duplicate")
            return
        if len(text) != MD5_HEX_LENGTH:
            parser.error(
                f"digest '{text}' character length should be {MD5_HEX_LENGTH} rather than {len(text)}"
            )
            return
        digest = bytearray(MD5_HEX_LENGTH // 2)
        for i in reversed(range(len(digest))):
            parsed = strtol(text[2 * i : 2 * i + 2], 16, unsigned=True)
            if parsed.rest:
                # keepalived cuts the digest string as it goes, so the message shows it up to here
                parser.error(
                    f"Unable to interpret hex digit in '{text[: 2 * i + 2]}' at offset {2 * i}/{2 * i + 1}"
                )
                return
            digest[i] = parsed.value & 0xFF
        url.digest = bytes(digest)

    def status_code(self, parser: Parser, words: Words) -> None:
        if (url := self.url(parser)) is None:
            return
        for text in words[1:]:
            low = strtol(text, 10, unsigned=True)
            high = strtol(low.rest[1:], 10, unsigned=True) if low.rest.startswith("-") else low
            codes = range(low.value, high.value + 1)
            if high.rest or not (HTTP_STATUS_MIN <= low.value <= high.value <= HTTP_STATUS_MAX):
                parser.error(f"Invalid HTTP_GET status code '{text}'")
                continue
            url.status_codes.update(codes)

    def regex(self, parser: Parser, words: Words) -> None:
        command = parser.command_words()
        if command is None or len(command) != 2:
            parser.log("regex missing or too many fields")
            return
        self.regex_pattern = command[1]

    def regex_no_match(self, parser: Parser, words: Words) -> None:
        if (url := self.url(parser)) is not None:
            url.regex_no_match = True

    def regex_options_keyword(self, parser: Parser, words: Words) -> None:
        self.regex_options.update(w for w in words[1:] if w in REGEX_OPTIONS)

    @staticmethod
    def regex_offset(which: str) -> _Method:
        def handler(reading: _CheckReading, parser: Parser, words: Words) -> None:
            if (url := reading.url(parser)) is None:
                return
            if len(words) != 2:
                parser.log(f"Missing or too may options for regex_{which}_offset")
                return
            parsed = strtol(words[1], 10, unsigned=True)
            if parsed.rest:
                parser.log(f"Invalid regex_{which}_offset {words[1]} specified")
            elif which == "min":
                url.regex_min_offset = parsed.value
            else:
                url.regex_max_offset = parsed.value + 1

        return handler

    def regex_stack(self, parser: Parser, words: Words) -> None:
        if (url := self.url(parser)) is None:
            return
        if len(words) != 3:
            parser.log("regex_stack requires start and max values")
            return
        start, high = strtol(words[1], 10, unsigned=True), strtol(words[2], 10, unsigned=True)
        if start.rest:
            parser.log("regex_stack invalid start value")
        elif high.rest:
            parser.log("regex_stack invalid max value")
        elif start.value > high.value:
            parser.log("regex stack start cannot exceed max value")
        else:
            data = parser.config.checkers
            data.regex_stack_start = max(data.regex_stack_start, start.value)
            data.regex_stack_max = max(data.regex_stack_max, high.value)
            url.regex_use_stack = True

    def url_end(self, parser: Parser) -> None:
        """keepalived's `url_check`: a url needs a path; status codes default to 2xx; regex checks."""
        if not isinstance(http := self.checker, HttpCheck) or not http.urls:
            return
        url = http.urls[-1]
        if url.path is None:
            parser.error("HTTP/SSL_GET checker url has no path - ignoring")
            http.urls.pop()
            return
        if not url.status_codes:
            url.status_codes = set(HTTP_DEFAULT_STATUS_CODES)
        if self.regex_pattern is not None:
            regex = Regex(self.regex_pattern, frozenset(self.regex_options))
            error = regex_error(regex)
            if error is None:
                url.regex = regex
            else:
                parser.log(f"Invalid regex: '{regex.pattern}' at offset {error[0]}: {error[1]}")
        elif (
            self.regex_options
            or url.regex_no_match
            or url.regex_min_offset
            or url.regex_max_offset
            or url.regex_use_stack
        ):
            parser.log("regex parameters specified without regex")
            url.regex_no_match, url.regex_use_stack = False, False
            url.regex_min_offset = url.regex_max_offset = 0
        if url.regex_max_offset and url.regex_min_offset >= url.regex_max_offset:
            parser.log(
                f"regex min offset {url.regex_min_offset} > regex_max_offset {url.regex_max_offset - 1} "
                "- ignoring"
            )
            url.regex_min_offset = url.regex_max_offset = 0
        self.regex_pattern, self.regex_options = None, set()

    # -- DNS_CHECK ---------------------------------------------------------------------------------------
    def dns_check(self, parser: Parser, words: Words) -> None:
        self.start_checker(DnsCheck(), parser)
        self.dns_named = False

    def dns_type(self, parser: Parser, words: Words) -> None:
        if not isinstance(dns := self.checker, DnsCheck):
            return
        label = words.arg(1)
        match = next((t for t in DNS_TYPES if t.lower() == label.lower()), None)
        if match is None:
            parser.error(f"Unknown DNS check type {label} - ignoring")
        else:
            dns.type = match

    def dns_name(self, parser: Parser, words: Words) -> None:
        if not isinstance(dns := self.checker, DnsCheck):
            return
        if self.dns_named:
            parser.error("DNS_CHECK name already specified - ignoring")
            return
        name = words.arg(1)
        if (name.startswith(".") and name != ".") or ".." in name:
            parser.error(f"DNS_CHECK name '{name}' has empty label - ignoring")
            return
        dns.name = name
        self.dns_named = True

    # -- UDP_CHECK ---------------------------------------------------------------------------------------
    def payload(self, parser: Parser, words: Words) -> None:
        if not isinstance(udp := self.checker, UdpCheck):
            return
        if len(words) == 1:
            parser.error("UDP_CHECK payload requires a payload")
            return
        read = read_hex_string(" ".join(words[1:]), wildcard=False)
        udp.payload = read[0] if read else None
        if read is None:
            parser.error("Invalid hex string for UDP_CHECK payload")

    def require_reply(self, parser: Parser, words: Words) -> None:
        if not isinstance(udp := self.checker, UdpCheck):
            return
        udp.require_reply = True
        if len(words) == 1:
            return
        read = read_hex_string(" ".join(words[1:]), wildcard=True)
        udp.reply, udp.reply_mask = read or (None, None)
        if read is None:
            parser.error("Invalid hex string for UDP_CHECK reply")

    def udp_end(self, parser: Parser) -> None:
        if not isinstance(udp := self.checker, UdpCheck):
            return
        self.end_connecting(parser)
        if self.checker is not None and udp.min_reply_length > udp.max_reply_length:
            parser.error(
                f"UDP_CHECK min_reply length {udp.min_reply_length} > max_reply_length "
                f"{udp.max_reply_length} - will always fail"
            )

    # -- FILE_CHECK --------------------------------------------------------------------------------------
    def file_check(self, parser: Parser, words: Words) -> None:
        self.file_check_block = None
        if (rs := self.rs(parser)) is not None:
            self.file_check_block = FileCheck("")
            rs.file_checks.append(self.file_check_block)

    def track_file(self, parser: Parser, words: Words) -> None:
        if (check := self.file_check_block) is None:
            return
        name = words.arg(1)
        if not any(f.name == name for f in parser.config.vrrp.track_files):
            parser.error(f"track_file {name} not found")
            return
        check.track_file = name

    def file_weight(self, parser: Parser, words: Words) -> None:
        if (check := self.file_check_block) is None:
            return
        if len(words) < 2:
            parser.error("track file weight missing")
            return
        weight = parser.read_int(words[1], -IPVS_WEIGHT_MAX, IPVS_WEIGHT_MAX, lenient=True)
        if weight is None:
            parser.error(
                f"weight for track file must be in [{-IPVS_WEIGHT_MAX}..{IPVS_WEIGHT_MAX}] inclusive. "
                "Ignoring..."
            )
            return
        reverse = False
        if len(words) >= 3:
            if words[2] not in ("reverse", "noreverse"):
                parser.error(f"unknown track file weight option {words[2]} - ignoring")
                return
            reverse = words[2] == "reverse"
        check.weight, check.reverse = weight, reverse

    def file_end(self, parser: Parser) -> None:
        if (check := self.file_check_block) is None:
            return
        self.file_check_block = None
        track_file = next((f for f in parser.config.vrrp.track_files if f.name == check.track_file), None)
        if track_file is None:
            parser.error("FILE_CHECK has no track_file specified - ignoring")
            if (rs := self.rs(parser)) is not None:
                rs.file_checks.remove(check)
        elif check.weight is None:
            check.weight, check.reverse = track_file.weight, track_file.weight_reverse

    # -- BFD_CHECK ---------------------------------------------------------------------------------------
    def bfd_name(self, parser: Parser, words: Words) -> None:
        vs, rs = self.vs(parser), self.rs(parser)
        if not isinstance(bfd := self.checker, BfdCheck) or vs is None or rs is None:
            return
        server = vs.server_name(rs)
        name = words[1] if len(words) >= 2 else ""
        monitored = [c.bfd for c in rs.checkers if isinstance(c, BfdCheck) and c is not bfd]
        if len(words) != 2:
            parser.error(f"({server}) BFD_CHECK - No or too many names specified - skipping checker")
        elif name not in parser.config.checkers.tracked_bfds:
            parser.error(f"({server}) BFD_CHECK - BFD {name} not configured")
        elif bfd.bfd:
            parser.error(f"({server}) BFD_CHECK - BFD {name} already specified as {bfd.bfd}")
        elif len(name) > BFD_NAME_MAX:
            parser.error(f"({server}) BFD_CHECK - BFD name {name} too long")
        elif name in monitored:
            parser.error(f"({server}) BFD_CHECK - RS already monitoring {name}")
        else:
            bfd.bfd = name
            return
        self.drop_checker(parser)

    def bfd_end(self, parser: Parser) -> None:
        vs, rs = self.vs(parser), self.rs(parser)
        if not isinstance(bfd := self.checker, BfdCheck) or vs is None or rs is None:
            return
        if not bfd.bfd:
            parser.error(f"({vs.server_name(rs)}) No name has been specified for BFD_CHECKER - skipping")
            self.drop_checker(parser)

    # -- same-shaped keywords ----------------------------------------------------------------------------
    # The value is checked even where there is nothing to set (a refused server, a dropped checker), as
    # keepalived checks it before setting it on whatever it then finds.
    def current(self, parser: Parser) -> Checker | None:
        return self.checker

    @staticmethod
    def timer(target: Target, attr: str, low: int, high: int, message: str) -> Handler:
        """A duration in seconds (microsecond resolution); `high` 0: no limit. `{}` in `message` is the
        value given."""

        def handler(parser: Parser, words: Words) -> None:
            value = parser.read_timer(words.arg(1), low, high, lenient=True)
            if value is None:
                parser.error(message.format(words[1]))
            elif (obj := target(parser)) is not None:
                setattr(obj, attr, value)

        return handler

    @staticmethod
    def unsigned(target: Target, attr: str, low: int, high: int, message: str, *, lenient: bool) -> Handler:
        def handler(parser: Parser, words: Words) -> None:
            value = parser.read_unsigned(words.arg(1), low, high, lenient=lenient)
            if value is None:
                parser.error(message.format(words[1]))
            elif (obj := target(parser)) is not None:
                setattr(obj, attr, value)

        return handler

    @staticmethod
    def boolean(target: Target, attr: str, message: str) -> Handler:
        """`KEYWORD [true|false|on|off|yes|no]`: on when no value is given."""

        def handler(parser: Parser, words: Words) -> None:
            value = parser.true_false(words[1]) if len(words) >= 2 else True
            if value is None:
                parser.error(message.format(words[1]))
            elif (obj := target(parser)) is not None:
                setattr(obj, attr, value)

        return handler

    @staticmethod
    def switch(target: Target, attr: str) -> Handler:
        """A keyword that turns something on and takes no value."""

        def handler(parser: Parser, words: Words) -> None:
            if (obj := target(parser)) is not None:
                setattr(obj, attr, True)

        return handler


Target = Callable[[Parser], object | None]
_Method = Callable[[_CheckReading, Parser, Words], None]


def _table(*keywords: Keyword) -> KeywordTable:
    table = KeywordTable()
    for keyword in keywords:
        table.add(keyword)
    return table


def _checker_common(*, connection: bool) -> list[Keyword]:
    """keepalived's `install_checker_common_keywords`."""
    r, on = _CheckReading, _CheckReading.bind
    checker, co = on(r.current), on(r.connection)
    connection_keywords = [
        Keyword("connect_ip", on(r.connect_ip)),
        Keyword(
            "connect_port",
            r.unsigned(co, "port", 1, 65535, "Invalid checker connect_port '{}'", lenient=True),
        ),
        Keyword("bindto", on(r.bindto)),
        Keyword(
            "bind_port",
            r.unsigned(co, "bind_port", 1, 65535, "Invalid checker bind_port '{}'", lenient=True),
        ),
        Keyword("bind_if", on(r.bind_if)),
        Keyword(
            "connect_timeout",
            r.timer(co, "timeout_us", 1, UINT_MAX, "connect_timeout {} invalid - ignoring"),
        ),
        Keyword(
            "fwmark",
            r.unsigned(co, "fwmark", 0, UINT_MAX, "Invalid fwmark connection value '{}'", lenient=True),
        ),
    ]
    return [
        *(connection_keywords if connection else []),
        Keyword(
            "retry",
            r.unsigned(checker, "retry", 0, UINT_MAX, "Invalid retry connection value '{}'", lenient=True),
        ),
        Keyword(
            "delay_before_retry",
            r.timer(
                checker, "delay_before_retry_us", 0, 0, "Invalid delay_before_retry connection value '{}'"
            ),
        ),
        Keyword("warmup", r.timer(checker, "warmup_us", 0, 0, "Invalid warmup connection value '{}'")),
        Keyword(
            "delay_loop",
            r.timer(checker, "delay_loop_us", 1, 0, "delay_loop '{}' is invalid - ignoring"),
        ),
        Keyword("alpha", r.boolean(checker, "alpha", "Invalid alpha parameter {}")),
        Keyword(
            "log_all_failures",
            r.boolean(checker, "log_all_failures", "Invalid log_all_failures parameter {}"),
        ),
    ]


def _checkers() -> list[Keyword]:
    """keepalived's `install_checkers_keyword`: the checker blocks of a real server."""
    r, on = _CheckReading, _CheckReading.bind
    http = on(r.of(HttpCheck))
    url_keywords = _table(
        Keyword("path", on(r.path)),
        Keyword("digest", on(r.digest)),
        Keyword("status_code", on(r.status_code)),
        Keyword("virtualhost", r.virtualhost(on(r.url), "Missing HTTP_GET virtualhost name")),
        Keyword("regex", on(r.regex)),
        Keyword("regex_no_match", on(r.regex_no_match)),
        Keyword("regex_options", on(r.regex_options_keyword)),
        Keyword("regex_min_offset", on(r.regex_offset("min"))),
        Keyword("regex_max_offset", on(r.regex_offset("max"))),
        Keyword("regex_stack", on(r.regex_stack)),
    )
    http_keywords = _table(
        *_checker_common(connection=True),
        Keyword("nb_get_retry", on(r.nb_get_retry)),
        Keyword("virtualhost", r.virtualhost(http, "HTTP_GET virtualhost name missing")),
        Keyword("http_protocol", on(r.http_protocol)),
        Keyword("enable_sni", r.boolean(http, "enable_sni", "Invalid enable_sni parameter {}")),
        Keyword("fast_recovery", r.boolean(http, "fast_recovery", "Invalid fast_recovery parameter {}")),
        Keyword("url", on(r.url_start), sub=url_keywords, close=on(r.url_end)),
    )
    misc = on(r.of(MiscCheck))
    udp = on(r.of(UdpCheck))
    return [
        Keyword(
            "MISC_CHECK",
            on(r.misc_check),
            sub=_table(
                *_checker_common(connection=False),
                Keyword("misc_path", on(r.misc_path)),
                Keyword("misc_timeout", on(r.misc_timeout)),
                Keyword("misc_dynamic", r.switch(misc, "dynamic")),
                Keyword("user", on(r.misc_user)),
            ),
            close=on(r.misc_end),
        ),
        Keyword(
            "SMTP_CHECK",
            on(r.smtp_check),
            sub=_table(
                Keyword("helo_name", on(r.helo_name)),
                *_checker_common(connection=True),
                Keyword(
                    "host",
                    on(r.smtp_host),
                    sub=_table(*_checker_common(connection=True)),
                    close=on(r.smtp_host_end),
                ),
            ),
            close=on(r.smtp_end),
        ),
        Keyword(
            "TCP_CHECK",
            on(r.checker_block(TcpCheck)),
            sub=_table(*_checker_common(connection=True)),
            close=on(r.end_connecting),
        ),
        Keyword(
            "PING_CHECK",
            on(r.checker_block(PingCheck)),
            sub=_table(*_checker_common(connection=True)),
            close=on(r.end_connecting),
        ),
        Keyword(
            "UDP_CHECK",
            on(r.checker_block(UdpCheck)),
            sub=_table(
                *_checker_common(connection=True),
                Keyword("payload", on(r.payload)),
                Keyword("require_reply", on(r.require_reply)),
                Keyword(
                    "min_reply_length",
                    r.unsigned(
                        udp,
                        "min_reply_length",
                        0,
                        UINT16_MAX,
                        f"UDP_CHECK min length {{}} not valid - must be between 0 & {UINT16_MAX}",
                        lenient=False,
                    ),
                ),
                Keyword(
                    "max_reply_length",
                    r.unsigned(
                        udp,
                        "max_reply_length",
                        0,
                        UINT16_MAX,
                        f"UDP_CHECK max length {{}} not valid - must be between 0 & {UINT16_MAX}",
                        lenient=False,
                    ),
                ),
            ),
            close=on(r.udp_end),
        ),
        Keyword("HTTP_GET", on(r.checker_block(HttpCheck)), sub=http_keywords, close=on(r.http_end)),
        Keyword(
            "SSL_GET",
            on(r.checker_block(lambda: HttpCheck(ssl=True))),
            sub=http_keywords,
            close=on(r.http_end),
        ),
        Keyword(
            "DNS_CHECK",
            on(r.dns_check),
            sub=_table(
                *_checker_common(connection=True),
                Keyword("type", on(r.dns_type)),
                Keyword("name", on(r.dns_name)),
            ),
            close=on(r.end_connecting),
        ),
        Keyword(
            "FILE_CHECK",
            on(r.file_check),
            sub=_table(Keyword("track_file", on(r.track_file)), Keyword("weight", on(r.file_weight))),
            close=on(r.file_end),
        ),
        Keyword(
            "BFD_CHECK",
            on(r.checker_block(BfdCheck, connects=False)),
            sub=_table(
                Keyword("name", on(r.bfd_name)),
                Keyword("alpha", r.boolean(on(r.of(BfdCheck)), "alpha", "Invalid alpha parameter {}")),
            ),
            close=on(r.bfd_end),
        ),
    ]


def roots() -> list[Keyword]:
    r, on = _CheckReading, _CheckReading.bind
    vs, rs = on(r.vs), on(r.rs)
    weight_max = IPVS_WEIGHT_MAX
    real_server = _table(
        Keyword(
            "weight",
            r.unsigned(
                rs,
                "weight",
                0,
                weight_max,
                f"Real server weight {{}} is outside range 0-{weight_max}",
                lenient=True,
            ),
        ),
        Keyword("lvs_method", on(r.rs_forwarding)),
        Keyword(
            "uthreshold",
            r.unsigned(
                rs,
                "upper_threshold",
                0,
                UINT_MAX,
                "Invalid real_server uthreshold '{}' - ignoring",
                lenient=True,
            ),
        ),
        Keyword(
            "lthreshold",
            r.unsigned(
                rs,
                "lower_threshold",
                0,
                UINT_MAX,
                "Invalid real_server lthreshold '{}' - ignoring",
                lenient=True,
            ),
        ),
        Keyword(
            "inhibit_on_failure",
            r.boolean(rs, "inhibit_on_failure", "Invalid inhibit_on_failure parameter {}"),
        ),
        Keyword("notify_up", on(r.notify_script("notify_up"))),
        Keyword("notify_down", on(r.notify_script("notify_down"))),
        Keyword("alpha", r.boolean(rs, "alpha", "Invalid alpha parameter {}")),
        Keyword("retry", r.unsigned(rs, "retry", 1, UINT_MAX, "retry value invalid - {}", lenient=False)),
        Keyword(
            "delay_before_retry",
            r.timer(
                rs, "delay_before_retry_us", 0, 0, "real server delay_before_retry '{}' invalid - ignoring"
            ),
        ),
        Keyword("warmup", r.timer(rs, "warmup_us", 0, 0, "real server warmup '{}' invalid - ignoring")),
        Keyword(
            "connect_timeout",
            r.timer(
                rs, "connect_timeout_us", 1, UINT_MAX, "real server connect_timeout {} invalid - ignoring"
            ),
        ),
        Keyword(
            "delay_loop", r.timer(rs, "delay_loop_us", 1, 0, "real server delay_loop '{}' invalid - ignoring")
        ),
        Keyword("smtp_alert", r.boolean(rs, "smtp_alert", "Invalid real_server smtp_alert parameter {}")),
        Keyword("virtualhost", r.virtualhost(rs, "real server virtualhost missing")),
        Keyword("snmp_name", r.snmp_name(rs, "real")),
        *_checkers(),
    )
    virtual_server = _table(
        Keyword("ip_family", on(r.ip_family)),
        Keyword("retry", r.unsigned(vs, "retry", 1, UINT_MAX, "retry value invalid - {}", lenient=False)),
        Keyword(
            "delay_before_retry",
            r.timer(
                vs, "delay_before_retry_us", 0, 0, "virtual server delay before retry '{}' invalid - ignoring"
            ),
        ),
        Keyword("warmup", r.timer(vs, "warmup_us", 0, 0, "virtual server warmup '{}' invalid - ignoring")),
        Keyword(
            "connect_timeout",
            r.timer(
                vs, "connect_timeout_us", 1, UINT_MAX, "virtual server connect_timeout {} invalid - ignoring"
            ),
        ),
        Keyword(
            "delay_loop",
            r.timer(vs, "delay_loop_us", 1, 0, "virtual server delay loop '{}' invalid - ignoring"),
        ),
        Keyword("inhibit_on_failure", r.switch(vs, "inhibit_on_failure")),
        Keyword("lb_algo", on(r.scheduler)),
        Keyword("lvs_sched", on(r.scheduler)),
        *(Keyword(flag, on(r.service_flag)) for flag in SERVICE_FLAG_KEYWORDS),
        Keyword("lb_kind", on(r.vs_forwarding)),
        Keyword("lvs_method", on(r.vs_forwarding)),
        Keyword("persistence_engine", on(r.persistence_engine)),
        Keyword("persistence_timeout", on(r.persistence_timeout)),
        Keyword("persistence_granularity", on(r.persistence_granularity)),
        Keyword("protocol", on(r.protocol)),
        Keyword("ha_suspend", r.switch(vs, "ha_suspend")),
        Keyword("smtp_alert", r.boolean(vs, "smtp_alert", "Invalid virtual_server smtp_alert parameter {}")),
        Keyword("virtualhost", r.virtualhost(vs, "virtual server virtualhost missing")),
        Keyword("snmp_name", r.snmp_name(vs, "virtual")),
        Keyword("alpha", r.switch(vs, "alpha")),
        Keyword("omega", r.switch(vs, "omega")),
        Keyword("quorum_up", on(r.quorum_script("quorum_up"))),
        Keyword("quorum_down", on(r.quorum_script("quorum_down"))),
        Keyword("quorum", on(r.quorum)),
        Keyword(
            "hysteresis",
            r.unsigned(
                vs,
                "hysteresis",
                0,
                UINT_MAX,
                f"Hysteresis {{}} must be in [0, {UINT_MAX}] - ignoring",
                lenient=True,
            ),
        ),
        Keyword(
            "weight",
            r.unsigned(
                vs,
                "weight",
                1,
                weight_max,
                f"Virtual server weight {{}} is outside range 1-{weight_max}",
                lenient=True,
            ),
        ),
        Keyword("sorry_server", on(r.sorry_server)),
        Keyword("sorry_server_inhibit", on(r.sorry_server_inhibit)),
        Keyword("sorry_server_lvs_method", on(r.sorry_forwarding)),
        Keyword("real_server", on(r.real_server), sub=real_server, close=on(r.real_server_end)),
    )
    ssl = _table(
        Keyword("password", r.ssl_file("password", "password")),
        Keyword("ca", r.ssl_file("ca", "cafile")),
        Keyword("certificate", r.ssl_file("certificate", "certfile")),
        Keyword("key", r.ssl_file("key", "keyfile")),
    )
    return [
        Keyword("SSL", r.ssl, sub=ssl),
        Keyword("virtual_server_group", r.group),
        Keyword("virtual_server", on(r.virtual_server), sub=virtual_server, close=on(r.virtual_server_end)),
    ]
