"""Watching processes, at the edge: what /proc says about a process, the kernel's process events (the proc
connector, a NETLINK_CONNECTOR socket), and pidfds that tell when a known process ends.

The proc connector is what keepalived 2.2.7 uses for `vrrp_track_process`. The kernel sends its events only
to sockets of the machine's own network namespace: elsewhere (a namespace made with `ip netns`, most
containers) subscribing fails with ECONNREFUSED. A `PidWatcher` works everywhere (Linux 5.3 and later):
a pidfd becomes readable when its process exits, so the event loop watches it like a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

PROC = "/proc"
NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN = 1
PROC_CN_MCAST_IGNORE = 2
NLMSG_DONE = 3
NLMSG_HEADER = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
CN_MSG = struct.Struct("=IIIIHH")  # idx, val, seq, ack, len, flags
PROC_EVENT = struct.Struct("=IIQ")  # what, cpu, timestamp (ns); the event's data follows
EVENT_OFFSET = NLMSG_HEADER.size + CN_MSG.size
DATA_OFFSET = EVENT_OFFSET + PROC_EVENT.size
PROC_EVENT_NONE = 0x0
PROC_EVENT_FORK = 0x1
PROC_EVENT_EXEC = 0x2
PROC_EVENT_COMM = 0x200
PROC_EVENT_EXIT = 0x80000000
TASK_COMM_LEN = 16
RECEIVE_SIZE = 256


@dataclass(frozen=True)
class ProcessInfo:
    """A process as /proc shows it: `comm` (the kernel's 15-character name), `cmdline` (its arguments, each
    ended by a NUL, as read: possibly cut short), its parent, and whether it is a zombie."""

    pid: int
    comm: str
    cmdline: bytes = b""
    ppid: int = 0
    zombie: bool = False


def process_ids() -> list[int]:
    """The processes of this PID namespace, as /proc lists them."""
    return [int(name) for name in os.listdir(PROC) if name.isdigit()]


def read_process(pid: int, *, cmdline_size: int = 0) -> ProcessInfo | None:
    """What /proc/PID/stat says (and the first `cmdline_size` bytes of /proc/PID/cmdline, if asked);
    None when the process is gone."""
    try:
        with open(f"{PROC}/{pid}/stat", "rb") as stat_file:
            stat = stat_file.read()
        cmdline = b""
        if cmdline_size:
            with open(f"{PROC}/{pid}/cmdline", "rb") as cmdline_file:
                cmdline = cmdline_file.read(cmdline_size)
    except OSError:
        return None
    open_paren, close_paren = stat.find(b"("), stat.rfind(b")")
    if open_paren < 0 or close_paren < 0:
        return None
    fields = stat[close_paren + 2 :].split()
    comm = stat[open_paren + 1 : close_paren].decode("utf-8", "replace")
    return ProcessInfo(pid, comm, cmdline, ppid=int(fields[1]), zombie=fields[0] == b"Z")


# ----- the kernel's process events


@dataclass(frozen=True)
class Forked:
    parent: int
    child: int


@dataclass(frozen=True)
class Executed:
    pid: int


@dataclass(frozen=True)
class Renamed:
    pid: int
    comm: str


@dataclass(frozen=True)
class Exited:
    pid: int


@dataclass(frozen=True)
class Acknowledged:
    """The kernel confirmed the subscription (PROC_EVENT_NONE)."""


@dataclass(frozen=True)
class Overrun:
    """The socket's buffer overflowed: events were lost (ENOBUFS)."""


ProcessEvent = Forked | Executed | Renamed | Exited | Acknowledged | Overrun


def decode_event(message: bytes) -> ProcessEvent | None:
    """One proc connector message as an event of a process (threads' events are left out, as keepalived
    leaves them out); None for anything else."""
    if len(message) < DATA_OFFSET:
        return None
    idx, val, _seq, ack, _length, _flags = CN_MSG.unpack_from(message, NLMSG_HEADER.size)
    if (idx, val) != (CN_IDX_PROC, CN_VAL_PROC):
        return None
    what, _cpu, _timestamp = PROC_EVENT.unpack_from(message, EVENT_OFFSET)
    if (what == PROC_EVENT_NONE) != bool(ack):
        return None
    data = message[DATA_OFFSET:]
    if what == PROC_EVENT_NONE:
        return Acknowledged()
    if what == PROC_EVENT_FORK and len(data) >= 16:
        _parent_pid, parent_tgid, child_pid, child_tgid = struct.unpack_from("=iiii", data)
        return Forked(parent_tgid, child_tgid) if child_pid == child_tgid else None
    if what in (PROC_EVENT_EXEC, PROC_EVENT_COMM, PROC_EVENT_EXIT) and len(data) >= 8:
        pid, tgid = struct.unpack_from("=ii", data)
        if pid != tgid:
            return None
        if what == PROC_EVENT_EXEC:
            return Executed(tgid)
        if what == PROC_EVENT_EXIT:
            return Exited(tgid)
        comm = data[8 : 8 + TASK_COMM_LEN].split(b"\0", 1)[0]
        return Renamed(tgid, comm.decode("utf-8", "replace"))
    return None


def subscription(listen: bool) -> bytes:
    """The message that starts (or stops) the kernel's process events to a connector socket."""
    operation = struct.pack("=I", PROC_CN_MCAST_LISTEN if listen else PROC_CN_MCAST_IGNORE)
    body = CN_MSG.pack(CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(operation), 0) + operation
    return NLMSG_HEADER.pack(NLMSG_HEADER.size + len(body), NLMSG_DONE, 0, 0, os.getpid()) + body


class ProcConnector:
    """A NETLINK_CONNECTOR socket subscribed to the kernel's process events. `open` raises OSError where
    the kernel will not send them (ECONNREFUSED outside the machine's own network namespace)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    @classmethod
    def open(cls, receive_buffer: int = 0, *, force: bool = False) -> ProcConnector:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC, NETLINK_CONNECTOR)
        try:
            sock.bind((0, CN_IDX_PROC))
            if receive_buffer:
                option = socket.SO_RCVBUFFORCE if force else socket.SO_RCVBUF
                sock.setsockopt(socket.SOL_SOCKET, option, receive_buffer)
            sock.send(subscription(True))
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        return cls(sock)

    def fileno(self) -> int:
        return self._sock.fileno()

    def receive(self) -> list[ProcessEvent]:
        """The events waiting on the socket (the kernel's own messages only)."""
        events: list[ProcessEvent] = []
        while True:
            try:
                message, (sender, _groups) = self._sock.recvfrom(RECEIVE_SIZE)
            except BlockingIOError:
                return events
            except OSError as error:
                if error.errno != errno.ENOBUFS:
                    raise
                events.append(Overrun())
                continue
            if sender != 0:
                continue
            event = decode_event(message)
            if event is not None:
                events.append(event)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # closing the socket ends the subscription anyway
            self._sock.send(subscription(False))
        self._sock.close()


# ----- pidfds


class PidWatcher:
    """Calls `on_exit(pid)` once a watched process has ended (its pidfd readable), from the event loop.
    A process is watched until it ends or `unwatch` is called; `watch` says False when it is already gone.
    Made for any process the daemon knows by PID: tracked processes, a proxy's workers."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_exit: Callable[[int], None]) -> None:
        self._loop = loop
        self._on_exit = on_exit
        self._fds: dict[int, int] = {}

    @property
    def watching(self) -> frozenset[int]:
        return frozenset(self._fds)

    def watch(self, pid: int) -> bool:
        if pid in self._fds:
            return True
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return False
        self._fds[pid] = fd
        self._loop.add_reader(fd, self._exited, pid)
        return True

    def unwatch(self, pid: int) -> None:
        fd = self._fds.pop(pid, None)
        if fd is not None:
            self._loop.remove_reader(fd)
            os.close(fd)

    def _exited(self, pid: int) -> None:
        self.unwatch(pid)
        self._on_exit(pid)

    def close(self) -> None:
        for pid in list(self._fds):
            self.unwatch(pid)
