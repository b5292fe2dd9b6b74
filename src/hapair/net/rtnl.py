"""rtnetlink in the current network namespace on plain sockets, its messages encoded and decoded by
pyroute2's message classes: a synchronous conversation (requests the kernel answers at once; pyroute2's
synchronous IPRoute cannot be called from inside a running asyncio loop) and a subscription to multicast
groups read by the event loop. pyroute2's socket classes (IPRSocket, AsyncIPRoute) are not used: they
import most of pyroute2 (its mock engine with unittest.mock, its netns helpers with multiprocessing, ssl
for its probes), 13 ms and 6 MB that the VRRP daemon pays before its first advert (issue 15)."""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import socket
import struct
from collections.abc import AsyncIterator, Iterator, Mapping

from pyroute2.netlink import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, nlmsg

from .resource import Resource

RECEIVE_SIZE = 1 << 16  # the kernel's netlink messages fit in a page; a datagram holds several


def local_address(message: nlmsg) -> str | None:
    """An address message's own address (IFA_LOCAL, or IFA_ADDRESS without it, as keepalived reads it)."""
    return message.get_attr("IFA_LOCAL") or message.get_attr("IFA_ADDRESS")


def interface_index(ifname: str) -> int:
    """The index of the interface in the current network namespace; OSError ENODEV when there is none."""
    try:
        return socket.if_nametoindex(ifname)
    except OSError:
        raise OSError(errno.ENODEV, os.strerror(errno.ENODEV), ifname) from None


def open_socket(groups: int = 0) -> socket.socket:
    """A NETLINK_ROUTE socket, subscribed to the multicast `groups` (RTMGRP_* bits)."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    try:
        sock.bind((0, groups))
    except BaseException:
        sock.close()
        raise
    return sock


def decode(data: bytes, classes: Mapping[int, type[nlmsg]]) -> Iterator[nlmsg]:
    """The messages of a datagram whose type has a class in `classes`, decoded by it."""
    for kind, _sequence, frame in _messages(data):
        if kind in classes:
            yield _decoded(classes[kind], frame)


def _decoded(message_class: type[nlmsg], frame: bytes) -> nlmsg:
    message = message_class(frame)
    message.decode()
    return message


class Rtnetlink(Resource):
    """A synchronous rtnetlink conversation in the current network namespace: requests answered by an
    acknowledgement, and dumps."""

    def __init__(self) -> None:
        self._socket = open_socket()
        self._sequence = itertools.count(1)
        self.sequence = 0  # the last request's sequence number

    def request(self, message: nlmsg, kind: int, flags: int = 0) -> int:
        """Send a request (with `flags` besides NLM_F_REQUEST | NLM_F_ACK, such as NLM_F_CREATE) and return
        the kernel's answer: 0 when done, else the errno."""
        return self.request_encoded(self._encode(message, kind, NLM_F_REQUEST | NLM_F_ACK | flags))

    @classmethod
    def encode(cls, message: nlmsg, kind: int) -> bytes:
        """A request's bytes, to send later with `request_encoded`: building a message with pyroute2 is
        slow, which matters on the way to taking over a virtual address."""
        return cls._encode(message, kind, NLM_F_REQUEST | NLM_F_ACK)

    @staticmethod
    def _encode(message: nlmsg, kind: int, flags: int) -> bytes:
        header = message["header"]
        header["type"], header["flags"], header["sequence_number"], header["pid"] = kind, flags, 0, 0
        message.encode()
        return bytes(message.data)

    def request_encoded(self, data: bytes) -> int:
        """`request` for a message from `encode`: 0 when done, else the errno."""
        sequence = self._send(data)
        while True:
            for kind, reply_sequence, frame in _messages(self._socket.recv(RECEIVE_SIZE)):
                if kind == NLMSG_ERROR and reply_sequence == sequence:
                    return _error(frame)

    def dump(self, message: nlmsg, kind: int) -> list[nlmsg]:
        """The objects a dump request returns (of the request's message class), all read (the kernel
        refuses another dump on the socket while one is unfinished); OSError if the kernel refuses it."""
        sequence = self._send(self._encode(message, kind, NLM_F_REQUEST | NLM_F_DUMP))
        objects: list[nlmsg] = []
        while True:
            for reply_kind, reply_sequence, frame in _messages(self._socket.recv(RECEIVE_SIZE)):
                if reply_sequence != sequence:
                    continue
                if reply_kind == NLMSG_DONE:
                    return objects
                if reply_kind == NLMSG_ERROR:
                    code = _error(frame)
                    raise OSError(code, os.strerror(code))
                objects.append(_decoded(type(message), frame))

    def _send(self, data: bytes) -> int:
        sequence = self.sequence = next(self._sequence)
        self._socket.send(data[:8] + _SEQUENCE.pack(sequence) + data[12:])
        return sequence

    def close(self) -> None:
        self._socket.close()


class Subscription(Resource):
    """Messages of rtnetlink multicast groups in the current network namespace, as an async iterator for
    the event loop: those of the types in `classes`, decoded by their class. Closing the subscription ends
    an iteration in progress; OSError if the kernel dropped messages (ENOBUFS)."""

    def __init__(self, groups: int, classes: Mapping[int, type[nlmsg]]) -> None:
        self._socket = open_socket(groups)
        self._socket.setblocking(False)
        self._classes = dict(classes)
        self._waiting: asyncio.Future[bool] | None = None
        self._closed = False

    async def messages(self) -> AsyncIterator[nlmsg]:
        while not self._closed:
            try:
                data = self._socket.recv(RECEIVE_SIZE)
            except BlockingIOError:
                await self._readable()
                continue
            for message in decode(data, self._classes):
                yield message

    async def _readable(self) -> None:
        loop = asyncio.get_running_loop()
        waiting = self._waiting = loop.create_future()
        loop.add_reader(self._socket.fileno(), _set_once, waiting)
        try:
            await waiting
        finally:
            self._waiting = None
            if not self._closed:
                loop.remove_reader(self._socket.fileno())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._waiting is not None:
            asyncio.get_running_loop().remove_reader(self._socket.fileno())
            _set_once(self._waiting)
        self._socket.close()


def _set_once(future: asyncio.Future[bool]) -> None:
    if not future.done():
        future.set_result(True)


_HEADER = struct.Struct("=IHHII")  # struct nlmsghdr: length, type, flags, sequence, port id
_SEQUENCE = struct.Struct("=I")
_ERROR = struct.Struct("=i")


def _messages(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(type, sequence, the whole message) of each netlink message in a datagram."""
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, kind, _flags, sequence, _port = _HEADER.unpack_from(data, offset)
        yield kind, sequence, data[offset : offset + length]
        offset += max(_HEADER.size, (length + 3) & ~3)


def _error(frame: bytes) -> int:
    """An NLMSG_ERROR message's errno (0: an acknowledgement)."""
    return -int(_ERROR.unpack_from(frame, _HEADER.size)[0])
