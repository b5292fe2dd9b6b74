"""The PROXY protocol (HAProxy's, versions 1 and 2), as nginx 1.22 reads and writes it (ngx_proxy_protocol.c):
a pure codec, no I/O.

`read_header(data)` reads a header at the start of `data` (what one read of the connection gave, at most
`MAX_HEADER` bytes as nginx peeks them): the bytes it takes and what it says, or `HeaderError` with
nginx's error log text. nginx's reading, kept:

- version 1: `PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n`, the addresses kept as written (any of
  `0-9a-fA-F:.`, not checked further), the ports decimal up to 65535; `PROXY UNKNOWN...\r\n` is taken
  and says nothing. Anything else, or a header not complete in `data`, is `broken header: "DATA"`.
- version 2 (the 12-byte signature): a version other than 2 is `unknown PROXY protocol version: N`; a
  length beyond `data` is `header is too large`; a command other than PROXY (LOCAL), a transport other
  than STREAM, or a family other than INET and INET6 (UNSPEC, UNIX) is taken and says nothing; an address
  block too short for its family is refused without a line. TLVs are skipped.

`write_v1` and `write_v2` make a header (nginx sends version 1: `proxy_protocol on`).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from hapair.config.nginx.model.addresses import ipv6_text

MAX_HEADER = 107  # NGX_PROXY_PROTOCOL_MAX_HEADER: what nginx reads of a header at most
SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
_V2_HEADER = struct.Struct("!12sBBH")  # signature, version and command, family and transport, length
_INET = struct.Struct("!4s4sHH")
_INET6 = struct.Struct("!16s16sHH")
_ADDRESS_CHARACTERS = frozenset(b":.0123456789abcdefABCDEF")
_FAMILIES = {1: (_INET, 4), 2: (_INET6, 6)}  # v2 address families: AF_INET, AF_INET6
_COMMAND_PROXY = 1
_TRANSPORT_STREAM = 1


@dataclass(frozen=True, slots=True)
class ProxyAddresses:
    """What a header says of the connection: its client (`source`) and the address it came to."""

    source: str  # as nginx keeps it: v1's text as written, v2's printed as ngx_sock_ntop prints
    source_port: int
    destination: str
    destination_port: int


@dataclass(frozen=True, slots=True)
class Header:
    """A header read: its length, and its addresses (None: UNKNOWN, LOCAL, or a family nginx skips)."""

    length: int
    addresses: ProxyAddresses | None


class HeaderError(ValueError):
    """A header nginx refuses; `str()` is nginx's error log text, "" where nginx logs nothing."""


def read_header(data: bytes) -> Header:
    if len(data) >= _V2_HEADER.size and data.startswith(SIGNATURE):
        return _read_v2(data)
    return _read_v1(data)


def _broken(data: bytes) -> HeaderError:
    return HeaderError(
        f'broken header: "{data.decode("utf-8", "surrogateescape")}"'
    )  # the bytes as they came


def _read_v1(data: bytes) -> Header:
    if len(data) < 8 or not data.startswith(b"PROXY "):
        raise _broken(data)
    if data.startswith(b"UNKNOWN", 6):
        end = data.find(b"\r\n", 13)
        if end < 0:
            raise _broken(data)
        return Header(end + 2, None)
    if not (data.startswith(b"TCP", 6) and data[9:10] in (b"4", b"6") and data[10:11] == b" "):
        raise _broken(data)
    source, at = _address(data, 11)
    destination, at = _address(data, at)
    source_port, at = _port(data, at, b" ")
    destination_port, at = _port(data, at, b"\r")
    if at >= len(data) or data[at] != ord("\n"):
        raise _broken(data)
    return Header(at + 1, ProxyAddresses(source, source_port, destination, destination_port))


def _address(data: bytes, start: int) -> tuple[str, int]:
    """The text up to the next space (made of address characters only, maybe none) and where the next
    field starts."""
    end = data.find(b" ", start)
    if end < 0 or not set(data[start:end]) <= _ADDRESS_CHARACTERS:
        raise _broken(data)
    return data[start:end].decode("ascii"), end + 1


def _port(data: bytes, start: int, separator: bytes) -> tuple[int, int]:
    end = data.find(separator, start)
    if end < 0:
        raise _broken(data)
    digits = data[start:end]
    if not digits.isdigit() or int(digits) > 65535:
        raise _broken(data)
    return int(digits), end + 1


def _read_v2(data: bytes) -> Header:
    _, version_command, family_transport, length = _V2_HEADER.unpack_from(data)
    version = version_command >> 4
    if version != 2:
        raise HeaderError(f"unknown PROXY protocol version: {version}")
    if len(data) - _V2_HEADER.size < length:
        raise HeaderError("header is too large")
    end = _V2_HEADER.size + length
    family = _FAMILIES.get(family_transport >> 4)
    if (
        version_command & 0x0F != _COMMAND_PROXY
        or family_transport & 0x0F != _TRANSPORT_STREAM
        or family is None
    ):
        return Header(end, None)
    layout, ip_version = family
    if length < layout.size:
        raise HeaderError("")
    source, destination, source_port, destination_port = layout.unpack_from(data, _V2_HEADER.size)
    return Header(
        end,
        ProxyAddresses(
            _ntop(source, ip_version), source_port, _ntop(destination, ip_version), destination_port
        ),
    )


def _ntop(packed: bytes, version: int) -> str:
    if version == 4:
        return str(ipaddress.IPv4Address(packed))
    return ipv6_text(ipaddress.IPv6Address(packed))


def write_v1(addresses: ProxyAddresses | None, *, ipv6: bool = False) -> bytes:
    """`PROXY TCP4 ...\\r\\n` (TCP6 when `ipv6`), or `PROXY UNKNOWN\\r\\n` for a connection that has no
    addresses to tell (a unix socket), as ngx_proxy_protocol_write makes it."""
    if addresses is None:
        return b"PROXY UNKNOWN\r\n"
    return (
        f"PROXY TCP{6 if ipv6 else 4} {addresses.source} {addresses.destination} "
        f"{addresses.source_port} {addresses.destination_port}\r\n"
    ).encode("ascii")


def write_v2(addresses: ProxyAddresses | None, tlvs: bytes = b"") -> bytes:
    """A version 2 PROXY command over STREAM with the addresses (both IPv4 or both IPv6), or a LOCAL
    command without any; `tlvs` follow the addresses as they are."""
    if addresses is None:
        return _V2_HEADER.pack(SIGNATURE, 0x20, 0x00, len(tlvs)) + tlvs
    source = ipaddress.ip_address(addresses.source)
    destination = ipaddress.ip_address(addresses.destination)
    layout, family = (_INET, 1) if source.version == 4 else (_INET6, 2)
    block = layout.pack(source.packed, destination.packed, addresses.source_port, addresses.destination_port)
    header = _V2_HEADER.pack(SIGNATURE, 0x21, family << 4 | _TRANSPORT_STREAM, len(block) + len(tlvs))
    return header + block + tlvs
