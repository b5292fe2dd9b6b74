"""Virtual addresses on interfaces, over rtnetlink: the requests keepalived's vrrp_ipaddress.c
netlink_ipaddress sends, with its tolerance of EEXIST on add and EADDRNOTAVAIL on delete
(keepalived_netlink.c netlink_parse_info), over the synchronous conversation of `rtnl`."""

from __future__ import annotations

import errno
import os
import socket

from pyroute2.netlink.rtnl import RTM_DELADDR, RTM_GETADDR, RTM_NEWADDR
from pyroute2.netlink.rtnl.ifaddrmsg import (
    IFA_F_HOMEADDRESS,
    IFA_F_MANAGETEMPADDR,
    IFA_F_MCAUTOJOIN,
    IFA_F_NODAD,
    IFA_F_NOPREFIXROUTE,
    ifaddrmsg,
)

from hapair.config.keepalived.model.addresses import INFINITY_LIFE_TIME, IpAddress

from .resource import Resource
from .rtnl import Rtnetlink, interface_index, local_address

Attribute = list[object]


def family(address: IpAddress) -> int:
    return socket.AF_INET if address.family == 4 else socket.AF_INET6


def address_flags(address: IpAddress) -> int:
    """IFA_FLAGS for adding the address: its options, and IFA_F_NODAD for IPv6 unless `-nodad`."""
    flags = 0
    for present, flag in (
        (address.home, IFA_F_HOMEADDRESS),
        (address.mngtmpaddr, IFA_F_MANAGETEMPADDR),
        (address.noprefixroute, IFA_F_NOPREFIXROUTE),
        (address.autojoin, IFA_F_MCAUTOJOIN),
    ):
        if present:
            flags |= flag
    if address.family == 6 and not address.dad:
        flags |= IFA_F_NODAD
    return flags


def add_attributes(address: IpAddress) -> list[Attribute]:
    """The NLAs of RTM_NEWADDR, in keepalived's order."""
    attributes: list[Attribute] = []
    if address.family == 6 and address.preferred_lft != INFINITY_LIFE_TIME:
        # A preferred lifetime of 0 deprecates the address, so it is not picked as a source.
        cacheinfo = {"ifa_preferred": address.preferred_lft, "ifa_valid": INFINITY_LIFE_TIME}
        attributes.append(["IFA_CACHEINFO", {**cacheinfo, "cstamp": 0, "tstamp": 0}])
    attributes.append(["IFA_LOCAL", str(address.address.ip)])
    if address.family == 4 and address.broadcast is not None:
        attributes.append(["IFA_BROADCAST", str(address.broadcast)])
    if flags := address_flags(address):
        attributes.append(["IFA_FLAGS", flags])
    if address.label is not None:
        attributes.append(["IFA_LABEL", address.label])
    if address.peer is not None:
        attributes.append(["IFA_ADDRESS", str(address.peer)])
    return attributes


def remove_attributes(address: IpAddress) -> list[Attribute]:
    """The NLAs of RTM_DELADDR. keepalived names the local address as IFA_ADDRESS too, which the kernel
    does not match against a peer address; naming the peer removes that address as well."""
    attributes: list[Attribute] = [["IFA_LOCAL", str(address.address.ip)]]
    if address.family == 4:
        attributes.append(["IFA_ADDRESS", str(address.peer or address.address.ip)])
    return attributes


def address_message(address: IpAddress, index: int, attributes: list[Attribute]) -> ifaddrmsg:
    message = ifaddrmsg()
    message["family"] = family(address)
    message["prefixlen"] = address.address.network.prefixlen
    message["flags"] = 0
    message["scope"] = address.scope
    message["index"] = index
    message["attrs"] = attributes
    return message


class AddressManager(Resource):
    """Adds and removes the addresses keepalived would, in the current network namespace. Interface
    indexes are cached by name and looked up again when the kernel no longer knows the cached one.

    Errors other than the tolerated ones are raised as OSError with the kernel's errno; adding to an
    interface that does not exist raises ENODEV.
    """

    def __init__(self) -> None:
        self._rtnl = Rtnetlink()
        self._indexes: dict[str, int] = {}
        # (ifname, kind, id(address)) -> (address, request); the address is kept so that its id stays its own
        self._prepared: dict[tuple[str, int, int], tuple[IpAddress, bytes]] = {}

    def prepare(self, address: IpAddress, ifname: str) -> None:
        """Build the add and remove requests for the address now, so that `add` and `remove` only send
        them (the way to taking over a virtual address stays short)."""
        index = self._index(ifname)
        for kind, attributes in ((RTM_NEWADDR, add_attributes), (RTM_DELADDR, remove_attributes)):
            message = address_message(address, index, attributes(address))
            self._prepared[(ifname, kind, id(address))] = (address, self._rtnl.encode(message, kind))

    def add(self, address: IpAddress, ifname: str) -> None:
        """Add the address; an address already there (EEXIST) is left as it is."""
        self._request(address, ifname, RTM_NEWADDR, add_attributes(address), tolerated=errno.EEXIST)

    def remove(self, address: IpAddress, ifname: str) -> bool:
        """Remove the address: False if it was not there or the interface does not exist."""
        try:
            return self._request(
                address, ifname, RTM_DELADDR, remove_attributes(address), tolerated=errno.EADDRNOTAVAIL
            )
        except OSError as error:
            if error.errno == errno.ENODEV:
                return False
            raise

    def present(self, address: IpAddress, ifname: str) -> bool:
        """Whether the interface has the address (compared as keepalived does: without the prefix)."""
        try:
            index = self._index(ifname, fresh=True)
        except OSError:
            return False
        query = ifaddrmsg()
        query["family"] = family(address)
        wanted = str(address.address.ip)
        return any(
            reply["index"] == index and local_address(reply) == wanted
            for reply in self._rtnl.dump(query, RTM_GETADDR)
        )

    def _request(
        self, address: IpAddress, ifname: str, kind: int, attributes: list[Attribute], *, tolerated: int
    ) -> bool:
        """Send the request, looking the interface up again once if the kernel no longer knows its cached
        index. True if the kernel did it, False if it answered with the tolerated error."""
        prepared = self._prepared.get((ifname, kind, id(address)))
        if prepared is not None and prepared[0] is address:
            code = self._rtnl.request_encoded(prepared[1])
        else:
            code = self._rtnl.request(address_message(address, self._index(ifname), attributes), kind)
        if code == errno.ENODEV:
            self._prepared = {key: data for key, data in self._prepared.items() if key[0] != ifname}
            index = self._index(ifname, fresh=True)
            code = self._rtnl.request(address_message(address, index, attributes), kind)
        if code == tolerated:
            return False
        if code:
            raise OSError(code, os.strerror(code), ifname)
        return True

    def _index(self, ifname: str, *, fresh: bool = False) -> int:
        """The interface's index; OSError ENODEV when there is no such interface."""
        if fresh or ifname not in self._indexes:
            self._indexes.pop(ifname, None)
            self._indexes[ifname] = interface_index(ifname)
        return self._indexes[ifname]

    def close(self) -> None:
        self._rtnl.close()
