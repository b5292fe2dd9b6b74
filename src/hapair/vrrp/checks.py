"""The receive-side validation of a VRRP advert over IPv4 or IPv6: keepalived 2.2.7's vrrp_check_packet
(vrrp.c), check by check in its order, the first failure winning. Pure: the instance's side comes in as an
`Expectation`, the verdict goes out as a `Rejection` (or None) for the caller to log and count.

What the dispatcher (vrrp_scheduler.c vrrp_dispatcher_read) does before this stays with the caller:
`decode_ipv4` (`decode_ipv6`) raises PacketTooShort where it gives up on the header, an unknown VRID is
ignored, and packets for an instance in FAULT or INIT state are dropped unread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv4Address, IPv6Address
from typing import NamedTuple

from ..config.keepalived.model.vrrp import ChecksumCompat
from .ipsec_ah import host_order, integrity_check_value, read_header
from .packet import (
    ADVERTISEMENT,
    AH_HEADER_LEN,
    AUTH_AH,
    AUTH_DATA_LEN,
    AUTH_NONE,
    AUTH_PASS,
    SECOND_US,
    VRRP_GROUP,
    VRRP_HEADER_LEN,
    VRRP_PROTOCOL,
    VRRP_TTL,
    ChecksumForm,
    ReceivedPacket,
    checksum_matches,
)
from .packet6 import NO_HOP_LIMIT

OLD_CHECKSUM_NOTICE = "Setting unicast VRRPv3 checksum to old version"


class Disposition(Enum):
    """keepalived's two ways of refusing a packet (both leave the timers running)."""

    KO = "invalid packet"  # VRRP_PACKET_KO
    DROP = "not for us"  # VRRP_PACKET_DROP


@dataclass(frozen=True)
class Rejection:
    """Why keepalived ignores a packet: its log text without the `(VI_1) ` prefix (None when it logs
    nothing) and the Stats counter it increments (None when it counts nothing). `advert_counted`: the
    packet got as far as counting `advert_rcvd` before it failed (the address checks). `names_instance`:
    keepalived starts the line with the instance's name (all but its line for an AH header's SPI)."""

    message: str | None
    counter: str | None
    disposition: Disposition = Disposition.KO
    advert_counted: bool = False
    names_instance: bool = True


class Peer(NamedTuple):
    """A unicast peer and the TTL range accepted from it."""

    address: IPv4Address | IPv6Address
    min_ttl: int = 0
    max_ttl: int = 255


@dataclass(frozen=True)
class Expectation:
    """What the receiving instance expects. `check_addresses` is the caller's decision (keepalived: always
    in MASTER; in BACKUP unless skip_check_adv_addr is set and the advert comes from the current master).
    `check_unicast_src` is the instance's flag or global_defs' vrrp_check_unicast_src (min_ttl/max_ttl on
    a peer set it too). `group` is global_defs' vrrp_mcast_group4, the old unicast checksum's
    pseudo-header destination. `accept_rfc9568_checksum` accepts a VRRPv3 checksum without the IPv4
    pseudo-header (RFC 9568 section 5.2.8), which keepalived 2.2.7 refuses: off, as in keepalived.
    `family` is the instance's: over IPv6 the packet is the VRRP message alone, with 16-byte addresses, and
    its checksum was verified by the kernel (IPV6_CHECKSUM), as keepalived leaves it to the kernel.
    `ah_sequence` is the instance's AH sequence counter (ipsec_ah.SequenceCounter): an AH advert must
    carry a higher number."""

    version: int
    auth_type: int
    auth_data: bytes
    advert_int_us: int
    vips: tuple[IPv4Address, ...] | tuple[IPv6Address, ...]
    check_addresses: bool
    unicast: bool = False
    unicast_peers: tuple[Peer, ...] = ()
    check_unicast_src: bool = False
    unicast_checksum_compat: ChecksumCompat = ChecksumCompat.NONE
    group: IPv4Address = VRRP_GROUP
    accept_rfc9568_checksum: bool = False
    family: int = 4
    ah_sequence: int = 0


Check = Callable[[ReceivedPacket, Expectation], Rejection | None]


def check_advert(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    """None when keepalived accepts the packet (the caller then counts `advert_rcvd`, and `pri_zero_rcvd`
    for priority 0), else the first check that fails. A unicast VRRPv3 packet in the old checksum form
    is accepted while the instance's compat mode is NONE; see `adopts_old_checksum`."""
    for check in (*_BEFORE_COUNTING, *_AFTER_COUNTING):
        rejection = check(packet, expected)
        if rejection is not None:
            return rejection
    return None


def adopts_old_checksum(packet: ReceivedPacket, expected: Expectation) -> bool:
    """Whether keepalived switches the instance to the old unicast checksum on this packet: it logs
    OLD_CHECKSUM_NOTICE, sets the compat mode to AUTO and from then on sends the old form. This happens
    when the checks before the checksum pass, whatever the checks after it say."""
    if not _switches_to_old_form(packet, expected):
        return False
    return all(check(packet, expected) is None for check in _BEFORE_CHECKSUM)


def authenticated_sequence(packet: ReceivedPacket, expected: Expectation) -> int | None:
    """The AH sequence number the instance takes from this packet (keepalived's vrrp_in_chk_ipsecah sets
    its counter as soon as the ICV, the SPI and the number are right, whatever the checks after it say),
    None when the packet does not get that far or the instance does not use AH."""
    if expected.auth_type != AUTH_AH or not packet.has_ah:
        return None
    if any(check(packet, expected) is not None for check in _THROUGH_AH):
        return None
    return read_header(packet).sequence


def _ah_header(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    if expected.family == 6 or packet.has_ah == (expected.auth_type == AUTH_AH):
        return None
    if packet.has_ah:
        return Rejection("Received AH header but auth type not AH", "authtype_mismatch")
    return Rejection("No AH header but auth type is AH", "authtype_mismatch")


def _length(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    if expected.family == 6:
        expected_length = VRRP_HEADER_LEN + 16 * packet.count
    else:
        expected_length = packet.header_length + VRRP_HEADER_LEN + 4 * packet.count
        if expected.auth_type == AUTH_AH:
            expected_length += AH_HEADER_LEN
        if packet.version == 2:
            expected_length += AUTH_DATA_LEN
    if packet.length == expected_length:
        return None
    longer = "long" if packet.length > expected_length else "short"
    return Rejection(
        f"vrrp packet too {longer}, length {packet.length} and expect {expected_length}", "packet_len_err"
    )


def _multicast_ttl(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    if expected.unicast or packet.ttl in (VRRP_TTL, NO_HOP_LIMIT):
        return None
    return Rejection(f"invalid TTL/HL. Received {packet.ttl} and expect {VRRP_TTL}", "ip_ttl_err")


def _version(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    if packet.version == expected.version:
        return None
    return Rejection(f"wrong version. Received {packet.version} and expect {expected.version}", "vers_err")


def _v2_auth_type_known(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    if expected.version != 2 or packet.auth_type in (AUTH_NONE, AUTH_PASS, AUTH_AH):
        return None
    return Rejection(f"Invalid auth type: {packet.auth_type}", "invalid_authtype")


def _v2_auth_type_ours(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    if expected.version != 2 or packet.auth_type == expected.auth_type:
        return None
    return Rejection(
        f"received a {packet.auth_type} auth, expecting {expected.auth_type}!", "authtype_mismatch"
    )


def _v2_password(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    if expected.version != 2 or expected.auth_type != AUTH_PASS:
        return None
    # keepalived reads the password as the last 8 bytes the IP header's total length covers
    end = packet.total_length
    received = packet.data[end - AUTH_DATA_LEN : end] if AUTH_DATA_LEN <= end <= packet.length else b""
    import hmac  # noqa: PLC0415  (with hashlib and OpenSSL's libcrypto, 3 MB: only when authenticating)

    if hmac.compare_digest(received, expected.auth_data):
        return None
    return Rejection("received an invalid passwd!", "auth_failure")


def _v2_ah(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    """keepalived's vrrp_in_chk_ipsecah: an AH header for another protocol is dropped silently; then the
    ICV, the SPI (the source address) and the sequence number (above the instance's counter), in order."""
    if expected.version != 2 or expected.auth_type != AUTH_AH:
        return None
    if packet.ah_next_header != VRRP_PROTOCOL:
        return Rejection(None, None, Disposition.DROP)
    header = read_header(packet)
    icv = integrity_check_value(
        packet.data, packet.header_length, expected.auth_data, unicast=expected.unicast
    )
    import hmac  # noqa: PLC0415  (with hashlib and OpenSSL's libcrypto, 3 MB: only when authenticating)

    if not hmac.compare_digest(header.icv, icv):
        return Rejection(
            "IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !",
            "auth_failure",
        )
    source = int(packet.source)
    if header.spi != source:
        return Rejection(
            f"IPSEC AH : invalid IPSEC SPI value. {host_order(source)} and expect {host_order(header.spi)}",
            "auth_failure",
            names_instance=False,
        )
    if header.sequence > expected.ah_sequence:
        return None
    return Rejection(
        f"IPSEC-AH : sequence number {header.sequence} already processed. Packet dropped."
        f" Local({expected.ah_sequence})",
        "auth_failure",
    )


def _v2_interval(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    received_seconds = packet.advert_field & 0xFF
    if expected.version != 2 or expected.advert_int_us == received_seconds * SECOND_US:
        return None
    mine = expected.advert_int_us // SECOND_US
    return Rejection(
        f"advertisement interval mismatch mine={mine} sec rcv'd={received_seconds} sec",
        None,
        Disposition.DROP,
    )


def _type(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    if packet.type == ADVERTISEMENT:
        return None
    return Rejection(f"Invalid packet type. {packet.type} and expect {ADVERTISEMENT}", "invalid_type_rcvd")


def _address_count(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    if not expected.check_addresses or packet.count == len(expected.vips):
        return None
    return Rejection(
        f"received an unexpected ip number count {packet.count}, expected {len(expected.vips)}!",
        "addr_list_err",
    )


def _total_length(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    if expected.family == 6 or packet.total_length == packet.length:
        return None
    return Rejection(
        f"ip_tot_len mismatch against received length. {packet.total_length} and received {packet.length}",
        "packet_len_err",
    )


def _checksum(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    if expected.family == 6:
        return None  # the kernel dropped the packet if its checksum was wrong
    if expected.version == 2:
        if checksum_matches(packet, ChecksumForm.VRRPV2):
            return None
        return Rejection("Invalid VRRPv2 checksum", "chk_err")
    if (
        checksum_matches(packet, _v3_form(expected), group=expected.group)
        or _switches_to_old_form(packet, expected)
        or (expected.accept_rfc9568_checksum and checksum_matches(packet, ChecksumForm.MESSAGE_ONLY))
    ):
        return None
    return Rejection("Invalid VRRPv3 checksum", "chk_err")


def _v3_form(expected: Expectation) -> ChecksumForm:
    """The form keepalived checks first: with the old form configured or adopted, the pseudo-header
    carries the multicast group instead of the packet's destination."""
    if expected.unicast_checksum_compat in (ChecksumCompat.NONE, ChecksumCompat.NEVER):
        return ChecksumForm.PSEUDO_HEADER
    return ChecksumForm.OLD_UNICAST


def _switches_to_old_form(packet: ReceivedPacket, expected: Expectation) -> bool:
    return (
        expected.family == 4
        and expected.version == 3
        and expected.unicast
        and expected.unicast_checksum_compat == ChecksumCompat.NONE
        and packet.destination != expected.group
        and not checksum_matches(packet, ChecksumForm.PSEUDO_HEADER)
        and checksum_matches(packet, ChecksumForm.OLD_UNICAST, group=expected.group)
    )


def _cast(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    if packet.destination.is_multicast != expected.unicast:
        return None
    wanted, received = ("un", "mult") if expected.unicast else ("mult", "un")
    return Rejection(f"Expected {wanted}icast packet but received {received}icast packet", "addr_list_err")


def _vips_present(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    if not expected.check_addresses:
        return None
    missing = next((vip for vip in expected.vips if vip not in packet.addresses), None)
    if missing is None:
        return None
    return Rejection(
        f"ip address associated with VRID {packet.vrid} not present in MASTER advert: {missing}",
        "addr_list_err",
        advert_counted=True,
    )


def _unicast_source(packet: ReceivedPacket, expected: Expectation) -> Rejection | None:
    if not (expected.check_addresses and expected.unicast and expected.check_unicast_src):
        return None
    peer = next((Peer(*peer) for peer in expected.unicast_peers if peer[0] == packet.source), None)
    if peer is None:
        return Rejection(
            f"unicast source address {packet.source} not a unicast peer", None, advert_counted=True
        )
    if peer.min_ttl <= packet.ttl <= peer.max_ttl:
        return None
    return Rejection(
        f"TTL/HL {packet.ttl} not in range {peer.min_ttl} - {peer.max_ttl}", "ip_ttl_err", advert_counted=True
    )


_THROUGH_AH: tuple[Check, ...] = (
    _ah_header,
    _length,
    _multicast_ttl,
    _version,
    _v2_auth_type_known,
    _v2_auth_type_ours,
    _v2_password,
    _v2_ah,
)
_BEFORE_CHECKSUM: tuple[Check, ...] = (
    *_THROUGH_AH,
    _v2_interval,
    _type,
    _address_count,
    _total_length,
)
_BEFORE_COUNTING: tuple[Check, ...] = (*_BEFORE_CHECKSUM, _checksum, _cast)
_AFTER_COUNTING: tuple[Check, ...] = (_vips_present, _unicast_source)
