"""Reading interfaces from pyroute2's link messages (the VMAC side; a configuration's view of the
interfaces is interface_table.py's)."""

from __future__ import annotations

from pyroute2.netlink import nlmsg


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
