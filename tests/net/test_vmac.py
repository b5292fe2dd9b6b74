"""VMAC interfaces (hapair.net.vmac): inside a namespace, what `VmacLinks` makes is the macvlan and the
settings keepalived 2.2.7 makes (read from /proc/sys before and after it ran in a namespace: see the
module's docstring), a VMAC left by an earlier run is taken over untouched, and the stop leaves the
namespace as it was. The rp_filter juggling is checked on a settings tree of its own."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hapair.config.keepalived.model.vrrp import VrrpInstance
from hapair.net.vmac import RpFilter, Sysctls, VmacLinks
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
