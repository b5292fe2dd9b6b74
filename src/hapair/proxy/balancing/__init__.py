"""nginx 1.22's load balancing methods, one module per nginx module, each read beside its nginx source:
`round_robin` (the default, and every method's fallback), `least_conn`, `ip_hash`, `hash` (`hash KEY`
and `hash KEY consistent`) and `random_choice` (`random [two [least_conn]]`), over the peers and the
per-request state of `peers`. `hapair.proxy.balancer.Balancer` puts a group's method and peers together
for the data planes.

A method is an object with `start(selection)`, which prepares a request's `Selection` from its key, and
`choose(selection, now)`, which returns the next peer's state or None. Everything here is pure: times are
passed in, random numbers come from a `random.Random` given to the method (else one of the process's own:
`random` is imported by the configurations that balance at random, by the master before it forks their
workers, proxy/preload.py; 0.13 MB of each worker's memory otherwise, issue 15's budget). The methods
other than round robin are imported by `method_for` when a group uses them (`METHOD_MODULES`), by the
master before it forks its workers (proxy/preload.py), so that a configuration that balances by round
robin alone, as the seed's, holds none of them.

Peer state is per worker process, with or without `zone`: see `hapair.proxy.balancer`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

from hapair.config.nginx.model.upstream import Balancing

from .peers import Group, Peer, PeerState, Selection
from .round_robin import RoundRobin

if TYPE_CHECKING:
    from random import Random

__all__ = ["METHOD_MODULES", "Group", "Method", "Peer", "PeerState", "Selection", "method_for"]

METHOD_MODULES: Final = {
    Balancing.LEAST_CONN: "hapair.proxy.balancing.least_conn",
    Balancing.IP_HASH: "hapair.proxy.balancing.ip_hash",
    Balancing.HASH: "hapair.proxy.balancing.hash",
    Balancing.CONSISTENT_HASH: "hapair.proxy.balancing.hash",
    Balancing.RANDOM: "hapair.proxy.balancing.random_choice",
    Balancing.RANDOM_TWO: "hapair.proxy.balancing.random_choice",
}


class Method(Protocol):
    def start(self, selection: Selection) -> None: ...

    def choose(self, selection: Selection, now: float) -> PeerState | None: ...


def method_for(balancing: Balancing, group: Group, random: Random | None = None) -> Method:
    """The method object of a group; `random`: the random numbers of `random` methods."""
    # the methods' modules imported here, not with this package (the module's docstring)
    if balancing is Balancing.LEAST_CONN:
        from .least_conn import LeastConn  # noqa: PLC0415

        return LeastConn(group)
    if balancing is Balancing.IP_HASH:
        from .ip_hash import IpHash  # noqa: PLC0415

        return IpHash(group)
    if balancing is Balancing.HASH or balancing is Balancing.CONSISTENT_HASH:
        from .hash import ConsistentHash, Hash  # noqa: PLC0415

        return Hash(group) if balancing is Balancing.HASH else ConsistentHash(group)
    if balancing is Balancing.RANDOM or balancing is Balancing.RANDOM_TWO:
        from .random_choice import RandomPeer, RandomTwo  # noqa: PLC0415

        source = random or new_random()
        return RandomPeer(group, source) if balancing is Balancing.RANDOM else RandomTwo(group, source)
    return RoundRobin(group)


def new_random() -> Random:
    from random import Random  # noqa: PLC0415 (see the module's docstring)

    return Random()
