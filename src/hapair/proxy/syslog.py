"""Log lines sent to syslog as nginx sends them (ngx_syslog.c): one datagram per line, to a UDP address
or a unix datagram socket, with RFC 3164's header `<PRI>Mmm dd hh:mm:ss HOST TAG: ` (the host left out
with `nohostname`), the local time, the host's name in lower case. A send that fails is dropped (the
socket is opened again for the next line), as nginx drops it."""

from __future__ import annotations

import socket
import time

from hapair.config.nginx.model.logging import SyslogTarget

_MONTHS = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")
HOSTNAME = socket.gethostname().lower()


def syslog_time(seconds: float) -> bytes:
    """ngx_cached_syslog_time: `Dec  6 04:10:00`, local time."""
    t = time.localtime(seconds)
    return b"%s %2d %02d:%02d:%02d" % (_MONTHS[t.tm_mon - 1], t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


class SyslogPeer:
    """One `syslog:` target of a process: its socket, opened at the first line."""

    __slots__ = ("_host", "_sock", "target")

    def __init__(self, target: SyslogTarget) -> None:
        self.target = target
        self._host = HOSTNAME.encode() + b" " if target.hostname else b""
        self._sock: socket.socket | None = None

    def header(self, severity: int, now: float) -> bytes:
        priority = self.target.facility * 8 + severity
        return b"<%d>%s %s%s: " % (priority, syslog_time(now), self._host, self.target.tag.encode())

    def send(self, message: bytes, severity: int | None = None) -> bool:
        """`message` (without its line feed) with the header; `severity`: the line's (an error log's),
        else the target's. False when it could not be sent."""
        datagram = self.header(self.target.severity if severity is None else severity, time.time()) + message
        try:
            if self._sock is None:
                self._sock = self._open()
            self._sock.send(datagram)
        except OSError:
            self.close()
            return False
        return True

    def _open(self) -> socket.socket:
        server = self.target.server
        sock = socket.socket(server.family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.connect(server.sockaddr)
        except OSError:
            sock.close()
            raise
        return sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
