"""VRRP advertisements over IPv4, as keepalived 2.2.7 puts them on the wire and reads them back.

`encode_ipv4` builds the whole IPv4 packet keepalived sends through its IP_HDRINCL socket (vrrp.c
vrrp_build_ip4 / vrrp_build_vrrp / vrrp_update_pkt): VRRPv2 (RFC 3768, the 8 authentication bytes
always present) or VRRPv3 (RFC 5798). `decode_ipv4` reads a received packet into a `ReceivedPacket`,
keeping the fields as they came so that `checks.check_advert` can judge them the way keepalived does.

Checksums of VRRPv3 over IPv4 come in three forms (`ChecksumForm`):

* `PSEUDO_HEADER`, RFC 5798 as keepalived (and Wireshark, FRR before 2022) reads it: the IPv4
  pseudo-header (source, destination, 0, 112, VRRP length) followed by the VRRP message. keepalived
  2.2.7 sends this, with the packet's real destination.
* `OLD_UNICAST`, what keepalived up to 1.3.5 sent to unicast peers: the same sum, but with the
  multicast group (224.0.0.18) as the pseudo-header destination. keepalived 2.2.7 accepts it from a
  unicast peer and then switches its own adverts to it (`old_unicast_checksum`, issue #642).
* `MESSAGE_ONLY`, RFC 9568 section 5.2.8: "For the IPv4 address family, the checksum calculation only
  includes the VRRP message starting with the Version field and ending after the last IPv4 address" -
  the VRRPv2 way, and what Cisco always did. keepalived 2.2.7 rejects it (`Invalid VRRPv3 checksum`);
  keepalived 2.2.8 added `v3_checksum_as_v2` to send it. `checksum_form` recognises it so that an
  instance may opt in to accepting it (`checks.Expectation.accept_rfc9568_checksum`).

VRRPv2 has one form, `VRRPV2`: the message including the authentication bytes, no pseudo-header.

A VRRPv2 advert with `auth_type AH` travels as IP protocol 51, keepalived's IPsec-AH header between the IP
header and the VRRP message (see ipsec_ah.py, which signs it).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Address, IPv6Address

VRRP_PROTOCOL = 112
AH_PROTOCOL = 51
VRRP_GROUP = IPv4Address("224.0.0.18")
VRRP_TTL = 255
ADVERTISEMENT = 1  # the only VRRP packet type
AUTH_NONE, AUTH_PASS, AUTH_AH = 0, 1, 2

IP_HEADER_LEN = 20
AH_HEADER_LEN = 24  # ipsec_ah_t: next header, length, reserved, SPI, sequence, 96-bit ICV
VRRP_HEADER_LEN = 8
AUTH_DATA_LEN = 8
TOS_NETWORK_CONTROL = 0xC0

SECOND_US = 1_000_000
CENTISECOND_US = 10_000
V3_INTERVAL_MASK = 0x0FFF

_IP_HEADER = struct.Struct("!BBHHHBBH4s4s")
_VRRP_HEADER = struct.Struct("!BBBBHH")
_PSEUDO_HEADER = struct.Struct("!4s4sBBH")
_AH_HEADER = struct.Struct("!BBHI4x12x")  # next header, payload length, reserved, SPI; sequence and ICV zero
AH_PAYLOAD_LENGTH = 4  # the AH header's length in 32-bit words, minus 2


class PacketTooShort(ValueError):  # noqa: N818 - the name the engine shares
    """The received data does not hold the IPv4 header, the AH header if announced, and the 8-byte VRRP
    header (over IPv6: the VRRP header): keepalived's dispatcher logs this text and stops reading the
    socket for this round."""

    def __init__(self, length: int, *, with_ah: bool = False, family: int = 4) -> None:
        self.length = length
        self.with_ah = with_ah
        super().__init__(f"IPv{family} VRRP packet{' with AH' if with_ah else ''} too short - {length} bytes")


@dataclass(frozen=True)
class Advertisement:
    """What a VRRP advertisement says, whatever its version. Only values the wire can carry exactly are
    allowed: v2 intervals in whole seconds (up to 255), v3 in centiseconds (up to 4095), v3 without
    authentication."""

    version: int  # 2 or 3
    vrid: int
    priority: int
    addresses: tuple[IPv4Address, ...] | tuple[IPv6Address, ...]  # IPv6 in VRRPv3 only
    advert_int_us: int  # v2: whole seconds on the wire; v3: centiseconds (12 bits)
    auth_type: int = AUTH_NONE  # v2 only: 0 none, 1 PASS, 2 AH
    auth_data: bytes = bytes(AUTH_DATA_LEN)  # v2 PASS: the 8-byte password field
    type: int = ADVERTISEMENT

    def __post_init__(self) -> None:
        if self.version not in (2, 3):
            raise ValueError(f"VRRP version {self.version} is neither 2 nor 3")
        for name, value, top in (
            ("vrid", self.vrid, 255),
            ("priority", self.priority, 255),
            ("type", self.type, 15),
            ("auth_type", self.auth_type, 255),
        ):
            if not 0 <= value <= top:
                raise ValueError(f"{name} {value} is not in 0-{top}")
        if len(self.addresses) > 255:
            raise ValueError(f"{len(self.addresses)} addresses do not fit the 8-bit count")
        if not (
            all(isinstance(address, IPv4Address) for address in self.addresses)
            or (self.version == 3 and all(isinstance(address, IPv6Address) for address in self.addresses))
        ):
            raise ValueError("addresses must be all IPv4Address, or (VRRPv3) all IPv6Address")
        if len(self.auth_data) != AUTH_DATA_LEN:
            raise ValueError(f"auth_data must be {AUTH_DATA_LEN} bytes, not {len(self.auth_data)}")
        self._check_interval()
        if self.version == 3 and (self.auth_type != AUTH_NONE or any(self.auth_data)):
            raise ValueError("VRRPv3 carries no authentication")

    def _check_interval(self) -> None:
        unit, top = (SECOND_US, 255) if self.version == 2 else (CENTISECOND_US, V3_INTERVAL_MASK)
        units, rest = divmod(self.advert_int_us, unit)
        if rest or not 0 <= units <= top:
            raise ValueError(f"VRRPv{self.version} cannot carry an interval of {self.advert_int_us} us")


class ChecksumForm(Enum):
    """How a VRRP checksum was computed (see the module docstring)."""

    VRRPV2 = "VRRPv2: message and authentication data"
    PSEUDO_HEADER = "VRRPv3 RFC 5798: IPv4 pseudo-header with the real destination"
    OLD_UNICAST = "VRRPv3 keepalived <= 1.3.5 unicast: pseudo-header with the multicast group"
    MESSAGE_ONLY = "VRRPv3 RFC 9568: the message alone"


def internet_checksum(data: bytes, initial: int = 0) -> int:
    """The 16-bit one's complement of the one's complement sum of `data` (RFC 1071; keepalived's
    in_csum), `initial` being a running sum to continue. A buffer carrying a correct checksum gives 0."""
    if len(data) % 2:
        data += b"\0"
    total = initial + sum(word for (word,) in struct.iter_unpack("!H", data))
    while total > 0xFFFF:
        total = (total >> 16) + (total & 0xFFFF)
    return ~total & 0xFFFF


def _pseudo_header_sum(source: IPv4Address, destination: IPv4Address, length: int) -> int:
    header = _PSEUDO_HEADER.pack(source.packed, destination.packed, 0, VRRP_PROTOCOL, length)
    return sum(word for (word,) in struct.iter_unpack("!H", header))


def _vrrp_checksum(
    message: bytes, form: ChecksumForm, source: IPv4Address, destination: IPv4Address, group: IPv4Address
) -> int:
    """The checksum of `message` (checksum field zeroed, or as received to verify) in one form."""
    if form in (ChecksumForm.VRRPV2, ChecksumForm.MESSAGE_ONLY):
        return internet_checksum(message)
    pseudo_destination = destination if form is ChecksumForm.PSEUDO_HEADER else group
    return internet_checksum(message, _pseudo_header_sum(source, pseudo_destination, len(message)))


def encode_ipv4(
    advert: Advertisement,
    *,
    source: IPv4Address,
    destination: IPv4Address,
    ttl: int = VRRP_TTL,
    ident: int = 1,
    checksum_destination: IPv4Address | None = None,
) -> bytes:
    """The whole IPv4 packet keepalived sends for `advert`: TOS 0xC0, DF clear, protocol 112, IP header
    checksum filled in. `ident` is the IP ID, never 0 (the kernel would replace 0). For VRRPv3,
    `checksum_destination` replaces `destination` in the checksum's pseudo-header: keepalived puts the
    multicast group there when it uses the old unicast checksum. A VRRPv2 advert with AH authentication
    gets keepalived's AH header, its SPI the source, its sequence number and ICV zero: `ipsec_ah.sign`
    fills them in before each send."""
    if any(isinstance(address, IPv6Address) for address in advert.addresses):
        raise ValueError("an advert of IPv6 addresses goes over IPv6 (packet6.encode_ipv6)")
    if not 1 <= ident <= 0xFFFF:
        raise ValueError(f"IP ID {ident} is not in 1-65535")
    if not 0 <= ttl <= 255:
        raise ValueError(f"TTL {ttl} is not in 0-255")
    message = _vrrp_message(advert, source, destination, checksum_destination)
    if advert.version == 2 and advert.auth_type == AUTH_AH:
        message = _AH_HEADER.pack(VRRP_PROTOCOL, AH_PAYLOAD_LENGTH, 0, int(source)) + message
        protocol = AH_PROTOCOL
    else:
        protocol = VRRP_PROTOCOL
    return _ip_header(len(message), source, destination, ttl, ident, protocol=protocol) + message


def _vrrp_message(
    advert: Advertisement,
    source: IPv4Address,
    destination: IPv4Address,
    checksum_destination: IPv4Address | None,
) -> bytes:
    form = ChecksumForm.VRRPV2 if advert.version == 2 else ChecksumForm.PSEUDO_HEADER
    pseudo_destination = destination if checksum_destination is None else checksum_destination
    return vrrp_message(advert, lambda m: _vrrp_checksum(m, form, source, pseudo_destination, VRRP_GROUP))


def vrrp_message(advert: Advertisement, checksum: Callable[[bytes], int]) -> bytes:
    """The VRRP message of `advert` (header, addresses, VRRPv2's authentication data), its checksum field
    filled with `checksum` of the message with that field zeroed."""
    if advert.version == 2:
        interval_field = advert.auth_type << 8 | advert.advert_int_us // SECOND_US
        trailer = advert.auth_data
    else:
        interval_field = advert.advert_int_us // CENTISECOND_US
        trailer = b""
    addresses = b"".join(address.packed for address in advert.addresses)
    version_type = advert.version << 4 | advert.type

    def message(value: int) -> bytes:
        header = _VRRP_HEADER.pack(
            version_type, advert.vrid, advert.priority, len(advert.addresses), interval_field, value
        )
        return header + addresses + trailer

    return message(checksum(message(0)))


def _ip_header(
    payload_length: int, source: IPv4Address, destination: IPv4Address, ttl: int, ident: int, *, protocol: int
) -> bytes:
    def header(checksum: int) -> bytes:
        return _IP_HEADER.pack(
            0x45,
            TOS_NETWORK_CONTROL,
            IP_HEADER_LEN + payload_length,
            ident,
            0,
            ttl,
            protocol,
            checksum,
            source.packed,
            destination.packed,
        )

    return header(internet_checksum(header(0)))


_IDENT_AND_CHECKSUM = struct.Struct("!H4xH")  # bytes 4-11 of the IP header: ID, (flags, TTL, proto), checksum


def with_ident(packet: bytes, ident: int) -> bytes:
    """An encoded packet with another IP ID and its header checksum updated (RFC 1624), so that an advert
    encoded once can be sent again and again as keepalived sends it, each with the next ID."""
    if not 1 <= ident <= 0xFFFF:
        raise ValueError(f"IP ID {ident} is not in 1-65535")
    old_ident, old_checksum = _IDENT_AND_CHECKSUM.unpack_from(packet, 4)
    total = (~old_checksum & 0xFFFF) + (~old_ident & 0xFFFF) + ident
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    checksum = ~total & 0xFFFF
    return packet[:4] + struct.pack("!H", ident) + packet[6:10] + struct.pack("!H", checksum) + packet[12:]


@dataclass(frozen=True)
class ReceivedPacket:
    """A received VRRP packet, every field as it came (nothing is validated here but the minimum length):
    over IPv4 the IP header, the AH header if the protocol is 51, the VRRP header and what follows; over
    IPv6 (packet6.decode_ipv6) the VRRP message alone, the kernel having kept the IPv6 header: its header
    length is 0, its total length the data's, its TTL the hop limit received (-1: none was)."""

    data: bytes = field(repr=False)  # the whole packet as received
    header_length: int  # the IP header's IHL x 4, whatever it says
    tos: int
    total_length: int  # the IP header's tot_len field
    ident: int
    ttl: int
    protocol: int
    source: IPv4Address | IPv6Address
    destination: IPv4Address | IPv6Address
    ah_next_header: int | None  # the AH header's next header, None without AH
    version: int
    type: int
    vrid: int
    priority: int
    count: int  # the Count IP Addrs field
    advert_field: int  # bytes 4-5: v2 auth type and seconds; v3 4 reserved bits and centiseconds
    checksum: int
    addresses: tuple[IPv4Address, ...] | tuple[IPv6Address, ...]  # those of `count` the data holds
    auth_data: bytes  # the (up to) 8 bytes after the addresses

    @property
    def length(self) -> int:
        return len(self.data)

    @property
    def family(self) -> int:
        return self.source.version

    @property
    def has_ah(self) -> bool:
        return self.ah_next_header is not None

    @property
    def vrrp_offset(self) -> int:
        return self.header_length + (AH_HEADER_LEN if self.has_ah else 0)

    @property
    def vrrp_bytes(self) -> bytes:
        """Everything from the VRRP header to the end of the data."""
        return self.data[self.vrrp_offset :]

    @property
    def auth_type(self) -> int:
        """The VRRPv2 Auth Type byte (for VRRPv3, the reserved bits and the interval's top bits)."""
        return self.advert_field >> 8

    @property
    def advert_int_us(self) -> int:
        if self.version == 2:
            return (self.advert_field & 0xFF) * SECOND_US
        return (self.advert_field & V3_INTERVAL_MASK) * CENTISECOND_US

    def advertisement(self) -> Advertisement:
        """What the packet says (meant for a packet `check_advert` accepted). Raises ValueError when its
        fields cannot make one: an unknown version, a VRRPv2 password cut short."""
        if self.version == 2:
            return Advertisement(
                2,
                self.vrid,
                self.priority,
                self.addresses,
                self.advert_int_us,
                self.auth_type,
                self.auth_data,
                self.type,
            )
        return Advertisement(
            self.version, self.vrid, self.priority, self.addresses, self.advert_int_us, type=self.type
        )


def decode_ipv4(data: bytes) -> ReceivedPacket:
    """Read a packet from keepalived's raw IPv4 socket. Raises PacketTooShort where keepalived's
    vrrp_get_header does: less than 20 bytes, or than IHL x 4 + 8, or (protocol 51) than IHL x 4 + 24 + 8."""
    length = len(data)
    if length < IP_HEADER_LEN:
        raise PacketTooShort(length)
    version_ihl, tos, total_length, ident, _, ttl, protocol, _, source, destination = _IP_HEADER.unpack_from(
        data
    )
    header_length = (version_ihl & 0x0F) * 4
    if length < header_length + VRRP_HEADER_LEN:
        raise PacketTooShort(length)
    offset, ah_next_header = header_length, None
    if protocol == AH_PROTOCOL:
        if length < header_length + AH_HEADER_LEN + VRRP_HEADER_LEN:
            raise PacketTooShort(length, with_ah=True)
        ah_next_header = data[header_length]
        offset += AH_HEADER_LEN
    version_type, vrid, priority, count, advert_field, checksum = _VRRP_HEADER.unpack_from(data, offset)
    addresses_at = offset + VRRP_HEADER_LEN
    present = min(count, (length - addresses_at) // 4)
    addresses = tuple(
        IPv4Address(data[addresses_at + 4 * i : addresses_at + 4 * i + 4]) for i in range(present)
    )
    auth_at = addresses_at + 4 * count
    return ReceivedPacket(
        data=bytes(data),
        header_length=header_length,
        tos=tos,
        total_length=total_length,
        ident=ident,
        ttl=ttl,
        protocol=protocol,
        source=IPv4Address(source),
        destination=IPv4Address(destination),
        ah_next_header=ah_next_header,
        version=version_type >> 4,
        type=version_type & 0x0F,
        vrid=vrid,
        priority=priority,
        count=count,
        advert_field=advert_field,
        checksum=checksum,
        addresses=addresses,
        auth_data=data[auth_at : auth_at + AUTH_DATA_LEN],
    )


def _message_length(packet: ReceivedPacket, form: ChecksumForm) -> int:
    """How many VRRP bytes a checksum of this form covers, from the header's count (as keepalived)."""
    length = VRRP_HEADER_LEN + 4 * packet.count
    return length + AUTH_DATA_LEN if form is ChecksumForm.VRRPV2 else length


def checksum_matches(packet: ReceivedPacket, form: ChecksumForm, *, group: IPv4Address = VRRP_GROUP) -> bool:
    """Whether the packet's VRRP checksum is right in `form` (`group`: the multicast group the old
    unicast form puts in the pseudo-header). False when the data is too short for the message."""
    length = _message_length(packet, form)
    message = packet.vrrp_bytes[:length]
    if len(message) < length:
        return False
    return _vrrp_checksum(message, form, packet.source, packet.destination, group) == 0


def checksum_form(packet: ReceivedPacket, *, group: IPv4Address = VRRP_GROUP) -> ChecksumForm | None:
    """The form the packet's checksum was computed in, None if none fits (or the version is not 2 or 3).
    For VRRPv3 the forms are tried in the order PSEUDO_HEADER, OLD_UNICAST, MESSAGE_ONLY: a packet sent
    to the group itself matches the first two alike."""
    if packet.version == 2:
        forms: tuple[ChecksumForm, ...] = (ChecksumForm.VRRPV2,)
    elif packet.version == 3:
        forms = (ChecksumForm.PSEUDO_HEADER, ChecksumForm.OLD_UNICAST, ChecksumForm.MESSAGE_ONLY)
    else:
        return None
    return next((form for form in forms if checksum_matches(packet, form, group=group)), None)
