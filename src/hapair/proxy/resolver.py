"""nginx's resolver (ngx_resolver.c) for one `resolver` directive in one worker, on dnspython's asyncio
resolver: A queries (and AAAA ones with `ipv6=on`, nginx's default) to the directive's name servers, in
their order, each tried for 5 s as nginx resends; the addresses kept for the smallest TTL of the answer
(or `valid=`); failures not kept. Concurrent requests for a name share one query, as in nginx.

Addresses come IPv4 first, then IPv6, in the answer's order; a kept answer starts at a random address
(nginx rotates its cached answers). An answer without addresses counts as "Host not found", as nginx's.
Errors carry nginx's code and text: `(3: Host not found)`, `(2: Server failure)`, `(5: Operation
refused)`, `(110: Operation timed out)`...

dnspython is imported when a `resolver` is made, not with this module: 10 MB that a configuration without
`resolver` (and each worker forked from its master) should not hold (issue 15). The master imports
`DNS_MODULES` before it forks the workers of a configuration with a `resolver` (preload.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from typing import TYPE_CHECKING

from hapair.config.nginx.model.resolver import Resolver

if TYPE_CHECKING:
    import dns.rdatatype
    import dns.resolver

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DNS_MODULES = (
    "random",  # (_rotated's)
    "dns.asyncresolver",
    "dns.exception",
    "dns.message",
    "dns.nameserver",
    "dns.rdatatype",
    "dns.resolver",
)

TIMED_OUT = 110  # NGX_RESOLVE_TIMEDOUT (ETIMEDOUT)
_HOST_NOT_FOUND = 3
_SERVER_FAILURE = 2
_RESEND_S = 5.0  # nginx's resend_timeout: the next name server is asked after it
_ERRORS = {
    1: "Format error",
    2: "Server failure",
    3: "Host not found",
    4: "Unimplemented",
    5: "Operation refused",
    TIMED_OUT: "Operation timed out",
}


class ResolveError(Exception):
    """A name that could not be resolved: nginx's code and its text (ngx_resolver_strerror)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"{code}: {_ERRORS.get(code, 'Unknown error')}")
        self.code = code


class NameResolver:
    """The resolver of one `resolver` directive and its cache of answers."""

    def __init__(self, model: Resolver) -> None:
        import dns.asyncresolver  # noqa: PLC0415  (see the module's docstring)
        import dns.nameserver  # noqa: PLC0415

        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(str(address.ip), address.port) for address in model.addresses
        ]
        resolver.timeout = _RESEND_S
        resolver.retry_servfail = False
        resolver.rotate = False
        self._resolver = resolver
        self._valid = model.valid
        self._ipv6 = model.ipv6
        self._cache: dict[str, tuple[float, list[IpAddress], list[IpAddress]]] = {}
        self._pending: dict[str, asyncio.Future[tuple[list[IpAddress], list[IpAddress]]]] = {}

    async def resolve(self, name: str, timeout: float) -> list[IpAddress]:
        """The addresses of `name`; ResolveError when there are none, or none came within `timeout`."""
        key = name.lower()
        cached = self._cache.get(key)
        if cached is not None:
            if cached[0] > time.monotonic():
                return _rotated(cached[1], cached[2])
            del self._cache[key]
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = asyncio.ensure_future(self._query(key, timeout))
            pending.add_done_callback(lambda done: self._done(key, done))
        try:
            v4, v6 = await asyncio.wait_for(asyncio.shield(pending), timeout)
        except TimeoutError:
            raise ResolveError(TIMED_OUT) from None
        return v4 + v6

    def _done(self, key: str, query: asyncio.Future[tuple[list[IpAddress], list[IpAddress]]]) -> None:
        """A query is over: later requests ask again (or find its answer kept); its failure is taken
        even when every request waiting for it has given up."""
        self._pending.pop(key, None)
        if not query.cancelled():
            query.exception()

    async def _query(self, name: str, timeout: float) -> tuple[list[IpAddress], list[IpAddress]]:
        import dns.rdatatype  # noqa: PLC0415

        kinds = [dns.rdatatype.A, dns.rdatatype.AAAA] if self._ipv6 else [dns.rdatatype.A]
        answers = await asyncio.gather(
            *(self._ask(name, kind, timeout) for kind in kinds), return_exceptions=True
        )
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        v4, ttl4 = answers[0]  # type: ignore[misc]
        v6, ttl6 = answers[1] if len(answers) == 2 else ([], None)  # type: ignore[misc]
        if not v4 and not v6:
            raise ResolveError(_HOST_NOT_FOUND)
        ttl = min(ttl for ttl in (ttl4, ttl6) if ttl is not None)
        self._cache[name] = (time.monotonic() + (self._valid or ttl), v4, v6)
        return v4, v6

    async def _ask(
        self, name: str, kind: dns.rdatatype.RdataType, timeout: float
    ) -> tuple[list[IpAddress], int | None]:
        """One query's addresses and smallest TTL (no addresses for a name without such records)."""
        import dns.exception  # noqa: PLC0415
        import dns.resolver  # noqa: PLC0415

        try:
            answer = await self._resolver.resolve(name, kind, search=False, lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return [], None
        except dns.resolver.NoNameservers as exc:
            raise ResolveError(_rcode(exc)) from None
        except dns.exception.Timeout:
            raise ResolveError(TIMED_OUT) from None
        addresses = [ipaddress.ip_address(record.address) for record in answer]
        ttl = min(rrset.ttl for rrset in answer.response.answer)
        return addresses, ttl


def _rcode(exc: dns.resolver.NoNameservers) -> int:
    """The response code the name servers gave (SERVFAIL, REFUSED...), nginx's error code."""
    import dns.message  # noqa: PLC0415

    for error in exc.kwargs.get("errors", ()):
        response = error[-1]
        if isinstance(response, dns.message.Message):
            return int(response.rcode())
    return _SERVER_FAILURE


def _rotated(v4: list[IpAddress], v6: list[IpAddress]) -> list[IpAddress]:
    """ngx_resolver_export with rotation: each family from a random address, placed from a random
    position of the whole list."""
    import random  # noqa: PLC0415 (imported by the master with a resolver's modules: proxy/preload.py)

    total = len(v4) + len(v6)
    out: list[IpAddress | None] = [None] * total
    place = random.randrange(total)
    for family in (v4, v6):
        if not family:
            continue
        start = random.randrange(len(family))
        for i in range(len(family)):
            out[place] = family[(start + i) % len(family)]
            place = (place + 1) % total
    return [address for address in out if address is not None]
