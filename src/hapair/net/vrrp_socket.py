"""Raw IPv4 sockets for VRRP (IP protocol 112), opened as keepalived opens its socket pool (vrrp.c
open_vrrp_read_socket / open_vrrp_send_socket): one socket receives whole IPv4 packets, another sends
packets whose IP header we build ourselves."""

from __future__ import annotations

import ctypes
import socket
import struct
from ipaddress import IPv4Address

from hapair.vrrp.packet import VRRP_GROUP, VRRP_PROTOCOL

from .resource import Resource

IP_MULTICAST_ALL = 49  # not in Python's socket module
SO_ATTACH_FILTER = 26
IPTOS_PREC_INTERNETCONTROL = 0xC0
BPF_RET_K = 0x06  # BPF_RET | BPF_K
MAX_IPV4_PACKET = 65535


def discard_input(sock: socket.socket) -> None:
    """Attach a socket filter that drops every packet, for a socket that only sends (keepalived's
    if_setsockopt_no_receive): the kernel then queues nothing on it."""
    program = ctypes.create_string_buffer(struct.pack("HBBI", BPF_RET_K, 0, 0, 0))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack("HP", 1, ctypes.addressof(program)))


def _ip_mreqn(group: IPv4Address, ifindex: int) -> bytes:
    return struct.pack("=4s4si", group.packed, bytes(4), ifindex)


def _bind_to_device(sock: socket.socket, ifname: str) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode() + b"\0")


def _raw_vrrp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, VRRP_PROTOCOL)
    sock.setblocking(False)
    # Only the groups this socket joined, not those other sockets of the host joined.
    sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
    return sock


def _open_receiver(
    ifname: str, ifindex: int, group: IPv4Address, unicast_source: IPv4Address | None
) -> socket.socket:
    sock = _raw_vrrp_socket()
    try:
        if unicast_source is None:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, _ip_mreqn(group, ifindex))
            # Bound to the group, the socket gets no unicast VRRP packets.
            sock.bind((str(group), 0))
        else:
            sock.bind((str(unicast_source), 0))
        _bind_to_device(sock, ifname)
    except OSError:
        sock.close()
        raise
    return sock


def _open_sender(ifname: str, ifindex: int, *, multicast: bool) -> socket.socket:
    sock = _raw_vrrp_socket()
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


class VrrpSocket(Resource):
    """The VRRP sockets of one interface, non-blocking.

    Multicast (no `unicast_source`): the receiving socket joins `group` on the interface and is bound to
    it; our own multicast adverts are not looped back. Unicast: the receiving socket is bound to
    `unicast_source` (OSError EADDRNOTAVAIL when the interface does not have it: keepalived's "src
    address not configured" fault) and adverts are sent to each peer. `fileno()` is the receiving
    socket's, for `loop.add_reader`.
    """

    def __init__(
        self, ifname: str, *, group: IPv4Address = VRRP_GROUP, unicast_source: IPv4Address | None = None
    ) -> None:
        self.ifname = ifname
        ifindex = socket.if_nametoindex(ifname)
        self._receiver = _open_receiver(ifname, ifindex, group, unicast_source)
        try:
            self._sender = _open_sender(ifname, ifindex, multicast=unicast_source is None)
        except OSError:
            self._receiver.close()
            raise

    def send(self, packet: bytes, destination: IPv4Address) -> None:
        """Send a whole IPv4 packet (header included). Multicast goes out with MSG_DONTROUTE, as
        keepalived's vrrp_send_pkt; OSError as the kernel reports it (ENETUNREACH when the link is down)."""
        flags = socket.MSG_DONTROUTE if destination.is_multicast else 0
        self._sender.sendto(packet, flags, (str(destination), 0))

    def receive(self) -> bytes | None:
        """The next received IPv4 packet, header included, or None when none is waiting."""
        try:
            return self._receiver.recv(MAX_IPV4_PACKET)
        except BlockingIOError:
            return None

    def fileno(self) -> int:
        return self._receiver.fileno()

    def close(self) -> None:
        self._receiver.close()
        self._sender.close()
