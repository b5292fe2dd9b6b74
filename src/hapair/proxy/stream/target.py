"""`proxy_pass` with variables in a stream server (ngx_stream_proxy_eval and the part of
ngx_stream_proxy_handler that finds the peers): the value, made for each session, is read as nginx reads
an address (`host:port`, `[v6]:port`, `unix:path`). Its host and port lead, in this order, to the
`upstream` group of that name (a block, when the value has no port; or a group nginx made for a
`proxy_pass` with that host and port), to the address it is (no DNS), or to the addresses the server's
`resolver` finds for it. Each failure is nginx's error line and status 500: `... in upstream "..."` for a
value that is no address, `no port in upstream "..."`, `no resolver defined to resolve ...`, `... could not
be resolved (3: Host not found)`.

Peers of an address or a resolved name exist for the session only, as nginx's
(ngx_stream_upstream_create_round_robin_peer): each address once, weight 1, max_fails 1, fail_timeout 10,
failures not remembered by the next session.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from hapair.config.nginx.model.addresses import InetAddress, SocketAddress
from hapair.config.nginx.model.place import Place
from hapair.config.nginx.model.stream import StreamTarget
from hapair.config.nginx.model.upstream import Balancing, Upstream, UpstreamServer
from hapair.config.nginx.system import LocalSystem
from hapair.config.nginx.urls import Url, UrlError, UrlRules, parse_url
from hapair.proxy.balancer import Balancer
from hapair.proxy.resolver import NameResolver, ResolveError

from .variables import BalancingKey, SessionView, StreamVariables

_SYSTEM = LocalSystem()  # never asked: the value is read without resolving
_RULES = UrlRules(no_resolve=True)


@dataclass(frozen=True, slots=True)
class Group:
    """An upstream group's balancer in this worker, and its `hash` key made ready."""

    balancer: Balancer
    key: BalancingKey | None = None


class TargetError(Exception):
    """The session's value leads nowhere: nginx's error log text (the session ends with 500)."""


class DynamicTarget:
    """One server's `proxy_pass` with variables. `groups(upstream)` gives the worker's `Group` of a
    configured upstream."""

    __slots__ = ("_groups", "_place", "_resolver", "_timeout", "_upstreams", "_value")

    def __init__(
        self,
        target: StreamTarget,
        variables: StreamVariables,
        *,
        upstreams: tuple[Upstream, ...],
        groups: Callable[[Upstream], Group],
        resolvers: dict[int, NameResolver],
        place: Place,
    ) -> None:
        """`resolvers`: the worker's, by `resolver` directive: the servers of one share its cache."""
        self._value = variables.template(target.value)
        self._upstreams = upstreams
        self._groups = groups
        self._timeout = target.resolver_timeout / 1000
        self._resolver: NameResolver | None = None
        if target.resolver is not None:
            key = id(target.resolver)
            self._resolver = resolvers.get(key) or resolvers.setdefault(key, NameResolver(target.resolver))
        self._place = place

    def find(self, session: SessionView) -> Group | Coroutine[Any, Any, Group]:
        """The session's peers; or, for a name to resolve, the coroutine that resolves it (TargetError
        when the value leads nowhere)."""
        value = self._value.evaluate(session)
        try:
            url = parse_url(value, _RULES, _SYSTEM)
        except UrlError as exc:
            raise TargetError(f'{exc} in upstream "{value}"') from exc
        for upstream in self._upstreams:
            if upstream.name.lower() == url.host.lower() and (
                (upstream.port == 0 and url.no_port) or upstream.port == url.port
            ):
                return self._groups(upstream)
        if url.port == 0 and not url.unix:
            raise TargetError(f'no port in upstream "{url.host}"')
        if url.addresses:
            return Group(Balancer(self._group(url, url.addresses[:1])))
        if self._resolver is None:
            raise TargetError(f"no resolver defined to resolve {url.host}")
        return self._resolved(self._resolver, url)

    async def _resolved(self, resolver: NameResolver, url: Url) -> Group:
        try:
            ips = await resolver.resolve(url.host, self._timeout)
        except ResolveError as error:
            raise TargetError(f"{url.host} could not be resolved ({error})") from None
        return Group(Balancer(self._group(url, [InetAddress(ip, url.port) for ip in ips])))

    def _group(self, url: Url, addresses: list[SocketAddress]) -> Upstream:
        server = UpstreamServer(url.host, tuple(addresses), 1, 1, 10, False, False, self._place)
        return Upstream(url.host, (server,), Balancing.ROUND_ROBIN, None, True, self._place)
