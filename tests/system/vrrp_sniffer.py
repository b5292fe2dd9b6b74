"""The adverts on the LAN, seen from a host that takes no part in VRRP; run inside its namespace:

    vrrp_sniffer.py INTERFACE [6]

One flushed line per VRRP advert received (over IPv6 with `6`): `<monotonic seconds> <source address>
<priority> <source MAC>` (the monotonic clock is the same in every namespace, the one the tests read)."""

from __future__ import annotations

import socket
import sys
import time
from ipaddress import IPv4Address, IPv6Address

ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
VRRP_PROTOCOL = 112
ETHERNET_HEADER = 14
IPV6_HEADER = 40


def sniff(interface: str) -> None:
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP)) as sock:
        sock.bind((interface, ETH_P_IP))
        while True:
            frame = sock.recv(2048)
            at = time.monotonic()
            if len(frame) < ETHERNET_HEADER + 20 or frame[ETHERNET_HEADER + 9] != VRRP_PROTOCOL:
                continue
            vrrp = ETHERNET_HEADER + (frame[ETHERNET_HEADER] & 0x0F) * 4
            if len(frame) >= vrrp + 3:
                source = IPv4Address(frame[ETHERNET_HEADER + 12 : ETHERNET_HEADER + 16])
                print(f"{at:.6f} {source} {frame[vrrp + 2]} {frame[6:12].hex(':')}", flush=True)


def sniff6(interface: str) -> None:
    """The same over IPv6 (adverts follow the IPv6 header directly: no extension headers)."""
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6)) as sock:
        sock.bind((interface, ETH_P_IPV6))
        while True:
            frame = sock.recv(2048)
            at = time.monotonic()
            vrrp = ETHERNET_HEADER + IPV6_HEADER
            if len(frame) < vrrp + 3 or frame[ETHERNET_HEADER + 6] != VRRP_PROTOCOL:
                continue
            source = IPv6Address(frame[ETHERNET_HEADER + 8 : ETHERNET_HEADER + 24])
            print(f"{at:.6f} {source} {frame[vrrp + 2]} {frame[6:12].hex(':')}", flush=True)


if __name__ == "__main__":
    try:
        (sniff6 if sys.argv[2:] == ["6"] else sniff)(sys.argv[1])
    except KeyboardInterrupt:
        sys.exit(130)
