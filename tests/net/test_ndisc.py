"""The unsolicited neighbour advertisement keepalived sends for a virtual IPv6 address, byte for byte."""

from __future__ import annotations

import struct
from ipaddress import IPv6Address
from pathlib import Path

from hapair.net.ndisc import forwards_ipv6, neighbour_advert_frame
from hapair.vrrp.packet import internet_checksum

MAC = bytes.fromhex("020000000001")
ADDRESS = IPv6Address("2001:db8::66")


def test_the_frame_goes_from_the_address_to_all_nodes_with_override_and_the_mac_option() -> None:
    frame = neighbour_advert_frame(MAC, ADDRESS, router=False)
    assert len(frame) == 14 + 40 + 32
    assert frame[:14] == bytes.fromhex("333300000001") + MAC + b"\x86\xdd"
    version, payload, next_header, hop_limit = struct.unpack_from("!IHBB", frame, 14)
    assert (version >> 28, payload, next_header, hop_limit) == (6, 32, 58, 255)
    assert frame[22:38] == ADDRESS.packed
    assert frame[38:54] == IPv6Address("ff02::1").packed
    icmp = frame[54:]
    assert icmp[0:2] == bytes([136, 0])
    assert icmp[4] == 0x20  # override, neither router nor solicited
    assert icmp[8:24] == ADDRESS.packed
    assert icmp[24:] == bytes([2, 1]) + MAC
    pseudo = frame[22:54] + struct.pack("!I3xB", len(icmp), 58)
    assert internet_checksum(pseudo + icmp) == 0


def test_the_router_flag_is_set_for_an_interface_that_forwards(tmp_path: Path) -> None:
    assert neighbour_advert_frame(MAC, ADDRESS, router=True)[54 + 4] == 0xA0
    (tmp_path / "eth0").mkdir()
    (tmp_path / "eth0" / "forwarding").write_text("1\n")
    (tmp_path / "eth1").mkdir()
    (tmp_path / "eth1" / "forwarding").write_text("0\n")
    assert forwards_ipv6("eth0", tmp_path)
    assert not forwards_ipv6("eth1", tmp_path)
    assert not forwards_ipv6("eth2", tmp_path)
