"""What keepalived 2.2.7's VRRP process checks and derives once the configuration is read
(vrrp_daemon.c `start_vrrp`, vrrp.c `vrrp_complete_init`): defaults, strict mode, advert intervals, duplicate
VRIDs, sync groups, tracking links, script security; messages checked against `keepalived -t`."""

from __future__ import annotations

import ipaddress
import stat

import pytest

from hapair.config.keepalived.diagnostics import Severity
from hapair.config.keepalived.host import FileStatus, Interface, StaticHost
from hapair.config.keepalived.model.vrrp import AuthType, TrackType, VrrpState

from .conftest import ReadConfig, errors, lab_host

SCRIPT = FileStatus(stat.S_IFREG | 0o755, 0, 0)


def script_host() -> StaticHost:
    return lab_host(files={"/bin/true": SCRIPT, "/bin/false": SCRIPT})


def instance(body: str, name: str = "VI_1", vrid: int = 51, interface: str = "eth0") -> str:
    return f"vrrp_instance {name} {{\n interface {interface}\n virtual_router_id {vrid}\n{body}\n}}\n"


def vips(*addresses: str) -> str:
    return " virtual_ipaddress {\n" + "".join(f"  {a}\n" for a in addresses) + " }\n"


VIP = vips("10.77.0.100")


# -- defaults ---------------------------------------------------------------------------------------------


def test_an_instance_gets_keepalived_defaults(read_config: ReadConfig) -> None:
    result = read_config(instance(VIP))
    assert errors(result) == []
    assert result.exit_status == 0
    (vi,) = result.config.vrrp.instances
    assert (vi.base_priority, vi.effective_priority, vi.wantstate) == (100, 100, VrrpState.BACKUP)
    assert (vi.family, vi.version, vi.advert_int_us, vi.master_advert_int_us) == (4, 2, 1_000_000, 1_000_000)
    assert (vi.garp_rep, vi.garp_delay_us, vi.garp_refresh_us, vi.garp_refresh_rep) == (5, 5_000_000, 0, 1)
    assert (vi.garp_lower_prio_rep, vi.garp_lower_prio_delay_us) == (5, 5_000_000)
    assert (vi.down_timer_adverts, vi.ttl, vi.accept, vi.strict_mode) == (3, 255, True, False)
    assert (vi.lower_prio_no_advert, vi.higher_prio_send_advert, vi.smtp_alert) == (False, False, False)
    assert vi.notify_priority_changes is False and vi.garp_extra_if_us == 0
    assert vi.mcast_dst == ipaddress.IPv4Address("224.0.0.18") and not vi.unicast
    assert vi.source_address == ipaddress.IPv4Address("10.77.0.1") and not vi.source_from_config
    assert (vi.auth_type, vi.nopreempt, vi.preempt_delay_us) == (AuthType.NONE, False, 0)


def test_state_master_without_priority_makes_the_address_owner(read_config: ReadConfig) -> None:
    vi = read_config(instance(" state MASTER\n" + VIP)).config.vrrp.instances[0]
    assert (vi.base_priority, vi.effective_priority, vi.wantstate) == (255, 255, VrrpState.MASTER)


def test_priority_255_without_state_starts_as_master(read_config: ReadConfig) -> None:
    vi = read_config(instance(" priority 255\n" + VIP)).config.vrrp.instances[0]
    assert vi.wantstate == VrrpState.MASTER and vi.owner


def test_a_non_owner_master_keeps_its_priority_and_state(read_config: ReadConfig) -> None:
    vi = read_config(instance(" state MASTER\n priority 150\n" + VIP)).config.vrrp.instances[0]
    assert (vi.base_priority, vi.wantstate) == (150, VrrpState.MASTER)


def test_an_ipv6_instance_is_vrrp_version_3(read_config: ReadConfig) -> None:
    result = read_config(instance(vips("fe80::100", "2001:db8::100")))
    (vi,) = result.config.vrrp.instances
    assert (vi.family, vi.version, vi.ttl) == (6, 3, -1)
    assert vi.mcast_dst == ipaddress.IPv6Address("ff02::12")
    assert vi.source_address == ipaddress.IPv6Address("fe80::1")
    assert errors(result) == []


def test_the_first_ipv6_vip_should_be_link_local(read_config: ReadConfig) -> None:
    result = read_config(instance(vips("2001:db8::5")))
    assert [d.render() for d in result.report if d.log] == [
        "(keepalived.conf: Line 1) (VI_1) the first IPv6 VIP address should be link local"
    ]
    assert errors(result) == []


def test_global_defaults_apply(read_config: ReadConfig) -> None:
    result = read_config(
        "global_defs {\n vrrp_garp_master_repeat 2\n vrrp_version 3\n vrrp_skip_check_adv_addr\n"
        " vrrp_garp_lower_prio_repeat 7\n smtp_alert\n}\n" + instance(VIP)
    )
    vi = result.config.vrrp.instances[0]
    assert (vi.garp_rep, vi.version, vi.skip_check_adv_addr, vi.garp_lower_prio_rep, vi.smtp_alert) == (
        2,
        3,
        True,
        7,
        True,
    )


# -- the configtest cases -----------------------------------------------------------------------------------


def test_configtest_t4_a_missing_interface_stops_the_vrrp_process(read_config: ReadConfig) -> None:
    result = read_config(instance(VIP, interface="eth9"))
    assert errors(result) == [
        "WARNING - interface eth9 for vrrp_instance VI_1 doesn't exist",
        "Non-existent interface specified in configuration",
    ]
    assert result.report.diagnostics[-1].severity == Severity.BAD_IF
    assert result.exit_status == 5  # the interface warning is a general error, worse than BAD_IF
    assert result.config.vrrp.instances[0].base_priority == 0  # never completed


def test_configtest_t5_duplicate_vrid_own_track_interface_and_v3_rounding(read_config: ReadConfig) -> None:
    result = read_config(
        instance(vips("192.168.200.16"))
        + instance(vips("192.168.200.17"), "VI_2")
        + instance(
            " version 3\n priority 255\n advert_int 0.015\n"
            + vips("192.168.200.18")
            + " track_interface {\n  eth0\n  lo weight 10\n }",
            "VI_3",
            52,
        )
    )
    assert errors(result) == [
        "(VI_3) VRRPv3 advertisement interval 0.015000s must be in units of 10ms - rounding",
        "(VI_3) Ignoring track_interface eth0 since own interface",
        "(VI_3) ignoring lo tracked interface due to address owner",
        "VI_1 and VI_2 both use VRID 51 with IPv4 on interface eth0",
    ]
    assert result.exit_status == 5
    vi3 = result.config.vrrp.instances[2]
    assert vi3.advert_int_us == 20_000 and vi3.track.interfaces == []


def test_configtest_t6_no_vip_is_reported_once_at_the_higher_severity(read_config: ReadConfig) -> None:
    """keepalived checks it twice, as an error and as a warning, and prints it twice."""
    result = read_config(instance(""))
    assert [(d.severity, d.message) for d in result.report] == [
        (Severity.WARNING, "(VI_1) No VIP specified; at least one is sensible"),
    ]
    assert result.exit_status == 5


def test_configtest_t3_strict_mode_rules(read_config: ReadConfig) -> None:
    result = read_config(
        """global_defs {
  vrrp_strict
}
vrrp_script chk {
  script "/bin/true"
  interval 2
  weight 300
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    nopreempt
    advert_int 0.5
    authentication {
        auth_type PASS
        auth_pass 1234
    }
    virtual_ipaddress {
        192.168.200.16/24 dev eth0 label eth0:1
    }
    track_script {
        chk
    }
    unicast_peer {
        10.77.0.2
    }
}
""",
        host=script_host(),
    )
    assert errors(result) == [
        "number '300' outside range [-253, 253]",
        "vrrp_script chk weight 300 must be in [-253, 253]",
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
        "(VI_1) Strict mode does not support authentication. Ignoring.",
        "(VI_1) nopreempt is incompatible with priority 255. resetting nopreempt",
        "(VI_1) VRRPv2 advertisement interval 0.500000s must be an integer. rounding",
        "(VI_1) ignoring tracked script chk with weights due to address_owner",
    ]
    assert result.exit_status == 6
    vi = result.config.vrrp.instances[0]
    assert (vi.auth_type, vi.advert_int_us, vi.nopreempt, vi.track.scripts) == (
        AuthType.NONE,
        1_000_000,
        False,
        [],
    )
    # keepalived 2.2.7 checks "unicast in strict mode" before it knows the instance is unicast
    assert vi.unicast and vi.strict_mode and vi.accept


def test_strict_mode_resets_what_it_forbids(read_config: ReadConfig) -> None:
    result = read_config(
        instance(
            """ strict_mode
 garp_lower_prio_repeat 3
 garp_lower_prio_delay 2
 lower_prio_no_advert off
 higher_prio_send_advert
 down_timer_adverts 5
 preempt_delay 2
 accept
 use_vmac 02:11:22:33:44:55
 vmac_xmit_base
"""
            + VIP
        )
    )
    assert errors(result) == [
        "(VI_1): cannot specify MAC address with strict mode - clearing",
        "(VI_1) preempt_delay is incompatible with strict mode - resetting",
        "(VI_1) down_timer_adverts is incompatible with strict mode - resetting",
        "(VI_1) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting",
        "(VI_1) Strict mode requires no repeat garps. resetting",
        "(VI_1) Strict mode requires no repeat garp delay. resetting",
        "(VI_1) Strict mode requires no lower priority advert. resetting",
        "(VI_1) strict mode requires higher_prio_send_advert to be clear. resetting",
        "(VI_1) xmit_base is incompatible with strict mode - resetting",
    ]
    vi = result.config.vrrp.instances[0]
    assert (vi.garp_lower_prio_rep, vi.garp_lower_prio_delay_us, vi.down_timer_adverts) == (0, 0, 3)
    assert (vi.lower_prio_no_advert, vi.higher_prio_send_advert, vi.accept, vi.vmac_mac) == (
        True,
        False,
        False,
        None,
    )
    assert result.config.global_defs.vrrp_nf_table_name == "keepalived"


def test_strict_ipv6_needs_version_3_and_a_link_local_first_vip(read_config: ReadConfig) -> None:
    result = read_config(instance(" strict_mode\n version 2\n" + vips("2001:db8::1")))
    assert errors(result) == [
        "(VI_1) cannot use IPv6 with VRRP version 2; setting version 3",
        "(VI_1) the first IPv6 VIP address must be link local",
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            " version 3\n authentication {\n  auth_type PASS\n  auth_pass x\n }",
            "(VI_1) VRRP version 3 does not support authentication. Ignoring.",
        ),
        (
            " authentication {\n  auth_type PASS\n }",
            "(VI_1) Authentication specified but no password given. Ignoring",
        ),
        (
            " state MASTER\n priority 100\n authentication {\n  auth_type AH\n  auth_pass x\n }",
            "(VI_1) Initial state master is incompatible with AH authentication - clearing",
        ),
    ],
)
def test_authentication_rules(read_config: ReadConfig, body: str, message: str) -> None:
    result = read_config(instance(body + "\n" + VIP))
    assert errors(result) == [message]


def test_ah_is_not_for_ipv6(read_config: ReadConfig) -> None:
    result = read_config(instance(" authentication {\n  auth_type AH\n  auth_pass x\n }\n" + vips("fe80::9")))
    assert errors(result) == ["(VI_1) VRRP version 3 does not support authentication. Ignoring."]
    result = read_config(
        instance(" version 2\n authentication {\n  auth_type AH\n  auth_pass x\n }\n" + vips("fe80::9"))
    )
    assert errors(result) == ["(VI_1) Cannot use AH authentication with IPv6. ignoring"]


def test_preemption_rules(read_config: ReadConfig) -> None:
    result = read_config(
        instance(" state MASTER\n priority 200\n nopreempt\n preempt_delay 3\n" + VIP)
        + instance(" nopreempt\n preempt_delay 3\n" + VIP, "VI_2", 52)
    )
    assert errors(result) == [
        "(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing",
        "(VI_1) Warning - preempt delay will not work with initial state MASTER - clearing",
        "(VI_2) preempt_delay is incompatible with nopreempt mode - resetting",
    ]
    first, second = result.config.vrrp.instances
    assert (first.nopreempt, first.preempt_delay_us, second.nopreempt, second.preempt_delay_us) == (
        False,
        0,
        True,
        0,
    )


@pytest.mark.parametrize(
    ("advert", "version", "message", "result_us"),
    [
        ("3.5", 2, "(VI_1) VRRPv2 advertisement interval 3.500000s must be an integer. rounding", 4_000_000),
        ("0.3", 2, "(VI_1) VRRPv2 advertisement interval 0.300000s must be an integer. rounding", 1_000_000),
        (
            "0.015",
            3,
            "(VI_1) VRRPv3 advertisement interval 0.015000s must be in units of 10ms - rounding",
            20_000,
        ),
        (
            "45",
            3,
            "(VI_1) VRRPv3 advertisement interval 45.00s is out of range. Must be less than 40.96s. "
            "Setting to 40.95s",
            40_950_000,
        ),
        ("0.25", 3, None, 250_000),
    ],
)
def test_advert_interval_rounding(
    read_config: ReadConfig, advert: str, version: int, message: str | None, result_us: int
) -> None:
    result = read_config(instance(f" version {version}\n advert_int {advert}\n" + VIP))
    assert errors(result) == ([message] if message else [])
    assert result.config.vrrp.instances[0].advert_int_us == result_us


def test_no_accept_and_vmac_need_the_nftables_firewall(read_config: ReadConfig) -> None:
    result = read_config(instance(" no_accept\n" + VIP))
    assert result.config.vrrp.instances[0].accept is False
    assert result.config.global_defs.vrrp_nf_table_name == "keepalived"
    assert [d.message for d in result.report if d.log] == [
        "use_vmac or no_accept/strict specified, but no firewall configured - using nftables"
    ]


def test_unicast_keywords_without_peers(read_config: ReadConfig) -> None:
    result = read_config(
        instance(" check_unicast_src\n" + VIP) + instance(" unicast_fault_no_peer\n" + VIP, "VI_2", 52)
    )
    assert [(d.severity, d.message) for d in result.report if not d.log] == [
        (
            Severity.DEPRECATED,
            "(VI_1) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. "
            "This usage is deprecated - please update your configuration.",
        )
    ]
    first, second = result.config.vrrp.instances
    assert not first.unicast and first.mcast_dst is not None
    assert second.num_config_faults == 1


def test_multicast_destination_is_dropped_for_unicast(read_config: ReadConfig) -> None:
    result = read_config(instance(" mcast_dst_ip 224.0.0.99\n unicast_peer {\n  10.77.0.2\n }\n" + VIP))
    assert errors(result) == ["(VI_1) multicast destination specified with unicast - ignoring"]
    assert result.config.vrrp.instances[0].mcast_dst is None


def test_excess_vips_become_evips(read_config: ReadConfig) -> None:
    addresses = [f"10.50.{i // 256}.{i % 256}" for i in range(1, 261)]
    result = read_config(instance(vips(*addresses)))
    assert errors(result) == [
        "(VI_1) Number of VIPs (260) exceeds maximum/space available in packet (max 255 addresses) - excess "
        "moved to eVIPs"
    ]
    vi = result.config.vrrp.instances[0]
    assert (len(vi.vips), len(vi.evips)) == (255, 5)


# -- minimal configuration -----------------------------------------------------------------------------------


def test_an_instance_without_vrid_stops_the_checks(read_config: ReadConfig) -> None:
    result = read_config("vrrp_instance VI_1 {\n interface eth0\n}\n" + instance("", "VI_2"))
    assert errors(result) == ["(VI_1) the virtual router id must be set"]


def test_keepalived_2_2_7_needs_an_interface_even_for_unicast(read_config: ReadConfig) -> None:
    result = read_config(
        "vrrp_instance VI_1 {\n virtual_router_id 51\n unicast_src_ip 10.77.0.1\n"
        " unicast_peer {\n  10.77.0.2\n }\n" + VIP + "}\n"
    )
    assert errors(result) == ["(VI_1) Unknown interface!"]


def test_unicast_duplicate_vrid_with_a_common_peer(read_config: ReadConfig) -> None:
    peers = " unicast_peer {\n  10.77.0.2\n }\n"
    result = read_config(
        instance(" unicast_src_ip 10.77.0.1\n" + peers + VIP) + instance(peers + vips("10.77.0.3"), "VI_2")
    )
    assert errors(result) == ["(VI_1) duplicate VRID conflict with VI_2 VRID 51"]
    assert all(vi.unicast_duplicate_vrid for vi in result.config.vrrp.instances)


def test_instances_on_dynamic_interfaces_do_not_conflict_yet(read_config: ReadConfig) -> None:
    result = read_config(
        "global_defs {\n dynamic_interfaces\n}\n"
        + instance(VIP, interface="eth7")
        + instance(vips("10.77.0.101"), "VI_2", interface="eth7")
    )
    assert errors(result) == []


# -- sync groups -------------------------------------------------------------------------------------------


def test_sync_group_membership_checks(read_config: ReadConfig) -> None:
    result = read_config(
        """vrrp_sync_group G1 {
 group {
  VI_1
  VI_9
  VI_2
 }
}
vrrp_sync_group G2 {
 notify_master /bin/true
}
vrrp_sync_group G3 {
 group {
  VI_1
  VI_3
 }
}
vrrp_sync_group G4 {
 group {
  VI_nope
 }
}
"""
        + instance(" priority 255\n" + VIP)
        + instance(vips("10.77.0.101"), "VI_2", 52)
        + instance(vips("10.77.0.102"), "VI_3", 53),
        host=script_host(),
    )
    assert errors(result) == [
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
        "Virtual router VI_9 specified in sync group G1 doesn't exist - ignoring",
        "Sync group G2 has no virtual router(s). removing",
        "Virtual router VI_1 cannot exist in more than one sync group; ignoring G3",
        "Sync group G3 has only 1 virtual router(s) - this probably isn't what you want",
        "Virtual router VI_nope specified in sync group G4 doesn't exist - ignoring",
        "Sync group G4, no matching virtual router found in group declaration - removing",
    ]
    data = result.config.vrrp
    assert [(g.name, g.instances) for g in data.sync_groups] == [("G1", ["VI_1", "VI_2"]), ("G3", ["VI_3"])]
    assert [vi.sync_group for vi in data.instances] == ["G1", "G1", "G3"]


def test_sync_group_members_lose_their_weights(read_config: ReadConfig) -> None:
    result = read_config(
        """vrrp_script chk {
 script /bin/true
 weight -10
}
vrrp_sync_group G1 {
 group {
  VI_1
  VI_2
 }
 track_script {
  chk weight 5
 }
 track_interface {
  eth1 weight 10
 }
}
"""
        + instance(
            " priority 255\n" + VIP + " track_script {\n  chk\n }\n track_interface {\n  eth1 weight 5\n }"
        )
        + instance(
            vips("10.77.0.101")
            + " track_script {\n  chk weight 20\n }\n track_interface {\n  eth2 weight 5\n  eth1\n }",
            "VI_2",
            52,
        ),
        host=script_host(),
    )
    assert errors(result) == [
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
        "(VI_1) ignoring eth1 tracked interface weight due to SYNC group",
        "(VI_1) ignoring tracked script chk with weights due to SYNC group",
        "(VI_2) ignoring eth2 tracked interface weight due to SYNC group",
        "(VI_2) ignoring tracked script chk with weights due to SYNC group",
        "(G1) Cannot have weighted track script 'chk' with member having priority 255 - clearing weight",
        "(G1) Cannot have weighted track interface 'eth1' with member having priority 255 - clearing weight",
        "(VI_1) track_interface eth1 is configured on VRRP instance and sync group. Remove vrrp instance or "
        "sync group config",
        "(VI_2) track_interface eth1 is configured on VRRP instance and sync group. Remove vrrp instance or "
        "sync group config",
    ]
    data = result.config.vrrp
    assert [(t.instance, t.weight) for t in data.scripts[0].tracking] == [("VI_1", 0), ("VI_2", 0)]
    assert [(t.instance, t.weight) for t in data.interface_tracking["eth2"]] == [("VI_2", 5)]


def test_sync_group_tracking_weight_keeps_the_weights(read_config: ReadConfig) -> None:
    result = read_config(
        "vrrp_sync_group G1 {\n group {\n  VI_1\n  VI_2\n }\n sync_group_tracking_weight\n}\n"
        + instance(VIP + " track_interface {\n  eth1 weight 10\n }")
        + instance(vips("10.77.0.101"), "VI_2", 52)
    )
    assert errors(result) == []
    assert [(t.instance, t.weight, t.type) for t in result.config.vrrp.interface_tracking["eth1"]] == [
        ("VI_1", 10, TrackType.IF)
    ]


# -- tracking links and script security --------------------------------------------------------------------


def test_interfaces_know_which_instances_they_affect(read_config: ReadConfig) -> None:
    result = read_config(
        instance(
            vips("10.77.0.100", "10.77.1.1/24 dev eth3")
            + " dont_track_primary\n track_interface {\n  eth1 weight -20 reverse\n  eth2\n }\n"
            + " virtual_routes {\n  10.9.0.0/16 via 10.77.0.254 dev eth2\n }"
        )
    )
    tracking = {
        name: [(t.instance, t.weight, t.reverse, t.type) for t in entries]
        for name, entries in result.config.vrrp.interface_tracking.items()
    }
    assert tracking == {
        "eth1": [("VI_1", -20, True, TrackType.IF)],
        "eth2": [("VI_1", 0, False, TrackType.IF | TrackType.ROUTE)],
        "eth0": [("VI_1", 255, False, TrackType.VRRP)],  # attached, not tracked (dont_track_primary)
        "eth3": [("VI_1", 0, False, TrackType.ADDR)],
    }


def test_vmac_interfaces_are_named_from_the_vrid(read_config: ReadConfig) -> None:
    result = read_config(
        instance(" use_vmac\n promote_secondaries\n" + VIP)
        + instance(" use_vmac\n" + vips("10.77.1.100"), "VI_2", interface="eth1")
        + instance(" use_vmac\n" + vips("fe80::7"), "VI_3", 51, "eth2")
    )
    assert errors(result) == ["(VI_1) promote_secondaries is automatically set for vmacs - ignoring"]
    first, second, third = result.config.vrrp.instances
    assert [vi.vmac_interface for vi in (first, second, third)] == ["vrrp.51", "vrrp1.51", "vrrp6.51"]
    assert [a.ifname for a in first.vips] == ["vrrp.51"]
    assert result.config.vrrp.interface_tracking["vrrp.51"][0].type == TrackType.VRRP | TrackType.ADDR


def test_insecure_and_missing_scripts_are_disabled(read_config: ReadConfig) -> None:
    result = read_config(
        """vrrp_script missing {
 script /nonexistent/check.sh
}
vrrp_script ok {
 script /bin/true
}
"""
        + instance(
            VIP
            + ' track_script {\n  missing\n  ok\n }\n notify_master "/nonexistent/x.sh"\n notify /bin/true'
        ),
        host=script_host(),
    )
    assert errors(result) == [
        "Disabling track script missing since not found/accessible",
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
    ]
    assert result.exit_status == 6
    vi = result.config.vrrp.instances[0]
    assert [s.name for s in result.config.vrrp.scripts] == ["ok"]
    assert [t.script.name for t in vi.track.scripts] == ["ok"]
    assert vi.notify.master is None and vi.notify.notify is not None


def test_scripts_are_not_checked_without_instances(read_config: ReadConfig) -> None:
    result = read_config("vrrp_script ok {\n script /bin/true\n}\n", host=script_host())
    assert errors(result) == []


# -- what keepalived settles before it starts (not under -t) -------------------------------------------------


def test_start_up_priorities_and_unused_scripts(read_config: ReadConfig) -> None:
    host = script_host()
    interfaces = dict(host.interface_map)
    interfaces["eth2"] = interfaces["eth2"].__class__("eth2", 4, up=False)
    host.interface_map = interfaces
    result = read_config(
        """vrrp_script failing {
 script /bin/true
 weight -15
 init_fail
}
vrrp_script unused {
 script /bin/true
}
"""
        + instance(
            " priority 100\n"
            + VIP
            + " track_interface {\n  eth1 weight 20\n  eth2 weight -30\n  eth3 weight -5\n }\n"
            + " track_script {\n  failing\n }"
        )
        + instance(
            " priority 250\n" + vips("10.77.0.101") + " track_interface {\n  eth1 weight 50\n }", "VI_2", 52
        ),
        host=host,
        config_test=False,
    )
    assert "Warning - script unused is not used" in errors(result)
    first, second = result.config.vrrp.instances
    assert (first.total_priority, first.effective_priority) == (100 + 20 - 30 - 15, 75)
    assert (second.total_priority, second.effective_priority) == (300, 254)
    assert [s.name for s in result.config.vrrp.scripts] == ["failing"]


def test_a_sync_group_with_a_backup_member_starts_all_as_backup(read_config: ReadConfig) -> None:
    result = read_config(
        "vrrp_sync_group G1 {\n group {\n  VI_1\n  VI_2\n }\n}\n"
        + instance(" state MASTER\n" + VIP)
        + instance(" state BACKUP\n" + vips("10.77.0.101"), "VI_2", 52),
        config_test=False,
    )
    assert [vi.wantstate for vi in result.config.vrrp.instances] == [VrrpState.BACKUP, VrrpState.BACKUP]


def test_lvs_sync_daemon_instance_must_exist(read_config: ReadConfig) -> None:
    result = read_config("global_defs {\n lvs_sync_daemon eth0 VI_9\n}\n" + instance(VIP), config_test=False)
    assert "Unable to find vrrp instance VI_9 for lvs_syncd - clearing lvs_syncd config" in errors(result)
    assert result.config.global_defs.lvs_syncd.interface is None


def with_interfaces(*interfaces: Interface) -> StaticHost:
    host = lab_host()
    host.interface_map.update({i.name: i for i in interfaces})
    return host


def test_a_vmac_left_by_an_earlier_run_is_taken_over_under_its_name(read_config: ReadConfig) -> None:
    # keepalived 2.2.7 after a SIGKILL: "(VI_1) Found matching interface vrrp.51" (a private macvlan on eth0
    # with 00:00:5e:00:01:33); a plain interface of that name, or a macvlan with another MAC, is not it
    left = Interface("vrrp.51", 9, mac="00:00:5E:00:01:33", private_macvlan_of=2)
    other_mac = Interface("vrrp1.51", 10, mac="02:00:5e:00:01:33", private_macvlan_of=2)
    result = read_config(instance(" use_vmac\n" + VIP), host=with_interfaces(left, other_mac))
    assert [d.message for d in result.report if d.log][-1] == "(VI_1) Found matching interface vrrp.51"
    assert result.config.vrrp.instances[0].vmac_interface == "vrrp.51"
    plain = Interface("vrrp.51", 9, mac="00:00:5e:00:01:33")
    result = read_config(instance(" use_vmac\n" + VIP), host=with_interfaces(plain, other_mac))
    assert result.config.vrrp.instances[0].vmac_interface == "vrrp2.51"


def test_a_matching_vmac_under_another_name_replaces_the_configured_name(read_config: ReadConfig) -> None:
    left = Interface("vmac7", 9, mac="00:00:5e:00:01:33", private_macvlan_of=2)
    result = read_config(instance(" use_vmac mine\n" + VIP), host=with_interfaces(left))
    assert [d.message for d in result.report if d.log][-2:] == [
        "(VI_1) Found matching interface vmac7",
        "(VI_1) vmac name mismatch mine <=> vmac7. changing to vmac7.",
    ]
    assert result.config.vrrp.instances[0].vmac_interface == "vmac7"


def test_a_configured_vmac_name_may_be_an_existing_private_macvlan(read_config: ReadConfig) -> None:
    private = Interface("mine", 9, mac="02:00:00:00:00:01", private_macvlan_of=2)
    result = read_config(instance(" use_vmac mine\n" + VIP), host=with_interfaces(private))
    assert errors(result) == []
    assert result.config.vrrp.instances[0].vmac_interface == "mine"
    result = read_config(instance(" use_vmac mine\n" + VIP), host=with_interfaces(Interface("mine", 9)))
    assert errors(result) == [
        "(VI_1) interface mine already exists and is not a private macvlan; ignoring vmac if_name"
    ]
