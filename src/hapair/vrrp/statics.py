"""`static_ipaddress`, `static_routes` and `static_rules`: installed when the daemon starts, kept across
reloads (those a reload drops are removed, new ones added) and removed at its stop, as keepalived 2.2.7's
start_vrrp / stop_vrrp / clear_diff_static_* do: addresses, then routes, then rules going in; rules, then
routes, then addresses coming out. A kernel refusal is logged with keepalived's `Netlink: error: ...`
line and the rest goes on."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

from pyroute2.netlink.rtnl import RTM_DELADDR, RTM_NEWADDR

from ..config.keepalived.model import KeepalivedConfig
from ..config.keepalived.model.addresses import IpAddress
from ..net.addresses import AddressManager
from ..net.routes import RouteSet, Routing, keep_after_reload

ADDRESS_MESSAGES = {RTM_NEWADDR: "RTM_NEWADDR", RTM_DELADDR: "RTM_DELADDR"}


class Statics:
    """The static addresses, routes and rules of the running configuration."""

    def __init__(
        self,
        config: KeepalivedConfig,
        addresses: AddressManager,
        routing: Routing,
        log: Callable[[str], None],
        *,
        detail: bool,
    ) -> None:
        self._addresses = addresses
        self._detail = detail
        self._routing = routing
        self._log = log
        self._set(config)

    def _set(self, config: KeepalivedConfig) -> None:
        vrrp = config.vrrp
        self.static_addresses = [a for a in vrrp.static_addresses if a.ifname is not None]
        self._added: list[IpAddress] = []
        self._routes = RouteSet(self._routing, vrrp.static_routes, vrrp.static_rules)

    def start(self) -> None:
        """At the daemon's start: the rules an earlier run may have left go, then everything goes in."""
        self._routes.remove_rules(force=True)
        self.install()

    def install(self) -> None:
        for address in self.static_addresses:
            if address not in self._added and self._address(address, add=True):
                self._added.append(address)
        self._routes.add()

    def replace(self, config: KeepalivedConfig) -> None:
        """A reload: what the new configuration no longer has goes, with keepalived's lines, then what it
        has goes in (what both have stays)."""
        previous, added = self._routes, self._added
        self._set(config)
        new = self._routes
        kept = keep_after_reload(previous, new.routes, new.rules, self._log, detail=self._detail)
        for address in added:
            if address not in self.static_addresses:
                assert address.ifname is not None
                text = f"{address.address.ip}/{address.address.network.prefixlen} dev {address.ifname}"
                self._log(f"(static_ipaddress) ip address {text}, no longer exist")
                self._address(address, add=False)
        self._added = [a for a in added if a in self.static_addresses]
        new.mark_installed(*kept)
        self.install()

    def remove(self) -> None:
        """At the daemon's stop."""
        self._routes.remove()
        for address in self._added:
            self._address(address, add=False)
        self._added = []

    def _address(self, address: IpAddress, *, add: bool) -> bool:
        assert address.ifname is not None
        try:
            if add:
                self._addresses.add(address, address.ifname)
            else:
                self._addresses.remove(address, address.ifname)
        except OSError as error:
            code = error.errno or errno.EINVAL
            kind = RTM_NEWADDR if add else RTM_DELADDR
            kind_name = f"{ADDRESS_MESSAGES[kind]}({kind})"
            self._log(f"Netlink: error: {os.strerror(code)}({code}), type={kind_name}, seq=0, pid=0")
            return False
        return True
