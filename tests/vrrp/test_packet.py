"""The VRRP codec: byte-exact against adverts captured from keepalived 2.2.7, decoding as keepalived reads,
and the checksum forms."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

import pytest

from hapair.vrrp.packet import (
    VRRP_GROUP,
    Advertisement,
    ChecksumForm,
    PacketTooShort,
    ReceivedPacket,
    checksum_form,
    checksum_matches,
    decode_ipv4,
    encode_ipv4,
    internet_checksum,
    with_ident,
)

NODE_A = IPv4Address("10.77.0.1")
NODE_B = IPv4Address("10.77.0.2")
VIPS = (IPv4Address("10.77.0.100"), IPv4Address("10.77.0.101"))

# Captured with an AF_PACKET socket on the peer of keepalived 2.2.7 running the evidence config
# run1_nodeA.conf (VRID 77, priority 150, advert_int 1, PASS secret12, two VIPs) in a network namespace:
# the first advert after `Entering MASTER STATE`, and the priority 0 advert sent on SIGTERM (IP ID 5).
KEEPALIVED_V2_PASS = bytes.fromhex(
    "45c0002c00010000ff70d0400a4d0001e0000012214d96020101c4cd0a4d00640a4d00657365637265743132"
)
KEEPALIVED_V2_PASS_STOP = bytes.fromhex(
    "45c0002c00050000ff70d03c0a4d0001e0000012214d000201015ace0a4d00640a4d00657365637265743132"
)
# The same instance with `vrrp_version 3` (no authentication): multicast, unicast to 10.77.0.2
# (unicast_src_ip 10.77.0.1), and unicast with `old_unicast_checksum`.
KEEPALIVED_V3_MULTICAST = bytes.fromhex(
    "45c0002400010000ff70d0480a4d0001e0000012314d9602006438080a4d00640a4d0065"
)
KEEPALIVED_V3_UNICAST = bytes.fromhex(
    "45c0002400010000ff70a60c0a4d00010a4d0002314d960200640dcc0a4d00640a4d0065"
)
KEEPALIVED_V3_UNICAST_OLD = bytes.fromhex(
    "45c0002400010000ff70a60c0a4d00010a4d0002314d9602006438080a4d00640a4d0065"
)

V2_PASS = Advertisement(2, 77, 150, VIPS, 1_000_000, auth_type=1, auth_data=b"secret12")
V3 = Advertisement(3, 77, 150, VIPS, 1_000_000)


def with_vrrp_checksum(data: bytes, checksum: int) -> bytes:
    return data[:26] + struct.pack("!H", checksum) + data[28:]


def message_only_checksum(data: bytes) -> bytes:
    """The v3 packet with its checksum recomputed over the VRRP message alone (RFC 9568, section 5.2.8)."""
    zeroed = with_vrrp_checksum(data, 0)
    return with_vrrp_checksum(zeroed, internet_checksum(zeroed[20:]))


# ----- encoding


def test_v2_pass_advert_is_byte_for_byte_what_keepalived_sends():
    assert encode_ipv4(V2_PASS, source=NODE_A, destination=VRRP_GROUP, ident=1) == KEEPALIVED_V2_PASS


def test_v2_priority_zero_advert_is_byte_for_byte_what_keepalived_sends_on_stop():
    stop = Advertisement(2, 77, 0, VIPS, 1_000_000, auth_type=1, auth_data=b"secret12")
    assert encode_ipv4(stop, source=NODE_A, destination=VRRP_GROUP, ident=5) == KEEPALIVED_V2_PASS_STOP


def test_v3_multicast_advert_is_byte_for_byte_what_keepalived_sends():
    assert encode_ipv4(V3, source=NODE_A, destination=VRRP_GROUP) == KEEPALIVED_V3_MULTICAST


def test_v3_unicast_advert_sums_the_real_destination_like_keepalived():
    assert encode_ipv4(V3, source=NODE_A, destination=NODE_B) == KEEPALIVED_V3_UNICAST


def test_v3_unicast_advert_with_the_group_in_the_pseudo_header_is_keepalived_old_unicast_checksum():
    encoded = encode_ipv4(V3, source=NODE_A, destination=NODE_B, checksum_destination=VRRP_GROUP)
    assert encoded == KEEPALIVED_V3_UNICAST_OLD


def test_v2_advert_matches_the_rfc_3768_layout_field_by_field():
    advert = Advertisement(2, 1, 100, (IPv4Address("192.0.2.10"),), 3_000_000)
    encoded = encode_ipv4(
        advert, source=IPv4Address("192.0.2.1"), destination=VRRP_GROUP, ttl=255, ident=0x1234
    )
    # checksums by hand: IP words 45c0+0028+1234+0000+ff70+0000+c000+0201+e000+0012 = 2f99f -> f9a1 -> 065e;
    # VRRP words 2101+6401+0003+0000+c000+020a (+ zero auth data) = 1470f -> 4710 -> b8ef
    expected = bytes(
        [
            0x45,  # version 4, IHL 5
            0xC0,  # TOS: internetwork control
            0x00, 0x28,  # total length 20 + 8 + 4 + 8 = 40
            0x12, 0x34,  # identification
            0x00, 0x00,  # flags (DF clear) and fragment offset
            0xFF,  # TTL
            0x70,  # protocol 112
            0x06, 0x5E,  # header checksum
            192, 0, 2, 1,  # source
            224, 0, 0, 18,  # destination
            0x21,  # VRRP version 2, type 1 (advertisement)
            0x01,  # VRID
            0x64,  # priority 100
            0x01,  # count IP addrs
            0x00,  # auth type none
            0x03,  # advert interval, seconds
            0xB8, 0xEF,  # checksum over the VRRP message and authentication data
            192, 0, 2, 10,  # the virtual address
            0, 0, 0, 0, 0, 0, 0, 0,  # authentication data
        ]
    )  # fmt: skip
    assert encoded == expected


def test_v3_advert_carries_centiseconds_in_twelve_bits_and_no_authentication():
    advert = Advertisement(3, 9, 200, (), 40_950_000)
    encoded = encode_ipv4(advert, source=NODE_A, destination=VRRP_GROUP)
    assert len(encoded) == 28
    assert encoded[20:26] == bytes([0x31, 9, 200, 0, 0x0F, 0xFF])


def test_ip_id_zero_is_refused_because_the_kernel_would_replace_it():
    with pytest.raises(ValueError, match="IP ID 0"):
        encode_ipv4(V3, source=NODE_A, destination=VRRP_GROUP, ident=0)


def test_ttl_and_ident_are_written_as_given():
    encoded = encode_ipv4(V3, source=NODE_A, destination=NODE_B, ttl=64, ident=0xFFFF)
    packet = decode_ipv4(encoded)
    assert (packet.ttl, packet.ident) == (64, 0xFFFF)


def test_an_ah_advert_gets_keepalived_s_ah_header_unsigned():
    advert = Advertisement(2, 77, 150, VIPS, 1_000_000, auth_type=2)
    encoded = encode_ipv4(advert, source=NODE_A, destination=VRRP_GROUP)
    assert (len(encoded), encoded[9], struct.unpack("!H", encoded[2:4])[0]) == (68, 51, 68)
    # next header 112, payload length 4, reserved, SPI = the source, sequence number and ICV left at 0
    assert encoded[20:44] == bytes([112, 4, 0, 0]) + NODE_A.packed + bytes(16)
    packet = decode_ipv4(encoded)
    assert (packet.has_ah, packet.auth_type, packet.auth_data) == (True, 2, bytes(8))
    assert checksum_matches(packet, ChecksumForm.VRRPV2)


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({"version": 4}, "version 4"),
        ({"vrid": 256}, "vrid 256"),
        ({"priority": -1}, "priority -1"),
        ({"advert_int_us": 1_500_000}, "interval of 1500000"),
        ({"advert_int_us": 256_000_000}, "interval of 256000000"),
        ({"version": 3, "advert_int_us": 40_960_000}, "interval of 40960000"),
        ({"version": 3, "advert_int_us": 1_005_000}, "interval of 1005000"),
        ({"auth_data": b"short"}, "8 bytes"),
        ({"version": 3, "auth_type": 1}, "no authentication"),
        ({"addresses": (IPv4Address("10.0.0.1"),) * 256}, "8-bit count"),
    ],
)
def test_advertisement_refuses_what_the_wire_cannot_carry(arguments, complaint):
    fields = {"version": 2, "vrid": 1, "priority": 100, "addresses": (), "advert_int_us": 1_000_000}
    with pytest.raises(ValueError, match=complaint):
        Advertisement(**(fields | arguments))


# ----- decoding


def test_decoding_keepalived_v2_advert_gives_every_field_as_sent():
    packet = decode_ipv4(KEEPALIVED_V2_PASS)
    assert packet == ReceivedPacket(
        data=KEEPALIVED_V2_PASS,
        header_length=20,
        tos=0xC0,
        total_length=44,
        ident=1,
        ttl=255,
        protocol=112,
        source=NODE_A,
        destination=VRRP_GROUP,
        ah_next_header=None,
        version=2,
        type=1,
        vrid=77,
        priority=150,
        count=2,
        advert_field=0x0101,
        checksum=0xC4CD,
        addresses=VIPS,
        auth_data=b"secret12",
    )
    assert (packet.auth_type, packet.advert_int_us, packet.length, packet.has_ah) == (1, 1_000_000, 44, False)
    assert packet.vrrp_bytes == KEEPALIVED_V2_PASS[20:]


@pytest.mark.parametrize(
    ("data", "advert"),
    [
        (KEEPALIVED_V2_PASS, V2_PASS),
        (KEEPALIVED_V3_MULTICAST, V3),
        (KEEPALIVED_V3_UNICAST, V3),
    ],
)
def test_decoded_keepalived_adverts_say_what_keepalived_advertised(data, advert):
    assert decode_ipv4(data).advertisement() == advert


def test_v3_interval_ignores_the_reserved_bits():
    data = bytearray(KEEPALIVED_V3_MULTICAST)
    data[24] |= 0xF0
    packet = decode_ipv4(bytes(data))
    assert packet.advert_field == 0xF064
    assert packet.advert_int_us == 1_000_000


def test_addresses_are_those_the_data_holds_when_fewer_than_the_count():
    data = bytearray(KEEPALIVED_V3_MULTICAST[:32])
    data[23] = 3
    packet = decode_ipv4(bytes(data))
    assert (packet.count, packet.addresses, packet.auth_data) == (3, VIPS[:1], b"")


def test_ip_options_move_the_vrrp_header():
    data = bytearray(KEEPALIVED_V3_MULTICAST)
    data[0] = 0x46
    data[20:20] = bytes(4)
    packet = decode_ipv4(bytes(data))
    assert (packet.header_length, packet.vrid, packet.addresses) == (24, 77, VIPS)


def ah_packet(next_header: int) -> bytes:
    ah = bytes([next_header, 4, 0, 0]) + NODE_A.packed + (7).to_bytes(4, "big") + bytes(12)
    ip_header = bytearray(KEEPALIVED_V2_PASS[:20])
    ip_header[9] = 51
    return bytes(ip_header) + ah + KEEPALIVED_V2_PASS[20:]


def test_an_ah_header_is_stepped_over_and_its_next_header_kept():
    packet = decode_ipv4(ah_packet(112))
    assert (packet.has_ah, packet.ah_next_header, packet.vrrp_offset) == (True, 112, 44)
    assert (packet.vrid, packet.priority, packet.addresses) == (77, 150, VIPS)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", "IPv4 VRRP packet too short - 0 bytes"),
        (KEEPALIVED_V2_PASS[:19], "IPv4 VRRP packet too short - 19 bytes"),
        (KEEPALIVED_V2_PASS[:27], "IPv4 VRRP packet too short - 27 bytes"),
        (b"\x4f" + KEEPALIVED_V2_PASS[1:], "IPv4 VRRP packet too short - 44 bytes"),  # IHL 15: 60 + 8
        (ah_packet(112)[:51], "IPv4 VRRP packet with AH too short - 51 bytes"),
    ],
)
def test_packets_shorter_than_keepalived_reads_raise_its_message(data, text):
    with pytest.raises(PacketTooShort) as raised:
        decode_ipv4(data)
    assert str(raised.value) == text
    assert raised.value.length == len(data)


def test_the_ip_and_vrrp_headers_alone_are_enough_to_decode():
    packet = decode_ipv4(KEEPALIVED_V2_PASS[:28])
    assert (packet.count, packet.addresses, packet.length) == (2, (), 28)


# ----- checksums


def test_internet_checksum_of_the_rfc_1071_example():
    # RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (after the carry)
    assert internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0xFFFF - 0xDDF2


def test_internet_checksum_pads_an_odd_byte_with_zero():
    assert internet_checksum(b"\x12\x34\x56") == internet_checksum(b"\x12\x34\x56\x00")


def test_a_correct_checksum_sums_to_zero():
    assert internet_checksum(KEEPALIVED_V2_PASS[:20]) == 0
    assert internet_checksum(KEEPALIVED_V2_PASS[20:]) == 0


@pytest.mark.parametrize(
    ("data", "form"),
    [
        (KEEPALIVED_V2_PASS, ChecksumForm.VRRPV2),
        (KEEPALIVED_V3_MULTICAST, ChecksumForm.PSEUDO_HEADER),
        (KEEPALIVED_V3_UNICAST, ChecksumForm.PSEUDO_HEADER),
        (KEEPALIVED_V3_UNICAST_OLD, ChecksumForm.OLD_UNICAST),
        (message_only_checksum(KEEPALIVED_V3_UNICAST), ChecksumForm.MESSAGE_ONLY),
        (with_vrrp_checksum(KEEPALIVED_V3_UNICAST, 0x1234), None),
        (with_vrrp_checksum(KEEPALIVED_V2_PASS, 0x1234), None),
    ],
)
def test_checksum_form_tells_how_the_checksum_was_computed(data, form):
    assert checksum_form(decode_ipv4(data)) is form


def test_a_v2_checksum_covers_the_authentication_data():
    data = KEEPALIVED_V2_PASS[:-1] + b"3"
    assert checksum_form(decode_ipv4(data)) is None


def test_the_old_unicast_form_uses_the_configured_group():
    group = IPv4Address("224.0.0.19")
    data = encode_ipv4(V3, source=NODE_A, destination=NODE_B, checksum_destination=group)
    packet = decode_ipv4(data)
    assert checksum_form(packet) is None
    assert checksum_form(packet, group=group) is ChecksumForm.OLD_UNICAST


def test_a_checksum_cannot_match_when_the_message_is_cut_short():
    packet = decode_ipv4(KEEPALIVED_V3_MULTICAST[:-1])
    assert not checksum_matches(packet, ChecksumForm.PSEUDO_HEADER)


def test_no_checksum_form_for_an_unknown_version():
    data = bytearray(KEEPALIVED_V3_MULTICAST)
    data[20] = 0x41
    assert checksum_form(decode_ipv4(bytes(data))) is None


def test_with_ident_changes_the_ip_id_and_keeps_the_header_checksum_right():
    advert = Advertisement(2, 77, 150, (IPv4Address("10.77.0.100"),), 1_000_000, 1, b"secret12")
    source, destination = IPv4Address("10.77.0.1"), IPv4Address("224.0.0.18")
    once = encode_ipv4(advert, source=source, destination=destination, ident=1)
    for ident in (2, 0x1234, 0xFFFF):
        assert with_ident(once, ident) == encode_ipv4(
            advert, source=source, destination=destination, ident=ident
        )
