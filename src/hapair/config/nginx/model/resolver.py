"""The `resolver` directive: the name servers that resolve, per request, the names `proxy_pass` with
variables gives (ngx_resolver_create)."""

from __future__ import annotations

from dataclasses import dataclass

from .addresses import InetAddress
from .place import Place

DEFAULT_RESOLVER_TIMEOUT = 30_000  # ms, nginx's `resolver_timeout`


@dataclass(frozen=True, slots=True)
class Resolver:
    """One `resolver` directive (the levels below it share it, and its cache, as nginx's)."""

    addresses: tuple[InetAddress, ...]  # in order; a name in the directive gives its addresses
    valid: int  # seconds an answer is kept; 0: its records' TTL
    ipv6: bool  # AAAA queries beside A ones
    place: Place
