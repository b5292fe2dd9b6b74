"""VRRPv3 advertisements over IPv6 (RFC 5798), as keepalived 2.2.7 sends and reads them.

Over IPv6 keepalived's raw socket carries the VRRP message alone: the kernel writes the IPv6 header (hop
limit 255 for multicast, from IPV6_MULTICAST_HOPS; the source from the IPV6_PKTINFO given with each
packet) and, with the IPV6_CHECKSUM socket option at offset 6, fills in the checksum on sending and drops a
received packet whose checksum is wrong before keepalived sees it. The checksum is RFC 2460's: the one's
complement sum over the IPv6 pseudo-header (source, destination, the 32-bit upper-layer length, three zero
bytes and next header 112) and the VRRP message. `encode_ipv6` fills it in too, so that the bytes are the
ones on the wire whoever sends them, and `checksum_matches_ipv6` verifies it.

What the kernel keeps out of the data comes back as ancillary data: the hop limit (IPV6_HOPLIMIT) and the
destination (IPV6_PKTINFO), which `decode_ipv6` takes beside the data.
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

from .packet import (
    VRRP_HEADER_LEN,
    VRRP_PROTOCOL,
    Advertisement,
    PacketTooShort,
    ReceivedPacket,
    internet_checksum,
    vrrp_message,
)

VRRP_GROUP6 = IPv6Address("ff02::12")
VRRP_HOP_LIMIT = 255
NO_HOP_LIMIT = -1  # keepalived's rx_ttl_hop_limit when the kernel gave none: the check is skipped
CHECKSUM_OFFSET = 6  # where the checksum sits in the VRRP header (the IPV6_CHECKSUM socket option)
ADDRESS_LEN = 16

_PSEUDO_HEADER = struct.Struct("!16s16sI3xB")


def ipv6_checksum(message: bytes, source: IPv6Address, destination: IPv6Address) -> int:
    """The checksum of a VRRP `message` (checksum field zeroed, or as received: then 0 when it is right)
    under the IPv6 pseudo-header of RFC 2460 section 8.1."""
    pseudo = _PSEUDO_HEADER.pack(source.packed, destination.packed, len(message), VRRP_PROTOCOL)
    return internet_checksum(pseudo + message)


def encode_ipv6(advert: Advertisement, *, source: IPv6Address, destination: IPv6Address) -> bytes:
    """The VRRP message keepalived hands its IPv6 raw socket for `advert`, checksum filled in."""
    if advert.version != 3:
        raise ValueError("VRRP over IPv6 is VRRPv3")
    if not all(isinstance(address, IPv6Address) for address in advert.addresses):
        raise ValueError("an advert over IPv6 carries IPv6 addresses")
    return vrrp_message(advert, lambda message: ipv6_checksum(message, source, destination))


def decode_ipv6(
    data: bytes, *, source: IPv6Address, destination: IPv6Address, hop_limit: int = NO_HOP_LIMIT
) -> ReceivedPacket:
    """Read a VRRP message from keepalived's raw IPv6 socket, with what the kernel said of it: the sender,
    the destination (IPV6_PKTINFO) and the hop limit (IPV6_HOPLIMIT, NO_HOP_LIMIT when absent). Raises
    PacketTooShort where keepalived's vrrp_get_header does: less than the 8-byte VRRP header."""
    length = len(data)
    if length < VRRP_HEADER_LEN:
        raise PacketTooShort(length, family=6)
    version_type, vrid, priority, count, advert_field, checksum = struct.unpack_from("!BBBBHH", data)
    present = min(count, (length - VRRP_HEADER_LEN) // ADDRESS_LEN)
    addresses = tuple(
        IPv6Address(data[VRRP_HEADER_LEN + ADDRESS_LEN * i : VRRP_HEADER_LEN + ADDRESS_LEN * (i + 1)])
        for i in range(present)
    )
    after = VRRP_HEADER_LEN + ADDRESS_LEN * count
    return ReceivedPacket(
        data=bytes(data),
        header_length=0,
        tos=0,
        total_length=length,
        ident=0,
        ttl=hop_limit,
        protocol=VRRP_PROTOCOL,
        source=source,
        destination=destination,
        ah_next_header=None,
        version=version_type >> 4,
        type=version_type & 0x0F,
        vrid=vrid,
        priority=priority,
        count=count,
        advert_field=advert_field,
        checksum=checksum,
        addresses=addresses,
        auth_data=data[after : after + 8],
    )


def checksum_matches_ipv6(packet: ReceivedPacket) -> bool:
    """Whether a packet read by `decode_ipv6` carries the right checksum for its addresses (the message
    the header's count makes; False when the data is shorter)."""
    length = VRRP_HEADER_LEN + ADDRESS_LEN * packet.count
    message = packet.data[:length]
    if len(message) < length:
        return False
    assert isinstance(packet.source, IPv6Address) and isinstance(packet.destination, IPv6Address)
    return ipv6_checksum(message, packet.source, packet.destination) == 0
