"""systemd's notification protocol (sd_notify(3)), for the daemons run as `Type=notify` services: READY=1
once configured and serving, RELOADING=1 and READY=1 around a reload, STOPPING=1 when stopping, STATUS=
with a line for `systemctl status`.

Written here rather than taken from a library: the protocol is one datagram of `NAME=value` lines to the
unix socket `$NOTIFY_SOCKET` names (`@` for the abstract namespace), which systemd documents as stable for
implementations of their own (https://systemd.io/PORTABILITY_AND_STABILITY/); the binding, systemd-python,
needs libsystemd's headers and a compiler to install. Without `$NOTIFY_SOCKET` (not under systemd, or a
unit of another type) nothing is sent.
"""

from __future__ import annotations

import os
import socket
import time

SOCKET_VARIABLE = "NOTIFY_SOCKET"


def notify(*fields: str) -> bool:
    """Send `fields` (`READY=1`...) to systemd; False when there is no one to tell or it failed (a daemon
    goes on either way, as keepalived does)."""
    path = os.environ.get(SOCKET_VARIABLE)
    if not path or not fields:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(fields).encode(), address)
    except OSError:
        return False
    return True


def ready(status: str) -> bool:
    return notify("READY=1", f"STATUS={status}")


def reloading() -> bool:
    """RELOADING=1, with the time systemd 253's `Type=notify-reload` wants (older ones ignore it)."""
    return notify("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")


def stopping() -> bool:
    return notify("STOPPING=1")
