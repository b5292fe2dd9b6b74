"""Gratuitous ARP: the frame keepalived sends, byte for byte, and a real one updating the peer's neighbour
entry; an interface with ARP off gets none. ARP probes and the watch for claims to our addresses: a
holder answers a probe without learning anything from it, and the watcher passes only claims to the
addresses it watches."""

from __future__ import annotations

import json
import select
import socket
import struct
import time
from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hapair.net.arp import (
    ETH_P_ARP,
    ArpSender,
    ArpWatcher,
    Claim,
    arp_probe_frame,
    gratuitous_arp_frame,
    parse_claim,
)
from tests.net.conftest import KEEPALIVED_REASON, wait_for

VIP = IPv4Address("192.0.2.100")
OTHER = IPv4Address("192.0.2.101")
STALE_MAC = "02:00:00:00:00:99"


def test_frame_is_a_broadcast_arp_request_for_the_address_from_the_address():
    frame = gratuitous_arp_frame(bytes.fromhex("020000000001"), VIP)

    assert frame.hex() == (
        "ffffffffffff"
        "020000000001"
        "0806"  # Ethernet: broadcast, from us, ARP
        "0001"
        "0800"
        "06"
        "04"
        "0001"  # Ethernet/IPv4, request
        "020000000001"
        "c0000264"  # sender: our MAC, the address
        "ffffffffffff"
        "c0000264"  # target: broadcast, the address
    )


@given(mac=st.binary(min_size=6, max_size=6), address=st.ip_addresses(v=4))
def test_frame_carries_any_mac_and_address_unpadded(mac, address):
    frame = gratuitous_arp_frame(mac, address)

    assert len(frame) == 42
    assert struct.unpack("!6s6sHHHBBH6s4s6s4s", frame) == (
        b"\xff" * 6,
        mac,
        0x0806,
        1,
        0x0800,
        6,
        4,
        1,
        mac,
        address.packed,
        b"\xff" * 6,
        address.packed,
    )


@pytest.mark.parametrize("length", [0, 5, 7, 20])
def test_frame_refuses_an_address_that_is_not_ethernet(length):
    with pytest.raises(ValueError):
        gratuitous_arp_frame(bytes(length), VIP)


def test_probe_is_a_broadcast_request_for_the_address_from_no_address():
    frame = arp_probe_frame(bytes.fromhex("020000000001"), VIP)

    assert frame.hex() == (
        "ffffffffffff"
        "020000000001"
        "0806"  # Ethernet: broadcast, from us, ARP
        "0001"
        "0800"
        "06"
        "04"
        "0001"  # Ethernet/IPv4, request
        "020000000001"
        "00000000"  # sender: our MAC, 0.0.0.0
        "000000000000"
        "c0000264"  # target: unknown, the address
    )


def test_a_gratuitous_arp_claims_its_address_for_its_sender():
    mac = bytes.fromhex("020000000007")
    assert parse_claim(gratuitous_arp_frame(mac, VIP)) == Claim(VIP, mac)


@pytest.mark.parametrize("cut", [0, 14, 41])
def test_a_frame_too_short_for_arp_claims_nothing(cut):
    assert parse_claim(gratuitous_arp_frame(bytes(6), VIP)[:cut]) is None


def test_arp_for_another_protocol_claims_nothing():
    frame = bytearray(gratuitous_arp_frame(bytes(6), VIP))
    frame[16:18] = b"\x86\xdd"  # protocol IPv6
    assert parse_claim(bytes(frame)) is None


def child_send(ifname: str, address: str) -> None:
    with ArpSender(ifname) as sender:
        print(sender.mac.hex(":"), sender.send(IPv4Address(address)))


def child_capture_arp(ifname: str, address: str) -> None:
    """Print the first ARP frame received that is sent from the address."""
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as capture:
        capture.bind((ifname, ETH_P_ARP))
        print("ready", flush=True)
        deadline = time.monotonic() + 5
        while (left := deadline - time.monotonic()) > 0:
            if select.select([capture], [], [], left)[0]:
                frame = capture.recv(2048)
                if frame[28:32] == IPv4Address(address).packed:
                    print(frame.hex(), flush=True)
                    return
        print("nothing")


def neighbour(namespace, ifname: str, address: IPv4Address) -> str | None:
    entries = json.loads(namespace.ip("-j", "neigh", "show", str(address), "dev", ifname).stdout)
    return entries[0].get("lladdr") if entries else None


def link_mac(namespace, ifname: str) -> str:
    return json.loads(namespace.ip("-j", "link", "show", ifname).stdout)[0]["address"]


@pytest.mark.netns
def test_gratuitous_arp_updates_the_peer_neighbour_entry(pair, spawn):
    # Without arp_accept the kernel does not create an entry from a gratuitous ARP, it updates one.
    pair.b.ip("neigh", "add", str(VIP), "lladdr", STALE_MAC, "dev", "vb", "nud", "stale")

    [printed] = spawn(pair.a, child_send, "va", str(VIP)).finish()

    mac = link_mac(pair.a, "va")
    assert printed == f"{mac} True"
    assert wait_for(lambda: neighbour(pair.b, "vb", VIP) == mac)


@pytest.mark.netns
def test_interface_without_arp_gets_no_gratuitous_arp(pair, spawn):
    pair.a.ip("link", "set", "va", "arp", "off")

    [printed] = spawn(pair.a, child_send, "va", str(VIP)).finish()

    assert printed == f"{link_mac(pair.a, 'va')} False"


@pytest.mark.oracle
@pytest.mark.netns
@pytest.mark.skipif(KEEPALIVED_REASON is not None, reason=KEEPALIVED_REASON or "")
def test_keepalived_sends_the_same_frame(pair, spawn, keepalived_master):
    capture = spawn(pair.a, child_capture_arp, "va", str(VIP))
    assert capture.line() == "ready"
    keepalived_master(pair.b)

    [received] = capture.finish()

    assert bytes.fromhex(received) == gratuitous_arp_frame(
        bytes.fromhex(link_mac(pair.b, "vb").replace(":", "")), VIP
    )


def child_watch(ifname: str, address: str, probe: str) -> None:
    """Watch for claims to the address, say ready, probe for it if asked, print the first claim."""
    with ArpWatcher(ifname, [IPv4Address(address)]) as watcher, ArpSender(ifname) as sender:
        print("ready", flush=True)
        if probe == "probe":
            sender.probe(IPv4Address(address))
        deadline = time.monotonic() + 5
        while (left := deadline - time.monotonic()) > 0:
            if select.select([watcher], [], [], left)[0] and (claim := watcher.receive()) is not None:
                print(claim.address, claim.mac.hex(":"), flush=True)
                return
        print("nothing")


def child_announce(ifname: str, *addresses: str) -> None:
    with ArpSender(ifname) as sender:
        for address in addresses:
            sender.send(IPv4Address(address))


@pytest.mark.netns
def test_the_holder_of_an_address_answers_a_probe_and_learns_nothing_from_it(pair, spawn):
    pair.b.ip("addr", "add", f"{VIP}/24", "dev", "vb")
    watch = spawn(pair.a, child_watch, "va", str(VIP), "probe")
    assert watch.line() == "ready"

    claim = watch.line()  # line() reads ahead: finish() would not see a line printed right after "ready"
    watch.finish()

    assert claim == f"{VIP} {link_mac(pair.b, 'vb')}"
    assert json.loads(pair.b.ip("-j", "neigh", "show", "dev", "vb").stdout) == []


@pytest.mark.netns
def test_the_watcher_passes_only_claims_to_its_addresses(pair, spawn):
    watch = spawn(pair.a, child_watch, "va", str(VIP), "listen")
    assert watch.line() == "ready"

    spawn(pair.b, child_announce, "vb", str(OTHER), str(VIP)).finish()

    assert watch.line() == f"{VIP} {link_mac(pair.b, 'vb')}"
    watch.finish()
