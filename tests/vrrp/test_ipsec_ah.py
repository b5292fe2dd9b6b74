"""`auth_type AH`: keepalived 2.2.7's IPsec-AH header, pinned against its adverts captured on a namespace LAN
(recordings/ah_*.hex), its receive checks with keepalived's log lines, the sequence counter, and a pair of
routers on the fake LAN numbering their adverts as keepalived does."""

from __future__ import annotations

import struct
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hapair.config.keepalived.model.vrrp import VrrpState
from hapair.vrrp.actions import Log, SendAdvert
from hapair.vrrp.checks import Disposition, Expectation, Rejection, authenticated_sequence, check_advert
from hapair.vrrp.ipsec_ah import (
    LAST_SEQUENCE,
    SequenceCounter,
    integrity_check_value,
    read_header,
    sign,
)
from hapair.vrrp.packet import PacketTooShort, ReceivedPacket, decode_ipv4, encode_ipv4, internet_checksum

from .fakelan import SECOND, FakeLan, Node, read_instance

RECORDINGS = Path(__file__).with_name("recordings")
MASTER = IPv4Address("10.101.1.11")  # priority 150, auth_pass ah-secret (keepalived keeps 8 characters)
OTHER = IPv4Address("10.101.1.12")
VIP = IPv4Address("10.101.1.10")
KEY = b"ah-secre"
WRONG_KEY = b"wrong-pw"


def recording(name: str) -> list[bytes]:
    lines = (RECORDINGS / name).read_text().splitlines()
    return [bytes.fromhex(line) for line in lines if line and not line.startswith("#")]


MULTICAST = recording("ah_multicast.hex")
UNICAST = recording("ah_unicast.hex")
FROM_MASTER = [data for data in MULTICAST if decode_ipv4(data).source == MASTER]
# the receiver of the captured adverts: node .12 of the recording, seen before any advert arrived
BACKUP = Expectation(
    version=2, auth_type=2, auth_data=KEY, advert_int_us=SECOND, vips=(VIP,), check_addresses=True
)
UNICAST_BACKUP = replace(BACKUP, unicast=True)


def packet_with(data: bytes, offset: int, new: bytes) -> ReceivedPacket:
    return decode_ipv4(data[:offset] + new + data[offset + len(new) :])


def resigned(
    data: bytes, offset: int, new: bytes, key: bytes = KEY, *, unicast: bool = False
) -> ReceivedPacket:
    """The packet with bytes replaced, its ICV computed again (as a sender holding the key would)."""
    changed = bytearray(data[:offset] + new + data[offset + len(new) :])
    changed[32:44] = integrity_check_value(bytes(changed), 20, key, unicast=unicast)
    return decode_ipv4(bytes(changed))


def ko(message: str, *, names_instance: bool = True) -> Rejection:
    return Rejection(message, "auth_failure", Disposition.KO, names_instance=names_instance)


INVALID_ICV = ko("IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !")


# ----- the codec against keepalived's bytes


@pytest.mark.parametrize(
    ("data", "unicast"),
    [(data, False) for data in MULTICAST] + [(data, True) for data in UNICAST],
)
def test_keepalived_ah_adverts_are_rebuilt_byte_for_byte(data, unicast):
    packet = decode_ipv4(data)
    header = read_header(packet)
    key = KEY if packet.source == MASTER else WRONG_KEY
    unsigned = encode_ipv4(packet.advertisement(), source=packet.source, destination=packet.destination)
    assert sign(unsigned, ident=packet.ident, sequence=header.sequence, key=key, unicast=unicast) == data


def test_keepalived_numbers_its_adverts_from_one_and_its_spi_is_its_source():
    headers = [read_header(decode_ipv4(data)) for data in FROM_MASTER]
    assert [h.sequence for h in headers] == list(range(1, 14))
    assert {(h.next_header, h.payload_length, h.reserved, h.spi) for h in headers} == {
        (112, 4, 0, int(MASTER))
    }


def test_the_ip_header_checksum_of_a_signed_advert_is_right():
    packet = decode_ipv4(MULTICAST[0])
    unsigned = encode_ipv4(packet.advertisement(), source=MASTER, destination=packet.destination)
    signed = sign(unsigned, ident=77, sequence=9, key=KEY, unicast=False)
    assert internet_checksum(signed[:20]) == 0
    assert decode_ipv4(signed).ident == 77
    assert read_header(decode_ipv4(signed)).sequence == 9


# ----- the receive checks (keepalived's vrrp_in_chk_ipsecah)


@pytest.mark.parametrize(("data", "expected"), [(MULTICAST[0], BACKUP), (UNICAST[0], UNICAST_BACKUP)])
def test_keepalived_ah_adverts_are_accepted_with_the_password(data, expected):
    packet = decode_ipv4(data)
    assert check_advert(packet, expected) is None
    assert authenticated_sequence(packet, expected) == 1


def test_a_wrong_password_is_refused_with_keepalived_s_line():
    packet = decode_ipv4(MULTICAST[0])
    wrong = replace(BACKUP, auth_data=WRONG_KEY)
    assert check_advert(packet, wrong) == INVALID_ICV
    assert authenticated_sequence(packet, wrong) is None


def test_the_tos_and_the_ip_checksum_are_left_out_of_the_icv_but_not_the_ip_id():
    data = MULTICAST[0]
    assert check_advert(packet_with(data, 1, b"\x00"), BACKUP) is None
    assert check_advert(packet_with(data, 10, b"\xab\xcd"), BACKUP) is None
    assert check_advert(packet_with(data, 4, b"\x00\x02"), BACKUP) == INVALID_ICV


def test_the_ttl_counts_in_the_icv_of_multicast_adverts_only():
    assert check_advert(packet_with(UNICAST[0], 8, b"\x40"), UNICAST_BACKUP) is None
    multicast = packet_with(MULTICAST[0], 8, b"\x40")
    assert check_advert(multicast, replace(BACKUP, unicast=True)) == INVALID_ICV


def test_the_vrrp_message_is_covered():
    assert check_advert(packet_with(MULTICAST[0], 46, b"\xfe"), BACKUP) == INVALID_ICV  # the priority


def test_an_spi_other_than_the_source_is_refused_without_the_instance_s_name():
    packet = resigned(MULTICAST[0], 24, OTHER.packed)
    # keepalived prints both without ntohl: the bytes read in the host's order (little-endian here)
    assert check_advert(packet, BACKUP) == ko(
        "IPSEC AH : invalid IPSEC SPI value. 184640778 and expect 201417994", names_instance=False
    )


@pytest.mark.parametrize("counter", [13, 200])
def test_a_sequence_number_not_above_the_counter_is_a_replay(counter):
    packet = decode_ipv4(FROM_MASTER[12])  # sequence number 13
    assert check_advert(packet, replace(BACKUP, ah_sequence=counter)) == ko(
        f"IPSEC-AH : sequence number 13 already processed. Packet dropped. Local({counter})"
    )
    assert authenticated_sequence(packet, replace(BACKUP, ah_sequence=counter)) is None
    assert check_advert(packet, replace(BACKUP, ah_sequence=12)) is None


def test_the_counter_takes_an_authenticated_number_whatever_the_checks_after_it_say():
    packet = decode_ipv4(FROM_MASTER[4])
    other_interval = replace(BACKUP, advert_int_us=2 * SECOND)
    assert check_advert(packet, other_interval) == Rejection(
        "advertisement interval mismatch mine=2 sec rcv'd=1 sec", None, Disposition.DROP
    )
    assert authenticated_sequence(packet, other_interval) == 5


def test_an_ah_header_for_another_protocol_is_dropped_before_its_icv_is_checked():
    packet = packet_with(MULTICAST[0], 20, b"\x06")
    assert check_advert(packet, BACKUP) == Rejection(None, None, Disposition.DROP)
    assert authenticated_sequence(packet, BACKUP) is None


def test_an_instance_without_ah_takes_no_sequence_number():
    assert authenticated_sequence(decode_ipv4(MULTICAST[0]), replace(BACKUP, auth_type=1)) is None


# ----- the sequence counter


def test_the_counter_numbers_adverts_from_one_and_continues_above_what_it_took():
    counter = SequenceCounter()
    assert (counter.peek(), counter.next_to_send(), counter.next_to_send()) == (1, 1, 2)
    counter.take(40)
    assert counter.next_to_send() == 41


def test_a_lower_priority_master_s_number_is_passed():
    counter = SequenceCounter(number=100, cycle=True)
    counter.sync_above(7)
    assert (counter.number, counter.cycle) == (8, False)
    counter.sync_above(0xFFFFFFFF)
    assert counter.number == 0


def test_past_the_last_number_the_counter_stops_and_restarts_from_zero_on_becoming_master():
    counter = SequenceCounter(number=LAST_SEQUENCE)
    assert counter.next_to_send() == LAST_SEQUENCE + 1
    assert (counter.peek(), counter.next_to_send(), counter.cycle) == (
        LAST_SEQUENCE + 1,
        LAST_SEQUENCE + 1,
        True,
    )
    counter.restart_if_cycled()
    assert (counter.number, counter.cycle, counter.next_to_send()) == (0, False, 1)


def test_a_counter_that_has_not_cycled_is_kept_on_becoming_master():
    counter = SequenceCounter(number=5)
    counter.restart_if_cycled()
    assert counter.number == 5


# ----- never raises on garbage


@given(
    ihl=st.integers(0, 15),
    tail=st.binary(max_size=120),
    counter=st.integers(0, 2**32 - 1),
    unicast=st.booleans(),
)
def test_decoding_and_checking_ah_packets_never_fail_on_garbage(ihl, tail, counter, unicast):
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(tail), 1, 0, 255, 51, 0, MASTER.packed, VIP.packed
    )
    try:
        packet = decode_ipv4(header + tail)
    except PacketTooShort:
        return
    expected = replace(BACKUP, ah_sequence=counter, unicast=unicast)
    rejection = check_advert(packet, expected)
    assert rejection is None or isinstance(rejection, Rejection)
    sequence = authenticated_sequence(packet, expected)
    assert sequence is None or sequence > counter


@given(sequence=st.integers(1, 2**32 - 1), icv=st.binary(min_size=12, max_size=12))
def test_an_advert_with_another_sequence_number_needs_the_key(sequence, icv):
    """Without the key, another sequence number (a replay renumbered) cannot be given a valid ICV."""
    data = MULTICAST[0]
    forged = data[:28] + struct.pack("!I", sequence) + icv + data[44:]
    assume(forged != data)
    assert authenticated_sequence(decode_ipv4(forged), BACKUP) is None


# ----- a pair of routers with AH


def conf(priority: int) -> str:
    return f"""
        vrrp_instance VI_1 {{
            state BACKUP
            interface eth0
            virtual_router_id 51
            priority {priority}
            advert_int 1
            authentication {{
                auth_type AH
                auth_pass ah-secret
            }}
            virtual_ipaddress {{
                10.101.1.10/24
            }}
        }}
        """


def sequences(actions: list) -> list[int | None]:
    return [action.ah_sequence for action in actions if isinstance(action, SendAdvert)]


@pytest.fixture
def pair(tmp_path: Path) -> tuple[FakeLan, Node, Node]:
    lan = FakeLan()
    high = lan.add("high", read_instance(conf(150), str(MASTER), tmp_path), str(MASTER))
    low = lan.add("low", read_instance(conf(100), str(OTHER), tmp_path), str(OTHER))
    return lan, high, low


def test_the_backup_follows_the_master_s_numbers_and_takes_over_above_them(pair):
    lan, high, low = pair
    for node in (high, low):
        lan.start(node)
    lan.run_for(10 * SECOND)
    assert [node.state for node in (high, low)] == [VrrpState.MASTER, VrrpState.BACKUP]
    assert low.router.ah_counter.number == high.router.ah_counter.number > 5
    assert not [line for line in high.logs + low.logs if "IPSEC" in line]
    last = high.router.ah_counter.number
    high.apply(high.router.stop(lan.now))
    high.connected = False  # gone
    lan.run_for(SECOND)  # the skew time of priority 100 (0.61 s) and its first advert, not its second
    assert low.state == VrrpState.MASTER
    # the priority 0 advert carried last + 1, the new master's first advert goes on from there
    assert low.router.ah_counter.number == last + 2


def test_a_master_numbers_its_adverts_one_by_one(pair):
    lan, high, _low = pair
    lan.start(high)
    lan.run_for(4 * SECOND)
    actions = high.router.wake(high.router.deadline() or 0)
    before = high.router.ah_counter.number
    assert sequences(actions) == [before]
    actions = high.router.wake(high.router.deadline() or 0)
    assert sequences(actions) == [before + 1]


def test_after_a_split_brain_the_winner_passes_the_loser_s_numbers_and_wins(pair):
    lan, high, low = pair
    lan.start(low)
    lan.run_for(30 * SECOND)  # the low one has numbered 26 adverts or so
    lan.start(high)
    high.hears_vrrp = False
    lan.run_for(5 * SECOND)
    assert [node.state for node in (high, low)] == [VrrpState.MASTER, VrrpState.MASTER]
    assert high.router.ah_counter.number < low.router.ah_counter.number
    high.hears_vrrp = True
    lan.run_for(3 * SECOND)
    assert [node.state for node in (high, low)] == [VrrpState.MASTER, VrrpState.BACKUP]
    received = high.logs.index(
        "(VI_1) Received advert from 10.101.1.12 with lower priority 100, ours 150, forcing new election"
    )
    assert high.logs[received + 1] == "(VI_1) IPSEC-AH : Syncing seq_num - Increment seq"
    assert any("already processed. Packet dropped." in line for line in low.logs)


def test_a_master_hearing_a_lower_priority_master_answers_two_above_its_number(pair):
    lan, high, low = pair
    lan.start(high)
    lan.run_for(5 * SECOND)
    assert high.state == VrrpState.MASTER
    advert = encode_ipv4(
        low.router.advert(100), source=OTHER, destination=decode_ipv4(MULTICAST[0]).destination
    )
    packet = decode_ipv4(sign(advert, ident=1, sequence=1000, key=KEY, unicast=False))
    actions = high.router.receive(packet, lan.now)
    logs = [action.text for action in actions if isinstance(action, Log)]
    assert logs[:2] == [
        "(VI_1) Received advert from 10.101.1.12 with lower priority 100, ours 150, forcing new election",
        "(VI_1) IPSEC-AH : Syncing seq_num - Increment seq",
    ]
    assert sequences(actions) == [1002]


def test_the_spi_line_is_logged_without_the_instance_s_name(pair):
    lan, _high, low = pair
    lan.start(low)
    packet = resigned(MULTICAST[0], 24, OTHER.packed)
    actions = low.router.receive(packet, lan.now)
    logs = [action.text for action in actions if isinstance(action, Log)]
    assert logs == ["IPSEC AH : invalid IPSEC SPI value. 184640778 and expect 201417994"]
    assert low.router.stats.auth_failure == 1
