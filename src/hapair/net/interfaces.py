"""The interfaces of the current network namespace, read over netlink."""

from __future__ import annotations

from pyroute2 import IPRoute

from hapair.config.keepalived.host import Interface

IFF_UP = 0x1
IFF_LOOPBACK = 0x8


def list_interfaces(netns: str | None = None) -> list[Interface]:
    """Interfaces of the current network namespace, or of the named one (as `ip netns` names them)."""
    with IPRoute(netns=netns) if netns else IPRoute() as ipr:
        links = ipr.get_links()
        addresses = ipr.get_addr()
    by_index: dict[int, dict[int, list[str]]] = {}
    for addr in addresses:
        cidr = f"{addr.get_attr('IFA_ADDRESS')}/{addr['prefixlen']}"
        by_index.setdefault(addr["index"], {}).setdefault(addr["family"], []).append(cidr)
    result = []
    for link in links:
        index = link["index"]
        families = by_index.get(index, {})
        result.append(
            Interface(
                name=link.get_attr("IFLA_IFNAME"),
                index=index,
                loopback=bool(link["flags"] & IFF_LOOPBACK),
                up=bool(link["flags"] & IFF_UP),
                mtu=link.get_attr("IFLA_MTU") or 1500,
                mac=link.get_attr("IFLA_ADDRESS") or "00:00:00:00:00:00",
                ipv4=tuple(families.get(2, ())),
                ipv6=tuple(families.get(10, ())),
            )
        )
    return result
