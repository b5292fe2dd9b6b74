"""bench/nd_probe.py, the failover bench's IPv6 client: the neighbour solicitation it sends (checked
against hapair's own checksum and, in a network namespace, against the kernel that must answer it) and
the frames it reports (neighbour advertisements from hapair's builder, VRRPv3 adverts from its codec)."""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from hapair.net.ndisc import neighbour_advert_frame
from hapair.vrrp.packet import Advertisement, internet_checksum
from hapair.vrrp.packet6 import VRRP_GROUP6, encode_ipv6
from tests.reference import REPO
from tests.topology import Lan, missing_lab_requirements, wait_until

BENCH = REPO / "bench"
sys.path.insert(0, str(BENCH))  # the prober imports its sibling arp_probe as a script would

import nd_probe  # noqa: E402

MAC = bytes.fromhex("020000000064")
SOURCE = IPv6Address("fd00:101::100")
TARGET = IPv6Address("fd00:101::10")
HOLDER_MAC = bytes.fromhex("0200000000aa")


def ipv6_frame(destination_mac: bytes, source: IPv6Address, destination: IPv6Address, next_header: int,
               payload: bytes) -> bytes:  # fmt: skip
    header = (
        struct.pack("!IHBB", 6 << 28, len(payload), next_header, 255) + source.packed + destination.packed
    )
    return destination_mac + HOLDER_MAC + struct.pack("!H", 0x86DD) + header + payload


def test_the_solicitation_goes_to_the_targets_solicited_node_group_from_us_with_hop_limit_255() -> None:
    frame = nd_probe.neighbour_solicitation(MAC, SOURCE, TARGET)
    assert frame[:6] == bytes.fromhex("3333ff000010")
    assert frame[6:12] == MAC
    assert frame[12:14] == b"\x86\xdd"
    version, length, next_header, hop_limit = struct.unpack_from("!IHBB", frame, 14)
    assert (version >> 28, length, next_header, hop_limit) == (6, 32, 58, 255)
    assert IPv6Address(frame[22:38]) == SOURCE
    assert IPv6Address(frame[38:54]) == IPv6Address("ff02::1:ff00:10")
    assert len(frame) == 54 + length


def test_the_solicitation_asks_for_the_target_and_gives_our_link_layer_address() -> None:
    icmp = nd_probe.neighbour_solicitation(MAC, SOURCE, TARGET)[54:]
    assert (icmp[0], icmp[1], icmp[4:8]) == (135, 0, bytes(4))
    assert IPv6Address(icmp[8:24]) == TARGET
    assert icmp[24:] == bytes((1, 1)) + MAC


def test_the_solicitation_checksum_holds_under_the_ipv6_pseudo_header() -> None:
    frame = nd_probe.neighbour_solicitation(MAC, SOURCE, TARGET)
    icmp = frame[54:]
    pseudo = frame[22:38] + frame[38:54] + struct.pack("!I3xB", len(icmp), 58)
    assert internet_checksum(pseudo + icmp) == 0
    assert icmp[2:4] != bytes(2)


def solicited_answer(target: IPv6Address, to: bytes) -> bytes:
    """A holder's answer to us for `target`: hapair's advertisement frame, sent to `to`."""
    return to + neighbour_advert_frame(HOLDER_MAC, target, router=False)[6:]


def test_an_advertisement_to_us_for_the_target_is_an_answer_with_the_mac_it_gives() -> None:
    assert nd_probe.describe(solicited_answer(TARGET, MAC), MAC, TARGET) == ("A", "02:00:00:00:00:aa")


def test_an_advertisement_without_the_option_answers_with_its_ethernet_source() -> None:
    frame = solicited_answer(TARGET, MAC)[:-8]
    assert nd_probe.describe(frame, MAC, TARGET) == ("A", "02:00:00:00:00:aa")


@pytest.mark.parametrize(
    ("target", "to"),
    [(IPv6Address("fd00:101::11"), MAC), (TARGET, bytes.fromhex("333300000001"))],
    ids=["another-target", "unsolicited"],
)
def test_other_advertisements_are_not_answers(target: IPv6Address, to: bytes) -> None:
    assert nd_probe.describe(solicited_answer(target, to), MAC, TARGET) is None


def test_a_vrrpv3_advert_is_reported_with_its_source_vrid_and_priority() -> None:
    source = IPv6Address("fe80::aa")
    advert = Advertisement(version=3, vrid=70, priority=250, addresses=(TARGET,), advert_int_us=1_000_000)
    message = encode_ipv6(advert, source=source, destination=VRRP_GROUP6)
    frame = ipv6_frame(bytes.fromhex("333300000012"), source, VRRP_GROUP6, 112, message)
    assert nd_probe.describe(frame, MAC, TARGET) == ("V", "fe80::aa 70 250")


def test_an_ipv4_frame_is_not_reported() -> None:
    frame = solicited_answer(TARGET, MAC)
    assert nd_probe.describe(frame[:12] + b"\x08\x00" + frame[14:], MAC, TARGET) is None


@pytest.fixture
def lan(tmp_path: Path) -> Iterator[Lan]:
    reason = missing_lab_requirements()
    if reason:
        pytest.skip(reason)
    with Lan(tmp_path) as built:
        yield built


@pytest.mark.netns
def test_the_kernel_holding_the_target_answers_the_probe_with_its_mac(lan: Lan) -> None:
    holder = lan.host("holder", "10.101.1.11")
    client = lan.host("client", "10.101.1.100")
    holder.namespace.ip("-6", "addr", "add", f"{TARGET}/64", "dev", "eth0", "nodad")
    client.namespace.ip("-6", "addr", "add", f"{SOURCE}/64", "dev", "eth0", "nodad")
    prober = client.start(
        [sys.executable, str(BENCH / "nd_probe.py"), "eth0", str(SOURCE), str(TARGET), "0.05"],
        log_name="probe.log",
    )
    wait_until(lambda: f" {holder.mac()}\n" in prober.log(), 10, "an answer from the holder")
    assert all(line.startswith("A ") for line in prober.lines() if line)
