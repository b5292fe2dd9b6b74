"""ARP for virtual IPv4 addresses. Gratuitous ARP as keepalived's vrrp_arp.c sends it: an ARP request for the
address from the address, broadcast over a packet socket that never receives. And what keepalived does
not do: ARP probes for an address (RFC 5227's form: from 0.0.0.0, so that no receiver learns anything from
them) and a watch for other nodes' ARP claiming one of our addresses (a gratuitous ARP, or the answer to a
probe), filtered in the kernel, so that a master can tell when the loser of a split brain has let go of
an address (see VirtualRouter.address_claimed)."""

from __future__ import annotations

import fcntl
import socket
import struct
from collections.abc import Iterable
from ipaddress import IPv4Address
from typing import NamedTuple

from .resource import Resource
from .vrrp_socket import BPF_INSTRUCTION, attach_filter, discard_input

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ARPHRD_ETHER = 1
ARPOP_REQUEST = 1
ETH_ALEN = 6
BROADCAST_MAC = b"\xff" * ETH_ALEN
UNKNOWN_MAC = bytes(ETH_ALEN)
ANY_ADDRESS = IPv4Address(0)
IFF_NOARP = 0x80
SIOCGIFFLAGS = 0x8913
ETHERNET_HEADER = 14
ARP_LENGTH = 28
SENDER_MAC_AT = ETHERNET_HEADER + 8  # in the frame: the ARP sender's hardware then protocol address
SENDER_ADDRESS_AT = SENDER_MAC_AT + ETH_ALEN
# Classic BPF, as <linux/filter.h> and <linux/bpf_common.h> spell it
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_RET_K = 0x06
ACCEPT_WHOLE = 0xFFFF


def gratuitous_arp_frame(mac: bytes, address: IPv4Address) -> bytes:
    """The Ethernet frame: broadcast from `mac`, an ARP request whose sender and target are both the
    address and whose target hardware address is broadcast. 42 bytes: keepalived does not pad it, the
    driver pads it to the Ethernet minimum on the wire."""
    if len(mac) != ETH_ALEN:
        raise ValueError(f"an Ethernet address has {ETH_ALEN} bytes, not {len(mac)}")
    ethernet = BROADCAST_MAC + mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", ARPHRD_ETHER, ETH_P_IP, ETH_ALEN, 4, ARPOP_REQUEST)
    return ethernet + arp + mac + address.packed + BROADCAST_MAC + address.packed


def arp_probe_frame(mac: bytes, address: IPv4Address) -> bytes:
    """RFC 5227's ARP probe: broadcast from `mac`, a request for the address from 0.0.0.0 with an unknown
    target hardware address. A holder of the address answers it (Linux's arp_process answers a request from
    0.0.0.0 for a local address), and no receiver adds or updates a neighbour entry from it."""
    if len(mac) != ETH_ALEN:
        raise ValueError(f"an Ethernet address has {ETH_ALEN} bytes, not {len(mac)}")
    ethernet = BROADCAST_MAC + mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", ARPHRD_ETHER, ETH_P_IP, ETH_ALEN, 4, ARPOP_REQUEST)
    return ethernet + arp + mac + ANY_ADDRESS.packed + UNKNOWN_MAC + address.packed


class Claim(NamedTuple):
    """A received ARP whose sender says it holds `address` at `mac`."""

    address: IPv4Address
    mac: bytes


def claim_filter(addresses: Iterable[IPv4Address]) -> bytes:
    """A classic BPF program passing the ARP frames whose sender protocol address is one of `addresses`,
    and nothing else. (A packet socket bound to ETH_P_ARP gets no frame its host sends.)"""
    wanted = sorted(set(addresses))
    count = len(wanted)
    program = [(BPF_LD_W_ABS, 0, 0, SENDER_ADDRESS_AT)]
    for index, address in enumerate(wanted):
        program.append((BPF_JEQ_K, count - index, 0, int(address)))  # to the accept at the end
    program += [(BPF_RET_K, 0, 0, 0), (BPF_RET_K, 0, 0, ACCEPT_WHOLE)]
    return b"".join(struct.pack(BPF_INSTRUCTION, *instruction) for instruction in program)


def parse_claim(frame: bytes) -> Claim | None:
    """The claim an ARP frame makes (its sender's address and MAC), None if it is not a whole ARP frame
    for IPv4 over Ethernet."""
    if len(frame) < ETHERNET_HEADER + ARP_LENGTH:
        return None
    hardware, protocol, hardware_length, protocol_length = struct.unpack_from("!HHBB", frame, ETHERNET_HEADER)
    if (hardware, protocol, hardware_length, protocol_length) != (ARPHRD_ETHER, ETH_P_IP, ETH_ALEN, 4):
        return None
    mac = frame[SENDER_MAC_AT:SENDER_ADDRESS_AT]
    return Claim(IPv4Address(frame[SENDER_ADDRESS_AT : SENDER_ADDRESS_AT + 4]), mac)


def sending_socket(ifname: str, protocol: int) -> socket.socket:
    """An AF_PACKET socket bound to `ifname` for `protocol`'s frames, receiving nothing (protocol 0 until
    the drop-all filter is on, so that nothing is queued before it)."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        sock.setblocking(False)
        discard_input(sock)
        sock.bind((ifname, protocol))
    except OSError:
        sock.close()
        raise
    return sock


def resolves_neighbours(sock: socket.socket, ifname: str) -> bool:
    """Whether the interface of `sock` (bound to `ifname`) does ARP and neighbour discovery: an Ethernet
    interface without IFF_NOARP."""
    if sock.getsockname()[3] != ARPHRD_ETHER:
        return False
    request = struct.pack("16sh", ifname.encode(), 0)
    flags = struct.unpack_from("16sh", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request))[1]
    return not flags & IFF_NOARP


class ArpSender(Resource):
    """Sends gratuitous ARPs on one interface (AF_PACKET, bound to it, receiving nothing)."""

    def __init__(self, ifname: str) -> None:
        self.ifname = ifname
        self._socket = sending_socket(ifname, ETH_P_ARP)

    @property
    def mac(self) -> bytes:
        """The interface's hardware address now."""
        return self._socket.getsockname()[4]

    def sends_arp(self) -> bool:
        """Whether the interface does ARP: an Ethernet interface without IFF_NOARP (keepalived checks the
        flag before each gratuitous ARP; it does not send on an interface without a hardware address)."""
        return resolves_neighbours(self._socket, self.ifname)

    def send(self, address: IPv4Address) -> bool:
        """Send one gratuitous ARP for the address: False, sending nothing, if the interface does not do
        ARP. OSError as the kernel reports it (ENETDOWN when the interface is down)."""
        if not self.sends_arp():
            return False
        self._socket.send(gratuitous_arp_frame(self.mac, address))
        return True

    def probe(self, address: IPv4Address) -> bool:
        """Send one ARP probe for the address (`arp_probe_frame`); False, sending nothing, if the interface
        does not do ARP. OSError as the kernel reports it."""
        if not self.sends_arp():
            return False
        self._socket.send(arp_probe_frame(self.mac, address))
        return True

    def close(self) -> None:
        self._socket.close()


class ArpWatcher(Resource):
    """Receives, on one interface, the ARP frames from other nodes that claim one of `addresses`; the
    kernel filters out the rest. Non-blocking; `fileno()` for `loop.add_reader`."""

    def __init__(self, ifname: str, addresses: Iterable[IPv4Address]) -> None:
        self.ifname = ifname
        # Protocol 0 until the filter is on, so that nothing it would refuse is queued before it.
        self._socket = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            self._socket.setblocking(False)
            attach_filter(self._socket, claim_filter(addresses))
            self._socket.bind((ifname, ETH_P_ARP))
        except OSError:
            self._socket.close()
            raise

    def receive(self) -> Claim | None:
        """The next claim received, None when none is waiting (a frame that is not a claim is skipped)."""
        while True:
            try:
                frame = self._socket.recv(ETHERNET_HEADER + ARP_LENGTH)
            except BlockingIOError:
                return None
            claim = parse_claim(frame)
            if claim is not None:
                return claim

    def fileno(self) -> int:
        return self._socket.fileno()

    def close(self) -> None:
        self._socket.close()
