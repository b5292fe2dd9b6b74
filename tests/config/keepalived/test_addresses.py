"""Addresses, routes and rules (keywords/addresses.py: keepalived's vrrp_ipaddress.c, vrrp_iproute.c,
vrrp_iprule.c): the messages and the model of every option and error path.

Expected messages are those keepalived 2.2.7 printed for the same lines (`keepalived -t` in a namespace with
eth0..eth3, `tools/keepalived-compare`, and keepalived-evidence/samples_configtest_2.2.7.txt for the
doc/samples files); expected values come from keepalived's own configuration dump (`-d`) where it shows
them.
"""

from __future__ import annotations

from collections import defaultdict
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hapair.config.keepalived.diagnostics import MissingParameterError, Severity
from hapair.config.keepalived.engine import Parser, Words
from hapair.config.keepalived.host import StaticHost
from hapair.config.keepalived.keywords.addresses import (
    alloc_ipaddress,
    alloc_route,
    alloc_rule,
    parse_ipaddress,
)
from hapair.config.keepalived.load import LoadResult
from hapair.config.keepalived.model import KeepalivedConfig
from hapair.config.keepalived.model.addresses import (
    INFINITY_LIFE_TIME,
    Encap,
    EncapType,
    IpAddress,
    Nexthop,
    Route,
    RouteInstall,
    RouteType,
    Rule,
    RuleAction,
)
from hapair.config.keepalived.model.vrrp import StaticTrackGroup
from hapair.config.keepalived.session import Session

from .conftest import ReadConfig, lab_host

RT_TABLES = (
    "#\n# reserved values\n#\n255\tlocal\n254\tmain\n253\tdefault\n0\tunspec\n#\n#1\tinr.ruhep\n7 web\n"
)
RT_DSFIELD = "0x0\tdefault\n0x28\tAF11\n0x20\tCS1\n"
RT_PROTOS = "0\tunspec\n2\tkernel\n18\tkeepalived\n186\tbgp\n"
RT_SCOPES = "0\tglobal\n255\tnowhere\n254\thost\n253\tlink\n200\tsite\n"
RT_REALMS = "0\tcosmos\n"
GROUPS = "0\tdefault\n"
PROTOCOLS = "ip\t0\tIP\t\t# internet protocol\ntcp\t6\tTCP\nudp\t17\tUDP\nipv6-icmp\t58\tIPv6-ICMP\n"


def debian_host(**texts_override: str) -> StaticHost:
    """The lab host with Debian 12's /etc/iproute2 files and /etc/protocols (what keepalived read)."""
    texts = {
        "/etc/iproute2/rt_tables": RT_TABLES,
        "/etc/iproute2/rt_dsfield": RT_DSFIELD,
        "/etc/iproute2/rt_protos": RT_PROTOS,
        "/etc/iproute2/rt_scopes": RT_SCOPES,
        "/etc/iproute2/rt_realms": RT_REALMS,
        "/etc/iproute2/group": GROUPS,
        "/etc/protocols": PROTOCOLS,
    }
    texts.update({f"/etc/iproute2/{name}": text for name, text in texts_override.items()})
    return lab_host(texts=texts)


def by_line(result: LoadResult) -> dict[int, list[str]]:
    """The messages keepalived -t prints (not log-only ones), by line."""
    lines: dict[int, list[str]] = defaultdict(list)
    for d in result.report:
        if not d.log and d.line:
            lines[d.line].append(d.message)
    return dict(lines)


def logged(result: LoadResult) -> list[str]:
    return [d.message for d in result.report if d.log]


def static(kind: str, *items: str) -> str:
    """A `static_*` block with one item per line; item N is on line N + 1."""
    return f"{kind} {{\n" + "".join(f"    {item}\n" for item in items) + "}\n"


# -- addresses -----------------------------------------------------------------------------------------


def test_prefix_out_of_range_is_reported_and_the_full_length_used(read_config: ReadConfig) -> None:
    result = read_config(static("static_ipaddress", "10.0.0.1/33 dev eth0", "10.0.0.8/x dev eth0"))
    assert by_line(result) == {
        2: [
            "number '33' outside range [0, 32]",
            "Invalid address prefix len 33 for address 10.0.0.1/33 - using 32",
        ],
        3: ["invalid number 'x'", "Invalid address prefix len x for address 10.0.0.8/x - using 32"],
    }
    assert [a.address for a in result.config.vrrp.static_addresses] == [
        IPv4Interface("10.0.0.1/32"),
        IPv4Interface("10.0.0.8/32"),
    ]


def test_empty_prefix_is_prefix_zero(read_config: ReadConfig) -> None:
    result = read_config(static("static_ipaddress", "10.0.0.2/ dev eth1"))
    assert by_line(result) == {}
    assert result.config.vrrp.static_addresses[0].address == IPv4Interface("10.0.0.2/0")


@pytest.mark.parametrize("text", ["1.2.3", "010.0.0.7", "fe80::1%eth0", "10.0.0.1 "])
def test_invalid_address_skips_the_line(read_config: ReadConfig, text: str) -> None:
    result = read_config(static("static_ipaddress", f'"{text}" dev eth0'))
    assert by_line(result) == {2: [f"VRRP parsed invalid IP {text}. skipping IP..."]}
    assert result.config.vrrp.static_addresses == []


def test_address_options_are_stored(read_config: ReadConfig) -> None:
    result = read_config(
        static(
            "static_ipaddress",
            "10.0.0.6/24 brd + dev eth1",
            "10.0.0.7/24 brd - dev eth1 scope site label eth1:a home mngtmpaddr noprefixroute autojoin "
            "-nodad",
            "2001::5/64 dev eth1 preferred_lft 7",
            "2001::6 dev eth1",
            "2001::7/64 dev eth1",
            "10.0.0.9 peer 10.0.0.10 dev eth1 no_track",
            "10.0.0.10 dev eth0 brd 10.0.0.255 scope 7 preferred_lft forever",
        )
    )
    assert by_line(result) == {}
    assert result.config.vrrp.static_addresses == [
        IpAddress(IPv4Interface("10.0.0.6/24"), "eth1", broadcast=IPv4Address("10.0.0.255")),
        IpAddress(
            IPv4Interface("10.0.0.7/24"),
            "eth1",
            broadcast=IPv4Address("10.0.0.0"),
            scope=200,
            label="eth1:a",
            home=True,
            dad=True,
            mngtmpaddr=True,
            noprefixroute=True,
            autojoin=True,
        ),
        IpAddress(IPv6Interface("2001::5/64"), "eth1", preferred_lft=7),
        IpAddress(IPv6Interface("2001::6/128"), "eth1", preferred_lft=0),  # keepalived: "deprecated"
        IpAddress(IPv6Interface("2001::7/64"), "eth1", preferred_lft=INFINITY_LIFE_TIME),
        IpAddress(IPv4Interface("10.0.0.9/32"), "eth1", peer=IPv4Address("10.0.0.10"), dont_track=True),
        IpAddress(
            IPv4Interface("10.0.0.10/32"),
            "eth0",
            broadcast=IPv4Address("10.0.0.255"),
            scope=7,
            preferred_lft=INFINITY_LIFE_TIME,
        ),
    ]


def test_address_errors(read_config: ReadConfig) -> None:
    result = read_config(
        static(
            "static_ipaddress",
            "10.0.0.2 dev eth9",
            "10.0.0.3 dev eth1 dev eth2",
            "10.0.0.4 brd + dev eth1",
            "10.0.0.5/24 brd - peer 10.0.0.9 dev eth1",
            "fe80::1/64 scope link label foo dev eth1",
            "10.0.0.6 foo bar dev eth1",
            "10.0.0.7 dev",
            "10.0.0.6 dev eth0 label 0123456789abcdef",
            "10.0.0.7 brd 1.2.3 dev eth0",
            "fe80::7 brd 1.2.3.4 dev eth0",
            "10.0.0.8 dev eth0 peer fe80::1",
            "10.0.0.8 dev eth0 peer 1.2.3.4/24",
            "10.0.0.8 dev eth0 peer 1.2.3.4 peer 1.2.3.5",
            "10.0.0.9 dev eth0 scope foo",
            "10.0.0.9 dev eth0 scope 256",
            "10.0.0.5 dev eth0 preferred_lft -1",
            "10.0.0.5 dev eth0 preferred_lft 4294967296",
            "10.0.0.5 dev eth0 preferred_lft x",
            "10.0.0.4/31 brd - dev eth0",
        )
    )
    assert by_line(result) == {
        2: ["WARNING - interface eth9 for ip address 10.0.0.2 doesn't exist"],
        3: ["Cannot specify ipaddress device more than once for 10.0.0.3"],
        4: ["Address prefix length 32 too long for broadcast"],
        5: [
            "Cannot specify address prefix when specifying peer address - ignoring",
            "Cannot specify broadcast and peer addresses - ignoring broadcast address",
        ],
        6: [
            "Cannot specify scope for IPv6 addresses (fe80::1/64) - ignoring scope",
            "Cannot specify label for IPv6 addresses (fe80::1/64) - ignoring label",
        ],
        7: [
            "Unknown configuration entry 'foo' for ip address - ignoring",
            "Unknown configuration entry 'bar' for ip address - ignoring",
        ],
        8: ["No dev parameter specified for 10.0.0.7"],
        9: ["Address label 0123456789abcdef is longer than maximum length 15 - removing address"],
        10: ["VRRP is trying to assign invalid broadcast 1.2.3. skipping VIP..."],
        11: [
            "VRRP is trying to assign a broadcast brd to the IPv6 address fe80::7 !!?? WTF... skipping VIP..."
        ],
        12: ["Peer address fe80::1 does not match address family"],
        13: ["VRRP parsed invalid IP 1.2.3.4/24. skipping IP...", "Invalid peer address 1.2.3.4/24"],
        # keepalived reads the second peer's address again as an option
        14: [
            "Peer 1.2.3.5 - another peer has already been specified",
            "Unknown configuration entry '1.2.3.5' for ip address - ignoring",
        ],
        15: ["Invalid scope 'foo' specified for 10.0.0.9 - ignoring"],
        16: ["Invalid scope '256' specified for 10.0.0.9 - ignoring"],
        17: ["negative number '-1'", "preferred_lft -1 is invalid"],
        18: ["number '4294967296' outside unsigned integer range", "preferred_lft 4294967296 is invalid"],
        19: ["invalid number 'x'", "preferred_lft x is invalid"],
        20: ["Address prefix length 31 too long for broadcast"],
    }
    assert result.config.vrrp.nonexistent_interface
    kept = result.config.vrrp.static_addresses
    assert [str(a.address) for a in kept] == [
        "10.0.0.4/32",
        "10.0.0.5/32",
        "fe80::1/64",
        "10.0.0.6/32",
        *["10.0.0.8/32"] * 3,
        *["10.0.0.9/32"] * 2,
        *["10.0.0.5/32"] * 3,
        "10.0.0.4/31",
    ]
    assert (kept[1].peer, kept[1].broadcast) == (IPv4Address("10.0.0.9"), None)
    assert (kept[2].scope, kept[2].label, kept[2].preferred_lft) == (0, None, INFINITY_LIFE_TIME)
    assert kept[6].peer == IPv4Address("1.2.3.4")
    assert [a.preferred_lft for a in kept[9:12]] == [0, 0, 0]
    assert kept[12].broadcast is None


def test_broadcast_plus_outlives_a_later_address(read_config: ReadConfig) -> None:
    result = read_config(static("static_ipaddress", "10.0.0.9/24 brd + brd 10.9.9.9 dev eth0"))
    # "+" stays in force: keepalived computes it after reading 10.9.9.9
    assert result.config.vrrp.static_addresses[0].broadcast == IPv4Address("10.0.0.255")


def test_static_address_without_interface_uses_the_default_interface(read_config: ReadConfig) -> None:
    result = read_config(static("static_ipaddress", "10.0.0.2"))
    assert by_line(result) == {}
    assert result.config.vrrp.static_addresses[0].ifname == "eth0"


def test_static_address_needs_an_existing_default_interface(read_config: ReadConfig) -> None:
    text = "global_defs {\n   default_interface eth7\n}\n" + static("static_ipaddress", "10.0.0.2")
    result = read_config(text)
    assert by_line(result) == {
        5: ["Static address 10.0.0.2 requires either an interface or default interface must exist"]
    }
    assert [d.severity for d in result.report if d.line == 5] == [Severity.FATAL]
    assert result.config.vrrp.static_addresses == []
    assert result.config.vrrp.nonexistent_interface


def test_dynamic_interfaces_keep_a_missing_interface(read_config: ReadConfig) -> None:
    text = "global_defs {\n   dynamic_interfaces\n}\n" + static(
        "static_ipaddress", "10.0.0.2 dev eth9", "10.0.0.3 dev eth9"
    )
    result = read_config(text)
    assert by_line(result) == {}
    assert (
        logged(result).count(
            "Configuration specifies interface eth9 which doesn't currently exist - will use if created"
        )
        == 1
    )
    assert [a.ifname for a in result.config.vrrp.static_addresses] == ["eth9", "eth9"]
    assert not result.config.vrrp.nonexistent_interface


TRACK_GROUP = """\
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.0.0.1
    }
}
track_group G1 {
    group {
        VI_1
    }
}
"""


def test_track_group_on_static_items(read_config: ReadConfig) -> None:
    result = read_config(
        TRACK_GROUP
        + static(
            "static_ipaddress",
            "10.0.0.4 dev eth0 track_group G1",
            "10.0.0.4 dev eth0 track_group G1 track_group G1 foo",
            "10.0.0.5 dev eth0 track_group G2",
        )
        + static(
            "static_routes",
            "10.1.0.0/16 dev eth0 track_group G1",
            "10.1.0.0/16 track_group G1",
            "10.1.0.0/16 dev eth0 track_group G1 track_group G2 blah",
        )
        + static(
            "static_rules",
            "from 1.2.3.4 table 5 iif eth1 track_group G1 preference 5",
            "from 1.2.3.4 table 5 track_group G1 preference 5",
            "from 1.2.3.4 table 5 iif eth1 track_group G1 track_group G3 x",
        )
    )
    assert by_line(result) == {
        16: ["track_group G1 is a duplicate"],
        17: ["track_group G2 not found"],
        21: [
            "Warning - cannot track route 10.1.0.0/16 with no interface specified, not tracking",
            "Static route cannot have track group if no oif specified",
        ],
        22: ["track_group G2 is a duplicate", "Route has trailing nonsense - G2"],
        26: ["Static rule cannot have track_group if dev/iif not specified"],
        27: [
            "track_group G3 is a duplicate",
            "Rule has no preference specified - setting to 16384. This is probably not what you want.",
        ],
    }
    vrrp = result.config.vrrp
    assert [a.track_group for a in vrrp.static_addresses] == ["G1", "G1", None]
    assert [r.track_group for r in vrrp.static_routes] == ["G1", None]
    assert [r.track_group for r in vrrp.static_rules] == ["G1", None, "G1"]


def test_virtual_items_take_use_vmac_but_no_track_group(read_config: ReadConfig) -> None:
    result = read_config(
        """\
        vrrp_instance VI_1 {
            interface eth0
            virtual_router_id 51
            priority 100
            virtual_ipaddress {
                10.0.0.1/24 use_vmac track_group G
            }
            virtual_routes {
                10.4.0.0/16 dev eth0 track_group G
            }
            virtual_rules {
                table main preference 7 track_group G
            }
        }
        """
        + static("static_ipaddress", "10.0.0.2 dev eth0 use_vmac")
    )
    lines = by_line(result)
    assert lines[6] == [
        "Unknown configuration entry 'track_group' for ip address - ignoring",
        "Unknown configuration entry 'G' for ip address - ignoring",
    ]
    assert lines[9] == [
        "VRRP parsed invalid IP track_group. skipping IP...",
        "unknown route keyword track_group",
    ]
    assert lines[12] == ["Unknown rule option track_group"]
    assert lines[16] == ["Unknown configuration entry 'use_vmac' for ip address - ignoring"]
    assert result.config.vrrp.instances[0].vips[0].use_vmac


def test_parse_ipaddress_is_quiet() -> None:
    assert parse_ipaddress("10.1.2.3/24", allow_subnet_mask=True) == IpAddress(IPv4Interface("10.1.2.3/24"))
    assert parse_ipaddress("10.1.2.3/24", allow_subnet_mask=False) is None
    assert parse_ipaddress("fe80::1/129", allow_subnet_mask=True) == IpAddress(IPv6Interface("fe80::1/128"))
    assert parse_ipaddress("fe80::1", allow_subnet_mask=True).family == 6  # type: ignore[union-attr]
    assert parse_ipaddress("1.2.3", allow_subnet_mask=True) is None


# -- routes --------------------------------------------------------------------------------------------

ROUTES_SAMPLE = """\
! Configuration File for keepalived

global_defs {
   router_id LVS_DEVEL
}

static_routes {
    src 192.168.100.1 192.168.209.0/24 via 192.168.200.254 dev eth0
    192.168.210.0/24 via 192.168.200.254 dev eth0
    192.168.211.0/24 via 192.168.200.254 dev eth0
    192.168.212.0/24 dev eth3 scope site
    192.168.213.0/24 dev eth1 scope link
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.168.200.16
        192.168.200.17 dev eth1
        192.168.200.18 dev eth2
    }
    virtual_routes {
        src 192.168.100.1 192.168.109.0/24 via 192.168.200.254 dev eth1
        192.168.110.0/24 via 192.168.200.254 dev eth1
        192.168.111.0/24 dev eth2
        192.168.112.0/24 via 192.168.100.254
        192.168.113.0/24 via 192.168.100.252 or 192.168.100.253
\tblackhole 192.168.113.1/32
        0.0.0.0/0 gw 192.168.0.1 table 100  # To set a default gateway into table 100.
    }
}
"""


def test_routes_sample(read_config: ReadConfig) -> None:
    """doc/samples/keepalived.conf.vrrp.routes: keepalived-evidence/samples_configtest_2.2.7.txt."""
    result = read_config(ROUTES_SAMPLE)
    assert by_line(result) == {
        29: ["Warning - cannot track route 192.168.112.0/24 with no interface specified, not tracking"],
        30: [
            '"or" for routes is deprecated. Please use "nexthop"',
            "Warning - cannot track route 192.168.113.0/24 with no interface specified, not tracking",
        ],
        31: ["Warning - cannot track route 192.168.113.1/32 with no interface specified, not tracking"],
        32: [
            '"gw" for routes is deprecated. Please use "via"',
            "Warning - cannot track route 0.0.0.0/0 with no interface specified, not tracking",
        ],
    }
    assert result.exit_status == 5
    static_routes = result.config.vrrp.static_routes
    assert static_routes[0] == Route(
        dst=IPv4Interface("192.168.209.0/24"),
        pref_src=IPv4Address("192.168.100.1"),
        via=IPv4Address("192.168.200.254"),
        oif="eth0",
        protocol=18,
    )
    assert [r.scope for r in static_routes[3:]] == [200, 253]
    vroutes = result.config.vrrp.instances[0].vroutes
    assert [str(r.dst) for r in vroutes] == [
        "192.168.109.0/24",
        "192.168.110.0/24",
        "192.168.111.0/24",
        "192.168.112.0/24",
        "192.168.113.0/24",
        "192.168.113.1/32",
        "0.0.0.0/0",
    ]
    assert vroutes[4].via is None
    assert vroutes[4].nexthops == [
        Nexthop(via=IPv4Address("192.168.100.252")),
        Nexthop(via=IPv4Address("192.168.100.253")),
    ]
    assert vroutes[5].type == RouteType.BLACKHOLE and vroutes[5].dont_track
    assert vroutes[6].table == 100 and vroutes[6].via == IPv4Address("192.168.0.1")


def test_route_family_and_destination_forms(read_config: ReadConfig) -> None:
    result = read_config(
        static(
            "static_routes",
            "inet6 default dev eth0",  # keepalived: `inet6` also swallows the next word
            "default dev eth0",
            "default6 dev eth0",
            "src 10.0.0.1 default dev eth0",
            "10.0.0.0/8 src 10.0.0.1 dev eth0 inet6",
            "inet inet6 10.0.0.0/8 dev eth0",
            "10.0.0.0/8 src fe80::1 dev eth0",
            "10.0.0.0/8 src 1.2.3.4/24 dev eth0",
            "10.0.0.0/8 as to 1.2.3.4 dev eth0",
            "10.0.0.0/8 via inet6 fe80::1 dev eth0",
            "10.0.0.0/8 via 1.2.3.4/24 dev eth0",
            "from fe80::/64 2001::/64 dev eth0",
            "from 1.2.3.4 10.0.0.0/8 dev eth0",
            "from default 2001::/64 dev eth0",
            "from x 2001::/64 dev eth0",
            "to blackhole 10.1.0.0/16",
            "blackhole to 10.1.0.0/16",
            "5 10.1.0.0/16 dev eth0",
            '"" 10.2.0.0/16 dev eth0',
            "throw to 10.3.0.0/16 dev eth0",
            "10.0.0.0/8 dev eth0 foo",
            "dev eth0",
        )
    )
    assert by_line(result) == {
        2: ["Route must have a destination"],
        5: ["Cannot mix IPv4 and IPv6 addresses for route (default)"],
        6: ["inet6 specified for IPv4 route"],
        8: ["Cannot mix IPv4 and IPv6 addresses for route"],
        9: ["VRRP parsed invalid IP 1.2.3.4/24. skipping IP...", "invalid route src address 1.2.3.4/24"],
        10: ['"as to" for MPLS only - ignoring'],
        11: ["Cannot mix IPv4 and IPv6 addresses for route"],
        12: ["VRRP parsed invalid IP 1.2.3.4/24. skipping IP...", "invalid route via address 1.2.3.4/24"],
        14: ["route from address only supported with IPv6 (1.2.3.4)"],
        15: ["route from address only supported with IPv6 (default)"],
        16: ["VRRP parsed invalid IP x. skipping IP...", "invalid route from address x"],
        17: ["VRRP parsed invalid IP blackhole. skipping IP...", "unknown route keyword blackhole"],
        18: ["VRRP parsed invalid IP to. skipping IP...", "unknown route keyword to"],
        21: ["VRRP parsed invalid IP to. skipping IP...", "unknown route keyword to"],
        22: ["VRRP parsed invalid IP foo. skipping IP...", "unknown route keyword foo"],
        23: ["Route must have a destination"],
    }
    assert logged(result) == ["'default6' is deprecated - please replace with 'inet6 default'"]
    routes = result.config.vrrp.static_routes
    assert [str(r.dst) for r in routes] == [
        "0.0.0.0/0",
        "::/0",
        "10.0.0.0/8",
        "10.0.0.0/8",
        "2001::/64",
        "10.1.0.0/16",
        "10.2.0.0/16",
    ]
    assert [r.family for r in routes] == [4, 6, 4, 4, 6, 4, 4]
    assert routes[4].src == IPv6Interface("fe80::/64")
    assert routes[5].type == RouteType.MULTICAST  # "5" is a route type
    assert routes[6].type == RouteType.UNSPEC  # so is ""


def test_route_options(read_config: ReadConfig) -> None:
    result = read_config(
        static(
            "static_routes",
            "10.4.0.0/16 dev eth0 table 0x10 scope 200 protocol keepalived tos AF11 metric 5 mtu lock 1400",
            "10.4.0.0/16 dev eth0 table web scope site tos CS1 onlink hoplimit 64 advmss lock 1200 window 9",
            "10.4.0.0/16 oif eth0 rtt 3ms rttvar 300 rto_min 1.5ms reordering lock 3 cwnd lock 5 ssthresh 6",
            "10.4.0.0/16 dev eth0 rtt 1s rttvar lock 2secs initcwnd 10 initrwnd 11 features ecn quickack 1",
            "10.4.0.0/16 dev eth0 congctl lock cubic realms cosmos/5 fastopen_no_cookie 1 append",
            "2001::/64 dev eth0 pref high expires 50 ttl-propagate enabled add",
            "2001::/64 dev eth0 pref 7 ttl-propagate x prepend no_track",
            "10.4.0.0/16 dev eth0 table 4294967296 rtt 500s",
        ),
        host=debian_host(),
    )
    assert by_line(result) == {
        4: ["number '1.5' has too many decimal places"],
        8: ["ttl-propagate value x not recognised"],
    }
    assert logged(result) == [
        "rtt value 3ms below minimum 200ms, resetting",
        "rtt value 300 below minimum 200ms, resetting",
        "rtt value 1.5ms below minimum 200ms, resetting",
        "rtt value 500s exceeds maximum 120s, resetting",
    ]
    r = result.config.vrrp.static_routes
    assert (r[0].table, r[0].scope, r[0].protocol, r[0].tos, r[0].metric, r[0].mtu) == (
        16,
        200,
        18,
        40,
        5,
        1400,
    )
    assert r[0].locked == {"mtu"}
    assert (r[1].table, r[1].scope, r[1].tos, r[1].onlink, r[1].hoplimit, r[1].advmss, r[1].window) == (
        7,
        200,
        32,
        True,
        64,
        1200,
        9,
    )
    # kernel units: rtt 1/8 ms, rttvar 1/4 ms, rto_min ms, all kept within 200ms..120s
    assert (r[2].oif, r[2].rtt, r[2].rttvar, r[2].rto_min) == ("eth0", 1600, 800, 200)
    assert (r[2].reordering, r[2].cwnd, r[2].ssthresh, r[2].locked) == (3, 5, 6, {"reordering", "cwnd"})
    assert (r[3].rtt, r[3].rttvar, r[3].initcwnd, r[3].initrwnd, r[3].features_ecn, r[3].quickack) == (
        8000,
        8000,
        10,
        11,
        True,
        1,
    )
    assert (r[4].congctl, r[4].realms, r[4].fastopen_no_cookie, r[4].install) == (
        "cubic",
        5,
        True,
        RouteInstall.APPEND,
    )
    assert r[4].locked == {"congctl"}
    assert (r[5].family, r[5].pref, r[5].expires, r[5].ttl_propagate, r[5].install) == (
        6,
        1,
        50,
        True,
        RouteInstall.ADD,
    )
    assert (r[6].pref, r[6].ttl_propagate, r[6].protocol, r[6].dont_track) == (7, False, None, True)
    assert (r[7].table, r[7].rtt) == (0, 960000)


def test_route_option_errors(read_config: ReadConfig) -> None:
    result = read_config(
        static(
            "static_routes",
            "10.0.0.0/8 tos 0x10 dev eth0 dsfield foo",
            "10.0.0.0/8 table foo dev eth0",
            "10.0.0.0/8 protocol foo dev eth0",
            "10.0.0.0/8 protocol 256 dev eth0",
            "10.0.0.0/8 scope xx dev eth0",
            "10.0.0.0/8 priority -5 dev eth0",
            "10.0.0.0/8 preference 4294967296 dev eth0",
            "10.0.0.0/8 oif eth9",
            "10.0.0.0/8 dev eth0 onlink expires 5",
            "2001::/64 dev eth0 expires x",
            "10.0.0.0/8 dev eth0 mtu lock 1400 hoplimit 256",
            "10.0.0.0/8 dev eth0 mtu lock x",
            "10.0.0.0/8 dev eth0 rtt 1e3",
            "10.0.0.0/8 dev eth0 rtt 3xs",
            "10.0.0.0/8 dev eth0 rtt Ms",
            "10.0.0.0/8 dev eth0 rtt -5",
            "10.0.0.0/8 dev eth0 rto_min x",
            "10.0.0.0/8 dev eth0 realms foo",
            "2001::/64 dev eth0 realms 5",
            "10.0.0.0/8 dev eth0 pref low",
            "2001::/64 dev eth0 features foo quickack 2",
            "2001::/64 dev eth0 pref 256",
            "2001::/64 dev eth0 fastopen_no_cookie 2",
            "10.0.0.0/8 via 1.1.1.1 or 1.1.1.2 or 1.1.1.3 dev eth0",
            "10.0.0.0/8 via 1.1.1.1 or x dev eth0",
            "10.0.0.0/8 dev eth0 vrf eth1",
            "10.0.0.0/8 dev eth0 vrf eth9",
            "10.0.0.0/8 dev eth0 protocol bird no_track",
        ),
        host=debian_host(),
    )
    assert by_line(result) == {
        2: ["TOS value foo is invalid"],
        3: ["Routing table foo not found for route"],
        4: ["Protocol foo not found or invalid for route"],
        5: ["Protocol 256 not found or invalid for route"],
        6: ["Scope xx not found or invalid for route"],
        7: ["negative number '-5'", "Invalid metric -5 specified for route"],
        8: [
            "number '4294967296' outside unsigned integer range",
            "Invalid metric 4294967296 specified for route",
        ],
        9: ["WARNING - interface eth9 for VROUTE nexthop doesn't exist"],
        10: ["expires is only valid for IPv6"],
        11: ["invalid number 'x'", "Invalid expires time x specified for route"],
        12: ["number '256' outside range [0, 255]", "Invalid hoplimit 256 specified for route"],
        13: ["invalid number 'x'", "Invalid MTU x specified for route"],
        14: ["Invalid rtt 1e3 for route"],
        15: ["invalid number '3x'", "Invalid rtt 3xs for route"],
        16: ["Invalid rtt Ms for route"],
        17: ["negative number '-5'", "Invalid rtt -5 for route"],
        18: ["invalid number 'x'", "Invalid rto_min value x specified for route"],
        19: ["Invalid realms foo for route"],
        20: ["realms are only valid for IPv4"],
        21: ["pref is only valid for IPv6"],
        22: [
            "feature foo not supported",
            "number '2' outside range [0, 1]",
            "Invalid quickack value 2 specified for route",
        ],
        23: ["number '256' outside range [0, 255]", "Invalid pref value 256 specified for route"],
        24: ["number '2' outside range [0, 1]", "Invalid fastopen_no_cookie value 2 specified for route"],
        25: [  # printed twice by keepalived, once by hapair's report
            '"or" for routes is deprecated. Please use "nexthop"',
            '"or" route already specified - ignoring subsequent',
        ],
        26: [
            '"or" for routes is deprecated. Please use "nexthop"',
            "VRRP parsed invalid IP x. skipping IP...",
            'Invalid "or" address x',
        ],
        27: ["Route specified VRF eth1 is not a VRF"],
        28: ["VRF eth9 not found for route"],
    }
    assert logged(result) == ["rtt value exponential form 1e3 no longer supported"]
    routes = result.config.vrrp.static_routes
    assert [len(r.nexthops) for r in routes] == [2, 0]  # lines 25 and 29
    assert routes[1].protocol == 12  # bird, kept since the route is not tracked


def test_route_in_a_vrf(read_config: ReadConfig) -> None:
    result = read_config(
        static("static_routes", "10.0.0.0/8 dev eth0 vrf eth1"), host=lab_host(vrf_tables={"eth1": 42})
    )
    assert by_line(result) == {}
    assert result.config.vrrp.static_routes[0].table == 42


def test_rtt_range_message_without_decimals(read_config: ReadConfig) -> None:
    result = read_config(static("static_routes", "10.0.0.0/8 dev eth0 rttvar lock 10000000"))
    assert by_line(result)[2] == [
        "number '10000000' outside range [0., 480000.]",
        "Invalid rttvar 10000000 for route",
    ]


def test_nexthops(read_config: ReadConfig) -> None:
    result = read_config(
        static(
            "static_routes",
            "10.0.0.0/8 dev eth0 nexthop via 1.1.1.1 dev eth1 weight 256 onlink "
            "nexthop via 1.1.1.2 weight 1 realms 3/4",
            "10.0.0.0/8 dev eth0 nexthop via inet6 fe80::1",
            "2001::/64 dev eth0 nexthop via inet 1.1.1.1",
            "10.0.0.0/8 dev eth0 nexthop via inet 1.1.1.1 nexthop via inet6 fe80::1",
            "10.0.0.0/8 dev eth0 nexthop via x",
            "10.0.0.0/8 dev eth0 nexthop via fe80::1",
            "10.0.0.0/8 dev eth0 nexthop dev eth9",
            "10.0.0.0/8 dev eth0 nexthop weight 0",
            "10.0.0.0/8 dev eth0 nexthop weight 257",
            "10.0.0.0/8 dev eth0 nexthop encap mpls 5 dev eth1",
            "10.0.0.0/8 dev eth0 nexthop realms foo",
            "2001::/64 dev eth0 nexthop realms 5",
            "10.0.0.0/8 dev eth0 nexthop as to 1.2.3.4",
            "10.0.0.0/8 dev eth0 nexthop via 1.1.1.1 foo",
            "10.0.0.0/8 via 1.1.1.1 or 1.1.1.2 dev eth0 nexthop via 1.1.1.3",
            "10.0.0.0/8 dev eth0 nexthop",
        ),
        host=debian_host(),
    )
    assert by_line(result) == {
        3: ["IPv4/6 mismatch for nexthop"],
        4: ["IPv4/6 mismatch for nexthop"],
        5: ["IPv4/6 mismatch for nexthop"],
        6: ["VRRP parsed invalid IP x. skipping IP...", "invalid nexthop address x"],
        7: ["Address family mismatch for next hop"],
        8: ["WARNING - interface eth9 for VROUTE nexthop doesn't exist"],
        9: ["Invalid weight 0 specified for route"],
        10: ["number '257' outside range [0, 256]", "Invalid weight 257 specified for route"],
        12: ["Invalid realms foo for route"],
        13: ["realms are only supported for IPv4"],
        14: ["'as [to]' (nat) not supported"],
        15: ["Route has trailing nonsense after nexthops - foo"],
        16: [
            '"or" for routes is deprecated. Please use "nexthop"',
            'Cannot specify nexthops with "or" route',
            "Route has trailing nonsense - nexthop",
        ],
    }
    # a nexthop that fails is dropped, its route kept
    routes = result.config.vrrp.static_routes
    assert len(routes) == 15
    assert routes[0].nexthops == [
        Nexthop(via=IPv4Address("1.1.1.1"), dev="eth1", weight=256, onlink=True),
        Nexthop(via=IPv4Address("1.1.1.2"), weight=1, realms=3 << 16 | 4),
    ]
    assert routes[3].nexthops == [Nexthop(via=IPv4Address("1.1.1.1"))]
    assert routes[9].nexthops == [Nexthop(dev="eth1", encap=Encap(EncapType.MPLS, labels=[5]))]
    assert routes[13].nexthops == [Nexthop(via=IPv4Address("1.1.1.1"))]
    assert routes[14].nexthops == [Nexthop()]


def test_encapsulations(read_config: ReadConfig) -> None:
    result = read_config(
        static(
            "static_routes",
            "10.0.0.0/8 dev eth0 encap mpls 100/200",
            "10.0.0.0/8 dev eth0 encap mpls x",
            "10.0.0.0/8 dev eth0 encap mpls",
            "10.0.0.0/8 dev eth0 encap",
            "10.0.0.0/8 dev eth0 encap foo",
            "10.0.0.0/8 dev eth0 encap ip id 5 dst 1.2.3.4 src 1.2.3.5 tos 0x10 ttl 5 flags 3 metric 7",
            "10.0.0.0/8 dev eth0 encap ip id x",
            "10.0.0.0/8 dev eth0 encap ip dst fe80::1",
            "10.0.0.0/8 dev eth0 encap ip src 1.1.1.1",
            "10.0.0.0/8 dev eth0 encap ip ttl 300 dst 1.1.1.1",
            "10.0.0.0/8 dev eth0 encap ip dst 1.1.1.1 tos foo",
            "10.0.0.0/8 dev eth0 encap ip dst 1.1.1.1 flags 70000",
            "2001::/64 dev eth0 encap ip6 id 5 dst 2001::1 src 2001::2 tc 0x10 hoplimit 5 flags 3",
            "2001::/64 dev eth0 encap ip6 dst 1.1.1.1",
            "2001::/64 dev eth0 encap ip6 tc foo dst 2001::1",
            "2001::/64 dev eth0 encap ip6 src 2001::1",
            "2001::/64 dev eth0 encap ip6 id 5 hoplimit 256",
            "2001::/64 dev eth0 encap ila 1:2:3:4",
            "2001::/64 dev eth0 encap ila 1:2:3",
            "2001::/64 dev eth0 encap ila",
            "10.0.0.0/8 dev eth0 encap ip dst",
            "10.0.0.0/8 dev eth0 encap ip dst 1.1.1.1 id",
        ),
        host=debian_host(),
    )
    invalid_ip = "VRRP parsed invalid IP {0}. skipping IP..."
    assert by_line(result) == {
        3: ["invalid mpls address x for encapsulation"],
        4: ["missing address for MPLS encapsulation"],
        5: ["Missing encap type"],
        6: ["Unknown encap type - foo"],
        8: [
            "invalid number 'x'",
            "encap id x value is invalid",
            invalid_ip.format("id"),
            "unknown route keyword id",
        ],
        9: [
            "IPv6 address fe80::1 not valid for ip encapsulation",
            invalid_ip.format("dst"),
            "unknown route keyword dst",
        ],
        10: ["address or id missing for ip encapsulation"],
        11: [
            "number '300' outside range [0, 255]",
            "ttl 300 is not valid for ip encapsulation",
            invalid_ip.format("ttl"),
            "unknown route keyword ttl",
        ],
        12: ["dsfield foo not valid for ip encapsulation", "TOS value foo is invalid"],
        13: [
            "number '70000' outside range [0, 65535]",
            "flags 70000 is not valid for ip encapsulation",
            invalid_ip.format("flags"),
            "unknown route keyword flags",
        ],
        15: [
            "IPv4 address 1.1.1.1 not valid for ip6 encapsulation",
            invalid_ip.format("dst"),
            "unknown route keyword dst",
        ],
        16: [
            "tc value tc is invalid for ip6 encapsulation",
            invalid_ip.format("tc"),
            "unknown route keyword tc",
        ],
        17: ["address or id missing for ip6 encapsulation"],
        18: [  # the number message twice for keepalived, once in hapair's report
            "number '256' outside range [0, 255]",
            "Invalid hoplimit 256 specified for ip6 encapsulation",
            "Invalid hoplimit 256 specified for route",
        ],
        20: ["invalid locator 1:2:3 for ila encapsulation"],
        21: ["missing locator for ILA encapsulation"],
        22: [
            "address or id missing for ip encapsulation",
            invalid_ip.format("dst"),
            "unknown route keyword dst",
        ],
        23: [invalid_ip.format("id"), "unknown route keyword id"],
    }
    encaps = [r.encap for r in result.config.vrrp.static_routes]
    assert encaps == [
        Encap(EncapType.MPLS, labels=[100, 200]),
        Encap(EncapType.MPLS),
        Encap(EncapType.MPLS),
        None,
        None,
        Encap(
            EncapType.IP, id=5, dst=IPv4Address("1.2.3.4"), src=IPv4Address("1.2.3.5"), tos=16, ttl=5, flags=3
        ),
        Encap(EncapType.IP),  # a broken encapsulation is kept without its addresses
        Encap(
            EncapType.IP6,
            id=5,
            dst=IPv6Address("2001::1"),
            src=IPv6Address("2001::2"),
            tos=16,
            ttl=5,
            flags=3,
        ),
        Encap(EncapType.IP6),
        Encap(EncapType.ILA, locator=0x0001000200030004),
        Encap(EncapType.ILA),
        Encap(EncapType.ILA),
    ]
    assert result.config.vrrp.static_routes[5].metric == 7


def test_route_missing_parameter_stops_the_read(read_config: ReadConfig) -> None:
    result = read_config(static("static_routes", "10.0.0.0/8 dev eth0 nexthop via"))
    assert result.exit_status == 2
    assert by_line(result) == {
        2: [
            "*** Configuration line starting `10.0.0.0/8` is missing a parameter after keyword `via` "
            "at word position 6"
        ]
    }


def test_route_names_fall_back_to_keepalived_builtins(read_config: ReadConfig) -> None:
    result = read_config(
        static(
            "static_routes",
            "10.0.0.0/8 dev eth0 table main scope host protocol none no_track",
            "10.0.0.0/8 dev eth0 table unspec",
        ),
        host=lab_host(),
    )
    assert by_line(result) == {3: ["Routing table unspec not found for route"]}
    route = result.config.vrrp.static_routes[0]
    assert (route.table, route.scope, route.protocol) == (254, 254, 0)


# -- rules ---------------------------------------------------------------------------------------------

RULES_SAMPLE = """\
! Configuration File for keepalived
! This example demonstrates static_rules and virtual_rules, components of IP
! Tables configuration.

global_defs {
   router_id LVS_DEVEL
}

static_rules {
    from 192.168.100.0/24 table 1
    to 192.168.100./24 table 1
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.168.200.16
        192.168.200.17 dev eth1
        192.168.200.18 dev eth2
    }
    virtual_rules {
        from 192.168.200.0/24 table 2
        to 192.168.200./24 table 2
    }
}
"""


def test_rules_sample(read_config: ReadConfig) -> None:
    """doc/samples/keepalived.conf.vrrp.rules: keepalived-evidence/samples_configtest_2.2.7.txt."""
    result = read_config(RULES_SAMPLE)
    assert by_line(result) == {
        10: ["Rule has no preference specified - setting to 16384. This is probably not what you want."],
        11: [
            "VRRP parsed invalid IP 192.168.100./24. skipping IP...",
            "Invalid rule to address 192.168.100./24",
        ],
        25: ["Rule has no preference specified - setting to 16383. This is probably not what you want."],
        26: [
            "VRRP parsed invalid IP 192.168.200./24. skipping IP...",
            "Invalid rule to address 192.168.200./24",
        ],
    }
    assert result.config.vrrp.static_rules == [
        Rule(
            family=4,
            action=RuleAction.TO_TBL,
            priority=16384,
            from_addr=IPv4Interface("192.168.100.0/24"),
            table=1,
            protocol=18,
        )
    ]
    assert result.config.vrrp.instances[0].vrules[0].priority == 16383


def test_rule_preference_counters_are_per_family_and_per_read(read_config: ReadConfig) -> None:
    text = static("static_rules", "from default table 5", "inet6 x table 5", "to 1.2.3.4 lookup main")
    first = read_config(text)
    assert [r.priority for r in first.config.vrrp.static_rules] == [16384, 16384, 16383]
    assert [r.family for r in first.config.vrrp.static_rules] == [4, 6, 4]
    assert first.config.vrrp.static_rules[0].from_addr == IPv4Interface("0.0.0.0/0")
    second = read_config(text)
    assert [r.priority for r in second.config.vrrp.static_rules] == [16384, 16384, 16383]


def test_rule_options(read_config: ReadConfig) -> None:
    result = read_config(
        static(
            "static_rules",
            "from 1.2.3.4 table 5 preference 7 ipproto tcp uidrange 5-4294967297 sport 70000-1 dport -1-5",
            "to 1.2.3.4 table 5 sup_group default realms 0x10/cosmos sup_pl 5 priority 0x10",
            "not fwmark 0x10/0xff iif eth1 oif eth2 tos AF11 lookup web order 3 tunnel-id 9 protocol 18",
            'fwmark "" type blackhole preference 1 ipproto ipv6-icmp ipproto 17 dport " 5- 6" no_track',
            "goto 8 preference 7",
            "nop preference 1 protocol 7 no_track",
            "unreachable preference 1",
            "prohibit preference 1 dsfield 0x20",
            "l3mdev preference 1",
        ),
        host=debian_host(),
    )
    assert by_line(result) == {}
    rules = result.config.vrrp.static_rules
    assert rules[0] == Rule(
        family=4,
        action=RuleAction.TO_TBL,
        priority=7,
        from_addr=IPv4Interface("1.2.3.4/32"),
        table=5,
        ip_proto=6,
        uid_range=(5, 1),
        sport=(4464, 1),
        dport=(65535, 5),
        protocol=18,
    )
    assert (rules[1].suppress_group, rules[1].realms, rules[1].suppress_prefix_len, rules[1].priority) == (
        0,
        16 << 16,
        5,
        16,
    )
    assert (rules[2].invert, rules[2].fwmark, rules[2].fwmask, rules[2].iif, rules[2].oif) == (
        True,
        16,
        255,
        "eth1",
        "eth2",
    )
    assert (rules[2].tos, rules[2].table, rules[2].priority, rules[2].tunnel_id) == (40, 7, 3, 9)
    assert (rules[3].fwmark, rules[3].fwmask, rules[3].action, rules[3].ip_proto, rules[3].dport) == (
        0,
        None,
        RuleAction.BLACKHOLE,
        17,
        (5, 6),
    )
    assert rules[3].protocol is None
    assert (rules[4].action, rules[4].goto_target) == (RuleAction.GOTO, 8)
    assert (rules[5].action, rules[5].protocol) == (RuleAction.NOP, 7)
    assert [r.action for r in rules[6:]] == [RuleAction.UNREACHABLE, RuleAction.PROHIBIT, RuleAction.TO_TBL]
    assert rules[7].tos == 32
    assert rules[8].l3mdev


def test_rule_errors(read_config: ReadConfig) -> None:
    result = read_config(
        static(
            "static_rules",
            "inet6 from 1.2.3.4 table 5 preference 100",
            "from 1.2.3.4 to fe80::1 table 5 preference 100",
            "inet6 table 5",
            "table 5 inet6 table 6",
            "from ::/0 inet x table 5",
            "table 0 preference 5",
            "table foo preference 5",
            "table 5 nop preference 5",
            "table 5 preference -1",
            "table 5 preference x",
            "table 5 dsfield foo priority 5",
            "table 5 fwmark -1 priority 5",
            "table 5 fwmark 1/-1 priority 5",
            "table 5 fwmark 1/x priority 5",
            "table 5 fwmark 4294967296 priority 5",
            'table 5 fwmark "5/ 3" priority 5',
            "table 5 realms x priority 5",
            "inet6 x table 5 realms 3 priority 5",
            "nop realms 3 priority 5",
            "table 5 suppress_prefixlength x priority 5",
            "table 5 suppress_ifgroup x priority 5",
            "table 5 dev eth9 priority 5",
            "table 5 oif eth9 priority 5",
            "table 5 tunnel-id x priority 5",
            "table 5 uidrange 5 priority 5",
            "table 5 l3mdev priority 5",
            "l3mdev table 5 priority 5",
            "table 5 protocol 5 priority 5",
            "table 5 protocol x priority 5",
            "table 5 ipproto foo ipproto 200 ipproto 6x priority 5",
            "table 5 sport 5 sport x dport 7 priority 5",
            "goto 5 priority 5",
            "goto 5",
            "goto x priority 5",
            "local priority 5",
            "foo priority 5",
            "priority 5",
            "blackhole nop priority 5",
            "blackhole table 5 priority 5",
            "inet x from default table 5 priority 5",
        ),
        host=debian_host(),
    )
    too_many = "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable"
    assert by_line(result) == {
        2: ["Unknown rule option 1.2.3.4"],
        3: ["rule specification has mixed IPv4 and IPv6"],
        4: ["Invalid rule action 5"],
        5: [f"{too_many}/l3mdev for rule"],
        6: ["inet specified for IPv6 rule"],
        7: ["Table 0 is not valid"],
        8: ["Routing table foo not found for rule"],
        9: [f"{too_many}/l3mdev for rule"],
        10: ["negative number '-1'", "Invalid rule preference preference specified"],
        11: ["invalid number 'x'", "Invalid rule preference preference specified"],
        12: ["TOS value foo is invalid"],
        13: ["Invalid rule fwmark -1 specified"],
        14: ["Invalid rule fwmark 1/-1 specified"],
        15: ["Invalid rule fwmark 1/x specified"],
        16: ["Invalid rule fwmark 4294967296 specified"],
        17: ["Invalid rule fwmark 5/ 3 specified"],
        18: ["invalid realms x for rule"],
        19: ["realms is only valid for IPv4"],
        20: ["suppressor/realm specified for non table action - skipping"],
        21: ["invalid number 'x'", "Invalid suppress_prefixlength suppress_prefixlength specified"],
        22: ["suppress_group x is invalid"],
        23: ["WARNING - interface eth9 for rule doesn't exist"],
        24: ["WARNING - interface eth9 for rule doesn't exist"],
        25: ["invalid number 'x'", "Invalid tunnel-id tunnel-id specified"],
        26: ["Invalid uidrange uidrange specified"],
        27: ["Cannot specify l3mdev with other action"],
        28: [f"{too_many} for rule"],
        29: ["Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol"],
        30: ["invalid number 'x'", "Invalid protocol x"],
        31: ["Invalid ipproto foo", "Invalid ipproto 200", "Invalid ipproto 6x"],
        32: ["invalid sport range 5", "invalid sport range x", "invalid dport range 7"],
        33: ["Invalid rule - preference 5 >= goto target 5"],
        34: ["Invalid rule - goto target 5 specified without preference"],
        35: ["invalid number 'x'", "Invalid target goto specified"],
        36: ["Invalid rule action local"],
        37: ["Unknown rule option foo"],
        38: ["No action specified for rule - ignoring"],
        39: [f"{too_many}/l3mdev for rule"],
        40: [f"{too_many} for rule"],
        41: ["rule specification has mixed IPv4 and IPv6"],
    }
    rules = result.config.vrrp.static_rules
    assert [r.priority for r in rules] == [5, 5, 5, 5]  # lines 29 to 32
    assert [r.protocol for r in rules] == [18, 18, 18, 18]


# -- never a crash ---------------------------------------------------------------------------------------


class _QuietReader:
    """Just what Parser needs from a Reader to run one handler: no lines, messages collected."""

    def __init__(self) -> None:
        self.messages: list[tuple[Severity, str]] = []

    def report(self, severity: Severity, message: str, log: bool = False) -> None:
        self.messages.append((severity, message))

    def read_line(self) -> str | None:
        return None


def _parser(host: StaticHost) -> tuple[Parser, _QuietReader]:
    reader = _QuietReader()
    config = KeepalivedConfig()
    config.vrrp.track_groups.append(StaticTrackGroup("G1"))
    session = Session(config, host, True, "node1")
    return Parser(reader, [], set(), session), reader  # type: ignore[arg-type]


VOCABULARY = [
    "src",
    "to",
    "via",
    "gw",
    "or",
    "from",
    "tos",
    "dsfield",
    "table",
    "protocol",
    "scope",
    "metric",
    "priority",
    "preference",
    "dev",
    "oif",
    "onlink",
    "encap",
    "ip",
    "ip6",
    "mpls",
    "ila",
    "id",
    "dst",
    "ttl",
    "tc",
    "hoplimit",
    "flags",
    "expires",
    "mtu",
    "lock",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "realms",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "features",
    "ecn",
    "quickack",
    "congctl",
    "pref",
    "low",
    "high",
    "ttl-propagate",
    "enabled",
    "fastopen_no_cookie",
    "add",
    "prepend",
    "append",
    "nexthop",
    "weight",
    "as",
    "no_track",
    "track_group",
    "G1",
    "vrf",
    "inet",
    "inet6",
    "default",
    "default6",
    "blackhole",
    "throw",
    "brd",
    "broadcast",
    "+",
    "-",
    "label",
    "peer",
    "home",
    "-nodad",
    "mngtmpaddr",
    "noprefixroute",
    "autojoin",
    "preferred_lft",
    "forever",
    "use_vmac",
    "lookup",
    "not",
    "order",
    "fwmark",
    "sup_pl",
    "sup_group",
    "iif",
    "tunnel-id",
    "uidrange",
    "l3mdev",
    "ipproto",
    "sport",
    "dport",
    "type",
    "goto",
    "nop",
    "main",
    "web",
    "eth0",
    "eth9",
    "10.0.0.1",
    "10.0.0.0/8",
    "1.2.3.4/33",
    "fe80::1",
    "2001::/64",
    "::/0",
    "0",
    "1",
    "5",
    "255",
    "256",
    "-1",
    "0x10",
    "1e3",
    "3ms",
    "5s",
    "1/2",
    "1-2",
    "x",
    "",
    " ",
]
WORD = st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=12))


@settings(max_examples=300, deadline=None)
@given(words=st.lists(WORD, min_size=1, max_size=14), static_item=st.booleans())
def test_alloc_functions_never_raise(words: list[str], static_item: bool) -> None:
    host = debian_host(rt_tables=RT_TABLES + "12 " + "x" * 200 + '\n"7 a\n')
    for alloc in (alloc_ipaddress, alloc_route, alloc_rule):
        parser, reader = _parser(host)
        try:
            if alloc is alloc_ipaddress:
                item: object = alloc(parser, Words(words), static_addr=static_item)
            else:
                item = alloc(parser, Words(words), allow_track_group=static_item)  # type: ignore[operator]
        except MissingParameterError as err:
            assert str(err).startswith("*** Configuration line starting `")
            continue
        assert item is None or isinstance(item, (IpAddress, Route, Rule))
        assert all(isinstance(message, str) and message for _, message in reader.messages)
