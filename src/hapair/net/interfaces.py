"""The interfaces of a network namespace, read over netlink."""

from __future__ import annotations

import socket
from collections.abc import Iterable

from pyroute2 import IPRoute
from pyroute2.netlink import nlmsg
from pyroute2.netlink.rtnl import RTM_GETADDR, RTM_GETLINK
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from hapair.config.keepalived.host import Interface

from .rtnl import Rtnetlink

IFF_UP = 0x1
IFF_LOOPBACK = 0x8


def list_interfaces(netns: str | None = None) -> list[Interface]:
    """Interfaces of the current network namespace (usable inside a running event loop), or of the named
    one (as `ip netns` names them; pyroute2 enters it, which it cannot do inside a running loop)."""
    if netns:
        with IPRoute(netns=netns) as ipr:
            return _interfaces(ipr.get_links(), ipr.get_addr())
    with Rtnetlink() as rtnl:
        return _interfaces(rtnl.dump(ifinfmsg(), RTM_GETLINK), rtnl.dump(ifaddrmsg(), RTM_GETADDR))


def private_macvlan_base(link: nlmsg) -> int:
    """The base interface's index of a private-mode macvlan (as keepalived makes its VMACs); 0 for any
    other interface."""
    info = link.get_attr("IFLA_LINKINFO")
    if info is None or info.get_attr("IFLA_INFO_KIND") != "macvlan":
        return 0
    data = info.get_attr("IFLA_INFO_DATA")
    if data is None or data.get_attr("IFLA_MACVLAN_MODE") != "private":
        return 0
    return int(link.get_attr("IFLA_LINK") or 0)


def _interfaces(links: Iterable[nlmsg], addresses: Iterable[nlmsg]) -> list[Interface]:
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
                ipv4=tuple(families.get(socket.AF_INET, ())),
                ipv6=tuple(families.get(socket.AF_INET6, ())),
                private_macvlan_of=private_macvlan_base(link),
            )
        )
    return result
