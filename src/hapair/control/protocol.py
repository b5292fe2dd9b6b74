"""What goes over a control socket: one request line from the client (`{"command": "status"}` or
`{"command": "follow"}`), then one JSON document (status) or JSON lines until the client goes (follow):
first each instance's state now (`"current": true`), then every change as it happens.
Events are made from keepalived's notification lines (`INSTANCE "VI_1" MASTER 100`, vrrp/notify_fifo.py),
the same ones the notify FIFOs get, in the same order. json is imported by the first request (0.1 MB of
each daemon's memory otherwise: issue 15)."""

from __future__ import annotations

import os
import re
from typing import Any

SOCKET_DIRECTORY = "/run/hapair"
VRRP_SOCKET = f"{SOCKET_DIRECTORY}/vrrp.sock"  # the daemons' default control sockets
PROXY_SOCKET = f"{SOCKET_DIRECTORY}/proxy.sock"
STATUS, FOLLOW = "status", "follow"
COMMANDS = (STATUS, FOLLOW)
MAX_REQUEST = 4096
_NOTIFICATION = re.compile(r'(INSTANCE|GROUP) "(.*)" (\S+) (\d+)\n?\Z')


def socket_beside(pid_file: str) -> str:
    """The control socket of a daemon started with a pid file of its own: the pid file's name with `.sock`
    for its suffix (as pathlib's with_suffix makes it)."""
    stem, _ = os.path.splitext(pid_file)
    return f"{stem}.sock"


class RequestError(ValueError):
    """A request the server does not take; the message says why."""


def request_line(command: str) -> bytes:
    import json  # noqa: PLC0415

    return json.dumps({"command": command}).encode() + b"\n"


def read_request(line: bytes) -> str:
    """The command a request line asks for."""
    import json  # noqa: PLC0415

    try:
        request = json.loads(line)
    except ValueError as error:
        raise RequestError(f"not JSON: {error}") from error
    command = request.get("command") if isinstance(request, dict) else None
    if command not in COMMANDS:
        raise RequestError(f"unknown command {command!r} (known: {', '.join(COMMANDS)})")
    return str(command)


def event_of(line: bytes, at: float) -> dict[str, Any] | None:
    """The JSON event of a notification line at epoch time `at`; None for a line of another form."""
    found = _NOTIFICATION.match(line.decode(errors="replace"))
    if found is None:
        return None
    kind, name, state, priority = found.groups()
    return {"time": at, "kind": kind.lower(), "name": name, "state": state, "priority": int(priority)}


def current_events(document: dict[str, Any], at: float) -> list[dict[str, Any]]:
    """What a follower gets first: each instance's state now, as events marked `current`."""
    return [
        {
            "time": at,
            "kind": "instance",
            "name": instance["name"],
            "state": instance["state"],
            "priority": instance["effective_priority"],
            "current": True,
        }
        for instance in document.get("instances", [])
    ]


def json_line(document: object) -> bytes:
    import json  # noqa: PLC0415

    return json.dumps(document, sort_keys=True).encode() + b"\n"
