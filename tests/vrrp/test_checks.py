"""keepalived 2.2.7's receive checks (vrrp_check_packet): one crafted packet per check, with the exact log
text, counter and disposition keepalived gives it, plus the packets it accepts."""

from __future__ import annotations

import struct
from dataclasses import replace
from ipaddress import IPv4Address

import pytest

from hapair.config.keepalived.model.vrrp import ChecksumCompat
from hapair.vrrp.checks import Disposition, Expectation, Peer, Rejection, adopts_old_checksum, check_advert
from hapair.vrrp.packet import VRRP_GROUP, Advertisement, ReceivedPacket, decode_ipv4, encode_ipv4

from .test_packet import (
    KEEPALIVED_V2_PASS,
    KEEPALIVED_V3_MULTICAST,
    KEEPALIVED_V3_UNICAST,
    KEEPALIVED_V3_UNICAST_OLD,
    NODE_A,
    NODE_B,
    V2_PASS,
    V3,
    VIPS,
    message_only_checksum,
    with_vrrp_checksum,
)

# node B of run1: the BACKUP peer of the captured adverts
RUN1_BACKUP = Expectation(
    version=2,
    auth_type=1,
    auth_data=b"secret12",
    advert_int_us=1_000_000,
    vips=VIPS,
    check_addresses=True,
)
V3_MULTICAST = replace(RUN1_BACKUP, version=3, auth_type=0, auth_data=bytes(8))
V3_UNICAST = replace(V3_MULTICAST, unicast=True, unicast_peers=(Peer(NODE_A),))
# the captured v2 advert saying auth type 2 (AH), to wrap in an AH header
V2_AH_TYPE = KEEPALIVED_V2_PASS[:24] + b"\x02" + KEEPALIVED_V2_PASS[25:]


def received(
    advert: Advertisement = V2_PASS, *, destination: IPv4Address = VRRP_GROUP, ttl: int = 255
) -> ReceivedPacket:
    return decode_ipv4(encode_ipv4(advert, source=NODE_A, destination=destination, ttl=ttl))


def patched(data: bytes, offset: int, new: bytes) -> ReceivedPacket:
    return decode_ipv4(data[:offset] + new + data[offset + len(new) :])


def with_ah(data: bytes, next_header: int) -> ReceivedPacket:
    ah = bytes([next_header, 4, 0, 0]) + NODE_A.packed + (1).to_bytes(4, "big") + bytes(12)
    header = bytearray(data[:20])
    header[9] = 51
    header[2:4] = struct.pack("!H", len(data) + len(ah))
    return decode_ipv4(bytes(header) + ah + data[20:])


def ko(message: str, counter: str | None, *, counted: bool = False) -> Rejection:
    return Rejection(message, counter, Disposition.KO, advert_counted=counted)


# ----- accepted


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (KEEPALIVED_V2_PASS, RUN1_BACKUP),
        (KEEPALIVED_V3_MULTICAST, V3_MULTICAST),
        (KEEPALIVED_V3_UNICAST, V3_UNICAST),
        (KEEPALIVED_V3_UNICAST, replace(V3_UNICAST, check_unicast_src=True)),
    ],
)
def test_keepalived_adverts_are_accepted_by_a_matching_instance(data, expected):
    assert check_advert(decode_ipv4(data), expected) is None


def test_a_priority_zero_advert_is_accepted():
    stop = replace(V2_PASS, priority=0)
    assert check_advert(received(stop), RUN1_BACKUP) is None


# ----- 1. AH header present exactly when the instance uses AH


def test_ah_header_when_the_instance_does_not_use_ah():
    packet = with_ah(KEEPALIVED_V2_PASS, 112)
    assert check_advert(packet, RUN1_BACKUP) == ko(
        "Received AH header but auth type not AH", "authtype_mismatch"
    )


def test_no_ah_header_when_the_instance_uses_ah():
    expected = replace(RUN1_BACKUP, auth_type=2)
    assert check_advert(received(), expected) == ko("No AH header but auth type is AH", "authtype_mismatch")


# ----- 2. length against what the headers announce


def test_a_packet_longer_than_its_headers_announce():
    packet = decode_ipv4(KEEPALIVED_V2_PASS + b"\0")
    assert check_advert(packet, RUN1_BACKUP) == ko(
        "vrrp packet too long, length 45 and expect 44", "packet_len_err"
    )


def test_a_packet_shorter_than_its_address_count_announces():
    packet = patched(KEEPALIVED_V2_PASS, 23, b"\x03")
    assert check_advert(packet, RUN1_BACKUP) == ko(
        "vrrp packet too short, length 44 and expect 48", "packet_len_err"
    )


def test_the_expected_length_counts_the_ah_header_when_the_instance_uses_ah():
    packet = with_ah(KEEPALIVED_V2_PASS[:-1], 112)
    expected = replace(RUN1_BACKUP, auth_type=2)
    assert check_advert(packet, expected) == ko(
        "vrrp packet too short, length 67 and expect 68", "packet_len_err"
    )


# ----- 3. TTL 255 on multicast


def test_a_multicast_advert_with_a_ttl_below_255():
    packet = received(ttl=64)
    assert check_advert(packet, RUN1_BACKUP) == ko("invalid TTL/HL. Received 64 and expect 255", "ip_ttl_err")


def test_a_unicast_instance_takes_any_ttl():
    packet = received(V3, destination=NODE_B, ttl=64)
    assert check_advert(packet, V3_UNICAST) is None


# ----- 4. version


def test_a_version_other_than_the_instance_s():
    packet = decode_ipv4(KEEPALIVED_V3_MULTICAST)
    assert check_advert(packet, RUN1_BACKUP) == ko("wrong version. Received 3 and expect 2", "vers_err")


# ----- 5-8. VRRPv2 authentication


def test_an_auth_type_vrrpv2_does_not_know():
    packet = received(replace(V2_PASS, auth_type=3))
    assert check_advert(packet, RUN1_BACKUP) == ko("Invalid auth type: 3", "invalid_authtype")


def test_an_auth_type_other_than_the_instance_s():
    packet = received(replace(V2_PASS, auth_type=0, auth_data=bytes(8)))
    assert check_advert(packet, RUN1_BACKUP) == ko("received a 0 auth, expecting 1!", "authtype_mismatch")


def test_a_wrong_password():
    packet = received(replace(V2_PASS, auth_data=b"secret13"))
    assert check_advert(packet, RUN1_BACKUP) == ko("received an invalid passwd!", "auth_failure")


def test_the_password_is_read_where_the_ip_total_length_ends():
    packet = patched(KEEPALIVED_V2_PASS, 2, struct.pack("!H", 43))
    assert check_advert(packet, RUN1_BACKUP) == ko("received an invalid passwd!", "auth_failure")


def test_an_ah_header_for_another_protocol_is_dropped_silently():
    packet = with_ah(V2_AH_TYPE, 6)
    expected = replace(RUN1_BACKUP, auth_type=2)
    assert check_advert(packet, expected) == Rejection(None, None, Disposition.DROP)


def test_an_ah_header_for_vrrp_is_authenticated():
    packet = with_ah(V2_AH_TYPE, 112)  # its ICV is zeros (tests/vrrp/test_ipsec_ah.py signs them)
    expected = replace(RUN1_BACKUP, auth_type=2)
    assert check_advert(packet, expected) == ko(
        "IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !", "auth_failure"
    )


# ----- 9. VRRPv2 interval


def test_a_vrrpv2_interval_other_than_the_instance_s_is_dropped_without_counting():
    packet = received(replace(V2_PASS, advert_int_us=2_000_000))
    assert check_advert(packet, RUN1_BACKUP) == Rejection(
        "advertisement interval mismatch mine=1 sec rcv'd=2 sec", None, Disposition.DROP
    )


def test_a_vrrpv3_interval_is_not_checked():
    packet = received(replace(V3, advert_int_us=2_500_000))
    assert check_advert(packet, V3_MULTICAST) is None


# ----- 10. type


def test_a_packet_type_other_than_advertisement():
    packet = received(replace(V2_PASS, type=2))
    assert check_advert(packet, RUN1_BACKUP) == ko("Invalid packet type. 2 and expect 1", "invalid_type_rcvd")


# ----- 11. address count


def test_an_address_count_other_than_the_instance_s():
    packet = received(replace(V2_PASS, addresses=VIPS[:1]))
    assert check_advert(packet, RUN1_BACKUP) == ko(
        "received an unexpected ip number count 1, expected 2!", "addr_list_err"
    )


def test_addresses_are_not_checked_when_the_caller_says_so():
    packet = received(replace(V2_PASS, addresses=(IPv4Address("10.9.9.9"),)))
    assert check_advert(packet, replace(RUN1_BACKUP, check_addresses=False)) is None


# ----- 12. IP total length


def test_an_ip_total_length_other_than_the_length_received():
    packet = patched(encode_ipv4(V3, source=NODE_A, destination=VRRP_GROUP), 2, struct.pack("!H", 60))
    assert check_advert(packet, V3_MULTICAST) == ko(
        "ip_tot_len mismatch against received length. 60 and received 36", "packet_len_err"
    )


# ----- 13. checksum


def test_a_wrong_vrrpv2_checksum():
    packet = decode_ipv4(with_vrrp_checksum(KEEPALIVED_V2_PASS, 0xC4CE))
    assert check_advert(packet, RUN1_BACKUP) == ko("Invalid VRRPv2 checksum", "chk_err")


def test_a_wrong_vrrpv3_checksum():
    packet = decode_ipv4(with_vrrp_checksum(KEEPALIVED_V3_MULTICAST, 0x3809))
    assert check_advert(packet, V3_MULTICAST) == ko("Invalid VRRPv3 checksum", "chk_err")


def test_a_vrrpv3_checksum_without_pseudo_header_is_refused_as_keepalived_2_2_7_does():
    packet = decode_ipv4(message_only_checksum(KEEPALIVED_V3_MULTICAST))
    assert check_advert(packet, V3_MULTICAST) == ko("Invalid VRRPv3 checksum", "chk_err")


def test_a_vrrpv3_checksum_without_pseudo_header_is_accepted_when_rfc_9568_is_allowed():
    packet = decode_ipv4(message_only_checksum(KEEPALIVED_V3_UNICAST))
    assert check_advert(packet, replace(V3_UNICAST, accept_rfc9568_checksum=True)) is None
    assert not adopts_old_checksum(packet, V3_UNICAST)


def test_the_old_unicast_checksum_is_accepted_and_adopted():
    packet = decode_ipv4(KEEPALIVED_V3_UNICAST_OLD)
    assert check_advert(packet, V3_UNICAST) is None
    assert adopts_old_checksum(packet, V3_UNICAST)


def test_the_old_unicast_checksum_is_refused_when_never_allowed():
    packet = decode_ipv4(KEEPALIVED_V3_UNICAST_OLD)
    expected = replace(V3_UNICAST, unicast_checksum_compat=ChecksumCompat.NEVER)
    assert check_advert(packet, expected) == ko("Invalid VRRPv3 checksum", "chk_err")
    assert not adopts_old_checksum(packet, expected)


@pytest.mark.parametrize("compat", [ChecksumCompat.CONFIG, ChecksumCompat.AUTO])
def test_an_instance_on_the_old_checksum_takes_only_the_old_form(compat):
    expected = replace(V3_UNICAST, unicast_checksum_compat=compat)
    assert check_advert(decode_ipv4(KEEPALIVED_V3_UNICAST_OLD), expected) is None
    assert not adopts_old_checksum(decode_ipv4(KEEPALIVED_V3_UNICAST_OLD), expected)
    assert check_advert(decode_ipv4(KEEPALIVED_V3_UNICAST), expected) == ko(
        "Invalid VRRPv3 checksum", "chk_err"
    )


def test_the_current_checksum_is_not_an_old_one():
    assert not adopts_old_checksum(decode_ipv4(KEEPALIVED_V3_UNICAST), V3_UNICAST)


def test_the_old_checksum_is_adopted_even_when_a_later_check_fails():
    packet = decode_ipv4(KEEPALIVED_V3_UNICAST_OLD)
    expected = replace(V3_UNICAST, vips=(VIPS[0], IPv4Address("10.77.0.102")))
    assert check_advert(packet, expected) is not None
    assert adopts_old_checksum(packet, expected)


def test_the_old_checksum_is_not_adopted_when_an_earlier_check_fails():
    packet = decode_ipv4(KEEPALIVED_V3_UNICAST_OLD)
    expected = replace(V3_UNICAST, vips=VIPS[:1])
    assert check_advert(packet, expected) == ko(
        "received an unexpected ip number count 2, expected 1!", "addr_list_err"
    )
    assert not adopts_old_checksum(packet, expected)


# ----- 14. multicast or unicast as the instance


def test_a_multicast_advert_to_a_unicast_instance():
    packet = decode_ipv4(KEEPALIVED_V3_MULTICAST)
    assert check_advert(packet, V3_UNICAST) == ko(
        "Expected unicast packet but received multicast packet", "addr_list_err"
    )


def test_a_unicast_advert_to_a_multicast_instance():
    packet = decode_ipv4(KEEPALIVED_V3_UNICAST)
    assert check_advert(packet, V3_MULTICAST) == ko(
        "Expected multicast packet but received unicast packet", "addr_list_err"
    )


# ----- 15. every virtual address present (advert_rcvd already counted)


def test_a_virtual_address_missing_from_the_advert():
    packet = decode_ipv4(KEEPALIVED_V2_PASS)
    expected = replace(RUN1_BACKUP, vips=(VIPS[0], IPv4Address("10.77.0.102")))
    assert check_advert(packet, expected) == ko(
        "ip address associated with VRID 77 not present in MASTER advert: 10.77.0.102",
        "addr_list_err",
        counted=True,
    )


def test_virtual_addresses_may_come_in_any_order():
    packet = decode_ipv4(KEEPALIVED_V2_PASS)
    assert check_advert(packet, replace(RUN1_BACKUP, vips=VIPS[::-1])) is None


# ----- 16. unicast source and TTL


def test_a_unicast_source_that_is_not_a_peer():
    expected = replace(V3_UNICAST, unicast_peers=(Peer(IPv4Address("10.77.0.9")),), check_unicast_src=True)
    assert check_advert(decode_ipv4(KEEPALIVED_V3_UNICAST), expected) == ko(
        "unicast source address 10.77.0.1 not a unicast peer", None, counted=True
    )


def test_a_unicast_ttl_outside_the_peer_s_range():
    expected = replace(V3_UNICAST, unicast_peers=((NODE_A, 10, 64),), check_unicast_src=True)
    assert check_advert(decode_ipv4(KEEPALIVED_V3_UNICAST), expected) == ko(
        "TTL/HL 255 not in range 10 - 64", "ip_ttl_err", counted=True
    )


def test_the_unicast_source_is_not_checked_without_check_unicast_src():
    expected = replace(V3_UNICAST, unicast_peers=(Peer(IPv4Address("10.77.0.9")),))
    assert check_advert(decode_ipv4(KEEPALIVED_V3_UNICAST), expected) is None


def test_the_unicast_source_is_not_checked_when_addresses_are_not():
    expected = replace(
        V3_UNICAST,
        unicast_peers=(Peer(IPv4Address("10.77.0.9")),),
        check_unicast_src=True,
        check_addresses=False,
    )
    assert check_advert(decode_ipv4(KEEPALIVED_V3_UNICAST), expected) is None


# ----- order


def test_the_first_failing_check_wins():
    packet = received(replace(V3, type=2), ttl=1)
    assert check_advert(packet, RUN1_BACKUP) == ko("invalid TTL/HL. Received 1 and expect 255", "ip_ttl_err")
