"""The realip module (ngx_http_realip_module): a request from a trusted address (`set_real_ip_from`) takes
the client address its proxy passed in a header (`real_ip_header`: X-Real-IP, X-Forwarded-For or any
other), so that `$remote_addr`, `$remote_port`, `$binary_remote_addr`, the access rules, the limits'
keys, `ip_hash` and the error log's `client:` see it. `$realip_remote_addr` and `$realip_remote_port`
keep the connection's.

It runs in nginx's post-read phase with the server's settings (before the server's rewrite directives),
and again in the pre-access phase with the location's when the first found nothing; once it changed the
address, the request keeps it (internal redirects included). The address is the request's: the next
request on the connection starts from the connection's again.

`forwarded_address` is nginx's ngx_http_get_forwarded_addr: walking an X-Forwarded-For list from its end
(`recursive`: past every trusted address) to the client's address.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TYPE_CHECKING

from hapair.config.nginx.model.access import Cidr, RealIp, RealIpSource
from hapair.config.nginx.model.addresses import ipv6_text
from hapair.config.nginx.numbers import atoi
from hapair.config.nginx.urls import inet6_addr, inet_addr

from .exchange import NEXT

if TYPE_CHECKING:
    from .exchange import Exchange

_V4_MAPPED = 0xFFFF << 32
_V4_MAPPED_MASK = ((1 << 96) - 1) << 32
_SEPARATORS = b" ,"
_NONE = b"\xff\xff\xff\xff"  # 255.255.255.255, nginx's INADDR_NONE: not an address


@dataclass(slots=True)
class Address:
    """A client address: its family, its packed bytes (empty for a unix socket) and its port (0: none)."""

    family: int
    packed: bytes
    port: int

    @property
    def text(self) -> str:
        """As nginx writes it (ngx_sock_ntop without the port)."""
        if self.family == socket.AF_INET:
            return socket.inet_ntop(socket.AF_INET, self.packed)
        if self.family == socket.AF_INET6:
            return ipv6_text(IPv6Address(self.packed))
        return "unix:"


class Trusted:
    """`set_real_ip_from`'s blocks, by family, matched as ngx_cidr_match does: an IPv4-mapped IPv6
    address is matched as the IPv4 address it holds."""

    __slots__ = ("_inet", "_inet6", "_unix")

    def __init__(self, blocks: Sequence[Cidr]) -> None:
        self._inet = tuple((block.mask, block.address) for block in blocks if block.family == socket.AF_INET)
        self._inet6 = tuple(
            (block.mask, block.address) for block in blocks if block.family == socket.AF_INET6
        )
        self._unix = any(block.family == socket.AF_UNIX for block in blocks)

    def __contains__(self, address: Address) -> bool:
        if address.family == socket.AF_UNIX:
            return self._unix
        value = int.from_bytes(address.packed, "big")
        blocks = self._inet
        if address.family == socket.AF_INET6:
            if value & _V4_MAPPED_MASK == _V4_MAPPED:
                value &= 0xFFFFFFFF
            else:
                blocks = self._inet6
        return any(value & mask == network for mask, network in blocks)


def parse_address(text: bytes) -> Address | None:
    """ngx_parse_addr_port: an IPv4 or IPv6 address, or one with a port (`1.2.3.4:80`, `[::1]:80`)."""
    found = parse_addr(text)
    if found is not None:
        return found
    if text.startswith(b"["):
        close = text.find(b"]")
        if close < 0 or close == len(text) - 1 or text[close + 1 : close + 2] != b":":
            return None
        host, port_text = text[1:close], text[close + 2 :]
    else:
        colon = text.find(b":")
        if colon < 0:
            return None
        host, port_text = text[:colon], text[colon + 1 :]
    port = atoi(port_text.decode("latin-1"))
    if port is None or not 1 <= port <= 65535:
        return None
    found = parse_addr(host)
    return None if found is None else Address(found.family, found.packed, port)


def parse_addr(text: bytes) -> Address | None:
    """ngx_parse_addr: an address without a port (a plain dotted quad the fast way, else nginx's rules)."""
    try:
        decoded = text.decode("ascii")
    except UnicodeDecodeError:
        return None
    try:
        packed = socket.inet_pton(socket.AF_INET, decoded)
    except OSError:
        ipv4 = inet_addr(decoded)
        packed = ipv4.packed if ipv4 is not None else _NONE
    if packed != _NONE:
        return Address(socket.AF_INET, packed, 0)
    ipv6 = inet6_addr(decoded)
    if ipv6 is not None:
        return Address(socket.AF_INET6, ipv6.packed, 0)
    return None


def forwarded_address(
    address: Address, values: Sequence[bytes], trusted: Trusted, *, recursive: bool
) -> Address | None:
    """The client's address from `values` (the header's values, last one last), when `address` (the
    connection's) is trusted; None when nothing changes."""
    found: Address | None = None
    for value in reversed(values):
        last, complete = _from_list(address if found is None else found, value, trusted, recursive=recursive)
        if last is not None:
            found = last
        if not recursive or not complete:
            break
    return found


def _from_list(
    address: Address, value: bytes, trusted: Trusted, *, recursive: bool
) -> tuple[Address | None, bool]:
    """One header value, from its end: the last address taken, and whether the walk went through the
    whole list (every address in it trusted), so that it may go on in the header before."""
    found: Address | None = None
    end = len(value)
    while True:
        if (address if found is None else found) not in trusted:
            return found, False
        while end > 1 and value[end - 1] in _SEPARATORS:
            end -= 1
        start = max(value.rfind(b" ", 1, end), value.rfind(b",", 1, end)) + 1
        parsed = parse_address(value[start:end]) if end > start else None
        if parsed is None:
            return found, False
        found = parsed
        end = start - 1
        if not recursive or start <= 0:
            return found, True


class RealIpStep:
    """The module at one level: `__call__` is its phase handler."""

    __slots__ = ("_every", "_name", "_proxy_protocol", "_recursive", "_trusted")

    def __init__(self, settings: RealIp) -> None:
        self._trusted = Trusted(settings.trusted)
        self._recursive = settings.recursive
        names = {RealIpSource.X_REAL_IP: "x-real-ip", RealIpSource.X_FORWARDED_FOR: "x-forwarded-for"}
        self._name = names.get(settings.source, settings.header).encode("utf-8", "surrogateescape")
        self._every = settings.source is RealIpSource.X_FORWARDED_FOR  # else the first only
        self._proxy_protocol = settings.source is RealIpSource.PROXY_PROTOCOL

    def __call__(self, ex: Exchange) -> int:
        if ex.realip:
            return NEXT
        address = connection_address(ex)
        if address not in self._trusted:
            return NEXT
        values = self._values(ex)
        if not values:
            return NEXT
        found = forwarded_address(address, values, self._trusted, recursive=self._recursive)
        header = ex.client.proxy_header
        if found is not None and self._proxy_protocol and header is not None:
            found.port = header.source_port  # the header's port, whatever the address said
        if found is not None:
            ex.realip = True
            ex.remote_addr = found.text
            ex.remote_port = found.port
            ex.binary_remote_addr = found.packed.decode("latin-1")
        return NEXT

    def _values(self, ex: Exchange) -> list[bytes]:
        if self._proxy_protocol:
            header = ex.client.proxy_header
            return [] if header is None else [header.source.encode("ascii")]
        name = self._name
        values = [value for key, value in ex.request.headers if key.lower() == name]
        return values if self._every else values[:1]


def connection_address(ex: Exchange) -> Address:
    client = ex.client
    packed = client.binary_remote_addr.encode("latin-1")
    if not packed:
        return Address(socket.AF_UNIX, b"", 0)
    family = socket.AF_INET if len(packed) == 4 else socket.AF_INET6
    return Address(family, packed, client.remote_port)
