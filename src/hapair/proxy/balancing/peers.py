"""What the balancing methods work on: the peers of a group with their state, and a request's selection.

- `Peer`: one address of one `server` line, with the line's parameters.
- `PeerState`: what nginx keeps per peer beside its configuration (ngx_http_upstream_rr_peer_t): the
  smooth round-robin's weights, the connections counted since `pick`, the failures and their times.
- `Group`: the primary peers (in configuration order) and the backup ones, with the primary peers' total
  weight (`down` ones included, as nginx counts them) and whether the group is nginx's "single" one.
- `Selection`: one request's (or stream session's) way through the group, nginx's per-request peer
  data: the peers tried, whether it moved on to the backup peers, the key, and where the method's search
  stands (a hash, a count of rehashes, the candidates skipped).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Final, Protocol

from hapair.config.nginx.model.addresses import SocketAddress

# the hash and random methods try this many candidates per request before giving up to round-robin
MAX_TRIES: Final = 20


@dataclass(frozen=True, slots=True, eq=False)
class Peer:
    """One address of one `server` line; hashed by identity (two lines may name the same address)."""

    address: SocketAddress
    name: str  # the address as nginx writes it ($upstream_addr): "127.0.0.1:8080"
    server: str  # the `server` line's name as written
    weight: int
    max_fails: int  # 0: failures are not counted
    fail_timeout_s: float
    backup: bool
    down: bool
    max_conns: int = 0  # 0: no limit
    # the address's family and connect() argument, made once (a session connects with them)
    family: int = field(init=False)
    sockaddr: tuple[str, int] | str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "family", self.address.family)
        object.__setattr__(self, "sockaddr", self.address.sockaddr)


class PeerState:
    """What nginx keeps per peer beside its configuration (ngx_http_upstream_rr_peer_t)."""

    __slots__ = ("accessed", "checked", "conns", "current_weight", "effective_weight", "fails", "peer")

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.current_weight = 0
        self.effective_weight = peer.weight
        self.conns = 0
        self.fails = 0
        self.accessed = 0.0  # time of the last failure
        self.checked = 0.0  # time of the last failure, or of the first pick after fail_timeout

    def checked_down(self) -> bool:
        """Whether active health checks keep the peer out (never, without them)."""
        return False

    def available(self, now: float) -> bool:
        """Whether the peer may be picked now: not `down`, below `max_conns`, not failed."""
        peer = self.peer
        if peer.down:
            return False
        if peer.max_conns and self.conns >= peer.max_conns:
            return False
        if not peer.max_fails or self.fails < peer.max_fails:
            return True
        return now - self.checked > peer.fail_timeout_s


class PeerHealthView(Protocol):
    """Active health checks' verdict on the peers of a group (`hapair.proxy.health.board.PeerHealth`)."""

    def down(self, index: int) -> bool: ...


class CheckedPeerState(PeerState):
    """A peer that `health_check` covers: also unavailable while its checks say it is down (read from
    shared memory at each pick; a group without checks has plain `PeerState`s and reads nothing)."""

    __slots__ = ("_health", "_index")

    def __init__(self, peer: Peer, health: PeerHealthView, index: int) -> None:
        super().__init__(peer)
        self._health = health
        self._index = index

    def checked_down(self) -> bool:
        return self._health.down(self._index)

    def available(self, now: float) -> bool:
        return not self._health.down(self._index) and super().available(now)


class Group:
    """The peers of an upstream group as the methods see them (nginx's peers list and its backup list)."""

    __slots__ = ("_starts", "backup", "primary", "single", "total_weight")

    def __init__(self, primary: list[PeerState], backup: list[PeerState]) -> None:
        self.primary = primary
        self.backup = backup
        self.single = len(primary) == 1 and not backup
        starts: list[int] = []
        total = 0
        for state in primary:
            starts.append(total)
            total += state.peer.weight
        self._starts = starts
        self.total_weight = total

    def weighted(self, point: int) -> PeerState:
        """The primary peer whose share of the total weight holds `point` (0 <= point < total_weight):
        each peer owns as many consecutive points as its weight, in configuration order."""
        return self.primary[bisect_right(self._starts, point) - 1]


class Selection:
    """One request's (or stream session's) way through a group; see the module's documentation."""

    __slots__ = ("backup", "hash", "key", "rehash", "tried", "tries")

    def __init__(self, key: bytes = b"") -> None:
        self.key = key
        self.tried: set[Peer] = set()
        self.backup = False  # round-robin moved on to the backup peers: the primary ones are not tried again
        self.hash = 0
        self.rehash = 0
        self.tries = 0  # candidates the hash or random method skipped; past MAX_TRIES, round-robin
