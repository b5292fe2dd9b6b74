"""The client's view for bench/failover.py over IPv6, run inside the client's network namespace: IPv6's
counterpart of bench/arp_probe.py.

    nd_probe.py INTERFACE SOURCE TARGET [INTERVAL]

Every INTERVAL seconds (default 0.01) it multicasts an ICMPv6 neighbour solicitation for TARGET from
SOURCE to TARGET's solicited-node address, and prints one flushed line per packet of interest, in
arp_probe.py's format, time stamps being `time.monotonic()` (one clock for every namespace, the one the
bench reads too):

    A <seconds> <mac>                          a neighbour advertisement to us for TARGET, with the MAC it
                                               gives (its target link-layer address option)
    V <seconds> <source> <vrid> <priority>     a VRRP advertisement heard on the LAN (IPv6: VRRPv3)

A solicitation, as ARP's request, asks the LAN afresh each time who holds TARGET and is answered by the
kernel of whichever node has the address, whatever the client's neighbour cache says; a ping would go to
the MAC that cache holds, and so measure when the new master's unsolicited advertisement moved it too.
"""

from __future__ import annotations

import struct
import sys
from ipaddress import IPv6Address

from arp_probe import listen  # bench/, the script's own directory

ETH_P_IPV6 = 0x86DD
ICMPV6 = 58
VRRP_PROTOCOL = 112
NEIGHBOUR_SOLICITATION = 135
NEIGHBOUR_ADVERTISEMENT = 136
OPTION_SOURCE_LINK_ADDRESS = 1
OPTION_TARGET_LINK_ADDRESS = 2
NDISC_HOP_LIMIT = 255  # RFC 4861: a receiver drops neighbour discovery that crossed a router
ETHERNET_HEADER = 14
IPV6_HEADER = 40
ICMP = ETHERNET_HEADER + IPV6_HEADER  # where the ICMPv6 message (or the VRRP one) starts in a frame
SOLICITED_NODE_PREFIX = IPv6Address("ff02::1:ff00:0")


def checksum(data: bytes) -> int:
    """RFC 1071's internet checksum (an even number of bytes here)."""
    total = sum(word for (word,) in struct.iter_unpack("!H", data))
    while total > 0xFFFF:
        total = (total >> 16) + (total & 0xFFFF)
    return ~total & 0xFFFF


def solicited_node(target: IPv6Address) -> IPv6Address:
    """The multicast group a node holding `target` listens on for solicitations (RFC 4291 2.7.1)."""
    return IPv6Address(int(SOLICITED_NODE_PREFIX) | int(target) & 0xFFFFFF)


def neighbour_solicitation(mac: bytes, source: IPv6Address, target: IPv6Address) -> bytes:
    """The Ethernet frame asking, from `source` at `mac`, who holds `target`: to its solicited-node group
    (33:33 and the group's last four bytes), hop limit 255, with our link-layer address for the answer."""
    group = solicited_node(target)

    def message(sum_: int) -> bytes:
        header = struct.pack("!BBH4x", NEIGHBOUR_SOLICITATION, 0, sum_)
        return header + target.packed + struct.pack("!BB", OPTION_SOURCE_LINK_ADDRESS, 1) + mac

    length = len(message(0))
    pseudo = source.packed + group.packed + struct.pack("!I3xB", length, ICMPV6)
    ipv6 = struct.pack("!IHBB", 6 << 28, length, ICMPV6, NDISC_HOP_LIMIT) + source.packed + group.packed
    ethernet = b"\x33\x33" + group.packed[-4:] + mac + struct.pack("!H", ETH_P_IPV6)
    return ethernet + ipv6 + message(checksum(pseudo + message(0)))


def describe(frame: bytes, mac: bytes, target: IPv6Address) -> tuple[str, str] | None:
    """A frame of interest's kind and details (the line's words around the time stamp); None for others."""
    if len(frame) < ICMP + 3 or int.from_bytes(frame[12:14], "big") != ETH_P_IPV6:
        return None
    next_header = frame[ETHERNET_HEADER + 6]
    if next_header == VRRP_PROTOCOL:
        source = IPv6Address(frame[ETHERNET_HEADER + 8 : ETHERNET_HEADER + 24])
        return "V", f"{source} {frame[ICMP + 1]} {frame[ICMP + 2]}"
    if (
        next_header == ICMPV6
        and frame[ICMP] == NEIGHBOUR_ADVERTISEMENT
        and frame[ICMP + 8 : ICMP + 24] == target.packed
        and frame[:6] == mac
    ):
        option = frame[ICMP + 24 : ICMP + 32]
        given = option[2:] if option[:2] == bytes((OPTION_TARGET_LINK_ADDRESS, 1)) else frame[6:12]
        return "A", given.hex(":")
    return None


def probe(interface: str, source: IPv6Address, target: IPv6Address, interval: float) -> None:
    listen(
        interface,
        lambda mac: neighbour_solicitation(mac, source, target),
        interval,
        lambda frame, mac: describe(frame, mac, target),
    )


def main(argv: list[str]) -> int:
    interface, source, target = argv[:3]
    interval = float(argv[3]) if len(argv) > 3 else 0.01
    try:
        probe(interface, IPv6Address(source), IPv6Address(target), interval)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
