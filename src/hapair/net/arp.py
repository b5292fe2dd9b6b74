"""Gratuitous ARP for virtual IPv4 addresses, as keepalived's vrrp_arp.c sends it: an ARP request for the
address from the address, broadcast over a packet socket that never receives."""

from __future__ import annotations

import fcntl
import socket
import struct
from ipaddress import IPv4Address

from .resource import Resource
from .vrrp_socket import discard_input

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ARPHRD_ETHER = 1
ARPOP_REQUEST = 1
ETH_ALEN = 6
BROADCAST_MAC = b"\xff" * ETH_ALEN
IFF_NOARP = 0x80
SIOCGIFFLAGS = 0x8913


def gratuitous_arp_frame(mac: bytes, address: IPv4Address) -> bytes:
    """The Ethernet frame: broadcast from `mac`, an ARP request whose sender and target are both the
    address and whose target hardware address is broadcast. 42 bytes: keepalived does not pad it, the
    driver pads it to the Ethernet minimum on the wire."""
    if len(mac) != ETH_ALEN:
        raise ValueError(f"an Ethernet address has {ETH_ALEN} bytes, not {len(mac)}")
    ethernet = BROADCAST_MAC + mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", ARPHRD_ETHER, ETH_P_IP, ETH_ALEN, 4, ARPOP_REQUEST)
    return ethernet + arp + mac + address.packed + BROADCAST_MAC + address.packed


class ArpSender(Resource):
    """Sends gratuitous ARPs on one interface (AF_PACKET, bound to it, receiving nothing)."""

    def __init__(self, ifname: str) -> None:
        self.ifname = ifname
        # Protocol 0 until the drop-all filter is on, so nothing is queued before it.
        self._socket = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            self._socket.setblocking(False)
            discard_input(self._socket)
            self._socket.bind((ifname, ETH_P_ARP))
        except OSError:
            self._socket.close()
            raise

    @property
    def mac(self) -> bytes:
        """The interface's hardware address now."""
        return self._socket.getsockname()[4]

    def sends_arp(self) -> bool:
        """Whether the interface does ARP: an Ethernet interface without IFF_NOARP (keepalived checks the
        flag before each gratuitous ARP; it does not send on an interface without a hardware address)."""
        if self._socket.getsockname()[3] != ARPHRD_ETHER:
            return False
        request = struct.pack("16sh", self.ifname.encode(), 0)
        flags = struct.unpack_from("16sh", fcntl.ioctl(self._socket.fileno(), SIOCGIFFLAGS, request))[1]
        return not flags & IFF_NOARP

    def send(self, address: IPv4Address) -> bool:
        """Send one gratuitous ARP for the address: False, sending nothing, if the interface does not do
        ARP. OSError as the kernel reports it (ENETDOWN when the interface is down)."""
        if not self.sends_arp():
            return False
        self._socket.send(gratuitous_arp_frame(self.mac, address))
        return True

    def close(self) -> None:
        self._socket.close()
