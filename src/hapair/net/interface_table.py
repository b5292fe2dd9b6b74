"""The interfaces of a network namespace and their addresses, as keepalived reads them to check or start a
configuration (kernel_netlink_read_interfaces): one RTM_GETLINK and one RTM_GETADDR dump on a plain
rtnetlink socket, decoded here.

This is the one place hapair decodes rtnetlink without pyroute2: reading a configuration (`hapair vrrp -t`,
and the daemon on its way to its first advert) needs a few fixed-layout fields of two dumps, and importing
pyroute2 costs about 90 ms and 12 MB (its package imports every module it has, and asyncio, ssl and
multiprocessing with them), most of issue 15's 150 ms budget for a `-t` verdict. The layouts are the
kernel's ABI (linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h)."""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from hapair.config.keepalived.host import Interface

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000

NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
RTM_NEWLINK, RTM_GETLINK, RTM_NEWADDR, RTM_GETADDR = 16, 18, 20, 22
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_LINKINFO = 1, 3, 4, 5, 18
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
IFLA_MACVLAN_MODE, MACVLAN_MODE_PRIVATE = 1, 1
IFLA_VRF_TABLE = 1
IFA_ADDRESS = 1
NLA_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED and NLA_F_NET_BYTEORDER
IFF_UP, IFF_LOOPBACK = 0x1, 0x8

_HEADER = struct.Struct("=IHHII")  # struct nlmsghdr: length, type, flags, sequence, port id
_IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
_IFADDRMSG = struct.Struct("=BBBBI")  # family, prefix length, flags, scope, index
_ATTRIBUTE = struct.Struct("=HH")  # struct rtattr: length, type
_U32 = struct.Struct("=I")
_ERROR = struct.Struct("=i")


@dataclass(frozen=True)
class InterfaceTable:
    """A namespace's interfaces by name, and the routing table of each VRF device among them."""

    interfaces: dict[str, Interface]
    vrf_tables: dict[str, int]


def read_interface_table(netns: str | None = None) -> InterfaceTable:
    """The interfaces of the current network namespace, or of the named one (as `ip netns` names them)."""
    with _rtnetlink_socket(netns) as sock:
        links = list(_dump(sock, RTM_GETLINK, bytes(_IFINFOMSG.size), 1))
        addresses = list(_dump(sock, RTM_GETADDR, bytes(_IFADDRMSG.size), 2))
    return decode_table(links, addresses)


def _rtnetlink_socket(netns: str | None) -> socket.socket:
    """A socket belongs to the namespace it is made in: for another namespace, a thread of ours enters it
    (setns changes the calling thread only) and makes the socket there."""
    if not netns:
        return _open_socket()
    made: list[socket.socket | BaseException] = []
    thread = threading.Thread(target=_open_socket_in, args=(os.path.join(NETNS_DIR, netns), made))
    thread.start()
    thread.join()
    if isinstance(made[0], BaseException):
        raise made[0]
    return made[0]


def _open_socket() -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    sock.bind((0, 0))
    return sock


def _open_socket_in(path: str, made: list[socket.socket | BaseException]) -> None:
    import ctypes  # noqa: PLC0415  (for another namespace only: 0.4 MB of the VRRP daemon's memory otherwise)

    try:
        with open(path, "rb") as namespace:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(namespace.fileno(), CLONE_NEWNET) != 0:
                code = ctypes.get_errno()
                raise OSError(code, os.strerror(code), path)
        made.append(_open_socket())
    except BaseException as error:  # handed to the caller's thread
        made.append(error)


def _dump(sock: socket.socket, kind: int, body: bytes, sequence: int) -> Iterator[tuple[bytes, int]]:
    """The (payload, type) of each object a dump request returns; OSError if the kernel refuses it."""
    sock.send(_HEADER.pack(_HEADER.size + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, sequence, 0) + body)
    while True:
        data = sock.recv(1 << 16)
        for reply_kind, reply_sequence, payload in _messages(data):
            if reply_sequence != sequence:
                continue
            if reply_kind == NLMSG_DONE:
                return
            if reply_kind == NLMSG_ERROR:
                code = -_ERROR.unpack_from(payload)[0]
                raise OSError(code, os.strerror(code))
            yield payload, reply_kind


def _messages(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(type, sequence, payload) of each netlink message in a datagram."""
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, kind, _flags, sequence, _port = _HEADER.unpack_from(data, offset)
        yield kind, sequence, data[offset + _HEADER.size : offset + length]
        offset += max(_HEADER.size, _aligned(length))


def _aligned(length: int) -> int:
    return (length + 3) & ~3


def _attributes(data: bytes, offset: int = 0) -> dict[int, bytes]:
    """The route attributes from `offset` on, by type (the first of a repeated type)."""
    found: dict[int, bytes] = {}
    while offset + _ATTRIBUTE.size <= len(data):
        length, kind = _ATTRIBUTE.unpack_from(data, offset)
        if length < _ATTRIBUTE.size:
            break
        found.setdefault(kind & NLA_TYPE_MASK, data[offset + _ATTRIBUTE.size : offset + length])
        offset += _aligned(length)
    return found


def _u32(value: bytes | None) -> int | None:
    return None if value is None or len(value) < _U32.size else int(_U32.unpack_from(value)[0])


def _text(value: bytes) -> str:
    return value.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _link_kind(linkinfo: dict[int, bytes]) -> str:
    return _text(linkinfo.get(IFLA_INFO_KIND, b""))


def decode_table(links: list[tuple[bytes, int]], addresses: list[tuple[bytes, int]]) -> InterfaceTable:
    """The table from the (payload, type) of each message of a link dump and of an address dump."""
    by_index: dict[int, dict[int, list[str]]] = {}
    for payload, kind in addresses:
        if kind != RTM_NEWADDR:
            continue
        family, prefix, _flags, _scope, index = _IFADDRMSG.unpack_from(payload)
        address = _attributes(payload, _IFADDRMSG.size).get(IFA_ADDRESS)
        if address is not None and family in (socket.AF_INET, socket.AF_INET6):
            text = socket.inet_ntop(family, address)
            by_index.setdefault(index, {}).setdefault(family, []).append(f"{text}/{prefix}")
    interfaces, vrf_tables = {}, {}
    for payload, kind in links:
        if kind != RTM_NEWLINK:
            continue
        _family, _type, index, flags, _change = _IFINFOMSG.unpack_from(payload)
        found = _attributes(payload, _IFINFOMSG.size)
        name = _text(found.get(IFLA_IFNAME, b""))
        linkinfo = _attributes(found.get(IFLA_LINKINFO, b""))
        data = _attributes(linkinfo.get(IFLA_INFO_DATA, b""))
        families = by_index.get(index, {})
        private = (
            _link_kind(linkinfo) == "macvlan" and _u32(data.get(IFLA_MACVLAN_MODE)) == MACVLAN_MODE_PRIVATE
        )
        interfaces[name] = Interface(
            name=name,
            index=index,
            loopback=bool(flags & IFF_LOOPBACK),
            up=bool(flags & IFF_UP),
            mtu=_u32(found.get(IFLA_MTU)) or 1500,
            mac=found[IFLA_ADDRESS].hex(":") if found.get(IFLA_ADDRESS) else "00:00:00:00:00:00",
            ipv4=tuple(families.get(socket.AF_INET, ())),
            ipv6=tuple(families.get(socket.AF_INET6, ())),
            private_macvlan_of=(_u32(found.get(IFLA_LINK)) or 0) if private else 0,
        )
        table = _u32(data.get(IFLA_VRF_TABLE)) if _link_kind(linkinfo) == "vrf" else None
        if table is not None:
            vrf_tables[name] = table
    return InterfaceTable(interfaces, vrf_tables)
