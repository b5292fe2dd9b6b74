"""Socket addresses, written as nginx writes them (ngx_sock_ntop)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class InetAddress:
    ip: IpAddress
    port: int

    @property
    def family(self) -> int:
        return socket.AF_INET if self.ip.version == 4 else socket.AF_INET6

    @property
    def wildcard(self) -> bool:
        return self.ip.is_unspecified

    @property
    def text(self) -> str:
        """`1.2.3.4:80`, `[::1]:80`."""
        if isinstance(self.ip, ipaddress.IPv6Address):
            return f"[{ipv6_text(self.ip)}]:{self.port}"
        return f"{self.ip}:{self.port}"

    @property
    def sockaddr(self) -> tuple[str, int]:
        return (str(self.ip), self.port)


@dataclass(frozen=True, slots=True)
class UnixAddress:
    path: str

    family = socket.AF_UNIX
    wildcard = False

    @property
    def text(self) -> str:
        return f"unix:{self.path}"

    @property
    def sockaddr(self) -> str:
        return self.path


SocketAddress = InetAddress | UnixAddress


def ipv6_text(ip: ipaddress.IPv6Address) -> str:
    """ngx_inet6_ntop: the longest run of zero groups (two or more) as `::`, the first if several are as
    long; IPv4-mapped and IPv4-compatible addresses end in dotted decimal."""
    packed = ip.packed
    groups = [packed[i] * 256 + packed[i + 1] for i in range(0, 16, 2)]
    zero, longest = _longest_zero_run(groups)
    count = 8
    out = ""
    if zero == 0:
        if (
            (longest == 5 and groups[5] == 0xFFFF)
            or longest == 6
            or (longest == 7 and packed[14] != 0 and packed[15] != 1)
        ):
            count = 6
        out = ":"
    i = 0
    while i < count:
        if i == zero:
            out += ":"
            i += longest
            continue
        out += f"{groups[i]:x}"
        if i < 7:
            out += ":"
        i += 1
    if count == 6:
        out += ".".join(str(b) for b in packed[12:])
    return out


def _longest_zero_run(groups: list[int]) -> tuple[int, int]:
    """(index, length) of the first longest run of at least two zero groups, or (-1, 1)."""
    zero, longest, run, last = -1, 1, 0, -1
    for i, group in enumerate(groups):
        if group:
            if longest < run:
                zero, longest = last, run
            run = 0
            continue
        if run == 0:
            last = i
        run += 1
    if longest < run:
        zero, longest = last, run
    return zero, longest
