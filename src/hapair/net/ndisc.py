"""Unsolicited neighbour advertisements for virtual IPv6 addresses, IPv6's gratuitous ARP, as keepalived
2.2.7's vrrp_ndisc.c sends them: a whole Ethernet frame over a packet socket that never receives, from the
interface's MAC to 33:33:00:00:00:01; an IPv6 header from the address itself to ff02::1 with hop limit
255; an ICMPv6 neighbour advertisement for the address with the override flag, the router flag when the
interface forwards IPv6 (net.ipv6.conf.IF.forwarding), and the target link-layer address option.

A neighbour that has an entry for the address takes the new MAC from it (RFC 4861 section 7.2.5: the
override flag); one without an entry ignores it, as it would any unsolicited advertisement."""

from __future__ import annotations

import struct
from ipaddress import IPv6Address
from pathlib import Path

from hapair.vrrp.packet import internet_checksum

from .arp import ETH_ALEN, resolves_neighbours, sending_socket
from .resource import Resource

ETH_P_IPV6 = 0x86DD
ALL_NODES = IPv6Address("ff02::1")
ALL_NODES_MAC = bytes.fromhex("333300000001")
ICMPV6 = 58
NEIGHBOUR_ADVERT = 136
NDISC_HOP_LIMIT = 255
FLAG_ROUTER = 0x80000000
FLAG_OVERRIDE = 0x20000000
OPTION_TARGET_LINK_ADDRESS = 2
NA_LENGTH = 24 + 8  # the advertisement and its target link-layer address option (8 bytes for Ethernet)
_PSEUDO_HEADER = struct.Struct("!16s16sI3xB")


def neighbour_advert_frame(mac: bytes, address: IPv6Address, *, router: bool) -> bytes:
    """The Ethernet frame of keepalived's unsolicited neighbour advertisement for `address` from `mac`
    (86 bytes)."""
    if len(mac) != ETH_ALEN:
        raise ValueError(f"an Ethernet address has {ETH_ALEN} bytes, not {len(mac)}")
    flags = FLAG_OVERRIDE | (FLAG_ROUTER if router else 0)

    def advert(checksum: int) -> bytes:
        header = struct.pack("!BBHI", NEIGHBOUR_ADVERT, 0, checksum, flags)
        option = struct.pack("!BB", OPTION_TARGET_LINK_ADDRESS, 1) + mac
        return header + address.packed + option

    pseudo = _PSEUDO_HEADER.pack(address.packed, ALL_NODES.packed, NA_LENGTH, ICMPV6)
    icmp = advert(internet_checksum(pseudo + advert(0)))
    ipv6 = (
        struct.pack("!IHBB", 6 << 28, NA_LENGTH, ICMPV6, NDISC_HOP_LIMIT) + address.packed + ALL_NODES.packed
    )
    ethernet = ALL_NODES_MAC + mac + struct.pack("!H", ETH_P_IPV6)
    return ethernet + ipv6 + icmp


def forwards_ipv6(ifname: str, proc: Path = Path("/proc/sys/net/ipv6/conf")) -> bool:
    """Whether the interface forwards IPv6 (keepalived's set_ipv6_forwarding): then the advertisements
    carry the router flag, as the kernel's own would."""
    try:
        return (proc / ifname / "forwarding").read_text().strip() not in ("", "0")
    except OSError:
        return False


class NeighbourAdvertiser(Resource):
    """Sends unsolicited neighbour advertisements on one interface (AF_PACKET, bound to it, receiving
    nothing)."""

    def __init__(self, ifname: str) -> None:
        self.ifname = ifname
        self._socket = sending_socket(ifname, ETH_P_IPV6)

    def sends_ndisc(self) -> bool:
        """Whether the interface does neighbour discovery: an Ethernet interface without IFF_NOARP."""
        return resolves_neighbours(self._socket, self.ifname)

    def send(self, address: IPv6Address) -> bool:
        """Send one unsolicited neighbour advertisement for the address: False, sending nothing, if the
        interface does not do neighbour discovery. OSError as the kernel reports it."""
        if not self.sends_ndisc():
            return False
        mac = self._socket.getsockname()[4]
        self._socket.send(neighbour_advert_frame(mac, address, router=forwards_ipv6(self.ifname)))
        return True

    def close(self) -> None:
        self._socket.close()
