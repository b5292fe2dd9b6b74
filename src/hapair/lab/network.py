"""The lab's LAN, through pyroute2 only: a bridge in its own namespace, one namespace per host joined to
it by a veth pair (the bridge end named after the host's role, the host end `enp1s0f0`, the seed's
interface), and the way to run Python code inside a host's namespace."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from .errors import LabError
from .layout import ADDRESSES, BRIDGE, INTERFACE, PREFIX_LENGTH, Layout

T = TypeVar("T")


def _default_signals() -> None:
    """pyroute2 forks short-lived helpers (to open sockets in a namespace) and ends them with SIGTERM. A
    helper inheriting the lab's Python handlers would instead raise KeyboardInterrupt and unwind a copy of
    the lab's stack, clean-up included, beside the real one: helpers get the default actions."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


os.register_at_fork(after_in_child=_default_signals)


def existing(namespaces: Iterable[str]) -> list[str]:
    """Those of `namespaces` that exist already."""
    present = set(netns.listnetns())
    return [name for name in namespaces if name in present]


def create_namespace(name: str) -> None:
    netns.create(name)
    with IPRoute(netns=name) as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")


def create_bridge(layout: Layout) -> None:
    create_namespace(layout.bridge_namespace)
    with IPRoute(netns=layout.bridge_namespace) as ipr:
        ipr.link("add", ifname=BRIDGE, kind="bridge")
        ipr.link("set", index=ipr.link_lookup(ifname=BRIDGE)[0], state="up")


def attach_host(layout: Layout, role: str, address: str | None = None) -> None:
    """Create the host's namespace and cable it to the bridge, with its LAN address (the pair lab's
    plan's unless given)."""
    namespace = layout.namespace(role)
    create_namespace(namespace)
    with IPRoute(netns=layout.bridge_namespace) as ipr:
        ipr.link("add", ifname=role, kind="veth", peer={"ifname": INTERFACE, "net_ns_fd": namespace})
        bridge = ipr.link_lookup(ifname=BRIDGE)[0]
        ipr.link("set", index=ipr.link_lookup(ifname=role)[0], master=bridge, state="up")
    with IPRoute(netns=namespace) as ipr:
        index = ipr.link_lookup(ifname=INTERFACE)[0]
        ipr.addr("add", index=index, address=address or ADDRESSES[role], prefixlen=PREFIX_LENGTH)
        ipr.link("set", index=index, state="up")


def link_namespaces(ends: tuple[tuple[str, str, str], tuple[str, str, str]]) -> None:
    """A veth pair between two existing namespaces, each end (namespace, interface, address) in a /24."""
    (first, first_if, _), (second, second_if, _) = ends
    with IPRoute(netns=first) as ipr:
        ipr.link("add", ifname=first_if, kind="veth", peer={"ifname": second_if, "net_ns_fd": second})
    for namespace, interface, address in ends:
        with IPRoute(netns=namespace) as ipr:
            index = ipr.link_lookup(ifname=interface)[0]
            ipr.addr("add", index=index, address=address, prefixlen=PREFIX_LENGTH)
            ipr.link("set", index=index, state="up")


def add_default_route(namespace: str, gateway: str) -> None:
    with IPRoute(netns=namespace) as ipr:
        ipr.route("add", dst="0.0.0.0/0", gateway=gateway)


def add_loopback_address(namespace: str, address: str) -> None:
    with IPRoute(netns=namespace) as ipr:
        ipr.addr("add", index=ipr.link_lookup(ifname="lo")[0], address=address, prefixlen=32)


def set_sysctl(namespace: str, name: str, value: str) -> None:
    """A per-namespace sysctl (net.*): /proc/sys/net shows the namespace of the thread that opens it."""

    def write() -> None:
        with open(f"/proc/sys/{name.replace('.', '/')}", "w") as file:
            file.write(value)

    run_in(namespace, write)


def nexthops(namespace: str, destination: str) -> list[str]:
    """The gateways of the namespace's route to `destination`/32 (several for a multipath route)."""
    with IPRoute(netns=namespace) as ipr:
        routes = ipr.get_routes(family=2, table=254)
    gateways = []
    for route in routes:
        if route.get("dst") != destination or route["dst_len"] != 32:
            continue
        if route.get("RTA_GATEWAY"):
            gateways.append(route.get("RTA_GATEWAY"))
        for hop in route.get("RTA_MULTIPATH") or []:
            gateways.append(hop.get_attr("RTA_GATEWAY"))
    return sorted(gateways, key=lambda a: tuple(int(x) for x in a.split(".")))


def set_cable(layout: Layout, role: str, *, plugged: bool) -> None:
    """Take the host's bridge port down or up: its carrier goes as when a cable is pulled."""
    with IPRoute(netns=layout.bridge_namespace) as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname=role)[0], state="up" if plugged else "down")


def cable_plugged(layout: Layout, role: str) -> bool:
    with IPRoute(netns=layout.bridge_namespace) as ipr:
        link = ipr.get_links(ipr.link_lookup(ifname=role)[0])[0]
    return bool(link["flags"] & 1)  # IFF_UP


def set_backend_path(layout: Layout, role: str, *, cut: bool) -> None:
    """Cut (or restore) the host's path to the backend web server: an `unreachable` route to it, so that
    connections fail at once, as behind a router that lost its way there."""
    with IPRoute(netns=layout.namespace(role)) as ipr:
        ipr.route("add" if cut else "del", dst=ADDRESSES["web"], dst_len=32, type="unreachable")


def backend_path_cut(layout: Layout, role: str) -> bool:
    with IPRoute(netns=layout.namespace(role)) as ipr:
        return any(r.get("type") == 7 for r in ipr.get_routes(family=2))  # RTN_UNREACHABLE


def addresses(namespace: str) -> list[str]:
    """The IPv4 addresses on the host's LAN interface."""
    with IPRoute(netns=namespace) as ipr:
        index = ipr.link_lookup(ifname=INTERFACE)[0]
        return [a.get("IFA_ADDRESS") for a in ipr.get_addr(family=2, index=index)]


def pids_in(namespaces: Iterable[str]) -> list[int]:
    """The processes in any of `namespaces`."""
    by_namespace = netns.ns_pids()
    return [pid for name in namespaces for pid in by_namespace.get(name, [])]


def remove(namespaces: Iterable[str]) -> None:
    """Delete those of `namespaces` that exist (their veth ends go with them)."""
    for name in existing(namespaces):
        try:
            netns.remove(name)
        except (OSError, NetlinkError) as error:
            raise LabError(f"cannot remove namespace {name}: {error}") from None


def run_in(namespace: str, function: Callable[[], T]) -> T:
    """Call `function` in a thread that has joined `namespace` (setns is per thread): sockets it opens
    live in that namespace. Its exception, if any, is raised here."""
    result: list[T] = []
    failure: list[BaseException] = []

    def body() -> None:
        try:
            netns.setns(namespace, flags=0)
            result.append(function())
        except BaseException as error:  # handed to the caller's thread
            failure.append(error)

    thread = threading.Thread(target=body, name=f"in-{namespace}", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]
