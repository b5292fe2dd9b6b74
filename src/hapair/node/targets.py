"""What the two configurations say about each other: which VRRP instances front the proxy (those with a
VIP the proxy listens on, or all of them when it listens on a wildcard address of their family), which
listeners a loopback request can reach, and which backends the proxy forwards to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from hapair.config.keepalived.model import KeepalivedConfig
from hapair.config.nginx.model.addresses import InetAddress
from hapair.config.nginx.model.config import NginxConfig
from hapair.config.nginx.model.upstream import Upstream

LOOPBACK = {4: ip_address("127.0.0.1"), 6: ip_address("::1")}


@dataclass(frozen=True)
class Probe:
    """A loopback request to a TCP listener: `http` ones get an HTTP request the proxy answers itself,
    `tls` ones a TLS handshake; a stream listener without TLS gets no request (it would reach a
    backend), only its worker's health exchange counts for it."""

    host: IPv4Address | IPv6Address
    port: int
    http: bool
    tls: bool


@dataclass(frozen=True)
class Targets:
    instances: frozenset[str]  # the VRRP instances in front of the proxy
    probes: tuple[Probe, ...]
    backends: tuple[tuple[str, int], ...]  # (host, port) of every upstream server


def targets(vrrp: KeepalivedConfig, proxy: NginxConfig, chosen: Iterable[str] = ()) -> Targets:
    """`chosen`: the instances the settings name (empty: found from the listeners)."""
    listening = [s.address for s in proxy.listening if isinstance(s.address, InetAddress) and not s.udp]
    wildcard = {a.ip.version for a in listening if a.wildcard}
    addresses = {a.ip for a in listening if not a.wildcard}
    names = set(chosen)
    if not names:
        for instance in vrrp.vrrp.instances:
            vips = [vip.address.ip for vip in (*instance.vips, *instance.evips)]
            if any(ip.version in wildcard or ip in addresses for ip in vips):
                names.add(instance.name)
    return Targets(frozenset(names), tuple(_probes(proxy)), tuple(_backends(proxy)))


def proxy_targets(proxy: NginxConfig) -> Targets:
    """The listeners and backends only (`hapair node --bgp`: no VRRP instance)."""
    return Targets(frozenset(), tuple(_probes(proxy)), tuple(_backends(proxy)))


def _probes(proxy: NginxConfig) -> list[Probe]:
    probes: dict[tuple[object, int], Probe] = {}
    if proxy.http is not None:
        for listener in proxy.http.listeners:
            address = listener.address
            if isinstance(address, InetAddress) and not listener.proxy_protocol:
                host = LOOPBACK[address.ip.version] if address.wildcard else address.ip
                probes[(host, address.port)] = Probe(host, address.port, http=True, tls=listener.ssl)
    if proxy.stream is not None:
        for server in proxy.stream.servers:
            for listen in server.listens:
                address = listen.address
                if not isinstance(address, InetAddress) or listen.udp or not listen.ssl:
                    continue
                if listen.proxy_protocol:
                    continue
                host = LOOPBACK[address.ip.version] if address.wildcard else address.ip
                probes.setdefault((host, address.port), Probe(host, address.port, http=False, tls=True))
    return list(probes.values())


def _backends(proxy: NginxConfig) -> list[tuple[str, int]]:
    upstreams: list[Upstream] = []
    if proxy.http is not None:
        upstreams += proxy.http.upstreams
    if proxy.stream is not None:
        upstreams += proxy.stream.upstreams
    found: dict[tuple[str, int], None] = {}
    for upstream in upstreams:
        for server in upstream.servers:
            if server.down:
                continue
            for address in server.addresses:
                if isinstance(address, InetAddress):
                    found[(str(address.ip), address.port)] = None
    return list(found)
