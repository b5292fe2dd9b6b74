"""The address an instance sends from, and the fault while it has none (hapair.vrrp.sources), and what a
unicast instance does about its source when it comes up: keepalived 2.2.7's behaviour as run in
tests/system/test_source_addresses.py, with hapair's recovery of a configured source that appears late."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

from hapair.vrrp.actions import AnnounceSource
from hapair.vrrp.sources import SourceChoice, SourceFault, choose_source

from .fakelan import FakeLan, read_instance

OWN, OTHER, VIP = IPv4Address("10.77.0.1"), IPv4Address("10.77.0.5"), IPv4Address("10.77.0.100")


def instance(tmp_path: Path, extra: str = ""):
    return read_instance(
        f"""
        vrrp_instance VI_1 {{
            interface eth0
            virtual_router_id 51
            priority 100
            {extra}
            virtual_ipaddress {{
                10.77.0.100/24
            }}
        }}
        """,
        "10.77.0.1",
        tmp_path,
    )


UNICAST = "unicast_src_ip 10.77.0.5\nunicast_peer {\n10.77.0.2\n}"


def test_without_a_configured_source_the_first_address_that_is_not_virtual_is_used(tmp_path):
    read = instance(tmp_path)
    assert choose_source(read, [VIP, OWN, OTHER], {VIP}) == SourceChoice(OWN)


def test_an_interface_without_an_address_of_its_own_is_a_fault(tmp_path):
    read = instance(tmp_path)
    assert choose_source(read, [VIP], {VIP}) == SourceChoice(None, SourceFault.NO_ADDRESS)
    assert choose_source(read, [], {VIP}) == SourceChoice(None, SourceFault.NO_ADDRESS)


def test_a_unicast_source_must_be_on_the_interface(tmp_path):
    read = instance(tmp_path, UNICAST)
    assert choose_source(read, [OWN], {VIP}) == SourceChoice(OTHER, SourceFault.NOT_CONFIGURED)
    assert choose_source(read, [OWN, OTHER], {VIP}) == SourceChoice(OTHER)


def test_a_multicast_source_is_sent_from_whatever_the_interface_has(tmp_path):
    read = instance(tmp_path, "mcast_src_ip 10.77.0.5")
    assert choose_source(read, [], {VIP}) == SourceChoice(OTHER)


def test_track_src_ip_asks_for_a_multicast_source_to_be_there(tmp_path):
    read = instance(tmp_path, "mcast_src_ip 10.77.0.5\ntrack_src_ip")
    assert choose_source(read, [OWN], {VIP}) == SourceChoice(OTHER, SourceFault.NOT_CONFIGURED)


def test_a_unicast_source_without_peers_is_a_multicast_source(tmp_path):
    read = instance(tmp_path, "unicast_src_ip 10.77.0.5")
    assert choose_source(read, [OWN], {VIP}) == SourceChoice(OTHER)


def test_the_fault_lines_are_keepalived_s():
    assert SourceFault.NO_ADDRESS.startup_log("VI_1") == (
        "(VI_1) entering FAULT state (no IPv4 address for interface)"
    )
    assert SourceFault.NOT_CONFIGURED.startup_log("VI_1") == (
        "(VI_1): entering FAULT state (src address not configured)"
    )


def test_a_unicast_instance_coming_up_announces_its_source(tmp_path):
    lan = FakeLan()
    node = lan.add("a", instance(tmp_path, UNICAST), "10.77.0.5")
    fault = SourceFault.NOT_CONFIGURED.value
    lan.start(node, faults={fault})
    actions = node.router.tracker_up(lan.now, fault)
    node.apply(actions)
    assert AnnounceSource() in actions
    assert node.logs[-2:] == ["(VI_1) Entering BACKUP STATE", "VI_1: sending gratuitous ARP for 10.77.0.5"]


def test_a_multicast_instance_coming_up_announces_nothing(tmp_path):
    lan = FakeLan()
    node = lan.add("a", instance(tmp_path), "10.77.0.1")
    fault = SourceFault.NO_ADDRESS.value
    lan.start(node, faults={fault})
    actions = node.router.tracker_up(lan.now, fault)
    assert AnnounceSource() not in actions
