"""`proxy_pass` with variables (ngx_http_proxy_eval, and the part of ngx_http_upstream_init_request that
finds the peers): the URL is made for each request and read as nginx reads it (`http://` or `https://`,
host, port, URI). Its host and port lead, in this order, to the `upstream` group of that name (a block,
when the URL has no port; or a group nginx made for a `proxy_pass` with that host and port), to the
address it is (no DNS), or to the addresses the location's `resolver` finds for it. A URI part replaces
the request's whole URI (`?a=b` alone becomes `/?a=b`; see `Route.upstream_uri`).

Peers of a resolved name exist for the request only, as nginx's: each address once (a single one is tried
once), in the resolver's order, failures not remembered by the next request. Their connections are
pooled by address. With https, they share one TLS context (nginx keeps a session per peer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hapair.config.nginx.model.addresses import InetAddress, SocketAddress
from hapair.config.nginx.model.http import ProxyPassTemplate
from hapair.config.nginx.model.upstream import Balancing, Upstream, UpstreamServer
from hapair.config.nginx.system import LocalSystem
from hapair.config.nginx.urls import Url, UrlError, UrlRules, parse_url
from hapair.proxy.balancer import Balancer, Peer
from hapair.proxy.resolver import NameResolver, ResolveError

from .headers import RequestHead
from .memo import keep
from .pool import KeepPolicy
from .target import Target, TargetTls, proxy_vars
from .variables import CompiledTemplate

if TYPE_CHECKING:
    from hapair.config.nginx.model.http import Proxy

    from .exchange import Exchange
    from .service import Service

_SCHEMES = (("http://", "http", 80), ("https://", "https", 443))
_SYSTEM = LocalSystem()  # never asked: the URL is read without resolving
_CANONICAL_LIMIT = 4096


class BadUrlError(Exception):
    """The URL made for a request cannot be used: nginx's error log text; the request gets a 500."""


class PeersError(Exception):
    """No peers for the URL's host: nginx's error log text and the status the request gets."""

    def __init__(self, text: str, status: int) -> None:
        super().__init__(text)
        self.status = status


@dataclass(frozen=True, slots=True)
class Destination:
    """What a request's URL says: its scheme, host and port, `$proxy_host` and `$proxy_port`, URI."""

    scheme: str
    url: Url
    host_port: tuple[str, str]
    uri: str | None


def _scheme(url: str) -> tuple[str, str, int]:
    for prefix, scheme, port in _SCHEMES:
        if len(url) > len(prefix) and url[: len(prefix)].lower() == prefix:
            return prefix, scheme, port
    raise BadUrlError(f'invalid URL prefix in "{url}"')


class DynamicPass:
    """One location's `proxy_pass` with variables."""

    __slots__ = (
        "_canonical",
        "_groups",
        "_head",
        "_keep_policy",
        "_resolver",
        "_service",
        "_timeout",
        "_tls",
        "_tries",
        "_url",
        "place",
    )

    def __init__(
        self,
        service: Service,
        target: ProxyPassTemplate,
        proxy: Proxy,
        tls: TargetTls,
        resolvers: dict[int, NameResolver],
    ) -> None:
        """`resolvers`: the worker's, by `resolver` directive: the locations of one share its cache."""
        self._service = service
        self._url = CompiledTemplate(target.url)
        self._head = RequestHead.of(proxy, "")
        self._tries = proxy.next_upstream_tries
        self._tls = tls
        self._timeout = target.resolver_timeout / 1000
        self._resolver: NameResolver | None = None
        if target.resolver is not None:
            key = id(target.resolver)
            self._resolver = resolvers.get(key) or resolvers.setdefault(key, NameResolver(target.resolver))
        self._groups = service.upstreams
        self.place = target.place
        self._keep_policy = KeepPolicy.of(self._group("", 0, []), service.limits)
        self._canonical: dict[SocketAddress, Peer] = {}

    def destination(self, ex: Exchange) -> Destination:
        """The request's URL, read (BadUrlError when nginx could not use it)."""
        url = self._url.evaluate(ex)
        prefix, scheme, port = _scheme(url)
        rest = url[len(prefix) :]
        try:
            parsed = parse_url(rest, UrlRules(uri_part=True, no_resolve=True, default_port=port), _SYSTEM)
        except UrlError as exc:
            raise BadUrlError(f'{exc} in upstream "{rest}"') from exc
        uri = parsed.uri if parsed.uri else None
        if uri is not None and uri.startswith("?"):
            uri = "/" + uri
        authority = rest[: len(rest) - len(parsed.uri)] if parsed.has_uri else rest
        return Destination(scheme, parsed, proxy_vars(authority, scheme), uri)

    def group_target(self, destination: Destination) -> Target | None:
        """The target of a URL naming a group, or an address; None: its host must be resolved."""
        url = destination.url
        for upstream in self._groups:
            if upstream.name.lower() == url.host.lower() and (
                (upstream.port == 0 and url.no_port) or upstream.port == url.port
            ):
                policy = KeepPolicy.of(upstream, self._service.limits)
                return self._target(self._service.balancer(upstream), destination, policy)
        if url.addresses:
            group = self._group(url.host, url.port, url.addresses[:1])
            return self._target(Balancer(group), destination, self._keep_policy, pooled=True)
        return None

    async def resolved_target(self, destination: Destination) -> Target:
        """The target of a URL naming a host the resolver finds (PeersError when it cannot)."""
        url = destination.url
        if self._resolver is None:
            raise PeersError(f"no resolver defined to resolve {url.host}", 502)
        try:
            ips = await self._resolver.resolve(url.host, self._timeout)
        except ResolveError as error:
            raise PeersError(f"{url.host} could not be resolved ({error})", 502) from None
        addresses = [InetAddress(ip, url.port) for ip in ips]
        group = self._group(url.host, url.port, addresses)
        return self._target(Balancer(group), destination, self._keep_policy, pooled=True)

    def _target(
        self, balancer: Balancer, destination: Destination, policy: KeepPolicy, *, pooled: bool = False
    ) -> Target:
        return Target(
            balancer,
            destination.scheme,
            host_port=destination.host_port,
            head=self._head.for_host(destination.host_port[0]),
            keep_policy=policy,
            tries=self._tries,
            tls=self._tls,
            canonical=self._pooled if pooled else None,
        )

    def _group(self, host: str, port: int, addresses: list[SocketAddress]) -> Upstream:
        """nginx's group for a URL's address or resolved host (ngx_http_upstream_create_round_robin_peer):
        each address once, weight 1, max_fails 1, fail_timeout 10."""
        server = UpstreamServer(f"{host}:{port}", tuple(addresses), 1, 1, 10, False, False, self.place)
        return Upstream(host, (server,), Balancing.ROUND_ROBIN, None, True, self.place)

    def _pooled(self, peer: Peer) -> Peer:
        """The peer that stands for `peer`'s address in the connection pool."""
        canonical = self._canonical
        found = canonical.get(peer.address)
        if found is None:
            found = keep(canonical, peer.address, peer, _CANONICAL_LIMIT)
        return found
