"""VrrpSocket between two namespaces: multicast adverts reach the peer untouched and never come back to
their sender; unicast adverts reach the peer's address; a unicast source must be on the interface."""

from __future__ import annotations

import errno
import select
import struct
import time
from ipaddress import IPv4Address

import pytest

from hapair.net.vrrp_socket import VrrpSocket
from hapair.vrrp.packet import VRRP_GROUP
from tests.net.conftest import A_ADDRESS, B_ADDRESS, KEEPALIVED_REASON

pytestmark = pytest.mark.netns
DEADLINE = 5.0
QUEUED_S = 0.2


def checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def advert(source: str, destination: str, vrid: int) -> bytes:
    """A VRRPv2 advert for 192.0.2.100 in an IPv4 packet with TTL 255 (built here, independently of the
    packet codec: the socket carries any bytes)."""
    vrrp = struct.pack(
        "!BBBBBBH4s8s", 0x21, vrid, 100, 1, 0, 1, 0, IPv4Address("192.0.2.100").packed, bytes(8)
    )
    vrrp = vrrp[:6] + struct.pack("!H", checksum(vrrp)) + vrrp[8:]
    fields = (0x45, 0xC0, 20 + len(vrrp), 1, 0, 255, 112, 0)
    header = struct.pack(
        "!BBHHHBBH4s4s", *fields, IPv4Address(source).packed, IPv4Address(destination).packed
    )
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + vrrp


def next_packet(sock: VrrpSocket, deadline: float) -> bytes | None:
    """The next packet the socket receives before the deadline."""
    while (left := deadline - time.monotonic()) > 0:
        if select.select([sock], [], [], left)[0] and (received := sock.receive()) is not None:
            return received.data
    return None


def child_echo(ifname: str, source: str) -> None:
    """Print what the first multicast advert received was, then answer with an advert of VRID 52."""
    with VrrpSocket(ifname) as sock:
        print("ready", flush=True)
        packet = next_packet(sock, time.monotonic() + DEADLINE)
        print(packet.hex() if packet else "nothing", flush=True)
        sock.send(advert(source, str(VRRP_GROUP), 52), VRRP_GROUP)


def child_send_and_listen(ifname: str, source: str) -> None:
    """Send a multicast advert of VRID 51, then print the first packet received (the peer's answer if
    our own advert did not come back first)."""
    with VrrpSocket(ifname) as sock:
        sock.send(advert(source, str(VRRP_GROUP), 51), VRRP_GROUP)
        packet = next_packet(sock, time.monotonic() + DEADLINE)
        print(packet.hex() if packet else "nothing", flush=True)


def child_receive(ifname: str) -> None:
    with VrrpSocket(ifname) as sock:
        print("ready", flush=True)
        packet = next_packet(sock, time.monotonic() + DEADLINE)
        print(packet.hex() if packet else "nothing", flush=True)


def child_unicast_receive(ifname: str, source: str) -> None:
    with VrrpSocket(ifname, unicast_source=IPv4Address(source)) as sock:
        print("ready", flush=True)
        packet = next_packet(sock, time.monotonic() + DEADLINE)
        print(packet.hex() if packet else "nothing", flush=True)


def child_receive_late(ifname: str) -> None:
    """Leave the first packet queued for QUEUED_S before reading it; print, in microseconds on the
    monotonic clock, when the socket became readable, when the packet was read and the time it carries."""
    with VrrpSocket(ifname) as sock:
        print("ready", flush=True)
        assert select.select([sock], [], [], DEADLINE)[0], "no packet"
        readable_us = time.monotonic_ns() // 1000
        time.sleep(QUEUED_S)  # the packet waits in the socket's queue: what the test is about
        received = sock.receive()
        read_us = time.monotonic_ns() // 1000
        assert received is not None
        print(readable_us, read_us, received.at_us, flush=True)


def child_send(ifname: str, source: str) -> None:
    with VrrpSocket(ifname) as sock:
        sock.send(advert(source, str(VRRP_GROUP), 53), VRRP_GROUP)


def child_unicast_send(ifname: str, source: str, peer: str) -> None:
    with VrrpSocket(ifname, unicast_source=IPv4Address(source)) as sock:
        sock.send(advert(source, peer, 61), IPv4Address(peer))


def child_open_unicast(ifname: str, source: str) -> None:
    try:
        VrrpSocket(ifname, unicast_source=IPv4Address(source)).close()
    except OSError as error:
        print(error.errno)


def test_multicast_advert_reaches_the_peer_intact_and_never_its_sender(pair, spawn):
    echo = spawn(pair.b, child_echo, "vb", B_ADDRESS)
    assert echo.line() == "ready"
    sender = spawn(pair.a, child_send_and_listen, "va", A_ADDRESS)

    [received_by_b] = echo.finish()
    [received_by_a] = sender.finish()

    sent = advert(A_ADDRESS, str(VRRP_GROUP), 51)
    assert bytes.fromhex(received_by_b) == sent
    assert bytes.fromhex(received_by_b)[8] == 255  # the TTL
    assert bytes.fromhex(received_by_a) == advert(B_ADDRESS, str(VRRP_GROUP), 52)


def test_a_packet_is_timed_by_its_arrival_not_by_its_reading(pair, spawn):
    receiver = spawn(pair.b, child_receive_late, "vb")
    assert receiver.line() == "ready"
    spawn(pair.a, child_send, "va", A_ADDRESS).finish()

    [line] = receiver.finish()
    readable_us, read_us, arrived_us = map(int, line.split())

    assert arrived_us <= readable_us
    assert read_us - arrived_us >= QUEUED_S * 1_000_000


def test_unicast_advert_reaches_the_peer_address(pair, spawn):
    receiver = spawn(pair.b, child_unicast_receive, "vb", B_ADDRESS)
    assert receiver.line() == "ready"
    spawn(pair.a, child_unicast_send, "va", A_ADDRESS, B_ADDRESS).finish()

    [received] = receiver.finish()

    assert bytes.fromhex(received) == advert(A_ADDRESS, B_ADDRESS, 61)


def test_unicast_source_missing_from_the_interface_is_refused(pair, spawn):
    assert spawn(pair.a, child_open_unicast, "va", "192.0.2.99").finish() == [str(errno.EADDRNOTAVAIL)]


@pytest.mark.oracle
@pytest.mark.skipif(KEEPALIVED_REASON is not None, reason=KEEPALIVED_REASON or "")
def test_adverts_of_keepalived_are_received_whole(pair, spawn, keepalived_master):
    receiver = spawn(pair.a, child_receive, "va")
    assert receiver.line() == "ready"
    keepalived_master(pair.b)

    [received] = receiver.finish()

    packet = bytes.fromhex(received)
    assert (packet[8], packet[9]) == (255, 112)  # TTL, protocol
    assert (IPv4Address(packet[12:16]), IPv4Address(packet[16:20])) == (IPv4Address(B_ADDRESS), VRRP_GROUP)
    assert tuple(packet[20:23]) == (0x21, 51, 255)  # VRRPv2 advert, VRID, priority
