"""The route and rule messages keepalived 2.2.7 sends (vrrp_iproute.c netlink_route, vrrp_iprule.c
netlink_rule), built without a kernel; what the kernel makes of them beside keepalived is
tests/system/test_routes.py. And the route options hapair refuses by name."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_interface
from typing import Any

from pyroute2.netlink import NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL

from hapair.config.keepalived.model.addresses import (
    Encap,
    EncapType,
    Nexthop,
    Route,
    RouteInstall,
    RouteType,
    Rule,
    RuleAction,
    Scope,
)
from hapair.net.routes import (
    RouteSet,
    RoutingRemoved,
    route_install_flags,
    route_message,
    route_removed,
    rule_message,
    unsupported_route_options,
)

INDEXES = {"eth0": 2, "eth1": 3}


def attributes(message: Any) -> dict[str, object]:
    return dict(message["attrs"])


def test_a_route_is_added_as_keepalived_adds_it() -> None:
    route = Route(dst=ip_interface("10.60.0.0/16"), via=IPv4Address("192.0.2.254"), oif="eth0", metric=50)
    route.mtu, route.advmss, route.locked = 1400, 1300, {"mtu"}
    message = route_message(route, INDEXES.__getitem__, delete=False)
    assert (message["table"], message["scope"], message["type"], message["proto"]) == (254, 0, 1, 18)
    assert message["dst_len"] == 16
    found = attributes(message)
    assert (found["RTA_DST"], found["RTA_GATEWAY"], found["RTA_OIF"], found["RTA_PRIORITY"]) == (
        "10.60.0.0",
        "192.0.2.254",
        2,
        50,
    )
    metrics = [["RTAX_MTU", 1400], ["RTAX_ADVMSS", 1300], ["RTAX_LOCK", 1 << 2]]
    assert found["RTA_METRICS"] == {"attrs": metrics}


def test_a_route_is_deleted_with_scope_nowhere_and_its_type_only_if_named() -> None:
    plain = route_message(Route(dst=ip_interface("10.1.0.0/16")), INDEXES.__getitem__, delete=True)
    assert (plain["scope"], plain["type"]) == (Scope.NOWHERE, 0)
    blackhole = Route(dst=ip_interface("10.2.0.0/16"), type=RouteType.BLACKHOLE, scope=Scope.LINK)
    message = route_message(blackhole, INDEXES.__getitem__, delete=True)
    assert (message["scope"], message["type"]) == (Scope.LINK, RouteType.BLACKHOLE)


def test_a_table_above_255_and_nexthops() -> None:
    hops = [Nexthop(via=IPv4Address("192.0.2.1"), dev="eth0", weight=2), Nexthop(dev="eth1", onlink=True)]
    route = Route(dst=ip_interface("10.3.0.0/16"), table=1000, nexthops=hops)
    message = route_message(route, INDEXES.__getitem__, delete=False)
    assert message["table"] == 0
    found = attributes(message)
    assert found["RTA_TABLE"] == 1000
    assert found["RTA_MULTIPATH"] == [
        {"oif": 2, "hops": 1, "flags": 0, "attrs": [["RTA_GATEWAY", "192.0.2.1"]]},
        {"oif": 3, "hops": 0, "flags": 4, "attrs": []},
    ]


def test_install_flags_follow_prepend_add_and_append() -> None:
    flags = [route_install_flags(Route(install=how)) for how in RouteInstall]
    assert flags == [NLM_F_CREATE, NLM_F_CREATE | NLM_F_EXCL, NLM_F_CREATE | NLM_F_APPEND]


def test_a_rule_is_sent_with_keepalived_fields() -> None:
    rule = Rule(
        action=RuleAction.TO_TBL,
        priority=1002,
        from_addr=ip_interface("10.72.0.0/16"),
        invert=True,
        table=103,
        iif="eth1",
        fwmark=0x10,
        fwmask=0xFF,
        sport=(1000, 2000),
    )
    message = rule_message(rule)
    assert (message["table"], message["flags"], message["src_len"], message["action"]) == (103, 2, 16, 1)
    assert attributes(message) == {
        "FRA_SRC": "10.72.0.0",
        "FRA_PRIORITY": 1002,
        "FRA_FWMARK": 0x10,
        "FRA_FWMASK": 0xFF,
        "FRA_IIFNAME": "eth1",
        "FRA_SPORT_RANGE": "1000:2000",
    }
    big_table = rule_message(Rule(action=RuleAction.TO_TBL, priority=1, table=300))
    assert (big_table["table"], attributes(big_table)["FRA_TABLE"]) == (0, 300)
    goto = rule_message(Rule(action=RuleAction.GOTO, priority=900, goto_target=1000))
    assert (goto["table"], goto["action"], attributes(goto)["FRA_GOTO"]) == (0, RuleAction.GOTO, 1000)


def test_route_options_hapair_does_not_install_are_named() -> None:
    route = Route(dst=ip_interface("10.4.0.0/16"), expires=30, encap=Encap(EncapType.MPLS, labels=[100]))
    route.via = IPv6Address("fe80::1")
    cross_family = "a gateway of the other family (via inet6)"
    assert unsupported_route_options(route) == ["encap", "expires", cross_family]
    assert unsupported_route_options(Route(dst=ip_interface("10.5.0.0/16"), mtu=1400)) == []


class AlwaysDone:
    """A Routing whose every request the kernel carries out."""

    def route(self, route: Route, *, add: bool) -> bool:
        return True

    def rule(self, rule: Rule, *, add: bool, ignore_missing: bool = False) -> bool:
        return True


def test_only_a_removal_from_outside_of_a_tracked_installed_route_counts() -> None:
    tracked = Route(dst=ip_interface("10.50.0.0/16"), oif="eth0")
    untracked = Route(dst=ip_interface("10.51.0.0/16"), dont_track=True)
    rule = Rule(action=RuleAction.TO_TBL, priority=100, table=100)
    routes = RouteSet(AlwaysDone(), [tracked, untracked], [rule])  # type: ignore[arg-type]
    gone = route_removed(tracked)
    assert not routes.take_removed(gone)  # not installed
    routes.add()
    assert not routes.take_removed(route_removed(untracked))
    routes.remove()
    routes.add()  # back before the events of the removal are read
    assert not routes.take_removed(gone)  # our own removal
    assert not routes.take_removed(RoutingRemoved(True, 2, 100, None, 0, 100))
    assert routes.take_removed(gone)  # from outside
    assert not routes.take_removed(gone)
    assert routes.take_removed(RoutingRemoved(True, 2, 100, None, 0, 100))
