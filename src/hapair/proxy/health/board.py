"""Where health check results live: one shared memory zone per block (http, stream) that has
`health_check` lines, made by the master before it forks the workers, written by the one process that
runs the checks and read, without a lock, by every worker's balancers and by `HealthReader`.

Layout: one 32-byte slot per (check, peer), the checks in configuration order and each check's peers in
the balancer's order (`Balancer.peers`: primary, then backup). A slot's first byte is its state (one
byte: a reader never sees half a write), then three 8-byte counters that only the checker writes:
failures in a row, passes in a row, checks done.

The zone is kept across a reload when the checks and their peers are the same (the state goes on), and
made anew otherwise: its peers then start healthy, or `CHECKING` for a `mandatory` check. A `mandatory`
check without `persistent` gets a new zone at every reload, as NGINX Plus checks its peers again then.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from hapair.config.nginx.model.health import HealthCheck
from hapair.config.nginx.model.upstream import Upstream

from ..balancer import Balancer
from ..balancing import Peer
from ..shm import SharedZone, SharedZones, ZoneSpec

HEALTHY: Final = 0
UNHEALTHY: Final = 1
CHECKING: Final = 2  # `mandatory`: not checked yet, not used
STATE_NAMES: Final = {HEALTHY: "healthy", UNHEALTHY: "unhealthy", CHECKING: "checking"}
SLOT_SIZE: Final = 32
_COUNTERS: Final = struct.Struct("=qqq")  # fails in a row, passes in a row, checks done
ZONE_TAG: Final = "hapair_upstream_hc"


def zone_name(stream: bool) -> str:
    return "hapair-health:stream" if stream else "hapair-health:http"


@dataclass(frozen=True, slots=True)
class CheckSlots:
    """One check's peers (the balancer's order) and its first slot."""

    check: HealthCheck
    peers: tuple[Peer, ...]
    first: int


def layout(checks: Sequence[HealthCheck]) -> tuple[CheckSlots, ...]:
    placed: list[CheckSlots] = []
    first = 0
    for check in checks:
        peers = Balancer(check.upstream).peers
        placed.append(CheckSlots(check, peers, first))
        first += len(peers)
    return tuple(placed)


def zone_spec(checks: Sequence[HealthCheck], *, stream: bool) -> ZoneSpec | None:
    """The zone a block's checks need (None without checks)."""
    if not checks:
        return None
    slots = layout(checks)
    count = sum(len(item.peers) for item in slots)
    identity = "\n".join(
        f"{item.check.place} {item.check.upstream.name} {item.check.mandatory} "
        + " ".join(peer.name for peer in item.peers)
        for item in slots
    )
    if any(check.mandatory and not check.persistent for check in checks):
        identity += f"\nreload {time.monotonic_ns()}"

    def initialize(zone: SharedZone) -> None:
        for item in slots:
            if item.check.mandatory:
                for index in range(len(item.peers)):
                    zone.memory[(item.first + index) * SLOT_SIZE] = CHECKING

    return ZoneSpec(
        zone_name(stream),
        ZONE_TAG,
        0,
        count * SLOT_SIZE,
        initialize,
        identity,
        lambda _: "",
        fresh_when_changed=True,
    )


class PeerHealth:
    """What one balancer reads: whether its peer number `index` (in `Balancer.peers`) is checked down
    (unhealthy or not checked yet by any of the checks of its group)."""

    __slots__ = ("_memory", "_offsets")

    def __init__(self, memory: memoryview, offsets: list[tuple[int, ...]]) -> None:
        self._memory = memory
        self._offsets = offsets

    def down(self, index: int) -> bool:
        memory = self._memory
        return any(memory[offset] for offset in self._offsets[index])


class HealthBoard:
    """A block's checks and their zone, as a process sees them."""

    def __init__(self, zone: SharedZone, checks: Sequence[HealthCheck]) -> None:
        self.memory = zone.memory
        self.slots = layout(checks)

    @classmethod
    def of(cls, zones: SharedZones, checks: Sequence[HealthCheck], *, stream: bool) -> HealthBoard | None:
        return cls(zones.get(zone_name(stream)), checks) if checks else None

    def view(self, upstream: Upstream) -> PeerHealth | None:
        """The health a balancer of `upstream` reads (None: no check covers the group)."""
        mine = [item for item in self.slots if item.check.upstream == upstream]
        if not mine:
            return None
        count = len(mine[0].peers)
        offsets = [tuple((item.first + index) * SLOT_SIZE for item in mine) for index in range(count)]
        return PeerHealth(self.memory, offsets)

    def state(self, slot: int) -> int:
        return self.memory[slot * SLOT_SIZE]

    def counters(self, slot: int) -> tuple[int, int, int]:
        fails, passes, checks = _COUNTERS.unpack_from(self.memory, slot * SLOT_SIZE + 8)
        return fails, passes, checks

    def write(self, slot: int, state: int, fails: int, passes: int, checks: int) -> None:
        """The checker's only write: the counters first, then the state byte that readers act on."""
        _COUNTERS.pack_into(self.memory, slot * SLOT_SIZE + 8, fails, passes, checks)
        self.memory[slot * SLOT_SIZE] = state
