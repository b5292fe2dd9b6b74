"""The per-peer health state for readers outside the data planes (`hapair node`'s native tracking, a
status page): read from the same shared memory the balancers read, in any process that has the zones
(the master, which made them; a worker), without a lock and without writing.

    reader = HealthReader(config, zones)        # the running NginxConfig and its SharedZones
    for record in reader.peers(): ...           # PeerHealthRecord: block, upstream, peer, state...
    reader.upstream_down("http", "backend")     # True when no peer of the group passes its checks

A reader is valid for one configuration: make a new one after a reload (the zones may be new).
"""

from __future__ import annotations

from dataclasses import dataclass

from hapair.config.nginx.model.config import NginxConfig
from hapair.config.nginx.model.place import Place

from ..shm import SharedZones
from .board import HEALTHY, STATE_NAMES, HealthBoard


@dataclass(frozen=True, slots=True)
class PeerHealthRecord:
    """One peer as one check sees it: `state` is "healthy", "unhealthy" or "checking" (a `mandatory`
    check has not run yet); `fails`/`passes` are the checks failed or passed in a row, `checks` those
    done since the zone was made."""

    block: str  # "http" or "stream"
    upstream: str
    peer: str  # its address as nginx writes it ($upstream_addr)
    server: str  # the `server` line's name
    backup: bool
    check: Place  # where the `health_check` line is
    state: str
    fails: int
    passes: int
    checks: int


class HealthReader:
    def __init__(self, config: NginxConfig, zones: SharedZones) -> None:
        self._boards: list[tuple[str, HealthBoard]] = []
        for block, checks, stream in (
            ("http", config.http.health_checks if config.http is not None else (), False),
            ("stream", config.stream.health_checks if config.stream is not None else (), True),
        ):
            board = HealthBoard.of(zones, checks, stream=stream)
            if board is not None:
                self._boards.append((block, board))

    def peers(self) -> list[PeerHealthRecord]:
        """Every (check, peer), the checks in configuration order, http first."""
        records: list[PeerHealthRecord] = []
        for block, board in self._boards:
            for item in board.slots:
                for index, peer in enumerate(item.peers):
                    slot = item.first + index
                    fails, passes, checks = board.counters(slot)
                    records.append(
                        PeerHealthRecord(
                            block,
                            item.check.upstream.name,
                            peer.name,
                            peer.server,
                            peer.backup,
                            item.check.place,
                            STATE_NAMES[board.state(slot)],
                            fails,
                            passes,
                            checks,
                        )
                    )
        return records

    def upstream_down(self, block: str, upstream: str) -> bool:
        """Whether every checked peer of the group is kept out by its checks (False: not checked)."""
        peers: dict[str, bool] = {}
        for record in self.peers():
            if record.block == block and record.upstream == upstream:
                peers[record.peer] = peers.get(record.peer, True) and record.state == STATE_NAMES[HEALTHY]
        return bool(peers) and not any(peers.values())
