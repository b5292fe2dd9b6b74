"""Upstream groups once the block is read (ngx_http_upstream_init_round_robin and its stream twin): an
implicit group naming a host is resolved now; a group needs a server that is not a backup."""

from __future__ import annotations

from ..errors import ConfigError
from ..fields import KEEPALIVE_REQUESTS, KEEPALIVE_TIME, KEEPALIVE_TIMEOUT
from ..model.addresses import InetAddress
from ..model.upstream import Keepalive, Upstream, UpstreamServer
from ..state import UpstreamState
from ..system import HostNotFoundError, System

DEFAULT_MAX_FAILS = 1
DEFAULT_FAIL_TIMEOUT = 10
KEEPALIVE_TIMEOUT_DEFAULT = 60_000
KEEPALIVE_REQUESTS_DEFAULT = 1000
KEEPALIVE_TIME_DEFAULT = 3_600_000


def build_upstream(group: UpstreamState, system: System) -> Upstream:
    servers = tuple(group.servers) if group.servers is not None else (_resolved(group, system),)
    if not any(server.addresses for server in servers if not server.backup):
        raise ConfigError.after_reading(f'no servers in upstream "{group.name}"', group.place)
    keepalive = None
    if group.keepalive is not None and group.keepalive_active:
        keepalive = Keepalive(
            connections=group.keepalive.value,
            timeout=group.level.value(KEEPALIVE_TIMEOUT, KEEPALIVE_TIMEOUT_DEFAULT),
            requests=group.level.value(KEEPALIVE_REQUESTS, KEEPALIVE_REQUESTS_DEFAULT),
            time=group.level.value(KEEPALIVE_TIME, KEEPALIVE_TIME_DEFAULT),
        )
    return Upstream(
        group.name,
        servers,
        group.balancing,
        keepalive,
        not group.explicit,
        group.place,
        hash_key=group.hash_key,
        zone=group.zone,
        port=group.port,
    )


def _resolved(group: UpstreamState, system: System) -> UpstreamServer:
    """An implicit group naming a host: one peer per address, with nginx's default failure accounting."""
    if group.port == 0:
        raise ConfigError.after_reading(f'no port in upstream "{group.name}"', group.place)
    try:
        ips = system.resolve(group.name)
    except HostNotFoundError as exc:
        raise ConfigError.after_reading(f'host not found in upstream "{group.name}"', group.place) from exc
    addresses = tuple(InetAddress(ip, group.port) for ip in ips)
    return UpstreamServer(
        f"{group.name}:{group.port}",
        addresses,
        1,
        DEFAULT_MAX_FAILS,
        DEFAULT_FAIL_TIMEOUT,
        False,
        False,
        group.place,
    )
