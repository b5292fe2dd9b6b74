"""Model: the BFD sessions keepalived's BFD process runs (`bfd_instance` blocks).

keepalived's VRRP and checker processes read the same blocks their own way and keep what `track_bfd` and
`BFD_CHECK` may name: those are `VrrpData.tracked_bfds` and `CheckData.tracked_bfds`. The BFD process
accepts fewer blocks (it needs a valid `neighbor_ip`). Intervals are in microseconds (`_us`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from .place import Place

IPAddress = IPv4Address | IPv6Address

BFD_CONTROL_PORT = 3784
BFD_CONTROL_TTL = 255  # IPv4 default TTL
BFD_CONTROL_HOPLIMIT = 64  # IPv6 default hop limit
BFD_NAME_MAX = 31


@dataclass
class BfdInstance:
    """One `bfd_instance NAME { … }` session: `ttl` defaults to 255 for IPv4, 64 for IPv6; `max_hops` 255
    accepts any hop count. `to_vrrp` and `to_checker` say which processes get the session's events."""

    name: str
    neighbor: IPAddress | None = None
    source: IPAddress | None = None
    min_rx_us: int = 10_000
    min_tx_us: int = 10_000
    idle_tx_us: int = 1_000_000
    multiplier: int = 5
    passive: bool = False
    ttl: int = 0
    max_hops: int = 0
    to_vrrp: bool = True
    to_checker: bool = True
    defined_at: Place | None = field(default=None, compare=False, repr=False)  # where the block starts


@dataclass
class BfdData:
    """The sessions of the BFD process."""

    sessions: list[BfdInstance] = field(default_factory=list)

    def find(self, name: str) -> BfdInstance | None:
        """The session named `name`, or None."""
        return next((b for b in self.sessions if b.name == name), None)
