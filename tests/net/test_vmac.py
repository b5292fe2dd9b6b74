"""VMAC interfaces (hapair.net.vmac): inside a namespace, what `VmacLinks` makes is the macvlan and the
settings keepalived 2.2.7 makes (read from /proc/sys before and after it ran in a namespace: see the
module's docstring), a VMAC left by an earlier run is taken over untouched, and the stop leaves the
namespace as it was. The rp_filter juggling is checked on a settings tree of its own."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

from hapair.config.keepalived.model.vrrp import VrrpInstance
from hapair.net.vmac import RpFilter, Sysctls, VmacLinks, vmac_link_local
from tests.net.conftest import Child, Pair

VMAC_MAC = "00:00:5e:00:01:33"
SETTINGS = ("arp_ignore", "arp_filter", "accept_local", "rp_filter", "promote_secondaries")


def tree(root: Path, values: dict[str, dict[str, int]]) -> Sysctls:
    for interface, settings in values.items():
        for name, value in settings.items():
            path = root / "ipv4" / "conf" / interface / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{value}\n")
    return Sysctls(root)


def rp_filters(sysctls: Sysctls, *interfaces: str) -> list[int | None]:
    return [sysctls.read("ipv4", interface, "rp_filter") for interface in interfaces]


def test_all_rp_filter_is_moved_onto_default_and_the_interfaces_then_put_back(tmp_path: Path) -> None:
    values = {"all": 2, "default": 1, "eth0": 1, "eth1": 2, "lo": 0, "vrrp.51": 1}
    sysctls = tree(tmp_path, {name: {"rp_filter": value} for name, value in values.items()})
    lines: list[str] = []
    rp_filter = RpFilter(sysctls, lines.append)
    rp_filter.clear(["eth0", "eth1", "vrrp.51"])
    rp_filter.clear(["eth0"])  # once only
    assert lines == [
        "NOTICE: setting sysctl net.ipv4.conf.default.rp_filter from 1 to 2",
        "NOTICE: setting sysctl net.ipv4.conf.all.rp_filter from 2 to 0",
    ]
    assert rp_filters(sysctls, "all", "default", "eth0", "eth1", "lo", "vrrp.51") == [0, 2, 2, 2, 0, 2]
    sysctls.write("ipv4", "vrrp.51", "rp_filter", 0)  # what the VMAC is given
    rp_filter.restore()
    assert lines[2:] == [
        "NOTICE: resetting sysctl net.ipv4.conf.all.rp_filter to 2",
        "NOTICE: resetting sysctl net.ipv4.conf.default.rp_filter to 1",
    ]
    assert rp_filters(sysctls, "all", "default", "eth0", "eth1", "lo", "vrrp.51") == [2, 1, 1, 2, 0, 0]


def test_nothing_is_changed_when_all_rp_filter_is_off(tmp_path: Path) -> None:
    sysctls = tree(tmp_path, {"all": {"rp_filter": 0}, "default": {"rp_filter": 1}, "eth0": {"rp_filter": 1}})
    lines: list[str] = []
    rp_filter = RpFilter(sysctls, lines.append)
    rp_filter.clear(["eth0"])
    rp_filter.restore()
    assert lines == []
    assert rp_filters(sysctls, "all", "default", "eth0") == [0, 1, 1]


def vmac_instance(base: str) -> VrrpInstance:
    return VrrpInstance("VI_1", interface=base, vrid=51, family=4, use_vmac=True, vmac_interface="vrrp.51")


def settings(interface: str) -> dict[str, int | None]:
    sysctls = Sysctls()
    return {name: sysctls.read("ipv4", interface, name) for name in SETTINGS}


def shown_link(name: str) -> dict[str, Any] | None:
    """`ip -d -j link show dev NAME` in the child's namespace (None: no such link)."""
    command = ["ip", "-d", "-j", "link", "show", "dev", name]
    shown = subprocess.run(command, check=False, capture_output=True, text=True)
    return json.loads(shown.stdout)[0] if shown.returncode == 0 else None


def child_vmac_made_and_removed(base: str) -> None:
    lines: list[str] = []
    before = settings(base)
    with VmacLinks(lines.append, detail=True) as vmacs:
        made = vmacs.set_up(vmac_instance(base), [base])
        ipv6 = [Sysctls().read("ipv6", "vrrp.51", name) for name in ("disable_ipv6", "addr_gen_mode")]
        running = {"vmac": settings("vrrp.51"), "base": settings(base), "link": shown_link("vrrp.51")}
        print(json.dumps({"made": made, "ipv6": ipv6, **running}))
    after = {"base": settings(base), "before": before, "link": shown_link("vrrp.51"), "lines": lines}
    print(json.dumps(after))


def child_vmac_taken_over(base: str) -> None:
    lines: list[str] = []
    before = settings(base)
    with VmacLinks(lines.append, detail=True) as vmacs:
        made = vmacs.set_up(vmac_instance(base), [base])
        print(json.dumps({"made": made, "unchanged": settings(base) == before, "lines": lines}))
    print(json.dumps({"link": shown_link("vrrp.51"), "lines": lines}))


def test_a_vmac_is_made_with_keepalived_settings_and_removed_with_the_base_restored(
    pair: Pair, spawn: Callable[..., Child]
) -> None:
    running, stopped = (
        json.loads(line) for line in spawn(pair.a, child_vmac_made_and_removed, "va").finish()
    )
    shown = running["link"]
    assert running["made"] is True
    assert (shown["address"], shown["linkinfo"]["info_kind"], shown["linkinfo"]["info_data"]["mode"]) == (
        VMAC_MAC,
        "macvlan",
        "private",
    )
    assert "UP" in shown["flags"] and shown["link"] == "va"
    assert running["vmac"] == {
        "arp_ignore": 1,
        "arp_filter": 0,
        "accept_local": 1,
        "rp_filter": 0,
        "promote_secondaries": 1,
    }
    assert (running["base"]["arp_ignore"], running["base"]["arp_filter"]) == (1, 1)
    assert running["ipv6"] == [1, 1]  # IPv6 off, no link-local address made
    assert stopped["link"] is None
    assert stopped["base"] == stopped["before"]  # keepalived 2.2.7 leaves arp_ignore and arp_filter at 1
    assert stopped["lines"] == [
        "(VI_1): Success creating VMAC interface vrrp.51",
        "(VI_1) Success removing VMAC interface vrrp.51",
    ]


def test_a_vmac_left_by_an_earlier_run_is_taken_over_as_it_is_and_removed(
    pair: Pair, spawn: Callable[..., Child]
) -> None:
    pair.a.ip(
        "link",
        "add",
        "link",
        "va",
        "name",
        "vrrp.51",
        "address",
        VMAC_MAC,
        "type",
        "macvlan",
        "mode",
        "private",
    )
    running, stopped = (json.loads(line) for line in spawn(pair.a, child_vmac_taken_over, "va").finish())
    assert running == {"made": False, "unchanged": True, "lines": []}
    assert stopped == {"link": None, "lines": ["(VI_1) Success removing VMAC interface vrrp.51"]}


def vmac6_instance(base: str) -> VrrpInstance:
    return VrrpInstance("VI_1", interface=base, vrid=51, family=6, use_vmac=True, vmac_interface="vrrp.51")


def ipv6_addresses_shown(name: str) -> list[dict[str, Any]]:
    command = ["ip", "-j", "-6", "addr", "show", "dev", name]
    shown = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(shown.stdout)[0]["addr_info"]


def child_vmac6_made_and_removed(base: str) -> None:
    lines: list[str] = []
    before = settings(base)
    with VmacLinks(lines.append, detail=True) as vmacs:
        made = vmacs.set_up(vmac6_instance(base), [base])
        names = ("disable_ipv6", "addr_gen_mode", "router_solicitations")
        ipv6 = [Sysctls().read("ipv6", "vrrp.51", name) for name in names]
        addresses = [
            (a["local"], a["prefixlen"], a.get("nodad", False), a.get("deprecated", False))
            for a in ipv6_addresses_shown("vrrp.51")
        ]
        base_link_local = next(a["local"] for a in ipv6_addresses_shown(base) if a["scope"] == "link")
        print(json.dumps({"made": made, "ipv6": ipv6, "addresses": addresses, "base_ll": base_link_local}))
        link = shown_link("vrrp.51")
        print(json.dumps({"link": link, "vmac": settings("vrrp.51"), "base": settings(base)}))
    print(json.dumps({"link": shown_link("vrrp.51"), "base": before == settings(base), "lines": lines}))


def test_an_ipv6_vmac_sends_from_the_base_link_local_address_and_gets_no_ipv4_settings(
    pair: Pair, spawn: Callable[..., Child]
) -> None:
    running, shown, stopped = (
        json.loads(line) for line in spawn(pair.a, child_vmac6_made_and_removed, "va").finish()
    )
    assert running["made"] is True
    assert running["ipv6"] == [0, 1, 0]  # IPv6 on, no address of its own, no router solicitations
    assert running["addresses"] == [[running["base_ll"], 64, True, True]]  # as keepalived adds it
    link = shown["link"]
    assert (link["address"], link["linkinfo"]["info_data"]["mode"]) == ("00:00:5e:00:02:33", "private")
    assert shown["vmac"]["arp_ignore"] == 0 and shown["vmac"]["accept_local"] == 0
    assert (shown["base"]["arp_ignore"], shown["base"]["arp_filter"]) == (0, 0)
    assert stopped == {
        "link": None,
        "base": True,
        "lines": [
            "(VI_1): Success creating VMAC interface vrrp.51",
            "(VI_1) Success removing VMAC interface vrrp.51",
        ],
    }


def test_an_ipv6_vmac_link_local_address_is_the_configured_source_else_the_base_one_else_made() -> None:
    mac = bytes.fromhex("52abda48dc9a")
    instance = vmac6_instance("eth0")
    base = [IPv6Address("fe80::1"), IPv6Address("fe80::2")]
    assert vmac_link_local(instance, base, mac) == IPv6Address("fe80::1")
    assert vmac_link_local(instance, [], mac) == IPv6Address("fe80::50ab:daff:fe48:dc9a")  # seen on 2.2.7
    instance.source_address, instance.source_from_config = IPv6Address("fe80::99"), True
    assert vmac_link_local(instance, base, mac) == IPv6Address("fe80::99")
