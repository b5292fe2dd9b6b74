"""`hapair lab logs NODE`: a node's logs, kept in its state directory."""

from __future__ import annotations

from .errors import LabError
from .state import LabState

LOGS = {
    "vrrp": "vrrp.log",  # the VRRP daemon's console (the seed's `journalctl -u keepalived`)
    "proxy": "proxy.log",  # the proxy's console output
    "error": "error.log",  # the proxy's error log
    "access": "keepalived.access.log",  # the seed's access log
    "setup": "setup.log",  # the node's set-up
    "bgp": "bgp.log",  # BGP lab: hapair bgp's (under --health native, hapair node's is the vrrp log)
    "bird": "bird.log",  # BGP lab: the node's BIRD
}


def log_text(state: LabState, number: int, what: str) -> str:
    state.node(number)
    path = state.node_directory(number) / "log" / LOGS[what]
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        raise LabError(f"node {number} has no {what} log yet ({path})") from None
