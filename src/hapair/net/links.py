"""Interface state over rtnetlink: snapshots (is a link up, which IPv4 or IPv6 addresses an interface
has) and a watcher of link up/down and address events for the asyncio loop.

Link messages are read as `LinkMessage`: ifinfmsg's header and the interface's name, all that is read of
them here. pyroute2's own ifinfmsg imports a decoder for every kind of link there is (bond, vlan, vxlan,
xfrm ...: 25 modules), 0.6 MB of the VRRP daemon's memory (issue 15's 20 MB), which only VMACs need
(vmac.py imports it for them)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from types import TracebackType

from pyroute2.netlink import nlmsg
from pyroute2.netlink.rtnl import (
    RTM_DELADDR,
    RTM_DELLINK,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTMGRP_IPV4_IFADDR,
    RTMGRP_IPV6_IFADDR,
    RTMGRP_LINK,
)
from pyroute2.netlink.rtnl.ifaddrmsg import IFA_F_DADFAILED, IFA_F_TENTATIVE, ifaddrmsg

from .rtnl import Rtnetlink, Subscription, interface_index, local_address

IFF_UP, IFF_RUNNING = 0x1, 0x40  # linux/if.h
IFLA_IFNAME = 3  # linux/if_link.h


class LinkMessage(nlmsg):
    """An RTM_NEWLINK or RTM_DELLINK message: struct ifinfomsg and the IFLA_IFNAME attribute (the others
    are kept undecoded)."""

    fields = (
        ("family", "B"),
        ("__align", "x"),
        ("ifi_type", "H"),
        ("index", "i"),
        ("flags", "I"),
        ("change", "I"),
    )
    nla_map = ((IFLA_IFNAME, "IFLA_IFNAME", "asciiz"),)


@dataclass(frozen=True)
class LinkEvent:
    """An interface went up or down (or appeared, or went away: down)."""

    ifname: str
    index: int
    up: bool


@dataclass(frozen=True)
class AddressEvent:
    """An address was added to or removed from an interface (for IPv6: also its DAD finished)."""

    ifname: str
    address: IPv4Interface | IPv6Interface
    added: bool


Event = LinkEvent | AddressEvent


def flags_up(flags: int) -> bool:
    """keepalived's FLAGS_UP (vrrp_if.h): administratively up and running."""
    return flags & (IFF_UP | IFF_RUNNING) == IFF_UP | IFF_RUNNING


def link_is_up(ifname: str) -> bool:
    """Whether the interface is up as keepalived judges it; False when there is no such interface."""
    with Rtnetlink() as rtnl:
        for link in rtnl.dump(LinkMessage(), RTM_GETLINK):
            if link.get_attr("IFLA_IFNAME") == ifname:
                return flags_up(link["flags"])
    return False


def ipv4_addresses(ifname: str) -> list[IPv4Address]:
    """The interface's IPv4 addresses in the order the kernel lists them (primaries before secondaries);
    none if there is no such interface."""
    try:
        index = interface_index(ifname)
    except OSError:
        return []
    query = ifaddrmsg()
    query["family"] = socket.AF_INET
    with Rtnetlink() as rtnl:
        messages = rtnl.dump(query, RTM_GETADDR)
    return [
        IPv4Address(local)
        for message in messages
        if message["index"] == index and (local := local_address(message)) is not None
    ]


def ipv6_addresses(ifname: str) -> list[IPv6Address]:
    """The interface's usable IPv6 addresses (not tentative, not failed DAD) in the kernel's order; none if
    there is no such interface."""
    try:
        index = interface_index(ifname)
    except OSError:
        return []
    query = ifaddrmsg()
    query["family"] = socket.AF_INET6
    with Rtnetlink() as rtnl:
        messages = rtnl.dump(query, RTM_GETADDR)
    found = [
        (IPv6Address(local), message.get_attr("IFA_FLAGS") or message["flags"])
        for message in messages
        if message["index"] == index and (local := local_address(message)) is not None
    ]
    unusable = IFA_F_TENTATIVE | IFA_F_DADFAILED
    return [address for address, flags in found if not flags & unusable]


@dataclass
class _Link:
    name: str
    up: bool


class LinkWatcher:
    """Link and IPv4 address events of the current network namespace, as an async iterator; enter it with
    `async with` inside the event loop. A LinkEvent is reported when an interface's up state (flags_up)
    changes, when an interface appears, and when an up interface is deleted. Address events are passed
    on as the kernel sends them: an address whose attributes change may be reported as added again."""

    def __init__(self) -> None:
        self._subscription: Subscription | None = None
        self._links: dict[int, _Link] = {}

    async def __aenter__(self) -> LinkWatcher:
        groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR
        classes = {
            RTM_NEWLINK: LinkMessage,
            RTM_DELLINK: LinkMessage,
            RTM_NEWADDR: ifaddrmsg,
            RTM_DELADDR: ifaddrmsg,
        }
        self._subscription = Subscription(groups, classes)
        try:
            with Rtnetlink() as rtnl:  # after subscribing: no change falls between the two
                for link in rtnl.dump(LinkMessage(), RTM_GETLINK):
                    self._links[link["index"]] = _Link(link.get_attr("IFLA_IFNAME"), flags_up(link["flags"]))
        except BaseException:
            self.close()
            raise
        return self

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        assert self._subscription is not None, "enter the watcher first"
        async for message in self._subscription.messages():
            event = self._event(message)
            if event is not None:
                yield event

    def _event(self, message: nlmsg) -> Event | None:
        kind = message["header"]["type"]
        if kind in (RTM_NEWLINK, RTM_DELLINK):
            return self._link_event(message, deleted=kind == RTM_DELLINK)
        if kind in (RTM_NEWADDR, RTM_DELADDR) and message["family"] in (socket.AF_INET, socket.AF_INET6):
            return self._address_event(message, added=kind == RTM_NEWADDR)
        return None

    def _link_event(self, message: nlmsg, *, deleted: bool) -> LinkEvent | None:
        index, name = message["index"], message.get_attr("IFLA_IFNAME")
        known = self._links.get(index)
        if deleted:
            self._links.pop(index, None)
            return LinkEvent(name, index, False) if known is not None and known.up else None
        up = flags_up(message["flags"])
        self._links[index] = _Link(name, up)
        if known is not None and known.up == up:
            return None
        return LinkEvent(name, index, up)

    def _address_event(self, message: nlmsg, *, added: bool) -> AddressEvent | None:
        link, local = self._links.get(message["index"]), local_address(message)
        if link is None or local is None:
            return None
        kind = IPv4Interface if message["family"] == socket.AF_INET else IPv6Interface
        return AddressEvent(link.name, kind((local, message["prefixlen"])), added)

    def close(self) -> None:
        """Close the watcher; an iteration in progress ends."""
        if self._subscription is not None:
            self._subscription.close()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
