"""The client's view for bench/failover.py, run inside the client's network namespace:

    arp_probe.py INTERFACE SOURCE TARGET [INTERVAL]

Every INTERVAL seconds (default 0.01) it broadcasts an ARP request for TARGET from SOURCE, and prints one
flushed line per packet of interest, time stamps being `time.monotonic()` (one clock for every namespace,
the one the bench reads too):

    A <seconds> <mac>                          an ARP reply to us from TARGET's owner, with its MAC
    V <seconds> <source> <vrid> <priority>     a VRRP advertisement heard on the LAN
"""

from __future__ import annotations

import select
import socket
import struct
import sys
import time
from collections.abc import Callable
from ipaddress import IPv4Address

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ARP_REQUEST = 1
ARP_REPLY = 2
PACKET_OUTGOING = 4
VRRP_PROTOCOL = 112
ETHERNET_HEADER = 14
BROADCAST = b"\xff" * 6


def arp_request(mac: bytes, source: IPv4Address, target: IPv4Address) -> bytes:
    ethernet = BROADCAST + mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack(
        "!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, ARP_REQUEST, mac, source.packed, bytes(6), target.packed
    )
    return ethernet + arp


def describe(frame: bytes, mac: bytes, target: IPv4Address) -> tuple[str, str] | None:
    """A frame of interest's kind and details (the line's words around the time stamp); None for others."""
    ethertype = int.from_bytes(frame[12:14], "big")
    if ethertype == ETH_P_ARP and len(frame) >= ETHERNET_HEADER + 28:
        operation, sender_mac, sender_ip = struct.unpack_from("!H6s4s", frame, ETHERNET_HEADER + 6)
        if operation == ARP_REPLY and sender_ip == target.packed and frame[:6] == mac:
            return "A", sender_mac.hex(":")
    elif ethertype == ETH_P_IP and len(frame) >= ETHERNET_HEADER + 20 and frame[23] == VRRP_PROTOCOL:
        header = (frame[ETHERNET_HEADER] & 0x0F) * 4
        vrrp = ETHERNET_HEADER + header
        if len(frame) >= vrrp + 3:
            source = IPv4Address(frame[26:30])
            return "V", f"{source} {frame[vrrp + 1]} {frame[vrrp + 2]}"
    return None


def probe(interface: str, source: IPv4Address, target: IPv4Address, interval: float) -> None:
    listen(
        interface,
        lambda mac: arp_request(mac, source, target),
        interval,
        lambda frame, mac: describe(frame, mac, target),
    )


def listen(
    interface: str,
    request: Callable[[bytes], bytes],
    interval: float,
    describe: Callable[[bytes, bytes], tuple[str, str] | None],
) -> None:
    """Send `request(our MAC)` every `interval` seconds and print a line for each frame received that
    `describe(frame, our MAC)` tells of (bench/nd_probe.py's loop too)."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((interface, ETH_P_ALL))
    mac = sock.getsockname()[4]
    frame_to_send = request(mac)
    next_send = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= next_send:
            sock.send(frame_to_send)
            next_send = max(next_send + interval, now)  # after a stall, no burst of catching up
        readable, _, _ = select.select([sock], [], [], max(0.0, next_send - time.monotonic()))
        if not readable:
            continue
        frame, address = sock.recvfrom(2048)
        at = time.monotonic()
        if address[0] != interface or address[2] == PACKET_OUTGOING:
            continue
        described = describe(frame, mac)
        if described is not None:
            kind, details = described
            print(f"{kind} {at:.6f} {details}", flush=True)


def main(argv: list[str]) -> int:
    interface, source, target = argv[:3]
    interval = float(argv[3]) if len(argv) > 3 else 0.01
    try:
        probe(interface, IPv4Address(source), IPv4Address(target), interval)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
