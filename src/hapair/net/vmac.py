"""keepalived's VMAC interfaces (`use_vmac`): a private-mode macvlan on the instance's interface carrying
the VRRP MAC, made and removed over rtnetlink as keepalived 2.2.7's vrrp_vmac.c does, with the kernel
settings it gives the macvlan and its base interface (vrrp_if_config.c), written through /proc/sys.

Measured on the real keepalived 2.2.7 in a namespace: on the VMAC arp_ignore=1, accept_local=1,
rp_filter=0, promote_secondaries=1, IPv6 disabled (unless it carries eVIPs of the other family) and no
link-local address generated (addr_gen_mode none); on the base interface arp_ignore=1 and arp_filter=1
(so that only the VMAC answers ARP for the VIPs on it); and when net.ipv4.conf.all.rp_filter is set, it is
moved onto `default` and each interface before `all` is cleared (the kernel uses the larger of `all` and
the interface's own value, and the VMAC needs 0). A VMAC that already exists with the right MAC on the
right interface (left by a run that was killed) is taken over as it is.

An IPv6 VMAC (00:00:5e:00:02:VRID) gets none of the IPv4 settings: IPv6 on, addr_gen_mode none, and, unless
`vmac_xmit_base` sends the adverts from the base interface, the link-local address keepalived sends them
from (vrrp_vmac.c set_link_local_address): the configured `mcast_src_ip`, else the base interface's
link-local address, else the EUI-64 one of the base's MAC; /64, without duplicate address detection and
deprecated, as keepalived adds it (`ip -6 addr` on 2.2.7: `fe80::.../64 scope link nodad deprecated`).
keepalived's nftables table drops the router solicitations the kernel would send from a VMAC with IPv6
on (they would teach the switches the VRRP MAC on a backup's port); hapair, without nftables rules, tells
the kernel to send none (router_solicitations 0: docs/keepalived-differences.md).

One deliberate difference: keepalived means to give the base interface its arp_ignore and arp_filter back
when its last VMAC goes, but restores the values it has seen since it changed them (1 and 1), so they stay
changed after it stops; hapair restores the values from before (docs/keepalived-differences.md).
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Interface
from typing import TYPE_CHECKING

from pyroute2.netlink import NLM_F_CREATE, NLM_F_EXCL, nlmsg
from pyroute2.netlink.rtnl import RTM_DELLINK, RTM_GETADDR, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg

from hapair.config.keepalived.model.addresses import IpAddress
from hapair.config.keepalived.model.vmac import vmac_address
from hapair.config.keepalived.model.vrrp import VrrpInstance

from .addresses import add_attributes, address_message
from .interfaces import private_macvlan_base
from .links import IFF_UP
from .resource import Resource
from .rtnl import Rtnetlink, local_address

if TYPE_CHECKING:
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

MACVLAN_MODE_PRIVATE = 1
PROC_SYS_NET = "/proc/sys/net"
VMAC_SETTINGS = (("arp_ignore", 1), ("accept_local", 1), ("rp_filter", 0), ("promote_secondaries", 1))
BASE_SETTINGS = ("arp_ignore", "arp_filter")  # both set to 1 on the base interface
ADDR_GEN_MODE_NONE = 1
LINK_LOCAL_PREFIX = bytes.fromhex("fe80000000000000")


def eui64_link_local(mac: bytes) -> IPv6Address:
    """keepalived's make_link_local_address: fe80::/64 with the modified EUI-64 identifier of `mac`."""
    return IPv6Address(LINK_LOCAL_PREFIX + bytes((mac[0] ^ 0x02, *mac[1:3], 0xFF, 0xFE, *mac[3:6])))


def vmac_link_local(instance: VrrpInstance, base_link_locals: list[IPv6Address], mac: bytes) -> IPv6Address:
    """The link-local address keepalived gives an IPv6 VMAC: the configured source, else the base
    interface's (first) link-local address, else the EUI-64 one of the base's MAC."""
    if instance.source_from_config and isinstance(instance.source_address, IPv6Address):
        return instance.source_address
    if base_link_locals:
        return base_link_locals[0]
    return eui64_link_local(mac)


class Sysctls:
    """The per-interface IPv4 and IPv6 settings under `root` (/proc/sys/net)."""

    def __init__(self, root: str | os.PathLike[str] = PROC_SYS_NET) -> None:
        self.root = os.fspath(root)

    def read(self, family: str, interface: str, name: str) -> int | None:
        try:
            with open(self._path(family, interface, name), encoding="ascii") as setting:
                return int(setting.read())
        except (OSError, ValueError):
            return None

    def write(self, family: str, interface: str, name: str, value: int) -> None:
        with open(self._path(family, interface, name), "w", encoding="ascii") as setting:
            setting.write(f"{value}\n")

    def _path(self, family: str, interface: str, name: str) -> str:
        return os.path.join(self.root, family, "conf", interface, name)


class RpFilter:
    """keepalived's clear_rp_filter / restore_rp_filter: `all.rp_filter` moved onto `default` and each
    interface, then cleared, so that a VMAC can have 0; put back at the end where nobody changed it since."""

    def __init__(self, sysctls: Sysctls, log: Callable[[str], None]) -> None:
        self._sysctls = sysctls
        self._log = log
        self._all: int | None = None  # all.rp_filter before it was cleared; None: not cleared
        self._default: int | None = None
        self._interfaces: dict[str, int] = {}

    def clear(self, interfaces: Iterable[str]) -> None:
        """Clear `all.rp_filter` once (nothing to do when it is 0 already), raising it first on the
        `interfaces` keepalived knows: those of the configuration (it leaves the others alone)."""
        read, write = self._sysctls.read, self._sysctls.write
        if self._all is not None:
            return
        value = read("ipv4", "all", "rp_filter")
        if not value:
            return
        self._all = value
        default = read("ipv4", "default", "rp_filter")
        if default is not None and default < value:
            self._log(f"NOTICE: setting sysctl net.ipv4.conf.default.rp_filter from {default} to {value}")
            write("ipv4", "default", "rp_filter", value)
            self._default = default
        for interface in interfaces:
            own = read("ipv4", interface, "rp_filter")
            if own is not None and own < value:
                write("ipv4", interface, "rp_filter", value)
                self._interfaces[interface] = own
        self._log(f"NOTICE: setting sysctl net.ipv4.conf.all.rp_filter from {value} to 0")
        write("ipv4", "all", "rp_filter", 0)

    def restore(self) -> None:
        """Put back what `clear` changed, where it still holds what `clear` set."""
        read, write = self._sysctls.read, self._sysctls.write
        value = self._all
        if value is None:
            return
        if read("ipv4", "all", "rp_filter") == 0:
            self._log(f"NOTICE: resetting sysctl net.ipv4.conf.all.rp_filter to {value}")
            write("ipv4", "all", "rp_filter", value)
        if self._default is not None and read("ipv4", "default", "rp_filter") == value:
            self._log(f"NOTICE: resetting sysctl net.ipv4.conf.default.rp_filter to {self._default}")
            write("ipv4", "default", "rp_filter", self._default)
        for interface, own in self._interfaces.items():
            if read("ipv4", interface, "rp_filter") == value:
                write("ipv4", interface, "rp_filter", own)
        self._all, self._default, self._interfaces = None, None, {}


@dataclass
class BaseSettings:
    """A base interface's arp_ignore and arp_filter before its first VMAC, and how many VMACs it has."""

    saved: dict[str, int]
    users: int = 1


@dataclass(frozen=True)
class Vmac:
    """A VMAC of ours: its instance, its base interface, and whether we set the base's settings for it."""

    instance: str
    base: str
    family: int
    configured: bool


@dataclass(frozen=True)
class Link:
    name: str
    index: int
    mac: str
    macvlan_of: int  # the base's index for a macvlan, else 0
    private: bool

    def is_vmac(self, base: int, mac: str) -> bool:
        """Whether the link is a VMAC as keepalived makes it: a private macvlan on `base` with `mac`."""
        return self.private and self.macvlan_of == base and self.mac == mac


class VmacLinks(Resource):
    """The VMAC interfaces of the daemon's instances, kept across reloads: `set_up` makes (or takes over)
    an instance's, `remove` takes one away, `close` removes them all (the daemon's stop)."""

    def __init__(self, log: Callable[[str], None], *, detail: bool, sysctls: Sysctls | None = None) -> None:
        self._log = log
        self._detail = detail
        self._sysctls = sysctls or Sysctls()
        self._rtnl = Rtnetlink()
        self._rp_filter = RpFilter(self._sysctls, log)
        self._vmacs: dict[str, Vmac] = {}
        self._bases: dict[str, BaseSettings] = {}

    def names(self) -> set[str]:
        return set(self._vmacs)

    def set_up(self, instance: VrrpInstance, interfaces: Iterable[str]) -> bool:
        """The instance's VMAC, up, with keepalived's settings: True if it was made now, False if it was
        there already (ours, or left by an earlier run); OSError if the kernel refuses it. `interfaces`
        are those the configuration uses (see RpFilter.clear)."""
        name, base = instance.vmac_interface, instance.interface
        assert base is not None
        if name in self._vmacs:
            return False
        links = self._links()
        base_link = links[base]
        mac = vmac_address(instance).hex(":")
        existing = links.get(name)
        if existing is not None and existing.is_vmac(base_link.index, mac):  # left by an earlier run
            self._vmacs[name] = Vmac(instance.name, base, instance.family, configured=False)
            self._add_link_local(instance, existing.index, base_link, fresh=False)
            return False
        self._make(instance, existing, base_link, mac)
        if instance.family == 4:
            self._configure(name, base, interfaces)
        self._vmacs[name] = Vmac(instance.name, base, instance.family, configured=instance.family == 4)
        ipv6_off = instance.family == 4 and not instance.evip_other_family
        self._sysctls.write("ipv6", name, "disable_ipv6", 1 if ipv6_off else 0)
        self._sysctls.write("ipv6", name, "addr_gen_mode", ADDR_GEN_MODE_NONE)
        if not ipv6_off:
            self._sysctls.write("ipv6", name, "router_solicitations", 0)
        index = links_index(self._links(), name)
        self._change(_link_message(index, up=True), RTM_NEWLINK)
        self._add_link_local(instance, index, base_link, fresh=True)
        return True

    def remove(self, name: str) -> None:
        """Take the VMAC away, giving its base interface its settings back if it was the base's last."""
        vmac = self._vmacs.pop(name, None)
        if vmac is None:
            return
        if vmac.family == 4 and vmac.configured:
            self._release_base(vmac.base)
        link = self._links().get(name)
        if link is None:
            return
        code = self._rtnl.request(_link_message(link.index), RTM_DELLINK)
        if code and code != errno.ENODEV:
            self._log(f"({vmac.instance}) Error removing VMAC interface {name}")
            return
        if self._detail:
            self._log(f"({vmac.instance}) Success removing VMAC interface {name}")

    def keep_only(self, names: set[str]) -> None:
        """After a reload: the VMACs of instances that are no longer configured go."""
        for name in sorted(self.names() - names):
            self.remove(name)

    def close(self) -> None:
        """The daemon's stop: all.rp_filter back as it was, then every VMAC removed."""
        try:
            self._rp_filter.restore()
            for name in list(self._vmacs):
                self.remove(name)
        finally:
            self._rtnl.close()

    # ----- steps

    def _make(self, instance: VrrpInstance, existing: Link | None, base: Link, mac: str) -> None:
        """Create the macvlan (or correct one of ours with the wrong MAC or mode)."""
        name = instance.vmac_interface
        update = False
        if existing is not None:
            if not existing.macvlan_of:
                self._log(f"VMAC {name} conflicts with existing interface")
                raise OSError(errno.EEXIST, os.strerror(errno.EEXIST), name)
            if existing.macvlan_of != base.index:
                reason = "due to conflicting interface"
                self._log(f"({instance.name}) Removing old VMAC interface {name} {reason}")
                self._change(_link_message(existing.index), RTM_DELLINK)
            else:
                self._log(f"({instance.name}) Update old VMAC interface {name} due to wrong MAC/mode ")
                update = True
        message = new_link_message()
        message["family"] = 0
        attributes: list[list[object]] = [["IFLA_LINKINFO", _macvlan_info()]]
        if update:
            assert existing is not None
            message["index"] = existing.index
        else:
            attributes += [["IFLA_LINK", base.index], ["IFLA_IFNAME", name]]
        message["attrs"] = [*attributes, ["IFLA_ADDRESS", mac]]
        code = self._rtnl.request(message, RTM_NEWLINK, 0 if update else NLM_F_CREATE | NLM_F_EXCL)
        if code:
            self._log(f"({instance.name}): Unable to create VMAC interface {name}")
            raise OSError(code, os.strerror(code), name)
        if self._detail:
            self._log(f"({instance.name}): Success {'upd' if update else 'cre'}ating VMAC interface {name}")

    def _add_link_local(self, instance: VrrpInstance, index: int, base: Link, *, fresh: bool) -> None:
        """An IPv6 VMAC that sends the adverts gets the link-local address to send them from (see the
        module's docstring); one there already (a VMAC taken over) is left. A failure is logged, as
        keepalived logs it (the second line only for a VMAC made now), and the VMAC is used anyway."""
        if instance.family != 6 or instance.vmac_xmit_base:
            return
        mac = bytes.fromhex(base.mac.replace(":", ""))
        link_local = vmac_link_local(instance, self._link_locals(base.index), mac)
        address = IpAddress(IPv6Interface((link_local, 64)))
        code = self._rtnl.request(address_message(address, index, add_attributes(address)), RTM_NEWADDR)
        if not code or code == errno.EEXIST:
            return
        self._log("Adding link-local address to vmac failed")
        if fresh:
            self._log(f"({instance.name}) adding link-local address to {instance.vmac_interface} failed")

    def _link_locals(self, index: int) -> list[IPv6Address]:
        """The interface's link-local addresses, in the kernel's order, whatever their DAD state."""
        query = ifaddrmsg()
        query["family"] = socket.AF_INET6
        found = (
            IPv6Address(local)
            for message in self._rtnl.dump(query, RTM_GETADDR)
            if message["index"] == index and (local := local_address(message)) is not None
        )
        return [address for address in found if address.is_link_local]

    def _configure(self, name: str, base: str, interfaces: Iterable[str]) -> None:
        """keepalived's set_interface_parameters for an IPv4 VMAC and its base interface."""
        self._rp_filter.clear([*interfaces, name])
        for setting, value in VMAC_SETTINGS:
            self._sysctls.write("ipv4", name, setting, value)
        settings = self._bases.get(base)
        if settings is not None:
            settings.users += 1
            return
        saved = {s: v for s in BASE_SETTINGS if (v := self._sysctls.read("ipv4", base, s)) is not None}
        self._bases[base] = BaseSettings(saved)
        for setting in BASE_SETTINGS:
            if saved.get(setting) != 1:
                self._sysctls.write("ipv4", base, setting, 1)

    def _release_base(self, base: str) -> None:
        settings = self._bases.get(base)
        if settings is None:
            return
        settings.users -= 1
        if settings.users:
            return
        del self._bases[base]
        for setting, value in settings.saved.items():
            try:
                self._sysctls.write("ipv4", base, setting, value)
            except OSError:  # the base interface is gone
                continue

    def _change(self, message: nlmsg, kind: int) -> None:
        code = self._rtnl.request(message, kind)
        if code:
            raise OSError(code, os.strerror(code))

    def _links(self) -> dict[str, Link]:
        links = {}
        for message in self._rtnl.dump(new_link_message(), RTM_GETLINK):
            info = message.get_attr("IFLA_LINKINFO")
            kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
            name = message.get_attr("IFLA_IFNAME")
            links[name] = Link(
                name=name,
                index=message["index"],
                mac=(message.get_attr("IFLA_ADDRESS") or "").lower(),
                macvlan_of=int(message.get_attr("IFLA_LINK") or 0) if kind == "macvlan" else 0,
                private=bool(private_macvlan_base(message)),
            )
        return links


def links_index(links: dict[str, Link], name: str) -> int:
    link = links.get(name)
    if link is None:
        raise OSError(errno.ENODEV, os.strerror(errno.ENODEV), name)
    return link.index


def _macvlan_info() -> dict[str, object]:
    data = {"attrs": [["IFLA_MACVLAN_MODE", MACVLAN_MODE_PRIVATE]]}
    return {"attrs": [["IFLA_INFO_KIND", "macvlan"], ["IFLA_INFO_DATA", data]]}


def new_link_message() -> ifinfmsg:
    """pyroute2's ifinfmsg, imported with the first VMAC (links.py's docstring: 0.6 MB otherwise)."""
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # noqa: PLC0415

    return ifinfmsg()


def _link_message(index: int, *, up: bool = False) -> ifinfmsg:
    message = new_link_message()
    message["family"] = 0
    message["index"] = index
    if up:
        message["flags"] = IFF_UP
        message["change"] = IFF_UP
    return message
