"""keepalived 2.2.7's IPsec Authentication Header for VRRPv2 over IPv4 (`auth_type AH`: vrrp.c
vrrp_build_ipsecah, vrrp_update_pkt and vrrp_in_chk_ipsecah, vrrp_ipsecah.c). It borrows RFC 2402's layout
but no security association: the header sits between the IPv4 header (protocol 51) and the VRRP message,

    next header 112 | payload length 4 | reserved 0 | SPI | sequence number | ICV (96 bits)

* the SPI is the sender's IPv4 source address; a receiver refuses a header whose SPI is not the source;
* the sequence number comes from one counter per instance, for what it sends and what it accepts
  (`SequenceCounter`);
* the ICV is HMAC-MD5, keyed with the instance's 8-byte auth_pass (NUL-padded), truncated to 12 bytes, over
  the IPv4 header with its mutable fields zeroed (TOS, flags and fragment offset, header checksum, and the
  TTL for a unicast instance), the AH header with its ICV zeroed, and the VRRP message (whose own 8
  authentication bytes are zeros).

`packet.encode_ipv4` makes an AH advert with sequence number and ICV zero; `sign` completes it before each
send, as the IP ID and the sequence number change from one advert to the next.
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass
from typing import NamedTuple

from .packet import AH_HEADER_LEN, IP_HEADER_LEN, ReceivedPacket, with_ident

ICV_LEN = 12  # HMAC_MD5_TRUNC
LAST_SEQUENCE = 0xFFFFFFFD  # keepalived's counter stops counting past this ("cycle")
SEQUENCE_MASK = 0xFFFFFFFF

_AH_HEADER = struct.Struct("!BBHII12s")
_SEQUENCE_AT = 8  # within the AH header
_ICV_AT = 12
_MUTABLE_FIELDS = (1, 6, 7, 10, 11)  # TOS, flags and fragment offset, header checksum
_TTL = 8


class AhHeader(NamedTuple):
    """An AH header as received; `spi` holds what keepalived puts there, its source address."""

    next_header: int
    payload_length: int
    reserved: int
    spi: int
    sequence: int
    icv: bytes


def read_header(packet: ReceivedPacket) -> AhHeader:
    """The AH header of a packet decoded with one (`packet.has_ah`: decode_ipv4 made sure it is all there)."""
    return AhHeader(*_AH_HEADER.unpack_from(packet.data, packet.header_length))


def integrity_check_value(data: bytes, header_length: int, key: bytes, *, unicast: bool) -> bytes:
    """The ICV of an IPv4 packet carrying AH after its `header_length`-byte IP header, keyed with `key` (the
    8-byte auth_pass). The fields that routers may change are left out, as keepalived leaves them out: the
    TTL only for unicast (a multicast advert must arrive with 255)."""
    header = bytearray(data[: header_length + AH_HEADER_LEN])
    for offset in _MUTABLE_FIELDS:
        header[offset] = 0
    if unicast:
        header[_TTL] = 0
    icv_at = header_length + _ICV_AT
    header[icv_at : icv_at + ICV_LEN] = bytes(ICV_LEN)
    import hmac  # noqa: PLC0415  (with hashlib and OpenSSL's libcrypto, 3 MB: only for AH instances)

    digest = hmac.new(key, bytes(header), "md5")
    digest.update(data[header_length + AH_HEADER_LEN :])
    return digest.digest()[:ICV_LEN]


def sign(packet: bytes, *, ident: int, sequence: int, key: bytes, unicast: bool) -> bytes:
    """An AH advert from `packet.encode_ipv4` as keepalived sends it: with this IP ID, this sequence number
    and the ICV over them."""
    data = bytearray(with_ident(packet, ident))
    struct.pack_into("!I", data, IP_HEADER_LEN + _SEQUENCE_AT, sequence)
    icv = integrity_check_value(bytes(data), IP_HEADER_LEN, key, unicast=unicast)
    data[IP_HEADER_LEN + _ICV_AT : IP_HEADER_LEN + _ICV_AT + ICV_LEN] = icv
    return bytes(data)


def host_order(field: int) -> int:
    """A 32-bit field as keepalived prints it without ntohl (the SPI and the source address in its invalid
    SPI line): the bytes as sent, read in this machine's byte order."""
    return int.from_bytes(field.to_bytes(4, "big"), sys.byteorder)


@dataclass
class SequenceCounter:
    """An instance's AH sequence counter (keepalived's seq_counter_t ipsecah_counter). One number serves
    both ways: an accepted advert sets it to the sequence number it carried, each advert sent carries it
    plus one; so a node that takes over continues above what the old master sent, and a backup accepts
    only numbers above the last it accepted. Past LAST_SEQUENCE the counter stops and is marked as having
    cycled; an instance then restarts it from 0 when it becomes master."""

    number: int = 0
    cycle: bool = False

    def next_to_send(self) -> int:
        """The sequence number of the next advert sent (keepalived's vrrp_update_pkt), counted."""
        if self.number > LAST_SEQUENCE:
            self.cycle = True
        else:
            self.number += 1
        return self.number

    def peek(self) -> int:
        """What `next_to_send` would return, without counting it."""
        return self.number if self.number > LAST_SEQUENCE else self.number + 1

    def take(self, sequence: int) -> None:
        """An advert carrying `sequence` was authenticated (checks.authenticated_sequence)."""
        self.number = sequence

    def sync_above(self, sequence: int) -> None:
        """A master heard a lower-priority master's `sequence` ("Syncing seq_num - Increment seq")."""
        self.number = (sequence + 1) & SEQUENCE_MASK
        self.cycle = False

    def restart_if_cycled(self) -> None:
        """Becoming master (keepalived's vrrp_state_goto_master resets the anti-replay counter)."""
        if self.cycle:
            self.cycle = False
            self.number = 0
