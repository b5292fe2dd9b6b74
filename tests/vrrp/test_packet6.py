"""The IPv6 codec: VRRPv3 messages with RFC 2460's pseudo-header checksum, read back with what the kernel
says beside them, and the receive checks keepalived applies to them."""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hapair.vrrp.checks import Expectation, check_advert
from hapair.vrrp.packet import Advertisement, PacketTooShort, encode_ipv4
from hapair.vrrp.packet6 import (
    NO_HOP_LIMIT,
    VRRP_GROUP6,
    checksum_matches_ipv6,
    decode_ipv6,
    encode_ipv6,
    ipv6_checksum,
)

SOURCE = IPv6Address("fe80::1")
VIP = IPv6Address("2001:db8::100")
ipv6_addresses = st.builds(IPv6Address, st.integers(0, 2**128 - 1))


@st.composite
def advertisements(draw: st.DrawFn) -> Advertisement:
    return Advertisement(
        version=3,
        vrid=draw(st.integers(0, 255)),
        priority=draw(st.integers(0, 255)),
        addresses=tuple(draw(st.lists(ipv6_addresses, max_size=20))),
        advert_int_us=draw(st.integers(0, 4095)) * 10_000,
    )


def reference_checksum(message: bytes, source: IPv6Address, destination: IPv6Address) -> int:
    """RFC 2460 section 8.1 written out: 16-bit words of the pseudo-header and message, summed with the
    carries folded back, complemented."""
    pseudo = source.packed + destination.packed + struct.pack("!I", len(message)) + bytes(3) + bytes([112])
    data = pseudo + message + bytes(len(message) % 2)
    total = 0
    for index in range(0, len(data), 2):
        total += data[index] << 8 | data[index + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return 0xFFFF - total


def test_an_advert_is_the_vrrp_message_alone_with_the_ipv6_pseudo_header_checksum() -> None:
    advert = Advertisement(3, 51, 100, (VIP,), 50 * 10_000)
    data = encode_ipv6(advert, source=SOURCE, destination=VRRP_GROUP6)
    assert len(data) == 8 + 16
    assert data[:6] == bytes([0x31, 51, 100, 1, 0, 50])
    assert data[8:] == VIP.packed
    zeroed = data[:6] + b"\0\0" + data[8:]
    assert struct.unpack_from("!H", data, 6)[0] == reference_checksum(zeroed, SOURCE, VRRP_GROUP6)


@given(advertisements(), ipv6_addresses, ipv6_addresses)
def test_encoding_then_decoding_gives_the_advert_back_with_a_checksum_that_matches(
    advert: Advertisement, source: IPv6Address, destination: IPv6Address
) -> None:
    data = encode_ipv6(advert, source=source, destination=destination)
    zeroed = data[:6] + b"\0\0" + data[8:]
    assert ipv6_checksum(zeroed, source, destination) == reference_checksum(zeroed, source, destination)
    packet = decode_ipv6(data, source=source, destination=destination, hop_limit=255)
    assert packet.advertisement() == advert
    assert (packet.length, packet.ttl, packet.family) == (len(data), 255, 6)
    assert checksum_matches_ipv6(packet)


@given(advertisements(), st.data())
def test_any_single_bit_changed_breaks_the_checksum(advert: Advertisement, data: st.DataObject) -> None:
    encoded = encode_ipv6(advert, source=SOURCE, destination=VRRP_GROUP6)
    bit = data.draw(st.integers(0, 8 * len(encoded) - 1))
    changed = bytearray(encoded)
    changed[bit // 8] ^= 1 << (bit % 8)
    packet = decode_ipv6(bytes(changed), source=SOURCE, destination=VRRP_GROUP6)
    assert not checksum_matches_ipv6(packet)


def test_the_checksum_covers_the_source_and_destination() -> None:
    advert = Advertisement(3, 51, 100, (VIP,), 100 * 10_000)
    data = encode_ipv6(advert, source=SOURCE, destination=VRRP_GROUP6)
    elsewhere = decode_ipv6(data, source=IPv6Address("fe80::2"), destination=VRRP_GROUP6)
    assert not checksum_matches_ipv6(elsewhere)


def test_less_than_a_vrrp_header_is_too_short_in_keepalived_words() -> None:
    with pytest.raises(PacketTooShort, match=r"^IPv6 VRRP packet too short - 7 bytes$"):
        decode_ipv6(bytes(7), source=SOURCE, destination=VRRP_GROUP6)


def test_ipv6_is_vrrpv3_only_and_ipv4_packets_carry_no_ipv6_addresses() -> None:
    with pytest.raises(ValueError, match="VRRPv3"):
        Advertisement(2, 51, 100, (VIP,), 1_000_000)
    advert = Advertisement(3, 51, 100, (VIP,), 1_000_000)
    with pytest.raises(ValueError, match="IPv6"):
        encode_ipv4(advert, source=SOURCE, destination=VRRP_GROUP6)  # type: ignore[arg-type]


def expectation(**changes: object) -> Expectation:
    values: dict[str, object] = {
        "version": 3,
        "auth_type": 0,
        "auth_data": bytes(8),
        "advert_int_us": 1_000_000,
        "vips": (VIP,),
        "check_addresses": True,
        "group": VRRP_GROUP6,
        "family": 6,
    }
    return Expectation(**{**values, **changes})  # type: ignore[arg-type]


def received(hop_limit: int = 255, addresses: tuple[IPv6Address, ...] = (VIP,), extra: bytes = b""):
    data = encode_ipv6(
        Advertisement(3, 51, 100, addresses, 1_000_000), source=SOURCE, destination=VRRP_GROUP6
    )
    return decode_ipv6(data + extra, source=SOURCE, destination=VRRP_GROUP6, hop_limit=hop_limit)


def test_an_ipv6_advert_as_expected_is_accepted() -> None:
    assert check_advert(received(), expectation()) is None


def test_the_expected_length_counts_16_bytes_an_address_and_no_ip_header() -> None:
    rejection = check_advert(received(extra=b"\0\0"), expectation())
    assert rejection is not None
    assert rejection.message == "vrrp packet too long, length 26 and expect 24"


def test_a_multicast_hop_limit_other_than_255_is_refused_but_a_missing_one_is_not_checked() -> None:
    rejection = check_advert(received(hop_limit=1), expectation())
    assert rejection is not None
    assert (rejection.message, rejection.counter) == (
        "invalid TTL/HL. Received 1 and expect 255",
        "ip_ttl_err",
    )
    assert check_advert(received(hop_limit=NO_HOP_LIMIT), expectation()) is None


def test_a_missing_vip_is_named_in_ipv6_form() -> None:
    other = IPv6Address("2001:db8::200")
    rejection = check_advert(received(addresses=(other,)), expectation())
    assert rejection is not None
    assert (
        rejection.message == "ip address associated with VRID 51 not present in MASTER advert: 2001:db8::100"
    )
