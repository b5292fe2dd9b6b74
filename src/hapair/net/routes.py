"""Routes and policy rules over rtnetlink, as keepalived 2.2.7 installs them (vrrp_iproute.c netlink_route,
vrrp_iprule.c netlink_rule): the same message fields and flags, keepalived's tolerance of EEXIST when a
route is added, and its error line when the kernel refuses one (`Netlink: error: Network is
unreachable(101), type=RTM_NEWROUTE(24), seq=N, pid=0`). `RouteSet` keeps which of a list of routes and
rules are installed, as keepalived's `set` flags do: a removal only takes away what was added (rules
also what an earlier run left, when forced)."""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace

from pyroute2.netlink import NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, nlmsg
from pyroute2.netlink.rtnl import (
    RTM_DELROUTE,
    RTM_DELRULE,
    RTM_NEWROUTE,
    RTM_NEWRULE,
    RTMGRP_IPV4_ROUTE,
    RTMGRP_IPV4_RULE,
    RTMGRP_IPV6_ROUTE,
    RTMGRP_IPV6_RULE,
)
from pyroute2.netlink.rtnl.fibmsg import fibmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from hapair.config.keepalived.model.addresses import (
    RTPROT_KEEPALIVED,
    IpAddr,
    IpInterface,
    Nexthop,
    Route,
    RouteInstall,
    RouteTable,
    RouteType,
    Rule,
    RuleAction,
    Scope,
)

from .resource import Resource
from .rtnl import Rtnetlink, Subscription

Attribute = list[object]
RTNH_F_ONLINK = 4
FIB_RULE_INVERT = 2
METRICS = (  # the route's field, its RTAX_ name, in keepalived's order
    ("congctl", "RTAX_CC_ALGO"),
    ("rtt", "RTAX_RTT"),
    ("rttvar", "RTAX_RTTVAR"),
    ("rto_min", "RTAX_RTO_MIN"),
    ("features", "RTAX_FEATURES"),
    ("mtu", "RTAX_MTU"),
    ("window", "RTAX_WINDOW"),
    ("ssthresh", "RTAX_SSTHRESH"),
    ("cwnd", "RTAX_CWND"),
    ("advmss", "RTAX_ADVMSS"),
    ("reordering", "RTAX_REORDERING"),
    ("hoplimit", "RTAX_HOPLIMIT"),
    ("initcwnd", "RTAX_INITCWND"),
    ("initrwnd", "RTAX_INITRWND"),
    ("quickack", "RTAX_QUICKACK"),
)
RTAX_FEATURE_ECN = 1
# the RTAX_LOCK bit of each lockable metric (1 << RTAX_n)
LOCK_BITS = {"mtu": 1 << 2, "window": 1 << 3, "rtt": 1 << 4, "rttvar": 1 << 5, "ssthresh": 1 << 6}
LOCK_BITS |= {"cwnd": 1 << 7, "advmss": 1 << 8, "reordering": 1 << 9, "hoplimit": 1 << 10}
LOCK_BITS |= {"initcwnd": 1 << 11, "rto_min": 1 << 13, "initrwnd": 1 << 14}
MESSAGE_NAMES = {RTM_NEWROUTE: "RTM_NEWROUTE", RTM_DELROUTE: "RTM_DELROUTE"}
MESSAGE_NAMES |= {RTM_NEWRULE: "RTM_NEWRULE", RTM_DELRULE: "RTM_DELRULE"}


def unsupported_route_options(route: Route) -> list[str]:
    """The options of a route hapair does not install (refused at start by name)."""
    options = []
    if route.encap is not None or any(n.encap is not None for n in route.nexthops):
        options.append("encap")
    if route.expires is not None:
        options.append("expires")
    if route.ttl_propagate is not None:
        options.append("ttl-propagate")
    if route.fastopen_no_cookie is not None:
        options.append("fastopen_no_cookie")
    if any(_cross_family(route.family, hop) for hop in (route.via, *(n.via for n in route.nexthops))):
        options.append("a gateway of the other family (via inet6)")
    return options


def _cross_family(family: int, address: IpAddr | None) -> bool:
    return address is not None and address.version != family


def _family(version: int) -> int:
    return socket.AF_INET if version == 4 else socket.AF_INET6


def route_install_flags(route: Route) -> int:
    """keepalived's flags for adding a route: NLM_F_CREATE, with EXCL for `add` or APPEND for `append`."""
    extra = {RouteInstall.ADD: NLM_F_EXCL, RouteInstall.APPEND: NLM_F_APPEND}.get(route.install, 0)
    return NLM_F_CREATE | extra


def route_message(route: Route, index_of: Callable[[str], int], *, delete: bool) -> rtmsg:
    """The RTM_NEWROUTE / RTM_DELROUTE message keepalived sends for the route."""
    message = rtmsg()
    message["family"] = _family(route.family)
    attributes: list[Attribute] = []
    if route.table < 256:
        message["table"] = route.table
    else:
        message["table"] = RouteTable.UNSPEC
        attributes.append(["RTA_TABLE", route.table])
    if delete:
        message["scope"] = Scope.NOWHERE
        message["type"] = route.type if route.type is not None else 0
    else:
        message["scope"] = Scope.UNIVERSE
        message["type"] = route.type if route.type is not None else RouteType.UNICAST
    message["proto"] = route.protocol if route.protocol is not None else RTPROT_KEEPALIVED
    if route.scope is not None:
        message["scope"] = route.scope
    message["dst_len"] = route.dst.network.prefixlen
    attributes.append(["RTA_DST", str(route.dst.ip)])
    if route.src is not None:
        message["src_len"] = route.src.network.prefixlen
        attributes.append(["RTA_SRC", str(route.src.ip)])
    if route.pref_src is not None:
        attributes.append(["RTA_PREFSRC", str(route.pref_src)])
    if route.via is not None:
        attributes.append(["RTA_GATEWAY", str(route.via)])
    if route.tos is not None:
        message["tos"] = route.tos
    if route.oif is not None:
        attributes.append(["RTA_OIF", index_of(route.oif)])
    if route.metric is not None:
        attributes.append(["RTA_PRIORITY", route.metric])
    message["flags"] = RTNH_F_ONLINK if route.onlink else 0
    if route.realms:
        attributes.append(["RTA_FLOW", route.realms])
    metrics = _metrics(route)
    if route.pref is not None:
        attributes.append(["RTA_PREF", route.pref])
    if metrics:
        attributes.append(["RTA_METRICS", {"attrs": metrics}])
    if route.nexthops:
        attributes.append(["RTA_MULTIPATH", [_nexthop(hop, index_of) for hop in route.nexthops]])
    message["attrs"] = attributes
    return message


def _metrics(route: Route) -> list[Attribute]:
    values: dict[str, object] = {field: getattr(route, field, None) for field, _name in METRICS}
    values["features"] = RTAX_FEATURE_ECN if route.features_ecn else None
    metrics: list[Attribute] = [[name, values[field]] for field, name in METRICS if values[field] is not None]
    lock = sum(LOCK_BITS.get(name, 0) for name in route.locked)
    if metrics and lock:
        metrics.append(["RTAX_LOCK", lock])
    return metrics


def _nexthop(hop: Nexthop, index_of: Callable[[str], int]) -> dict[str, object]:
    attributes: list[Attribute] = []
    if hop.via is not None:
        attributes.append(["RTA_GATEWAY", str(hop.via)])
    if hop.realms:
        attributes.append(["RTA_FLOW", hop.realms])
    return {
        "oif": index_of(hop.dev) if hop.dev is not None else 0,
        "hops": hop.weight - 1 if hop.weight is not None else 0,
        "flags": RTNH_F_ONLINK if hop.onlink else 0,
        "attrs": attributes,
    }


def rule_message(rule: Rule) -> fibmsg:
    """The RTM_NEWRULE / RTM_DELRULE message keepalived sends for the rule (the same for both)."""
    message = fibmsg()
    message["family"] = _family(rule.family)
    message["table"] = RouteTable.UNSPEC
    message["tos"] = rule.tos
    attributes: list[Attribute] = []
    if rule.action == RuleAction.TO_TBL and not rule.l3mdev:
        if rule.table < 256:
            message["table"] = rule.table or RouteTable.MAIN
        else:
            attributes.append(["FRA_TABLE", rule.table])
    message["flags"] = FIB_RULE_INVERT if rule.invert else 0
    if rule.from_addr is not None:
        attributes.append(["FRA_SRC", str(rule.from_addr.ip)])
        message["src_len"] = rule.from_addr.network.prefixlen
    if rule.to_addr is not None:
        attributes.append(["FRA_DST", str(rule.to_addr.ip)])
        message["dst_len"] = rule.to_addr.network.prefixlen
    attributes.append(["FRA_PRIORITY", rule.priority])
    optional: Sequence[tuple[str, object]] = (
        ("FRA_FWMARK", rule.fwmark),
        ("FRA_FWMASK", rule.fwmask),
        ("FRA_FLOW", rule.realms or None),
        ("FRA_SUPPRESS_PREFIXLEN", rule.suppress_prefix_len if rule.suppress_prefix_len != -1 else None),
        ("FRA_SUPPRESS_IFGROUP", rule.suppress_group),
        ("FRA_IIFNAME", rule.iif),
        ("FRA_OIFNAME", rule.oif),
        ("FRA_TUN_ID", rule.tunnel_id or None),
        ("FRA_UID_RANGE", _range(rule.uid_range)),
        ("FRA_L3MDEV", 1 if rule.l3mdev else None),
        ("FRA_PROTOCOL", rule.protocol),
        ("FRA_IP_PROTO", rule.ip_proto),
        ("FRA_SPORT_RANGE", _range(rule.sport)),
        ("FRA_DPORT_RANGE", _range(rule.dport)),
    )
    attributes += [[name, value] for name, value in optional if value is not None]
    if rule.action == RuleAction.GOTO:
        attributes.append(["FRA_GOTO", rule.goto_target])
    message["action"] = rule.action
    message["attrs"] = attributes
    return message


def _range(bounds: tuple[int, int] | None) -> str | None:
    """A uid or port range as pyroute2 encodes it."""
    return None if bounds is None else f"{bounds[0]}:{bounds[1]}"


class Routing(Resource):
    """Adds and removes routes and rules in the current network namespace, logging the kernel's refusals
    as keepalived does."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self._log = log
        self._rtnl = Rtnetlink()

    def route(self, route: Route, *, add: bool) -> bool:
        """Add or remove the route; whether the kernel did (an added route that exists counts as done)."""
        kind = RTM_NEWROUTE if add else RTM_DELROUTE
        message = route_message(route, _index, delete=not add)
        code = self._rtnl.request(message, kind, route_install_flags(route) if add else 0)
        if add and code == errno.EEXIST:
            return True
        return self._done(code, kind)

    def rule(self, rule: Rule, *, add: bool, ignore_missing: bool = False) -> bool:
        """Add or remove the rule; whether the kernel did. `ignore_missing`: a rule that is not there is
        not reported (a forced removal)."""
        kind = RTM_NEWRULE if add else RTM_DELRULE
        code = self._rtnl.request(rule_message(rule), kind, NLM_F_CREATE | NLM_F_EXCL if add else 0)
        if ignore_missing and code == errno.ENOENT:
            return False
        return self._done(code, kind)

    def _done(self, code: int, kind: int) -> bool:
        if code:
            self._log(
                f"Netlink: error: {os.strerror(code)}({code}), type={MESSAGE_NAMES[kind]}({kind}),"
                f" seq={self._rtnl.sequence}, pid=0"
            )
        return not code

    def close(self) -> None:
        self._rtnl.close()


def _index(ifname: str) -> int:
    """The interface's index, 0 when it does not exist (the kernel then refuses the route)."""
    try:
        return socket.if_nametoindex(ifname)
    except OSError:
        return 0


def address_text(address: IpInterface) -> str:
    """keepalived's ipaddresstos: the address, with its prefix length unless it is a host's."""
    host = address.network.prefixlen == address.max_prefixlen
    return str(address.ip) if host else f"{address.ip}/{address.network.prefixlen}"


def keep_after_reload(
    previous: RouteSet,
    routes: Sequence[Route],
    rules: Sequence[Rule],
    log: Callable[[str], None],
    *,
    detail: bool,
) -> tuple[list[Route], list[Rule]]:
    """A reload (keepalived's clear_diff_rules, then clear_diff_routes): what `previous` installed that the
    new `routes` and `rules` no longer have is removed, with keepalived's lines; what is kept is returned."""
    installed_routes, installed_rules = previous.installed()
    gone_rules = [r for r in installed_rules if r not in rules]
    if previous.rules and not rules:
        log("Removing a VirtualRule block")
    elif detail:
        for rule in gone_rules:
            to = f" to {address_text(rule.to_addr)}" if rule.to_addr is not None else ""
            source = address_text(rule.from_addr) if rule.from_addr is not None else "all"
            log(f"ip rule from {source}{to} removed")
    gone_routes = [r for r in installed_routes if r not in routes]
    if detail and previous.routes and not routes:
        log("Removing a VirtualRoute block")
    elif detail:
        for route in gone_routes:
            log(f"Removing route {address_text(route.dst)}")
    gone = RouteSet(previous.routing, gone_routes, gone_rules)
    gone.mark_installed(gone_routes, gone_rules)
    gone.remove()
    return [r for r in installed_routes if r in routes], [r for r in installed_rules if r in rules]


@dataclass(frozen=True)
class RoutingRemoved:
    """A route or a rule left the kernel: enough of it to know it again (`order` is a route's metric, a
    rule's priority; `dst` None for a default route or a rule without a destination)."""

    rule: bool
    family: int
    table: int
    dst: str | None
    dst_len: int
    order: int


def route_removed(route: Route) -> RoutingRemoved:
    """How the kernel reports the removal of `route` (its metric counts only when configured)."""
    dst = None if route.dst.network.prefixlen == 0 else str(route.dst.ip)
    order = route.metric or 0
    return RoutingRemoved(False, _family(route.family), route.table, dst, route.dst.network.prefixlen, order)


def is_route_removed(event: RoutingRemoved, route: Route) -> bool:
    expected = route_removed(route)
    if route.metric is None:
        expected = replace(expected, order=event.order)
    return event == expected


def is_rule_removed(event: RoutingRemoved, rule: Rule) -> bool:
    return event.rule and event.family == _family(rule.family) and event.order == rule.priority


class RoutingWatcher:
    """Routes and rules removed in the current network namespace, as an async iterator; enter it with
    `async with` inside the event loop."""

    def __init__(self) -> None:
        self._subscription: Subscription | None = None

    async def __aenter__(self) -> RoutingWatcher:
        groups = RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_RULE | RTMGRP_IPV6_RULE
        self._subscription = Subscription(groups, {RTM_DELROUTE: rtmsg, RTM_DELRULE: fibmsg})
        return self

    def __aiter__(self) -> AsyncIterator[RoutingRemoved]:
        return self._events()

    async def _events(self) -> AsyncIterator[RoutingRemoved]:
        assert self._subscription is not None, "enter the watcher first"
        async for message in self._subscription.messages():
            yield _removed(message, rule=message["header"]["type"] == RTM_DELRULE)

    def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()

    async def __aexit__(self, *exc: object) -> None:
        self.close()


def _removed(message: nlmsg, *, rule: bool) -> RoutingRemoved:
    if rule:
        table = message.get_attr("FRA_TABLE") or message["table"]
        dst, order = message.get_attr("FRA_DST"), message.get_attr("FRA_PRIORITY") or 0
    else:
        table = message.get_attr("RTA_TABLE") or message["table"]
        dst, order = message.get_attr("RTA_DST"), message.get_attr("RTA_PRIORITY") or 0
    return RoutingRemoved(rule, message["family"], int(table), dst, message["dst_len"], int(order))


class RouteSet:
    """A list of routes and rules (an instance's virtual_*, or the static_* blocks) and which of them are
    installed. Routes go in before rules and come out after them, as keepalived orders them."""

    def __init__(self, routing: Routing, routes: Sequence[Route], rules: Sequence[Rule]) -> None:
        self.routing = routing
        self.routes = list(routes)
        self.rules = list(rules)
        self._routes_set = [False] * len(self.routes)
        self._rules_set = [False] * len(self.rules)
        # our own removals whose events have not been read yet, by (is a rule, position)
        self._own_removals: dict[tuple[bool, int], int] = {}
        # our own removals whose events have not been read yet, by (is a rule, position)
        self._own_removals: dict[tuple[bool, int], int] = {}

    def add(self) -> None:
        self.add_routes()
        self.add_rules()

    def add_routes(self) -> None:
        for position, route in enumerate(self.routes):
            if not self._routes_set[position]:
                self._routes_set[position] = self.routing.route(route, add=True)

    def add_rules(self) -> None:
        for position, rule in enumerate(self.rules):
            if not self._rules_set[position]:
                self._rules_set[position] = self.routing.rule(rule, add=True)

    def remove(self, *, force_rules: bool = False) -> None:
        """Remove the rules (all of them when forced: an earlier run may have left them), then the routes
        that were added."""
        self.remove_rules(force=force_rules)
        self.remove_routes()

    def remove_rules(self, *, force: bool = False) -> None:
        for position, rule in enumerate(self.rules):
            if force or self._rules_set[position]:
                if self.routing.rule(rule, add=False, ignore_missing=force):
                    self._expect_removal(True, position)
                self._rules_set[position] = False

    def remove_routes(self) -> None:
        for position, route in enumerate(self.routes):
            if self._routes_set[position]:
                self._routes_set[position] = False
                if self.routing.route(route, add=False):
                    self._expect_removal(False, position)

    def _expect_removal(self, rule: bool, position: int) -> None:
        key = (rule, position)
        self._own_removals[key] = self._own_removals.get(key, 0) + 1

    def mark_installed(self, routes: Sequence[Route], rules: Sequence[Rule]) -> None:
        """Take these routes and rules as installed (kept from the set this one replaces)."""
        self._routes_set = [route in routes for route in self.routes]
        self._rules_set = [rule in rules for rule in self.rules]

    def take_removed(self, event: RoutingRemoved) -> bool:
        """Whether the event removed one of the tracked routes or rules installed here, from outside (no
        longer taken as installed then). The events of our own removals are read later, maybe once the
        route is back (a master that stepped down and took over again): they are counted off."""
        items: Sequence[Route | Rule] = self.rules if event.rule else self.routes
        done = self._rules_set if event.rule else self._routes_set
        for position, item in enumerate(items):
            if isinstance(item, Rule):
                if not is_rule_removed(event, item):
                    continue
            elif not is_route_removed(event, item):
                continue
            key = (event.rule, position)
            if self._own_removals.get(key):
                self._own_removals[key] -= 1
                return False
            if done[position] and not item.dont_track:
                done[position] = False
                return True
        return False

    def installed(self) -> tuple[list[Route], list[Rule]]:
        routes = [r for r, done in zip(self.routes, self._routes_set, strict=True) if done]
        rules = [r for r, done in zip(self.rules, self._rules_set, strict=True) if done]
        return routes, rules
