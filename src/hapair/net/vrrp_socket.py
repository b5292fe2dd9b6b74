"""Raw IPv4 sockets for VRRP (IP protocol 112, or 51 for instances with AH authentication), opened as
keepalived opens its socket pool (vrrp.c open_vrrp_read_socket / open_vrrp_send_socket): one socket
receives whole IPv4 packets, another sends packets whose IP header we build ourselves."""

from __future__ import annotations

import socket
import struct
import time
from array import array
from ipaddress import IPv4Address
from typing import NamedTuple

from hapair.vrrp.packet import VRRP_GROUP, VRRP_PROTOCOL

from .resource import Resource

IP_MULTICAST_ALL = 49  # not in Python's socket module
SO_ATTACH_FILTER = 26
IPTOS_PREC_INTERNETCONTROL = 0xC0
BPF_RET_K = 0x06  # BPF_RET | BPF_K
BPF_INSTRUCTION = "HBBI"  # struct sock_filter: code, jt, jf, k
MAX_IPV4_PACKET = 65535
SO_TIMESTAMPNS = 35  # not in Python's socket module; its control message is SCM_TIMESTAMPNS
TIMESPEC = struct.Struct("@qq")
ANCILLARY_SPACE = socket.CMSG_SPACE(TIMESPEC.size)
NANOSECONDS_PER_US = 1000
MAX_QUEUED_NS = 10**9  # an arrival further back than this is a clock step, not a queue


class Received(NamedTuple):
    """A received IPv4 packet (header included) and when the kernel received it, in microseconds on
    the monotonic clock (that of time.monotonic() and of the event loop)."""

    data: bytes
    at_us: int


def discard_input(sock: socket.socket) -> None:
    """Attach a socket filter that drops every packet, for a socket that only sends (keepalived's
    if_setsockopt_no_receive): the kernel then queues nothing on it."""
    attach_filter(sock, struct.pack(BPF_INSTRUCTION, BPF_RET_K, 0, 0, 0))


def attach_filter(sock: socket.socket, program: bytes) -> None:
    """Attach a classic BPF `program` (struct sock_filter instructions) to `sock`. The kernel copies it
    from the address the sock_fprog gives: an array's buffer has one (array.buffer_info, made for such
    calls), which spares the VRRP daemon ctypes (0.4 MB of its memory: issue 15)."""
    code = array("B", program)
    address, _ = code.buffer_info()
    length = len(program) // struct.calcsize(BPF_INSTRUCTION)
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack("HP", length, address))


def _ip_mreqn(group: IPv4Address, ifindex: int) -> bytes:
    return struct.pack("=4s4si", group.packed, bytes(4), ifindex)


def _bind_to_device(sock: socket.socket, ifname: str) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode() + b"\0")


def _raw_vrrp_socket(protocol: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, protocol)
    sock.setblocking(False)
    # Only the groups this socket joined, not those other sockets of the host joined.
    sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
    return sock


def _open_receiver(
    ifname: str, ifindex: int, group: IPv4Address, unicast_source: IPv4Address | None, protocol: int
) -> socket.socket:
    sock = _raw_vrrp_socket(protocol)
    try:
        if unicast_source is None:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, _ip_mreqn(group, ifindex))
            # Bound to the group, the socket gets no unicast VRRP packets.
            sock.bind((str(group), 0))
        else:
            sock.bind((str(unicast_source), 0))
        _bind_to_device(sock, ifname)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        sock.close()
        raise
    return sock


def _arrival_us(ancillary: list[tuple[int, int, bytes]]) -> int:
    """The packet's arrival on the monotonic clock. The kernel stamps it on the real-time clock: its age
    on that clock is taken off the monotonic time now (an age that a clock step made absurd counts as 0)."""
    now_ns = time.monotonic_ns()
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= TIMESPEC.size:
            seconds, nanoseconds = TIMESPEC.unpack_from(payload)
            age_ns = time.time_ns() - (seconds * 10**9 + nanoseconds)
            if 0 <= age_ns <= MAX_QUEUED_NS:
                now_ns -= age_ns
    return now_ns // NANOSECONDS_PER_US


def _open_sender(ifname: str, ifindex: int, *, multicast: bool, protocol: int) -> socket.socket:
    sock = _raw_vrrp_socket(protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 0)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        _bind_to_device(sock, ifname)
        if multicast:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, _ip_mreqn(IPv4Address(0), ifindex))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        # With IP_HDRINCL the header keeps our TOS; this sets the packets' queueing priority.
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, IPTOS_PREC_INTERNETCONTROL)
        discard_input(sock)
    except OSError:
        sock.close()
        raise
    return sock


def _send_flags(destination: IPv4Address) -> int:
    return socket.MSG_DONTROUTE if destination.is_multicast else 0


class ReadyPacket:
    """A packet with its destination worked out beforehand: `send` is one system call and hardly any
    Python, for a packet that must leave at once (a stop's priority-0 advert)."""

    __slots__ = ("_address", "_flags", "_packet", "_sendto")

    def __init__(self, sock: socket.socket, packet: bytes, destination: IPv4Address) -> None:
        self._sendto = sock.sendto
        self._packet = packet
        self._flags = _send_flags(destination)
        self._address = (str(destination), 0)

    def send(self) -> None:
        self._sendto(self._packet, self._flags, self._address)


class VrrpSocket(Resource):
    """The VRRP sockets of one interface, non-blocking.

    Multicast (no `unicast_source`): the receiving socket joins `group` on the interface and is bound to
    it; our own multicast adverts are not looped back. Unicast: the receiving socket is bound to
    `unicast_source` (OSError EADDRNOTAVAIL when the interface does not have it: keepalived's "src
    address not configured" fault) and adverts are sent to each peer. `fileno()` is the receiving
    socket's, for `loop.add_reader`. `protocol` is the IP protocol received: 112, or 51 (AH).
    """

    def __init__(
        self,
        ifname: str,
        *,
        group: IPv4Address = VRRP_GROUP,
        unicast_source: IPv4Address | None = None,
        protocol: int = VRRP_PROTOCOL,
    ) -> None:
        self.ifname = ifname
        ifindex = socket.if_nametoindex(ifname)
        self._receiver = _open_receiver(ifname, ifindex, group, unicast_source, protocol)
        try:
            self._sender = _open_sender(ifname, ifindex, multicast=unicast_source is None, protocol=protocol)
        except OSError:
            self._receiver.close()
            raise

    def send(self, packet: bytes, destination: IPv4Address) -> None:
        """Send a whole IPv4 packet (header included). Multicast goes out with MSG_DONTROUTE, as
        keepalived's vrrp_send_pkt; OSError as the kernel reports it (ENETUNREACH when the link is down)."""
        self._sender.sendto(packet, _send_flags(destination), (str(destination), 0))

    def ready(self, packet: bytes, destination: IPv4Address) -> ReadyPacket:
        """`packet` ready to be sent to `destination` later, as `send` would send it."""
        return ReadyPacket(self._sender, packet, destination)

    def receive(self) -> Received | None:
        """The next received IPv4 packet, or None when none is waiting. Its time is the kernel's, so
        that the timers it restarts count from its arrival, not from when the process woke up to read it
        (a millisecond or more on a virtual machine that had gone idle)."""
        try:
            data, ancillary, _flags, _source = self._receiver.recvmsg(MAX_IPV4_PACKET, ANCILLARY_SPACE)
        except BlockingIOError:
            return None
        return Received(data, _arrival_us(ancillary))

    def fileno(self) -> int:
        return self._receiver.fileno()

    def close(self) -> None:
        self._receiver.close()
        self._sender.close()
