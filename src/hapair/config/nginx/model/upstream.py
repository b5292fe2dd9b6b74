"""Upstream groups: `upstream` blocks, and the ones nginx makes for a `proxy_pass` naming a host."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .addresses import SocketAddress
from .place import Place
from .templates import Template


class Balancing(Enum):
    """The group's load balancing method: the directive that chose it (the last one in the block)."""

    ROUND_ROBIN = "round-robin"  # weighted, nginx's smooth weighted round-robin
    LEAST_CONN = "least_conn"
    IP_HASH = "ip_hash"  # http only: the client's address
    HASH = "hash"  # `hash KEY`
    CONSISTENT_HASH = "hash consistent"  # `hash KEY consistent` (ketama)
    RANDOM = "random"
    RANDOM_TWO = "random two"  # `random two [least_conn]`: of two random peers, the less loaded


@dataclass(frozen=True, slots=True)
class UpstreamServer:
    """One `server` line; a name that resolves to several addresses gives several peers."""

    name: str
    addresses: tuple[SocketAddress, ...]
    weight: int
    max_fails: int  # 0: failures are not counted
    fail_timeout: int  # seconds
    backup: bool
    down: bool
    place: Place
    max_conns: int = 0  # 0: no limit (per worker process: see hapair.proxy.balancing)


@dataclass(frozen=True, slots=True)
class Keepalive:
    """Idle connections kept to the group's servers, per worker (`keepalive` and its companions)."""

    connections: int
    timeout: int  # milliseconds an idle connection is kept
    requests: int  # requests after which a connection is closed
    time: int  # milliseconds after which a connection is closed


@dataclass(frozen=True, slots=True)
class Upstream:
    name: str
    servers: tuple[UpstreamServer, ...]
    balancing: Balancing
    keepalive: Keepalive | None
    implicit: bool  # made by nginx for a `proxy_pass` that names no `upstream` block
    place: Place  # the `upstream` block, or the `proxy_pass` that made it
    hash_key: Template | None = None  # `hash KEY`'s key, evaluated once per request or session
    zone: str | None = None  # `zone NAME`: accepted; peer state stays per worker process
    port: int = 0  # an implicit group's port (its `proxy_pass`'s, or the scheme's); 0 for a block
