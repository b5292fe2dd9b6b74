"""A synchronous rtnetlink conversation in the current network namespace (pyroute2's IPRSocket, which no
event loop drives): pyroute2's synchronous IPRoute cannot be called from inside a running asyncio loop, and
the kernel answers these requests at once."""

from __future__ import annotations

import errno
import itertools
import os
import socket
import struct
from collections.abc import Iterator

from pyroute2 import IPRSocket
from pyroute2.netlink import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, nlmsg

from .resource import Resource


def local_address(message: nlmsg) -> str | None:
    """An address message's own address (IFA_LOCAL, or IFA_ADDRESS without it, as keepalived reads it)."""
    return message.get_attr("IFA_LOCAL") or message.get_attr("IFA_ADDRESS")


def interface_index(ifname: str) -> int:
    """The index of the interface in the current network namespace; OSError ENODEV when there is none."""
    try:
        return socket.if_nametoindex(ifname)
    except OSError:
        raise OSError(errno.ENODEV, os.strerror(errno.ENODEV), ifname) from None


def is_error(reply: nlmsg) -> bool:
    """An NLMSG_ERROR message: an acknowledgement (error 0) or a refusal."""
    return reply["header"]["type"] == NLMSG_ERROR


class Rtnetlink(Resource):
    """A synchronous rtnetlink conversation in the current network namespace: requests answered by an
    acknowledgement, and dumps."""

    def __init__(self) -> None:
        self._socket = IPRSocket()
        self._sequence = itertools.count(1)
        self.sequence = 0  # the last request's sequence number
        self._raw: socket.socket | None = None  # for encoded requests, read without pyroute2

    def request(self, message: nlmsg, kind: int, flags: int = 0) -> int:
        """Send a request (with `flags` besides NLM_F_REQUEST | NLM_F_ACK, such as NLM_F_CREATE) and return
        the kernel's answer: 0 when done, else the errno."""
        sequence = self._send(message, kind, NLM_F_REQUEST | NLM_F_ACK | flags)
        return next(-reply["error"] for reply in self._replies(sequence) if is_error(reply))

    @staticmethod
    def encode(message: nlmsg, kind: int) -> bytes:
        """A request's bytes, to send later with `request_encoded`: building a message with pyroute2 is
        slow, which matters on the way to taking over a virtual address."""
        header = message["header"]
        header["type"], header["flags"], header["sequence_number"], header["pid"] = (
            kind,
            NLM_F_REQUEST | NLM_F_ACK,
            0,
            0,
        )
        message.encode()
        return bytes(message.data)

    def request_encoded(self, data: bytes) -> int:
        """`request` for a message from `encode`: 0 when done, else the errno."""
        if self._raw is None:
            self._raw = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
            self._raw.bind((0, 0))
        sequence = next(self._sequence)
        self._raw.send(data[:8] + _SEQUENCE.pack(sequence) + data[12:])
        while True:
            replies = self._raw.recv(65536)
            for kind, reply_sequence, payload in _messages(replies):
                if kind == NLMSG_ERROR and reply_sequence == sequence:
                    return -int(_ERROR.unpack_from(payload)[0])

    def dump(self, message: nlmsg, kind: int) -> list[nlmsg]:
        """The objects a dump request returns, all read (the kernel refuses another dump on the socket
        while one is unfinished); OSError if the kernel refuses it."""
        sequence = self._send(message, kind, NLM_F_REQUEST | NLM_F_DUMP)
        objects = []
        replies = self._replies(sequence)
        while (reply := next(replies))["header"]["type"] != NLMSG_DONE:
            if is_error(reply):
                raise OSError(-reply["error"], os.strerror(-reply["error"]))
            objects.append(reply)
        return objects

    def _send(self, message: nlmsg, kind: int, flags: int) -> int:
        sequence = self.sequence = next(self._sequence)
        self._socket.put(message, kind, flags, msg_seq=sequence)
        return sequence

    def _replies(self, sequence: int) -> Iterator[nlmsg]:
        while True:
            for reply in self._socket.get():
                if reply["header"]["sequence_number"] == sequence:
                    yield reply

    def close(self) -> None:
        self._socket.close()
        if self._raw is not None:
            self._raw.close()


_HEADER = struct.Struct("=IHHII")  # struct nlmsghdr: length, type, flags, sequence, port id
_SEQUENCE = struct.Struct("=I")
_ERROR = struct.Struct("=i")


def _messages(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(type, sequence, payload) of each netlink message in a datagram."""
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, kind, _flags, sequence, _port = _HEADER.unpack_from(data, offset)
        yield kind, sequence, data[offset + _HEADER.size : offset + length]
        offset += max(_HEADER.size, (length + 3) & ~3)
