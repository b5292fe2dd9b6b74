"""Properties of the codec and the receive checks over generated packets: decoding never fails but for a
short packet, checking never fails, and encoding then decoding gives the advertisement back."""

from __future__ import annotations

from ipaddress import IPv4Address

from hypothesis import given
from hypothesis import strategies as st

from hapair.config.keepalived.model.vrrp import ChecksumCompat
from hapair.vrrp.checks import Expectation, Peer, Rejection, adopts_old_checksum, check_advert
from hapair.vrrp.packet import (
    VRRP_GROUP,
    Advertisement,
    ChecksumForm,
    PacketTooShort,
    ReceivedPacket,
    checksum_form,
    decode_ipv4,
    encode_ipv4,
)

addresses = st.builds(IPv4Address, st.integers(0, 2**32 - 1))
unicast_addresses = st.builds(IPv4Address, st.integers(0x0A000000, 0x0AFFFFFF))


@st.composite
def advertisements(draw: st.DrawFn) -> Advertisement:
    version = draw(st.sampled_from((2, 3)))
    if version == 2:
        interval = draw(st.integers(0, 255)) * 1_000_000
        auth_type = draw(st.sampled_from((0, 1, 3)))
        auth_data = draw(st.binary(min_size=8, max_size=8))
    else:
        interval = draw(st.integers(0, 4095)) * 10_000
        auth_type, auth_data = 0, bytes(8)
    return Advertisement(
        version=version,
        vrid=draw(st.integers(0, 255)),
        priority=draw(st.integers(0, 255)),
        addresses=tuple(draw(st.lists(addresses, max_size=20))),
        advert_int_us=interval,
        auth_type=auth_type,
        auth_data=auth_data,
        type=draw(st.one_of(st.just(1), st.integers(0, 15))),
    )


expectations = st.builds(
    Expectation,
    version=st.sampled_from((2, 3)),
    auth_type=st.integers(0, 3),
    auth_data=st.binary(min_size=8, max_size=8),
    advert_int_us=st.one_of(
        st.integers(0, 255).map(lambda seconds: seconds * 1_000_000), st.integers(0, 2**32)
    ),
    vips=st.lists(addresses, max_size=5).map(tuple),
    check_addresses=st.booleans(),
    unicast=st.booleans(),
    unicast_peers=st.lists(
        st.builds(Peer, addresses, st.integers(0, 255), st.integers(0, 255)), max_size=3
    ).map(tuple),
    check_unicast_src=st.booleans(),
    unicast_checksum_compat=st.sampled_from(ChecksumCompat),
    group=st.sampled_from((VRRP_GROUP, IPv4Address("224.0.0.19"))),
    accept_rfc9568_checksum=st.booleans(),
)


@st.composite
def damaged_packets(draw: st.DrawFn) -> bytes:
    """A valid packet with a few bytes changed, and maybe cut or lengthened."""
    advert = draw(advertisements())
    destination = draw(st.sampled_from((VRRP_GROUP, IPv4Address("10.0.0.2"))))
    data = bytearray(encode_ipv4(advert, source=IPv4Address("10.0.0.1"), destination=destination))
    for _ in range(draw(st.integers(0, 2))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        return bytes(data[: draw(st.integers(0, len(data)))]) + draw(st.binary(max_size=8))
    return bytes(data)


raw_packets = st.one_of(st.binary(max_size=120), damaged_packets())


def perhaps(draw: st.DrawFn, value: object, other: st.SearchStrategy) -> object:
    return draw(other) if draw(st.integers(0, 7)) == 0 else value


@st.composite
def packets_and_expectations(draw: st.DrawFn) -> tuple[bytes, Expectation]:
    """A damaged packet and an instance expecting, field by field, mostly what the packet was before."""
    data = draw(damaged_packets())
    try:
        packet = decode_ipv4(data)
    except PacketTooShort:
        return data, draw(expectations)
    peer = Peer(packet.source, draw(st.integers(0, 255)), draw(st.integers(0, 255)))
    expected = Expectation(
        version=perhaps(draw, packet.version, st.sampled_from((2, 3))),
        auth_type=perhaps(draw, packet.auth_type, st.integers(0, 3)),
        auth_data=perhaps(draw, packet.auth_data.ljust(8, b"\0"), st.binary(min_size=8, max_size=8)),
        advert_int_us=perhaps(draw, packet.advert_int_us, st.integers(0, 2**32)),
        vips=perhaps(draw, packet.addresses, st.lists(addresses, max_size=5).map(tuple)),
        check_addresses=draw(st.booleans()),
        unicast=perhaps(draw, not packet.destination.is_multicast, st.booleans()),
        unicast_peers=perhaps(draw, (peer,), st.just(())),
        check_unicast_src=draw(st.booleans()),
        unicast_checksum_compat=draw(st.sampled_from(ChecksumCompat)),
        accept_rfc9568_checksum=draw(st.booleans()),
    )
    return data, expected


@given(raw_packets)
def test_decoding_any_bytes_gives_a_packet_or_says_it_is_too_short(data):
    try:
        packet = decode_ipv4(data)
    except PacketTooShort as short:
        assert short.length == len(data)
    else:
        assert isinstance(packet, ReceivedPacket)
        assert packet.data == data


@given(st.one_of(st.tuples(raw_packets, expectations), packets_and_expectations()))
def test_checking_any_decodable_packet_accepts_or_rejects_it(case):
    data, expected = case
    try:
        packet = decode_ipv4(data)
    except PacketTooShort:
        return
    verdict = check_advert(packet, expected)
    assert verdict is None or isinstance(verdict, Rejection)
    assert isinstance(adopts_old_checksum(packet, expected), bool)


@given(
    advertisements(),
    addresses,
    st.sampled_from((VRRP_GROUP, IPv4Address("10.0.0.2"))),
    st.integers(1, 0xFFFF),
)
def test_encoding_then_decoding_gives_the_advertisement_back(advert, source, destination, ident):
    packet = decode_ipv4(encode_ipv4(advert, source=source, destination=destination, ident=ident))
    assert packet.advertisement() == advert
    assert (packet.source, packet.destination, packet.ident) == (source, destination, ident)
    assert packet.total_length == packet.length
    assert checksum_form(packet) in (ChecksumForm.VRRPV2, ChecksumForm.PSEUDO_HEADER)


@given(advertisements(), unicast_addresses, st.booleans())
def test_an_instance_accepts_the_adverts_of_a_peer_configured_like_it(advert, source, unicast):
    advert = Advertisement(
        advert.version,
        advert.vrid,
        advert.priority,
        advert.addresses,
        advert.advert_int_us,
        auth_type=min(advert.auth_type, 1),
        auth_data=advert.auth_data,
    )
    destination = IPv4Address("10.0.0.2") if unicast else VRRP_GROUP
    packet = decode_ipv4(encode_ipv4(advert, source=source, destination=destination))
    expected = Expectation(
        version=advert.version,
        auth_type=advert.auth_type,
        auth_data=advert.auth_data,
        advert_int_us=advert.advert_int_us,
        vips=advert.addresses,
        check_addresses=True,
        unicast=unicast,
        unicast_peers=(Peer(source),),
        check_unicast_src=True,
    )
    assert check_advert(packet, expected) is None
