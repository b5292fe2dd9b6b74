"""What `hapair status` does over the daemons' control sockets: one status document from each socket that
answers, or the events of one as they come. The errors say which socket and why (no daemon there, no
permission)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .protocol import FOLLOW, STATUS, request_line

TIMEOUT_S = 5.0


class ControlError(Exception):
    """A socket that cannot be read; the message names it and says why."""


def _connect(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT_S)
    try:
        sock.connect(str(path))
    except FileNotFoundError as error:
        sock.close()
        raise ControlError(f"{path}: no daemon runs there (no such socket)") from error
    except ConnectionRefusedError as error:
        sock.close()
        raise ControlError(f"{path}: no daemon answers there (a stale socket)") from error
    except PermissionError as error:
        sock.close()
        raise ControlError(f"{path}: permission denied (the daemons' sockets are root's)") from error
    return sock


def status(path: Path) -> dict[str, Any]:
    """The status document of the daemon at `path`."""
    with _connect(path) as sock:
        sock.sendall(request_line(STATUS))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    document = json.loads(data)
    if "error" in document:
        raise ControlError(f"{path}: {document['error']}")
    return dict(document)


def follow(path: Path) -> Iterator[dict[str, Any]]:
    """The events of the daemon at `path` as they come, until it stops."""
    with _connect(path) as sock:
        sock.sendall(request_line(FOLLOW))
        sock.settimeout(None)
        with sock.makefile("rb") as lines:
            for line in lines:
                yield json.loads(line)
