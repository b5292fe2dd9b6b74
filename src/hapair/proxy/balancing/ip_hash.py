"""`ip_hash` (ngx_http_upstream_ip_hash_module.c; http only): the client's address chooses the peer, so
that a client keeps reaching the same server while it is available.

The key is the client's packed address: of an IPv4 address its first three bytes (a /24 goes to one
peer), of an IPv6 address all sixteen, and three zero bytes for any other client (a unix socket). Each
candidate comes from a hash that starts at 89 and takes in the key's bytes, one at a time, as
`hash = (hash * 113 + byte) % 6271`; the candidate is the primary peer owning point `hash %
total_weight` of the weights laid end to end (`down` peers included). A candidate that is tried, down,
full or failed is passed over by hashing the key again from where the hash stands; after 20 passed-over
candidates in a request, round-robin chooses instead. The hash that found a peer is kept: a retry of the
same request goes on from it.
"""

from __future__ import annotations

from .peers import MAX_TRIES, Group, PeerState, Selection
from .round_robin import round_robin

_IPV4_BYTES = 3
_PSEUDO_ADDRESS = bytes(3)  # the key of a client that has no IP address
_START = 89


def address_key(address: bytes) -> bytes:
    """The part of a client's packed address that ip_hash hashes."""
    if len(address) == 4:
        return address[:_IPV4_BYTES]
    if len(address) == 16:
        return address
    return _PSEUDO_ADDRESS


class IpHash:
    __slots__ = ("_group",)

    def __init__(self, group: Group) -> None:
        self._group = group

    def start(self, selection: Selection) -> None:
        selection.key = address_key(selection.key)
        selection.hash = _START

    def choose(self, selection: Selection, now: float) -> PeerState | None:
        group = self._group
        if selection.tries > MAX_TRIES or group.single:
            return round_robin(group, selection, now)
        hashed = selection.hash
        while True:
            for byte in selection.key:
                hashed = (hashed * 113 + byte) % 6271
            state = group.weighted(hashed % group.total_weight)
            if state.peer not in selection.tried and state.available(now):
                selection.hash = hashed
                return state
            selection.tries += 1
            if selection.tries > MAX_TRIES:
                return round_robin(group, selection, now)
