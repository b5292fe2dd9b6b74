"""Where a proxied request goes (nginx's r->upstream and the proxy module's vars): the group and its
balancer, the scheme and name nginx logs, `$proxy_host` and `$proxy_port`, the request head, the pool
keys of its peers. A `proxy_pass` without variables has one, made when the worker starts; with
variables, each request gets its own (`dynamic`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from hapair.proxy.balancer import Balancer, Peer

from .headers import RequestHead
from .pool import KeepPolicy, PoolKey
from .tls import UpstreamContext
from .variables import CompiledTemplate

if TYPE_CHECKING:
    from .exchange import Exchange

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def proxy_vars(authority: str, scheme: str) -> tuple[str, str]:
    """`$proxy_host` and `$proxy_port` of a URL's host part: the host as written, with the port when
    one is written and is not the scheme's default (ngx_http_proxy_set_vars)."""
    default = _DEFAULT_PORTS[scheme]
    if authority.lower().startswith("unix:"):
        return "localhost", ""
    host, port = authority, ""
    close = authority.rfind("]")
    colon = authority.rfind(":")
    if colon > close:
        host, port = authority[:colon], authority[colon + 1 :]
    if not port or int(port) == default:
        return host, str(default)
    return f"{host}:{port}", port


class TargetTls:
    """What the https targets of a location share: a context per peer of its group (made while the worker
    may still read the certificate files), or one context for the peers a URL with variables leads to;
    and the name sent and verified (None: none is sent)."""

    __slots__ = ("contexts", "name", "shared")

    def __init__(
        self,
        contexts: dict[Peer, UpstreamContext],
        shared: UpstreamContext | None,
        name: CompiledTemplate | None,
    ) -> None:
        self.contexts = contexts
        self.shared = shared
        self.name = name


class Target:
    """A group to proxy to, and how its requests are named and written."""

    __slots__ = (
        "_canonical",
        "_keys",
        "_tls",
        "balancer",
        "head",
        "host",
        "keep_policy",
        "name",
        "port",
        "scheme",
        "tries",
    )

    def __init__(
        self,
        balancer: Balancer,
        scheme: str,
        *,
        host_port: tuple[str, str],
        head: RequestHead,
        keep_policy: KeepPolicy,
        tries: int,
        tls: TargetTls | None,
        canonical: Callable[[Peer], Peer] | None = None,
    ) -> None:
        """`tries`: proxy_next_upstream_tries (0: as many as the group has peers); `canonical`: the peer
        that stands for a peer's address in the connection pool (peers made per request are new objects
        each time)."""
        self.balancer = balancer
        self.name = balancer.upstream.name
        self.scheme = scheme
        self.host: str = host_port[0]
        self.port: str = host_port[1]
        self.head = head
        self.keep_policy = keep_policy
        self.tries = min(balancer.tries, tries) if tries else balancer.tries
        self._tls = tls if scheme == "https" else None
        self._canonical = canonical
        self._keys: dict[Peer, PoolKey] = {}

    def pool_key(self, peer: Peer, ex: Exchange) -> PoolKey:
        """The key of the connections `peer` can serve this request on."""
        key = self._keys.get(peer)
        if key is not None:
            return key
        tls = self._tls
        context = name = None
        if tls is not None:
            context = tls.shared or tls.contexts.get(peer)
            if tls.name is not None:
                name = tls.name.evaluate(ex) or None
        key = PoolKey(peer if self._canonical is None else self._canonical(peer), context, name)
        if tls is None or tls.name is None or tls.name.constant is not None:
            self._keys[peer] = key
        return key
