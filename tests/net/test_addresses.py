"""AddressManager inside a namespace: what it adds is what `ip addr` shows (label, broadcast, scope, peer,
flags), adding twice is tolerated, removing says whether the address was there, a re-created interface
is found again. The request building is checked without a kernel too."""

from __future__ import annotations

import asyncio
import errno
import subprocess
from ipaddress import IPv4Address, ip_interface

import pytest

from hapair.config.keepalived.model.addresses import INFINITY_LIFE_TIME, IpAddress, Scope
from hapair.net.addresses import AddressManager, add_attributes, address_flags, remove_attributes
from tests.net.conftest import addresses

VIP = IpAddress(
    ip_interface("198.51.100.100/24"),
    label="va:vip",
    broadcast=IPv4Address("198.51.100.255"),
    scope=Scope.LINK,
)
PEERED = IpAddress(ip_interface("203.0.113.1/32"), peer=IPv4Address("203.0.113.2"))
FLAGGED = IpAddress(ip_interface("2001:db8::5/64"), noprefixroute=True, preferred_lft=INFINITY_LIFE_TIME)


def child_add(ifname: str) -> None:
    with AddressManager() as manager:
        for address in (VIP, PEERED, FLAGGED):
            manager.add(address, ifname)
        manager.add(VIP, ifname)
        print(manager.present(VIP, ifname), manager.present(PEERED, ifname), manager.present(FLAGGED, ifname))


def child_add_then_remove(ifname: str) -> None:
    with AddressManager() as manager:
        for address in (VIP, PEERED):
            manager.add(address, ifname)
            print(
                manager.remove(address, ifname),
                manager.remove(address, ifname),
                manager.present(address, ifname),
            )


def child_prepared_add_then_remove(ifname: str) -> None:
    with AddressManager() as manager:
        for address in (VIP, PEERED):
            manager.prepare(address, ifname)
            manager.add(address, ifname)
            manager.add(address, ifname)
            print(
                manager.present(address, ifname),
                manager.remove(address, ifname),
                manager.remove(address, ifname),
            )


def child_missing_interface() -> None:
    with AddressManager() as manager:
        try:
            manager.add(VIP, "nosuch")
        except OSError as error:
            print(error.errno)
        print(manager.remove(VIP, "nosuch"), manager.present(VIP, "nosuch"))


def child_recreated_interface() -> None:
    """Add on vx, re-create vx (a new index), add again through the same manager."""
    with AddressManager() as manager:
        subprocess.run(["ip", "link", "add", "vx", "type", "veth", "peer", "name", "vy"], check=True)
        manager.add(VIP, "vx")
        subprocess.run(["ip", "link", "del", "vx"], check=True)
        subprocess.run(["ip", "link", "add", "vx", "type", "veth", "peer", "name", "vy"], check=True)
        print(manager.present(VIP, "vx"))
        manager.add(VIP, "vx")
        print(manager.present(VIP, "vx"))


def child_inside_event_loop(ifname: str) -> None:
    async def add_and_remove() -> None:
        with AddressManager() as manager:
            manager.add(VIP, ifname)
            print(manager.present(VIP, ifname), manager.remove(VIP, ifname))

    asyncio.run(add_and_remove())


def by_local(namespace, ifname):
    return {entry["local"]: entry for entry in addresses(namespace, ifname)}


@pytest.mark.netns
def test_add_puts_the_address_on_the_interface_as_configured(pair, spawn):
    assert spawn(pair.a, child_add, "va").finish() == ["True True True"]

    shown = by_local(pair.a, "va")
    vip = shown["198.51.100.100"]
    assert (vip["prefixlen"], vip["label"], vip["broadcast"], vip["scope"]) == (
        24,
        "va:vip",
        "198.51.100.255",
        "link",
    )
    peered = shown["203.0.113.1"]
    assert (peered["address"], peered["prefixlen"]) == ("203.0.113.2", 32)
    flagged = shown["2001:db8::5"]
    assert flagged.get("noprefixroute") and flagged.get("nodad")
    assert flagged["preferred_life_time"] == INFINITY_LIFE_TIME


@pytest.mark.netns
def test_remove_says_whether_the_address_was_there(pair, spawn):
    assert spawn(pair.a, child_add_then_remove, "va").finish() == ["True False False", "True False False"]
    assert {entry["local"] for entry in addresses(pair.a, "va") if entry["family"] == "inet"} == {"192.0.2.1"}


@pytest.mark.netns
def test_prepared_requests_add_and_remove_as_the_built_ones_do(pair, spawn):
    assert spawn(pair.a, child_prepared_add_then_remove, "va").finish() == [
        "True True False",
        "True True False",
    ]


def test_missing_interface_refuses_add_and_has_nothing_to_remove(pair, spawn):
    assert spawn(pair.a, child_missing_interface).finish() == [str(errno.ENODEV), "False False"]


@pytest.mark.netns
def test_recreated_interface_is_looked_up_again(pair, spawn):
    assert spawn(pair.a, child_recreated_interface).finish() == ["False", "True"]


@pytest.mark.netns
def test_manager_works_inside_a_running_event_loop(pair, spawn):
    assert spawn(pair.a, child_inside_event_loop, "va").finish() == ["True True"]


def test_add_request_carries_keepalived_attributes_in_its_order():
    assert add_attributes(VIP) == [
        ["IFA_LOCAL", "198.51.100.100"],
        ["IFA_BROADCAST", "198.51.100.255"],
        ["IFA_LABEL", "va:vip"],
    ]
    assert add_attributes(PEERED) == [["IFA_LOCAL", "203.0.113.1"], ["IFA_ADDRESS", "203.0.113.2"]]


def test_ipv6_address_is_added_without_dad_unless_asked_and_deprecated_by_default():
    deprecated = IpAddress(ip_interface("2001:db8::7/128"))
    assert add_attributes(deprecated)[0] == [
        "IFA_CACHEINFO",
        {"ifa_preferred": 0, "ifa_valid": INFINITY_LIFE_TIME, "cstamp": 0, "tstamp": 0},
    ]
    assert address_flags(deprecated) == 0x02  # IFA_F_NODAD
    assert address_flags(IpAddress(ip_interface("2001:db8::7/128"), dad=True)) == 0


def test_address_options_become_flags():
    options = IpAddress(
        ip_interface("192.0.2.9/24"), home=True, mngtmpaddr=True, noprefixroute=True, autojoin=True
    )
    assert address_flags(options) == 0x10 | 0x100 | 0x200 | 0x400


def test_remove_request_names_the_peer_so_a_peer_address_goes():
    assert remove_attributes(VIP) == [["IFA_LOCAL", "198.51.100.100"], ["IFA_ADDRESS", "198.51.100.100"]]
    assert remove_attributes(PEERED) == [["IFA_LOCAL", "203.0.113.1"], ["IFA_ADDRESS", "203.0.113.2"]]
