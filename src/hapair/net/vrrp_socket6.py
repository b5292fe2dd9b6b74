"""Raw IPv6 sockets for VRRPv3 (next header 112), opened as keepalived 2.2.7 opens its IPv6 socket pool
(vrrp.c open_vrrp_read_socket / open_vrrp_send_socket, vrrp_send_pkt): the kernel builds the IPv6 header
and computes the checksum (IPV6_CHECKSUM at offset 6, on both sockets: a received packet with a wrong
checksum never reaches us); multicast goes out with hop limit 255 (IPV6_MULTICAST_HOPS); every packet
names its source and interface in IPV6_PKTINFO, and a unicast packet its hop limit in IPV6_HOPLIMIT when
`unicast_ttl` is set; the receiving socket asks for each packet's hop limit and destination
(IPV6_RECVHOPLIMIT, IPV6_RECVPKTINFO), which keepalived's checks need."""

from __future__ import annotations

import socket
import struct
from ipaddress import IPv6Address
from typing import NamedTuple

from hapair.vrrp.packet import VRRP_PROTOCOL
from hapair.vrrp.packet6 import CHECKSUM_OFFSET, NO_HOP_LIMIT, VRRP_GROUP6, VRRP_HOP_LIMIT

from .resource import Resource
from .vrrp_socket import (
    IPTOS_PREC_INTERNETCONTROL,
    MAX_IPV4_PACKET,
    SO_TIMESTAMPNS,
    TIMESPEC,
    _arrival_us,
    _bind_to_device,
    discard_input,
)

IPV6_MULTICAST_ALL = 29  # not in Python's socket module
IN6_PKTINFO = struct.Struct("=16sI")
HOP_LIMIT = struct.Struct("=i")
ANCILLARY_SPACE = (
    socket.CMSG_SPACE(TIMESPEC.size) + socket.CMSG_SPACE(IN6_PKTINFO.size) + socket.CMSG_SPACE(HOP_LIMIT.size)
)
UNSPECIFIED = IPv6Address("::")


class Received6(NamedTuple):
    """A received VRRP message (no IPv6 header), when the kernel received it (microseconds on the
    monotonic clock), its sender, its destination (UNSPECIFIED if the kernel did not say) and its hop
    limit (NO_HOP_LIMIT if the kernel did not say)."""

    data: bytes
    at_us: int
    source: IPv6Address
    destination: IPv6Address
    hop_limit: int


def _scoped(address: IPv6Address, ifindex: int) -> tuple[str, int, int, int]:
    """A socket address for `address`, scoped to the interface when it is link-local (unicast or
    multicast), as the kernel requires for binding to one."""
    link_scoped = address.is_link_local or (address.is_multicast and address.packed[1] & 0x0F == 0x02)
    return (str(address), 0, 0, ifindex if link_scoped else 0)


def _raw_vrrp6_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, VRRP_PROTOCOL)
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, CHECKSUM_OFFSET)
    return sock


def _open_receiver(
    ifname: str, ifindex: int, group: IPv6Address, unicast_source: IPv6Address | None
) -> socket.socket:
    sock = _raw_vrrp6_socket()
    try:
        _bind_to_device(sock, ifname)
        if unicast_source is None:
            membership = struct.pack("=16sI", group.packed, ifindex)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, membership)
            # Bound to the group, the socket gets no unicast VRRP packets.
            sock.bind(_scoped(group, ifindex))
        else:
            sock.bind(_scoped(unicast_source, ifindex))
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        sock.close()
        raise
    return sock


def _open_sender(ifname: str, ifindex: int, *, multicast: bool) -> socket.socket:
    sock = _raw_vrrp6_socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 0)
        _bind_to_device(sock, ifname)
        if multicast:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, VRRP_HOP_LIMIT)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, IPTOS_PREC_INTERNETCONTROL)
        discard_input(sock)
    except OSError:
        sock.close()
        raise
    return sock


def _read_ancillary(ancillary: list[tuple[int, int, bytes]]) -> tuple[IPv6Address, int]:
    destination, hop_limit = UNSPECIFIED, NO_HOP_LIMIT
    for level, kind, payload in ancillary:
        if level != socket.IPPROTO_IPV6:
            continue
        if kind == socket.IPV6_PKTINFO and len(payload) == IN6_PKTINFO.size:
            destination = IPv6Address(IN6_PKTINFO.unpack(payload)[0])
        elif kind == socket.IPV6_HOPLIMIT and len(payload) == HOP_LIMIT.size:
            hop_limit = HOP_LIMIT.unpack(payload)[0]
    return destination, hop_limit


class ReadyPacket6:
    """A message with its destination and ancillary data worked out beforehand (see ReadyPacket)."""

    __slots__ = ("_address", "_ancillary", "_flags", "_packet", "_sendmsg")

    def __init__(  # noqa: PLR0917 - everything a send needs, worked out once
        self,
        sock: socket.socket,
        packet: bytes,
        destination: IPv6Address,
        source: IPv6Address,
        ifindex: int,
        hop_limit: int | None,
    ) -> None:
        self._sendmsg = sock.sendmsg
        self._packet = [packet]
        self._ancillary = [
            (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, IN6_PKTINFO.pack(source.packed, ifindex))
        ]
        if hop_limit is not None:
            self._ancillary.append((socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT, HOP_LIMIT.pack(hop_limit)))
        self._flags = socket.MSG_DONTROUTE if destination.is_multicast else 0
        self._address = _scoped(destination, ifindex)

    def send(self) -> None:
        self._sendmsg(self._packet, self._ancillary, self._flags, self._address)


class VrrpSocket6(Resource):
    """The IPv6 VRRP sockets of one interface, non-blocking, as VrrpSocket is for IPv4: multicast (no
    `unicast_source`) joins `group` on the interface; unicast binds the receiving socket to
    `unicast_source` (OSError EADDRNOTAVAIL when the interface does not have it). `unicast_ttl` (-1: the
    kernel's default hop limit) goes with each unicast packet."""

    def __init__(
        self,
        ifname: str,
        *,
        group: IPv6Address = VRRP_GROUP6,
        unicast_source: IPv6Address | None = None,
        unicast_ttl: int = -1,
    ) -> None:
        self.ifname = ifname
        self._ifindex = socket.if_nametoindex(ifname)
        self._hop_limit = unicast_ttl if unicast_source is not None and unicast_ttl >= 0 else None
        self._receiver = _open_receiver(ifname, self._ifindex, group, unicast_source)
        try:
            self._sender = _open_sender(ifname, self._ifindex, multicast=unicast_source is None)
        except OSError:
            self._receiver.close()
            raise

    def ready(self, packet: bytes, destination: IPv6Address, source: IPv6Address) -> ReadyPacket6:
        """`packet` ready to be sent from `source` to `destination`."""
        return ReadyPacket6(self._sender, packet, destination, source, self._ifindex, self._hop_limit)

    def send(self, packet: bytes, destination: IPv6Address, source: IPv6Address) -> None:
        """Send a VRRP message from `source` (which the interface must have) to `destination`; OSError as
        the kernel reports it."""
        self.ready(packet, destination, source).send()

    def receive(self) -> Received6 | None:
        """The next received message, or None when none is waiting (timed by the kernel, as VrrpSocket)."""
        try:
            data, ancillary, _flags, sender = self._receiver.recvmsg(MAX_IPV4_PACKET, ANCILLARY_SPACE)
        except BlockingIOError:
            return None
        destination, hop_limit = _read_ancillary(ancillary)
        source = IPv6Address(sender[0].split("%", 1)[0])
        return Received6(data, _arrival_us(ancillary), source, destination, hop_limit)

    def fileno(self) -> int:
        return self._receiver.fileno()

    def close(self) -> None:
        self._receiver.close()
        self._sender.close()
